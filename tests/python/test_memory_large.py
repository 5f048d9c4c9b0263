"""Addresses at and beyond 2 GiB (32-bit memories) and 4 GiB (memory64) stay unsigned on both sides."""

import struct

import pytest

import wasmffi

PAGE = 65536
TWO_GIB = 2**31
FOUR_GIB = 2**32

GUEST32 = """
(module
  (memory (export "memory") 32769)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "load8") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "store8") (param i32 i32) local.get 0 local.get 1 i32.store8)
  (func (export "ptr_at_top") (result i32) i32.const 0xFFFFFFF0)
  (func (export "store_ptr_at_top") (param i32) local.get 0 i32.const 0xFFFFFFF0 i32.store)
  (func (export "size") (result i32) memory.size))
"""

GUEST64 = """
(module
  (memory (export "memory") i64 65537)
  (func (export "load") (param i64) (result i32) local.get 0 i32.load)
  (func (export "store") (param i64 i32) local.get 0 local.get 1 i32.store)
  (func (export "load8") (param i64) (result i32) local.get 0 i32.load8_u)
  (func (export "load64") (param i64) (result i64) local.get 0 i64.load)
  (func (export "store64") (param i64 i64) local.get 0 local.get 1 i64.store)
  (func (export "size") (result i64) memory.size))
"""


def u32_bits(x: int) -> int:
    """The signed i32 with the same bit pattern as the unsigned 32-bit value x."""
    return struct.unpack("<i", struct.pack("<I", x))[0]


def u64_as_i64(x: int) -> int:
    """The signed i64 with the same bit pattern as the unsigned 64-bit value x."""
    return struct.unpack("<q", struct.pack("<Q", x))[0]


def load_or_fail(wat: str, what: str, **kw) -> wasmffi.Instance:
    try:
        return wasmffi.load(wat, **kw)
    except wasmffi.Error as e:
        pytest.fail(f"could not instantiate {what}: the machine could not reserve the virtual memory "
                    f"({type(e).__name__}: {e}). These tests need a 64-bit host with enough address "
                    f"space (ulimit -v unlimited); they are not skipped on purpose.", pytrace=False)


@pytest.fixture(scope="module")
def big():
    return load_or_fail(GUEST32, "a 32-bit memory of 32769 pages (2 GiB + 64 KiB)")


@pytest.fixture(scope="module")
def engine64():
    try:
        return wasmffi.Engine(memory_reservation=16 << 30)
    except wasmffi.Error as e:
        pytest.fail(f"could not create an engine with a 16 GiB memory reservation: {e}", pytrace=False)


@pytest.fixture(scope="module")
def big64(engine64):
    return load_or_fail(GUEST64, "a memory64 of 65537 pages (4 GiB + 64 KiB)", engine=engine64)


# --------------------------------------------------------------------------------------------
# 32-bit memory just over 2 GiB


def test_memory_is_larger_than_2_gib(big):
    mem = big.memory
    assert mem.is64 is False
    assert mem.pages == 32769
    assert len(mem) == 32769 * PAGE
    assert len(mem) > TWO_GIB
    assert big.exports.size() == 32769


def test_host_read_write_at_2_gib_is_seen_by_guest(big):
    mem, e = big.memory, big.exports
    mem.write(0x80000000, b"\x11\x22\x33\x44")
    assert mem.read(0x80000000, 4) == b"\x11\x22\x33\x44"
    assert mem.read_u32(0x80000000) == 0x44332211
    assert e.load(0x80000000) == 0x44332211
    assert e.load(u32_bits(0x80000000)) == 0x44332211
    v = mem.view(0x80000000, 4)
    assert v.tobytes() == b"\x11\x22\x33\x44"
    v[0] = 0xAB
    assert e.load8(0x80000000) == 0xAB


def test_access_just_below_the_end(big):
    mem, e = big.memory, big.exports
    end = len(mem)
    mem.write_u32(end - 4, 0xCAFEF00D)
    assert mem.read(end - 4, 4) == b"\x0d\xf0\xfe\xca"
    assert e.load(end - 4) == u32_bits(0xCAFEF00D)
    mem.write_u8(end - 1, 0x7E)
    assert e.load8(end - 1) == 0x7E
    v = mem.view(end - 16, 16)
    assert v[-1] == 0x7E
    e.store(end - 8, 0x01020304)
    assert v[8:12].tobytes() == b"\x04\x03\x02\x01"
    assert mem.read(end, 0) == b""


def test_access_past_the_end_is_rejected_on_both_sides(big):
    mem, e = big.memory, big.exports
    end = len(mem)
    before = mem.read(end - 4, 4)
    for addr, n in ((end, 1), (end - 3, 4), (end - 1, 2), (0xFFFFFFF0, 4), (0xFFFFFFFF, 1)):
        with pytest.raises(wasmffi.MemoryAccessError, match=f"0x{addr:x}"):
            mem.read(addr, n)
        with pytest.raises(wasmffi.MemoryAccessError):
            mem.write(addr, b"\xff" * n)
        with pytest.raises(wasmffi.MemoryAccessError):
            mem.view(addr, n)
    assert mem.read(end - 4, 4) == before
    with pytest.raises(wasmffi.MemoryOutOfBounds):
        e.load(end - 3)


