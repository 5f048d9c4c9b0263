// Tests GuestMemory: checked host access, bounds errors, growth, and memories above 2 GiB and 4 GiB (memory64).
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace wasmffi;
using namespace wasmffi::test;

namespace {

constexpr uint64_t kPage = 65536;

const char* kSmall = R"((module
  (memory (export "memory") 1 4)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "pages") (result i32) memory.size)
))";

// Fills [addr, addr+len) with a recognisable pattern and returns it.
std::vector<uint8_t> paint(GuestMemory& mem, uint64_t addr, size_t len, uint8_t seed) {
  std::vector<uint8_t> p(len);
  for (size_t i = 0; i < len; ++i) p[i] = static_cast<uint8_t>(seed + i * 7);
  unwrap(mem.write(addr, p), "paint");
  return p;
}

std::vector<uint8_t> snapshot(const GuestMemory& mem, uint64_t addr, size_t len) {
  std::vector<uint8_t> out(len);
  unwrap(mem.read(addr, out), "snapshot");
  return out;
}

void expect_oob(const Error& e, uint64_t addr) {
  EXPECT_EQ(e.kind, ErrorKind::MemoryAccess);
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(addr));
  EXPECT_NE(e.message.find(hex), std::string::npos) << "address " << hex << " not in: " << e.message;
}

}  // namespace

class SmallMemory : public ::testing::Test {
 protected:
  Loaded l = load_wat(kSmall);
  GuestMemory mem = l.memory();
};

// ---------------------------------------------------------------------------------------------
// Basic access

TEST_F(SmallMemory, DescribesItsTypeAndSize) {
  EXPECT_EQ(mem.size(), kPage);
  EXPECT_EQ(mem.pages(), 1u);
  EXPECT_EQ(mem.page_size(), kPage);
  EXPECT_FALSE(mem.is64());
  EXPECT_EQ(mem.address_limit(), uint64_t{UINT32_MAX});
  EXPECT_EQ(mem.desc().min_pages, 1u);
  EXPECT_TRUE(mem.desc().has_max);
  EXPECT_EQ(mem.desc().max_pages, 4u);
  EXPECT_NE(mem.base(), nullptr);
  EXPECT_EQ(mem.context(), l.ctx());
}

TEST_F(SmallMemory, WriteThenReadRoundTrips) {
  const std::vector<uint8_t> data = {1, 2, 3, 4, 5, 250, 251, 252};
  ASSERT_TRUE(mem.write(100, data).ok());
  std::vector<uint8_t> out(data.size());
  ASSERT_TRUE(mem.read(100, out).ok());
  EXPECT_EQ(out, data);
  // The bytes are really at base() + addr.
  EXPECT_EQ(mem.base()[100], 1);
  EXPECT_EQ(mem.base()[107], 252);
}

TEST_F(SmallMemory, SpanAliasesGuestMemory) {
  auto s = mem.span(1000, 16);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->size(), 16u);
  EXPECT_EQ(s->data(), mem.base() + 1000);
  std::iota(s->begin(), s->end(), uint8_t{0x40});
  EXPECT_EQ(unwrap(mem.load<uint8_t>(1015)), 0x4F);
  // The guest sees what the host wrote through the span.
  EXPECT_EQ(static_cast<uint32_t>(l.i32("load", {Value::i32v(1000)})), 0x43424140u);
}

