// Tests CallPlan resolution, checked and unchecked calls with boundary scalar values, and global access.
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace wasmffi;
using namespace wasmffi::test;

namespace {

// Identity functions plus functions that expose how the guest sees the bits it received.
const char* kScalars = R"((module
  (func (export "id_i32") (param i32) (result i32) local.get 0)
  (func (export "id_i64") (param i64) (result i64) local.get 0)
  (func (export "id_f32") (param f32) (result f32) local.get 0)
  (func (export "id_f64") (param f64) (result f64) local.get 0)
  ;; zero-extends the i32 the guest received: shows its exact bit pattern as an unsigned value
  (func (export "u32_of") (param i32) (result i64) local.get 0 i64.extend_i32_u)
  (func (export "s32_of") (param i32) (result i64) local.get 0 i64.extend_i32_s)
  (func (export "inc_i32") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func (export "inc_i64") (param i64) (result i64) local.get 0 i64.const 1 i64.add)
  (func (export "hi_i64") (param i64) (result i32) local.get 0 i64.const 32 i64.shr_u i32.wrap_i64)
  (func (export "lo_i64") (param i64) (result i32) local.get 0 i32.wrap_i64)
  (func (export "is_all_ones") (param i64) (result i32) local.get 0 i64.const 0xFFFFFFFFFFFFFFFF i64.eq)
  (func (export "f32_bits") (param f32) (result i32) local.get 0 i32.reinterpret_f32)
  (func (export "f64_bits") (param f64) (result i64) local.get 0 i64.reinterpret_f64)
  (func (export "f32_from") (param i32) (result f32) local.get 0 f32.reinterpret_i32)
  (func (export "f64_from") (param i64) (result f64) local.get 0 f64.reinterpret_i64)
  (func (export "f32_is_nan") (param f32) (result i32) local.get 0 local.get 0 f32.ne)
  (func (export "f64_is_nan") (param f64) (result i32) local.get 0 local.get 0 f64.ne)
  (func (export "f32_nan") (result f32) f32.const nan)
  (func (export "f64_neg_inf") (result f64) f64.const -inf)
  (func (export "f64_half") (param f64) (result f64) local.get 0 f64.const 0.5 f64.mul)
))";

const char* kMulti = R"((module
  (global $last (export "last") (mut i32) (i32.const 0))
  (func (export "triple") (result i32 i64 f64)
    i32.const -7 i64.const 0x7FFFFFFFFFFFFFFF f64.const -2.5)
  (func (export "shuffle") (param i32 i64 f64) (result f64 i32 i64)
    local.get 2 f64.const 2 f64.mul
    local.get 0 i32.const 1 i32.sub
    local.get 1 i64.const 1 i64.add)
  (func (export "mix") (param i32 i64 f32 f64) (result f64)
    local.get 0 f64.convert_i32_s
    local.get 1 f64.convert_i64_s f64.add
    local.get 2 f64.promote_f32 f64.add
    local.get 3 f64.add)
  (func (export "record") (param i32) local.get 0 global.set $last)
  (func (export "noop"))
  (func (export "two_i32") (param i32 i32) (result i32) local.get 0 local.get 1 i32.sub)
))";

}  // namespace

class Scalars : public ::testing::Test {
 protected:
  Loaded l = load_wat(kScalars);
};

// ---------------------------------------------------------------------------------------------
// CallPlan

TEST(CallPlan, ResolvesParamsResultsAndRawLenForMoreParamsThanResults) {
  Loaded l = load_wat(kMulti);
  CallPlan p = l.plan("mix");
  EXPECT_EQ(p.sig.params, (std::vector<ValKind>{ValKind::I32, ValKind::I64, ValKind::F32, ValKind::F64}));
  EXPECT_EQ(p.sig.results, (std::vector<ValKind>{ValKind::F64}));
  EXPECT_EQ(p.raw_len, 4u);
  EXPECT_TRUE(p.all_scalar);
}

