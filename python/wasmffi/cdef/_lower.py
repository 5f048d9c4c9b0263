"""Lowers a declared C function to the wasm C ABI (clang's "basic C ABI" for wasm32/wasm64) and
describes each parameter for the marshaller: the interface between declarations and calls.

ABI rules (tests/python/test_cdef_lower.py checks each against clang-compiled modules):
  integers up to 32 bits, bool, char, enums with a 32-bit base -> i32; 64-bit integers -> i64;
  float -> f32; double -> f64; pointers, arrays (which decay) and long/size_t -> i32 on wasm32,
  i64 on wasm64. A struct or union by value whose only member (recursively, arrays of one element
  included) is a scalar of the record's full size is passed and returned as that scalar; any other
  record is passed as a pointer to a copy the caller makes, and returned through a hidden first
  pointer parameter (sret) with no wasm result.

Marshalling directions, decided here once per parameter:
  value  - a scalar (or an opaque/function pointer, or a single-scalar struct) converted in place;
  in     - `const T *`, `const T[]`, `const T[N]`, and records by value: copied into guest scratch;
  inout  - non-const `T *` / `T[N]`: copied in, and back after the call;
  out    - non-const and annotated `/* out */`: not copied in, only back.
Length links (docs/cdef.md): an integer parameter filled from the length of a buffer parameter,
by annotation (`/* len(p) */` counts elements, `/* sizeof(p) */` bytes) or by the naming rule.
Size links: `/* size_is(n) */` on an unsized buffer says it holds as many elements as integer
parameter n says (C APIs whose output is as long as an input: a cipher text as long as its
plain text); the call allocates that many for None and refuses a shorter buffer.
"""

from __future__ import annotations

import inspect
import keyword
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ._layout import Target, record_layout, size_align
from ._model import (BOOL, CHAR, FLOAT, STRING_CHARS, VOID, Array, CDefError, CType, Enum, FunctionType,
                     Pointer, Primitive, Struct)

VALUE, IN, OUT, INOUT = "value", "in", "out", "inout"
ELEMENTS, BYTES = "elements", "bytes"

# The naming rule: an integer parameter right after an unsized buffer `p`, named like this, is
# filled from p's length. Names that say "size" count bytes; the others count elements.
# Both snake_case and camelCase spellings, as real headers write them (`srcSize`, `dstCapacity`,
# `msg_len`, `nbytes`).
_ELEMENT_NAMES = ("{p}_len", "{p}_length", "{p}_count", "{p}_n", "{p}len", "{p}Len", "{p}Length", "{p}Count",
                  "n", "len", "length", "count")
_BYTE_NAMES = ("{p}_size", "{p}size", "{p}Size", "{p}_capacity", "{p}Capacity", "{p}_nbytes", "{p}_bytes",
               "size", "nbytes", "capacity")


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """How one C parameter is marshalled; everything a call needs, decided at bind time.

    `wasm` lists the wasm value types it occupies from `wasm_index` on. For value parameters,
    `scalar` is the scalar type the Python value is converted as. For buffers (in/out/inout),
    `elem` is the pointee or element type (`void` counts as bytes), `elem_size` its size, `count`
    the N of `T name[N]` (None: any length), `cstring` marks `const char *` (str -> UTF-8 + NUL),
    `byval` a record passed by value through a pointer to a copy. `length_param` names the
    parameter filled from this buffer's length; on that parameter, `length_of` names the buffer
    and `length_unit` says whether it counts elements or bytes. `size_is` names the integer
    parameter that gives this buffer's element count (`/* size_is(n) */`). `code` (of `scalar`) and
    `elem_code` (of a scalar `elem`; None for records) name the scalar marshaller: see
    scalar_code()."""

    index: int
    name: str
    type: CType
    direction: str
    wasm: Tuple[str, ...]
    wasm_index: int
    scalar: Optional[CType] = None
    elem: Optional[CType] = None
    elem_size: int = 0
    count: Optional[int] = None
    const: bool = False
    cstring: bool = False
    byval: bool = False
    length_param: Optional[str] = None
    length_of: Optional[str] = None
    length_unit: Optional[str] = None
    code: Optional[str] = None
    elem_code: Optional[str] = None
    size_is: Optional[str] = None
    length_is_return: bool = False

    @property
    def is_buffer(self) -> bool:
        return self.direction != VALUE

    @property
    def py_name(self) -> str:
        """The Python name: the C name, with `_` appended to a Python keyword (`in`, `pass`, `from`
        are common C parameter names and cannot be keyword arguments)."""
        return self.name + "_" if keyword.iskeyword(self.name) else self.name

    @property
    def keyword_only(self) -> bool:
        """Linked lengths are keyword-only and optional in the Python call (filled when omitted)."""
        return self.length_of is not None


