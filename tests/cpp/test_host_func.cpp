// Host functions in the core: creation from an import declaration, the unchecked callback, a host
// trap with a pending error kept per store, and the store's thread marking.
#include <string>
#include <vector>

#include "test_util.hpp"
#include "wasmffi/host_func.hpp"

namespace wasmffi::test {
namespace {

constexpr std::string_view kWat = R"((module
  (import "env" "twice" (func $twice (param i64) (result i64)))
  (func (export "run") (param i64) (result i64) local.get 0 call $twice i64.const 1 i64.add)))";

struct Seen {
  std::vector<int64_t> args;
  uintptr_t owner_inside = 0;
  uint32_t depth_inside = 0;
  bool fail = false;
};

wasm_trap_t* twice(void* env, wasmtime_caller_t* caller, wasmtime_val_raw_t* raw, size_t n) {
  auto* seen = static_cast<Seen*>(env);
  Store& store = Store::of(wasmtime_caller_context(caller));
  HostActivation active(store);
  seen->args.push_back(raw[0].i64);
  seen->owner_inside = store.owner;
  seen->depth_inside = store.depth;
  if (n != 1) return wasmtime_trap_new("bad arity", 9);
  if (seen->fail) {
    store.set_pending(new std::string("payload"), [](void* p) { delete static_cast<std::string*>(p); });
    return wasmtime_trap_new("host failed", 11);
  }
  raw[0].i64 *= 2;
  return nullptr;
}

struct Linked {
  std::unique_ptr<Instance> inst;
  wasmtime_func_t run;
};

Linked link(Seen& seen) {
  auto module = unwrap(Module::from_wat(default_engine(), kWat), "compile");
  auto store = std::make_shared<Store>(module->engine());
  wasmtime_extern_t imp{};
  imp.kind = WASMTIME_EXTERN_FUNC;
  imp.of.func = unwrap(new_host_func(*store, *module, 0, twice, &seen, [](void*) {}), "host func");
  auto inst = unwrap(Instance::create(module, store, std::span<const wasmtime_extern_t>(&imp, 1)), "instantiate");
  auto e = inst->export_get("run");
  if (!e) throw std::runtime_error("no export run");
  return Linked{std::move(inst), e->item.of.func};
}

TEST(HostFunc, TypedFromTheImportAndCalledOnTheRawPath) {
  Seen seen;
  Linked l = link(seen);
  wasmtime_val_raw_t raw[1];
  raw[0].i64 = -21;
  ASSERT_TRUE(call_unchecked(l.inst->context(), l.run, raw, 1).ok());
  EXPECT_EQ(raw[0].i64, -41);
  EXPECT_EQ(seen.args, std::vector<int64_t>{-21});
}

TEST(HostFunc, MarksTheStoreAsEnteredByThisThreadOnlyWhileItRuns) {
  Seen seen;
  Linked l = link(seen);
  wasmtime_val_raw_t raw[1];
  raw[0].i64 = 1;
  ASSERT_TRUE(call_unchecked(l.inst->context(), l.run, raw, 1).ok());
  EXPECT_EQ(seen.owner_inside, this_thread_token());
  EXPECT_EQ(seen.depth_inside, 1u);
  EXPECT_EQ(l.inst->store().owner, 0u);
  EXPECT_EQ(l.inst->store().depth, 0u);
  EXPECT_EQ(detail::g_host_active.load(), 0u);
}

TEST(HostFunc, ATrapLeavesItsErrorPendingInTheStoreAndTheStoreUsable) {
  Seen seen;
  seen.fail = true;
  Linked l = link(seen);
  wasmtime_val_raw_t raw[1];
  raw[0].i64 = 3;
  Result<void> r = call_unchecked(l.inst->context(), l.run, raw, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Trap);
  EXPECT_NE(r.error().message.find("host failed"), std::string::npos);
  auto* payload = static_cast<std::string*>(l.inst->store().take_pending());
  ASSERT_NE(payload, nullptr);
  EXPECT_EQ(*payload, "payload");
  delete payload;
  EXPECT_EQ(l.inst->store().take_pending(), nullptr);
  seen.fail = false;
  raw[0].i64 = 3;
  ASSERT_TRUE(call_unchecked(l.inst->context(), l.run, raw, 1).ok());
  EXPECT_EQ(raw[0].i64, 7);
}

TEST(HostFunc, APendingErrorNobodyTookIsFreedWithTheStore) {
  static int dropped = 0;
  {
    Store store(default_engine());
    store.set_pending(&dropped, [](void* p) { ++*static_cast<int*>(p); });
  }
  EXPECT_EQ(dropped, 1);
}

TEST(HostFunc, ANonFunctionImportIsALinkError) {
  auto module = unwrap(Module::from_wat(default_engine(), R"((module (import "env" "m" (memory 1))))"), "compile");
  Store store(module->engine());
  int finalised = 0;
  auto r = new_host_func(store, *module, 0, twice, &finalised, [](void* p) { ++*static_cast<int*>(p); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Link);
  EXPECT_EQ(finalised, 1);
}

}  // namespace
}  // namespace wasmffi::test
