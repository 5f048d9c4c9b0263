"""The main demo (`make demo`): a C guest compiled to wasm, called from Python, then the call benchmark."""

import os
import pathlib
import sys
from typing import Callable, Tuple

import wasmffi
from wasmffi.__main__ import main as cli

ROOT = pathlib.Path(__file__).resolve().parents[1]
GUEST = pathlib.Path(os.environ.get("WASMFFI_GUEST_DIR", ROOT / "build" / "guest")) / "arith.wasm"


def section(title: str) -> None:
    print(f"\n== {title} ==")


def main() -> int:
    section(f"load {GUEST.name} (guest/examples/arith.c, compiled with clang --target=wasm32)")
    inst = wasmffi.load(GUEST)
    for export in inst.module.exports:
        print(" ", export)

    ex = inst.exports
    section("calls: signatures resolved once, no store argument")
    print("  add(2, 3)                    =", ex.add(2, 3))
    print("  gcd(16516842, 154654684)     =", ex.gcd(16516842, 154654684))
    print("  fib(90)                      =", ex.fib(90))
    print("  hypot2(3.0, 4.0)             =", ex.hypot2(3.0, 4.0))
    print("  add.type                     =", ex.add.type)

    section("bad input gets a clear exception, never a silent wrap-around")
    calls: Tuple[Callable[[], object], ...] = (lambda: ex.add(2**32, 1), lambda: ex.add("2", 1), lambda: ex.add(1))
    for call in calls:
        try:
            call()
        except (OverflowError, TypeError) as e:
            print(f"  {type(e).__name__}: {e}")
    try:
        ex.divide(1, 0)
    except wasmffi.Trap as e:
        print(f"  {type(e).__name__}: {str(e).splitlines()[0]}")

    section("memory: unsigned addresses, bounds-checked, zero-copy views")
    mem = inst.memory
    assert mem is not None, "arith.wasm exports its memory"
    ptr, n = ex.buffer_ptr(), 16
    mem.write(ptr, bytes(range(1, n + 1)))
    print(f"  wrote 1..{n} at 0x{ptr:x}; guest sum_bytes = {ex.sum_bytes(ptr, n)}")
    view = mem.view(ptr, n)
    view[0] = 100
    print(f"  after view[0] = 100: guest sum_bytes = {ex.sum_bytes(ptr, n)}")
    for bad in (-1, len(mem) - 2, 2**64):
        try:
            mem.read(bad, 4)
        except (wasmffi.MemoryAccessError, TypeError) as e:
            print(f"  {type(e).__name__}: {e}")

    section("benchmark: python -m wasmffi bench calls")
    sys.stdout.flush()
    return cli(["bench", "calls", "--json", str(ROOT / "build" / "bench-calls.json")])


if __name__ == "__main__":
    sys.exit(main() or 0)
