"""wasmffi.Linker: imports defined by module and name, and instances linked into one another in one store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from . import _core
from ._errors import LinkError
from ._imports import WASI_MODULE, Caller, ImportEntry, declared_entry, unresolved_error, with_caller

if TYPE_CHECKING:
    from ._api import Instance, Module
    from ._wasi import Wasi
    from .cdef import CDef


class Linker:
    """Defines imports by (module, name) and instantiates modules against them. Every instance a
    Linker makes lives in one store, so one instance's exports (functions, memories, globals,
    tables) can satisfy another's imports: ``linker.define_instance("lib", lib_inst)``.

    ``Linker(engine=None, *, wasi=None, cdef=None)``; ``define(module, name, callable)``;
    ``define_instance(module, inst)``; ``instantiate(module, trap_unresolved=False, cdef=None)``. Unresolved
    imports raise LinkError listing each with its type, or with ``trap_unresolved=True`` an
    unresolved *function* import becomes a stub that raises LinkError when the guest calls it.
    ``wasi`` (a wasmffi.Wasi) provides the wasi_snapshot_preview1 imports nothing defines, for
    every instance: they share its one WASI context (arguments, environment, preopens, stdio), as
    they share the store. ``imports=`` and ``wasi=`` on load()/instantiate() are the same
    resolution for a single instance in a store of its own.

    ``cdef`` (C declarations, str or wasmffi.CDef) declares the C types of the Python host
    functions defined here: an import a module makes under a declared name calls its callable with
    C-typed arguments and checks its result, as ``imports=`` with ``cdef=`` does. The same keyword
    on instantiate() also binds that instance's declared exports (as load(cdef=) does), and its
    declarations come first for that instance's imports.
    """

    def __init__(self, engine: Optional[_core.Engine] = None, *, wasi: "Optional[Wasi]" = None,
                 cdef: "Optional[str | CDef]" = None):
        from ._engines import default_engine
        from ._marshal import _as_cdef
        from ._wasi import Wasi

        if wasi is not None and not isinstance(wasi, Wasi):
            raise TypeError(f"Linker() argument 'wasi' must be a wasmffi.Wasi or None, not {type(wasi).__name__}")
        self._cdef = None if cdef is None else _as_cdef(cdef)
        self._wasi = wasi
        self._engine = engine or default_engine()
        self._defs: Dict[Tuple[str, str], Any] = {}
        # The first instance's core object: the store every other one joins.
        self._store_of: Optional[_core._Instance] = None

    @property
    def engine(self) -> _core.Engine:
        return self._engine

    def _check_free(self, module: str, name: str) -> None:
        if not isinstance(module, str) or not isinstance(name, str):
            raise TypeError("Linker.define(): module and name must be str")
        if (module, name) in self._defs:
            raise ValueError(f"Linker.define(): {module}.{name} is already defined")

    def define(self, module: str, name: str, value: Callable[..., Any] | with_caller) -> None:
        """Defines import `module`.`name` as a Python callable (or ``wasmffi.with_caller(fn)``)."""
        self._check_free(module, name)
        if not (callable(value) or isinstance(value, with_caller)):
            raise TypeError(f"Linker.define(): {module}.{name} must be callable, not {type(value).__name__}")
        self._defs[(module, name)] = value

    def define_instance(self, module: str, instance: Instance) -> None:
        """Defines every export of `instance` (made by this Linker) as import `module`.<export name>."""
        from ._api import Instance

        if not isinstance(instance, Instance):
            raise TypeError(f"Linker.define_instance(): expected a wasmffi.Instance, not {type(instance).__name__}")
        if self._store_of is None or not getattr(instance, "_linker_store", None) is self._store_of:
            raise ValueError("Linker.define_instance(): the instance was not made by this Linker (instances "
                             "linked together must live in one store: make it with linker.instantiate())")
        for exp in instance.module.exports:
            self._check_free(module, exp.name)
        for exp in instance.module.exports:
            self._defs[(module, exp.name)] = ("export", instance._i, exp.name)

    def instantiate(self, module: Module, *, trap_unresolved: bool = False,
                    cdef: "Optional[str | CDef]" = None) -> Instance:
        """A new Instance of `module` in this Linker's store, its imports taken from the definitions.
        With `cdef`, its declared exports are bound (instance.exports) and its declared imports
        converted, as load(cdef=) does; the Linker's own cdef declares the imports it leaves out."""
        from ._api import Instance, Module
        from ._marshal import _as_cdef

        own = None if cdef is None else _as_cdef(cdef)
        if not isinstance(module, Module):
            raise TypeError(f"Linker.instantiate() takes a wasmffi.Module, not {type(module).__name__}")
        if module.engine is not self._engine:
            raise ValueError("Linker.instantiate(): the module was compiled for another engine than the linker's")
        # A tuple entry is ("export", core instance, name): another instance's export in this store.
        entries: List[ImportEntry | Tuple[str, _core._Instance, str]] = []
        missing = []
        caller: Optional[Caller] = None
        for imp in module.imports:
            value = self._defs.get((imp.module, imp.name))
            qualified = f"{imp.module}.{imp.name}"
            if value is None and self._wasi is not None and imp.module == WASI_MODULE:
                entries.append(None)  # provided by WASI (the engine checks the name and type)
                continue
            if value is None:
                if trap_unresolved and imp.kind == "func":
                    value = _unresolved_stub(qualified, imp.text)
                else:
                    missing.append(imp)
                    entries.append(None)
                    continue
            if isinstance(value, tuple):
                entries.append(value)
                continue
            if imp.kind != "func":
                raise LinkError(f"Linker.instantiate(): {qualified} is a {imp.kind} ({imp.text}) but is defined "
                                f"as a Python callable")
            first: Optional[Caller] = None
            if isinstance(value, with_caller):
                caller = caller or Caller(module)
                first, value = caller, value.func
            cd = own if own is not None and imp.name in own.functions else self._cdef
            if cd is not None and imp.name in cd.functions:
                entries.append(declared_entry(module, cd, imp, value, first, qualified))
                continue
            entries.append((value, first, qualified))
        if missing:
            raise unresolved_error("Linker.instantiate()", missing)
        wasi = self._wasi
        core = _core._Instance(module._m, entries if module.imports else None, wasi,
                               None if wasi is None else wasi._capture, store_of=self._store_of)
        if caller is not None:
            caller._bind(core)
        if self._store_of is None:
            self._store_of = core
        if own is None:
            inst = Instance._from_core(module, core)
        else:
            inst = Instance.__new__(Instance)
            inst._setup(module, core, own, "auto")
        object.__setattr__(inst, "_linker_store", self._store_of)
        return inst


def _unresolved_stub(qualified: str, text: str) -> Callable[..., Any]:
    def unresolved(*args: Any) -> Any:
        raise LinkError(f"unresolved import {qualified} ({text}) was called (Linker.instantiate(trap_unresolved=True))")
    return unresolved
