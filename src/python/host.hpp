// Python callables as wasm host functions (host.cpp).
#pragma once

#include <Python.h>

#include <cstddef>

#include "wasmffi/instance.hpp"
#include "wasmffi/module.hpp"
#include "wasmffi/result.hpp"

namespace wasmffi::py {

// A host function in `store` for the module's function import number `index` that calls
// `callable` (with `first_arg`, if not null, before the wasm arguments: the Caller opt-in).
// `name` ("env.log") names the import in error messages. Types are resolved here, once.
// `callable` and `first_arg` are borrowed: the caller keeps them alive as long as the store
// (the _Instance's `refs`, which the garbage collector traverses).
Result<wasmtime_func_t> make_host_func(Store& store, const Module& module, size_t index, PyObject* callable,
                                       PyObject* first_arg, PyObject* name);

struct DeclPlan;

// A host function for a cdef-declared import (host_plan.cpp): the same as make_host_func, but the
// wasm arguments are converted by `plan` (the DeclPlan the declaration built; borrowed like
// `callable`): integers by their C type, enums through their class, `const T *` buffers with a
// linked length as bytes and `const char *` as str, both read from the calling instance's memory
// export `memory` (nullptr or "" if the module exports none); the result is checked by its C
// type (the plan's result ctype, "uint8_t", naming it in messages). LinkError if the plan does not fit the
// import's wasm type.
Result<wasmtime_func_t> make_declared_host_func(Store& store, const Module& module, size_t index, PyObject* callable,
                                                PyObject* first_arg, PyObject* name, const DeclPlan& plan,
                                                const char* memory);

// Moves the raised Python exception (normalised, its traceback attached) into `store` as the
// pending error the interrupted call re-raises; returns the exception type's name. Used by host
// functions and by the Ctrl-C check (interrupt.cpp).
const char* park_python_exception(Store& store) noexcept;

// The trap a host function named `name` ("env.log") returns when its Python code raised: the
// exception is parked in `store` (park_python_exception) and the trap's text names both.
wasm_trap_t* raised_trap(Store& store, PyObject* name);

}  // namespace wasmffi::py
