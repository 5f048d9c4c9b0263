// Cancelling one instance's running call from any thread (Instance.cancel, Instance.canceller).
#include "cancel.hpp"

#include <memory>

#include "wasi_block.hpp"

namespace wasmffi::py {

bool cancel_store(Store& store) noexcept {
  if (!store.request_cancel()) return false;
  wake_blocked_calls();
  return true;
}

bool instance_cancel(PyInstance& pi) {
  if (!pi.inst) throw nb::value_error("Instance.cancel(): the instance is not initialised");
  return cancel_store(pi.inst->store());
}

Canceller instance_canceller(PyInstance& pi) {
  if (!pi.inst) throw nb::value_error("Instance.canceller(): the instance is not initialised");
  return Canceller{pi.inst->store_shared()};
}

void bind_cancel(nb::module_& m) {
  nb::class_<Canceller>(m, "Canceller",
                        "Stops the call running in one instance when called, from any thread "
                        "(Instance.canceller()); holds the instance weakly.")
      .def(
          "__call__",
          [](Canceller& c) {
            // Locked for the duration only: if the instance went meanwhile, this thread may end
            // up dropping its store, which it can (it holds the GIL).
            std::shared_ptr<Store> s = c.store.lock();
            return s != nullptr && cancel_store(*s);
          },
          "__call__(self) -> bool\n\nStops the instance's running call, which raises wasmffi.Cancelled; True if "
          "a call was running, False if none was (or the instance is gone): then nothing happens.")
      .def_prop_ro(
          "alive", [](Canceller& c) { return !c.store.expired(); },
          "Whether the instance's store still exists.")
      .def("__repr__", [](Canceller& c) {
        return c.store.expired() ? "<wasmffi.Canceller of a dropped instance>" : "<wasmffi.Canceller>";
      });
}

}  // namespace wasmffi::py
