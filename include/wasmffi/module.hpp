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
  // Rebuilds a module from serialize()'s bytes without compiling. UNSAFE on bytes this process
  // did not produce: wasmtime maps them as executable code after checking only a header (engine
  // version and settings), so the caller must prove their origin first (python/wasmffi/_cache.py
  // checks a keyed MAC). A header wasmtime rejects is an ErrorKind::Compile, never an abort.
  static Result<std::shared_ptr<const Module>> deserialize(std::shared_ptr<Engine> engine,
                                                           std::span<const uint8_t> artifact);
  // The compiled artifact (machine code and metadata), loadable by deserialize() on an engine
  // of the same wasmtime version and settings.
  Result<std::vector<uint8_t>> serialize() const;

  const std::vector<ExternDesc>& imports() const noexcept { return imports_; }
  // The type of function import `index` (nullptr for another kind, or past the end), kept from
  // compile time: a host function made for every instance needs it, and asking wasmtime for the
  // module's imports each time cost O(imports) per host function (40 imports: 228 us to
  // instantiate).
  const wasm_functype_t* import_functype(size_t index) const noexcept {
    return index < import_functypes_.size() ? import_functypes_[index].capi() : nullptr;
  }
  const std::vector<ExternDesc>& exports() const noexcept { return exports_; }
  const std::shared_ptr<Engine>& engine() const noexcept { return engine_; }
  wasmtime_module_t* capi() const noexcept { return module_.capi(); }

 private:
  Module(std::shared_ptr<Engine> engine, wasmtime_module_t* raw);
  std::shared_ptr<Engine> engine_;
  Owned<wasmtime_module_t, wasmtime_module_delete> module_;
  std::vector<ExternDesc> imports_;  // described once at compile time
  std::vector<Owned<wasm_functype_t, wasm_functype_delete>> import_functypes_;  // parallel to imports_
  std::vector<ExternDesc> exports_;
};

// The wasmtime release the core is built against (from wasmtime.h): artifacts are only valid
// for the exact same release, so cache keys include it.
inline constexpr std::string_view kWasmtimeVersion = WASMTIME_VERSION;

}  // namespace wasmffi
