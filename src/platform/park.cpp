// Platform unit: parking a thread for good. POSIX pause() (built and tested on Linux, the same
// on macOS); Windows: Sleep(INFINITE), never compiled.
#include "platform/park.hpp"

#if defined(_WIN32)
#include <windows.h>
#else
#include <unistd.h>
#endif

namespace wasmffi::platform {

void park_thread_forever() noexcept {
  for (;;) {
#if defined(_WIN32)
    Sleep(INFINITE);
#else
    pause();
#endif
  }
}

}  // namespace wasmffi::platform
