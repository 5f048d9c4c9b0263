// Trap classification: turns the failure of a wasm call (an error or a trap) into an Error value.
#pragma once

#include <wasmtime.h>

#include "wasmffi/result.hpp"

namespace wasmffi {

// Converts the failure of a call (an error or a trap, both owned) into an Error, deleting them.
// A trap keeps its TrapKind (classified by wasmtime's trap-code names, never numbers) and its
// message leads with the reason, then the wasm backtrace. Out of line: it is the cold path.
Error call_failure(wasmtime_error_t* err, wasm_trap_t* trap);

}  // namespace wasmffi
