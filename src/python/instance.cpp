// _Instance: a module instantiated in its own store, and the Python objects for its exports.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string_view.h>

#include <structmember.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "args.hpp"
#include "cfunc.hpp"
#include "store_state.hpp"
#include "binding.hpp"
#include "exports.hpp"
#include "func.hpp"
#include "host.hpp"
#include "store_guard.hpp"
#include "wasi.hpp"

namespace wasmffi::py {

namespace {

// One export as its Python object: Func, Global or Memory (tables/tags: a clear TypeError).
nb::object export_object(nb::handle self, PyInstance& pi, const Export& e) {
  wasmtime_context_t* ctx = pi.inst->context();
  switch (e.kind) {
    case ExternKind::Func: {
      nb::str name(e.name.data(), e.name.size());
      PyObject* f = make_func(self.ptr(), ctx, e.item.of.func, name.ptr());
      if (f == nullptr) throw nb::python_error();
      return nb::steal(f);
    }
    case ExternKind::Global: return make_global(self, ctx, e.item.of.global, e.name);
    case ExternKind::Memory: return make_memory(self, ctx, e.item.of.memory);
    default: {
      std::string msg = "export '" + e.name + "' is a " + extern_kind_name(e.kind) +
                        "; only functions, globals and memories can be used from Python so far";
      PyErr_SetString(PyExc_TypeError, msg.c_str());
      throw nb::python_error();
    }
  }
}

// Instance::create, and once more after a full garbage collection when a pooling engine has no
// free slot: instances in reference cycles (a host function closing over its own instance) hold
// their slots until the cyclic GC runs, and on demand nobody noticed, since such garbage only
// cost memory. With the pool, 1441 such instances in a loop exhausted 100 slots.
template <class Create>
Result<std::unique_ptr<Instance>> create_collecting(Create create) {
  Result<std::unique_ptr<Instance>> r = create();
  if (!r && is_no_free_slot(r.error())) {
    nb::module_::import_("gc").attr("collect")();
    r = create();
  }
  return r;
}

// The per-instance sandbox and threading options of instantiate(), parsed and checked once.
struct StoreOptions {
  std::chrono::nanoseconds timeout{0};
  std::optional<uint64_t> fuel;
  StoreLimits limits;
  bool release_gil = false;
};

// instantiate()'s store options in the order parsed here: timeout, fuel, the five limits of
// StoreLimits (each None or an int), release_gil.
constexpr const char* kOptionNames[] = {"timeout",    "fuel",          "max_memory", "max_table_elements",
                                        "max_instances", "max_tables", "max_memories", "release_gil"};
constexpr size_t kOptionCount = std::size(kOptionNames);
constexpr const char* const* kLimitNames = kOptionNames + 2;
constexpr size_t kLimitCount = 5;

// `who` names the function in messages, e.g. "instantiate()".
StoreOptions parse_store_options(const char* who, nb::handle timeout, nb::handle fuel,
                                 const nb::handle* limits /* kLimitCount of them */, nb::handle release_gil) {
  StoreOptions o;
  const std::string arg = std::string(who) + " argument ";
  if (!timeout.is_none()) {
    const std::string where = arg + "'timeout'";
    if (PyBool_Check(timeout.ptr()) || !(PyFloat_Check(timeout.ptr()) || PyLong_Check(timeout.ptr())))
      bad_argument(PyExc_TypeError, where, "a number of seconds (int or float) or None", timeout);
    const double secs = PyFloat_AsDouble(timeout.ptr());
    if (secs == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      bad_argument(PyExc_ValueError, where, "a finite number of seconds, at most 10**9", timeout);
    }
    if (!(secs > 0) || !std::isfinite(secs) || secs > 1e9) {
      std::string msg = where + " must be a positive, finite number of seconds (at most 10**9), not " +
                        nb::repr(timeout).c_str();
      PyErr_SetString(PyExc_ValueError, msg.c_str());
      throw nb::python_error();
    }
    // At least 1 ns, so that a tiny positive timeout is not "no timeout".
    o.timeout = std::max(std::chrono::nanoseconds{1},
                         std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(secs)));
  }
  if (!fuel.is_none()) o.fuel = parse_u64(fuel, arg + "'fuel'");
  int64_t* fields[] = {&o.limits.memory_size, &o.limits.table_elements, &o.limits.instances, &o.limits.tables,
                       &o.limits.memories};
  for (size_t i = 0; i < kLimitCount; ++i) {
    if (limits[i].is_none()) continue;
    const std::string where = arg + "'" + kLimitNames[i] + "'";
    const uint64_t v = parse_u64(limits[i], where);
    if (v > static_cast<uint64_t>(INT64_MAX)) bad_argument(PyExc_ValueError, where, "at most 2**63-1", limits[i]);
    *fields[i] = static_cast<int64_t>(v);
  }
  o.release_gil = parse_bool(release_gil, arg + "'release_gil'");
  return o;
}

// The same with the limits as _Instance() takes them: None, or a tuple of kLimitCount entries.
StoreOptions parse_store_options(const char* who, nb::handle timeout, nb::handle fuel, nb::handle limits,
                                 nb::handle release_gil) {
  nb::handle each[kLimitCount];
  for (auto& h : each) h = nb::none();
  if (!limits.is_none()) {
    nb::tuple t = nb::cast<nb::tuple>(limits);
    if (t.size() != kLimitCount) throw nb::value_error("_Instance(): limits must have 5 entries");
    for (size_t i = 0; i < kLimitCount; ++i) each[i] = t[i];
  }
  return parse_store_options(who, timeout, fuel, each, release_gil);
}

// Applies the options to a new store, before anything is instantiated in it.
void configure_store(Store& store, const StoreOptions& o, const char* who) {
  if (o.limits.any()) store.set_limits(o.limits);
  if (o.fuel)
    if (auto r = store.set_fuel(*o.fuel); !r) throw_error_in(std::string(who) + " argument 'fuel'", std::move(r).error());
  if (o.timeout.count() != 0)
    if (auto r = store.set_timeout(o.timeout); !r)
      throw_error_in(std::string(who) + " argument 'timeout'", std::move(r).error());
  if (o.release_gil) py_state(store).release_gil = true;
}

// Instantiates `pm` in a new store with its imports: `imports` has one entry per module import,
// in order; a function import's entry is (callable, first_arg or None, "module.name"), built by
// wasmffi._imports (which has already refused anything missing or of the wrong kind); None leaves
// the import to WASI, when `wasi` (a wasmffi.Wasi) is given.
// An entry ("export", _Instance, name) links that instance's export, which must live in the same
// store: `store_of` (an _Instance, or None for a new store) is where a Linker's instances all live.
// The options apply to a new store only: a Linker's instances share the store of its first.
std::unique_ptr<Instance> instantiate(PyModule& pm, nb::handle imports, nb::handle wasi, nb::handle capture,
                                      nb::handle store_of, const StoreOptions& options) {
  const auto& wanted = pm.module->imports();
  std::shared_ptr<Store> store;
  if (store_of.is_none()) {
    store = std::make_shared<Store>(pm.module->engine());
    configure_store(*store, options, "instantiate()");
  } else {
    store = nb::cast<PyInstance&>(store_of).inst->store_shared();
    if (&store->engine() != pm.module->engine().get())
      throw nb::value_error("instantiate(): the module was compiled for another engine than the linker's store");
  }
  std::vector<wasmtime_extern_t> externs(wanted.size());
  std::vector<bool> given(wanted.size(), false);
  if (!imports.is_none()) {
    nb::list items = nb::cast<nb::list>(imports);
    if (items.size() != wanted.size()) throw nb::value_error("_Instance(): one entry per import expected");
    for (size_t i = 0; i < wanted.size(); ++i) {
      if (items[i].is_none()) continue;
      nb::tuple entry = nb::cast<nb::tuple>(items[i]);
      if (entry.size() == 3 && nb::isinstance<nb::str>(entry[0]) && nb::cast<std::string>(entry[0]) == "export") {
        PyInstance& from = nb::cast<PyInstance&>(entry[1]);
        if (&from.inst->store() != store.get())
          throw nb::value_error("instantiate(): a linked instance must live in the same store (use one Linker)");
        const std::string name = nb::cast<std::string>(entry[2]);
        auto e = from.inst->export_get(name);
        if (!e) throw nb::value_error(("instantiate(): the linked instance has no export '" + name + "'").c_str());
        externs[i] = e->item;
        given[i] = true;
        continue;
      }
      if (wanted[i].kind != ExternKind::Func || entry.size() != 3)
        throw nb::type_error("_Instance(): only function imports can be given so far");
      nb::handle first = entry[1];
      Result<wasmtime_func_t> f = make_host_func(*store, *pm.module, i, entry[0].ptr(),
                                                 first.is_none() ? nullptr : first.ptr(), entry[2].ptr());
      if (!f) throw_error(f.error());
      py_state(*store).gil_imports = true;
      externs[i].kind = WASMTIME_EXTERN_FUNC;
      externs[i].of.func = *f;
      given[i] = true;
    }
  }
  if (!wasi.is_none()) {
    // A Linker's store gets its WASI context with its first instance; later ones share it.
    wasi_config_t* config = store_of.is_none() ? make_wasi_config(wasi, nb::cast<WasiCapture&>(capture)) : nullptr;
    if (Result<void> r = attach_wasi(*store, config, externs, *pm.module, given); !r) throw_error(r.error());
  } else {
    for (size_t i = 0; i < wanted.size(); ++i)
      if (!given[i]) throw nb::value_error("_Instance(): an import was left unresolved");
  }
  if (const PyStoreState* st = find_py_state(*store); st != nullptr && st->release_gil && st->gil_imports)
    throw nb::value_error(
        "instantiate(): release_gil=True cannot be used with Python host functions (imports): they run Python "
        "code, which needs the GIL in the middle of a call; release the GIL per function instead with "
        "Func.typed(release_gil=True) on an instance without Python imports");
  // The start function, if any, is a call like any other: the timeout counts it.
  store->begin_call();
  Result<std::unique_ptr<Instance>> r = create_collecting([&] { return Instance::create(pm.module, store, externs); });
  store->end_call();
  if (!r && store->limits().any() && r.error().kind != ErrorKind::Trap &&
      r.error().message.find("limit") != std::string::npos) {
    // wasmtime says "exceeds memory limits" without the limit: name the ones this store has. A
    // resource refused, so ResourceError (a MemoryError), not LinkError (an import problem).
    Error e = std::move(r).error();
    e.kind = ErrorKind::Resource;
    e.message += " (this instance's limits: " + store->limits().to_string() + ")";
    r = std::move(e);
  }
  // Without imports no host function can have raised: the error as it is (no "instantiate()" prefix).
  if (!r && store_of.is_none() && wasi.is_none() && (imports.is_none() || wanted.empty())) throw_error(r.error());
  if (!r) {
    // A host function that raised in the start function: its own exception, the trap as cause.
    raise_call_error(store->context(), r.error(), nb::str("instantiate").ptr());
    throw nb::python_error();
  }
  return std::move(r).value();
}

// Sets the guest allocator (`allocator` as _Instance.bind_marshalling takes it) and the memory
// declared functions copy into (the export `memory`, if it is a memory).
void bind_marshalling(PyInstance& pi, std::string_view allocator, std::optional<std::string_view> memory) {
  std::optional<GuestMemory> mem;
  if (memory) {
    auto e = pi.inst->export_get(*memory);
    if (e && e->kind == ExternKind::Memory) mem.emplace(pi.inst->context(), e->item.of.memory);
  }
  auto a = GuestAllocator::find(*pi.inst, allocator, mem && mem->is64());
  if (!a) throw_error(a.error());
  pi.alloc = std::move(a).value();
  pi.mem = std::move(mem);
}

// --- Module.instantiate: the plain case in C ----------------------------------------------------
// A sandbox per request pays for instantiation on every request, so module.instantiate() with no
// argument (and a module without imports) is done here in one C call: the store and instance, the
// _Instance, its Exports and the wasmffi.Instance, whose __slots__ are written at their offsets.
// Every other call goes to the Python method it wraps (wasmffi._api.Module.instantiate).
// Measured on the bench lifecycle guest: Python building the same objects (a method with twelve
// keyword defaults to check, Instance.__new__, _setup writing six slots) cost about 1 us of 3.7.

// wasmffi.Module's and wasmffi.Instance's classes and the offsets of the slots read and written
// here, from their member descriptors: registered by _core._register_types once, as
// wasmffi._api is imported (and never changed after, so no lock). A slot renamed in _api fails
// that registration, not a later instantiation.
struct PlainLayout {
  PyTypeObject* module_type = nullptr;
  Py_ssize_t m = 0, export_names = 0, export_name_set = 0, plain_memory = 0;
  PyTypeObject* instance_type = nullptr;
  Py_ssize_t module = 0, core = 0, exports = 0, raw_exports = 0, cdef = 0;
};
PlainLayout g_plain;

// The keywords the C path takes: the store options (a sandbox per request sets its limits on
// every instantiation), kOptionNames interned once by _register_types.
PyObject* g_option_names[kOptionCount] = {};

Py_ssize_t slot_offset(PyTypeObject* type, const char* name) {
  PyObject* d = PyDict_GetItemString(type->tp_dict, name);  // borrowed
  const std::string where = std::string("_register_types(): ") + type->tp_name;
  if (d == nullptr || Py_TYPE(d) != &PyMemberDescr_Type)
    throw nb::type_error((where + " has no slot '" + name + "'").c_str());
  const PyMemberDef* member = reinterpret_cast<PyMemberDescrObject*>(d)->d_member;
  if (member->type != T_OBJECT_EX || (member->flags & READONLY))
    throw nb::type_error((where + "." + name + " is not a writable object slot").c_str());
  return member->offset;
}

void register_types(nb::handle module_cls, nb::handle instance_cls) {
  if (!PyType_Check(module_cls.ptr()) || !PyType_Check(instance_cls.ptr()))
    throw nb::type_error("_register_types(): expects the Module and Instance classes");
  auto* mt = reinterpret_cast<PyTypeObject*>(module_cls.ptr());
  auto* it = reinterpret_cast<PyTypeObject*>(instance_cls.ptr());
  PlainLayout l;
  l.m = slot_offset(mt, "_m");
  l.export_names = slot_offset(mt, "_export_names");
  l.export_name_set = slot_offset(mt, "_export_name_set");
  l.plain_memory = slot_offset(mt, "_plain_memory");
  l.module = slot_offset(it, "module");
  l.core = slot_offset(it, "_i");
  l.exports = slot_offset(it, "exports");
  l.raw_exports = slot_offset(it, "raw_exports");
  l.cdef = slot_offset(it, "cdef");
  for (size_t i = 0; i < kOptionCount; ++i) {
    if (g_option_names[i] != nullptr) continue;
    g_option_names[i] = PyUnicode_InternFromString(kOptionNames[i]);  // for the process's life
    if (g_option_names[i] == nullptr) throw nb::python_error();
  }
  // Kept for the process's life (a registration made again replaces the classes).
  l.module_type = reinterpret_cast<PyTypeObject*>(Py_NewRef(mt));
  l.instance_type = reinterpret_cast<PyTypeObject*>(Py_NewRef(it));
  PlainLayout old = std::exchange(g_plain, l);
  Py_XDECREF(old.module_type);
  Py_XDECREF(old.instance_type);
}

PyObject*& slot_at(PyObject* obj, Py_ssize_t offset) {
  return *reinterpret_cast<PyObject**>(reinterpret_cast<char*>(obj) + offset);
}

// The wasmffi.Instance of `module` (a wasmffi.Module whose _plain_memory is None or a str), as
// Instance._setup builds it with allocator="auto" and no cdef, in a store with `options`.
PyObject* instantiate_plain(PyObject* module, const StoreOptions& options) {
  const PlainLayout& l = g_plain;
  PyObject* core_module = slot_at(module, l.m);
  PyObject* names = slot_at(module, l.export_names);
  PyObject* name_set = slot_at(module, l.export_name_set);
  PyObject* memory = slot_at(module, l.plain_memory);
  if (core_module == nullptr || names == nullptr || name_set == nullptr || !nb::isinstance<PyModule>(core_module)) {
    PyErr_SetString(PyExc_TypeError, "Module.instantiate(): the Module is not initialised");
    return nullptr;
  }
  try {
    PyModule& pm = *nb::inst_ptr<PyModule>(core_module);
    std::unique_ptr<Instance> inst = instantiate(pm, nb::none(), nb::none(), nb::none(), nb::none(), options);
    nb::object core = nb::inst_alloc(nb::type<PyInstance>());
    new (nb::inst_ptr<PyInstance>(core)) PyInstance{std::move(inst), GuestAllocator{}, std::nullopt, nb::none()};
    nb::inst_mark_ready(core);
    if (PyUnicode_Check(memory))  // the module exports an allocator for "auto" to bind
      bind_marshalling(*nb::inst_ptr<PyInstance>(core), "auto", nb::cast<std::string_view>(nb::handle(memory)));
    nb::object exports = nb::steal(make_exports(core.ptr(), names, name_set));
    if (!exports) throw nb::python_error();
    PyObject* self = l.instance_type->tp_alloc(l.instance_type, 0);  // slots zeroed (unset)
    if (self == nullptr) throw nb::python_error();
    slot_at(self, l.module) = Py_NewRef(module);
    slot_at(self, l.core) = core.release().ptr();
    slot_at(self, l.raw_exports) = Py_NewRef(exports.ptr());
    slot_at(self, l.exports) = exports.release().ptr();
    slot_at(self, l.cdef) = Py_NewRef(Py_None);
    return self;
  } catch (nb::python_error& e) {
    e.restore();
  } catch (const std::exception& e) {  // nb::cast_error, bad_alloc: never expected, never fatal
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

// _core._Instantiate(function): what wasmffi.Module.instantiate is. A method descriptor (like a
// Python function: Py_TPFLAGS_METHOD_DESCRIPTOR, so `module.instantiate()` calls it without a
// bound method object) whose vectorcall takes the plain case itself and hands every other call,
// unchanged, to `function`, the Python method. Other attributes (__doc__, __wrapped__ for
// inspect.signature, __name__, ...) are the function's.
struct InstantiateObject {
  PyObject_HEAD
  PyObject* function;
  vectorcallfunc vectorcall;
};

int option_index(PyObject* name) {
  for (size_t i = 0; i < kOptionCount; ++i)  // interned: the same object, as a rule
    if (name == g_option_names[i]) return static_cast<int>(i);
  for (size_t i = 0; i < kOptionCount; ++i)  // (keyword names are str: no comparison fails)
    if (PyUnicode_Compare(name, g_option_names[i]) == 0) return static_cast<int>(i);
  return -1;
}

PyObject* instantiate_vectorcall(PyObject* callable, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  auto* self = reinterpret_cast<InstantiateObject*>(callable);
  const Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  // The plain case: module.instantiate(), with store options at most, on a wasmffi.Module (not a
  // subclass, whose layout or method may differ) whose instantiation needs no imports
  // (_plain_memory is not False).
  if (nargs == 1 && Py_TYPE(args[0]) == g_plain.module_type) [[likely]] {
    PyObject* memory = slot_at(args[0], g_plain.plain_memory);
    if (memory != nullptr && memory != Py_False) {
      if (kwnames == nullptr) [[likely]]
        return instantiate_plain(args[0], StoreOptions{});
      nb::handle given[kOptionCount];
      for (auto& h : given) h = nb::none();
      given[kOptionCount - 1] = Py_False;
      bool options_only = true;
      for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(kwnames) && options_only; ++k) {
        const int i = option_index(PyTuple_GET_ITEM(kwnames, k));
        options_only = i >= 0;
        if (options_only) given[i] = args[nargs + k];
      }
      if (options_only) {
        try {
          const StoreOptions options =
              parse_store_options("instantiate()", given[0], given[1], given + 2, given[kOptionCount - 1]);
          return instantiate_plain(args[0], options);
        } catch (nb::python_error& e) {
          e.restore();
        } catch (const std::exception& e) {  // bad_alloc: never expected, never fatal
          PyErr_SetString(PyExc_RuntimeError, e.what());
        }
        return nullptr;
      }
    }
  }
  return PyObject_Vectorcall(self->function, args, nargsf, kwnames);
}

PyObject* instantiate_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  PyObject* function = nullptr;
  if (!PyArg_ParseTuple(args, "O:_Instantiate", &function)) return nullptr;
  if ((kwargs != nullptr && PyDict_GET_SIZE(kwargs) != 0) || !PyCallable_Check(function)) {
    PyErr_SetString(PyExc_TypeError, "_Instantiate() takes one callable (the Python method)");
    return nullptr;
  }
  auto* self = reinterpret_cast<InstantiateObject*>(type->tp_alloc(type, 0));
  if (self == nullptr) return nullptr;
  self->function = Py_NewRef(function);
  self->vectorcall = instantiate_vectorcall;
  return reinterpret_cast<PyObject*>(self);
}

void instantiate_dealloc(PyObject* o) {
  PyObject_GC_UnTrack(o);
  Py_CLEAR(reinterpret_cast<InstantiateObject*>(o)->function);
  PyTypeObject* type = Py_TYPE(o);
  type->tp_free(o);
  Py_DECREF(type);
}

int instantiate_traverse(PyObject* o, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(o));
  Py_VISIT(reinterpret_cast<InstantiateObject*>(o)->function);
  return 0;
}