TEST_F(SmallMemory, TypedLoadStoreAreLittleEndianAndSharedWithGuest) {
  ASSERT_TRUE(mem.store<uint32_t>(64, 0x11223344u).ok());
  EXPECT_EQ(unwrap(mem.load<uint8_t>(64)), 0x44);
  EXPECT_EQ(unwrap(mem.load<uint8_t>(67)), 0x11);
  EXPECT_EQ(static_cast<uint32_t>(l.i32("load", {Value::i32v(64)})), 0x11223344u);

  ASSERT_TRUE(l.call("store", {Value::i32v(128), Value::i32v(as_i32(0xA1B2C3D4u))}).ok());
  EXPECT_EQ(unwrap(mem.load<uint32_t>(128)), 0xA1B2C3D4u);
  EXPECT_EQ(unwrap(mem.load<uint16_t>(130)), 0xA1B2u);

  ASSERT_TRUE(mem.store<double>(256, -1.5).ok());
  EXPECT_EQ(unwrap(mem.load<double>(256)), -1.5);
  ASSERT_TRUE(mem.store<int64_t>(264, INT64_MIN).ok());
  EXPECT_EQ(unwrap(mem.load<int64_t>(264)), INT64_MIN);
  // Unaligned accesses are fine.
  ASSERT_TRUE(mem.store<uint64_t>(301, 0x0102030405060708ull).ok());
  EXPECT_EQ(unwrap(mem.load<uint64_t>(301)), 0x0102030405060708ull);
}

TEST_F(SmallMemory, LoadPointerReadsUnsigned32BitAddress) {
  ASSERT_TRUE(mem.store<uint32_t>(8, 0xFFFFFFF0u).ok());
  ASSERT_TRUE(mem.store<uint32_t>(12, 0xFFFFFFFFu).ok());  // must not leak into the result
  auto p = mem.load_pointer(8);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(*p, uint64_t{0xFFFFFFF0});  // zero-extended, not sign-extended
  ASSERT_TRUE(mem.load_pointer(kPage - 4).ok());
  auto bad = mem.load_pointer(kPage - 3);
  ASSERT_FALSE(bad.ok());
  expect_oob(bad.error(), kPage - 3);
}

TEST_F(SmallMemory, EmptyAccessesAtTheEndAreAllowed) {
  auto s = mem.span(kPage, 0);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->empty());
  EXPECT_TRUE(mem.write(kPage, std::span<const uint8_t>()).ok());
  std::vector<uint8_t> none;
  EXPECT_TRUE(mem.read(0, none).ok());
  auto last = mem.span(kPage - 1, 1);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Out of bounds: refused, and nothing written

TEST_F(SmallMemory, AccessAtExactlySizeIsOutOfBounds) {
  auto s = mem.span(kPage, 1);
  ASSERT_FALSE(s.ok());
  expect_oob(s.error(), kPage);
  auto ld = mem.load<uint8_t>(kPage);
  ASSERT_FALSE(ld.ok());
  EXPECT_EQ(ld.error().kind, ErrorKind::MemoryAccess);
  auto before = snapshot(mem, kPage - 16, 16);
  const uint8_t one[1] = {0xEE};
  auto w = mem.write(kPage, one);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind, ErrorKind::MemoryAccess);
  EXPECT_EQ(snapshot(mem, kPage - 16, 16), before);
  // Even an empty access just past the end is refused.
  EXPECT_FALSE(mem.span(kPage + 1, 0).ok());
}

TEST_F(SmallMemory, TwoBytesAtSizeMinusOneFailWithoutPartialWrite) {
  auto before = paint(mem, kPage - 8, 8, 0x30);
  const uint8_t two[2] = {0xEE, 0xEF};
  auto w = mem.write(kPage - 1, two);
  ASSERT_FALSE(w.ok());
  expect_oob(w.error(), kPage - 1);
  EXPECT_EQ(snapshot(mem, kPage - 8, 8), before) << "the byte at size-1 must not be written";
  auto st = mem.store<uint16_t>(kPage - 1, 0xBEEF);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::MemoryAccess);
  EXPECT_EQ(snapshot(mem, kPage - 8, 8), before);
  auto st64 = mem.store<uint64_t>(kPage - 4, ~uint64_t{0});
  ASSERT_FALSE(st64.ok());
  EXPECT_EQ(snapshot(mem, kPage - 8, 8), before);
  std::array<uint8_t, 2> out{0x11, 0x22};
  auto r = mem.read(kPage - 1, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(out[0], 0x11) << "a failed read must not fill the output either";
  EXPECT_EQ(out[1], 0x22);
}

