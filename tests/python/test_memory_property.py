"""Property tests: random addresses, lengths and values either succeed exactly or fail cleanly, changing nothing else."""

import struct

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import wasmffi

PAGE = 65536
SIZE = 2 * PAGE

_GUEST = ('(module (memory (export "memory") 2 2)'
          ' (func (export "load8") (param i32) (result i32) local.get 0 i32.load8_u))')

_state = {}


def memory():
    """One shared 2-page memory (max 2, so its size never changes); examples compare snapshots."""
    if "mem" not in _state:
        inst = wasmffi.load(_GUEST)
        mem = inst.memory
        mem.write(0, bytes((i * 131 + 7) % 256 for i in range(SIZE)))
        _state["inst"], _state["mem"] = inst, mem
    return _state["mem"]


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Addresses: everywhere interesting -- inside, near the end, far past it, near and past 2**64,
# negative (small and huge).
addresses = st.one_of(
    st.integers(0, SIZE),
    st.integers(SIZE - 40, SIZE + 40),
    st.integers(0, 2**64 + 10),
    st.integers(2**64 - 40, 2**64 + 10),
    st.integers(-40, -1),
    st.integers(-(2**70), -1),
)
lengths = st.one_of(st.integers(-5, 64), st.integers(-5, SIZE + 10), st.integers(SIZE - 40, SIZE + 10))
payloads = st.one_of(st.binary(max_size=64), st.binary(min_size=1, max_size=4096))


def in_bounds(addr: int, n: int) -> bool:
    return 0 <= addr and 0 <= n and addr + n <= SIZE


@SETTINGS
@given(addr=addresses, data=payloads)
def test_write_succeeds_exactly_in_bounds_and_touches_nothing_else(addr, data):
    mem = memory()
    data = bytes(b ^ 0x5A for b in data)  # differ from whatever is there with high probability
    before = mem.read(0, SIZE)
    try:
        n = mem.write(addr, data)
    except wasmffi.MemoryAccessError:
        event("write: MemoryAccessError")
        assert not in_bounds(addr, len(data))
        assert mem.read(0, SIZE) == before
    else:
        event("write: ok")
        assert in_bounds(addr, len(data))
        assert n == len(data)
        after = mem.read(0, SIZE)
        assert after[addr:addr + len(data)] == data
        assert after[:addr] == before[:addr]
        assert after[addr + len(data):] == before[addr + len(data):]
    assert len(mem) == SIZE


@SETTINGS
@given(addr=addresses, n=lengths)
def test_read_returns_exact_slice_or_raises_memory_access_error(addr, n):
    mem = memory()
    before = mem.read(0, SIZE)
    try:
        got = mem.read(addr, n)
    except wasmffi.MemoryAccessError:
        event("read: MemoryAccessError")
        assert not in_bounds(addr, n)
    else:
        event("read: ok")
        assert in_bounds(addr, n)
        assert got == before[addr:addr + n]
    assert mem.read(0, SIZE) == before


@SETTINGS
@given(addr=addresses, n=lengths)
def test_read_into_fills_exact_slice_or_raises_and_leaves_buffer(addr, n):
    mem = memory()
    before = mem.read(0, SIZE)
    size = max(n, 0) if n <= SIZE + 10 else 0
    buf = bytearray(b"\xee" * size)
    try:
        got = mem.read_into(addr, buf)
    except wasmffi.MemoryAccessError:
        assert not in_bounds(addr, size)
        assert buf == b"\xee" * size
    else:
        assert in_bounds(addr, size)
        assert got == size and buf == before[addr:addr + size]
    assert mem.read(0, SIZE) == before


@SETTINGS
@given(addr=addresses, n=lengths, data=st.binary(max_size=64))
def test_view_covers_exact_range_and_writes_through_it_stay_inside(addr, n, data):
    mem = memory()
    before = mem.read(0, SIZE)
    try:
        v = mem.view(addr, n)
    except wasmffi.MemoryAccessError:
        event("view: MemoryAccessError")
        assert not in_bounds(addr, n)
        assert mem.read(0, SIZE) == before
        return
    event("view: ok")
    assert in_bounds(addr, n)
    assert len(v) == n and v.tobytes() == before[addr:addr + n]
    k = min(len(data), n)
    v[n - k:] = data[:k]  # write the tail of the view
    after = mem.read(0, SIZE)
    expected = before[:addr + n - k] + data[:k] + before[addr + n:]
    assert after == expected
    mem.write(0, before)  # restore for the next example


TYPES = {"i8": "b", "u8": "B", "i16": "h", "u16": "H", "i32": "i", "u32": "I",
         "i64": "q", "u64": "Q"}

