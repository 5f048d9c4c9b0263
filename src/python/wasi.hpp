// WASI preview 1 for an instance's store (wasi.cpp): configuration from a wasmffi.Wasi and linking.
#pragma once

#include <nanobind/nanobind.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "wasmffi/instance.hpp"
#include "wasmffi/module.hpp"
#include "wasi_capture.hpp"

struct wasi_config_t;

namespace wasmffi::py {

namespace nb = nanobind;

// A WASI configuration from a wasmffi.Wasi's spec. Raises (nb::python_error) on a bad spec; the
// caller owns the result. Captured streams are left to attach_capture (wasi_capture.hpp).
wasi_config_t* make_wasi_config(nb::handle spec);
// Gives `config` (consumed) to the store and fills every import not `given` from WASI preview 1,
// with fd_write writing captured streams to `capture` (wasi_capture.hpp); an import WASI does
// not provide is a LinkError naming it. A null `config` keeps the WASI context the store has (a
// Linker's later instances share the one its first instance set).
Result<void> attach_wasi(Store& store, wasi_config_t* config, const WasiCapture& capture,
                         std::vector<wasmtime_extern_t>& externs, const Module& module, const std::vector<bool>& given);
// Whether a wasmffi.Wasi gives the guest this process's stdin (stdin="inherit").
bool stdin_inherited(nb::handle spec);

void bind_wasi(nb::module_& m);

}  // namespace wasmffi::py
