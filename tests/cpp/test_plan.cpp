// Tests call plans (call.hpp, src/core/plan.cpp): resolution of a function's signature into
// marshalling units, retyping with declared units and its refusals, the plan's signature text,
// raw slot conversion, and the checked call path with its argument checks and failures.
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace wasmffi;
using namespace wasmffi::test;

namespace {

const char* kFuncs = R"((module
  (func (export "nothing"))
  (func (export "id_i32") (param i32) (result i32) local.get 0)
  (func (export "id_i64") (param i64) (result i64) local.get 0)
  (func (export "id_f32") (param f32) (result f32) local.get 0)
  (func (export "id_f64") (param f64) (result f64) local.get 0)
  (func (export "swap") (param i32 i64) (result i64 i32) local.get 1 local.get 0)
  (func (export "five") (result i32 i32 i32 i32 i32)
    i32.const 1 i32.const 2 i32.const 3 i32.const 4 i32.const 5)
  (func (export "mixed") (param f32 f64 i32 i64) (result f64)
    local.get 0 f64.promote_f32 local.get 1 f64.add
    local.get 2 f64.convert_i32_s f64.add local.get 3 f64.convert_i64_s f64.add)
  (func (export "sum10") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    local.get 0 local.get 1 i32.add local.get 2 i32.add local.get 3 i32.add local.get 4 i32.add
    local.get 5 i32.add local.get 6 i32.add local.get 7 i32.add local.get 8 i32.add local.get 9 i32.add)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "boom") (result i32) unreachable)
  (func (export "xref") (param externref i32) (result i32) local.get 1)
  (func (export "vec") (param i32) (result v128 i32) local.get 0 i32x4.splat local.get 0)
))";

class Plans : public ::testing::Test {
 protected:
  Loaded l = load_wat(kFuncs);
};

using Ms = std::vector<Marshal>;
using Kinds = std::vector<ValKind>;

Error error_of(Result<CallPlan> r) {
  if (r) throw std::runtime_error("expected an error, got a plan " + r->to_string());
  return std::move(r).error();
}

