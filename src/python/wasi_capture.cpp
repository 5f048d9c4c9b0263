// Captured WASI stdout and stderr: a store's own fd_write for fds 1 and 2, which counts each
// stream against its limit (stopping the guest with wasmffi.OutputLimitExceeded past it) and hands
// the bytes to a file-like target as they are written, or keeps them for Wasi.stdout / .stderr.
#ifndef WASMTIME_FEATURE_WASI
#define WASMTIME_FEATURE_WASI
#endif
#include "wasi_capture.hpp"

#include <Python.h>

#include <nanobind/stl/string.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "convert.hpp"
#include "host.hpp"
#include "wasmffi/host_func.hpp"
#include "store_state.hpp"

namespace wasmffi::py {

namespace {

// wasi_snapshot_preview1's errno values this fd_write returns.
constexpr int32_t kErrnoSuccess = 0;
constexpr int32_t kErrnoFault = 21;

// wasmffi.OutputLimitExceeded, looked up once at module init (bind_wasi_capture).
PyObject* g_limit_class = nullptr;

// What one instance's fd_write needs: the two streams, and WASI's own fd_write of the same store
// for every other descriptor (files), called through `forward` (Engine::wasi_forwarder, made on
// the first such write). Owned by wasmtime (freed with the store, under the GIL: stores die with
// their last Python instance, and `out`/`err` may hold a Python target).
struct FdWrite {
  std::shared_ptr<Capture> out, err;
  wasmtime_func_t wasi_fd_write;
  wasmtime_func_t forward{};
  bool has_forward = false;
};

void fd_write_finalize(void* env) { delete static_cast<FdWrite*>(env); }

// A trap from an error WASI's fd_write returned (rare: it reports most failures as an errno).
wasm_trap_t* trap_from(wasmtime_error_t* err) {
  wasm_name_t msg;
  wasmtime_error_message(err, &msg);
  wasm_trap_t* trap = wasmtime_trap_new(msg.data, msg.size);
  wasm_byte_vec_delete(&msg);
  wasmtime_error_delete(err);
  return trap;
}

wasm_trap_t* trap_text(const std::string& msg) { return wasmtime_trap_new(msg.data(), msg.size()); }

// WASI's fd_write, for a descriptor this one does not capture. Called from here its caller would
// be the host, with no "memory" export for WASI to find the iovecs in: so it is called through an
// instance of the engine's forwarder, made in this store on first need, whose "memory" export is
// the guest's memory. Instantiating one counts against the store's max_instances.
wasm_trap_t* forward(FdWrite& self, wasmtime_caller_t* caller, wasmtime_val_raw_t* raw, size_t raw_len) {
  wasmtime_context_t* ctx = wasmtime_caller_context(caller);
  if (!self.has_forward) {
    wasmtime_extern_t imports[2];
    if (!wasmtime_caller_export_get(caller, "memory", 6, &imports[0]) || imports[0].kind != WASMTIME_EXTERN_MEMORY)
      return trap_text("fd_write: the module exports no memory named 'memory' (WASI needs one)");
    Result<const wasmtime_module_t*> module = Store::of(ctx).engine().wasi_forwarder();
    if (!module) return trap_text("fd_write: " + module.error().message);
    imports[1].kind = WASMTIME_EXTERN_FUNC;
    imports[1].of.func = self.wasi_fd_write;
    wasmtime_instance_t inst;
    wasm_trap_t* trap = nullptr;
    if (wasmtime_error_t* err = wasmtime_instance_new(ctx, module.value(), imports, 2, &inst, &trap)) {
      Error e = take_error(err, ErrorKind::Link);
      return trap_text("fd_write to a file: cannot set up the call into WASI: " + e.message);
    }
    if (trap != nullptr) return trap;
    wasmtime_extern_t f;
    if (!wasmtime_instance_export_get(ctx, &inst, "fd_write", 8, &f) || f.kind != WASMTIME_EXTERN_FUNC)
      return trap_text("fd_write: the forwarder has no fd_write");
    self.forward = f.of.func;
    self.has_forward = true;
  }
  wasm_trap_t* trap = nullptr;
  if (wasmtime_error_t* err = wasmtime_func_call_unchecked(ctx, &self.forward, raw, raw_len, &trap))
    return trap_from(err);
  return trap;
}

// Hands `n` bytes at `data` (guest memory) to the stream: appended to its data, or written to
// its target. nullptr, or the trap that stops the guest (no memory for the bytes; or the
// target's write() raised, and its exception waits in the store for the call to re-raise).
// Nothing here may throw: it runs under wasmtime's frames.
wasm_trap_t* deliver(Store& store, Capture& cap, const uint8_t* data, uint64_t n) noexcept {
  if (!cap.sink.is_valid()) {
    std::lock_guard<std::mutex> g(cap.lock);
    try {
      cap.data.append(reinterpret_cast<const char*>(data), n);
    } catch (...) {  // std::bad_alloc
      return trap_text(std::string("no memory left to capture the guest's ") + cap.name);
    }
    return nullptr;
  }
  // A target's store holds the GIL during calls (WasiCapture::needs_gil): Python may run here.
  // Its code may switch threads, so the store is marked entered meanwhile, as for a host function.
  HostActivation active(store);
  PyObject* bytes = PyBytes_FromStringAndSize(reinterpret_cast<const char*>(data), static_cast<Py_ssize_t>(n));
  if (bytes != nullptr) {
    static PyObject* write_name = PyUnicode_InternFromString("write");
    PyObject* r = write_name == nullptr ? nullptr : PyObject_CallMethodOneArg(cap.sink.ptr(), write_name, bytes);
    Py_DECREF(bytes);
    if (r != nullptr) {
      Py_DECREF(r);
      return nullptr;
    }
  }
  std::string msg = std::string("the write() of the Wasi's ") + cap.name + " target raised ";
  msg += park_python_exception(store);
  return trap_text(msg);
}

// fd_write(fd, iovs, iovs_len, nwritten) -> errno, on wasmtime's unchecked path (raw[0] gets
// the result). As WASI's own, it writes the first non-empty iovec only and reports that count
// (libc writes the rest in further calls), so one call moves at most one buffer of guest memory;
// and a bad address is EFAULT, not a trap.
wasm_trap_t* fd_write(void* env, wasmtime_caller_t* caller, wasmtime_val_raw_t* raw, size_t raw_len) {
  auto& self = *static_cast<FdWrite*>(env);
  wasmtime_context_t* ctx = wasmtime_caller_context(caller);
  const int32_t fd = raw[0].i32;
  Capture* cap = fd == 1 ? self.out.get() : fd == 2 ? self.err.get() : nullptr;
  if (cap == nullptr || !cap->captured) return forward(self, caller, raw, raw_len);
  wasmtime_extern_t item;
  if (!wasmtime_caller_export_get(caller, "memory", 6, &item) || item.kind != WASMTIME_EXTERN_MEMORY)
    return trap_text("fd_write: the module exports no memory named 'memory' (WASI needs one)");
  uint8_t* mem = wasmtime_memory_data(ctx, &item.of.memory);
  const uint64_t size = wasmtime_memory_data_size(ctx, &item.of.memory);
  const auto inside = [size](uint64_t addr, uint64_t len) { return addr <= size && len <= size - addr; };
  const uint64_t iovs = static_cast<uint32_t>(raw[1].i32), count = static_cast<uint32_t>(raw[2].i32);
  const uint64_t nwritten = static_cast<uint32_t>(raw[3].i32);
  if (!inside(iovs, count * 8) || !inside(nwritten, 4)) {
    raw[0].i32 = kErrnoFault;
    return nullptr;
  }
  uint32_t buf = 0, len = 0;
  for (uint64_t i = 0; i < count && len == 0; ++i) {
    std::memcpy(&buf, mem + iovs + 8 * i, 4);
    std::memcpy(&len, mem + iovs + 8 * i + 4, 4);
  }
  if (!inside(buf, len)) {
    raw[0].i32 = kErrnoFault;
    return nullptr;
  }
  uint64_t allowed;
  {
    std::lock_guard<std::mutex> g(cap->lock);
    allowed = std::min<uint64_t>(len, cap->limit - std::min(cap->limit, cap->taken));
    cap->taken += allowed;
  }
  if (allowed != 0)
    if (wasm_trap_t* trap = deliver(Store::of(ctx), *cap, mem + buf, allowed)) return trap;
  if (allowed < len) {
    // Up to the limit was kept (or handed on); the guest stops here. The call that entered wasm
    // raises wasmffi.OutputLimitExceeded for it (raise_output_limit): no Python object is made
    // here, where a call that released the GIL does not hold it.
    if (PyStoreState* st = ensure_py_state(Store::of(ctx))) {
      st->over_limit_stream = cap->name;
      st->over_limit = cap->limit;
    }
    return trap_text(std::string("the guest's ") + cap->name + " went past its limit of " +
                     std::to_string(cap->limit) + " bytes");
  }
  std::memcpy(mem + nwritten, &len, 4);
  raw[0].i32 = kErrnoSuccess;
  return nullptr;
}

bool is_preview1_fd_write(const ExternDesc& d) {
  using K = ValKind;
  return d.kind == ExternKind::Func && d.module == "wasi_snapshot_preview1" && d.name == "fd_write" &&
         d.func.params == std::vector<K>{K::I32, K::I32, K::I32, K::I32} && d.func.results == std::vector<K>{K::I32};
}

void configure(Capture& cap, bool captured, nb::handle sink, nb::handle limit) {
  cap.captured = captured;
  if (!sink.is_none()) {
    if (!captured) throw nb::value_error("_WasiCapture.configure(): a target for a stream that is not captured");
    nb::object write = nb::getattr(sink, "write", nb::none());
    if (!PyCallable_Check(write.ptr()))
      throw nb::type_error(("Wasi(): the " + std::string(cap.name) + " target must have a write() method, not be " +
                            Py_TYPE(sink.ptr())->tp_name)
                               .c_str());
    cap.sink = nb::borrow(sink);
  }
  if (!limit.is_none()) {
    if (!PyLong_Check(limit.ptr()) || PyBool_Check(limit.ptr()))
      throw nb::type_error(("Wasi(): " + std::string(cap.name) + "_limit must be an int or None, not " +
                            Py_TYPE(limit.ptr())->tp_name)
                               .c_str());
    const unsigned long long v = PyLong_AsUnsignedLongLong(limit.ptr());
    if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
      PyErr_Clear();
      throw nb::value_error(("Wasi(): " + std::string(cap.name) + "_limit must be between 0 and 2**64 - 1 bytes")
                                .c_str());
    }
    cap.limit = v;
  }
}

}  // namespace

