// WASI calls that block, made interruptible: our poll_oneoff and (for an inherited stdin) fd_read
// wait in slices and look at the store between them; see wasi_block.hpp.
#include "wasi_block.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "gil.hpp"
#include "platform/stdin.hpp"
#include "store_state.hpp"

namespace wasmffi::py {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::nanoseconds;

constexpr std::string_view kWasi = "wasi_snapshot_preview1";
// WASI preview 1 errno values and layouts (wasi_snapshot_preview1.witx).
constexpr int32_t kErrnoSuccess = 0, kErrnoBadf = 8, kErrnoInval = 28, kErrnoIo = 29;
constexpr uint32_t kSubSize = 48, kEventSize = 32, kIovSize = 8;
constexpr uint8_t kEventClock = 0, kEventFdRead = 1;
constexpr uint32_t kClockRealtime = 0, kClockMonotonic = 1;
constexpr uint16_t kAbstime = 1, kHangup = 1;

// Cancel wakes a sleeping guest through this (wake_blocked_calls), instead of at its slice's end.
// Never destroyed: a daemon thread may still wait on them while the process exits (destroying a
// condition variable with a waiter is undefined; glibc's may wait for it).
std::mutex& g_wake_mutex = *new std::mutex;
std::condition_variable& g_wake = *new std::condition_variable;

// The engine's own functions, reached through a wasm instance (the relay) that imports the
// guest's memory and exports it again as "memory". Why: WASI's functions find the memory to work
// on through their caller, and a function called from the host (wasmtime_func_call) has none, so
// it fails with "missing required memory export". Called from the relay's code, the relay is
// the caller and its "memory" is the guest's. Compiled once per engine (a few hundred bytes of
// wasm), instantiated per shadowed import on its first delegated call.
constexpr std::string_view kRelayWat = R"((module
  (import "m" "memory" (memory 0))
  (import "w" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "w" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "w" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (export "memory" (memory 0))
  (func (export "poll_oneoff") (param i32 i32 i32 i32) (result i32)
    (call $poll (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "fd_read") (param i32 i32 i32 i32) (result i32)
    (call $read (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "clock_time_get") (param i32 i64 i32) (result i32)
    (call $clock (local.get 0) (local.get 1) (local.get 2))))
)";

Result<std::shared_ptr<const Module>> relay_module(const std::shared_ptr<Engine>& engine) {
  // Never destroyed, as the condition variable above. Weak: the cache keeps no engine alive; a
  // live entry's module holds its engine, so its key cannot have been reused by another engine.
  static std::mutex& lock = *new std::mutex;
  static auto& cache = *new std::unordered_map<const Engine*, std::weak_ptr<const Module>>;
  std::lock_guard<std::mutex> g(lock);
  if (auto it = cache.find(engine.get()); it != cache.end())
    if (auto m = it->second.lock()) return m;
  Result<std::shared_ptr<const Module>> m = Module::from_wat(engine, kRelayWat);
  if (m) cache[engine.get()] = *m;
  return m;
}

// What one shadowed import keeps (its host function's environment).
struct Shadow {
  std::shared_ptr<Engine> engine;  // the guest's engine, for the relay's module
  bool stdin_inherited = false;
  bool relay_made = false;
  wasmtime_func_t relay_poll{}, relay_read{}, relay_clock{};
};

// An i32 argument as the unsigned address or count it is.
uint32_t u32(const wasmtime_val_raw_t& v) noexcept { return static_cast<uint32_t>(v.i32); }

void shadow_finalize(void* env) { delete static_cast<Shadow*>(env); }

struct Guest {
  uint8_t* base = nullptr;
  uint64_t size = 0;
  bool has(uint64_t addr, uint64_t len) const noexcept { return addr <= size && len <= size - addr; }
  template <class T>
  T load(uint64_t addr) const noexcept {
    T v;
    std::memcpy(&v, base + addr, sizeof v);  // wasm is little-endian, as every host we build for
    return v;
  }
  template <class T>
  void store(uint64_t addr, T v) const noexcept {
    std::memcpy(base + addr, &v, sizeof v);
  }
};

std::optional<wasmtime_memory_t> caller_memory(wasmtime_caller_t* caller) {
  wasmtime_extern_t item;
  if (!wasmtime_caller_export_get(caller, "memory", 6, &item) || item.kind != WASMTIME_EXTERN_MEMORY)
    return std::nullopt;
  return item.of.memory;
}

Guest guest_of(wasmtime_context_t* ctx, const wasmtime_memory_t& mem) {
  return Guest{wasmtime_memory_data(ctx, &mem), wasmtime_memory_data_size(ctx, &mem)};
}

// Makes the relay for this import's store and the calling instance's memory (once).
wasm_trap_t* ensure_relay(Shadow& sh, wasmtime_caller_t* caller) {
  if (sh.relay_made) return nullptr;
  wasmtime_context_t* ctx = wasmtime_caller_context(caller);
  auto fail = [](std::string why) {
    why.insert(0, "wasmffi: cannot reach WASI's own functions for this call: ");
    return wasmtime_trap_new(why.data(), why.size());
  };
  std::optional<wasmtime_memory_t> mem = caller_memory(caller);
  if (!mem) return fail("the calling module exports no memory named \"memory\"");
  Result<std::shared_ptr<const Module>> m = relay_module(sh.engine);
  if (!m) return fail(m.error().message);
  Result<const wasmtime_linker_t*> linker = Store::of(ctx).engine().wasi_linker();
  if (!linker) return fail(linker.error().message);
  wasmtime_extern_t imports[4];
  imports[0].kind = WASMTIME_EXTERN_MEMORY;
  imports[0].of.memory = *mem;
  const char* names[3] = {"poll_oneoff", "fd_read", "clock_time_get"};
  for (int i = 0; i < 3; ++i)
    if (!wasmtime_linker_get(*linker, ctx, kWasi.data(), kWasi.size(), names[i], std::strlen(names[i]),
                             &imports[i + 1]))
      return fail(std::string("WASI defines no ") + names[i]);
  wasmtime_instance_t relay;
  wasm_trap_t* trap = nullptr;
  if (wasmtime_error_t* err = wasmtime_instance_new(ctx, (*m)->capi(), imports, 4, &relay, &trap)) {
    wasm_name_t msg;
    wasmtime_error_message(err, &msg);
    std::string text(msg.data, msg.size);
    wasm_byte_vec_delete(&msg);
    wasmtime_error_delete(err);
    return fail(text);
  }
  if (trap != nullptr) return trap;
  wasmtime_func_t* outs[3] = {&sh.relay_poll, &sh.relay_read, &sh.relay_clock};
  for (int i = 0; i < 3; ++i) {
    wasmtime_extern_t e;
    if (!wasmtime_instance_export_get(ctx, &relay, names[i], std::strlen(names[i]), &e)) return fail("relay export");
    *outs[i] = e.of.func;
  }
  sh.relay_made = true;
  return nullptr;
}

// Calls the engine's own function through the relay; its result (an errno) goes to raw[0].
wasm_trap_t* delegate(Shadow& sh, wasmtime_caller_t* caller, const wasmtime_func_t Shadow::*which,
                      wasmtime_val_raw_t* raw, size_t n) {
  if (wasm_trap_t* t = ensure_relay(sh, caller)) return t;
  wasm_trap_t* trap = nullptr;
  wasmtime_error_t* err = wasmtime_func_call_unchecked(wasmtime_caller_context(caller), &(sh.*which), raw, n, &trap);
  if (err != nullptr) {
    // An exit (proc_exit cannot come from here) or an engine error: passed on as a trap with its text.
    wasm_name_t msg;
    wasmtime_error_message(err, &msg);
    trap = wasmtime_trap_new(msg.data, msg.size);
    wasm_byte_vec_delete(&msg);
    wasmtime_error_delete(err);
  }
  return trap;
}

// Waits, in slices of at most one tick, until `wait(slice)` reports readiness or `until` passes;
// between slices asks the store whether the call must stop. The GIL is not held while waiting
// (a call that held it gives it up, and the store counts as entered by this thread meanwhile, as
// during a host function). Returns the trap that ends the call when it must stop, else nullptr
// (`ready` says whether the wait ended by readiness).
template <class Wait>
wasm_trap_t* wait_interruptibly(wasmtime_context_t* ctx, std::optional<Clock::time_point> until, Wait&& wait,
                                bool& ready) {
  Store& s = Store::of(ctx);
  const PyStoreState* st = find_py_state(s);
  const bool gil_held = st == nullptr || st->released_state == nullptr;
  HostActivation active(s);
  ready = false;
  for (;;) {
    // First look, then wait: a call already past its timeout or cancelled stops at once.
    if (s.stop_requested(ctx)) {
      const std::string& why = s.stop_reason();
      return wasmtime_trap_new(why.data(), why.size());
    }
    const auto now = Clock::now();
    if (until && now >= *until) return nullptr;
    auto slice = std::chrono::duration_cast<nanoseconds>(Engine::kTick);
    if (until) slice = std::min(slice, std::chrono::duration_cast<nanoseconds>(*until - now));
    if (auto d = s.short_deadline()) slice = std::min(slice, std::max(nanoseconds{0}, std::chrono::duration_cast<nanoseconds>(*d - now)));
    if (gil_held) {
      PyThreadState* saved = PyEval_SaveThread();
      ready = wait(slice);
      restore_thread(saved);  // parks for good if the interpreter is exiting (gil.hpp)
    } else {
      ready = wait(slice);
    }
    if (ready) return nullptr;
  }
}

// A sleep: wakes early only for a cancel.
bool sleep_slice(Store& s, nanoseconds slice) {
  std::unique_lock<std::mutex> g(g_wake_mutex);
  g_wake.wait_for(g, slice, [&] { return s.cancel_pending(); });
  return false;
}

// The process's stdin readable (or at its end, or broken) within `slice`.
bool stdin_slice(nanoseconds slice, platform::StdinWait& state) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(slice).count();
  state = platform::wait_stdin(static_cast<int>(std::clamp<int64_t>(ms, 1, 1 << 30)));
  return state != platform::StdinWait::Nothing;
}

// poll_oneoff(in, out, nsubscriptions, nevents_ptr) -> errno.
wasm_trap_t* poll_oneoff_shadow(void* env, wasmtime_caller_t* caller, wasmtime_val_raw_t* raw, size_t n) {
  Shadow& sh = *static_cast<Shadow*>(env);
  wasmtime_context_t* ctx = wasmtime_caller_context(caller);
  const uint32_t in = u32(raw[0]), out = u32(raw[1]), nsubs = u32(raw[2]), nevents_at = u32(raw[3]);
  std::optional<wasmtime_memory_t> mem = caller_memory(caller);
  if (!mem || nsubs == 0) return delegate(sh, caller, &Shadow::relay_poll, raw, n);
  Guest g = guest_of(ctx, *mem);
  if (!g.has(in, uint64_t{nsubs} * kSubSize) || !g.has(out, uint64_t{nsubs} * kEventSize) || !g.has(nevents_at, 4))
    return delegate(sh, caller, &Shadow::relay_poll, raw, n);  // its error for bad addresses
  // What this function waits on itself: clocks, and reads of an inherited stdin. Anything else
  // (files, captured output, bytes given as stdin) is ready at once in wasmtime: the engine's
  // function answers such a poll without blocking.
  std::vector<std::optional<Clock::time_point>> due(nsubs);
  std::optional<Clock::time_point> earliest;
  bool watch_stdin = false;
  const auto now = Clock::now();
  for (uint32_t i = 0; i < nsubs; ++i) {
    const uint64_t sub = in + uint64_t{i} * kSubSize;
    const uint8_t tag = g.load<uint8_t>(sub + 8);
    if (tag == kEventClock) {
      const uint32_t id = g.load<uint32_t>(sub + 16);
      const uint64_t timeout = g.load<uint64_t>(sub + 24);
      const bool abs = (g.load<uint16_t>(sub + 40) & kAbstime) != 0;
      if (id != kClockRealtime && id != kClockMonotonic) return delegate(sh, caller, &Shadow::relay_poll, raw, n);
      uint64_t rel = timeout;
      if (abs) {
        // The time left by the guest's own clock: WASI's clock_time_get, written to the events
        // buffer (ours to fill) and read back.
        wasmtime_val_raw_t args[3];
        args[0].i32 = static_cast<int32_t>(id);
        args[1].i64 = 0;
        args[2].i32 = static_cast<int32_t>(out);
        if (wasm_trap_t* t = delegate(sh, caller, &Shadow::relay_clock, args, 3)) return t;
        g = guest_of(ctx, *mem);
        if (args[0].i32 != kErrnoSuccess) return delegate(sh, caller, &Shadow::relay_poll, raw, n);
        const uint64_t clock_now = g.load<uint64_t>(out);
        rel = timeout > clock_now ? timeout - clock_now : 0;
      }
      const auto d = rel >= uint64_t{INT64_MAX} / 2 ? Clock::time_point::max() : now + nanoseconds(static_cast<int64_t>(rel));
      due[i] = d;
      if (!earliest || d < *earliest) earliest = d;
    } else if (tag == kEventFdRead && sh.stdin_inherited && g.load<uint32_t>(sub + 16) == 0) {
      watch_stdin = true;
    } else {
      return delegate(sh, caller, &Shadow::relay_poll, raw, n);
    }
  }
  Store& s = Store::of(ctx);
  platform::StdinWait stdin_state = platform::StdinWait::Nothing;
  bool ready = false;
  wasm_trap_t* stopped =
      watch_stdin ? wait_interruptibly(ctx, earliest, [&](nanoseconds slice) { return stdin_slice(slice, stdin_state); }, ready)
                  : wait_interruptibly(ctx, earliest, [&](nanoseconds slice) { return sleep_slice(s, slice); }, ready);
  if (stopped != nullptr) return stopped;
  g = guest_of(ctx, *mem);  // a signal handler may have grown the memory meanwhile (same base: it never moves)
  const auto after = Clock::now();
  uint32_t count = 0;
  for (uint32_t i = 0; i < nsubs; ++i) {
    const uint64_t sub = in + uint64_t{i} * kSubSize;
    const bool fires = due[i] ? after >= *due[i] : ready;
    if (!fires) continue;
    const uint64_t ev = out + uint64_t{count++} * kEventSize;
    std::memset(g.base + ev, 0, kEventSize);
    g.store<uint64_t>(ev, g.load<uint64_t>(sub));  // userdata
    g.store<uint16_t>(ev + 8, kErrnoSuccess);
    if (due[i]) {
      g.store<uint8_t>(ev + 10, kEventClock);
    } else {
      g.store<uint8_t>(ev + 10, kEventFdRead);
      g.store<uint64_t>(ev + 16, 1);  // as wasmtime reports stdin: at least one byte
      if (stdin_state == platform::StdinWait::HungUp) g.store<uint16_t>(ev + 24, kHangup);
    }
  }
  g.store<uint32_t>(nevents_at, count);
  raw[0].i32 = kErrnoSuccess;
  return nullptr;
}

// fd_read(fd, iovs, iovs_len, nread_ptr) -> errno. Only installed when stdin is inherited: reads
// of fd 0 wait here; every other read is the engine's.
wasm_trap_t* fd_read_shadow(void* env, wasmtime_caller_t* caller, wasmtime_val_raw_t* raw, size_t n) {
  Shadow& sh = *static_cast<Shadow*>(env);
  wasmtime_context_t* ctx = wasmtime_caller_context(caller);
  const uint32_t fd = u32(raw[0]), iovs = u32(raw[1]), niov = u32(raw[2]), nread_at = u32(raw[3]);
  std::optional<wasmtime_memory_t> mem = caller_memory(caller);
  if (fd != 0 || !mem) return delegate(sh, caller, &Shadow::relay_read, raw, n);
  Guest g = guest_of(ctx, *mem);
  if (!g.has(iovs, uint64_t{niov} * kIovSize) || !g.has(nread_at, 4))
    return delegate(sh, caller, &Shadow::relay_read, raw, n);
  uint64_t total = 0;
  for (uint32_t i = 0; i < niov; ++i) {
    const uint32_t buf = g.load<uint32_t>(iovs + uint64_t{i} * kIovSize), len = g.load<uint32_t>(iovs + uint64_t{i} * kIovSize + 4);
    if (!g.has(buf, len)) return delegate(sh, caller, &Shadow::relay_read, raw, n);
    total += len;
  }
  if (total == 0) {
    g.store<uint32_t>(nread_at, 0);
    raw[0].i32 = kErrnoSuccess;
    return nullptr;
  }
  platform::StdinWait stdin_state = platform::StdinWait::Nothing;
  bool ready = false;
  for (;;) {
    if (wasm_trap_t* stopped =
            wait_interruptibly(ctx, std::nullopt, [&](nanoseconds slice) { return stdin_slice(slice, stdin_state); }, ready))
      return stopped;
    // At most 64 KiB per read, as wasmtime's own stdin does; read() does not block now.
    char tmp[64 << 10];
    const long got = platform::read_stdin(tmp, static_cast<size_t>(std::min<uint64_t>(total, sizeof tmp)));
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (got < 0) {
      raw[0].i32 = errno == EBADF ? kErrnoBadf : kErrnoIo;
      return nullptr;
    }
    g = guest_of(ctx, *mem);
    size_t done = 0;
    for (uint32_t i = 0; i < niov && done < static_cast<size_t>(got); ++i) {
      const uint32_t buf = g.load<uint32_t>(iovs + uint64_t{i} * kIovSize), len = g.load<uint32_t>(iovs + uint64_t{i} * kIovSize + 4);
      const size_t k = std::min<size_t>(len, static_cast<size_t>(got) - done);
      std::memcpy(g.base + buf, tmp + done, k);
      done += k;
    }
    g.store<uint32_t>(nread_at, static_cast<uint32_t>(got));
    raw[0].i32 = kErrnoSuccess;
    return nullptr;
  }
}

// The import's type is WASI's (i32, i32, i32, i32) -> i32: anything else is left to fail to link
// as before.
bool is_four_i32_to_i32(const wasm_functype_t* ft) {
  if (ft == nullptr) return false;
  const wasm_valtype_vec_t* p = wasm_functype_params(ft);
  const wasm_valtype_vec_t* r = wasm_functype_results(ft);
  if (p->size != 4 || r->size != 1) return false;
  for (size_t i = 0; i < 4; ++i)
    if (wasm_valtype_kind(p->data[i]) != WASM_I32) return false;
  return wasm_valtype_kind(r->data[0]) == WASM_I32;
}

}  // namespace

