// Func: exported wasm functions as a vectorcall type. Everything about a function is decided in
// make_func (its CallPlan); a call only converts arguments into a stack array, makes one
// unchecked call and converts results back: no Python-level code, no heap allocation, no type
// look-up per call.
#include "func.hpp"

#include <memory>
#include <new>
#include <optional>
#include <string_view>
#include <vector>

#include "callable.hpp"
#include "convert.hpp"
#include "marshal.hpp"
#include "store_guard.hpp"
#include "wasmffi/instance.hpp"

namespace wasmffi::py {

namespace {

// Signatures up to this many slots use a C-stack raw array (reentrant and thread-safe, and no
// allocation). Larger ones, which real code almost never has, use a buffer allocated per call.
constexpr size_t kStackSlots = 32;

struct FuncObject {
  CallableHead head;           // first: owner, ctx, func, name, the call mode (callable.hpp)
  CallPlan* plan;              // built once in make_func; owned
  const Marshal* params;       // = plan->params.data(), cached to save a load per call
  const Marshal* results;
  Py_ssize_t nparams;
  Py_ssize_t nresults;
  int8_t release;              // as typed(release_gil=) was given: -1 the store's choice, 0 no, 1 yes
};

PyObject* arity_error(FuncObject* self, Py_ssize_t nargs, PyObject* kwnames) {
  if (kwnames != nullptr && PyTuple_GET_SIZE(kwnames) > 0)
    return PyErr_Format(PyExc_TypeError, "%U() takes no keyword arguments (wasm parameters are positional)",
                        self->head.name);
  return PyErr_Format(PyExc_TypeError, "%U() takes %zd positional argument%s but %zd %s given", self->head.name,
                      self->nparams, self->nparams == 1 ? "" : "s", nargs, nargs == 1 ? "was" : "were");
}

PyObject* results_to_python(FuncObject* self, const wasmtime_val_raw_t* raw) {
  if (self->nresults == 1) [[likely]]
    return from_raw(raw[0], self->results[0]);
  if (self->nresults == 0) Py_RETURN_NONE;
  PyObject* tuple = PyTuple_New(self->nresults);
  if (tuple == nullptr) return nullptr;
  for (Py_ssize_t i = 0; i < self->nresults; ++i) {
    PyObject* v = from_raw(raw[i], self->results[i]);
    if (v == nullptr) {
      Py_DECREF(tuple);
      return nullptr;
    }
    PyTuple_SET_ITEM(tuple, i, v);
  }
  return tuple;
}

template <bool Managed>
PyObject* call_with(FuncObject* self, PyObject* const* args, wasmtime_val_raw_t* raw) {
  // 1. Arguments -> raw slots, by the units cached in the plan (one table-indexed call each).
  for (Py_ssize_t i = 0; i < self->nparams; ++i)
    if (!to_raw(args[i], self->params[i], raw[i], self->head.name, i)) [[unlikely]]
      return nullptr;
  // 2. One unchecked call: the plan already proved the signature, so wasmtime need not re-check.
  //    The GIL stays held on the plain path: releasing it costs more than most calls take, so
  //    only functions made with release_gil (Managed, a separate vectorcall) do.
  //    Refused, as a StackOverflow, on a thread without room for the engine's max_wasm_stack.
  if (!stack_fits(&self->head)) [[unlikely]]
    return nullptr;
  StoreEntry entry(self->head.ctx);  // one thread per store (store_guard.hpp)
  if (!entry) [[unlikely]]
    return nullptr;
  Result<void> r;
  if (!call_raw<Managed>(&self->head, raw, static_cast<size_t>(self->plan->raw_len), r)) [[unlikely]]
    return nullptr;
  if (!r) [[unlikely]]
    return raise_call_error(self->head.ctx, r.error(), self->head.name);
  // 3. Results were written over the arguments, starting at slot 0.
  return results_to_python(self, raw);
}

template <bool Managed>
PyObject* func_vectorcall(PyObject* callable, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  auto* self = reinterpret_cast<FuncObject*>(callable);
  const Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  if (nargs != self->nparams || kwnames != nullptr) [[unlikely]]
    return arity_error(self, nargs, kwnames);
  if (self->plan->raw_len <= kStackSlots) [[likely]] {
    wasmtime_val_raw_t raw[kStackSlots];
    return call_with<Managed>(self, args, raw);
  }
  std::unique_ptr<wasmtime_val_raw_t[]> heap(new (std::nothrow) wasmtime_val_raw_t[self->plan->raw_len]);
  if (!heap) return PyErr_NoMemory();
  return call_with<Managed>(self, args, heap.get());
}

int func_traverse(PyObject* o, visitproc visit, void* arg) {
  return traverse_head(reinterpret_cast<CallableHead*>(o), visit, arg);
}

void func_dealloc(PyObject* o) {
  auto* self = reinterpret_cast<FuncObject*>(o);
  clear_head(&self->head);
  delete self->plan;
  free_callable(&self->head);
}

// The declared types: wasm kinds, with u32/u64 where a declaration made an integer unsigned.
PyObject* names_tuple(const std::vector<Marshal>& ms) {
  PyObject* t = PyTuple_New(static_cast<Py_ssize_t>(ms.size()));
  if (t == nullptr) return nullptr;
  for (size_t i = 0; i < ms.size(); ++i) {
    PyObject* name = PyUnicode_FromString(marshal_name(ms[i]));
    if (name == nullptr) {
      Py_DECREF(t);
      return nullptr;
    }
    PyTuple_SET_ITEM(t, static_cast<Py_ssize_t>(i), name);
  }
  return t;
}

PyObject* func_repr(PyObject* o) {
  auto* self = reinterpret_cast<FuncObject*>(o);
  return PyUnicode_FromFormat("<wasmffi.Func %U%s>", self->head.name, self->plan->to_string().c_str());
}

PyObject* get_params(PyObject* o, void*) { return names_tuple(reinterpret_cast<FuncObject*>(o)->plan->params); }
PyObject* get_results(PyObject* o, void*) { return names_tuple(reinterpret_cast<FuncObject*>(o)->plan->results); }

// wasmffi.FuncType(params, results): the same value ExternInfo.type holds; str() of it is the text.
PyObject* get_type(PyObject* o, void*) {
  PyObject* params = get_params(o, nullptr);
  PyObject* results = params ? get_results(o, nullptr) : nullptr;
  PyObject* type = results ? PyObject_CallFunctionObjArgs(registry().func_type_info, params, results, nullptr) : nullptr;
  Py_XDECREF(params);
  Py_XDECREF(results);
  return type;
}

// inspect.signature() support, built by FuncType (Python): not on any call path.
PyObject* get_signature(PyObject* o, void*) {
  PyObject* type = get_type(o, nullptr);
  if (type == nullptr) return nullptr;
  PyObject* sig = PyObject_CallMethod(type, "as_signature", nullptr);
  Py_DECREF(type);
  return sig;
}

PyObject* get_doc(PyObject* o, void*) {
  auto* self = reinterpret_cast<FuncObject*>(o);
  return PyUnicode_FromFormat("%U%s: exported WebAssembly function", self->head.name, self->plan->to_string().c_str());
}

PyGetSetDef func_getset[] = {
    WASMFFI_CALLABLE_NAME_GETSETS,
    {"__signature__", get_signature, nullptr, "inspect.Signature of the wasm function", nullptr},
    {"__doc__", get_doc, nullptr, nullptr, nullptr},
    {"params", get_params, nullptr, "wasm parameter types, e.g. ('i32', 'i32')", nullptr},
    {"results", get_results, nullptr, "wasm result types", nullptr},
    {"type", get_type, nullptr, "the signature as a wasmffi.FuncType (str() of it is the text)", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyObject* func_typed(PyObject* o, PyObject* args, PyObject* kwargs);

PyMethodDef func_methods[] = {
    {"typed", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(func_typed)), METH_VARARGS | METH_KEYWORDS,
     "typed($self, /, *, params=None, results=None, release_gil=None)\n--\n\n"
     "The same function with declared types: names from i32, u32, i64, u64, f32, f64, ptr (an\n"
     "unsigned address), and the C scalars i8, u8, i16, u16, int32, int64, bool (each checks its\n"
     "range). Declared unsigned results come back as unsigned ints, and such parameters reject\n"
     "negative values. None keeps the current declaration; a list, an empty\n"
     "one included, declares every slot and must match the wasm signature (else ValueError).\n"
     "Resolved once; the returned callable is as fast. release_gil=True makes every call release\n"
     "the GIL (other Python threads run meanwhile; worth it for calls longer than a few\n"
     "microseconds), False keeps it, None keeps this function's choice (the instance's release_gil)."},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot func_slots[] = {
    {Py_tp_methods, func_methods},
    {Py_tp_dealloc, reinterpret_cast<void*>(func_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(func_traverse)},
    {Py_tp_repr, reinterpret_cast<void*>(func_repr)},
    {Py_tp_getset, func_getset},
    {0, nullptr},
};

PyType_Spec func_spec = {
    "wasmffi.Func",
    sizeof(FuncObject),
    0,
    kCallableFlags,
    func_slots,
};

}  // namespace

PyTypeObject* make_func_type(PyObject* module) { return make_callable_type(module, "Func", func_spec); }

namespace {

PyObject* new_func(PyObject* owner, wasmtime_context_t* ctx, const wasmtime_func_t& func, PyObject* name,
                   std::unique_ptr<CallPlan> plan, int8_t release) {
  if (!plan->all_scalar)
    return PyErr_Format(PyExc_TypeError,
                        "export %R has signature %s: only i32, i64, f32 and f64 parameters and results "
                        "are supported so far",
                        name, plan->sig.to_string().c_str());
  const CallMode mode = call_mode_for(ctx, release);
  if (mode == CallMode::Releasing && !check_release_allowed(ctx, "Func.typed()")) return nullptr;
  auto* self = PyObject_GC_New(FuncObject, registry().func);
  if (self == nullptr) return nullptr;
  init_head(&self->head, mode == CallMode::Plain ? func_vectorcall<false> : func_vectorcall<true>, mode, owner, ctx,
            func, name);
  self->release = release;
  self->plan = plan.release();
  self->params = self->plan->params.data();
  self->results = self->plan->results.data();
  self->nparams = static_cast<Py_ssize_t>(self->plan->params.size());
  self->nresults = static_cast<Py_ssize_t>(self->plan->results.size());
  PyObject_GC_Track(self);
  return reinterpret_cast<PyObject*>(self);
}

// None (or absent) keeps the current declaration: nullopt. A sequence, an empty one included,
// is a full declaration that retyped() checks against the signature. "ptr" means an unsigned
// address of the slot's own width (u32 on i32, u64 on i64 for memory64).
bool parse_marshals(PyObject* seq, const std::vector<ValKind>& kinds, const char* what,
                    std::optional<std::vector<Marshal>>& out) {
  if (seq == nullptr || seq == Py_None) return true;
  if (PyUnicode_Check(seq)) {
    PyErr_Format(PyExc_TypeError, "typed(): %s must be a sequence of type names, not a str", what);
    return false;
  }
  PyObject* fast = PySequence_Fast(seq, "typed(): types must be a sequence of type names");
  if (fast == nullptr) return false;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
  out.emplace();
  bool ok = true;
  for (Py_ssize_t i = 0; ok && i < n; ++i) {
    PyObject* item = PySequence_Fast_GET_ITEM(fast, i);
    const char* s = PyUnicode_Check(item) ? PyUnicode_AsUTF8(item) : nullptr;
    if (s == nullptr) {
      PyErr_Clear();
      PyErr_Format(PyExc_TypeError, "typed(): %s %zd must be a type name str, not %.200s", what, i,
                   Py_TYPE(item)->tp_name);
      ok = false;
      break;
    }
    std::optional<Marshal> m =
        marshal_named(s, static_cast<size_t>(i) < kinds.size() ? kinds[i] : ValKind::I32);
    if (!m) {
      PyErr_Format(PyExc_ValueError, "typed(): unknown type %R for %s %zd (expected %s)", item, what, i,
                   marshal_names_text());
      ok = false;
      break;
    }
    out->push_back(*m);
  }
  Py_DECREF(fast);
  return ok;
}

PyObject* func_typed(PyObject* o, PyObject* args, PyObject* kwargs) {
  auto* self = reinterpret_cast<FuncObject*>(o);
  static const char* kwlist[] = {"params", "results", "release_gil", nullptr};
  PyObject* params = nullptr;
  PyObject* results = nullptr;
  PyObject* release_gil = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$OOO:typed", const_cast<char**>(kwlist), &params, &results,
                                   &release_gil))
    return nullptr;
  if (release_gil != Py_None && !PyBool_Check(release_gil))
    return PyErr_Format(PyExc_TypeError, "typed(): release_gil must be True, False or None, not %.200s",
                        Py_TYPE(release_gil)->tp_name);
  const int8_t release = release_gil == Py_None ? self->release : release_gil == Py_True ? 1 : 0;
  std::optional<std::vector<Marshal>> ps, rs;
  if (!parse_marshals(params, self->plan->sig.params, "params", ps) ||
      !parse_marshals(results, self->plan->sig.results, "results", rs))
    return nullptr;
  auto plan = self->plan->retyped(ps, rs);
  if (!plan)
    return PyErr_Format(PyExc_ValueError, "%U.typed(): %s (the function is %U%s)", self->head.name,
                        plan.error().message.c_str(), self->head.name, self->plan->sig.to_string().c_str());
  return new_func(self->head.owner, self->head.ctx, self->head.func, self->head.name, std::make_unique<CallPlan>(std::move(plan).value()),
                  release);
}

}  // namespace

PyObject* make_func(PyObject* owner, wasmtime_context_t* ctx, const wasmtime_func_t& func, PyObject* name) {
  return new_func(owner, ctx, func, name, std::make_unique<CallPlan>(CallPlan::for_func(ctx, func)), -1);
}

}  // namespace wasmffi::py
