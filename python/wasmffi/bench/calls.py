"""`python -m wasmffi bench calls`: per-call overhead of wasmffi against wasmtime-py, Python and C."""

from __future__ import annotations

import functools
import textwrap
import math
import operator
import sys
from typing import Any, Dict, List, Optional, TextIO

from ._timing import (FOOTER, Case, Settings, environment, format_targets, measure, print_environment,
                      wasmtime_py_export, write_json)

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

A, B = 16516842, 154654684

NAMES = ["wasmffi_add", "wasmffi_gcd", "wasmtime_py_gcd", "wasmtime_py_partial_gcd",
         "python_gcd", "math_gcd", "c_call_floor"]
WASMTIME_ROWS = ("wasmtime_py_gcd", "wasmtime_py_partial_gcd")

# (name, numerator, factor, denominator, op): the check is  numerator op factor x denominator.
TARGETS = [
    ("wasmffi_add <= 3 x c_call_floor", "wasmffi_add", "<=", 3.0, "c_call_floor"),
    ("wasmtime_py_gcd >= 100 x wasmffi_gcd", "wasmtime_py_gcd", ">=", 100.0, "wasmffi_gcd"),
    ("python_gcd >= 2 x wasmffi_gcd", "python_gcd", ">=", 2.0, "wasmffi_gcd"),
    ("wasmffi_gcd <= 2.5 x math_gcd", "wasmffi_gcd", "<=", 2.5, "math_gcd"),
]


def python_gcd(a: int, b: int) -> int:
    while a:
        a, b = b % a, a
    return b


def build_cases() -> List[Case]:
    import wasmffi

    add = wasmffi.load(ADD_WAT).exports.add
    gcd = wasmffi.load(GCD_WAT).exports.gcd
    expected = math.gcd(A, B)
    if add(1, 2) != 3:
        raise AssertionError(f"wasmffi add(1, 2) returned {add(1, 2)!r}, expected 3")
    if operator.add(1, 2) != 3:  # pragma: no cover
        raise AssertionError("operator.add is broken")

    cases = [
        Case("wasmffi_add", "f(1, 2)", {"f": add}),
        Case("wasmffi_gcd", "f(16516842, 154654684)", {"f": gcd}),
    ]
    got = {"wasmffi_gcd": gcd(A, B), "python_gcd": python_gcd(A, B), "math_gcd": math.gcd(A, B)}
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
    out: Dict[str, Dict[str, Any]] = {}
    for label, num, op, factor, den in TARGETS:
        a, b = ns.get(num), ns.get(den)
        if a is None or b is None:
            out[label] = {"pass": None, "ratio": None, "required": f"{op} {factor:g}"}
            continue
        ratio = a / b
        ok = ratio <= factor if op == "<=" else ratio >= factor
        out[label] = {"pass": ok, "ratio": ratio, "required": f"{op} {factor:g}"}
    return out


def format_report(ns: Dict[str, Optional[float]], targets: Dict[str, Dict[str, Any]], env: Dict[str, Any],
                  settings: Settings) -> str:
    lines = []
    floor = ns["c_call_floor"]
    assert floor is not None, "c_call_floor is always measured"
    lines.append(f"{'benchmark':<26}{'ns/call':>12}{'x c_call_floor':>17}")
    lines.append("-" * 55)
    for name in NAMES:
        v = ns.get(name)
        if v is None:
            lines.append(f"{name:<26}{'n/a':>12}{'':>17}  (wasmtime-py not installed)")
        else:
            lines.append(f"{name:<26}{v:>12.1f}{v / floor:>16.2f}x")
    lines.append("-" * 55)
    lines.append(textwrap.fill(FOOTER.format(repeats=settings.repeats, target=settings.target)
                               + " c_call_floor is operator.add(1, 2): a C function call from the "
                               "same loop.", 78))
    lines.append("")
    lines.extend(format_targets(targets, 40))
    lines.append("")
    return "\n".join(lines)


def run(json_path: Optional[str] = None, quick: bool = False, out: Optional[TextIO] = None) -> int:
    out = out or sys.stdout
    settings = Settings.for_mode(quick)
    env = environment()
    cases = build_cases()
    if env["wasmtime"] is None or not any(c.name in WASMTIME_ROWS for c in cases):
        print("wasmtime-py is not installed: the wasmtime_py_* rows are unavailable (null).", file=out)
    ns: Dict[str, Optional[float]] = dict.fromkeys(NAMES)
    ns.update(measure(cases, settings))
    targets = evaluate_targets(ns)
    print_environment(env, out)
    print(file=out)
    print(format_report(ns, targets, env, settings), file=out, end="")
    if json_path:
        write_json(json_path, {**{name: ns[name] for name in NAMES}, "targets": targets}, env, quick, out)
    return 0
