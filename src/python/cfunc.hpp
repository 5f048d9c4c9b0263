// The declared-function callable (cdef): a vectorcall type whose plan marshals buffers in C++.
#pragma once

#include <Python.h>

#include <optional>

#include "wasmffi/memory.hpp"
#include "wasmffi/scratch.hpp"

namespace wasmffi::py {

// Creates the type once at module init and adds it to the module as CFunc.
bool init_cfunc_type(PyObject* module);

// A declared function over `func` (the export) in the store owned by `owner` (an _Instance,
// which also owns `alloc` and `mem`). `raw` is the undeclared Func; `plan` the _core.DeclPlan
// python/wasmffi/_marshal.py builds from `spec` (a cdef FunctionSpec: __signature__, .spec).
// nullptr with an error on failure.
PyObject* make_cfunc(PyObject* owner, wasmtime_context_t* ctx, const wasmtime_func_t& func, GuestAllocator* alloc,
                     std::optional<GuestMemory>* mem, PyObject* raw, PyObject* plan, PyObject* spec);

}  // namespace wasmffi::py
