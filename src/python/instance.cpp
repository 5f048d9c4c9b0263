// _Instance: a module instantiated in its own store, and the Python objects for its exports.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>

#include <string>

#include "args.hpp"
#include "binding.hpp"
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
      throw nb::type_error(msg.c_str());
    }
  }
}

}  // namespace

void bind_instance(nb::module_& m) {
  nb::class_<PyInstance>(m, "_Instance")
      .def("__init__",
           [](PyInstance* self, PyModule& pm) { new (self) PyInstance{unwrap(Instance::create(pm.module))}; })
      .def("export", [](nb::handle self, std::string_view name) -> nb::object {
        PyInstance& pi = nb::cast<PyInstance&>(self);
        auto e = pi.inst->export_get(name);
        if (!e) return nb::none();
        return export_object(self, pi, *e);
      })
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
          nb::arg("ticks").none())
      .def("export_names", [](PyInstance& pi) {
        nb::list out;
        for (const auto& e : pi.inst->exports()) out.append(nb::str(e.name.data(), e.name.size()));
        return out;
      });
}

}  // namespace wasmffi::py