Result<void> shadow_blocking_wasi(Store& store, const Module& module, std::vector<wasmtime_extern_t>& externs,
                                  const std::vector<bool>& given, bool stdin_inherited) {
  const auto& wanted = module.imports();
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (given[i] || wanted[i].module != kWasi || wanted[i].kind != ExternKind::Func) continue;
    wasmtime_func_unchecked_callback_t cb = nullptr;
    if (wanted[i].name == "poll_oneoff")
      cb = poll_oneoff_shadow;
    else if (wanted[i].name == "fd_read" && stdin_inherited)
      cb = fd_read_shadow;
    if (cb == nullptr || !is_four_i32_to_i32(module.import_functype(i))) continue;
    auto* sh = new Shadow{};
    sh->engine = module.engine();
    sh->stdin_inherited = stdin_inherited;
    wasmtime_func_t f;
    wasmtime_func_new_unchecked(store.context(), module.import_functype(i), cb, sh, shadow_finalize, &f);
    externs[i].kind = WASMTIME_EXTERN_FUNC;
    externs[i].of.func = f;
  }
  return {};
}

void wake_blocked_calls() noexcept {
  { std::lock_guard<std::mutex> g(g_wake_mutex); }  // a waiter is either before its look at the flag, or waiting
  g_wake.notify_all();
}

}  // namespace wasmffi::py
