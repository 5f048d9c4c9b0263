"""Memory methods best written in Python (arrays, struct packing, numpy), attached to the one
Memory class the extension defines. Each does its bounds check through the checked core calls
(read/write/view), so none of them can touch memory outside the guest's."""

from __future__ import annotations

import array
import builtins
import functools
import math
import operator
import struct
from typing import TYPE_CHECKING, Any, Iterable, SupportsIndex, Tuple, Union, cast

from . import _core
from ._errors import MemoryAccessError

if TYPE_CHECKING:
    from numpy.typing import DTypeLike, NDArray

# wasm type name -> array.array typecode (sizes are fixed on every platform CPython supports here).
_TYPECODES = {"i8": "b", "u8": "B", "i16": "h", "u16": "H", "i32": "i", "u32": "I",
              "i64": "q", "u64": "Q", "f32": "f", "f64": "d"}
for _tc in _TYPECODES.values():
    assert array.array(_tc).itemsize in (1, 2, 4, 8)


def _typecode(fname: str, type: str) -> str:
    if not isinstance(type, str):  # before the look-up: not every object hashes (lists, released views)
        raise TypeError(f"{fname}(): element type must be a str, not {builtins.type(type).__name__}")
    try:
        return _TYPECODES[type]
    except KeyError:
        raise ValueError(f"{fname}(): unknown element type {type!r}; expected one of {', '.join(_TYPECODES)}") from None


@functools.lru_cache(maxsize=256)
def _compiled(fmt: str) -> struct.Struct:
    """struct formats are compiled once and cached; little-endian standard sizes unless the format
    names a byte order itself."""
    if not isinstance(fmt, str):
        raise TypeError(f"struct format must be str, not {type(fmt).__name__}")
    return struct.Struct(fmt if fmt[:1] in "<>!=@" else "<" + fmt)


# Integer element ranges: "iN" takes the union of the signed and unsigned range of its width and
# stores the bit pattern, "uN" only 0..2**N-1 (the rule of Memory.write_iN and of call arguments).
_INT_RANGES = {t: ((-(1 << (int(t[1:]) - 1)) if t[0] == "i" else 0), (1 << int(t[1:])) - 1)
               for t in _TYPECODES if t[0] in "iu"}
_F32_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]


def _index_arg(fname: str, what: str, value: object) -> int:
    """An int argument of a Python-written method: TypeError naming method and argument."""
    if isinstance(value, int):
        return value
    if not isinstance(value, float) and hasattr(builtins.type(value), "__index__"):
        try:
            return operator.index(cast(SupportsIndex, value))  # it has __index__: checked just above
        except TypeError as e:  # __index__ returned a non-int (or raised TypeError itself)
            raise TypeError(f"{fname}(): {what}: {e}") from e
    raise TypeError(f"{fname}(): {what} must be an int, not {builtins.type(value).__name__}")


def _out_of_range(i: int, value: object, kind: str, accepted: str) -> OverflowError:
    return OverflowError(f"write_array() element {i}: {_core.int_text(value) if isinstance(value, int) else repr(value)}"
                         f" is out of range for {kind} (accepted: {accepted})")


def read_array(self: _core.Memory, address: int, count: int, type: str = "u8") -> array.array[Any]:
    """Reads `count` little-endian elements of `type` ("i8".."u64", "f32", "f64") as array.array."""
    address = _index_arg("read_array", "address", address)
    count = _index_arg("read_array", "count", count)
    tc = _typecode("read_array", type)
    out = array.array(tc)
    # Checked here, not left to read(), so that the error names read_array and counts elements.
    if count < 0:
        raise MemoryAccessError(f"read_array(): count must not be negative, got {_core.int_text(count)}")
    nbytes = count * out.itemsize
    if nbytes >= 1 << 64:
        raise MemoryAccessError(f"read_array(): {_core.int_text(count)} {type} elements "
                                      f"({out.itemsize} bytes each) do not fit in 64-bit guest memory")
    try:
        out.frombytes(self.read(address, nbytes))
    except MemoryAccessError as e:
        raise MemoryAccessError(f"read_array() of {count} {type} element(s): {e}") from None
    return out


