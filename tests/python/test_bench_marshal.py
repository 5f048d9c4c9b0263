"""`python -m wasmffi bench marshal`: every key it reports, and its targets."""

import json
import subprocess
import sys

import pytest

from wasmffi.bench import marshal

MEASURED = ["in64_ns", "inout64_ns", "wasmffi_add_ns", "manual_wasmtime_py_in64_ns", "alloc_bump_ns",
            "alloc_malloc_ns", "alloc_scratch_ns"]


def test_quick_run_reports_every_key_and_evaluates_every_target(tmp_path):
    out = tmp_path / "marshal.json"
    r = subprocess.run([sys.executable, "-m", "wasmffi", "bench", "marshal", "--quick", "--json", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert set(MEASURED) <= set(data)
    for key in MEASURED:
        assert isinstance(data[key], float) and data[key] > 0, key
    assert data["not_implemented"] == []
    assert data["quick"] is True
    assert [t for t in data["targets"]] == [t[0] for t in marshal.TARGETS]
    for label, t in data["targets"].items():
        assert t["pass"] in (True, False) and t["ratio"] > 0, label
        assert f"{'PASS' if t['pass'] else 'FAIL'}  {label}" in r.stdout


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


def test_a_row_without_a_builder_is_skipped(monkeypatch, tmp_path):
    rows = [marshal.Row(r.key, r.label, r.build, r.needs_wasmtime) for r in marshal.ROWS]
    rows[1].build = None
    monkeypatch.setattr(marshal, "ROWS", rows)
    g = marshal.guests(str(tmp_path))
    names = [c.name for c in marshal.build_cases(g)]
    assert names[0] == "in64_ns" and "inout64_ns" not in names and "alloc_scratch_ns" in names


def test_guest_dir_without_the_modules_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("WASMFFI_GUEST_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"lacks .*cstr\.wasm, .*cstr_libc\.wasm: run `make guest`"):
        marshal.guests(str(tmp_path))
