/* arith.c: the project's example guest: scalar functions of every wasm type and buffer loops. */
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

WASMFFI_EXPORT(fib) uint64_t fib(uint32_t n) {
  uint64_t a = 0, b = 1;
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t t = a + b;
    a = b;
    b = t;
  }
  return a;
}

WASMFFI_EXPORT(mul_i64) int64_t mul_i64(int64_t a, int64_t b) { return a * b; }
WASMFFI_EXPORT(hypot2) double hypot2(double x, double y) { return x * x + y * y; }
WASMFFI_EXPORT(scale_f32) float scale_f32(float x, float k) { return x * k; }

/* A static buffer the host can fill through Memory.write and the guest can sum. */
static uint8_t buffer[4096];
WASMFFI_EXPORT(buffer_ptr) uint8_t* buffer_ptr(void) { return buffer; }
WASMFFI_EXPORT(buffer_len) uint32_t buffer_len(void) { return sizeof buffer; }

WASMFFI_EXPORT(sum_bytes) uint32_t sum_bytes(const uint8_t* p, uint32_t n) {
  uint32_t s = 0;
  for (uint32_t i = 0; i < n; ++i) s += p[i];
  return s;
}

WASMFFI_EXPORT(fill_bytes) void fill_bytes(uint8_t* p, uint32_t n, uint8_t value) {
  for (uint32_t i = 0; i < n; ++i) p[i] = value;
}

WASMFFI_EXPORT(divide) int32_t divide(int32_t a, int32_t b) { return a / b; }
