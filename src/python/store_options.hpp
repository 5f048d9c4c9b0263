// instantiate()'s per-instance store options (timeout, fuel, limits, release_gil): parsed and
// checked once, by the Python path (_Instance()) and the C path (Module.instantiate) alike.
#pragma once

#include <nanobind/nanobind.h>

#include <chrono>
#include <cstdint>
#include <iterator>
#include <optional>

#include "wasmffi/instance.hpp"

namespace wasmffi::py {

namespace nb = nanobind;

// The per-instance sandbox and threading options of instantiate(), parsed and checked once.
struct StoreOptions {
  std::chrono::nanoseconds timeout{0};
  std::optional<uint64_t> fuel;
  StoreLimits limits;
  bool release_gil = false;
};

// instantiate()'s store options in the order parsed here: timeout, fuel, the five limits of
// StoreLimits (each None or an int), release_gil.
inline constexpr const char* kOptionNames[] = {"timeout",    "fuel",          "max_memory", "max_table_elements",
                                        "max_instances", "max_tables", "max_memories", "release_gil"};
inline constexpr size_t kOptionCount = std::size(kOptionNames);
inline constexpr const char* const* kLimitNames = kOptionNames + 2;
inline constexpr size_t kLimitCount = 5;

// `who` names the function in messages, e.g. "instantiate()". `limits`: kLimitCount handles.
StoreOptions parse_store_options(const char* who, nb::handle timeout, nb::handle fuel, const nb::handle* limits,
                                 nb::handle release_gil);
// The same with the limits as _Instance() takes them: None, or a tuple of kLimitCount entries.
StoreOptions parse_store_options(const char* who, nb::handle timeout, nb::handle fuel, nb::handle limits,
                                 nb::handle release_gil);
// Applies the options to a new store, before anything is instantiated in it.
void configure_store(Store& store, const StoreOptions& o, const char* who);

}  // namespace wasmffi::py
