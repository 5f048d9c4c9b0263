// Parsing and applying instantiate()'s store options (store_options.hpp).
#include "store_options.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "args.hpp"
#include "binding.hpp"
#include "store_state.hpp"

namespace wasmffi::py {

// `who` names the function in messages, e.g. "instantiate()".
StoreOptions parse_store_options(const char* who, nb::handle timeout, nb::handle fuel,
                                 const nb::handle* limits /* kLimitCount of them */, nb::handle release_gil) {
  StoreOptions o;
  const std::string arg = std::string(who) + " argument ";
  if (!timeout.is_none()) {
    const std::string where = arg + "'timeout'";
    if (PyBool_Check(timeout.ptr()) || !(PyFloat_Check(timeout.ptr()) || PyLong_Check(timeout.ptr())))
      bad_argument(PyExc_TypeError, where, "a number of seconds (int or float) or None", timeout);
    const double secs = PyFloat_AsDouble(timeout.ptr());
    if (secs == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      bad_argument(PyExc_ValueError, where, "a finite number of seconds, at most 10**9", timeout);
    }
    if (!(secs > 0) || !std::isfinite(secs) || secs > 1e9) {
      std::string msg = where + " must be a positive, finite number of seconds (at most 10**9), not " +
                        nb::repr(timeout).c_str();
      PyErr_SetString(PyExc_ValueError, msg.c_str());
      throw nb::python_error();
    }
    // At least 1 ns, so that a tiny positive timeout is not "no timeout".
    o.timeout = std::max(std::chrono::nanoseconds{1},
                         std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(secs)));
  }
  if (!fuel.is_none()) o.fuel = parse_u64(fuel, arg + "'fuel'");
  int64_t* fields[] = {&o.limits.memory_size, &o.limits.table_elements, &o.limits.instances, &o.limits.tables,
                       &o.limits.memories};
  for (size_t i = 0; i < kLimitCount; ++i) {
    if (limits[i].is_none()) continue;
    const std::string where = arg + "'" + kLimitNames[i] + "'";
    const uint64_t v = parse_u64(limits[i], where);
    if (v > static_cast<uint64_t>(INT64_MAX)) bad_argument(PyExc_ValueError, where, "at most 2**63-1", limits[i]);
    *fields[i] = static_cast<int64_t>(v);
  }
  o.release_gil = parse_bool(release_gil, arg + "'release_gil'");
  return o;
}

// The same with the limits as _Instance() takes them: None, or a tuple of kLimitCount entries.
StoreOptions parse_store_options(const char* who, nb::handle timeout, nb::handle fuel, nb::handle limits,
                                 nb::handle release_gil) {
  nb::handle each[kLimitCount];
  for (auto& h : each) h = nb::none();
  if (!limits.is_none()) {
    nb::tuple t = nb::cast<nb::tuple>(limits);
    if (t.size() != kLimitCount) throw nb::value_error("_Instance(): limits must have 5 entries");
    for (size_t i = 0; i < kLimitCount; ++i) each[i] = t[i];
  }
  return parse_store_options(who, timeout, fuel, each, release_gil);
}

// Applies the options to a new store, before anything is instantiated in it.
void configure_store(Store& store, const StoreOptions& o, const char* who) {
  if (o.limits.any()) store.set_limits(o.limits);
  if (o.fuel)
    if (auto r = store.set_fuel(*o.fuel); !r) throw_error_in(std::string(who) + " argument 'fuel'", std::move(r).error());
  if (o.timeout.count() != 0)
    if (auto r = store.set_timeout(o.timeout); !r)
      throw_error_in(std::string(who) + " argument 'timeout'", std::move(r).error());
  if (o.release_gil) py_state(store).release_gil = true;
}

}  // namespace wasmffi::py
