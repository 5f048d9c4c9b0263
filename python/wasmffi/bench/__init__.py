"""Benchmark groups run by `python -m wasmffi bench GROUP` and `bench all` (one module per group)."""

import importlib
from types import ModuleType
from typing import Optional

# One entry per group module python/wasmffi/bench/<name>.py: the subcommand's one-line help.
BENCHMARKS = {
    "calls": "per-call overhead: wasmffi vs wasmtime-py, pywasm3, pure Python, math.gcd and a C-call floor",
    "memory": "guest memory copy-in/copy-out (64 B, 4 KiB, 1 MiB): wasmffi vs wasmtime-py and a memcpy floor",
    "marshal": "marshalled calls (64 B in, 64 B in/out) vs the scalar add and wasmtime-py by hand; "
               "guest allocators (bump, malloc, wasmffi scratch)",
    "callbacks": "wasm calling Python: a loop of imported host-function calls, wasmffi vs wasmtime-py",
    "lifecycle": "import and first call in a fresh process; compile, cache load, instantiate+drop (wasmffi vs "
                 "wasmtime-py) and 2-thread speedup on a 200 KB module",
    "monocypher": "Monocypher in wasm vs native pymonocypher: blake2b 64 B and 1 MiB, lock 1 KiB, x25519",
    "latency": "how soon Ctrl-C (in-process, GIL released, another process) and timeouts stop a call; "
               "engine teardown with its ticker thread",
    "size": "the wheel, the installed package and the extension module on disk, wasmffi vs wasmtime-py",
}

# What `bench all` runs, in this order; a group whose module is absent is skipped with a note.
ALL_GROUPS = ("calls", "memory", "marshal", "callbacks", "lifecycle", "monocypher", "latency", "size")


def group_module(name: str) -> ModuleType:
    """The module of group `name` (ModuleNotFoundError when this checkout lacks it)."""
    if not name.isidentifier() or name.startswith("_"):
        raise ValueError(f"bad benchmark group name {name!r}")
    return importlib.import_module(f"{__name__}.{name}")


def run(name: str, json_path: Optional[str] = None, quick: bool = False) -> int:
    """Runs one benchmark group by name; returns the exit status (0: targets are reported, not asserted)."""
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; expected one of {', '.join(BENCHMARKS)}")
    result: int = group_module(name).run(json_path=json_path, quick=quick)
    return result
