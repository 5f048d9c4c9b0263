// CallPlan: a function's signature resolved once, plus the one unchecked call the hot path makes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <wasmtime.h>

#include "wasmffi/marshal.hpp"
#include "wasmffi/result.hpp"
#include "wasmffi/trap.hpp"
#include "wasmffi/types.hpp"

namespace wasmffi {

// The raw-value union crosses the C boundary by value in arrays; pin its layout.
static_assert(sizeof(wasmtime_val_raw_t) == 16, "wasmtime_val_raw_t layout changed");
static_assert(sizeof(wasmtime_func_t) == 16, "wasmtime_func_t layout changed");

struct CallPlan {
  FuncSig sig;
  std::vector<Marshal> params;   // one unit per sig.params (marshal.hpp)
  std::vector<Marshal> results;  // one unit per sig.results
  // Slots the unchecked call needs: params and results share one array.
  size_t raw_len = 0;
  // True when every param and result is i32/i64/f32/f64: the only kinds the scalar
  // units travel in. The binding refuses to build a callable otherwise.
  bool all_scalar = false;

  static CallPlan for_func(wasmtime_context_t* ctx, const wasmtime_func_t& func);
  // The same function with declared marshallers, e.g. a u32 result for a pointer. nullopt keeps
  // the current ones; a list (an empty one too: "no parameters") must match the signature, or
  // the result is an ErrorKind::Argument naming the slot.
  Result<CallPlan> retyped(const std::optional<std::vector<Marshal>>& params,
                           const std::optional<std::vector<Marshal>>& results) const;
  // The signature with the declared marshallers, e.g. "(u32, i32) -> u32" (see signature_text).
  std::string to_string() const;
};

// call_failure for a call into `ctx`'s store: a call its epoch callback stopped (timeout,
// deadline, interrupt check) comes out as the Interrupt trap naming the reason (Store::explain).
Error call_failure_in(wasmtime_context_t* ctx, wasmtime_error_t* err, wasm_trap_t* trap);

// The hot path: one unchecked call on a caller-provided raw array. Inline so the success
// path is a call plus two null checks; the failure path is out of line.
inline Result<void> call_unchecked(wasmtime_context_t* ctx, const wasmtime_func_t& func,
                                   wasmtime_val_raw_t* raw, size_t raw_len) {
  wasm_trap_t* trap = nullptr;
  wasmtime_error_t* err = wasmtime_func_call_unchecked(ctx, &func, raw, raw_len, &trap);
  if (err != nullptr || trap != nullptr) [[unlikely]]
    return call_failure_in(ctx, err, trap);
  return {};
}

// Writes a scalar into / reads it out of a raw slot, per its kind.
void store_raw(wasmtime_val_raw_t& slot, const Value& v) noexcept;
Value load_raw(const wasmtime_val_raw_t& slot, ValKind kind) noexcept;

// Checked convenience call (allocates): arguments are matched against the plan's kinds.
Result<std::vector<Value>> call(wasmtime_context_t* ctx, const wasmtime_func_t& func,
                                const CallPlan& plan, std::span<const Value> args);

}  // namespace wasmffi