TEST(CallPlan, RawLenCoversMoreResultsThanParams) {
  Loaded l = load_wat(kMulti);
  CallPlan p = l.plan("triple");
  EXPECT_TRUE(p.sig.params.empty());
  EXPECT_EQ(p.sig.results, (std::vector<ValKind>{ValKind::I32, ValKind::I64, ValKind::F64}));
  EXPECT_EQ(p.raw_len, 3u);
  EXPECT_TRUE(p.all_scalar);
  EXPECT_EQ(p.sig.to_string(), "() -> (i32, i64, f64)");
}

TEST(CallPlan, ZeroParamsAndResultsNeedNoSlots) {
  Loaded l = load_wat(kMulti);
  CallPlan p = l.plan("noop");
  EXPECT_TRUE(p.sig.params.empty());
  EXPECT_TRUE(p.sig.results.empty());
  EXPECT_EQ(p.raw_len, 0u);
  EXPECT_TRUE(p.all_scalar);
}

TEST(CallPlan, RetypedNulloptKeepsAndEmptyListDeclaresNone) {
  Loaded l = load_wat(kMulti);
  CallPlan p = l.plan("triple");  // () -> (i32, i64, f64)
  auto kept = p.retyped(std::nullopt, std::nullopt);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->to_string(), "() -> (i32, i64, f64)");
  auto declared = p.retyped(std::vector<Marshal>{}, std::vector<Marshal>{Marshal::U32, Marshal::U64, Marshal::F64});
  ASSERT_TRUE(declared.ok()) << declared.error().message;
  EXPECT_EQ(declared->to_string(), "() -> (u32, u64, f64)");
  EXPECT_EQ(declared->sig.to_string(), "() -> (i32, i64, f64)");  // the wasm signature is unchanged
  // An empty result list means "no results": a mismatch here, just like an empty param list would be.
  auto none = p.retyped(std::nullopt, std::vector<Marshal>{});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind, ErrorKind::Argument);
  EXPECT_EQ(none.error().message, "results: 0 type(s) declared, the wasm function has 3");
  auto bad = l.plan("mix").retyped(std::vector<Marshal>{}, std::nullopt);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "parameters: 0 type(s) declared, the wasm function has 4");
}

TEST(CallPlan, RetypedRejectsAMarshalThatDoesNotFitTheSlot) {
  Loaded l = load_wat(kMulti);
  auto r = l.plan("mix").retyped(std::vector<Marshal>{Marshal::U64, Marshal::I64, Marshal::F32, Marshal::F64},
                                 std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "parameter 0: u64 does not fit wasm type i32");
}

TEST(Types, SignatureTextHasOneShape) {
  EXPECT_EQ(signature_text({}, {}), "() -> ()");
  EXPECT_EQ(signature_text({"i32", "i64"}, {"f32"}), "(i32, i64) -> f32");
  EXPECT_EQ(signature_text({"u32"}, {"f32", "f64"}), "(u32) -> (f32, f64)");
  EXPECT_EQ((FuncSig{{ValKind::I32}, {}}).to_string(), "(i32) -> ()");
}

TEST(CallPlan, FuncrefParamMakesPlanNonScalar) {
  Loaded l = load_wat(R"((module
      (func (export "takes_ref") (param funcref i32) (result i32) local.get 1)))");
  CallPlan r = l.plan("takes_ref");
  EXPECT_EQ(r.sig.params, (std::vector<ValKind>{ValKind::FuncRef, ValKind::I32}));
  EXPECT_EQ(r.sig.results, (std::vector<ValKind>{ValKind::I32}));
  EXPECT_EQ(r.raw_len, 2u);
  EXPECT_FALSE(r.all_scalar);
}

TEST(CallPlan, V128ResultMakesPlanNonScalar) {
  Loaded l = load_wat(R"((module
      (func (export "splat") (param i32) (result v128) local.get 0 i32x4.splat)))");
  CallPlan v = l.plan("splat");
  EXPECT_EQ(v.sig.results, (std::vector<ValKind>{ValKind::V128}));
  EXPECT_EQ(v.raw_len, 1u);
  EXPECT_FALSE(v.all_scalar);
}

