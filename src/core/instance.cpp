// Store ownership, instantiation and export lookup.
#include "wasmffi/instance.hpp"


#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>

#include "platform/pages.hpp"
#include "platform/stack.hpp"
#include "wasmffi/call.hpp"

namespace wasmffi {

std::string StoreLimits::to_string() const {
  std::string out;
  auto add = [&out](const char* name, int64_t v) {
    if (v < 0) return;
    if (!out.empty()) out += ", ";
    out += name;
    out += '=';
    out += std::to_string(v);
  };
  add("max_memory", memory_size);
  add("max_table_elements", table_elements);
  add("max_instances", instances);
  add("max_tables", tables);
  add("max_memories", memories);
  return out;
}

Store::Store(std::shared_ptr<Engine> engine)
    : engine_(std::move(engine)),
      store_(wasmtime_store_new(engine_->capi(), this, nullptr)),
      context_(wasmtime_store_context(store_.capi())) {
  if (engine_->config().epoch_interruption) {
    // The callback runs whenever wasmtime's epoch passes the store's deadline, and re-arms it one
    // tick ahead: so about once per tick during a long call, and at most once per call (at its
    // first check) for short ones after the store sat idle.
    wasmtime_store_epoch_deadline_callback(store_.capi(), &Store::on_epoch, this, nullptr);
    wasmtime_context_set_epoch_deadline(context_, 1);
    engine_->store_opened();
  }
}

bool Store::stop(std::string reason, TrapKind trap) noexcept {
  stop_reason_ = std::move(reason);
  stop_trap_ = trap;
  // The call stops whatever asked for it: a cancel meant for it must not outlive it.
  clear_cancel();
  return true;
}

namespace {
constexpr const char* kCancelledReason =
    "cancelled: the call was stopped by Instance.cancel() (or a canceller of the instance)";
}

bool Store::request_cancel() noexcept {
  if (owner.load(std::memory_order_acquire) == 0) return false;  // no call runs: nothing to stop
  cancel_.store(true, std::memory_order_relaxed);
  // Every store of the engine reaches its epoch callback at its next check instead of at the
  // next tick; the others re-arm and go on (the ticker does the same for short timeouts).
  wasmtime_engine_increment_epoch(engine_->capi());
  return true;
}

wasm_trap_t* Store::cancel_trap() noexcept {
  stop(kCancelledReason, TrapKind::Cancelled);
  // Due now, as after any stop: see on_epoch.
  wasmtime_context_set_epoch_deadline(context_, 0);
  return wasmtime_trap_new(stop_reason_.data(), stop_reason_.size());
}

// Runs on the thread inside wasm, with wasm frames on its stack; it decides, in order: the user
// deadline (Engine::increment_epoch ticks), the timeout of the current call, whatever the engine's
// InterruptCheck sees (the binding: a Python signal), then a cancel (after the check: a call
// holding the GIL lets other threads run only inside it, so a cancel they make is seen here).
wasmtime_error_t* Store::on_epoch(wasmtime_context_t* ctx, void* data, uint64_t* delta,
                                  wasmtime_update_deadline_kind_t* kind) {
  Store& s = *static_cast<Store*>(data);
  *kind = WASMTIME_UPDATE_DEADLINE_CONTINUE;
  *delta = 1;
  if (s.stop_requested(ctx)) return wasmtime_error_new(s.stop_reason_.c_str());
  return nullptr;
}

bool Store::stop_requested(wasmtime_context_t* ctx) noexcept {
  if (user_deadline_ != kEpochNever && engine_->user_epoch() >= user_deadline_)
    return stop("interrupt: the epoch deadline set with set_epoch_deadline() has passed");
  if (timed_depth_ != 0) [[unlikely]] {
    if (wake_token_ != 0) {  // a short timeout: by the clock
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline_) {
        char text[160];
        std::snprintf(text, sizeof text, "interrupt: the call ran past its timeout=%g s (stopped after %.3g ms)",
                      std::chrono::duration<double>(timeout_).count(),
                      std::chrono::duration<double, std::milli>(now - deadline_ + timeout_).count());
        return stop(text);
      }
    } else if (const uint64_t ran = engine_->ticks() - call_start_tick_;
               ran >= timeout_ticks_ && std::chrono::steady_clock::now() >= deadline_) {
      char text[160];
      std::snprintf(text, sizeof text, "interrupt: the call ran past its timeout=%g s (stopped after %" PRIu64
                    " ticks of %lld ms)", std::chrono::duration<double>(timeout_).count(), ran,
                    static_cast<long long>(Engine::kTick.count()));
      return stop(text);
    }
  }
  if (InterruptCheck check = engine_->config().interrupt_check; check != nullptr) {
    // The check may run code that calls into this store (a Python signal handler). wasmtime does
    // not run this callback again while it runs, so with the deadline passed such a call would
    // trap at its first check: it gets no deadline until the callback returns (and re-arms it).
    wasmtime_context_set_epoch_deadline(ctx, kEpochNever);
    if (check(*this)) {
      // A stopped call is not re-armed by wasmtime: due now, so the next call's first check runs
      // this callback again (the other stops leave the passed deadline as it was, to the same end).
      wasmtime_context_set_epoch_deadline(ctx, 0);
      return stop("interrupt: stopped by a signal");
    }
    wasmtime_context_set_epoch_deadline(ctx, 1);
  }
  if (cancel_pending()) [[unlikely]] {
    wasmtime_context_set_epoch_deadline(ctx, 0);
    return stop(kCancelledReason, TrapKind::Cancelled);
  }
  return false;
}

