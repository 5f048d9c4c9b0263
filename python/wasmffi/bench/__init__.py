"""Benchmarks run by `python -m wasmffi bench {calls,memory}`: call overhead and memory copies."""

from typing import Optional

BENCHMARKS = {
    "calls": "per-call overhead: wasmffi vs wasmtime-py, pure Python, math.gcd and a C-call floor",
    "callbacks": "wasm calling Python: a loop of imported host-function calls, wasmffi vs wasmtime-py",
    "memory": "guest memory copy-in/copy-out (64 B, 4 KiB, 1 MiB): wasmffi vs wasmtime-py and a memcpy floor",
    "lifecycle": "compile, cache load, instantiate+drop (wasmffi vs wasmtime-py) and 2-thread speedup on a 200 KB module",
}


def run(name: str, json_path: Optional[str] = None, quick: bool = False) -> int:
    """Runs one benchmark by name; returns the exit status (0: targets are reported, not asserted)."""
    if name == "calls":
        from .calls import run as bench
    elif name == "callbacks":
        from .callbacks import run as bench
    elif name == "memory":
        from .memory import run as bench
    elif name == "lifecycle":
        from .lifecycle import run as bench
    else:
        raise ValueError(f"unknown benchmark {name!r}; expected one of {', '.join(BENCHMARKS)}")
    return bench(json_path=json_path, quick=quick)
