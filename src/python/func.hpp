// The exported-function callable: a hand-written vectorcall type, the project's hot path.
#pragma once

#include <Python.h>

#include "wasmffi/call.hpp"

namespace wasmffi::py {

// Creates the type (a heap type from a PyType_Spec) and adds it to the module as Func; called
// once, by init_registry, which keeps the returned reference. nullptr with an error on failure.
PyTypeObject* make_func_type(PyObject* module);

// A new callable for `func` in the store owned by `owner` (kept alive by the callable).
// The CallPlan is built here, once; returns nullptr with an exception set on failure.
PyObject* make_func(PyObject* owner, wasmtime_context_t* ctx, const wasmtime_func_t& func, PyObject* name);

}  // namespace wasmffi::py
