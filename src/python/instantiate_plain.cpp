// Module.instantiate's plain case in C (_core._Instantiate) and the class layout it fills
// (_core._register_types). Everything but the plain case goes to the Python method.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string_view.h>

#include <structmember.h>

#include <string>
#include <string_view>
#include <utility>

#include "binding.hpp"
#include "exports.hpp"
#include "instance_impl.hpp"
#include "store_options.hpp"

namespace wasmffi::py {

namespace {

// --- Module.instantiate: the plain case in C ----------------------------------------------------
// A sandbox per request pays for instantiation on every request, so module.instantiate() with no
// argument (and a module without imports) is done here in one C call: the store and instance, the
// _Instance, its Exports and the wasmffi.Instance, whose fields (InstanceBase, below) it fills.
// Every other call goes to the Python method it wraps (wasmffi._api.Module.instantiate).
// Measured on the bench lifecycle guest: Python building the same objects (a method with twelve
// keyword defaults to check, Instance.__new__, _setup writing six slots) cost about 1 us of 3.7.

// The C bases of wasmffi.Module and wasmffi.Instance: the fields the plain case reads (a
// Module's compiled module, export names and plain-memory marker) and fills (an Instance's
// module, core instance and exports). Python sees them as the attributes of the same names and
// writes them through their member descriptors; this file reads and writes the struct fields of
// objects whose type it has checked. Unset fields are nullptr (AttributeError in Python).
struct ModuleBase {
  PyObject_HEAD
  PyObject* m;                // _m: the _core._Module
  PyObject* export_names;     // _export_names: tuple of str
  PyObject* export_name_set;  // _export_name_set: frozenset of str
  PyObject* plain_memory;     // _plain_memory: None or a memory name (the C path may run), False (not)
};

struct InstanceBase {
  PyObject_HEAD
  PyObject* module;       // module: the wasmffi.Module
  PyObject* core;         // _i: the _core._Instance
  PyObject* exports;      // exports
  PyObject* raw_exports;  // raw_exports
  PyObject* cdef;         // cdef: a CDef or None
};

template <size_t N>
int base_traverse(PyObject* o, visitproc visit, void* arg) {
  auto** fields = reinterpret_cast<PyObject**>(reinterpret_cast<char*>(o) + offsetof(ModuleBase, m));
  for (size_t i = 0; i < N; ++i) Py_VISIT(fields[i]);
  Py_VISIT(Py_TYPE(o));
  return 0;
}

template <size_t N>
int base_clear(PyObject* o) {
  auto** fields = reinterpret_cast<PyObject**>(reinterpret_cast<char*>(o) + offsetof(ModuleBase, m));
  for (size_t i = 0; i < N; ++i) Py_CLEAR(fields[i]);
  return 0;
}

template <size_t N>
void base_dealloc(PyObject* o) {
  PyTypeObject* tp = Py_TYPE(o);
  PyObject_GC_UnTrack(o);
  base_clear<N>(o);
  tp->tp_free(o);
  Py_DECREF(tp);
}

// Both bases are a run of object fields right after the header (the templates above rely on it).
static_assert(offsetof(ModuleBase, m) == offsetof(InstanceBase, module));
static_assert(sizeof(ModuleBase) == offsetof(ModuleBase, m) + 4 * sizeof(PyObject*));
static_assert(sizeof(InstanceBase) == offsetof(InstanceBase, module) + 5 * sizeof(PyObject*));

PyMemberDef module_base_members[] = {
    {"_m", T_OBJECT_EX, offsetof(ModuleBase, m), 0, nullptr},
    {"_export_names", T_OBJECT_EX, offsetof(ModuleBase, export_names), 0, nullptr},
    {"_export_name_set", T_OBJECT_EX, offsetof(ModuleBase, export_name_set), 0, nullptr},
    {"_plain_memory", T_OBJECT_EX, offsetof(ModuleBase, plain_memory), 0, nullptr},
    {nullptr, 0, 0, 0, nullptr}};

PyMemberDef instance_base_members[] = {
    {"module", T_OBJECT_EX, offsetof(InstanceBase, module), 0, "the wasmffi.Module this is an instance of"},
    {"_i", T_OBJECT_EX, offsetof(InstanceBase, core), 0, nullptr},
    {"exports", T_OBJECT_EX, offsetof(InstanceBase, exports), 0,
     "the exports, as attributes (declared functions as CFunc)"},
    {"raw_exports", T_OBJECT_EX, offsetof(InstanceBase, raw_exports), 0, "the exports, none of them declared"},
    {"cdef", T_OBJECT_EX, offsetof(InstanceBase, cdef), 0, "the CDef the instance was made with, or None"},
    {nullptr, 0, 0, 0, nullptr}};

PyType_Slot module_base_slots[] = {
    {Py_tp_doc, const_cast<char*>("The C base of wasmffi.Module: the fields Module.instantiate's C path reads.")},
    {Py_tp_new, reinterpret_cast<void*>(PyType_GenericNew)},
    {Py_tp_dealloc, reinterpret_cast<void*>(base_dealloc<4>)},
    {Py_tp_traverse, reinterpret_cast<void*>(base_traverse<4>)},
    {Py_tp_clear, reinterpret_cast<void*>(base_clear<4>)},
    {Py_tp_members, module_base_members},
    {0, nullptr}};

PyType_Slot instance_base_slots[] = {
    {Py_tp_doc, const_cast<char*>("The C base of wasmffi.Instance: the fields Module.instantiate's C path fills.")},
    {Py_tp_new, reinterpret_cast<void*>(PyType_GenericNew)},
    {Py_tp_dealloc, reinterpret_cast<void*>(base_dealloc<5>)},
    {Py_tp_traverse, reinterpret_cast<void*>(base_traverse<5>)},
    {Py_tp_clear, reinterpret_cast<void*>(base_clear<5>)},
    {Py_tp_members, instance_base_members},
    {0, nullptr}};

PyType_Spec module_base_spec = {"wasmffi._core._ModuleBase", sizeof(ModuleBase), 0,
                                Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, module_base_slots};
PyType_Spec instance_base_spec = {"wasmffi._core._InstanceBase", sizeof(InstanceBase), 0,
                                  Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
                                  instance_base_slots};
PyTypeObject* g_module_base = nullptr;
PyTypeObject* g_instance_base = nullptr;

// wasmffi.Module and wasmffi.Instance: registered by _core._register_types once, as wasmffi._api
// is imported (and never changed after, so no lock). The plain case runs only for a module whose
// type is exactly the registered Module (a subclass may override instantiate), and makes
// instances of the registered Instance class.
PyTypeObject* g_module_type = nullptr;
PyTypeObject* g_instance_type = nullptr;

// The keywords the C path takes: the store options (a sandbox per request sets its limits on
// every instantiation), kOptionNames interned once by _register_types.
PyObject* g_option_names[kOptionCount] = {};

void register_types(nb::handle module_cls, nb::handle instance_cls) {
  if (!PyType_Check(module_cls.ptr()) || !PyType_Check(instance_cls.ptr()))
    throw nb::type_error("_register_types(): expects the Module and Instance classes");
  auto* mt = reinterpret_cast<PyTypeObject*>(module_cls.ptr());
  auto* it = reinterpret_cast<PyTypeObject*>(instance_cls.ptr());
  if (!PyType_IsSubtype(mt, g_module_base))
    throw nb::type_error("_register_types(): the Module class must derive from _core._ModuleBase");
  if (!PyType_IsSubtype(it, g_instance_base))
    throw nb::type_error("_register_types(): the Instance class must derive from _core._InstanceBase");
  for (size_t i = 0; i < kOptionCount; ++i) {
    if (g_option_names[i] != nullptr) continue;
    g_option_names[i] = PyUnicode_InternFromString(kOptionNames[i]);  // for the process's life
    if (g_option_names[i] == nullptr) throw nb::python_error();
  }
  // Kept for the process's life (a registration made again replaces the classes).
  PyTypeObject* old_m = std::exchange(g_module_type, reinterpret_cast<PyTypeObject*>(Py_NewRef(mt)));
  PyTypeObject* old_i = std::exchange(g_instance_type, reinterpret_cast<PyTypeObject*>(Py_NewRef(it)));
  Py_XDECREF(old_m);
  Py_XDECREF(old_i);
}

// The wasmffi.Instance of `module` (a wasmffi.Module whose _plain_memory is None or a str), as
// Instance._setup builds it with allocator="auto" and no cdef, in a store with `options`.
PyObject* instantiate_plain(PyObject* module, const StoreOptions& options) {
  const auto* mb = reinterpret_cast<const ModuleBase*>(module);  // exactly g_module_type: checked by the caller
  PyObject* core_module = mb->m;
  PyObject* names = mb->export_names;
  PyObject* name_set = mb->export_name_set;
  PyObject* memory = mb->plain_memory;
  if (core_module == nullptr || names == nullptr || name_set == nullptr || !nb::isinstance<PyModule>(core_module)) {
    PyErr_SetString(PyExc_TypeError, "Module.instantiate(): the Module is not initialised");
    return nullptr;
  }
  try {
    PyModule& pm = *nb::inst_ptr<PyModule>(core_module);
    std::unique_ptr<Instance> inst = instantiate(pm, nb::none(), nb::none(), nb::none(), nb::none(), options);
    nb::object core = nb::inst_alloc(nb::type<PyInstance>());
    new (nb::inst_ptr<PyInstance>(core)) PyInstance{std::move(inst), GuestAllocator{}, std::nullopt, nb::none()};
    nb::inst_mark_ready(core);
    if (PyUnicode_Check(memory))  // the module exports an allocator for "auto" to bind
      bind_marshalling(*nb::inst_ptr<PyInstance>(core), "auto", nb::cast<std::string_view>(nb::handle(memory)));
    nb::object exports = nb::steal(make_exports(core.ptr(), names, name_set));
    if (!exports) throw nb::python_error();
    PyObject* self = g_instance_type->tp_alloc(g_instance_type, 0);  // fields zeroed (unset)
    if (self == nullptr) throw nb::python_error();
    auto* ib = reinterpret_cast<InstanceBase*>(self);  // a subclass of _InstanceBase: checked at registration
    ib->module = Py_NewRef(module);
    ib->core = core.release().ptr();
    ib->raw_exports = Py_NewRef(exports.ptr());
    ib->exports = exports.release().ptr();
    ib->cdef = Py_NewRef(Py_None);
    return self;
  } catch (nb::python_error& e) {
    e.restore();
  } catch (const std::exception& e) {  // nb::cast_error, bad_alloc: never expected, never fatal
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

// _core._Instantiate(function): what wasmffi.Module.instantiate is. A method descriptor (like a
// Python function: Py_TPFLAGS_METHOD_DESCRIPTOR, so `module.instantiate()` calls it without a
// bound method object) whose vectorcall takes the plain case itself and hands every other call,
// unchanged, to `function`, the Python method. Other attributes (__doc__, __wrapped__ for
// inspect.signature, __name__, ...) are the function's.
struct InstantiateObject {
  PyObject_HEAD
  PyObject* function;
  vectorcallfunc vectorcall;
};

int option_index(PyObject* name) {
  for (size_t i = 0; i < kOptionCount; ++i)  // interned: the same object, as a rule
    if (name == g_option_names[i]) return static_cast<int>(i);
  for (size_t i = 0; i < kOptionCount; ++i)  // (keyword names are str: no comparison fails)
    if (PyUnicode_Compare(name, g_option_names[i]) == 0) return static_cast<int>(i);
  return -1;
}

PyObject* instantiate_vectorcall(PyObject* callable, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  auto* self = reinterpret_cast<InstantiateObject*>(callable);
  const Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  // The plain case: module.instantiate(), with store options at most, on a wasmffi.Module (not a
  // subclass, whose layout or method may differ) whose instantiation needs no imports
  // (_plain_memory is not False).
  if (nargs == 1 && Py_TYPE(args[0]) == g_module_type) [[likely]] {
    PyObject* memory = reinterpret_cast<const ModuleBase*>(args[0])->plain_memory;
    if (memory != nullptr && memory != Py_False) {
      if (kwnames == nullptr) [[likely]]
        return instantiate_plain(args[0], StoreOptions{});
      nb::handle given[kOptionCount];
      for (auto& h : given) h = nb::none();
      given[kOptionCount - 1] = Py_False;
      bool options_only = true;
      for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(kwnames) && options_only; ++k) {
        const int i = option_index(PyTuple_GET_ITEM(kwnames, k));
        options_only = i >= 0;
        if (options_only) given[i] = args[nargs + k];
      }
      if (options_only) {
        try {
          const StoreOptions options =
              parse_store_options("instantiate()", given[0], given[1], given + 2, given[kOptionCount - 1]);
          return instantiate_plain(args[0], options);
        } catch (nb::python_error& e) {
          e.restore();
        } catch (const std::exception& e) {  // bad_alloc: never expected, never fatal
          PyErr_SetString(PyExc_RuntimeError, e.what());
        }
        return nullptr;
      }
    }
  }
  return PyObject_Vectorcall(self->function, args, nargsf, kwnames);
}

PyObject* instantiate_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  PyObject* function = nullptr;
  if (!PyArg_ParseTuple(args, "O:_Instantiate", &function)) return nullptr;
  if ((kwargs != nullptr && PyDict_GET_SIZE(kwargs) != 0) || !PyCallable_Check(function)) {
    PyErr_SetString(PyExc_TypeError, "_Instantiate() takes one callable (the Python method)");
    return nullptr;
  }
  auto* self = reinterpret_cast<InstantiateObject*>(type->tp_alloc(type, 0));
  if (self == nullptr) return nullptr;
  self->function = Py_NewRef(function);
  self->vectorcall = instantiate_vectorcall;
  return reinterpret_cast<PyObject*>(self);
}

void instantiate_dealloc(PyObject* o) {
  PyObject_GC_UnTrack(o);
  Py_CLEAR(reinterpret_cast<InstantiateObject*>(o)->function);
  PyTypeObject* type = Py_TYPE(o);
  type->tp_free(o);
  Py_DECREF(type);
}

int instantiate_traverse(PyObject* o, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(o));
  Py_VISIT(reinterpret_cast<InstantiateObject*>(o)->function);
  return 0;
}

// As a function: the unbound method on the class, a bound method on an instance.
PyObject* instantiate_descr_get(PyObject* self, PyObject* obj, PyObject*) {
  if (obj == nullptr || obj == Py_None) return Py_NewRef(self);
  return PyMethod_New(self, obj);
}

PyObject* instantiate_getattro(PyObject* self, PyObject* name) {
  // The method's own docstring (help(), inspect), not the type's.
  if (PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, "__doc__") == 0)
    return PyObject_GetAttr(reinterpret_cast<InstantiateObject*>(self)->function, name);
  PyObject* r = PyObject_GenericGetAttr(self, name);
  if (r != nullptr || !PyErr_ExceptionMatches(PyExc_AttributeError)) return r;
  PyErr_Clear();
  return PyObject_GetAttr(reinterpret_cast<InstantiateObject*>(self)->function, name);
}

