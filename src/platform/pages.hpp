// Platform unit: giving memory pages back to the system (docs/portability.md).
#pragma once

#include <cstddef>
#include <cstdint>

namespace wasmffi::platform {

// Gives the whole pages inside [start, start + len) back to the system now, as wasmtime's
// instance pool does when it reuses a slot: afterwards they read as zero (anonymous memory) and
// cost no RSS until touched. Partial pages at either end are left alone. Returns whether the
// pages were given back; where the system has no such call that zeroes (anything but Linux here)
// it does nothing and returns false, and the pool gives them back when it reuses the slot.
bool release_pages(void* start, size_t len) noexcept;

}  // namespace wasmffi::platform