// Every unit of the table (besides Unsupported) whose raw slot is of kind k.
Ms units_for(ValKind k) {
  Ms out;
  for (size_t i = 0; i < kMarshalCount; ++i)
    if (unit_of(static_cast<Marshal>(i)).wasm == k) out.push_back(static_cast<Marshal>(i));
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// CallPlan::for_func

TEST_F(Plans, ForFuncResolvesEachScalarKindToItsDefaultUnit) {
  struct Case { const char* name; ValKind kind; Marshal unit; };
  for (Case c : {Case{"id_i32", ValKind::I32, Marshal::I32}, Case{"id_i64", ValKind::I64, Marshal::I64},
                 Case{"id_f32", ValKind::F32, Marshal::F32}, Case{"id_f64", ValKind::F64, Marshal::F64}}) {
    CallPlan p = l.plan(c.name);
    EXPECT_EQ(p.sig.params, Kinds{c.kind}) << c.name;
    EXPECT_EQ(p.sig.results, Kinds{c.kind}) << c.name;
    EXPECT_EQ(p.params, Ms{c.unit}) << c.name;
    EXPECT_EQ(p.results, Ms{c.unit}) << c.name;
    EXPECT_EQ(p.raw_len, 1u) << c.name;
    EXPECT_TRUE(p.all_scalar) << c.name;
  }
}

TEST_F(Plans, ForFuncHasOneUnitPerSlotAndRawLenIsTheLargerSide) {
  CallPlan nothing = l.plan("nothing");
  EXPECT_TRUE(nothing.params.empty());
  EXPECT_TRUE(nothing.results.empty());
  EXPECT_EQ(nothing.raw_len, 0u);
  EXPECT_TRUE(nothing.all_scalar);  // vacuously

  CallPlan swap = l.plan("swap");
  EXPECT_EQ(swap.params, (Ms{Marshal::I32, Marshal::I64}));
  EXPECT_EQ(swap.results, (Ms{Marshal::I64, Marshal::I32}));
  EXPECT_EQ(swap.raw_len, 2u);

  CallPlan five = l.plan("five");
  EXPECT_EQ(five.params.size(), 0u);
  EXPECT_EQ(five.results, Ms(5, Marshal::I32));
  EXPECT_EQ(five.raw_len, 5u);

  CallPlan sum = l.plan("sum10");
  EXPECT_EQ(sum.params, Ms(10, Marshal::I32));
  EXPECT_EQ(sum.results.size(), 1u);
  EXPECT_EQ(sum.raw_len, 10u);
}

TEST_F(Plans, ForFuncMarksNonScalarSlotsUnsupported) {
  CallPlan x = l.plan("xref");
  EXPECT_EQ(x.sig.params, (Kinds{ValKind::ExternRef, ValKind::I32}));
  EXPECT_EQ(x.params, (Ms{Marshal::Unsupported, Marshal::I32}));
  EXPECT_EQ(x.results, Ms{Marshal::I32});
  EXPECT_FALSE(x.all_scalar);
  EXPECT_EQ(x.to_string(), "(unsupported, i32) -> i32");

  CallPlan v = l.plan("vec");
  EXPECT_EQ(v.results, (Ms{Marshal::Unsupported, Marshal::I32}));
  EXPECT_EQ(v.raw_len, 2u);
  EXPECT_FALSE(v.all_scalar);
  EXPECT_EQ(v.sig.to_string(), "(i32) -> (v128, i32)");
}

TEST_F(Plans, ForFuncIsTheSameEveryTime) {
  CallPlan a = l.plan("mixed");
  CallPlan b = l.plan("mixed");
  EXPECT_EQ(a.sig.params, b.sig.params);
  EXPECT_EQ(a.sig.results, b.sig.results);
  EXPECT_EQ(a.params, b.params);
  EXPECT_EQ(a.results, b.results);
  EXPECT_EQ(a.raw_len, b.raw_len);
  EXPECT_EQ(a.all_scalar, b.all_scalar);
}

TEST_F(Plans, ForFuncSignatureMatchesTheModulesDescription) {
  for (const ExternDesc& e : l.instance->module().exports()) {
    if (e.kind != ExternKind::Func) continue;
    CallPlan p = l.plan(e.name);
    EXPECT_EQ(p.sig.params, e.func.params) << e.name;
    EXPECT_EQ(p.sig.results, e.func.results) << e.name;
  }
}

// ---------------------------------------------------------------------------------------------
// to_string

TEST_F(Plans, ToStringOfADefaultPlanIsTheWasmSignature) {
  for (const char* name : {"nothing", "id_i32", "id_i64", "id_f32", "id_f64", "swap", "five", "mixed", "sum10"}) {
    CallPlan p = l.plan(name);
    EXPECT_EQ(p.to_string(), p.sig.to_string()) << name;
  }
  EXPECT_EQ(l.plan("nothing").to_string(), "() -> ()");
  EXPECT_EQ(l.plan("swap").to_string(), "(i32, i64) -> (i64, i32)");
  EXPECT_EQ(l.plan("five").to_string(), "() -> (i32, i32, i32, i32, i32)");
}

// ---------------------------------------------------------------------------------------------
// CallPlan::retyped

TEST_F(Plans, RetypedAcceptsEveryUnitThatTravelsInTheSlot) {
  struct Case { const char* name; ValKind kind; };
  for (Case c : {Case{"id_i32", ValKind::I32}, Case{"id_i64", ValKind::I64}, Case{"id_f32", ValKind::F32},
                 Case{"id_f64", ValKind::F64}}) {
    CallPlan p = l.plan(c.name);
    for (Marshal m : units_for(c.kind)) {
      auto r = p.retyped(Ms{m}, Ms{m});
      ASSERT_TRUE(r.ok()) << c.name << " as " << marshal_name(m) << ": " << r.error().message;
      EXPECT_EQ(r->params, Ms{m});
      EXPECT_EQ(r->results, Ms{m});
      EXPECT_EQ(r->to_string(), std::string("(") + marshal_name(m) + ") -> " + marshal_name(m));
    }
  }
  // The table has units for every integer width of i32, and only the float of each float slot.
  EXPECT_EQ(units_for(ValKind::I32).size(), 8u);
  EXPECT_EQ(units_for(ValKind::I64).size(), 3u);
  EXPECT_EQ(units_for(ValKind::F32), Ms{Marshal::F32});
  EXPECT_EQ(units_for(ValKind::F64), Ms{Marshal::F64});
}

TEST_F(Plans, RetypedRefusesEveryUnitOfAnotherSlotKindNamingSlotUnitAndType) {
  const ValKind kinds[] = {ValKind::I32, ValKind::I64, ValKind::F32, ValKind::F64};
  const char* funcs[] = {"id_i32", "id_i64", "id_f32", "id_f64"};
  for (size_t f = 0; f < 4; ++f) {
    CallPlan p = l.plan(funcs[f]);
    for (size_t i = 0; i < kMarshalCount; ++i) {
      Marshal m = static_cast<Marshal>(i);
      if (unit_of(m).wasm == kinds[f]) continue;
      const std::string tail = std::string(marshal_name(m)) + " does not fit wasm type " + val_kind_name(kinds[f]);
      Error pe = error_of(p.retyped(Ms{m}, std::nullopt));
      EXPECT_EQ(pe.kind, ErrorKind::Argument);
      EXPECT_EQ(pe.message, "parameter 0: " + tail);
      Error re = error_of(p.retyped(std::nullopt, Ms{m}));
      EXPECT_EQ(re.kind, ErrorKind::Argument);
      EXPECT_EQ(re.message, "result 0: " + tail);
    }
  }
}

TEST_F(Plans, RetypedRefusesUnsupportedEvenForANonScalarSlot) {
  Error e = error_of(l.plan("id_i32").retyped(Ms{Marshal::Unsupported}, std::nullopt));
  EXPECT_EQ(e.kind, ErrorKind::Argument);
  EXPECT_EQ(e.message, "parameter 0: unsupported does not fit wasm type i32");
  // No unit travels in an externref slot, not even the one for_func put there.
  CallPlan x = l.plan("xref");
  Error u = error_of(x.retyped(x.params, std::nullopt));
  EXPECT_EQ(u.message, "parameter 0: unsupported does not fit wasm type externref");
  Error i = error_of(x.retyped(Ms{Marshal::I32, Marshal::I32}, std::nullopt));
  EXPECT_EQ(i.message, "parameter 0: i32 does not fit wasm type externref");
}

TEST_F(Plans, RetypedNamesTheFirstSlotThatDoesNotFit) {
  CallPlan p = l.plan("mixed");  // (f32, f64, i32, i64) -> f64
  Error e = error_of(p.retyped(Ms{Marshal::F32, Marshal::F64, Marshal::U8, Marshal::U32}, std::nullopt));
  EXPECT_EQ(e.message, "parameter 3: u32 does not fit wasm type i64");
  Error first = error_of(p.retyped(Ms{Marshal::F64, Marshal::F32, Marshal::U8, Marshal::U32}, std::nullopt));
  EXPECT_EQ(first.message, "parameter 0: f64 does not fit wasm type f32");
  Error r = error_of(l.plan("five").retyped(std::nullopt, Ms{Marshal::U8, Marshal::U8, Marshal::U8, Marshal::U8,
                                                              Marshal::I64}));
  EXPECT_EQ(r.message, "result 4: i64 does not fit wasm type i32");
}

TEST_F(Plans, RetypedRefusesAListOfTheWrongLength) {
  CallPlan p = l.plan("swap");  // (i32, i64) -> (i64, i32)
  Error few = error_of(p.retyped(Ms{Marshal::U32}, std::nullopt));
  EXPECT_EQ(few.kind, ErrorKind::Argument);
  EXPECT_EQ(few.message, "parameters: 1 type(s) declared, the wasm function has 2");
  Error many = error_of(p.retyped(Ms{Marshal::U32, Marshal::U64, Marshal::U32}, std::nullopt));
  EXPECT_EQ(many.message, "parameters: 3 type(s) declared, the wasm function has 2");
  Error none = error_of(p.retyped(Ms{}, std::nullopt));
  EXPECT_EQ(none.message, "parameters: 0 type(s) declared, the wasm function has 2");
  Error res = error_of(p.retyped(std::nullopt, Ms{Marshal::U64}));
  EXPECT_EQ(res.message, "results: 1 type(s) declared, the wasm function has 2");
  // "No results" declared for a function that has none is fine; one that has some is not.
  EXPECT_TRUE(l.plan("nothing").retyped(Ms{}, Ms{}).ok());
  Error nothing = error_of(l.plan("nothing").retyped(std::nullopt, Ms{Marshal::I32}));
  EXPECT_EQ(nothing.message, "results: 1 type(s) declared, the wasm function has 0");
}

TEST_F(Plans, RetypedChecksParametersBeforeResults) {
  CallPlan p = l.plan("swap");
  Error e = error_of(p.retyped(Ms{Marshal::F32, Marshal::I64}, Ms{Marshal::F32}));
  EXPECT_EQ(e.message, "parameter 0: f32 does not fit wasm type i32");
}

TEST_F(Plans, RetypedKeepsTheWasmSignatureAndLeavesTheOriginalAlone) {
  const CallPlan p = l.plan("swap");
  auto r = p.retyped(Ms{Marshal::Bool, Marshal::U64}, std::nullopt);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->params, (Ms{Marshal::Bool, Marshal::U64}));
  EXPECT_EQ(r->results, (Ms{Marshal::I64, Marshal::I32}));  // nullopt kept them
  EXPECT_EQ(r->sig.params, p.sig.params);
  EXPECT_EQ(r->sig.results, p.sig.results);
  EXPECT_EQ(r->raw_len, p.raw_len);
  EXPECT_EQ(r->all_scalar, p.all_scalar);
  EXPECT_EQ(r->to_string(), "(bool, u64) -> (i64, i32)");
  EXPECT_EQ(p.params, (Ms{Marshal::I32, Marshal::I64}));
  EXPECT_EQ(p.to_string(), "(i32, i64) -> (i64, i32)");

  // A retyped plan retypes again: the later declaration replaces, nullopt keeps.
  auto again = r->retyped(std::nullopt, Ms{Marshal::Int64, Marshal::U16});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->to_string(), "(bool, u64) -> (int64, u16)");
  auto back = again->retyped(Ms{Marshal::I32, Marshal::I64}, std::nullopt);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->to_string(), "(i32, i64) -> (int64, u16)");
}

