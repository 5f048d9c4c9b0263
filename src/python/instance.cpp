// _Instance: a module instantiated in its own store, and the Python objects for its exports.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string_view.h>

#include <string>

#include "args.hpp"
#include "cfunc.hpp"
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
          nb::arg("ticks").none())
      .def(
          "bind_marshalling",
          [](PyInstance& pi, std::string_view allocator, std::optional<std::string_view> memory) {
            std::optional<GuestMemory> mem;
            if (memory) {
              auto e = pi.inst->export_get(*memory);
              if (e && e->kind == ExternKind::Memory) mem.emplace(pi.inst->context(), e->item.of.memory);
            }
            auto a = GuestAllocator::find(*pi.inst, allocator, mem && mem->is64());
            if (!a) throw_error(a.error());
            *pi.alloc = std::move(a).value();
            *pi.mem = std::move(mem);
          },
          nb::arg("allocator"), nb::arg("memory").none(),
          "Chooses the guest allocator ('auto', 'bump', 'malloc', 'cabi_realloc' or 'none') and the memory "
          "declared functions copy into.")
      .def_prop_ro("allocator", [](PyInstance& pi) { return allocator_kind_name(pi.alloc->kind()); })
      .def(
          "cfunc",
          [](nb::handle self, nb::str name, nb::handle raw, nb::tuple desc) {
            PyInstance& pi = nb::cast<PyInstance&>(self);
            auto e = pi.inst->export_get(name.c_str());
            if (!e || e->kind != ExternKind::Func) throw nb::value_error("cfunc(): no such function export");
            PyObject* f = make_cfunc(self.ptr(), pi.inst->context(), e->item.of.func, pi.alloc.get(), pi.mem.get(),
                                     raw.ptr(), desc.ptr());
            if (f == nullptr) throw nb::python_error();
            return nb::steal(f);
          },
          nb::arg("name"), nb::arg("raw"), nb::arg("desc"), "A declared function (see python/wasmffi/_marshal.py).")
      .def(
          "guest_alloc",
          [](PyInstance& pi, nb::handle n) {
            auto r = pi.alloc->alloc(pi.inst->context(), parse_u64(n, "Scratch.alloc() argument 'size'"));
            if (!r) throw_error_in("Scratch.alloc()", std::move(r).error());
            return *r;
          },
          nb::arg("size").none())
      .def("guest_free",
           [](PyInstance& pi, uint64_t addr) {
             if (auto r = pi.alloc->free(pi.inst->context(), addr); !r) throw_error_in("Scratch", std::move(r).error());
           })
      .def_prop_ro("guest_has_mark", [](PyInstance& pi) { return pi.alloc->has_mark(); })
      .def("guest_mark",
           [](PyInstance& pi) {
             auto r = pi.alloc->mark(pi.inst->context());
             if (!r) throw_error_in("Scratch", std::move(r).error());
             return *r;
           })
      .def("guest_release", [](PyInstance& pi, uint64_t m) {
        if (auto r = pi.alloc->release_to(pi.inst->context(), m); !r) throw_error_in("Scratch", std::move(r).error());
      });
}

}  // namespace wasmffi::py