TEST_F(SmallMemory, AddressUint64MaxIsOutOfBounds) {
  auto head = paint(mem, 0, 16, 0x70);
  auto tail = paint(mem, kPage - 16, 16, 0x90);
  auto s = mem.span(UINT64_MAX, 1);
  ASSERT_FALSE(s.ok());
  expect_oob(s.error(), UINT64_MAX);
  EXPECT_FALSE(mem.span(UINT64_MAX, 0).ok());
  const uint8_t b[1] = {0xEE};
  auto w = mem.write(UINT64_MAX, b);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind, ErrorKind::MemoryAccess);
  EXPECT_FALSE(mem.store<uint32_t>(UINT64_MAX, 1).ok());
  EXPECT_FALSE(mem.load<uint32_t>(UINT64_MAX).ok());
  EXPECT_EQ(snapshot(mem, 0, 16), head);
  EXPECT_EQ(snapshot(mem, kPage - 16, 16), tail);
}

TEST_F(SmallMemory, LengthUint64MaxIsOutOfBounds) {
  auto s = mem.span(0, UINT64_MAX);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::MemoryAccess);
  EXPECT_NE(s.error().message.find(std::to_string(UINT64_MAX)), std::string::npos) << s.error().message;
  EXPECT_FALSE(mem.span(1, UINT64_MAX).ok());
  EXPECT_FALSE(mem.span(kPage, UINT64_MAX).ok());
}

TEST_F(SmallMemory, AddressPlusLengthOverflowing64BitsIsOutOfBounds) {
  auto head = paint(mem, 0, 32, 0x10);
  auto tail = paint(mem, kPage - 32, 32, 0x50);
  // addr + len wraps to a small number (16 + UINT64_MAX - 7 == 8 mod 2^64).
  auto s = mem.span(16, UINT64_MAX - 7);
  ASSERT_FALSE(s.ok());
  expect_oob(s.error(), 16);
  // addr + len wraps to exactly 0 and to exactly size.
  EXPECT_FALSE(mem.span(UINT64_MAX - 1, 2).ok());
  EXPECT_FALSE(mem.span(UINT64_MAX - kPage + 1, kPage).ok());
  EXPECT_FALSE(mem.span(kPage - 4, UINT64_MAX - kPage + 8).ok());
  // A write whose end wraps around to inside memory must not touch byte 0 or the tail.
  const uint8_t four[4] = {0xEE, 0xEE, 0xEE, 0xEE};
  auto w = mem.write(UINT64_MAX - 1, four);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind, ErrorKind::MemoryAccess);
  EXPECT_FALSE(mem.store<uint64_t>(UINT64_MAX - 3, ~uint64_t{0}).ok());
  EXPECT_EQ(snapshot(mem, 0, 32), head);
  EXPECT_EQ(snapshot(mem, kPage - 32, 32), tail);
}