TEST_F(Plans, RetypedFailureLeavesThePlanUsable) {
  const CallPlan p = l.plan("id_i32");
  ASSERT_FALSE(p.retyped(Ms{Marshal::F64}, std::nullopt).ok());
  EXPECT_EQ(p.params, Ms{Marshal::I32});
  auto out = unwrap(call(l.ctx(), l.func("id_i32"), p, std::vector<Value>{Value::i32v(9)}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].of.i32, 9);
}

TEST_F(Plans, RetypedOfANonScalarPlanCanDeclareItsScalarSide) {
  CallPlan x = l.plan("xref");  // (externref, i32) -> i32
  auto r = x.retyped(std::nullopt, Ms{Marshal::U32});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->all_scalar);
  EXPECT_EQ(r->to_string(), "(unsupported, i32) -> u32");
}

// ---------------------------------------------------------------------------------------------
// store_raw / load_raw

TEST(PlanRawSlots, StoreRawClearsTheWholeSlotForEveryKind) {
  for (Value v : {Value::i32v(-1), Value::i64v(-1), Value::f32v(f32_from_bits(0xffffffffu)),
                  Value::f64v(f64_from_bits(~uint64_t{0}))}) {
    wasmtime_val_raw_t slot;
    std::memset(&slot, 0xab, sizeof slot);
    store_raw(slot, v);
    uint8_t bytes[sizeof slot];
    std::memcpy(bytes, &slot, sizeof slot);
    const size_t width = (v.kind == ValKind::I32 || v.kind == ValKind::F32) ? 4 : 8;
    for (size_t i = 0; i < width; ++i) EXPECT_EQ(bytes[i], 0xff) << val_kind_name(v.kind) << " byte " << i;
    for (size_t i = width; i < sizeof slot; ++i) EXPECT_EQ(bytes[i], 0) << val_kind_name(v.kind) << " byte " << i;
  }
}

