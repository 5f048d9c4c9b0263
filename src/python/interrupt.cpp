// Ctrl-C during a wasm call: the epoch callback asks check_python_signals about once per engine
// tick; pending signal handlers run there, and one that raises stops the call with its exception.
#include "interrupt.hpp"

#include "store_state.hpp"

#include <pythread.h>

#include <utility>

#include "gil.hpp"
#include "host.hpp"

namespace wasmffi::py {

namespace {

// The main thread's identity, recorded once at module init and read-only afterwards: Python
// runs signal handlers only there.
unsigned long g_main_thread = 0;

// With the GIL released, taking it back costs up to a switch interval (5 ms) when another
// thread is busy in Python; so such a call looks every few ticks: Ctrl-C still lands in
// kReleasedPollTicks x Engine::kTick (40 ms).
constexpr uint32_t kReleasedPollTicks = 4;

// Runs the handlers with the GIL held. They are Python code, which may switch threads: the store
// is marked entered (as during a host function) so another thread cannot call into it meanwhile.
bool run_handlers(Store& store) {
  HostActivation active(store);
  if (PyErr_CheckSignals() == 0) return false;
  park_python_exception(store);
  return true;
}

}  // namespace

bool init_interrupt() {
  PyObject* threading = PyImport_ImportModule("threading");
  if (threading == nullptr) return false;
  PyObject* main = PyObject_CallMethod(threading, "main_thread", nullptr);
  Py_DECREF(threading);
  if (main == nullptr) return false;
  PyObject* ident = PyObject_GetAttrString(main, "ident");
  Py_DECREF(main);
  if (ident == nullptr) return false;
  g_main_thread = PyLong_AsUnsignedLong(ident);
  Py_DECREF(ident);
  return !PyErr_Occurred();
}

// A call on the main thread that holds the GIL lets other threads have it once per tick, as
// CPython's switch interval does for Python code: the GIL is dropped and taken back at once,
// which hands it over only to a thread that has waited a switch interval (5 ms) and asked for it.
// Without this a long call froze every other Python thread. The store is marked entered
// meanwhile (as during a host function): another thread that calls into it gets
// StoreInUseError. Uncontended, the drop and take cost about a microsecond per 10 ms tick.
// Only on the main thread: a thread that takes the GIL back while the interpreter finalizes is
// ended there by CPython (pthread_exit), and from inside this callback that unwinds into
// wasmtime's frames, which cannot be unwound: the process aborted ("terminate called without an
// active exception") when the main thread exited while a worker's call was in such a yield. The
// main thread is the one that finalizes, so it never takes the GIL back during finalization.
// So a long call holding the GIL on another thread still holds it until it returns (and the main
// thread's Ctrl-C handler waits for that); release_gil=True is the way to let others run.
namespace {
void let_other_threads_run(Store& store) noexcept {
  HostActivation active(store);
  PyThreadState* state = PyEval_SaveThread();
  restore_thread(state);
}
}  // namespace

bool check_python_signals(Store& store) noexcept {
  const bool main_thread = PyThread_get_thread_ident() == g_main_thread;
  PyStoreState* st = find_py_state(store);
  if (st == nullptr || st->released_state == nullptr) {
    // Every call that did not release the GIL holds it (the rule of the whole binding).
    if (!main_thread) return false;
    let_other_threads_run(store);
    // PyErr_CheckSignals' own cheap test of its "tripped" flag most of the time.
    return run_handlers(store);
  }
  if (!main_thread) return false;
  if (++st->released_polls % kReleasedPollTicks != 0) return false;
  // Cleared while the handlers run with the GIL: a call they make into this store holds the GIL,
  // and its own checks must see that.
  PyThreadState* saved = std::exchange(st->released_state, nullptr);
  restore_thread(saved);
  const bool raised = run_handlers(store);
  st->released_state = PyEval_SaveThread();
  return raised;
}

}  // namespace wasmffi::py
