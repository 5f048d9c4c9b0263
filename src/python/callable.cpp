// The type boilerplate every exported-function callable shares (callable.hpp).
#include "callable.hpp"

#include <vector>

namespace wasmffi::py {

PyObject* callable_name(PyObject* o, void*) { return Py_NewRef(reinterpret_cast<CallableHead*>(o)->name); }

PyMemberDef kCallableMembers[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(CallableHead, vectorcall), READONLY, nullptr},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(CallableHead, weakrefs), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyTypeObject* make_callable_type(PyObject* module, const char* attr, PyType_Spec& spec) {
  std::vector<PyType_Slot> slots;
  for (PyType_Slot* s = spec.slots; s->slot != 0; ++s) slots.push_back(*s);
  slots.push_back({Py_tp_call, reinterpret_cast<void*>(PyVectorcall_Call)});
  slots.push_back({Py_tp_members, kCallableMembers});
  slots.push_back({0, nullptr});
  PyType_Spec full = spec;
  full.flags = kCallableFlags;
  full.slots = slots.data();
  auto* type = reinterpret_cast<PyTypeObject*>(PyType_FromModuleAndSpec(module, &full, nullptr));
  if (type == nullptr) return nullptr;
  if (PyModule_AddObjectRef(module, attr, reinterpret_cast<PyObject*>(type)) != 0) {
    Py_DECREF(type);
    return nullptr;
  }
  return type;
}

}  // namespace wasmffi::py