// As a function: the unbound method on the class, a bound method on an instance.
PyObject* instantiate_descr_get(PyObject* self, PyObject* obj, PyObject*) {
  if (obj == nullptr || obj == Py_None) return Py_NewRef(self);
  return PyMethod_New(self, obj);
}

PyObject* instantiate_getattro(PyObject* self, PyObject* name) {
  // The method's own docstring (help(), inspect), not the type's.
  if (PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, "__doc__") == 0)
    return PyObject_GetAttr(reinterpret_cast<InstantiateObject*>(self)->function, name);
  PyObject* r = PyObject_GenericGetAttr(self, name);
  if (r != nullptr || !PyErr_ExceptionMatches(PyExc_AttributeError)) return r;
  PyErr_Clear();
  return PyObject_GetAttr(reinterpret_cast<InstantiateObject*>(self)->function, name);
}

PyObject* instantiate_wrapped(PyObject* self, void*) {
  return Py_NewRef(reinterpret_cast<InstantiateObject*>(self)->function);
}

PyObject* instantiate_repr(PyObject* self) {
  return PyUnicode_FromFormat("<wasmffi instantiate method wrapping %R>",
                              reinterpret_cast<InstantiateObject*>(self)->function);
}

PyGetSetDef instantiate_getset[] = {
    {"__wrapped__", instantiate_wrapped, nullptr, "The Python method every call but the plain one goes to.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

PyMemberDef instantiate_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(InstantiateObject, vectorcall), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr}};

