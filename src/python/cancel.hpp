// Instance.cancel() and Instance.canceller(): stopping one instance's running call from any thread.
#pragma once

#include <nanobind/nanobind.h>

#include <memory>

#include "binding.hpp"

namespace wasmffi::py {

// What Instance.canceller() returns. It holds the store weakly: it neither keeps the instance
// alive nor fails once the instance is gone (it then has nothing to cancel and returns False).
struct Canceller {
  std::weak_ptr<Store> store;
};

// Asks the call running in `store` to stop (Store::request_cancel) and wakes a blocking WASI call
// of it (wasi_block.hpp). true: a call ran, and fails with wasmffi.Cancelled; false: none ran.
// Needs the GIL (the call's claim on the store only changes with it held).
bool cancel_store(Store& store) noexcept;

// The _Canceller type and the _Instance methods' bodies.
void bind_cancel(nb::module_& m);
bool instance_cancel(PyInstance& pi);
Canceller instance_canceller(PyInstance& pi);

}  // namespace wasmffi::py
