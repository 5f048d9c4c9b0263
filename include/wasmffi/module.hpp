// Module: wasm compiled once for an Engine; immutable and shareable between instances and threads.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include <wasmtime.h>

#include "wasmffi/engine.hpp"
#include "wasmffi/handle.hpp"
#include "wasmffi/result.hpp"
#include "wasmffi/types.hpp"

namespace wasmffi {

class Module {
 public:
  static Result<std::shared_ptr<const Module>> compile(std::shared_ptr<Engine> engine,
                                                       std::span<const uint8_t> wasm);
  // Text format; errors carry wasmtime's message with line and column.
  static Result<std::shared_ptr<const Module>> from_wat(std::shared_ptr<Engine> engine,
                                                        std::string_view wat);

  const std::vector<ExternDesc>& imports() const noexcept { return imports_; }
  const std::vector<ExternDesc>& exports() const noexcept { return exports_; }
  const std::shared_ptr<Engine>& engine() const noexcept { return engine_; }
  wasmtime_module_t* capi() const noexcept { return module_.capi(); }

 private:
  Module(std::shared_ptr<Engine> engine, wasmtime_module_t* raw);
  std::shared_ptr<Engine> engine_;
  Owned<wasmtime_module_t, wasmtime_module_delete> module_;
  std::vector<ExternDesc> imports_;  // described once at compile time
  std::vector<ExternDesc> exports_;
};

}  // namespace wasmffi
