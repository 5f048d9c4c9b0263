// `_core.Out`, the out-marker `wasmffi.out(n)`: a C object, so the call path reads its count from
// a field it has checked the type of, not by attribute name.
#pragma once

#include <Python.h>

#include <cstdint>

namespace wasmffi::py {

// Creates `_core.Out` once at module init. False with an exception set.
bool init_out_type(PyObject* module);
// Whether `o` is an out-marker; if so, `count` is its element count.
bool out_count(PyObject* o, uint64_t& count) noexcept;

}  // namespace wasmffi::py
