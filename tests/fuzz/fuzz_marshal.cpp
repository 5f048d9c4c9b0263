// libFuzzer harness: plan inputs -> the marshalling units, call plans, and the scratch allocator.
//
// Three parts, chosen by the first byte:
// - units: a unit name (marshal_named) and element bytes -> load_element/store_element. An
//   element read into a raw slot and written back is the same bytes; a slot holds nothing but its
//   kind's bits; integers come out sign- or zero-extended by the unit's signedness.
// - plans: a function of the test module, declared marshallers (names, some invalid, lists of
//   any length) -> CallPlan::retyped, which must succeed exactly when every declared unit fits its
//   slot and the counts match; a retyped plan's call through an identity function hands back
//   exactly the raw bits each unit put in.
// - scratch: a guest allocator that answers with fuzzed addresses (a queue of answers in a second
//   memory), under each strategy GuestAllocator picks, and nested begin/end of scratch blocks:
//   every block it hands out must lie inside guest memory, whatever the allocator returned.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wasmffi/call.hpp"
#include "fuzz_common.hpp"
#include "wasmffi/engine.hpp"
#include "wasmffi/instance.hpp"
#include "wasmffi/marshal.hpp"
#include "wasmffi/memory.hpp"
#include "wasmffi/module.hpp"
#include "wasmffi/scratch.hpp"

using namespace wasmffi;

namespace {

constexpr const char* kHarness = "fuzz_marshal";

[[noreturn]] void fail(const char* what, const std::string& detail = {}) { fuzz_common::fail(kHarness, what, detail); }

// Identity functions over every slot kind, so a raw value goes in and must come back unchanged.
constexpr const char* kPlanWat = R"((module
  (func (export "id_i32") (param i32) (result i32) local.get 0)
  (func (export "id_i64") (param i64) (result i64) local.get 0)
  (func (export "id_f32") (param f32) (result f32) local.get 0)
  (func (export "id_f64") (param f64) (result f64) local.get 0)
  (func (export "id_mix") (param i32 i64 f32 f64 i32) (result i32 i64 f32 f64 i32)
    local.get 0 local.get 1 local.get 2 local.get 3 local.get 4)
  (func (export "none"))
  (func (export "swap") (param i64 i32) (result i32 i64) local.get 1 local.get 0)))";
constexpr const char* kPlanFuncs[] = {"id_i32", "id_i64", "id_f32", "id_f64", "id_mix", "none", "swap"};

// Every allocator export, each answering from a queue of u32s in memory "answers" (index in
// global $i). Allocations first grow the memory by an answer's low two bits, then return the
// next answer as the address; releases zero [arg, arg + answer & 0xff), which traps when that
// is out of bounds.
constexpr const char* kAllocWat = R"((module
  (memory (export "memory") 1 8)
  (memory $q (export "answers") 1 1)
  (global $i (mut i32) (i32.const 0))
  (func $next (result i32) (local $v i32)
    (local.set $v (i32.load $q (i32.shl (i32.and (global.get $i) (i32.const 0x3fff)) (i32.const 2))))
    (global.set $i (i32.add (global.get $i) (i32.const 1)))
    (local.get $v))
  (func $alloc (result i32)
    (drop (memory.grow (i32.and (call $next) (i32.const 3))))
    (call $next))
  (func $release (param i32) (memory.fill (local.get 0) (i32.const 0) (i32.and (call $next) (i32.const 255))))
  (func (export "bump_alloc") (param i32) (result i32) (call $alloc))
  (func (export "bump_mark") (result i32) (call $next))
  (func (export "bump_release") (param i32) (call $release (local.get 0)))
  (func (export "malloc") (param i32) (result i32) (call $alloc))
  (func (export "free") (param i32) (call $release (local.get 0)))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (call $alloc))))";

struct Fixture {
  std::shared_ptr<Engine> engine;
  std::shared_ptr<const Module> plans, alloc;
  std::unique_ptr<Instance> plan_inst;  // stateless identity functions: one instance for all runs
};

