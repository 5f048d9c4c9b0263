// _Module: compilation (binary or WAT, GIL released), the compiled artifact's serialization, and
// the module's import/export descriptions.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>

#include <span>

#include "binding.hpp"
#include "gil.hpp"

namespace wasmffi::py {

namespace {

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

}  // namespace

void bind_module(nb::module_& m) {
  // Compilation can take a while: release the GIL for it, but take it back before raising
  // (setting a Python exception without the GIL crashes the interpreter).
  nb::class_<PyModule>(m, "_Module")
      .def_static("compile",
                  [](PyEngine& engine, nb::bytes data) {
                    std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(data.c_str()), data.size());
                    Result<std::shared_ptr<const Module>> r = [&] {
                      GilRelease unlocked;  // gil.hpp: safe when the interpreter exits meanwhile
                      return Module::compile(engine.engine, bytes);
                    }();
                    return PyModule{unwrap(std::move(r))};
                  })
      .def_static("from_wat",
                  [](PyEngine& engine, std::string_view wat) {
                    Result<std::shared_ptr<const Module>> r = [&] {
                      GilRelease unlocked;  // gil.hpp: safe when the interpreter exits meanwhile
                      return Module::from_wat(engine.engine, wat);
                    }();
                    return PyModule{unwrap(std::move(r))};
                  })
      // Only for bytes whose origin python/wasmffi/_cache.py has proven with its keyed MAC:
      // wasmtime runs what they contain (see Module::deserialize).
      .def_static("_deserialize_trusted",
                  [](PyEngine& engine, nb::bytes data) {
                    std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(data.c_str()), data.size());
                    Result<std::shared_ptr<const Module>> r = [&] {
                      GilRelease unlocked;  // gil.hpp: safe when the interpreter exits meanwhile
                      return Module::deserialize(engine.engine, bytes);
                    }();
                    return PyModule{unwrap(std::move(r))};
                  })
      .def("serialize",
           [](PyModule& pm) {
             Result<std::vector<uint8_t>> r = [&] {
               GilRelease unlocked;  // gil.hpp: safe when the interpreter exits meanwhile
               return pm.module->serialize();
             }();
             std::vector<uint8_t> bytes = unwrap(std::move(r));
             return nb::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
           })
      .def_prop_ro("imports", [](PyModule& pm) { return extern_list(pm.module->imports()); })
      .def_prop_ro("exports", [](PyModule& pm) { return extern_list(pm.module->exports()); });
  m.attr("WASMTIME_VERSION") = std::string(kWasmtimeVersion);
}

}  // namespace wasmffi::py
