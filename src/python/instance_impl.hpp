// What instance.cpp offers the other binding units that build instances (instantiate_plain.cpp).
#pragma once

#include <nanobind/nanobind.h>

#include <memory>
#include <optional>
#include <string_view>

#include "binding.hpp"
#include "store_options.hpp"

namespace wasmffi::py {

// Instantiates `pm` in a new store (or the store of `store_of`, an _Instance) with its imports
// (the entries wasmffi._imports builds) and WASI (`wasi`, with its `capture`) when given.
std::unique_ptr<Instance> instantiate(PyModule& pm, nb::handle imports, nb::handle wasi, nb::handle capture,
                                      nb::handle store_of, const StoreOptions& options);

// Sets the guest allocator and the memory declared functions copy into.
void bind_marshalling(PyInstance& pi, std::string_view allocator, std::optional<std::string_view> memory);

// Registers _core._register_types and _core._Instantiate (instantiate_plain.cpp).
void bind_instantiate(nb::module_& m);

}  // namespace wasmffi::py
