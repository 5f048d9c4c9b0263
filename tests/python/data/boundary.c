/* boundary.c: one function per cdef parameter kind, for tests/python/test_boundary_property.py.
 * Built in the test with `wasmffi build` (bump allocator linked). Every function is pure given
 * its arguments, so the test computes what each call must return. */
#include "wasmffi_guest.h"

#include <stdbool.h>

/* ---- scalars: each returns its argument, so a call shows what the guest received ------------ */

enum mode { FAST, SAFE = 4, BIG = 0x7fffffff };
enum sign { NEG = -2, POS = 2 };

#define ID(T, name) WASMFFI_EXPORT(name) T name(T x) { return x; }
ID(int8_t, id_i8)
ID(uint8_t, id_u8)
ID(int16_t, id_i16)
ID(uint16_t, id_u16)
ID(int32_t, id_i32)
ID(uint32_t, id_u32)
ID(int64_t, id_i64)
ID(uint64_t, id_u64)
ID(float, id_f32)
ID(double, id_f64)
ID(bool, id_bool)
ID(char, id_char)
ID(long, id_long)
ID(size_t, id_size)
ID(enum mode, id_mode)
ID(enum sign, id_sign)

/* Several scalars at once: a refusal of any one must leave the others unused. */
WASMFFI_EXPORT(mix) double mix(int8_t a, uint16_t b, int64_t c, float d, bool e) {
  return (double)a + (double)b + (double)c + (double)d + (e ? 0.5 : 0.0);
}

/* ---- buffers ---------------------------------------------------------------------------- */

WASMFFI_EXPORT(sum) uint32_t sum(const uint8_t* p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i < n; ++i) s += p[i];
  return s;
}

WASMFFI_EXPORT(sum_i32) int64_t sum_i32(const int32_t* xs, size_t n) {
  int64_t s = 0;
  for (size_t i = 0; i < n; ++i) s += xs[i];
  return s;
}

WASMFFI_EXPORT(sum_f64) double sum_f64(const double* xs, size_t count) {
  double s = 0;
  for (size_t i = 0; i < count; ++i) s += xs[i];
  return s;
}

/* Length in bytes, anywhere in the list (an annotation). */
WASMFFI_EXPORT(sum_u16_bytes) uint32_t sum_u16_bytes(size_t nbytes, const uint16_t* v) {
  uint32_t s = 0;
  for (size_t i = 0; i < nbytes / 2; ++i) s += v[i];
  return s;
}

/* inout: every byte becomes value + its index (mod 256). */
WASMFFI_EXPORT(fill) void fill(uint8_t* buf, size_t n, uint8_t value) {
  for (size_t i = 0; i < n; ++i) buf[i] = (uint8_t)(value + i);
}

/* out with a length: as fill, never reads buf. */
WASMFFI_EXPORT(fill_out) void fill_out(uint8_t* buf, size_t n, uint8_t value) {
  for (size_t i = 0; i < n; ++i) buf[i] = (uint8_t)(value + i);
}

/* out sized by another parameter (size_is). */
WASMFFI_EXPORT(gen) void gen(uint32_t* dst, size_t count, uint32_t seed) {
  for (size_t i = 0; i < count; ++i) dst[i] = seed * (uint32_t)(i + 1);
}

/* Fixed-size arrays: const in, and inout (reversed, each plus one). */
WASMFFI_EXPORT(key_sum) uint32_t key_sum(const uint8_t key[8]) {
  uint32_t s = 0;
  for (int i = 0; i < 8; ++i) s += (uint32_t)key[i] * (uint32_t)(i + 1);
  return s;
}

WASMFFI_EXPORT(rev4) void rev4(uint16_t v[4]) {
  for (int i = 0; i < 2; ++i) {
    uint16_t a = v[i], b = v[3 - i];
    v[i] = (uint16_t)(b + 1);
    v[3 - i] = (uint16_t)(a + 1);
  }
}

/* A fixed-size array the callee only writes. */
WASMFFI_EXPORT(iota8) void iota8(int8_t dst[8], int8_t start) {
  for (int i = 0; i < 8; ++i) dst[i] = (int8_t)(start + i);
}

/* An output beside an input: n bytes of src copied into dst. */
WASMFFI_EXPORT(copy_bytes) void copy_bytes(uint8_t* dst, const uint8_t* src, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = src[i];
}

/* ---- C strings -------------------------------------------------------------------------- */

WASMFFI_EXPORT(slen) size_t slen(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

WASMFFI_EXPORT(upcase) void upcase(char* s) {
  for (; *s; ++s)
    if (*s >= 'a' && *s <= 'z') *s = (char)(*s - 'a' + 'A');
}

/* ---- out-parameters ---------------------------------------------------------------------- */

WASMFFI_EXPORT(divmod) int divmod(int a, int b, int* q, int* r) {
  if (b == 0 || (a == (int)0x80000000 && b == -1)) return -1;
  *q = a / b;
  *r = a % b;
  return 0;
}

/* ---- structs ----------------------------------------------------------------------------- */

struct inner {
  int32_t x;
};
struct outer {
  int32_t a;
  struct inner b;
};
struct point {
  int32_t x, y;
};
struct rect {
  struct point min, max;
};
struct blob {
  uint8_t tag;
  double weight;
  uint16_t codes[3];
  struct point at;
};

WASMFFI_EXPORT(get_x) int32_t get_x(struct inner v) { return v.x; }
WASMFFI_EXPORT(outer_sum) int32_t outer_sum(struct outer o) { return o.a + o.b.x; }
WASMFFI_EXPORT(point_sum) int32_t point_sum(struct point p) { return p.x + p.y; }
WASMFFI_EXPORT(inner_make) struct inner inner_make(int32_t x) {
  struct inner r = {x};
  return r;
}

WASMFFI_EXPORT(rect_area) int64_t rect_area(const struct rect* r) {
  return (int64_t)(r->max.x - r->min.x) * (int64_t)(r->max.y - r->min.y);
}

WASMFFI_EXPORT(rect_norm) void rect_norm(struct rect* r) {
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

WASMFFI_EXPORT(rect_make) struct rect rect_make(int32_t x0, int32_t y0, int32_t x1, int32_t y1) {
  struct rect r = {{x0, y0}, {x1, y1}};
  return r;
}

/* Struct array in, struct out: the bounding box of n points (-1, out untouched, when n == 0). */
WASMFFI_EXPORT(bounds) int bounds(const struct point* pts, size_t n, struct rect* out) {
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

/* A record with padding, a double, an array member and a nested struct, by value and as a result. */
WASMFFI_EXPORT(blob_score) double blob_score(struct blob b) {
  return (double)b.tag + b.weight + (double)b.codes[0] + (double)b.codes[1] + (double)b.codes[2] +
         (double)b.at.x + (double)b.at.y;
}
WASMFFI_EXPORT(blob_bump) struct blob blob_bump(struct blob b) {
  b.tag = (uint8_t)(b.tag + 1);
  b.at.x += 1;
  return b;
}