@dataclass(frozen=True, slots=True)
class ResultSpec:
    """How the C result comes back: `kind` "void", "value" (read as `scalar` from `wasm`) or
    "sret" (the callee writes `size` bytes, aligned to `align`, at the hidden first parameter)."""

    type: CType
    kind: str
    wasm: Tuple[str, ...]
    scalar: Optional[CType] = None
    size: int = 0
    align: int = 0
    code: Optional[str] = None


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """A declared function lowered for one target: the wasm signature its export must have and
    the marshalling plan of every parameter and of the result."""

    name: str
    type: FunctionType
    target: Target
    params: Tuple[ParamSpec, ...]
    result: ResultSpec
    wasm_params: Tuple[str, ...]
    wasm_results: Tuple[str, ...]

    @property
    def declaration(self) -> str:
        return self.type.spell(self.name)

    @property
    def wasm_text(self) -> str:
        res = self.wasm_results
        out = "()" if not res else res[0] if len(res) == 1 else f"({', '.join(res)})"
        return f"({', '.join(self.wasm_params)}) -> {out}"

    def check(self, params: Any, results: Optional[Sequence[str]] = None, export_name: Optional[str] = None) -> None:
        """Raises CDefError naming both signatures unless the export's wasm type matches.
        Accepts a FuncType (anything with .params/.results) or two sequences of wasm type names."""
        if results is None and hasattr(params, "params"):
            params, results = params.params, params.results
        params, results = tuple(params), tuple(results or ())
        if params == self.wasm_params and results == self.wasm_results:
            return
        got = "()" if not results else results[0] if len(results) == 1 else f"({', '.join(results)})"
        raise CDefError(f"declared `{self.declaration}` lowers to {self.wasm_text} on {self.target} "
                        f"but export `{export_name or self.name}` is ({', '.join(params)}) -> {got}")

    def signature(self) -> inspect.Signature:
        """The Python call signature: buffers and values positional, linked lengths keyword-only."""
        pos, kw = inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY
        ps = [inspect.Parameter(p.py_name, pos, annotation=p.type.spell()) for p in self.params
              if not p.keyword_only]
        ps += [inspect.Parameter(p.py_name, kw, default=None, annotation=p.type.spell())
               for p in self.params if p.keyword_only]
        ret = None if self.result.kind == "void" else self.result.type.spell()
        return inspect.Signature(ps, return_annotation=ret)


def wasm_scalar(t: CType, target: Target) -> str:
    """The wasm value type a C scalar lowers to."""
    if isinstance(t, Enum):
        t = t.base
    if isinstance(t, Primitive):
        if t.kind == VOID:
            raise CDefError("void is not a value")
        size = target.pointer_size if t.size is None else t.size
        if t.kind == FLOAT:
            return "f32" if size == 4 else "f64"
        return "i64" if size == 8 else "i32"
    if isinstance(t, (Pointer, Array)):
        return "i64" if target.pointer_size == 8 else "i32"
    raise CDefError(f"{t.spell()} is not a scalar")


