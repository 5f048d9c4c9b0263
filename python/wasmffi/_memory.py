"""Memory methods best written in Python (arrays, struct packing, numpy), attached to the one
Memory class the extension defines. Each does its bounds check through the checked core calls
(read/write/view), so none of them can touch memory outside the guest's."""

from __future__ import annotations

import array
import functools
import struct
from typing import TYPE_CHECKING, Any, Iterable, Tuple, Union

from . import _core

if TYPE_CHECKING:
    from numpy.typing import DTypeLike, NDArray

# wasm type name -> array.array typecode (sizes are fixed on every platform CPython supports here).
_TYPECODES = {"i8": "b", "u8": "B", "i16": "h", "u16": "H", "i32": "i", "u32": "I",
              "i64": "q", "u64": "Q", "f32": "f", "f64": "d"}
for _tc in _TYPECODES.values():
    assert array.array(_tc).itemsize in (1, 2, 4, 8)


def _typecode(type: str) -> str:
    try:
        return _TYPECODES[type]
    except KeyError:
        raise ValueError(f"unknown element type {type!r}; expected one of {', '.join(_TYPECODES)}") from None


@functools.lru_cache(maxsize=256)
def _compiled(fmt: str) -> struct.Struct:
    """struct formats are compiled once and cached; little-endian standard sizes unless the format
    names a byte order itself."""
    if not isinstance(fmt, str):
        raise TypeError(f"struct format must be str, not {type(fmt).__name__}")
    return struct.Struct(fmt if fmt[:1] in "<>!=@" else "<" + fmt)


def read_array(self: _core.Memory, address: int, count: int, type: str = "u8") -> array.array[Any]:
    """Reads `count` little-endian elements of `type` ("i8".."u64", "f32", "f64") as array.array."""
    tc = _typecode(type)
    out = array.array(tc)
    out.frombytes(self.read(address, count * out.itemsize if count >= 0 else count))
    return out


def write_array(self: _core.Memory, address: int, values: Iterable[float], type: str = "u8") -> int:
    """Writes a sequence (list, array.array, numpy array) as little-endian `type` elements.

    Values are converted (and range-checked) before anything is written. Returns bytes written.
    """
    tc = _typecode(type)
    data: Any  # a Buffer; numpy arrays are Buffers only in typeshed for Python 3.12+
    if isinstance(values, array.array) and values.typecode == tc:
        data = values
    elif hasattr(values, "dtype") and hasattr(values, "tobytes"):  # numpy, without importing it
        data = _numpy_elements(values, tc, type)
    else:
        try:
            data = array.array(tc, values)
        except OverflowError as e:
            raise OverflowError(f"write_array(): a value is out of range for {type}: {e}") from None
    return self.write(address, data)


def _numpy_elements(values: Any, tc: str, type: str) -> NDArray[Any]:
    """A contiguous little-endian numpy array of `type`, range-checked by value like a list is."""
    import numpy as np

    want = np.dtype(tc).newbyteorder("<")
    arr = np.asarray(values)
    if arr.dtype == want or np.can_cast(arr.dtype, want, casting="safe"):
        return np.ascontiguousarray(arr, dtype=want)
    if arr.dtype.kind in "iub" and want.kind in "iu":
        info = np.iinfo(want)
        if arr.size and (int(arr.min()) < info.min or int(arr.max()) > info.max):
            raise OverflowError(f"write_array(): a value is out of range for {type} "
                                f"({info.min}..{info.max})")
        return np.ascontiguousarray(arr.astype(want))
    if arr.dtype.kind == "f" and want.kind == "f":  # f64 -> f32: same rule as write_f32
        out = arr.astype(want)
        if np.any(np.isinf(out) & np.isfinite(arr)):
            raise OverflowError(f"write_array(): a value is too large for {type}")
        return np.ascontiguousarray(out)
    raise TypeError(f"write_array(): cannot convert {arr.dtype} elements to {type} without losing "
                    "information")


def pack_into(self: _core.Memory, fmt: str, address: int, *values: Any) -> int:
    """Like struct.pack_into, at a guest address: packs first, then writes all or nothing."""
    return self.write(address, _compiled(fmt).pack(*values))


def unpack_from(self: _core.Memory, fmt: str, address: int) -> Tuple[Any, ...]:
    """Like struct.unpack_from, at a guest address (bounds-checked)."""
    s = _compiled(fmt)
    return s.unpack(self.read(address, s.size))


def ndarray(self: _core.Memory, address: int, dtype: DTypeLike, shape: Union[int, Iterable[int]]) -> NDArray[Any]:
    """A zero-copy numpy array over guest memory (numpy is optional). It keeps the instance alive."""
    import numpy as np

    dt = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if any((not isinstance(d, int)) or d < 0 for d in shape):
        raise ValueError(f"ndarray(): shape must be non-negative ints, got {shape!r}")
    count = 1
    for d in shape:
        count *= d
    return np.frombuffer(self.view(address, count * dt.itemsize), dtype=dt).reshape(shape)


for _fn in (read_array, write_array, pack_into, unpack_from, ndarray):
    setattr(_core.Memory, _fn.__name__, _fn)
