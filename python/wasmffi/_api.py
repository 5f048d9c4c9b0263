"""Module, Instance and Exports: the Python-side shape of the API. Nothing here is on a call path:
`inst.exports.NAME` returns the compiled callable once and caches it."""

from __future__ import annotations

import inspect
import os
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from . import _core
from ._types import ExternInfo, extern_info

_default_engine: Optional[_core.Engine] = None


def default_engine() -> _core.Engine:
    """The process-wide Engine used when none is given (4 GiB reservation, memories never move)."""
    global _default_engine
    if _default_engine is None:
        _default_engine = _core.Engine()
    return _default_engine


def _signature(params: Tuple[str, ...], results: Tuple[str, ...]) -> inspect.Signature:
    """inspect.signature() for a wasm function: positional-only p0..pN annotated with wasm types."""
    kind = inspect.Parameter.POSITIONAL_ONLY
    ps = [inspect.Parameter(f"p{i}", kind, annotation=t) for i, t in enumerate(params)]
    ret = None if not results else results[0] if len(results) == 1 else tuple(results)
    return inspect.Signature(ps, return_annotation=ret)


def _looks_like_wat(raw: bytes) -> bool:
    """Text modules start, after white space, with "(" or a ";;" / "(;" comment."""
    head = raw.lstrip()[:2]
    if not (head[:1] == b"(" or head == b";;"):
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class Module:
    """A compiled WebAssembly module: immutable, compiled once per Engine, cheap to instantiate."""

    __slots__ = ("_m", "engine", "_imports", "_exports")

    def __init__(self, data: Union[bytes, bytearray, memoryview, str], *, engine: Optional[_core.Engine] = None):
        self.engine = engine or default_engine()
        if isinstance(data, str):
            self._m = _core._Module.from_wat(self.engine, data)
        elif isinstance(data, (bytes, bytearray, memoryview)):
            raw = bytes(data)
            if _looks_like_wat(raw):
                self._m = _core._Module.from_wat(self.engine, raw.decode("utf-8"))
            else:
                # Binary, or neither: the engine names the problem ("magic header not detected").
                self._m = _core._Module.compile(self.engine, raw)
        else:
            raise TypeError(f"Module() takes wasm bytes or WAT text, not {type(data).__name__}")
        self._imports = tuple(extern_info(t) for t in self._m.imports)
        self._exports = tuple(extern_info(t) for t in self._m.exports)

    @classmethod
    def from_file(cls, path: Union[str, os.PathLike[str]], *, engine: Optional[_core.Engine] = None) -> "Module":
        """Loads a .wasm (binary) or .wat (text) file."""
        with open(path, "rb") as f:
            return cls(f.read(), engine=engine)

    @property
    def imports(self) -> tuple[ExternInfo, ...]:
        return self._imports

    @property
    def exports(self) -> tuple[ExternInfo, ...]:
        return self._exports

    def instantiate(self, imports: Optional[object] = None) -> "Instance":
        return Instance(self, imports)

    def __repr__(self) -> str:
        return f"<wasmffi.Module {len(self._exports)} exports, {len(self._imports)} imports>"


class Exports:
    """`inst.exports.NAME` / `inst.exports["NAME"]`: callables and objects bound to their store."""

    __slots__ = ("_inst", "_cache")

    def __init__(self, inst: "_core._Instance") -> None:
        self._inst = inst
        self._cache: Dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        try:
            return self._cache[name]
        except KeyError:
            pass
        if not isinstance(name, str):
            raise TypeError(f"export names are str, not {type(name).__name__}")
        obj = self._inst.export(name)
        if obj is None:
            raise KeyError(f"no export named {name!r}; exports are: {', '.join(self._names()) or '(none)'}")
        self._cache[name] = obj
        return obj

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(e.args[0]) from None

    def _names(self) -> List[str]:
        return self._inst.export_names()

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __dir__(self) -> List[str]:
        return self._names()

    def __repr__(self) -> str:
        return f"<wasmffi.Exports {', '.join(self._names())}>"


class Instance:
    """A module instantiated in its own store. Exports stay bound to that store: no store argument."""

    __slots__ = ("module", "_i", "exports", "__weakref__")

    def __init__(self, module: Module, imports: Optional[object] = None) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"Instance() takes a wasmffi.Module, not {type(module).__name__}")
        if imports:
            from ._errors import LinkError

            raise LinkError("imports of Python callables are not supported yet; the module needs: "
                            + ", ".join(str(i) for i in module.imports))
        self.module = module
        self._i = _core._Instance(module._m)
        self.exports = Exports(self._i)

    @property
    def fuel(self) -> int:
        """Fuel left in this instance's store (engines made with consume_fuel=True). A new store
        has none: set it before calling, e.g. ``inst.fuel = 10_000_000``."""
        return self._i.fuel

    @fuel.setter
    def fuel(self, value: int) -> None:
        self._i.fuel = value

    def set_epoch_deadline(self, ticks: int) -> None:
        """Calls trap with wasmffi.Interrupt once the engine's epoch has advanced `ticks` past its
        current value (engines made with epoch_interruption=True; see Engine.increment_epoch)."""
        self._i.set_epoch_deadline(ticks)

    @property
    def memory(self) -> Optional[_core.Memory]:
        """The exported memory: the one named "memory", else the first exported memory, else None."""
        names = [e.name for e in self.module.exports if e.kind == "memory"]
        if not names:
            return None
        mem: _core.Memory = self.exports["memory" if "memory" in names else names[0]]
        return mem

    def __repr__(self) -> str:
        return f"<wasmffi.Instance of {self.module!r}>"


def load(source: Union[str, os.PathLike[str], bytes, bytearray, memoryview], imports: Optional[object] = None, *,
         engine: Optional[_core.Engine] = None) -> Instance:
    """Compiles and instantiates in one step. `source` is a path, wasm bytes, or WAT text.

    A str is a path if such a file exists, else WAT text.
    """
    if isinstance(source, os.PathLike) or (isinstance(source, str) and os.path.isfile(source)):
        module = Module.from_file(source, engine=engine)
    else:
        module = Module(source, engine=engine)
    return module.instantiate(imports)