def scalar_code(t: CType, target: Target) -> str:
    """The scalar marshaller a C scalar needs, named as Func.typed() and the typed memory methods
    name them: "i8".."u64", "f32", "f64", "bool", or "ptr" (an unsigned address of the target's
    width). Plain char is "i8" (signed on wasm); an enum is its base type's code."""
    if isinstance(t, Enum):
        t = t.base
    if isinstance(t, (Pointer, Array)):
        return "ptr"
    if isinstance(t, Primitive):
        if t.kind == VOID:
            raise CDefError("void is not a value")
        if t.kind == BOOL:
            return "bool"
        size = target.pointer_size if t.size is None else t.size
        if t.kind == FLOAT:
            return f"f{size * 8}"
        return f"{'u' if t.kind == 'unsigned' else 'i'}{size * 8}"
    raise CDefError(f"{t.spell()} is not a scalar")


# scalar_code names C types as Func.typed() does; the marshalling unit table spells C's
# int32_t/int64_t "int32"/"int64" ("i32"/"i64" are the wasm-level units, which accept the
# unsigned range too).
_UNIT_NAMES = {"i32": "int32", "i64": "int64"}


def unit_name(code: Optional[str]) -> str:
    """The marshalling unit (`_core` unit table) of a scalar code; "" for none (a record element)."""
    return "" if code is None else _UNIT_NAMES.get(code, code)


def single_scalar(t: Struct, target: Target) -> Optional[CType]:
    """The scalar a record is passed as, if it has exactly one (clang's isSingleElementStruct)."""
    found = None
    assert t.fields is not None  # by-value records are complete: the parser refuses others
    for f in t.fields:
        ft = f.type
        while isinstance(ft, Array) and ft.length == 1:
            ft = ft.of
        if isinstance(ft, Struct):
            inner = single_scalar(ft, target)
            if inner is None:
                return None
        elif isinstance(ft, Array):
            return None
        else:
            inner = ft
        if found is not None:
            return None
        found = inner
    if found is None or size_align(found, target)[0] != record_layout(t, target).size:
        return None
    return found


def _is_int(t: CType) -> bool:
    return isinstance(t, Primitive) and t.is_integer and t.kind not in (BOOL, CHAR)


def lower(name: str, ft: FunctionType, target: Target) -> FunctionSpec:
    """Lowers `ft` for `target`; CDefError for what cannot be marshalled (with the reason)."""
    where = f"{name}()"
    wasm_params = []
    res = ft.result
    if isinstance(res, Primitive) and res.kind == VOID:
        result = ResultSpec(res, "void", ())
    elif isinstance(res, Struct):
        scalar = single_scalar(res, target)
        if scalar is not None:
            result = ResultSpec(res, "value", (wasm_scalar(scalar, target),), scalar,
                                code=scalar_code(scalar, target))
        else:
            size, align = size_align(res, target)
            result = ResultSpec(res, "sret", (), None, size, align)
            wasm_params.append(wasm_scalar(Pointer(res), target))
    else:
        result = ResultSpec(res, "value", (wasm_scalar(res, target),), res, code=scalar_code(res, target))

    specs = []
    for i, p in enumerate(ft.params):
        pname = p.name or f"arg{i}"
        pwhere = f"{where} parameter {pname!r}"
        spec = _param(i, pname, p.type, p.annotations, len(wasm_params), target, pwhere)
        wasm_params.extend(spec.wasm)
        specs.append(spec)
    specs = _link_lengths(specs, ft, where)
    return FunctionSpec(name, ft, target, tuple(specs), result, tuple(wasm_params), result.wasm)


