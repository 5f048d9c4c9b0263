// Types and entry points shared by the binding's translation units (nanobind side): one file per
// Python type (engine.cpp, module.cpp, instance.cpp, global.cpp, memory.cpp, func.cpp), joined
// in extension.cpp.
#pragma once

#include <nanobind/nanobind.h>

#include <memory>
#include <utility>

#include "wasmffi/engine.hpp"
#include "wasmffi/instance.hpp"
#include "wasmffi/memory.hpp"
#include "wasmffi/module.hpp"
#include "wasmffi/scratch.hpp"

namespace wasmffi::py {

namespace nb = nanobind;

// Raises the core error as its Python exception class (throws nb::python_error).
[[noreturn]] void throw_error(const Error& err);

// The value of a core Result, or its error raised as a Python exception.
template <class T>
T unwrap(Result<T>&& r) {
  if (!r) throw_error(r.error());
  return std::move(r).value();
}

struct PyEngine {
  std::shared_ptr<Engine> engine;
};

struct PyModule {
  std::shared_ptr<const Module> module;
};

// The Python-visible owner of a store. Every export object (Func, Global, Memory, views)
// holds a strong reference to the PyInstance's Python object, so the store outlives them all.
struct PyInstance {
  std::unique_ptr<Instance> inst;
  // Marshalling state for declared functions (set once by _Instance.bind_marshalling): the guest
  // allocator their scratch comes from and the memory they copy into. CFuncs point at these two
  // members: a PyInstance lives in its Python object's storage, which never moves, for the
  // instance's life (and each CFunc holds a reference to that object).
  GuestAllocator alloc;
  std::optional<GuestMemory> mem;
  // What the store's host functions use, kept alive here where the GC can traverse it: the
  // callables, Caller objects and linked instances (the import entries), or None.
  nb::object refs;
};

struct PyMemory {
  nb::object owner;  // the PyInstance's Python object
  GuestMemory mem;
};

// Export objects for an instance (`owner` is the PyInstance's Python object).
nb::object make_global(nb::handle owner, wasmtime_context_t* ctx, const wasmtime_global_t& global,
                       const std::string& name);
nb::object make_memory(nb::handle owner, wasmtime_context_t* ctx, const wasmtime_memory_t& mem);

// Each registers one Python type (or a group of tightly bound ones) on the extension module.
void bind_engine(nb::module_& m);
void bind_module(nb::module_& m);
void bind_instance(nb::module_& m);
void bind_global(nb::module_& m);
void bind_memory(nb::module_& m);
void bind_plan(nb::module_& m);

}  // namespace wasmffi::py