TEST(Call, NonScalarSignatureIsRefusedWithArgumentError) {
  Loaded l = load_wat(R"((module
      (func (export "takes_ref") (param funcref i32) (result i32) local.get 1)))");
  auto r = l.call("takes_ref", {Value::i32v(0), Value::i32v(1)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Argument);
  EXPECT_NE(r.error().message.find("(funcref, i32) -> i32"), std::string::npos) << r.error().message;
}

// ---------------------------------------------------------------------------------------------
// i32

TEST_F(Scalars, I32BoundaryValuesRoundTrip) {
  const int32_t values[] = {0, -1, 1, INT32_MIN, INT32_MAX, as_i32(0xFFFFFFFFu), as_i32(0x80000000u),
                            as_i32(0xDEADBEEFu)};
  for (int32_t v : values) {
    Value out = l.call1("id_i32", {Value::i32v(v)});
    EXPECT_EQ(out.kind, ValKind::I32);
    EXPECT_EQ(out.of.i32, v);
  }
}

TEST_F(Scalars, I32BitPatternReachesGuestUnchanged) {
  EXPECT_EQ(l.i64("u32_of", {Value::i32v(as_i32(0xFFFFFFFFu))}), int64_t{0xFFFFFFFF});
  EXPECT_EQ(l.i64("s32_of", {Value::i32v(as_i32(0xFFFFFFFFu))}), -1);
  EXPECT_EQ(l.i64("u32_of", {Value::i32v(INT32_MIN)}), int64_t{0x80000000});
  EXPECT_EQ(l.i64("s32_of", {Value::i32v(INT32_MIN)}), int64_t{INT32_MIN});
  EXPECT_EQ(l.i64("u32_of", {Value::i32v(INT32_MAX)}), int64_t{INT32_MAX});
  EXPECT_EQ(l.i64("u32_of", {Value::i32v(0)}), 0);
}

TEST_F(Scalars, I32ArithmeticWrapsAtBoundaries) {
  EXPECT_EQ(l.i32("inc_i32", {Value::i32v(INT32_MAX)}), INT32_MIN);
  EXPECT_EQ(l.i32("inc_i32", {Value::i32v(-1)}), 0);
  EXPECT_EQ(l.i32("inc_i32", {Value::i32v(as_i32(0xFFFFFFFEu))}), -1);
}

// ---------------------------------------------------------------------------------------------
// i64

TEST_F(Scalars, I64BoundaryValuesRoundTrip) {
  const int64_t values[] = {0,         -1,        1,         INT64_MIN,
                            INT64_MAX, as_i64(UINT64_MAX), int64_t{INT32_MIN} - 1, int64_t{0xFFFFFFFF},
                            as_i64(0x8000000000000000ull), as_i64(0x0123456789ABCDEFull)};
  for (int64_t v : values) {
    Value out = l.call1("id_i64", {Value::i64v(v)});
    EXPECT_EQ(out.kind, ValKind::I64);
    EXPECT_EQ(out.of.i64, v);
  }
}

TEST_F(Scalars, I64HighAndLowHalvesReachGuestIntact) {
  const uint64_t v = 0xFEDCBA9876543210ull;
  EXPECT_EQ(static_cast<uint32_t>(l.i32("hi_i64", {Value::i64v(as_i64(v))})), 0xFEDCBA98u);
  EXPECT_EQ(static_cast<uint32_t>(l.i32("lo_i64", {Value::i64v(as_i64(v))})), 0x76543210u);
  EXPECT_EQ(static_cast<uint32_t>(l.i32("hi_i64", {Value::i64v(INT64_MIN)})), 0x80000000u);
  EXPECT_EQ(l.i32("lo_i64", {Value::i64v(INT64_MIN)}), 0);
}

TEST_F(Scalars, I64Uint64MaxPatternIsAllOnesInGuest) {
  EXPECT_EQ(l.i32("is_all_ones", {Value::i64v(as_i64(UINT64_MAX))}), 1);
  EXPECT_EQ(l.i32("is_all_ones", {Value::i64v(INT64_MAX)}), 0);
  EXPECT_EQ(l.i64("inc_i64", {Value::i64v(as_i64(UINT64_MAX))}), 0);
  EXPECT_EQ(l.i64("inc_i64", {Value::i64v(INT64_MAX)}), INT64_MIN);
}

