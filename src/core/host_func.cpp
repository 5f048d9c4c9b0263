// Host function creation from a module's import declarations.
#include "wasmffi/host_func.hpp"

#include <string>

namespace wasmffi {

Result<wasmtime_func_t> new_host_func(Store& store, const Module& module, size_t index,
                                      wasmtime_func_unchecked_callback_t callback, void* env,
                                      void (*finalizer)(void*)) {
  // The type comes from the module itself, so a host function can never disagree with the
  // import it satisfies (instantiation would refuse it); kept by the module since compile time.
  const wasm_functype_t* type = module.import_functype(index);
  if (type == nullptr) {
    finalizer(env);
    return make_error(ErrorKind::Link, "import " + std::to_string(index) + " is not a function import");
  }
  wasmtime_func_t func;
  wasmtime_func_new_unchecked(store.context(), type, callback, env, finalizer, &func);
  return func;
}

}  // namespace wasmffi
