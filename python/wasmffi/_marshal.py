"""Binds C declarations to an instance's exports: each declared function becomes a CFunc whose
plan (built here once, from cdef's FunctionSpec) the C++ core runs on every call."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Tuple, Union

from . import _core
from ._types import MemoryType
from .cdef import CDef, CDefError, Enum, Struct, target_for_memory
from .cdef._lower import IN, INOUT, OUT, VALUE, BYTES, FunctionSpec, unit_name as _unit

if TYPE_CHECKING:
    from ._api import Instance

def _as_cdef(cdef: Union[str, CDef]) -> CDef:
    if isinstance(cdef, CDef):
        return cdef
    if isinstance(cdef, str):
        return CDef(cdef)
    raise TypeError(f"cdef must be C declarations (str) or a wasmffi.CDef, not {type(cdef).__name__}")


def build_plan(cd: CDef, spec: FunctionSpec) -> "_core.DeclPlan":
    """The C++ plan of one lowered function, through the typed factory; both directions run it
    (a CFunc calling the export, a host function for a declared import)."""
    target = spec.target
    directions = {VALUE: _core.Dir.VALUE, IN: _core.Dir.IN, OUT: _core.Dir.OUT, INOUT: _core.Dir.INOUT}
    b = _core.PlanBuilder(spec.name, f"{spec.name}{spec.signature()}", len(spec.wasm_params),
                          len(spec.wasm_results), target.pointer_size == 8)
    index = {p.name: p.index for p in spec.params}
    for p in spec.params:
        if p.direction == VALUE:
            record = cd.pytype(p.type, target) if isinstance(p.type, Struct) else None
            enum = cd.pytype(p.type) if isinstance(p.type, Enum) else None
            b.value(p.py_name, p.type.spell(), _unit(p.code), p.wasm_index, p.wasm[0], record=record,
                    enum_class=enum)
        else:
            record = cd.pytype(p.elem, target) if isinstance(p.elem, Struct) else None
            b.buffer(p.py_name, p.type.spell(), directions[p.direction], _unit(p.elem_code), p.wasm_index,
                     p.elem_size, count=-1 if p.count is None else p.count, cstring=p.cstring, byval=p.byval,
                     record=record)
    for p in spec.params:
        if p.length_of is not None:
            b.link_length(p.index, index[p.length_of], p.length_unit == BYTES)
        if p.size_is is not None:
            b.size_is(p.index, index[p.size_is])
        if p.length_is_return:
            b.length_is_result(p.index)
    r = spec.result
    kinds = {"void": _core.ResultKind.VOID, "value": _core.ResultKind.VALUE, "sret": _core.ResultKind.SRET}
    record = enum = None
    size = r.size
    if isinstance(r.type, Struct):
        record, size = cd.pytype(r.type, target), cd.sizeof(r.type, target)
    elif isinstance(r.type, Enum):
        enum = cd.pytype(r.type)
    b.result(kinds[r.kind], unit=_unit(r.code), slot_type=r.wasm[0] if r.wasm else "i32", size=size,
             record=record, enum_class=enum, ctype="void" if r.kind == "void" else r.type.spell())
    return b.build()


def bind(instance: "Instance", cdef: Union[str, CDef]) -> CDef:
    """Replaces each declared function on `instance.exports` with its CFunc; the undeclared
    ones stay on `instance.raw_exports`. Every declaration is checked against its export first."""
    from ._errors import LinkError

    cd = _as_cdef(cdef)
    module = instance.module
    mem = module._memory_name
    kinds = {e.name: e for e in module.exports}
    mem_type = None if mem is None else kinds[mem].type
    target = target_for_memory(isinstance(mem_type, MemoryType) and mem_type.is64)
    raw = instance.raw_exports
    imported = {i.name for i in module.imports if i.kind == "func"}
    bound: List[Tuple[str, _core.CFunc]] = []
    for name in cd.functions:
        info = kinds.get(name)
        if (info is None or info.kind != "func") and name in imported:
            continue  # a declared import: bound at instantiation (_imports.resolve)
        if info is None or info.kind != "func":
            raise LinkError(f"cdef declares {cd.functions[name].spell(name)!s} but the module exports no "
                            f"function {name!r} (and imports none)")
        spec = cd.lower(name, target)
        func = raw[name]
        spec.check(func.type, export_name=name)
        bound.append((name, instance._i.cfunc(name, func, build_plan(cd, spec), spec)))
    for name, cf in bound:
        _core.exports_declare(instance.exports, name, cf)
    return cd
