// `_core.Record`, the C base of cdef's record classes, and `_core.ScalarField`, the codec of
// their scalar members (record.hpp).
#include "record.hpp"

#include <structmember.h>

#include "marshal.hpp"

namespace wasmffi::py {

namespace {

PyTypeObject* g_record_type = nullptr;

int record_traverse(PyObject* o, visitproc visit, void* arg) {
  Py_VISIT(reinterpret_cast<RecordObject*>(o)->buf);
  Py_VISIT(Py_TYPE(o));
  return 0;
}

int record_clear(PyObject* o) {
  Py_CLEAR(reinterpret_cast<RecordObject*>(o)->buf);
  return 0;
}

void record_dealloc(PyObject* o) {
  PyTypeObject* tp = Py_TYPE(o);
  PyObject_GC_UnTrack(o);
  record_clear(o);
  tp->tp_free(o);
  Py_DECREF(tp);
}

PyMemberDef record_members[] = {
    {"_buf", T_OBJECT_EX, offsetof(RecordObject, buf), 0,
     "the record's bytes in guest layout: its own bytearray, or a memoryview of its parent's"},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot record_slots[] = {
    {Py_tp_doc, const_cast<char*>("Base of the classes cdef makes for declared structs and unions.")},
    {Py_tp_new, reinterpret_cast<void*>(PyType_GenericNew)},
    {Py_tp_dealloc, reinterpret_cast<void*>(record_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(record_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(record_clear)},
    {Py_tp_members, record_members},
    {0, nullptr},
};

PyType_Spec record_spec = {
    "wasmffi._core.Record",
    sizeof(RecordObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    record_slots,
};

}  // namespace

bool init_record_type(PyObject* module) {
  g_record_type = reinterpret_cast<PyTypeObject*>(PyType_FromModuleAndSpec(module, &record_spec, nullptr));
  if (g_record_type == nullptr) return false;
  return PyModule_AddObjectRef(module, "Record", reinterpret_cast<PyObject*>(g_record_type)) == 0;
}

bool is_record_class(PyObject* cls) noexcept {
  return PyType_Check(cls) && PyType_IsSubtype(reinterpret_cast<PyTypeObject*>(cls), g_record_type);
}

PyObject* record_buf(PyObject* record) noexcept {
  return PyObject_TypeCheck(record, g_record_type) ? reinterpret_cast<RecordObject*>(record)->buf : nullptr;
}

PyObject* make_record(PyObject* cls, const uint8_t* data, size_t n) noexcept {
  auto* type = reinterpret_cast<PyTypeObject*>(cls);
  PyObject* buf = PyByteArray_FromStringAndSize(reinterpret_cast<const char*>(data), static_cast<Py_ssize_t>(n));
  if (buf == nullptr) return nullptr;
  PyObject* obj = type->tp_alloc(type, 0);
  if (obj == nullptr) {
    Py_DECREF(buf);
    return nullptr;
  }
  reinterpret_cast<RecordObject*>(obj)->buf = buf;
  return obj;
}

// ---- ScalarField: a scalar member, read and written by its marshalling unit ----------------

namespace {

PyTypeObject* g_field_type = nullptr;

struct ScalarFieldObject {
  PyObject_HEAD
  Marshal unit;
  bool char_bytes;        // plain char: a one-byte bytes object is accepted as its value
  Py_ssize_t offset;
  PyObject* label;        // "struct point member 'x'"; owned
  PyObject* ctype;        // "int32_t", as declared; owned
  PyObject* full_label;   // "struct point member 'x' (int32_t)": what conversion errors name; owned
  PyObject* enum_class;   // an IntEnum class for enum members, or nullptr; owned
};

ScalarFieldObject* as_field(PyObject* o) { return reinterpret_cast<ScalarFieldObject*>(o); }

// The member's bytes in `buf` at `base`: the buffer acquired (`view`, released by the caller)
// and a pointer to the unit's bytes, or nullptr with an exception. Any buffer-protocol object
// is checked, never assumed: contiguous, writable when asked, and long enough.
uint8_t* member_bytes(ScalarFieldObject* f, PyObject* buf, Py_ssize_t base, bool writable, Py_buffer& view) {
  if (PyObject_GetBuffer(buf, &view, writable ? PyBUF_WRITABLE : PyBUF_SIMPLE) < 0) {
    // Read-only, released or non-contiguous: the same exception, naming the member.
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyErr_Format(type, "%U: cannot %s this buffer: %S", f->full_label, writable ? "write" : "read", value);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return nullptr;
  }
  const Py_ssize_t size = unit_of(f->unit).size;
  if (base < 0 || base > PY_SSIZE_T_MAX - f->offset - size || base + f->offset + size > view.len) {
    PyErr_Format(PyExc_IndexError, "%U: %zd bytes at offset %zd do not fit in a buffer of %zd bytes", f->full_label,
                 size, base + f->offset, view.len);
    PyBuffer_Release(&view);
    return nullptr;
  }
  return static_cast<uint8_t*>(view.buf) + base + f->offset;
}

PyObject* field_get(ScalarFieldObject* f, PyObject* buf, Py_ssize_t base) {
  Py_buffer view;
  const uint8_t* p = member_bytes(f, buf, base, false, view);
  if (p == nullptr) return nullptr;
  wasmtime_val_raw_t slot{};
  load_element(f->unit, p, slot);
  PyBuffer_Release(&view);
  PyObject* v = from_raw(slot, f->unit);
  return f->enum_class != nullptr ? enum_or_int(f->enum_class, v) : v;
}

// Converts first (a value's __index__ runs Python code, which may even resize `buf`), then
// writes: a refused value leaves the bytes unchanged.
bool field_set(ScalarFieldObject* f, PyObject* buf, PyObject* value, Py_ssize_t base, PyObject* label) {
  wasmtime_val_raw_t slot{};
  PyObject* tmp = nullptr;
  if (f->char_bytes && PyBytes_Check(value) && PyBytes_GET_SIZE(value) == 1) {
    tmp = PyLong_FromLong(static_cast<signed char>(PyBytes_AS_STRING(value)[0]));
    if (tmp == nullptr) return false;
    value = tmp;
  }
  const bool ok = to_raw(value, f->unit, slot, label, -1);
  Py_XDECREF(tmp);
  if (!ok) return false;
  Py_buffer view;
  uint8_t* p = member_bytes(f, buf, base, true, view);
  if (p == nullptr) return false;
  store_element(f->unit, slot, p);
  PyBuffer_Release(&view);
  return true;
}

PyObject* field_new(PyTypeObject* type, PyObject* args, PyObject* kwds) {
  static const char* kw[] = {"unit", "offset", "label", "ctype", "wide", "enum_class", "char", nullptr};
  const char* unit_name;
  Py_ssize_t offset;
  PyObject *label, *ctype, *enum_class = Py_None;
  int wide = 0, is_char = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "snUU|$pOp:ScalarField", const_cast<char**>(kw), &unit_name, &offset,
                                   &label, &ctype, &wide, &enum_class, &is_char))
    return nullptr;
  auto m = marshal_named(unit_name, wide ? ValKind::I64 : ValKind::I32);
  if (!m) return PyErr_Format(PyExc_ValueError, "ScalarField: unknown unit '%s' (units: %s)", unit_name,
                              marshal_names_text());
  if (offset < 0) return PyErr_Format(PyExc_ValueError, "ScalarField: offset %zd is negative", offset);
  if (enum_class != Py_None && !PyCallable_Check(enum_class))
    return PyErr_Format(PyExc_TypeError, "ScalarField: enum_class must be a class, not %.200s",
                        Py_TYPE(enum_class)->tp_name);
  PyObject* full = PyUnicode_FromFormat("%U (%U)", label, ctype);
  if (full == nullptr) return nullptr;
  PyObject* self = type->tp_alloc(type, 0);
  if (self == nullptr) {
    Py_DECREF(full);
    return nullptr;
  }
  ScalarFieldObject* f = as_field(self);
  f->unit = *m;
  f->char_bytes = is_char != 0;
  f->offset = offset;
  f->label = Py_NewRef(label);
  f->ctype = Py_NewRef(ctype);
  f->full_label = full;
  f->enum_class = enum_class == Py_None ? nullptr : Py_NewRef(enum_class);
  return self;
}

int field_traverse(PyObject* o, visitproc visit, void* arg) {
  Py_VISIT(as_field(o)->enum_class);
  Py_VISIT(Py_TYPE(o));
  return 0;
}

int field_clear(PyObject* o) {
  ScalarFieldObject* f = as_field(o);
  Py_CLEAR(f->label);
  Py_CLEAR(f->ctype);
  Py_CLEAR(f->full_label);
  Py_CLEAR(f->enum_class);
  return 0;
}

void field_dealloc(PyObject* o) {
  PyTypeObject* tp = Py_TYPE(o);
  PyObject_GC_UnTrack(o);
  field_clear(o);
  tp->tp_free(o);
  Py_DECREF(tp);
}

// `buf` and `base` of get()/set(): base an int >= 0.
bool parse_base(PyObject* const* args, Py_ssize_t nargs, Py_ssize_t at, Py_ssize_t& base) {
  base = 0;
  if (nargs <= at) return true;
  base = PyNumber_AsSsize_t(args[at], PyExc_OverflowError);
  return !(base == -1 && PyErr_Occurred());
}

PyObject* field_get_method(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < 1 || nargs > 2) return PyErr_Format(PyExc_TypeError, "ScalarField.get() takes (buf, base=0)");
  Py_ssize_t base;
  if (!parse_base(args, nargs, 1, base)) return nullptr;
  return field_get(as_field(self), args[0], base);
}

PyObject* field_set_method(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < 2 || nargs > 4) return PyErr_Format(PyExc_TypeError, "ScalarField.set() takes (buf, value, base=0, label=None)");
  ScalarFieldObject* f = as_field(self);
  Py_ssize_t base;
  if (!parse_base(args, nargs, 2, base)) return nullptr;
  PyObject* label = f->full_label;
  PyObject* made = nullptr;
  if (nargs > 3 && args[3] != Py_None) {
    if (!PyUnicode_Check(args[3]))
      return PyErr_Format(PyExc_TypeError, "ScalarField.set(): label must be a str, not %.200s", Py_TYPE(args[3])->tp_name);
    label = made = PyUnicode_FromFormat("%U (%U)", args[3], f->ctype);
    if (made == nullptr) return nullptr;
  }
  const bool ok = field_set(f, args[0], args[1], base, label);
  Py_XDECREF(made);
  if (!ok) return nullptr;
  Py_RETURN_NONE;
}

// The record's bytes for the descriptor protocol: the C slot, never an attribute lookup.
PyObject* bytes_of(ScalarFieldObject* f, PyObject* obj) {
  PyObject* buf = record_buf(obj);
  if (buf == nullptr)
    PyErr_Format(PyExc_TypeError, "%U: the %.200s instance has no bytes (made without its constructor)", f->label,
                 Py_TYPE(obj)->tp_name);
  return buf;
}

PyObject* field_descr_get(PyObject* self, PyObject* obj, PyObject*) {
  if (obj == nullptr || obj == Py_None) return Py_NewRef(self);
  ScalarFieldObject* f = as_field(self);
  PyObject* buf = bytes_of(f, obj);
  return buf == nullptr ? nullptr : field_get(f, buf, 0);
}

int field_descr_set(PyObject* self, PyObject* obj, PyObject* value) {
  ScalarFieldObject* f = as_field(self);
  if (value == nullptr) {
    PyErr_Format(PyExc_AttributeError, "%U cannot be deleted (a C member always has a value)", f->label);
    return -1;
  }
  PyObject* buf = bytes_of(f, obj);
  if (buf == nullptr) return -1;
  Py_INCREF(buf);  // the conversion runs Python code, which could replace the instance's bytes
  const bool ok = field_set(f, buf, value, 0, f->full_label);
  Py_DECREF(buf);
  return ok ? 0 : -1;
}

PyObject* field_repr(PyObject* self) {
  ScalarFieldObject* f = as_field(self);
  return PyUnicode_FromFormat("<ScalarField %U at offset %zd, unit %s>", f->full_label, f->offset,
                              marshal_name(f->unit));
}

PyMethodDef field_methods[] = {
    {"get", reinterpret_cast<PyCFunction>(reinterpret_cast<void*>(field_get_method)), METH_FASTCALL,
     "get($self, buf, base=0, /)\n--\n\nThe member's value in buf (a record's bytes) at base."},
    {"set", reinterpret_cast<PyCFunction>(reinterpret_cast<void*>(field_set_method)), METH_FASTCALL,
     "set($self, buf, value, base=0, label=None, /)\n--\n\n"
     "Writes value, converted and range-checked by the member's unit, into buf at base; errors name label."},
    {nullptr, nullptr, 0, nullptr},
};

PyMemberDef field_members[] = {
    {"offset", T_PYSSIZET, offsetof(ScalarFieldObject, offset), READONLY, "byte offset in the record"},
    {"label", T_OBJECT, offsetof(ScalarFieldObject, label), READONLY, "what errors call the member"},
    {"ctype", T_OBJECT, offsetof(ScalarFieldObject, ctype), READONLY, "the member's C type, as declared"},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot field_slots[] = {
    {Py_tp_doc, const_cast<char*>(
        "ScalarField(unit, offset, label, ctype, *, wide=False, enum_class=None, char=False)\n--\n\n"
        "A scalar member of a declared struct: read and written by its marshalling unit, the same "
        "conversion as a declared parameter of that C type. Also the descriptor on the record class.")},
    {Py_tp_new, reinterpret_cast<void*>(field_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(field_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(field_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(field_clear)},
    {Py_tp_methods, field_methods},
    {Py_tp_members, field_members},
    {Py_tp_descr_get, reinterpret_cast<void*>(field_descr_get)},
    {Py_tp_descr_set, reinterpret_cast<void*>(field_descr_set)},
    {Py_tp_repr, reinterpret_cast<void*>(field_repr)},
    {0, nullptr},
};

PyType_Spec field_spec = {
    "wasmffi._core.ScalarField",
    sizeof(ScalarFieldObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    field_slots,
};

}  // namespace

bool init_scalar_field_type(PyObject* module) {
  g_field_type = reinterpret_cast<PyTypeObject*>(PyType_FromModuleAndSpec(module, &field_spec, nullptr));
  if (g_field_type == nullptr) return false;
  return PyModule_AddObjectRef(module, "ScalarField", reinterpret_cast<PyObject*>(g_field_type)) == 0;
}

}  // namespace wasmffi::py
