"""Python classes for declared structs and unions (one per type and target) and IntEnums for enums.

An instance owns a bytearray holding the guest layout (little-endian, as wasm), so `bytes(obj)`
is a copy and `from_bytes` one slice. A scalar member is a `_core.ScalarField`: the marshalling
unit of its C type (the conversion, range checks and error text of a declared parameter of that
type), used as the class's descriptor. A nested struct or array read from a field is a view
sharing its parent's bytes (as in ctypes): `p.inner.x = 1` changes `p`.
"""

from __future__ import annotations

import enum
import operator
from typing import Any, Dict, Iterator, Optional, Tuple, Union as _U

from .. import _core
from ._layout import Target, record_layout, size_align
from ._lower import scalar_code, unit_name
from ._model import CHAR, Array, CDefError, CType, Enum, Primitive, Struct

# The bytes a record's fields live in: its own bytearray, or a view of its parent's.
Buf = _U[bytearray, memoryview]


def _scalar(ctype: CType, offset: int, target: Target, label: str, enum_cls: Any = None) -> _core.ScalarField:
    """The accessor of a scalar member: `_core.ScalarField`, which converts by the marshalling
    unit of its C type (the one a declared parameter of that type runs) and is also the
    member's descriptor on the record class."""
    base = ctype.base if isinstance(ctype, Enum) else ctype
    is_char = isinstance(base, Primitive) and base.kind == CHAR
    return _core.ScalarField(unit_name(scalar_code(ctype, target)), offset, label, ctype.spell(),
                             wide=target.pointer_size == 8, enum_class=enum_cls, char=is_char)


