"""Benchmarks run by `python -m wasmffi bench {calls,memory}`: call overhead and memory copies."""

BENCHMARKS = {
    "calls": "per-call overhead: wasmffi vs wasmtime-py, pure Python, math.gcd and a C-call floor",
    "callbacks": "wasm calling Python: a loop of imported host-function calls, wasmffi vs wasmtime-py",
    "memory": "guest memory copy-in/copy-out (64 B, 4 KiB, 1 MiB): wasmffi vs wasmtime-py and a memcpy floor",
}


def run(name: str, json_path=None, quick: bool = False) -> int:
    """Runs one benchmark by name; returns the exit status (0: targets are reported, not asserted)."""
    if name == "calls":
        from . import calls as mod
    elif name == "callbacks":
        from . import callbacks as mod
    elif name == "memory":
        from . import memory as mod
    else:
        raise ValueError(f"unknown benchmark {name!r}; expected one of {', '.join(BENCHMARKS)}")
    return mod.run(json_path=json_path, quick=quick)
