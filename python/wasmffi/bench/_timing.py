"""Shared timing helper for the benchmarks: interleaved min-of-N timeit loops, in one process."""

from __future__ import annotations

import datetime
import os
import platform
import sys
import timeit
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, TextIO, Tuple

__all__ = ["Case", "Settings", "measure", "environment", "wasmtime_version", "package_version", "format_targets",
           "ratio_table", "wasmtime_py_export", "write_json", "run_group", "Progress", "FOOTER"]

# Receives short progress messages ("round 2/7") while a group measures.
Progress = Optional[Callable[[str], None]]

FOOTER = ("ns per call: minimum over {repeats} interleaved repeats of a compiled timeit loop "
          "(~{target:.2g} s each); nothing subtracted (the figures include the loop's own overhead).")


@dataclass
class Case:
    """One thing to time: `stmt` runs with every name in `env` bound as a local of the timing loop."""

    name: str
    stmt: str
    env: Mapping[str, object] = field(default_factory=dict)


@dataclass
class Settings:
    repeats: int = 7      # repeats per case; the minimum is reported
    target: float = 0.15  # seconds per repeat (autoranged)

    @classmethod
    def for_mode(cls, quick: bool) -> "Settings":
        return cls(repeats=3, target=0.02) if quick else cls()


def _timer(case: Case) -> timeit.Timer:
    # Bind every name as a local of timeit's inner function (LOAD_FAST in the loop, like a
    # caller's local variable), through uniquely named globals.
    glob = {f"_bench_{k}": v for k, v in case.env.items()}
    setup = "\n".join(f"{k} = _bench_{k}" for k in case.env) or "pass"
    return timeit.Timer(case.stmt, setup=setup, globals=glob)


def _calibrate(timer: timeit.Timer, target: float) -> int:
    """Loop count for one repeat to take about `target` seconds."""
    number = 1
    while True:
        t = timer.timeit(number)
        if t >= target / 10 or number >= 1 << 40:
            break
        # Grow by at most 100x per step, at least 2x.
        number *= max(2, min(100, int(target / 10 / max(t, 1e-9)) + 1))
    return max(1, round(number * target / t))


def measure(cases: List[Case], settings: Settings,
            progress: Optional[Callable[[str], None]] = None) -> Dict[str, float]:
    """ns per execution of each case's stmt: the minimum over `settings.repeats` repeats.

    Repeats are interleaved round-robin across all cases (and the order rotates each round), so
    load drift on a shared machine hits every case alike instead of whichever ran last.
    """
    timers = [_timer(c) for c in cases]
    numbers = []
    for timer in timers:
        timer.timeit(1)  # warm-up (first-call costs, page faults)
        numbers.append(_calibrate(timer, settings.target))
    best = [float("inf")] * len(cases)
    n = len(cases)
    for rnd in range(settings.repeats):
        if progress:
            progress(f"round {rnd + 1}/{settings.repeats}")
        for j in range(n):
            i = (j + rnd) % n
            t = timers[i].timeit(numbers[i])
            best[i] = min(best[i], t / numbers[i])
    return {c.name: b * 1e9 for c, b in zip(cases, best)}


def package_version(distribution: str, module: str) -> Optional[str]:
    """The installed version of a comparison package, or None when it is absent or cannot load."""
    try:
        __import__(module)
    except ImportError:
        return None
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover
        return None
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def wasmtime_version() -> Optional[str]:
    """The installed wasmtime-py version, or None when it is not installed (or cannot load)."""
    return package_version("wasmtime", "wasmtime")


def _cpu_model() -> str:
    proc = platform.processor()
    if proc and proc not in ("x86_64", "aarch64", "arm64", "i386", "i686"):
        return proc
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return proc or platform.machine() or "unknown"


def _load_average() -> Optional[float]:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # not on every platform
        return None