// ---------------------------------------------------------------------------------------------
// f32

TEST_F(Scalars, F32NanRoundTripsAsNan) {
  Value out = l.call1("id_f32", {Value::f32v(std::numeric_limits<float>::quiet_NaN())});
  EXPECT_EQ(out.kind, ValKind::F32);
  EXPECT_TRUE(std::isnan(out.of.f32));
  EXPECT_EQ(l.i32("f32_is_nan", {Value::f32v(std::numeric_limits<float>::quiet_NaN())}), 1);
  EXPECT_EQ(l.i32("f32_is_nan", {Value::f32v(1.0f)}), 0);
  Value guest_nan = l.call1("f32_nan");
  EXPECT_TRUE(std::isnan(guest_nan.of.f32));
  EXPECT_EQ(bits(guest_nan.of.f32), 0x7FC00000u);  // wasm's canonical NaN
}

TEST_F(Scalars, F32InfinitiesRoundTrip) {
  const float inf = std::numeric_limits<float>::infinity();
  Value p = l.call1("id_f32", {Value::f32v(inf)});
  EXPECT_TRUE(std::isinf(p.of.f32));
  EXPECT_GT(p.of.f32, 0.0f);
  Value n = l.call1("id_f32", {Value::f32v(-inf)});
  EXPECT_TRUE(std::isinf(n.of.f32));
  EXPECT_LT(n.of.f32, 0.0f);
  EXPECT_EQ(static_cast<uint32_t>(l.i32("f32_bits", {Value::f32v(inf)})), 0x7F800000u);
  EXPECT_EQ(static_cast<uint32_t>(l.i32("f32_bits", {Value::f32v(-inf)})), 0xFF800000u);
}

TEST_F(Scalars, F32NegativeZeroKeepsItsSign) {
  Value out = l.call1("id_f32", {Value::f32v(-0.0f)});
  EXPECT_EQ(out.of.f32, 0.0f);
  EXPECT_TRUE(std::signbit(out.of.f32));
  EXPECT_EQ(static_cast<uint32_t>(l.i32("f32_bits", {Value::f32v(-0.0f)})), 0x80000000u);
  Value pos = l.call1("id_f32", {Value::f32v(0.0f)});
  EXPECT_FALSE(std::signbit(pos.of.f32));
}

TEST_F(Scalars, F32DenormalsAndExtremesRoundTripBitExact) {
  const float values[] = {std::numeric_limits<float>::denorm_min(), FLT_MIN / 2, -std::numeric_limits<float>::denorm_min(),
                          FLT_MIN, FLT_MAX, -FLT_MAX, FLT_EPSILON};
  for (float v : values) {
    Value out = l.call1("id_f32", {Value::f32v(v)});
    EXPECT_EQ(bits(out.of.f32), bits(v)) << v;
  }
  EXPECT_EQ(l.i32("f32_bits", {Value::f32v(std::numeric_limits<float>::denorm_min())}), 1);
  EXPECT_EQ(std::fpclassify(l.call1("f32_from", {Value::i32v(1)}).of.f32), FP_SUBNORMAL);
}

TEST_F(Scalars, F32NanPayloadBitsSurviveReinterpret) {
  // A signalling NaN with a payload, built and observed by reinterpret in the guest.
  Value v = l.call1("f32_from", {Value::i32v(as_i32(0x7FA00001u))});
  EXPECT_TRUE(std::isnan(v.of.f32));
  EXPECT_EQ(bits(v.of.f32), 0x7FA00001u);
}

// ---------------------------------------------------------------------------------------------
// f64

TEST_F(Scalars, F64NanRoundTripsAsNan) {
  Value out = l.call1("id_f64", {Value::f64v(std::numeric_limits<double>::quiet_NaN())});
  EXPECT_EQ(out.kind, ValKind::F64);
  EXPECT_TRUE(std::isnan(out.of.f64));
  EXPECT_EQ(l.i32("f64_is_nan", {Value::f64v(-std::numeric_limits<double>::quiet_NaN())}), 1);
  EXPECT_EQ(l.i32("f64_is_nan", {Value::f64v(0.0)}), 0);
}

