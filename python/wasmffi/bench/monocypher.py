"""`python -m wasmffi bench monocypher`: Monocypher compiled to wasm (monocypher_wasm) against the native pymonocypher binding."""

from __future__ import annotations

import importlib
import pathlib
import sys
from typing import Any, Callable, Dict, List, Optional, TextIO, Tuple

from ._timing import (FOOTER, Case, Settings, environment, evaluate_ratio_targets, format_targets, measure,
                      print_environment, write_json)

HELP = "Monocypher in wasm vs native pymonocypher: blake2b 64 B and 1 MiB, lock 1 KiB, x25519"
ROOT = pathlib.Path(__file__).resolve().parents[3]

# (key, label, unit divisor from ns, unit name)
ROWS: List[Tuple[str, str, float, str]] = [
    ("mc_blake2b_64_ns", "blake2b(64 B), wasm", 1.0, "ns"),
    ("native_blake2b_64_ns", "blake2b(64 B), native", 1.0, "ns"),
    ("mc_blake2b_1mib_ms", "blake2b(1 MiB), wasm", 1e6, "ms"),
    ("native_blake2b_1mib_ms", "blake2b(1 MiB), native", 1e6, "ms"),
    ("mc_lock_1k_ns", "lock(1 KiB), wasm", 1.0, "ns"),
    ("native_lock_1k_ns", "lock(1 KiB), native", 1.0, "ns"),
    ("mc_x25519_us", "x25519, wasm", 1e3, "us"),
    ("native_x25519_us", "x25519, native", 1e3, "us"),
]
TARGETS = [
    ("mc_blake2b_1mib_ms <= 1.25 x native", "mc_blake2b_1mib_ms", "<=", 1.25, "native_blake2b_1mib_ms"),
    ("mc_blake2b_64_ns <= 1.5 x native", "mc_blake2b_64_ns", "<=", 1.5, "native_blake2b_64_ns"),
]

# Fixed inputs (not secret: this is a benchmark); derived from a counter so runs are comparable.
DATA_64 = bytes((i * 7 + 3) & 0xFF for i in range(64))
DATA_1MIB = bytes((i * 13 + 5) & 0xFF for i in range(1 << 20))
PLAIN_1K = DATA_1MIB[:1024]
KEY = bytes(range(32))
NONCE = bytes(range(100, 124))
SECRET = bytes(range(200, 232))


def _import_wasm() -> Tuple[Optional[Any], Optional[str]]:
    """(module, None) or (None, reason): the installed monocypher_wasm, else the checkout's."""
    try:
        mod = importlib.import_module("monocypher_wasm")
    except ImportError:
        src = ROOT / "examples" / "monocypher-wasm"
        if not (src / "monocypher_wasm" / "__init__.py").is_file():
            return None, "monocypher_wasm is not installed (pip install the monocypher-wasm wheel)"
        sys.path.insert(0, str(src))
        try:
            mod = importlib.import_module("monocypher_wasm")
        finally:
            sys.path.remove(str(src))
    try:
        mod.wasm_path()
    except FileNotFoundError as e:
        return None, str(e)
    return mod, None


def _import_native() -> Tuple[Optional[Any], Optional[str]]:
    try:
        return importlib.import_module("monocypher"), None
    except ImportError:
        return None, "pymonocypher is not installed (pip install pymonocypher==4.0.3.4)"


