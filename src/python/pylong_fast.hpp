// The integer fast path: reads an exact Python int of up to two digits straight from CPython's object.
#pragma once

#include <Python.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

// Why read CPython's int internals at all: profiling showed the generic PyLong_AsLongAndOverflow
// route was a quarter of the binding's per-call instructions, and every wasm integer argument
// passes through here. Two digits (|v| < 2**60 with 30-bit digits) cover every i32/u32 value and
// most i64 values; anything else takes the public-API slow path in convert.cpp.
//
// The layout is private CPython API. It was checked against cpython/longintrepr.h of CPython
// 3.11.7, 3.12.1 and 3.13.0 (layouts only change between minor versions):
//   3.11       PyObject_VAR_HEAD; digit ob_digit[]. ob_size = sign * number of digits.
//   3.12, 3.13 PyObject_HEAD; _PyLongValue long_value { uintptr_t lv_tag; digit ob_digit[]; }.
//              lv_tag = ndigits << _PyLong_NON_SIZE_BITS (3) | sign in the low 2 bits
//              (0 positive, 1 zero, 2 negative); bit 2 is a flag we ignore.
// Any other version, and free-threaded builds (not checked), compile the public-API path below
// instead of guessing. tests/python/test_pythons.py calls wasm identity functions with ints on
// every digit boundary (±2**30, ±2**60, 2**63-1, -2**63, 2**64-1), which a misread layout fails.
#if !defined(WASMFFI_PYLONG_PUBLIC_ONLY) && !defined(Py_GIL_DISABLED) && PY_VERSION_HEX >= 0x030B0000 && \
    PY_VERSION_HEX < 0x030C0000
#define WASMFFI_PYLONG_LAYOUT 311
#elif !defined(WASMFFI_PYLONG_PUBLIC_ONLY) && !defined(Py_GIL_DISABLED) && PY_VERSION_HEX >= 0x030C0000 && \
    PY_VERSION_HEX < 0x030E0000
#define WASMFFI_PYLONG_LAYOUT 312
#else
#define WASMFFI_PYLONG_LAYOUT 0  // public API only
#endif

namespace wasmffi::py {

static_assert(2 * PyLong_SHIFT <= 62, "two digits must fit in int64_t");

#if WASMFFI_PYLONG_LAYOUT == 311
static_assert(std::is_same_v<std::remove_extent_t<decltype(PyLongObject::ob_digit)>, digit>, "3.11 layout: ob_digit");
static_assert(offsetof(PyLongObject, ob_digit) == sizeof(PyVarObject), "3.11 layout: digits follow the var header");
#elif WASMFFI_PYLONG_LAYOUT == 312
static_assert(_PyLong_NON_SIZE_BITS == 3 && _PyLong_SIGN_MASK == 3, "3.12/3.13 layout: lv_tag bit fields");
static_assert(std::is_same_v<decltype(_PyLongValue::lv_tag), uintptr_t>, "3.12/3.13 layout: lv_tag");
static_assert(offsetof(PyLongObject, long_value) == sizeof(PyObject), "3.12/3.13 layout: value follows the header");
static_assert(offsetof(_PyLongValue, ob_digit) == sizeof(uintptr_t), "3.12/3.13 layout: digits follow lv_tag");
static_assert(std::is_same_v<std::remove_extent_t<decltype(_PyLongValue::ob_digit)>, digit>, "3.12/3.13 layout: ob_digit");
#endif

// Exact ints of at most two digits -> true and `v`; anything else (subclasses, objects with
// __index__, larger ints) -> false, and the caller takes the general path.
inline bool small_int_value(PyObject* o, int64_t& v) noexcept {
  if (!PyLong_CheckExact(o)) return false;
#if WASMFFI_PYLONG_LAYOUT == 311
  const digit* d = reinterpret_cast<PyLongObject*>(o)->ob_digit;
  switch (Py_SIZE(o)) {
    case 0: v = 0; return true;
    case 1: v = static_cast<int64_t>(d[0]); return true;
    case -1: v = -static_cast<int64_t>(d[0]); return true;
    case 2: v = static_cast<int64_t>(d[0]) | (static_cast<int64_t>(d[1]) << PyLong_SHIFT); return true;
    case -2: v = -(static_cast<int64_t>(d[0]) | (static_cast<int64_t>(d[1]) << PyLong_SHIFT)); return true;
    default: return false;
  }
#elif WASMFFI_PYLONG_LAYOUT == 312
  const _PyLongValue& lv = reinterpret_cast<PyLongObject*>(o)->long_value;
  const uintptr_t tag = lv.lv_tag;
  // 1 - sign bits: +1 positive, 0 zero, -1 negative (CPython's own _PyLong_CompactValue does this).
  const int64_t sign = 1 - static_cast<int64_t>(tag & _PyLong_SIGN_MASK);
  if (tag < (uintptr_t{2} << _PyLong_NON_SIZE_BITS)) [[likely]] {  // 0 or 1 digit (zero: sign is 0)
    v = sign * static_cast<int64_t>(lv.ob_digit[0]);
    return true;
  }
  if (tag >= (uintptr_t{3} << _PyLong_NON_SIZE_BITS)) return false;  // three digits or more
  v = sign * (static_cast<int64_t>(lv.ob_digit[0]) | (static_cast<int64_t>(lv.ob_digit[1]) << PyLong_SHIFT));
  return true;
#elif PY_VERSION_HEX >= 0x030C0000
  // Unchecked version: the documented (unstable-tier) public API, one-digit ints only.
  if (!PyUnstable_Long_IsCompact(reinterpret_cast<PyLongObject*>(o))) return false;
  v = PyUnstable_Long_CompactValue(reinterpret_cast<PyLongObject*>(o));
  return true;
#else
  return false;
#endif
}

}  // namespace wasmffi::py