TEST_F(Scalars, F64InfinitiesRoundTrip) {
  const double inf = std::numeric_limits<double>::infinity();
  Value p = l.call1("id_f64", {Value::f64v(inf)});
  EXPECT_TRUE(std::isinf(p.of.f64));
  EXPECT_GT(p.of.f64, 0.0);
  Value n = l.call1("id_f64", {Value::f64v(-inf)});
  EXPECT_TRUE(std::isinf(n.of.f64));
  EXPECT_LT(n.of.f64, 0.0);
  Value g = l.call1("f64_neg_inf");
  EXPECT_TRUE(std::isinf(g.of.f64));
  EXPECT_TRUE(std::signbit(g.of.f64));
  EXPECT_EQ(l.i64("f64_bits", {Value::f64v(inf)}), as_i64(0x7FF0000000000000ull));
}

TEST_F(Scalars, F64NegativeZeroKeepsItsSign) {
  Value out = l.call1("id_f64", {Value::f64v(-0.0)});
  EXPECT_EQ(out.of.f64, 0.0);
  EXPECT_TRUE(std::signbit(out.of.f64));
  EXPECT_EQ(l.i64("f64_bits", {Value::f64v(-0.0)}), INT64_MIN);
  // -0.0 * 0.5 is -0.0 in the guest too.
  EXPECT_TRUE(std::signbit(l.call1("f64_half", {Value::f64v(-0.0)}).of.f64));
}

TEST_F(Scalars, F64DenormalsAndExtremesRoundTripBitExact) {
  const double values[] = {std::numeric_limits<double>::denorm_min(), DBL_MIN / 4, -std::numeric_limits<double>::denorm_min(),
                           DBL_MIN, DBL_MAX, -DBL_MAX, DBL_EPSILON};
  for (double v : values) {
    Value out = l.call1("id_f64", {Value::f64v(v)});
    EXPECT_EQ(bits(out.of.f64), bits(v)) << v;
  }
  EXPECT_EQ(l.i64("f64_bits", {Value::f64v(std::numeric_limits<double>::denorm_min())}), 1);
  // Guest arithmetic does not flush denormals to zero.
  Value half = l.call1("f64_half", {Value::f64v(DBL_MIN)});
  EXPECT_EQ(std::fpclassify(half.of.f64), FP_SUBNORMAL);
  EXPECT_EQ(half.of.f64, DBL_MIN / 2);
  EXPECT_EQ(std::fpclassify(l.call1("f64_from", {Value::i64v(1)}).of.f64), FP_SUBNORMAL);
}

// ---------------------------------------------------------------------------------------------
// Multi-value, zero results, mixed params

TEST(Call, MultiValueResultsComeBackInOrderWithTheirKinds) {
  Loaded l = load_wat(kMulti);
  auto r = l.call("triple");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].kind, ValKind::I32);
  EXPECT_EQ((*r)[0].of.i32, -7);
  EXPECT_EQ((*r)[1].kind, ValKind::I64);
  EXPECT_EQ((*r)[1].of.i64, INT64_MAX);
  EXPECT_EQ((*r)[2].kind, ValKind::F64);
  EXPECT_EQ((*r)[2].of.f64, -2.5);
}

TEST(Call, MultiValueParamsAndResultsShareSlotsWithoutClobbering) {
  Loaded l = load_wat(kMulti);
  auto r = l.call("shuffle", {Value::i32v(INT32_MIN), Value::i64v(INT64_MAX), Value::f64v(1.25)});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].kind, ValKind::F64);
  EXPECT_EQ((*r)[0].of.f64, 2.5);
  EXPECT_EQ((*r)[1].kind, ValKind::I32);
  EXPECT_EQ((*r)[1].of.i32, INT32_MAX);  // INT32_MIN - 1 wraps
  EXPECT_EQ((*r)[2].kind, ValKind::I64);
  EXPECT_EQ((*r)[2].of.i64, INT64_MIN);  // INT64_MAX + 1 wraps
}

