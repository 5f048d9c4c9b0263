// Types shared by the binding's translation units (nanobind side).
#pragma once

#include <nanobind/nanobind.h>

#include <memory>

#include "wasmffi/instance.hpp"
#include "wasmffi/memory.hpp"

namespace wasmffi::py {

namespace nb = nanobind;

// Raises the core error as its Python exception class (throws nb::python_error).
[[noreturn]] void throw_error(const Error& err);

// The Python-visible owner of a store. Every export object (Func, Global, Memory, views)
// holds a strong reference to the PyInstance's Python object, so the store outlives them all.
struct PyInstance {
  std::unique_ptr<Instance> inst;
};

struct PyMemory {
  nb::object owner;  // the PyInstance's Python object
  GuestMemory mem;
};

void bind_memory(nb::module_& m);

}  // namespace wasmffi::py
