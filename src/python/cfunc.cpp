// CFunc: a declared C function (cdef) as a vectorcall type. Its plan is built once from the
// declaration; a call converts arguments through the marshalling units, copies buffers into one
// scratch block, makes one unchecked call, copies outputs back, wipes and releases the block:
// all in C++, no Python-level code between (struct and enum results are built by their classes).
#include "cfunc.hpp"

#include <structmember.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "binding.hpp"
#include "convert.hpp"
#include "marshal.hpp"
#include "plan.hpp"
#include "store_guard.hpp"
#include "wasmffi/call.hpp"
#include "wasmffi/scratch.hpp"

namespace wasmffi::py {

namespace {

constexpr size_t kStackSlots = 32;

struct CFuncObject {
  PyObject_HEAD
  vectorcallfunc vectorcall;
  PyObject* owner;  // the _Instance: keeps the store (and its allocator) alive
  wasmtime_context_t* ctx;
  wasmtime_func_t func;
  GuestAllocator* alloc;  // owned by the _Instance
  std::optional<GuestMemory>* mem;  // owned by the _Instance; empty without an exported memory
  const DeclPlan* plan;  // owned by plan_obj
  PyObject* plan_obj;    // the _core.DeclPlan
  PyObject* name;
  PyObject* raw;       // the undeclared Func, for .raw
  PyObject* out_type;  // wasmffi.Out
  PyObject* doc;
  PyObject* spec;      // cdef's FunctionSpec: __signature__ and .spec
  PyObject* weakrefs;
  CallMode mode;       // the store's timeout / release_gil (store_guard.hpp), fixed when made
};

PyTypeObject* g_cfunc_type = nullptr;

// Per-argument state during one call. Deliberately without member initialisers: a call holds
// kMaxParams of them on the stack and resets only the ones its function has (zeroing all of
// them, Py_buffers included, cost more than the rest of a small call).
struct ArgState {
  Py_buffer view;
  bool has_view;
  PyObject* tmp;               // bytes made from a list/str (owned)
  const uint8_t* src;
  uint64_t nbytes;             // bytes copied in (or reserved, for outputs)
  uint64_t elems;              // length in elements (cstring: UTF-8 bytes without the NUL)
  uint64_t offset;             // in the scratch block
  bool address;                // an int: used as is
  uint64_t addr;
  bool allocated_out;          // None / out(n): returned after the call
  bool as_scalar;              // None for `T *`: one element returned as a value
  bool writable;               // copy back into view
  void reset() {
    has_view = address = allocated_out = as_scalar = writable = false;
    tmp = nullptr;
    src = nullptr;
    nbytes = elems = offset = addr = 0;
  }
};

struct CallState {
  ArgState args[kMaxParams];
  size_t n;
  explicit CallState(size_t count) : n(count) {
    for (size_t i = 0; i < n; ++i) args[i].reset();
  }
  ~CallState() {
    for (size_t i = 0; i < n; ++i) {
      if (args[i].has_view) PyBuffer_Release(&args[i].view);
      Py_XDECREF(args[i].tmp);
    }
  }
};

uint64_t align16(uint64_t x) { return (x + 15) & ~uint64_t{15}; }

PyObject* arg_error(PyObject* exc, CFuncObject* self, const DeclParam& p, const char* fmt, auto... a) {
  std::string f = "%U() argument %R (%s): ";
  f += fmt;
  return PyErr_Format(exc, f.c_str(), self->name, p.name, p.ctype.c_str(), a...);
}

// Whether a buffer's format (struct-module syntax) matches the element: raw bytes ('B', 'b', 'c'
// or none) always do; typed ones need the element's size and kind (integer, float, bool).
bool format_matches(const Py_buffer& v, const DeclParam& p, bool& raw) {
  const char* f = v.format ? v.format : "B";
  if (*f == '@' || *f == '=' || *f == '<') ++f;
  raw = (std::strcmp(f, "B") == 0 || std::strcmp(f, "b") == 0 || std::strcmp(f, "c") == 0);
  if (raw) return true;
  if (f[0] == '\0' || f[1] != '\0' || p.unit == Marshal::Unsupported) return false;
  if (static_cast<uint64_t>(v.itemsize) != p.elem_size) return false;
  const MarshalUnit& u = unit_of(p.unit);
  if (std::strchr("hHiIlLqQnN", f[0])) return u.num == MarshalUnit::Num::Int;
  if (std::strchr("efd", f[0])) return u.num == MarshalUnit::Num::Float;
  if (f[0] == '?') return u.num == MarshalUnit::Num::Bool;
  return false;
}

bool is_address(PyObject* o) { return PyLong_Check(o) && !PyBool_Check(o); }

// Converts one buffer argument into bytes to copy (or an address, or an output request).
bool prepare_buffer(CFuncObject* self, const DeclParam& p, PyObject* o, ArgState& a) {
  const bool wants_write = p.dir == Dir::Out || p.dir == Dir::InOut;
  if (is_address(o)) {
    uint64_t addr;
    if (!to_address(o, addr, PyUnicode_AsUTF8(self->name), "address")) return false;
    a.address = true;
    a.addr = addr;
    return true;
  }
  if (o == Py_None || Py_TYPE(o) == reinterpret_cast<PyTypeObject*>(self->out_type)) {
    if (!wants_write) {
      arg_error(PyExc_TypeError, self, p, "None is not a value for an input buffer");
      return false;
    }
    uint64_t n = 1;
    if (o != Py_None) {
      PyObject* c = PyObject_GetAttrString(o, "count");
      if (c == nullptr) return false;
      n = PyLong_AsUnsignedLongLong(c);
      Py_DECREF(c);
      if (PyErr_Occurred()) return false;
      if (p.count >= 0 && n != static_cast<uint64_t>(p.count)) {
        arg_error(PyExc_ValueError, self, p, "out(%llu) for an array of %lld elements", static_cast<unsigned long long>(n),
                  static_cast<long long>(p.count));
        return false;
      }
    } else if (p.count >= 0) {
      n = static_cast<uint64_t>(p.count);
    } else {
      a.as_scalar = true;
    }
    a.allocated_out = true;
    a.elems = n;
    a.nbytes = n * p.elem_size;
    return true;
  }
  // bytes and bytearray: their storage directly (no buffer-protocol round trip); no Python code
  // runs before the copy back, so a bytearray cannot be resized in between.
  if (!p.cstring && (PyBytes_CheckExact(o) || PyByteArray_CheckExact(o))) [[likely]] {
    const bool is_bytes = PyBytes_CheckExact(o);
    if (is_bytes && wants_write) {
      arg_error(PyExc_TypeError, self, p, "the function writes to this buffer: it needs a writable one, not read-only bytes");
      return false;
    }
    a.src = reinterpret_cast<const uint8_t*>(is_bytes ? PyBytes_AS_STRING(o) : PyByteArray_AS_STRING(o));
    a.nbytes = static_cast<uint64_t>(Py_SIZE(o));
    a.view.buf = const_cast<uint8_t*>(a.src);
    a.writable = wants_write;
  }
  // A struct instance stands for its bytes (its `_buf`, a bytearray: updated in place for outputs).
  PyObject* src = o;
  if (a.src != nullptr) {  // bytes or bytearray, taken above
  } else if (p.record != nullptr && PyObject_TypeCheck(o, reinterpret_cast<PyTypeObject*>(p.record))) {
    a.tmp = PyObject_GetAttrString(o, "_buf");
    if (a.tmp == nullptr) return false;
    src = a.tmp;
  } else if (p.cstring && PyUnicode_Check(o)) {
    Py_ssize_t len;
    const char* s = PyUnicode_AsUTF8AndSize(o, &len);
    if (s == nullptr) return false;
    if (std::strlen(s) != static_cast<size_t>(len)) {
      arg_error(PyExc_ValueError, self, p, "a C string cannot contain a NUL character (at index %zd)",
                static_cast<Py_ssize_t>(std::strlen(s)));
      return false;
    }
    a.src = reinterpret_cast<const uint8_t*>(s);  // owned by the str, which the caller holds
    a.nbytes = static_cast<uint64_t>(len) + 1;     // the NUL is in the UTF-8 buffer
    a.elems = static_cast<uint64_t>(len);
    return true;
  } else if (PyList_Check(o) || PyTuple_Check(o)) {
    if (wants_write) {
      arg_error(PyExc_TypeError, self, p, "needs a writable buffer (bytearray, array.array, numpy array, memoryview), not %s",
                Py_TYPE(o)->tp_name);
      return false;
    }
    if (p.unit == Marshal::Unsupported) {
      arg_error(PyExc_TypeError, self, p, "a list of structs is not accepted: pass bytes or an int address");
      return false;
    }
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(o);
    a.tmp = PyBytes_FromStringAndSize(nullptr, n * static_cast<Py_ssize_t>(p.elem_size));
    if (a.tmp == nullptr) return false;
    auto* out = reinterpret_cast<uint8_t*>(PyBytes_AS_STRING(a.tmp));
    for (Py_ssize_t i = 0; i < n; ++i) {
      wasmtime_val_raw_t slot{};
      if (!to_raw(PySequence_Fast_GET_ITEM(o, i), p.unit, slot, self->name, -1)) {
        PyObject *exc, *val, *tb;
        PyErr_Fetch(&exc, &val, &tb);
        PyErr_NormalizeException(&exc, &val, &tb);
        arg_error(exc, self, p, "item %zd: %S", i, val);
        Py_XDECREF(exc);
        Py_XDECREF(val);
        Py_XDECREF(tb);
        return false;
      }
      store_element(p.unit, slot, out + i * p.elem_size);
    }
    a.src = out;
    a.nbytes = static_cast<uint64_t>(n) * p.elem_size;
  }
  if (a.src == nullptr) {
    if (!PyObject_CheckBuffer(src)) {
      arg_error(PyExc_TypeError, self, p, "expected %s, not %s",
                p.cstring ? "str, bytes or an int address" : "a bytes-like object, a list of numbers or an int address",
                Py_TYPE(o)->tp_name);
      return false;
    }
    int flags = PyBUF_FORMAT | PyBUF_C_CONTIGUOUS | (wants_write ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(src, &a.view, flags) < 0) {
      PyErr_Clear();
      if (wants_write && PyObject_GetBuffer(src, &a.view, PyBUF_SIMPLE) == 0) {
        PyBuffer_Release(&a.view);
        arg_error(PyExc_TypeError, self, p, "the function writes to this buffer: it needs a writable one, not read-only %s",
                  Py_TYPE(o)->tp_name);
      } else {
        arg_error(PyExc_TypeError, self, p, "needs a C-contiguous buffer, %s is not", Py_TYPE(o)->tp_name);
      }
      return false;
    }
    a.has_view = true;
    bool raw;
    if (!format_matches(a.view, p, raw)) {
      arg_error(PyExc_TypeError, self, p, "a buffer of format '%s' (item size %zd) does not match %zu-byte %s elements",
                a.view.format ? a.view.format : "B", a.view.itemsize, static_cast<size_t>(p.elem_size),
                p.unit == Marshal::Unsupported ? "struct" : marshal_name(p.unit));
      return false;
    }
    a.src = static_cast<const uint8_t*>(a.view.buf);
    a.nbytes = static_cast<uint64_t>(a.view.len);
    a.writable = wants_write;
    if (p.cstring) {  // bytes for a C string: a NUL is added, and none may be inside
      if (std::memchr(a.src, 0, a.nbytes) != nullptr) {
        arg_error(PyExc_ValueError, self, p, "a C string cannot contain a NUL byte");
        return false;
      }
      a.tmp = PyBytes_FromStringAndSize(reinterpret_cast<const char*>(a.src), static_cast<Py_ssize_t>(a.nbytes));
      if (a.tmp == nullptr) return false;
      a.src = reinterpret_cast<const uint8_t*>(PyBytes_AS_STRING(a.tmp));
      a.elems = a.nbytes;
      a.nbytes += 1;  // PyBytes keep a NUL after their data
      return true;
    }
  }
  if (p.count >= 0 && a.nbytes != static_cast<uint64_t>(p.count) * p.elem_size) {
    arg_error(PyExc_ValueError, self, p, "needs exactly %llu bytes (%lld x %zu), got %llu",
              static_cast<unsigned long long>(p.count * p.elem_size), static_cast<long long>(p.count),
              static_cast<size_t>(p.elem_size), static_cast<unsigned long long>(a.nbytes));
    return false;
  }
  if (p.elem_size == 1) [[likely]] {  // bytes: no 64-bit division on the common path
    a.elems = a.nbytes;
    return true;
  }
  if (a.nbytes % p.elem_size != 0) {
    arg_error(PyExc_ValueError, self, p, "%llu bytes is not a whole number of %zu-byte elements",
              static_cast<unsigned long long>(a.nbytes), static_cast<size_t>(p.elem_size));
    return false;
  }
  a.elems = a.nbytes / p.elem_size;
  return true;
}

// The Python value of an allocated output: a scalar or struct for `T *` with None, else bytes
// (1-byte elements), a list of struct instances, or a list of values.
PyObject* output_value(const DeclParam& p, const ArgState& a, const uint8_t* data) {
  auto record = [&](const uint8_t* at) {
    PyObject* b = PyBytes_FromStringAndSize(reinterpret_cast<const char*>(at), static_cast<Py_ssize_t>(p.elem_size));
    if (b == nullptr) return static_cast<PyObject*>(nullptr);
    PyObject* r = PyObject_CallMethod(p.record, "from_bytes", "O", b);
    Py_DECREF(b);
    return r;
  };
  auto scalar = [&](const uint8_t* at) {
    wasmtime_val_raw_t slot{};
    load_element(p.unit, at, slot);
    return from_raw(slot, p.unit);
  };
  const bool is_record = p.unit == Marshal::Unsupported;
  if (a.as_scalar) return is_record ? record(data) : scalar(data);
  if (p.elem_size == 1 && !is_record)
    return PyBytes_FromStringAndSize(reinterpret_cast<const char*>(data), static_cast<Py_ssize_t>(a.nbytes));
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(a.elems));
  if (list == nullptr) return nullptr;
  for (uint64_t i = 0; i < a.elems; ++i) {
    PyObject* v = is_record ? record(data + i * p.elem_size) : scalar(data + i * p.elem_size);
    if (v == nullptr) {
      Py_DECREF(list);
      return nullptr;
    }
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), v);
  }
  return list;
}

