"""`python -m wasmffi stubgen FILE.wasm [--cdef SRC] -o OUT.pyi`: a typed Protocol for a guest module's `inst.exports` (not tools/stubgen.py, which writes the extension's _core.pyi)."""

from __future__ import annotations

import keyword
import os
import re
import sys
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple, Union

from ._types import ExternInfo, FuncType

if TYPE_CHECKING:
    from .cdef import CDef
    from .cdef._lower import FunctionSpec, ParamSpec

# wasm value types as Python sees them (u32/u64 appear where Func.typed declared them).
_WASM_PY = {"i32": "int", "i64": "int", "u32": "int", "u64": "int", "f32": "float", "f64": "float"}
_KINDS = {"memory": "wasmffi.Memory", "global": "wasmffi.Global"}


def protocol_name(path: Union[str, "os.PathLike[str]"]) -> str:
    """`arith.wasm` -> `ArithExports`, `cstr_libc.wasm` -> `CstrLibcExports`."""
    stem = os.path.splitext(os.path.basename(os.fspath(path)))[0]
    words = [w for w in re.split(r"[^0-9A-Za-z]+", stem) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Module"
    if name[0].isdigit():
        name = "M" + name
    return name + "Exports"


def _wasm_type(t: str) -> str:
    return _WASM_PY.get(t, "Any")  # v128 and references: no precise Python type promised


def _raw_func(name: str, ft: FuncType) -> List[str]:
    params = ", ".join(f"p{i}: {_wasm_type(t)}" for i, t in enumerate(ft.params))
    res = ft.results
    ret = "None" if not res else _wasm_type(res[0]) if len(res) == 1 else \
        f"tuple[{', '.join(_wasm_type(t) for t in res)}]"
    sep = ", /" if params else ""
    return [f"    def {name}(self{', ' if params else ''}{params}{sep}) -> {ret}: ..."]


def _scalar_py(t: object) -> str:
    from .cdef._model import FLOAT, Enum, Pointer, Primitive

    if isinstance(t, Enum):
        return "int"
    if isinstance(t, Pointer):
        return "int"
    if isinstance(t, Primitive):
        if t.kind == FLOAT:
            return "float"
        if t.is_integer:
            return "int"
    return "Any"  # single-scalar records by value: their struct class (no stub for it here)


def _param_py(p: "ParamSpec") -> str:
    """The Python type a declared parameter accepts (docs/cdef.md's rule for buffers)."""
    from .cdef._lower import IN, VALUE
    from .cdef._model import Struct

    if p.direction == VALUE:
        return _scalar_py(p.scalar if p.scalar is not None else p.type)
    if p.byval or isinstance(p.elem, Struct):
        return "Any"  # records: their struct class or bytes of its layout
    elem = _scalar_py(p.elem) if p.elem is not None else "int"
    if elem == "Any":
        elem = "int"  # void *: bytes only; a list of ints is then element-wise bytes
    kinds = ["Buffer", f"Sequence[{elem}]", "int"]
    if p.cstring:
        kinds.insert(0, "str")
    if p.direction != IN:
        kinds.append("wasmffi.cdef.Out")
        kinds.append("None")
    return " | ".join(kinds)


def _cdef_func(spec: "FunctionSpec") -> List[str]:
    from .cdef._lower import VALUE

    pos = [p for p in spec.params if not p.keyword_only]
    kw = [p for p in spec.params if p.keyword_only]
    parts = ["self"] + [f"{_ident(p.name, i)}: {_param_py(p)}" for i, p in enumerate(pos)]
    if kw:
        parts.append("*")
        parts += [f"{_ident(p.name, i)}: int | None = None" for i, p in enumerate(kw, len(pos))]
    r = spec.result
    if any(p.direction not in (VALUE, "in") for p in spec.params):
        ret = "Any"  # out/inout buffers passed as None come back after the result: a tuple
    elif r.kind == "void":
        ret = "None"
    elif r.kind == "value":
        ret = _scalar_py(r.scalar if r.scalar is not None else r.type)
    else:
        ret = "Any"  # sret: an instance of the record's struct class
    return [f"    def {spec.name}({', '.join(parts)}) -> {ret}:",
            f"        \"\"\"{spec.declaration.replace(chr(92), chr(92) * 2)}\"\"\"",
            "        ..."]


def _ident(name: str, i: int) -> str:
    return name if name.isidentifier() and not keyword.iskeyword(name) else f"p{i}"


def generate(exports: Sequence[ExternInfo], name: str, source: str, cdef: Optional["CDef"] = None,
             is64: bool = False) -> str:
    """The text of a .pyi with Protocol `name` for `exports` (declared functions from `cdef`
    replace the raw wasm signature of the export they name)."""
    from .cdef import target_for_memory

    declared = {}
    if cdef is not None:
        target = target_for_memory(is64)
        declared = {fn: cdef.lower(fn, target) for fn in cdef.functions}
    body: List[str] = []
    skipped: List[str] = []
    for e in exports:
        if not e.name.isidentifier() or keyword.iskeyword(e.name) or e.name.startswith("__"):
            skipped.append(f"{e.name!r} ({e.kind}): not a Python identifier, use inst.exports[{e.name!r}]")
            continue
        if e.kind == "func" and e.name in declared:
            spec = declared[e.name]
            if isinstance(e.type, FuncType):
                spec.check(e.type, export_name=e.name)  # a wrong cdef fails here, as at instantiation
            body += _cdef_func(spec)
        elif e.kind == "func" and isinstance(e.type, FuncType):
            body += _raw_func(e.name, e.type)
        elif e.kind in _KINDS:
            body += ["    @property", f"    def {e.name}(self) -> {_KINDS[e.kind]}: ..."]
        else:
            # Tables (and other kinds) raise TypeError on access today: declaring them would lie.
            skipped.append(f"{e.name!r} ({e.kind} {e.text}): not usable from Python")
    missing = sorted(set(declared) - {e.name for e in exports})
    if missing:
        from .cdef import CDefError

        raise CDefError(f"stubgen: declared function(s) {', '.join(missing)} not exported by {source}")
    lines = [
        f'"""Typed exports of {source}: generated by `python -m wasmffi stubgen`; do not edit."""',
        "",
        "from collections.abc import Sequence",
        "from typing import Any, Protocol",
        "",
        "from typing_extensions import Buffer",
        "",
        "import wasmffi",
        "import wasmffi.cdef",
        "",
        "__all__ = [" + repr(name).replace("'", '"') + "]",
        "",
        "",
        f"class {name}(Protocol):",
        f'    """`inst.exports` of {source}'
        + (" instantiated with its cdef" if cdef is not None else "")
        + ": use as cast(" + repr(name).replace("'", '"') + ', inst.exports)."""',
        "",
    ]
    for s in skipped:
        lines.append(f"    # skipped {s}")
    lines += body or ["    pass"]
    text = "\n".join(lines) + "\n"
    # Names only some stubs use: drop unused imports so the stub stays clean under linters.
    for imp, used in (("from collections.abc import Sequence\n", "Sequence["),
                      ("from typing_extensions import Buffer\n\n", "Buffer"),
                      ("import wasmffi.cdef\n", "wasmffi.cdef.")):
        if used not in text.replace(imp, ""):
            text = text.replace(imp, "")
    return text


def main(path: str, output: str, cdef_path: Optional[str] = None, name: Optional[str] = None) -> int:
    """The `stubgen` subcommand; returns the exit status (errors are one line on stderr)."""
    from . import Error, Module
    from .cdef import CDef
    from ._types import MemoryType

    who = "wasmffi stubgen"
    try:
        module = Module.from_file(path)
    except OSError as e:
        print(f"{who}: error: cannot read {path}: {e.strerror or e}", file=sys.stderr)
        return 1
    except (Error, ValueError, TypeError) as e:
        print(f"{who}: error: {path} is not a valid WebAssembly module: {' '.join(str(e).split())}",
              file=sys.stderr)
        return 1
    cdef = None
    if cdef_path is not None:
        try:
            with open(cdef_path, encoding="utf-8") as f:
                cdef = CDef(f.read())
        except OSError as e:
            print(f"{who}: error: cannot read --cdef {cdef_path}: {e.strerror or e}", file=sys.stderr)
            return 1
        except Error as e:
            print(f"{who}: error: --cdef {cdef_path}: {' '.join(str(e).split())}", file=sys.stderr)
            return 1
    if name is not None and (not name.isidentifier() or keyword.iskeyword(name)):
        print(f"{who}: error: --name {name!r} is not a Python identifier", file=sys.stderr)
        return 2
    mems = {e.name: e.type for e in module.exports if e.kind == "memory"}
    mt = mems.get("memory", next(iter(mems.values()), None))
    is64 = isinstance(mt, MemoryType) and mt.is64
    try:
        text = generate(module.exports, name or protocol_name(path), os.path.basename(path), cdef, is64)
    except Error as e:
        print(f"{who}: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    try:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        print(f"{who}: error: cannot write {output}: {e.strerror or e}", file=sys.stderr)
        return 1
    print(f"wrote {output}")
    return 0