def _param(i: int, name: str, t: CType, notes: Tuple[str, ...], wasm_index: int, target: Target,
           where: str) -> ParamSpec:
    direction_notes = [n for n in notes if n in (IN, OUT, INOUT)]
    if len(direction_notes) > 1:
        raise CDefError(f"{where}: conflicting annotations {direction_notes}")
    ptr_wasm = (wasm_scalar(Pointer(t), target),)
    if isinstance(t, Struct):
        scalar = single_scalar(t, target)
        if scalar is not None:
            spec = ParamSpec(i, name, t, VALUE, (wasm_scalar(scalar, target),), wasm_index, scalar=scalar,
                             code=scalar_code(scalar, target))
        else:
            spec = ParamSpec(i, name, t, IN, ptr_wasm, wasm_index, elem=t,
                             elem_size=size_align(t, target)[0], count=1, const=True, byval=True)
    elif isinstance(t, (Pointer, Array)):
        elem = t.to if isinstance(t, Pointer) else t.of
        count = t.length if isinstance(t, Array) else None
        opaque = isinstance(elem, FunctionType) or (isinstance(elem, Struct) and not elem.complete)
        if opaque:
            spec = ParamSpec(i, name, t, VALUE, ptr_wasm, wasm_index, scalar=Pointer(elem, t.const), code="ptr")
        else:
            is_void = isinstance(elem, Primitive) and elem.kind == VOID
            elem_size = 1 if is_void else size_align(elem, target)[0]
            cstring = (t.const and isinstance(t, Pointer) and isinstance(elem, Primitive)
                       and (elem.kind == CHAR or elem.name in STRING_CHARS))
            direction = IN if t.const else INOUT
            if direction_notes:
                if t.const and direction_notes[0] != IN:
                    raise CDefError(f"{where}: /* {direction_notes[0]} */ on a const pointer: "
                                    f"the callee cannot write through it")
                direction = direction_notes[0]
            elem_code = "u8" if is_void else None if isinstance(elem, Struct) else scalar_code(elem, target)
            spec = ParamSpec(i, name, t, direction, ptr_wasm, wasm_index, elem=elem,
                             elem_size=elem_size, count=count, const=t.const, cstring=cstring,
                             elem_code=elem_code)
    else:
        spec = ParamSpec(i, name, t, VALUE, (wasm_scalar(t, target),), wasm_index, scalar=t,
                         code=scalar_code(t, target))
    if direction_notes and spec.direction == VALUE:
        raise CDefError(f"{where}: /* {direction_notes[0]} */ applies to pointer or array "
                        f"parameters, not {t.spell()}")
    return spec


def _replace(spec: ParamSpec, **kw: Any) -> ParamSpec:
    fields = {f: getattr(spec, f) for f in spec.__dataclass_fields__}
    fields.update(kw)
    return ParamSpec(**fields)


def _link_lengths(specs: List[ParamSpec], ft: FunctionType, where: str) -> List[ParamSpec]:
    by_name = {s.name: s for s in specs}
    links = {}  # length param index -> (buffer index, unit)
    for s, p in zip(specs, ft.params):
        for note in p.annotations:
            if note.startswith(("len(", "sizeof(")):
                unit = ELEMENTS if note.startswith("len(") else BYTES
                target = note[note.index("(") + 1:-1]
                if s.index in links:
                    raise CDefError(f"{where} parameter {s.name!r}: more than one length annotation")
                buf = by_name.get(target)
                if buf is None:
                    raise CDefError(f"{where} parameter {s.name!r}: /* {note} */ names no parameter {target!r}")
                if not buf.is_buffer or buf.byval:
                    raise CDefError(f"{where} parameter {s.name!r}: /* {note} */: {target!r} is "
                                    f"not a pointer or array parameter")
                links[s.index] = (buf.index, unit)
    annotated_buffers = {bi for bi, _ in links.values()}  # an explicit link beats the naming rule
    # So does size_is: `uint8_t *hash /* size_is(hash_size) */, size_t hash_size` sizes the
    # buffer by the parameter rather than filling the parameter from the buffer.
    annotated_buffers |= {s.index for s, p in zip(specs, ft.params)
                          if any(n.startswith("size_is(") for n in p.annotations)}
    for s, p in zip(specs, ft.params):
        if s.index in links or "nolen" in p.annotations or s.index == 0:
            continue
        prev = specs[s.index - 1]
        if prev.index in annotated_buffers or not prev.is_buffer or prev.byval or prev.count is not None or prev.direction == VALUE:
            continue
        if not _is_int(s.type):
            continue
        for names, unit in ((_ELEMENT_NAMES, ELEMENTS), (_BYTE_NAMES, BYTES)):
            if s.name in [n.format(p=prev.name) for n in names]:
                links[s.index] = (prev.index, unit)
    for li, (bi, unit) in links.items():
        spec = specs[li]
        if "nolen" in ft.params[li].annotations and any(n.startswith(("len(", "sizeof(")) for n in ft.params[li].annotations):
            raise CDefError(f"{where} parameter {spec.name!r}: /* nolen */ contradicts its length annotation")
        if not _is_int(spec.type):
            raise CDefError(f"{where} parameter {spec.name!r}: a length must be an integer type, "
                            f"not {spec.type.spell()}")
        buf = specs[bi]
        if buf.length_param is not None:
            raise CDefError(f"{where}: parameters {buf.length_param!r} and {spec.name!r} are both "
                            f"linked to the length of {buf.name!r}")
        specs[li] = _replace(spec, length_of=buf.name, length_unit=unit)
        specs[bi] = _replace(buf, length_param=spec.name)
    specs = _link_sizes(specs, ft, where)
    specs = _link_written(specs, ft, where)
    for s, p in zip(specs, ft.params):
        if "nolen" in p.annotations and not _is_int(s.type):
            raise CDefError(f"{where} parameter {s.name!r}: /* nolen */ applies to integer parameters")
        if any(n.startswith(("len(", "sizeof(")) for n in p.annotations) and s.direction != VALUE:
            raise CDefError(f"{where} parameter {s.name!r}: a length annotation belongs on an integer parameter")
    return specs


