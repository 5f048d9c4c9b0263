// Declared host functions: a cdef-declared import runs its DeclPlan in reverse. The plan is turned
// once, when the function is defined, into one step per Python argument; a call runs the steps
// over the raw slots (integers by their C type, buffers and C strings read from the calling
// instance's memory), makes one vectorcall of the user's callable, and checks the result once by
// its declared C type. No Python wrapper stands between wasm and the callable.
#include <Python.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "convert.hpp"
#include "gil.hpp"
#include "host.hpp"
#include "marshal.hpp"
#include "plan.hpp"
#include "record.hpp"
#include "store_guard.hpp"
#include "wasmffi/host_func.hpp"
#include "wasmffi/memory.hpp"

namespace wasmffi::py {

namespace {

// What one Python argument is made of.
enum class Step : uint8_t {
  Value,    // a scalar by its unit (uint8_t, int16_t, bool, double, a pointer as an unsigned int)
  Enum,     // an integer through its IntEnum class; a value the enum does not name stays an int
  Bytes,    // `const T *` with a linked length: that many elements read as bytes
  CString,  // `const char *`: the NUL-terminated UTF-8 text as str, None for NULL; `const char16_t *`
            // (UTF-16) and `const char32_t *` / `const wchar_t *` (UTF-32) up to their zero unit
  Record,   // a struct by value, passed as a pointer to a copy: an instance of its class holding
            // the `scale` bytes there
  ScalarRecord,  // a struct of one scalar, passed as that scalar: an instance of its class
};

struct ArgStep {
  Step step = Step::Value;
  Marshal unit = Marshal::Unsupported;  // Value/Enum: the scalar's; Bytes/CString: the address's
  uint32_t slot = 0;
  Marshal len_unit = Marshal::Unsupported;  // Bytes: the linked length's unit and slot
  uint32_t len_slot = 0;
  uint64_t scale = 1;                   // Bytes: bytes per unit of the length; CString: bytes per character
  PyObject* enum_class = nullptr;       // Enum (borrowed from the plan)
  PyObject* record = nullptr;           // Record/ScalarRecord: the struct class (borrowed from the plan)
  PyObject* param = nullptr;            // the parameter's name, for messages (borrowed from the plan)
};

// Owned by wasmtime (the store's finaliser). The callable, the Caller and the plan are borrowed:
// the _Instance holds them in its import entries (PyInstance::refs), where the collector sees them.
struct DeclHost {
  PyObject* callable = nullptr;
  PyObject* first_arg = nullptr;  // the Caller of with_caller, or nullptr
  PyObject* name = nullptr;       // "env.log" (owned)
  PyObject* result_name = nullptr;  // "host function 'env.log' result" (owned), for float results
  std::vector<ArgStep> steps;
  std::string memory;             // the memory export buffers and strings are read from
  // Only the importing instance's code can call this function (private_to_instance): the memory
  // its first call finds is then kept, and later calls skip the lookup by name (most of what a
  // buffer argument costs). Written during calls, which hold the GIL and their store.
  bool private_caller = false;
  mutable bool have_memory = false;
  mutable wasmtime_memory_t cached_memory{};
  ResKind result = ResKind::Void;
  Marshal result_unit = Marshal::Unsupported;
  // A struct result (borrowed from the plan): Sret, written at the hidden first parameter's
  // address (`result_size` bytes); or a struct of one scalar, returned as that scalar.
  PyObject* result_record = nullptr;
  uint64_t result_size = 0;
  MarshalUnit::Num result_num = MarshalUnit::Num::Int;  // the result unit's data, copied once
  bool result_i64 = false;
  int64_t result_lo = 0;
  uint64_t result_hi = 0;
  std::string result_ctype;       // "uint8_t", for messages
  std::string result_range;       // "0..255"
};

void decl_finalize(void* env) {
  auto* h = static_cast<DeclHost*>(env);
  Py_XDECREF(h->name);
  Py_XDECREF(h->result_name);
  delete h;
}

wasm_trap_t* stash(Store& store, const DeclHost& h) { return raised_trap(store, h.name); }

// The slot's integer as its unit reads it (truncated to the C width, extended by its sign).
// `negative` tells a signed value below zero.
uint64_t slot_integer(const wasmtime_val_raw_t& slot, Marshal m, bool& negative) {
  const MarshalUnit& u = unit_of(m);
  uint64_t bits = u.wasm == ValKind::I64 ? static_cast<uint64_t>(slot.i64)
                                          : static_cast<uint64_t>(static_cast<uint32_t>(slot.i32));
  if (u.size < 8) {
    const unsigned shift = 64 - 8u * u.size;
    bits = u.lo < 0 ? static_cast<uint64_t>(static_cast<int64_t>(bits << shift) >> shift) : (bits << shift) >> shift;
  }
  negative = u.lo < 0 && static_cast<int64_t>(bits) < 0;
  return bits;
}

// The calling instance's memory, looked up once per call that reads one.
struct CallerMemory {
  wasmtime_caller_t* caller;
  const DeclHost& h;
  bool found = false;
  wasmtime_memory_t mem{};