def write_array(self: _core.Memory, address: int, values: Iterable[float], type: str = "u8") -> int:
    """Writes a sequence (list, array.array, numpy array, any iterable) as little-endian `type`
    elements. "iN" elements take the signed or unsigned range of their width (the bit pattern is
    stored), "uN" only 0..2**N-1; "f32" refuses finite values beyond f32. Everything is converted
    and range-checked before anything is written; an error names the failing element's index.
    Returns the number of bytes written."""
    address = _index_arg("write_array", "address", address)
    tc = _typecode("write_array", type)
    try:
        data = _elements(values, tc, type)
    except (TypeError, ValueError) as e:  # from iterating `values` or an element's own hooks
        if str(e).startswith("write_array("):
            raise
        raise (TypeError if isinstance(e, TypeError) else ValueError)(f"write_array(): {e}") from e
    try:
        return self.write(address, data)
    except MemoryAccessError as e:
        raise MemoryAccessError(f"write_array() of {type} elements: {e}") from None


def _elements(values: Any, tc: str, type: str) -> Any:
    """`values` as a buffer of little-endian `type` elements, converted and range-checked."""
    data: Any  # a Buffer; numpy arrays are Buffers only in typeshed for Python 3.12+
    if isinstance(values, array.array) and values.typecode == tc:
        data = values
    elif hasattr(values, "dtype") and hasattr(values, "tobytes"):  # numpy, without importing it
        data = _numpy_elements(values, tc, type)
    else:
        if not isinstance(values, (list, tuple, array.array)):
            values = list(values)  # an iterator is read once: the slow path may need it again
        try:
            data = array.array(tc, values)  # the fast path: C conversion of every element
        except (OverflowError, TypeError):
            data = None
        # The slow path names the failing element, stores unsigned-range values of signed types
        # as their bit pattern, and catches what array("f") lets through (finite -> inf).
        if data is None or (type == "f32" and any(math.isinf(x) for x in data)):
            data = _checked_elements(values, tc, type)
    return data


