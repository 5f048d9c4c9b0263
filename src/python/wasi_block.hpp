// WASI calls that block (sleeps, polls, reads of an inherited stdin), made interruptible.
#pragma once

#include <wasmtime.h>

#include <vector>

#include "wasmffi/instance.hpp"
#include "wasmffi/module.hpp"

namespace wasmffi::py {

// wasmtime's WASI blocks inside the engine (a sleep in poll_oneoff, a read of the process's
// stdin), where no epoch check runs: timeout=, Ctrl-C and Instance.cancel() could not stop such a
// guest. In `externs` (filled by attach_wasi), this replaces the imports
// wasi_snapshot_preview1.poll_oneoff and, when the guest's stdin is the process's own,
// fd_read, by host functions of ours that wait in slices of at most one tick and ask the store
// between slices whether the call must stop (Store::stop_requested: timeout, user deadline,
// Python signals, cancel). What they do not wait on themselves (a poll that includes other file
// descriptors, a read of another one) goes to the engine's own function, through a small wasm
// instance that re-exports the guest's memory (see `Relay` in wasi_block.cpp).
// A module that imports neither gets nothing.
Result<void> shadow_blocking_wasi(Store& store, const Module& module, std::vector<wasmtime_extern_t>& externs,
                                  const std::vector<bool>& given, bool stdin_inherited);

// Wakes every blocked sleep at once so that it sees a cancel (Instance.cancel()) without waiting
// for the end of its slice. Any thread.
void wake_blocked_calls() noexcept;

}  // namespace wasmffi::py
