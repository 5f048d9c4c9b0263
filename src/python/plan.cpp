// The typed factory of call plans (`_core.PlanBuilder` -> `_core.DeclPlan`) and the enums Python
// and C++ share. Every check a plan needs is made here, once, so the call paths can trust it.
#include "plan.hpp"

#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>

#include <memory>

#include "binding.hpp"
#include "record.hpp"

namespace wasmffi::py {

DeclPlan::~DeclPlan() {
  for (DeclParam& p : params) {
    Py_XDECREF(p.name);
    Py_XDECREF(p.label);
    Py_XDECREF(p.record);
    Py_XDECREF(p.enum_class);
  }
  Py_XDECREF(result.record);
  Py_XDECREF(result.enum_class);
}

namespace {

PyObject* optional_ref(nb::handle h) { return h.is_none() ? nullptr : Py_NewRef(h.ptr()); }

// A record class must derive from _core.Record: the call paths read and make its instances
// directly (record.hpp).
PyObject* record_class(nb::handle h) {
  if (h.is_none()) return nullptr;
  if (!is_record_class(h.ptr())) throw nb::type_error("PlanBuilder: a record class must derive from _core.Record");
  return Py_NewRef(h.ptr());
}

Marshal unit_for(const std::string& name, ValKind slot, const char* what) {
  if (name.empty()) return Marshal::Unsupported;  // a record element
  auto m = marshal_named(name, slot);
  if (!m) throw nb::value_error(("PlanBuilder: unknown unit '" + name + "' for " + what).c_str());
  return *m;
}

ValKind slot_kind(const std::string& s) {
  if (s == "i32") return ValKind::I32;
  if (s == "i64") return ValKind::I64;
  if (s == "f32") return ValKind::F32;
  if (s == "f64") return ValKind::F64;
  throw nb::value_error(("PlanBuilder: unknown wasm slot type '" + s + "'").c_str());
}

// Collects parameters in order; build() validates the links and hands out the plan.
class PlanBuilder {
 public:
  PlanBuilder(std::string name, std::string signature, size_t nslots, size_t nresults, bool is64)
      : plan_(std::make_unique<DeclPlan>()) {
    plan_->name = std::move(name);
    plan_->signature = std::move(signature);
    plan_->nslots = nslots;
    plan_->raw_len = std::max(nslots, nresults);
    plan_->is64 = is64;
  }

  // A scalar passed in its slot (`slot_type`: "i32", "i64", "f32" or "f64").
  void value(nb::str name, std::string ctype, std::string unit, uint32_t slot, std::string slot_type,
             nb::handle record, nb::handle enum_class) {
    DeclParam& p = add(name, std::move(ctype), Dir::Value, slot);
    p.unit = unit_for(unit, slot_kind(slot_type), "a value parameter");
    if (p.unit == Marshal::Unsupported) throw nb::value_error("PlanBuilder.value(): a value parameter needs a unit");
    p.record = record_class(record);
    p.enum_class = optional_ref(enum_class);
  }

  // A pointer to elements copied through guest memory (`elem_unit` "" for record elements).
  void buffer(nb::str name, std::string ctype, Dir dir, std::string elem_unit, uint32_t slot, uint64_t elem_size,
              int64_t count, bool cstring, bool byval, nb::handle record) {
    if (dir == Dir::Value) throw nb::value_error("PlanBuilder.buffer(): a buffer's direction cannot be Dir.Value");
    if (elem_size == 0) throw nb::value_error("PlanBuilder.buffer(): elements of size 0");
    DeclParam& p = add(name, std::move(ctype), dir, slot);
    p.unit = unit_for(elem_unit, plan_->is64 ? ValKind::I64 : ValKind::I32, "a buffer element");
    p.elem_size = elem_size;
    p.count = count;
    p.cstring = cstring;
    p.byval = byval;
    p.record = record_class(record);
    plan_->has_buffers = true;
    if (cstring && elem_size != 1 && elem_size != 2 && elem_size != 4)
      throw nb::value_error("PlanBuilder.buffer(): C string characters are 1, 2 or 4 bytes wide");
    if (p.unit == Marshal::Unsupported && p.record == nullptr)
      throw nb::value_error("PlanBuilder.buffer(): a record element needs its struct class");
  }

  // Parameter `param` is the length of buffer `buffer` (counting bytes or elements).
  void link_length(size_t param, size_t buffer, bool bytes) {
    DeclParam& n = at(param);
    DeclParam& b = at(buffer);
    if (n.dir != Dir::Value || b.dir == Dir::Value)
      throw nb::value_error("PlanBuilder.link_length(): links an integer value to a buffer");
    n.length_of = static_cast<int>(buffer);
    n.length_bytes = bytes;
    n.keyword_only = true;
    b.length_param = static_cast<int>(param);
  }

  // Buffer `buffer` holds as many elements as integer parameter `count` says.
  void size_is(size_t buffer, size_t count) {
    DeclParam& b = at(buffer);
    if (b.dir == Dir::Value || at(count).dir != Dir::Value)
      throw nb::value_error("PlanBuilder.size_is(): sizes a buffer by an integer value");
    b.size_is = static_cast<int>(count);
    plan_->has_size_is = true;
  }

  // Buffer `buffer` gets back only as many elements as the (integer) result says were written.
  void length_is_result(size_t buffer) {
    DeclParam& b = at(buffer);
    if (b.dir != Dir::Out && b.dir != Dir::InOut)
      throw nb::value_error("PlanBuilder.length_is_result(): applies to a buffer the function writes");
    b.length_is_result = true;
    plan_->has_length_is = true;
  }

