// Tests exported globals (global.hpp): their type, checked reads and writes of every scalar kind
// at boundary values, and the refusals: wrong kind, immutable, reference-typed and v128 globals.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace wasmffi;
using namespace wasmffi::test;

namespace {

const char* kGlobals = R"((module
  (global $mi32 (export "mi32") (mut i32) (i32.const -2147483648))
  (global $mi64 (export "mi64") (mut i64) (i64.const 0x7FFFFFFFFFFFFFFF))
  (global $mf32 (export "mf32") (mut f32) (f32.const -0x0p+0))
  (global $mf64 (export "mf64") (mut f64) (f64.const inf))
  (global (export "ci32") i32 (i32.const 42))
  (global (export "ci64") i64 (i64.const -1))
  (global (export "cf32") f32 (f32.const nan:0x12345))
  (global (export "cf64") f64 (f64.const 0x0.0000000000001p-1022))
  (global (export "mv128") (mut v128) (v128.const i64x2 1 2))
  (global (export "cv128") v128 (v128.const i64x2 0 0))
  (global $mfref (export "mfref") (mut funcref) (ref.null func))
  (global (export "mxref") (mut externref) (ref.null extern))
  ;; one global under a second name
  (export "mi32_alias" (global $mi32))

  (func (export "get_i32") (result i32) global.get $mi32)
  (func (export "get_i64") (result i64) global.get $mi64)
  (func (export "get_f32_bits") (result i32) global.get $mf32 i32.reinterpret_f32)
  (func (export "get_f64_bits") (result i64) global.get $mf64 i64.reinterpret_f64)
  (func (export "set_i32") (param i32) local.get 0 global.set $mi32)
  (func (export "set_i64") (param i64) local.get 0 global.set $mi64)
  (func (export "set_f32_bits") (param i32) local.get 0 f32.reinterpret_i32 global.set $mf32)
  (func (export "set_f64_bits") (param i64) local.get 0 f64.reinterpret_i64 global.set $mf64)
  (func (export "fref_is_null") (result i32) global.get $mfref ref.is_null)
))";

class Globals : public ::testing::Test {
 protected:
  Loaded l = load_wat(kGlobals);

  wasmtime_global_t g(const char* name) const { return l.global(name); }
  Value get(const char* name) const { return unwrap(global_get(l.ctx(), g(name)), name); }
  Result<void> set(const char* name, const Value& v) const { return global_set(l.ctx(), g(name), v); }
};

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A scalar's bit pattern, whatever its kind.
uint64_t value_bits(const Value& v) {
  switch (v.kind) {
    case ValKind::I32: return static_cast<uint32_t>(v.of.i32);
    case ValKind::I64: return static_cast<uint64_t>(v.of.i64);
    case ValKind::F32: return bits(v.of.f32);
    default: return bits(v.of.f64);
  }
}

