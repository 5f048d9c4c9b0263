"""wasmffi: call WebAssembly from Python with near-native overhead and safe, automatic type mapping.

    >>> import wasmffi
    >>> inst = wasmffi.load('(module (func (export "add") (param i32 i32) (result i32) '
    ...                     'local.get 0 local.get 1 i32.add))')
    >>> inst.exports.add(2, 3)
    5
"""

# _core imports _errors and _types itself while it initialises and keeps their classes.
from . import _core
from ._errors import (TRAP_CLASSES, BadConversionToInteger, BadSignature, CompileError, Error,
                      IndirectCallToNull, IntegerDivisionByZero, IntegerOverflow,
                      Interrupt, LinkError, MemoryAccessError, MemoryOutOfBounds, OutOfFuel,
                      Exit, ResourceError, StackOverflow, StoreInUseError, TableOutOfBounds, Trap, Unreachable)
from ._api import Instance, Module, default_engine, load, set_default_engine
from ._cache import cache_dir, prune_cache
from ._factory import InstanceFactory
from ._imports import Caller, with_caller
from ._wasi import Wasi
from ._linker import Linker
from ._pool import Pool
from ._types import ExternInfo, FuncType, GlobalType, MemoryType, TableType
from . import _memory  # noqa: F401  (attaches the Python-written Memory methods)
from .cdef import CDef, CDefError, alignof, offsetof, out, sizeof

Engine = _core.Engine
Exports = _core.Exports
Func = _core.Func
CFunc = _core.CFunc
Global = _core.Global
Memory = _core.Memory

__version__ = "0.1.0"

__all__ = [
    "Engine", "Module", "Instance", "Exports", "Func", "CFunc", "Global", "Memory", "load", "default_engine",
    "set_default_engine", "cache_dir", "prune_cache", "InstanceFactory",
    "ExternInfo", "FuncType", "GlobalType", "MemoryType", "TableType",
    "Error", "CompileError", "LinkError", "MemoryAccessError", "ResourceError", "Trap",
    # The names of TRAP_CLASSES, written out so type checkers see them exported.
    "StackOverflow", "MemoryOutOfBounds", "TableOutOfBounds", "IndirectCallToNull",
    "BadSignature", "IntegerOverflow", "IntegerDivisionByZero", "BadConversionToInteger", "Unreachable",
    "Interrupt", "OutOfFuel",
    "StoreInUseError", "Caller", "with_caller", "Wasi", "Exit", "Linker", "Pool",
    "CDef", "CDefError", "sizeof", "alignof", "offsetof", "out",
]
