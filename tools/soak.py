#!/usr/bin/env python3
"""`make soak`: long runs of the operations a long-lived process repeats, checking that nothing
accumulates (docs/RELIABILITY.md, "Soak: make soak").

Phases, at full scale (SOAK_SCALE=1 or --scale 1):

    marshal_bump     10^6 declared (cdef) calls through the SDK bump allocator: bytes in, a
                     bytearray in/out, a str, two out-parameters, an out buffer (wasmffi.out)
    marshal_malloc   the same 10^6 calls on the wasi-libc build, scratch from malloc/free
    instantiate      10^4 instantiate/drop cycles (memory, an export and a call touched; every
                     other one with a cdef, the rest through the plain instantiate built in C)
    instantiate_cycle 10^4 instances a host function of theirs refers to (a reference cycle
                     through their Memory), dropped and collected by the garbage collector
    callback_exc     10^5 exceptions raised in a declared host import, crossing wasm back to the caller
    trap             10^5 traps (unreachable) in a declared call with a buffer in scratch
    cache_load       10^4 loads of one module from the verified on-disk cache

Each phase warms up (a twentieth of its count, at least 100), then records the process's state
after a gc.collect(): RSS (/proc/self/statm), the C heap in use (glibc mallinfo2: uordblks +
hblkhd; the engine's allocations are there too) and CPython's allocated blocks
(sys.getallocatedblocks, every live Python object), and the guest's memory state (memory size,
the bump allocator's top, and for malloc the address a 16-byte malloc gets). It runs its count,
records the same again, and checks:

    RSS growth            <= RSS_TOLERANCE (8 MiB)
    C heap growth         <= HEAP_TOLERANCE (1 MiB)
    Python blocks growth  <= max(300, count / 100) blocks (BLOCKS_TOLERANCE)
    guest state           equal (memory size, scratch/allocator state, instance usable)

Why these tolerances: after the warm-up every pool a phase uses (pymalloc arenas, glibc's arenas
and free lists, the engine's instance slots) has reached its size, so what is left is noise: RSS
moves by the pages glibc and pymalloc keep or hand back (observed: under 1 MiB), the C heap by
a few KiB of caches. A leak of one small object per iteration is far above them: 16 bytes per call
over 10^6 calls is 16 MiB, and one leaked Python object per iteration is `count` blocks. The short
test (tests/python/test_soak.py, SOAK_SCALE=0.02) relies mostly on the exact counters (heap and
blocks), since its RSS window is small.

Prints a table, and writes JSON (--json PATH); exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import json
import os
import pathlib
import platform
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional

ROOT = pathlib.Path(__file__).resolve().parents[1]
GUEST_DIR = pathlib.Path(os.environ.get("WASMFFI_GUEST_DIR", ROOT / "build" / "guest"))

MiB = 1 << 20
RSS_TOLERANCE = 8 * MiB
HEAP_TOLERANCE = 1 * MiB
BLOCKS_TOLERANCE = 300  # or a hundredth of the count, if more: blocks_tolerance()

FULL_COUNTS = {
    "marshal_bump": 1_000_000,
    "marshal_malloc": 1_000_000,
    "instantiate": 10_000,
    "instantiate_cycle": 10_000,
    "callback_exc": 100_000,
    "trap": 100_000,
    "cache_load": 10_000,
}

CSTR_CDEF = """
    uint32_t sum(const uint8_t *p, size_t n);
    void rewrite64(uint8_t buf[64]);
    size_t count_vowels(const char *s);
    int divmod(int a, int b, int *q /* out */, int *r /* out */);
    size_t fill(uint8_t *buf /* out */, size_t n, uint8_t value);
    void fill_then_trap(uint8_t *buf, size_t n, uint8_t value);
