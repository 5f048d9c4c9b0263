// What the memory and marshal harnesses share: ending the run on a broken promise, and an engine
// without a ticker (nothing they run loops) with a WAT compiler that ends the run on failure.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "wasmffi/engine.hpp"
#include "wasmffi/module.hpp"

namespace fuzz_common {

// `harness` names the fuzzer in the message (libFuzzer then saves the input that got here).
[[noreturn]] inline void fail(const char* harness, const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "%s: %s %s\n", harness, what, detail.c_str());
  std::abort();
}

inline std::shared_ptr<wasmffi::Engine> quiet_engine(const char* harness) {
  wasmffi::EngineConfig c;
  c.epoch_interruption = false;
  auto e = wasmffi::Engine::create(c);
  if (!e) fail(harness, "Engine::create:", e.error().message);
  return std::move(e).value();
}

inline std::shared_ptr<const wasmffi::Module> compile(const char* harness, const std::shared_ptr<wasmffi::Engine>& engine,
                                                       const char* wat) {
  auto r = wasmffi::Module::from_wat(engine, wat);
  if (!r) fail(harness, "from_wat:", r.error().message);
  return std::move(r).value();
}

}  // namespace fuzz_common