def test_read_write_view_across_the_2_gib_boundary(big):
    mem, e = big.memory, big.exports
    mem.write(0x7FFFFFFE, b"\x01\x02\x03\x04")
    assert mem.read(0x7FFFFFFE, 4) == b"\x01\x02\x03\x04"
    assert mem.read(0x80000000, 2) == b"\x03\x04"
    assert mem.read_u32(0x7FFFFFFE) == 0x04030201
    assert e.load(0x7FFFFFFE) == 0x04030201
    v = mem.view(0x7FFFFFFE, 4)
    assert v.tobytes() == b"\x01\x02\x03\x04"
    v[1:3] = b"\xaa\xbb"
    assert e.load(0x7FFFFFFE) == 0x04BBAA01
    e.store(0x7FFFFFFE, u32_bits(0xF1F2F3F4))
    assert v.tobytes() == b"\xf4\xf3\xf2\xf1"
    assert mem.read_u32(0x7FFFFFFE) == 0xF1F2F3F4


@pytest.mark.parametrize("as_passed", [0x80000004, 0x80000004 - 2**32], ids=["unsigned", "negative-i32"])
def test_guest_store_at_high_address_is_read_by_host_at_unsigned_address(big, as_passed):
    mem, e = big.memory, big.exports
    value = 0x5EED0000 + (as_passed & 0xFF)
    e.store(as_passed, value)
    assert mem.read_u32(0x80000004) == value
    assert mem.read(0x80000004, 4) == struct.pack("<I", value)
    assert e.load(0x80000004) == value


def test_guest_pointer_above_2_gib_is_read_back_as_positive_int(big):
    mem, e = big.memory, big.exports
    assert e.ptr_at_top() == -16  # an i32 result is signed ...
    e.store_ptr_at_top(0x80000100)
    p = mem.read_ptr(0x80000100)
    assert p == 0xFFFFFFF0 and p > 0  # ... but a pointer read from memory is an unsigned address
    # A guest-written pointer into the upper half can be followed from the host.
    e.store(0x80000200, 0x600DCAFE)
    e.store(0x80000108, u32_bits(0x80000200))
    assert mem.read_ptr(0x80000108) == 0x80000200
    assert mem.read_u32(mem.read_ptr(0x80000108)) == 0x600DCAFE
    mem.write_ptr(0x80000110, 0x80000200)
    assert e.load(0x80000110) == u32_bits(0x80000200)


NEG = 0x80000004 - 2**32  # would wrap to 0x80000004 if treated as an i32 bit pattern


@pytest.mark.parametrize("op", [
    lambda m: m.read(NEG, 4),
    lambda m: m.write(NEG, b"\xee" * 4),
    lambda m: m.read_into(NEG, bytearray(4)),
    lambda m: m.view(NEG, 4),
    lambda m: m.read_u32(NEG),
    lambda m: m.write_u32(NEG, 0xEEEEEEEE),
    lambda m: m.read_ptr(NEG),
    lambda m: m.write_ptr(NEG, 1),
    lambda m: m.read_cstring(NEG),
    lambda m: m.pack_into("I", NEG, 1),
    lambda m: m.write_array(NEG, [1], "u32"),
], ids=["read", "write", "read_into", "view", "read_u32", "write_u32", "read_ptr", "write_ptr",
        "read_cstring", "pack_into", "write_array"])
def test_negative_python_address_is_rejected_not_wrapped(big, op):
    mem, e = big.memory, big.exports
    e.store(0x80000004, 0x0BADF00D)
    with pytest.raises(wasmffi.MemoryAccessError, match="negative"):
        op(mem)
    assert mem.read_u32(0x80000004) == 0x0BADF00D
    assert e.load(0x80000004) == 0x0BADF00D


def test_untouched_high_pages_read_as_zero(big):
    mem = big.memory
    assert mem.read(0x80008000, 64) == bytes(64)
    assert mem.read(0x40000000, 16) == bytes(16)


# --------------------------------------------------------------------------------------------
# memory64 just over 4 GiB


def test_memory64_is_larger_than_4_gib(big64):
    mem = big64.memory
    assert mem.is64 is True
    assert mem.pages == 65537
    assert len(mem) == 65537 * PAGE
    assert len(mem) > FOUR_GIB
    assert big64.exports.size() == 65537


@pytest.mark.parametrize("k", [0, 4, 0x1234, PAGE - 8])
def test_memory64_host_and_guest_agree_above_4_gib(big64, k):
    mem, e = big64.memory, big64.exports
    addr = FOUR_GIB + k
    mem.write_u32(addr, 0x10000000 + k)
    assert e.load(addr) == 0x10000000 + k
    e.store(addr + 4, 0x20000000 + k)
    assert mem.read_u32(addr + 4) == 0x20000000 + k
    assert mem.read(addr, 8) == struct.pack("<II", 0x10000000 + k, 0x20000000 + k)
    v = mem.view(addr, 8)
    v[0] = 0x99
    assert e.load8(addr) == 0x99


