// libFuzzer harness: module bytes -> compile, instantiate, call every exported function.
//
// The input is a wasm binary as it is (so a finding is a .wasm file any tool can load). Work is
// bounded: the engine meters fuel (a fixed allowance for the start function and for each call),
// the store caps memories, tables and instances, and at most kMaxCalls exports are called.
// Arguments are derived from the input's bytes (a hash seeds a generator that mixes edge values
// with random bit patterns), so a run is reproducible from the file alone.
//
// What must hold: compiling, instantiating and calling never crash or trip a sanitizer, every
// failure is an Error of the kind its step can produce with a message, a trapped instance stays
// usable, exported globals read back, and every exported memory's bytes [0, size) are readable
// through GuestMemory while anything past its size is refused.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "wasmffi/call.hpp"
#include "wasmffi/engine.hpp"
#include "wasmffi/global.hpp"
#include "wasmffi/instance.hpp"
#include "wasmffi/memory.hpp"
#include "wasmffi/module.hpp"

using namespace wasmffi;

namespace {

constexpr uint64_t kFuel = 200'000;
constexpr size_t kMaxCalls = 32;

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz_module: %s %s\n", what, detail.c_str());
  std::abort();
}

// Made on first use, not in LLVMFuzzerInitialize: wasmtime installs its trap handlers with the
// first engine, after libFuzzer's, so wasm traps reach wasmtime first and any other fault is
// passed on to libFuzzer's handler (a crash report) by wasmtime's.
const std::shared_ptr<Engine>& engine() {
  static std::shared_ptr<Engine> e = [] {
    EngineConfig c;
    c.consume_fuel = true;
    c.epoch_interruption = false;  // fuel bounds every call, deterministically; no ticker thread
    auto r = Engine::create(c);
    if (!r) fail("Engine::create:", r.error().message);
    return std::move(r).value();
  }();
  return e;
}

struct Rng {
  uint64_t s;
  uint64_t next() {  // splitmix64
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t bits() {
    static constexpr uint64_t kEdges[] = {0, 1, 2, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000,
                                          0xffffffff, 0x100000000ull, 0x7fffffffffffffffull,
                                          0x8000000000000000ull, ~uint64_t{0}, 0xfff0, 0x10000};
    const uint64_t r = next();
    switch (r & 3) {
      case 0: return kEdges[(r >> 8) % std::size(kEdges)];
      case 1: return (r >> 8) & 0xffff;  // small addresses and lengths
      default: return next();
    }
  }
};

Value arg_of(ValKind k, Rng& rng) {
  const uint64_t b = rng.bits();
  switch (k) {
    case ValKind::I64: return Value::i64v(static_cast<int64_t>(b));
    case ValKind::F32: {
      float f;
      const uint32_t u = static_cast<uint32_t>(b);
      std::memcpy(&f, &u, 4);
      return Value::f32v(f);
    }
    case ValKind::F64: {
      double d;
      std::memcpy(&d, &b, 8);
      return Value::f64v(d);
    }
    default: return Value::i32v(static_cast<int32_t>(static_cast<uint32_t>(b)));
  }
}

void check_error(const Error& e, const char* step, std::initializer_list<ErrorKind> allowed) {
  bool ok = false;
  for (ErrorKind k : allowed) ok |= e.kind == k;
  if (!ok) fail(step, "failed with an unexpected error kind " + std::to_string(int(e.kind)) + ": " + e.message);
  if (e.message.empty()) fail(step, "failed with an empty message");
}

void touch_memory(Instance& inst, const wasmtime_memory_t& m) {
  GuestMemory mem(inst.context(), m);
  const uint64_t size = mem.size();
  uint8_t buf[16];
  if (size >= sizeof buf) {
    if (!mem.read(0, buf).ok() || !mem.read(size - sizeof buf, buf).ok())
      fail("a read inside an exported memory was refused");
  }
  if (mem.read(size, std::span<uint8_t>(buf, 1)).ok()) fail("a read past an exported memory's end succeeded");
  if (mem.span(size - (size > 0), 2).ok()) fail("a span across an exported memory's end was granted");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto module = Module::compile(engine(), std::span<const uint8_t>(data, size));
  if (!module) {
    check_error(module.error(), "compile", {ErrorKind::Compile});
    return 0;
  }
  if (!(*module)->imports().empty()) return 0;  // no host functions here: it cannot link

  auto store = std::make_unique<Store>(engine());
  StoreLimits limits;
  limits.memory_size = int64_t{64} << 20;
  limits.table_elements = 100'000;
  limits.instances = 4;
  limits.tables = 4;
  limits.memories = 4;
  store->set_limits(limits);
  if (!store->set_fuel(kFuel).ok()) fail("set_fuel on a fuel engine failed");
  auto inst = Instance::create(*module, std::move(store), {});
  if (!inst) {
    check_error(inst.error(), "instantiate", {ErrorKind::Link, ErrorKind::Trap, ErrorKind::Resource});
    return 0;
  }
  Instance& in = **inst;

  uint64_t seed = 0xcbf29ce484222325ull;  // FNV-1a of the input: the arguments' generator
  for (size_t i = 0; i < size; ++i) seed = (seed ^ data[i]) * 0x100000001b3ull;
  Rng rng{seed};

  size_t calls = 0;
  for (const Export& e : in.exports()) {
    switch (e.kind) {
      case ExternKind::Func: {
        if (calls++ >= kMaxCalls) break;
        CallPlan plan = CallPlan::for_func(in.context(), e.item.of.func);
        if (!plan.all_scalar) break;
        std::vector<Value> args;
        for (ValKind k : plan.sig.params) args.push_back(arg_of(k, rng));
        if (!in.store().set_fuel(kFuel).ok()) fail("set_fuel failed");
        auto r = call(in.context(), e.item.of.func, plan, args);
        if (!r) {
          check_error(r.error(), "call", {ErrorKind::Trap, ErrorKind::Resource});
        } else if (r->size() != plan.sig.results.size()) {
          fail("call returned the wrong number of results");
        }
        break;
      }
      case ExternKind::Global: {
        auto v = global_get(in.context(), e.item.of.global);
        const GlobalDesc d = global_type(in.context(), e.item.of.global);
        if (v.ok() != is_scalar(d.content)) fail("global_get of a global of kind", val_kind_name(d.content));
        break;
      }
      case ExternKind::Memory: touch_memory(in, e.item.of.memory); break;
      default: break;
    }
  }
  return 0;
}
