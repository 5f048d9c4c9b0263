// Taking the GIL back from native code that released it, without dying when the interpreter exits.
#pragma once

#include <Python.h>

#include <cxxabi.h>

namespace wasmffi::py {

// PyEval_RestoreThread, except during interpreter exit. Once finalization has begun, CPython ends
// a daemon thread that asks for the GIL back by calling pthread_exit from inside
// PyEval_RestoreThread. That forced unwind runs through whatever frames the thread has: through a
// noexcept C++ frame it calls std::terminate, and through wasmtime's frames (a blocking WASI call,
// an epoch callback) it cannot unwind at all; either way the process aborted at exit
// ("terminate called without an active exception"). So a thread that finds the interpreter
// exiting never returns from here: it parks for good, holding nothing, until the process ends.
// Exit is signalled by an atexit handler of ours (which runs before CPython starts ending daemon
// threads; see note_exit in gil.cpp) and, as a second line, by Py_IsFinalizing.
void restore_thread(PyThreadState* state) noexcept;

// Releases the GIL for one scope, and takes it back with restore_thread (nanobind's
// gil_scoped_release takes it back with PyEval_RestoreThread, from a noexcept destructor).
class GilRelease {
 public:
  GilRelease() noexcept : state_(PyEval_SaveThread()) {}
  ~GilRelease() { restore_thread(state_); }
  GilRelease(const GilRelease&) = delete;
  GilRelease& operator=(const GilRelease&) = delete;

 private:
  PyThreadState* state_;
};

// Never returns: the thread sleeps until the process ends, holding nothing.
[[noreturn]] void park_forever() noexcept;

// Calls Python code from inside wasm (a host function). While it runs, CPython may end this
// thread: during interpreter exit, a daemon thread that takes the GIL back between bytecodes is
// ended with pthread_exit, a forced unwind, which cannot cross the wasmtime frames below us (the
// process aborted). The unwind is caught here, before it reaches them, and the thread parks for
// good instead; it never leaves the handler, so the unwind is never resumed. Costs nothing on the
// normal path (table-based unwinding).
inline PyObject* call_python_from_wasm(PyObject* callable, PyObject* const* args, size_t nargsf) noexcept {
  try {
    return PyObject_Vectorcall(callable, args, nargsf, nullptr);
  } catch (abi::__forced_unwind&) {
    park_forever();
  }
}

// Registers the atexit handler (module init).
bool init_gil(PyObject* module);

}  // namespace wasmffi::py