def test_memory64_across_the_4_gib_boundary(big64):
    mem, e = big64.memory, big64.exports
    mem.write(0xFFFFFFFE, b"\x01\x02\x03\x04")
    assert e.load(0xFFFFFFFE) == 0x04030201
    assert mem.read(FOUR_GIB, 2) == b"\x03\x04"
    v = mem.view(0xFFFFFFFE, 4)
    e.store(0xFFFFFFFE, 0x0A0B0C0D)
    assert v.tobytes() == b"\x0d\x0c\x0b\x0a"


def test_memory64_just_below_the_end(big64):
    mem, e = big64.memory, big64.exports
    end = len(mem)
    mem.write_u64(end - 8, 0x8877665544332211)
    assert e.load64(end - 8) == u64_as_i64(0x8877665544332211)
    e.store64(end - 16, -2)
    assert mem.read_u64(end - 16) == 2**64 - 2
    assert mem.view(end - 16, 16).tobytes() == struct.pack("<QQ", 2**64 - 2, 0x8877665544332211)
    with pytest.raises(wasmffi.MemoryAccessError):
        mem.read(end - 7, 8)
    with pytest.raises(wasmffi.MemoryOutOfBounds):
        e.load64(end - 7)


def test_memory64_pointers_are_8_bytes_and_unsigned(big64):
    mem, e = big64.memory, big64.exports
    p = FOUR_GIB + 0x100
    mem.write(p, b"\x55" * 16)
    mem.write_ptr(p, FOUR_GIB + 0x10)
    assert mem.read(p, 8) == struct.pack("<Q", FOUR_GIB + 0x10)
    assert mem.read(p + 8, 1) == b"\x55"  # exactly 8 bytes written
    assert mem.read_ptr(p) == FOUR_GIB + 0x10
    assert e.load64(p) == FOUR_GIB + 0x10
    mem.write_ptr(p, 2**64 - 1)
    assert mem.read_ptr(p) == 2**64 - 1
    e.store64(p, -(2**63))
    assert mem.read_ptr(p) == 2**63
    e.store64(p, FOUR_GIB + 0x200)
    e.store(FOUR_GIB + 0x200, 4242)
    assert mem.read_u32(mem.read_ptr(p)) == 4242


def test_memory64_write_ptr_beyond_64_bits_is_rejected(big64):
    mem = big64.memory
    p = FOUR_GIB + 0x300
    mem.write_ptr(p, 7)
    with pytest.raises((wasmffi.MemoryAccessError, OverflowError)):
        mem.write_ptr(p, 2**64)
    assert mem.read_ptr(p) == 7


HIGH = [2**63, 2**63 + 5, 2**64 - 8, 2**64 - 1]


@pytest.mark.parametrize("addr", HIGH, ids=[hex(a) for a in HIGH])
@pytest.mark.parametrize("op", [
    lambda m, a: m.read(a, 1),
    lambda m, a: m.write(a, b"\x01"),
    lambda m, a: m.view(a, 1),
    lambda m, a: m.read_u8(a),
    lambda m, a: m.write_u64(a, 1),
    lambda m, a: m.read_ptr(a),
    lambda m, a: m.write_ptr(a, 1),
    lambda m, a: m.read_cstring(a),
], ids=["read", "write", "view", "read_u8", "write_u64", "read_ptr", "write_ptr", "read_cstring"])
def test_memory64_addresses_above_2_63_are_unsigned_and_out_of_bounds(big64, addr, op):
    mem = big64.memory
    with pytest.raises(wasmffi.MemoryAccessError) as ei:
        op(mem, addr)
    assert not isinstance(ei.value, OverflowError)
    assert f"0x{addr:x}" in str(ei.value)
    assert "out of bounds" in str(ei.value)


def test_memory64_guest_access_above_2_63_traps(big64):
    with pytest.raises(wasmffi.MemoryOutOfBounds):
        big64.exports.load(2**63 + 5)


@pytest.mark.parametrize("addr", [-1, -(2**64) + FOUR_GIB, -(2**63)], ids=["-1", "wraps-to-4GiB", "-2**63"])
def test_memory64_negative_address_is_rejected_not_wrapped(big64, addr):
    mem = big64.memory
    mem.write_u32(FOUR_GIB, 0x0BADF00D)
    with pytest.raises(wasmffi.MemoryAccessError, match="negative"):
        mem.write_u32(addr, 0xEEEEEEEE)
    with pytest.raises(wasmffi.MemoryAccessError, match="negative"):
        mem.read(addr, 4)
    with pytest.raises(wasmffi.MemoryAccessError, match="negative"):
        mem.view(addr, 4)
    assert mem.read_u32(FOUR_GIB) == 0x0BADF00D


def test_memory64_address_beyond_64_bits_does_not_fit(big64):
    mem = big64.memory
    with pytest.raises(wasmffi.MemoryAccessError, match="does not fit in 64 bits"):
        mem.read(2**64 + FOUR_GIB, 1)
