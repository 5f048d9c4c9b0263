// Tests the scratch strategies: the canary arena over a wiping bump allocator, per-call blocks
// over a plain one, malloc-style arenas, and what happens when the guest resets mid-way.
#include <cstring>

#include <gtest/gtest.h>

#include "test_util.hpp"
#include "wasmffi/scratch.hpp"

using namespace wasmffi;
using namespace wasmffi::test;

namespace {

// A bump allocator; `wipe` decides whether bump_release zeroes what it frees (the SDK's contract).
std::string bump_wat(bool wipe) {
  std::string release = wipe ? "(memory.fill (local.get 0) (i32.const 0) (i32.sub (global.get $top) (local.get 0)))"
                             : "";
  return R"((module
    (memory (export "memory") 4)
    (global $top (mut i32) (i32.const 1024))
    (func (export "bump_alloc") (param i32) (result i32) (local $p i32)
      (local.set $p (global.get $top))
      (global.set $top (i32.and (i32.add (i32.add (global.get $top) (local.get 0)) (i32.const 15)) (i32.const -16)))
      (local.get $p))
    (func (export "bump_mark") (result i32) (global.get $top))
    (func $release (export "bump_release") (param i32) )" +
         release + R"( (global.set $top (local.get 0)))
    (func (export "bump_reset") (call $release (i32.const 1024)))))";
}

uint32_t top(const Loaded& l) { return static_cast<uint32_t>(l.i32("bump_mark")); }

}  // namespace

TEST(Scratch, FindsTheBumpAllocatorAndRefusesAMissingNamedOne) {
  Loaded l = load_wat(bump_wat(true));
  auto a = GuestAllocator::find(*l.instance, "auto", false);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->kind(), AllocatorKind::Bump);
  EXPECT_TRUE(a->has_mark());
  auto m = GuestAllocator::find(*l.instance, "malloc", false);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::Link);
  // The module's pointers are 32-bit: asking for 64-bit ones is a signature mismatch.
  auto w = GuestAllocator::find(*l.instance, "bump", true);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().message.find("bump_alloc"), std::string::npos);
}

TEST(Scratch, WipingBumpAllocatorUsesOneCanaryArenaAndNoticesAReset) {
  Loaded l = load_wat(bump_wat(true));
  GuestMemory mem = l.memory();
  GuestAllocator a = unwrap(GuestAllocator::find(*l.instance, "auto", false));
  ScratchBlock b = unwrap(a.begin(l.ctx(), mem, 64));
  const uint32_t after_arena = top(l);
  std::memset(b.data, 0x5a, 64);
  unwrap(a.end(l.ctx(), mem, b));
  EXPECT_EQ(std::memcmp(b.data, std::vector<uint8_t>(64, 0).data(), 64), 0);  // wiped
  ScratchBlock b2 = unwrap(a.begin(l.ctx(), mem, 64));
  EXPECT_EQ(b2.addr, b.addr);         // the same arena slot, reused
  EXPECT_EQ(top(l), after_arena);     // and no allocator call made for it
  unwrap(a.end(l.ctx(), mem, b2));
  unwrap(l.call("bump_reset"));       // the arena is freed (and its canary zeroed)
  ScratchBlock b3 = unwrap(a.begin(l.ctx(), mem, 64));
  EXPECT_GT(top(l), 1024u);           // a new arena was taken from the allocator
  unwrap(a.end(l.ctx(), mem, b3));
}

TEST(Scratch, ResetDuringTheCallLeavesTheGuestsNewDataAlone) {
  Loaded l = load_wat(bump_wat(true));
  GuestMemory mem = l.memory();
  GuestAllocator a = unwrap(GuestAllocator::find(*l.instance, "auto", false));
  ScratchBlock b = unwrap(a.begin(l.ctx(), mem, 64));
  unwrap(l.call("bump_reset"));  // as if the callee reset...
  const int32_t guest = l.i32("bump_alloc", {Value::i32v(256)});  // ...and reused the memory
  ASSERT_LE(static_cast<uint64_t>(guest), b.addr);
  std::memset(mem.base() + guest, 0x77, 256);
  unwrap(a.end(l.ctx(), mem, b));
  for (int i = 0; i < 256; ++i) ASSERT_EQ(mem.base()[guest + i], 0x77) << i;
}

