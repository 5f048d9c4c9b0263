// Platform unit: page release. Linux only (MADV_DONTNEED zero-fills anonymous pages there; on
// macOS it does not, and Windows needs VirtualAlloc(MEM_RESET) semantics we have not checked).
#include "platform/pages.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace wasmffi::platform {

bool release_pages(void* start, size_t len) noexcept {
#if defined(__linux__)
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<uintptr_t>(start) + page - 1) & ~(page - 1);
  const auto end = (reinterpret_cast<uintptr_t>(start) + len) & ~(page - 1);
  if (end <= begin) return false;
  return madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED) == 0;
#else
  (void)start;
  (void)len;
  return false;
#endif
}

}  // namespace wasmffi::platform
