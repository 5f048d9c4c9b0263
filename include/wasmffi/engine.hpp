// Engine: one compilation environment (wasm_engine_t) and the memory policy every store inherits.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include <wasmtime.h>

#include "wasmffi/handle.hpp"
#include "wasmffi/result.hpp"

namespace wasmffi {

class Store;

// Asked by a store's epoch callback (on the thread running wasm, about once per tick) whether
// the call should stop for a reason the core cannot see, such as a Python signal handler that
// raised. true: stop; the check has parked the reason as the store's pending error
// (Store::set_pending) and the call re-raises it. The binding supplies it (the core knows no
// Python); it must not throw.
using InterruptCheck = bool (*)(Store& store) noexcept;

struct EngineConfig {
  // Virtual address space reserved per linear memory. Memories never move (see below), so
  // this is also the most a memory can ever grow to. 4 GiB covers every 32-bit memory and
  // lets wasmtime elide bounds checks; memory64 guests that need more ask for more.
  uint64_t memory_reservation = uint64_t{4} << 30;
  uint64_t memory_guard_size = uint64_t{32} << 20;
  bool memory64 = true;
  bool multi_memory = true;
  bool consume_fuel = false;
  // On by default: it is what lets a long call be stopped (timeouts, Ctrl-C) at all. Every
  // store then runs a callback once per ticker tick (see Engine::ensure_ticker) while it is
  // inside wasm; the compiled code pays one load and compare per loop header and function entry.
  bool epoch_interruption = true;
  InterruptCheck interrupt_check = nullptr;
  // Cranelift optimisation level: 0 none, 1 speed, 2 speed_and_size.
  int opt_level = 1;
  // Native stack a wasm call may use below the point where it enters wasm; deeper recursion
  // traps with StackOverflow. wasmtime's own default: plenty for real guests (their deep data
  // lives on the shadow stack in linear memory), and it fits every default thread stack.
  // A call is only started when the calling thread has this much plus kHostStackMargin left
  // (see native_stack_fits in instance.hpp), so a small thread gets a clear error, not SIGSEGV.
  size_t max_wasm_stack = size_t{512} << 10;
  // Instances live in this many preallocated slots (wasmtime's pooling allocator) instead of
  // each mapping its memory on creation and unmapping it on drop: create+drop costs a few
  // madvise calls instead of mmap/munmap of a 4 GiB reservation (docs/design.md, "Instantiation
  // cost"). 0: on demand. Slots bound how many instances (and memories, tables) of this engine
  // can be alive at once; a module's instantiation beyond that is an ErrorKind::Resource. The
  // whole pool's address space, pooling_slots x (memory_reservation + memory_guard_size), is
  // reserved (not committed) when the engine is created.
  uint32_t pooling_slots = 0;
};

// The pooling_slots of wasmffi's default engine (python/wasmffi/_api.py): 3 x 10000 = 30000 maps
// and 40 TiB of the 128 TiB user address space; an on-demand engine runs out of the kernel's
// 65530 maps at about 21800 live instances (3 maps each), so 10000 gives up half of that
// headroom for instantiation at a fifth of the cost, and leaves room for other engines.
inline constexpr uint32_t kDefaultPoolingSlots = 10000;

// Native stack kept free below wasm's limit for what runs there: wasmtime's libcalls (memory
// growth, trap bookkeeping) and the host frames between the binding and the first wasm frame.
inline constexpr size_t kHostStackMargin = size_t{64} << 10;

class Engine {
 public:
  // Always created with memory_may_move = false: a memory's base address is fixed for its
  // whole life, which is what makes zero-copy views (Memory::view) impossible to leave dangling.
  // A configuration wasmtime rejects is an ErrorKind::Argument carrying wasmtime's reason
  // (never an abort: see wasmffi_engine_new in engine/src/lib.rs).
  static Result<std::shared_ptr<Engine>> create(const EngineConfig& config = {});

  // Stops and joins the ticker (if this process started one) before the engine goes.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  wasm_engine_t* capi() const noexcept { return engine_.capi(); }
  const EngineConfig& config() const noexcept { return config_; }
  // Advances the user epoch, the one Store::set_epoch_deadline counts in (thread-safe). The
  // ticker advances wasmtime's epoch too, but not this one: a user deadline of N ticks still
  // means N calls of increment_epoch, whatever the ticker does.
  void increment_epoch() noexcept {
    user_epoch_.fetch_add(1, std::memory_order_relaxed);
    wasmtime_engine_increment_epoch(engine_.capi());
  }
  uint64_t user_epoch() const noexcept { return user_epoch_.load(std::memory_order_relaxed); }

