"""Named descriptions of module imports and exports (what `Module.imports` / `.exports` return)."""

from typing import TYPE_CHECKING, Any, List, NamedTuple, Optional, Tuple

if TYPE_CHECKING:
    import inspect  # imported where used: `import wasmffi` need not load inspect (and ast, dis)


class FuncType(NamedTuple):
    """A function signature: wasm types, or u32/u64 where Func.typed declared them unsigned.
    What `Func.type` and `ExternInfo.type` (for functions) return; str() is the text."""

    params: Tuple[str, ...]
    results: Tuple[str, ...]

    def __str__(self) -> str:
        # Imported here: the extension imports this module while it initialises.
        from . import _core

        return _core.signature_text(self.params, self.results)

    def as_signature(self) -> "inspect.Signature":
        """inspect.Signature for a wasm function: positional-only p0..pN annotated with types."""
        import inspect

        kind = inspect.Parameter.POSITIONAL_ONLY
        ps = [inspect.Parameter(f"p{i}", kind, annotation=t) for i, t in enumerate(self.params)]
        res = self.results
        ret = None if not res else res[0] if len(res) == 1 else tuple(res)
        return inspect.Signature(ps, return_annotation=ret)


class MemoryType(NamedTuple):
    minimum: int  # pages
    maximum: Optional[int]
    is64: bool
    shared: bool
    page_size: int


class GlobalType(NamedTuple):
    content: str
    mutable: bool


class TableType(NamedTuple):
    element: str
    minimum: int
    maximum: Optional[int]


class ExternInfo(NamedTuple):
    """One import or export: `module` is empty for exports; `type` is a FuncType, MemoryType, ..."""

    module: str
    name: str
    kind: str  # "func" | "memory" | "global" | "table" | ...
    type: object
    text: str  # the type as wasm text, e.g. "(i32, i32) -> i32"

    def __str__(self) -> str:
        prefix = f"{self.module}." if self.module else ""
        return f"{prefix}{self.name}: {self.kind} {self.text}"


_DETAIL = {"func": FuncType, "memory": MemoryType, "global": GlobalType, "table": TableType}


def extern_info(raw: Tuple[str, str, str, str, Optional[Tuple[Any, ...]]]) -> ExternInfo:
    module, name, kind, text, details = raw
    cls = _DETAIL.get(kind)
    return ExternInfo(module, name, kind, cls(*details) if cls and details is not None else None, text)


# The guest allocator conventions wasmffi knows (as the core's GuestAllocator::find probes them):
# (convention, [(export, parameter count, result count, required)]). Every parameter is a pointer
# or an i32 and every result a pointer, pointers being i64 with a 64-bit memory and i32 otherwise.
ALLOCATOR_CONVENTIONS: List[Tuple[str, List[Tuple[str, int, int, bool]]]] = [
    ("bump", [("bump_alloc", 1, 1, True), ("bump_mark", 0, 1, False), ("bump_release", 1, 0, False)]),
    ("malloc", [("malloc", 1, 1, True), ("free", 1, 0, True)]),
    ("cabi_realloc", [("cabi_realloc", 4, 1, True)]),
]
