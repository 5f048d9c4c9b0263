// Memory: the checked Python API over GuestMemory, and the buffer exporter behind Memory.view.
//
// The methods are plain CPython methods (METH_FASTCALL | METH_KEYWORDS) installed in the
// nanobind class's tp_methods, not nanobind functions: their docstrings carry text signatures,
// so inspect.signature() works, and every argument error is ours ("read(): address must be an
// int, not NoneType") instead of nanobind's "incompatible function arguments" dump. Each one
// reports failure by setting a Python exception and returning nullptr; no C++ exception leaves
// them (CPython calls them directly).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <type_traits>

#include "binding.hpp"
#include "convert.hpp"
#include "store_guard.hpp"

namespace wasmffi::py {

namespace {

// The Memory behind `self`, or nullptr with TypeError for an instance made by Memory.__new__
// and never initialised (nanobind's own methods refuse those the same way).
PyMemory* memory_of(PyObject* self) {
  if (!nb::inst_ready(self)) [[unlikely]] {
    PyErr_SetString(PyExc_TypeError, "this wasmffi.Memory was never initialised: get memories from an instance");
    return nullptr;
  }
  return nb::inst_ptr<PyMemory>(self);
}

// Fills `out[0..n)` from positional and keyword arguments with CPython's own wording; optional
// trailing parameters (index >= nreq) are left null when absent.
bool parse_args(const char* fname, const char* const* names, Py_ssize_t nreq, Py_ssize_t n, PyObject* const* args,
                size_t nargsf, PyObject* kwnames, PyObject** out) {
  const Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  if (nargs > n) [[unlikely]] {
    PyErr_Format(PyExc_TypeError, "%s() takes at most %zd argument%s (%zd given)", fname, n, n == 1 ? "" : "s",
                 nargs + (kwnames ? PyTuple_GET_SIZE(kwnames) : 0));
    return false;
  }
  for (Py_ssize_t i = 0; i < n; ++i) out[i] = i < nargs ? args[i] : nullptr;
  if (kwnames != nullptr) [[unlikely]] {
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(kwnames); ++k) {
      PyObject* key = PyTuple_GET_ITEM(kwnames, k);
      Py_ssize_t i = 0;
      while (i < n && PyUnicode_CompareWithASCIIString(key, names[i]) != 0) ++i;
      if (i == n) {
        PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", fname, key);
        return false;
      }
      if (out[i] != nullptr) {
        PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", fname, names[i]);
        return false;
      }
      out[i] = args[nargs + k];
    }
  }
  for (Py_ssize_t i = 0; i < nreq; ++i)
    if (out[i] == nullptr) [[unlikely]] {
      PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s' (pos %zd)", fname, names[i], i + 1);
      return false;
    }
  return true;
}

// A checked span, or nullopt-like failure (nullptr data) with the MemoryAccessError set.
bool checked(const PyMemory& m, uint64_t addr, uint64_t len, const char* op, std::span<uint8_t>& out) {
  auto s = m.mem.span(addr, len, op);
  if (!s) [[unlikely]] {
    raise(s.error());
    return false;
  }
  out = *s;
  return true;
}

// Exporter of a guest range for the buffer protocol. It holds the Memory (and so the store), and
// memories never move (engines use memory_may_move = false) or shrink, so a buffer handed out
// here stays valid for as long as any memoryview of it exists.
struct GuestBuffer {
  nb::object memory;
  uint64_t addr;
  uint64_t len;
};

int guest_buffer_get(PyObject* self, Py_buffer* view, int flags) {
  PyMemory* m = nb::inst_ready(self) ? memory_of(nb::inst_ptr<GuestBuffer>(self)->memory.ptr()) : nullptr;
  if (m == nullptr) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "this buffer exporter was never initialised");
    view->obj = nullptr;
    return -1;
  }
  const GuestBuffer* gb = nb::inst_ptr<GuestBuffer>(self);
  // Re-checked on every export: cheap, and a belt to the non-moving-memory braces.
  auto s = m->mem.span(gb->addr, gb->len, "view");
  if (!s) {
    raise(s.error());
    view->obj = nullptr;
    return -1;
  }
  return PyBuffer_FillInfo(view, self, s->data(), static_cast<Py_ssize_t>(gb->len), 0, flags);
}