  // The ticker: a native thread that advances wasmtime's epoch every kTick while the engine has
  // live stores, so that every store's epoch callback runs about once per kTick during a long
  // call (timeouts, signals). Started by the first Store (a no-op on engines without
  // epoch_interruption, and once it runs); once the engine has had no store for kIdleTicks it
  // sleeps without waking until the next Store, and it stops with the engine. After fork() the
  // child has no ticker, and the next Store starts one. No Python is involved.
  // The grace period keeps wake-ups off the instantiate path: a sandbox per request makes and
  // drops one store at a time, and waking a sleeping ticker (a futex wake and a context switch)
  // for each of them cost about a microsecond per instance.
  static constexpr std::chrono::milliseconds kTick{10};
  static constexpr uint32_t kIdleTicks = 50;
  void ensure_ticker();
  // Called by every Store of an epoch engine as it is made and as it dies.
  void store_opened();
  void store_closed() noexcept { live_stores_.fetch_sub(1, std::memory_order_relaxed); }
  // Precise wake-ups, for timeouts shorter than kPreciseTimeout: the ticker also advances the
  // epoch at each registered time point, so that such a call stops at about its timeout rather
  // than at a tick up to kTick later (a 1 ms timeout stopped after 10-20 ms). add_wake returns
  // the token remove_wake takes; a wake that has fired is already gone (removing it is a no-op).
  // Both take the ticker's mutex; add_wake wakes the ticker when the new time is its earliest.
  uint64_t add_wake(std::chrono::steady_clock::time_point at);
  void remove_wake(std::chrono::steady_clock::time_point at, uint64_t token) noexcept;
  static constexpr std::chrono::milliseconds kPreciseTimeout{2 * kTick};
  // Whether this process runs a ticker for the engine, and how many ticks it has made (tests).
  bool ticker_running() const noexcept;
  uint64_t ticks() const noexcept { return ticks_.load(std::memory_order_relaxed); }
  // Whether that ticker is asleep for want of stores (tests: once it is, only a new store or the
  // engine's end wakes it, so its tick count stays put).
  bool ticker_asleep() const noexcept;

  // WASI preview 1's functions defined in a linker, made on first use and kept for the engine's
  // life. Defining them registers some 46 function types and names: done per instance, that was
  // most of the cost of instantiating a WASI module. The linker holds no store state (each store
  // has its own WASI context; wasmtime_linker_get makes the functions in the store it is given)
  // and is only read after it is made, so every thread and store of the engine shares it.
  // Logically const: a cache, filled once.
  Result<const wasmtime_linker_t*> wasi_linker() const;
  // A tiny module, compiled on first use: it imports a memory ("env" "memory") and WASI's fd_write,
  // exports the memory as "memory" and an "fd_write" that calls the imported one. WASI's functions
  // find guest memory through their caller's "memory" export, so a host function that stands in
  // for fd_write (the binding's captured stdout/stderr) and must pass other descriptors on to
  // WASI's calls it through an instance of this, which has the guest's memory as that export.
  Result<const wasmtime_module_t*> wasi_forwarder() const;

 private:
  struct Ticker;
  Engine(wasm_engine_t* raw, EngineConfig config) : engine_(raw), config_(config) {}
  Owned<wasm_engine_t, wasm_engine_delete> engine_;
  EngineConfig config_;
  std::atomic<uint64_t> user_epoch_{0};
  std::atomic<uint64_t> ticks_{0};
  std::atomic<uint64_t> live_stores_{0};
  std::mutex ticker_mutex_;
  // Set once under ticker_mutex_, read without it on every Store creation.
  std::atomic<Ticker*> ticker_{nullptr};
  mutable std::once_flag wasi_once_;
  mutable Owned<wasmtime_linker_t, wasmtime_linker_delete> wasi_linker_;
  mutable Error wasi_error_{ErrorKind::Link, ""};  // why wasi_linker_ is null, once wasi_once_ ran
  mutable std::once_flag forwarder_once_;
  mutable Owned<wasmtime_module_t, wasmtime_module_delete> forwarder_;
  mutable Error forwarder_error_{ErrorKind::Compile, ""};
};

// Turns an owned wasmtime_error_t into an Error (and deletes it).
Error take_error(wasmtime_error_t* err, ErrorKind kind);

namespace detail {
// The largest max_wasm_stack + kHostStackMargin of any engine created so far: a thread with
// more native stack left than this can enter any engine's wasm without a closer look.
extern std::atomic<size_t> g_largest_stack_need;
}  // namespace detail

}  // namespace wasmffi

// wasmtime's C API has no fallible engine constructor; the shim crate adds one (engine/src/lib.rs).
extern "C" wasmtime_error_t* wasmffi_engine_new(wasm_config_t* config, wasm_engine_t** out);
