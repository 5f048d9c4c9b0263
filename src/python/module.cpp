// The _core extension module: Engine, Module, Instance and Global bindings, and error registration.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

#include <string>

#include "binding.hpp"
#include "convert.hpp"
#include "func_object.hpp"
#include "wasmffi/call.hpp"
#include "wasmffi/engine.hpp"
#include "wasmffi/module.hpp"

namespace wasmffi::py {

void throw_error(const Error& err) {
  raise(err);
  throw nb::python_error();
}

namespace {

struct PyEngine {
  std::shared_ptr<Engine> engine;
};

struct PyModule {
  std::shared_ptr<const Module> module;
};

struct PyGlobal {
  nb::object owner;
  wasmtime_context_t* ctx;
  wasmtime_global_t global;
  GlobalDesc desc;
  std::string name;
};

template <class T>
T unwrap(Result<T>&& r) {
  if (!r) throw_error(r.error());
  return std::move(r).value();
}

nb::tuple kinds(const std::vector<ValKind>& ks) {
  nb::list out;
  for (ValKind k : ks) out.append(val_kind_name(k));
  return nb::tuple(out);
}

// (module, name, kind, type_text, details) -- wasmffi/_types.py turns these into named tuples.
nb::tuple extern_tuple(const ExternDesc& d) {
  nb::object details;
  switch (d.kind) {
    case ExternKind::Func: details = nb::make_tuple(kinds(d.func.params), kinds(d.func.results)); break;
    case ExternKind::Memory:
      details = nb::make_tuple(d.memory.min_pages, d.memory.has_max ? nb::cast(d.memory.max_pages) : nb::none(),
                               d.memory.is64, d.memory.shared, d.memory.page_size);
      break;
    case ExternKind::Global: details = nb::make_tuple(val_kind_name(d.global.content), d.global.mutable_); break;
    case ExternKind::Table:
      details = nb::make_tuple(val_kind_name(d.table.element), d.table.min,
                               d.table.has_max ? nb::cast(d.table.max) : nb::none());
      break;
    default: details = nb::none();
  }
  return nb::make_tuple(d.module, d.name, extern_kind_name(d.kind), d.type_string(), details);
}

nb::list extern_list(const std::vector<ExternDesc>& ds) {
  nb::list out;
  for (const auto& d : ds) out.append(extern_tuple(d));
  return out;
}

nb::object global_value(PyGlobal& g) { return nb::steal(from_value(unwrap(global_get(g.ctx, g.global)))); }

void set_global_value(PyGlobal& g, nb::handle value) {
  if (!g.desc.mutable_)
    throw nb::attribute_error(("global '" + g.name + "' is immutable").c_str());
  Value v;
  nb::str what(("global '" + g.name + "'").c_str());
  if (!to_value(value.ptr(), g.desc.content, v, what.ptr())) throw nb::python_error();
  if (auto r = global_set(g.ctx, g.global, v); !r) throw_error(r.error());
}

nb::object make_memory(nb::handle owner, wasmtime_context_t* ctx, const wasmtime_memory_t& mem) {
  return nb::cast(PyMemory{nb::borrow(owner), GuestMemory(ctx, mem)}, nb::rv_policy::move);
}

// One export as its Python object: Func, Global or Memory (tables/tags: None for now).
nb::object export_object(nb::handle self, PyInstance& pi, const Export& e) {
  wasmtime_context_t* ctx = pi.inst->context();
  switch (e.kind) {
    case ExternKind::Func: {
      nb::str name(e.name.data(), e.name.size());
      PyObject* f = make_func(self.ptr(), ctx, e.item.of.func, name.ptr());
      if (f == nullptr) throw nb::python_error();
      return nb::steal(f);
    }
    case ExternKind::Global:
      return nb::cast(PyGlobal{nb::borrow(self), ctx, e.item.of.global, global_type(ctx, e.item.of.global), e.name},
                      nb::rv_policy::move);
    case ExternKind::Memory: return make_memory(self, ctx, e.item.of.memory);
    default: {
      std::string msg = "export '" + e.name + "' is a " + extern_kind_name(e.kind) +
                        "; only functions, globals and memories can be used from Python so far";
      throw nb::type_error(msg.c_str());
    }
  }
}

}  // namespace

}  // namespace wasmffi::py

using namespace wasmffi;
using namespace wasmffi::py;

