// Entering a store from the call path: calls under a timeout, calls that release the GIL (and
// claim their store while they do), and the one-thread-per-store refusal.
#include "store_guard.hpp"

#include "wasi_capture.hpp"

#include "convert.hpp"
#include "gil.hpp"
#include "interrupt.hpp"
#include "store_state.hpp"
#include "wasmffi/call.hpp"

namespace wasmffi::py {

bool init_store_guard() { return init_interrupt(); }

CallMode call_mode_for(wasmtime_context_t* ctx, int release) noexcept {
  const Store& s = Store::of(ctx);
  const PyStoreState* st = find_py_state(s);
  if (release > 0 || (release < 0 && st != nullptr && st->release_gil)) return CallMode::Releasing;
  return s.timeout().count() != 0 ? CallMode::Timed : CallMode::Plain;
}

bool check_release_allowed(wasmtime_context_t* ctx, const char* who) noexcept {
  const PyStoreState* st = find_py_state(Store::of(ctx));
  if (st == nullptr || !st->gil_imports) return true;
  PyErr_Format(PyExc_ValueError,
               "%s: release_gil=True cannot be used on an instance with Python host functions (imports) or a "
               "Wasi writing to a file-like object: they run Python code, which needs the GIL in the middle "
               "of the call",
               who);
  return false;
}

bool call_managed(CallMode mode, wasmtime_context_t* ctx, const wasmtime_func_t& func, wasmtime_val_raw_t* raw,
                  size_t raw_len, Result<void>& r) noexcept {
  Store& s = Store::of(ctx);
  if (mode != CallMode::Releasing) {
    s.begin_call();
    r = call_unchecked(ctx, func, raw, raw_len);
    s.end_call();
    return true;
  }
  PyStoreState* st = ensure_py_state(s);  // made once per store, at its first releasing call
  if (st == nullptr) {
    PyErr_NoMemory();
    return false;
  }
  // Claimed with the GIL held, released with it held again: under the GIL no other thread is
  // between its check and its mark; the CAS is what a free-threaded build will need.
  const uintptr_t me = this_thread_token();
  uintptr_t seen = 0;
  if (!s.owner.compare_exchange_strong(seen, me, std::memory_order_acquire, std::memory_order_relaxed) && seen != me) {
    PyErr_SetString(registry().store_in_use,
                    "this instance's store is in use by another thread (a call that released the GIL, or a host "
                    "function); a store is entered by one thread at a time: use one instance per thread "
                    "(wasmffi.Pool), or serialise the calls with a lock");
    return false;
  }
  ++s.depth;
  detail::g_host_active.fetch_add(1, std::memory_order_relaxed);
  s.begin_call();
  // Kept and put back rather than assumed null: the field belongs to whichever call is innermost.
  PyThreadState* outer = st->released_state;
  st->released_state = PyEval_SaveThread();
  r = call_unchecked(ctx, func, raw, raw_len);
  // The interrupt check may have taken the GIL back and released it again: its latest state.
  // During interpreter exit this never returns (gil.hpp): the thread parks, the store entered.
  restore_thread(st->released_state);
  st->released_state = outer;
  s.end_call();
  detail::g_host_active.fetch_sub(1, std::memory_order_relaxed);
  if (--s.depth == 0) {
    // A cancel made while the call ran, too late for it to see: it must not stop the next call.
    s.clear_cancel();
    s.owner.store(0, std::memory_order_release);
  }
  return true;
}

void StoreEntry::enter_slow(wasmtime_context_t* ctx) noexcept {
  Store& s = Store::of(ctx);
  const uintptr_t me = this_thread_token();
  if (s.owner != 0 && s.owner != me) {
    PyErr_SetString(registry().store_in_use,
                    "this instance's store is in use by another thread (a call that released the GIL, or a "
                    "host function); a store is "
                    "entered by one thread at a time: use one instance per thread, or serialise the calls "
                    "with a lock");
    ok_ = false;
    return;
  }
  s.owner = me;
  ++s.depth;
  store_ = &s;
}

PyObject* raise_call_error(wasmtime_context_t* ctx, const Error& err, PyObject* func_name) {
  auto* exc = static_cast<PyObject*>(Store::of(ctx).take_pending());
  raise_in(err, func_name);
  // A captured WASI stream that went past its limit: wasmffi.OutputLimitExceeded, unless a
  // pending exception (Ctrl-C, say) came first.
  raise_output_limit(Store::of(ctx), exc == nullptr);
  if (exc == nullptr) return nullptr;
  PyObject* trap = fetch_exception();
  PyObject* cause = PyException_GetCause(exc);
  if (cause == nullptr && trap != nullptr)
    PyException_SetCause(exc, trap);  // steals trap
  else
    Py_XDECREF(trap);
  Py_XDECREF(cause);
  PyErr_Restore(Py_NewRef(reinterpret_cast<PyObject*>(Py_TYPE(exc))), exc, PyException_GetTraceback(exc));
  return nullptr;
}

}  // namespace wasmffi::py
