// Scalar conversions with range checks, address parsing, and core-error -> exception mapping.
#include "convert.hpp"

#include <cfloat>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>

#include "func.hpp"

namespace wasmffi::py {

namespace {
Registry g_registry;  // written only by init_registry (see the comment on Registry)
}  // namespace

const Registry& registry() noexcept { return g_registry; }

bool init_registry(PyObject* module) {
  if (g_registry.func != nullptr) {
    PyErr_SetString(PyExc_ImportError, "wasmffi._core is initialised once per process");
    return false;
  }
  Registry r;
  PyObject* errors = PyImport_ImportModule("wasmffi._errors");
  PyObject* types = errors ? PyImport_ImportModule("wasmffi._types") : nullptr;
  bool ok = types != nullptr;
  struct Slot {
    PyObject** dst;
    PyObject* from;
    const char* name;
  } slots[] = {
      {&r.error, errors, "Error"},
      {&r.compile, errors, "CompileError"},
      {&r.link, errors, "LinkError"},
      {&r.memory_access, errors, "MemoryAccessError"},
      {&r.resource, errors, "ResourceError"},
      {&r.trap, errors, "Trap"},
      {&r.exit, errors, "Exit"},
      {&r.store_in_use, errors, "StoreInUseError"},
      {&r.func_type_info, types, "FuncType"},
  };
  for (Slot& sl : slots)
    if (ok) ok = (*sl.dst = PyObject_GetAttrString(sl.from, sl.name)) != nullptr;
  // Every named trap kind needs its class: a missing one is a packaging error, caught here.
  for (size_t k = 0; ok && k < std::size(r.traps); ++k) {
    auto kind = static_cast<TrapKind>(k);
    const char* name = trap_kind_name(kind);
    if (kind == TrapKind::Other || std::strcmp(name, "Trap") == 0) {
      r.traps[k] = Py_NewRef(r.trap);
      continue;
    }
    ok = (r.traps[k] = PyObject_GetAttrString(errors, name)) != nullptr;
  }
  Py_XDECREF(errors);
  Py_XDECREF(types);
  if (ok) {
    r.func = make_func_type(module);
    ok = r.func != nullptr;
  }
  if (!ok) {
    // Nothing was published: release what was taken so a failed import leaves no references.
    for (PyObject* o : {r.error, r.compile, r.link, r.memory_access, r.resource, r.trap, r.exit, r.store_in_use,
                        r.func_type_info})
      Py_XDECREF(o);
    for (PyObject* o : r.traps) Py_XDECREF(o);
    return false;
  }
  g_registry = r;  // the references are kept for the life of the process, as the module is
  return true;
}

static PyObject* class_for(const Error& err) {
  const Registry& c = g_registry;
  switch (err.kind) {
    case ErrorKind::Compile: return c.compile;
    case ErrorKind::Link: return c.link;
    case ErrorKind::MemoryAccess: return c.memory_access;
    case ErrorKind::Resource: return c.resource;
    case ErrorKind::Argument: return PyExc_ValueError;
    case ErrorKind::Trap: {
      auto k = static_cast<size_t>(err.trap);
      return k < std::size(c.traps) ? c.traps[k] : c.trap;
    }
    case ErrorKind::Exit:  // raised by raise_exit, never by class
    case ErrorKind::Engine: break;
  }
  return c.error;
}

// wasmffi.Exit(code): its message is its own ("the WASI program exited with status N").
static PyObject* raise_exit(const Error& err) {
  PyObject* exc = PyObject_CallFunction(g_registry.exit, "i", err.exit_code);
  if (exc != nullptr) {
    PyErr_SetObject(g_registry.exit, exc);
    Py_DECREF(exc);
  }
  return nullptr;
}

PyObject* raise(const Error& err) {
  if (err.kind == ErrorKind::Exit) return raise_exit(err);
  PyObject* cls = class_for(err);
  PyErr_SetString(cls != nullptr ? cls : PyExc_RuntimeError, err.message.c_str());
  return nullptr;
}

PyObject* raise_in(const Error& err, PyObject* func_name) {
  if (err.kind == ErrorKind::Exit) return raise_exit(err);
  PyObject* cls = class_for(err);
  PyErr_Format(cls != nullptr ? cls : PyExc_RuntimeError, "%U(): %s", func_name, err.message.c_str());
  return nullptr;
}

// "add() argument 2" or "global value" for error messages.
static void set_type_error(PyObject* o, const char* expected, PyObject* name, Py_ssize_t index) {
  if (index >= 0)
    PyErr_Format(PyExc_TypeError, "%U() argument %zd must be %s, not %.200s", name, index + 1, expected,
                 Py_TYPE(o)->tp_name);
  else
    PyErr_Format(PyExc_TypeError, "%U must be %s, not %.200s", name, expected, Py_TYPE(o)->tp_name);
}

static void set_range_error(PyObject* o, const char* kind, const char* range, PyObject* name, Py_ssize_t index) {
  PyObject* text = PyLong_Check(o) ? int_text(o) : PyObject_Repr(o);
  if (text == nullptr) return;
  if (index >= 0)
    PyErr_Format(PyExc_OverflowError, "%U() argument %zd: %U is out of range for %s (accepted: %s)", name,
                 index + 1, text, kind, range);
  else
    PyErr_Format(PyExc_OverflowError, "%U: %U is out of range for %s (accepted: %s)", name, text, kind, range);
  Py_DECREF(text);
}

PyObject* fetch_exception() noexcept {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (tb != nullptr && value != nullptr) PyException_SetTraceback(value, tb);
  Py_XDECREF(type);
  Py_XDECREF(tb);
  return value;
}

PyObject* int_text(PyObject* i) {
  // Up to 128 bits (39 digits) the int is printed in full: every value the API can accept.
  const int64_t bits = static_cast<int64_t>(_PyLong_NumBits(i));
  if (bits < 0) return nullptr;
  if (bits <= 128) return PyObject_Str(i);
  // Longer: 12 leading and 12 trailing digits and the digit count. The count comes from the bit
  // length (it is d or d + 1) and one comparison; str() is never called, so ints beyond
  // sys.get_int_max_str_digits() print too.
  constexpr long kKeep = 12;
  Py_ssize_t digits = static_cast<Py_ssize_t>(static_cast<double>(bits - 1) * 0.30102999566398120) + 1;
  PyObject* out = nullptr;
  PyObject* a = PyNumber_Absolute(i);
  PyObject* ten = PyLong_FromLong(10);
  PyObject* e = PyLong_FromSsize_t(digits);
  PyObject* p = a && ten && e ? PyNumber_Power(ten, e, Py_None) : nullptr;
  int ge = p ? PyObject_RichCompareBool(a, p, Py_GE) : -1;
  if (ge == 1) ++digits;
  PyObject* shift = ge >= 0 ? PyLong_FromSsize_t(digits - kKeep) : nullptr;
  PyObject* keep = shift ? PyLong_FromLong(kKeep) : nullptr;
  PyObject* q = keep ? PyNumber_Power(ten, shift, Py_None) : nullptr;
  PyObject* m = q ? PyNumber_Power(ten, keep, Py_None) : nullptr;
  PyObject* head = m ? PyNumber_FloorDivide(a, q) : nullptr;
  PyObject* tail = head ? PyNumber_Remainder(a, m) : nullptr;
  if (tail) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "%s%lld...%012lld (%zd digits)", _PyLong_Sign(i) < 0 ? "-" : "",
                  PyLong_AsLongLong(head), PyLong_AsLongLong(tail), digits);
    out = PyUnicode_FromString(buf);
  }
  for (PyObject* o : {a, ten, e, p, shift, keep, q, m, head, tail}) Py_XDECREF(o);
  return out;
}