Value sample(ValKind k) {
  switch (k) {
    case ValKind::I32: return Value::i32v(1);
    case ValKind::I64: return Value::i64v(1);
    case ValKind::F32: return Value::f32v(1.0f);
    default: return Value::f64v(1.0);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// global_type

TEST_F(Globals, TypeOfEveryScalarKindAndMutability) {
  struct Case { const char* name; ValKind kind; bool mut; };
  for (Case c : {Case{"mi32", ValKind::I32, true}, Case{"mi64", ValKind::I64, true},
                 Case{"mf32", ValKind::F32, true}, Case{"mf64", ValKind::F64, true},
                 Case{"ci32", ValKind::I32, false}, Case{"ci64", ValKind::I64, false},
                 Case{"cf32", ValKind::F32, false}, Case{"cf64", ValKind::F64, false}}) {
    GlobalDesc d = global_type(l.ctx(), g(c.name));
    EXPECT_EQ(d.content, c.kind) << c.name;
    EXPECT_EQ(d.mutable_, c.mut) << c.name;
  }
}

TEST_F(Globals, TypeOfNonScalarGlobalsIsDescribedWithoutReadingThem) {
  EXPECT_EQ(global_type(l.ctx(), g("mv128")).to_string(), "mut v128");
  EXPECT_EQ(global_type(l.ctx(), g("cv128")).to_string(), "v128");
  EXPECT_EQ(global_type(l.ctx(), g("mfref")).to_string(), "mut funcref");
  EXPECT_EQ(global_type(l.ctx(), g("mxref")).to_string(), "mut externref");
}

TEST_F(Globals, TypeAgreesWithTheModulesExportDescription) {
  for (const ExternDesc& e : l.instance->module().exports()) {
    if (e.kind != ExternKind::Global) continue;
    GlobalDesc d = global_type(l.ctx(), g(e.name.c_str()));
    EXPECT_EQ(d.content, e.global.content) << e.name;
    EXPECT_EQ(d.mutable_, e.global.mutable_) << e.name;
  }
}

// ---------------------------------------------------------------------------------------------
// global_get

TEST_F(Globals, GetReadsBoundaryInitialValuesBitExact) {
  Value a = get("mi32");
  EXPECT_EQ(a.kind, ValKind::I32);
  EXPECT_EQ(a.of.i32, INT32_MIN);
  Value b = get("mi64");
  EXPECT_EQ(b.kind, ValKind::I64);
  EXPECT_EQ(b.of.i64, INT64_MAX);
  Value c = get("mf32");
  EXPECT_EQ(c.kind, ValKind::F32);
  EXPECT_EQ(bits(c.of.f32), 0x80000000u);  // -0.0
  Value d = get("mf64");
  EXPECT_EQ(d.kind, ValKind::F64);
  EXPECT_EQ(d.of.f64, std::numeric_limits<double>::infinity());
  EXPECT_EQ(get("ci32").of.i32, 42);
  EXPECT_EQ(get("ci64").of.i64, -1);
  EXPECT_EQ(bits(get("cf32").of.f32), 0x7f812345u);  // NaN with its payload
  Value e = get("cf64");
  EXPECT_EQ(e.kind, ValKind::F64);
  EXPECT_EQ(bits(e.of.f64), 1u);  // the smallest denormal
}

TEST_F(Globals, GetSeesWritesTheGuestMade) {
  ASSERT_TRUE(l.call("set_i32", {Value::i32v(INT32_MAX)}).ok());
  ASSERT_TRUE(l.call("set_i64", {Value::i64v(INT64_MIN)}).ok());
  ASSERT_TRUE(l.call("set_f32_bits", {Value::i32v(as_i32(0xff800000u))}).ok());  // -inf
  ASSERT_TRUE(l.call("set_f64_bits", {Value::i64v(as_i64(0x7ff4000000000001ull))}).ok());  // sNaN
  EXPECT_EQ(get("mi32").of.i32, INT32_MAX);
  EXPECT_EQ(get("mi64").of.i64, INT64_MIN);
  EXPECT_EQ(bits(get("mf32").of.f32), 0xff800000u);
  EXPECT_EQ(bits(get("mf64").of.f64), 0x7ff4000000000001ull);
}

TEST_F(Globals, GetDoesNotChangeTheValue) {
  for (int i = 0; i < 3; ++i) EXPECT_EQ(get("mi32").of.i32, INT32_MIN);
  EXPECT_EQ(l.i32("get_i32"), INT32_MIN);
}

TEST_F(Globals, GetOfV128GlobalIsArgumentErrorNamingTheType) {
  for (const char* name : {"mv128", "cv128"}) {
    auto r = global_get(l.ctx(), g(name));
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.error().kind, ErrorKind::Argument);
    EXPECT_TRUE(contains(r.error().message, "v128")) << r.error().message;
    EXPECT_TRUE(contains(r.error().message, "not supported")) << r.error().message;
  }
}

TEST_F(Globals, GetOfReferenceGlobalsIsArgumentErrorNamingTheType) {
  auto f = global_get(l.ctx(), g("mfref"));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().kind, ErrorKind::Argument);
  EXPECT_TRUE(contains(f.error().message, "funcref")) << f.error().message;
  auto x = global_get(l.ctx(), g("mxref"));
  ASSERT_FALSE(x.ok());
  EXPECT_EQ(x.error().kind, ErrorKind::Argument);
  EXPECT_TRUE(contains(x.error().message, "externref")) << x.error().message;
  // The refusals leave the store usable.
  EXPECT_EQ(l.i32("fref_is_null"), 1);
  EXPECT_EQ(get("mi32").of.i32, INT32_MIN);
}