TEST(Memory, OutOfBoundsMessageNamesAddressLengthAndSize) {
  Error e = out_of_bounds("read", 0xfffffffcull, 8, 65536);
  EXPECT_EQ(e.kind, ErrorKind::MemoryAccess);
  EXPECT_NE(e.message.find("read"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("0xfffffffc"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("8 byte"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("65536"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("0x10000"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("out of bounds"), std::string::npos) << e.message;
}

TEST_F(SmallMemory, FailedAccessMessageReportsTheRequest) {
  auto s = mem.span(0x12345, 77);
  ASSERT_FALSE(s.ok());
  const std::string& msg = s.error().message;
  EXPECT_NE(msg.find("0x12345"), std::string::npos) << msg;
  EXPECT_NE(msg.find("77 byte"), std::string::npos) << msg;
  EXPECT_NE(msg.find("65536"), std::string::npos) << msg;
}

// ---------------------------------------------------------------------------------------------
// Growth

TEST_F(SmallMemory, GrowReturnsPreviousPagesAndKeepsBaseAndData) {
  uint8_t* base = mem.base();
  ASSERT_TRUE(mem.store<uint32_t>(kPage - 4, 0xFEEDF00Du).ok());
  auto old_span = mem.span(kPage - 4, 4);
  ASSERT_TRUE(old_span.ok());

  auto g = mem.grow(2);
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(*g, 1u);
  EXPECT_EQ(mem.pages(), 3u);
  EXPECT_EQ(mem.size(), 3 * kPage);
  EXPECT_EQ(mem.base(), base) << "memories never move";
  EXPECT_EQ(unwrap(mem.load<uint32_t>(kPage - 4)), 0xFEEDF00Du);
  // A span taken before growth still aliases the same bytes.
  (*old_span)[0] = 0x01;
  EXPECT_EQ(unwrap(mem.load<uint8_t>(kPage - 4)), 0x01);
  // The new pages are zeroed and usable by host and guest.
  EXPECT_EQ(unwrap(mem.load<uint64_t>(3 * kPage - 8)), 0u);
  ASSERT_TRUE(mem.store<uint32_t>(3 * kPage - 4, 77).ok());
  EXPECT_EQ(l.i32("load", {Value::i32v(static_cast<int32_t>(3 * kPage - 4))}), 77);
  EXPECT_EQ(l.i32("pages"), 3);

  auto g0 = mem.grow(0);
  ASSERT_TRUE(g0.ok());
  EXPECT_EQ(*g0, 3u);
  EXPECT_EQ(mem.pages(), 3u);
}

TEST_F(SmallMemory, GrowBeyondMaximumFailsAndLeavesSize) {
  uint8_t* base = mem.base();
  auto g = mem.grow(4);  // 1 + 4 > max 4
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().kind, ErrorKind::Resource);
  EXPECT_NE(g.error().message.find("cannot grow memory of 1 page(s) by 4 page(s)"), std::string::npos)
      << g.error().message;
  EXPECT_EQ(mem.pages(), 1u);
  EXPECT_EQ(mem.base(), base);
  // Up to the maximum is fine, one more page is not.
  ASSERT_TRUE(mem.grow(3).ok());
  EXPECT_EQ(mem.pages(), 4u);
  EXPECT_FALSE(mem.grow(1).ok());
  EXPECT_EQ(mem.pages(), 4u);
  EXPECT_FALSE(mem.grow(UINT64_MAX).ok());
}

TEST_F(SmallMemory, GuestGrowthIsVisibleToHost) {
  uint8_t* base = mem.base();
  EXPECT_EQ(l.i32("grow", {Value::i32v(1)}), 1);
  EXPECT_EQ(mem.pages(), 2u);
  EXPECT_EQ(mem.size(), 2 * kPage);
  EXPECT_EQ(mem.base(), base);
  EXPECT_TRUE(mem.store<uint32_t>(2 * kPage - 4, 1).ok());
  EXPECT_FALSE(mem.store<uint32_t>(2 * kPage, 1).ok());
  EXPECT_EQ(l.i32("grow", {Value::i32v(10)}), -1);  // past max: memory.grow reports failure
  EXPECT_EQ(mem.pages(), 2u);
}

TEST(Memory, Memory64GrowthIsCappedByTheReservation) {
  // Default engine: 4 GiB reservation and memories that never move, so an unbounded memory64
  // can grow to exactly 4 GiB and no further.
  Loaded l = load_wat(R"((module (memory (export "memory") i64 1)))");
  GuestMemory mem = l.memory();
  uint8_t* base = mem.base();
  auto g = mem.grow(65535);
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(mem.size(), uint64_t{4} << 30);
  EXPECT_EQ(mem.base(), base);
  auto more = mem.grow(1);
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.error().kind, ErrorKind::Resource);
  EXPECT_EQ(mem.size(), uint64_t{4} << 30);
  EXPECT_EQ(mem.base(), base);
}

// ---------------------------------------------------------------------------------------------
// Host buffers shared with a compiled C guest

TEST(Memory, ArithGuestSumsAndFillsHostBuffers) {
  Loaded l = load_guest("arith.wasm");
  GuestMemory mem = l.memory();
  const uint32_t ptr = static_cast<uint32_t>(l.i32("buffer_ptr"));
  const uint32_t len = static_cast<uint32_t>(l.i32("buffer_len"));
  ASSERT_EQ(len, 4096u);
  ASSERT_TRUE(mem.span(ptr, len).ok());

  std::vector<uint8_t> data(len);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
  ASSERT_TRUE(mem.write(ptr, data).ok());
  const uint32_t expected = std::accumulate(data.begin(), data.end(), 0u);
  EXPECT_EQ(static_cast<uint32_t>(l.i32("sum_bytes", {Value::i32v(as_i32(ptr)), Value::i32v(as_i32(len))})),
            expected);

  ASSERT_TRUE(l.call("fill_bytes", {Value::i32v(as_i32(ptr + 10)), Value::i32v(5), Value::i32v(0xAB)}).ok());
  auto out = snapshot(mem, ptr + 8, 9);
  EXPECT_EQ(out, (std::vector<uint8_t>{8, 9, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 15, 16}));
}

TEST(Memory, MultipleMemoriesAreIndependent) {
  Loaded l = load_wat(R"((module
      (memory $a (export "a") 1)
      (memory $b (export "b") 2)
      (func (export "load_b") (param i32) (result i32) local.get 0 i32.load $b)))");
  GuestMemory a = l.memory("a");
  GuestMemory b = l.memory("b");
  EXPECT_EQ(a.pages(), 1u);
  EXPECT_EQ(b.pages(), 2u);
  EXPECT_NE(a.base(), b.base());
  ASSERT_TRUE(a.store<uint32_t>(0, 111).ok());
  ASSERT_TRUE(b.store<uint32_t>(0, 222).ok());
  ASSERT_TRUE(b.store<uint32_t>(kPage + 4, 333).ok());
  EXPECT_EQ(unwrap(a.load<uint32_t>(0)), 111u);
  EXPECT_EQ(l.i32("load_b", {Value::i32v(0)}), 222);
  EXPECT_EQ(l.i32("load_b", {Value::i32v(kPage + 4)}), 333);
  EXPECT_FALSE(a.store<uint32_t>(kPage + 4, 1).ok());
}

// ---------------------------------------------------------------------------------------------
// 32-bit memory just over 2 GiB: addresses with the top bit set

namespace {
const char* kOver2GiB = R"((module
  (memory (export "memory") 32769)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "load8") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "pages") (result i32) memory.size)
))";
constexpr uint64_t k2GiB = uint64_t{1} << 31;
constexpr uint64_t kOver2Size = 32769 * kPage;  // 0x80010000
}  // namespace

