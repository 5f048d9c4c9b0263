"""The C type model: immutable, hashable type values that parsing produces and layout/lowering read.

Scalars, pointers, arrays and function types are plain values: equal when spelled alike.
Structs, unions and enums are nominal, as in C: each definition is its own type, compared by
identity, so a struct that points to itself needs no recursive hashing. Their members are filled
in once, while the declarations are read, and frozen before a CDef is handed out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, Optional, Tuple

from .. import _core
from .._errors import Error


class CDefError(Error, ValueError):
    """A C declaration wasmffi cannot use: a syntax error (with line and column), an unknown type
    name, an unsupported construct, or a declaration that does not match a wasm export.

    Also a ValueError: the declaration text is a bad value passed to wasmffi."""


class CType:
    """Base of every C type value. `spell(name)` writes a C declarator for it."""

    __slots__ = ()

    def spell(self, name: str = "") -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.spell()


# Kinds of scalar. "char" is plain char (signed on wasm) kept apart so `const char *` can mean a C
# string; "bool" is _Bool (0 or 1); "void" is only valid behind a pointer or as a result.
SIGNED, UNSIGNED, CHAR, BOOL, FLOAT, VOID = "signed", "unsigned", "char", "bool", "float", "void"


@dataclass(frozen=True, slots=True)
class Primitive(CType):
    """A scalar type. `size` is in bytes, or None for the target's pointer width (long, size_t,
    intptr_t...: 4 on wasm32, 8 on wasm64)."""

    name: str
    kind: str
    size: Optional[int]

    def spell(self, name: str = "") -> str:
        return f"{self.name}{name}" if name.startswith("[") else f"{self.name} {name}".rstrip()

    @property
    def is_integer(self) -> bool:
        return self.kind in (SIGNED, UNSIGNED, CHAR, BOOL)

    @property
    def signed(self) -> bool:
        return self.kind in (SIGNED, CHAR)


@dataclass(frozen=True, slots=True)
class Pointer(CType):
    """`T *`; `const` is the constness of the pointee (`const T *`), the only one that matters
    to marshalling (it decides whether data is copied back)."""

    to: CType
    const: bool = False

    def spell(self, name: str = "") -> str:
        inner = f"*{name}"
        if isinstance(self.to, (Array, FunctionType)):
            inner = f"({inner})"
        text = self.to.spell(inner)
        return f"const {text}" if self.const else text


@dataclass(frozen=True, slots=True)
class Array(CType):
    """`T name[N]`; `length` is None for `T name[]` (a parameter, where it means a pointer).
    `const` as for Pointer: the elements are const."""

    of: CType
    length: Optional[int]
    const: bool = False

    def spell(self, name: str = "") -> str:
        n = "" if self.length is None else str(self.length)
        text = self.of.spell(f"{name}[{n}]")
        return f"const {text}" if self.const else text


@dataclass(frozen=True, slots=True)
class Param:
    """One declared parameter; `name` is None when the declaration leaves it out.
    `annotations` are the wasmffi annotation comments written after its name (see docs/cdef.md)."""

    name: Optional[str]
    type: CType
    annotations: Tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FunctionType(CType):
    """A function's C type. Variadic functions are refused when parsed (wasm has no varargs ABI
    wasmffi could fill from Python)."""

    result: CType
    params: Tuple[Param, ...]

    def spell(self, name: str = "") -> str:
        ps = ", ".join(p.type.spell(p.name or "") for p in self.params) or "void"
        return self.result.spell(f"{name}({ps})")


@dataclass(frozen=True, slots=True)
class Field:
    """One member of a struct or union."""

    name: str
    type: CType


class _Nominal(CType):
    """Shared by Struct/Union/Enum: identity semantics, members set once then frozen."""

    __slots__ = ("name", "_frozen", "__weakref__")
    keyword = ""
    name: Optional[str]
    _frozen: bool

    def __init__(self, name: Optional[str]) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_frozen", False)

    def __setattr__(self, key: str, value: object) -> None:
        if self._frozen:
            raise AttributeError(f"{self.spell()} is immutable")
        object.__setattr__(self, key, value)

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def spell(self, name: str = "") -> str:
        tag = self.name if self.name is not None else "<anonymous>"
        return f"{self.keyword} {tag} {name}".rstrip()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spell()}>"

    __eq__ = object.__eq__
    __hash__ = object.__hash__


class Struct(_Nominal):
    """A struct. `fields` is None while the type is incomplete (declared `struct s;` only):
    usable behind a pointer, not by value. `display` names an anonymous struct by its typedef."""

    __slots__ = ("fields", "display")
    keyword = "struct"
    fields: Optional[Tuple[Field, ...]]
    display: Optional[str]

    def __init__(self, name: Optional[str], fields: Optional[Tuple[Field, ...]] = None) -> None:
        super().__init__(name)
        self.fields = fields
        self.display = None

    @property
    def complete(self) -> bool:
        return self.fields is not None

    def field(self, name: str) -> Field:
        for f in self.fields or ():
            if f.name == name:
                return f
        raise KeyError(name)

    def spell(self, name: str = "") -> str:
        if self.name is None and self.display:
            return f"{self.display} {name}".rstrip()
        return super().spell(name)


class Union(Struct):
    """A union: a Struct whose fields all start at offset 0."""

    __slots__ = ()
    keyword = "union"


class Enum(_Nominal):
    """An enum: `members` in declaration order, `base` the integer type clang gives it
    (unsigned int when no member is negative, int otherwise, 64-bit when a value needs it)."""

    __slots__ = ("members", "base", "display")
    keyword = "enum"
    members: Tuple[Tuple[str, int], ...]
    base: Primitive
    display: Optional[str]

    def __init__(self, name: Optional[str], members: Tuple[Tuple[str, int], ...], base: Primitive) -> None:
        super().__init__(name)
        self.members = members
        self.base = base
        self.display = None

    def spell(self, name: str = "") -> str:
        if self.name is None and self.display:
            return f"{self.display} {name}".rstrip()
        return super().spell(name)


def _prims(*rows: Tuple[str, str, Optional[int]]) -> Dict[str, Primitive]:
    return {name: Primitive(name, kind, size) for name, kind, size in rows}


# Every scalar a declaration may name without a header. Multi-word C spellings are keyed by their
# words sorted (pycparser keeps them in source order: "unsigned long int" == "long unsigned").
PRIMITIVES = _prims(
    ("void", VOID, 0),
    ("char", CHAR, 1), ("signed char", SIGNED, 1), ("unsigned char", UNSIGNED, 1),
    ("short", SIGNED, 2), ("unsigned short", UNSIGNED, 2),
    ("int", SIGNED, 4), ("unsigned int", UNSIGNED, 4),
    ("long", SIGNED, None), ("unsigned long", UNSIGNED, None),
    ("long long", SIGNED, 8), ("unsigned long long", UNSIGNED, 8),
    ("float", FLOAT, 4), ("double", FLOAT, 8),
    ("_Bool", BOOL, 1), ("bool", BOOL, 1),
    ("int8_t", SIGNED, 1), ("uint8_t", UNSIGNED, 1),
    ("int16_t", SIGNED, 2), ("uint16_t", UNSIGNED, 2),
    ("int32_t", SIGNED, 4), ("uint32_t", UNSIGNED, 4),
    ("int64_t", SIGNED, 8), ("uint64_t", UNSIGNED, 8),
    ("intptr_t", SIGNED, None), ("uintptr_t", UNSIGNED, None),
    ("size_t", UNSIGNED, None), ("ssize_t", SIGNED, None), ("ptrdiff_t", SIGNED, None),
    ("intmax_t", SIGNED, 8), ("uintmax_t", UNSIGNED, 8),
    # Wide characters as clang's wasm targets define them (<stddef.h>, <uchar.h>).
    ("wchar_t", SIGNED, 4), ("char16_t", UNSIGNED, 2), ("char32_t", UNSIGNED, 4),
)

# Character types whose `const T *` is a C string of that width (a str is encoded to match).
STRING_CHARS = ("char", "wchar_t", "char16_t", "char32_t")

# Names that <stdint.h>, <stddef.h> and <stdbool.h> (and POSIX, for ssize_t) would declare: the
# parser is told they are type names; they resolve straight to the Primitive above.
HEADER_TYPE_NAMES = (
    "bool", "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t",
    "uint64_t", "intptr_t", "uintptr_t", "size_t", "ssize_t", "ptrdiff_t", "intmax_t", "uintmax_t",
    "wchar_t", "char16_t", "char32_t",
)

# C spellings that name the same type as a key above (after sorting words and dropping "int").
_SYNONYMS = {
    "short": "short", "short signed": "short", "short unsigned": "unsigned short",
    "signed": "int", "unsigned": "unsigned int", "": "int",
    "long": "long", "long signed": "long", "long unsigned": "unsigned long",
    "long long": "long long", "long long signed": "long long",
    "long long unsigned": "unsigned long long",
    "char": "char", "char signed": "signed char", "char unsigned": "unsigned char",
    "float": "float", "double": "double", "void": "void", "_Bool": "_Bool",
}

# Refused with a reason rather than guessed at.
_UNSUPPORTED = {
    "double long": "long double (16 bytes, lowered to an i64 pair on wasm) is not supported",
    "_Complex": "_Complex types are not supported",
    "__int128": "__int128 is not supported",
}


def primitive_from_words(words: Iterable[str]) -> Optional[Primitive]:
    """The Primitive that a list of type specifier words names, or None if they name none.
    Raises CDefError for C scalars wasmffi refuses (long double, _Complex, __int128)."""
    ws = list(words)
    if len(ws) == 1 and ws[0] in PRIMITIVES:
        return PRIMITIVES[ws[0]]
    for w in ws:
        if w in ("_Complex", "__int128"):
            raise CDefError(_UNSUPPORTED[w])
    key = " ".join(sorted(w for w in ws if w != "int"))
    if key == "double long":
        raise CDefError(_UNSUPPORTED[key])
    canon = _SYNONYMS.get(key)
    return None if canon is None else PRIMITIVES[canon]


# The out-marker: `wasmffi.out(n)` passed for a non-const pointer asks wasmffi to allocate `n`
# elements of the pointee in guest scratch and return them after the call. A C type
# (src/python/out.cpp), so the call path reads its count without an attribute lookup.
Out = _core.Out


def out(count: int) -> Out:
    """Marks an output argument of `count` elements that wasmffi allocates and returns."""
    return Out(count)
