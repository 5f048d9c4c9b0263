// The one-thread-per-store rule on the call path, and the re-raise of a host function's exception.
#pragma once

#include <Python.h>

#include "wasmffi/instance.hpp"

namespace wasmffi::py {

// A store is entered by one thread at a time. Another thread can only reach a store in the
// middle of a call while a host function of that store runs Python code (which may switch
// threads: every other wasm path keeps the GIL), so:
// - while no host function runs anywhere (detail::g_host_active == 0) a call enters at the cost
//   of one relaxed load and a compare, and marks nothing;
// - otherwise it looks at its store: entered by another thread -> wasmffi.StoreInUseError and
//   the call does not start; free or entered by this thread (re-entry) -> it marks the store as
//   its own until it returns. Every field is read and written with the GIL held.
class StoreEntry {
 public:
  explicit StoreEntry(wasmtime_context_t* ctx) noexcept {
    if (detail::g_host_active.load(std::memory_order_relaxed) != 0) [[unlikely]]
      enter_slow(ctx);
  }
  ~StoreEntry() {
    if (store_ != nullptr) [[unlikely]]
      if (--store_->depth == 0) store_->owner = 0;
  }
  StoreEntry(const StoreEntry&) = delete;
  StoreEntry& operator=(const StoreEntry&) = delete;
  // False: the store is in use by another thread; a Python exception is set.
  explicit operator bool() const noexcept { return ok_; }

 private:
  void enter_slow(wasmtime_context_t* ctx) noexcept;
  Store* store_ = nullptr;
  bool ok_ = true;
};

// Raises the failure of a call into `ctx`'s store. When a host function raised, its exception is
// pending in the store: that same object is raised, with its own traceback, and the trap that
// unwound the wasm frames as its __cause__ (unless it already had one). Otherwise as raise_in.
PyObject* raise_call_error(wasmtime_context_t* ctx, const Error& err, PyObject* func_name);

}  // namespace wasmffi::py
