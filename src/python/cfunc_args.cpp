// The marshalling steps of a declared call (cfunc_args.hpp): Python values into guest bytes and
// back, by the plan's DeclParams.
#include "cfunc_args.hpp"

#include <cstring>
#include <new>
#include <string>

#include "convert.hpp"
#include "marshal.hpp"
#include "out.hpp"
#include "record.hpp"

namespace wasmffi::py::cfunc {

namespace {

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

// Pins an exact bytearray as its own bf_getbuffer does (a reference, and one more export so that
// a resize raises BufferError) without the buffer protocol's dispatch and Py_buffer fill: this is
// the in/out fast path. ~CallState undoes it (Hold::ByteArray).
void pin_bytearray(PyObject* o, ArgState& a) {
  ++reinterpret_cast<PyByteArrayObject*>(o)->ob_exports;
  a.view.obj = Py_NewRef(o);
  a.view.buf = PyByteArray_AS_STRING(o);
  a.view.len = Py_SIZE(o);
  a.hold = Hold::ByteArray;
}

// What every bytes-like source ends with: exactly N elements for `T name[N]`, a whole number of
// elements otherwise.
bool check_whole_elements(CFuncObject* self, const DeclParam& p, ArgState& a) {
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

bool is_address(PyObject* o) { return PyLong_Check(o) && !PyBool_Check(o); }

// C strings, one row per character width: the encoding a str is given in (`const char *`,
// `const char16_t *`, `const char32_t *` / `const wchar_t *`). The factory allows only these widths.
struct StringKind {
  uint64_t width;
  const char* encoding;
};
constexpr StringKind kStringKinds[] = {{1, "utf-8"}, {2, "utf-16-le"}, {4, "utf-32-le"}};

const StringKind& string_kind(uint64_t width) {
  for (const StringKind& k : kStringKinds)
    if (k.width == width) return k;
  return kStringKinds[0];  // not reached: PlanBuilder.buffer() refuses other widths
}

// `n` bytes of characters `width` bytes wide, then one NUL character: a new bytes owned by `a`.
bool terminated_copy(ArgState& a, const char* data, Py_ssize_t n, uint64_t width) {
  a.tmp = PyBytes_FromStringAndSize(nullptr, n + static_cast<Py_ssize_t>(width));
  if (a.tmp == nullptr) return false;
  char* out = PyBytes_AS_STRING(a.tmp);
  std::memcpy(out, data, static_cast<size_t>(n));
  std::memset(out + n, 0, width);
  a.src = reinterpret_cast<const uint8_t*>(out);
  a.nbytes = static_cast<uint64_t>(n) + width;
  a.elems = static_cast<uint64_t>(n) / width;  // characters, without the NUL
  return true;
}

// More bytes than this cannot be guest scratch: a wasm32 memory holds 4 GiB, a wasm64 one (in
// wasmtime) 2**48. Checked before sizes are added up, so no sum of them can wrap.
uint64_t max_buffer_bytes(const CFuncObject* self) {
  return self->mem->has_value() && (*self->mem)->is64() ? uint64_t{1} << 48 : uint64_t{1} << 32;
}

uint64_t slot_value(const DeclParam& p, const wasmtime_val_raw_t* raw) {
  return unit_of(p.unit).wasm == ValKind::I64 ? static_cast<uint64_t>(raw[p.slot].i64)
                                              : static_cast<uint64_t>(static_cast<uint32_t>(raw[p.slot].i32));
}

}  // namespace

// Converts one buffer argument into bytes to copy (or an address, or an output request).
bool prepare_buffer(CFuncObject* self, const DeclParam& p, PyObject* o, ArgState& a) {
  const bool wants_write = p.dir == Dir::Out || p.dir == Dir::InOut;
  // The common sources first. bytes: their storage directly (immutable, and the caller holds
  // them). bytearray: pinned, because a later argument's __index__ or a list item's hook runs
  // Python code before the copy, and could resize it under us (a pinned bytearray refuses).
  if (!p.cstring) [[likely]] {
    if (PyBytes_CheckExact(o)) [[likely]] {
      if (wants_write) {
        arg_error(PyExc_TypeError, self, p, "the function writes to this buffer: it needs a writable one, not read-only bytes");
        return false;
      }
      a.src = reinterpret_cast<const uint8_t*>(PyBytes_AS_STRING(o));
      a.nbytes = static_cast<uint64_t>(PyBytes_GET_SIZE(o));
      return check_whole_elements(self, p, a);
    }
    if (PyByteArray_CheckExact(o)) [[likely]] {
      pin_bytearray(o, a);
      a.src = static_cast<const uint8_t*>(a.view.buf);
      a.nbytes = static_cast<uint64_t>(a.view.len);
      a.writable = wants_write;
      return check_whole_elements(self, p, a);
    }
  }
  if (is_address(o)) {
    uint64_t addr;
    if (!to_address(o, addr, PyUnicode_AsUTF8(self->head.name), "address")) return false;
    a.address = true;
    a.addr = addr;
    return true;
  }
  uint64_t n = 1;
  const bool is_out = o != Py_None && out_count(o, n);
  if (o == Py_None || is_out) {
    if (!wants_write) {
      arg_error(PyExc_TypeError, self, p, is_out ? "out() is for buffers the function writes, not an input buffer"
                                                 : "None is not a value for an input buffer");
      return false;
    }
    if (is_out) {
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
    if (n > max_buffer_bytes(self) / p.elem_size) {
      arg_error(PyExc_ValueError, self, p, "out(%llu) is more than guest memory can hold (%llu-byte elements)",
                static_cast<unsigned long long>(n), static_cast<unsigned long long>(p.elem_size));
      return false;
    }
    a.allocated_out = true;
    a.elems = n;
    a.nbytes = n * p.elem_size;
    return true;
  }
  // A struct instance stands for its bytes (record.hpp: its own bytearray or a view of its
  // parent's, read through the buffer protocol below and updated in place for outputs).
  PyObject* src = o;
  if (p.record != nullptr && PyObject_TypeCheck(o, reinterpret_cast<PyTypeObject*>(p.record))) {
    PyObject* buf = record_buf(o);
    if (buf == nullptr) {
      arg_error(PyExc_TypeError, self, p, "the %s instance has no bytes (made without its constructor)",
                Py_TYPE(o)->tp_name);
      return false;
    }
    a.tmp = Py_NewRef(buf);
    src = a.tmp;
  } else if (p.cstring && PyUnicode_Check(o)) {
    const Py_ssize_t nul = PyUnicode_FindChar(o, 0, 0, PY_SSIZE_T_MAX, 1);
    if (nul == -2) return false;
    if (nul >= 0) {
      arg_error(PyExc_ValueError, self, p, "a C string cannot contain a NUL character (at index %zd)", nul);
      return false;
    }
    if (p.elem_size == 1) [[likely]] {  // UTF-8, kept by the str itself: no copy
      Py_ssize_t len;
      const char* s = PyUnicode_AsUTF8AndSize(o, &len);
      if (s == nullptr) {  // lone surrogates: no UTF-8 for them
        PyErr_Clear();
        arg_error(PyExc_ValueError, self, p, "the str cannot be encoded as utf-8");
        return false;
      }
      a.src = reinterpret_cast<const uint8_t*>(s);  // owned by the str, which the caller holds
      a.nbytes = static_cast<uint64_t>(len) + 1;     // the NUL is in the UTF-8 buffer
      a.elems = static_cast<uint64_t>(len);
      return true;
    }
    PyObject* encoded = PyUnicode_AsEncodedString(o, string_kind(p.elem_size).encoding, "strict");
    if (encoded == nullptr) {
      PyErr_Clear();
      arg_error(PyExc_ValueError, self, p, "the str cannot be encoded as %s", string_kind(p.elem_size).encoding);
      return false;
    }
    const bool ok = terminated_copy(a, PyBytes_AS_STRING(encoded), PyBytes_GET_SIZE(encoded), p.elem_size);
    Py_DECREF(encoded);
    return ok;
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
    // A list is read from a tuple snapshot: an item's __index__ may change the list meanwhile.
    PyObject* items = PyList_Check(o) ? PyList_AsTuple(o) : Py_NewRef(o);
    if (items == nullptr) return false;
    const Py_ssize_t n = PyTuple_GET_SIZE(items);
    if (static_cast<uint64_t>(n) > max_buffer_bytes(self) / p.elem_size) {
      Py_DECREF(items);
      arg_error(PyExc_ValueError, self, p, "%zd items is more than guest memory can hold", n);
      return false;
    }
    // A C string gets its NUL character after the items, as str and bytes do.
    const Py_ssize_t nul = p.cstring ? static_cast<Py_ssize_t>(p.elem_size) : 0;
    a.tmp = PyBytes_FromStringAndSize(nullptr, n * static_cast<Py_ssize_t>(p.elem_size) + nul);
    if (a.tmp == nullptr) {
      Py_DECREF(items);
      return false;
    }
    auto* out = reinterpret_cast<uint8_t*>(PyBytes_AS_STRING(a.tmp));
    for (Py_ssize_t i = 0; i < n; ++i) {
      wasmtime_val_raw_t slot{};
      if (!to_raw(PyTuple_GET_ITEM(items, i), p.unit, slot, self->head.name, -1)) {
        Py_DECREF(items);
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
    Py_DECREF(items);
    std::memset(out + n * static_cast<Py_ssize_t>(p.elem_size), 0, static_cast<size_t>(nul));
    a.src = out;
    a.nbytes = static_cast<uint64_t>(n) * p.elem_size;
    if (p.cstring) {
      a.elems = static_cast<uint64_t>(n);  // characters, without the NUL
      a.nbytes += p.elem_size;
      return true;
    }
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
      // A buffer that cannot be had as asked (BufferError; numpy says ValueError, a released
      // memoryview ValueError too) is explained below, with the exporter's reason. Anything else
      // came from the object's own code (a __buffer__ that raises, 3.12+): the caller's to see.
      if (!PyErr_ExceptionMatches(PyExc_BufferError) && !PyErr_ExceptionMatches(PyExc_ValueError) &&
          !PyErr_ExceptionMatches(PyExc_TypeError))
        return false;
      PyObject *exc, *val, *tb;
      PyErr_Fetch(&exc, &val, &tb);
      PyErr_NormalizeException(&exc, &val, &tb);
      Py_XDECREF(exc);
      Py_XDECREF(tb);
      if (wants_write && PyObject_GetBuffer(src, &a.view, PyBUF_SIMPLE) == 0) {
        PyBuffer_Release(&a.view);
        arg_error(PyExc_TypeError, self, p, "the function writes to this buffer: it needs a writable one, not read-only %s",
                  Py_TYPE(o)->tp_name);
      } else {
        PyErr_Clear();
        arg_error(PyExc_TypeError, self, p, "needs a C-contiguous buffer, and this %s gives none (%S)", Py_TYPE(o)->tp_name,
                  val);
      }
      Py_XDECREF(val);
      return false;
    }
    a.hold = Hold::View;
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
    if (p.cstring) {  // bytes for a C string pass as they are (NULs included), a NUL after them
      if (a.nbytes % p.elem_size != 0) {
        arg_error(PyExc_ValueError, self, p, "%llu bytes is not a whole number of %zu-byte characters",
                  static_cast<unsigned long long>(a.nbytes), static_cast<size_t>(p.elem_size));
        return false;
      }
      return terminated_copy(a, reinterpret_cast<const char*>(a.src), static_cast<Py_ssize_t>(a.nbytes), p.elem_size);
    }
  }
  return check_whole_elements(self, p, a);
}

// The Python value of an allocated output: a scalar or struct for `T *` with None, else bytes
// (1-byte elements), a list of struct instances, or a list of values.
PyObject* output_value(const DeclParam& p, const ArgState& a, const uint8_t* data) {
  auto record = [&](const uint8_t* at) { return make_record(p.record, at, p.elem_size); };
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
  if (plan.result.kind == ResKind::Sret) return make_record(plan.result.record, sret, plan.result.size);
  if (plan.result.record != nullptr) {  // a single-scalar struct came back as its scalar
    uint8_t bytes[8] = {};
    store_element(plan.result.unit, raw[0], bytes);
    return make_record(plan.result.record, bytes, plan.result.size);
  }
  PyObject* v = from_raw(raw[0], plan.result.unit);
  return plan.result.enum_class != nullptr ? enum_or_int(plan.result.enum_class, v) : v;
}

// The bytes of a single-scalar struct passed by value. A struct instance keeps its bytes in its
// own bytearray or (a nested struct's view) a memoryview of its parent's (record.hpp); either is
// read through the buffer protocol, and only when it holds exactly the scalar's bytes.
bool record_scalar_bytes(CFuncObject* self, const DeclParam& p, PyObject* o, uint8_t (&out)[8]) {
  PyObject* buf = record_buf(o);
  if (buf == nullptr) {
    arg_error(PyExc_TypeError, self, p, "the %s instance has no bytes (made without its constructor)",
              Py_TYPE(o)->tp_name);
    return false;
  }
  Py_INCREF(buf);
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


// Runs after the lengths are known: a size_is count may be a length filled from another buffer.
bool apply_sizes(CFuncObject* self, CallState& st, const wasmtime_val_raw_t* raw) {
  const DeclPlan& plan = *self->plan;
  for (size_t i = 0; i < plan.params.size(); ++i) {
    const DeclParam& p = plan.params[i];
    if (p.size_is < 0) continue;
    const DeclParam& np = plan.params[static_cast<size_t>(p.size_is)];
    const uint64_t n = slot_value(np, raw);
    if (n > max_buffer_bytes(self) / p.elem_size) {
      arg_error(PyExc_ValueError, self, p, "%R = %llu elements is more than memory can hold", np.name,
                static_cast<unsigned long long>(n));
      return false;
    }
    ArgState& a = st.args[i];
    if (a.address) {
      if (!self->mem->has_value()) continue;  // reported with the other pointer arguments
      if (auto s = (*self->mem)->span(a.addr, n * p.elem_size, "argument"); !s) {
        raise_in(s.error(), self->head.name);
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

// `/* length_is(return) */`: the result counts the elements the call wrote into a buffer, so
// only those are copied back (or returned, for an allocated output). A count the buffer cannot
// hold (a negative or too large result, as C APIs return for errors) means nothing was written.
void limit_to_written(const DeclPlan& plan, CallState& st, const wasmtime_val_raw_t* raw) {
  const MarshalUnit& u = unit_of(plan.result.unit);
  const int64_t v = u.wasm == ValKind::I64 ? raw[0].i64 : static_cast<int64_t>(raw[0].i32);
  uint64_t n = u.wasm == ValKind::I64 ? static_cast<uint64_t>(v) : static_cast<uint64_t>(static_cast<uint32_t>(v));
  if (u.lo < 0 && v < 0) n = UINT64_MAX;  // a signed result below zero
  for (size_t i = 0; i < plan.params.size(); ++i) {
    const DeclParam& p = plan.params[i];
    ArgState& a = st.args[i];
    if (!p.length_is_result || a.address || a.as_scalar) continue;
    const uint64_t elems = n <= a.elems ? n : 0;
    const uint64_t bytes = elems * p.elem_size;
    if (a.allocated_out) {
      a.elems = elems;
      a.nbytes = bytes;
    } else if (bytes < a.copy_back) {
      a.copy_back = bytes;
    }
  }
}

// When one scratch block for every copied buffer (and a struct result) could not be had (`err`):
// a malloc-style allocator gets one block per buffer, since a fragmented heap may fit each where
// it cannot fit their sum. Sets each buffer's host and guest address. On failure the error names
// what the scratch was for, and every block taken is given back.
bool take_scratch_per_buffer(CFuncObject* self, CallState& st, Error err, uint64_t total,
                             std::unique_ptr<ScratchBlock[]>& more, ScratchBlock*& blocks, size_t& nblocks) {
  const DeclPlan& plan = *self->plan;
  GuestAllocator& al = *self->alloc;
  GuestMemory& mem = **self->mem;
  const bool sret = plan.result.kind == ResKind::Sret;
  auto copied = [&](size_t i) { return plan.params[i].dir != Dir::Value && !st.args[i].address; };
  size_t nbuf = sret ? 1 : 0;
  for (size_t i = 0; i < plan.params.size(); ++i) nbuf += copied(i) ? 1 : 0;
  if (al.kind() == AllocatorKind::Malloc && nbuf > 1) {
    more.reset(new (std::nothrow) ScratchBlock[nbuf]);
    if (!more) {
      PyErr_NoMemory();
      return false;
    }
    blocks = more.get();
    bool ok = true;
    if (sret) {
      auto b = al.begin(self->head.ctx, mem, plan.result.size);
      if ((ok = static_cast<bool>(b))) {
        blocks[nblocks++] = *b;
        st.sret_host = b->data;
        st.sret_addr = b->addr;
      } else {
        err = std::move(b).error();
      }
    }
    for (size_t i = 0; ok && i < plan.params.size(); ++i) {
      if (!copied(i)) continue;
      auto b = al.begin(self->head.ctx, mem, st.args[i].nbytes);
      if (!(ok = static_cast<bool>(b))) {
        err = std::move(b).error();
        break;
      }
      blocks[nblocks++] = *b;
      st.args[i].host = b->data;
      st.args[i].gaddr = b->addr;
    }
    if (ok) return true;
    for (size_t k = nblocks; k-- > 0;) (void)al.end(self->head.ctx, mem, blocks[k]);
    nblocks = 0;
    more.reset();
  }
  std::string what;
  if (sret) what = "the result (" + std::to_string(plan.result.size) + " bytes)";
  for (size_t i = 0; i < plan.params.size(); ++i) {
    if (!copied(i)) continue;
    if (!what.empty()) what += ", ";
    what += "'";
    what += PyUnicode_AsUTF8(plan.params[i].name);
    what += "' (" + std::to_string(st.args[i].nbytes) + " bytes)";
  }
  err.message = "guest scratch of " + std::to_string(total) + " bytes for " + what + " could not be allocated: " +
                err.message;
  raise_in(err, self->head.name);
  return false;
}

}  // namespace wasmffi::py::cfunc
