// Taking the GIL back during interpreter exit (see gil.hpp), and the exit handler that announces it.
#include "gil.hpp"


#include <atomic>
#include <chrono>
#include <thread>

#include <nanobind/nanobind.h>

#include "platform/park.hpp"
#include "wasmffi/instance.hpp"

namespace wasmffi::py {

namespace nb = nanobind;

namespace {

// Set by note_exit, with the GIL held, before CPython begins to end daemon threads.
std::atomic<bool> g_exiting{false};
// Threads between their look at g_exiting and the end of their PyEval_RestoreThread: note_exit
// waits for them (with the GIL released, which they need), so a thread either saw g_exiting or
// has the GIL back before finalization can end it (the two seq_cst accesses on each side make
// sure one of them sees the other).
std::atomic<int> g_restoring{0};

bool finalizing() noexcept {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing() != 0;
#else
  return _Py_IsFinalizing() != 0;
#endif
}

// The atexit handler. `other_threads`: threading still lists threads besides the main one (at
// this point of exit every non-daemon thread has been joined, so they are daemon threads).
void note_exit(bool other_threads) {
  g_exiting.store(true, std::memory_order_seq_cst);
  if (g_restoring.load(std::memory_order_seq_cst) != 0) {
    PyThreadState* me = PyEval_SaveThread();
    while (g_restoring.load(std::memory_order_seq_cst) != 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
    PyEval_RestoreThread(me);  // the main thread: never ended by finalization
  }
  // Objects that a daemon thread still uses when the interpreter exits are never freed: CPython
  // leaves such threads' frames (and what they hold) alone, and a thread still inside a call, or
  // parked by restore_thread on its way back, keeps its instance alive. nanobind would list each
  // of them at exit as "leaked", which reads like a reference-counting bug; it is not one. Its
  // report stays on for every exit with no such thread, where a leak is a bug.
  if (other_threads || detail::g_host_active.load(std::memory_order_relaxed) != 0) nb::set_leak_warnings(false);
}

}  // namespace

void park_forever() noexcept { platform::park_thread_forever(); }

void restore_thread(PyThreadState* state) noexcept {
  g_restoring.fetch_add(1, std::memory_order_seq_cst);
  if (!g_exiting.load(std::memory_order_seq_cst) && !finalizing()) [[likely]] {
    PyEval_RestoreThread(state);
    g_restoring.fetch_sub(1, std::memory_order_seq_cst);
    return;
  }
  g_restoring.fetch_sub(1, std::memory_order_seq_cst);
  park_forever();
}

bool init_gil(PyObject* module) {
  nb::module_ m = nb::borrow<nb::module_>(module);
  m.def("_note_exit", &note_exit, nb::arg("other_threads"),
        "Called once at interpreter exit (atexit, registered by wasmffi): threads that take the GIL "
        "back from then on park instead of being ended inside a call.");
  return true;
}

}  // namespace wasmffi::py
