#!/usr/bin/env python3
"""`make soak` (and `make stress`): thread stress (docs/RELIABILITY.md, "Threads").

At full scale (--scale 1, or $SOAK_SCALE):

- 8 worker threads x 10^5 declared calls through one wasmffi.Pool(size=8, release_gil=True) of
  guest/examples/cstr.c: each worker takes an instance (`with pool.instance()`), makes calls with
  bytes in, a bytearray in/out and an out buffer, checks every result, and between calls reads
  its instance's memory for a marker it passed (the scratch was wiped) and checks that the
  scratch was released (bump_mark back where it was);
  every 1000 calls it hands the instance back and takes one again (instances change threads);
- meanwhile two side threads on instances of their own: one instantiates and drops instances,
  growing each one's memory page by page and writing and reading the new pages; the other reads
  and writes the memory of an instance it keeps, and calls it;
- deliberate misuse, on the main thread, repeated: one thread is inside a long release_gil call
  (it waits for a flag in guest memory; it says it is inside by setting another one), and this
  thread calls the same instance, grows its memory and reads its global: each must raise
  StoreInUseError, every time; then the flag lets the call return and the instance works again.

Handshakes are flags in guest memory and threading.Event, never sleeps. Exits 1 on any wrong
result, unexpected exception or missing StoreInUseError; prints a summary and JSON (--json).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import threading
import time
from typing import Any, Dict, List, Optional

ROOT = pathlib.Path(__file__).resolve().parents[1]
GUEST_DIR = pathlib.Path(os.environ.get("WASMFFI_GUEST_DIR", ROOT / "build" / "guest"))

CDEF = """
    uint32_t sum(const uint8_t *p, size_t n);
    void rewrite64(uint8_t buf[64]);
    size_t fill(uint8_t *buf /* out */, size_t n, uint8_t value);
