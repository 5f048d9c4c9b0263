"""Tests for the command line: `python -m wasmffi bench calls|memory --quick --json` and `inspect`."""

import json
import subprocess
import sys

import pytest

from wasmffi.__main__ import main

CALLS_KEYS = ["wasmffi_add", "wasmffi_gcd", "wasmtime_py_gcd", "wasmtime_py_partial_gcd",
              "python_gcd", "math_gcd", "c_call_floor"]
CALLS_TARGETS = ["wasmffi_add <= 3 x c_call_floor", "wasmtime_py_gcd >= 100 x wasmffi_gcd",
                 "python_gcd >= 2 x wasmffi_gcd", "wasmffi_gcd <= 2.5 x math_gcd"]
MEMORY_KEYS = ["write_64b_ns", "read_64b_ns", "write_1mib_gbps", "read_1mib_gbps",
               "floor_copy_1mib_gbps", "wasmtime_py_read_64b_ns", "wasmtime_py_write_1mib_gbps"]
MEMORY_TARGETS = ["wasmffi 1 MiB write >= 0.7 x floor throughput",
                  "wasmffi 1 MiB read >= 0.7 x floor throughput",
                  "wasmffi 64 B read >= 20x faster than wasmtime-py read"]

try:
    import wasmtime  # noqa: F401

    HAVE_WASMTIME = True
except ImportError:
    HAVE_WASMTIME = False

WAT = """(module
  (import "env" "log" (func (param i32)))
  (memory (export "memory") 1)
  (global (export "counter") (mut i64) (i64.const 0))
  (func (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add))"""


def run_cli(*args, cwd, timeout=120):
    return subprocess.run([sys.executable, "-m", "wasmffi", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def target_line(stdout, label):
    lines = [ln for ln in stdout.splitlines() if label in ln]
    assert lines, f"no target line for {label!r} in:\n{stdout}"
    return lines[0]


def check_numbers(data, keys, optional):
    for key in keys:
        assert key in data, f"{key} missing from the JSON: {sorted(data)}"
        value = data[key]
        if value is None and key in optional and not HAVE_WASMTIME:
            continue
        assert isinstance(value, float) and value > 0, f"{key} = {value!r}"


def test_bench_calls_quick(tmp_path):
    out = tmp_path / "calls.json"
    r = run_cli("bench", "calls", "--quick", "--json", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    check_numbers(data, CALLS_KEYS, optional={"wasmtime_py_gcd", "wasmtime_py_partial_gcd"})
    assert data["python"].startswith("%d.%d." % sys.version_info[:2])
    assert "wasmtime" in data
    if HAVE_WASMTIME:
        assert isinstance(data["wasmtime"], str) and data["wasmtime"]
    for name in CALLS_KEYS:
        assert name in r.stdout
    for label in CALLS_TARGETS:
        line = target_line(r.stdout, label)
        assert ("PASS" in line or "FAIL" in line) or (not HAVE_WASMTIME and "N/A" in line), line
    assert "nothing subtracted" in r.stdout


def test_bench_memory_quick(tmp_path):
    out = tmp_path / "memory.json"
    r = run_cli("bench", "memory", "--quick", "--json", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    check_numbers(data, MEMORY_KEYS, optional={"wasmtime_py_read_64b_ns", "wasmtime_py_write_1mib_gbps"})
    assert "python" in data and "wasmtime" in data
    for label in MEMORY_TARGETS:
        line = target_line(r.stdout, label)
        assert ("PASS" in line or "FAIL" in line) or (not HAVE_WASMTIME and "N/A" in line), line
    assert "GB/s" in r.stdout and "floor" in r.stdout


def test_inspect_prints_imports_and_exports(tmp_path):
    path = tmp_path / "m.wat"
    path.write_text(WAT)
    r = run_cli("inspect", str(path), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "env.log: func (i32) -> ()" in r.stdout
    assert "add: func (i32, i32) -> i32" in r.stdout
    assert "memory: memory" in r.stdout
    assert "counter: global" in r.stdout and "i64" in r.stdout
    assert r.stdout.index("imports:") < r.stdout.index("env.log") < r.stdout.index("exports:") < r.stdout.index("add:")


def test_inspect_in_process(tmp_path, capsys):
    path = tmp_path / "m.wat"
    path.write_text('(module (func (export "f") (param f64) (result f64 i32) local.get 0 i32.const 1))')
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "f: func (f64) -> (f64, i32)" in out
    assert "imports:\n  (none)" in out


def test_inspect_missing_file(tmp_path):
    r = run_cli("inspect", str(tmp_path / "nope.wasm"), cwd=tmp_path)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "nope.wasm" in r.stderr and "error" in r.stderr


def test_inspect_invalid_file(tmp_path):
    path = tmp_path / "bad.wat"
    path.write_text("(module (func (export \"f\") i32.add")  # truncated
    r = run_cli("inspect", str(path), cwd=tmp_path)
    assert r.returncode >= 0, (f"`wasmffi inspect` on invalid WAT crashed with signal {-r.returncode} "
                               "instead of raising wasmffi.CompileError")
    assert r.returncode == 1, f"exit status {r.returncode}; stderr: {r.stderr}"
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "bad.wat" in r.stderr and "error" in r.stderr


@pytest.mark.parametrize("argv", [[], ["bench"], ["bench", "nope"], ["inspect"],
                                  ["bench", "calls", "--bogus"], ["frobnicate"]])
def test_bad_usage_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert "usage:" in capsys.readouterr().err
