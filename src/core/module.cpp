// Module compilation (binary or WAT), artifact (de)serialization, and the one-time description of
// imports and exports.
#include "wasmffi/module.hpp"

#include <string>

// wasmtime_module_new on a compile thread pool that survives fork() (engine/src/lib.rs): with
// rayon's global pool, a forked child that compiles waits forever.
extern "C" wasmtime_error_t* wasmffi_module_new(const wasm_engine_t* engine, const uint8_t* wasm, size_t len,
                                                wasmtime_module_t** out);

namespace wasmffi {

Module::Module(std::shared_ptr<Engine> engine, wasmtime_module_t* raw)
    : engine_(std::move(engine)), module_(raw) {
  wasm_importtype_vec_t imps;
  wasmtime_module_imports(raw, &imps);
  for (size_t i = 0; i < imps.size; ++i) {
    const wasm_externtype_t* type = wasm_importtype_type(imps.data[i]);
    ExternDesc d = describe(type);
    const wasm_functype_t* func = wasm_externtype_as_functype_const(type);
    import_functypes_.emplace_back(func == nullptr ? nullptr : wasm_functype_copy(func));
    const wasm_name_t* m = wasm_importtype_module(imps.data[i]);
    const wasm_name_t* n = wasm_importtype_name(imps.data[i]);
    d.module.assign(m->data, m->size);
    d.name.assign(n->data, n->size);
    imports_.push_back(std::move(d));
  }
  wasm_importtype_vec_delete(&imps);

  wasm_exporttype_vec_t exps;
  wasmtime_module_exports(raw, &exps);
  for (size_t i = 0; i < exps.size; ++i) {
    ExternDesc d = describe(wasm_exporttype_type(exps.data[i]));
    const wasm_name_t* n = wasm_exporttype_name(exps.data[i]);
    d.name.assign(n->data, n->size);
    exports_.push_back(std::move(d));
  }
  wasm_exporttype_vec_delete(&exps);
}

Result<std::shared_ptr<const Module>> Module::compile(std::shared_ptr<Engine> engine,
                                                      std::span<const uint8_t> wasm) {
  wasmtime_module_t* raw = nullptr;
  if (wasmtime_error_t* err = wasmffi_module_new(engine->capi(), wasm.data(), wasm.size(), &raw))
    return take_error(err, ErrorKind::Compile);
  return std::shared_ptr<const Module>(new Module(std::move(engine), raw));
}

Result<std::shared_ptr<const Module>> Module::from_wat(std::shared_ptr<Engine> engine,
                                                       std::string_view wat) {
  wasm_byte_vec_t bytes;
  if (wasmtime_error_t* err = wasmtime_wat2wasm(wat.data(), wat.size(), &bytes))
    return take_error(err, ErrorKind::Compile);
  auto result = compile(std::move(engine),
                        std::span(reinterpret_cast<const uint8_t*>(bytes.data), bytes.size));
  wasm_byte_vec_delete(&bytes);
  return result;
}

Result<std::shared_ptr<const Module>> Module::deserialize(std::shared_ptr<Engine> engine,
                                                          std::span<const uint8_t> artifact) {
  wasmtime_module_t* raw = nullptr;
  if (wasmtime_error_t* err = wasmtime_module_deserialize(engine->capi(), artifact.data(), artifact.size(), &raw))
    return take_error(err, ErrorKind::Compile);
  return std::shared_ptr<const Module>(new Module(std::move(engine), raw));
}

Result<std::vector<uint8_t>> Module::serialize() const {
  wasm_byte_vec_t bytes;
  if (wasmtime_error_t* err = wasmtime_module_serialize(module_.capi(), &bytes))
    return take_error(err, ErrorKind::Engine);
  std::vector<uint8_t> out(reinterpret_cast<const uint8_t*>(bytes.data),
                           reinterpret_cast<const uint8_t*>(bytes.data) + bytes.size);
  wasm_byte_vec_delete(&bytes);
  return out;
}

}  // namespace wasmffi
