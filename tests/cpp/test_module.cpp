// Tests Engine creation, Module compilation (WAT and binary), import/export descriptions and instantiation/linking.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace wasmffi;
using namespace wasmffi::test;

namespace {

const ExternDesc* find_desc(const std::vector<ExternDesc>& list, std::string_view name) {
  for (const auto& d : list)
    if (d.name == name) return &d;
  return nullptr;
}

std::vector<ValKind> kinds(std::initializer_list<ValKind> k) { return k; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Engine

TEST(Engine, DefaultConfigCreatesEngineWithFourGiBReservation) {
  auto e = Engine::create();
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_NE((*e)->capi(), nullptr);
  EXPECT_EQ((*e)->config().memory_reservation, uint64_t{4} << 30);
  EXPECT_EQ((*e)->config().opt_level, 1);
}

TEST(Instance, AddressSpaceExhaustionIsResourceError) {
  // 64 TiB per memory: the 128 TiB user address space of x86-64 runs out after one or two.
  EngineConfig cfg;
  cfg.memory_reservation = uint64_t{1} << 46;
  auto engine = Engine::create(cfg);
  ASSERT_TRUE(engine.ok()) << engine.error().message;
  auto module = Module::from_wat(*engine, "(module (memory 1))");
  ASSERT_TRUE(module.ok()) << module.error().message;
  std::vector<std::unique_ptr<Instance>> live;
  for (int i = 0; i < 8; ++i) {
    auto inst = Instance::create(*module);
    if (!inst.ok()) {
      EXPECT_EQ(inst.error().kind, ErrorKind::Resource) << inst.error().message;
      EXPECT_NE(inst.error().message.find("cannot reserve memory"), std::string::npos) << inst.error().message;
      EXPECT_GE(live.size(), 1u);
      return;
    }
    live.push_back(std::move(inst).value());
  }
  FAIL() << "8 instances of 64 TiB each were reserved: the address space did not run out";
}

TEST(Engine, OptLevelSevenIsArgumentError) {
  EngineConfig cfg;
  cfg.opt_level = 7;
  auto e = Engine::create(cfg);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind, ErrorKind::Argument);
  EXPECT_NE(e.error().message.find("opt_level"), std::string::npos) << e.error().message;
}

TEST(Engine, NegativeOptLevelIsArgumentError) {
  EngineConfig cfg;
  cfg.opt_level = -1;
  auto e = Engine::create(cfg);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind, ErrorKind::Argument);
}

TEST(Engine, EveryValidOptLevelCompilesAndRuns) {
  for (int level = 0; level <= 2; ++level) {
    EngineConfig cfg;
    cfg.opt_level = level;
    auto e = Engine::create(cfg);
    ASSERT_TRUE(e.ok()) << "opt_level " << level << ": " << e.error().message;
    EXPECT_EQ((*e)->config().opt_level, level);
    Loaded l = load_wat(R"((module (func (export "twice") (param i32) (result i32)
                              local.get 0 i32.const 2 i32.mul)))",
                        *e);
    EXPECT_EQ(l.i32("twice", {Value::i32v(21)}), 42) << "opt_level " << level;
  }
}

// ---------------------------------------------------------------------------------------------
// Compilation

TEST(Module, CompilesValidWat) {
  auto m = Module::from_wat(default_engine(), R"((module
      (func (export "answer") (result i32) i32.const 42)))");
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_NE((*m)->capi(), nullptr);
  EXPECT_EQ((*m)->engine(), default_engine());
  EXPECT_TRUE((*m)->imports().empty());
  ASSERT_EQ((*m)->exports().size(), 1u);
  EXPECT_EQ((*m)->exports()[0].name, "answer");
  EXPECT_EQ((*m)->exports()[0].kind, ExternKind::Func);
  EXPECT_TRUE((*m)->exports()[0].module.empty());
  Loaded l = load_module(*m);
  EXPECT_EQ(l.i32("answer"), 42);
}

