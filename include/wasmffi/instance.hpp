// Instance: a module instantiated in a store of its own. Exports are plain values used with
// that store's context; the Instance owns the store, so it outlives every export handed out.
#pragma once

#include <atomic>
#include <chrono>
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

// Per-store resource limits (wasmtime_store_limiter); -1 leaves one unlimited. A memory or table
// that would grow past its limit fails as the guest sees it (memory.grow returns -1); an
// instantiation that needs more fails with an error naming the limit.
struct StoreLimits {
  int64_t memory_size = -1;  // bytes, per linear memory
  int64_t table_elements = -1;
  int64_t instances = -1;
  int64_t tables = -1;
  int64_t memories = -1;
  bool any() const noexcept {
    return memory_size >= 0 || table_elements >= 0 || instances >= 0 || tables >= 0 || memories >= 0;
  }
  // "max_memory=65536, max_tables=1": the limits set, in the Python keyword names.
  std::string to_string() const;
};

class Store {
 public:
  // On an epoch engine the store installs its epoch callback (see on_epoch) with a deadline of
  // one tick, and makes sure the engine's ticker runs. It starts with no user deadline.
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
  // Epoch deadline (engines with epoch_interruption), in ticks of Engine::increment_epoch from
  // its current user epoch; kEpochNever or more means no deadline. Other engines: an
  // ErrorKind::Engine naming the fix. The ticker does not count: only increment_epoch does.
  Result<void> set_epoch_deadline(uint64_t ticks_beyond_current);
  // Every call into this store (counted from the outermost one) traps with Interrupt once it has
  // run `timeout` (zero: no timeout). Timeouts of Engine::kPreciseTimeout or more are measured
  // in ticker ticks: a call stops after between `timeout` rounded up to whole ticks and one tick
  // more (+ the time to reach the next loop header or call), at most 1.5 x timeout. Shorter ones
  // are timed by the clock, with a wake-up of the ticker at the deadline (Engine::add_wake), so
  // the call stops at about `timeout` plus the thread's wake-up latency. Needs an epoch engine
  // (else ErrorKind::Engine naming the fix).
  Result<void> set_timeout(std::chrono::nanoseconds timeout);
  std::chrono::nanoseconds timeout() const noexcept { return timeout_; }
  // Installs the limiter; call before instantiating (a store's limits are set once).
  void set_limits(const StoreLimits& limits);
  const StoreLimits& limits() const noexcept { return limits_; }

  // Brackets one call for the timeout: the count starts at the outermost call, from the engine's
  // tick counter (one relaxed load) and the clock (the tick count decides when to look; the clock
  // makes sure the call never stops before its timeout: ticks that arrive late and bunched under
  // load once stopped a 50 ms timeout after 49.3 ms). Costs one predictable branch on a store
  // without a timeout (the binding only uses it on stores with one). A short timeout also
  // registers its deadline with the ticker (a mutex, and a futex wake).
  void begin_call() noexcept {
    if (timeout_.count() != 0 && timed_depth_++ == 0) {
      call_start_tick_ = engine_->ticks();
      deadline_ = std::chrono::steady_clock::now() + timeout_;
      if (timeout_ < Engine::kPreciseTimeout) [[unlikely]] {
        try {
          wake_token_ = engine_->add_wake(deadline_);
        } catch (...) {  // no memory for the entry: the call is timed by ticks instead
          wake_token_ = 0;
        }
      }
    }
  }
  void end_call() noexcept {
    if (timeout_.count() != 0 && timed_depth_ != 0 && --timed_depth_ == 0 && wake_token_ != 0)
      engine_->remove_wake(deadline_, std::exchange(wake_token_, 0));
  }

  // Cancellation (any thread): stops the call running in this store at its next epoch check,
  // which request_cancel brings forward by advancing the engine's epoch (so within about a
  // tick of wasm code, usually far less), or when a host function of the store returns or a
  // blocking WASI call next looks (take_cancel_trap, stop_requested). The call fails with
  // TrapKind::Cancelled. Only a call that runs is cancelled: with no call in the store
  // (owner == 0) it does nothing and returns false. The binding calls it with the GIL held, so
  // that `owner` cannot change under it, and consumes the request at each place where the
  // store's call can have let another thread in (docs/design.md, "Cancellation"), so that a call
  // that returned before seeing it leaves nothing behind for the next one.
  bool request_cancel() noexcept;
  bool cancel_pending() const noexcept { return cancel_.load(std::memory_order_relaxed); }
  void clear_cancel() noexcept { cancel_.store(false, std::memory_order_relaxed); }
  // For a host function on its way back to wasm: nullptr, or (a cancel is pending, and is taken)
  // the trap that ends the call with TrapKind::Cancelled.
  wasm_trap_t* take_cancel_trap() noexcept {
    if (!cancel_pending()) [[likely]]
      return nullptr;
    return cancel_trap();
  }

  // Whether the current call must stop now, asked by the epoch callback and by host functions
  // that block (a WASI sleep): in order, the user deadline, the call's timeout, the engine's
  // InterruptCheck (Python signals), a cancel. true: the reason is recorded (stop_reason()) for
  // explain(), and the caller fails the call with an error or trap carrying that text.
  bool stop_requested(wasmtime_context_t* ctx) noexcept;
  const std::string& stop_reason() const noexcept { return stop_reason_; }
  // The clock deadline of the current call under a short timeout (one below kPreciseTimeout),
  // or nullopt: a blocking host function waits no longer than this between its checks.
  std::optional<std::chrono::steady_clock::time_point> short_deadline() const noexcept {
    if (timed_depth_ != 0 && wake_token_ != 0) return deadline_;
    return std::nullopt;
  }

