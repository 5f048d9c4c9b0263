"""Module, Instance and load(): the Python-side shape of the API. Nothing here is on a call path:
`inst.exports` is the C type wasmffi.Exports, which resolves each export once and caches it."""

from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Optional, Union, cast

from . import _cache, _core, _imports
from ._engines import default_engine, engine_for, engine_options
from ._source import Source, compile_bytes, read_file, source_bytes, str_is_path
from ._wasi import Wasi
from ._types import ALLOCATOR_CONVENTIONS, ExternInfo, extern_info

if TYPE_CHECKING:
    from ._factory import InstanceFactory
    from ._scratch import Scratch
    from .cdef import CDef, TypeLike

# What cdef= accepts: C declarations as text, a parsed CDef, or None for none.
CDefSource = Union[str, "CDef", None]

def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class Module(_core._ModuleBase):
    """A compiled WebAssembly module: immutable, compiled once per Engine, cheap to instantiate,
    shareable between threads, and picklable (see docs/lifecycle.md).

    ``Module(source, *, engine=None, cache=False)``: `source` is a path (str or os.PathLike; a
    str ending in .wasm or .wat, or without "(", is a path), wasm bytes (bytes, bytearray,
    memoryview), or WAT text. A missing file raises FileNotFoundError; invalid wasm or WAT raises
    CompileError. `engine` defaults to default_engine(). With ``cache=True`` the compiled code
    comes from, or goes to, the on-disk cache in wasmffi.cache_dir(), keyed by the module's
    bytes, the engine's settings and the wasmtime version; an entry is only loaded after its
    keyed MAC proves this user wrote it, and any other file there is ignored and rewritten.
    """

    # _m, _export_names, _export_name_set and _plain_memory are fields of the C base, which
    # Module.instantiate's C path reads (src/python/instantiate_plain.cpp).
    __slots__ = ("_engine", "_imports", "_wasi_only", "_exports", "_memory_name", "_name", "_source", "_is_wat",
                 "__weakref__")
    # The slots' types (set once, through object.__setattr__, in _setup).
    _m: "_core._Module"
    _engine: _core.Engine
    _imports: tuple[ExternInfo, ...]
    _wasi_only: bool  # it has imports, all from wasi_snapshot_preview1
    _exports: tuple[ExternInfo, ...]
    _export_names: tuple[str, ...]
    _plain_memory: "Union[None, str, Literal[False]]"
    _export_name_set: frozenset[str]
    _memory_name: Optional[str]
    _name: Optional[str]
    # The bytes compiled (wasm, or WAT text as UTF-8): a pickle carries them so that a process
    # which cannot verify the artifact (another user's key, another machine) recompiles safely.
    _source: bytes
    _is_wat: bool

    def __init__(self, source: Source, *, engine: Optional[_core.Engine] = None, cache: bool = False) -> None:
        self._setup(source, engine, "Module()", cache)

    def _setup(self, source: Source, engine: Optional[_core.Engine], who: str, cache: bool = False) -> None:
        if engine is not None and not isinstance(engine, _core.Engine):
            raise TypeError(f"{who} argument 'engine' must be a wasmffi.Engine or None, not {type(engine).__name__}")
        if not isinstance(cache, bool):
            raise TypeError(f"{who} argument 'cache' must be True or False, not {type(cache).__name__}")
        engine = engine or default_engine()
        data, is_wat = source_bytes(source, who)
        is_path = isinstance(source, os.PathLike) or (isinstance(source, str) and str_is_path(source))
        # is_path holds only for str and os.PathLike sources, which the cast says for mypy.
        name = (os.path.basename(os.fspath(cast("Union[str, os.PathLike[str]]", source)))
                if is_path else None)
        self._init_from(compile_bytes(data, is_wat, engine, cache), engine, data, is_wat, name)

    def _init_from(self, m: "_core._Module", engine: _core.Engine, data: bytes, is_wat: bool,
                   name: Optional[str]) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "_engine", engine)
        setattr_(self, "_m", m)
        setattr_(self, "_source", data)
        setattr_(self, "_is_wat", is_wat)
        setattr_(self, "_name", name)
        imports = tuple(extern_info(t) for t in m.imports)
        setattr_(self, "_imports", imports)
        setattr_(self, "_wasi_only", bool(imports) and all(i.module == _imports.WASI_MODULE for i in imports))
        exports = tuple(extern_info(t) for t in m.exports)
        setattr_(self, "_exports", exports)
        # Shared by every instance's Exports mapping: computed once here, not per instance.
        names = tuple(e.name for e in exports)
        name_set = frozenset(names)
        setattr_(self, "_export_names", names)
        setattr_(self, "_export_name_set", name_set)
        memories = [e.name for e in exports if e.kind == "memory"]
        memory_name = "memory" if "memory" in memories else memories[0] if memories else None
        setattr_(self, "_memory_name", memory_name)
        # For module.instantiate()'s plain case, done in C (_core._Instantiate): None (no
        # allocator for "auto" to bind) or the memory the allocator copies into; False when that
        # case is not plain (imports to resolve, or allocator exports without a memory), and the
        # Python method runs instead.
        allocator_free = name_set.isdisjoint(_ALLOCATOR_EXPORTS)
        plain: "Union[None, str, Literal[False]]" = None if allocator_free else memory_name
        if m.imports or (not allocator_free and memory_name is None):
            plain = False
        setattr_(self, "_plain_memory", plain)

    @classmethod
    def from_file(cls, path: Union[str, "os.PathLike[str]"], *, engine: Optional[_core.Engine] = None,
                  cache: bool = False) -> "Module":
        """Loads a .wasm (binary) or .wat (text) file, whatever its name; the content decides.
        `cache` as for Module()."""
        self = cls.__new__(cls)
        self._setup(read_file(path, "Module.from_file()"), engine, "Module.from_file()", cache)
        object.__setattr__(self, "_name", os.path.basename(os.fspath(path)))
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as the module's bytes plus its compiled artifact and that artifact's MAC under
        this user's key; unpickling deserializes only what verifies with the local key and
        otherwise recompiles from the bytes (see _unpickle_module)."""
        artifact: Optional[bytes] = None
        tag: Optional[bytes] = None
        key = _cache.secret()
        if key is not None:
            artifact = self._m.serialize()
            tag = _cache.mac(self._cache_key(), key, artifact)
        engine_opts = None if self._engine is default_engine() else engine_options(self._engine)
        return (_unpickle_module, (1, self._source, self._is_wat, engine_opts, self._name, artifact, tag))

    def _cache_key(self) -> bytes:
        return _cache.module_key_for(self._source, self._is_wat, self._engine)

    def factory(self, **instantiate_kwargs: Any) -> "InstanceFactory":
        """A picklable callable that returns ``self.instantiate(**instantiate_kwargs)`` each time
        it is called: what to ship to worker processes (ProcessPoolExecutor, multiprocessing,
        Dask) to get instances there. Imports must be module-level functions to be picklable."""
        from ._factory import InstanceFactory

        return InstanceFactory(self, **instantiate_kwargs)

    @property
    def engine(self) -> _core.Engine:
        """The Engine this module was compiled for; its instances run there."""
        return self._engine

    @property
    def imports(self) -> tuple[ExternInfo, ...]:
        """What the module needs, in order: ExternInfo(module, name, kind, type, text) per import."""
        return self._imports

    @property
    def exports(self) -> tuple[ExternInfo, ...]:
        """What the module provides, in order: ExternInfo(module="", name, kind, type, text) per
        export, e.g. ``add: func (i32, i32) -> i32``. The usable objects are on an Instance."""
        return self._exports

    def instantiate(self, imports: Optional[object] = None, *, cdef: "CDefSource" = None,
                    allocator: Optional[str] = "auto", wasi: "Optional[Wasi]" = None,
                    timeout: Optional[float] = None, fuel: Optional[int] = None, max_memory: Optional[int] = None,
                    max_table_elements: Optional[int] = None, max_instances: Optional[int] = None,
                    max_tables: Optional[int] = None, max_memories: Optional[int] = None,
                    release_gil: bool = False) -> "Instance":
        """A new Instance in a store of its own (its own memory and globals). `imports` maps
        ``{"module": {"name": callable}}`` for the module's function imports (types come from the
        module's declarations; see wasmffi.with_caller); anything missing raises LinkError listing
        every unresolved import with its type. `wasi` (a wasmffi.Wasi) provides the module's
        wasi_snapshot_preview1 imports that `imports` does not.

        `cdef` (C declarations as str, or a wasmffi.CDef) makes each declared function a typed
        callable on ``inst.exports`` (the undeclared ones stay on ``inst.raw_exports``).
        `allocator` picks the guest allocator marshalling copies into: "auto" (bump_alloc, then
        malloc/free, then cabi_realloc), one of those names, or None (int addresses only).

        Sandbox limits, per instance (its store): `timeout` (seconds) stops any call that runs
        longer with wasmffi.Interrupt (within 1.5 x timeout; checked every 10 ms, and at the
        deadline itself for timeouts under 20 ms); `fuel` is the fuel the store starts
        with (engines made with consume_fuel=True; wasmffi.OutOfFuel when it runs out);
        `max_memory` (bytes, per linear memory), `max_table_elements`, `max_instances`,
        `max_tables`, `max_memories` cap growth: a memory.grow past max_memory returns -1 in the
        guest. Ctrl-C stops a long call with KeyboardInterrupt whatever is set here.

        `release_gil=True` makes every call of this instance release the GIL, so other Python
        threads run meanwhile (worth it for calls of more than a few microseconds; not with
        Python host functions). Another thread calling into the same instance meanwhile gets
        wasmffi.StoreInUseError: use one instance per thread (wasmffi.Pool)."""
        return Instance(self, imports, cdef=cdef, allocator=allocator, wasi=wasi, timeout=timeout, fuel=fuel,
                        max_memory=max_memory, max_table_elements=max_table_elements, max_instances=max_instances,
                        max_tables=max_tables, max_memories=max_memories, release_gil=release_gil)

    if not TYPE_CHECKING:
        # module.instantiate() with no argument but store options (timeout, fuel, max_*,
        # release_gil), on a module without imports, is built in one C call (src/python/
        # instance.cpp, "Module.instantiate: the plain case in C"); every other call runs the
        # method above. inspect.signature and help() see the method above.
        instantiate = _core._Instantiate(instantiate)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Module attributes are read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Module attributes are read-only: cannot delete {name!r}")

    def __repr__(self) -> str:
        name = f"{self._name}: " if self._name else ""
        return (f"<wasmffi.Module {name}{_plural(len(self._exports), 'export')}, "
                f"{_plural(len(self._imports), 'import')}>")


_unpickled: "weakref.WeakValueDictionary[bytes, Module]" = weakref.WeakValueDictionary()
_unpickle_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # A thread of the parent may have held the lock at fork(); the child has no such thread.
    global _unpickle_lock
    _unpickle_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _unpickle_module(version: int, source: bytes, is_wat: bool, engine_opts: Optional[dict[str, Any]],
                     name: Optional[str], artifact: Optional[bytes], tag: Optional[bytes]) -> Module:
    """Rebuilds a pickled Module. The artifact is deserialized only if its MAC verifies under
    this user's key (we made it, for these bytes and this engine); anything else, say a pickle
    from another machine, is compiled from `source`. A module unpickled before in this process
    and still alive is reused, so a worker receiving it with every task compiles it once."""
    if version != 1:
        raise ValueError(f"wasmffi.Module pickle: unknown format version {version!r} (from a newer wasmffi?)")
    engine = engine_for(engine_opts)
    key = _cache.module_key_for(source, is_wat, engine)
    found = _unpickled.get(key)
    if found is not None:
        return found
    m = None
    if artifact is not None and tag is not None:
        secret = _cache.secret()
        if secret is not None:
            m = _cache.deserialize_verified(engine, key, artifact, tag, secret)
    if m is None:
        m = compile_bytes(source, is_wat, engine, cache=False)
        _cache.stats["unpickle_compiled"] += 1
    else:
        _cache.stats["unpickle_verified"] += 1
    module = Module.__new__(Module)
    module._init_from(m, engine, source, is_wat, name)
    with _unpickle_lock:
        return _unpickled.setdefault(key, module)


class Instance(_core._InstanceBase):
    """A module instantiated in its own store: ``inst.exports.NAME`` (or ``inst.exports["NAME"]``)
    are callables and objects bound to that store, so no call takes a store argument.
    ``inst.module``, ``inst.exports`` and ``inst.memory`` are read-only; ``inst.fuel`` is settable."""

    # module, _i, exports, raw_exports and cdef are fields of the C base, which Module.instantiate's
    # C path fills (src/python/instantiate_plain.cpp). `exports` is read through its member
    # descriptor: `inst.exports.add(1, 2)` is the idiom users write, and a property would add a
    # Python-level call to every such call.
    __slots__ = ("_linker_store", "__weakref__")
    module: Module
    _i: "_core._Instance"
    exports: _core.Exports
    raw_exports: _core.Exports
    cdef: "Optional[CDef]"

    def __init__(self, module: Module, imports: Optional[object] = None, *, cdef: "CDefSource" = None,
                 allocator: Optional[str] = "auto", wasi: "Optional[Wasi]" = None,
                 timeout: Optional[float] = None, fuel: Optional[int] = None, max_memory: Optional[int] = None,
                 max_table_elements: Optional[int] = None, max_instances: Optional[int] = None,
                 max_tables: Optional[int] = None, max_memories: Optional[int] = None,
                 release_gil: bool = False) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"Instance() takes a wasmffi.Module, not {type(module).__name__}")
        if cdef is not None:
            from . import _marshal

            cdef = _marshal._as_cdef(cdef)  # parsed once: it declares imports and exports
        store = (_NO_STORE_OPTIONS if timeout is None and fuel is None and max_memory is None
                 and max_table_elements is None and max_instances is None and max_tables is None
                 and max_memories is None and release_gil is False
                 else _StoreOptions(timeout, fuel, (max_memory, max_table_elements, max_instances, max_tables,
                                                    max_memories), release_gil))
        self._setup(module, _instantiate_with_imports(module, imports, wasi, cdef, store), cdef, allocator)

    @classmethod
    def _from_core(cls, module: Module, inst: "_core._Instance") -> "Instance":
        """Wraps a core instance made elsewhere (wasmffi.Linker)."""
        self = cls.__new__(cls)
        self._setup(module, inst, None, "auto")
        return self

    def _setup(self, module: Module, inst: "_core._Instance", cdef: "CDefSource",
               allocator: Optional[str]) -> None:
        # The slots are written through their member descriptors (_SET_*, below the class): a
        # fifth of object.__setattr__'s cost, which looks the name up in the type each time; this
        # runs once per instance, on the path a sandbox per request pays.
        _SET_MODULE(self, module)
        _SET_I(self, inst)
        exports = inst.exports(module._export_names, module._export_name_set)
        _SET_EXPORTS(self, exports)
        # Without a cdef both names are the same mapping; with one, `exports` holds the declared
        # functions and `raw_exports` the wasm-typed ones (a separate name, so that an export
        # called "raw" cannot collide with it).
        _SET_RAW_EXPORTS(self, exports)
        _SET_CDEF(self, None)
        if allocator is not None and not isinstance(allocator, str):
            raise TypeError(f"allocator must be 'auto', 'bump', 'malloc', 'cabi_realloc' or None, "
                            f"not {type(allocator).__name__}")
        if allocator is None or (allocator == "auto" and module._export_name_set.isdisjoint(_ALLOCATOR_EXPORTS)):
            # "auto" finds nothing in a module that exports none of the names it probes: known
            # from the module's names, without the per-instance lookups (about 0.1 us).
            allocator = "none"
            if cdef is None:
                return  # nothing to marshal through: the core instance starts with no allocator
        inst.bind_marshalling(allocator, module._memory_name)
        if cdef is not None:
            from . import _marshal

            _SET_RAW_EXPORTS(self, inst.exports(module._export_names, module._export_name_set))
            _SET_CDEF(self, _marshal.bind(self, cdef))

    @property
    def allocator(self) -> str:
        """The guest allocator declared functions and scratch() use: "bump", "malloc",
        "cabi_realloc" or "none"."""
        return self._i.allocator

    # Reading what a pointer result points at (Python-level helpers: not on a call path). -------
    def string_at(self, addr: int, max_len: Optional[int] = None) -> bytes:
        """The C string at guest address `addr`, without its NUL (bytes: decode as you need).
        MemoryAccessError if no NUL comes before the end of memory (or within `max_len` bytes)."""
        import operator

        from ._errors import MemoryAccessError

        mem = self._memory_for("string_at")
        addr, size = operator.index(addr), len(mem)
        # A pointer a guest returned may be anything: say where it points before reading, not
        # "no NUL within -4294901744 bytes".
        if addr < 0:
            raise MemoryAccessError(f"string_at(): address {addr} is negative: guest addresses are unsigned")
        if addr >= size:
            raise MemoryAccessError(f"string_at(): address {addr:#x} is out of bounds of guest memory of "
                                    f"{size} bytes ({size:#x})")
        most = size - addr if max_len is None else operator.index(max_len)
        if most < 0:
            raise ValueError(f"string_at(): max_len must be >= 0, not {most}")
        to_end = most >= size - addr
        limit = min(most, size - addr)
        out, pos = bytearray(), addr
        while len(out) < limit:
            chunk = mem.read(pos, min(4096, limit - len(out)))
            nul = chunk.find(b"\0")
            if nul >= 0:
                return bytes(out + chunk[:nul])
            out += chunk
            pos += len(chunk)
        if to_end:
            raise MemoryAccessError(f"string_at(): no NUL from address {addr:#x} to the end of guest memory "
                                    f"({size:#x})")
        raise MemoryAccessError(f"string_at(): no NUL within {limit} bytes of address {addr:#x}")

    def array_at(self, addr: int, ctype: str, count: int) -> list[Any]:
        """`count` values of C scalar type `ctype` ("double", "uint32_t", "size_t", ...) at `addr`."""
        import struct as _struct

        from . import cdef as _cdef
        from .cdef._lower import scalar_code

        mem = self._memory_for("array_at")
        target = _cdef.target_for_memory(mem.is64)
        t = (self.cdef.type(ctype) if self.cdef is not None else _cdef._standard_names().type(ctype))
        code = scalar_code(t, target)
        # scalar_code names one of these or "ptr" (anything else it raises CDefError for).
        fmt = ("Q" if mem.is64 else "I") if code == "ptr" else {
            "i8": "b", "u8": "B", "i16": "h", "u16": "H", "i32": "i", "u32": "I", "i64": "q",
            "u64": "Q", "f32": "f", "f64": "d", "bool": "?"}[code]
        size = _struct.calcsize("<" + fmt)
        return list(_struct.unpack(f"<{count}{fmt}", mem.read(addr, count * size)))

    def struct_at(self, addr: int, ctype: "TypeLike") -> Any:
        """A copy of the struct at `addr`: `ctype` is a struct class or a declared type name."""
        mem = self._memory_for("struct_at")
        cls: Any = ctype
        if not isinstance(ctype, type):
            if self.cdef is None:
                raise TypeError("struct_at(): a type name needs the instance's cdef; pass the struct class")
            from . import cdef as _cdef

            cls = self.cdef.pytype(ctype, _cdef.target_for_memory(mem.is64))
        return cls.from_bytes(mem.read(addr, cls._size))

    def _memory_for(self, who: str) -> _core.Memory:
        mem = self.memory
        if mem is None:
            raise TypeError(f"{who}(): the module exports no memory")
        return mem

    def scratch(self, wipe: bool = True) -> "Scratch":
        """``with inst.scratch() as s:`` guest memory for a group of calls: ``s.alloc(n)``,
        ``s.copy(data)``, ``s.new("uint8_t[64]")`` give unsigned addresses; on exit everything
        handed out is zeroed (with wipe=True, the default) and released."""
        from ._scratch import Scratch

        return Scratch(self, wipe)

    @property
    def fuel(self) -> int:
        """Fuel left in this instance's store (engines made with consume_fuel=True; on any other
        engine reading or setting it raises wasmffi.Error naming the fix). A new store has none:
        set it before calling, e.g. ``inst.fuel = 10_000_000`` (an int in 0..2**64-1)."""
        return self._i.fuel

    @fuel.setter
    def fuel(self, value: int) -> None:
        self._i.fuel = value

    def cancel(self) -> bool:
        """Stops the call running in this instance, from any thread: it raises wasmffi.Cancelled
        (an Interrupt) within about one engine tick (10 ms), whether it runs wasm code or waits
        in a WASI sleep, poll or read of an inherited stdin. The instance stays usable; other
        instances, on the same engine too, keep running. Returns True if a call was running;
        False if none was, and then nothing happens (a later call is not affected).

        Only a call that lets other threads run can be reached: one that released the GIL
        (``release_gil=True``), one on the main thread, or one waiting in a host function or a
        blocking WASI call. Instances of one Linker share a store: this stops the call running
        in any of them."""
        return self._i.cancel()

    def canceller(self) -> "_core.Canceller":
        """A callable that does what ``cancel()`` does, for handing to another thread: it holds
        the instance weakly, so calling it after the instance is gone returns False."""
        return self._i.canceller()

    def set_epoch_deadline(self, ticks: int) -> None:
        """Calls trap with wasmffi.Interrupt once the engine's epoch has advanced `ticks` past its
        current value (engines made with epoch_interruption=True; see Engine.increment_epoch).

        A call traps at its first epoch check past the deadline: at a loop header, a bulk memory
        or table operation of more than a few bytes, or the entry of a function that can call. A
        function with none of these (straight-line code calling nothing) runs a bounded time and
        returns. A new store has no deadline; 0 means already due; 2**63 or more means never. On
        an engine without epoch_interruption this raises wasmffi.Error (a deadline there would
        never fire)."""
        self._i.set_epoch_deadline(ticks)

    @property
    def memory(self) -> Optional[_core.Memory]:
        """The exported memory: the one named "memory", else the first exported memory, else None."""
        name = self.module._memory_name
        return None if name is None else self.exports[name]

    def __setattr__(self, name: str, value: object) -> None:
        if name == "fuel":
            object.__setattr__(self, name, value)
            return
        raise AttributeError(f"Instance.{name} is read-only" if hasattr(Instance, name)
                             else f"Instance has no attribute {name!r} (and takes no new ones)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Instance attributes cannot be deleted: {name!r}")

    def __repr__(self) -> str:
        mem = self.memory
        pages = f"; memory {_plural(mem.pages, 'page')}" if mem is not None else ""
        return f"<wasmffi.Instance of {self.module!r}{pages}>"


# The exports allocator="auto" looks for first, one per convention (GuestAllocator::find).
_ALLOCATOR_EXPORTS = frozenset(parts[0][0] for _, parts in ALLOCATOR_CONVENTIONS)
_SET_MODULE: Any = _core._InstanceBase.__dict__["module"].__set__
_SET_I: Any = _core._InstanceBase.__dict__["_i"].__set__
_SET_EXPORTS: Any = _core._InstanceBase.__dict__["exports"].__set__
_SET_RAW_EXPORTS: Any = _core._InstanceBase.__dict__["raw_exports"].__set__
_SET_CDEF: Any = _core._InstanceBase.__dict__["cdef"].__set__
# Module.instantiate()'s plain case reads Module's fields and builds Instances in C, writing these
# same fields.
_core._register_types(Module, Instance)


class _StoreOptions(NamedTuple):
    """The per-instance options of instantiate(), passed to the core as they are (it checks them)."""

    timeout: Optional[float]
    fuel: Optional[int]
    limits: "tuple[Optional[int], ...]"
    release_gil: bool


_NO_STORE_OPTIONS = _StoreOptions(None, None, (None,) * 5, False)


def _instantiate_with_imports(module: Module, imports: Optional[object],
                              wasi: "Optional[Wasi]" = None, cdef: "Optional[CDef]" = None,
                              store: _StoreOptions = _NO_STORE_OPTIONS) -> "_core._Instance":
    """The store-owning core instance, with `imports` resolved against the module's import list
    (and WASI preview 1 for what they leave open, when `wasi` is given)."""
    entries: Any = None
    caller: Any = None
    # An import-free module with nothing to link is the per-instance hot path (a sandbox per
    # request): it skips resolve() (docs/design.md).
    if not (imports is None and wasi is None and cdef is None and not module._imports):
        if wasi is not None and not isinstance(wasi, Wasi):
            raise TypeError(f"instantiate(): wasi must be a wasmffi.Wasi, not {type(wasi).__name__}")
        # A module that imports only WASI, given only a Wasi: the engine's WASI linker resolves
        # every import (and names any it lacks), so resolve() would only list Nones (1.9 us).
        if not (wasi is not None and imports is None and cdef is None and module._wasi_only):
            entries, caller = _imports.resolve(module, imports, wasi=wasi is not None, cdef=cdef)
    if store is _NO_STORE_OPTIONS:
        # No per-instance option: positional arguments only (nanobind's keyword matching is the
        # slower path, and this is the one a sandbox per request pays).
        inst = (_core._Instance(module._m, entries) if wasi is None
                else _core._Instance(module._m, entries, wasi, wasi._capture))
    else:
        limits = None if all(v is None for v in store.limits) else store.limits
        inst = _core._Instance(module._m, entries, wasi, None if wasi is None else wasi._capture,
                               timeout=store.timeout, fuel=store.fuel, limits=limits,
                               release_gil=store.release_gil)
    if caller is not None:
        caller._bind(inst)
    return inst


def load(source: Source, imports: Optional[object] = None, *, engine: Optional[_core.Engine] = None,
         cdef: "CDefSource" = None, allocator: Optional[str] = "auto", wasi: "Optional[Wasi]" = None,
         timeout: Optional[float] = None, fuel: Optional[int] = None, max_memory: Optional[int] = None,
         max_table_elements: Optional[int] = None, max_instances: Optional[int] = None,
         max_tables: Optional[int] = None, max_memories: Optional[int] = None,
         release_gil: bool = False) -> Instance:
    """Compiles and instantiates in one step:
    ``Module(source, engine=engine).instantiate(imports, cdef=cdef, allocator=allocator, ...)``, with
    the same sandbox and threading keywords (timeout, fuel, max_memory, ..., release_gil).

    `source` is a path (str or os.PathLike), wasm bytes, or WAT text. A str is a path when it ends
    in .wasm or .wat, contains no "(", or names an existing file; a missing file raises
    FileNotFoundError, and a str that is neither a path nor WAT text raises ValueError.
    """
    module = Module.__new__(Module)
    module._setup(source, engine, "load()")
    return module.instantiate(imports, cdef=cdef, allocator=allocator, wasi=wasi, timeout=timeout, fuel=fuel,
                              max_memory=max_memory, max_table_elements=max_table_elements,
                              max_instances=max_instances, max_tables=max_tables, max_memories=max_memories,
                              release_gil=release_gil)
