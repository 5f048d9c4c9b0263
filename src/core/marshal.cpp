// The marshalling unit table: every scalar type's slot kind, memory size and accepted range.
#include "wasmffi/marshal.hpp"

#include <cstring>
#include <limits>

namespace wasmffi {

namespace {

using N = MarshalUnit::Num;
constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

// The one table. Adding a scalar type is a row here and a row in src/python/marshal.cpp.
constexpr MarshalUnit kUnits[kMarshalCount] = {
    {Marshal::I32, "i32", ValKind::I32, 4, N::Int, INT32_MIN, UINT32_MAX, "-2**31..2**32-1"},
    {Marshal::U32, "u32", ValKind::I32, 4, N::Int, 0, UINT32_MAX, "0..2**32-1"},
    {Marshal::I64, "i64", ValKind::I64, 8, N::Int, INT64_MIN, kU64Max, "-2**63..2**64-1"},
    {Marshal::U64, "u64", ValKind::I64, 8, N::Int, 0, kU64Max, "0..2**64-1"},
    {Marshal::F32, "f32", ValKind::F32, 4, N::Float, 0, 0, "f32"},
    {Marshal::F64, "f64", ValKind::F64, 8, N::Float, 0, 0, "f64"},
    {Marshal::I8, "i8", ValKind::I32, 1, N::Int, INT8_MIN, INT8_MAX, "-128..127"},
    {Marshal::U8, "u8", ValKind::I32, 1, N::Int, 0, UINT8_MAX, "0..255"},
    {Marshal::I16, "i16", ValKind::I32, 2, N::Int, INT16_MIN, INT16_MAX, "-32768..32767"},
    {Marshal::U16, "u16", ValKind::I32, 2, N::Int, 0, UINT16_MAX, "0..65535"},
    {Marshal::Int32, "int32", ValKind::I32, 4, N::Int, INT32_MIN, INT32_MAX, "-2**31..2**31-1"},
    {Marshal::Int64, "int64", ValKind::I64, 8, N::Int, INT64_MIN, INT64_MAX, "-2**63..2**63-1"},
    {Marshal::Bool, "bool", ValKind::I32, 1, N::Bool, 0, 1, "False, True, 0 or 1"},
};

constexpr bool table_is_indexed_by_id() {
  for (size_t i = 0; i < kMarshalCount; ++i)
    if (static_cast<size_t>(kUnits[i].id) != i) return false;
  return true;
}
static_assert(table_is_indexed_by_id(), "kUnits rows must be in Marshal order");

constexpr MarshalUnit kUnsupported{Marshal::Unsupported, "unsupported", ValKind::Other, 0, N::Int, 0, 0, ""};

}  // namespace

const MarshalUnit& unit_of(Marshal m) noexcept {
  auto i = static_cast<size_t>(m);
  return i < kMarshalCount ? kUnits[i] : kUnsupported;
}

const char* marshal_name(Marshal m) noexcept { return unit_of(m).name; }

std::optional<Marshal> marshal_named(std::string_view name, ValKind slot) noexcept {
  if (name == "ptr") return slot == ValKind::I64 ? Marshal::U64 : Marshal::U32;
  for (const MarshalUnit& u : kUnits)
    if (name == u.name) return u.id;
  return std::nullopt;
}

Marshal default_marshal(ValKind k) noexcept {
  switch (k) {
    case ValKind::I32: return Marshal::I32;
    case ValKind::I64: return Marshal::I64;
    case ValKind::F32: return Marshal::F32;
    case ValKind::F64: return Marshal::F64;
    default: return Marshal::Unsupported;
  }
}

bool marshal_fits(Marshal m, ValKind k) noexcept { return m != Marshal::Unsupported && unit_of(m).wasm == k; }

const char* marshal_names_text() noexcept {
  return "i32, u32, i64, u64, f32, f64, i8, u8, i16, u16, int32, int64, bool or ptr";
}

void load_element(Marshal m, const uint8_t* p, wasmtime_val_raw_t& slot) noexcept {
  const MarshalUnit& u = unit_of(m);
  std::memset(&slot, 0, sizeof slot);  // `slot = {}` clears only the first member under clang
  if (u.num == N::Float) {
    if (u.size == 4) std::memcpy(&slot.f32, p, 4);
    else std::memcpy(&slot.f64, p, 8);
    return;
  }
  uint64_t bits = 0;
  std::memcpy(&bits, p, u.size);  // little-endian host (static_assert in memory.hpp's users)
  if (u.lo < 0 && u.size < 8) {   // sign-extend
    const unsigned shift = 64 - 8u * u.size;
    bits = static_cast<uint64_t>(static_cast<int64_t>(bits << shift) >> shift);
  }
  if (u.wasm == ValKind::I64) slot.i64 = static_cast<int64_t>(bits);
  else slot.i32 = static_cast<int32_t>(static_cast<uint32_t>(bits));
}

void store_element(Marshal m, const wasmtime_val_raw_t& slot, uint8_t* p) noexcept {
  const MarshalUnit& u = unit_of(m);
  if (u.num == N::Float) {
    if (u.size == 4) std::memcpy(p, &slot.f32, 4);
    else std::memcpy(p, &slot.f64, 8);
    return;
  }
  const uint64_t bits = u.wasm == ValKind::I64 ? static_cast<uint64_t>(slot.i64)
                                                : static_cast<uint64_t>(static_cast<uint32_t>(slot.i32));
  std::memcpy(p, &bits, u.size);
}

}  // namespace wasmffi