// Made on first use: wasmtime's trap handlers then go in after libFuzzer's (see fuzz_module.cpp).
Fixture& fixture() {
  static Fixture f = [] {
    Fixture out;
    out.engine = fuzz_common::quiet_engine(kHarness);
    auto compile = [&](const char* wat) { return fuzz_common::compile(kHarness, out.engine, wat); };
    out.plans = compile(kPlanWat);
    out.alloc = compile(kAllocWat);
    auto i = Instance::create(out.plans);
    if (!i) fail("instantiate:", i.error().message);
    out.plan_inst = std::move(i).value();
    return out;
  }();
  return f;
}

constexpr const char* kNames[] = {"i32", "u32", "i64", "u64", "f32", "f64", "i8", "u8", "i16", "u16",
                                  "int32", "int64", "bool", "ptr", "", "I32", "u128", "ptr ", "unsupported"};

std::string pick_name(FuzzedDataProvider& in) {
  if (in.ConsumeIntegralInRange<int>(0, 7) == 0) return in.ConsumeRandomLengthString(8);
  return kNames[in.ConsumeIntegralInRange<size_t>(0, std::size(kNames) - 1)];
}

ValKind pick_kind(FuzzedDataProvider& in) {
  static constexpr ValKind kKinds[] = {ValKind::I32, ValKind::I64, ValKind::F32, ValKind::F64, ValKind::V128,
                                       ValKind::FuncRef, ValKind::Other};
  return kKinds[in.ConsumeIntegralInRange<size_t>(0, std::size(kKinds) - 1)];
}

bool raw_equal(const wasmtime_val_raw_t& a, const wasmtime_val_raw_t& b, ValKind k) {
  switch (k) {
    case ValKind::I32: case ValKind::F32: return std::memcmp(&a, &b, 4) == 0;  // f32 by bits: NaN payloads too
    default: return std::memcmp(&a, &b, 8) == 0;
  }
}

void fuzz_units(FuzzedDataProvider& in) {
  for (int n = 0; n < 16 && in.remaining_bytes() > 0; ++n) {
    const std::string name = pick_name(in);
    const ValKind slot = pick_kind(in);
    const std::optional<Marshal> m = marshal_named(name, slot);
    if (m) {
      if (*m == Marshal::Unsupported) fail("marshal_named gave Unsupported for", name);
      if (name == "ptr") {
        if (*m != (slot == ValKind::I64 ? Marshal::U64 : Marshal::U32)) fail("ptr is not the slot's address unit");
      } else if (name != marshal_name(*m)) {
        fail("marshal_named and marshal_name disagree on", name);
      }
      if (marshal_fits(*m, slot) != (unit_of(*m).wasm == slot)) fail("marshal_fits disagrees with the table");
    }
    const Marshal u = m ? *m : static_cast<Marshal>(in.ConsumeIntegralInRange<int>(0, kMarshalCount));
    const MarshalUnit& unit = unit_of(u);
    uint8_t elem[8], back[8];
    in.ConsumeData(elem, sizeof elem);
    std::memset(back, 0xcc, sizeof back);
    wasmtime_val_raw_t raw;
    std::memset(&raw, 0xcc, sizeof raw);
    load_element(u, elem, raw);
    store_element(u, raw, back);
    if (std::memcmp(elem, back, unit.size) != 0) fail("element round trip changed bytes of", unit.name);
    for (size_t i = unit.size; i < sizeof back; ++i)
      if (back[i] != 0xcc) fail("store_element wrote past its element:", unit.name);
    if (u == Marshal::Unsupported) continue;
    // A slot holds its kind's bits and zeros above them.
    const size_t width = unit.wasm == ValKind::I64 || unit.wasm == ValKind::F64 ? 8 : 4;
    const auto* rb = reinterpret_cast<const uint8_t*>(&raw);
    for (size_t i = width; i < sizeof raw; ++i)
      if (rb[i] != 0) fail("load_element left bits above the slot's width:", unit.name);
    if (unit.num == MarshalUnit::Num::Int && unit.size < 8) {
      int64_t v;
      if (unit.wasm == ValKind::I64) v = raw.i64;
      else v = unit.lo < 0 ? int64_t{raw.i32} : int64_t{static_cast<uint32_t>(raw.i32)};
      uint64_t e = 0;
      std::memcpy(&e, elem, unit.size);
      const unsigned shift = 64 - 8u * unit.size;
      const int64_t want = unit.lo < 0 ? static_cast<int64_t>(e << shift) >> shift : static_cast<int64_t>(e);
      if (v != want) fail("load_element extended wrongly:", unit.name);
      if (u != Marshal::Bool && (v < unit.lo || (v >= 0 && static_cast<uint64_t>(v) > unit.hi)))
        fail("an element read out of memory is outside its unit's range:", unit.name);
    }
  }
}

