// Tests Engine creation that wasmtime rejects (errors, not aborts), Store fuel/epoch limits and the native stack guard.
#include <pthread.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace wasmffi;
using namespace wasmffi::test;

namespace {

constexpr const char* kRecurse = R"((module
  (func $r (export "recurse") (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) i32.const 0
    else local.get 0 i32.const 1 i32.sub call $r i32.const 1 i32.add end)
  ;; "seven" calls, so it checks the epoch at its entry: a function that cannot call has no
  ;; epoch check (engine/patch_crates.py) and would return past any deadline.
  (func $c7 (result i32) i32.const 7)
  (func (export "seven") (result i32) call $c7)))";

std::shared_ptr<Engine> engine_with(const std::function<void(EngineConfig&)>& edit) {
  EngineConfig cfg;
  edit(cfg);
  return unwrap(Engine::create(cfg), "Engine::create");
}

// Runs `body` on a new thread with a native stack of `stack_size` bytes, and waits for it.
void on_thread_with_stack(size_t stack_size, std::function<void()> body) {
  pthread_attr_t attr;
  ASSERT_EQ(pthread_attr_init(&attr), 0);
  ASSERT_EQ(pthread_attr_setstacksize(&attr, stack_size), 0);
  pthread_t thread;
  auto run = [](void* arg) -> void* {
    (*static_cast<std::function<void()>*>(arg))();
    return nullptr;
  };
  ASSERT_EQ(pthread_create(&thread, &attr, run, &body), 0);
  pthread_attr_destroy(&attr);
  ASSERT_EQ(pthread_join(thread, nullptr), 0);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Configurations wasmtime rejects

TEST(EngineConfig, ZeroWasmStackIsArgumentErrorWithWasmtimeReason) {
  auto e = Engine::create([] { EngineConfig c; c.max_wasm_stack = 0; return c; }());
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind, ErrorKind::Argument);
  EXPECT_NE(e.error().message.find("max_wasm_stack size cannot be zero"), std::string::npos) << e.error().message;
}

TEST(EngineConfig, WasmStackAboveAsyncStackSizeIsArgumentError) {
  auto e = Engine::create([] { EngineConfig c; c.max_wasm_stack = size_t{4} << 20; return c; }());
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind, ErrorKind::Argument);
  EXPECT_NE(e.error().message.find("cannot exceed the async_stack_size"), std::string::npos) << e.error().message;
}

TEST(EngineConfig, ShimConstructorReturnsErrorAndNoEngine) {
  wasm_config_t* cfg = wasm_config_new();
  wasmtime_config_max_wasm_stack_set(cfg, 0);
  wasm_engine_t* out = reinterpret_cast<wasm_engine_t*>(uintptr_t{1});
  wasmtime_error_t* err = wasmffi_engine_new(cfg, &out);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(out, nullptr);
  Error e = take_error(err, ErrorKind::Argument);
  EXPECT_NE(e.message.find("cannot be zero"), std::string::npos) << e.message;
}

TEST(EngineConfig, ShimConstructorBuildsAWorkingEngine) {
  wasm_engine_t* out = nullptr;
  ASSERT_EQ(wasmffi_engine_new(wasm_config_new(), &out), nullptr);
  ASSERT_NE(out, nullptr);
  wasmtime_store_t* store = wasmtime_store_new(out, nullptr, nullptr);
  ASSERT_NE(store, nullptr);
  wasmtime_store_delete(store);
  wasm_engine_delete(out);
}

// Why the shim exists: the C API's own constructor unwraps wasmtime's error and aborts.
TEST(EngineConfigDeathTest, CApiConstructorAbortsOnTheSameConfiguration) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        wasm_config_t* cfg = wasm_config_new();
        wasmtime_config_max_wasm_stack_set(cfg, 0);
        wasm_engine_new_with_config(cfg);
      },
      "max_wasm_stack");
}

TEST(EngineConfig, LargestAcceptedWasmStackRunsDeepRecursion) {
  auto engine = engine_with([](EngineConfig& c) { c.max_wasm_stack = size_t{2} << 20; });
  Loaded l = load_wat(kRecurse, engine);
  EXPECT_EQ(l.i32("recurse", {Value::i32v(20000)}), 20000);
}

// ---------------------------------------------------------------------------------------------
// Fuel and epoch deadlines

TEST(StoreLimits, FuelOnEngineWithoutFuelIsEngineErrorNamingTheFix) {
  Loaded l = load_wat(kRecurse);
  auto set = l.instance->store().set_fuel(10);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().kind, ErrorKind::Engine);
  EXPECT_NE(set.error().message.find("consume_fuel=True"), std::string::npos) << set.error().message;
  auto get = l.instance->store().fuel();
  ASSERT_FALSE(get.ok());
  EXPECT_NE(get.error().message.find("fuel is not configured"), std::string::npos) << get.error().message;
}

