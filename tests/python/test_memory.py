"""Guest memory from Python: sizes, growth, checked reads/writes, typed access, views and every error path."""

import array
import gc
import hashlib
import math
import re
import struct
import sys

import pytest

import wasmffi
from conftest import require_module
from wasmffi import _memory

PAGE = 65536

GUEST = """
(module
  (memory (export "memory") 2 4)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "load8") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "store8") (param i32 i32) local.get 0 local.get 1 i32.store8)
  (func (export "load64") (param i32) (result i64) local.get 0 i64.load)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "size") (result i32) memory.size))
"""


def pattern(n: int, seed: int = 0) -> bytes:
    """Deterministic non-zero-ish filler, so an accidental write is visible in a snapshot."""
    return bytes(((i * 37 + seed) % 251) + 1 for i in range(n))


def fill(mem, seed: int = 0) -> bytes:
    data = pattern(len(mem), seed)
    mem.write(0, data)
    return data


def snapshot(mem) -> bytes:
    return mem.read(0, len(mem))


@pytest.fixture
def inst():
    return wasmffi.load(GUEST)


@pytest.fixture
def mem(inst):
    return inst.memory


@pytest.fixture
def filled(mem):
    """The memory, filled with a pattern; returns (mem, contents)."""
    return mem, fill(mem)


# --------------------------------------------------------------------------------------------
# Size and growth


def test_len_is_pages_times_page_size(mem):
    assert mem.page_size == PAGE
    assert mem.pages == 2
    assert len(mem) == 2 * PAGE
    assert mem.is64 is False


def test_grow_returns_previous_page_count_and_len_grows(mem):
    assert mem.grow(1) == 2
    assert mem.pages == 3
    assert len(mem) == 3 * PAGE
    assert mem.grow(0) == 3
    assert len(mem) == 3 * PAGE


def test_grown_pages_are_zeroed_and_accessible(mem):
    with pytest.raises(wasmffi.MemoryAccessError):
        mem.read(2 * PAGE, 1)
    mem.grow(1)
    assert mem.read(2 * PAGE, PAGE) == bytes(PAGE)
    mem.write(3 * PAGE - 4, b"\xde\xad\xbe\xef")
    assert mem.read(3 * PAGE - 4, 4) == b"\xde\xad\xbe\xef"


def test_grow_beyond_max_raises_resource_error_and_keeps_size(mem):
    mem.write(0, b"keep")
    with pytest.raises(wasmffi.ResourceError) as ei:
        mem.grow(3)  # 2 + 3 > max 4
    msg = str(ei.value)
    assert "cannot grow memory of 2 page(s) by 3 page(s)" in msg
    assert isinstance(ei.value, wasmffi.Error)
    assert mem.pages == 2 and len(mem) == 2 * PAGE
    assert mem.read(0, 4) == b"keep"
    # Up to the maximum still works afterwards.
    assert mem.grow(2) == 2
    assert mem.pages == 4


def test_grow_negative_raises_value_error(mem):
    with pytest.raises(ValueError, match="pages must be >= 0"):
        mem.grow(-1)
    assert mem.pages == 2


def test_grow_by_more_than_64_bits_raises_memory_access_error(mem):
    with pytest.raises(wasmffi.MemoryAccessError, match="does not fit in 64 bits"):
        mem.grow(2**64)
    assert mem.pages == 2


def test_grow_float_raises_type_error(mem):
    with pytest.raises(TypeError):
        mem.grow(1.0)
    assert mem.pages == 2


def test_guest_memory_grow_is_seen_by_host(inst, mem):
    assert inst.exports.grow(1) == 2
    assert inst.exports.size() == 3
    assert mem.pages == 3
    assert len(mem) == 3 * PAGE
    mem.write_u32(3 * PAGE - 4, 0x11223344)
    assert inst.exports.load(3 * PAGE - 4) == 0x11223344


def test_repr_names_type_and_size(mem):
    r = repr(mem)
    assert "wasmffi.Memory" in r and str(2 * PAGE) in r


# --------------------------------------------------------------------------------------------
# read / write / read_into


def test_write_returns_count_and_read_returns_bytes(mem):
    assert mem.write(100, b"hello") == 5
    got = mem.read(100, 5)
    assert type(got) is bytes
    assert got == b"hello"
    assert mem.read(99, 7) == b"\0hello\0"


def test_write_at_the_very_end_and_zero_length_at_end(mem):
    end = len(mem)
    assert mem.write(end - 3, b"xyz") == 3
    assert mem.read(end - 3, 3) == b"xyz"
    assert mem.read(end, 0) == b""
    assert mem.write(end, b"") == 0


def _sources():
    out = [
        ("bytes", lambda d: bytes(d)),
        ("bytearray", lambda d: bytearray(d)),
        ("memoryview", lambda d: memoryview(bytearray(d))),
        ("memoryview-slice", lambda d: memoryview(b"__" + bytes(d) + b"__")[2:-2]),
        ("array-B", lambda d: array.array("B", d)),
    ]
    return out


@pytest.mark.parametrize("name,make", _sources(), ids=[s[0] for s in _sources()])
def test_write_accepts_bytes_like_objects(mem, name, make):
    data = bytes(range(1, 33))
    assert mem.write(7, make(data)) == 32
    assert mem.read(7, 32) == data
    assert mem.read(6, 1) == b"\0" and mem.read(39, 1) == b"\0"


def test_write_multi_byte_array_writes_its_raw_bytes(mem):
    a = array.array("I", [1, 0xDEADBEEF, 2**32 - 1])
    assert mem.write(8, a) == 12
    assert mem.read(8, 12) == a.tobytes()
    assert mem.read_u32(12) == 0xDEADBEEF


def test_write_numpy_array(mem):
    np = require_module("numpy")
    a = np.arange(10, dtype="<u2")
    assert mem.write(4, a) == 20
    assert mem.read(4, 20) == a.tobytes()
    assert mem.read_u16(4 + 2 * 9) == 9


def test_write_str_raises_type_error_and_writes_nothing(filled):
    mem, before = filled
    with pytest.raises(TypeError, match="bytes-like"):
        mem.write(0, "abc")
    with pytest.raises(TypeError):
        mem.write(0, 12345)
    assert snapshot(mem) == before


def test_write_non_contiguous_buffer_raises_type_error(filled):
    mem, before = filled
    with pytest.raises(TypeError):
        mem.write(0, memoryview(b"abcdefgh")[::2])
    assert snapshot(mem) == before


