// Platform unit: the calling thread's native stack bounds (docs/portability.md).
#pragma once

#include <cstdint>

namespace wasmffi::platform {

// The lowest address of the calling thread's stack (stacks grow down on every target we build
// for), or 0 when the system cannot say: callers then leave stack overflow to wasmtime's own
// guard. Costs a system call or two: cache it per thread.
uintptr_t thread_stack_low() noexcept;

}  // namespace wasmffi::platform
