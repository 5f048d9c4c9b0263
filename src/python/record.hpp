// The C base of every declared struct/union class (cdef's CRecord): where a record keeps its
// bytes, so the call paths read and make records without asking Python for attributes by name;
// and the codec of their scalar members, on the same marshalling units as the call plans.
#pragma once

#include <Python.h>

#include <cstddef>
#include <cstdint>

namespace wasmffi::py {

// A record instance: `buf` holds its bytes in guest layout, a bytearray it owns or (a nested
// record's view) a memoryview of its parent's. Python code sees it as `_buf`.
struct RecordObject {
  PyObject_HEAD
  PyObject* buf;  // nullptr until set (a bare Record.__new__); any object the buffer protocol reads
};

// Creates `_core.Record` once at module init. False with an exception set.
bool init_record_type(PyObject* module);
// Whether `cls` is a class derived from _core.Record (what plans accept as a record class).
bool is_record_class(PyObject* cls) noexcept;
// The bytes of a record instance, borrowed; nullptr (no exception set) for an instance made
// without its constructor, whose bytes were never set.
PyObject* record_buf(PyObject* record) noexcept;
// A new instance of record class `cls` holding a copy of `n` bytes at `data` (its own bytearray):
// what from_bytes() makes, without calling Python. `cls` must pass is_record_class.
PyObject* make_record(PyObject* cls, const uint8_t* data, size_t n) noexcept;

// Creates `_core.ScalarField` once at module init: a scalar member of a record, converted by the
// marshalling unit of its C type (marshal.hpp), the same one a declared parameter of that type
// runs. It is both the accessor cdef's arrays use (get/set on any buffer) and the descriptor on
// the record class (reading the record's bytes from its C slot). False with an exception set.
bool init_scalar_field_type(PyObject* module);

}  // namespace wasmffi::py
