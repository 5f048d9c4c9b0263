// Engine creation with the project's memory policy, and conversion of engine errors.
#include "wasmffi/engine.hpp"

#include <string>

namespace wasmffi {

namespace detail {
std::atomic<size_t> g_largest_stack_need{0};
}  // namespace detail

Error take_error(wasmtime_error_t* err, ErrorKind kind) {
  wasm_name_t msg;
  wasmtime_error_message(err, &msg);
  std::string text(msg.data, msg.size);
  wasm_byte_vec_delete(&msg);
  wasmtime_error_delete(err);
  return make_error(kind, std::move(text));
}

Result<std::shared_ptr<Engine>> Engine::create(const EngineConfig& config) {
  if (config.opt_level < 0 || config.opt_level > 2)
    return make_error(ErrorKind::Argument, "opt_level must be 0, 1 or 2");
  wasm_config_t* cfg = wasm_config_new();
  // Fixed-base memories: the foundation of views that cannot dangle (see memory.hpp).
  wasmtime_config_memory_may_move_set(cfg, false);
  wasmtime_config_memory_reservation_set(cfg, config.memory_reservation);
  wasmtime_config_memory_reservation_for_growth_set(cfg, 0);
  wasmtime_config_memory_guard_size_set(cfg, config.memory_guard_size);
  wasmtime_config_wasm_memory64_set(cfg, config.memory64);
  wasmtime_config_wasm_multi_memory_set(cfg, config.multi_memory);
  wasmtime_config_consume_fuel_set(cfg, config.consume_fuel);
  wasmtime_config_epoch_interruption_set(cfg, config.epoch_interruption);
  wasmtime_config_max_wasm_stack_set(cfg, config.max_wasm_stack);
  static constexpr wasmtime_opt_level_t kLevels[] = {WASMTIME_OPT_LEVEL_NONE, WASMTIME_OPT_LEVEL_SPEED,
                                                     WASMTIME_OPT_LEVEL_SPEED_AND_SIZE};
  wasmtime_config_cranelift_opt_level_set(cfg, kLevels[config.opt_level]);
  wasm_engine_t* raw = nullptr;
  if (wasmtime_error_t* err = wasmffi_engine_new(cfg, &raw))  // consumes cfg
    return take_error(err, ErrorKind::Argument);
  const size_t need = config.max_wasm_stack + kHostStackMargin;
  size_t seen = detail::g_largest_stack_need.load(std::memory_order_relaxed);
  while (seen < need && !detail::g_largest_stack_need.compare_exchange_weak(seen, need, std::memory_order_relaxed)) {
  }
  return std::shared_ptr<Engine>(new Engine(raw, config));
}

}  // namespace wasmffi