// ---------------------------------------------------------------------------------------------
// global_set

TEST_F(Globals, SetIntegersAtTheirBoundariesReachesHostAndGuest) {
  for (int32_t v : {INT32_MIN, -1, 0, 1, INT32_MAX}) {
    ASSERT_TRUE(set("mi32", Value::i32v(v)).ok()) << v;
    EXPECT_EQ(get("mi32").of.i32, v);
    EXPECT_EQ(l.i32("get_i32"), v);
  }
  for (int64_t v : {INT64_MIN, int64_t{-1}, int64_t{0}, int64_t{INT32_MAX} + 1, INT64_MAX}) {
    ASSERT_TRUE(set("mi64", Value::i64v(v)).ok()) << v;
    EXPECT_EQ(get("mi64").of.i64, v);
    EXPECT_EQ(l.i64("get_i64"), v);
  }
}

TEST_F(Globals, SetFloatsKeepsEveryBitPattern) {
  for (uint32_t b : {0x00000000u, 0x80000000u, 0x00000001u, 0x7f7fffffu, 0x7f800000u, 0xff800000u,
                     0x7fc00000u, 0x7fc12345u, 0xffffffffu}) {
    ASSERT_TRUE(set("mf32", Value::f32v(f32_from_bits(b))).ok()) << std::hex << b;
    EXPECT_EQ(bits(get("mf32").of.f32), b) << std::hex << b;
    EXPECT_EQ(static_cast<uint32_t>(l.i32("get_f32_bits")), b) << std::hex << b;
  }
  for (uint64_t b : {0x0000000000000000ull, 0x8000000000000000ull, 0x0000000000000001ull,
                     0x7fefffffffffffffull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
                     0x7ff8000000000000ull, 0x7ff800000000abcdull}) {
    ASSERT_TRUE(set("mf64", Value::f64v(f64_from_bits(b))).ok()) << std::hex << b;
    EXPECT_EQ(bits(get("mf64").of.f64), b) << std::hex << b;
    EXPECT_EQ(static_cast<uint64_t>(l.i64("get_f64_bits")), b) << std::hex << b;
  }
}

TEST_F(Globals, SetThroughOneExportNameIsSeenThroughTheOther) {
  ASSERT_TRUE(set("mi32_alias", Value::i32v(77)).ok());
  EXPECT_EQ(get("mi32").of.i32, 77);
  ASSERT_TRUE(set("mi32", Value::i32v(-77)).ok());
  EXPECT_EQ(get("mi32_alias").of.i32, -77);
}

TEST_F(Globals, SetWithAnyOtherScalarKindIsArgumentErrorAndLeavesTheValue) {
  struct Case { const char* name; ValKind kind; };
  const ValKind scalars[] = {ValKind::I32, ValKind::I64, ValKind::F32, ValKind::F64};
  for (Case c : {Case{"mi32", ValKind::I32}, Case{"mi64", ValKind::I64}, Case{"mf32", ValKind::F32},
                 Case{"mf64", ValKind::F64}}) {
    const Value before = get(c.name);
    for (ValKind k : scalars) {
      if (k == c.kind) continue;
      auto r = set(c.name, sample(k));
      ASSERT_FALSE(r.ok()) << c.name << " <- " << val_kind_name(k);
      EXPECT_EQ(r.error().kind, ErrorKind::Argument);
      const std::string expected = std::string("global of type ") + val_kind_name(c.kind) +
                                   " cannot be set to a " + val_kind_name(k);
      EXPECT_EQ(r.error().message, expected);
      Value after = get(c.name);
      EXPECT_EQ(after.kind, c.kind);
      EXPECT_EQ(value_bits(after), value_bits(before)) << c.name;
    }
  }
}