Error Store::explain(Error e) noexcept {
  if (stop_reason_.empty()) return e;
  // A reason left by a call whose failure was reported elsewhere must not rename a later,
  // unrelated failure: the engine's text for the callback's error carries the reason itself.
  if (e.message.find(stop_reason_) == std::string::npos) {
    stop_reason_.clear();
    return e;
  }
  std::string trace;
  if (size_t at = e.message.find("wasm backtrace"); at != std::string::npos) {
    trace = '\n';
    trace.append(e.message, at, std::string::npos);
  }
  e.kind = ErrorKind::Trap;
  e.trap = stop_trap_;
  e.message = std::exchange(stop_reason_, {}) + trace;
  return e;
}

Error call_failure_in(wasmtime_context_t* ctx, wasmtime_error_t* err, wasm_trap_t* trap) {
  Error e = call_failure(err, trap);
  // A store made outside Store (raw wasmtime_store_new) has no data, and no epoch callback.
  if (wasmtime_context_get_data(ctx) == nullptr) return e;
  return Store::of(ctx).explain(std::move(e));
}

Result<void> Store::set_timeout(std::chrono::nanoseconds timeout) {
  if (!engine_->config().epoch_interruption)
    return make_error(ErrorKind::Engine,
                      "timeout needs epoch interruption, and this instance's engine was created with "
                      "epoch_interruption=False; use an engine made with wasmffi.Engine(epoch_interruption=True) "
                      "(the default)");
  timeout_ = timeout.count() < 0 ? std::chrono::nanoseconds{0} : timeout;
  const auto tick = std::chrono::duration_cast<std::chrono::nanoseconds>(Engine::kTick);
  timeout_ticks_ = static_cast<uint64_t>((timeout_ + tick - std::chrono::nanoseconds{1}) / tick) + 1;
  timed_depth_ = 0;
  return {};
}

void Store::set_limits(const StoreLimits& limits) {
  limits_ = limits;
  wasmtime_store_limiter(store_.capi(), limits.memory_size, limits.table_elements, limits.instances, limits.tables,
                         limits.memories);
}

