// Platform unit: thread stack bounds. Linux (glibc) is built and tested; the macOS and Windows
// branches follow those systems' documented calls and have never been compiled (docs/portability.md).
#include "platform/stack.hpp"

#if defined(__linux__)
#include <pthread.h>
#elif defined(__APPLE__)
#include <pthread.h>
#elif defined(_WIN32)
#include <windows.h>
#endif

namespace wasmffi::platform {

uintptr_t thread_stack_low() noexcept {
#if defined(__linux__)
  // glibc's pthread_getattr_np gives the main thread's bounds too (from its rlimit).
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
  void* addr = nullptr;
  size_t size = 0;
  const int rc = pthread_attr_getstack(&attr, &addr, &size);
  pthread_attr_destroy(&attr);
  return rc == 0 ? reinterpret_cast<uintptr_t>(addr) : 0;
#elif defined(__APPLE__)
  // macOS gives the stack's top (highest address) and its size.
  const pthread_t self = pthread_self();
  return reinterpret_cast<uintptr_t>(pthread_get_stackaddr_np(self)) - pthread_get_stacksize_np(self);
#elif defined(_WIN32)
  ULONG_PTR low = 0, high = 0;
  GetCurrentThreadStackLimits(&low, &high);
  return static_cast<uintptr_t>(low);
#else
  return 0;
#endif
}

}  // namespace wasmffi::platform
