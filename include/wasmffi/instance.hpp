// Instance: a module instantiated in a store of its own. Exports are plain values used with
// that store's context; the Instance owns the store, so it outlives every export handed out.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <wasmtime.h>

#include "wasmffi/handle.hpp"
#include "wasmffi/module.hpp"
#include "wasmffi/result.hpp"

namespace wasmffi {

class Store {
 public:
  // On an epoch engine the store starts with no effective deadline (kEpochNever): wasmtime's
  // own default, a deadline of "now", would make every call trap until one is set.
  explicit Store(std::shared_ptr<Engine> engine);
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  wasmtime_context_t* context() const noexcept { return context_; }
  wasmtime_store_t* capi() const noexcept { return store_.capi(); }
  const Engine& engine() const noexcept { return *engine_; }
  // The Store a context belongs to (every Store registers itself as its wasmtime store data).
  static Store& of(wasmtime_context_t* ctx) noexcept;

  // Fuel (engines with consume_fuel): a new store has none, so calls trap with OutOfFuel until
  // fuel is added. On any other engine both are an ErrorKind::Engine naming the fix.
  Result<void> set_fuel(uint64_t fuel);
  Result<uint64_t> fuel() const;
  // Epoch deadline (engines with epoch_interruption), in ticks from the engine's current epoch;
  // kEpochNever or more means no deadline. Other engines: an ErrorKind::Engine naming the fix.
  Result<void> set_epoch_deadline(uint64_t ticks_beyond_current);

  // wasmtime stores current_epoch + ticks unchecked, so 2**64 - 1 ticks after one increment
  // would wrap to a deadline in the past and every call would trap. Ticks are capped here: an
  // epoch counter never gets near 2**63 (292 years at a billion ticks a second), so the sum
  // cannot wrap and a deadline 2**63 ticks away is never reached.
  static constexpr uint64_t kEpochNever = uint64_t{1} << 63;

  // Per-store data. wasmtime's store data pointer is this Store, so a host function reaches it
  // from its caller's context in one call (Store::of).

  // A host error (the binding stores a Python exception here) raised inside a host function,
  // waiting for the call that entered wasm to pick it up after the trap unwound the wasm frames.
  // Per store, never global: two stores in flight on one thread keep their errors apart. The
  // core does not know what it holds; `drop` frees it when the store dies with it still pending.
  void set_pending(void* payload, void (*drop)(void*)) noexcept;
  // The pending payload (ownership passes to the caller), or nullptr.
  void* take_pending() noexcept { return std::exchange(pending_, nullptr); }
  ~Store();

  // Thread ownership (see StoreEntry in src/python/store_guard.hpp for the rule). `owner` is the
  // thread that has the store entered, 0 when none: a store's user is only ever marked while a
  // host function of it runs (or a call started while one did), because only a host function
  // lets another thread run Python, and so reach the store, in the middle of a call.
  uintptr_t owner = 0;
  uint32_t depth = 0;

 private:
  std::shared_ptr<Engine> engine_;
  Owned<wasmtime_store_t, wasmtime_store_delete> store_;
  wasmtime_context_t* context_;  // cached: wasmtime_store_context is an FFI call
  void* pending_ = nullptr;
  void (*pending_drop_)(void*) = nullptr;
};

// A small number unique to the calling thread (the address of a thread-local), for Store::owner.
uintptr_t this_thread_token() noexcept;

namespace detail {
// How many host-function activations are running, in any store, on any thread. While it is 0
// no thread can be suspended inside a store, so a call can enter its store without looking.
extern std::atomic<uint32_t> g_host_active;
}  // namespace detail

// Marks `store` as entered by this thread for the life of one host-function activation.
class HostActivation {
 public:
  explicit HostActivation(Store& store) noexcept : store_(store) {
    store_.owner = this_thread_token();
    ++store_.depth;
    detail::g_host_active.fetch_add(1, std::memory_order_relaxed);
  }
  ~HostActivation() {
    detail::g_host_active.fetch_sub(1, std::memory_order_relaxed);
    if (--store_.depth == 0) store_.owner = 0;
  }
  HostActivation(const HostActivation&) = delete;
  HostActivation& operator=(const HostActivation&) = delete;

