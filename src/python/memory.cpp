// Memory: the checked Python API over GuestMemory, and the buffer exporter behind Memory.view.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <cfloat>
#include <cinttypes>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "binding.hpp"
#include "convert.hpp"

namespace wasmffi::py {

namespace {

uint64_t address(nb::handle h, const char* what) {
  uint64_t v;
  if (!to_address(h.ptr(), v, what)) throw nb::python_error();
  return v;
}

std::span<uint8_t> checked(const PyMemory& m, uint64_t addr, uint64_t len, const char* op) {
  auto s = m.mem.span(addr, len, op);
  if (!s) throw_error(s.error());
  return *s;
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
  GuestBuffer* gb = nb::inst_ptr<GuestBuffer>(self);
  PyMemory& m = nb::cast<PyMemory&>(gb->memory);
  // Re-checked on every export: cheap, and a belt to the non-moving-memory braces.
  auto s = m.mem.span(gb->addr, gb->len, "view");
  if (!s) {
    raise(s.error());
    view->obj = nullptr;
    return -1;
  }
  return PyBuffer_FillInfo(view, self, s->data(), static_cast<Py_ssize_t>(gb->len), 0, flags);
}

PyType_Slot guest_buffer_slots[] = {
    {Py_bf_getbuffer, reinterpret_cast<void*>(guest_buffer_get)},
    {0, nullptr},
};

// Buffer-protocol arguments: any C-contiguous bytes-like object.
struct Buffer {
  Py_buffer view{};
  Buffer(nb::handle obj, int flags, const char* what) {
    if (PyObject_GetBuffer(obj.ptr(), &view, flags) != 0) {
      PyErr_Clear();
      PyErr_Format(PyExc_TypeError, "%s must be a %s bytes-like object, not %.200s", what,
                   (flags & PyBUF_WRITABLE) ? "writable contiguous" : "contiguous", Py_TYPE(obj.ptr())->tp_name);
      throw nb::python_error();
    }
  }
  ~Buffer() { PyBuffer_Release(&view); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
};

template <class T>
const char* type_name();
template <> const char* type_name<int8_t>() { return "i8"; }
template <> const char* type_name<uint8_t>() { return "u8"; }
template <> const char* type_name<int16_t>() { return "i16"; }
template <> const char* type_name<uint16_t>() { return "u16"; }
template <> const char* type_name<int32_t>() { return "i32"; }
template <> const char* type_name<uint32_t>() { return "u32"; }
template <> const char* type_name<int64_t>() { return "i64"; }
template <> const char* type_name<uint64_t>() { return "u64"; }
template <> const char* type_name<float>() { return "f32"; }
template <> const char* type_name<double>() { return "f64"; }

// Typed writes are strict per type (write_u8 takes 0..255, write_i8 -128..127; write_f32 refuses
// finite values beyond f32): the binding's shared conversions, named "write_<type>() value".
template <class T>
T typed_value(nb::handle h) {
  std::string what = std::string("write_") + type_name<T>() + "() value";
  nb::str name(what.c_str());
  bool ok;
  T out{};
  if constexpr (std::is_same_v<T, float>) {
    ok = to_f32(h.ptr(), out, name.ptr(), -1);
  } else if constexpr (std::is_same_v<T, double>) {
    ok = to_f64(h.ptr(), out, name.ptr(), -1);
  } else {
    uint64_t bits = 0;
    ok = to_int_in_range(h.ptr(), static_cast<int64_t>(std::numeric_limits<T>::min()),
                         static_cast<uint64_t>(std::numeric_limits<T>::max()), type_name<T>(), bits, name.ptr(), -1);
    out = static_cast<T>(bits);
  }
  if (!ok) throw nb::python_error();
  return out;
}

template <class T>
nb::object typed_read(PyMemory& m, nb::handle ptr) {
  auto s = checked(m, address(ptr, "address"), sizeof(T), "read");
  T v;
  std::memcpy(&v, s.data(), sizeof(T));
  if constexpr (std::is_floating_point_v<T>) return nb::steal(PyFloat_FromDouble(static_cast<double>(v)));
  else if constexpr (std::is_signed_v<T>) return nb::steal(PyLong_FromLongLong(v));
  else return nb::steal(PyLong_FromUnsignedLongLong(v));
}

template <class T>
void typed_write(PyMemory& m, nb::handle ptr, nb::handle value) {
  uint64_t addr = address(ptr, "address");
  T v = typed_value<T>(value);  // convert first: a bad value writes nothing
  auto s = checked(m, addr, sizeof(T), "write");
  std::memcpy(s.data(), &v, sizeof(T));
}

template <class T>
void def_typed(nb::class_<PyMemory>& cls) {
  std::string r = std::string("read_") + type_name<T>();
  std::string w = std::string("write_") + type_name<T>();
  std::string rdoc = "Reads a little-endian " + std::string(type_name<T>()) + " at an unsigned address.";
  std::string wdoc = "Writes a little-endian " + std::string(type_name<T>()) +
                     " at an unsigned address; out-of-range values raise OverflowError.";
  cls.def(r.c_str(), &typed_read<T>, nb::arg("address"), rdoc.c_str());
  cls.def(w.c_str(), &typed_write<T>, nb::arg("address"), nb::arg("value"), wdoc.c_str());
}

nb::bytes read_cstring(PyMemory& m, nb::handle ptr, nb::handle max_len) {
  uint64_t addr = address(ptr, "address");
  const uint64_t size = m.mem.size();
  if (addr > size) throw_error(out_of_bounds("read_cstring", addr, 0, size));
  uint64_t limit = size - addr;
  bool capped = false;
  if (!max_len.is_none()) {
    uint64_t cap = address(max_len, "max_len");
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
      std::snprintf(msg, sizeof msg, "read_cstring(): no NUL terminator within max_len=%" PRIu64
                    " bytes at address 0x%" PRIx64, limit, addr);
      throw nb::value_error(msg);
    }
    Error e = out_of_bounds("read_cstring", addr, limit + 1, size);
    e.message += ": no NUL terminator before the end of memory";
    throw_error(e);
  }
  return nb::bytes(reinterpret_cast<const char*>(start), static_cast<const uint8_t*>(nul) - start);
}

}  // namespace

nb::object make_memory(nb::handle owner, wasmtime_context_t* ctx, const wasmtime_memory_t& mem) {
  return nb::cast(PyMemory{nb::borrow(owner), GuestMemory(ctx, mem)}, nb::rv_policy::move);
}

void bind_memory(nb::module_& m) {
  nb::class_<GuestBuffer>(m, "_GuestBuffer", nb::type_slots(guest_buffer_slots));

  auto cls = nb::class_<PyMemory>(m, "Memory",
                                  "A guest linear memory. Addresses are unsigned ints; every access is "
                                  "bounds-checked and raises MemoryAccessError instead of touching "
                                  "anything outside the memory.");
  cls.def("__len__", [](PyMemory& pm) { return pm.mem.size(); }, "Size in bytes.")
      .def_prop_ro("pages", [](PyMemory& pm) { return pm.mem.pages(); })
      .def_prop_ro("page_size", [](PyMemory& pm) { return pm.mem.page_size(); })
      .def_prop_ro("is64", [](PyMemory& pm) { return pm.mem.is64(); })
      .def_prop_ro("type", [](PyMemory& pm) { return pm.mem.desc().to_string(); })
      .def(
          "grow",
          [](PyMemory& pm, nb::handle pages) {
            if (PyLong_Check(pages.ptr()) && _PyLong_Sign(pages.ptr()) < 0) {
              PyErr_Format(PyExc_ValueError, "grow(): pages must be >= 0, got %R", pages.ptr());
              throw nb::python_error();
            }
            uint64_t delta = address(pages, "pages");
            auto r = pm.mem.grow(delta);
            if (!r) throw_error(r.error());
            return *r;
          },
          nb::arg("pages"), "Grows by `pages` pages; returns the previous size in pages.")
      .def(
          "read",
          [](PyMemory& pm, nb::handle ptr, nb::handle n) {
            uint64_t addr = address(ptr, "address"), len = address(n, "length");
            auto s = checked(pm, addr, len, "read");
            return nb::bytes(reinterpret_cast<const char*>(s.data()), s.size());
          },
          nb::arg("address"), nb::arg("length"), "Copies `length` bytes at `address` out as bytes.")
      .def(
          "read_into",
          [](PyMemory& pm, nb::handle ptr, nb::handle buffer) {
            uint64_t addr = address(ptr, "address");
            Buffer b(buffer, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS, "buffer");
            auto s = checked(pm, addr, static_cast<uint64_t>(b.view.len), "read");
            std::memcpy(b.view.buf, s.data(), s.size());
            return static_cast<uint64_t>(b.view.len);
          },
          nb::arg("address"), nb::arg("buffer"), "Fills `buffer` from guest memory; returns the byte count.")
      .def(
          "write",
          [](PyMemory& pm, nb::handle ptr, nb::handle data) {
            uint64_t addr = address(ptr, "address");
            Buffer b(data, PyBUF_C_CONTIGUOUS, "data");
            auto s = checked(pm, addr, static_cast<uint64_t>(b.view.len), "write");
            if (b.view.len) std::memmove(s.data(), b.view.buf, s.size());  // data may be a view of this memory
            return static_cast<uint64_t>(b.view.len);
          },
          nb::arg("address"), nb::arg("data"), "Copies a bytes-like object in; all or nothing.")
      .def("read_cstring", &read_cstring, nb::arg("address"), nb::arg("max_len") = nb::none(),
           "Bytes up to (not including) the first NUL, searching at most max_len bytes.")
      .def(
          "view",
          [](nb::handle self, nb::handle ptr, nb::handle n) {
            PyMemory& pm = nb::cast<PyMemory&>(self);
            uint64_t addr = address(ptr, "address"), len = address(n, "length");
            checked(pm, addr, len, "view");
            nb::object exporter = nb::cast(GuestBuffer{nb::borrow(self), addr, len}, nb::rv_policy::move);
            return nb::steal(PyMemoryView_FromObject(exporter.ptr()));
          },
          nb::arg("address"), nb::arg("length"),
          "A zero-copy, writable memoryview of guest memory. It keeps the instance alive and stays "
          "valid when the memory grows: memories never move.")
      .def(
          "read_ptr",
          [](PyMemory& pm, nb::handle ptr) {
            uint64_t addr = address(ptr, "address");
            auto r = pm.mem.load_pointer(addr);
            if (!r) throw_error(r.error());
            return *r;
          },
          nb::arg("address"), "Reads a pointer (u32, or u64 for memory64) as an unsigned address.")
      .def(
          "write_ptr",
          [](PyMemory& pm, nb::handle ptr, nb::handle value) {
            uint64_t addr = address(ptr, "address");
            uint64_t v = address(value, "pointer value");
            if (v > pm.mem.address_limit()) {
              char msg[120];
              std::snprintf(msg, sizeof msg, "write_ptr(): pointer 0x%" PRIx64 " does not fit a 32-bit memory", v);
              PyErr_SetString(PyExc_OverflowError, msg);
              throw nb::python_error();
            }
            Result<void> r = pm.mem.is64() ? pm.mem.store<uint64_t>(addr, v)
                                           : pm.mem.store<uint32_t>(addr, static_cast<uint32_t>(v));
            if (!r) throw_error(r.error());
          },
          nb::arg("address"), nb::arg("value"), "Writes a pointer-sized unsigned address.")
      .def("__repr__", [](PyMemory& pm) {
        return "<wasmffi.Memory " + pm.mem.desc().to_string() + ", " + std::to_string(pm.mem.size()) + " bytes>";
      });
  def_typed<int8_t>(cls);
  def_typed<uint8_t>(cls);
  def_typed<int16_t>(cls);
  def_typed<uint16_t>(cls);
  def_typed<int32_t>(cls);
  def_typed<uint32_t>(cls);
  def_typed<int64_t>(cls);
  def_typed<uint64_t>(cls);
  def_typed<float>(cls);
  def_typed<double>(cls);
}

}  // namespace wasmffi::py
