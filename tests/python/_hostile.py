"""Hostile Python objects for the boundary property tests: subclasses of the builtin types,
objects whose conversion hooks raise or mutate other arguments, memoryviews of every format and
shape, and the hypothesis strategies that mix them with plain values."""

from __future__ import annotations

import array
import math
import struct
import sys

import numpy as np
from hypothesis import strategies as st


class Boom(Exception):
    """Raised by the conversion hooks below: the one exception a call may pass through unchanged
    (it is the caller's own), so the tests can tell it from anything wasmffi raises."""


class IntSub(int):
    def __repr__(self) -> str:
        return f"IntSub({int(self)})"


class FloatSub(float):
    pass


class StrSub(str):
    pass


class BytesSub(bytes):
    pass


class ByteArraySub(bytearray):
    pass


class ListSub(list):
    pass


class TupleSub(tuple):
    pass


class Index:
    """An int through __index__ only (as numpy integers and other int-likes are)."""

    def __init__(self, value):
        self.value = value

    def __index__(self):
        return self.value

    def __repr__(self) -> str:
        return f"Index({self.value!r})"


class RaisingIndex:
    """__index__ (and __int__, __float__) raise the caller's own exception."""

    def __index__(self):
        raise Boom("__index__ raised")

    __int__ = __float__ = __index__

    def __repr__(self) -> str:
        return "RaisingIndex()"


class BadIndex:
    """__index__ returns something that is not an int: Python itself refuses it (TypeError)."""

    def __index__(self):
        return "seven"

    def __repr__(self) -> str:
        return "BadIndex()"


class FloatLike:
    """A float through __float__ only."""

    def __init__(self, value: float):
        self.value = value

    def __float__(self) -> float:
        return self.value

    def __repr__(self) -> str:
        return f"FloatLike({self.value!r})"


class RaisingFloat:
    def __float__(self) -> float:
        raise Boom("__float__ raised")

    def __repr__(self) -> str:
        return "RaisingFloat()"


class RaisingBuffer:
    """__buffer__ raises (the Python-level buffer protocol, Python 3.12+; earlier versions ignore
    it, and the object is simply not a buffer)."""

    def __buffer__(self, flags):
        raise Boom("__buffer__ raised")

    def __repr__(self) -> str:
        return "RaisingBuffer()"


class WrongBuffer:
    """__buffer__ returns something that is not a memoryview (Python 3.12+ refuses it)."""

    def __buffer__(self, flags):
        return b"not a memoryview"

    def __repr__(self) -> str:
        return "WrongBuffer()"


class Mutator:
    """An int through __index__ (and a float through __float__) that, when asked, first does
    something to another argument of the same call: resizes a bytearray, clears a list, releases
    a memoryview. Conversion hooks run Python code in the middle of argument processing; nothing
    the call already took from an argument may be trusted afterwards."""

    def __init__(self, value, action):
        self.value = value
        self.action = action
        self.calls = 0

    def __index__(self):
        self.calls += 1
        self.action()
        return self.value

    def __float__(self):
        self.calls += 1
        self.action()
        return float(self.value)

    def __repr__(self) -> str:
        return f"Mutator({self.value!r})"


def resize(target: bytearray, size: int):
    """An action for Mutator: resizes `target` (a bytearray) to `size` bytes."""
    def act():
        try:
            del target[:]
            target.extend(b"\xab" * size)
        except BufferError:
            pass  # exported (pinned) by the call: it cannot move, which is what must happen
    return act


def clear(target: list):
    def act():
        target.clear()
    return act


# ---- memoryviews -------------------------------------------------------------------------------

def released_view() -> memoryview:
    v = memoryview(bytearray(8))
    v.release()
    return v


def non_contiguous(data: bytes) -> memoryview:
    """Every other byte of a buffer: a strided, non-contiguous view."""
    return memoryview(bytearray(data * 2 or b"\0\0"))[::2]


