// libFuzzer harness: (address, length, operation) sequences -> GuestMemory reads, writes, views
// (spans), typed loads and stores, pointer loads and grow, on a 32-bit or a 64-bit memory.
//
// The harness keeps a shadow copy of the memory and checks every operation against it: an
// access succeeds exactly when [addr, addr + len) lies within the current size (computed here in
// 128 bits), moves exactly the bytes the shadow says, never writes partially, and grow returns
// the previous page count and succeeds exactly when the memory's maximum and the store's limit
// allow it. The guest itself (an exported load8) must see the same bytes and trap past the end.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "wasmffi/call.hpp"
#include "fuzz_common.hpp"
#include "wasmffi/engine.hpp"
#include "wasmffi/instance.hpp"
#include "wasmffi/memory.hpp"
#include "wasmffi/module.hpp"

using namespace wasmffi;

namespace {

constexpr uint64_t kPage = 65536;
constexpr uint64_t kMaxPages = 16;  // both modules declare this maximum

constexpr const char* kHarness = "fuzz_memory";

[[noreturn]] void fail(const char* what, const std::string& detail = {}) { fuzz_common::fail(kHarness, what, detail); }

struct Modules {
  std::shared_ptr<Engine> engine;
  std::shared_ptr<const Module> m32, m64;
};

// Made on first use: wasmtime's trap handlers then go in after libFuzzer's (see fuzz_module.cpp).
const Modules& modules() {
  static Modules m = [] {
    Modules out;
    out.engine = fuzz_common::quiet_engine(kHarness);
    auto compile = [&](const char* wat) { return fuzz_common::compile(kHarness, out.engine, wat); };
    out.m32 = compile(R"((module (memory (export "memory") 1 16)
        (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))))");
    out.m64 = compile(R"((module (memory (export "memory") i64 1 16)
        (func (export "load8") (param i64) (result i32) (i32.load8_u (local.get 0)))))");
    return out;
  }();
  return m;
}

bool in_bounds(uint64_t addr, uint64_t len, uint64_t size) {
  return static_cast<unsigned __int128>(addr) + len <= size;
}

uint64_t pick_addr(FuzzedDataProvider& in, uint64_t size) {
  const uint64_t small = in.ConsumeIntegralInRange<uint64_t>(0, 70000);
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
    case 0: return small;
    case 1: return size - (small % 64);  // around the end, below it and (by wrap) far above
    case 2: return size + (small % 64);
    case 3: return (uint64_t{1} << 32) - (small % 64);
    case 4: return ~uint64_t{0} - (small % 64);
    default: return in.ConsumeIntegral<uint64_t>();
  }
}

uint64_t pick_len(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: return in.ConsumeIntegralInRange<uint64_t>(0, 16);
    case 1: return in.ConsumeIntegralInRange<uint64_t>(0, 4096);
    case 2: return ~uint64_t{0} - in.ConsumeIntegralInRange<uint64_t>(0, 16);
    default: return in.ConsumeIntegral<uint64_t>();
  }
}