PyType_Slot instantiate_type_slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(instantiate_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(instantiate_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(instantiate_traverse)},
    {Py_tp_call, reinterpret_cast<void*>(PyVectorcall_Call)},
    {Py_tp_descr_get, reinterpret_cast<void*>(instantiate_descr_get)},
    {Py_tp_getattro, reinterpret_cast<void*>(instantiate_getattro)},
    {Py_tp_repr, reinterpret_cast<void*>(instantiate_repr)},
    {Py_tp_getset, instantiate_getset},
    {Py_tp_doc, const_cast<char*>("Module.instantiate: the plain case in C, the rest through the Python method.")},
    {Py_tp_members, instantiate_members},
    {0, nullptr}};

PyType_Spec instantiate_type_spec = {
    "wasmffi._core._Instantiate", sizeof(InstantiateObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    instantiate_type_slots};

// The import entries (callables, Callers, linked instances) are reachable from the instance: a
// host function that closes over its own instance is a cycle the GC must see to collect. No
// tp_clear, as with Func: the store's host functions use these until the instance is freed, and
// the collector breaks such cycles at the other objects in them (closures, dicts).
int instance_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  if (!nb::inst_ready(self)) return 0;
  Py_VISIT(nb::inst_ptr<PyInstance>(self)->refs.ptr());
  return 0;
}

