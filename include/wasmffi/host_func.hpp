// Host functions: functions the embedder implements, created in a store with the type an import declares.
#pragma once

#include <cstddef>

#include <wasmtime.h>

#include "wasmffi/instance.hpp"
#include "wasmffi/module.hpp"
#include "wasmffi/result.hpp"

namespace wasmffi {

// Creates a host function in `store` typed as the module's import number `index` (which must be
// a function import), on wasmtime's unchecked fast path: `callback` gets one raw array holding
// the arguments, and writes the results over it. wasmtime owns `env` from then on and calls
// `finalizer` on it when the store dies; on failure `finalizer` has already been called.
Result<wasmtime_func_t> new_host_func(Store& store, const Module& module, size_t index,
                                      wasmtime_func_unchecked_callback_t callback, void* env,
                                      void (*finalizer)(void*));

}  // namespace wasmffi
