// Instance: a module instantiated in a store of its own. Exports are plain values used with
// that store's context; the Instance owns the store, so it outlives every export handed out.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <wasmtime.h>

#include "wasmffi/handle.hpp"
#include "wasmffi/module.hpp"
#include "wasmffi/result.hpp"

namespace wasmffi {

class Store {
 public:
  explicit Store(std::shared_ptr<Engine> engine);
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  wasmtime_context_t* context() const noexcept { return context_; }
  wasmtime_store_t* capi() const noexcept { return store_.capi(); }

  // Fuel (engines with consume_fuel): a new store has none, so calls trap with OutOfFuel until
  // fuel is added. Errors if the engine does not consume fuel.
  Result<void> set_fuel(uint64_t fuel);
  Result<uint64_t> fuel() const;
  // Epoch deadline (engines with epoch_interruption), in ticks from the engine's current epoch.
  void set_epoch_deadline(uint64_t ticks_beyond_current);

 private:
  std::shared_ptr<Engine> engine_;
  Owned<wasmtime_store_t, wasmtime_store_delete> store_;
  wasmtime_context_t* context_;  // cached: wasmtime_store_context is an FFI call
};

struct Export {
  std::string name;
  ExternKind kind;
  wasmtime_extern_t item;
};

class Instance {
 public:
  // `imports` must be given in the module's import order and belong to `store`.
  static Result<std::unique_ptr<Instance>> create(std::shared_ptr<const Module> module,
                                                  std::unique_ptr<Store> store,
                                                  std::span<const wasmtime_extern_t> imports);
  // Convenience for import-free modules: a fresh store, no imports.
  static Result<std::unique_ptr<Instance>> create(std::shared_ptr<const Module> module);

  // One export by name (a hash lookup), or nullopt when the module exports no such name.
  std::optional<Export> export_get(std::string_view name) const;
  // Every export, in module order: O(n), names taken from module().exports().
  std::vector<Export> exports() const;
  wasmtime_context_t* context() const noexcept { return store_->context(); }
  Store& store() const noexcept { return *store_; }
  const Module& module() const noexcept { return *module_; }

 private:
  Instance(std::shared_ptr<const Module> module, std::unique_ptr<Store> store)
      : module_(std::move(module)), store_(std::move(store)) {}
  std::shared_ptr<const Module> module_;
  std::unique_ptr<Store> store_;
  wasmtime_instance_t instance_{};
};

}  // namespace wasmffi
