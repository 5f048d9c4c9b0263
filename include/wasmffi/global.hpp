// Exported globals: type description and checked scalar reads and writes.
#pragma once

#include <wasmtime.h>

#include "wasmffi/result.hpp"
#include "wasmffi/types.hpp"

namespace wasmffi {

GlobalDesc global_type(wasmtime_context_t* ctx, const wasmtime_global_t& g);
// Reference-typed and v128 globals are an ErrorKind::Argument (never read: that can abort).
Result<Value> global_get(wasmtime_context_t* ctx, const wasmtime_global_t& g);
// The value's kind must be the global's; immutability is the engine's to report.
Result<void> global_set(wasmtime_context_t* ctx, const wasmtime_global_t& g, const Value& v);

}  // namespace wasmffi
