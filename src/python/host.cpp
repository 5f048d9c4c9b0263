// Host functions: a Python callable behind wasmtime's unchecked fast path. Types are resolved when
// the function is defined; a call converts raw slots to Python objects, makes one vectorcall and
// converts the result back. A Python exception becomes a trap and waits in the store (never in a
// global) for the call that entered wasm, which re-raises that same object (store_guard.hpp).
#include "host.hpp"

#include <memory>
#include <new>
#include <string>
#include <vector>

#include "convert.hpp"
#include "gil.hpp"
#include "marshal.hpp"
#include "store_guard.hpp"
#include "wasmffi/host_func.hpp"

namespace wasmffi::py {

namespace {

// Arguments up to this many go in a C-stack array; more (rare) in a per-call buffer.
constexpr size_t kStackArgs = 16;

// What a host function needs per call, built once. Owned by wasmtime (the store's finaliser).
struct HostFunc {
  // Borrowed: the _Instance that owns the store holds them (PyInstance::refs), where the garbage
  // collector can see them. Held here, a host function closing over its own instance would be a
  // cycle through the store that no collector could break.
  PyObject* callable;
  PyObject* first_arg;  // or nullptr: the Caller, passed before the wasm arguments
  PyObject* name;       // "env.log", for error messages
  std::vector<Marshal> params;
  std::vector<Marshal> results;
  std::vector<PyObject*> result_names;  // "host function 'env.log' result [N]" (strong)
};

// The store dies with the last PyInstance sharing it, under the GIL: plain decrefs are safe.
void host_finalize(void* env) {
  auto* h = static_cast<HostFunc*>(env);
  Py_XDECREF(h->name);
  for (PyObject* n : h->result_names) Py_XDECREF(n);
  delete h;
}

// Moves the raised Python exception into the store and returns the trap that unwinds wasm.
wasm_trap_t* stash_exception(Store& store, const HostFunc& h) { return raised_trap(store, h.name); }

// Writes the callable's return value into the result slots; false with a Python exception set.
bool store_results(const HostFunc& h, PyObject* ret, wasmtime_val_raw_t* raw) {
  const size_t n = h.results.size();
  if (n == 1) [[likely]]
    return to_raw(ret, h.results[0], raw[0], h.result_names[0], -1);
  if (n == 0) {
    if (ret == Py_None) return true;
    PyErr_Format(PyExc_TypeError, "host function %R must return None (its wasm type has no results), not %.200s",
                 h.name, Py_TYPE(ret)->tp_name);
    return false;
  }
  if (!PyTuple_Check(ret) && !PyList_Check(ret)) {
    PyErr_Format(PyExc_TypeError, "host function %R must return a tuple of %zu values, not %.200s", h.name, n,
                 Py_TYPE(ret)->tp_name);
    return false;
  }
  PyObject* fast = PySequence_Fast(ret, "results");
  if (fast == nullptr) return false;
  bool ok = static_cast<size_t>(PySequence_Fast_GET_SIZE(fast)) == n;
  if (!ok)
    PyErr_Format(PyExc_TypeError, "host function %R must return %zu values, not %zd", h.name, n,
                 PySequence_Fast_GET_SIZE(fast));
  for (size_t i = 0; ok && i < n; ++i)
    ok = to_raw(PySequence_Fast_GET_ITEM(fast, i), h.results[i], raw[i], h.result_names[i], -1);
  Py_DECREF(fast);
  return ok;
}

// Runs with the GIL held: every way into wasm (Func calls, instantiation) keeps it.
wasm_trap_t* host_trampoline(void* env, wasmtime_caller_t* caller, wasmtime_val_raw_t* raw, size_t) {
  const HostFunc& h = *static_cast<const HostFunc*>(env);
  Store& store = Store::of(wasmtime_caller_context(caller));
  HostActivation active(store);  // this thread has the store entered until we return
  const size_t nparams = h.params.size();
  const size_t nargs = nparams + (h.first_arg != nullptr ? 1 : 0);
  // One spare slot in front for PY_VECTORCALL_ARGUMENTS_OFFSET (a bound-method callee may use it).
  PyObject* stack[kStackArgs + 1];
  std::unique_ptr<PyObject*[]> heap;
  PyObject** argv = stack;
  if (nargs > kStackArgs) [[unlikely]] {
    heap.reset(new (std::nothrow) PyObject*[nargs + 1]);
    if (!heap) {
      PyErr_NoMemory();
      return stash_exception(store, h);
    }
    argv = heap.get();
  }
  PyObject** args = argv + 1;
  size_t made = 0;
  if (h.first_arg != nullptr) args[made++] = Py_NewRef(h.first_arg);
  for (size_t i = 0; i < nparams; ++i) {
    PyObject* v = from_raw(raw[i], h.params[i]);
    if (v == nullptr) [[unlikely]] {
      for (size_t j = 0; j < made; ++j) Py_DECREF(args[j]);
      return stash_exception(store, h);
    }
    args[made++] = v;
  }
  PyObject* ret = call_python_from_wasm(h.callable, args, nargs | PY_VECTORCALL_ARGUMENTS_OFFSET);  // gil.hpp
  for (size_t j = 0; j < made; ++j) Py_DECREF(args[j]);
  if (ret == nullptr) [[unlikely]]
    return stash_exception(store, h);
  const bool ok = store_results(h, ret, raw);
  Py_DECREF(ret);
  if (!ok) [[unlikely]]
    return stash_exception(store, h);
  // The Python code may have let another thread cancel the call (Instance.cancel): seen here,
  // before wasm goes on, since the call may return without another epoch check.
  return store.take_cancel_trap();
}

void drop_exception(void* payload) { Py_DECREF(static_cast<PyObject*>(payload)); }

}  // namespace

wasm_trap_t* raised_trap(Store& store, PyObject* name) {
  std::string msg = "host function '";
  msg += PyUnicode_AsUTF8(name);
  msg += "' raised ";
  msg += park_python_exception(store);
  return wasmtime_trap_new(msg.data(), msg.size());
}

const char* park_python_exception(Store& store) noexcept {
  PyObject* value = fetch_exception();
  if (value == nullptr) return "an exception";
  store.set_pending(value, drop_exception);  // the store's reference keeps the type (and its name) alive
  return Py_TYPE(value)->tp_name;
}

Result<wasmtime_func_t> make_host_func(Store& store, const Module& module, size_t index, PyObject* callable,
                                       PyObject* first_arg, PyObject* name) {
  const ExternDesc& desc = module.imports().at(index);
  auto h = std::make_unique<HostFunc>();
  for (ValKind k : desc.func.params) h->params.push_back(default_marshal(k));
  for (ValKind k : desc.func.results) h->results.push_back(default_marshal(k));
  for (Marshal m : h->params)
    if (m == Marshal::Unsupported)
      return make_error(ErrorKind::Link, "import '" + desc.module + "." + desc.name + "' has signature " +
                                             desc.func.to_string() +
                                             ": only i32, i64, f32 and f64 host function types are supported so far");
  for (Marshal m : h->results)
    if (m == Marshal::Unsupported)
      return make_error(ErrorKind::Link, "import '" + desc.module + "." + desc.name + "' has signature " +
                                             desc.func.to_string() +
                                             ": only i32, i64, f32 and f64 host function types are supported so far");
  for (size_t i = 0; i < h->results.size(); ++i) {
    PyObject* rn = h->results.size() == 1
                       ? PyUnicode_FromFormat("host function %R result", name)
                       : PyUnicode_FromFormat("host function %R result %zu", name, i + 1);
    if (rn == nullptr) {
      for (PyObject* n : h->result_names) Py_DECREF(n);
      return make_error(ErrorKind::Engine, "out of memory");
    }
    h->result_names.push_back(rn);
  }
  h->callable = callable;
  h->first_arg = first_arg;
  h->name = Py_NewRef(name);
  return new_host_func(store, module, index, host_trampoline, h.release(), host_finalize);
}

}  // namespace wasmffi::py
