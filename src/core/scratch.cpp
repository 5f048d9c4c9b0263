// Guest allocators for marshalling and the per-call scratch strategies (see scratch.hpp).
#include "wasmffi/scratch.hpp"

#include <cstdint>
#include <cstring>
#include <random>

#include "wasmffi/call.hpp"

namespace wasmffi {

namespace {

constexpr uint64_t kAlign = 16;
constexpr uint64_t kArenaSize = 64 * 1024;

uint64_t align_up(uint64_t x) { return (x + kAlign - 1) & ~(kAlign - 1); }

struct Wanted {
  const char* name;
  size_t nparams;
  size_t nresults;
};

// The export `name` as a function of `w`'s shape with pointer-width slots, or nullopt if absent.
// `strict` (an allocator the user named): an export of that name with another kind or signature is an
// error. Otherwise (allocator="auto") such an export is simply not an allocator: modules may export
// an unrelated `free` or `malloc`, and that must not keep them from instantiating.
Result<std::optional<wasmtime_func_t>> find_func(const Instance& inst, const Wanted& w, ValKind ptr, bool strict) {
  auto e = inst.export_get(w.name);
  if (!e) return std::optional<wasmtime_func_t>{};
  if (e->kind != ExternKind::Func && !strict) return std::optional<wasmtime_func_t>{};
  if (e->kind != ExternKind::Func)
    return make_error(ErrorKind::Link, std::string("export '") + w.name + "' is not a function");
  wasm_functype_t* ty = wasmtime_func_type(inst.context(), &e->item.of.func);
  FuncSig sig = describe(ty);
  wasm_functype_delete(ty);
  bool ok = sig.params.size() == w.nparams && sig.results.size() == w.nresults;
  for (ValKind k : sig.params) ok &= k == ptr || k == ValKind::I32;
  for (ValKind k : sig.results) ok &= k == ptr;
  if (!ok && !strict) return std::optional<wasmtime_func_t>{};
  if (!ok)
    return make_error(ErrorKind::Link, std::string("allocator export '") + w.name + "' has signature " +
                                           sig.to_string() + ", which is not the allocator's");
  return std::optional<wasmtime_func_t>{e->item.of.func};
}

}  // namespace

const char* allocator_kind_name(AllocatorKind k) noexcept {
  switch (k) {
    case AllocatorKind::Bump: return "bump";
    case AllocatorKind::Malloc: return "malloc";
    case AllocatorKind::CabiRealloc: return "cabi_realloc";
    case AllocatorKind::None: break;
  }
  return "none";
}

const char* GuestAllocator::requirement() noexcept {
  return "export an allocator: bump_alloc (with bump_mark/bump_release, as guest/include/wasmffi_alloc.h "
         "provides), malloc and free, or cabi_realloc; or pass a guest address (an int) instead";
}

Result<GuestAllocator> GuestAllocator::find(const Instance& inst, std::string_view choice, bool is64) {
  GuestAllocator a;
  a.is64_ = is64;  // the memory decides the pointer width: the allocator's functions must use it
  const ValKind ptr = a.is64_ ? ValKind::I64 : ValKind::I32;
  if (choice == "none") return a;
  const bool any = choice == "auto";
  if (any || choice == "bump") {
    auto alloc = find_func(inst, {"bump_alloc", 1, 1}, ptr, !any);
    if (!alloc) return std::move(alloc).error();
    if (*alloc) {
      a.kind_ = AllocatorKind::Bump;
      a.alloc_ = **alloc;
      auto mark = find_func(inst, {"bump_mark", 0, 1}, ptr, !any);
      if (!mark) return std::move(mark).error();
      auto rel = find_func(inst, {"bump_release", 1, 0}, ptr, !any);
      if (!rel) return std::move(rel).error();
      if (*mark && *rel) {
        a.has_mark_ = true;
        a.mark_ = **mark;
        a.free_ = **rel;
      }
      return a;
    }
    if (!any) return make_error(ErrorKind::Link, "allocator='bump': the module exports no bump_alloc");
  }
  if (any || choice == "malloc") {
    auto alloc = find_func(inst, {"malloc", 1, 1}, ptr, !any);
    if (!alloc) return std::move(alloc).error();
    auto fr = find_func(inst, {"free", 1, 0}, ptr, !any);
    if (!fr) return std::move(fr).error();
    if (*alloc && *fr) {
      a.kind_ = AllocatorKind::Malloc;
      a.alloc_ = **alloc;
      a.free_ = **fr;
      return a;
    }
    if (!any) return make_error(ErrorKind::Link, "allocator='malloc': the module does not export both malloc and free");
  }
  if (any || choice == "cabi_realloc") {
    auto alloc = find_func(inst, {"cabi_realloc", 4, 1}, ptr, !any);
    if (!alloc) return std::move(alloc).error();
    if (*alloc) {
      a.kind_ = AllocatorKind::CabiRealloc;
      a.alloc_ = **alloc;
      return a;
    }
    if (!any) return make_error(ErrorKind::Link, "allocator='cabi_realloc': the module exports no cabi_realloc");
  }
  if (any) return a;
  return make_error(ErrorKind::Argument, "allocator must be 'auto', 'bump', 'malloc', 'cabi_realloc' or None, not '" +
                                             std::string(choice) + "'");
}

// Allocator calls are wasmffi's own, not the caller's code: on a fuel engine they run on an
// allowance of their own, and the caller's fuel is put back afterwards. So marshalling never
// spends the user's budget (a call with just enough fuel for its own work still gets its
// arguments copied), and an allocator that runs through its allowance says that it did.
constexpr uint64_t kAllocatorFuel = 100'000'000;

Result<uint64_t> GuestAllocator::call_ptr(wasmtime_context_t* ctx, const wasmtime_func_t& f,
                                          std::initializer_list<uint64_t> args, bool has_result) {
  wasmtime_val_raw_t raw[4] = {};
  size_t i = 0;
  for (uint64_t v : args) {
    if (is64_) raw[i].i64 = static_cast<int64_t>(v);
    else raw[i].i32 = static_cast<int32_t>(static_cast<uint32_t>(v));
    ++i;
  }
  uint64_t saved_fuel = 0;
  bool fuel = Store::of(ctx).engine().config().consume_fuel;
  if (fuel) {
    if (wasmtime_error_t* e = wasmtime_context_get_fuel(ctx, &saved_fuel)) {
      wasmtime_error_delete(e);
      fuel = false;
    } else if (wasmtime_error_t* e2 = wasmtime_context_set_fuel(ctx, kAllocatorFuel)) {
      wasmtime_error_delete(e2);
      fuel = false;
    }
  }
  Result<void> r = call_unchecked(ctx, f, raw, 4);
  if (fuel)
    if (wasmtime_error_t* e = wasmtime_context_set_fuel(ctx, saved_fuel)) wasmtime_error_delete(e);
  if (!r) {
    Error err = std::move(r).error();
    if (fuel && err.kind == ErrorKind::Trap && err.trap == TrapKind::OutOfFuel)
      err.message = std::string("the guest allocator (") + allocator_kind_name(kind_) +
                    ") ran through the fuel wasmffi gives its calls (" + std::to_string(kAllocatorFuel) +
                    "; the caller's own fuel is kept): " + err.message;
    return err;
  }
  if (!has_result) return uint64_t{0};
  return is64_ ? static_cast<uint64_t>(raw[0].i64) : uint64_t{static_cast<uint32_t>(raw[0].i32)};
}

Result<uint64_t> GuestAllocator::alloc(wasmtime_context_t* ctx, uint64_t size) {
  // A wasm32 allocator takes an i32 size: passed on, 2**32 + n would silently become n bytes.
  if (!is64_ && size > UINT32_MAX)
    return make_error(ErrorKind::Argument, "cannot allocate " + std::to_string(size) +
                                               " bytes in a 32-bit guest (its sizes are at most 4294967295)");
  Result<uint64_t> p = uint64_t{0};
  switch (kind_) {
    case AllocatorKind::Bump:
    case AllocatorKind::Malloc: p = call_ptr(ctx, alloc_, {size == 0 ? 1 : size}, true); break;
    case AllocatorKind::CabiRealloc: p = call_ptr(ctx, alloc_, {0, 0, kAlign, size == 0 ? 1 : size}, true); break;
    case AllocatorKind::None: return make_error(ErrorKind::Argument, std::string("no guest allocator: ") + requirement());
  }
  if (!p) return p;
  if (*p == 0)
    return make_error(ErrorKind::Resource, "the guest allocator (" + std::string(allocator_kind_name(kind_)) +
                                               ") returned 0 for " + std::to_string(size) + " bytes: guest memory is full");
  return p;
}

Result<void> GuestAllocator::free(wasmtime_context_t* ctx, uint64_t addr) {
  if (kind_ != AllocatorKind::Malloc) return {};
  auto r = call_ptr(ctx, free_, {addr}, false);
  if (!r) return std::move(r).error();
  return {};
}

Result<uint64_t> GuestAllocator::mark(wasmtime_context_t* ctx) { return call_ptr(ctx, mark_, {}, true); }

Result<void> GuestAllocator::release_to(wasmtime_context_t* ctx, uint64_t m) {
  auto r = call_ptr(ctx, free_, {m}, false);
  if (!r) return std::move(r).error();
  return {};
}

bool GuestAllocator::arena_ok() {
  if (arena_ == 0) return false;
  if (std::memcmp(base_ + arena_, canary_, sizeof canary_) == 0) return true;  // in bounds: checked when taken
  arena_ = 0;  // reset or released: not ours any more, and never to be wiped by us
  arena_top_ = 0;
  return false;
}

// Whether bump_release zeroes what it frees (the SDK's contract), which the canary relies on.
Result<bool> GuestAllocator::probe_wipe(wasmtime_context_t* ctx, GuestMemory& mem) {
  auto m = mark(ctx);
  if (!m) return std::move(m).error();
  auto p = alloc(ctx, kAlign);
  if (!p) return std::move(p).error();
  auto s = mem.span(*p, kAlign, "probe");
  if (!s) return std::move(s).error();
  std::memset(s->data(), 0xa5, kAlign);
  if (auto r = release_to(ctx, *m); !r) return std::move(r).error();
  bool wiped = true;
  for (uint8_t b : *s) wiped &= b == 0;
  std::memset(s->data(), 0, s->size());  // leave no pattern behind in an allocator that did not wipe
  return wiped;
}

Result<ScratchBlock> GuestAllocator::begin(wasmtime_context_t* ctx, GuestMemory& mem, uint64_t size) {
  size = align_up(size == 0 ? 1 : size);
  if (base_ == nullptr) base_ = mem.base();
  if (kind_ == AllocatorKind::Bump && has_mark_ && bump_arena_ != 0) {
    if (bump_arena_ < 0) {
      auto w = probe_wipe(ctx, mem);
      if (!w) return std::move(w).error();
      bump_arena_ = *w ? 1 : 0;
      std::random_device rd;
      for (size_t i = 0; i < sizeof canary_; i += 4) {
        const uint32_t v = rd();
        std::memcpy(canary_ + i, &v, 4);
      }
    }
    if (bump_arena_ == 1 && size <= kArenaSize - kAlign) {
      if (!arena_ok()) {
        auto p = alloc(ctx, kArenaSize);
        if (!p) return std::move(p).error();
        auto s = mem.span(*p, kArenaSize, "arena");
        if (!s) return std::move(s).error();
        std::memcpy(s->data(), canary_, sizeof canary_);
        arena_ = *p;
        arena_size_ = kArenaSize;
        arena_top_ = kAlign;  // past the canary
      }
      if (arena_size_ - arena_top_ >= size) {
        ScratchBlock b{arena_ + arena_top_, size, base_ + arena_ + arena_top_, true};
        arena_top_ += size;
        return b;
      }
    }
  }
  if (kind_ == AllocatorKind::Malloc || kind_ == AllocatorKind::CabiRealloc) {
    if (arena_ == 0 || (arena_top_ == 0 && size > arena_size_ && kind_ == AllocatorKind::CabiRealloc)) {
      // First use (or cabi_realloc outgrown while idle): take an arena and keep it for good.
      const uint64_t want = size > kArenaSize ? align_up(size) : kArenaSize;
      auto p = alloc(ctx, want + kAlign);
      if (!p) return std::move(p).error();
      if (auto s = mem.span(align_up(*p), want, "arena"); !s) return std::move(s).error();
      arena_ = align_up(*p);
      arena_size_ = want;
      arena_top_ = 0;
    }
    if (arena_size_ - arena_top_ >= size) {
      ScratchBlock b{arena_ + arena_top_, size, base_ + arena_ + arena_top_, true};
      arena_top_ += size;
      return b;
    }
    if (kind_ == AllocatorKind::CabiRealloc)  // nested call bigger than what is left: its own block
      return make_error(ErrorKind::Resource, "scratch of " + std::to_string(size) +
                                                 " bytes does not fit the cabi_realloc arena while a call is in progress");
  }
  auto p = alloc(ctx, size);
  if (!p) return std::move(p).error();
  auto s = mem.span(*p, size, "scratch");
  if (!s) return std::move(s).error();
  return ScratchBlock{*p, size, s->data(), false};
}

Result<void> GuestAllocator::end(wasmtime_context_t* ctx, GuestMemory& mem, const ScratchBlock& b) {
  (void)mem;
  auto wipe = [&] { std::memset(b.data, 0, b.size); };
  if (b.arena) {
    // A bump arena whose canary went missing during the call was freed by the guest: it may
    // hold the guest's new data now, so it is left alone (the allocator zeroed it when freeing).
    if (kind_ == AllocatorKind::Bump && !arena_ok()) return {};
    // Calls nest, so the block being ended is the top of the current arena. One that is not was
    // carved from an arena the guest reset during the call (a nested call has taken a new one
    // since): that memory is the guest's again, so it is neither wiped nor used to move the top
    // (b.addr - arena_ would wrap, and later blocks would land over the guest's data).
    if (b.addr < arena_ || b.addr - arena_ > arena_top_ || arena_top_ - (b.addr - arena_) != b.size) return {};
    wipe();
    // Stack order: calls nest, so the block being ended is the top one.
    arena_top_ = b.addr - arena_;
    return {};
  }
  switch (kind_) {
    case AllocatorKind::Malloc:
      wipe();
      return free(ctx, b.addr);
    case AllocatorKind::Bump: {
      if (!has_mark_) {
        wipe();
        return {};
      }
      auto top = mark(ctx);
      if (!top) return std::move(top).error();
      const uint64_t end = b.addr + b.size;
      if (*top < end) return {};  // the guest released or reset below our end: not ours any more
      wipe();
      if (*top == end) return release_to(ctx, b.addr);
      return {};  // the guest allocated above the block during the call: leave it allocated
    }
    default: return {};
  }
}

}  // namespace wasmffi