 private:
  Store& store_;
};

// Native stack guard. wasm runs on the calling thread's native stack, and wasmtime puts the
// stack limit max_wasm_stack below the stack pointer at entry. If the thread has less stack left
// than that, deep recursion runs into the thread's guard page first: SIGSEGV, not a trap. So a
// call only enters wasm when the thread has max_wasm_stack + kHostStackMargin left.
namespace detail {
// Lowest usable address of the calling thread's stack; UINTPTR_MAX until first looked up.
// initial-exec: one %fs-relative load, no __tls_get_addr call on the hot path; constinit: no
// per-access check for a dynamic initialiser.
extern thread_local constinit uintptr_t t_stack_low [[gnu::tls_model("initial-exec")]];
bool native_stack_fits_slow(wasmtime_context_t* ctx, uintptr_t sp) noexcept;
}  // namespace detail

// Whether a call into `ctx`'s store may start on this thread. Costs a TLS load and two compares
// when the thread has more stack left than any engine needs (always so on default stacks).
inline bool native_stack_fits(wasmtime_context_t* ctx) noexcept {
  const auto sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  const uintptr_t low = detail::t_stack_low;
  if (sp > low && sp - low >= detail::g_largest_stack_need.load(std::memory_order_relaxed)) [[likely]]
    return true;
  return detail::native_stack_fits_slow(ctx, sp);
}

// The StackOverflow error for a call native_stack_fits refused (cold path).
Error native_stack_error(wasmtime_context_t* ctx);

struct Export {
  std::string name;
  ExternKind kind;
  wasmtime_extern_t item;
};

// The start of the ErrorKind::Resource message for an instantiation that found every slot of a
// pooling engine taken (EngineConfig::pooling_slots).
inline constexpr std::string_view kNoFreeSlot = "no free instance slot";
inline bool is_no_free_slot(const Error& e) noexcept {
  return e.kind == ErrorKind::Resource && e.message.starts_with(kNoFreeSlot);
}

class Instance {
 public:
  // `imports` must be given in the module's import order and belong to `store`.
  static Result<std::unique_ptr<Instance>> create(std::shared_ptr<const Module> module,
                                                  std::unique_ptr<Store> store,
                                                  std::span<const wasmtime_extern_t> imports);
  // Same, with the caller keeping a share of the store (host functions' state lives there).
  static Result<std::unique_ptr<Instance>> create(std::shared_ptr<const Module> module,
                                                  std::shared_ptr<Store> store,
                                                  std::span<const wasmtime_extern_t> imports);
  // Convenience for import-free modules: a fresh store, no imports.
  static Result<std::unique_ptr<Instance>> create(std::shared_ptr<const Module> module);

  // One export by name (a hash lookup), or nullopt when the module exports no such name.
  std::optional<Export> export_get(std::string_view name) const;
  // Every export, in module order: O(n), names taken from module().exports().
  std::vector<Export> exports() const;
  wasmtime_context_t* context() const noexcept { return store_->context(); }
  Store& store() const noexcept { return *store_; }
  // A share of the store, for instances linked to this one (they must live in the same store).
  std::shared_ptr<Store> store_shared() const noexcept { return store_; }
  const Module& module() const noexcept { return *module_; }

 private:
  Instance(std::shared_ptr<const Module> module, std::shared_ptr<Store> store)
      : module_(std::move(module)), store_(std::move(store)) {}
  std::shared_ptr<const Module> module_;
  std::shared_ptr<Store> store_;
  wasmtime_instance_t instance_{};
};

}  // namespace wasmffi