TEST(Call, MixedScalarParamsArriveInTheirSlots) {
  Loaded l = load_wat(kMulti);
  Value v = l.call1("mix", {Value::i32v(-3), Value::i64v(int64_t{1} << 40), Value::f32v(0.5f), Value::f64v(0.25)});
  EXPECT_EQ(v.kind, ValKind::F64);
  EXPECT_EQ(v.of.f64, -3.0 + 1099511627776.0 + 0.5 + 0.25);
}

TEST(Call, ZeroResultFunctionReturnsEmptyVectorAndHasItsEffect) {
  Loaded l = load_wat(kMulti);
  auto r = l.call("record", {Value::i32v(1234)});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->empty());
  auto g = global_get(l.ctx(), l.global("last"));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->of.i32, 1234);

  auto n = l.call("noop");
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_TRUE(n->empty());
}

TEST(Call, ArithGuestScalarsOfEveryType) {
  Loaded l = load_guest("arith.wasm");
  EXPECT_EQ(l.i32("add", {Value::i32v(INT32_MAX), Value::i32v(1)}), INT32_MIN);
  EXPECT_EQ(l.i64("mul_i64", {Value::i64v(INT64_MIN), Value::i64v(-1)}), INT64_MIN);  // wraps, no trap
  EXPECT_EQ(l.i64("mul_i64", {Value::i64v(1) , Value::i64v(as_i64(UINT64_MAX))}), -1);
  EXPECT_EQ(l.call1("hypot2", {Value::f64v(3.0), Value::f64v(4.0)}).of.f64, 25.0);
  EXPECT_TRUE(std::isinf(l.call1("hypot2", {Value::f64v(DBL_MAX), Value::f64v(0.0)}).of.f64));
  EXPECT_EQ(l.call1("scale_f32", {Value::f32v(1.5f), Value::f32v(-2.0f)}).of.f32, -3.0f);
  EXPECT_TRUE(std::isnan(l.call1("scale_f32", {Value::f32v(std::numeric_limits<float>::infinity()),
                                               Value::f32v(0.0f)}).of.f32));
  // gcd takes unsigned params: 0xFFFFFFFF and 0xFFFFFFFE are coprime.
  EXPECT_EQ(l.i32("gcd", {Value::i32v(as_i32(0xFFFFFFFFu)), Value::i32v(as_i32(0xFFFFFFFEu))}), 1);
}

// ---------------------------------------------------------------------------------------------
// Argument checking

