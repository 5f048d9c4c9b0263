"""`python -m wasmffi bench calls`: per-call overhead of wasmffi against wasmtime-py, pywasm3, Python and C."""

from __future__ import annotations

import functools
import textwrap
import math
import operator
from typing import Any, Dict, List, Optional, TextIO, Tuple

from ._timing import (FOOTER, Case, Progress, Settings, evaluate_ratio_targets, format_targets, measure,
                      ratio_table, run_group, wasmtime_py_export)

HELP = "per-call overhead: wasmffi vs wasmtime-py, pywasm3, pure Python, math.gcd and a C-call floor"

ADD_WAT = """(module
  (func (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add))"""

# The module from wasmtime-py issue #96, used verbatim for both libraries.
GCD_WAT = """(module
  (func $gcd (param i32 i32) (result i32)
    (local i32)
    block
      block
        local.get 0
        br_if 0
        local.get 1
        local.set 2
        br 1
      end
      loop
        local.get 1
        local.get 0
        local.tee 2
        i32.rem_u
        local.set 0
        local.get 2
        local.set 1
        local.get 0
        br_if 0
      end
    end
    local.get 2)
  (export "gcd" (func $gcd)))"""

# The same two modules as binaries, for pywasm3 (which takes no text). Assembled by wasmtime-py's
# wat2wasm from ADD_WAT and GCD_WAT above; tests/python/test_bench.py checks they still match.
ADD_WASM = bytes.fromhex(
    "0061736d0100000001070160027f7f017f030201000707010361646400000a09010700200020016a0b")
GCD_WASM = bytes.fromhex(
    "0061736d0100000001070160027f7f017f030201000707010367636400000a2c012a01017f0240024020000d0020"
    "0121020c010b03402001200022027021002002210120000d000b0b20020b000d046e616d650106010003676364")

A, B = 16516842, 154654684

NAMES = ["wasmffi_add", "wasmffi_add_inline", "wasmffi_add_item", "wasmffi_gcd", "pywasm3_add",
         "pywasm3_gcd", "wasmtime_py_gcd", "wasmtime_py_partial_gcd", "python_gcd", "math_gcd",
         "c_call_floor"]
# Rows of optional comparison packages, and what to say when one is not installed.
OPTIONAL_ROWS = {
    "wasmtime_py_gcd": "wasmtime-py not installed",
    "wasmtime_py_partial_gcd": "wasmtime-py not installed",
    "pywasm3_add": "pywasm3 not installed",
    "pywasm3_gcd": "pywasm3 not installed",
}
# What each row times, printed under the table.
STATEMENTS = {
    "wasmffi_add": "add(1, 2) with add = inst.exports.add bound once",
    "wasmffi_add_inline": "inst.exports.add(1, 2) written out in the timed statement",
    "wasmffi_add_item": 'inst.exports["add"](1, 2)',
    "pywasm3_add": "f(1, 2) with f = runtime.find_function(\"add\")",
}

# (name, numerator, factor, denominator, op): the check is  numerator op factor x denominator.
TARGETS = [
    ("wasmffi_add <= 3 x c_call_floor", "wasmffi_add", "<=", 3.0, "c_call_floor"),
    ("wasmffi_add_inline <= 1.5 x wasmffi_add", "wasmffi_add_inline", "<=", 1.5, "wasmffi_add"),
    ("wasmffi_add_item <= 1.5 x wasmffi_add", "wasmffi_add_item", "<=", 1.5, "wasmffi_add"),
    ("pywasm3_add >= 2 x wasmffi_add", "pywasm3_add", ">=", 2.0, "wasmffi_add"),
    ("wasmtime_py_gcd >= 100 x wasmffi_gcd", "wasmtime_py_gcd", ">=", 100.0, "wasmffi_gcd"),
    ("python_gcd >= 2 x wasmffi_gcd", "python_gcd", ">=", 2.0, "wasmffi_gcd"),
    ("wasmffi_gcd <= 2.5 x math_gcd", "wasmffi_gcd", "<=", 2.5, "math_gcd"),
]


def python_gcd(a: int, b: int) -> int:
    while a:
        a, b = b % a, a
    return b


def pywasm3_export(wasm: bytes, name: str) -> Optional[Tuple[Any, Tuple[Any, Any]]]:
    """(function, runtime) for `name` of a module run by pywasm3, or None when it is not installed.
    The runtime must stay referenced while the function is used."""
    try:
        import wasm3  # type: ignore[import-not-found]  # pywasm3 is optional and ships no type information
    except ImportError:
        return None
    env = wasm3.Environment()
    runtime = env.new_runtime(64 * 1024)
    runtime.load(env.parse_module(bytes(wasm)))
    return runtime.find_function(name), (env, runtime)