Store::~Store() {
  if (engine_->config().epoch_interruption) engine_->store_closed();
  // The pages of large memories go back now, not when the pool's decommit batch fills (see
  // release_at_close). This is what the pool does to the slot later anyway (madvise DONTNEED
  // over the accessible bytes: anonymous pages read as zero again, a memory image's pages as
  // the image), done while the store still owns the slot, so no other instance can have it yet.
  for (const wasmtime_memory_t& m : release_at_close_)
    platform::release_pages(wasmtime_memory_data(context_, &m), wasmtime_memory_data_size(context_, &m));
  // Host functions' environments are finalised by wasmtime_store_delete (the member below);
  // a pending error nobody collected goes first.
  if (pending_ != nullptr) pending_drop_(std::exchange(pending_, nullptr));
}

void Store::set_pending(void* payload, void (*drop)(void*)) noexcept {
  if (pending_ != nullptr) pending_drop_(pending_);
  pending_ = payload;
  pending_drop_ = drop;
}

uintptr_t this_thread_token() noexcept {
  static thread_local char token;
  return reinterpret_cast<uintptr_t>(&token);
}

namespace detail {
constinit std::atomic<uint32_t> g_host_active{0};
}  // namespace detail

void Store::release_at_close(const wasmtime_memory_t& memory) {
  for (const wasmtime_memory_t& m : release_at_close_)
    if (m.store_id == memory.store_id && m.__private1 == memory.__private1 && m.__private2 == memory.__private2) return;
  release_at_close_.push_back(memory);
}

Store& Store::of(wasmtime_context_t* ctx) noexcept { return *static_cast<Store*>(wasmtime_context_get_data(ctx)); }

static Error fuel_not_configured() {
  return make_error(ErrorKind::Engine,
                    "fuel is not configured: this instance's engine was created without consume_fuel=True; "
                    "use an engine made with wasmffi.Engine(consume_fuel=True)");
}

Result<void> Store::set_fuel(uint64_t fuel) {
  if (!engine_->config().consume_fuel) return fuel_not_configured();
  if (wasmtime_error_t* err = wasmtime_context_set_fuel(context_, fuel)) return take_error(err, ErrorKind::Engine);
  return {};
}

Result<uint64_t> Store::fuel() const {
  if (!engine_->config().consume_fuel) return fuel_not_configured();
  uint64_t fuel = 0;
  if (wasmtime_error_t* err = wasmtime_context_get_fuel(context_, &fuel)) return take_error(err, ErrorKind::Engine);
  return fuel;
}

Result<void> Store::set_epoch_deadline(uint64_t ticks) {
  if (!engine_->config().epoch_interruption)
    return make_error(ErrorKind::Engine,
                      "epoch interruption is not configured: this instance's engine was created without "
                      "epoch_interruption=True, so a deadline would never fire; use an engine made with "
                      "wasmffi.Engine(epoch_interruption=True)");
  user_deadline_ = ticks < kEpochNever ? engine_->user_epoch() + ticks : kEpochNever;
  // The engine's deadline goes to "due now" whatever `ticks` is: the callback runs at the next
  // check that reads it (for 0 that traps, even in a call too short to see a tick) and re-arms it
  // one tick ahead. Arming it one tick ahead here instead moved it later when it was already
  // due: a guest calling a host function that sets a deadline on every call kept pushing the
  // check that runs the timeout, Ctrl-C and cancel() past the ticks that fell inside the host
  // call, and `timeout=0.05` stopped such a loop after seconds
  // (test_interrupt_generated.py::test_a_host_call_that_moves_the_deadline_ahead_cannot_dodge_the_timeout).
  wasmtime_context_set_epoch_deadline(context_, 0);
  return {};
}

namespace detail {

constinit thread_local uintptr_t t_stack_low [[gnu::tls_model("initial-exec")]] = UINTPTR_MAX;

bool native_stack_fits_slow(wasmtime_context_t* ctx, uintptr_t sp) noexcept {
  if (t_stack_low == UINTPTR_MAX) t_stack_low = platform::thread_stack_low();
  const uintptr_t low = t_stack_low;
  // Unknown bounds (0), or a stack pointer outside them (a coroutine's own stack): nothing to
  // compare against, so leave it to wasmtime as before.
  if (low == 0 || sp <= low) return true;
  // A store made outside Store (raw wasmtime_store_new) has no data: judge it by the largest need.
  if (wasmtime_context_get_data(ctx) == nullptr)
    return sp - low >= g_largest_stack_need.load(std::memory_order_relaxed);
  const EngineConfig& cfg = Store::of(ctx).engine().config();
  return sp - low >= cfg.max_wasm_stack + kHostStackMargin;
}

}  // namespace detail

