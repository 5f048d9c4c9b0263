/* wasmffi_alloc.h: a bump allocator for guest modules (no libc), exported as bump_alloc/bump_reset/bump_mark/bump_release. */
#ifndef WASMFFI_ALLOC_H
#define WASMFFI_ALLOC_H

/*
 * Usage: include this header wherever you call the allocator; in exactly one translation unit,
 * `#define WASMFFI_ALLOC_IMPLEMENTATION` before including it to emit the exports.
 * `python -m wasmffi build` links that unit for you (wasmffi_alloc.c, beside this header) unless
 * you pass --no-alloc. The definitions are weak, so a source that also defines
 * WASMFFI_ALLOC_IMPLEMENTATION still links: one copy of each function and of the state is kept.
 *
 * Exports (size_t and pointers are 4 bytes on wasm32, 8 on wasm64):
 *   void  *bump_alloc(size_t size)    16-byte aligned, never overlapping; 0 when memory cannot grow.
 *   void   bump_reset(void)           zeroes every byte handed out since the start, then frees it all.
 *   size_t bump_mark(void)            the current top, for bump_release.
 *   void   bump_release(size_t mark)  zeroes and frees everything allocated after `mark`.
 *
 * The heap starts at the linker's __heap_base (above static data and the stack) and grows the
 * memory with memory.grow when it runs out. Marks nest like a stack: releasing an outer mark
 * also releases every inner one; releasing a mark that is already released (at or above the
 * top, e.g. after bump_reset) does nothing, so a caller may release its mark unconditionally.
 * Memory that bump_reset or bump_release frees is zeroed first, so secrets copied into guest
 * memory do not outlive the operation that used them.
 */

#include "wasmffi_guest.h"

#define WASMFFI_ALLOC_ALIGN 16
#define WASMFFI_PAGE_SIZE 65536

#ifdef __cplusplus
extern "C" {
#endif

void* bump_alloc(size_t size);
void bump_reset(void);
size_t bump_mark(void);
void bump_release(size_t mark);

#ifdef __cplusplus
}
#endif

#ifdef WASMFFI_ALLOC_IMPLEMENTATION

#ifdef __cplusplus
extern "C" {
#endif

/* Provided by wasm-ld: the first address after static data and the stack. */
extern unsigned char __heap_base;

/* The first free byte; 0 until the first use. A weak global rather than a static, so every
   translation unit that emits the implementation shares one heap. */
__attribute__((weak)) uintptr_t wasmffi_bump_top;

static inline uintptr_t wasmffi_bump_base_(void) {
  return ((uintptr_t)&__heap_base + (WASMFFI_ALLOC_ALIGN - 1)) & ~(uintptr_t)(WASMFFI_ALLOC_ALIGN - 1);
}

static inline uintptr_t wasmffi_bump_top_(void) {
  if (wasmffi_bump_top == 0) wasmffi_bump_top = wasmffi_bump_base_();
  return wasmffi_bump_top;
}

/* Zeroes [from, to). memory.fill when the module is built with bulk memory (wasmffi build turns
   it on); otherwise a loop of volatile stores, which the optimiser can neither drop nor turn into
   a call to a memset that a libc-free module does not have. */
static inline void wasmffi_bump_wipe_(uintptr_t from, uintptr_t to) {
  if (to <= from) return;
#if defined(__wasm_bulk_memory__)
  __builtin_memset((void*)from, 0, to - from);
#else
  /* from and to are both multiples of WASMFFI_ALLOC_ALIGN, so 8-byte stores cover the range. */
  for (volatile uint64_t* p = (volatile uint64_t*)from; (uintptr_t)p < to; ++p) *p = 0;
#endif
}

__attribute__((weak)) WASMFFI_EXPORT(bump_alloc) void* bump_alloc(size_t size) {
  /* Round up to the alignment (a zero-byte request still gets its own 16 bytes, so every
     returned pointer is distinct and non-null), refusing sizes that would wrap around. */
  if (size > (size_t)-1 - (WASMFFI_ALLOC_ALIGN - 1)) return 0;
  uint64_t n = ((uint64_t)size + (WASMFFI_ALLOC_ALIGN - 1)) & ~(uint64_t)(WASMFFI_ALLOC_ALIGN - 1);
  if (n == 0) n = WASMFFI_ALLOC_ALIGN;
  uint64_t top = wasmffi_bump_top_();
  /* The new top must stay representable: on wasm32 a top of 2^32 would wrap to 0. */
  if (n > (uint64_t)UINTPTR_MAX - top) return 0;
  /* 64-bit arithmetic even on wasm32: a full 4 GiB memory ends at 2^32, which wraps in 32 bits.
     The end is read from memory.size each time, so growth by the host or by other code counts. */
  uint64_t end = (uint64_t)__builtin_wasm_memory_size(0) * WASMFFI_PAGE_SIZE;
  if (top + n > end) {
    uint64_t pages = (top + n - end + WASMFFI_PAGE_SIZE - 1) / WASMFFI_PAGE_SIZE;
    if (pages > (size_t)-1) return 0;
    if (__builtin_wasm_memory_grow(0, (size_t)pages) == (size_t)-1) return 0;
  }
  wasmffi_bump_top = (uintptr_t)(top + n);
  return (void*)(uintptr_t)top;
}

__attribute__((weak)) WASMFFI_EXPORT(bump_mark) size_t bump_mark(void) { return wasmffi_bump_top_(); }

__attribute__((weak)) WASMFFI_EXPORT(bump_release) void bump_release(size_t mark) {
  uintptr_t top = wasmffi_bump_top_();
  uintptr_t base = wasmffi_bump_base_();
  uintptr_t to = mark < base ? base : (uintptr_t)mark;
  if (to >= top) return;
  /* Marks from bump_mark are aligned; rounding any other value up keeps the wipe's 8-byte
     stores inside [mark, top) and never frees below what the caller named. No overflow: to is
     below top, which is aligned. */
  to = (to + (WASMFFI_ALLOC_ALIGN - 1)) & ~(uintptr_t)(WASMFFI_ALLOC_ALIGN - 1);
  if (to >= top) return;
  wasmffi_bump_wipe_(to, top);
  wasmffi_bump_top = to;
}

__attribute__((weak)) WASMFFI_EXPORT(bump_reset) void bump_reset(void) { bump_release(0); }

#ifdef __cplusplus
}
#endif

#endif /* WASMFFI_ALLOC_IMPLEMENTATION */

#endif /* WASMFFI_ALLOC_H */