PyObject* result_value(CFuncObject* self, const wasmtime_val_raw_t* raw, const uint8_t* sret) {
  const DeclPlan& plan = *self->plan;
  if (plan.result.kind == ResKind::Void) return nullptr;
  if (plan.result.kind == ResKind::Sret) {
    PyObject* b = PyBytes_FromStringAndSize(reinterpret_cast<const char*>(sret), static_cast<Py_ssize_t>(plan.result.size));
    if (b == nullptr) return nullptr;
    PyObject* r = PyObject_CallMethod(plan.result.record, "from_bytes", "O", b);
    Py_DECREF(b);
    return r;
  }
  if (plan.result.record != nullptr) {  // a single-scalar struct came back as its scalar
    uint8_t bytes[8] = {};
    store_element(plan.result.unit, raw[0], bytes);
    PyObject* b = PyBytes_FromStringAndSize(reinterpret_cast<const char*>(bytes), static_cast<Py_ssize_t>(plan.result.size));
    if (b == nullptr) return nullptr;
    PyObject* r = PyObject_CallMethod(plan.result.record, "from_bytes", "O", b);
    Py_DECREF(b);
    return r;
  }
  PyObject* v = from_raw(raw[0], plan.result.unit);
  if (v != nullptr && plan.result.enum_class != nullptr) {  // an enum: its member when the value names one
    PyObject* e = PyObject_CallOneArg(plan.result.enum_class, v);
    if (e != nullptr) {
      Py_DECREF(v);
      return e;
    }
    PyErr_Clear();
  }
  return v;
}