// A conversion hook the caller wrote (__index__, __float__) failed with a TypeError, whose text
// (CPython's "__index__ returned non-int (type str)", or the hook's own) names no function: the
// same TypeError again, prefixed with whose argument it was, the hook's exception as its cause.
// Other exceptions a hook raises are the caller's own and pass through unchanged.
template <class Where>
static void name_hook_type_error(Where make_where) {
  if (!PyErr_ExceptionMatches(PyExc_TypeError)) return;
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (tb != nullptr) PyException_SetTraceback(value, tb);
  PyObject* where = make_where();
  if (where != nullptr) {
    PyErr_Format(PyExc_TypeError, "%U: %S", where, value);
    Py_DECREF(where);
    PyObject *t2, *v2, *tb2;
    PyErr_Fetch(&t2, &v2, &tb2);
    PyErr_NormalizeException(&t2, &v2, &tb2);
    PyException_SetContext(v2, Py_NewRef(value));
    PyException_SetCause(v2, Py_NewRef(value));
    PyErr_Restore(t2, v2, tb2);
  } else {
    PyErr_Clear();
    PyErr_Restore(Py_NewRef(type), Py_NewRef(value), Py_XNewRef(tb));
  }
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
}

// "add() argument 2" or "global value", as set_type_error says it.
static void name_hook_type_error(PyObject* name, Py_ssize_t index) {
  name_hook_type_error([&] {
    return index >= 0 ? PyUnicode_FromFormat("%U() argument %zd", name, index + 1) : PyUnicode_FromFormat("%U", name);
  });
}