"""

# A guest that calls a declared host import with a string and a buffer from its memory.
CALLBACK_WAT = r"""(module
  (import "env" "cb" (func $cb (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "boom\00")
  (data (i32.const 32) "\01\02\03\04\05\06\07\08")
  (func (export "run") (param i32) (result i32)
    i32.const 16 i32.const 32 i32.const 8 local.get 0 call $cb))"""
CALLBACK_CDEF = "int32_t cb(const char *msg, const uint8_t *data, size_t n, int32_t i);"


# ---- process state -----------------------------------------------------------------------------

class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                 "fordblks", "keepcost")]


def _mallinfo2() -> Optional[Callable[[], int]]:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = libc.mallinfo2
    except (OSError, AttributeError):
        return None
    fn.restype = _Mallinfo2
    fn.argtypes = []

    def heap() -> int:
        m = fn()
        return int(m.uordblks + m.hblkhd)

    return heap


_heap_in_use = _mallinfo2()
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def process_state() -> Dict[str, Optional[int]]:
    gc.collect()
    return {"rss": rss_bytes(), "heap": _heap_in_use() if _heap_in_use else None,
            "blocks": sys.getallocatedblocks()}


# ---- phases --------------------------------------------------------------------------------------

class Phase:
    """`run(n)` does n units of work (each checked); `guest()` returns the guest's state, compared
    before and after."""

    def __init__(self, name: str, unit: str, run: Callable[[int], None], guest: Callable[[], Dict[str, Any]],
                 close: Callable[[], None] = lambda: None) -> None:
        self.name, self.unit, self.run, self.guest, self.close = name, unit, run, guest, close


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise AssertionError(what)


def phase_marshal(name: str, path: pathlib.Path, allocator: str) -> Phase:
    import wasmffi

    cd = wasmffi.CDef(CSTR_CDEF)
    inst = wasmffi.load(path, cdef=cd, allocator=allocator)
    ex, raw, mem = inst.exports, inst.raw_exports, inst.memory
    sum_, rewrite64, count_vowels, divmod_, fill = ex.sum, ex.rewrite64, ex.count_vowels, ex.divmod, ex.fill
    out = wasmffi.out

    def run(n: int) -> None:
        # Five declared calls per round, every argument a new object (a leaked reference would
        # keep it alive and show in the counters).
        for i in range(n // 5):
            b = i & 0xFF
            data = bytes((b,)) * 64
            _check(sum_(data) == 64 * b, "sum")
            buf = bytearray(data)
            rewrite64(buf)
            _check(buf[0] == (b + 1) & 0xFF and len(buf) == 64, "rewrite64")
            _check(count_vowels(f"wasm {i} from python") == 3, "count_vowels")
            _check(divmod_(i + 7, 7, None, None) == (0, (i + 7) // 7, i % 7), "divmod")
            _check(fill(out(16), 16, b) == (16, bytes((b,)) * 16), "fill")

    def guest() -> Dict[str, Any]:
        state: Dict[str, Any] = {"pages": mem.pages}
        if allocator == "bump":
            state["bump_top"] = raw.bump_mark()
        else:
            p = raw.malloc(16)
            raw.free(p)
            state["malloc16"] = p
        return state

    return Phase(name, "calls", run, guest)


def phase_instantiate(path: pathlib.Path) -> Phase:
    import wasmffi

    cd = wasmffi.CDef(CSTR_CDEF)
    module = wasmffi.Module(path)
    data = bytes(range(64))
    pages: List[int] = []

    def run(n: int) -> None:
        # Alternately the plain instantiate (built in C) and one with a cdef (the Python path).
        for i in range(n):
            inst = module.instantiate(cdef=cd) if i & 1 else module.instantiate()
            mem = inst.memory
            f = inst.exports.sum if i & 1 else inst.raw_exports.bump_mark
            _check((f(data) == 2016) if i & 1 else f() > 0, "a call on a new instance")
            pages[:] = [mem.pages]
            del inst, mem, f

    def guest() -> Dict[str, Any]:
        return {"pages_of_last_instance": pages[0] if pages else None}

    return Phase("instantiate", "cycles", run, guest)


def phase_instantiate_cycle() -> Phase:
    """Instances that a host function of theirs refers to (a reference cycle through the closure,
    the instance, its exports and its Memory), dropped and left to the garbage collector."""
    import wasmffi

    module = wasmffi.Module(CALLBACK_WAT)
    pages: List[int] = []

    def make() -> None:
        box: List[Any] = []

        def cb(msg: str, data: bytes, n: int) -> int:
            return box[0].memory.pages + n

        inst = module.instantiate({"env": {"cb": cb}}, cdef=CALLBACK_CDEF)
        box.append(inst)
        _check(inst.exports.run(1) == 2, "a call through the host function")
        pages[:] = [inst.memory.pages]

    def run(n: int) -> None:
        for _ in range(n):
            make()
        gc.collect()

    def guest() -> Dict[str, Any]:
        return {"pages_of_last_instance": pages[0] if pages else None}

    return Phase("instantiate_cycle", "cycles", run, guest)


def phase_callback_exc() -> Phase:
    import wasmffi

    class Boom(Exception):
        pass

    raised: List[BaseException] = []

    def cb(msg: str, data: bytes, i: int) -> int:
        if i < 0:
            return len(msg) + sum(data)
        e = Boom(msg, i)
        raised[:] = [e]
        raise e

    inst = wasmffi.load(CALLBACK_WAT, {"env": {"cb": cb}}, cdef=CALLBACK_CDEF)
    run_, mem = inst.exports.run, inst.memory

    def run(n: int) -> None:
        for i in range(n):
            try:
                run_(i)
            except Boom as e:
                _check(e is raised[0] and e.args == ("boom", i), "the same exception object")
                _check(isinstance(e.__cause__, wasmffi.Trap), "a Trap as __cause__")
            else:
                raise AssertionError("no exception")
        raised.clear()

    def guest() -> Dict[str, Any]:
        return {"pages": mem.pages, "usable": run_(-1) == 4 + 36, "data": mem.read(0, 64)}

    return Phase("callback_exc", "exceptions", run, guest)


def phase_trap(path: pathlib.Path) -> Phase:
    import wasmffi

    inst = wasmffi.load(path, cdef=wasmffi.CDef(CSTR_CDEF), allocator="bump")
    ex, raw, mem = inst.exports, inst.raw_exports, inst.memory
    fill_then_trap = ex.fill_then_trap

    def run(n: int) -> None:
        for i in range(n):
            buf = bytearray(32)
            try:
                fill_then_trap(buf, 32, i & 0xFF)
            except wasmffi.Unreachable:
                pass
            else:
                raise AssertionError("no trap")

    def guest() -> Dict[str, Any]:
        return {"pages": mem.pages, "bump_top": raw.bump_mark(), "usable": ex.sum(b"\x01\x02") == 3}

    return Phase("trap", "traps", run, guest)


def phase_cache_load(path: pathlib.Path) -> Phase:
    import wasmffi
    from wasmffi import _cache

    tmp = tempfile.TemporaryDirectory(prefix="wasmffi-soak-cache-")
    old = os.environ.get("WASMFFI_CACHE_DIR")
    os.environ["WASMFFI_CACHE_DIR"] = tmp.name
    _cache.reset()
    source = path.read_bytes()
    wasmffi.Module(source, cache=True)  # compiles and stores the entry
    _check(_cache.stats["writes"] == 1, "the entry was written")
    last: List[Any] = []

    def run(n: int) -> None:
        hits = _cache.stats["hits"]
        for _ in range(n):
            last[:] = [wasmffi.Module(source, cache=True)]
        _check(_cache.stats["hits"] - hits == n and _cache.stats["misses"] == 1, "every load a cache hit")

    def guest() -> Dict[str, Any]:
        inst = last[0].instantiate() if last else None
        return {"pages": inst.memory.pages if inst else None,
                "usable": inst.exports.gcd(12, 18) == 6 if inst else None,
                "entries": len([f for f in os.listdir(tmp.name) if f.endswith(".cwasm") or "." not in f])}

    def close() -> None:
        last.clear()
        if old is None:
            os.environ.pop("WASMFFI_CACHE_DIR", None)
        else:
            os.environ["WASMFFI_CACHE_DIR"] = old
        _cache.reset()
        tmp.cleanup()

    return Phase("cache_load", "loads", run, guest, close)


def make_phase(name: str) -> Phase:
    cstr, cstr_libc = GUEST_DIR / "cstr.wasm", GUEST_DIR / "cstr_libc.wasm"
    if name == "marshal_bump":
        return phase_marshal(name, cstr, "bump")
    if name == "marshal_malloc":
        return phase_marshal(name, cstr_libc, "malloc")
    if name == "instantiate":
        return phase_instantiate(cstr)
    if name == "instantiate_cycle":
        return phase_instantiate_cycle()
    if name == "callback_exc":
        return phase_callback_exc()
    if name == "trap":
        return phase_trap(cstr)
    if name == "cache_load":
        return phase_cache_load(GUEST_DIR / "arith.wasm")
    raise ValueError(f"no phase {name!r}")


# ---- running -------------------------------------------------------------------------------------

def blocks_tolerance(count: int) -> int:
    return max(BLOCKS_TOLERANCE, count // 100)


def run_phase(name: str, count: int) -> Dict[str, Any]:
    phase = make_phase(name)
    try:
        phase.run(max(100, count // 20))  # warm-up
        before, g_before = process_state(), phase.guest()
        start = time.perf_counter()
        phase.run(count)
        seconds = time.perf_counter() - start
        after, g_after = process_state(), phase.guest()
    finally:
        phase.close()
    delta = {k: (after[k] - before[k]) if after[k] is not None and before[k] is not None else None
             for k in before}
    failures = []
    if delta["rss"] > RSS_TOLERANCE:
        failures.append(f"RSS grew {delta['rss'] / MiB:.2f} MiB (tolerance {RSS_TOLERANCE / MiB:.0f} MiB)")
    if delta["heap"] is not None and delta["heap"] > HEAP_TOLERANCE:
        failures.append(f"C heap grew {delta['heap'] / MiB:.2f} MiB (tolerance {HEAP_TOLERANCE / MiB:.0f} MiB)")
    if delta["blocks"] > blocks_tolerance(count):
        failures.append(f"Python blocks grew by {delta['blocks']} (tolerance {blocks_tolerance(count)})")
    if g_before != g_after:
        failures.append(f"guest state changed: {g_before} -> {g_after}")
    return {"phase": name, "unit": phase.unit, "count": count, "blocks_tolerance": blocks_tolerance(count), "seconds": round(seconds, 3),
            "before": before, "after": after, "delta": delta, "guest_before": _jsonable(g_before),
            "guest_after": _jsonable(g_after), "guest_ok": g_before == g_after, "failures": failures,
            "ok": not failures}


def _jsonable(d: Dict[str, Any]) -> Dict[str, Any]:
    return {k: (v.hex() if isinstance(v, bytes) else v) for k, v in d.items()}


def _mib(x: Optional[int]) -> str:
    return "-" if x is None else f"{x / MiB:.2f}"


def table(results: List[Dict[str, Any]]) -> str:
    head = ("phase", "count", "s", "RSS before MiB", "RSS after MiB", "ΔRSS MiB", "Δheap KiB", "Δblocks",
            "guest", "ok")
    rows = [head]
    for r in results:
        d = r["delta"]
        rows.append((r["phase"], f"{r['count']:,} {r['unit']}", f"{r['seconds']:.1f}", _mib(r["before"]["rss"]),
                     _mib(r["after"]["rss"]), _mib(d["rss"]),
                     "-" if d["heap"] is None else f"{d['heap'] / 1024:.0f}", str(d["blocks"]),
                     "same" if r["guest_ok"] else "CHANGED", "ok" if r["ok"] else "FAIL"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=float(os.environ.get("SOAK_SCALE", "1")),
                   help="multiplies every count (default $SOAK_SCALE or 1)")
    p.add_argument("--phase", action="append", choices=sorted(FULL_COUNTS), help="run only these phases")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON here")
    args = p.parse_args(argv)
    import wasmffi

    results = []
    for name in args.phase or list(FULL_COUNTS):
        count = max(100, int(FULL_COUNTS[name] * args.scale))
        r = run_phase(name, count)
        results.append(r)
        print(f"soak: {name}: {count:,} {r['unit']} in {r['seconds']:.1f} s, ΔRSS {_mib(r['delta']['rss'])} MiB"
              f"{'' if r['ok'] else ' FAILED: ' + '; '.join(r['failures'])}", file=sys.stderr, flush=True)
    report = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "python": platform.python_version(),
              "wasmffi": wasmffi.__version__, "scale": args.scale,
              "tolerances": {"rss": RSS_TOLERANCE, "heap": HEAP_TOLERANCE, "blocks": BLOCKS_TOLERANCE},
              "results": results, "ok": all(r["ok"] for r in results)}
    print(table(results))
    if not args.json:
        print(json.dumps(report, indent=1))
    else:
        pathlib.Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
        print(f"soak: JSON in {args.json}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