// The bytes of a single-scalar struct passed by value. A struct instance keeps its bytes in
// `_buf`: its own bytearray, or (a nested struct's view) a memoryview of its parent's; either is
// read through the buffer protocol, and only when it holds exactly the scalar's bytes.
bool record_scalar_bytes(CFuncObject* self, const DeclParam& p, PyObject* o, uint8_t (&out)[8]) {
  PyObject* buf = PyObject_GetAttrString(o, "_buf");
  if (buf == nullptr) return false;
  Py_buffer view;
  if (PyObject_GetBuffer(buf, &view, PyBUF_C_CONTIGUOUS) < 0) {
    Py_DECREF(buf);
    PyErr_Clear();
    arg_error(PyExc_TypeError, self, p, "the struct's bytes are not a contiguous buffer");
    return false;
  }
  const size_t need = unit_of(p.unit).size;
  const bool ok = static_cast<size_t>(view.len) == need;
  if (ok) std::memcpy(out, view.buf, need);
  PyBuffer_Release(&view);
  Py_DECREF(buf);
  if (!ok) arg_error(PyExc_TypeError, self, p, "the struct holds %zd bytes, not %zu", view.len, need);
  return ok;
}

uint64_t slot_value(const DeclParam& p, const wasmtime_val_raw_t* raw) {
  return unit_of(p.unit).wasm == ValKind::I64 ? static_cast<uint64_t>(raw[p.slot].i64)
                                              : static_cast<uint64_t>(static_cast<uint32_t>(raw[p.slot].i32));
}