def test_write_from_overlapping_view_of_same_memory_behaves_like_memmove(mem):
    mem.write(0, b"0123456789")
    mem.write(2, mem.view(0, 8))
    assert mem.read(0, 10) == b"0101234567"
    mem.write(0, mem.view(2, 8))
    assert mem.read(0, 10) == b"0123456767"


def test_read_into_bytearray(mem):
    mem.write(10, b"abcdef")
    buf = bytearray(6)
    assert mem.read_into(10, buf) == 6
    assert buf == b"abcdef"


def test_read_into_memoryview_slice_fills_only_that_slice(mem):
    mem.write(10, b"XYZ")
    buf = bytearray(b"........")
    assert mem.read_into(10, memoryview(buf)[2:5]) == 3
    assert buf == b"..XYZ..."


def test_read_into_array(mem):
    mem.write(0, struct.pack("<3i", -1, 7, 2**31 - 1))
    a = array.array("i", [0, 0, 0])
    assert mem.read_into(0, a) == 12
    assert a.tolist() == [-1, 7, 2**31 - 1]


def test_read_into_numpy_array(mem):
    np = require_module("numpy")
    mem.write(0, struct.pack("<4d", 1.5, -2.0, 0.0, 1e300))
    a = np.zeros(4, dtype="<f8")
    assert mem.read_into(0, a) == 32
    assert a.tolist() == [1.5, -2.0, 0.0, 1e300]


def test_read_into_read_only_buffer_raises_type_error(mem):
    with pytest.raises(TypeError, match="writable"):
        mem.read_into(0, b"immutable")


def test_read_into_zero_length_buffer_at_end(mem):
    assert mem.read_into(len(mem), bytearray()) == 0


# --------------------------------------------------------------------------------------------
# read_cstring


def test_read_cstring_stops_at_nul(mem):
    mem.write(50, b"hello\0world\0")
    assert mem.read_cstring(50) == b"hello"
    assert mem.read_cstring(56) == b"world"
    assert mem.read_cstring(55) == b""


def test_read_cstring_with_max_len(mem):
    mem.write(50, b"hello\0")
    assert mem.read_cstring(50, 100) == b"hello"
    assert mem.read_cstring(50, 6) == b"hello"  # the NUL is the 6th byte searched
    with pytest.raises(ValueError, match="no NUL terminator within max_len=5"):
        mem.read_cstring(50, 5)
    with pytest.raises(ValueError):
        mem.read_cstring(50, 0)


def test_read_cstring_without_nul_before_end_raises_memory_access_error(mem):
    end = len(mem)
    mem.write(end - 4, b"abcd")
    with pytest.raises(wasmffi.MemoryAccessError, match="no NUL terminator before the end of memory"):
        mem.read_cstring(end - 4)
    # A max_len reaching past the end does not turn it into "found nothing within max_len".
    with pytest.raises(wasmffi.MemoryAccessError):
        mem.read_cstring(end - 4, 1000)
    with pytest.raises(wasmffi.MemoryAccessError):
        mem.read_cstring(end)


def test_read_cstring_ending_exactly_at_last_byte(mem):
    end = len(mem)
    mem.write(end - 4, b"abc\0")
    assert mem.read_cstring(end - 4) == b"abc"
    assert mem.read_cstring(end - 1) == b""


def test_read_cstring_max_len_error_names_the_address(mem):
    mem.write(0x1234, b"abcdef")
    with pytest.raises(ValueError) as ei:
        mem.read_cstring(0x1234, 3)
    assert "0x1234" in str(ei.value)
    assert "%" not in str(ei.value)


# --------------------------------------------------------------------------------------------
# Typed reads and writes

INF = float("inf")
F32_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]
F32_MIN_SUB = struct.unpack("<f", b"\x01\0\0\0")[0]

TYPED = {
    "i8": ("b", [-128, -1, 0, 1, 127]),
    "u8": ("B", [0, 1, 127, 128, 255]),
    "i16": ("h", [-32768, -1, 0, 256, 32767]),
    "u16": ("H", [0, 1, 0x8000, 0xFFFF]),
    "i32": ("i", [-2**31, -1, 0, 0x01020304, 2**31 - 1]),
    "u32": ("I", [0, 1, 2**31, 2**32 - 1]),
    "i64": ("q", [-2**63, -1, 0, 0x0102030405060708, 2**63 - 1]),
    "u64": ("Q", [0, 1, 2**63, 2**64 - 1]),
    "f32": ("f", [0.0, -0.0, 1.5, -2.25, 0.1, F32_MAX, -F32_MAX, F32_MIN_SUB, INF, -INF]),
    "f64": ("d", [0.0, -0.0, 0.1, -1e-300, sys.float_info.max, 5e-324, INF, -INF]),
}
TYPED_CASES = [(t, fmt, v) for t, (fmt, vs) in TYPED.items() for v in vs]


@pytest.mark.parametrize("t,fmt,value", TYPED_CASES, ids=[f"{t}-{v!r}" for t, _, v in TYPED_CASES])
def test_typed_write_is_little_endian_and_round_trips(filled, t, fmt, value):
    mem, before = filled
    addr = 13  # deliberately unaligned
    size = struct.calcsize("<" + fmt)
    getattr(mem, f"write_{t}")(addr, value)
    expected = struct.pack("<" + fmt, value)
    assert mem.read(addr, size) == expected
    back = getattr(mem, f"read_{t}")(addr)
    assert back == struct.unpack("<" + fmt, expected)[0]
    assert type(back) is (float if fmt in "fd" else int)
    if fmt in "fd":
        assert math.copysign(1.0, back) == math.copysign(1.0, value)
    after = snapshot(mem)
    assert after[:addr] == before[:addr] and after[addr + size:] == before[addr + size:]


@pytest.mark.parametrize("t,fmt", [(t, f) for t, (f, _) in TYPED.items()])
def test_typed_read_decodes_little_endian_bytes(mem, t, fmt):
    raw = bytes(range(0x81, 0x89))
    mem.write(40, raw)
    size = struct.calcsize("<" + fmt)
    assert getattr(mem, f"read_{t}")(40) == struct.unpack("<" + fmt, raw[:size])[0]


def test_u32_byte_order_is_little_endian(mem):
    mem.write_u32(0, 0x01020304)
    assert mem.read(0, 4) == b"\x04\x03\x02\x01"
    mem.write_u16(8, 0xABCD)
    assert mem.read(8, 2) == b"\xcd\xab"


