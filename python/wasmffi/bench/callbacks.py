"""`python -m wasmffi bench callbacks`: a wasm loop calling an imported Python function, against wasmtime-py."""

from __future__ import annotations

import math
import textwrap
from typing import Any, Callable, Dict, List, Optional, TextIO, Tuple

from ._timing import (FOOTER, Case, Progress, Settings, evaluate_ratio_targets, format_targets, measure,
                      ratio_table, run_group)

HELP = "wasm calling Python: a loop of N calls to an imported host function, wasmffi vs wasmtime-py"

# N calls per timed run: enough that the one call into wasm around them is noise.
N = 1000

# The shape of wasmtime-py issue #140: a wasm loop calling an import N times.
LOOP_WAT = """(module
  (import "env" "noop" (func $noop (param i32) (result i32)))
  (import "env" "gcd" (func $gcd (param i64 i64) (result i64)))
  (func (export "noop_loop") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    block
      loop
        local.get $i local.get $n i32.ge_u br_if 1
        local.get $i call $noop local.get $acc i32.add local.set $acc
        local.get $i i32.const 1 i32.add local.set $i
        br 0
      end
    end
    local.get $acc)
  (func (export "gcd_loop") (param $n i32) (result i64)
    (local $i i32) (local $acc i64)
    block
      loop
        local.get $i local.get $n i32.ge_u br_if 1
        i64.const 16516842 local.get $i i64.extend_i32_u i64.add i64.const 154654684 call $gcd
        local.get $acc i64.add local.set $acc
        local.get $i i32.const 1 i32.add local.set $i
        br 0
      end
    end
    local.get $acc))"""

# Declared imports (cdef): the same loop calling host functions whose C types the core converts
# (two int32_t; a 64-byte `const uint8_t *` buffer with its length, read from guest memory). A
# module of its own, so that the undeclared loops above run exactly as before.
CDEF_WAT = """(module
  (import "env" "cdef_int" (func $int (param i32 i32) (result i32)))
  (import "env" "cdef_buf" (func $buf (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "int_loop") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    block
      loop
        local.get $i local.get $n i32.ge_u br_if 1
        local.get $i i32.const 7 call $int local.get $acc i32.add local.set $acc
        local.get $i i32.const 1 i32.add local.set $i
        br 0
      end
    end
    local.get $acc)
  (func (export "buf_loop") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    block
      loop
        local.get $i local.get $n i32.ge_u br_if 1
        i32.const 1024 i32.const 64 call $buf local.get $acc i32.add local.set $acc
        local.get $i i32.const 1 i32.add local.set $i
        br 0
      end
    end
    local.get $acc))"""
CDEF = "int32_t cdef_int(int32_t a, int32_t b); int32_t cdef_buf(const uint8_t *p, size_t n);"
BUF_LEN = 64

NAMES = ["callback_noop_ns", "callback_math_gcd_ns", "callback_cdef_int_ns", "callback_cdef_buf_ns",
         "wasmtime_py_callback_noop_ns", "wasmtime_py_callback_math_gcd_ns", "py_loop_call_noop_ns"]
OPTIONAL_ROWS = {"wasmtime_py_callback_noop_ns": "wasmtime-py not installed",
                 "wasmtime_py_callback_math_gcd_ns": "wasmtime-py not installed"}
STATEMENTS = {
    "callback_noop_ns": f"inst.exports.noop_loop({N}) / {N}; host function lambda x: x",
    "callback_math_gcd_ns": f"inst.exports.gcd_loop({N}) / {N}; host function math.gcd",
    "callback_cdef_int_ns": f"inst.exports.int_loop({N}) / {N}; declared `int32_t cdef_int(int32_t a, "
                            f"int32_t b)`, host function lambda a, b: a",
    "callback_cdef_buf_ns": f"inst.exports.buf_loop({N}) / {N}; declared `int32_t cdef_buf(const uint8_t *p, "
                            f"size_t n)`, {BUF_LEN} bytes, host function len",
    "py_loop_call_noop_ns": f"for i in range({N}): f(i)  / {N}; f = lambda x: x",
}
TARGETS = [
    ("callback_noop_ns <= 2 x py_loop_call_noop_ns", "callback_noop_ns", "<=", 2.0, "py_loop_call_noop_ns"),
    ("wasmtime_py_callback_noop_ns >= 20 x callback_noop_ns", "wasmtime_py_callback_noop_ns", ">=", 20.0,
     "callback_noop_ns"),
    ("callback_cdef_int_ns <= 1.2 x callback_noop_ns", "callback_cdef_int_ns", "<=", 1.2, "callback_noop_ns"),
    ("callback_cdef_buf_ns <= 2 x callback_noop_ns", "callback_cdef_buf_ns", "<=", 2.0, "callback_noop_ns"),
]


def expected_sums() -> Tuple[int, int]:
    noop = sum(range(N)) & 0xFFFFFFFF
    noop = noop - (1 << 32) if noop >= 1 << 31 else noop
    gcd = sum(math.gcd(16516842 + i, 154654684) for i in range(N))
    return noop, gcd


