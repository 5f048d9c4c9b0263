// The binding's InterruptCheck: Python signal handlers (Ctrl-C) run during long wasm calls.
#pragma once

#include <Python.h>

#include "wasmffi/instance.hpp"

namespace wasmffi::py {

// Runs pending Python signal handlers from inside a wasm call (a store's epoch callback, on
// the thread in wasm). true: a handler raised (KeyboardInterrupt, say); the exception is parked
// as the store's pending error and the call re-raises that same object when it has unwound.
bool check_python_signals(Store& store) noexcept;

// Records the main thread (only it runs signal handlers); once, at module init.
bool init_interrupt();

}  // namespace wasmffi::py
