"""`python -m wasmffi bench all`: every group's collect() gathered into report.json, report.md and report.png."""

from __future__ import annotations

import json
import math
import os
import sys
import textwrap
import time
import traceback
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, TextIO, Tuple

from . import ALL_GROUPS, group_module
from ._timing import environment

__all__ = ["collect_all", "write_report", "render_markdown", "format_summary", "summarize", "unit_of",
           "reference_of", "COMPARISONS", "main_all"]

# Units by key suffix; a key without one (the calls group's) is ns per call.
_SUFFIX_UNITS = (("_gbps", "GB/s"), ("_mb", "MB"), ("_ms", "ms"), ("_us", "us"), ("_ns", "ns"), ("_speedup", "x"))

# The figure each one is compared with in the report's ratio column: a group-wide reference
# ("*"), a per-key one, or for Monocypher each mc_* figure against its native_* twin.
REFERENCES: Dict[str, Dict[str, str]] = {
    "calls": {"*": "c_call_floor"},
    "memory": {"write_1mib_gbps": "floor_write_1mib_gbps", "read_1mib_gbps": "floor_read_1mib_gbps",
               "wasmtime_py_write_1mib_gbps": "floor_write_1mib_gbps",
               "wasmtime_py_read_1mib_gbps": "floor_read_1mib_gbps",
               "wasmtime_py_read_64b_ns": "read_64b_ns", "wasmtime_py_write_64b_ns": "write_64b_ns"},
    "marshal": {"*": "wasmffi_add_ns"},
    "callbacks": {"*": "py_loop_call_noop_ns"},
    "lifecycle": {"wasmtime_py_import_ms": "import_ms", "wasmtime_py_first_call_ms": "first_call_ms",
                  "wasmtime_py_compile_ms": "compile_ms", "compile_noepoch_ms": "compile_ms",
                  "wasmtime_py_epoch_compile_ms": "compile_ms",
                  "cache_load_ms": "compile_ms",
                  "wasmtime_py_instantiate_us": "instantiate_us",
                  "wasmtime_py_wasi_instantiate_us": "wasi_instantiate_us"},
    "size": {"wasmtime_py_repacked_wheel_mb": "repacked_wheel_mb", "wasmtime_py_installed_mb": "installed_mb"},
}

# The chart: one bar group per comparison, (title, unit, [(implementation, group, key), ...]).
COMPARISONS: List[Tuple[str, str, List[Tuple[str, str, str]]]] = [
    ("add(1, 2)", "ns per call", [("wasmffi", "calls", "wasmffi_add"), ("pywasm3", "calls", "pywasm3_add"),
                                  ("native / C floor", "calls", "c_call_floor")]),
    ("gcd(a, b)", "ns per call", [("wasmffi", "calls", "wasmffi_gcd"), ("wasmtime-py", "calls", "wasmtime_py_gcd"),
                                  ("pywasm3", "calls", "pywasm3_gcd"), ("native / C floor", "calls", "math_gcd"),
                                  ("pure Python", "calls", "python_gcd")]),
    ("read 64 B", "ns", [("wasmffi", "memory", "read_64b_ns"), ("wasmtime-py", "memory", "wasmtime_py_read_64b_ns")]),
    ("write 1 MiB", "GB/s (higher is better)",
     [("wasmffi", "memory", "write_1mib_gbps"), ("wasmtime-py", "memory", "wasmtime_py_write_1mib_gbps"),
      ("native / C floor", "memory", "floor_write_1mib_gbps")]),
    ("64 B marshalled call", "ns", [("wasmffi", "marshal", "in64_ns"),
                                    ("wasmtime-py", "marshal", "manual_wasmtime_py_in64_ns")]),
    ("callback wasm -> Python", "ns per callback",
     [("wasmffi", "callbacks", "callback_noop_ns"), ("wasmtime-py", "callbacks", "wasmtime_py_callback_noop_ns"),
      ("pure Python", "callbacks", "py_loop_call_noop_ns")]),
    ("import", "ms", [("wasmffi", "lifecycle", "import_ms"), ("wasmtime-py", "lifecycle", "wasmtime_py_import_ms")]),
    ("first call in a fresh process", "ms", [("wasmffi", "lifecycle", "first_call_ms"),
                                             ("wasmtime-py", "lifecycle", "wasmtime_py_first_call_ms")]),
    ("compile", "ms", [("wasmffi", "lifecycle", "compile_ms"), ("wasmtime-py", "lifecycle", "wasmtime_py_compile_ms"),
                       ("wasmtime-py, epoch checks", "lifecycle", "wasmtime_py_epoch_compile_ms")]),
    ("instantiate", "us", [("wasmffi", "lifecycle", "instantiate_us"),
                           ("wasmtime-py", "lifecycle", "wasmtime_py_instantiate_us")]),
    ("blake2b 64 B", "ns", [("wasmffi", "monocypher", "mc_blake2b_64_ns"),
                            ("native / C floor", "monocypher", "native_blake2b_64_ns")]),
    ("blake2b 1 MiB", "ms", [("wasmffi", "monocypher", "mc_blake2b_1mib_ms"),
                             ("native / C floor", "monocypher", "native_blake2b_1mib_ms")]),
    ("x25519", "us", [("wasmffi", "monocypher", "mc_x25519_us"), ("native / C floor", "monocypher", "native_x25519_us")]),
    ("wheel", "MB", [("wasmffi", "size", "repacked_wheel_mb"), ("wasmtime-py", "size", "wasmtime_py_repacked_wheel_mb")]),
    ("installed", "MB", [("wasmffi", "size", "installed_mb"), ("wasmtime-py", "size", "wasmtime_py_installed_mb")]),
]
COLORS = {"wasmffi": "#1f77b4", "wasmtime-py": "#ff7f0e", "pywasm3": "#2ca02c", "native / C floor": "#7f7f7f",
          "pure Python": "#d62728"}