TEST(PlanRawSlots, StoreRawOfANonScalarValueLeavesAZeroSlot) {
  for (ValKind k : {ValKind::V128, ValKind::FuncRef, ValKind::ExternRef, ValKind::Other}) {
    wasmtime_val_raw_t slot;
    std::memset(&slot, 0xab, sizeof slot);
    Value v;
    v.kind = k;
    v.of.i64 = -1;
    store_raw(slot, v);
    uint8_t bytes[sizeof slot];
    std::memcpy(bytes, &slot, sizeof slot);
    for (size_t i = 0; i < sizeof slot; ++i) EXPECT_EQ(bytes[i], 0) << val_kind_name(k) << " byte " << i;
  }
}

TEST(PlanRawSlots, LoadRawReadsTheSlotAsTheGivenKind) {
  wasmtime_val_raw_t slot;
  store_raw(slot, Value::i64v(as_i64(0x1122334455667788ull)));
  Value lo = load_raw(slot, ValKind::I32);  // the low half, little-endian
  EXPECT_EQ(lo.kind, ValKind::I32);
  EXPECT_EQ(static_cast<uint32_t>(lo.of.i32), 0x55667788u);
  Value whole = load_raw(slot, ValKind::I64);
  EXPECT_EQ(whole.kind, ValKind::I64);
  EXPECT_EQ(static_cast<uint64_t>(whole.of.i64), 0x1122334455667788ull);
  Value f = load_raw(slot, ValKind::F32);
  EXPECT_EQ(f.kind, ValKind::F32);
  EXPECT_EQ(bits(f.of.f32), 0x55667788u);
  Value d = load_raw(slot, ValKind::F64);
  EXPECT_EQ(d.kind, ValKind::F64);
  EXPECT_EQ(bits(d.of.f64), 0x1122334455667788ull);
}

