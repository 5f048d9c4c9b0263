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
#include "instance_impl.hpp"
#include "store_options.hpp"
#include "cfunc.hpp"
#include "store_state.hpp"
#include "binding.hpp"
#include "exports.hpp"
#include "func.hpp"
#include "host.hpp"
#include "plan.hpp"
#include "store_guard.hpp"
#include "cancel.hpp"
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

}  // namespace

// Instantiates `pm` in a new store with its imports: `imports` has one entry per module import,
// in order; a function import's entry is (callable, first_arg or None, "module.name"), or for a
// cdef-declared import (callable, first_arg or None, "module.name", DeclPlan, memory export name
// or None) (host_plan.cpp), built by wasmffi._imports (which has already refused
// anything missing or of the wrong kind); None leaves the import to WASI, when `wasi` (a
// wasmffi.Wasi) is given.
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
      if (wanted[i].kind != ExternKind::Func || (entry.size() != 3 && entry.size() != 5))
        throw nb::type_error("_Instance(): only function imports can be given so far");
      nb::handle first = entry[1];
      PyObject* first_arg = first.is_none() ? nullptr : first.ptr();
      Result<wasmtime_func_t> f = [&] {
        if (entry.size() == 3) return make_host_func(*store, *pm.module, i, entry[0].ptr(), first_arg, entry[2].ptr());
        // A declared import: (callable, first, name, DeclPlan, memory export or None).
        const DeclPlan* plan = plan_of(entry[3].ptr());
        if (plan == nullptr) throw nb::python_error();
        const std::string memory = entry[4].is_none() ? std::string() : nb::cast<std::string>(entry[4]);
        return make_declared_host_func(*store, *pm.module, i, entry[0].ptr(), first_arg, entry[2].ptr(), *plan,
                                       memory.c_str());
      }();
      if (!f) throw_error(f.error());
      py_state(*store).gil_imports = true;
      externs[i].kind = WASMTIME_EXTERN_FUNC;
      externs[i].of.func = *f;
      given[i] = true;
    }
  }
  if (!wasi.is_none()) {
    // A Linker's store gets its WASI context with its first instance; later ones share it.
    if (!nb::isinstance<WasiCapture>(capture)) throw nb::type_error("_Instance(): a wasi needs its _WasiCapture");
    wasi_config_t* config = store_of.is_none() ? make_wasi_config(wasi) : nullptr;
    if (config != nullptr && stdin_inherited(wasi)) py_state(*store).wasi_stdin_inherited = true;
    if (Result<void> r = attach_wasi(*store, config, nb::cast<WasiCapture&>(capture), externs, *pm.module, given); !r)
      throw_error(r.error());
  } else {
    for (size_t i = 0; i < wanted.size(); ++i)
      if (!given[i]) throw nb::value_error("_Instance(): an import was left unresolved");
  }
  if (const PyStoreState* st = find_py_state(*store); st != nullptr && st->release_gil && st->gil_imports)
    throw nb::value_error(
        "instantiate(): release_gil=True cannot be used with Python host functions (imports) or a Wasi writing to "
        "a file-like object: they run Python code, which needs the GIL in the middle of a call; release the GIL "
        "per function instead with Func.typed(release_gil=True) on an instance without them");
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

namespace {

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
      .def("cancel", &instance_cancel,
           "Stops the call running in this instance's store (any thread); it raises wasmffi.Cancelled. "
           "True if a call was running, False if none was (then nothing happens).")
      .def("canceller", &instance_canceller,
           "A Canceller: a callable that does what cancel() does, from any thread, holding the instance weakly.")
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
          [](nb::handle self, nb::str name, nb::handle raw, nb::handle plan, nb::handle spec) {
            PyInstance& pi = nb::cast<PyInstance&>(self);
            auto e = pi.inst->export_get(name.c_str());
            if (!e || e->kind != ExternKind::Func) throw nb::value_error("cfunc(): no such function export");
            PyObject* f = make_cfunc(self.ptr(), pi.inst->context(), e->item.of.func, &pi.alloc, &pi.mem,
                                     raw.ptr(), plan.ptr(), spec.ptr());
            if (f == nullptr) throw nb::python_error();
            return nb::steal(f);
          },
          nb::arg("name"), nb::arg("raw"), nb::arg("plan"), nb::arg("spec"),
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
}

}  // namespace wasmffi::py