  void result(ResKind kind, std::string unit, std::string slot_type, uint64_t size, nb::handle record,
              nb::handle enum_class, std::string ctype) {
    DeclResult& r = plan_->result;
    r.kind = kind;
    r.ctype = std::move(ctype);
    if (kind == ResKind::Value) {
      r.unit = unit_for(unit, slot_kind(slot_type), "the result");
      if (r.unit == Marshal::Unsupported) throw nb::value_error("PlanBuilder.result(): a value result needs a unit");
    }
    if (kind == ResKind::Sret) {
      if (record.is_none()) throw nb::value_error("PlanBuilder.result(): a result through memory needs its struct class");
      plan_->has_buffers = true;
    }
    r.size = size;
    r.record = record_class(record);
    r.enum_class = optional_ref(enum_class);
  }

  std::unique_ptr<DeclPlan> build() {
    if (!plan_) throw nb::value_error("PlanBuilder.build(): the plan was built already");
    for (size_t i = 0; i < plan_->params.size(); ++i)
      if (!plan_->params[i].keyword_only) plan_->positional.push_back(static_cast<int>(i));
    for (const DeclParam& p : plan_->params)
      if (p.slot >= plan_->nslots) throw nb::value_error("PlanBuilder.build(): a parameter's slot is past the wasm parameters");
    if (plan_->has_length_is &&
        (plan_->result.kind != ResKind::Value || unit_of(plan_->result.unit).num != MarshalUnit::Num::Int ||
         plan_->result.record != nullptr))
      throw nb::value_error("PlanBuilder.build(): a written length needs an integer result");
    return std::move(plan_);
  }

 private:
  DeclParam& add(nb::str name, std::string ctype, Dir dir, uint32_t slot) {
    if (!plan_) throw nb::value_error("PlanBuilder: the plan was built already");
    if (plan_->params.size() >= kMaxParams)
      throw nb::type_error(("declared functions take at most " + std::to_string(kMaxParams) + " parameters").c_str());
    DeclParam& p = plan_->params.emplace_back();
    p.name = Py_NewRef(name.ptr());
    p.label = PyUnicode_FromFormat("%s() argument %R (%s)", plan_->name.c_str(), name.ptr(), ctype.c_str());
    if (p.label == nullptr) throw nb::python_error();
    p.ctype = std::move(ctype);
    p.dir = dir;
    p.slot = slot;
    return p;
  }
  DeclParam& at(size_t i) {
    if (!plan_ || i >= plan_->params.size()) throw nb::index_error("PlanBuilder: no such parameter");
    return plan_->params[i];
  }
  std::unique_ptr<DeclPlan> plan_;
};

}  // namespace

const DeclPlan* plan_of(PyObject* obj) {
  DeclPlan* p = nullptr;
  if (!nb::try_cast<DeclPlan*>(nb::handle(obj), p) || p == nullptr) {
    PyErr_Format(PyExc_TypeError, "expected a _core.DeclPlan, not %.200s", Py_TYPE(obj)->tp_name);
    return nullptr;
  }
  return p;
}

void bind_plan(nb::module_& m) {
  nb::enum_<Dir>(m, "Dir", "How a declared parameter travels (one definition for Python and C++).")
      .value("VALUE", Dir::Value)
      .value("IN", Dir::In)
      .value("OUT", Dir::Out)
      .value("INOUT", Dir::InOut);
  nb::enum_<ResKind>(m, "ResultKind", "How a declared result comes back.")
      .value("VOID", ResKind::Void)
      .value("VALUE", ResKind::Value)
      .value("SRET", ResKind::Sret);
  nb::class_<DeclPlan>(m, "DeclPlan", "A declared function's call plan, built by PlanBuilder; immutable.")
      .def_prop_ro("name", [](const DeclPlan& p) { return p.name; })
      .def_prop_ro("signature", [](const DeclPlan& p) { return p.signature; })
      .def_prop_ro("nparams", [](const DeclPlan& p) { return p.params.size(); });
  nb::class_<PlanBuilder>(m, "PlanBuilder", "The typed factory of DeclPlans (see src/python/plan.hpp).")
      .def(nb::init<std::string, std::string, size_t, size_t, bool>(), nb::arg("name"), nb::arg("signature"),
           nb::arg("nslots"), nb::arg("nresults"), nb::arg("is64"))
      .def("value", &PlanBuilder::value, nb::arg("name"), nb::arg("ctype"), nb::arg("unit"), nb::arg("slot"),
           nb::arg("slot_type"), nb::kw_only(), nb::arg("record").none() = nb::none(),
           nb::arg("enum_class").none() = nb::none())
      .def("buffer", &PlanBuilder::buffer, nb::arg("name"), nb::arg("ctype"), nb::arg("dir"), nb::arg("elem_unit"),
           nb::arg("slot"), nb::arg("elem_size"), nb::kw_only(), nb::arg("count") = -1, nb::arg("cstring") = false,
           nb::arg("byval") = false, nb::arg("record").none() = nb::none())
      .def("link_length", &PlanBuilder::link_length, nb::arg("param"), nb::arg("buffer"), nb::arg("bytes"))
      .def("size_is", &PlanBuilder::size_is, nb::arg("buffer"), nb::arg("count"))
      .def("length_is_result", &PlanBuilder::length_is_result, nb::arg("buffer"))
      .def("result", &PlanBuilder::result, nb::arg("kind"), nb::kw_only(), nb::arg("unit") = "",
           nb::arg("slot_type") = "i32", nb::arg("size") = 0, nb::arg("record").none() = nb::none(),
           nb::arg("enum_class").none() = nb::none(), nb::arg("ctype") = "void")
      .def("build", &PlanBuilder::build);
}

}  // namespace wasmffi::py
