// Global: an exported wasm global, read and assigned through .value with range checks.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <string>

#include "binding.hpp"
#include "convert.hpp"
#include "store_guard.hpp"
#include "wasmffi/global.hpp"

namespace wasmffi::py {

namespace {

struct PyGlobal {
  nb::object owner;  // the PyInstance's Python object: keeps the store alive
  wasmtime_context_t* ctx;
  wasmtime_global_t global;
  GlobalDesc desc;
  std::string name;
};

// Both accessors enter the store like a call does (store_guard.hpp): while another thread is
// inside it (a call that released the GIL, or a host function) they raise StoreInUseError
// instead of touching a store that is running.
nb::object global_value(PyGlobal& g) {
  StoreEntry entry(g.ctx);
  if (!entry) throw nb::python_error();
  return nb::steal(from_value(unwrap(global_get(g.ctx, g.global))));
}

void set_global_value(PyGlobal& g, nb::handle value) {
  if (!g.desc.mutable_)
    throw nb::attribute_error(("global '" + g.name + "' is immutable").c_str());
  Value v;
  nb::str what(("global '" + g.name + "'").c_str());
  if (!to_value(value.ptr(), g.desc.content, v, what.ptr())) throw nb::python_error();
  StoreEntry entry(g.ctx);
  if (!entry) throw nb::python_error();
  if (auto r = global_set(g.ctx, g.global, v); !r) throw_error(r.error());
}

// As memory.cpp's guest_buffer_traverse: a Global a host function keeps is part of a cycle
// through its instance, which the collector must see.
int global_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  if (!nb::inst_ready(self)) return 0;
  Py_VISIT(nb::inst_ptr<PyGlobal>(self)->owner.ptr());
  return 0;
}

PyType_Slot global_slots[] = {{Py_tp_traverse, reinterpret_cast<void*>(global_traverse)}, {0, nullptr}};

}  // namespace

nb::object make_global(nb::handle owner, wasmtime_context_t* ctx, const wasmtime_global_t& global,
                       const std::string& name) {
  return nb::cast(PyGlobal{nb::borrow(owner), ctx, global, global_type(ctx, global), name}, nb::rv_policy::move);
}

void bind_global(nb::module_& m) {
  nb::class_<PyGlobal>(m, "Global", "An exported global; read or assign .value.", nb::type_slots(global_slots))
      .def_prop_rw("value", &global_value, &set_global_value, nb::for_setter(nb::arg("value").none()))
      .def_prop_ro("type", [](PyGlobal& g) { return val_kind_name(g.desc.content); })
      .def_prop_ro("mutable", [](PyGlobal& g) { return g.desc.mutable_; })
      .def("__repr__", [](PyGlobal& g) { return "<wasmffi.Global " + g.name + ": " + g.desc.to_string() + ">"; });
}

}  // namespace wasmffi::py