class Over2GiB : public ::testing::Test {
 protected:
  Loaded l = load_wat(kOver2GiB);
  GuestMemory mem = l.memory();
};

TEST_F(Over2GiB, SizeIsJustOver2GiB) {
  EXPECT_EQ(mem.pages(), 32769u);
  EXPECT_EQ(mem.size(), kOver2Size);
  EXPECT_EQ(mem.size(), uint64_t{0x80010000});
  EXPECT_EQ(l.i32("pages"), 32769);
}

TEST_F(Over2GiB, HostAccessAt2GiBRoundTrips) {
  ASSERT_TRUE(mem.store<uint64_t>(k2GiB, 0x1122334455667788ull).ok());
  EXPECT_EQ(unwrap(mem.load<uint64_t>(k2GiB)), 0x1122334455667788ull);
  EXPECT_EQ(mem.base()[k2GiB], 0x88);
  auto s = mem.span(k2GiB, 8);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->data(), mem.base() + k2GiB);
}

TEST_F(Over2GiB, HostAccessAtTheLastBytes) {
  ASSERT_TRUE(mem.store<uint32_t>(kOver2Size - 4, 0xDEADBEEFu).ok());
  EXPECT_EQ(unwrap(mem.load<uint32_t>(kOver2Size - 4)), 0xDEADBEEFu);
  ASSERT_TRUE(mem.store<uint8_t>(0x8000FFFF, 0x5C).ok());
  EXPECT_EQ(unwrap(mem.load<uint8_t>(0x8000FFFF)), 0x5C);
  auto past = mem.store<uint32_t>(kOver2Size - 3, 0);
  ASSERT_FALSE(past.ok());
  expect_oob(past.error(), kOver2Size - 3);
  EXPECT_EQ(unwrap(mem.load<uint32_t>(kOver2Size - 4)), 0x5CADBEEFu) << "failed store must not write";
  EXPECT_FALSE(mem.load<uint8_t>(0xFFFFFFFF).ok());
  EXPECT_FALSE(mem.span(0xFFFFFFF0, 16).ok());
}

