// _Instance: a module instantiated in its own store, and the Python objects for its exports.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>

#include <string>

#include "args.hpp"
#include "binding.hpp"
#include "exports.hpp"
#include "func.hpp"

namespace wasmffi::py {

namespace {

// One export as its Python object: Func, Global or Memory (tables/tags: a clear TypeError).
nb::object export_object(nb::handle self, PyInstance& pi, const Export& e) {
  wasmtime_context_t* ctx = pi.inst->context();
  switch (e.kind) {
    case ExternKind::Func: {
      nb::str name(e.name.data(), e.name.size());
      PyObject* f = make_func(self.ptr(), ctx, e.item.of.func, name.ptr());
      if (f == nullptr) throw nb::python_error();
      return nb::steal(f);
    }
    case ExternKind::Global: return make_global(self, ctx, e.item.of.global, e.name);
    case ExternKind::Memory: return make_memory(self, ctx, e.item.of.memory);
    default: {
      std::string msg = "export '" + e.name + "' is a " + extern_kind_name(e.kind) +
                        "; only functions, globals and memories can be used from Python so far";
      PyErr_SetString(PyExc_TypeError, msg.c_str());
      throw nb::python_error();
    }
  }
}

}  // namespace

PyObject* resolve_export(PyObject* instance, PyObject* name) {
  try {
    nb::handle self(instance);
    PyInstance& pi = nb::cast<PyInstance&>(self);
    Py_ssize_t len = 0;
    const char* utf8 = PyUnicode_AsUTF8AndSize(name, &len);
    if (utf8 == nullptr) return nullptr;
    auto e = pi.inst->export_get(std::string_view(utf8, static_cast<size_t>(len)));
    if (!e) return PyErr_Format(PyExc_KeyError, "no export named %R", name);
    return export_object(self, pi, *e).release().ptr();
  } catch (nb::python_error& err) {
    err.restore();
  } catch (const std::exception& err) {
    PyErr_SetString(PyExc_RuntimeError, err.what());
  }
  return nullptr;
}

void bind_instance(nb::module_& m) {
  nb::class_<PyInstance>(m, "_Instance")
      .def("__init__",
           [](PyInstance* self, PyModule& pm) { new (self) PyInstance{unwrap(Instance::create(pm.module))}; })
      .def(
          "exports",
          [](nb::handle self, nb::tuple names, nb::frozenset name_set) {
            PyObject* ex = make_exports(self.ptr(), names.ptr(), name_set.ptr());
            if (ex == nullptr) throw nb::python_error();
            return nb::steal(ex);
          },
          nb::arg("names"), nb::arg("name_set"),
          "A new Exports mapping over this instance (names: the module's export names, built once per Module).")
      .def_prop_rw(
          "fuel",
          [](PyInstance& pi) {
            Result<uint64_t> r = pi.inst->store().fuel();
            if (!r) throw_error_in("Instance.fuel", std::move(r).error());
            return *r;
          },
          [](PyInstance& pi, nb::handle value) {
            const uint64_t fuel = parse_u64(value, "Instance.fuel");
            if (auto r = pi.inst->store().set_fuel(fuel); !r) throw_error_in("Instance.fuel", std::move(r).error());
          },
          nb::for_setter(nb::arg("value").none()))
      .def(
          "set_epoch_deadline",
          [](PyInstance& pi, nb::handle ticks) {
            const uint64_t t = parse_u64(ticks, "Instance.set_epoch_deadline() argument 'ticks'");
            if (auto r = pi.inst->store().set_epoch_deadline(t); !r)
              throw_error_in("Instance.set_epoch_deadline()", std::move(r).error());
          },
          nb::arg("ticks").none());
}

}  // namespace wasmffi::py