def cdef_loops() -> Tuple[Any, Any]:
    """(int_loop, buf_loop) of an instance whose two imports are declared in CDEF; each loop's
    sum is checked once."""
    import wasmffi

    inst = wasmffi.load(CDEF_WAT, {"env": {"cdef_int": lambda a, b: a, "cdef_buf": len}}, cdef=CDEF)
    int_loop, buf_loop = inst.raw_exports.int_loop, inst.raw_exports.buf_loop
    got, want = (int_loop(N), buf_loop(N)), (expected_sums()[0], BUF_LEN * N)
    if got != want:
        raise AssertionError(f"wasmffi declared-import loops returned {got}, expected {want}")
    return int_loop, buf_loop


def wasmtime_py_loops(noop: Callable[[int], int],
                      gcd: Callable[[int, int], int]) -> Optional[Tuple[Any, Any, Any]]:
    """(noop_loop, gcd_loop, store) through wasmtime-py with the same host functions, or None."""
    try:
        import wasmtime
    except ImportError:
        return None
    store = wasmtime.Store()
    i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
    f_noop = wasmtime.Func(store, wasmtime.FuncType([i32], [i32]), noop)
    f_gcd = wasmtime.Func(store, wasmtime.FuncType([i64, i64], [i64]), gcd)
    inst = wasmtime.Instance(store, wasmtime.Module(store.engine, LOOP_WAT), [f_noop, f_gcd])
    ex = inst.exports(store)
    return ex["noop_loop"], ex["gcd_loop"], store


def build_cases() -> List[Case]:
    import wasmffi

    noop = lambda x: x  # noqa: E731  (the host function of issue #140's shape)
    inst = wasmffi.load(LOOP_WAT, {"env": {"noop": noop, "gcd": math.gcd}})
    want = expected_sums()
    got = (inst.exports.noop_loop(N), inst.exports.gcd_loop(N))
    if got != want:
        raise AssertionError(f"wasmffi loops returned {got}, expected {want}")
    cases = [
        Case("callback_noop_ns", f"f({N})", {"f": inst.exports.noop_loop}),
        Case("callback_math_gcd_ns", f"f({N})", {"f": inst.exports.gcd_loop}),
    ]
    int_loop, buf_loop = cdef_loops()
    cases += [
        Case("callback_cdef_int_ns", f"f({N})", {"f": int_loop}),
        Case("callback_cdef_buf_ns", f"f({N})", {"f": buf_loop}),
        Case("py_loop_call_noop_ns", f"for i in r: f(i)", {"f": noop, "r": range(N)}),
    ]
    wt = wasmtime_py_loops(noop, math.gcd)
    if wt is not None:
        wt_noop, wt_gcd, store = wt
        got = (wt_noop(store, N), wt_gcd(store, N))
        if got != want:
            raise AssertionError(f"wasmtime-py loops returned {got}, expected {want}")
        cases += [
            Case("wasmtime_py_callback_noop_ns", f"f(store, {N})", {"f": wt_noop, "store": store}),
            Case("wasmtime_py_callback_math_gcd_ns", f"f(store, {N})", {"f": wt_gcd, "store": store}),
        ]
    return cases


def evaluate_targets(ns: Dict[str, Optional[float]]) -> Dict[str, Dict[str, Any]]:
    return evaluate_ratio_targets(TARGETS, ns, OPTIONAL_ROWS)


def format_report(ns: Dict[str, Optional[float]], targets: Dict[str, Dict[str, Any]], settings: Settings) -> str:
    lines = ratio_table(NAMES, ns, "py_loop_call_noop_ns", OPTIONAL_ROWS, ("benchmark", "ns/callback", "x py loop"),
                        (36, 12))
    lines.extend(f"{name}: {text}" for name, text in STATEMENTS.items())
    lines.append(textwrap.fill(FOOTER.format(repeats=settings.repeats, target=settings.target)
                               + f" Each figure is one timed run of {N} callbacks divided by {N}.", 78))
    lines.append("")
    lines.extend(format_targets(targets, 54))
    lines.append("")
    return "\n".join(lines)


def collect(quick: bool = False, progress: Progress = None) -> Dict[str, Any]:
    """The group's figures (ns per callback, None for an absent peer), targets, notes and table."""
    settings = Settings.for_mode(quick)
    cases = build_cases()
    messages = []
    if not any(c.name.startswith("wasmtime_py_") for c in cases):
        messages.append("wasmtime-py is not installed: the wasmtime_py_* rows are unavailable (null).")
    ns: Dict[str, Optional[float]] = dict.fromkeys(NAMES)
    ns.update({name: v / N for name, v in measure(cases, settings, progress).items()})
    targets = evaluate_targets(ns)
    notes = {k: OPTIONAL_ROWS.get(k, "not measured") for k in NAMES if ns[k] is None}
    return {"figures": ns, "targets": targets, "notes": notes, "messages": messages,
            "table": format_report(ns, targets, settings)}


def run(json_path: Optional[str] = None, quick: bool = False, out: Optional[TextIO] = None) -> int:
    return run_group(collect, json_path, quick, out)
