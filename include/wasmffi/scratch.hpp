// Guest memory for marshalling: the guest allocator a module exports, and per-call scratch blocks
// taken from it, wiped and released after every call (success, error and trap alike).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <wasmtime.h>

#include "wasmffi/instance.hpp"
#include "wasmffi/memory.hpp"
#include "wasmffi/result.hpp"

namespace wasmffi {

enum class AllocatorKind : uint8_t { None, Bump, Malloc, CabiRealloc };
const char* allocator_kind_name(AllocatorKind k) noexcept;

// One call's scratch: [addr, addr + size), 16-byte aligned. `arena` says where it came from.
struct ScratchBlock {
  uint64_t addr = 0;
  uint64_t size = 0;
  uint8_t* data = nullptr;  // host address of `addr`: checked once, when the block was made
  bool arena = false;       // carved from the arena (released by moving its top back)
};

// The allocator and its strategy, chosen once per instance (see docs/design.md, "Scratch").
//
// - Bump whose release wipes (the SDK's bump_alloc + bump_mark/bump_release; probed once: a
//   released block must read back as zeros): an arena of 64 KiB from one bump_alloc, whose
//   first 16 bytes hold a random canary. The allocator zeroes whatever a reset or release frees,
//   so an intact canary proves the arena is still allocated to us; it is read from C++ before
//   and after every call (no wasm entry). A reset (by the user between calls, or by the guest
//   during one) is seen as a missing canary: the arena is dropped, never wiped (the guest may
//   already have reused it), and a new one is taken on the next call.
// - Other bump allocators, and requests larger than the arena: one bump_alloc per call; after
//   the call bump_mark tells whether anything was allocated after the block. If not,
//   bump_release frees it; if the guest allocated (and may return) memory above it, the block
//   is only wiped and stays allocated until the guest's next reset; if the guest reset or
//   released below the block's end, the block is no longer ours and is left alone. Without
//   bump_mark/bump_release the block is wiped and left for the guest's bump_reset.
// - Malloc (malloc/free) and CabiRealloc (cabi_realloc): an arena of 64 KiB taken once from the
//   allocator and never given back, carved as a stack in C++: no wasm entry per call. A request
//   that does not fit takes its own block (malloc + free; cabi_realloc: a larger arena).
//   Safe because nothing but wasmffi knows the arena's address, so the guest cannot free it.
// Every block is zeroed before it is released or handed back to the arena.
class GuestAllocator {
 public:
  // `choice`: "auto" (bump, then malloc, then cabi_realloc), one of those names, or "none".
  // Exports that exist with the wrong wasm type are an error naming them. `is64`: the memory's
  // address width, which the allocator's pointers must have.
  static Result<GuestAllocator> find(const Instance& inst, std::string_view choice, bool is64);

  AllocatorKind kind() const noexcept { return kind_; }
  // What a module must export for marshalling that copies, for "no allocator" errors.
  static const char* requirement() noexcept;

  Result<ScratchBlock> begin(wasmtime_context_t* ctx, GuestMemory& mem, uint64_t size);
  // Wipes and releases (by the strategy above). Safe to call after a trap.
  Result<void> end(wasmtime_context_t* ctx, GuestMemory& mem, const ScratchBlock& b);

  // The user-facing allocation behind inst.scratch(): one block from the allocator (never the
  // arena), released by release_user (wiped first). Bump blocks are released as a group by
  // `bump_release(mark)`: mark()/release_to() expose that.
  Result<uint64_t> alloc(wasmtime_context_t* ctx, uint64_t size);
  Result<void> free(wasmtime_context_t* ctx, uint64_t addr);
  bool has_mark() const noexcept { return has_mark_; }
  Result<uint64_t> mark(wasmtime_context_t* ctx);
  Result<void> release_to(wasmtime_context_t* ctx, uint64_t mark);

 private:
  Result<uint64_t> call_ptr(wasmtime_context_t* ctx, const wasmtime_func_t& f, std::initializer_list<uint64_t> args,
                            bool has_result);

  AllocatorKind kind_ = AllocatorKind::None;
  bool is64_ = false;
  bool has_mark_ = false;
  wasmtime_func_t alloc_{};    // bump_alloc / malloc / cabi_realloc
  wasmtime_func_t free_{};     // bump_release / free
  wasmtime_func_t mark_{};     // bump_mark
  bool arena_ok();               // Bump: whether the canary is intact (false drops the arena)
  Result<bool> probe_wipe(wasmtime_context_t* ctx, GuestMemory& mem);

  // The memory's host base, read once: engines never move memories (memory.hpp), and memories
  // never shrink, so a range checked once stays valid. Every wasmtime_memory_data(_size) call
  // is an FFI call into the engine (~15 ns each), which per call would cost more than the copy.
  uint8_t* base_ = nullptr;
  int bump_arena_ = -1;         // Bump: -1 not probed yet, 0 release does not wipe, 1 arena in use
  uint8_t canary_[16] = {};
  uint64_t arena_ = 0;         // the arena's address (0: not taken yet)
  uint64_t arena_size_ = 0;
  uint64_t arena_top_ = 0;     // offset of the first free byte
};

}  // namespace wasmffi
