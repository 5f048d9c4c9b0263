"""Compile time of a 3,000-function module through wasmffi vs wasmtime-py, and cache/pickle load times.

Usage: .venv/bin/python tools/bench_compile.py [--runs N] [--functions N]
Both compilers run in one process, interleaved, so machine load hits both alike; the minimum of
N runs is reported. docs/build.md ("Compile speed") records what it printed.
"""

import argparse
import os
import pickle
import tempfile
import time

import wasmtime

import wasmffi
from wasmffi import _core


def module_bytes(n: int) -> bytes:
    """n small exported functions (about 45 bytes of code each): 134 KB for n = 3000."""
    funcs = [f'(func $f{i} (export "f{i}") (param i32 i32) (result i32) (local i32) '
             f'local.get 0 local.get 1 i32.add i32.const {i * 7 + 3} i32.mul local.set 2 '
             f'local.get 2 local.get 0 i32.xor i32.const 5 i32.shr_u local.get 2 i32.add)' for i in range(n)]
    return bytes(wasmtime.wat2wasm('(module (memory (export "memory") 1)\n' + "\n".join(funcs) + ")"))


def best_ms(fn, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--functions", type=int, default=3000)
    args = ap.parse_args()
    wasm = module_bytes(args.functions)
    engine = wasmffi.default_engine()
    peer = wasmtime.Engine()
    ours, theirs = float("inf"), float("inf")
    for _ in range(args.runs):  # interleaved: a burst of load slows both, not one
        ours = min(ours, best_ms(lambda: _core._Module.compile(engine, wasm), 1))
        theirs = min(theirs, best_ms(lambda: wasmtime.Module(peer, wasm), 1))
    print(f"module: {len(wasm)} bytes, {args.functions} functions; min of {args.runs} runs; "
          f"{os.cpu_count()} CPUs; wasmtime {_core.WASMTIME_VERSION}")
    print(f"compile  wasmffi {ours:8.1f} ms   wasmtime-py {theirs:8.1f} ms   ratio {ours / theirs:.2f}")
    with tempfile.TemporaryDirectory() as d:
        os.environ["WASMFFI_CACHE_DIR"] = d
        wasmffi.Module(wasm, cache=True)  # the miss that writes the entry
        hit = best_ms(lambda: wasmffi.Module(wasm, cache=True), args.runs)
        plain = wasmffi.Module(wasm)
        data = pickle.dumps(plain)
        from wasmffi import _api

        def unpickle() -> None:
            _api._unpickled.clear()  # measure the verified load, not the in-process reuse
            pickle.loads(data)

        load = best_ms(unpickle, args.runs)
    print(f"cache hit (Module(data, cache=True)) {hit:.1f} ms; pickle.loads {load:.1f} ms "
          f"({len(data) / 1e6:.2f} MB pickle)")


if __name__ == "__main__":
    main()
