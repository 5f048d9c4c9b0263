// What every exported-function callable shares (Func: wasm-typed, CFunc: declared): the object
// header, the one call into the store, and the type boilerplate. Which call variant a callable
// runs (plain, or managed: a timeout or a released GIL) is chosen when it is made, by picking
// its vectorcall function; the call path never branches on it.
#pragma once

#include <Python.h>
#include <structmember.h>

#include <cstddef>

#include "convert.hpp"
#include "store_guard.hpp"
#include "wasmffi/call.hpp"

namespace wasmffi::py {

// The first member of every callable object (so the offsets below hold for each of them).
struct CallableHead {
  PyObject_HEAD
  vectorcallfunc vectorcall;  // CPython calls through this pointer (tp_vectorcall_offset)
  PyObject* owner;            // the _Instance: keeps the store alive, so ctx and func stay valid
  wasmtime_context_t* ctx;    // cached store context
  wasmtime_func_t func;
  PyObject* name;             // the export's name (str), for messages
  PyObject* weakrefs;
  CallMode mode;              // Plain unless the store has a timeout or the call releases the GIL
};

// Fills the head: new references to owner and name, weakrefs empty.
inline void init_head(CallableHead* h, vectorcallfunc vc, CallMode mode, PyObject* owner, wasmtime_context_t* ctx,
                      const wasmtime_func_t& func, PyObject* name) noexcept {
  h->vectorcall = vc;
  h->mode = mode;
  h->owner = Py_NewRef(owner);
  h->ctx = ctx;
  h->func = func;
  h->name = Py_NewRef(name);
  h->weakrefs = nullptr;
}

// The one wasm call, after StoreEntry: Managed callables start the store's clock or release the
// GIL (store_guard.hpp); plain ones make the unchecked call directly. False: refused before the
// call started (a Python exception is set); otherwise `r` holds the call's outcome.
template <bool Managed>
inline bool call_raw(CallableHead* self, wasmtime_val_raw_t* raw, size_t raw_len, Result<void>& r) noexcept {
  if constexpr (Managed) {
    return call_managed(self->mode, self->ctx, self->func, raw, raw_len, r);
  } else {
    r = call_unchecked(self->ctx, self->func, raw, raw_len);
    return true;
  }
}

// Refuses a call on a thread without room for the engine's max_wasm_stack (as StackOverflow).
inline bool stack_fits(CallableHead* self) noexcept {
  if (native_stack_fits(self->ctx)) [[likely]]
    return true;
  raise_in(native_stack_error(self->ctx), self->name);
  return false;
}

// tp_traverse / tp_dealloc of the head. No tp_clear anywhere, on purpose: the call path trusts
// `owner` to keep the store alive, so a callable never lets go of it before it is deallocated.
// Nothing is lost: the owner (an _Instance) refers to no Python object that refers back.
inline int traverse_head(CallableHead* h, visitproc visit, void* arg) {
  Py_VISIT(h->owner);
  Py_VISIT(Py_TYPE(h));
  return 0;
}
// Untracks, clears weak references and the head's references; the caller frees its own fields
// next and then calls free_callable().
inline void clear_head(CallableHead* h) {
  PyObject_GC_UnTrack(h);
  if (h->weakrefs != nullptr) PyObject_ClearWeakRefs(reinterpret_cast<PyObject*>(h));
  Py_CLEAR(h->owner);
  Py_CLEAR(h->name);
}
inline void free_callable(CallableHead* h) {
  PyTypeObject* tp = Py_TYPE(h);
  tp->tp_free(h);
  Py_DECREF(tp);
}

// Slots every callable type has: the vectorcall and weak-reference offsets, __name__ and
// __qualname__ (getsets, first in each type's table), and the type flags.
PyObject* callable_name(PyObject* o, void*);
extern PyMemberDef kCallableMembers[];
inline constexpr unsigned long kCallableFlags =
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_DISALLOW_INSTANTIATION;
#define WASMFFI_CALLABLE_NAME_GETSETS                                        \
  {"__name__", ::wasmffi::py::callable_name, nullptr, "export name", nullptr}, \
      {"__qualname__", ::wasmffi::py::callable_name, nullptr, "export name", nullptr}

// Makes a callable type from its spec (the common slots added here: tp_call through vectorcall,
// the members above) and adds it to `module` under `attr`. A new reference, or nullptr.
PyTypeObject* make_callable_type(PyObject* module, const char* attr, PyType_Spec& spec);

}  // namespace wasmffi::py