PyObject* instantiate_wrapped(PyObject* self, void*) {
  return Py_NewRef(reinterpret_cast<InstantiateObject*>(self)->function);
}

PyObject* instantiate_repr(PyObject* self) {
  return PyUnicode_FromFormat("<wasmffi instantiate method wrapping %R>",
                              reinterpret_cast<InstantiateObject*>(self)->function);
}

PyGetSetDef instantiate_getset[] = {
    {"__wrapped__", instantiate_wrapped, nullptr, "The Python method every call but the plain one goes to.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

PyMemberDef instantiate_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(InstantiateObject, vectorcall), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr}};

PyType_Slot instantiate_type_slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(instantiate_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(instantiate_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(instantiate_traverse)},
    {Py_tp_call, reinterpret_cast<void*>(PyVectorcall_Call)},
    {Py_tp_descr_get, reinterpret_cast<void*>(instantiate_descr_get)},
    {Py_tp_getattro, reinterpret_cast<void*>(instantiate_getattro)},
    {Py_tp_repr, reinterpret_cast<void*>(instantiate_repr)},
    {Py_tp_getset, instantiate_getset},
    {Py_tp_doc, const_cast<char*>("Module.instantiate: the plain case in C, the rest through the Python method.")},
    {Py_tp_members, instantiate_members},
    {0, nullptr}};