def unit_of(key: str) -> str:
    for suffix, unit in _SUFFIX_UNITS:
        if key.endswith(suffix):
            return unit
    return "ns"


def reference_of(group: str, key: str, figures: Mapping[str, Any]) -> Optional[str]:
    """The key `key` is compared with in the report (same unit, measured), or None."""
    refs = REFERENCES.get(group, {})
    ref = refs.get(key, refs.get("*"))
    if ref is None and group == "monocypher" and key.startswith("mc_"):
        ref = "native_" + key[3:]
    if ref is None or ref == key or unit_of(ref) != unit_of(key) or not _is_number(figures.get(ref)):
        return None
    return ref


def _is_reference(group: str, key: str) -> bool:
    refs = REFERENCES.get(group, {})
    return key in refs.values() or (group == "monocypher" and key.startswith("native_"))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_result(name: str, result: Any) -> Dict[str, Any]:
    """A group's collect() result, checked for the shape `bench all` relies on."""
    if not isinstance(result, dict):
        raise TypeError(f"{name}.collect() returned {type(result).__name__}, expected a dict")
    for key, kind in (("figures", dict), ("targets", dict), ("table", str), ("notes", dict)):
        if not isinstance(result.get(key), kind):
            raise TypeError(f"{name}.collect() result lacks {key!r} ({kind.__name__})")
    for k, v in result["figures"].items():
        if v is not None and not _is_number(v):
            raise TypeError(f"{name}.collect() figure {k!r} is {v!r}, expected a number or None")
    return result


def _skipped(reason: str) -> Dict[str, Any]:
    return {"skipped": reason, "figures": {}, "targets": {}, "notes": {}}


def _target_counts(targets: Mapping[str, Mapping[str, Any]]) -> Tuple[int, int, int]:
    passed = sum(1 for t in targets.values() if t.get("pass") is True)
    failed = sum(1 for t in targets.values() if t.get("pass") is False)
    return passed, failed, len(targets) - passed - failed


def summarize(groups: Mapping[str, Mapping[str, Any]]) -> Dict[str, int]:
    """Target counts over every group (a target without both figures counts as not measured)."""
    totals = [0, 0, 0]
    for g in groups.values():
        for i, n in enumerate(_target_counts(g.get("targets", {}))):
            totals[i] += n
    return {"targets_passed": totals[0], "targets_failed": totals[1], "not_measured": totals[2],
            "groups_skipped": sum(1 for g in groups.values() if g.get("skipped"))}