def test_typed_write_is_seen_by_guest_and_guest_store_by_host(inst, mem):
    mem.write_i32(64, -5)
    assert inst.exports.load(64) == -5
    mem.write_u64(72, 0x8877665544332211)
    assert inst.exports.load64(72) == struct.unpack("<q", struct.pack("<Q", 0x8877665544332211))[0]
    inst.exports.store(80, 0x7FEEDDCC)
    assert mem.read_u32(80) == 0x7FEEDDCC
    inst.exports.store(84, -1)
    assert mem.read_u32(84) == 0xFFFFFFFF
    assert mem.read_i32(84) == -1


def test_float_nan_round_trips(mem):
    mem.write_f64(0, float("nan"))
    assert math.isnan(mem.read_f64(0))
    assert mem.read(0, 8) == struct.pack("<d", float("nan"))
    mem.write_f32(8, float("nan"))
    assert math.isnan(mem.read_f32(8))


def test_float_writes_accept_ints(mem):
    mem.write_f64(0, 3)
    assert mem.read_f64(0) == 3.0
    mem.write_f32(8, -7)
    assert mem.read_f32(8) == -7.0


OVERFLOWS = [
    ("u8", 256), ("u8", -1), ("i8", -129), ("i8", 256),
    ("u16", 65536), ("u16", -1), ("i16", 65536), ("i16", -32769),
    ("u32", -1), ("u32", 2**32), ("i32", 2**32), ("i32", -2**31 - 1),
    ("u64", -1), ("u64", 2**64), ("i64", -2**63 - 1), ("i64", 2**64),
    ("u8", 2**100), ("i32", -2**100),
    ("f32", 1e39), ("f32", -3.5e38), ("f64", 2**1024),
]


@pytest.mark.parametrize("t,value", OVERFLOWS, ids=[f"{t}-{v}" for t, v in OVERFLOWS])
def test_typed_write_out_of_range_raises_overflow_error_and_writes_nothing(filled, t, value):
    mem, before = filled
    with pytest.raises(OverflowError):
        getattr(mem, f"write_{t}")(16, value)
    assert snapshot(mem) == before


def test_overflow_error_names_type_and_value(mem):
    with pytest.raises(OverflowError,
                       match=r"write_u8\(\) value: 256 is out of range for u8 \(accepted: 0\.\.255\)"):
        mem.write_u8(0, 256)
    with pytest.raises(OverflowError, match=r"write_f32\(\) value: 1e\+39 is out of range for f32"):
        mem.write_f32(0, 1e39)
    with pytest.raises(OverflowError, match="-129"):
        mem.write_i8(0, -129)
    with pytest.raises(OverflowError, match="u32"):
        mem.write_u32(0, -1)


@pytest.mark.parametrize("t,value", [("i32", 1.0), ("u8", "1"), ("u64", None), ("f64", "1.0"), ("f32", b"x")])
def test_typed_write_of_wrong_type_raises_type_error_and_writes_nothing(filled, t, value):
    mem, before = filled
    with pytest.raises(TypeError):
        getattr(mem, f"write_{t}")(0, value)
    assert snapshot(mem) == before


# --------------------------------------------------------------------------------------------
# Pointers


def test_write_ptr_read_ptr_are_unsigned_u32(filled):
    mem, before = filled
    mem.write_ptr(20, 0xFFFFFFF0)
    assert mem.read(20, 4) == b"\xf0\xff\xff\xff"
    assert mem.read_ptr(20) == 0xFFFFFFF0
    assert mem.read(24, 1) == before[24:25]  # pointers are 4 bytes in a 32-bit memory
    mem.write_ptr(20, 0)
    assert mem.read_ptr(20) == 0


def test_read_ptr_of_guest_stored_high_pointer_is_positive(inst, mem):
    inst.exports.store(32, -16)  # the i32 bit pattern of 0xFFFFFFF0
    p = mem.read_ptr(32)
    assert p == 0xFFFFFFF0 and p > 0


def test_read_ptr_follows_guest_pointer(inst, mem):
    inst.exports.store(200, 0x5A5A5A5A)
    inst.exports.store(0, 200)
    assert mem.read_u32(mem.read_ptr(0)) == 0x5A5A5A5A


def test_write_ptr_too_large_for_32_bit_memory_raises_overflow_error_and_writes_nothing(filled):
    mem, before = filled
    with pytest.raises(OverflowError):
        mem.write_ptr(0, 2**32)
    with pytest.raises(OverflowError):
        mem.write_ptr(0, 2**64 - 1)
    assert snapshot(mem) == before


def test_write_ptr_negative_value_is_rejected_and_writes_nothing(filled):
    mem, before = filled
    with pytest.raises(wasmffi.MemoryAccessError, match="negative"):
        mem.write_ptr(0, -1)
    assert snapshot(mem) == before


def test_write_ptr_overflow_message_names_pointer_and_width(mem):
    with pytest.raises(OverflowError) as ei:
        mem.write_ptr(0, 0x123456789)
    assert "0x123456789" in str(ei.value)
    assert "32-bit" in str(ei.value)


# --------------------------------------------------------------------------------------------
# read_array / write_array

ARRAY_CASES = [
    ("i8", [-128, 0, 127]), ("u8", [0, 200, 255]), ("i16", [-32768, 1, 32767]), ("u16", [0, 65535]),
    ("i32", [-2**31, 5, 2**31 - 1]), ("u32", [0, 2**32 - 1]), ("i64", [-2**63, 2**63 - 1]),
    ("u64", [0, 2**64 - 1]), ("f32", [1.5, -0.25, INF]), ("f64", [0.1, -1e300, 5e-324]),
]


@pytest.mark.parametrize("t,values", ARRAY_CASES, ids=[c[0] for c in ARRAY_CASES])
def test_write_array_list_round_trips_little_endian(filled, t, values):
    mem, before = filled
    fmt = TYPED[t][0]
    n = mem.write_array(6, values, t)
    expected = struct.pack(f"<{len(values)}{fmt}", *values)
    assert n == len(expected)
    assert mem.read(6, n) == expected
    got = mem.read_array(6, len(values), t)
    assert isinstance(got, array.array)
    assert got.tolist() == list(struct.unpack(f"<{len(values)}{fmt}", expected))
    after = snapshot(mem)
    assert after[:6] == before[:6] and after[6 + n:] == before[6 + n:]


def test_read_array_defaults_to_u8(mem):
    mem.write(0, b"\x01\x02\xff")
    assert mem.read_array(0, 3).tolist() == [1, 2, 255]
    assert mem.read_array(0, 0).tolist() == []