TEST(Module, KeepsTheTypeOfEveryFunctionImport) {
  auto m = Module::from_wat(default_engine(), R"((module
      (import "env" "mem" (memory 1))
      (import "env" "f" (func (param i32 i64) (result f64)))
      (import "env" "g" (func))))");
  ASSERT_TRUE(m.ok()) << m.error().message;
  const Module& module = **m;
  EXPECT_EQ(module.import_functype(0), nullptr);  // a memory
  const wasm_functype_t* f = module.import_functype(1);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(wasm_functype_params(f)->size, 2u);
  EXPECT_EQ(wasm_functype_results(f)->size, 1u);
  ASSERT_NE(module.import_functype(2), nullptr);
  EXPECT_EQ(wasm_functype_params(module.import_functype(2))->size, 0u);
  EXPECT_EQ(module.import_functype(3), nullptr);  // past the end
}

TEST(Module, CompilesMinimalBinaryHeader) {
  const std::vector<uint8_t> bytes = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  auto m = Module::compile(default_engine(), bytes);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_TRUE((*m)->imports().empty());
  EXPECT_TRUE((*m)->exports().empty());
}

TEST(Module, CompilesHandEncodedBinaryFunction) {
  // (module (func (export "seven") (result i32) i32.const 7))
  const std::vector<uint8_t> bytes = {
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,              // magic, version
      0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,                    // type: () -> i32
      0x03, 0x02, 0x01, 0x00,                                      // func 0: type 0
      0x07, 0x09, 0x01, 0x05, 's', 'e', 'v', 'e', 'n', 0x00, 0x00,  // export "seven" func 0
      0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x07, 0x0b,              // code: i32.const 7; end
  };
  auto m = Module::compile(default_engine(), bytes);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ((*m)->exports().size(), 1u);
  EXPECT_EQ((*m)->exports()[0].func.to_string(), "() -> i32");
  Loaded l = load_module(*m);
  EXPECT_EQ(l.i32("seven"), 7);
}

TEST(Module, CompilesArithGuestBinaryAndDescribesItsExports) {
  auto bytes = read_file(guest_path("arith.wasm"));
  ASSERT_GT(bytes.size(), 8u);
  auto m = Module::compile(default_engine(), bytes);
  ASSERT_TRUE(m.ok()) << m.error().message;
  const auto& ex = (*m)->exports();

  struct Want {
    const char* name;
    const char* sig;
  };
  const Want wants[] = {
      {"add", "(i32, i32) -> i32"},       {"gcd", "(i32, i32) -> i32"},
      {"fib", "(i32) -> i64"},            {"mul_i64", "(i64, i64) -> i64"},
      {"hypot2", "(f64, f64) -> f64"},    {"scale_f32", "(f32, f32) -> f32"},
      {"buffer_ptr", "() -> i32"},        {"buffer_len", "() -> i32"},
      {"sum_bytes", "(i32, i32) -> i32"}, {"fill_bytes", "(i32, i32, i32) -> ()"},
      {"divide", "(i32, i32) -> i32"},
  };
  for (const auto& w : wants) {
    const ExternDesc* d = find_desc(ex, w.name);
    ASSERT_NE(d, nullptr) << "missing export " << w.name;
    EXPECT_EQ(d->kind, ExternKind::Func) << w.name;
    EXPECT_EQ(d->func.to_string(), w.sig) << w.name;
  }
  const ExternDesc* mem = find_desc(ex, "memory");
  ASSERT_NE(mem, nullptr);
  EXPECT_EQ(mem->kind, ExternKind::Memory);
  EXPECT_FALSE(mem->memory.is64);
  EXPECT_GE(mem->memory.min_pages, 1u);

  Loaded l = load_module(*m);
  EXPECT_EQ(l.i32("add", {Value::i32v(2), Value::i32v(40)}), 42);
  EXPECT_EQ(l.i32("gcd", {Value::i32v(48), Value::i32v(18)}), 6);
  EXPECT_EQ(l.i64("fib", {Value::i32v(90)}), int64_t{2880067194370816120});
}