// Returns a new reference to an exact int for int-like objects (int, bool, numpy integers via
// __index__), or nullptr with TypeError set. floats are refused: no silent truncation.
static PyObject* as_int(PyObject* o, const char* expected, PyObject* name, Py_ssize_t index) {
  if (PyLong_Check(o)) return Py_NewRef(o);
  if (!PyFloat_Check(o) && Py_TYPE(o)->tp_as_number != nullptr && Py_TYPE(o)->tp_as_number->nb_index != nullptr) {
    PyObject* i = PyNumber_Index(o);
    if (i == nullptr) name_hook_type_error(name, index);
    return i;
  }
  set_type_error(o, expected, name, index);
  return nullptr;
}

bool to_int_in_range(PyObject* o, int64_t lo, uint64_t hi, const char* kind, uint64_t& bits, PyObject* name,
                     Py_ssize_t index) {
  PyObject* tmp = nullptr;
  if (!PyLong_Check(o)) [[unlikely]] {  // numpy integers and other __index__ types
    tmp = as_int(o, "int", name, index);
    if (tmp == nullptr) return false;
    o = tmp;
  }
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
  bool ok = false;
  if (overflow == 0 && !(v == -1 && PyErr_Occurred())) {
    ok = v >= lo && (v < 0 || static_cast<uint64_t>(v) <= hi);
    bits = static_cast<uint64_t>(v);
  } else if (overflow > 0 && hi > static_cast<uint64_t>(INT64_MAX)) {
    // Above INT64_MAX: accepted up to `hi` as the same bit pattern.
    unsigned long long u = PyLong_AsUnsignedLongLong(o);
    if (u == static_cast<unsigned long long>(-1) && PyErr_Occurred()) PyErr_Clear();
    else if ((ok = u <= hi)) bits = u;
  }
  if (!ok && !PyErr_Occurred()) {
    char range[64];
    std::snprintf(range, sizeof range, "%" PRId64 "..%" PRIu64, lo, hi);
    set_range_error(o, kind, range, name, index);
  }
  Py_XDECREF(tmp);
  return ok;
}

bool to_i32_slow(PyObject* o, int32_t& out, PyObject* name, Py_ssize_t index) {
  uint64_t bits;
  if (!to_int_in_range(o, INT32_MIN, UINT32_MAX, "i32", bits, name, index)) return false;
  out = static_cast<int32_t>(static_cast<uint32_t>(bits));
  return true;
}

bool to_u32_slow(PyObject* o, int32_t& out, PyObject* name, Py_ssize_t index) {
  uint64_t bits;
  if (!to_int_in_range(o, 0, UINT32_MAX, "u32", bits, name, index)) return false;
  out = static_cast<int32_t>(static_cast<uint32_t>(bits));
  return true;
}

bool to_i64_slow(PyObject* o, int64_t& out, PyObject* name, Py_ssize_t index) {
  uint64_t bits;
  if (!to_int_in_range(o, INT64_MIN, UINT64_MAX, "i64", bits, name, index)) return false;
  out = static_cast<int64_t>(bits);
  return true;
}

bool to_u64_slow(PyObject* o, int64_t& out, PyObject* name, Py_ssize_t index) {
  uint64_t bits;
  if (!to_int_in_range(o, 0, UINT64_MAX, "u64", bits, name, index)) return false;
  out = static_cast<int64_t>(bits);
  return true;
}

bool to_int_bits(PyObject* o, unsigned bits, bool is_signed, uint64_t& out, PyObject* what) {
  static const char* const names[2][4] = {{"u8", "u16", "u32", "u64"}, {"i8", "i16", "i32", "i64"}};
  const unsigned w = bits == 8 ? 0 : bits == 16 ? 1 : bits == 32 ? 2 : 3;
  const uint64_t hi = bits == 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1;
  const int64_t lo = is_signed ? (bits == 64 ? INT64_MIN : -(int64_t{1} << (bits - 1))) : 0;
  if (!to_int_in_range(o, lo, hi, names[is_signed][w], out, what, -1)) return false;
  out &= hi;  // a negative value's bit pattern, truncated to the width
  return true;
}