class CArray:
    """A view of a fixed-size C array inside a struct's bytes: indexing, len, iteration, ==."""

    __slots__ = ("_buf", "_base", "_elem", "_n", "_step", "_label")

    def __init__(self, buf: Buf, base: int, elem: _Accessor, n: int, step: int, label: str) -> None:
        self._buf, self._base, self._elem, self._n, self._step, self._label = buf, base, elem, n, step, label

    def __len__(self) -> int:
        return self._n

    def _index(self, i: int) -> int:
        i = operator.index(i)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(f"{self._label}: index {i} out of range for {self._n} elements")
        return i

    def __getitem__(self, i: _U[int, slice]) -> Any:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self._n))]
        return self._elem.get(self._buf, self._base + self._index(i) * self._step)

    def __setitem__(self, i: int, value: Any) -> None:
        k = self._index(i)
        self._elem.set(self._buf, value, self._base + k * self._step, f"{self._label}[{k}]")

    def __iter__(self) -> Iterator[Any]:
        for k in range(self._n):
            yield self[k]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CArray):
            return list(self) == list(other)
        if isinstance(other, (list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # unhashable: the bytes are mutable

    def __bytes__(self) -> bytes:
        return bytes(self._buf[self._base:self._base + self._n * self._step])

    def __repr__(self) -> str:
        return repr(list(self))


class _ArrayField:
    """A fixed-size array at an offset: read as a CArray view, written from a sequence of the
    right length or from bytes of exactly N * sizeof(T)."""

    __slots__ = ("elem", "offset", "n", "step", "label", "ctype")

    def __init__(self, ctype: Array, elem: _Accessor, offset: int, step: int, label: str) -> None:
        assert ctype.length is not None  # the parser refuses flexible array members
        self.ctype, self.elem, self.offset, self.n, self.step, self.label = ctype, elem, offset, ctype.length, step, label

    def get(self, buf: Buf, base: int = 0) -> CArray:
        return CArray(buf, base + self.offset, self.elem, self.n, self.step, self.label)

    def set(self, buf: Buf, value: Any, base: int = 0, label: Optional[str] = None) -> None:
        label = label or self.label
        start = base + self.offset
        if isinstance(value, (bytes, bytearray, memoryview)):
            try:
                raw = memoryview(value).cast("B") if isinstance(value, memoryview) else value
            except (TypeError, ValueError) as e:  # released, or not C-contiguous
                raise TypeError(f"{label} ({self.ctype.spell()}) cannot take this memoryview: {e}") from None
            if len(raw) != self.n * self.step:
                raise ValueError(f"{label} ({self.ctype.spell()}) needs {self.n * self.step} bytes, "
                                 f"got {len(raw)}")
            buf[start:start + len(raw)] = raw
            return
        if isinstance(value, (str, dict)) or not hasattr(value, "__len__"):
            raise TypeError(f"{label} ({self.ctype.spell()}) takes a sequence of {self.n} values "
                            f"or {self.n * self.step} bytes, not {type(value).__name__}")
        if len(value) != self.n:
            raise ValueError(f"{label} ({self.ctype.spell()}) needs {self.n} values, got {len(value)}")
        # Convert everything first so a bad element leaves the field unchanged.
        scratch = bytearray(self.n * self.step)
        for k, v in enumerate(value):
            self.elem.set(scratch, v, k * self.step, f"{label}[{k}]")
        buf[start:start + len(scratch)] = scratch


class _RecordField:
    """A nested struct or union at an offset: read as a view of the nested class, written from an
    instance of it or a dict of its fields."""

    __slots__ = ("cls", "offset", "label", "size")

    def __init__(self, cls: type[CRecord], offset: int, label: str) -> None:
        self.cls, self.offset, self.label, self.size = cls, offset, label, cls._size

    def get(self, buf: Buf, base: int = 0) -> CRecord:
        start = base + self.offset
        return self.cls._view(memoryview(buf)[start:start + self.size])

    def set(self, buf: Buf, value: Any, base: int = 0, label: Optional[str] = None) -> None:
        label = label or self.label
        if isinstance(value, self.cls):
            src = value._buf
        elif isinstance(value, dict):
            src = self.cls(**value)._buf
        else:
            raise TypeError(f"{label} must be a {self.cls.__name__} or a dict of its fields, "
                            f"not {type(value).__name__}")
        start = base + self.offset
        buf[start:start + self.size] = src


# What reads and writes one member in a record's bytes.
_Accessor = _U[_core.ScalarField, _ArrayField, _RecordField]


class _Descriptor:
    __slots__ = ("acc", "name")

    def __init__(self, acc: _Accessor, name: str) -> None:
        self.acc, self.name = acc, name

    def __get__(self, obj: Optional[CRecord], cls: Optional[type] = None) -> Any:
        if obj is None:
            return self
        return self.acc.get(obj._buf)

    def __set__(self, obj: CRecord, value: Any) -> None:
        self.acc.set(obj._buf, value)


class CRecord(_core.Record):
    """Base of the classes made for declared structs and unions. Its C base (`_core.Record`)
    holds the bytes, `_buf`, where the call paths read and write them without Python.

    Class attributes: `_ctype` (the Struct/Union), `_target`, `_size`, `_align`, `_fields`
    (name -> accessor, in declaration order)."""

    __slots__ = ()
    _ctype: Struct
    _target: Target
    _size: int
    _align: int
    _fields: Dict[str, _Accessor]
    _buf: Buf

    def __init__(self, **fields: Any) -> None:
        self._buf = bytearray(self._size)
        for name, value in fields.items():
            acc = self._fields.get(name)
            if acc is None:
                raise TypeError(f"{self._ctype.spell()} has no member {name!r} "
                                f"(members: {', '.join(self._fields)})")
            acc.set(self._buf, value)

    @classmethod
    def _view(cls, buf: Buf) -> CRecord:
        obj = cls.__new__(cls)
        obj._buf = buf
        return obj

    @classmethod
    def from_bytes(cls, data: Any) -> "CRecord":
        """A new instance from exactly sizeof bytes of guest layout."""
        try:
            raw = memoryview(data).cast("B")
        except TypeError:
            raise TypeError(f"{cls.__name__}.from_bytes() takes a bytes-like object, not "
                            f"{type(data).__name__}") from None
        except ValueError as e:  # a released memoryview
            raise ValueError(f"{cls.__name__}.from_bytes(): {e}") from None
        if len(raw) != cls._size:
            raise ValueError(f"{cls.__name__}.from_bytes() needs {cls._size} bytes "
                             f"(sizeof {cls._ctype.spell()} on {cls._target}), got {len(raw)}")
        return cls._view(bytearray(raw))

    @classmethod
    def from_buffer(cls, buf: Any, offset: int = 0) -> "CRecord":
        """A new instance copied from `buf` at `offset` (a copy: guest memory may move on grow)."""
        try:
            mv = memoryview(buf).cast("B")
        except TypeError as e:  # not a buffer, or not C-contiguous
            raise TypeError(f"{cls.__name__}.from_buffer() takes a C-contiguous bytes-like object: {e}") from None
        except ValueError as e:  # a released memoryview
            raise ValueError(f"{cls.__name__}.from_buffer(): {e}") from None
        try:
            offset = operator.index(offset)
        except TypeError as e:
            raise TypeError(f"{cls.__name__}.from_buffer(): offset must be an int: {e}") from None
        if offset < 0 or offset + cls._size > len(mv):
            raise ValueError(f"{cls.__name__}.from_buffer(): {cls._size} bytes at offset {offset} "
                             f"do not fit in a buffer of {len(mv)} bytes")
        return cls._view(bytearray(mv[offset:offset + cls._size]))

    def __bytes__(self) -> bytes:
        return bytes(self._buf)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CRecord) or type(other) is not type(self):
            return NotImplemented
        return bytes(self._buf) == bytes(other._buf)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def _asdict(self) -> Dict[str, Any]:
        out = {}
        for name in self._fields:
            v = getattr(self, name)
            out[name] = v._asdict() if isinstance(v, CRecord) else list(v) if isinstance(v, CArray) else v
        return out

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._fields)
        return f"{type(self).__name__}({inner})"