def collect_all(groups: Sequence[str] = ALL_GROUPS, quick: bool = False, out: Optional[TextIO] = None,
                load: Callable[[str], Any] = group_module) -> Dict[str, Any]:
    """Runs each group's collect() in turn, with a progress line per group on `out`. A group whose
    module is missing, fails to import, or raises while measuring is recorded as skipped with the
    reason; the others still run."""
    out = out or sys.stdout
    report: Dict[str, Any] = {"environment": {**environment(), "quick": quick}, "groups": {}}
    tables: Dict[str, str] = {}
    for i, name in enumerate(groups, 1):
        head = f"[{i}/{len(groups)}] {name}"
        print(f"{head}: running{' (quick)' if quick else ''} ...", file=out, flush=True)
        start = time.perf_counter()
        entry: Dict[str, Any]
        try:
            module = load(name)
        except ModuleNotFoundError as e:
            if e.name == f"{__package__}.{name}":
                entry = _skipped("no such group module in this installation")
            else:
                entry = _skipped(f"import failed: needs the module {e.name!r}, which is not installed")
        except Exception as e:  # noqa: BLE001  (any import failure of one group must not end the report)
            entry = _skipped(f"import failed: {type(e).__name__}: {e}")
        else:
            try:
                result = _check_result(name, module.collect(quick=quick))
            except Exception as e:  # noqa: BLE001  (a failing group is reported, the rest still run)
                last = traceback.extract_tb(e.__traceback__)[-1]
                entry = _skipped(f"failed: {type(e).__name__}: {e} "
                                 f"({os.path.basename(last.filename)}:{last.lineno})")
            else:
                entry = {"figures": result["figures"], "targets": result["targets"], "notes": result["notes"]}
                if result.get("extra"):
                    entry["extra"] = result["extra"]
                tables[name] = result["table"]
        entry["seconds"] = round(time.perf_counter() - start, 2)
        report["groups"][name] = entry
        if entry.get("skipped"):
            print(f"{head}: SKIPPED: {entry['skipped']}", file=out, flush=True)
        else:
            p, f, n = _target_counts(entry["targets"])
            print(f"{head}: done in {entry['seconds']:.1f} s: {len(entry['figures'])} figures, "
                  f"targets {p} passed, {f} failed, {n} not measured", file=out, flush=True)
    report["summary"] = summarize(report["groups"])
    report["_tables"] = tables  # the groups' text tables, for report.md only (not in the JSON)
    return report


def _fmt(v: Optional[float]) -> str:
    if v is None:
        return "n/a"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if a >= 0.01 else f"{v:.2e}"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def environment_line(env: Mapping[str, Any]) -> str:
    m = env.get("machine", {})
    py = str(env.get("python", "?")).split(" ")[0]
    return (f"{env.get('date', '?')}, {m.get('processor', '?')}, {m.get('cpu_count', '?')} CPUs, "
            f"{m.get('uname', '?')}, Python {py}, wasmtime-py {env.get('wasmtime') or 'not installed'}, "
            f"pywasm3 {env.get('pywasm3') or 'not installed'}"
            + (f"; load average {m['load_average_1m']:g} at the start" if _is_number(m.get("load_average_1m")) else "")
            + ("; quick mode (fewer, shorter repeats: noisier)" if env.get("quick") else ""))


def render_groups_markdown(report: Mapping[str, Any], level: int = 2) -> List[str]:
    """One section per group: figures with unit and ratio, then its targets (or why it was skipped)."""
    h = "#" * level
    lines: List[str] = []
    for name, g in report["groups"].items():
        lines += [f"{h} {name}", ""]
        if g.get("skipped"):
            lines += [f"Skipped: {_md_escape(g['skipped'])}.", ""]
            continue
        figures = g["figures"]
        lines += ["| figure | value | unit | ratio |", "|---|---:|---|---:|"]
        for key, v in figures.items():
            ref = reference_of(name, key, figures) if v is not None else None
            ratio = f"{v / figures[ref]:.2f}× {ref}" if ref and figures[ref] else ""
            if not ratio and v is not None and _is_reference(name, key):
                ratio = "(reference)"
            if v is None:
                ratio = _md_escape(g.get("notes", {}).get(key, "not measured"))
            lines.append(f"| {key} | {_fmt(v)} | {unit_of(key)} | {ratio} |")
        lines.append("")
        if g["targets"]:
            lines += ["| target | measured | required | result |", "|---|---:|---|---|"]
            for label, t in g["targets"].items():
                result = {True: "PASS", False: "FAIL"}.get(t.get("pass"), "N/A")
                measured = _ratio_text(t)
                lines.append(f"| {_md_escape(label)} | {measured} | {t.get('required', '')} | **{result}** |")
            lines.append("")
    return lines