Result<void> attach_capture(Store& store, const WasiCapture& capture, std::vector<wasmtime_extern_t>& externs,
                            const Module& module, const std::vector<bool>& given) {
  if (!capture.out->captured && !capture.err->captured) return {};
  const auto& wanted = module.imports();
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (given[i] || !is_preview1_fd_write(wanted[i]) || externs[i].kind != WASMTIME_EXTERN_FUNC) continue;
    auto* env = new FdWrite{capture.out, capture.err, externs[i].of.func};
    Result<wasmtime_func_t> f = new_host_func(store, module, i, fd_write, env, fd_write_finalize);
    if (!f) return f.error();
    externs[i].of.func = *f;
  }
  if (capture.needs_gil()) py_state(store).gil_imports = true;
  return {};
}

void raise_output_limit(Store& store, bool replace) noexcept {
  PyStoreState* st = find_py_state(store);
  if (st == nullptr || st->over_limit_stream == nullptr) [[likely]]
    return;
  const char* stream = std::exchange(st->over_limit_stream, nullptr);
  if (!replace) return;
  PyObject* trap = fetch_exception();
  PyObject* exc = PyObject_CallFunction(g_limit_class, "sK", stream, static_cast<unsigned long long>(st->over_limit));
  if (exc == nullptr) {  // that error is raised instead
    Py_XDECREF(trap);
    return;
  }
  if (trap != nullptr) PyException_SetCause(exc, trap);  // steals trap
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc)), exc);
  Py_DECREF(exc);
}

