/* lifecycle.c: the `bench lifecycle` guest, a module of library size (>= 100 KB): 3000 small functions and a 64 KiB data table. */
#include "wasmffi_guest.h"

/*
 * The functions are generated with X-macros: L3(M) expands M(a, b, c) for every three-digit
 * index abc from 000 to 299... up to 2999 (a = 0..29 through L2 and L1). Each one mixes its own
 * constants, so no two bodies are identical and the linker cannot fold them. They are reached
 * through one function table (call_indirect), as a large C library's internal functions are,
 * so the module exports only a handful of names and the size is code, not export metadata.
 */
#define IDX(a, b, c) ((a) * 100 + (b) * 10 + (c))
#define L1(M, a, b) M(a, b, 0) M(a, b, 1) M(a, b, 2) M(a, b, 3) M(a, b, 4) \
                    M(a, b, 5) M(a, b, 6) M(a, b, 7) M(a, b, 8) M(a, b, 9)
#define L2(M, a) L1(M, a, 0) L1(M, a, 1) L1(M, a, 2) L1(M, a, 3) L1(M, a, 4) \
                 L1(M, a, 5) L1(M, a, 6) L1(M, a, 7) L1(M, a, 8) L1(M, a, 9)
#define L3(M) L2(M, 0) L2(M, 1) L2(M, 2) L2(M, 3) L2(M, 4) L2(M, 5) L2(M, 6) L2(M, 7) L2(M, 8) \
              L2(M, 9) L2(M, 10) L2(M, 11) L2(M, 12) L2(M, 13) L2(M, 14) L2(M, 15) L2(M, 16)      \
              L2(M, 17) L2(M, 18) L2(M, 19) L2(M, 20) L2(M, 21) L2(M, 22) L2(M, 23) L2(M, 24)     \
              L2(M, 25) L2(M, 26) L2(M, 27) L2(M, 28) L2(M, 29)
#define NFUNCS 3000

#define DEFINE(a, b, c)                                                                     \
  static uint32_t f_##a##_##b##_##c(uint32_t x) {                                           \
    const uint32_t k = 0x9E3779B1u * (IDX(a, b, c) + 1);                                    \
    return ((x ^ k) * (2u * IDX(a, b, c) + 3u)) + (x >> (IDX(a, b, c) % 13 + 1)) + (k >> 7); \
  }
#define ENTRY(a, b, c) f_##a##_##b##_##c,
L3(DEFINE)
static uint32_t (*const funcs[NFUNCS])(uint32_t) = {L3(ENTRY)};

/*
 * 64 KiB of non-zero initialised data: a data segment the instance's memory starts with.
 * V expands to one distinct value per use (__COUNTER__), V16384 to 16384 of them.
 */
#define V ((uint32_t)(__COUNTER__ + 1) * 2654435761u | 1u),
#define V4 V V V V
#define V16 V4 V4 V4 V4
#define V64 V16 V16 V16 V16
#define V256 V64 V64 V64 V64
#define V1024 V256 V256 V256 V256
#define V4096 V1024 V1024 V1024 V1024
#define V16384 V4096 V4096 V4096 V4096
#define NTABLE 16384
static const uint32_t table[NTABLE] = {V16384};

/* Calls function i (mod 3000) on x: every function is reachable from outside. */
WASMFFI_EXPORT(dispatch) uint32_t dispatch(uint32_t i, uint32_t x) { return funcs[i % NFUNCS](x); }

/* XOR of the whole data table: shows the data segment arrived intact. */
WASMFFI_EXPORT(table_xor) uint32_t table_xor(void) {
  uint32_t acc = 0;
  for (uint32_t i = 0; i < NTABLE; ++i) acc ^= table[i];
  return acc;
}

/* The compute-heavy export (threads2_speedup): n rounds of an indirect call and a table load. */
WASMFFI_EXPORT(work) uint32_t work(uint32_t n) {
  uint32_t acc = 1;
  for (uint32_t i = 0; i < n; ++i) acc = funcs[acc % NFUNCS](acc) + table[acc & (NTABLE - 1)];
  return acc;
}

/* Per-instance mutable state in linear memory: instances must not share it. */
static uint32_t counter;
WASMFFI_EXPORT(bump) uint32_t bump(void) { return ++counter; }