def test_write_array_from_array_array(mem):
    assert mem.write_array(0, array.array("h", [-1, 2, -3]), "i16") == 6
    assert mem.read_array(0, 3, "i16").tolist() == [-1, 2, -3]
    # A different typecode is converted element by element, not reinterpreted.
    assert mem.write_array(16, array.array("b", [-1, 5]), "i32") == 8
    assert mem.read_array(16, 2, "i32").tolist() == [-1, 5]


def test_write_array_from_numpy_of_matching_and_safely_castable_dtype(mem):
    np = require_module("numpy")
    assert mem.write_array(0, np.array([1, -2, 3], dtype=np.int32), "i32") == 12
    assert mem.read_array(0, 3, "i32").tolist() == [1, -2, 3]
    assert mem.write_array(32, np.array([1, 255], dtype=np.uint8), "u32") == 8
    assert mem.read_array(32, 2, "u32").tolist() == [1, 255]
    assert mem.write_array(64, np.array([[1.5, 2.5], [3.5, 4.5]], dtype=np.float32), "f64") == 32
    assert mem.read_array(64, 4, "f64").tolist() == [1.5, 2.5, 3.5, 4.5]


def test_write_array_numpy_big_endian_is_stored_little_endian(mem):
    np = require_module("numpy")
    mem.write_array(0, np.array([0x01020304], dtype=">u4"), "u32")
    assert mem.read(0, 4) == b"\x04\x03\x02\x01"


@pytest.mark.parametrize("t,values", [("u8", [1, 2, 300]), ("i8", [0, -129]), ("u64", [5, -1]),
                                      ("u32", [2**32]), ("i16", [1, 2, 3, 70000]), ("i64", [2**64]),
                                      ("i32", [-2**31 - 1])])
def test_write_array_out_of_range_list_raises_overflow_error_and_writes_nothing(filled, t, values):
    mem, before = filled
    with pytest.raises(OverflowError):
        mem.write_array(0, values, t)
    assert snapshot(mem) == before


def test_write_array_out_of_range_array_array_raises_overflow_error_and_writes_nothing(filled):
    mem, before = filled
    with pytest.raises(OverflowError):
        mem.write_array(0, array.array("i", [1, 300]), "u8")
    assert snapshot(mem) == before


def test_write_array_numpy_unsafe_float_to_int_raises_type_error_and_writes_nothing(filled):
    np = require_module("numpy")
    mem, before = filled
    with pytest.raises(TypeError):
        mem.write_array(0, np.array([1.5, 2.0]), "i32")
    assert snapshot(mem) == before


def test_write_array_out_of_range_numpy_raises_overflow_error_and_writes_nothing(filled):
    np = require_module("numpy")
    mem, before = filled
    try:
        with pytest.raises(OverflowError):
            mem.write_array(0, np.array([1, 2, 300]), "u8")
    finally:
        assert snapshot(mem) == before


def test_write_array_numpy_default_int_array_with_in_range_values(mem):
    np = require_module("numpy")
    assert mem.write_array(0, np.arange(4), "i32") == 16
    assert mem.read_array(0, 4, "i32").tolist() == [0, 1, 2, 3]


def test_write_array_list_of_floats_to_int_type_raises_type_error_and_writes_nothing(filled):
    mem, before = filled
    with pytest.raises(TypeError):
        mem.write_array(0, [1, 2.5], "i32")
    assert snapshot(mem) == before


def test_array_unknown_type_raises_value_error(filled):
    mem, before = filled
    with pytest.raises(ValueError, match="unknown element type"):
        mem.write_array(0, [1], "u128")
    with pytest.raises(ValueError, match="unknown element type"):
        mem.read_array(0, 1, "int")
    assert snapshot(mem) == before


def test_write_array_past_end_raises_memory_access_error_and_writes_nothing(filled):
    mem, before = filled
    with pytest.raises(wasmffi.MemoryAccessError):
        mem.write_array(len(mem) - 8, [1, 2, 3], "u32")
    assert snapshot(mem) == before


def test_read_array_past_end_or_negative_count_raises_memory_access_error(mem):
    with pytest.raises(wasmffi.MemoryAccessError):
        mem.read_array(len(mem) - 4, 2, "u32")
    with pytest.raises(wasmffi.MemoryAccessError):
        mem.read_array(0, -1, "u32")
    with pytest.raises(wasmffi.MemoryAccessError):
        mem.read_array(0, 2**62, "u64")  # count * 8 does not fit in 64 bits


# --------------------------------------------------------------------------------------------
# pack_into / unpack_from


def test_pack_into_defaults_to_little_endian_standard_sizes(mem):
    assert mem.pack_into("IHb", 10, 0x01020304, 0xBEEF, -1) == 7  # no native alignment padding
    assert mem.read(10, 7) == b"\x04\x03\x02\x01\xef\xbe\xff"
    assert mem.unpack_from("IHb", 10) == (0x01020304, 0xBEEF, -1)


def test_pack_into_respects_explicit_byte_order(mem):
    mem.pack_into(">I", 0, 0x01020304)
    assert mem.read(0, 4) == b"\x01\x02\x03\x04"
    assert mem.unpack_from(">I", 0) == (0x01020304,)
    assert mem.unpack_from("<I", 0) == (0x04030201,)


def test_unpack_from_reads_guest_written_struct(inst, mem):
    inst.exports.store(100, 7)
    inst.exports.store(104, -2)
    assert mem.unpack_from("Ii", 100) == (7, -2)


def test_struct_formats_are_compiled_once_and_cached(mem):
    fmt = "QdhxI"  # a format no other test uses
    mem.pack_into(fmt, 0, 1, 2.0, 3, 4)
    hits = _memory._compiled.cache_info().hits
    mem.pack_into(fmt, 0, 5, 6.0, 7, 8)
    assert mem.unpack_from(fmt, 0) == (5, 6.0, 7, 8)
    assert _memory._compiled.cache_info().hits >= hits + 2
    assert _memory._compiled(fmt) is _memory._compiled(fmt)


def test_pack_into_partial_failure_writes_nothing(filled):
    mem, before = filled
    with pytest.raises(struct.error):
        mem.pack_into("II", 0, 1, 2**32)  # first field is fine, second is not
    with pytest.raises(struct.error):
        mem.pack_into("II", 0, 1)  # too few values
    with pytest.raises(struct.error):
        mem.pack_into("Ib", 0, 1, "x")
    assert snapshot(mem) == before


def test_pack_into_non_str_format_raises_type_error(filled):
    mem, before = filled
    with pytest.raises(TypeError):
        mem.pack_into(b"I", 0, 1)
    assert snapshot(mem) == before


