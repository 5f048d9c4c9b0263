// Tests that guest traps become ErrorKind::Trap errors with the right TrapKind, reason and backtrace.
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace wasmffi;
using namespace wasmffi::test;

namespace {

const char* kTraps = R"((module
  (type $i32_to_i32 (func (param i32) (result i32)))
  (type $void (func))
  (memory (export "memory") 1)
  (table $t 4 funcref)
  (elem (table $t) (i32.const 0) func $ok $noop)
  (func $ok (export "ok") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func $noop)
  (func $do_unreachable (export "do_unreachable") unreachable)
  (func $load_past_end (export "load_past_end") (param i32) (result i32) local.get 0 i32.load)
  (func $div_s (export "div_s") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func $rem_u64 (export "rem_u64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.rem_u)
  (func $trunc (export "trunc") (param f32) (result i32) local.get 0 i32.trunc_f32_s)
  (func $trunc_f64_u (export "trunc_f64_u") (param f64) (result i32) local.get 0 i32.trunc_f64_u)
  (func $recurse (export "recurse") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add call $recurse i32.const 1 i32.add)
  ;; calls slot `idx` of the table as (i32) -> i32
  (func $call_slot (export "call_slot") (param i32 i32) (result i32)
    local.get 1 local.get 0 call_indirect $t (type $i32_to_i32))
  (func $table_get (export "table_get") (param i32) (result i32)
    local.get 0 table.get $t ref.is_null)
  (func $nested (export "nested") call $inner)
  (func $inner unreachable)
))";

struct TrapCase {
  const char* name;
  std::vector<Value> args;
  TrapKind kind;
  const char* reason;  // wasmtime's description of the trap
};

void PrintTo(const TrapCase& c, std::ostream* os) { *os << c.name; }

class EachTrap : public ::testing::TestWithParam<TrapCase> {};

}  // namespace

TEST_P(EachTrap, BecomesTrapErrorWithKindReasonAndBacktrace) {
  const TrapCase& c = GetParam();
  Loaded l = load_wat(kTraps);
  wasmtime_func_t f = l.func(c.name);
  CallPlan plan = CallPlan::for_func(l.ctx(), f);
  auto r = call(l.ctx(), f, plan, c.args);
  ASSERT_FALSE(r.ok()) << c.name << " did not trap";
  const Error& e = r.error();
  EXPECT_EQ(e.kind, ErrorKind::Trap);
  EXPECT_EQ(e.trap, c.kind) << "got " << trap_kind_name(e.trap) << ", message:\n" << e.message;
  const size_t reason = e.message.find(c.reason);
  const size_t trace = e.message.find("wasm backtrace");
  EXPECT_NE(reason, std::string::npos) << "reason '" << c.reason << "' not in:\n" << e.message;
  EXPECT_NE(trace, std::string::npos) << e.message;
  // The reason is the headline, the frames follow.
  EXPECT_LT(reason, trace) << e.message;
  // The frame list names the function that trapped (from the name section).
  EXPECT_NE(e.message.find(c.name, trace), std::string::npos) << e.message;
}

INSTANTIATE_TEST_SUITE_P(
    Trap, EachTrap,
    ::testing::Values(
        TrapCase{"do_unreachable", {}, TrapKind::Unreachable, "unreachable"},
        TrapCase{"load_past_end", {Value::i32v(65536 - 3)}, TrapKind::MemoryOutOfBounds,
                 "out of bounds memory access"},
        TrapCase{"load_past_end", {Value::i32v(-4)}, TrapKind::MemoryOutOfBounds, "out of bounds memory access"},
        TrapCase{"div_s", {Value::i32v(1), Value::i32v(0)}, TrapKind::IntegerDivisionByZero,
                 "integer divide by zero"},
        TrapCase{"rem_u64", {Value::i64v(1), Value::i64v(0)}, TrapKind::IntegerDivisionByZero,
                 "integer divide by zero"},
        TrapCase{"div_s", {Value::i32v(INT32_MIN), Value::i32v(-1)}, TrapKind::IntegerOverflow, "integer overflow"},
        TrapCase{"trunc", {Value::f32v(std::numeric_limits<float>::quiet_NaN())}, TrapKind::BadConversionToInteger,
                 "invalid conversion to integer"},
        TrapCase{"trunc", {Value::f32v(3e9f)}, TrapKind::IntegerOverflow, "integer overflow"},
        TrapCase{"trunc_f64_u", {Value::f64v(-1.0)}, TrapKind::IntegerOverflow, "integer overflow"},
        TrapCase{"recurse", {Value::i32v(0)}, TrapKind::StackOverflow, "call stack exhausted"},
        TrapCase{"call_slot", {Value::i32v(2), Value::i32v(0)}, TrapKind::IndirectCallToNull,
                 "uninitialized element"},
        TrapCase{"call_slot", {Value::i32v(1), Value::i32v(0)}, TrapKind::BadSignature,
                 "indirect call type mismatch"},
        TrapCase{"call_slot", {Value::i32v(4), Value::i32v(0)}, TrapKind::TableOutOfBounds,
                 "out of bounds table access"},
        TrapCase{"table_get", {Value::i32v(100)}, TrapKind::TableOutOfBounds, "out of bounds table access"}),
    [](const ::testing::TestParamInfo<TrapCase>& info) {
      return std::string(trap_kind_name(info.param.kind)) + "_" + std::to_string(info.index);
    });