// Exporters, Memory and Global objects report what they hold to the cycle collector, as the
// instance does (instance.cpp): a host function that keeps a view, a Memory or a Global of its own
// instance (in a closure, a list, an attribute) makes a cycle instance -> host function -> ... ->
// exporter -> Memory -> instance, which without these was never collected (the instance and its
// memory leaked; test_hostile_modules.py). There is no tp_clear: clearing an exporter's Memory
// could free guest memory under a memoryview the collector has not reached yet; the cycle is
// broken at its other members (lists, dicts, closures), which do clear.
int guest_buffer_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  if (!nb::inst_ready(self)) return 0;
  Py_VISIT(nb::inst_ptr<GuestBuffer>(self)->memory.ptr());
  return 0;
}

PyType_Slot guest_buffer_slots[] = {
    {Py_bf_getbuffer, reinterpret_cast<void*>(guest_buffer_get)},
    {Py_tp_traverse, reinterpret_cast<void*>(guest_buffer_traverse)},
    {0, nullptr},
};

// A buffer-protocol argument (any C-contiguous bytes-like object), released on scope exit.
class Buffer {
 public:
  bool get(PyObject* obj, int flags, const char* fname, const char* what) {
    if (PyObject_GetBuffer(obj, &view_, flags) != 0) {
      // CPython says "not a buffer" (TypeError), "not this kind" (BufferError) or "released"
      // (ValueError): replaced by a message naming the method. Anything else was raised by a
      // __buffer__ the caller wrote (Python 3.12+): theirs, passed on unchanged.
      if (!PyErr_ExceptionMatches(PyExc_TypeError) && !PyErr_ExceptionMatches(PyExc_BufferError) &&
          !PyErr_ExceptionMatches(PyExc_ValueError))
        return false;
      PyErr_Clear();
      PyErr_Format(PyExc_TypeError, "%s(): %s must be a %s bytes-like object, not %.200s", fname, what,
                   (flags & PyBUF_WRITABLE) ? "writable contiguous" : "contiguous", Py_TYPE(obj)->tp_name);
      return false;
    }
    held_ = true;
    return true;
  }
  ~Buffer() {
    if (held_) PyBuffer_Release(&view_);
  }
  void* data() const { return view_.buf; }
  uint64_t size() const { return static_cast<uint64_t>(view_.len); }

 private:
  Py_buffer view_{};
  bool held_ = false;
};

// ---- methods -------------------------------------------------------------------------------

// Every method starts here: the Memory (or a TypeError), then the arguments by name.
#define WASMFFI_PARSE(fname, nreq, ...)                                                             \
  PyMemory* const mem = memory_of(self);                                                           \
  if (mem == nullptr) [[unlikely]] return nullptr;                                                 \
  static const char* const names[] = {__VA_ARGS__};                                                \
  constexpr Py_ssize_t n = sizeof(names) / sizeof(names[0]);                                       \
  PyObject* a[n];                                                                                  \
  if (!parse_args(fname, names, nreq, n, args, nargsf, kwnames, a)) [[unlikely]] return nullptr;

PyObject* mem_grow(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  WASMFFI_PARSE("grow", 1, "pages");
  if (PyLong_Check(a[0]) && _PyLong_Sign(a[0]) < 0) {
    PyObject* text = int_text(a[0]);
    if (text) PyErr_Format(PyExc_ValueError, "grow(): pages must be >= 0, got %U", text);
    Py_XDECREF(text);
    return nullptr;
  }
  uint64_t delta;
  if (!to_address(a[0], delta, "grow", "pages")) return nullptr;
  // Growing changes the store: refused (StoreInUseError) while another thread is inside it.
  StoreEntry entry(mem->mem.context());
  if (!entry) return nullptr;
  auto r = mem->mem.grow(delta);
  if (!r) {  // the core's message says what failed; the method's name says who asked
    Error e = r.error();
    e.message.insert(0, "grow(): ");
    return raise(e);
  }
  return PyLong_FromUnsignedLongLong(*r);
}

PyObject* mem_read(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  WASMFFI_PARSE("read", 2, "address", "length");
  uint64_t addr, len;
  std::span<uint8_t> s;
  if (!to_address(a[0], addr, "read", "address") || !to_address(a[1], len, "read", "length") ||
      !checked(*mem, addr, len, "read", s))
    return nullptr;
  return PyBytes_FromStringAndSize(reinterpret_cast<const char*>(s.data()), static_cast<Py_ssize_t>(s.size()));
}

PyObject* mem_read_into(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  WASMFFI_PARSE("read_into", 2, "address", "buffer");
  uint64_t addr;
  Buffer b;
  std::span<uint8_t> s;
  if (!to_address(a[0], addr, "read_into", "address") ||
      !b.get(a[1], PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS, "read_into", "buffer") ||
      !checked(*mem, addr, b.size(), "read", s))
    return nullptr;
  // memmove: the buffer may be a view of this same memory, overlapping the source either way.
  if (!s.empty()) std::memmove(b.data(), s.data(), s.size());
  return PyLong_FromUnsignedLongLong(b.size());
}

