// Checked guest-memory access: the one bounds check every read, write and view goes through.
#include "wasmffi/memory.hpp"

#include <cinttypes>
#include <cstdio>

#include "wasmffi/engine.hpp"
#include "wasmffi/instance.hpp"

namespace wasmffi {

GuestMemory::GuestMemory(wasmtime_context_t* ctx, wasmtime_memory_t mem) : ctx_(ctx), mem_(mem) {
  wasm_memorytype_t* ty = wasmtime_memory_type(ctx, &mem);
  desc_ = describe(ty);
  wasm_memorytype_delete(ty);
}

Error out_of_bounds(const char* what, uint64_t addr, uint64_t len, uint64_t size) {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "%s of %" PRIu64 " byte(s) at address 0x%" PRIx64 " is out of bounds of guest memory of %" PRIu64
                " bytes (0x%" PRIx64 ")",
                what, len, addr, size, size);
  return make_error(ErrorKind::MemoryAccess, buf);
}

Result<std::span<uint8_t>> GuestMemory::span(uint64_t addr, uint64_t len, const char* what) const {
  const uint64_t size = this->size();
  // Overflow-safe: never compute addr + len.
  if (addr > size || len > size - addr) [[unlikely]]
    return out_of_bounds(what, addr, len, size);
  return std::span<uint8_t>(base() + addr, static_cast<size_t>(len));
}

Result<void> GuestMemory::read(uint64_t addr, std::span<uint8_t> out) const {
  auto s = span(addr, out.size(), "read");
  if (!s) return std::move(s).error();
  // memmove: `out` may itself be a view of this memory, overlapping the source either way.
  if (!out.empty()) std::memmove(out.data(), s->data(), out.size());
  return {};
}

Result<void> GuestMemory::write(uint64_t addr, std::span<const uint8_t> data) {
  auto s = span(addr, data.size(), "write");
  if (!s) return std::move(s).error();
  if (!data.empty()) std::memmove(s->data(), data.data(), data.size());  // data may alias, as above
  return {};
}

Result<uint64_t> GuestMemory::load_pointer(uint64_t addr) const {
  if (desc_.is64) return load<uint64_t>(addr);
  auto v = load<uint32_t>(addr);
  if (!v) return std::move(v).error();
  return uint64_t{*v};
}

Result<uint64_t> GuestMemory::grow(uint64_t delta_pages) {
  uint64_t prev = 0;
  if (wasmtime_error_t* err = wasmtime_memory_grow(ctx_, &mem_, delta_pages, &prev)) {
    Error e = take_error(err, ErrorKind::Resource);
    // A store made by Store (not a raw wasmtime store) may have a max_memory= limit: name it
    // first, since it is the likelier cause than the reservation.
    std::string limit;
    if (wasmtime_context_get_data(ctx_) != nullptr)
      if (const int64_t cap = Store::of(ctx_).limits().memory_size; cap >= 0)
        limit = "this instance's max_memory=" + std::to_string(cap) + " bytes, ";
    e.message = "cannot grow memory of " + std::to_string(pages()) + " page(s) by " +
                std::to_string(delta_pages) + " page(s): " + e.message + " (" + limit +
                "memories never move, so they cannot grow past their declared maximum or the "
                "engine's memory_reservation; see Engine(memory_reservation=...))";
    return e;
  }
  return prev;
}

}  // namespace wasmffi
