"""cdef `/* size_is(n) */`: an output buffer sized by another parameter, in the declarations and in calls."""

from __future__ import annotations

import pathlib
from typing import Iterator

import pytest

import wasmffi
from conftest import require_tool
from wasmffi import CDef, CDefError
from wasmffi._build import build

SRC = r"""
#include "wasmffi_guest.h"
void xor_copy(uint8_t *dst, const uint8_t *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = src[i] ^ 0x5a;
}
void fill(uint32_t *dst, uint32_t count, uint32_t start) {
    for (uint32_t i = 0; i < count; i++) dst[i] = start + i;
}
"""

_instance: wasmffi.Instance

CDEF = """
void xor_copy(uint8_t *dst /* out */ /* size_is(n) */, const uint8_t *src, size_t n /* sizeof(src) */);
void fill(uint32_t *dst /* out */ /* size_is(count) */, uint32_t count, uint32_t start);
"""


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    out = tmp_path_factory.mktemp("size_is") / "size_is.wasm"
    src = out.with_suffix(".c")
    src.write_text(SRC)
    # Without clang and lld the call tests skip (strict mode: fail), and the declaration tests
    # still run; any other failure of the build is a failure.
    require_tool("clang")
    require_tool("wasm-ld")
    build([src], out, exports=["xor_copy", "fill"])
    global _instance
    _instance = wasmffi.load(out, cdef=CDEF)
    yield _instance.exports


# --- declarations ---------------------------------------------------------------------------------

def test_lowering_records_the_size_parameter() -> None:
    cd = CDef(CDEF)
    xor = cd.lower("xor_copy")
    assert xor.params[0].size_is == "n" and xor.params[0].direction == "out"
    assert xor.params[2].length_of == "src"  # n is still filled from src
    fill = cd.lower("fill")
    assert fill.params[0].size_is == "count"
    # The naming rule would link `count` (right after dst) as dst's length; size_is wins.
    assert fill.params[0].length_param is None and fill.params[1].length_of is None
    assert list(fill.signature().parameters) == ["dst", "count", "start"]


def test_annotation_spacing_is_normalised() -> None:
    cd = CDef("void f(uint8_t *p /* out */ /*  size_is( k ) */, int k);")
    assert cd.lower("f").params[0].size_is == "k"


@pytest.mark.parametrize("decl,words", [
    ("void f(uint8_t p[4] /* size_is(n) */, size_t n);", "fixed size 4"),
    ("void f(uint8_t *p /* size_is(m) */, size_t n);", "no parameter 'm'"),
    ("void f(uint8_t *p /* size_is(q) */, uint8_t *q);", "not an integer parameter"),
    ("void f(uint8_t *p /* size_is(x) */, double x);", "not an integer parameter"),
    ("void f(int n /* size_is(n) */);", "applies to pointer parameters"),
    ("void f(uint8_t *p /* size_is(n) */ /* size_is(n) */, size_t n);", "more than one"),
    ("void f(const char *s /* size_is(n) */, size_t n);", "C string"),
    ("void f(uint8_t *p /* size_is(n) */, size_t k /* len(p) */, size_t n);", "already its length"),
])
def test_bad_size_is_is_a_cdef_error(decl: str, words: str) -> None:
    with pytest.raises(CDefError, match=words):
        CDef(decl)


# --- calls ----------------------------------------------------------------------------------------

def test_none_allocates_exactly_n(lib: object) -> None:
    assert lib.xor_copy(None, b"\x00\x01\xff") == bytes([0x5a, 0x5b, 0xa5])
    assert lib.xor_copy(None, b"") == b""
    assert lib.fill(None, 5, 10) == [10, 11, 12, 13, 14]
    assert lib.fill(None, 0, 10) == []


def test_given_buffer_must_hold_n(lib: object) -> None:
    dst = bytearray(8)
    lib.xor_copy(dst, b"\x5a\x5a")
    assert dst == b"\x00\x00" + bytes(6)
    with pytest.raises(ValueError, match=r"xor_copy\(\) argument 'dst'.*has 2 elements, but 'n' = 3 sizes it"):
        lib.xor_copy(bytearray(2), b"abc")
    import array
    with pytest.raises(ValueError, match=r"'dst'.*has 3 elements, but 'count' = 4"):
        lib.fill(array.array("I", [0, 0, 0]), 4, 1)


def test_out_count_must_match(lib: object) -> None:
    assert lib.fill(wasmffi.out(3), 3, 7) == [7, 8, 9]
    with pytest.raises(ValueError, match=r"out\(2\), but 'count' = 3 sizes it"):
        lib.fill(wasmffi.out(2), 3, 7)


def test_huge_or_negative_size_is_refused(lib: object) -> None:
    # 16 GiB, more than a wasm32 memory can hold: refused before anything is allocated.
    with pytest.raises(ValueError, match=r"^fill\(\) argument 'dst' \(uint32_t \*\): 'count' = 4294967295 "
                                         r"elements is more than memory can hold$"):
        lib.fill(None, 2**32 - 1, 0)
    # Not a uint32_t at all: the argument's conversion refuses it, as for any call (OverflowError).
    with pytest.raises(OverflowError, match=r"^fill\(\) argument 'count' \(uint32_t\): -1 is out of range for u32 "
                                            r"\(accepted: 0\.\.4294967295\)$"):
        lib.fill(None, -1, 0)
    assert lib.fill(None, 2, 0) == [0, 1]  # and the instance goes on


def test_address_range_is_bounds_checked(lib: object) -> None:
    mem = _instance.memory
    assert mem is not None
    end = len(mem)
    lib.fill(end - 8, 2, 0x01020304)  # 8 bytes: fits
    assert mem.read(end - 8, 8) == bytes.fromhex("0403020105030201")
    mem.write(end - 8, bytes(8))
    with pytest.raises(IndexError, match="out of bounds|outside"):
        lib.fill(end - 8, 3, 0)  # 12 bytes: 4 past the end
