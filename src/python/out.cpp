// `_core.Out` (out.hpp).
#include "out.hpp"

#include <structmember.h>

namespace wasmffi::py {

namespace {

PyTypeObject* g_out_type = nullptr;

struct OutObject {
  PyObject_HEAD
  unsigned long long count;
};

OutObject* as_out(PyObject* o) { return reinterpret_cast<OutObject*>(o); }

PyObject* out_new(PyTypeObject* type, PyObject* args, PyObject* kwds) {
  static const char* kw[] = {"count", nullptr};
  PyObject* count;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:out", const_cast<char**>(kw), &count)) return nullptr;
  PyObject* n = PyLong_Check(count) || (!PyFloat_Check(count) && Py_TYPE(count)->tp_as_number != nullptr &&
                                        Py_TYPE(count)->tp_as_number->nb_index != nullptr)
                    ? PyNumber_Index(count)
                    : nullptr;
  if (n == nullptr) {
    if (!PyErr_Occurred() || PyErr_ExceptionMatches(PyExc_TypeError)) {
      PyErr_Clear();
      PyErr_Format(PyExc_TypeError, "out() count must be an int, not %.200s", Py_TYPE(count)->tp_name);
    }
    return nullptr;
  }
  if (_PyLong_Sign(n) < 0) {
    PyErr_Format(PyExc_ValueError, "out() count must be >= 0, not %S", n);
    Py_DECREF(n);
    return nullptr;
  }
  const unsigned long long c = PyLong_AsUnsignedLongLong(n);
  if (c == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();
    PyErr_Format(PyExc_OverflowError, "out() count %S is more than any memory can hold (at most 2**64 - 1)", n);
    Py_DECREF(n);
    return nullptr;
  }
  Py_DECREF(n);
  PyObject* self = type->tp_alloc(type, 0);
  if (self != nullptr) as_out(self)->count = c;
  return self;
}

void out_dealloc(PyObject* o) {
  PyTypeObject* tp = Py_TYPE(o);
  tp->tp_free(o);
  Py_DECREF(tp);
}

PyObject* out_repr(PyObject* o) { return PyUnicode_FromFormat("out(%llu)", as_out(o)->count); }

Py_hash_t out_hash(PyObject* o) {
  const Py_hash_t h = static_cast<Py_hash_t>(as_out(o)->count * 1000003ULL ^ 0x5a17);
  return h == -1 ? -2 : h;
}

PyObject* out_richcompare(PyObject* a, PyObject* b, int op) {
  if (!PyObject_TypeCheck(b, g_out_type) || (op != Py_EQ && op != Py_NE)) Py_RETURN_NOTIMPLEMENTED;
  const bool eq = as_out(a)->count == as_out(b)->count;
  return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

PyObject* out_reduce(PyObject* o, PyObject*) {
  return Py_BuildValue("(O(K))", reinterpret_cast<PyObject*>(Py_TYPE(o)), as_out(o)->count);
}

PyMemberDef out_members[] = {
    {"count", T_ULONGLONG, offsetof(OutObject, count), READONLY, "how many elements the call gets room for"},
    {nullptr, 0, 0, 0, nullptr},
};

PyMethodDef out_methods[] = {
    {"__reduce__", out_reduce, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot out_slots[] = {
    {Py_tp_doc, const_cast<char*>(
        "Out(count)\n--\n\n"
        "The out-marker: `wasmffi.out(n)` passed for a non-const pointer asks wasmffi to allocate `n` "
        "elements of the pointee in guest scratch and return them after the call. `None` means the same "
        "with the declared size (`T name[N]`: N elements; `T *`: one element).")},
    {Py_tp_new, reinterpret_cast<void*>(out_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(out_dealloc)},
    {Py_tp_repr, reinterpret_cast<void*>(out_repr)},
    {Py_tp_hash, reinterpret_cast<void*>(out_hash)},
    {Py_tp_richcompare, reinterpret_cast<void*>(out_richcompare)},
    {Py_tp_members, out_members},
    {Py_tp_methods, out_methods},
    {0, nullptr},
};

// Final (no BASETYPE): the call path trusts the layout of anything that passes its type check.
PyType_Spec out_spec = {"wasmffi._core.Out", sizeof(OutObject), 0, Py_TPFLAGS_DEFAULT, out_slots};

}  // namespace

bool init_out_type(PyObject* module) {
  g_out_type = reinterpret_cast<PyTypeObject*>(PyType_FromModuleAndSpec(module, &out_spec, nullptr));
  if (g_out_type == nullptr) return false;
  return PyModule_AddObjectRef(module, "Out", reinterpret_cast<PyObject*>(g_out_type)) == 0;
}

bool out_count(PyObject* o, uint64_t& count) noexcept {
  if (Py_TYPE(o) != g_out_type) return false;
  count = as_out(o)->count;
  return true;
}

}  // namespace wasmffi::py