TEST(Module, ModuleIsSharedBetweenIndependentInstances) {
  auto m = unwrap(Module::from_wat(default_engine(), R"((module
      (global $g (mut i32) (i32.const 0))
      (func (export "bump") (result i32)
        global.get $g i32.const 1 i32.add global.set $g global.get $g)))"));
  Loaded a = load_module(m);
  Loaded b = load_module(m);
  EXPECT_EQ(a.i32("bump"), 1);
  EXPECT_EQ(a.i32("bump"), 2);
  EXPECT_EQ(b.i32("bump"), 1);  // its own store, its own global
  EXPECT_EQ(&a.instance->module(), m.get());
}

TEST(Module, GarbageBytesGiveCompileErrorWithEngineMessage) {
  const std::vector<uint8_t> bytes = {'n', 'o', 't', ' ', 'w', 'a', 's', 'm'};
  auto m = Module::compile(default_engine(), bytes);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::Compile);
  EXPECT_FALSE(m.error().message.empty());
  EXPECT_NE(m.error().message.find("magic header"), std::string::npos) << m.error().message;
}

TEST(Module, EmptyBytesGiveCompileError) {
  auto m = Module::compile(default_engine(), std::span<const uint8_t>());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::Compile);
  EXPECT_FALSE(m.error().message.empty());
}

TEST(Module, TruncatedBinaryGivesCompileError) {
  // A valid header followed by a type section whose declared size runs past the end.
  const std::vector<uint8_t> bytes = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x10, 0x01};
  auto m = Module::compile(default_engine(), bytes);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::Compile);
  EXPECT_FALSE(m.error().message.empty());
}

TEST(Module, InvalidWatSyntaxGivesCompileErrorWithLineAndColumn) {
  auto m = Module::from_wat(default_engine(), "(module\n  (func (result i32)\n    i32.konst 1))");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::Compile);
  const std::string& msg = m.error().message;
  EXPECT_NE(msg.find("i32.konst"), std::string::npos) << msg;
  EXPECT_NE(msg.find(":3:"), std::string::npos) << "expected line 3 in: " << msg;
}

TEST(Module, UnbalancedWatGivesCompileError) {
  auto m = Module::from_wat(default_engine(), "(module (func)");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::Compile);
  EXPECT_FALSE(m.error().message.empty());
}

TEST(Module, WellFormedWatThatFailsValidationGivesCompileError) {
  auto m = Module::from_wat(default_engine(), "(module (func (result i32) i64.const 1))");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::Compile);
  EXPECT_NE(m.error().message.find("type mismatch"), std::string::npos) << m.error().message;
}

// ---------------------------------------------------------------------------------------------
// Import and export descriptions

TEST(Module, DescribesImportsOfEveryKindInOrder) {
  auto m = Module::from_wat(default_engine(), R"((module
      (import "env" "multi" (func (param i32 i64) (result f32 f64 i32)))
      (import "env" "nothing" (func))
      (import "env" "mem" (memory 1 10))
      (import "env" "counter" (global (mut i64)))
      (import "env" "pi" (global f64))
      (import "host" "tbl" (table 2 funcref))))");
  ASSERT_TRUE(m.ok()) << m.error().message;
  const auto& im = (*m)->imports();
  ASSERT_EQ(im.size(), 6u);

  EXPECT_EQ(im[0].module, "env");
  EXPECT_EQ(im[0].name, "multi");
  EXPECT_EQ(im[0].kind, ExternKind::Func);
  EXPECT_EQ(im[0].func.params, kinds({ValKind::I32, ValKind::I64}));
  EXPECT_EQ(im[0].func.results, kinds({ValKind::F32, ValKind::F64, ValKind::I32}));
  EXPECT_EQ(im[0].type_string(), "(i32, i64) -> (f32, f64, i32)");

  EXPECT_EQ(im[1].name, "nothing");
  EXPECT_TRUE(im[1].func.params.empty());
  EXPECT_TRUE(im[1].func.results.empty());

  EXPECT_EQ(im[2].name, "mem");
  EXPECT_EQ(im[2].kind, ExternKind::Memory);
  EXPECT_EQ(im[2].memory.min_pages, 1u);
  EXPECT_TRUE(im[2].memory.has_max);
  EXPECT_EQ(im[2].memory.max_pages, 10u);
  EXPECT_FALSE(im[2].memory.is64);
  EXPECT_FALSE(im[2].memory.shared);
  EXPECT_EQ(im[2].memory.page_size, 65536u);
  EXPECT_EQ(im[2].type_string(), "memory(min=1, max=10)");

  EXPECT_EQ(im[3].name, "counter");
  EXPECT_EQ(im[3].kind, ExternKind::Global);
  EXPECT_EQ(im[3].global.content, ValKind::I64);
  EXPECT_TRUE(im[3].global.mutable_);
  EXPECT_EQ(im[3].type_string(), "mut i64");

  EXPECT_EQ(im[4].name, "pi");
  EXPECT_EQ(im[4].global.content, ValKind::F64);
  EXPECT_FALSE(im[4].global.mutable_);
  EXPECT_EQ(im[4].type_string(), "f64");

  EXPECT_EQ(im[5].module, "host");
  EXPECT_EQ(im[5].name, "tbl");
  EXPECT_EQ(im[5].kind, ExternKind::Table);
  EXPECT_EQ(im[5].table.element, ValKind::FuncRef);
  EXPECT_EQ(im[5].table.min, 2u);
  EXPECT_FALSE(im[5].table.has_max);
  EXPECT_EQ(im[5].type_string(), "table(funcref, min=2)");
}

