"""`python -m wasmffi bench callbacks --quick --json`: the keys and targets the issue names are reported."""

import json
import subprocess
import sys

from wasmffi.bench import callbacks

KEYS = ["callback_noop_ns", "callback_math_gcd_ns", "callback_cdef_int_ns", "callback_cdef_buf_ns",
        "wasmtime_py_callback_noop_ns",
        "wasmtime_py_callback_math_gcd_ns", "py_loop_call_noop_ns"]


def test_bench_callbacks_quick_reports_every_key_and_target(tmp_path):
    out = tmp_path / "callbacks.json"
    r = subprocess.run([sys.executable, "-m", "wasmffi", "bench", "callbacks", "--quick", "--json", str(out)],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    try:
        import wasmtime  # noqa: F401
        have_wasmtime = True
    except ImportError:
        have_wasmtime = False
    for key in KEYS:
        value = data[key]
        if value is None and key.startswith("wasmtime_py_") and not have_wasmtime:
            continue
        assert isinstance(value, float) and value > 0, (key, value)
    for label, *_ in callbacks.TARGETS:
        assert label in data["targets"]
        line = next(ln for ln in r.stdout.splitlines() if label in ln)
        assert "PASS" in line or "FAIL" in line or (not have_wasmtime and "N/A" in line), line


def test_the_loops_compute_the_same_sums_in_both_runtimes():
    cases = {c.name for c in callbacks.build_cases()}  # raises if any loop's sum is wrong
    assert {"callback_noop_ns", "callback_math_gcd_ns", "callback_cdef_int_ns", "callback_cdef_buf_ns",
            "py_loop_call_noop_ns"} <= cases