TEST_F(Globals, SetOnEveryImmutableScalarIsArgumentErrorAndLeavesTheValue) {
  struct Case { const char* name; Value v; };
  for (Case c : {Case{"ci32", Value::i32v(1)}, Case{"ci64", Value::i64v(1)}, Case{"cf32", Value::f32v(1.0f)},
                 Case{"cf64", Value::f64v(1.0)}}) {
    auto r = set(c.name, c.v);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().kind, ErrorKind::Argument) << c.name;
    EXPECT_TRUE(contains(r.error().message, "immutable")) << r.error().message;
  }
  EXPECT_EQ(get("ci32").of.i32, 42);
  EXPECT_EQ(get("ci64").of.i64, -1);
  EXPECT_EQ(bits(get("cf32").of.f32), 0x7f812345u);
  EXPECT_EQ(bits(get("cf64").of.f64), 1u);
}

TEST_F(Globals, SetOnImmutableGlobalWithWrongKindReportsTheKindMismatch) {
  auto r = set("ci32", Value::f64v(1.0));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Argument);
  EXPECT_EQ(r.error().message, "global of type i32 cannot be set to a f64");
}

TEST_F(Globals, SetScalarIntoReferenceOrV128GlobalIsArgumentError) {
  struct Case { const char* name; const char* type; };
  for (Case c : {Case{"mfref", "funcref"}, Case{"mxref", "externref"}, Case{"mv128", "v128"}}) {
    auto r = set(c.name, Value::i32v(0));
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().kind, ErrorKind::Argument);
    EXPECT_EQ(r.error().message, std::string("global of type ") + c.type + " cannot be set to a i32");
  }
  EXPECT_EQ(l.i32("fref_is_null"), 1);
}

TEST_F(Globals, SetOfANonScalarValueOfTheGlobalsOwnKindIsArgumentError) {
  // A Value only carries scalars: one tagged with a reference or v128 kind is refused, never
  // written, even when the tag matches the global's type.
  struct Case { const char* name; ValKind kind; };
  for (Case c : {Case{"mfref", ValKind::FuncRef}, Case{"mxref", ValKind::ExternRef}, Case{"mv128", ValKind::V128}}) {
    Value v;
    v.kind = c.kind;
    auto r = set(c.name, v);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().kind, ErrorKind::Argument) << c.name;
    EXPECT_TRUE(contains(r.error().message, "not supported")) << r.error().message;
  }
  EXPECT_EQ(l.i32("fref_is_null"), 1);
}

TEST(GlobalInstances, EachInstanceHasItsOwnGlobals) {
  auto module = unwrap(Module::from_wat(default_engine(), kGlobals));
  Loaded a = load_module(module);
  Loaded b = load_module(module);
  ASSERT_TRUE(global_set(a.ctx(), a.global("mi32"), Value::i32v(5)).ok());
  ASSERT_TRUE(global_set(b.ctx(), b.global("mi32"), Value::i32v(6)).ok());
  EXPECT_EQ(unwrap(global_get(a.ctx(), a.global("mi32"))).of.i32, 5);
  EXPECT_EQ(unwrap(global_get(b.ctx(), b.global("mi32"))).of.i32, 6);
  EXPECT_EQ(a.i32("get_i32"), 5);
  EXPECT_EQ(b.i32("get_i32"), 6);
}
