"""C declarations for wasm exports: `CDef(src)` parses once (cached by text) and answers layout,
Python types for structs/unions/enums, and the lowered wasm signature of each function.

Pure Python, no wasm needed: _parser (text -> model), _model (type values), _layout (sizes and
offsets per target), _lower (wasm C ABI + marshalling plan), _pytypes (struct classes).
See docs/cdef.md for the declaration language and the marshalling rules.
"""

from __future__ import annotations

import threading
import weakref
from types import MappingProxyType
from typing import Any, Dict, Mapping, Optional, Tuple, Union as _U

from . import _parser
from ._layout import WASM32, WASM64, FieldLayout, RecordLayout, Target, offset_of, record_layout, size_align, target_of
from ._lower import BYTES, ELEMENTS, IN, INOUT, OUT, VALUE, FunctionSpec, ParamSpec, ResultSpec, lower
from ._model import (Array, CDefError, CType, Enum, Field, FunctionType, Out, Param, Pointer, Primitive,
                     Struct, Union, out)
from ._pytypes import CArray, CRecord, make_enum_class, make_record_class

__all__ = [
    "CDef", "CDefError", "sizeof", "alignof", "offsetof", "out", "Out", "target_for_memory",
    "Target", "WASM32", "WASM64", "CType", "Primitive", "Pointer", "Array", "Struct", "Union",
    "Enum", "Field", "Param", "FunctionType", "FunctionSpec", "ParamSpec", "ResultSpec",
    "RecordLayout", "FieldLayout", "CRecord", "CArray", "VALUE", "IN", "OUT", "INOUT",
    "ELEMENTS", "BYTES",
]

_cache_lock = threading.Lock()
_cache: "weakref.WeakValueDictionary[str, CDef]" = weakref.WeakValueDictionary()

TypeLike = _U[str, CType, type]
TargetLike = _U[str, Target, None]


def target_for_memory(is64: bool) -> Target:
    """The layout target of a module whose memory is memory64 (`is64`) or not."""
    return WASM64 if is64 else WASM32