PyObject* mem_write(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  WASMFFI_PARSE("write", 2, "address", "data");
  uint64_t addr;
  Buffer b;
  std::span<uint8_t> s;
  if (!to_address(a[0], addr, "write", "address") || !b.get(a[1], PyBUF_C_CONTIGUOUS, "write", "data") ||
      !checked(*mem, addr, b.size(), "write", s))
    return nullptr;
  if (!s.empty()) std::memmove(s.data(), b.data(), s.size());  // data may be a view of this memory
  return PyLong_FromUnsignedLongLong(b.size());
}

PyObject* mem_read_cstring(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  WASMFFI_PARSE("read_cstring", 1, "address", "max_len");
  PyMemory& m = *mem;
  uint64_t addr;
  if (!to_address(a[0], addr, "read_cstring", "address")) return nullptr;
  const uint64_t size = m.mem.size();
  if (addr > size) return raise(out_of_bounds("read_cstring", addr, 0, size));
  uint64_t limit = size - addr;
  bool capped = false;
  if (a[1] != nullptr && a[1] != Py_None) {
    uint64_t cap;
    if (!to_address(a[1], cap, "read_cstring", "max_len")) return nullptr;
    if (cap < limit) {
      limit = cap;
      capped = true;
    }
  }
  const uint8_t* start = m.mem.base() + addr;
  const void* nul = limit ? std::memchr(start, 0, static_cast<size_t>(limit)) : nullptr;
  if (nul == nullptr) {
    if (capped) {
      // PyErr_Format has no 64-bit hex conversion before Python 3.12: format with snprintf.
      char msg[160];
      std::snprintf(msg, sizeof msg,
                    "read_cstring(): no NUL terminator within max_len=%" PRIu64 " bytes at address 0x%" PRIx64,
                    limit, addr);
      PyErr_SetString(PyExc_ValueError, msg);
      return nullptr;
    }
    Error e = out_of_bounds("read_cstring", addr, limit + 1, size);
    e.message += ": no NUL terminator before the end of memory";
    return raise(e);
  }
  return PyBytes_FromStringAndSize(reinterpret_cast<const char*>(start),
                                   static_cast<const uint8_t*>(nul) - start);
}

PyObject* mem_view(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  WASMFFI_PARSE("view", 2, "address", "length");
  uint64_t addr, len;
  std::span<uint8_t> s;
  if (!to_address(a[0], addr, "view", "address") || !to_address(a[1], len, "view", "length") ||
      !checked(*mem, addr, len, "view", s))
    return nullptr;
  try {
    nb::object exporter = nb::cast(GuestBuffer{nb::borrow(self), addr, len}, nb::rv_policy::move);
    return PyMemoryView_FromObject(exporter.ptr());
  } catch (nb::python_error& e) {
    e.restore();
  } catch (const std::exception& e) {  // nb::cast_error, bad_alloc: never expected, never fatal
    PyErr_Format(PyExc_SystemError, "view(): %s", e.what());
  }
  return nullptr;
}

PyObject* mem_read_ptr(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  WASMFFI_PARSE("read_ptr", 1, "address");
  uint64_t addr;
  if (!to_address(a[0], addr, "read_ptr", "address")) return nullptr;
  auto r = mem->mem.load_pointer(addr);
  if (!r) return raise(r.error());
  return PyLong_FromUnsignedLongLong(*r);
}

PyObject* mem_write_ptr(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  WASMFFI_PARSE("write_ptr", 2, "address", "value");
  PyMemory& m = *mem;
  uint64_t addr, v;
  if (!to_address(a[0], addr, "write_ptr", "address") || !to_address(a[1], v, "write_ptr", "value"))
    return nullptr;
  if (v > m.mem.address_limit()) {
    char msg[120];
    std::snprintf(msg, sizeof msg, "write_ptr(): pointer 0x%" PRIx64 " does not fit a 32-bit memory", v);
    PyErr_SetString(PyExc_OverflowError, msg);
    return nullptr;
  }
  Result<void> r = m.mem.is64() ? m.mem.store<uint64_t>(addr, v) : m.mem.store<uint32_t>(addr, static_cast<uint32_t>(v));
  if (!r) return raise(r.error());
  Py_RETURN_NONE;
}

// ---- typed reads and writes ----------------------------------------------------------------