def test_pack_into_past_end_writes_nothing(filled):
    mem, before = filled
    with pytest.raises(wasmffi.MemoryAccessError):
        mem.pack_into("Q", len(mem) - 4, 1)
    assert snapshot(mem) == before


def test_unpack_from_past_end_raises_memory_access_error(mem):
    with pytest.raises(wasmffi.MemoryAccessError):
        mem.unpack_from("Q", len(mem) - 4)


# --------------------------------------------------------------------------------------------
# view()


def test_view_is_a_writable_byte_memoryview(mem):
    v = mem.view(8, 16)
    assert isinstance(v, memoryview)
    assert not v.readonly
    assert v.format == "B" and v.itemsize == 1
    assert v.nbytes == 16 and len(v) == 16 and v.shape == (16,)
    assert v.contiguous


def test_view_is_zero_copy_both_ways(inst, mem):
    v = mem.view(16, 8)
    v[0:4] = b"\x78\x56\x34\x12"
    assert mem.read(16, 4) == b"\x78\x56\x34\x12"
    assert inst.exports.load(16) == 0x12345678
    inst.exports.store(20, 0x0A0B0C0D)
    assert bytes(v[4:8]) == b"\x0d\x0c\x0b\x0a"
    mem.write(16, b"\xff")
    assert v[0] == 0xFF
    inst.exports.store8(17, 0x42)
    assert v[1] == 0x42


def test_view_slicing_and_cast(mem):
    v = mem.view(0, 16)
    sub = v[4:12]
    sub[2:4] = b"ab"
    assert mem.read(6, 2) == b"ab"
    v[::2] = bytes(8)  # strided assignment through the view
    assert mem.read(6, 2) == b"\0b"
    words = v.cast("I")
    words[1] = 0xCAFEBABE
    assert mem.read_u32(4) == 0xCAFEBABE
    assert v[8:].tobytes() == mem.read(8, 8)


def test_view_works_with_hashlib(mem):
    data = pattern(4096, 3)
    mem.write(1000, data)
    v = mem.view(1000, 4096)
    assert hashlib.sha256(v).digest() == hashlib.sha256(data).digest()
    h = hashlib.sha256()
    h.update(v[:100])
    h.update(v[100:])
    assert h.digest() == hashlib.sha256(data).digest()


def test_view_works_with_numpy_frombuffer_zero_copy(inst, mem):
    np = require_module("numpy")
    a = np.frombuffer(mem.view(64, 16), dtype="<u4")
    assert a.flags.writeable
    a[1] = 0xDEADBEEF
    assert mem.read_u32(68) == 0xDEADBEEF
    assert inst.exports.load(68) == struct.unpack("<i", struct.pack("<I", 0xDEADBEEF))[0]
    inst.exports.store(72, 99)
    assert a[2] == 99


def test_zero_length_view_at_end(mem):
    v = mem.view(len(mem), 0)
    assert len(v) == 0 and v.tobytes() == b""


def test_view_keeps_instance_alive_after_del_and_gc():
    inst = wasmffi.load(GUEST)
    mem = inst.memory
    data = pattern(1024, 9)
    mem.write(PAGE - 512, data)
    v = mem.view(PAGE - 512, 1024)
    del inst, mem
    gc.collect()
    # Churn the allocator: freed memory would likely be reused (or unmapped) by now.
    junk = [wasmffi.load(GUEST) for _ in range(4)]
    for j in junk:
        j.memory.write(PAGE - 512, bytes(1024))
    del junk
    gc.collect()
    assert v.tobytes() == data
    v[0:4] = b"live"
    assert v[0:4].tobytes() == b"live"
    assert hashlib.sha256(v).digest() == hashlib.sha256(b"live" + data[4:]).digest()


def test_ndarray_keeps_instance_alive_after_del_and_gc():
    np = require_module("numpy")
    inst = wasmffi.load(GUEST)
    inst.memory.write_array(0, [10, 20, 30], "u32")
    a = inst.memory.ndarray(0, np.uint32, 3)
    del inst
    gc.collect()
    assert a.tolist() == [10, 20, 30]
    a[0] = 11
    assert a.tolist() == [11, 20, 30]


def test_view_stays_valid_and_coherent_after_host_grow(inst, mem):
    v = mem.view(PAGE, PAGE)
    v[-4:] = b"abcd"
    base = mem.view(0, 1)
    assert mem.grow(2) == 2
    assert v[-4:].tobytes() == b"abcd"
    v[0:4] = b"wxyz"
    assert mem.read(PAGE, 4) == b"wxyz"
    assert inst.exports.load(PAGE) == struct.unpack("<i", b"wxyz")[0]
    inst.exports.store(2 * PAGE - 8, 0x01010101)
    assert v[-8:-4].tobytes() == b"\x01\x01\x01\x01"
    base[0] = 7
    assert mem.read_u8(0) == 7
    # The new pages are reachable through a fresh view as well.
    w = mem.view(3 * PAGE, PAGE)
    w[0] = 5
    assert inst.exports.load8(3 * PAGE) == 5


def test_view_stays_valid_and_coherent_after_guest_grow(inst, mem):
    v = mem.view(0, 2 * PAGE)
    v[100:104] = b"\x01\x02\x03\x04"
    assert inst.exports.grow(2) == 2
    assert len(mem) == 4 * PAGE
    assert v[100:104].tobytes() == b"\x01\x02\x03\x04"
    inst.exports.store(2 * PAGE - 4, 0x44434241)
    assert v[-4:].tobytes() == b"ABCD"
    v[0] = 0x99
    assert inst.exports.load8(0) == 0x99


def test_ndarray_is_zero_copy(inst, mem):
    np = require_module("numpy")
    a = mem.ndarray(256, np.dtype("<i4"), (2, 3))
    assert a.shape == (2, 3) and a.dtype == np.dtype("<i4")
    assert a.flags.writeable
    a[1, 2] = -7
    assert mem.read_i32(256 + 5 * 4) == -7
    assert inst.exports.load(256 + 20) == -7
    inst.exports.store(256, 123)
    assert a[0, 0] == 123
    mem.write_i32(260, 456)
    assert a[0, 1] == 456


def test_ndarray_accepts_int_shape_and_dtype_strings(mem):
    np = require_module("numpy")
    mem.write(0, struct.pack("<2d", 1.25, -3.5))
    a = mem.ndarray(0, "f8", 2)
    assert a.shape == (2,) and a.tolist() == [1.25, -3.5]