TEST(Module, DescribesExportsOfEveryKind) {
  auto m = Module::from_wat(default_engine(), R"((module
      (func (export "triple") (param f64) (result i32 i64 f64)
        i32.const 1 i64.const 2 local.get 0)
      (memory (export "mem32") 2 5)
      (memory (export "mem64") i64 3)
      (global (export "g_const") f32 (f32.const 1.5))
      (global (export "g_mut") (mut i32) (i32.const 0))
      (table (export "tbl") 3 8 funcref)))");
  ASSERT_TRUE(m.ok()) << m.error().message;
  const auto& ex = (*m)->exports();
  ASSERT_EQ(ex.size(), 6u);
  // Exports come in declaration order and carry no module name.
  EXPECT_EQ(ex[0].name, "triple");
  for (const auto& e : ex) EXPECT_TRUE(e.module.empty()) << e.name;

  const ExternDesc* f = find_desc(ex, "triple");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, ExternKind::Func);
  EXPECT_EQ(f->func.params, kinds({ValKind::F64}));
  EXPECT_EQ(f->func.results, kinds({ValKind::I32, ValKind::I64, ValKind::F64}));

  const ExternDesc* m32 = find_desc(ex, "mem32");
  ASSERT_NE(m32, nullptr);
  EXPECT_EQ(m32->kind, ExternKind::Memory);
  EXPECT_EQ(m32->memory.min_pages, 2u);
  EXPECT_TRUE(m32->memory.has_max);
  EXPECT_EQ(m32->memory.max_pages, 5u);
  EXPECT_FALSE(m32->memory.is64);

  const ExternDesc* m64 = find_desc(ex, "mem64");
  ASSERT_NE(m64, nullptr);
  EXPECT_EQ(m64->memory.min_pages, 3u);
  EXPECT_FALSE(m64->memory.has_max);
  EXPECT_TRUE(m64->memory.is64);
  EXPECT_EQ(m64->type_string(), "memory64(min=3)");

  const ExternDesc* gc = find_desc(ex, "g_const");
  ASSERT_NE(gc, nullptr);
  EXPECT_EQ(gc->kind, ExternKind::Global);
  EXPECT_EQ(gc->global.content, ValKind::F32);
  EXPECT_FALSE(gc->global.mutable_);

  const ExternDesc* gm = find_desc(ex, "g_mut");
  ASSERT_NE(gm, nullptr);
  EXPECT_EQ(gm->global.content, ValKind::I32);
  EXPECT_TRUE(gm->global.mutable_);

  const ExternDesc* t = find_desc(ex, "tbl");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->kind, ExternKind::Table);
  EXPECT_EQ(t->table.element, ValKind::FuncRef);
  EXPECT_EQ(t->table.min, 3u);
  EXPECT_TRUE(t->table.has_max);
  EXPECT_EQ(t->table.max, 8u);
  EXPECT_EQ(t->type_string(), "table(funcref, min=3, max=8)");
}