def _ratio_text(t: Mapping[str, Any]) -> str:
    """A target's measured ratio: two decimals, or four when two would round onto the limit (a
    FAIL reading "2.00x" against ">= 2" would look wrong)."""
    ratio = t.get("ratio")
    if not _is_number(ratio):
        return _md_escape(str(t.get("reason", "not measured")))
    try:
        limit = float(str(t.get("required", "")).split()[-1])
    except (ValueError, IndexError):
        limit = None
    digits = 4 if limit is not None and f"{ratio:.2f}" == f"{limit:.2f}" else 2
    if t.get("unit"):  # an absolute target (a figure against a bound): the figure in its unit
        return f"{ratio:.{digits}f} {t['unit']}"
    return f"{ratio:.{digits}f}×"


def summary_rows(report: Mapping[str, Any]) -> List[Tuple[str, str, str, str, str]]:
    rows = []
    for name, g in report["groups"].items():
        if g.get("skipped"):
            rows.append((name, "-", "-", "-", "skipped"))
            continue
        p, f, n = _target_counts(g["targets"])
        rows.append((name, str(p), str(f), str(n), "ok"))
    s = report["summary"]
    rows.append(("total", str(s["targets_passed"]), str(s["targets_failed"]), str(s["not_measured"]),
                 f"{s.get('groups_skipped', 0)} skipped"))
    return rows


def format_summary(report: Mapping[str, Any]) -> str:
    """The plain-text summary table printed at the end of `bench all` (and by --summary-only)."""
    head = ("group", "passed", "failed", "n/a", "status")
    rows = summary_rows(report)
    lines = [f"{head[0]:<12}{head[1]:>8}{head[2]:>8}{head[3]:>6}  {head[4]}", "-" * 46]
    for r in rows[:-1]:
        lines.append(f"{r[0]:<12}{r[1]:>8}{r[2]:>8}{r[3]:>6}  {r[4]}")
    lines.append("-" * 46)
    r = rows[-1]
    lines.append(f"{r[0]:<12}{r[1]:>8}{r[2]:>8}{r[3]:>6}  {r[4]}")
    return "\n".join(lines) + "\n"


def render_markdown(report: Mapping[str, Any]) -> str:
    """report.md: environment, the summary, one table per group with its targets, the groups' own
    text tables."""
    env = report["environment"]
    m = env.get("machine", {})
    lines = ["# wasmffi benchmark report", "",
             "Produced by `python -m wasmffi bench all --out DIR"
             + (" --quick" if env.get("quick") else "") + "`. Every figure comes from this one run, "
             "each group measured in one process with interleaved min-of-N timeit loops; ratios "
             "compare figures of the same run.", "",
             "## Environment", "", "| | |", "|---|---|",
             f"| date | {env.get('date', '?')} |",
             f"| python | {_md_escape(str(env.get('python', '?')))} |",
             f"| wasmtime-py | {env.get('wasmtime') or 'not installed'} |",
             f"| pywasm3 | {env.get('pywasm3') or 'not installed'} |",
             f"| machine | {m.get('processor', '?')}; {m.get('uname', '?')}; {m.get('cpu_count', '?')} CPUs |",
             f"| load average (1 min) at the start | {m.get('load_average_1m', 'unknown')} |",
             f"| mode | {'quick (fewer, shorter repeats: noisier)' if env.get('quick') else 'full'} |", "",
             "## Summary", "", "| group | targets passed | failed | not measured | status |", "|---|---:|---:|---:|---|"]
    lines += [f"| {' | '.join(r)} |" for r in summary_rows(report)]
    lines.append("")
    lines += render_groups_markdown(report, level=2)
    tables = report.get("_tables", {})
    if tables:
        lines += ["## The groups' own tables", ""]
        for name, table in tables.items():
            lines += [f"### {name}", "", "```", table.rstrip("\n"), "```", ""]
    return "\n".join(lines)