  // A failed call's error, named by what stopped it: when the epoch callback stopped the call
  // (a timeout, a user deadline, the engine's InterruptCheck), the error it returned reaches the
  // caller as a plain error; this makes it the Interrupt trap it is, with the reason first.
  Error explain(Error e) noexcept;

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

  // A memory of this store whose pages go back to the kernel when the store closes (~Store),
  // on a pooling engine only. Such an engine resets a freed slot lazily: its dirty pages wait
  // in a decommit batch (EngineConfig::pooling_slots, engine.cpp) until enough other slots have
  // been freed, so after `del` of one instance whose guest touched 256 MiB the process stayed
  // 256 MiB larger until about 16 more instances had been dropped. Instances register their
  // exported memories as they die (~Instance); memories below kReleaseAtClose are left to the
  // batch (a handful of pages each), so the create+drop path of small instances pays nothing.
  void release_at_close(const wasmtime_memory_t& memory);
  static constexpr size_t kReleaseAtClose = size_t{256} << 10;

  // Thread ownership (see StoreEntry in src/python/store_guard.hpp for the rule). `owner` is the
  // thread that has the store entered, 0 when none: marked while a host function of it runs (or
  // a call started while one did), and for the whole of a call that lets other threads run
  // (one that released the GIL), because only those let another thread reach the store in the
  // middle of a call. Atomic because a thread that releases the GIL claims it with a CAS.
  std::atomic<uintptr_t> owner{0};
  uint32_t depth = 0;

  // What a binding keeps with the store (the Python binding: its GIL policy and the thread state
  // of a call that released the GIL, src/python/store_state.hpp). The core never looks inside;
  // the extension dies with the store.
  struct Extension {
    virtual ~Extension() = default;
  };
  Extension* extension() const noexcept { return extension_.get(); }
  void set_extension(std::unique_ptr<Extension> e) noexcept { extension_ = std::move(e); }

 private:
  static wasmtime_error_t* on_epoch(wasmtime_context_t* ctx, void* data, uint64_t* delta,
                                    wasmtime_update_deadline_kind_t* kind);
  bool stop(std::string reason, TrapKind trap = TrapKind::Interrupt) noexcept;
  wasm_trap_t* cancel_trap() noexcept;

  std::shared_ptr<Engine> engine_;
  std::unique_ptr<Extension> extension_;  // declared before store_: outlives the wasmtime store
  Owned<wasmtime_store_t, wasmtime_store_delete> store_;
  wasmtime_context_t* context_;  // cached: wasmtime_store_context is an FFI call
  void* pending_ = nullptr;
  void (*pending_drop_)(void*) = nullptr;
  // The user deadline as an absolute user epoch (Engine::user_epoch), kEpochNever for none.
  uint64_t user_deadline_ = kEpochNever;
  std::chrono::nanoseconds timeout_{0};
  // Ticks a call may see begin before it has surely run `timeout_`: the call starts somewhere
  // inside a tick, so that is whole ticks in `timeout_`, rounded up, plus one.
  uint64_t timeout_ticks_ = 0;
  uint64_t call_start_tick_ = 0;
  // A short timeout's (see set_timeout) deadline for the current call, and its registered wake
  // (0: none).
  std::chrono::steady_clock::time_point deadline_{};
  uint64_t wake_token_ = 0;
  uint32_t timed_depth_ = 0;
  StoreLimits limits_;
  // Why the epoch callback stopped the last call (empty: it did not), and as what; read by explain().
  std::string stop_reason_;
  std::vector<wasmtime_memory_t> release_at_close_;
  TrapKind stop_trap_ = TrapKind::Interrupt;
  // Set by request_cancel from any thread, read by the thread in the call.
  std::atomic<bool> cancel_{false};
};

// A small number unique to the calling thread (the address of a thread-local), for Store::owner.
uintptr_t this_thread_token() noexcept;

namespace detail {
// How many host-function activations, and calls running with the GIL released, there are in any
// store on any thread. While it is 0 no other thread can be inside a store, so a call can enter
// its store without looking.
extern std::atomic<uint32_t> g_host_active;
}  // namespace detail

// Marks `store` as entered by this thread for the life of one host-function activation.
class HostActivation {
 public:
  explicit HostActivation(Store& store) noexcept : store_(store) {
    store_.owner.store(this_thread_token(), std::memory_order_relaxed);
    ++store_.depth;
    detail::g_host_active.fetch_add(1, std::memory_order_relaxed);
  }
  ~HostActivation() {
    detail::g_host_active.fetch_sub(1, std::memory_order_relaxed);
    if (--store_.depth == 0) store_.owner.store(0, std::memory_order_relaxed);
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
  // Registers its large exported memories with the store (Store::release_at_close).
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

 private:
  Instance(std::shared_ptr<const Module> module, std::shared_ptr<Store> store)
      : module_(std::move(module)), store_(std::move(store)) {}
  std::shared_ptr<const Module> module_;
  std::shared_ptr<Store> store_;
  wasmtime_instance_t instance_{};
  bool created_ = false;  // instance_ names a live wasm instance
};

}  // namespace wasmffi
