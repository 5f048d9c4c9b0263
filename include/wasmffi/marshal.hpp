// Marshalling units: one per scalar type, in one table, shared by every kind of call plan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <wasmtime.h>

#include "wasmffi/types.hpp"

namespace wasmffi {

// The id of a unit: an index into the table in src/core/marshal.cpp (and into the binding's
// Python-side table in src/python/marshal.cpp). Plans store ids, chosen once at bind time; no
// code outside the two tables branches on a particular id.
//
// I32/I64 are the wasm-level integers of a bare signature (they accept the union of the signed
// and unsigned range, as wasm integers carry no sign); Int32/Int64 are C's int32_t/int64_t
// (signed range only). Everything else is named after the C type it stands for.
enum class Marshal : uint8_t {
  I32, U32, I64, U64, F32, F64,          // what Func.typed() has always known
  I8, U8, I16, U16, Int32, Int64, Bool,  // C scalars (cdef)
  Unsupported
};
inline constexpr size_t kMarshalCount = static_cast<size_t>(Marshal::Unsupported);

// What a unit is, as data: how it travels (the raw slot's wasm kind), how it sits in guest
// memory (little-endian, `size` bytes) and which values it accepts. The Python conversion of a
// unit lives in the binding, keyed by the same id, so the core stays Python-free; a host
// function (Python called from wasm) runs the same unit in reverse: raw slot -> Python for its
// parameters, Python -> raw slot for its results.
struct MarshalUnit {
  enum class Num : uint8_t { Int, Float, Bool };
  Marshal id;
  const char* name;  // "u8", as Func.typed(), cdef codes and typed memory access spell it
  ValKind wasm;      // the raw slot's kind
  uint8_t size;      // bytes as an element in guest memory
  Num num;
  int64_t lo;        // accepted integer range (inclusive); the bit pattern is stored
  uint64_t hi;
  const char* range; // the range as text, for messages: "0..255"
};

const MarshalUnit& unit_of(Marshal m) noexcept;
const char* marshal_name(Marshal m) noexcept;
// The unit a name spells, for a slot of wasm kind `slot`: "ptr" is an unsigned address of the
// slot's width (u32 on i32, u64 on i64). nullopt for an unknown name.
std::optional<Marshal> marshal_named(std::string_view name, ValKind slot) noexcept;
// The unit a bare wasm signature implies: integers signed, as wasm text prints them.
Marshal default_marshal(ValKind k) noexcept;
// Whether a unit can travel in a slot of wasm kind `k` (u8 on i32, u64 on i64, ...).
bool marshal_fits(Marshal m, ValKind k) noexcept;
// "i32, u32, ..., bool": every name marshal_named() accepts besides "ptr", for messages.
const char* marshal_names_text() noexcept;

// Guest memory side of a unit: an element at `p` (unit.size bytes) <-> a raw slot. Integers are
// sign- or zero-extended into the slot by the unit's signedness.
void load_element(Marshal m, const uint8_t* p, wasmtime_val_raw_t& slot) noexcept;
void store_element(Marshal m, const wasmtime_val_raw_t& slot, uint8_t* p) noexcept;

}  // namespace wasmffi
