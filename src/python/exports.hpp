// wasmffi.Exports: the `inst.exports` mapping, a C type so `inst.exports.NAME` costs one dict lookup.
#pragma once

#include <Python.h>

namespace wasmffi::py {

// Creates the type once at module init (a heap type from a PyType_Spec) and adds it as `Exports`.
bool init_exports_type(PyObject* module);

// A new Exports for `instance` (an _Instance). `names` is the tuple of the module's export names
// in module order and `name_set` a frozenset of them: both are built once per Module and shared
// by all its instances. Returns nullptr with an exception set on failure.
PyObject* make_exports(PyObject* instance, PyObject* names, PyObject* name_set);

// Makes `obj` the object exports.NAME and exports["NAME"] return (a declared function replacing
// the raw one); `name` must be an export. False with an exception set on failure.
bool exports_declare(PyObject* exports, PyObject* name, PyObject* obj);

// The Python object for export `name` of `instance` (a new reference); nullptr with an exception
// set on failure (e.g. a table, which Python cannot use yet). Only called for listed names.
// Defined with the _Instance binding (instance.cpp), which knows how to build each kind.
PyObject* resolve_export(PyObject* instance, PyObject* name);

}  // namespace wasmffi::py