ints = st.one_of(
    st.integers(-(2**65), 2**65),
    st.sampled_from([0, -1, 127, 128, -128, -129, 255, 256, 2**15, 2**16, 2**31, 2**32, 2**63, 2**64,
                     -(2**15) - 1, -(2**31) - 1, -(2**63) - 1, 2**63 - 1, 2**64 - 1, 2**32 - 1]),
    st.integers(-300, 70000),
)


def fits(t: str, value: int) -> bool:
    """"iN" takes the union of the signed and unsigned range of its width, "uN" only 0..2**N-1."""
    bits = int(t[1:])
    lo = -(2 ** (bits - 1)) if t[0] == "i" else 0
    return lo <= value <= 2**bits - 1


def stored(t: str, value: int) -> bytes:
    """The bit pattern a typed write stores, and the value its read gives back."""
    return struct.pack("<" + TYPES["u" + t[1:]], value % 2 ** int(t[1:]))


@SETTINGS
@given(t=st.sampled_from(sorted(TYPES)), addr=addresses, value=ints)
def test_typed_write_round_trips_or_fails_cleanly(t, addr, value):
    mem = memory()
    fmt = TYPES[t]
    size = struct.calcsize("<" + fmt)
    addr_ok, value_ok = in_bounds(addr, size), fits(t, value)
    before = mem.read(0, SIZE)
    try:
        getattr(mem, f"write_{t}")(addr, value)
    except OverflowError as e:
        event("typed: OverflowError")
        assert not isinstance(e, wasmffi.MemoryAccessError)
        assert not value_ok
        # A negative address is refused while parsing arguments, before the value is looked at.
        assert not (addr < 0 or addr >= 2**64)
        assert mem.read(0, SIZE) == before
    except wasmffi.MemoryAccessError:
        event("typed: MemoryAccessError")
        assert not addr_ok
        assert mem.read(0, SIZE) == before
    else:
        event("typed: ok")
        assert addr_ok and value_ok
        after = mem.read(0, SIZE)
        assert after[addr:addr + size] == stored(t, value)
        assert after[:addr] == before[:addr] and after[addr + size:] == before[addr + size:]
        assert getattr(mem, f"read_{t}")(addr) == struct.unpack("<" + fmt, stored(t, value))[0]
        mem.write(0, before)


@SETTINGS
@given(t=st.sampled_from(["f32", "f64"]), addr=addresses,
       value=st.one_of(st.floats(allow_nan=False), st.floats(width=32, allow_nan=False),
                       st.sampled_from([3.4028235677973366e38, 3.4028235e38, 3.5e38, -3.5e38, 1e39]),
                       st.integers(-(2**70), 2**70)))
def test_float_write_matches_struct_or_fails_cleanly(t, addr, value):
    mem = memory()
    fmt = "f" if t == "f32" else "d"
    size = struct.calcsize("<" + fmt)
    try:
        expected = struct.pack("<" + fmt, value)
        value_ok = True
    except (OverflowError, struct.error):
        value_ok = False
    addr_ok = in_bounds(addr, size)
    before = mem.read(0, SIZE)
    try:
        getattr(mem, f"write_{t}")(addr, value)
    except OverflowError as e:
        assert not isinstance(e, wasmffi.MemoryAccessError)
        assert not value_ok
        assert mem.read(0, SIZE) == before
    except wasmffi.MemoryAccessError:
        assert not addr_ok
        assert mem.read(0, SIZE) == before
    else:
        assert addr_ok and value_ok
        after = mem.read(0, SIZE)
        assert after[addr:addr + size] == expected
        assert after[:addr] == before[:addr] and after[addr + size:] == before[addr + size:]
        assert getattr(mem, f"read_{t}")(addr) == struct.unpack("<" + fmt, expected)[0]
        mem.write(0, before)


@SETTINGS
@given(addr=addresses, n=st.integers(-5, 40))
def test_read_array_and_unpack_from_raise_only_memory_access_error(addr, n):
    mem = memory()
    before = mem.read(0, SIZE)
    try:
        got = mem.read_array(addr, n, "u16")
    except wasmffi.MemoryAccessError:
        assert not in_bounds(addr, 2 * n)
    else:
        assert in_bounds(addr, 2 * n)
        assert got.tobytes() == before[addr:addr + 2 * n]
    if n >= 0:
        try:
            got = mem.unpack_from(f"{n}s", addr)
        except wasmffi.MemoryAccessError:
            assert not in_bounds(addr, n)
        else:
            assert in_bounds(addr, n) and got == (before[addr:addr + n],)
    assert mem.read(0, SIZE) == before


def test_shared_memory_has_expected_size():
    mem = memory()
    assert len(mem) == SIZE
    with pytest.raises(wasmffi.ResourceError):
        mem.grow(1)  # max is 2 pages: the model's SIZE can never go stale
