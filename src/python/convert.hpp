// Python <-> wasm scalar conversion primitives and the error registry (the units in marshal.hpp build on them).
#pragma once

#include <Python.h>

#include <cstdint>

#include "pylong_fast.hpp"
#include "wasmffi/call.hpp"
#include "wasmffi/result.hpp"

namespace wasmffi::py {

// Everything the binding looks up by identity, filled exactly once by init_registry() while the
// extension module initialises, and read-only afterwards (registry() hands out a const view).
// Why not module state: nanobind modules use single-phase init, so there is one _core per
// process and a plain object is the same thing with less indirection; why not a hand-over from
// Python later (the old _register_errors): a window in which a class could still be null.
// The extension imports wasmffi._errors and wasmffi._types itself; if either lacks a name,
// the import of _core fails with that error, so every slot below is non-null once in use.
struct Registry {
  PyObject* error = nullptr;          // wasmffi.Error
  PyObject* compile = nullptr;        // wasmffi.CompileError
  PyObject* link = nullptr;           // wasmffi.LinkError
  PyObject* memory_access = nullptr;  // wasmffi.MemoryAccessError (an IndexError)
  PyObject* resource = nullptr;       // wasmffi.ResourceError (a MemoryError)
  PyObject* trap = nullptr;           // wasmffi.Trap
  PyObject* exit = nullptr;           // wasmffi.Exit (constructed with the status)
  PyObject* store_in_use = nullptr;   // wasmffi.StoreInUseError
  PyObject* traps[16] = {};           // indexed by TrapKind; TrapKind::Other -> Trap
  PyObject* func_type_info = nullptr; // wasmffi.FuncType (Func.type, Func.__signature__)
  PyTypeObject* func = nullptr;       // wasmffi.Func, the vectorcall type (func.cpp)
};
const Registry& registry() noexcept;
// Fills the registry; returns false with a Python exception set. Called once, from module init.
bool init_registry(PyObject* module);

// Sets a Python exception for a core error; always returns nullptr for `return raise(...)`.
PyObject* raise(const Error& err);
// Same, but prefixes the message with "<func>(): " so the user sees which call failed.
PyObject* raise_in(const Error& err, PyObject* func_name);

// Scalar conversions. Integers accept the union of the signed and unsigned range of the width
// (i32: -2^31 .. 2^32-1) and store the two's-complement bit pattern; anything outside raises
// OverflowError, never wraps. Floats accept int and float; f32 raises OverflowError for a finite
// value too large for f32. On failure they set a Python exception naming `what` and return false.
bool to_i32_slow(PyObject* o, int32_t& out, PyObject* func_name, Py_ssize_t index);
bool to_i64_slow(PyObject* o, int64_t& out, PyObject* func_name, Py_ssize_t index);
bool to_f32(PyObject* o, float& out, PyObject* func_name, Py_ssize_t index);
bool to_f64_slow(PyObject* o, double& out, PyObject* func_name, Py_ssize_t index);

// small_int_value(o, v), the integer fast path behind to_i32/to_i64/to_u32, is in pylong_fast.hpp.

inline bool to_i32(PyObject* o, int32_t& out, PyObject* func_name, Py_ssize_t index) {
  int64_t v;
  if (small_int_value(o, v) && v >= INT32_MIN && v <= int64_t{UINT32_MAX}) [[likely]] {
    out = static_cast<int32_t>(static_cast<uint32_t>(v));
    return true;
  }
  return to_i32_slow(o, out, func_name, index);
}

inline bool to_i64(PyObject* o, int64_t& out, PyObject* func_name, Py_ssize_t index) {
  if (small_int_value(o, out)) [[likely]]
    return true;
  return to_i64_slow(o, out, func_name, index);
}

inline bool to_f64(PyObject* o, double& out, PyObject* func_name, Py_ssize_t index) {
  if (PyFloat_CheckExact(o)) [[likely]] {
    out = PyFloat_AS_DOUBLE(o);
    return true;
  }
  return to_f64_slow(o, out, func_name, index);
}

// The one slow path behind every integer conversion: int or __index__ objects in [lo, hi]
// (lo >= INT64_MIN, hi <= UINT64_MAX), stored as two's-complement bits; otherwise OverflowError
// ("<name>() argument N: ... out of range for <kind>") or TypeError, and false.
bool to_int_in_range(PyObject* o, int64_t lo, uint64_t hi, const char* kind, uint64_t& bits, PyObject* func_name,
                     Py_ssize_t index);

// Declared-unsigned integers (u32/u64, pointers): only 0..2^N-1; negatives raise OverflowError.
bool to_u32_slow(PyObject* o, int32_t& out, PyObject* func_name, Py_ssize_t index);
bool to_u64_slow(PyObject* o, int64_t& out, PyObject* func_name, Py_ssize_t index);

inline bool to_u32(PyObject* o, int32_t& out, PyObject* func_name, Py_ssize_t index) {
  int64_t v;
  if (small_int_value(o, v) && v >= 0 && v <= int64_t{UINT32_MAX}) [[likely]] {
    out = static_cast<int32_t>(static_cast<uint32_t>(v));
    return true;
  }
  return to_u32_slow(o, out, func_name, index);
}

// Integer element conversion shared by typed memory writes and write_array: a signed name
// ("i8".."i64") takes the union of the signed and unsigned range of its width, an unsigned one
// ("u8".."u64") only 0..2^N-1; the bit pattern is stored. `bits` is the width (8..64). Errors
// read "<what>: 300 is out of range for i8 (accepted: -128..255)" (OverflowError) or
// "<what> must be int, not str" (TypeError).
bool to_int_bits(PyObject* o, unsigned bits, bool is_signed, uint64_t& out, PyObject* what);

// Value <-> Python for the slow paths (globals).
bool to_value(PyObject* o, ValKind kind, Value& out, PyObject* what);
PyObject* from_value(const Value& v);

// An address or length: a non-negative int that fits in 64 bits. Anything else raises
// MemoryAccessError (negative or too large) or TypeError (not an int, None included):
// "<func>(): <what> must be an int, not NoneType".
bool to_address(PyObject* o, uint64_t& out, const char* func, const char* what);

// Takes the pending exception out of the error indicator as one normalized instance, its
// traceback attached (a new reference; nullptr when none is pending), so it can become another
// exception's cause.
PyObject* fetch_exception() noexcept;

// An int as error-message text: in full up to 30 digits, else abbreviated as
// "123456789012...345678901234 (601 digits)", so a huge value cannot flood a message (and ints
// beyond sys.get_int_max_str_digits() still print). A new reference, or nullptr with an error set.
PyObject* int_text(PyObject* i);

}  // namespace wasmffi::py
