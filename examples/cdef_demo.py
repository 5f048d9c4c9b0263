"""cdef demo (`make demo`): C declarations drive the marshalling of strings, arrays, a struct and out-parameters."""

import os
import pathlib

import wasmffi

ROOT = pathlib.Path(__file__).resolve().parents[1]
GUEST = pathlib.Path(os.environ.get("WASMFFI_GUEST_DIR", ROOT / "build" / "guest")) / "cstr.wasm"

CDEF = """
    struct point { int32_t x, y; };
    struct rect { struct point min, max; };
    size_t count_vowels(const char *s);
    uint32_t sum(const uint8_t *p, size_t n);
    double mean(const double *xs, size_t n);
    void rewrite64(uint8_t buf[64]);
    int rect_bounds(const struct point *pts, size_t n, struct rect *out /* out */);
    struct rect rect_make(int32_t x0, int32_t y0, int32_t x1, int32_t y1);
    int64_t rect_area(const struct rect *r);
    int divmod(int a, int b, int *q /* out */, int *r /* out */);
"""


def main() -> None:
    inst = wasmffi.load(GUEST, cdef=CDEF)
    lib, cd, mem = inst.exports, inst.cdef, inst.memory
    assert cd is not None and mem is not None  # loaded with cdef=; cstr.wasm exports its memory
    print(f"{GUEST.name} (guest/examples/cstr.c), allocator: {inst.allocator}")
    print(lib.count_vowels)

    print("strings:  count_vowels('WebAssembly from Python') =", lib.count_vowels("WebAssembly from Python"))
    print("arrays:   sum(bytes 1..100) =", lib.sum(bytes(range(1, 101))),
          "| mean([1.5, 2.5, 5.0]) =", lib.mean([1.5, 2.5, 5.0]))
    buf = bytearray(range(64))
    lib.rewrite64(buf)
    print("in place: rewrite64(0..63) ->", bytes(buf[:8]).hex(), "...")

    Point = cd.pytype("struct point")
    pts = b"".join(bytes(Point(x=x, y=y)) for x, y in [(3, -1), (-2, 4), (7, 0)])
    rc, box = lib.rect_bounds(pts, None)
    print("structs:  rect_bounds(3 points) ->", rc, box, "| area", lib.rect_area(box))
    print("          rect_make(0, 0, 2, 5) ->", lib.rect_make(0, 0, 2, 5))
    print("out-params: divmod(47, 6) ->", lib.divmod(47, 6, None, None))

    secret = b"correct horse battery staple".ljust(64, b".")
    lib.sum(secret)
    print("scratch wiped after the call:", secret not in mem.read(0, len(mem)))
    try:
        lib.rewrite64(bytearray(10))
    except ValueError as e:
        print("errors name the argument:", e)


if __name__ == "__main__":
    main()
