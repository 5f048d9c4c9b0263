/* tour.c: the guest README.md's examples run against (build/guest/tour.wasm, built by `make guest`). */
#include "wasmffi_guest.h"

WASMFFI_EXPORT(add) int32_t add(int32_t a, int32_t b) { return a + b; }

WASMFFI_EXPORT(gcd) uint32_t gcd(uint32_t a, uint32_t b) {
  while (a != 0) {
    uint32_t t = b % a;
    b = a;
    a = t;
  }
  return b;
}

WASMFFI_EXPORT(divide) int32_t divide(int32_t a, int32_t b) { return a / b; }

/* Returns its argument: shows how a declared parameter type (u32) checks its range. */
WASMFFI_EXPORT(id) uint32_t id(uint32_t x) { return x; }

/* Counts down from n; `volatile` keeps the loop, so it burns fuel in proportion to n. */
WASMFFI_EXPORT(spin) uint32_t spin(uint32_t n) {
  volatile uint32_t i = n;
  while (i != 0) i = i - 1;
  return n;
}

/* A small static buffer for the host to read and write. */
static uint8_t buffer[256];
WASMFFI_EXPORT(buffer_ptr) uint8_t* buffer_ptr(void) { return buffer; }

WASMFFI_EXPORT(sum_bytes) uint32_t sum_bytes(const uint8_t* p, uint32_t n) {
  uint32_t s = 0;
  for (uint32_t i = 0; i < n; ++i) s += p[i];
  return s;
}

/* alloc(): the address 0x80000010, above 2 GiB, as an allocator hands out once its heap has grown
 * that far. The first call grows the memory to 2 GiB + 64 KiB (pages are reserved, not touched),
 * so the block has 64 KiB - 16 bytes after it. The i32 result reads as negative when signed. */
#define HIGH_BLOCK 0x80000010u
#define PAGE_SIZE 65536u
#define HIGH_PAGES (HIGH_BLOCK / PAGE_SIZE + 1u)

WASMFFI_EXPORT(alloc) uint8_t* alloc(void) {
  size_t pages = __builtin_wasm_memory_size(0);
  if (pages < HIGH_PAGES && __builtin_wasm_memory_grow(0, HIGH_PAGES - pages) == (size_t)-1)
    __builtin_trap();
  return (uint8_t*)HIGH_BLOCK;
}
