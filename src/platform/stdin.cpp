// Platform unit: bounded waits on stdin. POSIX poll() (built and tested on Linux, the same on
// macOS). Windows needs WaitForSingleObject on the console or pipe handle: not written.
#include "platform/stdin.hpp"

#include <poll.h>
#include <unistd.h>

namespace wasmffi::platform {

StdinWait wait_stdin(int ms) noexcept {
  pollfd p{STDIN_FILENO, POLLIN, 0};
  if (::poll(&p, 1, ms < 1 ? 1 : ms) <= 0) return StdinWait::Nothing;
  return (p.revents & POLLHUP) != 0 && (p.revents & POLLIN) == 0 ? StdinWait::HungUp : StdinWait::Readable;
}

long read_stdin(void* buf, size_t n) noexcept { return static_cast<long>(::read(STDIN_FILENO, buf, n)); }

}  // namespace wasmffi::platform