TEST(Trap, CallSlotWorksForAValidSlot) {
  // The positive control for the call_indirect traps above.
  Loaded l = load_wat(kTraps);
  EXPECT_EQ(l.i32("call_slot", {Value::i32v(0), Value::i32v(41)}), 42);
  EXPECT_EQ(l.i32("table_get", {Value::i32v(0)}), 0);
  EXPECT_EQ(l.i32("table_get", {Value::i32v(3)}), 1);
}

TEST(Trap, InstanceStaysUsableAfterEveryKindOfTrap) {
  Loaded l = load_wat(kTraps);
  GuestMemory mem = l.memory();
  ASSERT_TRUE(mem.store<uint32_t>(16, 0xCAFEBABE).ok());

  EXPECT_FALSE(l.call("do_unreachable").ok());
  EXPECT_EQ(l.i32("ok", {Value::i32v(1)}), 2);
  EXPECT_FALSE(l.call("recurse", {Value::i32v(0)}).ok());
  EXPECT_EQ(l.i32("ok", {Value::i32v(2)}), 3);
  EXPECT_FALSE(l.call("load_past_end", {Value::i32v(70000)}).ok());
  // The same export that trapped works with good arguments; memory is intact.
  EXPECT_EQ(static_cast<uint32_t>(l.i32("load_past_end", {Value::i32v(16)})), 0xCAFEBABEu);
  EXPECT_FALSE(l.call("div_s", {Value::i32v(1), Value::i32v(0)}).ok());
  EXPECT_EQ(l.i32("div_s", {Value::i32v(-9), Value::i32v(3)}), -3);
  EXPECT_EQ(unwrap(mem.load<uint32_t>(16)), 0xCAFEBABEu);
}

TEST(Trap, RepeatedTrapsDoNotExhaustAnything) {
  Loaded l = load_wat(kTraps);
  for (int i = 0; i < 200; ++i) {
    auto r = l.call("div_s", {Value::i32v(i), Value::i32v(0)});
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.error().trap, TrapKind::IntegerDivisionByZero);
  }
  EXPECT_EQ(l.i32("div_s", {Value::i32v(200), Value::i32v(2)}), 100);
}

TEST(Trap, BacktraceListsCallerAndCallee) {
  Loaded l = load_wat(kTraps);
  auto r = l.call("nested");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().trap, TrapKind::Unreachable);
  const std::string& msg = r.error().message;
  const size_t trace = msg.find("wasm backtrace");
  ASSERT_NE(trace, std::string::npos) << msg;
  const size_t inner = msg.find("inner", trace);
  const size_t outer = msg.find("nested", trace);
  ASSERT_NE(inner, std::string::npos) << msg;
  ASSERT_NE(outer, std::string::npos) << msg;
  EXPECT_LT(inner, outer) << "innermost frame first:\n" << msg;
}

TEST(Trap, UncheckedCallReportsTrapToo) {
  Loaded l = load_wat(kTraps);
  wasmtime_func_t f = l.func("div_s");
  wasmtime_val_raw_t raw[2] = {};
  raw[0].i32 = INT32_MIN;
  raw[1].i32 = -1;
  auto r = call_unchecked(l.ctx(), f, raw, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Trap);
  EXPECT_EQ(r.error().trap, TrapKind::IntegerOverflow);
  raw[0].i32 = 10;
  raw[1].i32 = 5;
  ASSERT_TRUE(call_unchecked(l.ctx(), f, raw, 2).ok());
  EXPECT_EQ(raw[0].i32, 2);
}

TEST(Trap, ArithGuestDivideByZeroTraps) {
  Loaded l = load_guest("arith.wasm");
  auto r = l.call("divide", {Value::i32v(7), Value::i32v(0)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Trap);
  EXPECT_EQ(r.error().trap, TrapKind::IntegerDivisionByZero);
  EXPECT_NE(r.error().message.find("wasm backtrace"), std::string::npos) << r.error().message;
  EXPECT_EQ(l.i32("divide", {Value::i32v(7), Value::i32v(2)}), 3);
}

TEST(Trap, StartFunctionTrapFailsInstanceCreateWithTrapError) {
  auto m = Module::from_wat(default_engine(), R"((module
      (func $boom i32.const 1 i32.const 0 i32.div_u drop)
      (start $boom)))");
  ASSERT_TRUE(m.ok()) << m.error().message;
  auto inst = Instance::create(*m);
  ASSERT_FALSE(inst.ok());
  EXPECT_EQ(inst.error().kind, ErrorKind::Trap);
  EXPECT_EQ(inst.error().trap, TrapKind::IntegerDivisionByZero);
  EXPECT_NE(inst.error().message.find("integer divide by zero"), std::string::npos) << inst.error().message;
  EXPECT_NE(inst.error().message.find("wasm backtrace"), std::string::npos) << inst.error().message;
}

