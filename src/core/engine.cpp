// Engine creation with the project's memory policy, and conversion of engine errors.
#include "wasmffi/engine.hpp"

#include <cstdint>
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
  if (config.pooling_slots > 0) {
    if (config.memory_reservation > SIZE_MAX)
      return make_error(ErrorKind::Argument, "memory_reservation does not fit this platform's address space");
    wasmtime_pooling_allocation_config_t* pool = wasmtime_pooling_allocation_config_new();
    const uint32_t n = config.pooling_slots;
    wasmtime_pooling_allocation_config_total_core_instances_set(pool, n);
    wasmtime_pooling_allocation_config_total_memories_set(pool, n);
    wasmtime_pooling_allocation_config_total_tables_set(pool, n);
    wasmtime_pooling_allocation_config_total_gc_heaps_set(pool, n);
    // A memory may grow as far as its reservation, as on demand (memories never move).
    wasmtime_pooling_allocation_config_max_memory_size_set(pool, static_cast<size_t>(config.memory_reservation));
    // Per-module shape limits, raised from wasmtime's 1 memory / 1 table / 20000 elements / 1 MiB
    // of instance metadata so that modules which instantiate on demand also do here (multi-memory
    // is on). They cost address space per slot, not memory: the pool commits what is used.
    wasmtime_pooling_allocation_config_max_memories_per_module_set(pool, 16);
    wasmtime_pooling_allocation_config_max_tables_per_module_set(pool, 16);
    wasmtime_pooling_allocation_config_table_elements_set(pool, size_t{1} << 20);
    wasmtime_pooling_allocation_config_max_core_instance_size_set(pool, size_t{4} << 20);
    // Freed slots are reset with one process_madvise per 16 ranges (a memory or a table each)
    // rather than one madvise per range: 2.3 us against 3.6 us per create+drop (docs/design.md).
    // A pool too small for a batch to matter resets each at once; an allocation that finds no
    // free slot flushes the pending batch first either way.
    if (n >= 256) wasmtime_pooling_allocation_config_decommit_batch_size_set(pool, 16);
    wasmtime_pooling_allocation_strategy_set(cfg, pool);  // copies the settings
    wasmtime_pooling_allocation_config_delete(pool);
  }
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
