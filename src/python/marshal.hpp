// The Python side of the marshalling units: one converter pair per unit id, in one table.
#pragma once

#include <Python.h>

#include "convert.hpp"
#include "wasmffi/marshal.hpp"

namespace wasmffi::py {

// A unit's Python conversion, both ways. `to_raw` takes a Python value into a raw slot (range
// checked, never wrapping; on failure a TypeError/OverflowError naming "<func>() argument N" and
// false); `from_raw` makes the Python value of a slot (a new reference, or nullptr with an error).
// Exported functions run to_raw on arguments and from_raw on results; a host function (wasm
// calling Python) runs from_raw on its arguments and to_raw on its results: the same units.
struct PyUnit {
  bool (*to_raw)(PyObject* o, wasmtime_val_raw_t& slot, PyObject* func, Py_ssize_t index);
  PyObject* (*from_raw)(const wasmtime_val_raw_t& slot);
};

// Indexed by Marshal; the last row (Marshal::Unsupported) raises SystemError: plans with
// unsupported kinds never become callables, so reaching it is a bug, reported rather than silent.
extern const PyUnit kPyUnits[kMarshalCount + 1];

// The units' fast path: the wasm-level units every undeclared Func uses convert inline (the
// compiler turns this into a jump table with the conversions in place); every other unit goes
// through its table entry. Under callgrind (instructions per add(1, 2) spent in _core, wasmtime
// included): 370 before the seam, 377 calling every unit through the table, 366 with this.
// The inline conversions are the same functions the table rows hold.
inline bool to_raw(PyObject* o, Marshal m, wasmtime_val_raw_t& slot, PyObject* name, Py_ssize_t i) {
  switch (m) {
    case Marshal::I32: return to_i32(o, slot.i32, name, i);
    case Marshal::U32: return to_u32(o, slot.i32, name, i);
    case Marshal::I64: return to_i64(o, slot.i64, name, i);
    case Marshal::F64: return to_f64(o, slot.f64, name, i);
    default: return kPyUnits[static_cast<size_t>(m)].to_raw(o, slot, name, i);
  }
}

inline PyObject* from_raw(const wasmtime_val_raw_t& slot, Marshal m) {
  switch (m) {
    case Marshal::I32:
    case Marshal::Int32: return PyLong_FromLong(slot.i32);  // int32_t reads its slot as i32 does
    case Marshal::U32: return PyLong_FromUnsignedLong(static_cast<uint32_t>(slot.i32));
    case Marshal::I64:
    case Marshal::Int64: return PyLong_FromLongLong(slot.i64);
    case Marshal::F64: return PyFloat_FromDouble(slot.f64);
    default: return kPyUnits[static_cast<size_t>(m)].from_raw(slot);
  }
}

// An integer made into a member of `enum_class` (an IntEnum) when the value names one; a value the
// declaration does not name stays the plain int (C enums take any value of their base type).
// Steals `v` (may be nullptr: passed on). Errors other than the enum's ValueError propagate.
PyObject* enum_or_int(PyObject* enum_class, PyObject* v);

}  // namespace wasmffi::py