def test_ndarray_negative_shape_raises_value_error(mem):
    np = require_module("numpy")
    with pytest.raises(ValueError, match=r"got -1 at index 1"):
        mem.ndarray(0, np.uint8, (2, -1))
    with pytest.raises(ValueError, match=r"got -100000000000\.\.\.000000000000 \(601 digits\) at index 0"):
        mem.ndarray(0, np.uint8, (-10**600,))


def test_ndarray_past_end_raises_memory_access_error(mem):
    np = require_module("numpy")
    with pytest.raises(wasmffi.MemoryAccessError):
        mem.ndarray(len(mem) - 8, np.uint32, (3,))


# --------------------------------------------------------------------------------------------
# Error paths: every entry point, every kind of bad address.
#
# Each op takes (mem, address, n) and accesses n bytes at address.


def _np():
    return require_module("numpy")


LENGTH_OPS = {
    "read": lambda m, a, n: m.read(a, n),
    "write": lambda m, a, n: m.write(a, b"\xaa" * n),
    "read_into": lambda m, a, n: m.read_into(a, bytearray(n)),
    "view": lambda m, a, n: m.view(a, n),
    "read_array": lambda m, a, n: m.read_array(a, n, "u8"),
    "write_array": lambda m, a, n: m.write_array(a, [0xAA] * n, "u8"),
    "pack_into": lambda m, a, n: m.pack_into(f"{n}s", a, b"\xaa" * n),
    "unpack_from": lambda m, a, n: m.unpack_from(f"{n}s", a),
    "ndarray": lambda m, a, n: m.ndarray(a, _np().uint8, (n,)),
}

# (id, address as a function of len(mem), n, kind of failure)
BAD = [
    ("negative", lambda L: -1, 1, "negative"),
    ("very-negative", lambda L: -(2**64), 1, "negative"),
    ("at-end", lambda L: L, 1, "bounds"),
    ("straddles-end", lambda L: L - 1, 2, "bounds"),
    ("far-past-end", lambda L: 2**32, 1, "bounds"),
    ("overflowing-sum", lambda L: 2**64 - 1, 2, "bounds"),
    ("2**64", lambda L: 2**64, 1, "fit"),
    ("2**100", lambda L: 2**100, 1, "fit"),
]


def _check_error(err, kind, addr, n, size):
    assert isinstance(err, IndexError) and isinstance(err, wasmffi.Error)
    msg = str(err)
    if kind == "negative":
        assert "negative" in msg and str(addr) in msg
    elif kind == "fit":
        assert "does not fit in 64 bits" in msg and str(addr) in msg
    else:
        assert f"0x{addr:x}" in msg, msg
        assert f"{n} byte" in msg, msg
        assert str(size) in msg, msg


@pytest.mark.parametrize("op", LENGTH_OPS, ids=list(LENGTH_OPS))
@pytest.mark.parametrize("case,addr_of,n,kind", BAD, ids=[b[0] for b in BAD])
def test_bad_address_raises_memory_access_error_and_changes_nothing(filled, op, case, addr_of, n, kind):
    mem, before = filled
    addr = addr_of(len(mem))
    with pytest.raises(wasmffi.MemoryAccessError) as ei:
        LENGTH_OPS[op](mem, addr, n)
    _check_error(ei.value, kind, addr, n, len(mem))
    assert snapshot(mem) == before
    assert len(mem) == 2 * PAGE


@pytest.mark.parametrize("op", LENGTH_OPS, ids=list(LENGTH_OPS))
def test_float_address_raises_type_error_and_changes_nothing(filled, op):
    mem, before = filled
    with pytest.raises(TypeError):
        LENGTH_OPS[op](mem, 4.0, 1)
    assert snapshot(mem) == before


@pytest.mark.parametrize("op", ["read", "view", "read_array"])
@pytest.mark.parametrize("n", [-1, -(2**70)])
def test_negative_length_raises_memory_access_error(filled, op, n):
    mem, before = filled
    with pytest.raises(wasmffi.MemoryAccessError, match="negative"):
        LENGTH_OPS[op](mem, 0, n)
    assert snapshot(mem) == before


@pytest.mark.parametrize("op", ["read", "view"])
def test_length_larger_than_64_bits_raises_memory_access_error(mem, op):
    with pytest.raises(wasmffi.MemoryAccessError, match="does not fit"):
        LENGTH_OPS[op](mem, 0, 2**64)


@pytest.mark.parametrize("op", ["read", "view"])
def test_float_length_raises_type_error(mem, op):
    with pytest.raises(TypeError):
        LENGTH_OPS[op](mem, 0, 1.0)


def test_whole_memory_minus_one_byte_overflow(mem):
    with pytest.raises(wasmffi.MemoryAccessError):
        mem.read(1, len(mem))
    with pytest.raises(wasmffi.MemoryAccessError):
        mem.view(1, 2**64 - 1)
    assert len(mem.read(0, len(mem))) == len(mem)



def _typed_ops():
    ops = []
    for t, (fmt, vals) in TYPED.items():
        size = struct.calcsize("<" + fmt)
        ops.append((f"read_{t}", size, lambda m, a, t=t: getattr(m, f"read_{t}")(a)))
        ops.append((f"write_{t}", size, lambda m, a, t=t, v=vals[-1]: getattr(m, f"write_{t}")(a, v)))
    ops.append(("read_ptr", 4, lambda m, a: m.read_ptr(a)))
    ops.append(("write_ptr", 4, lambda m, a: m.write_ptr(a, 0xAAAAAAAA)))
    return ops


TYPED_OPS = _typed_ops()
TYPED_BAD = [
    ("negative", lambda L, s: -1, "negative"),
    ("negative-bit-pattern", lambda L, s: -(2**32) + 16, "negative"),
    ("at-end", lambda L, s: L, "bounds"),
    ("straddles-end", lambda L, s: L - s + 1, "bounds"),
    ("overflowing-sum", lambda L, s: 2**64 - 1, "bounds"),
    ("2**64", lambda L, s: 2**64, "fit"),
    ("2**100", lambda L, s: 2**100, "fit"),
]


@pytest.mark.parametrize("name,size,op", TYPED_OPS, ids=[o[0] for o in TYPED_OPS])
@pytest.mark.parametrize("case,addr_of,kind", TYPED_BAD, ids=[b[0] for b in TYPED_BAD])
def test_typed_access_at_bad_address_raises_memory_access_error_and_changes_nothing(
        filled, name, size, op, case, addr_of, kind):
    mem, before = filled
    addr = addr_of(len(mem), size)
    with pytest.raises(wasmffi.MemoryAccessError) as ei:
        op(mem, addr)
    _check_error(ei.value, kind, addr, size, len(mem))
    assert snapshot(mem) == before