PyType_Slot instance_slots[] = {{Py_tp_traverse, reinterpret_cast<void*>(instance_traverse)}, {0, nullptr}};

}  // namespace

PyObject* resolve_export(PyObject* instance, PyObject* name) {
  try {
    nb::handle self(instance);
    PyInstance& pi = nb::cast<PyInstance&>(self);
    Py_ssize_t len = 0;
    const char* utf8 = PyUnicode_AsUTF8AndSize(name, &len);
    if (utf8 == nullptr) return nullptr;
    auto e = pi.inst->export_get(std::string_view(utf8, static_cast<size_t>(len)));
    if (!e) return PyErr_Format(PyExc_KeyError, "no export named %R", name);
    return export_object(self, pi, *e).release().ptr();
  } catch (nb::python_error& err) {
    err.restore();
  } catch (const std::exception& err) {
    PyErr_SetString(PyExc_RuntimeError, err.what());
  }
  return nullptr;
}

void bind_instance(nb::module_& m) {
  nb::class_<PyInstance>(m, "_Instance", nb::is_weak_referenceable(), nb::type_slots(instance_slots))
      .def(
          "__init__",
          [](PyInstance* self, PyModule& pm, nb::handle imports, nb::handle wasi, nb::handle capture,
             nb::handle store_of, nb::handle timeout, nb::handle fuel, nb::handle limits, nb::handle release_gil) {
            const StoreOptions options = parse_store_options("instantiate()", timeout, fuel, limits, release_gil);
            auto inst = instantiate(pm, imports, wasi, capture, store_of, options);
            new (self) PyInstance{std::move(inst), GuestAllocator{}, std::nullopt, nb::borrow(imports)};
          },
          nb::arg("module"), nb::arg("imports").none() = nb::none(), nb::arg("wasi").none() = nb::none(),
          nb::arg("capture").none() = nb::none(), nb::arg("store_of").none() = nb::none(),
          nb::arg("timeout").none() = nb::none(), nb::arg("fuel").none() = nb::none(),
          nb::arg("limits").none() = nb::none(), nb::arg("release_gil").none() = nb::bool_(false))
      .def(
          "exports",
          [](nb::handle self, nb::tuple names, nb::frozenset name_set) {
            PyObject* ex = make_exports(self.ptr(), names.ptr(), name_set.ptr());
            if (ex == nullptr) throw nb::python_error();
            return nb::steal(ex);
          },
          nb::arg("names"), nb::arg("name_set"),
          "A new Exports mapping over this instance (names: the module's export names, built once per Module).")
      .def_prop_rw(
          "fuel",
          [](PyInstance& pi) {
            StoreEntry entry(pi.inst->context());  // not while another thread is inside the store
            if (!entry) throw nb::python_error();
            Result<uint64_t> r = pi.inst->store().fuel();
            if (!r) throw_error_in("Instance.fuel", std::move(r).error());
            return *r;
          },
          [](PyInstance& pi, nb::handle value) {
            const uint64_t fuel = parse_u64(value, "Instance.fuel");
            StoreEntry entry(pi.inst->context());
            if (!entry) throw nb::python_error();
            if (auto r = pi.inst->store().set_fuel(fuel); !r) throw_error_in("Instance.fuel", std::move(r).error());
          },
          nb::for_setter(nb::arg("value").none()))
      .def(
          "set_epoch_deadline",
          [](PyInstance& pi, nb::handle ticks) {
            const uint64_t t = parse_u64(ticks, "Instance.set_epoch_deadline() argument 'ticks'");
            StoreEntry entry(pi.inst->context());
            if (!entry) throw nb::python_error();
            if (auto r = pi.inst->store().set_epoch_deadline(t); !r)
              throw_error_in("Instance.set_epoch_deadline()", std::move(r).error());
          },
          nb::arg("ticks").none())
      .def(
          "bind_marshalling",
          [](PyInstance& pi, std::string_view allocator, std::optional<std::string_view> memory) {
            bind_marshalling(pi, allocator, memory);
          },
          nb::arg("allocator"), nb::arg("memory").none(),
          "Chooses the guest allocator ('auto', 'bump', 'malloc', 'cabi_realloc' or 'none') and the memory "
          "declared functions copy into.")
      .def_prop_ro("allocator", [](PyInstance& pi) { return allocator_kind_name(pi.alloc.kind()); })
      .def_prop_ro("release_gil",
                   [](PyInstance& pi) {
                     const PyStoreState* st = find_py_state(pi.inst->store());
                     return st != nullptr && st->release_gil;
                   })
      .def_prop_ro("timeout",
                   [](PyInstance& pi) -> nb::object {
                     const auto t = pi.inst->store().timeout();
                     if (t.count() == 0) return nb::none();
                     return nb::float_(std::chrono::duration<double>(t).count());
                   })
      .def(
          "cfunc",
          [](nb::handle self, nb::str name, nb::handle raw, nb::handle plan, nb::handle spec, nb::handle out_type) {
            PyInstance& pi = nb::cast<PyInstance&>(self);
            auto e = pi.inst->export_get(name.c_str());
            if (!e || e->kind != ExternKind::Func) throw nb::value_error("cfunc(): no such function export");
            PyObject* f = make_cfunc(self.ptr(), pi.inst->context(), e->item.of.func, &pi.alloc, &pi.mem,
                                     raw.ptr(), plan.ptr(), spec.ptr(), out_type.ptr());
            if (f == nullptr) throw nb::python_error();
            return nb::steal(f);
          },
          nb::arg("name"), nb::arg("raw"), nb::arg("plan"), nb::arg("spec"), nb::arg("out_type"),
          "A declared function (see python/wasmffi/_marshal.py).")
      .def(
          "guest_alloc",
          [](PyInstance& pi, nb::handle n) {
            auto r = pi.alloc.alloc(pi.inst->context(), parse_u64(n, "Scratch.alloc() argument 'size'"));
            if (!r) throw_error_in("Scratch.alloc()", std::move(r).error());
            return *r;
          },
          nb::arg("size").none())
      .def("guest_free",
           [](PyInstance& pi, uint64_t addr) {
             if (auto r = pi.alloc.free(pi.inst->context(), addr); !r) throw_error_in("Scratch", std::move(r).error());
           })
      .def_prop_ro("guest_has_mark", [](PyInstance& pi) { return pi.alloc.has_mark(); })
      .def("guest_mark",
           [](PyInstance& pi) {
             auto r = pi.alloc.mark(pi.inst->context());
             if (!r) throw_error_in("Scratch", std::move(r).error());
             return *r;
           })
      .def("guest_release", [](PyInstance& pi, uint64_t m) {
        if (auto r = pi.alloc.release_to(pi.inst->context(), m); !r) throw_error_in("Scratch", std::move(r).error());
      });
  m.def("_register_types", &register_types, nb::arg("module_cls"), nb::arg("instance_cls"),
        "Tells _Instantiate the wasmffi.Module and wasmffi.Instance classes whose slots it reads and fills.");
  PyObject* instantiate_type = PyType_FromSpec(&instantiate_type_spec);
  if (instantiate_type == nullptr) throw nb::python_error();
  m.attr("_Instantiate") = nb::steal(instantiate_type);
}

}  // namespace wasmffi::py
