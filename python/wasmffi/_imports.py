"""imports=: maps {"module": {"name": callable}} onto a module's import list, and the Caller opt-in."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Callable, List, Mapping, Optional, Set, Tuple

from ._errors import Error, LinkError

if TYPE_CHECKING:
    from ._api import Module
    from .cdef import CDef
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
            wasi: bool = False, cdef: "Optional[CDef]" = None
            ) -> Tuple[Optional[List[ImportEntry]], Optional[Caller]]:
    """One entry per import of `module`, in order, for _core._Instance; plus the Caller to bind
    once the instance exists (or None). Every missing import is listed in one LinkError; with
    `wasi`, WASI preview 1 imports left open are None (the engine's WASI provides them). With
    `cdef` (a CDef), a function import whose name it declares is checked against the declaration
    and its callable wrapped to take and return C-typed values (see _declared())."""
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
            caller = caller or Caller(module)
            value, first = _declared(module, cdef, imp, value, first, caller), None
        entries.append((value, first, name))
    if missing:
        raise unresolved_error(who, missing)
    return entries, caller


def unresolved_error(who: str, missing: List[Any]) -> LinkError:
    """The one LinkError for imports left open: every one listed with its type."""
    lines = "\n".join(f"  {imp.module}.{imp.name}: {imp.kind} {imp.type}" for imp in missing)
    return LinkError(f"{who}: {len(missing)} import(s) unresolved:\n{lines}")


# Declared imports: the marshaller units in reverse, as a Python wrapper built once per import at
# instantiation (per-parameter converters chosen here, so a call only runs the chosen ones). The
# undeclared host functions keep the core's scalar fast path untouched.

# Converters of declared imports: an argument converter gets the wasm value and all the raw
# arguments (a linked length is read from them); a result converter gets the host's return value.
ArgConv = Callable[[Any, Tuple[Any, ...]], Any]
ResultConv = Callable[[Any], Any]


def _int_unit(code: str) -> Tuple[Callable[[int], int], int, int]:
    """(from_wasm, lo, hi) for an integer scalar code: the wasm value (the core hands i32/i64 over
    signed) reinterpreted as the C type, and the C type's range for results."""
    bits = int(code[1:])
    mask = (1 << bits) - 1
    if code[0] == "u":
        return (lambda v: v & mask), 0, mask
    half = 1 << (bits - 1)
    return (lambda v: ((v & mask) ^ half) - half), -half, half - 1


def _declared(module: "Module", cd: "CDef", imp: Any, fn: Callable[..., Any], first: Optional[Caller],
              caller: Caller) -> Callable[..., Any]:
    """The callable the core calls for import `imp` declared in `cd`: converts each wasm argument
    by its C type, calls `fn` (with `first`, the Caller of with_caller, in front), checks the result."""
    from .cdef import CDefError, Enum, target_for_memory
    from .cdef._lower import BYTES, VALUE
    from ._errors import LinkError
    from ._types import MemoryType

    name = f"{imp.module}.{imp.name}"
    mem_name = module._memory_name
    mem_type = None if mem_name is None else {e.name: e for e in module.exports}[mem_name].type
    is64 = isinstance(mem_type, MemoryType) and mem_type.is64
    target = target_for_memory(is64)
    spec = cd.lower(imp.name, target)
    got = (tuple(imp.type.params), tuple(imp.type.results))
    if got != (spec.wasm_params, spec.wasm_results):
        raise CDefError(f"declared `{spec.declaration}` lowers to {spec.wasm_text} on {target} but import "
                        f"`{name}` is {imp.type}")
    if spec.result.kind == "sret":
        raise CDefError(f"declared import `{spec.declaration}`: a struct returned through memory is not "
                        f"supported for imports")
    ptr_unit = _int_unit("u64" if is64 else "u32")[0]
    by_name = {p.name: p for p in spec.params}

    def guest_memory() -> "Memory":
        # Checked once below (a declaration that reads memory needs an exported memory); the
        # instance can only lack one here if it is being torn down.
        memory = caller.memory
        if memory is None:
            raise LinkError(f"host function {name!r}: the calling instance has no memory")
        return memory

    def scalar(p_code: str, ctype: Any) -> ArgConv:
        if p_code == "bool":
            return lambda v, args: v != 0
        if p_code == "ptr":
            return lambda v, args: ptr_unit(v)
        if p_code in ("f32", "f64"):
            return lambda v, args: v
        conv = _int_unit(p_code)[0]
        if isinstance(ctype, Enum):
            cls = cd.pytype(ctype)

            def as_enum(v: Any, args: Tuple[Any, ...]) -> Any:
                v = conv(v)
                try:
                    return cls(v)
                except ValueError:  # a value the declaration does not name stays a plain int
                    return v
            return as_enum
        return lambda v, args: conv(v)

    def buffer(p: Any, length: Any) -> ArgConv:
        size = 1 if length.length_unit == BYTES else p.elem_size
        len_conv = _int_unit(length.code)[0]
        li = length.wasm_index

        def as_bytes(v: Any, args: Tuple[Any, ...]) -> bytes:
            addr, n = ptr_unit(v), len_conv(args[li]) * size
            try:
                return guest_memory().read(addr, n)
            except (ValueError, IndexError, OverflowError) as e:
                raise type(e)(f"host function {name!r} parameter {p.name!r}: {e}") from None
        return as_bytes

    def cstring(p: Any) -> ArgConv:
        def as_str(v: Any, args: Tuple[Any, ...]) -> Optional[str]:
            addr = ptr_unit(v)
            if addr == 0:
                return None
            try:
                raw = guest_memory().read_cstring(addr)
            except (ValueError, IndexError, OverflowError) as e:
                raise type(e)(f"host function {name!r} parameter {p.name!r}: {e}") from None
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(f"host function {name!r} parameter {p.name!r}: the string is not UTF-8 ({e})") from None
        return as_str

    convs: List[Tuple[int, ArgConv]] = []
    skipped: Set[str] = set()
    for p in spec.params:
        if p.direction == VALUE:
            assert p.code is not None  # lowering gives every value parameter its scalar code
            convs.append((p.wasm_index, scalar(p.code, p.type if isinstance(p.type, Enum) else None)))
        elif p.const and not p.byval and p.length_param is not None:
            skipped.add(p.length_param)  # bytes carry their length: the linked length is not passed
            convs.append((p.wasm_index, buffer(p, by_name[p.length_param])))
        elif p.cstring:
            convs.append((p.wasm_index, cstring(p)))
        else:
            convs.append((p.wasm_index, lambda v, args: ptr_unit(v)))
    # The memory is looked up per call through the Caller (it holds the instance weakly); its
    # existence is checked here, once.
    reads = [p.name for p in spec.params if p.direction != VALUE and p.const and not p.byval
             and (p.cstring or p.length_param is not None)]
    if reads and mem_name is None:
        raise LinkError(f"declared import `{spec.declaration}`: parameter {reads[0]!r} is read from guest "
                        f"memory, but the module exports no memory")
    plan = tuple(c for p, c in zip(spec.params, convs) if p.name not in skipped)
    check = _result_check(spec.result, name, cd, target)
    lead = () if first is None else (first,)

    def host(*args: Any) -> Any:
        return check(fn(*lead, *[conv(args[i], args) for i, conv in plan]))

    host.__name__ = imp.name
    host.__qualname__ = f"declared import {name}"
    host.__wrapped__ = fn  # type: ignore[attr-defined]  # for inspect.unwrap and debuggers
    return host


def _result_check(r: Any, name: str, cd: "CDef", target: Any) -> ResultConv:
    """The result conversion of a declared import: the C type's range, TypeError/OverflowError
    naming the import; the value goes on to the core's wasm-level unit."""
    if r.kind == "void":
        return lambda v: v  # the core requires None for a function without results
    code, spell = r.code, r.type.spell()
    if code in ("f32", "f64"):
        return lambda v: v
    if code == "bool":
        def as_bool(v: Any) -> int:
            if isinstance(v, bool) or (type(v) is int and v in (0, 1)):
                return int(v)
            raise TypeError(f"host function {name!r} must return bool ({spell}), not {type(v).__name__}"
                            + (f" {v!r}" if isinstance(v, int) else ""))
        return as_bool
    lo, hi = _int_unit(("u64" if target.pointer_size == 8 else "u32") if code == "ptr" else code)[1:]

    def as_int(v: Any) -> int:
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"host function {name!r} must return int ({spell}), not {type(v).__name__}")
        if not lo <= v <= hi:
            raise OverflowError(f"host function {name!r} returned {v}, out of range for {spell} ({lo}..{hi})")
        return int(v)
    return as_int