// Runs after the lengths are known: a size_is count may be a length filled from another buffer.
bool apply_sizes(CFuncObject* self, CallState& st, const wasmtime_val_raw_t* raw) {
  const DeclPlan& plan = *self->plan;
  for (size_t i = 0; i < plan.params.size(); ++i) {
    const DeclParam& p = plan.params[i];
    if (p.size_is < 0) continue;
    const DeclParam& np = plan.params[static_cast<size_t>(p.size_is)];
    const uint64_t n = slot_value(np, raw);
    if (n > UINT64_MAX / p.elem_size) {
      arg_error(PyExc_ValueError, self, p, "%R = %llu elements is more than memory can hold", np.name,
                static_cast<unsigned long long>(n));
      return false;
    }
    ArgState& a = st.args[i];
    if (a.address) {
      if (!self->mem->has_value()) continue;  // reported with the other pointer arguments
      if (auto s = (*self->mem)->span(a.addr, n * p.elem_size, "argument"); !s) {
        raise_in(s.error(), self->name);
        return false;
      }
    } else if (a.allocated_out && a.as_scalar) {  // None: exactly n elements
      a.as_scalar = false;
      a.elems = n;
      a.nbytes = n * p.elem_size;
    } else if (a.allocated_out && a.elems != n) {
      arg_error(PyExc_ValueError, self, p, "out(%llu), but %R = %llu sizes it", static_cast<unsigned long long>(a.elems),
                np.name, static_cast<unsigned long long>(n));
      return false;
    } else if (a.elems < n) {
      arg_error(PyExc_ValueError, self, p, "has %llu elements, but %R = %llu sizes it",
                static_cast<unsigned long long>(a.elems), np.name, static_cast<unsigned long long>(n));
      return false;
    }
  }
  return true;
}

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
      if (!to_raw(o, p.unit, raw[p.slot], self->name, static_cast<Py_ssize_t>(i))) [[unlikely]]
        return nullptr;
      continue;
    }
    if (!prepare_buffer(self, p, o, st.args[i])) return nullptr;
  }
  // 2. Lengths: given ones must not exceed their buffer; omitted ones are filled from it.
  for (size_t i = 0; i < np; ++i) {
    const DeclParam& p = plan.params[i];
    if (p.length_of < 0) continue;
    const DeclParam& bp = plan.params[static_cast<size_t>(p.length_of)];
    const ArgState& b = st.args[static_cast<size_t>(p.length_of)];
    const uint64_t have = p.length_bytes ? (bp.cstring ? b.elems : b.elems * bp.elem_size) : b.elems;
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
        return arg_error(PyExc_ValueError, self, p, "%llu exceeds the length of %R (%llu)",
                         static_cast<unsigned long long>(given), bp.name, static_cast<unsigned long long>(have));
    } else if (self->mem->has_value()) {  // an address with a length: the range must be in bounds
      const MarshalUnit& u = unit_of(p.unit);
      uint64_t given = u.wasm == ValKind::I64 ? static_cast<uint64_t>(raw[p.slot].i64)
                                               : static_cast<uint64_t>(static_cast<uint32_t>(raw[p.slot].i32));
      uint64_t bytes = p.length_bytes ? given : given * bp.elem_size;
      if (auto s = (*self->mem)->span(b.addr, bytes, "argument"); !s)
        return raise_in(s.error(), self->name);
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
                        self->name);
  for (size_t i = 0; i < np; ++i) {
    const DeclParam& p = plan.params[i];
    if (p.dir == Dir::Value || !st.args[i].address) continue;
    const uint64_t need = p.count >= 0 ? static_cast<uint64_t>(p.count) * p.elem_size : 0;
    if (auto s = (*self->mem)->span(st.args[i].addr, need, "argument"); !s) return raise_in(s.error(), self->name);
    set_ptr(plan.params[i].slot, st.args[i].addr);
  }
  if (!native_stack_fits(self->ctx)) [[unlikely]]
    return raise_in(native_stack_error(self->ctx), self->name);
  StoreEntry entry(self->ctx);  // one thread per store (store_guard.hpp)
  if (!entry) [[unlikely]]
    return nullptr;
  // 4. One scratch block for everything copied, filled, called, copied back, wiped, released.
  ScratchBlock block;
  uint8_t* base = nullptr;
  if (scratch > 0) {
    if (self->alloc->kind() == AllocatorKind::None)
      return PyErr_Format(PyExc_TypeError, "%U(): a pointer argument needs a copy in guest memory, and the module has no allocator: %s",
                          self->name, GuestAllocator::requirement());
    auto b = self->alloc->begin(self->ctx, **self->mem, scratch);
    if (!b) return raise_in(b.error(), self->name);
    block = *b;
    base = block.data;
    for (size_t i = 0; i < np; ++i) {
      const DeclParam& p = plan.params[i];
      const ArgState& a = st.args[i];
      if (p.dir == Dir::Value || a.address) continue;
      if (p.dir == Dir::Out || a.allocated_out) std::memset(base + a.offset, 0, a.nbytes);
      else std::memcpy(base + a.offset, a.src, a.nbytes);
      set_ptr(p.slot, block.addr + a.offset);
    }
    if (plan.result.kind == ResKind::Sret) {
      std::memset(base, 0, plan.result.size);
      set_ptr(0, block.addr);
    }
  }
  Result<void> r;
  if (self->mode == CallMode::Plain) [[likely]]
    r = call_unchecked(self->ctx, self->func, raw, plan.raw_len);
  else if (!call_managed(self->mode, self->ctx, self->func, raw, plan.raw_len, r))
    // Not reached in practice: StoreEntry above already refused a store another thread holds,
    // and nothing between there and here lets another thread run.
    r = make_error(ErrorKind::Engine, "this instance's store is in use by another thread");
  // 5. Outputs are read before the block is wiped; the block is released whatever happened.
  PyObject* result = nullptr;
  PyObject* outs[kMaxParams];
  size_t nouts = 0;
  bool ok = static_cast<bool>(r);
  if (ok) {
    for (size_t i = 0; i < np && ok; ++i) {
      const DeclParam& p = plan.params[i];
      ArgState& a = st.args[i];
      if (p.dir == Dir::Value || a.address) continue;
      if (a.allocated_out) {
        outs[nouts] = output_value(p, a, base + a.offset);
        ok = outs[nouts++] != nullptr;
      } else if (a.writable) {
        std::memcpy(a.view.buf, base + a.offset, a.nbytes);
      }
    }
    if (ok && plan.result.kind != ResKind::Void) {
      result = result_value(self, raw, base);
      ok = result != nullptr;
    }
  }
  if (scratch > 0) {
    if (auto e = self->alloc->end(self->ctx, **self->mem, block); !e && ok) {
      ok = false;
      raise_in(e.error(), self->name);
    }
  }
  if (!r) raise_call_error(self->ctx, r.error(), self->name);
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