def build_cases() -> List[Case]:
    import wasmffi

    inst = wasmffi.load(ADD_WAT)
    add = inst.exports.add
    gcd = wasmffi.load(GCD_WAT).exports.gcd
    expected = math.gcd(A, B)
    if add(1, 2) != 3:
        raise AssertionError(f"wasmffi add(1, 2) returned {add(1, 2)!r}, expected 3")
    if operator.add(1, 2) != 3:  # pragma: no cover
        raise AssertionError("operator.add is broken")

    cases = [
        Case("wasmffi_add", "f(1, 2)", {"f": add}),
        Case("wasmffi_add_inline", "inst.exports.add(1, 2)", {"inst": inst}),
        Case("wasmffi_add_item", 'inst.exports["add"](1, 2)', {"inst": inst}),
        Case("wasmffi_gcd", "f(16516842, 154654684)", {"f": gcd}),
    ]
    got = {"wasmffi_gcd": gcd(A, B), "python_gcd": python_gcd(A, B), "math_gcd": math.gcd(A, B)}
    w3_add, w3_gcd = pywasm3_export(ADD_WASM, "add"), pywasm3_export(GCD_WASM, "gcd")
    if w3_add is not None and w3_gcd is not None:
        if w3_add[0](1, 2) != 3:
            raise AssertionError(f"pywasm3 add(1, 2) returned {w3_add[0](1, 2)!r}, expected 3")
        got["pywasm3_gcd"] = w3_gcd[0](A, B)
        cases += [
            Case("pywasm3_add", "f(1, 2)", {"f": w3_add[0], "keep": w3_add[1]}),
            Case("pywasm3_gcd", "f(16516842, 154654684)", {"f": w3_gcd[0], "keep": w3_gcd[1]}),
        ]
    wt = wasmtime_py_export(GCD_WAT, "gcd")
    if wt is not None:
        f, store = wt
        p = functools.partial(f, store)
        got["wasmtime_py_gcd"] = f(store, A, B)
        got["wasmtime_py_partial_gcd"] = p(A, B)
        cases += [
            Case("wasmtime_py_gcd", "f(store, 16516842, 154654684)", {"f": f, "store": store}),
            Case("wasmtime_py_partial_gcd", "p(16516842, 154654684)", {"p": p}),
        ]
    cases += [
        Case("python_gcd", "f(16516842, 154654684)", {"f": python_gcd}),
        Case("math_gcd", "f(16516842, 154654684)", {"f": math.gcd}),
        Case("c_call_floor", "f(1, 2)", {"f": operator.add}),
    ]
    wrong = {k: v for k, v in got.items() if v != expected}
    if wrong:
        raise AssertionError(f"gcd({A}, {B}) should be {expected} (math.gcd); got {wrong}")
    return cases


def evaluate_targets(ns: Dict[str, Optional[float]]) -> Dict[str, Dict[str, Any]]:
    return evaluate_ratio_targets(TARGETS, ns, OPTIONAL_ROWS)


def format_report(ns: Dict[str, Optional[float]], targets: Dict[str, Dict[str, Any]], env: Dict[str, Any],
                  settings: Settings) -> str:
    lines = ratio_table(NAMES, ns, "c_call_floor", OPTIONAL_ROWS, ("benchmark", "ns/call", "x c_call_floor"),
                        (26, 17))
    lines.extend(f"{name}: {text}" for name, text in STATEMENTS.items())
    lines.append(textwrap.fill(FOOTER.format(repeats=settings.repeats, target=settings.target)
                               + " c_call_floor is operator.add(1, 2): a C function call from the "
                               "same loop.", 78))
    lines.append("")
    lines.extend(format_targets(targets, 40))
    lines.append("")
    return "\n".join(lines)


def collect(quick: bool = False, progress: Progress = None) -> Dict[str, Any]:
    """The group's figures (ns per call, None for an absent peer), targets, notes and table."""
    settings = Settings.for_mode(quick)
    cases = build_cases()
    measured = {c.name for c in cases}
    messages = [f"{package} is not installed: the {prefix}* rows are unavailable (null)."
                for package, prefix in (("wasmtime-py", "wasmtime_py_"), ("pywasm3", "pywasm3_"))
                if not any(name.startswith(prefix) for name in measured)]
    ns: Dict[str, Optional[float]] = dict.fromkeys(NAMES)
    ns.update(measure(cases, settings, progress))
    targets = evaluate_targets(ns)
    notes = {k: OPTIONAL_ROWS.get(k, "not measured") for k in NAMES if ns[k] is None}
    return {"figures": ns, "targets": targets, "notes": notes, "messages": messages,
            "table": format_report(ns, targets, {}, settings)}


def run(json_path: Optional[str] = None, quick: bool = False, out: Optional[TextIO] = None) -> int:
    return run_group(collect, json_path, quick, out)
