"""`python -m wasmffi inspect FILE`: a module's imports, exports, memories, globals, custom sections and allocator convention, as text."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple, Union

from ._types import ALLOCATOR_CONVENTIONS, ExternInfo, FuncType, GlobalType, MemoryType

if TYPE_CHECKING:
    from ._api import Module

WASM_MAGIC = b"\0asm"



def _leb_u32(data: bytes, pos: int, what: str) -> Tuple[int, int]:
    result = shift = 0
    for i in range(5):
        if pos >= len(data):
            raise ValueError(f"truncated {what} at byte {pos}")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
    raise ValueError(f"{what} at byte {pos - 5} is not a valid LEB128 u32")


def custom_sections(data: bytes) -> List[Tuple[str, int]]:
    """(name, size of the payload after the name) of each custom section (id 0) of a wasm binary,
    in order. ValueError when the section headers are malformed."""
    if data[:4] != WASM_MAGIC or len(data) < 8:
        raise ValueError("not a WebAssembly binary (no \\0asm header)")
    out: List[Tuple[str, int]] = []
    pos = 8
    while pos < len(data):
        sid = data[pos]
        size, body = _leb_u32(data, pos + 1, "section size")
        end = body + size
        if end > len(data):
            raise ValueError(f"section {sid} at byte {pos} runs past the end of the file ({size} bytes)")
        if sid == 0:
            n, name_at = _leb_u32(data, body, "custom section name length")
            if name_at + n > end:
                raise ValueError(f"custom section at byte {pos}: name runs past the section")
            name = data[name_at:name_at + n].decode("utf-8", errors="replace")
            out.append((name, end - name_at - n))
        pos = end
    return out


def _pointer_width(module: "Module") -> Tuple[str, Optional[str]]:
    """("i64" or "i32", the memory the core marshals through), from the module's memories."""
    memories = {e.name: e for e in module.exports if e.kind == "memory"}
    name = "memory" if "memory" in memories else next(iter(memories), None)
    mt = memories[name].type if name else None
    return ("i64" if isinstance(mt, MemoryType) and mt.is64 else "i32"), name


def allocator_report(module: "Module") -> List[str]:
    """Which allocator conventions the exports follow, checked on their types as the core checks
    them at instantiation, and what allocator="auto" would pick."""
    ptr, mem = _pointer_width(module)
    funcs: Dict[str, ExternInfo] = {e.name: e for e in module.exports}
    lines = [f"allocator convention ({ptr} pointers"
             + (f", memory {mem!r}" if mem else ", no exported memory: nothing to marshal through") + "):"]

    def shape_ok(e: Optional[ExternInfo], nparams: int, nresults: int) -> Optional[str]:
        if e is None:
            return "absent"
        if e.kind != "func" or not isinstance(e.type, FuncType):
            return f"a {e.kind}, not a function"
        p, r = e.type.params, e.type.results
        ok = (len(p) == nparams and len(r) == nresults and all(t in (ptr, "i32") for t in p)
              and all(t == ptr for t in r))
        return None if ok else f"has type {e.text}, not the allocator's"

    picked = None
    for kind, parts in ALLOCATOR_CONVENTIONS:
        problems = []
        extras = []
        for name, np, nr, required in parts:
            why = shape_ok(funcs.get(name), np, nr)
            if why is None:
                extras.append(f"{name} {funcs[name].text}")
            elif required or why != "absent":
                problems.append(f"{name} {why}")
        if not problems:
            lines.append(f"  {kind}: yes ({'; '.join(extras)})")
            picked = picked or kind
        else:
            lines.append(f"  {kind}: no ({'; '.join(problems)})")
    reset = shape_ok(funcs.get("bump_reset"), 0, 0)
    if funcs.get("bump_reset") is not None:
        lines.append(f"  bump_reset: {'yes' if reset is None else reset}")
    lines.append(f"  allocator=\"auto\" uses: {picked or 'none (int guest addresses only)'}"
                 + ("" if mem or not picked else "; but without an exported memory marshalling is unavailable"))
    return lines


def _memory_line(e: ExternInfo) -> str:
    t = e.type
    where = f"{e.module}.{e.name}" if e.module else e.name
    if not isinstance(t, MemoryType):
        return f"  {where}: {e.text}"
    maximum = "no max" if t.maximum is None else f"max {t.maximum} pages"
    return (f"  {where} ({'import' if e.module else 'export'}): min {t.minimum} pages, {maximum}, "
            f"{'64-bit' if t.is64 else '32-bit'}, {'shared' if t.shared else 'not shared'}, "
            f"page size {t.page_size} bytes")


def _global_line(e: ExternInfo) -> str:
    t = e.type
    where = f"{e.module}.{e.name}" if e.module else e.name
    if not isinstance(t, GlobalType):
        return f"  {where}: {e.text}"
    return f"  {where} ({'import' if e.module else 'export'}): {t.content}, {'mutable' if t.mutable else 'immutable'}"


def _section(title: str, lines: Sequence[str]) -> List[str]:
    return [f"{title}:", *(lines or ["  (none)"])]


def describe(path: Union[str, os.PathLike[str]]) -> List[str]:
    """Lines describing the module in `path` (.wasm or .wat). Raises OSError, ValueError or wasmffi.Error."""
    from . import Module

    with open(path, "rb") as f:
        data = f.read()
    module = Module.from_file(path)
    lines = [f"{os.fspath(path)}: {len(module.imports)} import(s), {len(module.exports)} export(s)"]
    for title, items in (("imports", module.imports), ("exports", module.exports)):
        lines += _section(title, [f"  {item}" for item in items])
    both = module.imports + module.exports
    lines += _section("memories (imported and exported)", [_memory_line(e) for e in both if e.kind == "memory"])
    lines += _section("globals (imported and exported)", [_global_line(e) for e in both if e.kind == "global"])
    if data[:4] == WASM_MAGIC:
        lines += _section("custom sections", [f"  {name}: {size} bytes" for name, size in custom_sections(data)])
    else:
        lines += ["custom sections:", "  (a text module: only a binary .wasm has custom sections to list)"]
    lines += allocator_report(module)
    return lines
