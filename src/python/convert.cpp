// Scalar conversions with range checks, address parsing, and core-error -> exception mapping.
#include "convert.hpp"

#include <cfloat>
#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace wasmffi::py {

ErrorClasses& errors() {
  static ErrorClasses classes;
  return classes;
}

static PyObject* class_for(const Error& err) {
  ErrorClasses& c = errors();
  switch (err.kind) {
    case ErrorKind::Compile: return c.compile;
    case ErrorKind::Link: return c.link;
    case ErrorKind::MemoryAccess: return c.memory_access;
    case ErrorKind::Argument: return PyExc_ValueError;
    case ErrorKind::Trap: {
      PyObject* cls = c.traps[static_cast<size_t>(err.trap)];
      return cls != nullptr ? cls : c.trap;
    }
    case ErrorKind::Engine: break;
  }
  return c.error;
}

PyObject* raise(const Error& err) {
  PyObject* cls = class_for(err);
  PyErr_SetString(cls != nullptr ? cls : PyExc_RuntimeError, err.message.c_str());
  return nullptr;
}

PyObject* raise_in(const Error& err, PyObject* func_name) {
  PyObject* cls = class_for(err);
  PyErr_Format(cls != nullptr ? cls : PyExc_RuntimeError, "%U(): %s", func_name, err.message.c_str());
  return nullptr;
}

// "add() argument 2" or "global value" for error messages.
static void set_type_error(PyObject* o, const char* expected, PyObject* name, Py_ssize_t index) {
  if (index >= 0)
    PyErr_Format(PyExc_TypeError, "%U() argument %zd must be %s, not %.200s", name, index + 1, expected,
                 Py_TYPE(o)->tp_name);
  else
    PyErr_Format(PyExc_TypeError, "%U must be %s, not %.200s", name, expected, Py_TYPE(o)->tp_name);
}

static void set_range_error(PyObject* o, const char* kind, const char* range, PyObject* name, Py_ssize_t index) {
  if (index >= 0)
    PyErr_Format(PyExc_OverflowError, "%U() argument %zd: %R is out of range for %s (accepted: %s)", name,
                 index + 1, o, kind, range);
  else
    PyErr_Format(PyExc_OverflowError, "%U: %R is out of range for %s (accepted: %s)", name, o, kind, range);
}

// Returns a new reference to an exact int for int-like objects (int, bool, numpy integers via
// __index__), or nullptr with TypeError set. floats are refused: no silent truncation.
static PyObject* as_int(PyObject* o, const char* expected, PyObject* name, Py_ssize_t index) {
  if (PyLong_Check(o)) return Py_NewRef(o);
  if (!PyFloat_Check(o) && Py_TYPE(o)->tp_as_number != nullptr && Py_TYPE(o)->tp_as_number->nb_index != nullptr)
    return PyNumber_Index(o);
  set_type_error(o, expected, name, index);
  return nullptr;
}

bool to_int_in_range(PyObject* o, int64_t lo, uint64_t hi, const char* kind, uint64_t& bits, PyObject* name,
                     Py_ssize_t index) {
  PyObject* tmp = nullptr;
  if (!PyLong_Check(o)) [[unlikely]] {  // numpy integers and other __index__ types
    tmp = as_int(o, "int", name, index);
    if (tmp == nullptr) return false;
    o = tmp;
  }
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
  bool ok = false;
  if (overflow == 0 && !(v == -1 && PyErr_Occurred())) {
    ok = v >= lo && (v < 0 || static_cast<uint64_t>(v) <= hi);
    bits = static_cast<uint64_t>(v);
  } else if (overflow > 0 && hi > static_cast<uint64_t>(INT64_MAX)) {
    // Above INT64_MAX: accepted up to `hi` as the same bit pattern.
    unsigned long long u = PyLong_AsUnsignedLongLong(o);
    if (u == static_cast<unsigned long long>(-1) && PyErr_Occurred()) PyErr_Clear();
    else if ((ok = u <= hi)) bits = u;
  }
  if (!ok && !PyErr_Occurred()) {
    char range[64];
    std::snprintf(range, sizeof range, "%" PRId64 "..%" PRIu64, lo, hi);
    set_range_error(o, kind, range, name, index);
  }
  Py_XDECREF(tmp);
  return ok;
}

bool to_i32_slow(PyObject* o, int32_t& out, PyObject* name, Py_ssize_t index) {
  uint64_t bits;
  if (!to_int_in_range(o, INT32_MIN, UINT32_MAX, "i32", bits, name, index)) return false;
  out = static_cast<int32_t>(static_cast<uint32_t>(bits));
  return true;
}

