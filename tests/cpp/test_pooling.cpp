// Pooled instance slots (EngineConfig::pooling_slots): the limit, slot reuse from a clean state, and
// a large memory's pages going back when its store closes (Store::release_at_close).
#include <unistd.h>

#include <array>
#include <fstream>
#include <string>

#include "test_util.hpp"

using namespace wasmffi;
using namespace wasmffi::test;

namespace {

// A data segment, a mutable global and a table: all state a reused slot must start without.
constexpr std::string_view kStateWat = R"((module
  (memory (export "memory") 1 100)
  (data (i32.const 16) "pristine")
  (global $g (export "g") (mut i32) (i32.const 7))
  (table 4 funcref)
  (func (export "get_g") (result i32) global.get $g)
  (func (export "set_g") (param i32) local.get 0 global.set $g)
  (func (export "poke") (param i32 i32) local.get 0 local.get 1 i32.store8)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)))";

std::shared_ptr<const Module> pooled_module(uint32_t slots) {
  EngineConfig cfg;
  cfg.pooling_slots = slots;
  auto engine = unwrap(Engine::create(cfg), "Engine::create");
  return unwrap(Module::from_wat(engine, kStateWat), "Module::from_wat");
}

std::string read8(const Loaded& l, uint64_t addr) {
  std::array<uint8_t, 8> buf{};
  unwrap(l.memory().read(addr, buf), "read");
  return std::string(buf.begin(), buf.end());
}

}  // namespace

TEST(Pooling, EngineRecordsItsSlots) {
  EngineConfig cfg;
  cfg.pooling_slots = 3;
  EXPECT_EQ(unwrap(Engine::create(cfg), "Engine::create")->config().pooling_slots, 3u);
  EXPECT_EQ(EngineConfig{}.pooling_slots, 0u);  // on demand unless asked for
}

TEST(Pooling, AnInstanceBeyondTheSlotsIsAResourceErrorAndAFreedSlotIsReused) {
  auto module = pooled_module(2);
  auto a = load_module(module);
  auto b = load_module(module);
  auto third = Instance::create(module);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().kind, ErrorKind::Resource);
  EXPECT_TRUE(is_no_free_slot(third.error()));
  EXPECT_NE(third.error().message.find("pooling_slots"), std::string::npos) << third.error().message;
  a.instance.reset();
  auto c = load_module(module);
  EXPECT_EQ(c.i32("get_g"), 7);
}

TEST(Pooling, AReusedSlotStartsFromTheModulesInitialState) {
  auto module = pooled_module(1);  // one slot: every instance below reuses it
  for (int round = 0; round < 3; ++round) {
    auto l = load_module(module);
    EXPECT_EQ(read8(l, 16), "pristine");
    EXPECT_EQ(l.i32("get_g"), 7);
    EXPECT_EQ(l.memory().size(), 65536u);
    unwrap(l.call("poke", {Value::i32v(16), Value::i32v('X')}), "poke");
    unwrap(l.call("set_g", {Value::i32v(99)}), "set_g");
    EXPECT_EQ(l.i32("grow", {Value::i32v(2)}), 1);
    EXPECT_EQ(read8(l, 16), "Xristine");
  }
}

namespace {

// touch(pages): grows the memory by `pages` and writes one byte in every 4 KiB page of it.
constexpr std::string_view kToucherWat = R"((module
  (memory (export "memory") 1)
  (data (i32.const 16) "pristine")
  (func (export "touch") (param $pages i32) (local $i i32) (local $end i32)
    (drop (memory.grow (local.get $pages)))
    (local.set $end (i32.mul (memory.size) (i32.const 65536)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (i32.store8 (local.get $i) (i32.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 4096)))
      (br $l))))))";

uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

std::shared_ptr<const Module> toucher(uint32_t slots) {
  EngineConfig cfg;
  cfg.pooling_slots = slots;
  return unwrap(Module::from_wat(unwrap(Engine::create(cfg), "Engine::create"), kToucherWat), "Module::from_wat");
}

}  // namespace

TEST(Pooling, ALargeMemorysPagesGoBackWhenItsStoreCloses) {
  // 256 slots: the engine batches slot resets 16 at a time (engine.cpp), so before
  // release_at_close the 64 MiB below stayed resident until 15 more instances were dropped.
  auto module = toucher(256);
  unwrap(load_module(module).call("touch", {Value::i32v(0)}), "touch");  // the engine's first-use memory
  const uint64_t base = resident_bytes();
  auto l = load_module(module);
  unwrap(l.call("touch", {Value::i32v(1024)}), "touch");  // 64 MiB
  EXPECT_GT(resident_bytes(), base + (48u << 20));
  l.instance.reset();
  EXPECT_LT(resident_bytes(), base + (16u << 20));
}

TEST(Pooling, ASlotWhosePagesWentBackEarlyStartsFromTheModulesInitialState) {
  auto module = toucher(1);  // one slot: the second instance reuses it
  {
    auto l = load_module(module);
    unwrap(l.call("touch", {Value::i32v(64)}), "touch");  // 4 MiB + 64 KiB: past kReleaseAtClose
    std::array<uint8_t, 1> one{};
    unwrap(l.memory().read(4096, one), "read");
    EXPECT_EQ(one[0], 1);
  }
  auto l = load_module(module);
  EXPECT_EQ(read8(l, 16), "pristine");  // the data segment is back, not zeros
  EXPECT_EQ(l.memory().size(), 65536u);
  std::array<uint8_t, 8> zeros{}, got{};
  unwrap(l.memory().read(4096, got), "read");
  EXPECT_EQ(got, zeros);
}