def _link_written(specs: List[ParamSpec], ft: FunctionType, where: str) -> List[ParamSpec]:
    """`/* length_is(return) */` on an output buffer: the function returns how many of its
    elements it wrote, and only those are copied back (MIDL's length_is: the part transmitted)."""
    for s, p in zip(specs, ft.params):
        if "length_is(return)" not in p.annotations:
            continue
        pw = f"{where} parameter {s.name!r}"
        if p.annotations.count("length_is(return)") > 1:
            raise CDefError(f"{pw}: more than one /* length_is(return) */")
        if s.direction not in (OUT, INOUT) or s.byval or s.cstring:
            raise CDefError(f"{pw}: /* length_is(return) */ applies to buffers the function writes, not "
                            f"{s.type.spell()}")
        if not _is_int(ft.result):
            raise CDefError(f"{pw}: /* length_is(return) */ needs an integer result, not {ft.result.spell()}")
        specs[s.index] = _replace(s, length_is_return=True)
    return specs


def _link_sizes(specs: List[ParamSpec], ft: FunctionType, where: str) -> List[ParamSpec]:
    """`/* size_is(n) */` on a buffer: its element count is parameter n's value."""
    by_name = {s.name: s for s in specs}
    for s, p in zip(specs, ft.params):
        notes = [n for n in p.annotations if n.startswith("size_is(")]
        if not notes:
            continue
        pw = f"{where} parameter {s.name!r}"
        if len(notes) > 1:
            raise CDefError(f"{pw}: more than one /* size_is() */")
        target = notes[0][len("size_is("):-1]
        if not s.is_buffer or s.byval:
            raise CDefError(f"{pw}: /* {notes[0]} */ applies to pointer parameters, not {s.type.spell()}")
        if s.count is not None:
            raise CDefError(f"{pw}: /* {notes[0]} */ on an array of fixed size {s.count}")
        if s.cstring:
            raise CDefError(f"{pw}: /* {notes[0]} */ on a C string, whose length is its NUL")
        if s.length_param is not None:
            raise CDefError(f"{pw}: /* {notes[0]} */ but {s.length_param!r} is already its length")
        n = by_name.get(target)
        if n is None:
            raise CDefError(f"{pw}: /* {notes[0]} */ names no parameter {target!r}")
        if n.direction != VALUE or not _is_int(n.type):
            raise CDefError(f"{pw}: /* {notes[0]} */: {target!r} is not an integer parameter")
        specs[s.index] = _replace(s, size_is=target)
    return specs
