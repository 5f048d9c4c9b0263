// Shared helpers for the C++ tests: engine/instance setup from WAT, export lookup, value checks.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "wasmffi/call.hpp"
#include "wasmffi/engine.hpp"
#include "wasmffi/global.hpp"
#include "wasmffi/instance.hpp"
#include "wasmffi/memory.hpp"
#include "wasmffi/module.hpp"
#include "wasmffi/result.hpp"
#include "wasmffi/types.hpp"

// Readable GoogleTest output for the core's enums (found by ADL).
namespace wasmffi {
inline void PrintTo(ErrorKind k, std::ostream* os) {
  static const char* const names[] = {"Compile", "Link", "Trap", "MemoryAccess",
                                      "Argument", "Resource", "Exit", "Engine"};
  const auto i = static_cast<size_t>(k);
  *os << "ErrorKind::" << (i < std::size(names) ? names[i] : "?");
}
inline void PrintTo(TrapKind k, std::ostream* os) { *os << "TrapKind::" << trap_kind_name(k); }
inline void PrintTo(ValKind k, std::ostream* os) { *os << val_kind_name(k); }
inline void PrintTo(ExternKind k, std::ostream* os) { *os << extern_kind_name(k); }
}  // namespace wasmffi

namespace wasmffi::test {

// Setup failures are not what a test checks: they throw, and GoogleTest reports the exception
// (with the core's message) as a failure of the test that hit it.
template <class T>
T unwrap(Result<T> r, std::string_view what = "operation") {
  if (!r) throw std::runtime_error(std::string(what) + " failed: " + r.error().message);
  return std::move(r).value();
}
inline void unwrap(Result<void> r, std::string_view what = "operation") {
  if (!r) throw std::runtime_error(std::string(what) + " failed: " + r.error().message);
}

// One default engine per test process (ctest runs every test in a process of its own).
inline std::shared_ptr<Engine> default_engine() {
  static std::shared_ptr<Engine> engine = unwrap(Engine::create(), "Engine::create");
  return engine;
}

inline std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path + " (run `make guest`)");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::string guest_path(const char* name) {
  return std::string(WASMFFI_GUEST_DIR) + "/" + name;
}

// An instance plus by-name access to its exports.
struct Loaded {
  std::unique_ptr<Instance> instance;

  wasmtime_context_t* ctx() const { return instance->context(); }

  wasmtime_extern_t item(std::string_view name, ExternKind kind) const {
    auto e = instance->export_get(name);
    if (!e) throw std::runtime_error("no export named " + std::string(name));
    if (e->kind != kind)
      throw std::runtime_error("export " + std::string(name) + " is a " + extern_kind_name(e->kind));
    return e->item;
  }
  wasmtime_func_t func(std::string_view name) const { return item(name, ExternKind::Func).of.func; }
  wasmtime_global_t global(std::string_view name) const {
    return item(name, ExternKind::Global).of.global;
  }
  GuestMemory memory(std::string_view name = "memory") const {
    return GuestMemory(ctx(), item(name, ExternKind::Memory).of.memory);
  }
  CallPlan plan(std::string_view name) const { return CallPlan::for_func(ctx(), func(name)); }

  // The checked call path: plan resolved per call (tests only; the binding caches plans).
  Result<std::vector<Value>> call(std::string_view name, std::initializer_list<Value> args = {}) const {
    wasmtime_func_t f = func(name);
    CallPlan p = CallPlan::for_func(ctx(), f);
    return wasmffi::call(ctx(), f, p, std::span<const Value>(args.begin(), args.size()));
  }
  // Calls a function expected to succeed with exactly one result.
  Value call1(std::string_view name, std::initializer_list<Value> args = {}) const {
    auto r = unwrap(call(name, args), "call " + std::string(name));
    if (r.size() != 1) throw std::runtime_error("expected one result from " + std::string(name));
    return r[0];
  }
  int32_t i32(std::string_view name, std::initializer_list<Value> args = {}) const {
    Value v = call1(name, args);
    if (v.kind != ValKind::I32) throw std::runtime_error("result is not i32");
    return v.of.i32;
  }
  int64_t i64(std::string_view name, std::initializer_list<Value> args = {}) const {
    Value v = call1(name, args);
    if (v.kind != ValKind::I64) throw std::runtime_error("result is not i64");
    return v.of.i64;
  }
};

inline Loaded load_module(std::shared_ptr<const Module> module) {
  return Loaded{unwrap(Instance::create(std::move(module)), "Instance::create")};
}
inline Loaded load_wat(std::string_view wat, std::shared_ptr<Engine> engine = default_engine()) {
  return load_module(unwrap(Module::from_wat(std::move(engine), wat), "Module::from_wat"));
}
inline Loaded load_guest(const char* file) {
  auto bytes = read_file(guest_path(file));
  return load_module(unwrap(Module::compile(default_engine(), bytes), "Module::compile"));
}

// Bit patterns of floats, for exact comparisons (NaN, -0.0).
inline uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline uint64_t bits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  return u;
}
inline float f32_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline double f64_from_bits(uint64_t u) {
  double d;
  std::memcpy(&d, &u, sizeof d);
  return d;
}

// The bit pattern of an unsigned 32-bit address, as the int32_t the guest's i32 param carries.
inline int32_t as_i32(uint32_t u) { return static_cast<int32_t>(u); }
inline int64_t as_i64(uint64_t u) { return static_cast<int64_t>(u); }

}  // namespace wasmffi::test
