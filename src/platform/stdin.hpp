// Platform unit: waiting on and reading the process's standard input with a bound, for WASI's
// blocking calls made interruptible (src/python/wasi_block.cpp; docs/portability.md).
#pragma once

#include <cstddef>
#include <cstdint>

namespace wasmffi::platform {

enum class StdinWait : uint8_t {
  Nothing,   // nothing to read within the wait
  Readable,  // data to read (or an error a read will report)
  HungUp,    // at its end: the writer is gone and nothing is left to read
};

// Waits at most `ms` milliseconds (at least 1) for the process's stdin to be readable.
StdinWait wait_stdin(int ms) noexcept;

// One read() of the process's stdin into buf (at most n bytes; it does not block after
// wait_stdin said Readable): the bytes read, 0 at its end, or -1 with errno set (EAGAIN and
// EINTR mean: wait and try again).
long read_stdin(void* buf, size_t n) noexcept;

}  // namespace wasmffi::platform