Error native_stack_error(wasmtime_context_t* ctx) {
  const auto sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  const size_t left = sp > detail::t_stack_low ? (sp - detail::t_stack_low) >> 10 : 0;
  const size_t stack = wasmtime_context_get_data(ctx) != nullptr
                           ? Store::of(ctx).engine().config().max_wasm_stack
                           : detail::g_largest_stack_need.load(std::memory_order_relaxed) - kHostStackMargin;
  Error e{ErrorKind::Trap, {}, TrapKind::StackOverflow};
  e.message = "native stack too small, wasm not entered: the calling thread has " + std::to_string(left) +
              " KiB of stack left, and wasm on this engine needs max_wasm_stack (" +
              std::to_string(stack >> 10) + " KiB) + " + std::to_string(kHostStackMargin >> 10) +
              " KiB; call from a thread with a bigger stack (threading.stack_size) or use an engine with a "
              "smaller max_wasm_stack";
  return e;
}

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
  return create(std::move(module), std::shared_ptr<Store>(std::move(store)), imports);
}

Result<std::unique_ptr<Instance>> Instance::create(std::shared_ptr<const Module> module,
                                                   std::shared_ptr<Store> store,
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
  // Instantiation runs the module's start function, if any: wasm code like any call.
  if (!native_stack_fits(inst->context())) return native_stack_error(inst->context());
  wasm_trap_t* trap = nullptr;
  wasmtime_error_t* err = wasmtime_instance_new(inst->context(), inst->module_->capi(),
                                                imports.data(), imports.size(), &inst->instance_, &trap);
  inst->created_ = err == nullptr && trap == nullptr;
  if (trap != nullptr) return inst->store_->explain(call_failure(nullptr, trap));  // start function trapped
  if (err != nullptr) {
    Error e = inst->store_->explain(take_error(err, ErrorKind::Link));
    if (e.kind == ErrorKind::Trap) return e;  // the start function was interrupted
    if (is_resource_exhaustion(e.message)) e = make_error(ErrorKind::Resource, "cannot reserve memory for a new instance: " + e.message);
    else if (e.message.find("maximum concurrent limit") != std::string::npos)
      e = make_error(ErrorKind::Resource,
                     std::string(kNoFreeSlot) + ": " + e.message + " (this engine pools " +
                         std::to_string(inst->store().engine().config().pooling_slots) +
                         " instances; drop unused instances, or use an engine with more pooling_slots, or "
                         "pooling_slots=0 to map instances on demand)");
    return e;
  }
  return inst;
}

Result<std::unique_ptr<Instance>> Instance::create(std::shared_ptr<const Module> module) {
  auto store = std::make_shared<Store>(module->engine());
  return create(std::move(module), std::move(store), {});
}

Instance::~Instance() {
  if (!created_ || store_->engine().config().pooling_slots == 0) return;  // on demand: unmapped at once
  for (const auto& desc : module_->exports()) {
    if (desc.kind != ExternKind::Memory) continue;
    wasmtime_extern_t item;
    if (!wasmtime_instance_export_get(context(), &instance_, desc.name.data(), desc.name.size(), &item)) continue;
    if (wasmtime_memory_data_size(context(), &item.of.memory) < Store::kReleaseAtClose) continue;
    wasm_memorytype_t* type = wasmtime_memory_type(context(), &item.of.memory);
    const bool shared = wasmtime_memorytype_isshared(type);  // shared memories live outside the pool's slots
    wasm_memorytype_delete(type);
    if (shared) continue;
    try {
      store_->release_at_close(item.of.memory);
    } catch (...) {  // no memory for the entry: the pool's batch resets the slot later
    }
  }
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