TEST(Trap, StartFunctionUnreachableGivesUnreachableKind) {
  auto m = unwrap(Module::from_wat(default_engine(), "(module (func $s unreachable) (start $s))"));
  auto inst = Instance::create(m);
  ASSERT_FALSE(inst.ok());
  EXPECT_EQ(inst.error().kind, ErrorKind::Trap);
  EXPECT_EQ(inst.error().trap, TrapKind::Unreachable);
}

namespace {
wasm_trap_t* host_refuses(void*, wasmtime_caller_t*, const wasmtime_val_t*, size_t, wasmtime_val_t*, size_t) {
  static const char msg[] = "host refuses";
  return wasmtime_trap_new(msg, sizeof msg - 1);
}
}  // namespace

namespace {
// An instance of a module whose export "go" calls an import that always raises a host trap.
Loaded load_with_refusing_import() {
  auto m = unwrap(Module::from_wat(default_engine(), R"((module
      (import "env" "refuse" (func $refuse))
      (func $go (export "go") call $refuse)
      (func (export "ok") (result i32) i32.const 1)))"));
  auto store = std::make_unique<Store>(default_engine());
  wasm_functype_t* ty = wasm_functype_new_0_0();
  wasmtime_extern_t imp;
  imp.kind = WASMTIME_EXTERN_FUNC;
  wasmtime_func_new(store->context(), ty, host_refuses, nullptr, nullptr, &imp.of.func);
  wasm_functype_delete(ty);
  return Loaded{unwrap(Instance::create(m, std::move(store), std::span<const wasmtime_extern_t>(&imp, 1)))};
}
}  // namespace

TEST(Trap, HostFunctionTrapFailsTheCallWithHostMessage) {
  Loaded l = load_with_refusing_import();
  auto r = l.call("go");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("host refuses"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("wasm backtrace"), std::string::npos) << r.error().message;
  EXPECT_EQ(l.i32("ok"), 1);
}

TEST(Trap, HostFunctionTrapIsReportedAsTrapWithReasonFirst) {
  Loaded l = load_with_refusing_import();
  auto r = l.call("go");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Trap);
  EXPECT_EQ(r.error().trap, TrapKind::Other);
  EXPECT_EQ(r.error().message.rfind("host refuses", 0), 0u) << r.error().message;
}

TEST(Trap, FuelExhaustionIsOutOfFuel) {
  EngineConfig cfg;
  cfg.consume_fuel = true;
  auto engine = unwrap(Engine::create(cfg));
  Loaded l = load_wat(R"((module (func (export "spin") (loop $l br $l))
                                 (func (export "cheap") (result i32) i32.const 5)))",
                      engine);
  ASSERT_EQ(wasmtime_context_set_fuel(l.ctx(), 10000), nullptr);
  auto r = l.call("spin");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Trap);
  EXPECT_EQ(r.error().trap, TrapKind::OutOfFuel);
  EXPECT_NE(r.error().message.find("fuel"), std::string::npos) << r.error().message;
  // Refuelled, the instance runs again.
  ASSERT_EQ(wasmtime_context_set_fuel(l.ctx(), 10000), nullptr);
  EXPECT_EQ(l.i32("cheap"), 5);
}

TEST(Trap, EpochDeadlineIsInterrupt) {
  EngineConfig cfg;
  cfg.epoch_interruption = true;
  auto engine = unwrap(Engine::create(cfg));
  Loaded l = load_wat(R"((module (func (export "spin") (loop $l br $l))))", engine);
  // Through Store and Engine: every store has an epoch callback that decides (see Store::on_epoch),
  // so a raw wasmtime deadline alone only makes it run.
  unwrap(l.instance->store().set_epoch_deadline(1));
  engine->increment_epoch();
  auto r = l.call("spin");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Trap);
  EXPECT_EQ(r.error().trap, TrapKind::Interrupt);
  EXPECT_NE(r.error().message.find("interrupt"), std::string::npos) << r.error().message;
}

TEST(Trap, KindNamesAreDistinctAndReadable) {
  EXPECT_STREQ(trap_kind_name(TrapKind::StackOverflow), "StackOverflow");
  EXPECT_STREQ(trap_kind_name(TrapKind::IntegerDivisionByZero), "IntegerDivisionByZero");
  EXPECT_STREQ(trap_kind_name(TrapKind::OutOfFuel), "OutOfFuel");
  EXPECT_STREQ(trap_kind_name(TrapKind::Other), "Trap");
}
