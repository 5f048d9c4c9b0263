// Platform unit: being told that this process is a forked child (docs/portability.md).
#pragma once

namespace wasmffi::platform {

// Registers `child` to run in the child after every fork() of this process (once per
// registration: call it once). Where there is no fork (Windows) it does nothing, and nothing
// needs doing.
void on_fork_child(void (*child)()) noexcept;

}  // namespace wasmffi::platform