TEST(PlanRawSlots, StoreThenLoadKeepsBoundaryAndNanBits) {
  wasmtime_val_raw_t slot;
  for (int32_t v : {INT32_MIN, -1, 0, INT32_MAX}) {
    store_raw(slot, Value::i32v(v));
    EXPECT_EQ(load_raw(slot, ValKind::I32).of.i32, v);
  }
  for (int64_t v : {INT64_MIN, int64_t{-1}, int64_t{0}, INT64_MAX}) {
    store_raw(slot, Value::i64v(v));
    EXPECT_EQ(load_raw(slot, ValKind::I64).of.i64, v);
  }
  for (uint32_t b : {0x7fc00001u, 0xff800000u, 0x00000001u, 0x80000000u}) {
    store_raw(slot, Value::f32v(f32_from_bits(b)));
    EXPECT_EQ(bits(load_raw(slot, ValKind::F32).of.f32), b);
  }
  for (uint64_t b : {0x7ff8000000000001ull, 0xfff0000000000000ull, 0x0000000000000001ull}) {
    store_raw(slot, Value::f64v(f64_from_bits(b)));
    EXPECT_EQ(bits(load_raw(slot, ValKind::F64).of.f64), b);
  }
}

// ---------------------------------------------------------------------------------------------
// call (the checked path)

TEST_F(Plans, CallWithNoSlotsRunsAndReturnsNothing) {
  auto out = call(l.ctx(), l.func("nothing"), l.plan("nothing"), {});
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(out->empty());
}

TEST_F(Plans, CallReturnsEveryResultWithItsKind) {
  auto out = unwrap(call(l.ctx(), l.func("swap"), l.plan("swap"),
                         std::vector<Value>{Value::i32v(-3), Value::i64v(INT64_MIN)}));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, ValKind::I64);
  EXPECT_EQ(out[0].of.i64, INT64_MIN);
  EXPECT_EQ(out[1].kind, ValKind::I32);
  EXPECT_EQ(out[1].of.i32, -3);

  auto five = unwrap(call(l.ctx(), l.func("five"), l.plan("five"), {}));
  ASSERT_EQ(five.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(five[i].of.i32, i + 1);

  std::vector<Value> ten;
  for (int i = 1; i <= 10; ++i) ten.push_back(Value::i32v(i));
  auto sum = unwrap(call(l.ctx(), l.func("sum10"), l.plan("sum10"), ten));
  ASSERT_EQ(sum.size(), 1u);
  EXPECT_EQ(sum[0].of.i32, 55);
}

