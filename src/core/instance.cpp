// Store ownership, instantiation and export lookup.
#include "wasmffi/instance.hpp"

#include <string>

#include "wasmffi/call.hpp"

namespace wasmffi {

Store::Store(std::shared_ptr<Engine> engine)
    : engine_(std::move(engine)),
      store_(wasmtime_store_new(engine_->capi(), nullptr, nullptr)),
      context_(wasmtime_store_context(store_.capi())) {}

Result<void> Store::set_fuel(uint64_t fuel) {
  if (wasmtime_error_t* err = wasmtime_context_set_fuel(context_, fuel)) return take_error(err, ErrorKind::Engine);
  return {};
}

Result<uint64_t> Store::fuel() const {
  uint64_t fuel = 0;
  if (wasmtime_error_t* err = wasmtime_context_get_fuel(context_, &fuel)) return take_error(err, ErrorKind::Engine);
  return fuel;
}

void Store::set_epoch_deadline(uint64_t ticks) { wasmtime_context_set_epoch_deadline(context_, ticks); }

static ExternKind kind_of(const wasmtime_extern_t& item) {
  switch (item.kind) {
    case WASMTIME_EXTERN_FUNC: return ExternKind::Func;
    case WASMTIME_EXTERN_GLOBAL: return ExternKind::Global;
    case WASMTIME_EXTERN_TABLE: return ExternKind::Table;
    case WASMTIME_EXTERN_MEMORY: return ExternKind::Memory;
    case WASMTIME_EXTERN_TAG: return ExternKind::Tag;
    default: return ExternKind::Other;
  }
}

Result<std::unique_ptr<Instance>> Instance::create(std::shared_ptr<const Module> module,
                                                   std::unique_ptr<Store> store,
                                                   std::span<const wasmtime_extern_t> imports) {
  const auto& wanted = module->imports();
  if (imports.size() != wanted.size()) {
    std::string msg = "module needs " + std::to_string(wanted.size()) + " import(s), got " +
                      std::to_string(imports.size());
    for (const auto& imp : wanted)
      msg += "\n  " + imp.module + "." + imp.name + ": " + extern_kind_name(imp.kind) + " " +
             imp.type_string();
    return make_error(ErrorKind::Link, std::move(msg));
  }
  std::unique_ptr<Instance> inst(new Instance(std::move(module), std::move(store)));
  wasm_trap_t* trap = nullptr;
  wasmtime_error_t* err = wasmtime_instance_new(inst->context(), inst->module_->capi(),
                                                imports.data(), imports.size(), &inst->instance_, &trap);
  if (trap != nullptr) return call_failure(nullptr, trap);  // start function trapped
  if (err != nullptr) return take_error(err, ErrorKind::Link);
  return inst;
}

Result<std::unique_ptr<Instance>> Instance::create(std::shared_ptr<const Module> module) {
  auto store = std::make_unique<Store>(module->engine());
  return create(std::move(module), std::move(store), {});
}

std::optional<Export> Instance::export_get(std::string_view name) const {
  wasmtime_extern_t item;
  if (!wasmtime_instance_export_get(context(), &instance_, name.data(), name.size(), &item))
    return std::nullopt;
  return Export{std::string(name), kind_of(item), item};
}

std::vector<Export> Instance::exports() const {
  // Names come from the module's export list, described once at compile time; each lookup by
  // name is a hash lookup in wasmtime. wasmtime_instance_export_nth would walk (and build) the
  // first n exports again for every n: O(n^2) for a module with thousands of exports.
  std::vector<Export> out;
  out.reserve(module_->exports().size());
  for (const auto& desc : module_->exports())
    if (auto e = export_get(desc.name)) out.push_back(std::move(*e));
  return out;
}

}  // namespace wasmffi