TEST(Call, TooFewArgumentsIsArgumentError) {
  Loaded l = load_wat(kMulti);
  auto r = l.call("two_i32", {Value::i32v(1)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Argument);
  EXPECT_NE(r.error().message.find("expected 2 argument(s), got 1"), std::string::npos) << r.error().message;
}

TEST(Call, TooManyArgumentsIsArgumentError) {
  Loaded l = load_wat(kMulti);
  auto r = l.call("two_i32", {Value::i32v(1), Value::i32v(2), Value::i32v(3)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Argument);
  EXPECT_NE(r.error().message.find("got 3"), std::string::npos) << r.error().message;
  auto n = l.call("noop", {Value::i32v(1)});
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().kind, ErrorKind::Argument);
}

TEST(Call, WrongArgumentKindIsArgumentErrorNamingPositionAndType) {
  Loaded l = load_wat(kMulti);
  auto r = l.call("two_i32", {Value::i32v(1), Value::i64v(2)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Argument);
  EXPECT_NE(r.error().message.find("argument 1 must be i32"), std::string::npos) << r.error().message;

  auto f = l.call("mix", {Value::i32v(1), Value::i64v(2), Value::f64v(3.0), Value::f64v(4.0)});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().kind, ErrorKind::Argument);
  EXPECT_NE(f.error().message.find("argument 2 must be f32"), std::string::npos) << f.error().message;
}

// ---------------------------------------------------------------------------------------------
// The unchecked hot path

TEST(CallUnchecked, RawArrayCarriesParamsInAndResultsOut) {
  Loaded l = load_wat(kMulti);
  wasmtime_func_t f = l.func("shuffle");
  wasmtime_val_raw_t raw[3] = {};
  raw[0].i32 = 10;
  raw[1].i64 = int64_t{1} << 50;
  raw[2].f64 = -0.75;
  auto r = call_unchecked(l.ctx(), f, raw, 3);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(raw[0].f64, -1.5);
  EXPECT_EQ(raw[1].i32, 9);
  EXPECT_EQ(raw[2].i64, (int64_t{1} << 50) + 1);
}

TEST(CallUnchecked, ResultSlotsBeyondParamsAreFilled) {
  Loaded l = load_wat(kMulti);
  wasmtime_func_t f = l.func("triple");
  CallPlan p = CallPlan::for_func(l.ctx(), f);
  std::vector<wasmtime_val_raw_t> raw(p.raw_len);
  auto r = call_unchecked(l.ctx(), f, raw.data(), raw.size());
  ASSERT_TRUE(r.ok()) << r.error().message;
  Value a = load_raw(raw[0], p.sig.results[0]);
  Value b = load_raw(raw[1], p.sig.results[1]);
  Value c = load_raw(raw[2], p.sig.results[2]);
  EXPECT_EQ(a.of.i32, -7);
  EXPECT_EQ(b.of.i64, INT64_MAX);
  EXPECT_EQ(c.of.f64, -2.5);
}

TEST(CallUnchecked, ZeroSlotCallSucceeds) {
  Loaded l = load_wat(kMulti);
  auto r = call_unchecked(l.ctx(), l.func("noop"), nullptr, 0);
  EXPECT_TRUE(r.ok());
}

TEST(CallUnchecked, ReusedRawArrayGivesFreshResultsEachCall) {
  Loaded l = load_wat(kScalars);
  wasmtime_func_t f = l.func("inc_i64");
  wasmtime_val_raw_t slot{};
  slot.i64 = 0;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(call_unchecked(l.ctx(), f, &slot, 1).ok());
  EXPECT_EQ(slot.i64, 1000);
}

TEST(CallUnchecked, StoreRawAndLoadRawRoundTripEveryScalarKind) {
  wasmtime_val_raw_t slot;
  std::memset(&slot, 0xAB, sizeof slot);
  store_raw(slot, Value::i32v(-1));
  // store_raw clears the whole slot first: the upper half of an i32 slot is zero.
  EXPECT_EQ(slot.i64, int64_t{0xFFFFFFFF});
  EXPECT_EQ(load_raw(slot, ValKind::I32).of.i32, -1);

  store_raw(slot, Value::i64v(INT64_MIN));
  EXPECT_EQ(load_raw(slot, ValKind::I64).kind, ValKind::I64);
  EXPECT_EQ(load_raw(slot, ValKind::I64).of.i64, INT64_MIN);

  store_raw(slot, Value::f32v(-0.0f));
  Value f = load_raw(slot, ValKind::F32);
  EXPECT_EQ(f.kind, ValKind::F32);
  EXPECT_EQ(bits(f.of.f32), 0x80000000u);

  store_raw(slot, Value::f64v(std::numeric_limits<double>::denorm_min()));
  Value d = load_raw(slot, ValKind::F64);
  EXPECT_EQ(d.kind, ValKind::F64);
  EXPECT_EQ(bits(d.of.f64), 1u);
}

// ---------------------------------------------------------------------------------------------
// Globals

namespace {
const char* kGlobals = R"((module
  (global $gi32 (export "gi32") (mut i32) (i32.const 7))
  (global $gi64 (export "gi64") (mut i64) (i64.const -8))
  (global $gf32 (export "gf32") (mut f32) (f32.const 1.5))
  (global $gf64 (export "gf64") (mut f64) (f64.const -2.25))
  (global (export "const_i32") i32 (i32.const 11))
  (global (export "const_f64") f64 (f64.const 3.5))
  (global (export "gref") (mut funcref) (ref.null func))
  (func (export "read_i32") (result i32) global.get $gi32)
  (func (export "read_i64") (result i64) global.get $gi64)
  (func (export "read_f32") (result f32) global.get $gf32)
  (func (export "read_f64") (result f64) global.get $gf64)
))";
}  // namespace