void fuzz_plans(FuzzedDataProvider& in) {
  Fixture& f = fixture();
  Instance& inst = *f.plan_inst;
  const char* fname = kPlanFuncs[in.ConsumeIntegralInRange<size_t>(0, std::size(kPlanFuncs) - 1)];
  const wasmtime_func_t func = inst.export_get(fname)->item.of.func;
  const CallPlan plan = CallPlan::for_func(inst.context(), func);
  if (plan.to_string() != plan.sig.to_string()) fail("a default plan's text is not its signature's");

  auto declare = [&](const std::vector<ValKind>& kinds, bool& fits) -> std::optional<std::vector<Marshal>> {
    fits = true;
    if (in.ConsumeBool()) return std::nullopt;  // keep the current units
    size_t n = kinds.size();
    if (in.ConsumeIntegralInRange<int>(0, 7) == 0) n = in.ConsumeIntegralInRange<size_t>(0, 7);
    fits = n == kinds.size();
    std::vector<Marshal> out;
    for (size_t i = 0; i < n; ++i) {
      const ValKind slot = i < kinds.size() ? kinds[i] : ValKind::I32;
      std::optional<Marshal> m = marshal_named(pick_name(in), slot);
      out.push_back(m ? *m : Marshal::Unsupported);
      fits &= i < kinds.size() && marshal_fits(out.back(), kinds[i]);
    }
    return out;
  };
  bool pfit = true, rfit = true;
  const auto ps = declare(plan.sig.params, pfit);
  const auto rs = declare(plan.sig.results, rfit);
  auto r = plan.retyped(ps, rs);
  if (r.ok() != (pfit && rfit)) fail("retyped accepted or refused against marshal_fits:", r.ok() ? "" : r.error().message);
  if (!r) {
    if (r.error().kind != ErrorKind::Argument) fail("retyped: error kind");
    return;
  }
  const CallPlan& p = *r;
  if (p.sig.params != plan.sig.params || p.raw_len != plan.raw_len || p.all_scalar != plan.all_scalar)
    fail("retyped changed the signature");
  for (size_t i = 0; i < p.params.size(); ++i)
    if (!marshal_fits(p.params[i], p.sig.params[i])) fail("a retyped plan has a unit that does not fit");
  if (p.to_string().empty()) fail("empty plan text");

  // Call: params from element bytes through their units, results compared as raw bits.
  std::vector<wasmtime_val_raw_t> raw(p.raw_len), sent(p.raw_len);
  for (size_t i = 0; i < p.params.size(); ++i) {
    uint8_t elem[8] = {};
    in.ConsumeData(elem, sizeof elem);
    load_element(p.params[i], elem, raw[i]);
    sent[i] = raw[i];
  }
  if (auto c = call_unchecked(inst.context(), func, raw.data(), raw.size()); !c) fail("identity call:", c.error().message);
  const bool swap = std::string(fname) == "swap";
  for (size_t i = 0; i < p.results.size(); ++i) {
    const size_t from = swap ? 1 - i : i;
    if (!raw_equal(raw[i], sent[from], p.sig.results[i])) fail("a raw value changed through an identity call");
    uint8_t a[8] = {}, b[8] = {};
    store_element(p.results[i], raw[i], a);
    if (p.results[i] == p.params[from]) {
      store_element(p.params[from], sent[from], b);
      if (std::memcmp(a, b, 8) != 0) fail("the same unit wrote other bytes");
    }
  }
}