TEST(Module, DescribesFuncrefParamAsFuncRef) {
  auto m = Module::from_wat(default_engine(), R"((module
      (func (export "f") (param funcref i32) (result i32) local.get 1)))");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ((*m)->exports().at(0).func.to_string(), "(funcref, i32) -> i32");
}

TEST(Module, DescribesSimdSignatureAsV128) {
  auto m = Module::from_wat(default_engine(), R"((module
      (func (export "splat") (param i32) (result v128) local.get 0 i32x4.splat)))");
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ((*m)->exports().size(), 1u);
  EXPECT_EQ((*m)->exports()[0].func.to_string(), "(i32) -> v128");
}

// ---------------------------------------------------------------------------------------------
// FuncSig and desc printing

TEST(FuncSig, ToStringPrintsParamsAndResults) {
  EXPECT_EQ((FuncSig{{}, {}}).to_string(), "() -> ()");
  EXPECT_EQ((FuncSig{{ValKind::I32}, {ValKind::I32}}).to_string(), "(i32) -> i32");
  EXPECT_EQ((FuncSig{{ValKind::I32, ValKind::I32}, {ValKind::I32}}).to_string(), "(i32, i32) -> i32");
  EXPECT_EQ((FuncSig{{ValKind::F32, ValKind::F64}, {}}).to_string(), "(f32, f64) -> ()");
  EXPECT_EQ((FuncSig{{}, {ValKind::I32, ValKind::I64, ValKind::F64}}).to_string(), "() -> (i32, i64, f64)");
  EXPECT_EQ((FuncSig{{ValKind::FuncRef, ValKind::ExternRef}, {ValKind::V128}}).to_string(),
            "(funcref, externref) -> v128");
}

TEST(FuncSig, DescribedSignatureMatchesWatDeclaration) {
  auto m = unwrap(Module::from_wat(default_engine(), R"((module
      (func (export "f") (param i64 f32 i32) (result f64 f32) f64.const 0 f32.const 0)))"));
  EXPECT_EQ(m->exports().at(0).func.to_string(), "(i64, f32, i32) -> (f64, f32)");
}

TEST(Desc, DescriptionsPrintLimitsAndFlags) {
  MemoryDesc mem;
  mem.min_pages = 1;
  EXPECT_EQ(mem.to_string(), "memory(min=1)");
  mem.has_max = true;
  mem.max_pages = 2;
  mem.is64 = true;
  mem.shared = true;
  EXPECT_EQ(mem.to_string(), "memory64(min=1, max=2, shared)");
  EXPECT_EQ((GlobalDesc{ValKind::F32, true}).to_string(), "mut f32");
  EXPECT_EQ((GlobalDesc{ValKind::I64, false}).to_string(), "i64");
  TableDesc t;
  t.min = 4;
  EXPECT_EQ(t.to_string(), "table(funcref, min=4)");
  EXPECT_STREQ(extern_kind_name(ExternKind::Memory), "memory");
  EXPECT_STREQ(val_kind_name(ValKind::F64), "f64");
}

// ---------------------------------------------------------------------------------------------
// Instantiation and linking