bool to_u32_slow(PyObject* o, int32_t& out, PyObject* name, Py_ssize_t index) {
  uint64_t bits;
  if (!to_int_in_range(o, 0, UINT32_MAX, "u32", bits, name, index)) return false;
  out = static_cast<int32_t>(static_cast<uint32_t>(bits));
  return true;
}

bool to_i64_slow(PyObject* o, int64_t& out, PyObject* name, Py_ssize_t index) {
  uint64_t bits;
  if (!to_int_in_range(o, INT64_MIN, UINT64_MAX, "i64", bits, name, index)) return false;
  out = static_cast<int64_t>(bits);
  return true;
}

bool to_u64_slow(PyObject* o, int64_t& out, PyObject* name, Py_ssize_t index) {
  uint64_t bits;
  if (!to_int_in_range(o, 0, UINT64_MAX, "u64", bits, name, index)) return false;
  out = static_cast<int64_t>(bits);
  return true;
}

static bool to_double(PyObject* o, double& out, PyObject* name, Py_ssize_t index) {
  if (PyFloat_CheckExact(o)) [[likely]] {
    out = PyFloat_AS_DOUBLE(o);
    return true;
  }
  if (PyLong_Check(o)) {
    out = PyLong_AsDouble(o);
    if (out == -1.0 && PyErr_Occurred()) {  // an int beyond double range: say where
      PyErr_Clear();
      set_range_error(o, "a float", "ints up to about 1.8e308 in magnitude", name, index);
      return false;
    }
    return true;
  }
  if (PyFloat_Check(o) || (Py_TYPE(o)->tp_as_number != nullptr &&
                           (Py_TYPE(o)->tp_as_number->nb_float != nullptr ||
                            Py_TYPE(o)->tp_as_number->nb_index != nullptr))) {
    out = PyFloat_AsDouble(o);
    return !(out == -1.0 && PyErr_Occurred());
  }
  set_type_error(o, "float or int", name, index);
  return false;
}

bool to_f64_slow(PyObject* o, double& out, PyObject* name, Py_ssize_t index) { return to_double(o, out, name, index); }

bool to_f32(PyObject* o, float& out, PyObject* name, Py_ssize_t index) {
  double d;
  if (!to_double(o, d, name, index)) return false;
  float f = static_cast<float>(d);
  if (std::isinf(f) && std::isfinite(d)) [[unlikely]] {
    set_range_error(o, "f32", "finite values up to about 3.4028235e38 in magnitude, inf, nan", name, index);
    return false;
  }
  out = f;
  return true;
}

bool to_value(PyObject* o, ValKind kind, Value& out, PyObject* what) {
  out.kind = kind;
  switch (kind) {
    case ValKind::I32: return to_i32(o, out.of.i32, what, -1);
    case ValKind::I64: return to_i64(o, out.of.i64, what, -1);
    case ValKind::F32: return to_f32(o, out.of.f32, what, -1);
    case ValKind::F64: return to_f64(o, out.of.f64, what, -1);
    default:
      PyErr_Format(PyExc_TypeError, "%U has unsupported type %s", what, val_kind_name(kind));
      return false;
  }
}

PyObject* from_value(const Value& v) {
  switch (v.kind) {
    case ValKind::I32: return PyLong_FromLong(v.of.i32);
    case ValKind::I64: return PyLong_FromLongLong(v.of.i64);
    case ValKind::F32: return PyFloat_FromDouble(v.of.f32);
    case ValKind::F64: return PyFloat_FromDouble(v.of.f64);
    default: Py_RETURN_NONE;
  }
}

bool to_address(PyObject* o, uint64_t& out, const char* what) {
  if (PyLong_CheckExact(o)) [[likely]] {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow == 0 && v >= 0) [[likely]] {
      out = static_cast<uint64_t>(v);
      return true;
    }
  }
  if (PyFloat_Check(o) || !PyIndex_Check(o)) {
    PyErr_Format(PyExc_TypeError, "%s must be an int, not %.200s", what, Py_TYPE(o)->tp_name);
    return false;
  }
  PyObject* i = PyNumber_Index(o);
  if (i == nullptr) return false;
  bool ok = false;
  if (_PyLong_Sign(i) < 0) {
    PyErr_Format(errors().memory_access, "%s %R is negative: guest addresses and lengths are unsigned", what, i);
  } else {
    unsigned long long u = PyLong_AsUnsignedLongLong(i);
    if (u == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
      PyErr_Clear();
      PyErr_Format(errors().memory_access, "%s %R does not fit in 64 bits", what, i);
    } else {
      out = u;
      ok = true;
    }
  }
  Py_DECREF(i);
  return ok;
}

}  // namespace wasmffi::py