  // The memory's bytes and size now (a host function may grow it between two reads); false with
  // LinkError set when the calling instance exports no such memory.
  bool get(uint8_t*& base, uint64_t& size) {
    if (!found && h.have_memory) {
      mem = h.cached_memory;
      found = true;
    }
    if (!found) {
      wasmtime_extern_t item;
      const bool got = wasmtime_caller_export_get(caller, h.memory.data(), h.memory.size(), &item);
      if (!got || item.kind != WASMTIME_EXTERN_MEMORY) {
        // A memory handle needs no release; anything else (a shared memory is boxed) does.
        if (got) wasmtime_extern_delete(&item);
        PyErr_Format(registry().link, "host function %R: the calling instance has no memory '%s' to read from",
                     h.name, h.memory.c_str());
        return false;
      }
      mem = item.of.memory;
      found = true;
      if (h.private_caller) {
        h.cached_memory = mem;
        h.have_memory = true;
      }
    }
    wasmtime_context_t* ctx = wasmtime_caller_context(caller);
    base = wasmtime_memory_data(ctx, &mem);
    size = wasmtime_memory_data_size(ctx, &mem);
    return true;
  }
};

PyObject* out_of_bounds_error(const DeclHost& h, const ArgStep& s, uint64_t addr, uint64_t len, uint64_t size,
                              const char* extra) {
  Error e = out_of_bounds("read", addr, len, size);
  PyErr_Format(registry().memory_access, "host function %R parameter %R: %s%s", h.name, s.param, e.message.c_str(),
               extra);
  return nullptr;
}

PyObject* read_bytes(const DeclHost& h, const ArgStep& s, const wasmtime_val_raw_t* raw, CallerMemory& cm) {
  bool neg_addr, negative;
  const uint64_t addr = slot_integer(raw[s.slot], s.unit, neg_addr);
  const uint64_t count = slot_integer(raw[s.len_slot], s.len_unit, negative);
  if (negative) {
    PyErr_Format(registry().memory_access, "host function %R parameter %R: its length is negative (%lld)", h.name,
                 s.param, static_cast<long long>(count));
    return nullptr;
  }
  uint8_t* base;
  uint64_t size;
  if (!cm.get(base, size)) return nullptr;
  uint64_t len;
  if (__builtin_mul_overflow(count, s.scale, &len)) {
    char extra[80];
    std::snprintf(extra, sizeof extra, " (%" PRIu64 " elements of %" PRIu64 " bytes)", count, s.scale);
    return out_of_bounds_error(h, s, addr, UINT64_MAX, size, extra);
  }
  if (addr > size || len > size - addr) return out_of_bounds_error(h, s, addr, len, size, "");
  return PyBytes_FromStringAndSize(reinterpret_cast<const char*>(base + addr), static_cast<Py_ssize_t>(len));
}

PyObject* read_cstring(const DeclHost& h, const ArgStep& s, const wasmtime_val_raw_t* raw, CallerMemory& cm) {
  bool negative;
  const uint64_t addr = slot_integer(raw[s.slot], s.unit, negative);
  if (addr == 0) return Py_NewRef(Py_None);
  uint8_t* base;
  uint64_t size;
  if (!cm.get(base, size)) return nullptr;
  const uint64_t width = s.scale;
  if (addr >= size) return out_of_bounds_error(h, s, addr, width, size, ": a C string must start inside memory");
  const char* start = reinterpret_cast<const char*>(base + addr);
  const uint64_t avail = size - addr;
  uint64_t len = 0;  // bytes before the terminator
  bool found = false;
  if (width == 1) {
    const void* nul = std::memchr(start, 0, static_cast<size_t>(avail));
    found = nul != nullptr;
    if (found) len = static_cast<uint64_t>(static_cast<const char*>(nul) - start);
  } else {
    static const char kZero[4] = {0, 0, 0, 0};
    for (; len + width <= avail; len += width)
      if (std::memcmp(start + len, kZero, static_cast<size_t>(width)) == 0) {
        found = true;
        break;
      }
  }
  if (!found)
    return out_of_bounds_error(h, s, addr, avail + 1, size, ": no NUL terminator before the end of memory");
  PyObject* str;
  int little = -1;  // wasm is little-endian
  if (width == 1) str = PyUnicode_DecodeUTF8(start, static_cast<Py_ssize_t>(len), "strict");
  else if (width == 2) str = PyUnicode_DecodeUTF16(start, static_cast<Py_ssize_t>(len), "strict", &little);
  else str = PyUnicode_DecodeUTF32(start, static_cast<Py_ssize_t>(len), "strict", &little);
  if (str == nullptr && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyErr_Format(PyExc_ValueError, "host function %R parameter %R: the string is not %s (%S)", h.name, s.param,
                 width == 1 ? "UTF-8" : width == 2 ? "UTF-16" : "UTF-32", value);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
  }
  return str;
}

PyObject* as_enum(const ArgStep& s, const wasmtime_val_raw_t& slot) {
  return enum_or_int(s.enum_class, from_raw(slot, s.unit));
}

// A struct passed by value: a copy of its bytes at the address, as an instance of its class.
PyObject* read_record(const DeclHost& h, const ArgStep& s, const wasmtime_val_raw_t* raw, CallerMemory& cm) {
  bool negative;
  const uint64_t addr = slot_integer(raw[s.slot], s.unit, negative);
  uint8_t* base;
  uint64_t size;
  if (!cm.get(base, size)) return nullptr;
  if (addr > size || s.scale > size - addr) return out_of_bounds_error(h, s, addr, s.scale, size, "");
  return make_record(s.record, base + addr, s.scale);
}

// A struct of one scalar, which the C ABI passes as the scalar: its bytes are the slot's.
PyObject* scalar_record(const ArgStep& s, const wasmtime_val_raw_t& slot) {
  uint8_t bytes[8] = {};
  store_element(s.unit, slot, bytes);
  return make_record(s.record, bytes, unit_of(s.unit).size);
}

PyObject* make_arg(const DeclHost& h, const ArgStep& s, const wasmtime_val_raw_t* raw, CallerMemory& cm) {
  switch (s.step) {
    case Step::Value: return from_raw(raw[s.slot], s.unit);
    case Step::Enum: return as_enum(s, raw[s.slot]);
    case Step::Bytes: return read_bytes(h, s, raw, cm);
    case Step::CString: return read_cstring(h, s, raw, cm);
    case Step::Record: return read_record(h, s, raw, cm);
    case Step::ScalarRecord: return scalar_record(s, raw[s.slot]);
  }
  return nullptr;
}

// The callable's return value into raw[0], checked once by the declared C type: integers must be
// int (bool refused) within the type's range, bool True/False/0/1, floating point as wasm floats.
// The bytes of a struct result: an instance of the declared class (a dict of its fields is made
// into one), exactly `size` bytes through the buffer protocol. A new reference to what holds
// them (released with `view`), or nullptr with TypeError naming the host function.
PyObject* result_record_bytes(const DeclHost& h, PyObject* ret, uint64_t size, Py_buffer& view) {
  PyObject* rec = nullptr;
  if (PyObject_TypeCheck(ret, reinterpret_cast<PyTypeObject*>(h.result_record))) {
    rec = Py_NewRef(ret);
  } else if (PyDict_Check(ret)) {
    PyObject* no_args = PyTuple_New(0);
    if (no_args == nullptr) return nullptr;
    rec = PyObject_Call(h.result_record, no_args, ret);
    Py_DECREF(no_args);
    if (rec == nullptr) return nullptr;
  } else {
    PyErr_Format(PyExc_TypeError, "host function %R must return a %s (%s) or a dict of its fields, not %.200s",
                 h.name, reinterpret_cast<PyTypeObject*>(h.result_record)->tp_name, h.result_ctype.c_str(),
                 Py_TYPE(ret)->tp_name);
    return nullptr;
  }
  PyObject* buf = record_buf(rec);
  if (buf == nullptr || PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE) < 0) {
    if (!PyErr_Occurred())
      PyErr_Format(PyExc_TypeError, "host function %R returned a %s that has no bytes (made without its constructor)",
                   h.name, h.result_ctype.c_str());
    Py_DECREF(rec);
    return nullptr;
  }
  if (static_cast<uint64_t>(view.len) != size) {
    PyErr_Format(PyExc_ValueError, "host function %R returned %zd bytes for %s, which has %llu", h.name, view.len,
                 h.result_ctype.c_str(), static_cast<unsigned long long>(size));
    PyBuffer_Release(&view);
    Py_DECREF(rec);
    return nullptr;
  }
  return rec;
}

// A struct result through memory: its bytes written at the hidden first parameter's address.
bool store_sret(const DeclHost& h, PyObject* ret, const wasmtime_val_raw_t* raw, CallerMemory& cm) {
  Py_buffer view;
  PyObject* rec = result_record_bytes(h, ret, h.result_size, view);
  if (rec == nullptr) return false;
  bool negative;
  const uint64_t addr = slot_integer(raw[0], h.result_unit, negative);
  uint8_t* base;
  uint64_t size;
  bool ok = cm.get(base, size);
  if (ok && (addr > size || h.result_size > size - addr)) {
    Error e = out_of_bounds("write", addr, h.result_size, size);
    PyErr_Format(registry().memory_access, "host function %R result: %s", h.name, e.message.c_str());
    ok = false;
  }
  if (ok) std::memcpy(base + addr, view.buf, static_cast<size_t>(h.result_size));
  PyBuffer_Release(&view);
  Py_DECREF(rec);
  return ok;
}

bool store_result(const DeclHost& h, PyObject* ret, wasmtime_val_raw_t* raw) {
  if (h.result_record != nullptr && h.result == ResKind::Value &&
      PyObject_TypeCheck(ret, reinterpret_cast<PyTypeObject*>(h.result_record))) {
    // A struct of one scalar comes back as the scalar: its bytes into the slot.
    Py_buffer view;
    PyObject* rec = result_record_bytes(h, ret, unit_of(h.result_unit).size, view);
    if (rec == nullptr) return false;
    load_element(h.result_unit, static_cast<const uint8_t*>(view.buf), raw[0]);
    PyBuffer_Release(&view);
    Py_DECREF(rec);
    return true;
  }
  if (h.result == ResKind::Void) {
    if (ret == Py_None) return true;
    PyErr_Format(PyExc_TypeError, "host function %R must return None (declared void), not %.200s", h.name,
                 Py_TYPE(ret)->tp_name);
    return false;
  }
  if (h.result_num == MarshalUnit::Num::Float) return to_raw(ret, h.result_unit, raw[0], h.result_name, -1);
  if (h.result_num == MarshalUnit::Num::Bool) {
    int64_t v = -1;
    if (PyBool_Check(ret) || (small_int_value(ret, v) && (v == 0 || v == 1))) {
      raw[0].i32 = PyBool_Check(ret) ? ret == Py_True : static_cast<int32_t>(v);
      return true;
    }
    if (PyLong_Check(ret))
      PyErr_Format(PyExc_TypeError, "host function %R must return bool (%s), not %.200s %R", h.name,
                   h.result_ctype.c_str(), Py_TYPE(ret)->tp_name, ret);
    else
      PyErr_Format(PyExc_TypeError, "host function %R must return bool (%s), not %.200s", h.name,
                   h.result_ctype.c_str(), Py_TYPE(ret)->tp_name);
    return false;
  }
  int64_t v;
  uint64_t bits;
  const int64_t lo = h.result_lo;
  const uint64_t hi = h.result_hi;
  if (small_int_value(ret, v) && v >= lo && (v < 0 || static_cast<uint64_t>(v) <= hi)) [[likely]] {
    bits = static_cast<uint64_t>(v);
  } else {
    if (!PyLong_Check(ret) || PyBool_Check(ret)) {
      PyErr_Format(PyExc_TypeError, "host function %R must return int (%s), not %.200s", h.name,
                   h.result_ctype.c_str(), Py_TYPE(ret)->tp_name);
      return false;
    }
    int overflow = 0;
    const long long s = PyLong_AsLongLongAndOverflow(ret, &overflow);
    if (s == -1 && PyErr_Occurred()) return false;
    bool ok;
    if (overflow == 0) {
      ok = s >= lo && (s < 0 || static_cast<uint64_t>(s) <= hi);
      bits = static_cast<uint64_t>(s);
    } else if (overflow > 0 && hi > static_cast<uint64_t>(INT64_MAX)) {
      bits = PyLong_AsUnsignedLongLong(ret);
      ok = !(bits == static_cast<uint64_t>(-1) && PyErr_Occurred());
      PyErr_Clear();
    } else {
      ok = false;
    }
    if (!ok) {
      PyObject* text = int_text(ret);
      if (text == nullptr) return false;
      PyErr_Format(PyExc_OverflowError, "host function %R returned %U, out of range for %s (%s)", h.name, text,
                   h.result_ctype.c_str(), h.result_range.c_str());
      Py_DECREF(text);
      return false;
    }
  }
  if (h.result_i64) raw[0].i64 = static_cast<int64_t>(bits);
  else raw[0].i32 = static_cast<int32_t>(static_cast<uint32_t>(bits));
  return true;
}

// Runs with the GIL held, as every host function (host.cpp).
wasm_trap_t* decl_trampoline(void* env, wasmtime_caller_t* caller, wasmtime_val_raw_t* raw, size_t) {
  const DeclHost& h = *static_cast<const DeclHost*>(env);
  Store& store = Store::of(wasmtime_caller_context(caller));
  HostActivation active(store);
  // One spare slot in front for PY_VECTORCALL_ARGUMENTS_OFFSET; a plan has at most kMaxParams.
  PyObject* argv[kMaxParams + 2];
  PyObject** args = argv + 1;
  size_t made = 0;
  if (h.first_arg != nullptr) args[made++] = Py_NewRef(h.first_arg);
  CallerMemory cm{caller, h};
  for (const ArgStep& s : h.steps) {
    PyObject* v = make_arg(h, s, raw, cm);
    if (v == nullptr) [[unlikely]] {
      for (size_t j = 0; j < made; ++j) Py_DECREF(args[j]);
      return stash(store, h);
    }
    args[made++] = v;
  }
  PyObject* ret = call_python_from_wasm(h.callable, args, made | PY_VECTORCALL_ARGUMENTS_OFFSET);  // gil.hpp
  for (size_t j = 0; j < made; ++j) Py_DECREF(args[j]);
  if (ret == nullptr) [[unlikely]]
    return stash(store, h);
  const bool ok = h.result == ResKind::Sret ? store_sret(h, ret, raw, cm) : store_result(h, ret, raw);
  Py_DECREF(ret);
  if (!ok) [[unlikely]]
    return stash(store, h);
  // The Python code may have let another thread cancel the call (Instance.cancel): seen here,
  // before wasm goes on, since the call may return without another epoch check.
  return store.take_cancel_trap();
}

// Whether only the code of the instance that imports function `imp` can ever call it, so that
// every call's calling instance is that one. A function reference escapes an instance only
// through its boundary: as a reference-typed value (a function's parameter or result, a global),
// in a table, in a tag's payload, or as a function export. wasmffi's module description does not
// say whether a function export re-exports an import, so an export of the import's type counts
// as one. Anything unknown counts as an escape.
bool private_to_instance(const Module& module, const ExternDesc& imp) {
  auto scalar_sig = [](const FuncSig& f) {
    for (ValKind k : f.params)
      if (!is_scalar(k)) return false;
    for (ValKind k : f.results)
      if (!is_scalar(k)) return false;
    return true;
  };
  auto crosses = [&](const ExternDesc& e, bool is_export) {
    switch (e.kind) {
      case ExternKind::Memory: return false;
      case ExternKind::Global: return !is_scalar(e.global.content);
      case ExternKind::Func:
        return !scalar_sig(e.func) ||
               (is_export && e.func.params == imp.func.params && e.func.results == imp.func.results);
      default: return true;  // tables, tags, anything newer
    }
  };
  for (const ExternDesc& e : module.imports())
    if (crosses(e, false)) return false;
  for (const ExternDesc& e : module.exports())
    if (crosses(e, true)) return false;
  return true;
}

std::string range_text(const MarshalUnit& u) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%" PRId64 "..%" PRIu64, u.lo, u.hi);
  return buf;
}

}  // namespace