PyType_Spec instantiate_type_spec = {
    "wasmffi._core._Instantiate", sizeof(InstantiateObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    instantiate_type_slots};

}  // namespace

void bind_instantiate(nb::module_& m) {
  g_module_base = reinterpret_cast<PyTypeObject*>(PyType_FromModuleAndSpec(m.ptr(), &module_base_spec, nullptr));
  if (g_module_base == nullptr) throw nb::python_error();
  m.attr("_ModuleBase") = nb::borrow(reinterpret_cast<PyObject*>(g_module_base));  // kept for the process's life
  g_instance_base = reinterpret_cast<PyTypeObject*>(PyType_FromModuleAndSpec(m.ptr(), &instance_base_spec, nullptr));
  if (g_instance_base == nullptr) throw nb::python_error();
  m.attr("_InstanceBase") = nb::borrow(reinterpret_cast<PyObject*>(g_instance_base));
  m.def("_register_types", &register_types, nb::arg("module_cls"), nb::arg("instance_cls"),
        "Tells _Instantiate the wasmffi.Module and wasmffi.Instance classes (derived from _ModuleBase and "
        "_InstanceBase) whose fields it reads and fills.");
  PyObject* instantiate_type = PyType_FromSpec(&instantiate_type_spec);
  if (instantiate_type == nullptr) throw nb::python_error();
  m.attr("_Instantiate") = nb::steal(instantiate_type);
}

}  // namespace wasmffi::py