void bind_wasi_capture(nb::module_& m) {
  nb::object limit_class = nb::module_::import_("wasmffi._errors").attr("OutputLimitExceeded");
  g_limit_class = limit_class.release().ptr();  // kept for the life of the process, as the module is
  nb::class_<WasiCapture>(m, "_WasiCapture")
      .def(nb::init<>())
      .def(
          "configure",
          [](WasiCapture& c, bool err, bool captured, nb::handle sink, nb::handle limit) {
            configure(err ? *c.err : *c.out, captured, sink, limit);
          },
          nb::arg("stderr"), nb::arg("captured"), nb::arg("sink").none(), nb::arg("limit").none(),
          "Sets up stdout (or stderr when stderr=True), before any instance uses this capture: whether "
          "it is captured, its file-like target (None: kept here) and its limit in bytes (None: none).")
      .def(
          "data",
          [](WasiCapture& c, bool err) {
            Capture& cap = err ? *c.err : *c.out;
            std::lock_guard<std::mutex> g(cap.lock);
            return nb::bytes(cap.data.data(), cap.data.size());
          },
          nb::arg("stderr"), "The bytes kept since the last clear (stdout, or stderr when stderr=True).")
      .def(
          "clear",
          [](WasiCapture& c) {
            for (Capture* cap : {c.out.get(), c.err.get()}) {
              std::lock_guard<std::mutex> g(cap->lock);
              cap->data.clear();
              cap->data.shrink_to_fit();
              cap->taken = 0;
            }
          },
          "Forgets the bytes kept and restarts both limits' counts.");
}

}  // namespace wasmffi::py
