// WASI preview 1 for an instance's store (wasi.cpp): configuration from a wasmffi.Wasi and linking.
#pragma once

#include <nanobind/nanobind.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "wasmffi/instance.hpp"
#include "wasmffi/module.hpp"

struct wasi_config_t;

namespace wasmffi::py {

namespace nb = nanobind;

// Bytes a guest wrote to stdout or stderr. wasmtime's WASI may write from one of its own worker
// threads, so the callback touches no Python object: it appends under a mutex, and Python
// collects the bytes after the call (_WasiCapture.take).
struct Capture {
  std::mutex lock;
  std::string data;
};

struct WasiCapture {
  std::shared_ptr<Capture> out = std::make_shared<Capture>();
  std::shared_ptr<Capture> err = std::make_shared<Capture>();
};


// A WASI configuration from a wasmffi.Wasi's spec; stdout/stderr in "capture" mode append to
// `capture`. Raises (nb::python_error) on a bad spec; the caller owns the result.
wasi_config_t* make_wasi_config(nb::handle spec, WasiCapture& capture);
// Whether a wasmffi.Wasi gives the guest this process's stdin (stdin="inherit").
bool stdin_inherited(nb::handle spec);
// Gives `config` (consumed) to the store and fills every import not `given` from WASI preview 1;
// an import WASI does not provide is a LinkError naming it. A null `config` keeps the WASI
// context the store has (a Linker's later instances share the one its first instance set).
Result<void> attach_wasi(Store& store, wasi_config_t* config, std::vector<wasmtime_extern_t>& externs,
                         const Module& module, const std::vector<bool>& given);

void bind_wasi(nb::module_& m);

}  // namespace wasmffi::py
