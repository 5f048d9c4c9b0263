// `_core.Record`: the C base of cdef's record classes (record.hpp).
#include "record.hpp"

#include <structmember.h>

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

}  // namespace wasmffi::py
