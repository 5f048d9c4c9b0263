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
 * The heap starts at the linker's __heap_base (above static data and the stack), owns the rest
 * of the initial memory, and grows the memory with memory.grow when it runs out. It only uses memory it owns: pages that other code
 * grew (a libc malloc, the host through Memory.grow) are skipped, never handed out or wiped.
 * With wasi-libc (__wasi__), whose malloc uses the space after __heap_base, the heap starts at
 * the end of memory instead (override with -DWASMFFI_ALLOC_USE_HEAP_BASE=0/1).
 *
 * Marks nest like a stack: releasing an outer mark also releases every inner one; releasing a mark that is already released (at or above the
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

/* Provided by wasm-ld: the first address after static data and the stack, and (LLVM 15 and
   later; weak, so 0 with older linkers) the end of the initial memory. */
extern unsigned char __heap_base;
extern unsigned char __heap_end __attribute__((weak));

/* Whether the heap starts with [__heap_base, end of the initial memory). Not with wasi-libc,
   whose malloc claims that range itself; then the heap starts with the first page it grows. */
#ifndef WASMFFI_ALLOC_USE_HEAP_BASE
#if defined(__wasi__)
#define WASMFFI_ALLOC_USE_HEAP_BASE 0
#else
#define WASMFFI_ALLOC_USE_HEAP_BASE 1
#endif
#endif

#ifndef WASMFFI_ALLOC_MAX_SEGMENTS
#define WASMFFI_ALLOC_MAX_SEGMENTS 32
#endif

/* The heap is a stack of owned segments, ascending, [start, end) each. Usually one: it grows
   in place with memory.grow. When other code (a libc malloc, the host) grew the memory since,
   the pages between belong to that code, so the heap continues in a new segment after them and
   never hands out, or wipes, memory it does not own. Ends are 64-bit even on wasm32, where a
   full 4 GiB memory ends at 2^32. The state is weak rather than static so that every
   translation unit that emits the implementation shares one heap. */
__attribute__((weak)) uintptr_t wasmffi_bump_top;  /* first free byte, in the last used segment */
__attribute__((weak)) uint32_t wasmffi_bump_nseg;  /* 0 until the first use */
__attribute__((weak)) uint64_t wasmffi_bump_seg[WASMFFI_ALLOC_MAX_SEGMENTS][2];

#define WASMFFI_ALIGN_UP_(x) (((x) + (WASMFFI_ALLOC_ALIGN - 1)) & ~(uint64_t)(WASMFFI_ALLOC_ALIGN - 1))

static inline uint64_t wasmffi_memory_end_(void) {
  return (uint64_t)__builtin_wasm_memory_size(0) * WASMFFI_PAGE_SIZE;
}

static inline void wasmffi_bump_init_(void) {
  if (wasmffi_bump_nseg != 0) return;
  uint64_t end = wasmffi_memory_end_();
  uint64_t start = end;
  if (WASMFFI_ALLOC_USE_HEAP_BASE) {
    /* Only the initial memory is the heap's: pages the host grew before this first use are
       not. Without __heap_end, the page holding __heap_base is the part of the initial memory
       known to be free (wasm-ld's default initial size ends there; a larger --initial-memory
       is then left unused rather than risked). */
    uint64_t base = (uint64_t)(uintptr_t)&__heap_base;
    uint64_t initial = (uintptr_t)&__heap_end ? (uint64_t)(uintptr_t)&__heap_end
                                              : (base + WASMFFI_PAGE_SIZE - 1) / WASMFFI_PAGE_SIZE * WASMFFI_PAGE_SIZE;
    if (initial < end) end = initial;
    start = WASMFFI_ALIGN_UP_(base);
  }
  if (start > end) start = end;
  wasmffi_bump_seg[0][0] = start;
  wasmffi_bump_seg[0][1] = end;
  wasmffi_bump_nseg = 1;
  wasmffi_bump_top = (uintptr_t)start;
}

/* Zeroes [from, to). memory.fill when the module is built with bulk memory (wasmffi build turns
   it on); otherwise a loop of volatile stores, which the optimiser can neither drop nor turn into
   a call to a memset that a libc-free module does not have. */
static inline void wasmffi_bump_wipe_(uint64_t from, uint64_t to) {
  if (to <= from) return;
#if defined(__wasm_bulk_memory__)
  __builtin_memset((void*)(uintptr_t)from, 0, (size_t)(to - from));
#else
  /* from and to are both multiples of WASMFFI_ALLOC_ALIGN, so 8-byte stores cover the range. */
  for (volatile uint64_t* p = (volatile uint64_t*)(uintptr_t)from; (uint64_t)(uintptr_t)p < to; ++p) *p = 0;
#endif
}

__attribute__((weak)) WASMFFI_EXPORT(bump_alloc) void* bump_alloc(size_t size) {
  wasmffi_bump_init_();
  /* Round up to the alignment (a zero-byte request still gets its own 16 bytes, so every
     returned pointer is distinct and non-null), refusing sizes that would wrap around. */
  if (size > (size_t)-1 - (WASMFFI_ALLOC_ALIGN - 1)) return 0;
  uint64_t n = WASMFFI_ALIGN_UP_((uint64_t)size);
  if (n == 0) n = WASMFFI_ALLOC_ALIGN;
  uint64_t t = wasmffi_bump_top;
  uint32_t i = wasmffi_bump_nseg - 1;
  while (i > 0 && wasmffi_bump_seg[i][0] > t) --i;
  for (;;) {
    /* The new top must stay representable: on wasm32 a top of 2^32 would wrap to 0. */
    if (n > (uint64_t)UINTPTR_MAX - t) return 0;
    if (t + n <= wasmffi_bump_seg[i][1]) {
      wasmffi_bump_top = (uintptr_t)(t + n);
      return (void*)(uintptr_t)t;
    }
    if (i + 1 < wasmffi_bump_nseg) { /* skip to the next segment (after a release) */
      t = wasmffi_bump_seg[++i][0];
      continue;
    }
    /* Grow in place when the heap's last segment ends the memory, else start a new segment at
       the end (the pages between belong to whoever grew them). */
    uint64_t end = wasmffi_memory_end_();
    int in_place = end == wasmffi_bump_seg[i][1];
    uint64_t from = in_place ? t : end;
    if (!in_place && wasmffi_bump_nseg == WASMFFI_ALLOC_MAX_SEGMENTS) return 0;
    if (n > UINT64_MAX - from) return 0;
    uint64_t pages = (from + n - end + WASMFFI_PAGE_SIZE - 1) / WASMFFI_PAGE_SIZE;
    if (pages > (size_t)-1) return 0;
    if (__builtin_wasm_memory_grow(0, (size_t)pages) == (size_t)-1) return 0;
    if (in_place) {
      wasmffi_bump_seg[i][1] = end + pages * WASMFFI_PAGE_SIZE;
    } else {
      i = wasmffi_bump_nseg++;
      wasmffi_bump_seg[i][0] = end;
      wasmffi_bump_seg[i][1] = end + pages * WASMFFI_PAGE_SIZE;
      t = end;
    }
  }
}

__attribute__((weak)) WASMFFI_EXPORT(bump_mark) size_t bump_mark(void) {
  wasmffi_bump_init_();
  return wasmffi_bump_top;
}

__attribute__((weak)) WASMFFI_EXPORT(bump_release) void bump_release(size_t mark) {
  wasmffi_bump_init_();
  uint64_t top = wasmffi_bump_top;
  uint64_t to = (uint64_t)mark < wasmffi_bump_seg[0][0] ? wasmffi_bump_seg[0][0] : (uint64_t)mark;
  if (to >= top) return;
  /* Marks from bump_mark are aligned; rounding any other value up keeps the wipe's 8-byte
     stores inside [mark, top) and never frees below what the caller named. */
  to = WASMFFI_ALIGN_UP_(to);
  if (to >= top) return;
  for (uint32_t i = 0; i < wasmffi_bump_nseg; ++i) { /* wipe only the owned parts of [to, top) */
    uint64_t a = wasmffi_bump_seg[i][0] > to ? wasmffi_bump_seg[i][0] : to;
    uint64_t b = wasmffi_bump_seg[i][1] < top ? wasmffi_bump_seg[i][1] : top;
    wasmffi_bump_wipe_(a, b);
  }
  wasmffi_bump_top = (uintptr_t)to;
}

__attribute__((weak)) WASMFFI_EXPORT(bump_reset) void bump_reset(void) { bump_release(0); }

#ifdef __cplusplus
}
#endif

#endif /* WASMFFI_ALLOC_IMPLEMENTATION */

#endif /* WASMFFI_ALLOC_H */