void fuzz_scratch(FuzzedDataProvider& in) {
  Fixture& f = fixture();
  auto made = Instance::create(f.alloc);
  if (!made) fail("instantiate:", made.error().message);
  Instance& inst = **made;
  GuestMemory mem(inst.context(), inst.export_get("memory")->item.of.memory);
  GuestMemory answers(inst.context(), inst.export_get("answers")->item.of.memory);
  static constexpr const char* kChoices[] = {"auto", "bump", "malloc", "cabi_realloc", "none"};
  const char* choice = kChoices[in.ConsumeIntegralInRange<size_t>(0, std::size(kChoices) - 1)];
  // The answers: addresses near the interesting places, or any u32.
  for (uint32_t k = 0; k < 256 && in.remaining_bytes() > 0; ++k) {
    uint32_t v;
    const uint32_t small = in.ConsumeIntegralInRange<uint32_t>(0, 4096);
    switch (in.ConsumeIntegralInRange<int>(0, 4)) {
      case 0: v = small; break;
      case 1: v = 65536 * in.ConsumeIntegralInRange<uint32_t>(1, 8) - small; break;
      case 2: v = 0 - small; break;
      case 3: v = 1024 + 16 * small; break;
      default: v = in.ConsumeIntegral<uint32_t>(); break;
    }
    if (!answers.store<uint32_t>(4 * k, v).ok()) fail("answers store");
  }
  auto a = GuestAllocator::find(inst, choice, false);
  if (!a) fail("find:", a.error().message);
  std::vector<ScratchBlock> live;
  for (int op = 0; op < 32 && in.remaining_bytes() > 0; ++op) {
    if (in.ConsumeBool() || live.empty()) {
      const uint64_t size = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0, 300)
                                             : in.ConsumeIntegralInRange<uint64_t>(0, uint64_t{1} << 20);
      auto b = a->begin(inst.context(), mem, size);
      if (!b) {
        const ErrorKind k = b.error().kind;
        if (k != ErrorKind::MemoryAccess && k != ErrorKind::Resource && k != ErrorKind::Trap && k != ErrorKind::Argument)
          fail("begin: error kind", b.error().message);
        continue;
      }
      const uint64_t msize = mem.size();
      if (b->size < size || b->addr > msize || b->size > msize - b->addr) fail("a scratch block outside guest memory");
      if (b->data != mem.base() + b->addr) fail("a scratch block's host address is not its guest address");
      // Arena blocks are carved as a stack: two live ones never share a byte. (A bump arena the
      // guest reset is dropped, and its blocks with it: a new arena may reuse that memory.)
      if (a->kind() != AllocatorKind::Bump)
        for (const ScratchBlock& o : live)
          if (b->arena && o.arena && b->addr < o.addr + o.size && o.addr < b->addr + b->size)
            fail("two live arena blocks overlap");
      std::memset(b->data, 0x5a, b->size);  // the marshaller writes arguments there
      live.push_back(*b);
    } else {
      ScratchBlock b = live.back();  // calls nest: the newest block ends first
      live.pop_back();
      auto r = a->end(inst.context(), mem, b);
      if (!r && r.error().kind != ErrorKind::Trap && r.error().kind != ErrorKind::Resource)
        fail("end: error kind", r.error().message);
    }
  }
  while (!live.empty()) {
    ScratchBlock b = live.back();
    live.pop_back();
    (void)a->end(inst.context(), mem, b);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 2)) {
    case 0: fuzz_units(in); break;
    case 1: fuzz_plans(in); break;
    default: fuzz_scratch(in); break;
  }
  return 0;
}