template <class T>
struct Typed;
#define WASMFFI_TYPED(T, NAME)                                                                  \
  template <>                                                                                   \
  struct Typed<T> {                                                                             \
    static constexpr const char* name = NAME;                                                   \
    static constexpr const char* read = "read_" NAME;                                           \
    static constexpr const char* write = "write_" NAME;                                         \
    static constexpr const char* read_doc = "read_" NAME "($self, address)\n--\n\n"             \
                                            "Reads a little-endian " NAME " at an unsigned address.";  \
    static constexpr const char* write_doc = "write_" NAME "($self, address, value)\n--\n\n"    \
                                             "Writes a little-endian " NAME " at an unsigned address; a value " \
                                             "outside the type's range (see the Memory class) raises "  \
                                             "OverflowError and writes nothing.";                       \
  };
WASMFFI_TYPED(int8_t, "i8")
WASMFFI_TYPED(uint8_t, "u8")
WASMFFI_TYPED(int16_t, "i16")
WASMFFI_TYPED(uint16_t, "u16")
WASMFFI_TYPED(int32_t, "i32")
WASMFFI_TYPED(uint32_t, "u32")
WASMFFI_TYPED(int64_t, "i64")
WASMFFI_TYPED(uint64_t, "u64")
WASMFFI_TYPED(float, "f32")
WASMFFI_TYPED(double, "f64")
#undef WASMFFI_TYPED

// One meaning per type name, as for call arguments: "iN" takes the union of the signed and
// unsigned range of its width and stores the bit pattern; "uN" takes 0..2^N-1; "f32" refuses
// finite values beyond f32. Converted before the bounds check: a bad value writes nothing.
template <class T>
bool typed_value(PyObject* o, T& out) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    constexpr int64_t lo = std::is_signed_v<T> ? static_cast<int64_t>(std::numeric_limits<T>::min()) : 0;
    int64_t v;
    if (small_int_value(o, v) && v >= lo &&
        (sizeof(T) == 8 || v <= static_cast<int64_t>(std::numeric_limits<U>::max()))) [[likely]] {
      out = static_cast<T>(static_cast<U>(v));
      return true;
    }
  } else if (PyFloat_CheckExact(o)) [[likely]] {
    const double d = PyFloat_AS_DOUBLE(o);
    out = static_cast<T>(d);
    if (std::is_same_v<T, double> || !std::isinf(out) || std::isinf(d)) return true;
  }
  // The general path builds the name used in messages ("write_u8() value: ...") only here.
  PyObject* what = PyUnicode_FromFormat("%s() value", Typed<T>::write);
  if (what == nullptr) return false;
  bool ok;
  if constexpr (std::is_same_v<T, float>) {
    ok = to_f32(o, out, what, -1);
  } else if constexpr (std::is_same_v<T, double>) {
    ok = to_f64(o, out, what, -1);
  } else {
    uint64_t bits = 0;
    ok = to_int_bits(o, 8 * sizeof(T), std::is_signed_v<T>, bits, what);
    out = static_cast<T>(static_cast<std::make_unsigned_t<T>>(bits));
  }
  Py_DECREF(what);
  return ok;
}

template <class T>
PyObject* typed_read(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  WASMFFI_PARSE(Typed<T>::read, 1, "address");
  uint64_t addr;
  std::span<uint8_t> s;
  if (!to_address(a[0], addr, Typed<T>::read, "address") || !checked(*mem, addr, sizeof(T), "read", s))
    return nullptr;
  T v;
  std::memcpy(&v, s.data(), sizeof(T));
  if constexpr (std::is_floating_point_v<T>) return PyFloat_FromDouble(static_cast<double>(v));
  else if constexpr (std::is_signed_v<T>) return PyLong_FromLongLong(v);
  else return PyLong_FromUnsignedLongLong(v);
}

template <class T>
PyObject* typed_write(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  WASMFFI_PARSE(Typed<T>::write, 2, "address", "value");
  uint64_t addr;
  T v;
  std::span<uint8_t> s;
  if (!to_address(a[0], addr, Typed<T>::write, "address") || !typed_value<T>(a[1], v) ||
      !checked(*mem, addr, sizeof(T), "write", s))
    return nullptr;
  std::memcpy(s.data(), &v, sizeof(T));
  Py_RETURN_NONE;
}

#undef WASMFFI_PARSE

template <class T>
PyMethodDef read_def() {
  return {Typed<T>::read, reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&typed_read<T>)),
          METH_FASTCALL | METH_KEYWORDS, Typed<T>::read_doc};
}
template <class T>
PyMethodDef write_def() {
  return {Typed<T>::write, reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&typed_write<T>)),
          METH_FASTCALL | METH_KEYWORDS, Typed<T>::write_doc};
}

