// wasmffi.Exports: `inst.exports.NAME` and `inst.exports["NAME"]`. A C type, so that once an export
// has been resolved both spellings cost one dict lookup (a Python class with __getattr__ pays a
// failed normal lookup and a Python-level call on every access: 12x the cost of the call itself).
#include "exports.hpp"

namespace wasmffi::py {

namespace {

// How many names an error message or repr lists: enough to spot a typo, never thousands.
constexpr Py_ssize_t kNamesShown = 10;

struct ExportsObject {
  PyObject_HEAD
  // dict: name -> Func/Global/Memory, filled on first access of each name. Made on the first
  // one (NULL until then): a sandbox per request that calls nothing by name pays no dict.
  PyObject* resolved;
  PyObject* instance;  // the _Instance whose store every resolved object uses
  PyObject* names;     // tuple of export names in module order (shared with the Module)
  PyObject* name_set;  // frozenset of the same names, for O(1) `in` and lookups of unknown names
  // The last name looked up and its object, per spelling (an attribute cache may never answer
  // for a dunder that only [] may reach). A loop calling `inst.exports.add(...)` passes the same
  // interned str every time, so a pointer compare replaces the dict lookup: about half of what
  // the lookup cost under callgrind.
  PyObject* last_attr_name;
  PyObject* last_attr;
  PyObject* last_item_name;
  PyObject* last_item;
};

PyTypeObject* g_exports_type = nullptr;

ExportsObject* as_exports(PyObject* o) { return reinterpret_cast<ExportsObject*>(o); }

// `__x__` names belong to Python's protocols (copy, pickle, numpy, IPython probe them), so they
// are never looked up as exports through attributes; `exports["__x__"]` still reaches them.
bool is_dunder(PyObject* name) {
  Py_ssize_t n = PyUnicode_GET_LENGTH(name);
  return n >= 4 && PyUnicode_READ_CHAR(name, 0) == '_' && PyUnicode_READ_CHAR(name, 1) == '_' &&
         PyUnicode_READ_CHAR(name, n - 1) == '_' && PyUnicode_READ_CHAR(name, n - 2) == '_';
}

// "a, b, c" for the first kNamesShown names, then "... (N more)".
PyObject* names_preview(ExportsObject* self) {
  Py_ssize_t n = PyTuple_GET_SIZE(self->names);
  if (n == 0) return PyUnicode_FromString("(none)");
  Py_ssize_t shown = n < kNamesShown ? n : kNamesShown;
  PyObject* head = PyTuple_GetSlice(self->names, 0, shown);
  if (head == nullptr) return nullptr;
  PyObject* sep = PyUnicode_FromString(", ");
  PyObject* joined = sep ? PyUnicode_Join(sep, head) : nullptr;
  Py_XDECREF(sep);
  Py_DECREF(head);
  if (joined == nullptr || shown == n) return joined;
  PyObject* out = PyUnicode_FromFormat("%U, ... (%zd more)", joined, n - shown);
  Py_DECREF(joined);
  return out;
}

PyObject* missing(ExportsObject* self, PyObject* name, PyObject* exc_type) {
  PyObject* preview = names_preview(self);
  if (preview == nullptr) return nullptr;
  PyObject* msg = PyUnicode_FromFormat("no export named %R; the module's %zd export%s: %U", name,
                                       PyTuple_GET_SIZE(self->names),
                                       PyTuple_GET_SIZE(self->names) == 1 ? " is" : "s are", preview);
  Py_DECREF(preview);
  if (msg == nullptr) return nullptr;
  PyErr_SetObject(exc_type, msg);
  Py_DECREF(msg);
  return nullptr;
}

void remember(PyObject** name_slot, PyObject** obj_slot, PyObject* name, PyObject* obj) {
  Py_INCREF(name);
  Py_INCREF(obj);
  Py_XSETREF(*name_slot, name);
  Py_XSETREF(*obj_slot, obj);
}

// First access of a listed name: build its object once and keep it, so later accesses (and the
// other spelling) return the very same object.
// The dict of resolved exports, made on first use; NULL with an exception set on failure.
PyObject* resolved_dict(ExportsObject* self) {
  if (self->resolved == nullptr) self->resolved = PyDict_New();
  return self->resolved;
}

PyObject* resolve(ExportsObject* self, PyObject* name) {
  PyObject* obj = resolve_export(self->instance, name);
  if (obj == nullptr) return nullptr;
  PyObject* dict = resolved_dict(self);
  if (dict == nullptr || PyDict_SetItem(dict, name, obj) < 0) {
    Py_DECREF(obj);
    return nullptr;
  }
  return obj;
}

// The export `name` (a str): resolved once and kept in `resolved`; an unknown name raises
// `missing_exc`. The result is also remembered in the caller's one-entry cache (last_*).
PyObject* lookup(ExportsObject* self, PyObject* name, PyObject* missing_exc, PyObject** last_name,
                 PyObject** last_obj) {
  PyObject* hit = self->resolved == nullptr ? nullptr : PyDict_GetItemWithError(self->resolved, name);
  if (hit == nullptr) {
    if (PyErr_Occurred()) return nullptr;
    int listed = PySet_Contains(self->name_set, name);
    if (listed < 0) return nullptr;
    if (!listed) return missing(self, name, missing_exc);
    PyObject* obj = resolve(self, name);
    if (obj != nullptr) remember(last_name, last_obj, name, obj);
    return obj;
  }
  remember(last_name, last_obj, name, hit);
  return Py_NewRef(hit);
}

PyObject* exports_getattro(PyObject* o, PyObject* name) {
  ExportsObject* self = as_exports(o);
  if (name == self->last_attr_name) [[likely]]
    return Py_NewRef(self->last_attr);
  // The type defines no attribute without underscores on both sides, so an export is all there
  // is to find for such a name.
  if (!is_dunder(name)) [[likely]]
    return lookup(self, name, PyExc_AttributeError, &self->last_attr_name, &self->last_attr);
  PyObject* r = PyObject_GenericGetAttr(o, name);
  if (r == nullptr && PyErr_ExceptionMatches(PyExc_AttributeError) && PySet_Contains(self->name_set, name) == 1) {
    PyErr_Clear();
    PyErr_Format(PyExc_AttributeError,
                 "%R is an export, but names of the form __x__ are Python's: use exports[%R]", name, name);
  }
  return r;
}

// Attributes cannot be set: exports are fixed by the module.
int exports_setattro(PyObject*, PyObject* name, PyObject*) {
  PyErr_Format(PyExc_AttributeError, "exports are read-only: cannot set or delete %R", name);
  return -1;
}

PyObject* exports_subscript(PyObject* o, PyObject* key) {
  ExportsObject* self = as_exports(o);
  if (key == self->last_item_name) [[likely]]
    return Py_NewRef(self->last_item);
  if (!PyUnicode_Check(key)) [[unlikely]]
    return PyErr_Format(PyExc_TypeError, "export names are str, not %s", Py_TYPE(key)->tp_name);
  return lookup(self, key, PyExc_KeyError, &self->last_item_name, &self->last_item);
}

int exports_ass_subscript(PyObject*, PyObject* key, PyObject*) {
  PyErr_Format(PyExc_TypeError, "exports are read-only: cannot set or delete [%R]", key);
  return -1;
}

Py_ssize_t exports_length(PyObject* o) { return PyTuple_GET_SIZE(as_exports(o)->names); }

int exports_contains(PyObject* o, PyObject* key) {
  if (!PyUnicode_Check(key)) return 0;  // names are str: anything else is simply not one
  return PySet_Contains(as_exports(o)->name_set, key);
}

PyObject* exports_iter(PyObject* o) { return PyObject_GetIter(as_exports(o)->names); }

// What tab completion should offer: the names reachable as attributes.
PyObject* exports_dir(PyObject* o, PyObject*) {
  ExportsObject* self = as_exports(o);
  PyObject* out = PyList_New(0);
  if (out == nullptr) return nullptr;
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(self->names); ++i) {
    PyObject* name = PyTuple_GET_ITEM(self->names, i);
    if (is_dunder(name) || !PyUnicode_IsIdentifier(name)) continue;
    if (PyList_Append(out, name) < 0) {
      Py_DECREF(out);
      return nullptr;
    }
  }
  return out;
}

PyObject* exports_repr(PyObject* o) {
  PyObject* preview = names_preview(as_exports(o));
  if (preview == nullptr) return nullptr;
  PyObject* out = PyUnicode_FromFormat("<wasmffi.Exports %U>", preview);
  Py_DECREF(preview);
  return out;
}

int exports_traverse(PyObject* o, visitproc visit, void* arg) {
  ExportsObject* self = as_exports(o);
  Py_VISIT(self->resolved);
  Py_VISIT(self->instance);
  Py_VISIT(self->last_attr);
  Py_VISIT(self->last_item);
  Py_VISIT(Py_TYPE(o));
  return 0;
}

// No tp_clear, like Func: nothing an Exports refers to (its _Instance, and objects that refer
// only to that _Instance) can refer back to it, so it is never part of a cycle.
void exports_dealloc(PyObject* o) {
  ExportsObject* self = as_exports(o);
  PyTypeObject* tp = Py_TYPE(o);
  PyObject_GC_UnTrack(o);
  Py_CLEAR(self->resolved);
  Py_CLEAR(self->instance);
  Py_CLEAR(self->names);
  Py_CLEAR(self->name_set);
  Py_CLEAR(self->last_attr_name);
  Py_CLEAR(self->last_attr);
  Py_CLEAR(self->last_item_name);
  Py_CLEAR(self->last_item);
  tp->tp_free(o);
  Py_DECREF(tp);
}

PyMethodDef exports_methods[] = {
    {"__dir__", exports_dir, METH_NOARGS, "The export names usable as attributes."},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot exports_slots[] = {
    {Py_tp_doc, const_cast<char*>(
        "The exports of an Instance: ``exports.NAME`` or ``exports[\"NAME\"]`` (the same object, built\n"
        "once and cached), ``\"NAME\" in exports``, ``len(exports)``, iteration over the names in\n"
        "module order. Names that are not identifiers, or of the form __x__, are reachable with [].")},
    {Py_tp_getattro, reinterpret_cast<void*>(exports_getattro)},
    {Py_tp_setattro, reinterpret_cast<void*>(exports_setattro)},
    {Py_mp_subscript, reinterpret_cast<void*>(exports_subscript)},
    {Py_mp_ass_subscript, reinterpret_cast<void*>(exports_ass_subscript)},
    {Py_mp_length, reinterpret_cast<void*>(exports_length)},
    {Py_sq_length, reinterpret_cast<void*>(exports_length)},
    {Py_sq_contains, reinterpret_cast<void*>(exports_contains)},
    {Py_tp_iter, reinterpret_cast<void*>(exports_iter)},
    {Py_tp_repr, reinterpret_cast<void*>(exports_repr)},
    {Py_tp_methods, exports_methods},
    {Py_tp_traverse, reinterpret_cast<void*>(exports_traverse)},
    {Py_tp_dealloc, reinterpret_cast<void*>(exports_dealloc)},
    {0, nullptr},
};

PyType_Spec exports_spec = {
    "wasmffi.Exports",
    sizeof(ExportsObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    exports_slots,
};

}  // namespace

bool init_exports_type(PyObject* module) {
  g_exports_type = reinterpret_cast<PyTypeObject*>(PyType_FromModuleAndSpec(module, &exports_spec, nullptr));
  if (g_exports_type == nullptr) return false;
  return PyModule_AddObjectRef(module, "Exports", reinterpret_cast<PyObject*>(g_exports_type)) == 0;
}

PyObject* make_exports(PyObject* instance, PyObject* names, PyObject* name_set) {
  if (!PyTuple_Check(names) || !PyFrozenSet_Check(name_set))
    return PyErr_Format(PyExc_TypeError, "make_exports(): names must be a tuple and name_set a frozenset");
  auto* self = PyObject_GC_New(ExportsObject, g_exports_type);
  if (self == nullptr) return nullptr;
  self->resolved = nullptr;
  self->instance = Py_NewRef(instance);
  self->names = Py_NewRef(names);
  self->name_set = Py_NewRef(name_set);
  self->last_attr_name = self->last_attr = self->last_item_name = self->last_item = nullptr;
  PyObject_GC_Track(self);
  return reinterpret_cast<PyObject*>(self);
}

bool exports_declare(PyObject* exports, PyObject* name, PyObject* obj) {
  if (Py_TYPE(exports) != g_exports_type || !PyUnicode_Check(name)) {
    PyErr_SetString(PyExc_TypeError, "exports_declare(): expects an Exports and a str name");
    return false;
  }
  ExportsObject* self = as_exports(exports);
  if (PySet_Contains(self->name_set, name) != 1) {
    if (!PyErr_Occurred()) PyErr_Format(PyExc_KeyError, "no export named %R", name);
    return false;
  }
  // Forget the one-entry caches: they may hold the undeclared object for this name.
  Py_CLEAR(self->last_attr_name);
  Py_CLEAR(self->last_attr);
  Py_CLEAR(self->last_item_name);
  Py_CLEAR(self->last_item);
  PyObject* dict = resolved_dict(self);
  return dict != nullptr && PyDict_SetItem(dict, name, obj) == 0;
}

}  // namespace wasmffi::py
