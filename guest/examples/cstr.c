/* cstr.c: a small C library for declaration-driven marshalling: strings, arrays, structs, out-parameters, allocation, traps. */
/*
 * Built three ways by `make guest` (through `python -m wasmffi build`, which links the bump
 * allocator): cstr.wasm (wasm32), cstr64.wasm (wasm64, memory64) and cstr_libc.wasm (wasm32 with
 * wasi-libc, additionally exporting malloc/free). The declarations below are what a cdef for
 * this library says; every function is exported under its C name.
 */
#include "wasmffi_alloc.h"
#include "wasmffi_guest.h"

/* ---- strings ---------------------------------------------------------------------------- */

WASMFFI_EXPORT(count_vowels) size_t count_vowels(const char* s) {
  size_t n = 0;
  for (; *s; ++s) {
    char c = (char)(*s | 0x20); /* ASCII lower case; leaves non-letters distinct from vowels */
    n += c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
  }
  return n;
}

/* ASCII upper case in place; other bytes (UTF-8 continuation bytes included) are left alone. */
WASMFFI_EXPORT(upcase) void upcase(char* s) {
  for (; *s; ++s)
    if (*s >= 'a' && *s <= 'z') *s = (char)(*s - 'a' + 'A');
}

/* ---- arrays ----------------------------------------------------------------------------- */

WASMFFI_EXPORT(sum) uint32_t sum(const uint8_t* p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i < n; ++i) s += p[i];
  return s;
}

/* Rewrites the buffer in place: reversed, each byte plus one (mod 256). */
WASMFFI_EXPORT(rewrite64) void rewrite64(uint8_t buf[64]) {
  for (size_t i = 0; i < 32; ++i) {
    uint8_t a = buf[i], b = buf[63 - i];
    buf[i] = (uint8_t)(b + 1);
    buf[63 - i] = (uint8_t)(a + 1);
  }
}

/* The arithmetic mean; NaN for an empty array (there is no mean of nothing). */
WASMFFI_EXPORT(mean) double mean(const double* xs, size_t n) {
  if (n == 0) return __builtin_nan("");
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += xs[i];
  return s / (double)n;
}

/* ---- structs ---------------------------------------------------------------------------- */

struct point {
  int32_t x, y;
};
struct rect {
  struct point min, max;
};

/* By pointer, in: the area as a 64-bit integer (the product of two int32 spans can overflow 32 bits). */
WASMFFI_EXPORT(rect_area) int64_t rect_area(const struct rect* r) {
  return (int64_t)(r->max.x - r->min.x) * (int64_t)(r->max.y - r->min.y);
}

/* By pointer, in/out: swaps coordinates so that min <= max on both axes. */
WASMFFI_EXPORT(rect_normalize) void rect_normalize(struct rect* r) {
  if (r->min.x > r->max.x) {
    int32_t t = r->min.x;
    r->min.x = r->max.x;
    r->max.x = t;
  }
  if (r->min.y > r->max.y) {
    int32_t t = r->min.y;
    r->min.y = r->max.y;
    r->max.y = t;
  }
}

/* By pointer, out: the bounding box of n points; returns 0, or -1 (out untouched) when n == 0. */
WASMFFI_EXPORT(rect_bounds) int rect_bounds(const struct point* pts, size_t n, struct rect* out) {
  if (n == 0) return -1;
  struct rect r = {pts[0], pts[0]};
  for (size_t i = 1; i < n; ++i) {
    if (pts[i].x < r.min.x) r.min.x = pts[i].x;
    if (pts[i].y < r.min.y) r.min.y = pts[i].y;
    if (pts[i].x > r.max.x) r.max.x = pts[i].x;
    if (pts[i].y > r.max.y) r.max.y = pts[i].y;
  }
  *out = r;
  return 0;
}

/* Returned by value: the wasm32/wasm64 C ABI passes a hidden result pointer as the first
   parameter (sret), so the export's wasm signature is (ptr, i32, i32, i32, i32) -> (). */