PyMethodDef def(const char* name, PyObject* (*f)(PyObject*, PyObject* const*, size_t, PyObject*), const char* doc) {
  return {name, reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f)), METH_FASTCALL | METH_KEYWORDS, doc};
}

PyMethodDef memory_methods[] = {
    def("grow", mem_grow,
        "grow($self, pages)\n--\n\n"
        "Grows by `pages` pages; returns the previous size in pages. Raises ResourceError when the memory "
        "cannot grow (its maximum, or the engine's memory_reservation: memories never move)."),
    def("read", mem_read, "read($self, address, length)\n--\n\nCopies `length` bytes at `address` out as bytes."),
    def("read_into", mem_read_into,
        "read_into($self, address, buffer)\n--\n\n"
        "Fills `buffer` (any writable contiguous buffer, even a view of this memory) from guest memory; "
        "returns the byte count."),
    def("write", mem_write,
        "write($self, address, data)\n--\n\nCopies a bytes-like object in; all or nothing. Returns the byte count."),
    def("read_cstring", mem_read_cstring,
        "read_cstring($self, address, max_len=None)\n--\n\n"
        "Bytes up to (not including) the first NUL, searching at most max_len bytes."),
    def("view", mem_view,
        "view($self, address, length)\n--\n\n"
        "A zero-copy, writable memoryview of guest memory. It keeps the instance alive and stays valid when "
        "the memory grows: memories never move."),
    def("read_ptr", mem_read_ptr,
        "read_ptr($self, address)\n--\n\nReads a pointer (u32, or u64 for memory64) as an unsigned address."),
    def("write_ptr", mem_write_ptr,
        "write_ptr($self, address, value)\n--\n\nWrites a pointer-sized unsigned address."),
    read_def<int8_t>(), write_def<int8_t>(), read_def<uint8_t>(), write_def<uint8_t>(),
    read_def<int16_t>(), write_def<int16_t>(), read_def<uint16_t>(), write_def<uint16_t>(),
    read_def<int32_t>(), write_def<int32_t>(), read_def<uint32_t>(), write_def<uint32_t>(),
    read_def<int64_t>(), write_def<int64_t>(), read_def<uint64_t>(), write_def<uint64_t>(),
    read_def<float>(), write_def<float>(), read_def<double>(), write_def<double>(),
    {nullptr, nullptr, 0, nullptr},
};

int memory_traverse(PyObject* self, visitproc visit, void* arg) {  // see guest_buffer_traverse
  Py_VISIT(Py_TYPE(self));
  if (!nb::inst_ready(self)) return 0;
  Py_VISIT(nb::inst_ptr<PyMemory>(self)->owner.ptr());
  return 0;
}

PyType_Slot memory_slots[] = {
    {Py_tp_methods, memory_methods},
    {Py_tp_traverse, reinterpret_cast<void*>(memory_traverse)},
    {0, nullptr},
};

}  // namespace

nb::object make_memory(nb::handle owner, wasmtime_context_t* ctx, const wasmtime_memory_t& mem) {
  return nb::cast(PyMemory{nb::borrow(owner), GuestMemory(ctx, mem)}, nb::rv_policy::move);
}

void bind_memory(nb::module_& m) {
  nb::class_<GuestBuffer>(m, "_GuestBuffer", nb::type_slots(guest_buffer_slots));

  nb::class_<PyMemory>(m, "Memory",
                       "A guest linear memory. Addresses are unsigned ints; every access is bounds-checked and "
                       "raises MemoryAccessError instead of touching anything outside the memory. Typed access: "
                       "i8..i64 take the signed or unsigned range of their width and read back signed; u8..u64 "
                       "take and read back 0..2**N-1.",
                       nb::type_slots(memory_slots))
      .def("__len__", [](PyMemory& pm) { return pm.mem.size(); }, "Size in bytes.")
      .def_prop_ro("pages", [](PyMemory& pm) { return pm.mem.pages(); })
      .def_prop_ro("page_size", [](PyMemory& pm) { return pm.mem.page_size(); })
      .def_prop_ro("is64", [](PyMemory& pm) { return pm.mem.is64(); })
      .def_prop_ro("type", [](PyMemory& pm) { return pm.mem.desc().to_string(); })
      .def("__repr__", [](PyMemory& pm) {
        return "<wasmffi.Memory " + pm.mem.desc().to_string() + ", " + std::to_string(pm.mem.size()) + " bytes>";
      });
}

}  // namespace wasmffi::py
