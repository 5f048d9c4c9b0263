"""Sizes, alignments and field offsets of C types by the target's rules (clang's wasm32 / wasm64).

The two targets differ only in the width of pointers, `long`, `size_t` and their kin (4 or 8
bytes); everything else is the usual C layout: scalars aligned to their size, a struct aligned to
its strictest member and padded to a multiple of that, a union as large as its largest member.
tests/python/test_cdef_layout.py checks these figures against clang itself.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import List, Tuple, Union as _U

from ._model import Array, CDefError, CType, Enum, FunctionType, Pointer, Primitive, Struct, Union, VOID


@dataclass(frozen=True, slots=True)
class Target:
    """A wasm target: `name` ("wasm32" or "wasm64") and its pointer width in bytes."""

    name: str
    pointer_size: int

    def __str__(self) -> str:
        return self.name


WASM32 = Target("wasm32", 4)
WASM64 = Target("wasm64", 8)
TARGETS = {"wasm32": WASM32, "wasm64": WASM64, "memory64": WASM64}


def target_of(target: _U[str, Target, None]) -> Target:
    """Accepts a Target, "wasm32", "wasm64" or "memory64" (an alias of wasm64); None is wasm32."""
    if target is None:
        return WASM32
    if isinstance(target, Target):
        return target
    try:
        return TARGETS[target]
    except (KeyError, TypeError):
        raise ValueError(f"target must be 'wasm32' or 'wasm64', not {target!r}") from None


@dataclass(frozen=True, slots=True)
class FieldLayout:
    """Where one member lives inside its struct or union."""

    name: str
    type: CType
    offset: int
    size: int


@dataclass(frozen=True, slots=True)
class RecordLayout:
    """The layout of a struct or union on one target."""

    size: int
    align: int
    fields: Tuple[FieldLayout, ...]

    def field(self, name: str) -> FieldLayout:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def _scalar_size(t: Primitive, target: Target) -> int:
    return target.pointer_size if t.size is None else t.size


@functools.lru_cache(maxsize=4096)
def size_align(t: CType, target: Target) -> Tuple[int, int]:
    """(sizeof, alignof) of `t` on `target`; CDefError for types without a size."""
    if isinstance(t, Primitive):
        if t.kind == VOID:
            raise CDefError("void has no size")
        n = _scalar_size(t, target)
        return n, n
    if isinstance(t, Pointer):
        return target.pointer_size, target.pointer_size
    if isinstance(t, Enum):
        return size_align(t.base, target)
    if isinstance(t, Array):
        if t.length is None:
            raise CDefError(f"{t.spell()} has no size (an array without a length)")
        n, a = size_align(t.of, target)
        return n * t.length, a
    if isinstance(t, Struct):
        lay = record_layout(t, target)
        return lay.size, lay.align
    if isinstance(t, FunctionType):
        raise CDefError(f"a function type ({t.spell()}) has no size; use a pointer to it")
    raise CDefError(f"{t!r} has no size")


def _round_up(n: int, align: int) -> int:
    return (n + align - 1) // align * align


@functools.lru_cache(maxsize=1024)
def record_layout(t: Struct, target: Target) -> RecordLayout:
    """Member offsets and the total size of a struct or union on `target`."""
    if not t.complete:
        raise CDefError(f"{t.spell()} is incomplete (declared without its members): "
                        "it can be used behind a pointer only")
    is_union = isinstance(t, Union)
    offset = size = 0
    align = 1
    fields = []
    assert t.fields is not None  # t.complete, checked above
    for f in t.fields:
        n, a = size_align(f.type, target)
        at = 0 if is_union else _round_up(offset, a)
        fields.append(FieldLayout(f.name, f.type, at, n))
        offset = at + n
        size = max(size, offset)
        align = max(align, a)
    return RecordLayout(_round_up(size, align), align, tuple(fields))


def offset_of(t: Struct, path: str, target: Target) -> Tuple[int, CType]:
    """(offset, type) of a member reached by a dotted path with optional indices: "a.b[2].c"."""
    offset = 0
    cur: CType = t
    for part in _split_path(path):
        if isinstance(part, int):
            if not isinstance(cur, Array) or cur.length is None:
                raise CDefError(f"offsetof: [{part}] applied to {cur.spell()}, which is not an array")
            if not 0 <= part < cur.length:
                raise CDefError(f"offsetof: index {part} is out of range for {cur.spell()}")
            offset += part * size_align(cur.of, target)[0]
            cur = cur.of
            continue
        if not isinstance(cur, Struct):
            raise CDefError(f"offsetof: .{part} applied to {cur.spell()}, which is not a struct or union")
        try:
            fl = record_layout(cur, target).field(part)
        except KeyError:
            raise CDefError(f"offsetof: {cur.spell()} has no member {part!r}") from None
        offset += fl.offset
        cur = fl.type
    return offset, cur


def _split_path(path: str) -> List[_U[str, int]]:
    if not isinstance(path, str) or not path:
        raise CDefError(f"offsetof: a member path like 'a.b[2].c' is needed, not {path!r}")
    out: List[_U[str, int]] = []
    for piece in path.split("."):
        name, _, rest = piece.partition("[")
        if not name.isidentifier():
            raise CDefError(f"offsetof: bad member path {path!r}")
        out.append(name)
        while rest:
            idx, sep, rest = rest.partition("]")
            if not sep or not idx.strip().isdigit() or (rest and not rest.startswith("[")):
                raise CDefError(f"offsetof: bad member path {path!r}")
            out.append(int(idx))
            rest = rest[1:]
    return out
