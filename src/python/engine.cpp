// Engine: a compilation environment and the memory/fuel/epoch policy its stores inherit.
#include <nanobind/nanobind.h>

#include "binding.hpp"

namespace wasmffi::py {

void bind_engine(nb::module_& m) {
  nb::class_<PyEngine>(m, "Engine", "A compilation environment; modules compiled for it share its settings.")
      .def(
          "__init__",
          [](PyEngine* self, uint64_t memory_reservation, uint64_t memory_guard_size, bool memory64, bool consume_fuel,
             bool epoch_interruption, int opt_level) {
            EngineConfig cfg;
            cfg.memory_reservation = memory_reservation;
            cfg.memory_guard_size = memory_guard_size;
            cfg.memory64 = memory64;
            cfg.consume_fuel = consume_fuel;
            cfg.epoch_interruption = epoch_interruption;
            cfg.opt_level = opt_level;
            new (self) PyEngine{unwrap(Engine::create(cfg))};
          },
          nb::kw_only(), nb::arg("memory_reservation") = EngineConfig{}.memory_reservation,
          nb::arg("memory_guard_size") = EngineConfig{}.memory_guard_size, nb::arg("memory64") = true,
          nb::arg("consume_fuel") = false, nb::arg("epoch_interruption") = false, nb::arg("opt_level") = 1)
      .def_prop_ro("memory_reservation", [](PyEngine& e) { return e.engine->config().memory_reservation; })
      .def_prop_ro("memory64", [](PyEngine& e) { return e.engine->config().memory64; })
      .def_prop_ro("consume_fuel", [](PyEngine& e) { return e.engine->config().consume_fuel; })
      .def_prop_ro("epoch_interruption", [](PyEngine& e) { return e.engine->config().epoch_interruption; })
      .def("increment_epoch", [](PyEngine& e) { e.engine->increment_epoch(); },
           "Advances the engine's epoch by one tick (safe to call from any thread).");
}

}  // namespace wasmffi::py