TEST_F(Plans, CallWithARetypedPlanStillCarriesWasmValues) {
  // The checked path matches arguments against the wasm kinds, whatever units were declared.
  CallPlan p = unwrap(l.plan("id_i32").retyped(Ms{Marshal::U32}, Ms{Marshal::U8}));
  auto out = unwrap(call(l.ctx(), l.func("id_i32"), p, std::vector<Value>{Value::i32v(-1)}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, ValKind::I32);
  EXPECT_EQ(out[0].of.i32, -1);
}

TEST_F(Plans, CallRefusesAWrongArgumentCount) {
  auto none = call(l.ctx(), l.func("nothing"), l.plan("nothing"), std::vector<Value>{Value::i32v(1)});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind, ErrorKind::Argument);
  EXPECT_EQ(none.error().message, "expected 0 argument(s), got 1");
  auto few = call(l.ctx(), l.func("sum10"), l.plan("sum10"), std::vector<Value>(9, Value::i32v(0)));
  ASSERT_FALSE(few.ok());
  EXPECT_EQ(few.error().message, "expected 10 argument(s), got 9");
}

TEST_F(Plans, CallRefusesAWrongKindNamingTheFirstBadArgument) {
  std::vector<Value> args{Value::f32v(1), Value::f64v(2), Value::i64v(3), Value::i32v(4)};
  auto r = call(l.ctx(), l.func("mixed"), l.plan("mixed"), args);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Argument);
  EXPECT_EQ(r.error().message, "argument 2 must be i32");
  std::vector<Value> good{Value::f32v(1.5f), Value::f64v(2.5), Value::i32v(-3), Value::i64v(4)};
  auto ok = unwrap(call(l.ctx(), l.func("mixed"), l.plan("mixed"), good));
  EXPECT_EQ(ok.at(0).of.f64, 5.0);
}

TEST_F(Plans, CallRefusesANonScalarPlanBeforeLookingAtArguments) {
  auto r = call(l.ctx(), l.func("vec"), l.plan("vec"), {});  // wrong count too: the plan is refused first
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Argument);
  EXPECT_EQ(r.error().message, "signature (i32) -> (v128, i32) has non-scalar types");
}

TEST_F(Plans, CallReportsTrapsWithTheirKindAndTheFunctionStaysCallable) {
  auto boom = call(l.ctx(), l.func("boom"), l.plan("boom"), {});
  ASSERT_FALSE(boom.ok());
  EXPECT_EQ(boom.error().kind, ErrorKind::Trap);
  EXPECT_EQ(boom.error().trap, TrapKind::Unreachable);

  const CallPlan div = l.plan("div");
  auto zero = call(l.ctx(), l.func("div"), div, std::vector<Value>{Value::i32v(1), Value::i32v(0)});
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().kind, ErrorKind::Trap);
  EXPECT_EQ(zero.error().trap, TrapKind::IntegerDivisionByZero);
  auto overflow = call(l.ctx(), l.func("div"), div, std::vector<Value>{Value::i32v(INT32_MIN), Value::i32v(-1)});
  ASSERT_FALSE(overflow.ok());
  EXPECT_EQ(overflow.error().trap, TrapKind::IntegerOverflow);

  auto fine = unwrap(call(l.ctx(), l.func("div"), div, std::vector<Value>{Value::i32v(-9), Value::i32v(2)}));
  EXPECT_EQ(fine.at(0).of.i32, -4);
}

TEST_F(Plans, APlanServesRepeatedCallsOnTheUncheckedPath) {
  const CallPlan p = l.plan("swap");
  std::vector<wasmtime_val_raw_t> raw(p.raw_len);
  wasmtime_func_t f = l.func("swap");
  for (int32_t i = -2; i <= 2; ++i) {
    store_raw(raw[0], Value::i32v(i));
    store_raw(raw[1], Value::i64v(int64_t{i} * 1000000000000));
    ASSERT_TRUE(call_unchecked(l.ctx(), f, raw.data(), raw.size()).ok());
    EXPECT_EQ(load_raw(raw[0], p.sig.results[0]).of.i64, int64_t{i} * 1000000000000);
    EXPECT_EQ(load_raw(raw[1], p.sig.results[1]).of.i32, i);
  }
}
