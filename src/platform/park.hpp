// Platform unit: a thread that must never run again, parked without spinning (docs/portability.md).
#pragma once

namespace wasmffi::platform {

// Blocks the calling thread for good: it sleeps until the process ends around it, waking only
// for signal handlers (POSIX pause()) and sleeping again.
[[noreturn]] void park_thread_forever() noexcept;

}  // namespace wasmffi::platform