PyObject* cfunc_vectorcall(PyObject* callable, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  auto* self = reinterpret_cast<CFuncObject*>(callable);
  const DeclPlan& plan = *self->plan;
  const Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  PyObject* by_param[kMaxParams];
  for (size_t j = 0; j < plan.params.size(); ++j) by_param[j] = nullptr;
  const auto npos = static_cast<Py_ssize_t>(plan.positional.size());
  if (nargs > npos) [[unlikely]]
    return PyErr_Format(PyExc_TypeError, "%U() takes %zd positional argument%s but %zd were given (%s)", self->name,
                        npos, npos == 1 ? "" : "s", nargs, plan.signature.c_str());
  for (Py_ssize_t i = 0; i < nargs; ++i) by_param[plan.positional[static_cast<size_t>(i)]] = args[i];
  if (kwnames != nullptr) {
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(kwnames); ++k) {
      PyObject* key = PyTuple_GET_ITEM(kwnames, k);
      size_t j = 0;
      for (; j < plan.params.size(); ++j)
        if (PyUnicode_Compare(key, plan.params[j].name) == 0) break;
      if (j == plan.params.size())
        return PyErr_Format(PyExc_TypeError, "%U() got an unexpected keyword argument %R (%s)", self->name, key,
                            plan.signature.c_str());
      if (by_param[j] != nullptr)
        return PyErr_Format(PyExc_TypeError, "%U() got multiple values for argument %R", self->name, key);
      by_param[j] = args[nargs + k];
    }
  }
  for (size_t j = 0; j < plan.params.size(); ++j) {
    if (by_param[j] == Py_None && plan.params[j].length_of >= 0) by_param[j] = nullptr;  // None: fill it
    if (by_param[j] == nullptr && plan.params[j].length_of < 0)
      return PyErr_Format(PyExc_TypeError, "%U() missing argument %R (%s)", self->name, plan.params[j].name,
                          plan.signature.c_str());
  }
  if (plan.raw_len > kStackSlots) [[unlikely]] {
    std::unique_ptr<wasmtime_val_raw_t[]> heap(new (std::nothrow) wasmtime_val_raw_t[plan.raw_len]());
    if (!heap) return PyErr_NoMemory();
    return call_plan(self, by_param, heap.get());
  }
  wasmtime_val_raw_t raw[kStackSlots];
  std::memset(raw, 0, sizeof(wasmtime_val_raw_t) * plan.raw_len);
  return call_plan(self, by_param, raw);
}

