// Host function creation from a module's import declarations.
#include "wasmffi/host_func.hpp"

#include <string>

namespace wasmffi {

Result<wasmtime_func_t> new_host_func(Store& store, const Module& module, size_t index,
                                      wasmtime_func_unchecked_callback_t callback, void* env,
                                      void (*finalizer)(void*)) {
  // The type comes from the module itself, so a host function can never disagree with the
  // import it satisfies (instantiation would refuse it); described at definition time only.
  wasm_importtype_vec_t imports;
  wasmtime_module_imports(module.capi(), &imports);
  const wasm_functype_t* type = nullptr;
  if (index < imports.size)
    type = wasm_externtype_as_functype_const(wasm_importtype_type(imports.data[index]));
  if (type == nullptr) {
    wasm_importtype_vec_delete(&imports);
    finalizer(env);
    return make_error(ErrorKind::Link, "import " + std::to_string(index) + " is not a function import");
  }
  wasmtime_func_t func;
  wasmtime_func_new_unchecked(store.context(), type, callback, env, finalizer, &func);
  wasm_importtype_vec_delete(&imports);
  return func;
}

}  // namespace wasmffi
