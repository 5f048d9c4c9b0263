"""`python -m wasmffi bench marshal`: the keys it reports now, the ones left for cdef (None, said so), and its targets."""

import json
import subprocess
import sys

import pytest

from wasmffi.bench import marshal

MEASURED = ["wasmffi_add_ns", "manual_wasmtime_py_in64_ns", "alloc_bump_ns", "alloc_malloc_ns"]
PENDING = ["in64_ns", "inout64_ns", "alloc_scratch_ns"]


def test_quick_run_reports_every_key_and_marks_pending_ones(tmp_path):
    out = tmp_path / "marshal.json"
    r = subprocess.run([sys.executable, "-m", "wasmffi", "bench", "marshal", "--quick", "--json", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert set(MEASURED + PENDING) <= set(data)
    for key in MEASURED:
        assert isinstance(data[key], float) and data[key] > 0, key
    for key in PENDING:
        assert data[key] is None, key
        line = next(ln for ln in r.stdout.splitlines() if f" {key} " in ln)
        assert line.rstrip().endswith("None  (not implemented yet)")
    assert data["not_implemented"] == PENDING
    assert data["quick"] is True
    assert [t for t in data["targets"]] == [t[0] for t in marshal.TARGETS]
    for label, t in data["targets"].items():
        assert t["pass"] is None and t["ratio"] is None
        assert t["missing"] and set(t["missing"]) <= set(PENDING)
        assert f"N/A   {label}" in r.stdout
    assert "(unknown: in64_ns not implemented yet)" in r.stdout


def test_targets_are_evaluated_once_the_numbers_exist():
    ns = {"wasmffi_add_ns": 40.0, "in64_ns": 100.0, "inout64_ns": 150.0,
          "manual_wasmtime_py_in64_ns": 50_000.0}
    t = marshal.evaluate_targets(ns)
    assert t["in64_ns <= 3 x wasmffi_add_ns"] == {"pass": True, "ratio": 2.5, "required": "<= 3"}
    assert t["inout64_ns <= 3.5 x wasmffi_add_ns"]["pass"] is False
    assert t["inout64_ns <= 3.5 x wasmffi_add_ns"]["ratio"] == pytest.approx(3.75)
    assert t["manual_wasmtime_py_in64_ns >= 100 x in64_ns"] == {"pass": True, "ratio": 500.0,
                                                              "required": ">= 100"}
    report = marshal.format_report({**dict.fromkeys(marshal.KEYS), **ns}, t, marshal.Settings(), True)
    assert "PASS  in64_ns <= 3 x wasmffi_add_ns" in report
    assert "FAIL  inout64_ns <= 3.5 x wasmffi_add_ns" in report


def test_a_pending_row_is_plugged_in_by_giving_it_a_builder(monkeypatch, tmp_path):
    """What the cdef work does: replace build=None with a function returning the Case."""
    rows = [marshal.Row(r.key, r.label, r.build, r.needs_wasmtime) for r in marshal.ROWS]
    rows[0].build = lambda g: marshal.Case("in64_ns", "f(1, 2)", {"f": max})
    monkeypatch.setattr(marshal, "ROWS", rows)
    g = marshal.guests(str(tmp_path))
    names = [c.name for c in marshal.build_cases(g)]
    assert names[0] == "in64_ns" and "inout64_ns" not in names and "alloc_scratch_ns" not in names


def test_guest_dir_without_the_modules_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("WASMFFI_GUEST_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"lacks .*cstr\.wasm, .*cstr_libc\.wasm: run `make guest`"):
        marshal.guests(str(tmp_path))
