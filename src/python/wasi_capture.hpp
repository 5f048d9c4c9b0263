// Captured WASI stdout and stderr (wasi_capture.cpp): bounded, and streamed to a file-like target.
#pragma once

#include <nanobind/nanobind.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <wasmtime.h>

#include "wasmffi/instance.hpp"
#include "wasmffi/module.hpp"

namespace wasmffi::py {

namespace nb = nanobind;

// One captured stream (a guest's fd 1 or 2). wasmtime's own custom-output hook runs the write on
// one of its worker threads while the guest's thread waits for it: a Python target called from
// there would need the GIL the guest's thread may hold (a deadlock), and an error returned there
// only becomes an errno the guest may ignore. So a captured stream is written by our own
// fd_write (see attach_capture), on the guest's thread, inside the call.
struct Capture {
  explicit Capture(const char* name) : name(name) {}
  const char* const name;  // "stdout" or "stderr"
  bool captured = true;    // false: the stream is inherited (or discarded) by WASI itself
  // A file-like object whose write(bytes) gets each fd_write as it happens; None: the bytes
  // are kept in `data`. Set before any store uses this capture, never changed after.
  nb::object sink;
  uint64_t limit = UINT64_MAX;  // bytes the stream may take since it was last cleared
  // Written by the guest's thread (with or without the GIL), read and cleared by Python: both
  // under the lock, since a Wasi may serve instances on several threads.
  std::mutex lock;
  std::string data;
  uint64_t taken = 0;  // bytes counted against `limit`
};

struct WasiCapture {
  std::shared_ptr<Capture> out = std::make_shared<Capture>("stdout");
  std::shared_ptr<Capture> err = std::make_shared<Capture>("stderr");
  // Whether calls must hold the GIL: a file-like target runs Python code in the middle of them.
  bool needs_gil() const noexcept { return out->sink.is_valid() || err->sink.is_valid(); }
};

// Puts this store's own fd_write in place of WASI's for the module's import
// wasi_snapshot_preview1.fd_write (when it has the preview 1 type and a stream is captured):
// writes to fd 1 or 2 go to `capture`, others to WASI's fd_write (`externs[i]`, already
// resolved), which it wraps. An fd_write the embedder `given` itself is left alone.
Result<void> attach_capture(Store& store, const WasiCapture& capture, std::vector<wasmtime_extern_t>& externs,
                            const Module& module, const std::vector<bool>& given);

// After a failed call's error is set: when a captured stream went past its limit in that call,
// replaces the error with wasmffi.OutputLimitExceeded (the trap as its __cause__) if `replace`,
// and forgets the record either way.
void raise_output_limit(Store& store, bool replace) noexcept;

void bind_wasi_capture(nb::module_& m);

}  // namespace wasmffi::py
