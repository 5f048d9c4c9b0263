// The Python side of the marshalling units: one converter pair per unit id, in one table.
#pragma once

#include <Python.h>

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

inline bool to_raw(PyObject* o, Marshal m, wasmtime_val_raw_t& slot, PyObject* name, Py_ssize_t i) {
  return kPyUnits[static_cast<size_t>(m)].to_raw(o, slot, name, i);
}

inline PyObject* from_raw(const wasmtime_val_raw_t& slot, Marshal m) {
  return kPyUnits[static_cast<size_t>(m)].from_raw(slot);
}

}  // namespace wasmffi::py