@pytest.mark.parametrize("name,size,op", TYPED_OPS, ids=[o[0] for o in TYPED_OPS])
def test_typed_access_at_float_address_raises_type_error(filled, name, size, op):
    mem, before = filled
    with pytest.raises(TypeError):
        op(mem, 0.0)
    assert snapshot(mem) == before


@pytest.mark.parametrize("name,size,op", TYPED_OPS, ids=[o[0] for o in TYPED_OPS])
def test_typed_access_at_last_valid_address_succeeds(filled, name, size, op):
    mem, _ = filled
    op(mem, len(mem) - size)  # no exception: the check is exact, not conservative
    assert len(mem) == 2 * PAGE


@pytest.mark.parametrize("addr_of,kind", [(lambda L: -1, "negative"), (lambda L: L + 1, "bounds"),
                                          (lambda L: 2**64 - 1, "bounds"), (lambda L: 2**64, "fit"),
                                          (lambda L: 2**100, "fit")])
def test_read_cstring_bad_address_raises_memory_access_error(filled, addr_of, kind):
    mem, before = filled
    addr = addr_of(len(mem))
    with pytest.raises(wasmffi.MemoryAccessError) as ei:
        mem.read_cstring(addr)
    _check_error(ei.value, kind, addr, 0, len(mem))
    with pytest.raises(wasmffi.MemoryAccessError):
        mem.read_cstring(addr, 4)
    assert snapshot(mem) == before


def test_read_cstring_float_address_or_max_len_raises_type_error(mem):
    with pytest.raises(TypeError):
        mem.read_cstring(0.0)
    with pytest.raises(TypeError):
        mem.read_cstring(0, 4.0)


def test_read_cstring_negative_max_len_raises_memory_access_error(mem):
    with pytest.raises(wasmffi.MemoryAccessError, match="negative"):
        mem.read_cstring(0, -1)


def test_index_like_addresses_are_accepted(mem):
    np = require_module("numpy")
    mem.write(np.uint64(8), b"ok")
    assert mem.read(np.int32(8), np.uint8(2)) == b"ok"
    with pytest.raises(wasmffi.MemoryAccessError):
        mem.read(np.uint64(2**64 - 1), 2)
    with pytest.raises(wasmffi.MemoryAccessError):
        mem.read(np.int64(-1), 1)
    with pytest.raises(TypeError):
        mem.read(np.float64(8.0), 1)


def test_memory_access_error_is_catchable_as_index_error(mem):
    with pytest.raises(IndexError):
        mem.read(len(mem), 1)
    with pytest.raises(wasmffi.Error):
        mem.write(-1, b"x")


# --------------------------------------------------------------------------------------------
# One meaning per type name: "iN" takes the union of the signed and unsigned range and stores
# the bit pattern (as call arguments do); "uN" takes only 0..2**N-1; reads of "iN" are signed.

SIGNED_UNION = [("i8", 255, -1), ("i16", 2**16 - 1, -1), ("i32", 2**32 - 1, -1), ("i64", 2**64 - 1, -1),
                ("i32", 2**31, -2**31), ("i8", -128, -128)]


@pytest.mark.parametrize("t,value,read_back", SIGNED_UNION)
def test_signed_typed_write_accepts_the_unsigned_range_as_bit_pattern(mem, t, value, read_back):
    getattr(mem, f"write_{t}")(8, value)
    assert getattr(mem, f"read_{t}")(8) == read_back
    assert getattr(mem, f"read_u{t[1:]}")(8) == value % 2**int(t[1:])


@pytest.mark.parametrize("t,value,read_back", SIGNED_UNION)
def test_signed_write_array_accepts_the_unsigned_range_as_bit_pattern(mem, t, value, read_back):
    assert mem.write_array(8, [0, value], t) == 2 * int(t[1:]) // 8
    assert mem.read_array(8, 2, t).tolist() == [0, read_back]


def test_signed_write_array_from_numpy_unsigned_accepts_the_unsigned_range(mem):
    np = require_module("numpy")
    mem.write_array(0, np.array([2**32 - 1, 1], dtype=np.uint64), "i32")
    assert mem.read_array(0, 2, "i32").tolist() == [-1, 1]
    with pytest.raises(OverflowError, match=r"write_array\(\) element 1: 4294967296 is out of range for i32"):
        mem.write_array(0, np.array([1, 2**32], dtype=np.uint64), "i32")


@pytest.mark.parametrize("t,values,index,bad", [
    ("i32", [1, 2, 2**32], 2, "4294967296"), ("u8", [0, -1], 1, "-1"), ("i8", [300], 0, "300"),
    ("u64", [1, 2, 3, 2**64], 3, "18446744073709551616"), ("f32", [0.5, 1e39], 1, "1e+39"),
])
def test_write_array_overflow_names_the_failing_element(filled, t, values, index, bad):
    mem, before = filled
    with pytest.raises(OverflowError, match=rf"write_array\(\) element {index}: {re.escape(bad)} is out of range for {t}"):
        mem.write_array(0, values, t)
    assert snapshot(mem) == before


def test_write_array_type_error_names_the_failing_element(filled):
    mem, before = filled
    with pytest.raises(TypeError, match=r"write_array\(\) element 2 must be int, not str"):
        mem.write_array(0, [1, 2, "3"], "i32")
    with pytest.raises(TypeError, match=r"write_array\(\) element 1 must be float or int, not NoneType"):
        mem.write_array(0, [1.0, None], "f64")
    assert snapshot(mem) == before


def test_write_array_accepts_any_iterable_once(mem):
    assert mem.write_array(0, (i for i in [1, 2**32 - 1]), "i32") == 8
    assert mem.read_array(0, 2, "u32").tolist() == [1, 2**32 - 1]


# --------------------------------------------------------------------------------------------
# read_into a view of the same memory: overlapping ranges behave like bytearray slice assignment


@pytest.mark.parametrize("src,dst,n", [(100, 104, 64), (104, 100, 64), (0, 1, 255), (1, 0, 255), (50, 50, 10)],
                         ids=["dst-after-src", "dst-before-src", "shift-up-1", "shift-down-1", "same"])
def test_read_into_overlapping_view_of_same_memory_matches_bytearray(filled, src, dst, n):
    mem, before = filled
    model = bytearray(before)
    model[dst:dst + n] = model[src:src + n]
    assert mem.read_into(src, mem.view(dst, n)) == n
    assert snapshot(mem) == bytes(model)


