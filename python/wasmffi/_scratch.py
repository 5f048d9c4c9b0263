"""inst.scratch(): guest memory a block of code allocates, zeroed and released when it ends."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, List, Optional, Tuple, Type

if TYPE_CHECKING:
    # For annotations only: typing_extensions is not a dependency of an installed wasmffi.
    from typing_extensions import Buffer

    from ._api import Instance
    from ._core import Memory
    from .cdef import TypeLike


class Scratch:
    """``with inst.scratch(wipe=True) as s:`` hands out guest addresses (unsigned ints):
    ``s.alloc(n)`` (n zeroed bytes), ``s.copy(data)`` (a copy of a bytes-like object),
    ``s.new("uint8_t[64]")`` (sizeof the type, zeroed; needs the instance's cdef for declared
    names). On exit, on success, exception and trap alike, every byte handed out is zeroed
    (wipe=True) and released: with the SDK's bump allocator by bump_release to the mark taken on
    entry (unless the guest reset below it meanwhile), with malloc by free. Addresses must not be
    used after the block."""

    __slots__ = ("_inst", "_wipe", "_mark", "_blocks", "_open")

    def __init__(self, inst: "Instance", wipe: bool = True) -> None:
        if not isinstance(wipe, bool):
            raise TypeError(f"scratch() argument 'wipe' must be True or False, not {type(wipe).__name__}")
        self._inst, self._wipe, self._open = inst, wipe, False
        self._mark: Optional[int] = None
        self._blocks: List[Tuple[int, int]] = []

    def __enter__(self) -> "Scratch":
        i = self._inst._i
        self._memory()  # a guest allocator without an exported memory: nothing to hand out
        if i.allocator == "none":
            raise TypeError("scratch(): the module has no guest allocator: export bump_alloc (with "
                            "bump_mark/bump_release, as guest/include/wasmffi_alloc.h provides), malloc "
                            "and free, or cabi_realloc")
        if i.allocator == "bump" and i.guest_has_mark:
            self._mark = i.guest_mark()
        self._blocks = []
        self._open = True
        return self

    def _check_open(self, what: str) -> None:
        if not self._open:
            raise RuntimeError(f"Scratch.{what}(): use it inside its `with` block")

    def alloc(self, size: int) -> int:
        """`size` zeroed bytes of guest memory (16-byte aligned with the SDK's allocator)."""
        self._check_open("alloc")
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"Scratch.alloc() argument 'size' must be an int, not {type(size).__name__}")
        if size < 0:
            raise ValueError(f"Scratch.alloc() argument 'size' must be >= 0, not {size}")
        # Checked here because the allocator's size parameter is as wide as a guest pointer: a
        # larger size would reach it modulo 2**32 (or 2**64) and come back as a smaller block.
        bits = 64 if self._memory().is64 else 32
        if size >= 1 << bits:
            raise ValueError(f"Scratch.alloc(): {size} bytes does not fit the guest's {bits}-bit address space")
        addr = self._inst._i.guest_alloc(size)
        self._blocks.append((addr, size))
        if size:
            self._memory().write(addr, bytes(size))
        return addr

    def copy(self, data: Buffer) -> int:
        """A copy of a bytes-like object in guest memory; its address."""
        self._check_open("copy")
        raw = memoryview(data).cast("B")
        addr = self.alloc(len(raw))
        self._memory().write(addr, raw)
        return addr

    def new(self, ctype: "TypeLike") -> int:
        """Zeroed guest memory for one value of a C type ("uint8_t[64]", "struct point", a struct
        class), sized for the instance's target; its address."""
        self._check_open("new")
        from . import cdef as _cdef

        mem = self._inst.memory
        target = _cdef.target_for_memory(mem is not None and mem.is64)
        cd = self._inst.cdef
        if cd is not None and not isinstance(ctype, type):
            size = cd.sizeof(ctype, target)
        else:
            size = _cdef.sizeof(ctype, None if isinstance(ctype, type) else target)
        return self.alloc(size)

    def _memory(self) -> "Memory":
        return self._inst._memory_for("scratch")

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self._open = False
        i = self._inst._i
        blocks, self._blocks = self._blocks, []
        # With marks: a top below the entry mark means the guest reset (and the SDK wiped)
        # meanwhile; the blocks are not ours any more, and may hold the guest's new data.
        released = self._mark is not None and i.guest_mark() < self._mark
        if self._wipe and not released:
            for addr, size in blocks:
                if size:
                    self._memory().write(addr, bytes(size))
        if i.allocator == "malloc":
            for addr, _ in reversed(blocks):
                i.guest_free(addr)
        elif self._mark is not None and not released:
            i.guest_release(self._mark)