TEST(Instance, MissingImportsGiveLinkErrorNamingTheImport) {
  auto m = unwrap(Module::from_wat(default_engine(), R"((module
      (import "env" "host_add" (func (param i32 i32) (result i32)))
      (import "env" "host_mem" (memory 1))))"));
  auto inst = Instance::create(m);
  ASSERT_FALSE(inst.ok());
  EXPECT_EQ(inst.error().kind, ErrorKind::Link);
  const std::string& msg = inst.error().message;
  EXPECT_NE(msg.find("env.host_add"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(i32, i32) -> i32"), std::string::npos) << msg;
  EXPECT_NE(msg.find("env.host_mem"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2 import(s), got 0"), std::string::npos) << msg;
}

namespace {

wasm_trap_t* host_add(void*, wasmtime_caller_t*, const wasmtime_val_t* args, size_t nargs,
                      wasmtime_val_t* results, size_t nresults) {
  if (nargs != 2 || nresults != 1) return wasmtime_trap_new("bad arity", 9);
  results[0].kind = WASMTIME_I32;
  results[0].of.i32 = args[0].of.i32 + args[1].of.i32;
  return nullptr;
}

const char* kImportsHostAdd = R"((module
    (import "env" "host_add" (func $add (param i32 i32) (result i32)))
    (func (export "call_add") (param i32 i32) (result i32)
      local.get 0 local.get 1 call $add)))";

}  // namespace

TEST(Instance, HostFunctionImportSatisfiesLink) {
  auto m = unwrap(Module::from_wat(default_engine(), kImportsHostAdd));
  auto store = std::make_unique<Store>(default_engine());
  wasm_functype_t* ty = wasm_functype_new_2_1(wasm_valtype_new_i32(), wasm_valtype_new_i32(),
                                              wasm_valtype_new_i32());
  wasmtime_extern_t imp;
  imp.kind = WASMTIME_EXTERN_FUNC;
  wasmtime_func_new(store->context(), ty, host_add, nullptr, nullptr, &imp.of.func);
  wasm_functype_delete(ty);

  auto inst = Instance::create(m, std::move(store), std::span<const wasmtime_extern_t>(&imp, 1));
  ASSERT_TRUE(inst.ok()) << inst.error().message;
  Loaded l{std::move(*inst)};
  EXPECT_EQ(l.i32("call_add", {Value::i32v(40), Value::i32v(2)}), 42);
}

TEST(Instance, ImportWithWrongSignatureGivesLinkError) {
  auto m = unwrap(Module::from_wat(default_engine(), kImportsHostAdd));
  auto store = std::make_unique<Store>(default_engine());
  // (i64) -> i64 where (i32, i32) -> i32 is expected.
  wasm_functype_t* ty = wasm_functype_new_1_1(wasm_valtype_new_i64(), wasm_valtype_new_i64());
  wasmtime_extern_t imp;
  imp.kind = WASMTIME_EXTERN_FUNC;
  wasmtime_func_new(store->context(), ty, host_add, nullptr, nullptr, &imp.of.func);
  wasm_functype_delete(ty);

  auto inst = Instance::create(m, std::move(store), std::span<const wasmtime_extern_t>(&imp, 1));
  ASSERT_FALSE(inst.ok());
  EXPECT_EQ(inst.error().kind, ErrorKind::Link);
  EXPECT_NE(inst.error().message.find("host_add"), std::string::npos) << inst.error().message;
}

TEST(Instance, ExportGetForMissingNameIsNullopt) {
  Loaded l = load_wat(R"((module (func (export "present"))))");
  EXPECT_FALSE(l.instance->export_get("absent").has_value());
  EXPECT_FALSE(l.instance->export_get("").has_value());
  EXPECT_FALSE(l.instance->export_get("presen").has_value());
  auto e = l.instance->export_get("present");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->name, "present");
  EXPECT_EQ(e->kind, ExternKind::Func);
}

TEST(Instance, ExportsListsEveryExportWithItsKind) {
  Loaded l = load_wat(R"((module
      (func (export "f"))
      (memory (export "m") 1)
      (global (export "g") i32 (i32.const 3))
      (table (export "t") 1 funcref)))");
  auto ex = l.instance->exports();
  ASSERT_EQ(ex.size(), 4u);
  EXPECT_EQ(ex[0].name, "f");
  EXPECT_EQ(ex[0].kind, ExternKind::Func);
  EXPECT_EQ(ex[1].name, "m");
  EXPECT_EQ(ex[1].kind, ExternKind::Memory);
  EXPECT_EQ(ex[2].name, "g");
  EXPECT_EQ(ex[2].kind, ExternKind::Global);
  EXPECT_EQ(ex[3].name, "t");
  EXPECT_EQ(ex[3].kind, ExternKind::Table);
  // The listed items are usable handles.
  auto v = global_get(l.ctx(), ex[2].item.of.global);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->of.i32, 3);
}

TEST(Instance, StartFunctionRunsDuringCreate) {
  Loaded l = load_wat(R"((module
      (global $g (export "g") (mut i32) (i32.const 0))
      (func $init i32.const 99 global.set $g)
      (start $init)))");
  auto v = global_get(l.ctx(), l.global("g"));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->of.i32, 99);
}