@pytest.mark.parametrize("src,dst,n", [(100, 104, 64), (104, 100, 64), (0, 1, 255), (1, 0, 255)])
def test_write_from_overlapping_view_of_same_memory_matches_bytearray(filled, src, dst, n):
    mem, before = filled
    model = bytearray(before)
    model[dst:dst + n] = model[src:src + n]
    assert mem.write(dst, mem.view(src, n)) == n
    assert snapshot(mem) == bytes(model)


# --------------------------------------------------------------------------------------------
# Bad arguments: a clear TypeError naming the method and argument, never nanobind's dump

INT_ARG_CALLS = [
    ("read", lambda m, bad: m.read(bad, 4), "address"),
    ("read", lambda m, bad: m.read(0, bad), "length"),
    ("read_into", lambda m, bad: m.read_into(bad, bytearray(4)), "address"),
    ("write", lambda m, bad: m.write(bad, b"x"), "address"),
    ("view", lambda m, bad: m.view(bad, 4), "address"),
    ("view", lambda m, bad: m.view(0, bad), "length"),
    ("read_cstring", lambda m, bad: m.read_cstring(bad), "address"),
    ("read_cstring", lambda m, bad: m.read_cstring(0, bad), "max_len"),
    ("grow", lambda m, bad: m.grow(bad), "pages"),
    ("read_ptr", lambda m, bad: m.read_ptr(bad), "address"),
    ("write_ptr", lambda m, bad: m.write_ptr(bad, 0), "address"),
    ("write_ptr", lambda m, bad: m.write_ptr(0, bad), "value"),
    ("read_u32", lambda m, bad: m.read_u32(bad), "address"),
    ("write_i64", lambda m, bad: m.write_i64(bad, 1), "address"),
    ("write_i64", lambda m, bad: m.write_i64(0, bad), "value"),
    ("write_f64", lambda m, bad: m.write_f64(0, bad), "value"),
    ("read_array", lambda m, bad: m.read_array(bad, 1), "address"),
    ("read_array", lambda m, bad: m.read_array(0, bad), "count"),
    ("write_array", lambda m, bad: m.write_array(bad, [1]), "address"),
    ("pack_into", lambda m, bad: m.pack_into("<I", bad, 1), "address"),
    ("unpack_from", lambda m, bad: m.unpack_from("<I", bad), "address"),
]


@pytest.mark.parametrize("bad", [None, "0", 1.0, b"0"], ids=["None", "str", "float", "bytes"])
@pytest.mark.parametrize("name,call,arg", INT_ARG_CALLS, ids=[f"{c[0]}-{c[2]}" for c in INT_ARG_CALLS])
def test_bad_int_argument_type_names_method_and_argument(filled, name, call, arg, bad):
    mem, before = filled
    if name == "read_cstring" and arg == "max_len" and bad is None:
        mem.write_u8(5, 0)
        assert call(mem, bad) == before[:5]  # None means "no limit" there
        return
    if name == "write_f64" and isinstance(bad, float):
        return  # a float is the right type there
    with pytest.raises(TypeError) as ei:
        call(mem, bad)
    msg = str(ei.value)
    assert "incompatible function arguments" not in msg
    assert msg.startswith((f"{name}(): {arg} must be ", f"{name}() {arg} must be ")), msg
    assert type(bad).__name__ in msg, msg
    assert snapshot(mem) == before


@pytest.mark.parametrize("call,text", [
    (lambda m: m.read(0), r"read\(\) missing required argument 'length' \(pos 2\)"),
    (lambda m: m.read(0, 1, 2), r"read\(\) takes at most 2 arguments \(3 given\)"),
    (lambda m: m.read_u8(), r"read_u8\(\) missing required argument 'address' \(pos 1\)"),
    (lambda m: m.write(0, data=b"x", address=1), r"write\(\) got multiple values for argument 'address'"),
    (lambda m: m.view(0, 1, size=3), r"view\(\) got an unexpected keyword argument 'size'"),
    (lambda m: m.grow(), r"grow\(\) missing required argument 'pages'"),
])
def test_wrong_arity_or_keywords_raise_clear_type_error(mem, call, text):
    with pytest.raises(TypeError, match=text) as ei:
        call(mem)
    assert "incompatible function arguments" not in str(ei.value)


def test_keyword_arguments_work(mem):
    assert mem.write(address=8, data=b"abc\0") == 4
    assert mem.read(length=3, address=8) == b"abc"
    mem.write_u16(address=0, value=513)
    assert mem.read_u16(address=0) == 513
    assert mem.read_cstring(8, max_len=4) == b"abc"


def test_write_bad_buffer_argument_names_method(mem):
    with pytest.raises(TypeError, match=r"write\(\): data must be a contiguous bytes-like object, not NoneType"):
        mem.write(0, None)
    with pytest.raises(TypeError, match=r"read_into\(\): buffer must be a writable"):
        mem.read_into(0, None)


@pytest.mark.parametrize("name,text", [
    ("read", "(address, length)"), ("write", "(address, data)"), ("read_into", "(address, buffer)"),
    ("view", "(address, length)"), ("grow", "(pages)"), ("read_u32", "(address)"),
    ("write_f32", "(address, value)"), ("read_cstring", "(address, max_len=None)"),
    ("read_ptr", "(address)"), ("write_ptr", "(address, value)"),
])
def test_inspect_signature_of_memory_methods(mem, name, text):
    import inspect
    assert str(inspect.signature(getattr(mem, name))) == text
    assert str(inspect.signature(getattr(wasmffi.Memory, name))) == "(self, /, " + text[1:]


def test_huge_int_in_error_is_abbreviated(mem):
    huge = 7 * 10**600 + 3
    for call in (lambda: mem.read(huge, 1), lambda: mem.read(-huge, 1), lambda: mem.write_u8(0, huge),
                 lambda: mem.grow(huge)):
        with pytest.raises((OverflowError, wasmffi.MemoryAccessError, ValueError)) as ei:
            call()
        msg = str(ei.value)
        assert len(msg) < 300, msg
        assert "601 digits" in msg and "7000" in msg and "0003" in msg, msg


@pytest.mark.parametrize("count", [2**62, -1, 2**40])
def test_read_array_errors_name_read_array_not_read(mem, count):
    # A huge count used to surface read()'s own message ("read(): length ... does not fit").
    with pytest.raises(wasmffi.MemoryAccessError, match=r"^read_array\(\)"):
        mem.read_array(0, count, "u32")
