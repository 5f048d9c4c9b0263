// Tests the marshalling unit table: names, slot kinds, and elements in guest memory <-> raw slots.
#include <cstdint>
#include <cstring>

#include <gtest/gtest.h>

#include "wasmffi/marshal.hpp"

using namespace wasmffi;

TEST(Marshal, EveryUnitIsFoundByItsNameAndFitsItsSlot) {
  for (size_t i = 0; i < kMarshalCount; ++i) {
    auto m = static_cast<Marshal>(i);
    const MarshalUnit& u = unit_of(m);
    EXPECT_EQ(u.id, m);
    auto found = marshal_named(u.name, u.wasm);
    ASSERT_TRUE(found.has_value()) << u.name;
    EXPECT_EQ(*found, m);
    EXPECT_TRUE(marshal_fits(m, u.wasm));
  }
  EXPECT_FALSE(marshal_named("uint8_t", ValKind::I32).has_value());
  EXPECT_EQ(*marshal_named("ptr", ValKind::I64), Marshal::U64);
  EXPECT_EQ(*marshal_named("ptr", ValKind::I32), Marshal::U32);
  EXPECT_FALSE(marshal_fits(Marshal::U8, ValKind::I64));
  EXPECT_FALSE(marshal_fits(Marshal::Unsupported, ValKind::I32));
}

TEST(Marshal, ElementsAreExtendedByTheUnitsSignAndStoredAtTheirWidth) {
  uint8_t mem[8] = {0x80, 0xff, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
  wasmtime_val_raw_t slot{};
  load_element(Marshal::I8, mem, slot);
  EXPECT_EQ(slot.i32, -128);
  load_element(Marshal::U8, mem, slot);
  EXPECT_EQ(slot.i32, 0x80);
  load_element(Marshal::I16, mem, slot);
  EXPECT_EQ(slot.i32, -128);  // 0xff80
  load_element(Marshal::U16, mem, slot);
  EXPECT_EQ(slot.i32, 0xff80);
  load_element(Marshal::Int64, mem, slot);
  EXPECT_EQ(static_cast<uint64_t>(slot.i64), 0x665544332211ff80ull);

  uint8_t out[8];
  std::memset(out, 0xaa, sizeof out);
  slot.i32 = 0x12345678;
  store_element(Marshal::U16, slot, out);
  EXPECT_EQ(out[0], 0x78);
  EXPECT_EQ(out[1], 0x56);
  EXPECT_EQ(out[2], 0xaa);  // nothing beyond the unit's width is touched
  slot.f64 = 2.5;
  store_element(Marshal::F64, slot, out);
  double d;
  std::memcpy(&d, out, 8);
  EXPECT_EQ(d, 2.5);
}

// Found by tests/fuzz/fuzz_marshal.cpp: `slot = wasmtime_val_raw_t{}` zeroes only the union's
// first member under clang (GCC clears all 16 bytes), so an i64 or f64 element left bytes 8..15
// of a reused slot as they were. wasmtime reads only the kind's bytes, but a slot is meant to hold
// nothing else; both writers (load_element, store_raw) now clear the whole slot.
TEST(Marshal, ASlotHoldsOnlyItsValueWhateverItHeldBefore) {
  const uint8_t mem[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  for (size_t i = 0; i < kMarshalCount; ++i) {
    const auto m = static_cast<Marshal>(i);
    const MarshalUnit& u = unit_of(m);
    wasmtime_val_raw_t slot;
    std::memset(&slot, 0xcc, sizeof slot);
    load_element(m, mem, slot);
    const size_t width = u.wasm == ValKind::I64 || u.wasm == ValKind::F64 ? 8 : 4;
    const auto* bytes = reinterpret_cast<const uint8_t*>(&slot);
    for (size_t b = width; b < sizeof slot; ++b) EXPECT_EQ(bytes[b], 0) << u.name << " byte " << b;
  }
}