template <class T>
void typed(FuzzedDataProvider& in, GuestMemory& mem, std::vector<uint8_t>& shadow) {
  const uint64_t addr = pick_addr(in, shadow.size());
  const bool ok = in_bounds(addr, sizeof(T), shadow.size());
  if (in.ConsumeBool()) {
    auto v = mem.load<T>(addr);
    if (v.ok() != ok) fail("load: bounds disagree at", std::to_string(addr));
    if (ok && std::memcmp(&*v, shadow.data() + addr, sizeof(T)) != 0) fail("load: wrong value");
  } else {
    const T v = in.ConsumeIntegral<T>();
    auto r = mem.store<T>(addr, v);
    if (r.ok() != ok) fail("store: bounds disagree at", std::to_string(addr));
    if (ok) std::memcpy(shadow.data() + addr, &v, sizeof(T));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const Modules& mods = modules();
  const bool is64 = in.ConsumeBool();
  auto store = std::make_unique<Store>(mods.engine);
  uint64_t limit_pages = kMaxPages;
  if (in.ConsumeBool()) {  // a max_memory= limit below the declared maximum
    limit_pages = in.ConsumeIntegralInRange<uint64_t>(1, kMaxPages);
    StoreLimits l;
    l.memory_size = static_cast<int64_t>(limit_pages * kPage);
    store->set_limits(l);
  }
  auto inst = Instance::create(is64 ? mods.m64 : mods.m32, std::move(store), {});
  if (!inst) fail("instantiate:", inst.error().message);
  Instance& i = **inst;
  GuestMemory mem(i.context(), i.export_get("memory")->item.of.memory);
  const wasmtime_func_t load8 = i.export_get("load8")->item.of.func;
  const CallPlan plan = CallPlan::for_func(i.context(), load8);
  if (mem.is64() != is64 || mem.address_limit() != (is64 ? UINT64_MAX : UINT32_MAX)) fail("memory type");

  std::vector<uint8_t> shadow(mem.size(), 0);
  std::vector<uint8_t> buf;
  for (int op = 0; op < 64 && in.remaining_bytes() > 0; ++op) {
    if (mem.size() != shadow.size() || mem.pages() * kPage != shadow.size()) fail("size changed behind our back");
    switch (in.ConsumeIntegralInRange<int>(0, 13)) {
      case 0: {  // read
        const uint64_t addr = pick_addr(in, shadow.size()), len = pick_len(in);
        // An in-bounds length is read whole; for others a small buffer, which may fit or not.
        buf.assign(in_bounds(addr, len, shadow.size()) ? len : in.ConsumeIntegralInRange<size_t>(0, 64), 0xee);
        auto r = mem.read(addr, buf);
        if (r.ok() != in_bounds(addr, buf.size(), shadow.size())) fail("read: bounds disagree at", std::to_string(addr));
        if (r.ok() && !buf.empty() && std::memcmp(buf.data(), shadow.data() + addr, buf.size()) != 0)
          fail("read: wrong bytes");
        if (!r.ok() && r.error().kind != ErrorKind::MemoryAccess) fail("read: error kind");
        if (!r.ok() && std::any_of(buf.begin(), buf.end(), [](uint8_t b) { return b != 0xee; }))
          fail("a refused read wrote its output");
        break;
      }
      case 1: {  // write
        const uint64_t addr = pick_addr(in, shadow.size());
        const size_t len = in.ConsumeIntegralInRange<size_t>(0, 4096);
        buf.resize(len);
        for (auto& b : buf) b = in.ConsumeIntegral<uint8_t>();
        const std::vector<uint8_t> before = shadow;
        auto r = mem.write(addr, buf);
        const bool ok = in_bounds(addr, len, shadow.size());
        if (r.ok() != ok) fail("write: bounds disagree at", std::to_string(addr));
        if (ok && len) std::memcpy(shadow.data() + addr, buf.data(), len);
        if (!ok && std::memcmp(mem.base(), before.data(), before.size()) != 0) fail("a refused write wrote");
        break;
      }
      case 2: {  // a view (the span every view and zero-copy access is made from)
        const uint64_t addr = pick_addr(in, shadow.size()), len = pick_len(in);
        auto s = mem.span(addr, len, "view");
        const bool ok = in_bounds(addr, len, shadow.size());
        if (s.ok() != ok) fail("span: bounds disagree at", std::to_string(addr));
        if (!ok) break;
        if (s->data() != mem.base() + addr || s->size() != len) fail("span: wrong place");
        if (len && std::memcmp(s->data(), shadow.data() + addr, len) != 0) fail("span: wrong bytes");
        if (len) {
          const uint8_t v = in.ConsumeIntegral<uint8_t>();
          (*s)[len - 1] = v;
          (*s)[0] = v;
          shadow[addr] = shadow[addr + len - 1] = v;
        }
        break;
      }
      case 3: {  // grow
        const uint64_t pages = shadow.size() / kPage;
        const uint64_t delta = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0, 20) : in.ConsumeIntegral<uint64_t>();
        auto r = mem.grow(delta);
        const bool ok = delta <= limit_pages - pages;
        if (r.ok() != ok) fail("grow: disagrees for delta", std::to_string(delta));
        if (ok && *r != pages) fail("grow: wrong previous size");
        if (!ok && r.error().kind != ErrorKind::Resource) fail("grow: error kind");
        if (ok) shadow.resize((pages + delta) * kPage, 0);
        break;
      }
      case 4: typed<uint8_t>(in, mem, shadow); break;
      case 5: typed<uint16_t>(in, mem, shadow); break;
      case 6: typed<uint32_t>(in, mem, shadow); break;
      case 7: typed<uint64_t>(in, mem, shadow); break;
      case 8: typed<int32_t>(in, mem, shadow); break;
      case 9: {  // pointer-sized field
        const uint64_t addr = pick_addr(in, shadow.size());
        const uint64_t w = is64 ? 8 : 4;
        auto p = mem.load_pointer(addr);
        const bool ok = in_bounds(addr, w, shadow.size());
        if (p.ok() != ok) fail("load_pointer: bounds disagree");
        uint64_t want = 0;
        if (ok) std::memcpy(&want, shadow.data() + addr, w);
        if (ok && *p != want) fail("load_pointer: wrong value");
        break;
      }
      case 10: {  // the guest's own view of the same bytes
        const uint64_t addr = pick_addr(in, shadow.size());
        const Value arg = is64 ? Value::i64v(static_cast<int64_t>(addr))
                               : Value::i32v(static_cast<int32_t>(static_cast<uint32_t>(addr)));
        auto r = call(i.context(), load8, plan, std::span<const Value>(&arg, 1));
        const uint64_t guest_addr = is64 ? addr : uint64_t{static_cast<uint32_t>(addr)};
        const bool ok = guest_addr < shadow.size();
        if (r.ok() != ok) fail("load8: the guest disagrees about bounds at", std::to_string(guest_addr));
        if (ok && static_cast<uint8_t>((*r)[0].of.i32) != shadow[guest_addr]) fail("load8: the guest sees other bytes");
        if (!ok && (r.error().kind != ErrorKind::Trap || r.error().trap != TrapKind::MemoryOutOfBounds))
          fail("load8 past the end:", r.error().message);
        break;
      }
      case 11: {  // read into (and write from) the memory itself: overlapping ranges
        const uint64_t len = in.ConsumeIntegralInRange<uint64_t>(0, 300);
        const uint64_t src = pick_addr(in, shadow.size()), dst = pick_addr(in, shadow.size());
        if (!in_bounds(dst, len, shadow.size())) break;
        std::span<uint8_t> out(mem.base() + dst, len);
        const bool ok = in_bounds(src, len, shadow.size());
        const bool into = in.ConsumeBool();
        auto r = into ? mem.read(src, out) : mem.write(src, std::span<const uint8_t>(out));
        if (r.ok() != ok) fail("aliasing access: bounds disagree");
        if (ok && len) {  // read: [dst) <- [src); write: [src) <- [dst); either may overlap
          if (into) std::memmove(shadow.data() + dst, shadow.data() + src, len);
          else std::memmove(shadow.data() + src, shadow.data() + dst, len);
        }
        break;
      }
      case 12: {  // compare everything (cheap for the sizes here)
        if (std::memcmp(mem.base(), shadow.data(), shadow.size()) != 0) fail("memory differs from the shadow");
        break;
      }
      default: {  // the error text names the access
        const uint64_t addr = pick_addr(in, shadow.size());
        auto r = mem.span(addr, 1 + (in.ConsumeIntegral<uint8_t>() & 15), "probe");
        if (!r.ok() && r.error().message.find("probe of") != 0) fail("message:", r.error().message);
        break;
      }
    }
  }
  if (std::memcmp(mem.base(), shadow.data(), shadow.size()) != 0) fail("memory differs from the shadow");
  return 0;
}
