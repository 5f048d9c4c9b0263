// What the Python binding keeps with a core Store (its Store::Extension): the GIL policy of its
// calls and the thread state of a call that released the GIL. The core never reads it.
#pragma once

#include <Python.h>

#include <cstdint>
#include <memory>
#include <new>

#include "wasmffi/instance.hpp"

namespace wasmffi::py {

struct PyStoreState final : Store::Extension {
  // Calls of this store's functions let other threads run (they release the GIL).
  bool release_gil = false;
  // The store has host functions that run Python, so no call of it may release the GIL.
  bool gil_imports = false;
  // While a call runs with the GIL released: its saved thread state (for the interrupt check,
  // which takes the GIL back), else nullptr. Touched only by the thread inside the call.
  PyThreadState* released_state = nullptr;
  // Epoch callbacks seen by a call with the GIL released (the check runs on every few).
  uint32_t released_polls = 0;
  // A captured WASI stream ("stdout"/"stderr") that went past its limit of `over_limit` bytes,
  // stopping the call; the call raises wasmffi.OutputLimitExceeded for it (wasi_capture.cpp).
  // Set by the thread inside the call (which may not hold the GIL), taken when the call raises.
  const char* over_limit_stream = nullptr;
  uint64_t over_limit = 0;
  // The store's WASI stdin is this process's own (Wasi(stdin="inherit")): its reads are ours to
  // make interruptible (wasi_block.hpp). Set with the store's WASI context.
  bool wasi_stdin_inherited = false;
};

// The binding's state of `s`, or nullptr for a store it never configured (every field at its
// default). Every extension of a store the binding sees is a PyStoreState: only it sets one.
inline PyStoreState* find_py_state(const Store& s) noexcept { return static_cast<PyStoreState*>(s.extension()); }

// The state, made on first need; nullptr only when there is no memory for it.
inline PyStoreState* ensure_py_state(Store& s) noexcept {
  if (PyStoreState* st = find_py_state(s)) return st;
  auto* st = new (std::nothrow) PyStoreState();
  if (st != nullptr) s.set_extension(std::unique_ptr<Store::Extension>(st));
  return st;
}

// The same, raising std::bad_alloc (for nanobind code, which turns it into MemoryError).
inline PyStoreState& py_state(Store& s) {
  PyStoreState* st = ensure_py_state(s);
  if (st == nullptr) throw std::bad_alloc();
  return *st;
}

}  // namespace wasmffi::py
