// Argument parsing for the binding's settings (Engine options, fuel, deadlines): every bad value
// is a TypeError or ValueError that names the function and argument, never nanobind's dump.
#pragma once

#include <nanobind/nanobind.h>

#include <cstdint>
#include <string>

#include "binding.hpp"

namespace wasmffi::py {

// `where` names the argument in messages, e.g. "Engine() argument 'memory64'" or "Instance.fuel".
[[noreturn]] inline void bad_argument(PyObject* exc, const std::string& where, const std::string& what,
                                      nb::handle got) {
  std::string text = where + " must be " + what + ", not ";
  text += PyLong_CheckExact(got.ptr()) ? nb::repr(got).c_str() : Py_TYPE(got.ptr())->tp_name;
  PyErr_SetString(exc, text.c_str());
  throw nb::python_error();
}

// A non-negative int that fits in 64 bits: int or an __index__ type, but not bool or float (a
// True meant as a size, or a truncated float, would be a silent surprise). Python's convention for
// settings: a value of the wrong type is a TypeError, an int out of range a ValueError.
inline uint64_t parse_u64(nb::handle o, const std::string& where) {
  constexpr const char* kWhat = "an int in 0..2**64-1";
  if (PyBool_Check(o.ptr()) || PyFloat_Check(o.ptr())) bad_argument(PyExc_TypeError, where, kWhat, o);
  nb::object index = nb::steal(PyNumber_Index(o.ptr()));
  if (!index.is_valid()) {
    PyErr_Clear();
    bad_argument(PyExc_TypeError, where, kWhat, o);
  }
  const unsigned long long v = PyLong_AsUnsignedLongLong(index.ptr());
  if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();
    bad_argument(PyExc_ValueError, where, kWhat, index);
  }
  return v;
}

inline bool parse_bool(nb::handle o, const std::string& where) {
  if (!PyBool_Check(o.ptr())) bad_argument(PyExc_TypeError, where, "True or False", o);
  return o.ptr() == Py_True;
}

// Raises a core error with `where` in front of its message (same exception class).
[[noreturn]] inline void throw_error_in(const std::string& where, Error err) {
  err.message = where + ": " + err.message;
  throw_error(err);
}

}  // namespace wasmffi::py
