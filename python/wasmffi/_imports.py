"""imports=: maps {"module": {"name": callable}} onto a module's import list, and the Caller opt-in."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Callable, List, Mapping, Optional, Tuple

from ._errors import Error, LinkError

if TYPE_CHECKING:
    from ._api import Module
    from .cdef import CDef
    from ._core import Exports, Memory, _Instance

# One _core._Instance import entry: (callable, first argument or None, "module.name"), a declared
# import's longer tuple (DeclaredEntry, below); None when open.
ImportEntry = Optional[Tuple[Any, ...]]


class with_caller:
    """Marks a host function that wants the calling instance: ``imports={"env": {"log":
    wasmffi.with_caller(fn)}}`` calls ``fn(caller, *wasm_args)``, where ``caller.memory`` and
    ``caller.exports`` are the instance's. Functions without the mark get the wasm arguments only."""

    __slots__ = ("func",)

    def __init__(self, func: Callable[..., Any]):
        if not callable(func):
            raise TypeError(f"with_caller() takes a callable, not {type(func).__name__}")
        self.func = func

    def __repr__(self) -> str:
        return f"wasmffi.with_caller({self.func!r})"


class Caller:
    """The instance a host function was called from (the first argument of a ``with_caller``
    function). One object per instance, made at instantiation: it holds the instance weakly, so it
    adds nothing to a call and keeps nothing alive. During the module's start function the
    instance does not exist yet, and ``exports``/``memory`` raise wasmffi.Error."""

    __slots__ = ("_ref", "_module", "__weakref__")

    def __init__(self, module: Module) -> None:
        self._ref: Optional[weakref.ref[_Instance]] = None
        self._module = module

    def _bind(self, core_instance: _Instance) -> None:
        self._ref = weakref.ref(core_instance)

    def _core(self) -> _Instance:
        inst = self._ref() if self._ref is not None else None
        if inst is None:
            raise Error("Caller: the calling instance is not available (a host function called from the "
                        "module's start function runs before the instance exists)")
        return inst

    @property
    def exports(self) -> Exports:
        """The calling instance's exports (a wasmffi.Exports mapping)."""
        m = self._module
        return self._core().exports(m._export_names, m._export_name_set)

    @property
    def memory(self) -> Optional[Memory]:
        """The calling instance's exported memory (named "memory", else the first), or None."""
        name = self._module._memory_name
        return None if name is None else self.exports[name]

    def __repr__(self) -> str:
        return f"<wasmffi.Caller of {self._module!r}>"


WASI_MODULE = "wasi_snapshot_preview1"


def resolve(module: Module, imports: Optional[object], who: str = "instantiate()",
            wasi: bool = False, cdef: "Optional[CDef]" = None
            ) -> Tuple[Optional[List[ImportEntry]], Optional[Caller]]:
    """One entry per import of `module`, in order, for _core._Instance; plus the Caller to bind
    once the instance exists (or None). Every missing import is listed in one LinkError; with
    `wasi`, WASI preview 1 imports left open are None (the engine's WASI provides them). With
    `cdef` (a CDef), a function import whose name it declares is checked against the declaration
    and its callable called with C-typed values, its result checked by C type (see declared_entry())."""
    if not module.imports:
        return None, None
    if imports is None:
        imports = {}
    # `type(x) is dict` first: the Mapping ABC check costs ~0.1 us, per import for the groups.
    if not (type(imports) is dict or isinstance(imports, Mapping)):
        raise TypeError(f"{who}: imports must be a mapping {{module: {{name: value}}}}, not {type(imports).__name__}")
    entries: List[ImportEntry] = []
    missing = []
    caller: Optional[Caller] = None
    for imp in module.imports:
        mod, field, kind, itype, text = imp
        group = imports.get(mod)
        if group is not None and not (type(group) is dict or isinstance(group, Mapping)):
            raise TypeError(f"{who}: imports[{mod!r}] must be a mapping {{name: value}}, "
                            f"not {type(group).__name__}")
        value = None if group is None else group.get(field)
        if value is None:
            if not (wasi and mod == WASI_MODULE):
                missing.append(imp)
            entries.append(None)
            continue
        name = f"{mod}.{field}"
        if kind != "func":
            raise TypeError(f"{who}: import {name!r} is a {kind} ({text}); only function imports "
                            f"can be given so far")
        first: Optional[Caller] = None
        if isinstance(value, with_caller):
            caller = caller or Caller(module)
            first, value = caller, value.func
        elif not callable(value):
            raise TypeError(f"{who}: import {name!r} is a function {itype}: its value must be callable, "
                            f"not {type(value).__name__}")
        if cdef is not None and field in cdef.functions:
            entries.append(declared_entry(module, cdef, imp, value, first, name))
            continue
        entries.append((value, first, name))
    if missing:
        raise unresolved_error(who, missing)
    return entries, caller


def unresolved_error(who: str, missing: List[Any]) -> LinkError:
    """The one LinkError for imports left open: every one listed with its type."""
    lines = "\n".join(f"  {imp.module}.{imp.name}: {imp.kind} {imp.type}" for imp in missing)
    return LinkError(f"{who}: {len(missing)} import(s) unresolved:\n{lines}")


# Declared imports: the call plan in reverse. The plan (_marshal.build_plan, the same factory
# declared exports use) is checked and built here, once per import at instantiation; the core
# runs it on every call (src/python/host_plan.cpp) and calls the user's callable directly. The
# undeclared host functions keep the core's scalar fast path untouched.

# One declared import's _core._Instance entry: (callable, Caller or None, "module.name", DeclPlan,
# memory export name or None, the result's C type for messages).
DeclaredEntry = Tuple[Callable[..., Any], Optional[Caller], str, Any, Optional[str]]


def declared_entry(module: "Module", cd: "CDef", imp: Any, fn: Callable[..., Any], first: Optional[Caller],
                   name: str) -> DeclaredEntry:
    """The core entry for import `imp` declared in `cd`: the wasm type checked against the
    declaration, the plan built; `fn` is called with C-typed arguments (`first`, the Caller of
    with_caller, in front) and its result checked by the declared C type."""
    from .cdef import CDefError, target_for_memory
    from .cdef._lower import IN
    from ._marshal import build_plan
    from ._types import MemoryType

    mem_name = module._memory_name
    mem_type = None if mem_name is None else {e.name: e for e in module.exports}[mem_name].type
    is64 = isinstance(mem_type, MemoryType) and mem_type.is64
    target = target_for_memory(is64)
    spec = cd.lower(imp.name, target)
    got = (tuple(imp.type.params), tuple(imp.type.results))
    if got != (spec.wasm_params, spec.wasm_results):
        raise CDefError(f"declared `{spec.declaration}` lowers to {spec.wasm_text} on {target} but import "
                        f"`{name}` is {imp.type}")
    # What the core reads from the calling instance's memory: `const char *`, `const T *` with a
    # linked length (the length then travels in the bytes and is not passed) and structs passed by
    # value; a struct result is written there.
    reads = [repr(p.name) for p in spec.params if p.direction == IN and (p.byval or p.cstring or p.length_param is not None)]
    if reads and mem_name is None:
        raise LinkError(f"declared import `{spec.declaration}`: parameter {reads[0]} is read from guest "
                        f"memory, but the module exports no memory")
    if spec.result.kind == "sret" and mem_name is None:
        raise LinkError(f"declared import `{spec.declaration}`: its struct result is written to guest memory, "
                        f"but the module exports no memory")
    return (fn, first, name, build_plan(cd, spec), mem_name)