WASMFFI_EXPORT(rect_make) struct rect rect_make(int32_t x0, int32_t y0, int32_t x1, int32_t y1) {
  struct rect r = {{x0, y0}, {x1, y1}};
  return r;
}

/* A struct of two fields passed by value: the C ABI passes a pointer to a caller-owned copy,
   and returns through sret: (ptr sret, ptr a, ptr b) -> (). */
WASMFFI_EXPORT(point_add) struct point point_add(struct point a, struct point b) {
  struct point r = {a.x + b.x, a.y + b.y};
  return r;
}

/* A single-scalar struct by value: the C ABI lowers it to the scalar, both as a parameter and as
   a result, so the export's wasm signature is (i32) -> i32. */
struct counter {
  uint32_t value;
};
WASMFFI_EXPORT(counter_next) struct counter counter_next(struct counter c) {
  struct counter r = {c.value + 1};
  return r;
}

/* ---- out-parameters --------------------------------------------------------------------- */

/* Truncating division: 0 with *q and *r set, or -1 (outputs untouched) for b == 0 or INT_MIN / -1. */
WASMFFI_EXPORT(divmod) int divmod(int a, int b, int* q, int* r) {
  if (b == 0 || (a == (int)0x80000000 && b == -1)) return -1;
  *q = a / b;
  *r = a % b;
  return 0;
}

/* ---- allocation during a call ----------------------------------------------------------- */

/* An upper-case copy of s in memory from bump_alloc (live until bump_reset/bump_release);
   0 when the allocator is out of memory. */
WASMFFI_EXPORT(dup_upper) char* dup_upper(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  char* out = (char*)bump_alloc(n + 1);
  if (!out) return 0;
  for (size_t i = 0; i <= n; ++i) out[i] = s[i];
  upcase(out);
  return out;
}

/* n bytes of `value` from bump_alloc; 0 when the allocator is out of memory. */
WASMFFI_EXPORT(alloc_filled) uint8_t* alloc_filled(size_t n, uint8_t value) {
  uint8_t* p = (uint8_t*)bump_alloc(n);
  if (!p) return 0;
  for (size_t i = 0; i < n; ++i) p[i] = value;
  return p;
}

/* Sums the bytes and then resets the allocator, as guests that reset after every operation do:
   anything the caller allocated (the input included) is wiped and freed by the time this returns. */
WASMFFI_EXPORT(sum_then_reset) uint32_t sum_then_reset(const uint8_t* p, size_t n) {
  uint32_t s = sum(p, n);
  bump_reset();
  return s;
}

/* The sum of two byte arrays: two buffers in one call. */
WASMFFI_EXPORT(sum2) uint32_t sum2(const uint8_t* a, size_t na, const uint8_t* b, size_t nb) {
  return sum(a, na) + sum(b, nb);
}

/* The sum of a wide string's characters up to its NUL (wchar_t: 4 bytes on wasm). */
WASMFFI_EXPORT(wide_sum) uint32_t wide_sum(const __WCHAR_TYPE__* s) {
  uint32_t t = 0;
  while (*s) t += (uint32_t)*s++;
  return t;
}

/* The sum of a UTF-16 string's code units up to its NUL. */
WASMFFI_EXPORT(u16_sum) uint32_t u16_sum(const __CHAR16_TYPE__* s) {
  uint32_t t = 0;
  while (*s) t += (uint32_t)*s++;
  return t;
}

/* Writes `value` into the first n bytes of buf; returns n. */
WASMFFI_EXPORT(fill) size_t fill(uint8_t* buf, size_t n, uint8_t value) {
  for (size_t i = 0; i < n; ++i) ((volatile uint8_t*)buf)[i] = value;
  return n;
}

/* ---- traps ------------------------------------------------------------------------------ */

/* Fills the buffer with `value`, then traps (unreachable): the caller sees the writes in guest
   memory and a trap instead of a return. */
WASMFFI_EXPORT(fill_then_trap) void fill_then_trap(uint8_t* buf, size_t n, uint8_t value) {
  for (size_t i = 0; i < n; ++i) ((volatile uint8_t*)buf)[i] = value;
  __builtin_trap();
}
