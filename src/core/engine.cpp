// Engine creation with the project's memory policy, the per-engine epoch ticker, and
// conversion of engine errors.
#include "wasmffi/engine.hpp"

#include <condition_variable>
#include <cstdint>
#include <map>
#include <string>
#include <thread>

#include "platform/fork.hpp"

namespace wasmffi {

namespace detail {
std::atomic<size_t> g_largest_stack_need{0};

// Bumped in the child after every fork(). A ticker records the generation it was started in; a
// ticker from an older generation is the parent's, whose thread does not exist in this process.
// Process-wide by nature (fork is), written only by the atfork handler.
static std::atomic<uint64_t> g_fork_generation{0};
static void count_fork() noexcept { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }
}  // namespace detail

struct Engine::Ticker {
  std::mutex mutex;
  std::condition_variable wake;
  bool stop = false;
  // Set (under `mutex`) while the thread waits for a store; store_opened only signals then.
  // seq_cst with the store count: the ticker stores `asleep` then reads the count, a new store
  // bumps the count then reads `asleep`, so at least one of the two sees the other.
  std::atomic<bool> asleep{false};
  uint64_t generation = 0;
  std::thread thread;
  // Engine::add_wake's time points (under `mutex`), with their tokens; `rescan` tells the
  // thread that one earlier than the time it waits for was added.
  std::multimap<std::chrono::steady_clock::time_point, uint64_t> wakes;
  uint64_t next_token = 1;
  bool rescan = false;
};

void Engine::ensure_ticker() {
  if (!config_.epoch_interruption) return;
  const uint64_t gen = detail::g_fork_generation.load(std::memory_order_relaxed);
  Ticker* t = ticker_.load(std::memory_order_acquire);
  if (t != nullptr && t->generation == gen) [[likely]]
    return;
  static std::once_flag atfork_once;
  std::call_once(atfork_once, [] { platform::on_fork_child(detail::count_fork); });
  std::lock_guard<std::mutex> lock(ticker_mutex_);
  t = ticker_.load(std::memory_order_relaxed);
  if (t != nullptr && t->generation == gen) return;
  // A ticker from before a fork is left alone on purpose: its thread is not in this process, so
  // it cannot be joined, and destroying a joinable std::thread would terminate. It stays
  // allocated (once per fork per engine).
  auto fresh = std::make_unique<Ticker>();
  fresh->generation = gen;
  Ticker* raw = fresh.get();
  wasm_engine_t* engine = engine_.capi();
  std::atomic<uint64_t>* ticks = &ticks_;
  const std::atomic<uint64_t>* live = &live_stores_;
  // The thread touches only the Ticker, the wasm engine and two counters, all of which ~Engine
  // keeps alive until it has joined it.
  raw->thread = std::thread([raw, engine, ticks, live] {
    std::unique_lock<std::mutex> lk(raw->mutex);
    // Absolute deadlines, so that wake-up latency does not add up over a timeout's ticks; after
    // a stall (a suspended process, or no stores) the schedule restarts from now.
    auto next = std::chrono::steady_clock::now();
    uint32_t idle = 0;
    for (;;) {
      idle = live->load(std::memory_order_relaxed) == 0 ? idle + 1 : 0;
      if (idle > kIdleTicks) {
        // No store for a while, so no call to interrupt: sleep until a store is made
        // (store_opened) or the engine goes, rather than waking 100 times a second for nothing.
        raw->asleep.store(true, std::memory_order_seq_cst);
        raw->wake.wait(lk, [raw, live] { return raw->stop || live->load(std::memory_order_seq_cst) != 0; });
        raw->asleep.store(false, std::memory_order_relaxed);
        if (raw->stop) break;
        idle = 0;
        next = std::chrono::steady_clock::now();
      }
      next += kTick;
      // Waits for the next tick; registered wakes due before it advance the epoch on their own
      // (not counted as ticks).
      for (;;) {
        auto until = next;
        const bool for_wake = !raw->wakes.empty() && raw->wakes.begin()->first < next;
        if (for_wake) until = raw->wakes.begin()->first;
        raw->rescan = false;
        if (raw->wake.wait_until(lk, until, [raw] { return raw->stop || raw->rescan; })) {
          if (raw->stop) break;
          continue;  // an earlier wake was added: wait for that instead
        }
        if (!for_wake) break;  // the tick
        const auto now = std::chrono::steady_clock::now();
        raw->wakes.erase(raw->wakes.begin(), raw->wakes.upper_bound(now));
        wasmtime_engine_increment_epoch(engine);
      }
      if (raw->stop) break;
      wasmtime_engine_increment_epoch(engine);
      ticks->fetch_add(1, std::memory_order_relaxed);
      if (const auto now = std::chrono::steady_clock::now(); now > next + kTick) next = now;
    }
  });
  ticker_.store(fresh.release(), std::memory_order_release);
}

void Engine::store_opened() {
  if (!config_.epoch_interruption) return;
  live_stores_.fetch_add(1, std::memory_order_seq_cst);
  ensure_ticker();
  Ticker* t = ticker_.load(std::memory_order_acquire);
  if (!t->asleep.load(std::memory_order_seq_cst)) [[likely]]
    return;  // awake (or about to see the count): no system call on this path
  // Wakes a ticker that sleeps for want of stores. Taking its mutex orders this with its check
  // of the count, so the wake-up cannot fall between that check and its wait.
  { std::lock_guard<std::mutex> lk(t->mutex); }
  t->wake.notify_one();
}

uint64_t Engine::add_wake(std::chrono::steady_clock::time_point at) {
  ensure_ticker();
  Ticker* t = ticker_.load(std::memory_order_acquire);
  std::lock_guard<std::mutex> lk(t->mutex);
  const uint64_t token = t->next_token++;
  const bool earliest = t->wakes.empty() || at < t->wakes.begin()->first;
  t->wakes.emplace(at, token);
  if (earliest) {
    t->rescan = true;
    t->wake.notify_one();
  }
  return token;
}

void Engine::remove_wake(std::chrono::steady_clock::time_point at, uint64_t token) noexcept {
  Ticker* t = ticker_.load(std::memory_order_acquire);
  // A ticker of another fork generation is not this process's (see ensure_ticker); neither are
  // its wakes.
  if (t == nullptr || t->generation != detail::g_fork_generation.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lk(t->mutex);
  for (auto [it, end] = t->wakes.equal_range(at); it != end; ++it)
    if (it->second == token) {
      t->wakes.erase(it);
      return;
    }
}

bool Engine::ticker_running() const noexcept {
  const Ticker* t = ticker_.load(std::memory_order_acquire);
  return t != nullptr && t->generation == detail::g_fork_generation.load(std::memory_order_relaxed);
}

bool Engine::ticker_asleep() const noexcept {
  const Ticker* t = ticker_.load(std::memory_order_acquire);
  return ticker_running() && t->asleep.load(std::memory_order_seq_cst);
}

Engine::~Engine() {
  Ticker* t = ticker_.load(std::memory_order_acquire);
  if (t == nullptr || t->generation != detail::g_fork_generation.load(std::memory_order_relaxed)) return;
  {
    std::lock_guard<std::mutex> lk(t->mutex);
    t->stop = true;
  }
  t->wake.notify_one();  // wakes the wait at once: shutdown never waits out a tick
  t->thread.join();
  delete t;
}

Error take_error(wasmtime_error_t* err, ErrorKind kind) {
  wasm_name_t msg;
  wasmtime_error_message(err, &msg);
  std::string text(msg.data, msg.size);
  wasm_byte_vec_delete(&msg);
  wasmtime_error_delete(err);
  return make_error(kind, std::move(text));
}

Result<std::shared_ptr<Engine>> Engine::create(const EngineConfig& config) {
  if (config.opt_level < 0 || config.opt_level > 2)
    return make_error(ErrorKind::Argument, "opt_level must be 0, 1 or 2");
  wasm_config_t* cfg = wasm_config_new();
  // Fixed-base memories: the foundation of views that cannot dangle (see memory.hpp).
  wasmtime_config_memory_may_move_set(cfg, false);
  wasmtime_config_memory_reservation_set(cfg, config.memory_reservation);
  wasmtime_config_memory_reservation_for_growth_set(cfg, 0);
  wasmtime_config_memory_guard_size_set(cfg, config.memory_guard_size);
  wasmtime_config_wasm_memory64_set(cfg, config.memory64);
  wasmtime_config_wasm_multi_memory_set(cfg, config.multi_memory);
  wasmtime_config_consume_fuel_set(cfg, config.consume_fuel);
  wasmtime_config_epoch_interruption_set(cfg, config.epoch_interruption);
  wasmtime_config_max_wasm_stack_set(cfg, config.max_wasm_stack);
  static constexpr wasmtime_opt_level_t kLevels[] = {WASMTIME_OPT_LEVEL_NONE, WASMTIME_OPT_LEVEL_SPEED,
                                                     WASMTIME_OPT_LEVEL_SPEED_AND_SIZE};
  wasmtime_config_cranelift_opt_level_set(cfg, kLevels[config.opt_level]);
  if (config.pooling_slots > 0) {
    if (config.memory_reservation > SIZE_MAX)
      return make_error(ErrorKind::Argument, "memory_reservation does not fit this platform's address space");
    wasmtime_pooling_allocation_config_t* pool = wasmtime_pooling_allocation_config_new();
    const uint32_t n = config.pooling_slots;
    wasmtime_pooling_allocation_config_total_core_instances_set(pool, n);
    wasmtime_pooling_allocation_config_total_memories_set(pool, n);
    wasmtime_pooling_allocation_config_total_tables_set(pool, n);
    wasmtime_pooling_allocation_config_total_gc_heaps_set(pool, n);
    // A memory may grow as far as its reservation, as on demand (memories never move).
    wasmtime_pooling_allocation_config_max_memory_size_set(pool, static_cast<size_t>(config.memory_reservation));
    // Per-module shape limits, raised from wasmtime's 1 memory / 1 table / 20000 elements / 1 MiB
    // of instance metadata so that modules which instantiate on demand also do here (multi-memory
    // is on). They cost address space per slot, not memory: the pool commits what is used.
    wasmtime_pooling_allocation_config_max_memories_per_module_set(pool, 16);
    wasmtime_pooling_allocation_config_max_tables_per_module_set(pool, 16);
    wasmtime_pooling_allocation_config_table_elements_set(pool, size_t{1} << 20);
    wasmtime_pooling_allocation_config_max_core_instance_size_set(pool, size_t{4} << 20);
    // Freed slots are reset with one process_madvise per 16 ranges (a memory or a table each)
    // rather than one madvise per range: 2.3 us against 3.6 us per create+drop (docs/design.md).
    // A pool too small for a batch to matter resets each at once; an allocation that finds no
    // free slot flushes the pending batch first either way.
    if (n >= 256) wasmtime_pooling_allocation_config_decommit_batch_size_set(pool, 16);
    wasmtime_pooling_allocation_strategy_set(cfg, pool);  // copies the settings
    wasmtime_pooling_allocation_config_delete(pool);
  }
  wasm_engine_t* raw = nullptr;
  if (wasmtime_error_t* err = wasmffi_engine_new(cfg, &raw))  // consumes cfg
    return take_error(err, ErrorKind::Argument);
  const size_t need = config.max_wasm_stack + kHostStackMargin;
  size_t seen = detail::g_largest_stack_need.load(std::memory_order_relaxed);
  while (seen < need && !detail::g_largest_stack_need.compare_exchange_weak(seen, need, std::memory_order_relaxed)) {
  }
  return std::shared_ptr<Engine>(new Engine(raw, config));
}

Result<const wasmtime_linker_t*> Engine::wasi_linker() const {
  std::call_once(wasi_once_, [this] {
    Owned<wasmtime_linker_t, wasmtime_linker_delete> linker(wasmtime_linker_new(engine_.capi()));
    if (wasmtime_error_t* err = wasmtime_linker_define_wasi(linker.capi())) {
      wasi_error_ = take_error(err, ErrorKind::Link);
      return;
    }
    wasi_linker_ = std::move(linker);
  });
  if (!wasi_linker_) return wasi_error_;
  return static_cast<const wasmtime_linker_t*>(wasi_linker_.capi());
}

Result<const wasmtime_module_t*> Engine::wasi_forwarder() const {
  std::call_once(forwarder_once_, [this] {
    static constexpr std::string_view kWat = R"((module
      (import "env" "memory" (memory 0))
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (export "memory" (memory 0))
      (func (export "fd_write") (param i32 i32 i32 i32) (result i32)
        local.get 0 local.get 1 local.get 2 local.get 3 call $w)))";
    wasm_byte_vec_t bytes;
    if (wasmtime_error_t* err = wasmtime_wat2wasm(kWat.data(), kWat.size(), &bytes)) {
      forwarder_error_ = take_error(err, ErrorKind::Compile);
      return;
    }
    wasmtime_module_t* m = nullptr;
    wasmtime_error_t* err = wasmtime_module_new(engine_.capi(), reinterpret_cast<const uint8_t*>(bytes.data),
                                                bytes.size, &m);
    wasm_byte_vec_delete(&bytes);
    if (err != nullptr) {
      forwarder_error_ = take_error(err, ErrorKind::Compile);
      return;
    }
    forwarder_ = Owned<wasmtime_module_t, wasmtime_module_delete>(m);
  });
  if (!forwarder_) return forwarder_error_;
  return static_cast<const wasmtime_module_t*>(forwarder_.capi());
}

}  // namespace wasmffi