def _cases(mc: Any, nat: Any) -> Dict[str, Case]:
    """One Case per figure whose side is available; each first checks it computes what the other
    side computes (or, without the other side, a known property)."""
    cases: Dict[str, Case] = {}
    if mc is not None and nat is not None:
        for data in (DATA_64, DATA_1MIB):
            if mc.blake2b(data) != nat.blake2b(data):
                raise AssertionError("monocypher_wasm.blake2b disagrees with pymonocypher")
        if mc.lock(KEY, NONCE, PLAIN_1K) != tuple(nat.lock(KEY, NONCE, PLAIN_1K)):
            raise AssertionError("monocypher_wasm.lock disagrees with pymonocypher")
        if mc.x25519(SECRET, KEY) != nat.x25519(SECRET, KEY):
            raise AssertionError("monocypher_wasm.x25519 disagrees with pymonocypher")
    if mc is not None:
        cases["mc_blake2b_64_ns"] = Case("mc_blake2b_64_ns", "f(d)", {"f": mc.blake2b, "d": DATA_64})
        cases["mc_blake2b_1mib_ms"] = Case("mc_blake2b_1mib_ms", "f(d)", {"f": mc.blake2b, "d": DATA_1MIB})
        cases["mc_lock_1k_ns"] = Case("mc_lock_1k_ns", "f(k, n, p)", {"f": mc.lock, "k": KEY, "n": NONCE, "p": PLAIN_1K})
        cases["mc_x25519_us"] = Case("mc_x25519_us", "f(s, p)", {"f": mc.x25519, "s": SECRET, "p": KEY})
    if nat is not None:
        cases["native_blake2b_64_ns"] = Case("native_blake2b_64_ns", "f(d)", {"f": nat.blake2b, "d": DATA_64})
        cases["native_blake2b_1mib_ms"] = Case("native_blake2b_1mib_ms", "f(d)", {"f": nat.blake2b, "d": DATA_1MIB})
        cases["native_lock_1k_ns"] = Case("native_lock_1k_ns", "f(k, n, p)",
                                          {"f": nat.lock, "k": KEY, "n": NONCE, "p": PLAIN_1K})
        cases["native_x25519_us"] = Case("native_x25519_us", "f(s, p)", {"f": nat.x25519, "s": SECRET, "p": KEY})
    return cases


def collect(quick: bool = False, progress: Optional[Callable[[str], None]] = None) -> Dict[str, Any]:
    """Figures (in each key's unit), targets, the printed table and the reasons for absent figures."""
    settings = Settings.for_mode(quick)
    mc, mc_reason = _import_wasm()
    nat, nat_reason = _import_native()
    cases = _cases(mc, nat)
    ns = measure(list(cases.values()), settings, progress) if cases else {}
    figures: Dict[str, Optional[float]] = {}
    notes: Dict[str, str] = {}
    for key, _label, div, _unit in ROWS:
        v = ns.get(key)
        figures[key] = None if v is None else v / div
        if v is None:
            notes[key] = (mc_reason if key.startswith("mc_") else nat_reason) or "not measured"
    targets = evaluate_ratio_targets(TARGETS, figures, notes)
    lines = [f"{'operation':<26} {'time':>12}  ratio wasm/native"]
    for key, label, _div, unit in ROWS:
        v = figures[key]
        text = "n/a" if v is None else f"{v:,.3f} {unit}" if unit == "ms" else f"{v:,.1f} {unit}"
        ratio = ""
        if key.startswith("mc_"):
            other = figures["native_" + key[3:]]
            if v is not None and other:
                ratio = f"{v / other:.2f}x"
        lines.append(f"{label:<26} {text:>12}  {ratio}")
    for key, why in notes.items():
        lines.append(f"  {key}: {why}")
    lines.append("")
    lines.extend(format_targets(targets, max(len(t[0]) for t in TARGETS)))
    lines.append("")
    lines.append("wasm: monocypher_wasm.blake2b/lock/x25519 (Monocypher 4.0.3 from the pymonocypher 4.0.3.4 "
                 "sdist, clang -O3, wasm32; one declared call each); native: the same functions of "
                 "pymonocypher 4.0.3.4 (Cython over the same C, built with -DBLAKE2_NO_UNROLLING).")
    lines.append(FOOTER.format(repeats=settings.repeats, target=settings.target))
    return {"figures": figures, "targets": targets, "table": "\n".join(lines), "notes": notes}


def run(json_path: Optional[str] = None, quick: bool = False, out: Optional[TextIO] = None) -> int:
    out = out or sys.stdout
    env = environment()
    print_environment(env, out)
    result = collect(quick)
    print(result["table"], file=out)
    if json_path:
        write_json(json_path, {**result["figures"], "targets": result["targets"], "notes": result["notes"]},
                   env, quick, out)
    return 0