class CDef:
    """Parsed C declarations, reusable across modules and instances.

    `CDef(src)` returns the same object for the same text while it is alive, so parsing happens
    once. Everything it holds is immutable; per-target results (layouts, struct classes, lowered
    functions) are computed on first use and cached.

        cd = wasmffi.CDef('''
            #define KEY_SIZE 32
            struct point { int32_t x, y; };
            uint32_t sum(const uint8_t *p, size_t n);
        ''')
        cd.sizeof("struct point")          # 8
        Point = cd.pytype("struct point")  # a class: Point(x=1, y=2), bytes(p), Point.from_bytes
        cd.lower("sum").wasm_text          # '(i32, i32) -> i32'
    """

    __slots__ = ("source", "_d", "_types", "_classes", "_enums", "_lowered", "_lock", "__weakref__")
    source: str
    _d: _parser.Declarations
    _types: Dict[str, CType]
    _classes: Dict[Tuple[Struct, Target], type[CRecord]]
    _enums: Dict[Enum, Any]  # the IntEnum class made for each enum
    _lowered: Dict[Tuple[str, Target], FunctionSpec]
    _lock: threading.Lock

    def __new__(cls, source: str) -> "CDef":
        if not isinstance(source, str):
            raise TypeError(f"CDef() takes C declarations as str, not {type(source).__name__}")
        with _cache_lock:
            hit = _cache.get(source)
            if hit is not None:
                return hit
        self = super().__new__(cls)
        self.source = source
        self._d = _parser.parse(source)
        self._types = {}
        self._classes = {}
        self._enums = {}
        self._lowered = {}
        self._lock = threading.Lock()
        # Lowering checks annotations and length links, which do not depend on the target:
        # doing it now makes a bad declaration fail here rather than when a module is bound.
        for name in self._d.functions:
            try:
                self.lower(name)
            except CDefError as e:
                line = self._d.function_coords.get(name, (0, 0))[0]
                raise CDefError(f"cdef line {line}: {e}" if line else str(e)) from None
            except RecursionError:
                raise CDefError(_parser.TOO_DEEP) from None
        with _cache_lock:
            return _cache.setdefault(source, self)

    def __repr__(self) -> str:
        d = self._d
        return (f"<CDef: {len(d.functions)} functions, {len(d.structs)} structs, {len(d.unions)} "
                f"unions, {len(d.enums)} enums, {len(d.typedefs)} typedefs, {len(d.constants)} constants>")

    # what was declared -------------------------------------------------------------------------
    @property
    def functions(self) -> Mapping[str, FunctionType]:
        return MappingProxyType(self._d.functions)

    @property
    def structs(self) -> Mapping[str, Struct]:
        return MappingProxyType(self._d.structs)

    @property
    def unions(self) -> Mapping[str, Union]:
        return MappingProxyType(self._d.unions)

    @property
    def enums(self) -> Mapping[str, Enum]:
        return MappingProxyType(self._d.enums)

    @property
    def typedefs(self) -> Mapping[str, CType]:
        return MappingProxyType(self._d.typedefs)

    @property
    def constants(self) -> Mapping[str, int]:
        """Integer #defines and enum members."""
        return MappingProxyType(self._d.constants)

    # types ---------------------------------------------------------------------------------------
    def type(self, name: TypeLike) -> CType:
        """The C type a name spells here ("uint8_t[64]", "struct point *", "my_t"), or the type
        behind a CType / a struct class / an enum class made by this CDef."""
        if isinstance(name, CType):
            return name
        if isinstance(name, type):
            if issubclass(name, CRecord):
                return name._ctype
            for enum_t, cls in self._enums.items():
                if cls is name:
                    return enum_t
            raise TypeError(f"{name.__name__} is not a C type of this CDef")
        if not isinstance(name, str):
            raise TypeError(f"a C type name must be str, not {type(name).__name__}")
        t = self._types.get(name)
        if t is None:
            t = _parser.parse_type(name, self._d)
            self._types[name] = t
        return t

    def sizeof(self, t: TypeLike, target: TargetLike = None) -> int:
        """sizeof(t) on the target ("wasm32", the default, or "wasm64")."""
        return size_align(self.type(t), _target(t, target))[0]

    def alignof(self, t: TypeLike, target: TargetLike = None) -> int:
        return size_align(self.type(t), _target(t, target))[1]

    def offsetof(self, t: TypeLike, member: str, target: TargetLike = None) -> int:
        """Offset of a member path ("a", "a.b", "arr[2].x") in a struct or union."""
        ct = self.type(t)
        if not isinstance(ct, Struct):
            raise CDefError(f"offsetof: {ct.spell()} is not a struct or union")
        return offset_of(ct, member, _target(t, target))[0]

    def layout(self, t: TypeLike, target: TargetLike = None) -> RecordLayout:
        """Every member's offset and size, and the record's size and alignment."""
        ct = self.type(t)
        if not isinstance(ct, Struct):
            raise CDefError(f"layout: {ct.spell()} is not a struct or union")
        return record_layout(ct, _target(t, target))

    def pytype(self, t: TypeLike, target: TargetLike = None) -> Any:
        """The Python class for a declared struct or union (per target) or the IntEnum of an enum."""
        ct = self.type(t)
        with self._lock:
            if isinstance(ct, Enum):
                return make_enum_class(ct, self._enums)
            if isinstance(ct, Struct):
                return make_record_class(ct, _target(t, target), self._classes, self._enums)
        raise CDefError(f"{ct.spell()} is not a struct, union or enum: it has no Python class")

    # functions -----------------------------------------------------------------------------------
    def lower(self, name: str, target: TargetLike = None) -> FunctionSpec:
        """How declared function `name` lowers to wasm on the target, and how each parameter is
        marshalled; `.check(export_type)` verifies an export against it."""
        tgt = target_of(target)
        key = (name, tgt)
        spec = self._lowered.get(key)
        if spec is None:
            ft = self._d.functions.get(name)
            if ft is None:
                raise CDefError(f"no function {name!r} is declared")
            spec = self._lowered[key] = lower(name, ft, tgt)
        return spec


def _target(t: TypeLike, target: TargetLike) -> Target:
    if target is None and isinstance(t, type) and issubclass(t, CRecord):
        return t._target
    return target_of(target)


_standard: "CDef | None" = None


def _standard_names() -> "CDef":
    # Kept alive here: the cache holds CDefs weakly, and standard names are asked for often.
    global _standard
    if _standard is None:
        _standard = CDef("")
    return _standard


def _type_and_target(t: TypeLike, target: TargetLike, fn: str) -> Tuple[CType, Target]:
    if isinstance(t, type) and issubclass(t, CRecord):
        return t._ctype, _target(t, target)
    if isinstance(t, CType):
        return t, target_of(target)
    if isinstance(t, str):
        return _standard_names().type(t), target_of(target)
    raise TypeError(f"{fn}() takes a C type, a struct class or a standard type name, "
                    f"not {type(t).__name__}")


def sizeof(t: TypeLike, target: TargetLike = None) -> int:
    """sizeof a struct class (on its own target unless one is given), a CType, or a standard type
    name such as "uint64_t" or "size_t" (wasm32 unless target="wasm64")."""
    ct, tgt = _type_and_target(t, target, "sizeof")
    return size_align(ct, tgt)[0]


def alignof(t: TypeLike, target: TargetLike = None) -> int:
    """alignof, with the arguments of sizeof()."""
    ct, tgt = _type_and_target(t, target, "alignof")
    return size_align(ct, tgt)[1]


def offsetof(t: TypeLike, member: str, target: TargetLike = None) -> int:
    """offsetof a member path ("a.b[2].c") in a struct class or a Struct type."""
    ct, tgt = _type_and_target(t, target, "offsetof")
    if not isinstance(ct, Struct):
        raise CDefError(f"offsetof: {ct.spell()} is not a struct or union")
    return offset_of(ct, member, tgt)[0]
