// Platform unit: fork notification. POSIX (built and tested on Linux); Windows has no fork.
#include "platform/fork.hpp"

#if !defined(_WIN32)
#include <pthread.h>
#endif

namespace wasmffi::platform {

void on_fork_child(void (*child)()) noexcept {
#if !defined(_WIN32)
  pthread_atfork(nullptr, nullptr, child);
#else
  (void)child;
#endif
}

}  // namespace wasmffi::platform