int cfunc_traverse(PyObject* o, visitproc visit, void* arg) {
  auto* self = reinterpret_cast<CFuncObject*>(o);
  Py_VISIT(self->owner);
  Py_VISIT(self->raw);
  Py_VISIT(self->spec);
  Py_VISIT(self->plan_obj);
  Py_VISIT(Py_TYPE(o));
  return 0;
}

// No tp_clear, for the reason func.cpp gives: the call path trusts `owner`.
void cfunc_dealloc(PyObject* o) {
  auto* self = reinterpret_cast<CFuncObject*>(o);
  PyTypeObject* tp = Py_TYPE(o);
  PyObject_GC_UnTrack(o);
  if (self->weakrefs != nullptr) PyObject_ClearWeakRefs(o);
  Py_CLEAR(self->owner);
  Py_CLEAR(self->plan_obj);
  Py_CLEAR(self->name);
  Py_CLEAR(self->raw);
  Py_CLEAR(self->out_type);
  Py_CLEAR(self->doc);
  Py_CLEAR(self->spec);
  tp->tp_free(o);
  Py_DECREF(tp);
}

PyObject* cfunc_repr(PyObject* o) {
  auto* self = reinterpret_cast<CFuncObject*>(o);
  return PyUnicode_FromFormat("<wasmffi.CFunc %U>", self->doc);
}