NB_MODULE(_core, m) {
  m.doc() = "wasmffi's compiled core (use the wasmffi package, not this module)";

  if (!init_func_type(m.ptr())) throw nb::python_error();
  // The package keeps a process-wide default Engine in a module global; interpreter shutdown
  // may clear it after nanobind's leak check runs, which would print a false alarm.
  nb::set_leak_warnings(false);

  m.def(
      "_register_errors",
      [](nb::dict classes, nb::dict traps, nb::handle signature_factory) {
        ErrorClasses& c = errors();
        auto keep = [](nb::handle h) { return Py_NewRef(h.ptr()); };
        c.error = keep(classes["Error"]);
        c.compile = keep(classes["CompileError"]);
        c.link = keep(classes["LinkError"]);
        c.memory_access = keep(classes["MemoryAccessError"]);
        c.trap = keep(classes["Trap"]);
        for (size_t k = 0; k < std::size(c.traps); ++k) {
          const char* name = trap_kind_name(static_cast<TrapKind>(k));
          if (traps.contains(name)) c.traps[k] = keep(traps[name]);
        }
        set_signature_factory(signature_factory.ptr());
      },
      "Hands the Python-defined exception classes to the extension (called once by wasmffi).");

  nb::class_<PyEngine>(m, "Engine", "A compilation environment; modules compiled for it share its settings.")
      .def(
          "__init__",
          [](PyEngine* self, uint64_t memory_reservation, uint64_t memory_guard_size, bool memory64, bool consume_fuel,
             bool epoch_interruption, int opt_level) {
            EngineConfig cfg;
            cfg.memory_reservation = memory_reservation;
            cfg.memory_guard_size = memory_guard_size;
            cfg.memory64 = memory64;
            cfg.consume_fuel = consume_fuel;
            cfg.epoch_interruption = epoch_interruption;
            cfg.opt_level = opt_level;
            new (self) PyEngine{unwrap(Engine::create(cfg))};
          },
          nb::kw_only(), nb::arg("memory_reservation") = EngineConfig{}.memory_reservation,
          nb::arg("memory_guard_size") = EngineConfig{}.memory_guard_size, nb::arg("memory64") = true,
          nb::arg("consume_fuel") = false, nb::arg("epoch_interruption") = false, nb::arg("opt_level") = 1)
      .def_prop_ro("memory_reservation", [](PyEngine& e) { return e.engine->config().memory_reservation; })
      .def_prop_ro("memory64", [](PyEngine& e) { return e.engine->config().memory64; })
      .def_prop_ro("consume_fuel", [](PyEngine& e) { return e.engine->config().consume_fuel; })
      .def_prop_ro("epoch_interruption", [](PyEngine& e) { return e.engine->config().epoch_interruption; })
      .def("increment_epoch", [](PyEngine& e) { e.engine->increment_epoch(); },
           "Advances the engine's epoch by one tick (safe to call from any thread).");

  // Compilation can take a while: release the GIL for it, but take it back before raising
  // (setting a Python exception without the GIL crashes the interpreter).
  nb::class_<PyModule>(m, "_Module")
      .def_static("compile",
                  [](PyEngine& engine, nb::bytes data) {
                    std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(data.c_str()), data.size());
                    Result<std::shared_ptr<const Module>> r = [&] {
                      nb::gil_scoped_release unlocked;
                      return Module::compile(engine.engine, bytes);
                    }();
                    return PyModule{unwrap(std::move(r))};
                  })
      .def_static("from_wat",
                  [](PyEngine& engine, std::string_view wat) {
                    Result<std::shared_ptr<const Module>> r = [&] {
                      nb::gil_scoped_release unlocked;
                      return Module::from_wat(engine.engine, wat);
                    }();
                    return PyModule{unwrap(std::move(r))};
                  })
      .def_prop_ro("imports", [](PyModule& pm) { return extern_list(pm.module->imports()); })
      .def_prop_ro("exports", [](PyModule& pm) { return extern_list(pm.module->exports()); });

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
          "fuel", [](PyInstance& pi) { return unwrap(pi.inst->store().fuel()); },
          [](PyInstance& pi, uint64_t fuel) {
            if (auto r = pi.inst->store().set_fuel(fuel); !r) throw_error(r.error());
          })
      .def(
          "set_epoch_deadline", [](PyInstance& pi, uint64_t ticks) { pi.inst->store().set_epoch_deadline(ticks); },
          nb::arg("ticks"))
      .def("export_names", [](PyInstance& pi) {
        nb::list out;
        for (const auto& e : pi.inst->exports()) out.append(nb::str(e.name.data(), e.name.size()));
        return out;
      });

  nb::class_<PyGlobal>(m, "Global", "An exported global; read or assign .value.")
      .def_prop_rw("value", &global_value, &set_global_value, nb::for_setter(nb::arg("value").none()))
      .def_prop_ro("type", [](PyGlobal& g) { return val_kind_name(g.desc.content); })
      .def_prop_ro("mutable", [](PyGlobal& g) { return g.desc.mutable_; })
      .def("__repr__", [](PyGlobal& g) {
        return "<wasmffi.Global " + g.name + ": " + g.desc.to_string() + ">";
      });

  bind_memory(m);
}
