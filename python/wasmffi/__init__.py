"""wasmffi: call WebAssembly from Python with near-native overhead and safe, automatic type mapping.

    >>> import wasmffi
    >>> inst = wasmffi.load('(module (func (export "add") (param i32 i32) (result i32) '
    ...                     'local.get 0 local.get 1 i32.add))')
    >>> inst.exports.add(2, 3)
    5
"""

import atexit as _atexit
import threading as _threading
from typing import TYPE_CHECKING

# _core imports _errors and _types itself while it initialises and keeps their classes.
from . import _core
from ._errors import (TRAP_CLASSES, BadConversionToInteger, BadSignature, Cancelled, CompileError, Error,
                      IndirectCallToNull, IntegerDivisionByZero, IntegerOverflow,
                      Interrupt, LinkError, MemoryAccessError, MemoryOutOfBounds, OutOfFuel,
                      Exit, OutputLimitExceeded, ResourceError, StackOverflow, StoreInUseError, TableOutOfBounds, Trap, Unreachable)
from ._api import Instance, Module, load
from ._engines import default_engine, set_default_engine
from ._cache import cache_dir, prune_cache
from ._imports import Caller, with_caller
from ._wasi import Wasi
from ._linker import Linker
from ._types import ExternInfo, FuncType, GlobalType, MemoryType, TableType
from . import _memory  # noqa: F401  (attaches the Python-written Memory methods)

# At exit, threads still inside a call (or on their way back from one) must park rather than be
# ended by CPython inside native frames, which aborted the process (src/python/gil.hpp).
_atexit.register(lambda: _core._note_exit(_threading.active_count() > 1))

if TYPE_CHECKING:
    from . import cdef
    from ._factory import InstanceFactory
    from ._pool import Pool
    from .cdef import CDef, CDefError, alignof, offsetof, out, sizeof

# Public names whose modules load on first use, so that `import wasmffi` stays cheap for the many
# programs that never use them: cdef (pycparser and its parser tables, tens of ms), Pool
# (concurrent.futures) and InstanceFactory (pickle, inspect). `wasmffi.CDef`, `from wasmffi
# import CDef`, `wasmffi.cdef` and `cdef=` all load cdef; type checkers see the imports above.
_LAZY = {"CDef": "cdef", "CDefError": "cdef", "alignof": "cdef", "offsetof": "cdef", "out": "cdef",
         "sizeof": "cdef", "Pool": "_pool", "InstanceFactory": "_factory", "cdef": None}

if not TYPE_CHECKING:  # hidden from type checkers, which would otherwise accept any attribute name
    def __getattr__(name):
        if name not in _LAZY:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import importlib

        module = _LAZY[name]
        if module is None:  # a subpackage: importing it sets the attribute
            return importlib.import_module(f"{__name__}.{name}")
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value  # later look-ups find it without coming here
        return value

    def __dir__():
        return sorted(set(globals()) | set(_LAZY))

Engine = _core.Engine
Exports = _core.Exports
Func = _core.Func
CFunc = _core.CFunc
Global = _core.Global
Memory = _core.Memory
Canceller = _core.Canceller

__version__ = "0.1.0"

__all__ = [
    "Engine", "Module", "Instance", "Exports", "Func", "CFunc", "Global", "Memory", "load", "default_engine",
    "set_default_engine", "cache_dir", "prune_cache", "InstanceFactory",
    "ExternInfo", "FuncType", "GlobalType", "MemoryType", "TableType",
    "Error", "CompileError", "LinkError", "MemoryAccessError", "ResourceError", "Trap",
    # The names of TRAP_CLASSES, written out so type checkers see them exported.
    "StackOverflow", "MemoryOutOfBounds", "TableOutOfBounds", "IndirectCallToNull",
    "BadSignature", "IntegerOverflow", "IntegerDivisionByZero", "BadConversionToInteger", "Unreachable",
    "Interrupt", "OutOfFuel", "Cancelled", "Canceller",
    "StoreInUseError", "Caller", "with_caller", "Wasi", "Exit", "OutputLimitExceeded", "Linker", "Pool",
    "CDef", "CDefError", "sizeof", "alignof", "offsetof", "out",
]
