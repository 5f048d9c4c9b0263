// The _core extension module: fills the registry (error classes, Func type), registers every type
// (one file each) and the signature-text helper the Python side shares.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <vector>

#include "binding.hpp"
#include "cancel.hpp"
#include "gil.hpp"
#include "convert.hpp"
#include "cfunc.hpp"
#include "exports.hpp"
#include "func.hpp"
#include "out.hpp"
#include "host.hpp"
#include "instance_impl.hpp"
#include "record.hpp"
#include "wasi.hpp"

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

  // First, before any type can raise or build a Func: see Registry in convert.hpp.
  if (!init_registry(m.ptr())) throw nb::python_error();
  if (!init_exports_type(m.ptr())) throw nb::python_error();
  if (!init_cfunc_type(m.ptr())) throw nb::python_error();
  if (!init_record_type(m.ptr())) throw nb::python_error();
  if (!init_scalar_field_type(m.ptr())) throw nb::python_error();
  if (!init_out_type(m.ptr())) throw nb::python_error();

  m.def(
      "signature_text",
      [](const std::vector<std::string>& params, const std::vector<std::string>& results) {
        std::vector<const char*> ps, rs;
        for (const auto& p : params) ps.push_back(p.c_str());
        for (const auto& r : results) rs.push_back(r.c_str());
        return signature_text(ps, rs);
      },
      nb::arg("params"), nb::arg("results"),
      "The text of a function signature, e.g. '(i32, i32) -> i32': the one producer, shared by "
      "FuncType, Func and the module descriptions.");

  m.def(
      "int_text",
      [](nb::handle i) {
        if (!PyLong_Check(i.ptr())) throw nb::type_error("int_text(): expects an int");
        PyObject* text = int_text(i.ptr());
        if (text == nullptr) throw nb::python_error();
        return nb::steal<nb::str>(text);
      },
      nb::arg("i"), "An int as error-message text: huge ones abbreviated with their digit count.");

  m.def(
      "exports_declare",
      [](nb::handle exports, nb::handle name, nb::handle obj) {
        if (!exports_declare(exports.ptr(), name.ptr(), obj.ptr())) throw nb::python_error();
      },
      nb::arg("exports"), nb::arg("name"), nb::arg("obj"),
      "Makes obj the object an Exports returns for name (declared functions replace raw ones).");

  bind_plan(m);
  bind_engine(m);
  bind_module(m);
  bind_instance(m);
  bind_instantiate(m);
  bind_wasi(m);
  bind_cancel(m);
  if (!init_gil(m.ptr())) throw nb::python_error();
  bind_global(m);
  bind_memory(m);
}
