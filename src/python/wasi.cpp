// WASI preview 1 for an instance's store: the configuration (deny by default), linking (with
// captured stdout and stderr from wasi_capture.cpp), and running a command's _start with its exit code.
// The shared header directory may hold another build's conf.h (features unify per build), so the
// WASI declarations are asked for explicitly; the symbols come from the engine built with `wasi`.
#ifndef WASMTIME_FEATURE_WASI
#define WASMTIME_FEATURE_WASI
#endif
#include <wasi.h>
#include <wasmtime.h>

#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <memory>
#include <string>
#include <vector>

#include "binding.hpp"
#include "convert.hpp"
#include "store_guard.hpp"
#include "store_state.hpp"
#include "wasi_block.hpp"
#include "wasi.hpp"

namespace wasmffi::py {

namespace {

[[noreturn]] void wasi_fail(const std::string& what) {
  PyErr_SetString(PyExc_ValueError, ("Wasi(): " + what).c_str());
  throw nb::python_error();
}

// "capture" leaves WASI's own stream a sink: our fd_write takes fds 1 and 2 (attach_capture).
void set_output(wasi_config_t* cfg, nb::handle mode, bool is_stdout) {
  if (nb::cast<std::string>(mode) == "inherit") is_stdout ? wasi_config_inherit_stdout(cfg) : wasi_config_inherit_stderr(cfg);
}

}  // namespace

bool stdin_inherited(nb::handle spec) {
  nb::object mode = nb::getattr(spec, "stdin_mode", nb::none());
  return nb::isinstance<nb::str>(mode) && nb::cast<std::string>(mode) == "inherit";
}

// `spec` comes from wasmffi._wasi.Wasi._spec(): argv (list of str), env (list of (str, str)),
// stdin (bytes), stdout/stderr ("capture", "inherit" or "discard"), preopens (list of
// (host, guest, writable)). Returns the configuration, owned by the caller until given to a store.
wasi_config_t* make_wasi_config(nb::handle spec) {
  std::unique_ptr<wasi_config_t, void (*)(wasi_config_t*)> cfg(wasi_config_new(), wasi_config_delete);
  std::vector<std::string> argv;
  for (nb::handle a : spec.attr("argv")) argv.push_back(nb::cast<std::string>(a));
  std::vector<const char*> argp;
  for (auto& a : argv) argp.push_back(a.c_str());
  if (!wasi_config_set_argv(cfg.get(), argp.size(), argp.data())) wasi_fail("argv could not be set");
  std::vector<std::string> keys, values;
  for (nb::handle kv : spec.attr("env")) {
    keys.push_back(nb::cast<std::string>(kv[0]));
    values.push_back(nb::cast<std::string>(kv[1]));
  }
  std::vector<const char*> kp, vp;
  for (size_t i = 0; i < keys.size(); ++i) {
    kp.push_back(keys[i].c_str());
    vp.push_back(values[i].c_str());
  }
  if (!wasi_config_set_env(cfg.get(), kp.size(), kp.data(), vp.data())) wasi_fail("env could not be set");
  if (stdin_inherited(spec)) {
    wasi_config_inherit_stdin(cfg.get());  // read by wasi_block.cpp's fd_read, not the engine's
  } else {
    nb::bytes in = nb::cast<nb::bytes>(spec.attr("stdin"));
    wasm_byte_vec_t vec;
    wasm_byte_vec_new(&vec, in.size(), in.c_str());
    wasi_config_set_stdin_bytes(cfg.get(), &vec);  // takes the vector's bytes
  }
  set_output(cfg.get(), spec.attr("stdout_mode"), true);
  set_output(cfg.get(), spec.attr("stderr_mode"), false);
  for (nb::handle p : spec.attr("preopens")) {
    const std::string host = nb::cast<std::string>(p[0]), guest = nb::cast<std::string>(p[1]);
    if (!wasi_config_preopen_dir(cfg.get(), host.c_str(), guest.c_str(), nb::cast<bool>(p[2])))
      wasi_fail("cannot preopen host directory '" + host + "' as '" + guest + "'");
  }
  return cfg.release();
}

Result<void> attach_wasi(Store& store, wasi_config_t* config, const WasiCapture& capture,
                         std::vector<wasmtime_extern_t>& externs, const Module& module, const std::vector<bool>& given) {
  if (config != nullptr)
    if (wasmtime_error_t* err = wasmtime_context_set_wasi(store.context(), config))
      return take_error(err, ErrorKind::Link);
  Result<const wasmtime_linker_t*> linker = store.engine().wasi_linker();
  if (!linker.ok()) return linker.error();
  const auto& wanted = module.imports();
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (given[i]) continue;
    const auto& imp = wanted[i];
    if (!wasmtime_linker_get(linker.value(), store.context(), imp.module.data(), imp.module.size(), imp.name.data(),
                             imp.name.size(), &externs[i]))
      return make_error(ErrorKind::Link, "import '" + imp.module + "." + imp.name + "' (" +
                                             extern_kind_name(imp.kind) + " " + imp.type_string() +
                                             ") is neither given nor provided by WASI preview 1");
  }
  if (Result<void> r = attach_capture(store, capture, externs, module, given); !r) return r;
  const PyStoreState* st = find_py_state(store);
  return shadow_blocking_wasi(store, module, externs, given, st != nullptr && st->wasi_stdin_inherited);
}

void bind_wasi(nb::module_& m) {
  bind_wasi_capture(m);

  // Runs a command's _start: the exit code (0 when _start returned), or the call's error raised.
  m.def("_wasi_start", [](PyInstance& pi) -> int {
    auto e = pi.inst->export_get("_start");
    if (!e || e->kind != ExternKind::Func)
      throw nb::type_error("Wasi.run(): the module exports no _start function (it is not a WASI command)");
    wasmtime_context_t* ctx = pi.inst->context();
    if (!native_stack_fits(ctx)) {
      raise(native_stack_error(ctx));
      throw nb::python_error();
    }
    StoreEntry entry(ctx);
    if (!entry) throw nb::python_error();
    wasm_trap_t* trap = nullptr;
    Store& store = pi.inst->store();
    store.begin_call();  // the instance's timeout= counts from here, as for any call
    wasmtime_error_t* err = wasmtime_func_call(ctx, &e->item.of.func, nullptr, 0, nullptr, 0, &trap);
    store.end_call();
    if (err == nullptr && trap == nullptr) return 0;
    int status = 0;
    if (err != nullptr && wasmtime_error_exit_status(err, &status)) {
      wasmtime_error_delete(err);
      if (trap != nullptr) wasm_trap_delete(trap);
      return status;
    }
    // call_failure_in: a call the store's epoch callback stopped says why (timeout, Ctrl-C).
    raise_call_error(ctx, call_failure_in(ctx, err, trap), nb::str("_start").ptr());
    throw nb::python_error();
  });
}

}  // namespace wasmffi::py