def _checked_elements(values: Iterable[Any], tc: str, kind: str) -> array.array[Any]:
    out: array.array[Any] = array.array(tc)
    if kind in _INT_RANGES:
        lo, hi = _INT_RANGES[kind]
        wrap = hi + 1 if kind[0] == "i" else 0  # signed: values above the signed max wrap once
        for i, v in enumerate(values):
            if not isinstance(v, int):
                if isinstance(v, float) or not hasattr(builtins.type(v), "__index__"):
                    raise TypeError(f"write_array() element {i} must be int, not {builtins.type(v).__name__}")
                v = operator.index(v)
            if not lo <= v <= hi:
                raise _out_of_range(i, v, kind, f"{lo}..{hi}")
            out.append(v - wrap if wrap and v >= wrap // 2 else v)
        return out
    for i, v in enumerate(values):
        if isinstance(v, (str, bytes)) or not (isinstance(v, (int, float)) or hasattr(builtins.type(v), "__float__")
                                               or hasattr(builtins.type(v), "__index__")):
            raise TypeError(f"write_array() element {i} must be float or int, not {builtins.type(v).__name__}")
        try:
            x = float(v)
        except OverflowError:
            raise _out_of_range(i, v, kind, "ints up to about 1.8e308 in magnitude") from None
        if kind == "f32" and math.isfinite(x) and abs(x) > _F32_MAX:
            raise _out_of_range(i, v, kind, "finite values up to about 3.4028235e38 in magnitude, inf, nan")
        out.append(x)
    return out


def _numpy_elements(values: Any, tc: str, kind: str) -> NDArray[Any]:
    """A contiguous little-endian numpy array of `kind`, range-checked by value like a list is."""
    import numpy as np

    want = np.dtype(tc).newbyteorder("<")
    arr = np.asarray(values)
    if arr.dtype == want or np.can_cast(arr.dtype, want, casting="safe"):
        return np.ascontiguousarray(arr, dtype=want)
    if arr.dtype.kind in "iub" and want.kind in "iu":
        lo, hi = _INT_RANGES[kind]
        if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
            flat = arr.ravel().tolist()
            i = next(i for i, v in enumerate(flat) if not lo <= v <= hi)
            raise _out_of_range(i, flat[i], kind, f"{lo}..{hi}")
        return np.ascontiguousarray(arr.astype(want))  # in range: the C cast keeps the bit pattern
    if arr.dtype.kind == "f" and want.kind == "f":  # f64 -> f32: same rule as write_f32
        out = arr.astype(want)
        bad = np.isinf(out) & np.isfinite(arr)
        if np.any(bad):
            i = int(np.flatnonzero(bad.ravel())[0])
            raise _out_of_range(i, arr.ravel()[i].item(), kind,
                                "finite values up to about 3.4028235e38 in magnitude, inf, nan")
        return np.ascontiguousarray(out)
    raise TypeError(f"write_array(): cannot convert {arr.dtype} elements to {kind} without losing "
                    "information")


def pack_into(self: _core.Memory, fmt: str, address: int, *values: Any) -> int:
    """Like struct.pack_into, at a guest address: packs first, then writes all or nothing."""
    address = _index_arg("pack_into", "address", address)
    try:
        data = _compiled(fmt).pack(*values)
    except struct.error as e:  # the class struct's callers expect, saying who raised it
        raise struct.error(f"pack_into(): {e}") from e
    except TypeError as e:
        raise TypeError(f"pack_into(): {e}") from e
    try:
        return self.write(address, data)
    except MemoryAccessError as e:
        raise MemoryAccessError(f"pack_into(): {e}") from None


def unpack_from(self: _core.Memory, fmt: str, address: int) -> Tuple[Any, ...]:
    """Like struct.unpack_from, at a guest address (bounds-checked)."""
    address = _index_arg("unpack_from", "address", address)
    try:
        s = _compiled(fmt)
    except struct.error as e:
        raise struct.error(f"unpack_from(): {e}") from e
    except TypeError as e:
        raise TypeError(f"unpack_from(): {e}") from e
    try:
        data = self.read(address, s.size)
    except MemoryAccessError as e:
        raise MemoryAccessError(f"unpack_from(): {e}") from None
    return s.unpack(data)


def ndarray(self: _core.Memory, address: int, dtype: DTypeLike, shape: Union[int, Iterable[int]]) -> NDArray[Any]:
    """A zero-copy numpy array over guest memory (numpy is optional). It keeps the instance alive."""
    import numpy as np

    address = _index_arg("ndarray", "address", address)
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError) as e:  # numpy's words, saying who asked
        raise TypeError(f"ndarray(): dtype {dtype!r} is not a numpy dtype: {e}") from e
    if dt.hasobject:
        raise TypeError(f"ndarray(): dtype {dt} holds Python objects, which guest memory cannot")
    if isinstance(shape, int):
        shape = (shape,)
    else:
        try:
            shape = tuple(shape)
        except (TypeError, ValueError):  # not iterable, or a released memoryview
            raise TypeError(f"ndarray(): shape must be an int or a sequence of ints, not "
                            f"{builtins.type(shape).__name__}") from None
    for i, d in enumerate(shape):
        if not isinstance(d, int) or d < 0:
            shown = _core.int_text(d) if isinstance(d, int) else repr(d)
            raise ValueError(f"ndarray(): shape must be non-negative ints, got {shown} at index {i}")
    count = 1
    for d in shape:
        count *= d
    try:
        view = self.view(address, count * dt.itemsize)
    except MemoryAccessError as e:
        raise MemoryAccessError(f"ndarray(): {e}") from None
    return np.frombuffer(view, dtype=dt).reshape(shape)


for _fn in (read_array, write_array, pack_into, unpack_from, ndarray):
    setattr(_core.Memory, _fn.__name__, _fn)