"""

# The misuse target: wait_flag says it is inside (word at 4 := 1), then runs until the host
# writes a non-zero word at 0; add is the call that must be refused meanwhile.
MISUSE_WAT = """(module
  (memory (export "memory") 1)
  (global (export "g") (mut i32) (i32.const 7))
  (func (export "wait_flag")
    (i32.store (i32.const 4) (i32.const 1))
    (loop (br_if 0 (i32.eqz (i32.load (i32.const 0)))))
    (i32.store (i32.const 4) (i32.const 0)))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"""

WORKERS = 8
SECRET = bytes(range(7, 7 + 3 * 56, 3))  # 56 distinctive bytes
FULL_CALLS = 100_000
FULL_MISUSE = 200
GENEROUS = 30.0  # seconds: a bound for "it returns", far above what a loaded machine takes


def run(calls_per_worker: int, misuse_rounds: int, workers: int = WORKERS) -> Dict[str, Any]:
    import wasmffi

    cd = wasmffi.CDef(CDEF)
    module = wasmffi.Module(GUEST_DIR / "cstr.wasm")
    pool = wasmffi.Pool(module, size=workers, cdef=cd, release_gil=True)
    errors: List[str] = []
    counts = {"calls": 0, "side_instances": 0, "side_grows": 0, "side_reads": 0, "side_calls": 0}
    lock = threading.Lock()
    workers_done = threading.Event()
    start_line = threading.Barrier(workers + 2 + 1)

    def fail(what: str) -> None:
        with lock:
            if len(errors) < 50:
                errors.append(what)

    def worker(k: int) -> None:
        done = 0
        try:
            start_line.wait(GENEROUS)
            while done < calls_per_worker:
                with pool.instance() as inst:
                    ex, raw, mem = inst.exports, inst.raw_exports, inst.memory
                    ex.sum(b"\x00")  # the first copy into an instance sets up its scratch
                    top = raw.bump_mark()
                    for _ in range(min(1000, calls_per_worker - done) // 4):  # 4 calls a round
                        b = (k * 31 + done) & 0xFF
                        data = bytes((b,)) * 64
                        if ex.sum(data) != 64 * b or ex.sum(memoryview(data)[:32]) != 32 * b:
                            fail(f"worker {k}: sum wrong")
                        buf = bytearray(data)
                        ex.rewrite64(buf)
                        if buf[0] != (b + 1) & 0xFF:
                            fail(f"worker {k}: rewrite64 wrong")
                        if ex.fill(wasmffi.out(8), 8, b) != (8, bytes((b,)) * 8):
                            fail(f"worker {k}: fill wrong")
                        done += 4
                    # A marker copied in: once the call returned, no copy of it is left in guest
                    # memory (the scratch was wiped) and the allocator's top is where it was.
                    marker = SECRET + done.to_bytes(8, "little")
                    if ex.sum(marker) != sum(marker) or raw.bump_mark() != top or mem.read(0, len(mem)).find(marker) >= 0:
                        fail(f"worker {k}: scratch not wiped and released")
        except BaseException as e:  # noqa: BLE001 - reported
            fail(f"worker {k}: {type(e).__name__}: {e}")
        with lock:
            counts["calls"] += done

    def grower() -> None:
        try:
            start_line.wait(GENEROUS)
            while not workers_done.is_set():
                inst = module.instantiate(cdef=cd, release_gil=True)
                mem = inst.memory
                for _ in range(4):
                    old = mem.grow(1)
                    addr = old * 65536
                    mem.write(addr, b"grown")
                    if mem.read(addr, 5) != b"grown":
                        fail("grower: read back wrong")
                    with lock:
                        counts["side_grows"] += 1
                if inst.exports.sum(b"\x01" * 10) != 10:
                    fail("grower: sum wrong")
                with lock:
                    counts["side_instances"] += 1
                del inst, mem
        except BaseException as e:  # noqa: BLE001 - reported
            fail(f"grower: {type(e).__name__}: {e}")

    def reader() -> None:
        try:
            inst = module.instantiate(cdef=cd, release_gil=True)
            mem = inst.memory
            start_line.wait(GENEROUS)
            i = 0
            while not workers_done.is_set():
                payload = i.to_bytes(8, "little")
                mem.write(1024, payload)
                if mem.read(1024, 8) != payload or bytes(mem.view(1024, 8)) != payload:
                    fail("reader: memory read wrong")
                if inst.exports.sum(payload) != sum(payload):
                    fail("reader: sum wrong")
                i += 1
                with lock:
                    counts["side_reads"] += 2
                    counts["side_calls"] += 1
        except BaseException as e:  # noqa: BLE001 - reported
            fail(f"reader: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=worker, args=(k,), name=f"stress-worker-{k}") for k in range(workers)]
    side = [threading.Thread(target=grower, name="stress-grower"), threading.Thread(target=reader, name="stress-reader")]
    for t in threads + side:
        t.start()
    start = time.perf_counter()
    start_line.wait(GENEROUS)
    misuse = misuse_rounds_run(misuse_rounds, fail)
    for t in threads:
        t.join()
    workers_done.set()
    for t in side:
        t.join()
    seconds = time.perf_counter() - start
    pool.close()
    expected = calls_per_worker * workers
    if counts["calls"] != expected:
        fail(f"{counts['calls']} calls made, {expected} expected")
    return {"workers": workers, "calls_per_worker": calls_per_worker, "seconds": round(seconds, 3),
            "counts": counts, "misuse": misuse, "errors": errors, "ok": not errors}


def misuse_rounds_run(rounds: int, fail: Any) -> Dict[str, int]:
    """`rounds` times: another thread inside a release_gil call of an instance; this thread's call,
    grow and global read on that instance must each raise StoreInUseError."""
    import wasmffi

    inst = wasmffi.load(MISUSE_WAT, release_gil=True, timeout=GENEROUS)
    mem, add, g = inst.memory, inst.exports.add, inst.exports.g
    wait_flag = inst.exports.wait_flag
    refused = {"call": 0, "grow": 0, "global": 0}
    for r in range(rounds):
        mem.write(0, bytes(8))
        outcome: List[Any] = []
        returned = threading.Event()

        def inside() -> None:
            try:
                wait_flag()
                outcome.append("returned")
            except BaseException as e:  # noqa: BLE001 - checked below
                outcome.append(e)
            returned.set()

        t = threading.Thread(target=inside)
        t.start()
        deadline = time.monotonic() + GENEROUS
        while mem.read(4, 1) != b"\x01":  # the guest's own "I am inside" flag
            if time.monotonic() > deadline or returned.is_set():
                fail(f"misuse round {r}: the other thread never got inside wait_flag ({outcome})")
                break
            time.sleep(0)  # lets the other thread run; not a timing guess
        for what, attempt in (("call", lambda: add(1, 2)), ("grow", lambda: mem.grow(1)),
                              ("global", lambda: g.value)):
            try:
                attempt()
                fail(f"misuse round {r}: {what} was not refused")
            except wasmffi.StoreInUseError:
                refused[what] += 1
            except BaseException as e:  # noqa: BLE001 - reported
                fail(f"misuse round {r}: {what} raised {type(e).__name__}: {e}")
        mem.write(0, b"\x01")
        if not returned.wait(GENEROUS):
            fail(f"misuse round {r}: wait_flag did not return")
        t.join(GENEROUS)
        if outcome != ["returned"]:
            fail(f"misuse round {r}: wait_flag: {outcome}")
        if add(1, 2) != 3 or mem.pages != 1 or g.value != 7:
            fail(f"misuse round {r}: the instance is not as it was")
    refused["rounds"] = rounds
    return refused


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=float(os.environ.get("SOAK_SCALE", "1")),
                   help="multiplies the counts (default $SOAK_SCALE or 1)")
    p.add_argument("--json", metavar="PATH", help="write the result as JSON here")
    args = p.parse_args(argv)
    calls = max(4, int(FULL_CALLS * args.scale) // 4 * 4)  # 4 calls a round
    rounds = max(5, int(FULL_MISUSE * args.scale))
    result = run(calls, rounds)
    result.update(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), python=platform.python_version(),
                  scale=args.scale)
    c = result["counts"]
    print(f"stress: {result['workers']} threads x {calls:,} calls (Pool, release_gil=True) in {result['seconds']:.1f} s; "
          f"side: {c['side_instances']:,} instances made and dropped, {c['side_grows']:,} grows, "
          f"{c['side_reads']:,} memory reads, {c['side_calls']:,} calls; misuse: {rounds} rounds, refused "
          f"call {result['misuse']['call']}, grow {result['misuse']['grow']}, global {result['misuse']['global']}; "
          f"{'ok' if result['ok'] else 'FAILED'}")
    for e in result["errors"]:
        print(f"stress: {e}", file=sys.stderr)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