def environment() -> Dict[str, Any]:
    """Where and when the numbers were taken."""
    u = platform.uname()
    return {
        "python": sys.version.replace("\n", " "),
        "wasmtime": wasmtime_version(),
        "pywasm3": package_version("pywasm3", "wasm3"),
        "machine": {
            "processor": _cpu_model(),
            "uname": f"{u.system} {u.release} {u.machine}",
            "cpu_count": os.cpu_count(),
            # Other work on the machine skews timings: say how busy it was when the run began.
            "load_average_1m": _load_average(),
        },
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def print_environment(env: Mapping[str, Any], out: Optional[TextIO] = None) -> None:
    out = out or sys.stdout
    m = env["machine"]
    print(f"python:   {env['python']}", file=out)
    print(f"wasmtime: {env['wasmtime'] or 'wasmtime-py not installed'} (wasmtime-py)", file=out)
    if "pywasm3" in env:
        print(f"pywasm3:  {env['pywasm3'] or 'pywasm3 not installed'}", file=out)
    print(f"machine:  {m['processor']}; {m['uname']}; {m['cpu_count']} CPUs", file=out)
    print(f"date:     {env['date']}", file=out)


def ratio_table(names: Sequence[str], ns: Mapping[str, Optional[float]], reference: str,
                reasons: Mapping[str, str], columns: Tuple[str, str, str], widths: Tuple[int, int]) -> List[str]:
    """The figure table of a group whose rows are ns figures and their ratio to `reference`
    (which is always measured): a header, a rule, one row per name (an unmeasured one shows n/a
    and its reason from `reasons`), and a closing rule. `columns` are the three headings,
    `widths` those of the name and ratio columns (the ns column is 12 wide)."""
    floor = ns[reference]
    assert floor is not None, f"{reference} is always measured"
    name_w, ratio_w = widths
    rule = "-" * (name_w + 12 + ratio_w)
    lines = [f"{columns[0]:<{name_w}}{columns[1]:>12}{columns[2]:>{ratio_w}}", rule]
    for name in names:
        v = ns.get(name)
        if v is None:
            lines.append(f"{name:<{name_w}}{'n/a':>12}{'':>{ratio_w}}  ({reasons.get(name, 'not measured')})")
        else:
            lines.append(f"{name:<{name_w}}{v:>12.1f}{v / floor:>{ratio_w - 1}.2f}x")
    lines.append(rule)
    return lines


def format_targets(targets: Mapping[str, Dict[str, Any]], width: int) -> List[str]:
    """The "targets:" block both benchmarks print: PASS/FAIL with the measured ratio, or N/A."""
    lines = ["targets:"]
    for label, t in targets.items():
        if t["pass"] is None:
            lines.append(f"  N/A   {label:<{width}} ({t.get('reason', 'wasmtime-py not installed')})")
        else:
            status = "PASS" if t["pass"] else "FAIL"
            lines.append(f"  {status}  {label:<{width}} measured {t['ratio']:.2f}x (need {t['required']})")
    return lines


def format_figures(names: Any, figures: Mapping[str, Optional[float]], notes: Mapping[str, str],
                   units: Mapping[str, str], width: int) -> List[str]:
    """The figure table of a benchmark whose figures have units of their own (ms, us): a header,
    one row per name (n/a with the reason where not measured), a closing rule."""
    rule = "-" * (width + 12)
    lines = [f"{'figure':<{width}}{'value':>12}", rule]
    for name in names:
        v = figures.get(name)
        if v is None:
            lines.append(f"{name:<{width}}{'n/a':>12}  ({notes.get(name, 'not measured')})")
        else:
            lines.append(f"{name:<{width}}{v:>10.2f} {units[name]:<2}")
    lines.append(rule)
    return lines


# One target on a figure itself, in its unit: (label, key, "<=" or ">=", bound).
AbsoluteTarget = Tuple[str, str, str, float]


def evaluate_absolute_targets(specs: Sequence[AbsoluteTarget], figures: Mapping[str, Optional[float]],
                              notes: Mapping[str, str], units: Mapping[str, str]) -> Dict[str, Dict[str, Any]]:
    """Checks `figure op bound` for each of `specs`; an unmeasured figure gives pass None with the
    reason from `notes` (else "not measured")."""
    out: Dict[str, Dict[str, Any]] = {}
    for label, key, op, bound in specs:
        v = figures.get(key)
        required = f"{op} {bound:g}"
        if v is None:
            out[label] = {"pass": None, "ratio": None, "required": required, "missing": [key],
                          "reason": notes.get(key, "not measured")}
        else:
            out[label] = {"pass": v <= bound if op == "<=" else v >= bound, "ratio": v, "required": required,
                          "unit": units[key]}
    return out


def format_absolute_targets(targets: Mapping[str, Dict[str, Any]], specs: Any, units: Mapping[str, str],
                            width: int) -> List[str]:
    """Lines for targets on a figure itself, in its unit, not a ratio: `specs` holds
    (label, key, op, bound) rows, `units` each key's unit."""
    lines = []
    for label, key, _op, _bound in specs:
        t = targets[label]
        if t["pass"] is None:
            lines.append(f"  N/A   {label:<{width}} ({t['reason']})")
        else:
            lines.append(f"  {'PASS' if t['pass'] else 'FAIL'}  {label:<{width}} measured {t['ratio']:.2f} {units[key]}")
    return lines


def wasmtime_py_export(wat: str, name: str) -> Optional[Tuple[Any, Any]]:
    """(export, store) for `name` of a WAT module instantiated through wasmtime-py (the comparison
    anchor), or None when wasmtime-py is not installed."""
    try:
        import wasmtime
    except ImportError:
        return None
    store = wasmtime.Store()
    instance = wasmtime.Instance(store, wasmtime.Module(store.engine, wat), [])
    return instance.exports(store)[name], store


def write_json(path: str, data: Dict[str, Any], env: Mapping[str, Any], quick: bool, out: TextIO) -> None:
    """Writes a benchmark's results plus the environment it ran in, and says so on `out`."""
    import json

    data = dict(data)
    data.update(python=env["python"], wasmtime=env["wasmtime"], pywasm3=env.get("pywasm3"),
                machine=env["machine"], date=env["date"], quick=quick)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    print(f"wrote {path}", file=out)


# One ratio target: (label, numerator key, "<=" or ">=", factor, denominator key).
RatioTarget = Tuple[str, str, str, float, str]


def evaluate_ratio_targets(targets: Sequence[RatioTarget], ns: Mapping[str, Optional[float]],
                           reasons: Optional[Mapping[str, str]] = None) -> Dict[str, Dict[str, Any]]:
    """Checks `numerator op factor x denominator` for each target on measured figures. A target
    with an unmeasured side has pass None, the keys it lacks under "missing", and under "reason"
    why the first is absent (from `reasons`, else "not measured")."""
    out: Dict[str, Dict[str, Any]] = {}
    for label, num, op, factor, den in targets:
        a, b = ns.get(num), ns.get(den)
        required = f"{op} {factor:g}"
        if a is None or b is None:
            missing = [k for k, v in ((num, a), (den, b)) if v is None]
            out[label] = {"pass": None, "ratio": None, "required": required, "missing": missing,
                          "reason": (reasons or {}).get(missing[0], "not measured")}
            continue
        ratio = a / b
        out[label] = {"pass": ratio <= factor if op == "<=" else ratio >= factor, "ratio": ratio,
                      "required": required}
    return out



def run_group(collect: Callable[..., Dict[str, Any]], json_path: Optional[str], quick: bool,
              out: Optional[TextIO]) -> int:
    """What `python -m wasmffi bench GROUP` does with a group's collect(): prints its messages,
    the environment and its table, and writes the JSON (figures, targets, then any extra keys)."""
    out = out or sys.stdout
    env = environment()
    result = collect(quick=quick)
    for line in result.get("messages", []):
        print(line, file=out)
    print_environment(env, out)
    print(file=out)
    print(result["table"], file=out, end="")
    if json_path:
        data = {**result["figures"], "targets": result["targets"], **result.get("extra", {})}
        write_json(json_path, data, env, quick, out)
    return 0