TEST_F(Over2GiB, HostAccessAcrossThe2GiBBoundary) {
  const std::vector<uint8_t> data = {1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_TRUE(mem.write(0x7FFFFFFC, data).ok());
  EXPECT_EQ(snapshot(mem, 0x7FFFFFFC, 8), data);
  EXPECT_EQ(unwrap(mem.load<uint32_t>(0x7FFFFFFE)), 0x06050403u);
  ASSERT_TRUE(mem.store<uint16_t>(0x7FFFFFFF, 0xA0B0).ok());
  EXPECT_EQ(unwrap(mem.load<uint8_t>(0x7FFFFFFF)), 0xB0);
  EXPECT_EQ(unwrap(mem.load<uint8_t>(0x80000000)), 0xA0);
}

TEST_F(Over2GiB, GuestAddressesWithTopBitSetAreUnsigned) {
  // The guest's i32 address 0x80000000 arrives as INT32_MIN; wasm treats it as unsigned.
  ASSERT_TRUE(l.call("store", {Value::i32v(as_i32(0x80000000u)), Value::i32v(as_i32(0xCAFEF00Du))}).ok());
  EXPECT_EQ(unwrap(mem.load<uint32_t>(k2GiB)), 0xCAFEF00Du);
  ASSERT_TRUE(mem.store<uint32_t>(0x80000010, 0x0BADC0DEu).ok());
  EXPECT_EQ(static_cast<uint32_t>(l.i32("load", {Value::i32v(as_i32(0x80000010u))})), 0x0BADC0DEu);
  // Nothing was written at the sign-wrapped (negative) address interpretation.
  EXPECT_EQ(unwrap(mem.load<uint32_t>(0)), 0u);
}

TEST_F(Over2GiB, GuestAccessAcrossThe2GiBBoundary) {
  ASSERT_TRUE(l.call("store", {Value::i32v(0x7FFFFFFE), Value::i32v(as_i32(0x44332211u))}).ok());
  EXPECT_EQ(unwrap(mem.load<uint8_t>(0x7FFFFFFE)), 0x11);
  EXPECT_EQ(unwrap(mem.load<uint8_t>(0x7FFFFFFF)), 0x22);
  EXPECT_EQ(unwrap(mem.load<uint8_t>(0x80000000)), 0x33);
  EXPECT_EQ(unwrap(mem.load<uint8_t>(0x80000001)), 0x44);
  const std::vector<uint8_t> data = {0xA1, 0xA2, 0xA3, 0xA4};
  ASSERT_TRUE(mem.write(0x7FFFFFFD, data).ok());
  EXPECT_EQ(static_cast<uint32_t>(l.i32("load", {Value::i32v(0x7FFFFFFD)})), 0xA4A3A2A1u);
}

TEST_F(Over2GiB, GuestAccessNearTheEnd) {
  ASSERT_TRUE(l.call("store", {Value::i32v(as_i32(0x8000FFFCu)), Value::i32v(-2)}).ok());
  EXPECT_EQ(unwrap(mem.load<int32_t>(0x8000FFFC)), -2);
  EXPECT_EQ(l.i32("load8", {Value::i32v(as_i32(0x8000FFFFu))}), 0xFF);
  auto past = l.call("load", {Value::i32v(as_i32(0x8000FFFDu))});
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().trap, TrapKind::MemoryOutOfBounds);
  auto top = l.call("load8", {Value::i32v(-1)});  // 0xFFFFFFFF: beyond the end, not "-1"
  ASSERT_FALSE(top.ok());
  EXPECT_EQ(top.error().trap, TrapKind::MemoryOutOfBounds);
}

