// Tests the type model (types.hpp): kind names and mappings, signature text, descriptions built
// from C API type handles without any store, and how each description prints.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace wasmffi;
using namespace wasmffi::test;

namespace {

constexpr ValKind kAllKinds[] = {ValKind::I32,     ValKind::I64,       ValKind::F32,    ValKind::F64,
                                 ValKind::V128,    ValKind::FuncRef,   ValKind::ExternRef,
                                 ValKind::AnyRef,  ValKind::ExnRef,    ValKind::Other};

// Owners for the C API type handles the tests build (describe() only borrows them).
struct FuncTypeDel { void operator()(wasm_functype_t* p) const { wasm_functype_delete(p); } };
struct MemTypeDel { void operator()(wasm_memorytype_t* p) const { wasm_memorytype_delete(p); } };
struct GlobalTypeDel { void operator()(wasm_globaltype_t* p) const { wasm_globaltype_delete(p); } };
struct TableTypeDel { void operator()(wasm_tabletype_t* p) const { wasm_tabletype_delete(p); } };
struct ValTypeDel { void operator()(wasm_valtype_t* p) const { wasm_valtype_delete(p); } };
using FuncTypePtr = std::unique_ptr<wasm_functype_t, FuncTypeDel>;
using MemTypePtr = std::unique_ptr<wasm_memorytype_t, MemTypeDel>;
using GlobalTypePtr = std::unique_ptr<wasm_globaltype_t, GlobalTypeDel>;
using TableTypePtr = std::unique_ptr<wasm_tabletype_t, TableTypeDel>;
using ValTypePtr = std::unique_ptr<wasm_valtype_t, ValTypeDel>;

wasm_valtype_vec_t valtypes(std::initializer_list<wasm_valkind_t> kinds) {
  std::vector<wasm_valtype_t*> v;
  for (wasm_valkind_t k : kinds) v.push_back(wasm_valtype_new(k));
  wasm_valtype_vec_t vec;
  if (v.empty()) wasm_valtype_vec_new_empty(&vec);
  else wasm_valtype_vec_new(&vec, v.size(), v.data());  // takes the valtypes
  return vec;
}

FuncTypePtr functype(std::initializer_list<wasm_valkind_t> params, std::initializer_list<wasm_valkind_t> results) {
  wasm_valtype_vec_t p = valtypes(params);
  wasm_valtype_vec_t r = valtypes(results);
  return FuncTypePtr(wasm_functype_new(&p, &r));
}

MemTypePtr memorytype(uint64_t min, bool has_max, uint64_t max, bool is64, bool shared, uint8_t page_log2 = 16) {
  wasm_memorytype_t* ty = nullptr;
  wasmtime_error_t* err = wasmtime_memorytype_new(min, has_max, max, is64, shared, page_log2, &ty);
  if (err != nullptr) {
    wasm_name_t msg;
    wasmtime_error_message(err, &msg);
    std::string text(msg.data, msg.size);
    wasm_byte_vec_delete(&msg);
    wasmtime_error_delete(err);
    throw std::runtime_error("wasmtime_memorytype_new: " + text);
  }
  return MemTypePtr(ty);
}

GlobalTypePtr globaltype(wasm_valkind_t kind, wasm_mutability_t mut) {
  return GlobalTypePtr(wasm_globaltype_new(wasm_valtype_new(kind), mut));
}

TableTypePtr tabletype(wasm_valkind_t elem, uint32_t min, uint32_t max) {
  wasm_limits_t lim{min, max};
  return TableTypePtr(wasm_tabletype_new(wasm_valtype_new(elem), &lim));
}

const ExternDesc& export_named(const Module& m, const std::string& name) {
  for (const auto& e : m.exports())
    if (e.name == name) return e;
  throw std::runtime_error("no export named " + name);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Kinds

TEST(TypesValKind, EveryKindHasItsWasmTextName) {
  EXPECT_STREQ(val_kind_name(ValKind::I32), "i32");
  EXPECT_STREQ(val_kind_name(ValKind::I64), "i64");
  EXPECT_STREQ(val_kind_name(ValKind::F32), "f32");
  EXPECT_STREQ(val_kind_name(ValKind::F64), "f64");
  EXPECT_STREQ(val_kind_name(ValKind::V128), "v128");
  EXPECT_STREQ(val_kind_name(ValKind::FuncRef), "funcref");
  EXPECT_STREQ(val_kind_name(ValKind::ExternRef), "externref");
  EXPECT_STREQ(val_kind_name(ValKind::AnyRef), "anyref");
  EXPECT_STREQ(val_kind_name(ValKind::ExnRef), "exnref");
}

TEST(TypesValKind, OtherAndOutOfRangeKindsAreNamedUnknown) {
  EXPECT_STREQ(val_kind_name(ValKind::Other), "unknown");
  EXPECT_STREQ(val_kind_name(static_cast<ValKind>(200)), "unknown");
  EXPECT_STREQ(val_kind_name(static_cast<ValKind>(255)), "unknown");
}

TEST(TypesValKind, FromWasmMapsTheCApiKindCodes) {
  EXPECT_EQ(val_kind_from_wasm(WASM_I32), ValKind::I32);
  EXPECT_EQ(val_kind_from_wasm(WASM_I64), ValKind::I64);
  EXPECT_EQ(val_kind_from_wasm(WASM_F32), ValKind::F32);
  EXPECT_EQ(val_kind_from_wasm(WASM_F64), ValKind::F64);
  EXPECT_EQ(val_kind_from_wasm(WASMTIME_V128), ValKind::V128);
  EXPECT_EQ(val_kind_from_wasm(WASM_FUNCREF), ValKind::FuncRef);
  EXPECT_EQ(val_kind_from_wasm(WASM_EXTERNREF), ValKind::ExternRef);
}

TEST(TypesValKind, FromWasmGivesOtherForEveryUnknownCode) {
  // 255 is what the shim reports for reference types the project does not model.
  for (int code : {5, 6, 100, 127, 130, 131, 200, 254, 255})
    EXPECT_EQ(val_kind_from_wasm(static_cast<wasm_valkind_t>(code)), ValKind::Other) << code;
}

TEST(TypesValKind, ValKindOfReadsCApiValtypes) {
  struct Case { wasm_valkind_t code; ValKind kind; };
  for (Case c : {Case{WASM_I32, ValKind::I32}, Case{WASM_I64, ValKind::I64}, Case{WASM_F32, ValKind::F32},
                 Case{WASM_F64, ValKind::F64}, Case{WASM_FUNCREF, ValKind::FuncRef},
                 Case{WASM_EXTERNREF, ValKind::ExternRef}}) {
    ValTypePtr vt(wasm_valtype_new(c.code));
    EXPECT_EQ(val_kind_of(vt.get()), c.kind) << static_cast<int>(c.code);
  }
}

TEST(TypesValKind, IsScalarHoldsForTheFourNumericKindsOnly) {
  static_assert(is_scalar(ValKind::I32) && is_scalar(ValKind::I64) && is_scalar(ValKind::F32) &&
                is_scalar(ValKind::F64));
  static_assert(!is_scalar(ValKind::V128) && !is_scalar(ValKind::Other));
  int scalars = 0;
  for (ValKind k : kAllKinds) scalars += is_scalar(k) ? 1 : 0;
  EXPECT_EQ(scalars, 4);
  for (ValKind k : {ValKind::V128, ValKind::FuncRef, ValKind::ExternRef, ValKind::AnyRef, ValKind::ExnRef,
                    ValKind::Other})
    EXPECT_FALSE(is_scalar(k)) << val_kind_name(k);
}

TEST(TypesExternKind, EveryKindHasItsName) {
  EXPECT_STREQ(extern_kind_name(ExternKind::Func), "func");
  EXPECT_STREQ(extern_kind_name(ExternKind::Global), "global");
  EXPECT_STREQ(extern_kind_name(ExternKind::Table), "table");
  EXPECT_STREQ(extern_kind_name(ExternKind::Memory), "memory");
  EXPECT_STREQ(extern_kind_name(ExternKind::Tag), "tag");
  EXPECT_STREQ(extern_kind_name(ExternKind::Other), "unknown");
  EXPECT_STREQ(extern_kind_name(static_cast<ExternKind>(99)), "unknown");
}

// ---------------------------------------------------------------------------------------------
// Values

TEST(TypesValue, ConstructorsSetKindAndValue) {
  Value d;
  EXPECT_EQ(d.kind, ValKind::I32);
  EXPECT_EQ(d.of.i32, 0);
  EXPECT_EQ(Value::i32v(INT32_MIN).kind, ValKind::I32);
  EXPECT_EQ(Value::i32v(INT32_MIN).of.i32, INT32_MIN);
  EXPECT_EQ(Value::i64v(INT64_MAX).kind, ValKind::I64);
  EXPECT_EQ(Value::i64v(INT64_MAX).of.i64, INT64_MAX);
  EXPECT_EQ(Value::f32v(-0.0f).kind, ValKind::F32);
  EXPECT_EQ(bits(Value::f32v(-0.0f).of.f32), 0x80000000u);
  EXPECT_EQ(Value::f64v(1.0e308).kind, ValKind::F64);
  EXPECT_EQ(Value::f64v(1.0e308).of.f64, 1.0e308);
  // NaN payloads are kept bit for bit.
  EXPECT_EQ(bits(Value::f32v(f32_from_bits(0x7fc12345u)).of.f32), 0x7fc12345u);
  EXPECT_EQ(bits(Value::f64v(f64_from_bits(0x7ff8000000000abcull)).of.f64), 0x7ff8000000000abcull);
}

// ---------------------------------------------------------------------------------------------
// Signature text

TEST(TypesSignatureText, OneResultIsBareAndSeveralAreParenthesised) {
  EXPECT_EQ(signature_text({}, {}), "() -> ()");
  EXPECT_EQ(signature_text({"i32"}, {}), "(i32) -> ()");
  EXPECT_EQ(signature_text({}, {"i64"}), "() -> i64");
  EXPECT_EQ(signature_text({"i32", "i32"}, {"i32"}), "(i32, i32) -> i32");
  EXPECT_EQ(signature_text({}, {"f32", "f64"}), "() -> (f32, f64)");
  EXPECT_EQ(signature_text({"a", "b", "c", "d"}, {"e", "f", "g"}), "(a, b, c, d) -> (e, f, g)");
}

TEST(TypesSignatureText, NamesArePrintedVerbatim) {
  EXPECT_EQ(signature_text({"u32", "ptr"}, {"bool"}), "(u32, ptr) -> bool");
  EXPECT_EQ(signature_text({""}, {""}), "() -> ");
  EXPECT_EQ(signature_text({"", ""}, {"", ""}), "(, ) -> (, )");
}

TEST(TypesSignatureText, ManyParamsAreAllListed) {
  std::vector<const char*> params(100, "i32");
  std::string text = signature_text(params, {"i32"});
  std::string expected = "(i32";
  for (int i = 1; i < 100; ++i) expected += ", i32";
  expected += ") -> i32";
  EXPECT_EQ(text, expected);
}

TEST(TypesFuncSig, ToStringNamesEveryKindIncludingUnknown) {
  EXPECT_EQ((FuncSig{{ValKind::AnyRef, ValKind::ExnRef}, {ValKind::Other}}).to_string(),
            "(anyref, exnref) -> unknown");
  EXPECT_EQ((FuncSig{{ValKind::V128}, {ValKind::V128, ValKind::ExternRef}}).to_string(),
            "(v128) -> (v128, externref)");
}

// ---------------------------------------------------------------------------------------------
// Descriptions printed

TEST(TypesMemoryDesc, DefaultPrintsMinZeroAndHasTheWasmPageSize) {
  MemoryDesc d;
  EXPECT_EQ(d.to_string(), "memory(min=0)");
  EXPECT_EQ(d.page_size, 65536u);
  EXPECT_FALSE(d.has_max);
  EXPECT_FALSE(d.is64);
  EXPECT_FALSE(d.shared);
}

TEST(TypesMemoryDesc, PrintsMaxOnlyWhenPresentAndFullUint64Limits) {
  MemoryDesc d;
  d.min_pages = 3;
  d.max_pages = 9;  // ignored while has_max is false
  EXPECT_EQ(d.to_string(), "memory(min=3)");
  d.has_max = true;
  EXPECT_EQ(d.to_string(), "memory(min=3, max=9)");
  d.has_max = true;
  d.max_pages = 0;
  d.min_pages = 0;
  EXPECT_EQ(d.to_string(), "memory(min=0, max=0)");
  d.is64 = true;
  d.min_pages = UINT64_MAX;
  d.max_pages = UINT64_MAX;
  EXPECT_EQ(d.to_string(), "memory64(min=18446744073709551615, max=18446744073709551615)");
}

TEST(TypesMemoryDesc, SharedFlagComesLast) {
  MemoryDesc d;
  d.min_pages = 1;
  d.shared = true;
  EXPECT_EQ(d.to_string(), "memory(min=1, shared)");
  d.has_max = true;
  d.max_pages = 4;
  EXPECT_EQ(d.to_string(), "memory(min=1, max=4, shared)");
}

TEST(TypesGlobalDesc, PrintsContentWithMutPrefixWhenMutable) {
  EXPECT_EQ(GlobalDesc{}.to_string(), "i32");
  for (ValKind k : kAllKinds) {
    EXPECT_EQ((GlobalDesc{k, false}).to_string(), val_kind_name(k));
    EXPECT_EQ((GlobalDesc{k, true}).to_string(), std::string("mut ") + val_kind_name(k));
  }
}

TEST(TypesTableDesc, PrintsElementAndLimits) {
  TableDesc t;
  EXPECT_EQ(t.to_string(), "table(funcref, min=0)");
  t.element = ValKind::ExternRef;
  t.min = 1;
  t.max = 2;
  EXPECT_EQ(t.to_string(), "table(externref, min=1)");
  t.has_max = true;
  EXPECT_EQ(t.to_string(), "table(externref, min=1, max=2)");
  t.min = UINT64_MAX;
  t.max = UINT64_MAX;
  EXPECT_EQ(t.to_string(), "table(externref, min=18446744073709551615, max=18446744073709551615)");
}

TEST(TypesExternDesc, TypeStringFollowsTheKind) {
  ExternDesc d;
  d.func = FuncSig{{ValKind::I32}, {ValKind::I64}};
  d.memory.min_pages = 2;
  d.global = GlobalDesc{ValKind::F32, true};
  d.table.min = 5;
  d.kind = ExternKind::Func;
  EXPECT_EQ(d.type_string(), "(i32) -> i64");
  d.kind = ExternKind::Memory;
  EXPECT_EQ(d.type_string(), "memory(min=2)");
  d.kind = ExternKind::Global;
  EXPECT_EQ(d.type_string(), "mut f32");
  d.kind = ExternKind::Table;
  EXPECT_EQ(d.type_string(), "table(funcref, min=5)");
  // Kinds without a description print their kind name.
  d.kind = ExternKind::Tag;
  EXPECT_EQ(d.type_string(), "tag");
  d.kind = ExternKind::Other;
  EXPECT_EQ(d.type_string(), "unknown");
  EXPECT_EQ(ExternDesc{}.type_string(), "unknown");
}

// ---------------------------------------------------------------------------------------------
// describe() on C API type handles (no engine, no store)

TEST(TypesDescribe, FunctypeKeepsParamAndResultOrder) {
  auto ft = functype({WASM_F64, WASM_I32, WASM_EXTERNREF, WASM_I64}, {WASM_F32, WASM_FUNCREF});
  FuncSig s = describe(ft.get());
  EXPECT_EQ(s.params, (std::vector<ValKind>{ValKind::F64, ValKind::I32, ValKind::ExternRef, ValKind::I64}));
  EXPECT_EQ(s.results, (std::vector<ValKind>{ValKind::F32, ValKind::FuncRef}));
  EXPECT_EQ(s.to_string(), "(f64, i32, externref, i64) -> (f32, funcref)");
}

TEST(TypesDescribe, EmptyFunctypeHasNoParamsOrResults) {
  auto ft = functype({}, {});
  FuncSig s = describe(ft.get());
  EXPECT_TRUE(s.params.empty());
  EXPECT_TRUE(s.results.empty());
  EXPECT_EQ(s.to_string(), "() -> ()");
}

TEST(TypesDescribe, MemorytypeCarriesLimitsFlagsAndPageSize) {
  auto plain = memorytype(1, false, 0, false, false);
  MemoryDesc a = describe(plain.get());
  EXPECT_EQ(a.min_pages, 1u);
  EXPECT_FALSE(a.has_max);
  EXPECT_FALSE(a.is64);
  EXPECT_FALSE(a.shared);
  EXPECT_EQ(a.page_size, 65536u);
  EXPECT_EQ(a.to_string(), "memory(min=1)");

  auto bounded = memorytype(0, true, 65536, false, false);  // the largest 32-bit memory
  MemoryDesc b = describe(bounded.get());
  EXPECT_EQ(b.min_pages, 0u);
  EXPECT_TRUE(b.has_max);
  EXPECT_EQ(b.max_pages, 65536u);
  EXPECT_EQ(b.to_string(), "memory(min=0, max=65536)");

  auto shared = memorytype(2, true, 3, false, true);
  MemoryDesc c = describe(shared.get());
  EXPECT_TRUE(c.shared);
  EXPECT_EQ(c.to_string(), "memory(min=2, max=3, shared)");
}

TEST(TypesDescribe, Memory64LimitsBeyondFourGiBKeepAllBits) {
  const uint64_t big = uint64_t{1} << 40;  // pages: far beyond any 32-bit count
  auto ty = memorytype(big, true, big + 1, true, false);
  MemoryDesc d = describe(ty.get());
  EXPECT_TRUE(d.is64);
  EXPECT_EQ(d.min_pages, big);
  EXPECT_TRUE(d.has_max);
  EXPECT_EQ(d.max_pages, big + 1);
  EXPECT_EQ(d.to_string(), "memory64(min=" + std::to_string(big) + ", max=" + std::to_string(big + 1) + ")");
}

TEST(TypesDescribe, MemorytypeWithOneBytePages) {
  auto ty = memorytype(10, true, 20, false, false, 0);  // custom-page-sizes: 1-byte pages
  MemoryDesc d = describe(ty.get());
  EXPECT_EQ(d.page_size, 1u);
  EXPECT_EQ(d.min_pages, 10u);
  EXPECT_EQ(d.max_pages, 20u);
}

TEST(TypesDescribe, GlobaltypeCarriesContentAndMutability) {
  struct Case { wasm_valkind_t code; ValKind kind; };
  for (Case c : {Case{WASM_I32, ValKind::I32}, Case{WASM_I64, ValKind::I64}, Case{WASM_F32, ValKind::F32},
                 Case{WASM_F64, ValKind::F64}, Case{WASM_FUNCREF, ValKind::FuncRef},
                 Case{WASM_EXTERNREF, ValKind::ExternRef}}) {
    GlobalDesc k = describe(globaltype(c.code, WASM_CONST).get());
    EXPECT_EQ(k.content, c.kind);
    EXPECT_FALSE(k.mutable_);
    GlobalDesc v = describe(globaltype(c.code, WASM_VAR).get());
    EXPECT_EQ(v.content, c.kind);
    EXPECT_TRUE(v.mutable_);
  }
}

TEST(TypesDescribe, TabletypeLimitsWithAndWithoutMax) {
  TableDesc open = describe(tabletype(WASM_FUNCREF, 3, wasm_limits_max_default).get());
  EXPECT_EQ(open.element, ValKind::FuncRef);
  EXPECT_EQ(open.min, 3u);
  EXPECT_FALSE(open.has_max);
  EXPECT_EQ(open.to_string(), "table(funcref, min=3)");

  TableDesc bounded = describe(tabletype(WASM_EXTERNREF, 0, 0).get());
  EXPECT_EQ(bounded.element, ValKind::ExternRef);
  EXPECT_EQ(bounded.min, 0u);
  EXPECT_TRUE(bounded.has_max);
  EXPECT_EQ(bounded.max, 0u);
  EXPECT_EQ(bounded.to_string(), "table(externref, min=0, max=0)");

  TableDesc near = describe(tabletype(WASM_FUNCREF, 1, wasm_limits_max_default - 1).get());
  EXPECT_TRUE(near.has_max);
  EXPECT_EQ(near.max, uint64_t{wasm_limits_max_default} - 1);
}

TEST(TypesDescribe, ExterntypeDispatchesOnItsKind) {
  auto ft = functype({WASM_I32}, {});
  ExternDesc f = describe(wasm_functype_as_externtype_const(ft.get()));
  EXPECT_EQ(f.kind, ExternKind::Func);
  EXPECT_EQ(f.type_string(), "(i32) -> ()");
  EXPECT_TRUE(f.name.empty());
  EXPECT_TRUE(f.module.empty());

  auto gt = globaltype(WASM_I64, WASM_VAR);
  ExternDesc g = describe(wasm_globaltype_as_externtype_const(gt.get()));
  EXPECT_EQ(g.kind, ExternKind::Global);
  EXPECT_EQ(g.type_string(), "mut i64");

  auto tt = tabletype(WASM_FUNCREF, 2, 7);
  ExternDesc t = describe(wasm_tabletype_as_externtype_const(tt.get()));
  EXPECT_EQ(t.kind, ExternKind::Table);
  EXPECT_EQ(t.type_string(), "table(funcref, min=2, max=7)");

  auto mt = memorytype(1, true, 1, true, false);
  ExternDesc m = describe(wasm_memorytype_as_externtype_const(mt.get()));
  EXPECT_EQ(m.kind, ExternKind::Memory);
  EXPECT_EQ(m.type_string(), "memory64(min=1, max=1)");
}

// ---------------------------------------------------------------------------------------------
// describe() through a compiled module: kinds the C API's own valtype constructor cannot build

TEST(TypesDescribe, V128GlobalAndExternrefTableFromAModule) {
  auto m = unwrap(Module::from_wat(default_engine(), R"((module
      (global (export "gv") (mut v128) (v128.const i64x2 0 0))
      (table (export "te") 0 externref)))"));
  const ExternDesc& gv = export_named(*m, "gv");
  EXPECT_EQ(gv.kind, ExternKind::Global);
  EXPECT_EQ(gv.global.content, ValKind::V128);
  EXPECT_EQ(gv.type_string(), "mut v128");
  const ExternDesc& te = export_named(*m, "te");
  EXPECT_EQ(te.type_string(), "table(externref, min=0)");
}

// Known bug, not fixed here: describe(wasm_tabletype_t*) reads the limits through the C API's
// wasm_tabletype_limits, which unwraps them into u32 and panics (panic=abort: the host process
// ends) for a table64 whose minimum or maximum is beyond 2**32-1. Compiling such a module aborts,
// as describing its exports is part of compiling. The fix needs a u64 accessor in the engine shim
// (engine/src/lib.rs, as wasmffi_valtype_kind does for kinds); enable this test with it.
TEST(TypesDescribe, DISABLED_Table64LimitsBeyondU32AreDescribedNotFatal) {
  auto m = Module::from_wat(default_engine(), R"((module
      (table (export "t") i64 0x100000000 0x100000001 funcref)))");
  ASSERT_TRUE(m.ok()) << m.error().message;
  const ExternDesc& t = export_named(**m, "t");
  EXPECT_EQ(t.table.min, uint64_t{1} << 32);
  EXPECT_TRUE(t.table.has_max);
  EXPECT_EQ(t.table.max, (uint64_t{1} << 32) + 1);
}

TEST(TypesDescribe, Table64WithinU32LimitsIsDescribed) {
  auto m = unwrap(Module::from_wat(default_engine(), R"((module
      (table (export "t") i64 2 0xfffffffe funcref)))"));
  const ExternDesc& t = export_named(*m, "t");
  EXPECT_EQ(t.kind, ExternKind::Table);
  EXPECT_EQ(t.table.min, 2u);
  EXPECT_TRUE(t.table.has_max);
  EXPECT_EQ(t.table.max, 0xfffffffeu);
  EXPECT_EQ(t.type_string(), "table(funcref, min=2, max=4294967294)");
}
