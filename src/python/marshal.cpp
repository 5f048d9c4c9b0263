// Python conversions of the marshalling units (the rows match src/core/marshal.cpp's table).
#include "marshal.hpp"

#include "convert.hpp"

namespace wasmffi::py {

namespace {

// Integers of a C type: the unit's range only (uint8_t refuses 256 and -1), stored as the
// two's-complement bit pattern, sign- or zero-extended to the slot.
template <Marshal M>
bool int_to_raw(PyObject* o, wasmtime_val_raw_t& slot, PyObject* name, Py_ssize_t i) {
  const MarshalUnit& u = unit_of(M);
  int64_t v;
  uint64_t bits;
  if (small_int_value(o, v) && v >= u.lo && (v < 0 || static_cast<uint64_t>(v) <= u.hi)) [[likely]] {
    bits = static_cast<uint64_t>(v);
  } else if (!to_int_in_range(o, u.lo, u.hi, u.name, bits, name, i)) {
    return false;
  }
  if (u.wasm == ValKind::I64) slot.i64 = static_cast<int64_t>(bits);
  else slot.i32 = static_cast<int32_t>(static_cast<uint32_t>(bits));
  return true;
}

// Results of a C integer type: the callee's slot, truncated to the type's width and extended by
// its signedness (what C would read), as a Python int.
template <Marshal M>
PyObject* int_from_raw(const wasmtime_val_raw_t& slot) {
  const MarshalUnit& u = unit_of(M);
  uint64_t bits = u.wasm == ValKind::I64 ? static_cast<uint64_t>(slot.i64)
                                          : static_cast<uint64_t>(static_cast<uint32_t>(slot.i32));
  if (u.size < 8) {
    const unsigned shift = 64 - 8u * u.size;
    if (u.lo < 0) return PyLong_FromLongLong(static_cast<int64_t>(bits << shift) >> shift);
    return PyLong_FromUnsignedLongLong((bits << shift) >> shift);
  }
  return u.lo < 0 ? PyLong_FromLongLong(static_cast<int64_t>(bits)) : PyLong_FromUnsignedLongLong(bits);
}

bool i32_in(PyObject* o, wasmtime_val_raw_t& s, PyObject* n, Py_ssize_t i) { return to_i32(o, s.i32, n, i); }
bool u32_in(PyObject* o, wasmtime_val_raw_t& s, PyObject* n, Py_ssize_t i) { return to_u32(o, s.i32, n, i); }
bool i64_in(PyObject* o, wasmtime_val_raw_t& s, PyObject* n, Py_ssize_t i) { return to_i64(o, s.i64, n, i); }
bool u64_in(PyObject* o, wasmtime_val_raw_t& s, PyObject* n, Py_ssize_t i) { return to_u64_slow(o, s.i64, n, i); }
bool f32_in(PyObject* o, wasmtime_val_raw_t& s, PyObject* n, Py_ssize_t i) { return to_f32(o, s.f32, n, i); }
bool f64_in(PyObject* o, wasmtime_val_raw_t& s, PyObject* n, Py_ssize_t i) { return to_f64(o, s.f64, n, i); }

// Plain wasm i32/i64 come back signed (wasm text prints them so); declared u32/u64 (addresses)
// unsigned, so users never mask.
PyObject* i32_out(const wasmtime_val_raw_t& s) { return PyLong_FromLong(s.i32); }
PyObject* u32_out(const wasmtime_val_raw_t& s) { return PyLong_FromUnsignedLong(static_cast<uint32_t>(s.i32)); }
PyObject* i64_out(const wasmtime_val_raw_t& s) { return PyLong_FromLongLong(s.i64); }
PyObject* u64_out(const wasmtime_val_raw_t& s) { return PyLong_FromUnsignedLongLong(static_cast<uint64_t>(s.i64)); }
PyObject* f32_out(const wasmtime_val_raw_t& s) { return PyFloat_FromDouble(static_cast<double>(s.f32)); }
PyObject* f64_out(const wasmtime_val_raw_t& s) { return PyFloat_FromDouble(s.f64); }

// C bool: True/False, or the ints 0 and 1 (anything else is more likely a bug than a truth value).
bool bool_in(PyObject* o, wasmtime_val_raw_t& s, PyObject* n, Py_ssize_t i) {
  s.i32 = 0;
  if (o == Py_True || o == Py_False) {
    s.i32 = o == Py_True;
    return true;
  }
  uint64_t bits;
  if (!to_int_in_range(o, 0, 1, "bool", bits, n, i)) return false;
  s.i32 = static_cast<int32_t>(bits);
  return true;
}
PyObject* bool_out(const wasmtime_val_raw_t& s) { return PyBool_FromLong((s.i32 & 0xff) != 0); }

bool unsupported_in(PyObject*, wasmtime_val_raw_t&, PyObject*, Py_ssize_t) {
  PyErr_SetString(PyExc_SystemError, "wasmffi: a call plan reached a marshalling unit that has no conversion");
  return false;
}
PyObject* unsupported_out(const wasmtime_val_raw_t&) {
  PyErr_SetString(PyExc_SystemError, "wasmffi: a call plan reached a marshalling unit that has no conversion");
  return nullptr;
}

}  // namespace

const PyUnit kPyUnits[kMarshalCount + 1] = {
    {i32_in, i32_out},                                                     // I32
    {u32_in, u32_out},                                                     // U32
    {i64_in, i64_out},                                                     // I64
    {u64_in, u64_out},                                                     // U64
    {f32_in, f32_out},                                                     // F32
    {f64_in, f64_out},                                                     // F64
    {int_to_raw<Marshal::I8>, int_from_raw<Marshal::I8>},                  // I8
    {int_to_raw<Marshal::U8>, int_from_raw<Marshal::U8>},                  // U8
    {int_to_raw<Marshal::I16>, int_from_raw<Marshal::I16>},                // I16
    {int_to_raw<Marshal::U16>, int_from_raw<Marshal::U16>},                // U16
    {int_to_raw<Marshal::Int32>, int_from_raw<Marshal::Int32>},            // Int32
    {int_to_raw<Marshal::Int64>, int_from_raw<Marshal::Int64>},            // Int64
    {bool_in, bool_out},                                                   // Bool
    {unsupported_in, unsupported_out},                                     // Unsupported
};
static_assert(static_cast<size_t>(Marshal::Bool) == 12 && kMarshalCount == 13,
              "a unit was added to the core table: add its row here, in Marshal order");

PyObject* enum_or_int(PyObject* enum_class, PyObject* v) {
  if (v == nullptr) return nullptr;
  PyObject* e = PyObject_CallOneArg(enum_class, v);
  if (e != nullptr) {
    Py_DECREF(v);
    return e;
  }
  if (!PyErr_ExceptionMatches(PyExc_ValueError)) {
    Py_DECREF(v);
    return nullptr;
  }
  PyErr_Clear();
  return v;
}

}  // namespace wasmffi::py