TEST(Global, GetReturnsInitialValuesWithKinds) {
  Loaded l = load_wat(kGlobals);
  auto a = global_get(l.ctx(), l.global("gi32"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, ValKind::I32);
  EXPECT_EQ(a->of.i32, 7);
  auto b = global_get(l.ctx(), l.global("gi64"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->kind, ValKind::I64);
  EXPECT_EQ(b->of.i64, -8);
  auto c = global_get(l.ctx(), l.global("gf32"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, ValKind::F32);
  EXPECT_EQ(c->of.f32, 1.5f);
  auto d = global_get(l.ctx(), l.global("gf64"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->kind, ValKind::F64);
  EXPECT_EQ(d->of.f64, -2.25);
  auto e = global_get(l.ctx(), l.global("const_f64"));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->of.f64, 3.5);
}

TEST(Global, SetOnMutableScalarsIsSeenByHostAndGuest) {
  Loaded l = load_wat(kGlobals);
  ASSERT_TRUE(global_set(l.ctx(), l.global("gi32"), Value::i32v(INT32_MIN)).ok());
  ASSERT_TRUE(global_set(l.ctx(), l.global("gi64"), Value::i64v(as_i64(UINT64_MAX))).ok());
  ASSERT_TRUE(global_set(l.ctx(), l.global("gf32"), Value::f32v(-0.0f)).ok());
  ASSERT_TRUE(global_set(l.ctx(), l.global("gf64"), Value::f64v(std::numeric_limits<double>::quiet_NaN())).ok());

  EXPECT_EQ(unwrap(global_get(l.ctx(), l.global("gi32"))).of.i32, INT32_MIN);
  EXPECT_EQ(unwrap(global_get(l.ctx(), l.global("gi64"))).of.i64, -1);
  EXPECT_TRUE(std::signbit(unwrap(global_get(l.ctx(), l.global("gf32"))).of.f32));
  EXPECT_TRUE(std::isnan(unwrap(global_get(l.ctx(), l.global("gf64"))).of.f64));

  EXPECT_EQ(l.i32("read_i32"), INT32_MIN);
  EXPECT_EQ(l.i64("read_i64"), -1);
  EXPECT_EQ(bits(l.call1("read_f32").of.f32), 0x80000000u);
  EXPECT_TRUE(std::isnan(l.call1("read_f64").of.f64));

  ASSERT_TRUE(global_set(l.ctx(), l.global("gi64"), Value::i64v(INT64_MAX)).ok());
  EXPECT_EQ(l.i64("read_i64"), INT64_MAX);
}

TEST(Global, SetOnImmutableGlobalFailsAndLeavesValue) {
  Loaded l = load_wat(kGlobals);
  auto r = global_set(l.ctx(), l.global("const_i32"), Value::i32v(12));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Argument);
  EXPECT_FALSE(r.error().message.empty());
  EXPECT_NE(r.error().message.find("immutable"), std::string::npos) << r.error().message;
  EXPECT_EQ(unwrap(global_get(l.ctx(), l.global("const_i32"))).of.i32, 11);
}

TEST(Global, SetWithWrongKindFailsAndLeavesValue) {
  Loaded l = load_wat(kGlobals);
  auto r = global_set(l.ctx(), l.global("gi32"), Value::i64v(5));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Argument);
  EXPECT_FALSE(r.error().message.empty());
  EXPECT_EQ(unwrap(global_get(l.ctx(), l.global("gi32"))).of.i32, 7);
}

TEST(Global, TypeDescribesContentAndMutability) {
  Loaded l = load_wat(kGlobals);
  GlobalDesc m = global_type(l.ctx(), l.global("gf64"));
  EXPECT_EQ(m.content, ValKind::F64);
  EXPECT_TRUE(m.mutable_);
  GlobalDesc c = global_type(l.ctx(), l.global("const_i32"));
  EXPECT_EQ(c.content, ValKind::I32);
  EXPECT_FALSE(c.mutable_);
}

TEST(Global, NonScalarGlobalIsRefusedWithArgumentError) {
  Loaded l = load_wat(kGlobals);
  EXPECT_EQ(global_type(l.ctx(), l.global("gref")).content, ValKind::FuncRef);
  auto r = global_get(l.ctx(), l.global("gref"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Argument);
}
