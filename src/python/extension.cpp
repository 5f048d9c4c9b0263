// The _core extension module: registers every type (one file each) and the exception classes.
#include <nanobind/nanobind.h>

#include <iterator>

#include "binding.hpp"
#include "convert.hpp"
#include "exports.hpp"
#include "func.hpp"

namespace wasmffi::py {

void throw_error(const Error& err) {
  raise(err);
  throw nb::python_error();
}

}  // namespace wasmffi::py

using namespace wasmffi;
using namespace wasmffi::py;

NB_MODULE(_core, m) {
  m.doc() = "wasmffi's compiled core (use the wasmffi package, not this module)";

  if (!init_func_type(m.ptr())) throw nb::python_error();
  if (!init_exports_type(m.ptr())) throw nb::python_error();
  // The package keeps a process-wide default Engine in a module global; interpreter shutdown
  // may clear it after nanobind's leak check runs, which would print a false alarm.
  nb::set_leak_warnings(false);

  m.def(
      "_register_errors",
      [](nb::dict classes, nb::dict traps, nb::handle signature_factory) {
        ErrorClasses& c = errors();
        auto keep = [](nb::handle h) { return Py_NewRef(h.ptr()); };
        c.error = keep(classes["Error"]);
        c.compile = keep(classes["CompileError"]);
        c.link = keep(classes["LinkError"]);
        c.memory_access = keep(classes["MemoryAccessError"]);
        c.trap = keep(classes["Trap"]);
        for (size_t k = 0; k < std::size(c.traps); ++k) {
          const char* name = trap_kind_name(static_cast<TrapKind>(k));
          if (traps.contains(name)) c.traps[k] = keep(traps[name]);
        }
        set_signature_factory(signature_factory.ptr());
      },
      "Hands the Python-defined exception classes to the extension (called once by wasmffi).");

  bind_engine(m);
  bind_module(m);
  bind_instance(m);
  bind_global(m);
  bind_memory(m);
}
