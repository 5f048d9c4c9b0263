"""`python -m wasmffi bench latency`: every figure it reports, with its unit and targets (the figures' values are not asserted: they are the benchmark's)."""

import json
import subprocess
import sys

from wasmffi.bench import ALL_GROUPS, BENCHMARKS, _report, group_module
from wasmffi.bench import latency


def test_registered_as_a_group():
    assert group_module("latency") is latency and "latency" in ALL_GROUPS and "latency" in BENCHMARKS
    assert isinstance(latency.HELP, str) and "\n" not in latency.HELP


def test_quick_run_reports_every_figure_and_evaluates_every_target(tmp_path):
    out = tmp_path / "latency.json"
    r = subprocess.run([sys.executable, "-m", "wasmffi", "bench", "latency", "--quick", "--json", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    for key in latency.NAMES:
        assert isinstance(data[key], float) and data[key] > 0, key
        assert _report.unit_of(key) == latency.UNITS[key]
    # Sanity, not speed: a call stopped by a timeout ran at least that long.
    for t in latency.TIMEOUTS_MS:
        assert data[f"timeout_{t}ms_stop_ms"] >= t
    assert list(data["targets"]) == [t[0] for t in latency.TARGETS]
    for label, t in data["targets"].items():
        assert t["pass"] in (True, False) and t["ratio"] > 0, label
        assert f"{'PASS' if t['pass'] else 'FAIL'}  {label}" in r.stdout
    assert data["quick"] is True


def test_a_missing_figure_leaves_its_target_unmeasured_with_the_reason():
    figures = dict.fromkeys(latency.NAMES, 1.0)
    figures["ctrl_c_ms"] = None
    targets = latency.evaluate_targets(figures, {"ctrl_c_ms": "not on the main thread"})
    assert targets["ctrl_c_ms <= 100"] == {"pass": None, "ratio": None, "required": "<= 100",
                                           "missing": ["ctrl_c_ms"], "reason": "not on the main thread"}
    assert targets["engine_teardown_us <= 1000"] == {"pass": True, "ratio": 1.0, "required": "<= 1000", "unit": "us"}
    figures["timeout_1ms_stop_ms"] = 2.5
    assert latency.evaluate_targets(figures, {})["timeout_1ms_stop_ms <= 2"]["pass"] is False