TEST(Scratch, PlainBumpAllocatorGetsABlockPerCallReleasedAfterIt) {
  Loaded l = load_wat(bump_wat(false));
  GuestMemory mem = l.memory();
  GuestAllocator a = unwrap(GuestAllocator::find(*l.instance, "bump", false));
  const uint32_t start = top(l);
  ScratchBlock b = unwrap(a.begin(l.ctx(), mem, 40));
  EXPECT_FALSE(b.arena);
  std::memset(b.data, 0x5a, 40);
  unwrap(a.end(l.ctx(), mem, b));
  EXPECT_EQ(top(l), start);
  EXPECT_EQ(b.data[0], 0);  // wasmffi wiped it although the allocator does not
  // The guest allocates above the block during the call: the block is wiped, not released.
  ScratchBlock c = unwrap(a.begin(l.ctx(), mem, 16));
  const int32_t kept = l.i32("bump_alloc", {Value::i32v(16)});
  unwrap(a.end(l.ctx(), mem, c));
  EXPECT_EQ(top(l), static_cast<uint32_t>(kept) + 16);  // the guest's block is still allocated
}

TEST(Scratch, NoAllocatorIsAClearError) {
  Loaded l = load_wat(R"((module (memory (export "memory") 1)))");
  GuestMemory mem = l.memory();
  GuestAllocator a = unwrap(GuestAllocator::find(*l.instance, "auto", false));
  EXPECT_EQ(a.kind(), AllocatorKind::None);
  auto b = a.begin(l.ctx(), mem, 8);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("export an allocator"), std::string::npos);
}

// Found by tests/fuzz/fuzz_marshal.cpp (UBSan: pointer overflow in begin). An outer call's block
// came from an arena the guest reset during the call, and a nested call took a new arena above
// data the guest had allocated meanwhile. Ending the outer block wiped 64 bytes of that guest
// data, and set the arena's top to (old block - new arena), which wrapped: the next block was
// carved at the old arena's place, over the guest's data, by a pointer sum that overflowed.
// An arena block that is not the top of the current arena is no longer ours: it is left alone.
TEST(Scratch, AnOuterBlockOfAnArenaTheGuestDroppedIsLeftAlone) {
  Loaded l = load_wat(bump_wat(true));
  GuestMemory mem = l.memory();
  GuestAllocator a = unwrap(GuestAllocator::find(*l.instance, "auto", false));
  ScratchBlock outer = unwrap(a.begin(l.ctx(), mem, 64));
  ASSERT_TRUE(outer.arena);
  // During the call the guest resets its allocator and allocates 100 bytes of its own, where
  // the arena was.
  unwrap(l.call("bump_reset"), "bump_reset");
  const auto mine = static_cast<uint32_t>(l.i32("bump_alloc", {Value::i32v(100)}));
  std::memset(mem.base() + mine, 0x77, 100);
  ScratchBlock inner = unwrap(a.begin(l.ctx(), mem, 64));  // a nested call: a new arena
  EXPECT_GE(inner.addr, mine + 100);
  unwrap(a.end(l.ctx(), mem, inner));
  unwrap(a.end(l.ctx(), mem, outer));
  for (uint32_t i = 0; i < 100; ++i) ASSERT_EQ(mem.base()[mine + i], 0x77) << "guest byte " << i << " wiped";
  ScratchBlock next = unwrap(a.begin(l.ctx(), mem, 64));
  EXPECT_GE(next.addr, mine + 100);  // from the new arena, not over the guest's data
  EXPECT_EQ(next.addr, inner.addr);
  unwrap(a.end(l.ctx(), mem, next));
}
