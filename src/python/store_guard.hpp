// The one-thread-per-store rule on the call path, calls that release the GIL or run under a
// timeout, and the re-raise of a host function's exception.
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

// How a function object calls, decided once when it is made (call_mode_for), so that a plain call
// pays nothing for the other two:
// - Plain: the hot path, the GIL held throughout.
// - Timed: the store has a timeout; the call starts its clock (Store::begin_call).
// - Releasing: the GIL is released around the wasm call, so other Python threads run meanwhile.
//   The call claims the store first (a CAS on Store::owner, with the GIL still held) and counts
//   itself in detail::g_host_active, so that any other thread calling into the same store goes
//   through StoreEntry's slow path and gets StoreInUseError; the GIL-holding fast path of every
//   other store still pays one relaxed load.
enum class CallMode : uint8_t { Plain, Timed, Releasing };

// The mode for a function of `ctx`'s store: `release` is the per-function choice (-1: the
// store's release_gil; 0: no; 1: yes).
CallMode call_mode_for(wasmtime_context_t* ctx, int release) noexcept;

// The wasm call of a Timed or Releasing function (after StoreEntry). For Releasing, a store
// entered by another thread is refused: false with StoreInUseError set, `r` untouched.
bool call_managed(CallMode mode, wasmtime_context_t* ctx, const wasmtime_func_t& func, wasmtime_val_raw_t* raw,
                  size_t raw_len, Result<void>& r) noexcept;

// Whether a store may release the GIL during calls: not when it has Python host functions
// (they would run without the GIL). Raises ValueError naming `who` and returns false if not.
bool check_release_allowed(wasmtime_context_t* ctx, const char* who) noexcept;

// Looks up what the call paths raise (StoreInUseError, the main thread); once, at module init.
bool init_store_guard();

// Raises the failure of a call into `ctx`'s store. When a host function raised, its exception is
// pending in the store: that same object is raised, with its own traceback, and the trap that
// unwound the wasm frames as its __cause__ (unless it already had one). Otherwise as raise_in.
PyObject* raise_call_error(wasmtime_context_t* ctx, const Error& err, PyObject* func_name);

}  // namespace wasmffi::py