def render_chart(report: Mapping[str, Any], path: str) -> Optional[str]:
    """Writes the comparison chart to `path`; returns None, or why no chart was written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter
    except ImportError:
        return "matplotlib is not installed (pip install 'wasmffi[report]'): no report.png"
    panels = []
    for title, unit, impls in COMPARISONS:
        bars = [(label, report["groups"].get(group, {}).get("figures", {}).get(key))
                for label, group, key in impls]
        bars = [(label, v) for label, v in bars if _is_number(v) and v > 0]
        if len(bars) >= 2:
            panels.append((title, unit, bars))
    if not panels:
        return "no comparison has two measured figures: no report.png"
    cols = 2
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.4 * rows + 0.8), squeeze=False)
    for ax, (title, unit, bars) in zip(axes.flat, panels):
        labels = [b[0] for b in bars]
        values = [b[1] for b in bars]
        ax.barh(range(len(bars)), values, color=[COLORS.get(lb, "#999999") for lb in labels])
        ax.set_yticks(range(len(bars)), labels)
        ax.invert_yaxis()
        ax.set_xscale("log")
        # Decade labels only: labelled minor ticks collide on a short log axis.
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"{title} ({unit}, log scale)", fontsize=10)
        for y, v in enumerate(values):
            ax.text(v, y, f" {_fmt(v)}", va="center", fontsize=8)
        ax.set_xlim(min(values) / 2, max(values) * 8)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    # The title is wrapped and the panels laid out below it: one long line was cut at both edges.
    title = textwrap.fill(f"wasmffi benchmarks: {environment_line(report['environment'])}", 110)
    lines = title.count("\n") + 1
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.2 + 0.15 * lines) / fig.get_figheight()))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None


def write_report(report: Dict[str, Any], out_dir: str, out: Optional[TextIO] = None) -> Dict[str, str]:
    """Writes report.json, report.md and (with matplotlib) report.png into `out_dir`; returns the
    paths written. A missing chart is a note in the report, not an error."""
    out = out or sys.stdout
    os.makedirs(out_dir, exist_ok=True)
    paths = {"json": os.path.join(out_dir, "report.json"), "md": os.path.join(out_dir, "report.md")}
    png = os.path.join(out_dir, "report.png")
    why_no_chart = render_chart(report, png)
    if why_no_chart is None:
        paths["png"] = png
        report["chart"] = "report.png"
    else:
        report["chart"] = None
        report["chart_note"] = why_no_chart
        print(f"note: {why_no_chart}", file=out)
    data = {k: v for k, v in report.items() if not k.startswith("_")}
    with open(paths["json"], "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    md = render_markdown(report)
    if why_no_chart is None:
        md = md.replace("## Summary", "![wasmffi vs wasmtime-py, pywasm3, native and pure Python](report.png)\n\n"
                                      "## Summary", 1)
    else:
        md = md.replace("## Summary", f"(No chart: {why_no_chart}.)\n\n## Summary", 1)
    with open(paths["md"], "w", encoding="utf-8") as f:
        f.write(md)
    for kind, path in paths.items():
        print(f"wrote {path}", file=out)
    return paths


def load_report(path: str) -> Dict[str, Any]:
    """A report.json, checked for the keys the summary needs (ValueError naming what is wrong)."""
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not JSON: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("groups"), dict) or not isinstance(
            data.get("summary"), dict) or not isinstance(data.get("environment"), dict):
        raise ValueError(f"{path} is not a `bench all` report.json (needs environment, groups and summary)")
    return data


def main_all(out_dir: Optional[str], quick: bool, groups: Optional[str], summary_only: Optional[str],
             out: Optional[TextIO] = None) -> int:
    """`python -m wasmffi bench all`; returns the exit status (targets are reported, not asserted)."""
    out = out or sys.stdout
    if summary_only:
        try:
            report = load_report(summary_only)
        except (OSError, ValueError) as e:
            print(f"wasmffi bench all: error: --summary-only: {e}", file=sys.stderr)
            return 1
        print(format_summary(report), file=out, end="")
        return 0
    if not out_dir:
        print("wasmffi bench all: error: --out DIR is required (or --summary-only REPORT.json)", file=sys.stderr)
        return 2
    names = list(ALL_GROUPS)
    if groups:
        names = [g.strip() for g in groups.split(",") if g.strip()]
        unknown = [g for g in names if g not in ALL_GROUPS]
        if unknown or not names:
            print(f"wasmffi bench all: error: --groups: unknown group(s) {', '.join(unknown) or '(none given)'}; "
                  f"expected some of {', '.join(ALL_GROUPS)}", file=sys.stderr)
            return 2
    try:  # before measuring anything: a bad --out should not cost a whole run
        os.makedirs(out_dir, exist_ok=True)
        probe = os.path.join(out_dir, ".wasmffi-bench-write-test")
        with open(probe, "w", encoding="utf-8"):
            pass
        os.remove(probe)
    except OSError as e:
        print(f"wasmffi bench all: error: --out {out_dir}: cannot write there: {e.strerror or e}", file=sys.stderr)
        return 1
    report = collect_all(names, quick=quick, out=out)
    write_report(report, out_dir, out=out)
    print(file=out)
    print(format_summary(report), file=out, end="")
    return 0