TEST(StoreLimits, FuelIsSetAndRead) {
  Loaded l = load_wat(kRecurse, engine_with([](EngineConfig& c) { c.consume_fuel = true; }));
  EXPECT_EQ(unwrap(l.instance->store().fuel()), 0u);
  unwrap(l.instance->store().set_fuel(UINT64_MAX));
  EXPECT_EQ(l.i32("seven"), 7);
  const uint64_t left = unwrap(l.instance->store().fuel());
  EXPECT_LT(left, UINT64_MAX);
  EXPECT_GT(left, UINT64_MAX - 100);
}

TEST(StoreLimits, DeadlineOnEngineWithoutEpochsIsEngineErrorNamingTheFix) {
  Loaded l = load_wat(kRecurse, engine_with([](EngineConfig& c) { c.epoch_interruption = false; }));
  auto r = l.instance->store().set_epoch_deadline(5);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Engine);
  EXPECT_NE(r.error().message.find("epoch_interruption=True"), std::string::npos) << r.error().message;
}

TEST(StoreLimits, NewStoreOnEpochEngineHasNoDeadline) {
  auto engine = engine_with([](EngineConfig& c) { c.epoch_interruption = true; });
  Loaded l = load_wat(kRecurse, engine);
  EXPECT_EQ(l.i32("seven"), 7);
  engine->increment_epoch();
  engine->increment_epoch();
  EXPECT_EQ(l.i32("seven"), 7);
}

TEST(StoreLimits, MaximalDeadlineAfterTicksDoesNotWrap) {
  auto engine = engine_with([](EngineConfig& c) { c.epoch_interruption = true; });
  Loaded l = load_wat(kRecurse, engine);
  engine->increment_epoch();
  unwrap(l.instance->store().set_epoch_deadline(UINT64_MAX));
  EXPECT_EQ(l.i32("seven"), 7);
  engine->increment_epoch();
  EXPECT_EQ(l.i32("seven"), 7);
}

TEST(StoreLimits, PassedDeadlineInterrupts) {
  auto engine = engine_with([](EngineConfig& c) { c.epoch_interruption = true; });
  Loaded l = load_wat(kRecurse, engine);
  unwrap(l.instance->store().set_epoch_deadline(1));
  EXPECT_EQ(l.i32("seven"), 7);
  engine->increment_epoch();
  auto r = l.call("seven");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().trap, TrapKind::Interrupt);
}

// Store::request_cancel: only a call in progress (owner set, as the binding does for the whole
// of a call another thread can reach) is cancelled; the request stops it at its next epoch check
// (brought forward by the epoch increment) as TrapKind::Cancelled, and leaves nothing behind.
TEST(StoreCancel, WithNoCallRunningNothingHappens) {
  auto engine = engine_with([](EngineConfig& c) { c.epoch_interruption = true; });
  Loaded l = load_wat(kRecurse, engine);
  EXPECT_FALSE(l.instance->store().request_cancel());
  EXPECT_FALSE(l.instance->store().cancel_pending());
  EXPECT_EQ(l.i32("seven"), 7);
}

TEST(StoreCancel, ARunningCallStopsAsCancelledAndTheNextOneRuns) {
  auto engine = engine_with([](EngineConfig& c) { c.epoch_interruption = true; });
  Loaded l = load_wat(kRecurse, engine);
  Store& store = l.instance->store();
  store.owner = this_thread_token();  // as a call in progress has it
  EXPECT_TRUE(store.request_cancel());
  auto r = l.call("seven");
  store.owner = 0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Trap);
  EXPECT_EQ(r.error().trap, TrapKind::Cancelled);
  EXPECT_EQ(r.error().message.rfind("cancelled: ", 0), 0u) << r.error().message;
  EXPECT_FALSE(store.cancel_pending());
  EXPECT_EQ(l.i32("seven"), 7);
}

TEST(StoreLimits, StoreFindsItselfFromItsContext) {
  Loaded l = load_wat(kRecurse);
  EXPECT_EQ(&Store::of(l.ctx()), &l.instance->store());
}

// ---------------------------------------------------------------------------------------------
// Native stack guard

