// Engine: a compilation environment and the memory/fuel/epoch/stack policy its stores inherit.
#include <nanobind/nanobind.h>

#include <cstdint>
#include <string>

#include "args.hpp"
#include "binding.hpp"
#include "interrupt.hpp"
#include "store_guard.hpp"

namespace wasmffi::py {

namespace {

// The constructor's keyword arguments, in signature and repr order, with their defaults.
enum class Opt { Size, Bool, Int };
struct Option {
  const char* name;
  Opt type;
};
constexpr Option kOptions[] = {
    {"memory_reservation", Opt::Size}, {"memory_guard_size", Opt::Size}, {"memory64", Opt::Bool},
    {"consume_fuel", Opt::Bool},       {"epoch_interruption", Opt::Bool}, {"opt_level", Opt::Int},
    {"max_wasm_stack", Opt::Size},     {"pooling_slots", Opt::Int},
};

// The value of option `name` in `cfg` as a Python object (for defaults, repr and properties).
nb::object option_value(const EngineConfig& cfg, std::string_view name) {
  if (name == "memory_reservation") return nb::int_(cfg.memory_reservation);
  if (name == "memory_guard_size") return nb::int_(cfg.memory_guard_size);
  if (name == "memory64") return nb::bool_(cfg.memory64);
  if (name == "consume_fuel") return nb::bool_(cfg.consume_fuel);
  if (name == "epoch_interruption") return nb::bool_(cfg.epoch_interruption);
  if (name == "opt_level") return nb::int_(cfg.opt_level);
  if (name == "pooling_slots") return nb::int_(cfg.pooling_slots);
  return nb::int_(static_cast<uint64_t>(cfg.max_wasm_stack));
}

// Largest reservation or guard size accepted: 2**48 bytes (256 TiB) is beyond any 64-bit
// user address space wasmtime runs in today; larger values only fail later, at instantiation,
// with wasmtime's "byte count overflow".
constexpr uint64_t kMaxSize = uint64_t{1} << 48;

void set_option(EngineConfig& cfg, std::string_view name, nb::handle value) {
  const std::string where = "Engine() argument '" + std::string(name) + "'";
  if (name == "memory_reservation" || name == "memory_guard_size") {
    const uint64_t v = parse_u64(value, where);
    if (v > kMaxSize) bad_argument(PyExc_ValueError, where, "at most 2**48 (256 TiB)", value);
    (name == "memory_reservation" ? cfg.memory_reservation : cfg.memory_guard_size) = v;
  } else if (name == "max_wasm_stack") {
    const uint64_t v = parse_u64(value, where);
    if (v > kMaxSize) bad_argument(PyExc_ValueError, where, "at most 2**48", value);
    cfg.max_wasm_stack = static_cast<size_t>(v);
  } else if (name == "pooling_slots") {
    constexpr const char* kWhat = "an int in 0..2**32-1 (0: no pooling)";
    if (PyBool_Check(value.ptr()) || !PyLong_Check(value.ptr())) bad_argument(PyExc_TypeError, where, kWhat, value);
    const long long v = PyLong_AsLongLong(value.ptr());
    if (PyErr_Occurred() || v < 0 || v > UINT32_MAX) {
      PyErr_Clear();
      bad_argument(PyExc_ValueError, where, kWhat, value);
    }
    cfg.pooling_slots = static_cast<uint32_t>(v);
  } else if (name == "opt_level") {
    if (PyBool_Check(value.ptr()) || !PyLong_Check(value.ptr())) bad_argument(PyExc_TypeError, where, "0, 1 or 2", value);
    const long v = PyLong_AsLong(value.ptr());
    if (v < 0 || v > 2) {
      PyErr_Clear();
      bad_argument(PyExc_ValueError, where, "0, 1 or 2", value);
    }
    cfg.opt_level = static_cast<int>(v);
  } else {
    const bool v = parse_bool(value, where);
    if (name == "memory64") cfg.memory64 = v;
    else if (name == "consume_fuel") cfg.consume_fuel = v;
    else cfg.epoch_interruption = v;
  }
}

void engine_init(PyEngine* self, nb::args args, nb::kwargs kwargs) {
  if (args.size() != 0) {
    std::string msg = "Engine() takes keyword arguments only, got " + std::to_string(args.size()) + " positional";
    throw nb::type_error(msg.c_str());
  }
  EngineConfig cfg;
  // Ctrl-C during a long call: Python signal handlers run from the stores' epoch callbacks.
  cfg.interrupt_check = check_python_signals;
  for (auto [key, value] : kwargs) {
    const std::string name = nb::str(key).c_str();
    bool known = false;
    for (const Option& o : kOptions) known = known || name == o.name;
    if (!known) {
      std::string msg = "Engine() got an unexpected keyword argument '" + name + "' (accepted: ";
      for (size_t i = 0; i < std::size(kOptions); ++i) msg += std::string(i ? ", " : "") + kOptions[i].name;
      throw nb::type_error((msg + ")").c_str());
    }
    set_option(cfg, name, value);
  }
  Result<std::shared_ptr<Engine>> r = Engine::create(cfg);
  if (!r) throw_error_in("Engine(): wasmtime rejected the configuration", std::move(r).error());
  new (self) PyEngine{std::move(r).value()};
}

nb::str engine_repr(PyEngine& e) {
  std::string text = "wasmffi.Engine(";
  for (size_t i = 0; i < std::size(kOptions); ++i) {
    text += std::string(i ? ", " : "") + kOptions[i].name + "=";
    text += nb::repr(option_value(e.engine->config(), kOptions[i].name)).c_str();
  }
  return nb::str((text + ")").c_str());
}

// inspect.signature(wasmffi.Engine): nanobind's generic (*args, **kwargs) would say nothing.
nb::object engine_signature() {
  nb::module_ inspect = nb::module_::import_("inspect");
  nb::object param = inspect.attr("Parameter");
  nb::list params;
  const EngineConfig defaults;
  for (const Option& o : kOptions) {
    nb::object annotation = nb::borrow(o.type == Opt::Bool ? reinterpret_cast<PyObject*>(&PyBool_Type)
                                                           : reinterpret_cast<PyObject*>(&PyLong_Type));
    params.append(param(o.name, param.attr("KEYWORD_ONLY"), nb::arg("default") = option_value(defaults, o.name),
                        nb::arg("annotation") = annotation));
  }
  return inspect.attr("Signature")(params, nb::arg("return_annotation") = nb::none());
}

}  // namespace

void bind_engine(nb::module_& m) {
  if (!init_store_guard()) throw nb::python_error();
  auto cls = nb::class_<PyEngine>(
      m, "Engine",
      "Engine(*, memory_reservation=4 GiB, memory_guard_size=32 MiB, memory64=True, consume_fuel=False, "
      "epoch_interruption=True, opt_level=1, max_wasm_stack=512 KiB, pooling_slots=0)\n\n"
      "A compilation environment; modules compiled for it share its settings. Settings are read-only.\n"
      "epoch_interruption (on by default) is what lets Ctrl-C and instantiate(timeout=...) stop a long\n"
      "call: a native ticker thread per engine advances the epoch every 10 ms while the engine lives.\n"
      "max_wasm_stack is the native stack a call may use below its entry; a call from a thread with less\n"
      "stack left than that plus 64 KiB raises StackOverflow without entering wasm.\n"
      "pooling_slots=N takes instances from N preallocated slots (cheap to create and drop; at most N\n"
      "alive at once, more raise ResourceError; N x (memory_reservation + memory_guard_size) of address\n"
      "space reserved up front); 0 maps each instance's memory on demand. wasmffi.default_engine() pools.");
  m.attr("_DEFAULT_POOLING_SLOTS") = kDefaultPoolingSlots;
  cls.def("__init__", &engine_init);
  cls.def("__repr__", &engine_repr);
  for (const Option& o : kOptions) {
    const char* name = o.name;
    cls.def_prop_ro(name, [name](PyEngine& e) { return option_value(e.engine->config(), name); });
  }
  cls.def("increment_epoch", [](PyEngine& e) { e.engine->increment_epoch(); },
          "Advances the engine's epoch (the one Instance.set_epoch_deadline counts in) by one tick; safe to\n"
          "call from any thread. The engine's own 10 ms ticker does not advance it.");
  // Built when asked for (inspect.signature reads it), not at import: it needs the inspect module,
  // which would add several ms to `import wasmffi`.
  cls.def_prop_ro_static("__signature__", [](nb::handle) { return engine_signature(); });
}

}  // namespace wasmffi::py