PyObject* get_name(PyObject* o, void*) { return Py_NewRef(reinterpret_cast<CFuncObject*>(o)->name); }
PyObject* get_raw(PyObject* o, void*) { return Py_NewRef(reinterpret_cast<CFuncObject*>(o)->raw); }
PyObject* get_doc(PyObject* o, void*) { return Py_NewRef(reinterpret_cast<CFuncObject*>(o)->doc); }
PyObject* get_spec(PyObject* o, void*) { return Py_NewRef(reinterpret_cast<CFuncObject*>(o)->spec); }
// inspect.signature(): buffers and values positional, linked lengths keyword-only (cdef builds it).
PyObject* get_signature(PyObject* o, void*) {
  return PyObject_CallMethod(reinterpret_cast<CFuncObject*>(o)->spec, "signature", nullptr);
}

PyGetSetDef cfunc_getset[] = {
    {"__name__", get_name, nullptr, "function name", nullptr},
    {"__qualname__", get_name, nullptr, "function name", nullptr},
    {"__doc__", get_doc, nullptr, nullptr, nullptr},
    {"__signature__", get_signature, nullptr, "inspect.Signature of the declared function", nullptr},
    {"spec", get_spec, nullptr, "the declaration lowered for this module (a cdef FunctionSpec)", nullptr},
    {"raw", get_raw, nullptr, "the export as an undeclared wasmffi.Func (wasm types, no marshalling)", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyMemberDef cfunc_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(CFuncObject, vectorcall), READONLY, nullptr},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(CFuncObject, weakrefs), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot cfunc_slots[] = {
    {Py_tp_call, reinterpret_cast<void*>(PyVectorcall_Call)},
    {Py_tp_dealloc, reinterpret_cast<void*>(cfunc_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(cfunc_traverse)},
    {Py_tp_repr, reinterpret_cast<void*>(cfunc_repr)},
    {Py_tp_getset, cfunc_getset},
    {Py_tp_members, cfunc_members},
    {0, nullptr},
};

PyType_Spec cfunc_spec = {
    "wasmffi.CFunc",
    sizeof(CFuncObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    cfunc_slots,
};

}  // namespace

bool init_cfunc_type(PyObject* module) {
  g_cfunc_type = reinterpret_cast<PyTypeObject*>(PyType_FromModuleAndSpec(module, &cfunc_spec, nullptr));
  if (g_cfunc_type == nullptr) return false;
  return PyModule_AddObjectRef(module, "CFunc", reinterpret_cast<PyObject*>(g_cfunc_type)) == 0;
}

PyObject* make_cfunc(PyObject* owner, wasmtime_context_t* ctx, const wasmtime_func_t& func, GuestAllocator* alloc,
                     std::optional<GuestMemory>* mem, PyObject* raw, PyObject* plan_obj, PyObject* spec,
                     PyObject* out_type) {
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
  self->vectorcall = cfunc_vectorcall;
  self->owner = Py_NewRef(owner);
  self->ctx = ctx;
  self->func = func;
  self->alloc = alloc;
  self->mem = mem;
  self->plan = plan;
  self->plan_obj = Py_NewRef(plan_obj);
  self->name = name;
  self->raw = Py_NewRef(raw);
  self->out_type = Py_NewRef(out_type);
  self->doc = doc;
  self->spec = Py_NewRef(spec);
  self->weakrefs = nullptr;
  self->mode = call_mode_for(ctx, -1);
  PyObject_GC_Track(self);
  return reinterpret_cast<PyObject*>(self);
}

}  // namespace wasmffi::py