TEST_F(Over2GiB, LoadPointerAboveTwoGiB) {
  ASSERT_TRUE(mem.store<uint32_t>(0x80000100, 0x80000200u).ok());
  auto p = mem.load_pointer(0x80000100);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, uint64_t{0x80000200});
  ASSERT_TRUE(mem.store<uint32_t>(*p, 42).ok());
  EXPECT_EQ(l.i32("load", {Value::i32v(as_i32(static_cast<uint32_t>(*p)))}), 42);
}

// ---------------------------------------------------------------------------------------------
// memory64 just over 4 GiB: addresses that need all 64 bits

namespace {
const char* kOver4GiB = R"((module
  (memory (export "memory") i64 65537)
  (func (export "load") (param i64) (result i64) local.get 0 i64.load)
  (func (export "store") (param i64 i64) local.get 0 local.get 1 i64.store)
  (func (export "load8") (param i64) (result i32) local.get 0 i32.load8_u)
  (func (export "pages") (result i64) memory.size)
))";
constexpr uint64_t k4GiB = uint64_t{1} << 32;
constexpr uint64_t kOver4Size = 65537 * kPage;  // 0x100010000

std::shared_ptr<Engine> engine_16gib() {
  EngineConfig cfg;
  cfg.memory_reservation = uint64_t{16} << 30;
  return unwrap(Engine::create(cfg), "Engine::create(16 GiB)");
}
}  // namespace

class Over4GiB : public ::testing::Test {
 protected:
  std::shared_ptr<Engine> engine = engine_16gib();
  Loaded l = load_wat(kOver4GiB, engine);
  GuestMemory mem = l.memory();
};

TEST_F(Over4GiB, SizeIsJustOver4GiBAndAddressesAre64Bit) {
  EXPECT_EQ(engine->config().memory_reservation, uint64_t{16} << 30);
  EXPECT_TRUE(mem.is64());
  EXPECT_EQ(mem.address_limit(), UINT64_MAX);
  EXPECT_EQ(mem.pages(), 65537u);
  EXPECT_EQ(mem.size(), kOver4Size);
  EXPECT_EQ(l.i64("pages"), 65537);
}

TEST_F(Over4GiB, HostAccessAbove4GiBRoundTrips) {
  for (uint64_t k : {uint64_t{0}, uint64_t{8}, uint64_t{0x1234}, kPage - 8}) {
    const uint64_t addr = k4GiB + k;
    ASSERT_TRUE(mem.store<uint64_t>(addr, addr ^ 0xA5A5A5A5A5A5A5A5ull).ok()) << std::hex << addr;
    EXPECT_EQ(unwrap(mem.load<uint64_t>(addr)), addr ^ 0xA5A5A5A5A5A5A5A5ull);
  }
  // Truncating the address to 32 bits would have hit low memory instead.
  EXPECT_EQ(unwrap(mem.load<uint64_t>(0)), 0u);
  EXPECT_EQ(unwrap(mem.load<uint64_t>(8)), 0u);
  EXPECT_EQ(unwrap(mem.load<uint64_t>(0x1234)), 0u);
}

TEST_F(Over4GiB, GuestAccessAbove4GiBWithI64Addresses) {
  const uint64_t addr = k4GiB + 0x40;
  ASSERT_TRUE(l.call("store", {Value::i64v(as_i64(addr)), Value::i64v(INT64_MIN + 5)}).ok());
  EXPECT_EQ(unwrap(mem.load<int64_t>(addr)), INT64_MIN + 5);
  EXPECT_EQ(unwrap(mem.load<int64_t>(0x40)), 0) << "guest address must not be truncated to 32 bits";
  ASSERT_TRUE(mem.store<uint64_t>(k4GiB + 0x80, 0x0102030405060708ull).ok());
  EXPECT_EQ(l.i64("load", {Value::i64v(as_i64(k4GiB + 0x80))}), 0x0102030405060708);
  EXPECT_EQ(l.i32("load8", {Value::i64v(as_i64(k4GiB + 0x80))}), 0x08);
}