TEST(NativeStack, MainThreadHasRoomForTheDefaultEngine) {
  Loaded l = load_wat(kRecurse);
  EXPECT_TRUE(native_stack_fits(l.ctx()));
  auto r = l.call("recurse", {Value::i32v(1 << 30)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().trap, TrapKind::StackOverflow);
}

TEST(NativeStack, SmallThreadIsRefusedForTheDefaultEngineWithAClearError) {
  Loaded l = load_wat(kRecurse);
  bool fits = true;
  std::string message;
  on_thread_with_stack(256 << 10, [&] {
    fits = native_stack_fits(l.ctx());
    if (!fits) message = native_stack_error(l.ctx()).message;
  });
  EXPECT_FALSE(fits);
  EXPECT_NE(message.find("max_wasm_stack (512 KiB) + 64 KiB"), std::string::npos) << message;
  EXPECT_TRUE(native_stack_fits(l.ctx()));  // the main thread's own answer is unaffected
}

TEST(NativeStack, SmallThreadWithSmallWasmStackTrapsDeepRecursion) {
  auto engine = engine_with([](EngineConfig& c) { c.max_wasm_stack = 64 << 10; });
  Loaded l = load_wat(kRecurse, engine);
  bool fits = false;
  std::optional<Error> deep;
  int32_t shallow = -1;
  on_thread_with_stack(256 << 10, [&] {
    fits = native_stack_fits(l.ctx());
    auto r = l.call("recurse", {Value::i32v(1 << 30)});
    if (!r.ok()) deep = r.error();
    shallow = l.i32("recurse", {Value::i32v(100)});
  });
  EXPECT_TRUE(fits);
  ASSERT_TRUE(deep.has_value());
  EXPECT_EQ(deep->kind, ErrorKind::Trap);
  EXPECT_EQ(deep->trap, TrapKind::StackOverflow);
  EXPECT_EQ(shallow, 100);
}

TEST(NativeStack, StoreMadeOutsideStoreIsJudgedByTheLargestNeed) {
  auto engine = default_engine();
  wasmtime_store_t* raw = wasmtime_store_new(engine->capi(), nullptr, nullptr);
  wasmtime_context_t* ctx = wasmtime_store_context(raw);
  bool fits = true;
  std::string message;
  on_thread_with_stack(256 << 10, [&] {
    fits = native_stack_fits(ctx);
    if (!fits) message = native_stack_error(ctx).message;
  });
  wasmtime_store_delete(raw);
  EXPECT_FALSE(fits);
  EXPECT_NE(message.find("max_wasm_stack ("), std::string::npos) << message;
}

TEST(NativeStack, StartFunctionOnSmallThreadIsRefused) {
  auto module = unwrap(Module::from_wat(default_engine(), "(module (func $s) (start $s))"));
  std::optional<Error> err;
  on_thread_with_stack(256 << 10, [&] {
    auto r = Instance::create(module);
    if (!r.ok()) err = r.error();
  });
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->trap, TrapKind::StackOverflow);
  EXPECT_NE(err->message.find("wasm not entered"), std::string::npos) << err->message;
}

// ---------------------------------------------------------------------------------------------
// Reference types (the engine is built with wasmtime's gc feature)

TEST(ReferenceTypes, ExternrefModuleCompilesDescribesAndRuns) {
  auto module = Module::from_wat(default_engine(), R"((module
    (table $t 2 externref)
    (func (export "is_null") (param externref) (result i32) local.get 0 ref.is_null)
    (func (export "nulls") (result i32)
      (i32.add (ref.is_null (table.get $t (i32.const 0))) (ref.is_null (table.get $t (i32.const 1)))))))");
  ASSERT_TRUE(module.ok()) << module.error().message;
  const auto& exports = (*module)->exports();
  ASSERT_EQ(exports.size(), 2u);
  EXPECT_EQ(exports[0].name, "is_null");
  ASSERT_EQ(exports[0].func.params.size(), 1u);
  EXPECT_EQ(exports[0].func.params[0], ValKind::ExternRef);
  Loaded l = load_module(*module);
  EXPECT_FALSE(l.plan("is_null").all_scalar);  // refused by the binding, never called with raw slots
  EXPECT_EQ(l.i32("nulls"), 2);
}

// ---------------------------------------------------------------------------------------------
// WASI linker: made once per engine, on first use, and shared by every thread and store

TEST(WasiLinker, IsMadeOnceAndSharedByThreads) {
  auto engine = engine_with([](EngineConfig&) {});
  std::vector<const wasmtime_linker_t*> seen(4, nullptr);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < seen.size(); ++i)
    threads.emplace_back([&, i] { seen[i] = unwrap(engine->wasi_linker(), "wasi_linker"); });
  for (auto& t : threads) t.join();
  ASSERT_NE(seen[0], nullptr);
  for (const wasmtime_linker_t* linker : seen) EXPECT_EQ(linker, seen[0]);
  EXPECT_EQ(unwrap(engine->wasi_linker(), "wasi_linker"), seen[0]);
}

TEST(WasiLinker, EachEngineHasItsOwn) {
  auto one = engine_with([](EngineConfig&) {});
  auto other = engine_with([](EngineConfig&) {});
  EXPECT_NE(unwrap(one->wasi_linker(), "wasi_linker"), unwrap(other->wasi_linker(), "wasi_linker"));
}