def _class_name(t: Struct) -> str:
    name = t.name or t.display or f"anonymous_{t.keyword}"
    return name


def make_record_class(t: Struct, target: Target, classes: Dict[Tuple[Struct, Target], type[CRecord]],
                      enums: Dict[Enum, Any]) -> type[CRecord]:
    """The Python class for struct/union `t` on `target`; `classes` caches by (type, target) so
    nested types are built once, `enums` caches IntEnum classes."""
    key = (t, target)
    if key in classes:
        return classes[key]
    lay = record_layout(t, target)
    label = t.spell()
    accessors: Dict[str, _Accessor] = {}
    for f in lay.fields:
        if hasattr(CRecord, f.name):
            raise CDefError(f"{label} member {f.name!r} has the name of an attribute of the Python "
                            f"class (from_bytes, from_buffer and names starting with '_' are taken); "
                            f"its layout is still known to sizeof/offsetof")
        accessors[f.name] = _accessor(f.type, f.offset, target, f"{label} member {f.name!r}", classes, enums)
    ns: Dict[str, Any] = {"__slots__": (), "_ctype": t, "_target": target, "_size": lay.size, "_align": lay.align,
          "_fields": accessors, "__doc__": f"{label} ({lay.size} bytes on {target})"}
    for name, acc in accessors.items():
        # A scalar's accessor is its own descriptor (C: the record's bytes from their slot).
        ns[name] = acc if isinstance(acc, _core.ScalarField) else _Descriptor(acc, name)
    cls = type(_class_name(t), (CRecord,), ns)
    cls.__module__ = "wasmffi.cdef"
    classes[key] = cls
    return cls


def _accessor(ft: CType, offset: int, target: Target, label: str,
              classes: Dict[Tuple[Struct, Target], type[CRecord]], enums: Dict[Enum, Any]) -> _Accessor:
    if isinstance(ft, Struct):
        return _RecordField(make_record_class(ft, target, classes, enums), offset, label)
    if isinstance(ft, Array):
        step = size_align(ft.of, target)[0]
        elem = _accessor(ft.of, 0, target, label, classes, enums)
        return _ArrayField(ft, elem, offset, step, label)
    enum_cls = make_enum_class(ft, enums) if isinstance(ft, Enum) else None
    return _scalar(ft, offset, target, label, enum_cls)


def make_enum_class(t: Enum, enums: Dict[Enum, Any]) -> Any:
    """An enum.IntEnum with the declared members (cached per Enum in `enums`)."""
    cls: Any = enums.get(t)
    if cls is None:
        name = t.name or t.display or "anonymous_enum"
        try:
            # Called through Any: mypy reads `x = IntEnum(...)` as a static enum definition, which
            # needs a literal name; this one is only known at run time.
            int_enum: Any = enum.IntEnum
            cls = int_enum(name, list(t.members), module="wasmffi.cdef")
        except (ValueError, TypeError) as e:
            raise CDefError(f"{t.spell()} cannot become a Python IntEnum: {e}") from None
        missing = [m for m, _ in t.members if m not in cls.__members__]
        if missing:  # enum drops _sunder_ names such as _missing_ without a word
            raise CDefError(f"{t.spell()} cannot become a Python IntEnum: member names "
                            f"{', '.join(missing)} are reserved by the enum module")
        enums[t] = cls
    return cls
