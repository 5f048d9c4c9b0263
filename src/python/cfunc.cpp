// CFunc: a declared C function (cdef) as a vectorcall type. Its plan (a DeclPlan) is built once
// from the declaration; a call (call_plan) runs the marshalling steps of cfunc_args.cpp in order:
// convert and pin the arguments, take guest scratch, make one unchecked call, copy outputs back,
// wipe and release the scratch: all in C++, no Python-level code between (struct and enum
// results are built by their classes).
#include "cfunc.hpp"

#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "binding.hpp"
#include "callable.hpp"
#include "cfunc_args.hpp"
#include "convert.hpp"
#include "marshal.hpp"
#include "plan.hpp"
#include "store_guard.hpp"
#include "wasmffi/call.hpp"
#include "wasmffi/scratch.hpp"

namespace wasmffi::py {

namespace {

constexpr size_t kStackSlots = 32;
using namespace cfunc;  // CFuncObject, ArgState, the marshalling steps (cfunc_args.hpp)

PyTypeObject* g_cfunc_type = nullptr;

template <bool Managed>
PyObject* call_plan(CFuncObject* self, PyObject* const* args, wasmtime_val_raw_t* raw) {
  const DeclPlan& plan = *self->plan;
  const size_t np = plan.params.size();
  CallState st(np);
  const bool is64 = self->mem->has_value() && (*self->mem)->is64();
  auto set_ptr = [&](uint32_t slot, uint64_t v) {
    if (is64) raw[slot].i64 = static_cast<int64_t>(v);
    else raw[slot].i32 = static_cast<int32_t>(static_cast<uint32_t>(v));
  };
  // 1. Values into slots; buffers measured and their sources pinned.
  uint64_t scratch = plan.result.kind == ResKind::Sret ? align16(plan.result.size) : 0;
  for (size_t i = 0; i < np; ++i) {
    const DeclParam& p = plan.params[i];
    PyObject* o = args[i];
    if (p.dir == Dir::Value) {
      if (p.length_of >= 0 && o == nullptr) continue;  // filled from its buffer below
      if (p.record != nullptr) {  // a single-scalar struct: its bytes are the scalar
        if (!PyObject_TypeCheck(o, reinterpret_cast<PyTypeObject*>(p.record)))
          return arg_error(PyExc_TypeError, self, p, "expected %s, not %s",
                           reinterpret_cast<PyTypeObject*>(p.record)->tp_name, Py_TYPE(o)->tp_name);
        uint8_t bytes[8] = {};
        if (!record_scalar_bytes(self, p, o, bytes)) return nullptr;
        load_element(p.unit, bytes, raw[p.slot]);
        continue;
      }
      if (!to_raw(o, p.unit, raw[p.slot], p.label, -1)) [[unlikely]]
        return nullptr;
      continue;
    }
    if (!prepare_buffer(self, p, o, st.args[i])) return nullptr;
    st.args[i].copy_back = st.args[i].nbytes;
  }
  // 2. Lengths: given ones must not exceed their buffer; omitted ones are filled from it.
  for (size_t i = 0; i < np; ++i) {
    const DeclParam& p = plan.params[i];
    if (p.length_of < 0) continue;
    const DeclParam& bp = plan.params[static_cast<size_t>(p.length_of)];
    const ArgState& b = st.args[static_cast<size_t>(p.length_of)];
    const uint64_t have = p.length_bytes ? b.elems * bp.elem_size : b.elems;
    if (args[i] == nullptr) {
      if (b.address)
        return arg_error(PyExc_TypeError, self, p, "is required when %R is an address", bp.name);
      wasmtime_val_raw_t& s = raw[p.slot];
      if (unit_of(p.unit).wasm == ValKind::I64) s.i64 = static_cast<int64_t>(have);
      else s.i32 = static_cast<int32_t>(static_cast<uint32_t>(have));
      continue;
    }
    if (!b.address) {
      const MarshalUnit& u = unit_of(p.unit);
      uint64_t given = u.wasm == ValKind::I64 ? static_cast<uint64_t>(raw[p.slot].i64)
                                               : static_cast<uint64_t>(static_cast<uint32_t>(raw[p.slot].i32));
      if (given > have)
        return arg_error(PyExc_ValueError, self, p, "%llu exceeds the length of %R (%llu %s)",
                         static_cast<unsigned long long>(given), bp.name, static_cast<unsigned long long>(have),
                         p.length_bytes ? "bytes" : "elements");
      // The call can write no further than the length it is given: copy back only that much.
      ArgState& wb = st.args[static_cast<size_t>(p.length_of)];
      const uint64_t given_bytes = p.length_bytes ? given : given * bp.elem_size;
      if (given_bytes < wb.copy_back) wb.copy_back = given_bytes;
    } else if (self->mem->has_value()) {  // an address with a length: the range must be in bounds
      const MarshalUnit& u = unit_of(p.unit);
      uint64_t given = u.wasm == ValKind::I64 ? static_cast<uint64_t>(raw[p.slot].i64)
                                               : static_cast<uint64_t>(static_cast<uint32_t>(raw[p.slot].i32));
      uint64_t bytes = p.length_bytes ? given : given * bp.elem_size;
      if (auto s = (*self->mem)->span(b.addr, bytes, "argument"); !s)
        return raise_in(s.error(), self->head.name);
    }
  }
  // 2b. Sizes (`/* size_is(n) */`): an allocated output gets n elements; a given buffer must hold n.
  if (plan.has_size_is && !apply_sizes(self, st, raw)) return nullptr;
  for (size_t i = 0; i < np; ++i) {
    ArgState& a = st.args[i];
    if (plan.params[i].dir == Dir::Value || a.address) continue;
    a.offset = scratch;
    scratch += align16(a.nbytes);
  }
  // 3. Addresses: in bounds for what the declaration says is there.
  if (plan.has_buffers && !self->mem->has_value())
    return PyErr_Format(PyExc_TypeError, "%U(): the module exports no memory, so pointer parameters cannot be used",
                        self->head.name);
  for (size_t i = 0; i < np; ++i) {
    const DeclParam& p = plan.params[i];
    if (p.dir == Dir::Value || !st.args[i].address) continue;
    // What the declaration says is there: N elements of `T name[N]`; a length or size_is
    // checked the range above; a plain `T *` points at one T at least.
    const uint64_t need = p.count >= 0                             ? static_cast<uint64_t>(p.count) * p.elem_size
                          : (p.length_param >= 0 || p.size_is >= 0) ? 0
                                                                     : p.elem_size;
    if (auto s = (*self->mem)->span(st.args[i].addr, need, "argument"); !s) return raise_in(s.error(), self->head.name);
    set_ptr(plan.params[i].slot, st.args[i].addr);
  }
  if (!stack_fits(&self->head)) [[unlikely]]
    return nullptr;
  StoreEntry entry(self->head.ctx);  // one thread per store (store_guard.hpp)
  if (!entry) [[unlikely]]
    return nullptr;
  // 4. Scratch for everything copied, filled, called, copied back, wiped, released.
  ScratchBlock single;
  std::unique_ptr<ScratchBlock[]> more;
  ScratchBlock* blocks = nullptr;
  size_t nblocks = 0;
  if (scratch > 0) {
    if (self->alloc->kind() == AllocatorKind::None)
      return PyErr_Format(PyExc_TypeError, "%U(): a pointer argument needs a copy in guest memory, and the module has no allocator: %s",
                          self->head.name, GuestAllocator::requirement());
    // One block at the offsets laid out above (the common case, kept inline); else a block per
    // buffer from take_scratch_per_buffer, which sets each buffer's host and guest address.
    if (auto b = self->alloc->begin(self->head.ctx, **self->mem, scratch)) [[likely]] {
      single = *b;
      blocks = &single;
      nblocks = 1;
      st.sret_host = single.data;
      st.sret_addr = single.addr;
    } else if (!take_scratch_per_buffer(self, st, std::move(b).error(), scratch, more, blocks, nblocks)) {
      return nullptr;
    }
    for (size_t i = 0; i < np; ++i) {
      const DeclParam& p = plan.params[i];
      ArgState& a = st.args[i];
      if (p.dir == Dir::Value || a.address) continue;
      if (!more) {
        a.host = single.data + a.offset;
        a.gaddr = single.addr + a.offset;
      }
      // (An empty buffer may have no storage at all: memcpy/memset take no null pointer, even
      // for 0 bytes, so those are skipped.)
      if (a.nbytes == 0) {
      } else if (p.dir == Dir::Out || a.allocated_out) {
        std::memset(a.host, 0, a.nbytes);
      } else {
        std::memcpy(a.host, a.src, a.nbytes);
      }
      set_ptr(p.slot, a.gaddr);
    }
    if (plan.result.kind == ResKind::Sret) {
      std::memset(st.sret_host, 0, plan.result.size);
      set_ptr(0, st.sret_addr);
    }
  }
  Result<void> r;
  if (!call_raw<Managed>(&self->head, raw, plan.raw_len, r)) [[unlikely]]
    // Not reached in practice: StoreEntry above already refused a store another thread holds,
    // and nothing between there and here lets another thread run.
    r = make_error(ErrorKind::Engine, "this instance's store is in use by another thread");
  // 5. Outputs are read before the block is wiped; the block is released whatever happened.
  PyObject* result = nullptr;
  PyObject* outs[kMaxParams];
  size_t nouts = 0;
  bool ok = static_cast<bool>(r);
  if (ok && plan.has_length_is) limit_to_written(plan, st, raw);
  if (ok) {
    for (size_t i = 0; i < np && ok; ++i) {
      const DeclParam& p = plan.params[i];
      ArgState& a = st.args[i];
      if (p.dir == Dir::Value || a.address) continue;
      if (a.allocated_out) {
        outs[nouts] = output_value(p, a, a.host);
        ok = outs[nouts++] != nullptr;
      } else if (a.writable && a.copy_back != 0) {
        std::memcpy(a.view.buf, a.host, a.copy_back);
      }
    }
    if (ok && plan.result.kind != ResKind::Void) {
      result = result_value(self, raw, st.sret_host);
      ok = result != nullptr;
    }
  }
  for (size_t k = nblocks; k-- > 0;) {  // in reverse: arena blocks are carved as a stack
    if (auto e = self->alloc->end(self->head.ctx, **self->mem, blocks[k]); !e && ok) {
      ok = false;
      raise_in(e.error(), self->head.name);
    }
  }
  if (!r) raise_call_error(self->head.ctx, r.error(), self->head.name);
  if (!ok) {
    Py_XDECREF(result);
    for (size_t i = 0; i < nouts; ++i) Py_XDECREF(outs[i]);
    return nullptr;
  }
  // 6. The C result, then allocated outputs in parameter order: one value alone, several a tuple.
  const size_t total = (result ? 1 : 0) + nouts;
  if (total == 0) Py_RETURN_NONE;
  if (total == 1) return result ? result : outs[0];
  PyObject* t = PyTuple_New(static_cast<Py_ssize_t>(total));
  if (t == nullptr) {
    Py_XDECREF(result);
    for (size_t i = 0; i < nouts; ++i) Py_DECREF(outs[i]);
    return nullptr;
  }
  Py_ssize_t k = 0;
  if (result) PyTuple_SET_ITEM(t, k++, result);
  for (size_t i = 0; i < nouts; ++i) PyTuple_SET_ITEM(t, k++, outs[i]);
  return t;
}

template <bool Managed>
PyObject* cfunc_vectorcall(PyObject* callable, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  auto* self = reinterpret_cast<CFuncObject*>(callable);
  const DeclPlan& plan = *self->plan;
  const Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  PyObject* by_param[kMaxParams];
  for (size_t j = 0; j < plan.params.size(); ++j) by_param[j] = nullptr;
  // Two call forms, told apart by the number of positional arguments: up to the short form's
  // count, they fill the short form's parameters (linked lengths omitted, filled from their
  // buffers); more, and they are the C parameters in C order, lengths included, as the header
  // reads (`fill(buf, len(buf), 7)`). Keywords may name any parameter in either form.
  const auto npos = static_cast<Py_ssize_t>(plan.positional.size());
  const auto nparams = static_cast<Py_ssize_t>(plan.params.size());
  if (nargs <= npos) [[likely]] {
    for (Py_ssize_t i = 0; i < nargs; ++i) by_param[plan.positional[static_cast<size_t>(i)]] = args[i];
  } else if (nargs <= nparams) {
    for (Py_ssize_t i = 0; i < nargs; ++i) by_param[i] = args[i];
  } else if (npos == nparams) {
    return PyErr_Format(PyExc_TypeError, "%U() takes %zd positional argument%s but %zd were given (%s)", self->head.name,
                        npos, npos == 1 ? "" : "s", nargs, plan.signature.c_str());
  } else [[unlikely]] {
    return PyErr_Format(PyExc_TypeError,
                        "%U() takes %zd positional arguments (lengths filled in) or %zd (every C parameter, in C "
                        "order) but %zd were given (%s)",
                        self->head.name, npos, nparams, nargs, plan.signature.c_str());
  }
  if (kwnames != nullptr) {
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(kwnames); ++k) {
      PyObject* key = PyTuple_GET_ITEM(kwnames, k);
      size_t j = 0;
      for (; j < plan.params.size(); ++j)
        if (PyUnicode_Compare(key, plan.params[j].name) == 0) break;
      if (j == plan.params.size())
        return PyErr_Format(PyExc_TypeError, "%U() got an unexpected keyword argument %R (%s)", self->head.name, key,
                            plan.signature.c_str());
      if (by_param[j] != nullptr)
        return PyErr_Format(PyExc_TypeError, "%U() got multiple values for argument %R", self->head.name, key);
      by_param[j] = args[nargs + k];
    }
  }
  for (size_t j = 0; j < plan.params.size(); ++j) {
    if (by_param[j] == Py_None && plan.params[j].length_of >= 0) by_param[j] = nullptr;  // None: fill it
    if (by_param[j] == nullptr && plan.params[j].length_of < 0)
      return PyErr_Format(PyExc_TypeError, "%U() missing argument %R (%s)", self->head.name, plan.params[j].name,
                          plan.signature.c_str());
  }
  if (plan.raw_len > kStackSlots) [[unlikely]] {
    std::unique_ptr<wasmtime_val_raw_t[]> heap(new (std::nothrow) wasmtime_val_raw_t[plan.raw_len]());
    if (!heap) return PyErr_NoMemory();
    return call_plan<Managed>(self, by_param, heap.get());
  }
  wasmtime_val_raw_t raw[kStackSlots];
  std::memset(raw, 0, sizeof(wasmtime_val_raw_t) * plan.raw_len);
  return call_plan<Managed>(self, by_param, raw);
}

int cfunc_traverse(PyObject* o, visitproc visit, void* arg) {
  auto* self = reinterpret_cast<CFuncObject*>(o);
  Py_VISIT(self->raw);
  Py_VISIT(self->spec);
  Py_VISIT(self->plan_obj);
  return traverse_head(&self->head, visit, arg);
}

void cfunc_dealloc(PyObject* o) {
  auto* self = reinterpret_cast<CFuncObject*>(o);
  clear_head(&self->head);
  Py_CLEAR(self->plan_obj);
  Py_CLEAR(self->raw);
  Py_CLEAR(self->doc);
  Py_CLEAR(self->spec);
  free_callable(&self->head);
}

PyObject* cfunc_repr(PyObject* o) {
  auto* self = reinterpret_cast<CFuncObject*>(o);
  return PyUnicode_FromFormat("<wasmffi.CFunc %U>", self->doc);
}

PyObject* get_raw(PyObject* o, void*) { return Py_NewRef(reinterpret_cast<CFuncObject*>(o)->raw); }
PyObject* get_doc(PyObject* o, void*) { return Py_NewRef(reinterpret_cast<CFuncObject*>(o)->doc); }
PyObject* get_spec(PyObject* o, void*) { return Py_NewRef(reinterpret_cast<CFuncObject*>(o)->spec); }
// inspect.signature(): buffers and values positional, linked lengths keyword-only (cdef builds it).
PyObject* get_signature(PyObject* o, void*) {
  return PyObject_CallMethod(reinterpret_cast<CFuncObject*>(o)->spec, "signature", nullptr);
}

PyGetSetDef cfunc_getset[] = {
    WASMFFI_CALLABLE_NAME_GETSETS,
    {"__doc__", get_doc, nullptr, nullptr, nullptr},
    {"__signature__", get_signature, nullptr, "inspect.Signature of the declared function", nullptr},
    {"spec", get_spec, nullptr, "the declaration lowered for this module (a cdef FunctionSpec)", nullptr},
    {"raw", get_raw, nullptr, "the export as an undeclared wasmffi.Func (wasm types, no marshalling)", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot cfunc_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(cfunc_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(cfunc_traverse)},
    {Py_tp_repr, reinterpret_cast<void*>(cfunc_repr)},
    {Py_tp_getset, cfunc_getset},
    {0, nullptr},
};

PyType_Spec cfunc_spec = {
    "wasmffi.CFunc",
    sizeof(CFuncObject),
    0,
    kCallableFlags,
    cfunc_slots,
};

}  // namespace

bool init_cfunc_type(PyObject* module) {
  g_cfunc_type = make_callable_type(module, "CFunc", cfunc_spec);
  return g_cfunc_type != nullptr;
}

PyObject* make_cfunc(PyObject* owner, wasmtime_context_t* ctx, const wasmtime_func_t& func, GuestAllocator* alloc,
                     std::optional<GuestMemory>* mem, PyObject* raw, PyObject* plan_obj, PyObject* spec) {
  const DeclPlan* plan = plan_of(plan_obj);
  if (plan == nullptr) return nullptr;
  const bool is64 = mem->has_value() && (*mem)->is64();
  if (plan->has_buffers && mem->has_value() && plan->is64 != is64)
    return PyErr_Format(PyExc_ValueError, "cfunc(): the plan of %s was built for %s pointers, the memory is %s",
                        plan->name.c_str(), plan->is64 ? "64-bit" : "32-bit", is64 ? "64-bit" : "32-bit");
  PyObject* name = PyUnicode_FromString(plan->name.c_str());
  if (name == nullptr) return nullptr;
  PyObject* doc = PyObject_GetAttrString(spec, "declaration");
  if (doc == nullptr) {
    Py_DECREF(name);
    return nullptr;
  }
  auto* self = PyObject_GC_New(CFuncObject, g_cfunc_type);
  if (self == nullptr) {
    Py_DECREF(name);
    Py_DECREF(doc);
    return nullptr;
  }
  // The call variant, chosen once: plain calls never test for a timeout or a released GIL.
  const CallMode mode = call_mode_for(ctx, -1);
  init_head(&self->head, mode == CallMode::Plain ? cfunc_vectorcall<false> : cfunc_vectorcall<true>, mode, owner,
            ctx, func, name);
  Py_DECREF(name);  // init_head took its own reference
  self->alloc = alloc;
  self->mem = mem;
  self->plan = plan;
  self->plan_obj = Py_NewRef(plan_obj);
  self->raw = Py_NewRef(raw);
  self->doc = doc;
  self->spec = Py_NewRef(spec);
  PyObject_GC_Track(self);
  return reinterpret_cast<PyObject*>(self);
}

}  // namespace wasmffi::py