TEST_F(Over4GiB, AccessAcrossThe4GiBBoundary) {
  ASSERT_TRUE(mem.store<uint64_t>(k4GiB - 4, 0x8877665544332211ull).ok());
  EXPECT_EQ(unwrap(mem.load<uint32_t>(k4GiB - 4)), 0x44332211u);
  EXPECT_EQ(unwrap(mem.load<uint32_t>(k4GiB)), 0x88776655u);
  EXPECT_EQ(l.i64("load", {Value::i64v(as_i64(k4GiB - 4))}), as_i64(0x8877665544332211ull));
  ASSERT_TRUE(l.call("store", {Value::i64v(as_i64(k4GiB - 2)), Value::i64v(-1)}).ok());
  EXPECT_EQ(unwrap(mem.load<uint16_t>(k4GiB - 2)), 0xFFFFu);
  EXPECT_EQ(unwrap(mem.load<uint16_t>(k4GiB + 4)), 0xFFFFu);
  EXPECT_EQ(unwrap(mem.load<uint16_t>(k4GiB + 6)), 0u);
  EXPECT_EQ(unwrap(mem.load<uint16_t>(k4GiB - 4)), 0x2211u);
}

TEST_F(Over4GiB, EndOfMemoryIsEnforcedByHostAndGuest) {
  ASSERT_TRUE(mem.store<uint64_t>(kOver4Size - 8, 99).ok());
  EXPECT_EQ(l.i64("load", {Value::i64v(as_i64(kOver4Size - 8))}), 99);
  auto h = mem.load<uint64_t>(kOver4Size - 7);
  ASSERT_FALSE(h.ok());
  expect_oob(h.error(), kOver4Size - 7);
  auto g = l.call("load", {Value::i64v(as_i64(kOver4Size - 7))});
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().kind, ErrorKind::Trap);
  EXPECT_EQ(g.error().trap, TrapKind::MemoryOutOfBounds);
  auto far = l.call("load8", {Value::i64v(-1)});  // 0xFFFFFFFFFFFFFFFF
  ASSERT_FALSE(far.ok());
  EXPECT_EQ(far.error().trap, TrapKind::MemoryOutOfBounds);
  EXPECT_FALSE(mem.span(UINT64_MAX - 3, 8).ok());
}

TEST_F(Over4GiB, LoadPointerReads64BitAddress) {
  ASSERT_TRUE(mem.store<uint64_t>(k4GiB + 0x100, k4GiB + 0x200).ok());
  auto p = mem.load_pointer(k4GiB + 0x100);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(*p, k4GiB + 0x200);
  ASSERT_TRUE(mem.store<uint64_t>(*p, 7).ok());
  EXPECT_EQ(l.i64("load", {Value::i64v(as_i64(*p))}), 7);
  EXPECT_FALSE(mem.load_pointer(kOver4Size - 4).ok());  // 8 bytes needed, 4 left
}

TEST_F(Over4GiB, GrowKeepsBaseWithinTheLargerReservation) {
  uint8_t* base = mem.base();
  ASSERT_TRUE(mem.store<uint64_t>(k4GiB + 8, 1234).ok());
  auto g = mem.grow(1);
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(*g, 65537u);
  EXPECT_EQ(mem.base(), base);
  EXPECT_EQ(mem.size(), kOver4Size + kPage);
  EXPECT_EQ(unwrap(mem.load<uint64_t>(k4GiB + 8)), 1234u);
  ASSERT_TRUE(mem.store<uint64_t>(kOver4Size + kPage - 8, 5).ok());
  EXPECT_EQ(l.i64("load", {Value::i64v(as_i64(kOver4Size + kPage - 8))}), 5);
}
