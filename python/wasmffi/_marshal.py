"""Binds C declarations to an instance's exports: each declared function becomes a CFunc whose
plan (built here once, from cdef's FunctionSpec) the C++ core runs on every call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Tuple, Union

from . import _core
from ._types import MemoryType
from .cdef import CDef, CDefError, Enum, Struct, target_for_memory
from .cdef._lower import IN, INOUT, OUT, VALUE, BYTES, FunctionSpec
from .cdef._model import Out

if TYPE_CHECKING:
    from ._api import Instance

_DIRECTIONS = {VALUE: 0, IN: 1, OUT: 2, INOUT: 3}
# cdef's scalar codes name C types; the unit table spells C's int32_t/int64_t "int32"/"int64"
# ("i32"/"i64" are the wasm-level units, which accept the unsigned range too).
_UNITS = {"i32": "int32", "i64": "int64"}
_RESULT_KINDS = {"void": 0, "value": 1, "sret": 2}


def _unit(code: Optional[str]) -> Optional[str]:
    return None if code is None else _UNITS.get(code, code)


def _as_cdef(cdef: Union[str, CDef]) -> CDef:
    if isinstance(cdef, CDef):
        return cdef
    if isinstance(cdef, str):
        return CDef(cdef)
    raise TypeError(f"cdef must be C declarations (str) or a wasmffi.CDef, not {type(cdef).__name__}")


def describe(cd: CDef, spec: FunctionSpec) -> Tuple[Any, ...]:
    """The tuple _core's cfunc() reads: the call plan of one lowered function."""
    target = spec.target
    index = {p.name: p.index for p in spec.params}
    params: List[Tuple[Any, ...]] = []
    for p in spec.params:
        pyclass: Any = None
        if p.direction == VALUE:
            unit = _unit(p.code)
            if isinstance(p.type, Struct):
                pyclass = cd.pytype(p.type, target)
        else:
            unit = _unit(p.elem_code)
            if isinstance(p.elem, Struct):
                pyclass = cd.pytype(p.elem, target)
        params.append((
            p.py_name, p.type.spell(), _DIRECTIONS[p.direction], unit, p.wasm_index, p.wasm[0],
            p.elem_size, -1 if p.count is None else p.count, p.cstring, p.byval,
            -1 if p.length_param is None else index[p.length_param],
            -1 if p.length_of is None else index[p.length_of],
            p.length_unit == BYTES, p.keyword_only, pyclass,
            -1 if p.size_is is None else index[p.size_is],
        ))
    r = spec.result
    res_class: Any = None
    is_record, size = False, r.size
    if isinstance(r.type, Struct):
        res_class, is_record, size = cd.pytype(r.type, target), True, cd.sizeof(r.type, target)
    elif isinstance(r.type, Enum):
        res_class = cd.pytype(r.type)
    result = (_RESULT_KINDS[r.kind], _unit(r.code), r.wasm[0] if r.wasm else "i32", size, res_class, is_record)
    sig = str(spec.signature())
    return (spec.name, spec.declaration, f"{spec.name}{sig}", Out, tuple(params), result,
            len(spec.wasm_params), len(spec.wasm_results), spec)


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
        bound.append((name, instance._i.cfunc(name, func, describe(cd, spec))))
    for name, cf in bound:
        _core.exports_declare(instance.exports, name, cf)
    return cd
