"""imports=: maps {"module": {"name": callable}} onto a module's import list, and the Caller opt-in."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Callable, List, Mapping, Optional, Tuple

from ._errors import Error, LinkError

if TYPE_CHECKING:
    from ._api import Module
    from ._core import Exports, Memory, _Instance

# One _core._Instance import entry: (callable, first argument or None, "module.name"); None when open.
ImportEntry = Optional[Tuple[Callable[..., Any], Optional["Caller"], str]]


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
            wasi: bool = False) -> Tuple[Optional[List[ImportEntry]], Optional[Caller]]:
    """One entry per import of `module`, in order, for _core._Instance; plus the Caller to bind
    once the instance exists (or None). Every missing import is listed in one LinkError; with
    `wasi`, WASI preview 1 imports left open are None (the engine's WASI provides them)."""
    if not module.imports:
        return None, None
    if imports is None:
        imports = {}
    if not isinstance(imports, Mapping):
        raise TypeError(f"{who}: imports must be a mapping {{module: {{name: value}}}}, not {type(imports).__name__}")
    entries: List[ImportEntry] = []
    missing = []
    caller: Optional[Caller] = None
    for imp in module.imports:
        group = imports.get(imp.module)
        if group is not None and not isinstance(group, Mapping):
            raise TypeError(f"{who}: imports[{imp.module!r}] must be a mapping {{name: value}}, "
                            f"not {type(group).__name__}")
        value = None if group is None else group.get(imp.name)
        if value is None:
            if not (wasi and imp.module == WASI_MODULE):
                missing.append(imp)
            entries.append(None)
            continue
        name = f"{imp.module}.{imp.name}"
        if imp.kind != "func":
            raise TypeError(f"{who}: import {name!r} is a {imp.kind} ({imp.text}); only function imports "
                            f"can be given so far")
        first: Optional[Caller] = None
        if isinstance(value, with_caller):
            caller = caller or Caller(module)
            first, value = caller, value.func
        elif not callable(value):
            raise TypeError(f"{who}: import {name!r} is a function {imp.type}: its value must be callable, "
                            f"not {type(value).__name__}")
        entries.append((value, first, name))
    if missing:
        lines = "\n".join(f"  {imp.module}.{imp.name}: {imp.kind} {imp.type}" for imp in missing)
        raise LinkError(f"{who}: {len(missing)} import(s) unresolved:\n{lines}")
    return entries, caller