static bool to_double(PyObject* o, double& out, PyObject* name, Py_ssize_t index) {
  if (PyFloat_CheckExact(o)) [[likely]] {
    out = PyFloat_AS_DOUBLE(o);
    return true;
  }
  if (PyLong_Check(o)) {
    out = PyLong_AsDouble(o);
    if (out == -1.0 && PyErr_Occurred()) {  // an int beyond double range: say where
      PyErr_Clear();
      set_range_error(o, "a float", "ints up to about 1.8e308 in magnitude", name, index);
      return false;
    }
    return true;
  }
  if (PyFloat_Check(o) || (Py_TYPE(o)->tp_as_number != nullptr &&
                           (Py_TYPE(o)->tp_as_number->nb_float != nullptr ||
                            Py_TYPE(o)->tp_as_number->nb_index != nullptr))) {
    out = PyFloat_AsDouble(o);
    if (out == -1.0 && PyErr_Occurred()) {
      name_hook_type_error(name, index);
      return false;
    }
    return true;
  }
  set_type_error(o, "float or int", name, index);
  return false;
}

bool to_f64_slow(PyObject* o, double& out, PyObject* name, Py_ssize_t index) { return to_double(o, out, name, index); }

bool to_f32(PyObject* o, float& out, PyObject* name, Py_ssize_t index) {
  double d;
  if (!to_double(o, d, name, index)) return false;
  float f = static_cast<float>(d);
  if (std::isinf(f) && std::isfinite(d)) [[unlikely]] {
    set_range_error(o, "f32", "finite values up to about 3.4028235e38 in magnitude, inf, nan", name, index);
    return false;
  }
  out = f;
  return true;
}

bool to_value(PyObject* o, ValKind kind, Value& out, PyObject* what) {
  out.kind = kind;
  switch (kind) {
    case ValKind::I32: return to_i32(o, out.of.i32, what, -1);
    case ValKind::I64: return to_i64(o, out.of.i64, what, -1);
    case ValKind::F32: return to_f32(o, out.of.f32, what, -1);
    case ValKind::F64: return to_f64(o, out.of.f64, what, -1);
    default:
      PyErr_Format(PyExc_TypeError, "%U has unsupported type %s", what, val_kind_name(kind));
      return false;
  }
}

PyObject* from_value(const Value& v) {
  switch (v.kind) {
    case ValKind::I32: return PyLong_FromLong(v.of.i32);
    case ValKind::I64: return PyLong_FromLongLong(v.of.i64);
    case ValKind::F32: return PyFloat_FromDouble(v.of.f32);
    case ValKind::F64: return PyFloat_FromDouble(v.of.f64);
    default:  // global_get refuses non-scalar globals before a Value is made
      return PyErr_Format(PyExc_SystemError, "wasmffi: no conversion for a %s value", val_kind_name(v.kind));
  }
}

bool to_address(PyObject* o, uint64_t& out, const char* func, const char* what) {
  if (PyLong_CheckExact(o)) [[likely]] {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow == 0 && v >= 0) [[likely]] {
      out = static_cast<uint64_t>(v);
      return true;
    }
  }
  if (PyFloat_Check(o) || !PyIndex_Check(o)) {
    PyErr_Format(PyExc_TypeError, "%s(): %s must be an int, not %.200s", func, what, Py_TYPE(o)->tp_name);
    return false;
  }
  PyObject* i = PyNumber_Index(o);
  if (i == nullptr) {
    name_hook_type_error([&] { return PyUnicode_FromFormat("%s(): %s", func, what); });
    return false;
  }
  bool ok = false;
  PyObject* text = nullptr;
  if (_PyLong_Sign(i) < 0) {
    if ((text = int_text(i)))
      PyErr_Format(registry().memory_access, "%s(): %s %U is negative: guest addresses and lengths are unsigned",
                   func, what, text);
  } else {
    unsigned long long u = PyLong_AsUnsignedLongLong(i);
    if (u == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
      PyErr_Clear();
      if ((text = int_text(i)))
        PyErr_Format(registry().memory_access, "%s(): %s %U does not fit in 64 bits", func, what, text);
    } else {
      out = u;
      ok = true;
    }
  }
  Py_XDECREF(text);
  Py_DECREF(i);
  return ok;
}

}  // namespace wasmffi::py
