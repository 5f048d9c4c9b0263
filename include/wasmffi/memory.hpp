// GuestMemory: checked access to a linear memory. Addresses are unsigned 64-bit values for 32-
// and 64-bit memories alike; every access checks [addr, addr+len) against the current size with
// overflow-safe arithmetic before touching a byte, so nothing is ever written partially.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>

#include <wasmtime.h>

#include "wasmffi/result.hpp"
#include "wasmffi/types.hpp"

namespace wasmffi {

// Why memory never dangles: engines are built with memory_may_move = false, so the base pointer
// returned by wasmtime_memory_data is fixed for the memory's life, and memories never shrink.
// A span checked once stays valid for as long as the store lives. Growth beyond the engine's
// memory_reservation fails instead of moving the memory.
class GuestMemory {
 public:
  GuestMemory(wasmtime_context_t* ctx, wasmtime_memory_t mem);

  uint64_t size() const noexcept { return wasmtime_memory_data_size(ctx_, &mem_); }
  uint64_t pages() const noexcept { return wasmtime_memory_size(ctx_, &mem_); }
  uint64_t page_size() const noexcept { return desc_.page_size; }
  bool is64() const noexcept { return desc_.is64; }
  const MemoryDesc& desc() const noexcept { return desc_; }
  // Largest address the memory's index type can express (2^32-1 or 2^64-1).
  uint64_t address_limit() const noexcept { return desc_.is64 ? UINT64_MAX : UINT32_MAX; }
  uint8_t* base() const noexcept { return wasmtime_memory_data(ctx_, &mem_); }

  // Returns the previous size in pages.
  Result<uint64_t> grow(uint64_t delta_pages);

  // The checked primitive every other access goes through. `what` names the operation in the
  // error ("read", "write", ...).
  Result<std::span<uint8_t>> span(uint64_t addr, uint64_t len, const char* what = "access") const;

  Result<void> read(uint64_t addr, std::span<uint8_t> out) const;
  Result<void> write(uint64_t addr, std::span<const uint8_t> data);

  // Little-endian typed loads and stores (the wasm byte order, and the host's on every
  // platform the engine supports here: memcpy compiles to a single move).
  template <class T>
  Result<T> load(uint64_t addr) const {
    static_assert(std::is_trivially_copyable_v<T>);
    auto s = span(addr, sizeof(T), "read");
    if (!s) return std::move(s).error();
    T v;
    std::memcpy(&v, s->data(), sizeof(T));
    return v;
  }
  template <class T>
  Result<void> store(uint64_t addr, T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    auto s = span(addr, sizeof(T), "write");
    if (!s) return std::move(s).error();
    std::memcpy(s->data(), &v, sizeof(T));
    return {};
  }

  // Reads a pointer-sized field (u32 or u64 by memory type) as an unsigned address.
  Result<uint64_t> load_pointer(uint64_t addr) const;

  wasmtime_context_t* context() const noexcept { return ctx_; }
  const wasmtime_memory_t& capi() const noexcept { return mem_; }

 private:
  wasmtime_context_t* ctx_;
  wasmtime_memory_t mem_;
  MemoryDesc desc_;
};

// "read of 8 byte(s) at address 0xfffffffc is out of bounds of guest memory of 65536 bytes (0x10000)".
Error out_of_bounds(const char* what, uint64_t addr, uint64_t len, uint64_t size);

}  // namespace wasmffi
