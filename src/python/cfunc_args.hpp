// The marshalling steps of a declared call (CFunc), each run by call_plan in cfunc.cpp: buffers
// pinned and measured, lengths and sizes applied, guest scratch taken, outputs and results
// built. Private to the CFunc translation units.
#pragma once

#include <Python.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "callable.hpp"
#include "plan.hpp"
#include "wasmffi/memory.hpp"
#include "wasmffi/scratch.hpp"

namespace wasmffi::py::cfunc {

struct CFuncObject {
  CallableHead head;     // first: owner (the _Instance, which also owns alloc and mem), ctx, func, name, mode
  GuestAllocator* alloc;  // owned by the _Instance
  std::optional<GuestMemory>* mem;  // owned by the _Instance; empty without an exported memory
  const DeclPlan* plan;  // owned by plan_obj
  PyObject* plan_obj;    // the _core.DeclPlan
  PyObject* raw;         // the undeclared Func, for .raw
  PyObject* doc;
  PyObject* spec;        // cdef's FunctionSpec: __signature__ and .spec
};

// Per-argument state during one call. Deliberately without member initialisers: a call holds
// kMaxParams of them on the stack and resets only the ones its function has (zeroing all of
// them, Py_buffers included, cost more than the rest of a small call).
// What an argument's source holds until the call is over: nothing, a buffer-protocol view, or an
// exact bytearray pinned directly (pin_bytearray: a reference and one export, no Py_buffer fill).
enum class Hold : uint8_t { Nothing, View, ByteArray };

struct ArgState {
  Py_buffer view;              // the source (for Hold::ByteArray only obj, buf and len are set)
  Hold hold;
  PyObject* tmp;               // bytes made from a list/str (owned)
  const uint8_t* src;
  uint64_t nbytes;             // bytes copied in (or reserved, for outputs)
  uint64_t copy_back;          // bytes copied back into a writable buffer: nbytes, or less when a
                               // given length says the call can write no further
  uint64_t elems;              // length in elements (cstring: UTF-8 bytes without the NUL)
  uint64_t offset;             // in the scratch block
  uint8_t* host;               // where its guest copy is, once scratch is taken (host address)
  uint64_t gaddr;              // and its guest address
  bool address;                // an int: used as is
  uint64_t addr;
  bool allocated_out;          // None / out(n): returned after the call
  bool as_scalar;              // None for `T *`: one element returned as a value
  bool writable;               // copy back into view
  void reset() {
    hold = Hold::Nothing;
    address = allocated_out = as_scalar = writable = false;
    tmp = nullptr;
    src = nullptr;
    nbytes = copy_back = elems = offset = addr = gaddr = 0;
    host = nullptr;
  }
};

struct CallState {
  ArgState args[kMaxParams];
  size_t n;
  uint8_t* sret_host = nullptr;  // the struct result's place in scratch
  uint64_t sret_addr = 0;
  explicit CallState(size_t count) : n(count) {
    for (size_t i = 0; i < n; ++i) args[i].reset();
  }
  ~CallState() {
    for (size_t i = 0; i < n; ++i) {
      if (args[i].hold == Hold::ByteArray) [[likely]] {  // undoes pin_bytearray
        --reinterpret_cast<PyByteArrayObject*>(args[i].view.obj)->ob_exports;
        Py_DECREF(args[i].view.obj);
      } else if (args[i].hold == Hold::View) {
        PyBuffer_Release(&args[i].view);
      }
      Py_XDECREF(args[i].tmp);
    }
  }
};

inline uint64_t align16(uint64_t x) { return (x + 15) & ~uint64_t{15}; }

// "<func>() argument 'p' (const uint8_t *): <fmt>" as exception `exc`; returns nullptr.
inline PyObject* arg_error(PyObject* exc, CFuncObject* self, const DeclParam& p, const char* fmt, auto... a) {
  std::string f = "%U() argument %R (%s): ";
  f += fmt;
  return PyErr_Format(exc, f.c_str(), self->head.name, p.name, p.ctype.c_str(), a...);
}

// Converts one buffer argument into bytes to copy (or an address, or an output request).
bool prepare_buffer(CFuncObject* self, const DeclParam& p, PyObject* o, ArgState& a);
// The bytes of a single-scalar struct passed by value, through the buffer protocol.
bool record_scalar_bytes(CFuncObject* self, const DeclParam& p, PyObject* o, uint8_t (&out)[8]);
// The Python value of an allocated output.
PyObject* output_value(const DeclParam& p, const ArgState& a, const uint8_t* data);
// The C result as a Python value (nullptr with an error, or for void).
PyObject* result_value(CFuncObject* self, const wasmtime_val_raw_t* raw, const uint8_t* sret);
// `/* size_is(n) */`: after the lengths are filled. False with an error set.
bool apply_sizes(CFuncObject* self, CallState& st, const wasmtime_val_raw_t* raw);
// `/* length_is(return) */`: limits what is copied back to what the result says was written.
void limit_to_written(const DeclPlan& plan, CallState& st, const wasmtime_val_raw_t* raw);
// After one scratch block for everything failed with `err`: a block per buffer (malloc-style
// allocators), each buffer's host and guest address set; false with an error naming them.
bool take_scratch_per_buffer(CFuncObject* self, CallState& st, Error err, uint64_t total,
                             std::unique_ptr<ScratchBlock[]>& more, ScratchBlock*& blocks, size_t& nblocks);

}  // namespace wasmffi::py::cfunc