Result<wasmtime_func_t> make_declared_host_func(Store& store, const Module& module, size_t index, PyObject* callable,
                                                PyObject* first_arg, PyObject* name, const DeclPlan& plan,
                                                const char* memory) {
  const ExternDesc& desc = module.imports().at(index);
  const std::vector<ValKind>& params = desc.func.params;
  const std::vector<ValKind>& results = desc.func.results;
  auto refuse = [&](const std::string& why) {
    return make_error(ErrorKind::Link, "declared import '" + desc.module + "." + desc.name + "' (" +
                                           desc.func.to_string() + "): " + why);
  };
  if (plan.nslots != params.size()) return refuse("its plan has another number of wasm parameters");
  const ValKind ptr = plan.is64 ? ValKind::I64 : ValKind::I32;
  const Marshal addr_unit = plan.is64 ? Marshal::U64 : Marshal::U32;
  auto h = std::make_unique<DeclHost>();
  bool reads = false;
  for (const DeclParam& p : plan.params) {
    if (p.slot >= params.size()) return refuse("a parameter's slot is past the wasm parameters");
    const ValKind k = params[p.slot];
    if (p.length_of >= 0) {
      const DeclParam& buf = plan.params[static_cast<size_t>(p.length_of)];
      if (buf.dir == Dir::In && !buf.byval) continue;  // carried by its buffer's bytes
    }
    ArgStep s;
    s.slot = p.slot;
    s.param = p.name;
    if (p.dir == Dir::Value) {
      if (!marshal_fits(p.unit, k)) return refuse("parameter " + p.ctype + " does not fit its wasm slot");
      s.unit = p.unit;
      if (p.enum_class != nullptr) {
        s.step = Step::Enum;
        s.enum_class = p.enum_class;
      } else if (p.record != nullptr) {
        s.step = Step::ScalarRecord;
        s.record = p.record;
      }
    } else {
      if (k != ptr) return refuse("pointer parameter " + p.ctype + " does not fit its wasm slot");
      s.unit = addr_unit;
      if (p.dir == Dir::In && !p.byval && p.length_param >= 0) {
        const DeclParam& n = plan.params[static_cast<size_t>(p.length_param)];
        if (n.slot >= params.size() || !marshal_fits(n.unit, params[n.slot]))
          return refuse("the length of " + p.ctype + " does not fit its wasm slot");
        s.step = Step::Bytes;
        s.len_unit = n.unit;
        s.len_slot = n.slot;
        s.scale = n.length_bytes ? 1 : p.elem_size;
        reads = true;
      } else if (p.byval && p.record != nullptr) {
        s.step = Step::Record;
        s.record = p.record;
        s.scale = p.elem_size;
        reads = true;
      } else if (p.cstring && p.dir == Dir::In) {
        if (p.elem_size != 1 && p.elem_size != 2 && p.elem_size != 4)
          return refuse("C string parameter " + p.ctype + " has characters of an unknown width");
        s.step = Step::CString;
        s.scale = p.elem_size;
        reads = true;
      }
    }
    h->steps.push_back(s);
  }
  switch (plan.result.kind) {
    case ResKind::Void:
      if (!results.empty()) return refuse("declared void, but the wasm type has results");
      break;
    case ResKind::Value:
      if (results.size() != 1 || !marshal_fits(plan.result.unit, results[0]))
        return refuse("the declared result does not fit the wasm result");
      break;
    case ResKind::Sret:
      if (!results.empty()) return refuse("a struct result through memory, but the wasm type has results");
      if (params.empty() || params[0] != ptr) return refuse("a struct result through memory needs a pointer first");
      reads = true;  // it writes the caller's memory, so it needs one as a reader does
      break;
  }
  h->result_record = plan.result.record;
  h->result_size = plan.result.size;
  if (reads && (memory == nullptr || *memory == '\0'))
    return refuse(plan.result.kind == ResKind::Sret ? "its struct result is written to guest memory, but the module exports no memory"
                                                    : "a parameter is read from guest memory, but the module exports no memory");
  h->result = plan.result.kind;
  h->result_unit = plan.result.kind == ResKind::Sret ? addr_unit : plan.result.unit;
  h->result_ctype = plan.result.ctype;
  if (plan.result.kind == ResKind::Value) {
    const MarshalUnit& u = unit_of(plan.result.unit);
    h->result_range = range_text(u);
    h->result_num = u.num;
    h->result_i64 = u.wasm == ValKind::I64;
    h->result_lo = u.lo;
    h->result_hi = u.hi;
  }
  if (memory != nullptr) h->memory = memory;
  h->private_caller = private_to_instance(module, desc);
  h->result_name = PyUnicode_FromFormat("host function %R result", name);
  if (h->result_name == nullptr) {
    PyErr_Clear();
    return make_error(ErrorKind::Engine, "out of memory");
  }
  h->callable = callable;
  h->first_arg = first_arg;
  h->name = Py_NewRef(name);
  return new_host_func(store, module, index, decl_trampoline, h.release(), decl_finalize);
}

}  // namespace wasmffi::py