# (description, factory(raw bytes) -> object): each stands for `raw`'s bytes in some shape. Raw
# lengths are multiples of 8, so every cast below is possible.
VIEW_SHAPES = {
    "memoryview": lambda b: memoryview(bytes(b)),
    "memoryview-rw": lambda b: memoryview(bytearray(b)),
    "memoryview-ro": lambda b: memoryview(bytearray(b)).toreadonly(),
    "cast-b": lambda b: memoryview(bytearray(b)).cast("b"),
    "cast-c": lambda b: memoryview(bytearray(b)).cast("c"),
    "cast-H": lambda b: memoryview(bytearray(b)).cast("H"),
    "cast-h": lambda b: memoryview(bytearray(b)).cast("h"),
    "cast-I": lambda b: memoryview(bytearray(b)).cast("I"),
    "cast-i": lambda b: memoryview(bytearray(b)).cast("i"),
    "cast-Q": lambda b: memoryview(bytearray(b)).cast("Q"),
    "cast-q": lambda b: memoryview(bytearray(b)).cast("q"),
    "cast-f": lambda b: memoryview(bytearray(b)).cast("f"),
    "cast-d": lambda b: memoryview(bytearray(b)).cast("d"),
    "numpy-f16": lambda b: np.frombuffer(bytearray(b), dtype=np.float16),
    "cast-?": lambda b: memoryview(bytearray(b)).cast("?"),
    "cast-2d": lambda b: memoryview(bytearray(b)).cast("B", [2, len(b) // 2]) if b else memoryview(bytearray(b)),
    "cast-3d-I": lambda b: (memoryview(bytearray(b)).cast("B").cast("I", [1, 2, len(b) // 8]) if b
                            else memoryview(bytearray(b)).cast("I")),
    "strided": lambda b: non_contiguous(b),
    "slice": lambda b: memoryview(bytearray(b"\x11" + b + b"\x22"))[1:-1],
    "numpy-u8": lambda b: np.frombuffer(bytearray(b), dtype=np.uint8),
    "numpy-i32": lambda b: np.frombuffer(bytearray(b), dtype=np.int32),
    "numpy-f64": lambda b: np.frombuffer(bytearray(b), dtype=np.float64),
    "numpy->u2": lambda b: np.frombuffer(bytearray(b), dtype=">u2"),
    "numpy-2d-fortran": lambda b: np.asfortranarray(np.frombuffer(bytearray(b), dtype=np.uint8).reshape(2, -1))
    if b else np.zeros((0,), np.uint8),
    "numpy-strided": lambda b: np.frombuffer(bytearray(b * 2), dtype=np.uint8)[::2],
    "numpy-ro": lambda b: _readonly(np.frombuffer(bytearray(b), dtype=np.uint8)),
    "array-B": lambda b: array.array("B", b),
    "array-H": lambda b: array.array("H", b),
    "array-d": lambda b: array.array("d", b),
    "bytes": lambda b: bytes(b),
    "bytearray": lambda b: bytearray(b),
    "bytes-sub": lambda b: BytesSub(b),
    "bytearray-sub": lambda b: ByteArraySub(b),
}


def _readonly(a):
    a.flags.writeable = False
    return a


def raw_bytes(obj) -> bytes | None:
    """The bytes a C-contiguous buffer object exposes (what a call copies), or None when it is
    not one."""
    try:
        with memoryview(obj) as m:
            if not m.c_contiguous:
                return None
            return m.tobytes()
    except (TypeError, ValueError, Boom):  # not a buffer, released, or its __buffer__ raised
        return None


# ---- strategies ----------------------------------------------------------------------------------

EDGE_INTS = [0, 1, -1, 127, 128, -128, -129, 255, 256, 2**15, 2**16, 2**31 - 1, 2**31, -(2**31),
             -(2**31) - 1, 2**32 - 1, 2**32, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1,
             2**64, -(2**64), 10**40, -(10**40), 2**1000]


def ints():
    return st.one_of(st.sampled_from(EDGE_INTS), st.integers(-(2**70), 2**70), st.integers(-300, 70000))


def int_likes():
    """Things that are ints to Python (subclasses, __index__, numpy scalars, bools)."""
    return st.one_of(
        ints(),
        ints().map(IntSub),
        ints().map(Index),
        st.sampled_from([True, False]),
        st.integers(-(2**31), 2**31 - 1).map(np.int32),
        st.integers(0, 2**64 - 1).map(np.uint64),
        st.integers(-128, 127).map(np.int8),
    )


def floats_any():
    return st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 3.4028235e38, 3.4028236e38, 1e300,
                         5e-324, sys.float_info.max]),
        st.floats(width=32).map(FloatSub),
        st.floats(width=32).map(FloatLike),
        st.floats(width=64).map(np.float64),
    )


def junk():
    """Objects no scalar or buffer parameter should accept, or whose hooks misbehave."""
    return st.one_of(
        st.just(None),
        st.text(max_size=4),
        st.text(max_size=4).map(StrSub),
        st.just(object()),
        st.just([1, "x"]),
        st.just({}),
        st.just(1j),
        st.just(RaisingIndex()),
        st.just(BadIndex()),
        st.just(RaisingFloat()),
        st.just(RaisingBuffer()),
        st.just(WrongBuffer()),
        st.builds(released_view),
        st.just(Index(2**200)),
        st.just(Index(-(2**200))),
        st.just([[[[[1]]]]]),
    )


def scalar_args():
    """Anything a scalar parameter may be given."""
    return st.one_of(int_likes(), floats_any(), junk())


def raw_payloads(max_size=48):
    """Raw bytes whose length is a multiple of 8, so every view shape above applies."""
    return st.integers(0, max_size // 8).flatmap(lambda k: st.binary(min_size=8 * k, max_size=8 * k))


def shaped_buffers(max_size=48):
    """(shape name, object, raw bytes it was made from)."""
    return st.tuples(st.sampled_from(sorted(VIEW_SHAPES)), raw_payloads(max_size)).map(
        lambda t: (t[0], VIEW_SHAPES[t[0]](t[1]), t[1]))


def pack(fmt: str, values) -> bytes:
    return struct.pack("<" + fmt * len(values), *values)
