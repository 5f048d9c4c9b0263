"""`python -m wasmffi bench size`: the wheel, installed and extension sizes beside wasmtime-py's,
measured from the files themselves (tests/python/test_wheel.py checks the repacked wheel against
a real one)."""

import json
import os
import subprocess
import sys
import zipfile

import pytest

import wasmffi
import wasmffi._core
from wasmffi.bench import ALL_GROUPS, BENCHMARKS, _report, group_module
from wasmffi.bench import size


def test_registered_as_a_group_with_units_the_report_knows():
    assert group_module("size") is size and "size" in ALL_GROUPS and "size" in BENCHMARKS
    assert isinstance(size.HELP, str) and "\n" not in size.HELP
    for key in size.NAMES:
        assert _report.unit_of(key) == "MB", key
    # Both size comparisons are drawn in the report's chart.
    drawn = {key for _title, _unit, impls in _report.COMPARISONS for _label, group, key in impls if group == "size"}
    assert drawn == {"repacked_wheel_mb", "wasmtime_py_repacked_wheel_mb", "installed_mb", "wasmtime_py_installed_mb"}


def test_run_reports_every_figure_and_evaluates_every_target(tmp_path):
    out = tmp_path / "size.json"
    r = subprocess.run([sys.executable, "-m", "wasmffi", "bench", "size", "--json", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    ext = os.path.getsize(wasmffi._core.__file__) / 1e6
    assert data["extension_mb"] == pytest.approx(ext)
    # The installed package holds the extension and more; deflated, it is smaller than on disk.
    assert ext < data["installed_mb"] < ext + 2
    assert 0 < data["repacked_wheel_mb"] < data["installed_mb"]
    assert 0 < data["wasmtime_py_repacked_wheel_mb"] < data["wasmtime_py_installed_mb"]
    assert list(data["targets"]) == [t[0] for t in size.TARGETS] + [t[0] for t in size.RATIO_TARGETS]
    for label, t in data["targets"].items():
        assert t["pass"] in (True, False) and t["ratio"] > 0, label
        assert f"{'PASS' if t['pass'] else 'FAIL'}  {label}" in r.stdout


def test_files_are_counted_once_without_bytecode_and_repacked_as_a_deflated_zip(tmp_path):
    pkg, ext = tmp_path / "pkg", tmp_path / "ext"
    (pkg / "__pycache__").mkdir(parents=True)
    (pkg / "sub").mkdir()
    ext.mkdir()
    (pkg / "__init__.py").write_bytes(b"x = 1\n" * 1000)
    (pkg / "sub" / "data.bin").write_bytes(os.urandom(3000))
    (pkg / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0" * 5000)
    (pkg / "stale.pyc").write_bytes(b"\0" * 700)
    (ext / "_core.so").write_bytes(os.urandom(2000))
    (ext / "__init__.py").write_bytes(b"shadowed by the package's own\n")
    dirs = [str(pkg), str(ext)]
    assert sorted(arc for _path, arc in size.package_files(dirs)) == ["__init__.py", "_core.so",
                                                                       os.path.join("sub", "data.bin")]
    assert size.installed_bytes(dirs) == 6000 + 3000 + 2000
    repacked = size.repacked_bytes(dirs)
    # Random bytes do not deflate, the repeated line does: between the two, plus zip headers.
    assert 5000 < repacked < 6000
    zpath = tmp_path / "same.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        for path, arc in size.package_files(dirs):
            z.write(path, arc)
    assert zpath.stat().st_size == repacked


def test_a_missing_wheel_leaves_only_its_own_figure_unmeasured():
    figures = dict.fromkeys(size.NAMES, 1.0)
    figures["wheel_mb"] = None
    targets = size.evaluate_targets(figures, {"wheel_mb": "no wheel"})
    assert all(t["pass"] is True for t in targets.values())
    figures["wasmtime_py_installed_mb"] = None
    targets = size.evaluate_targets(figures, {"wasmtime_py_installed_mb": "wasmtime-py is not installed"})
    t = targets["installed_mb <= wasmtime_py_installed_mb"]
    assert t["pass"] is None and t["reason"] == "wasmtime-py is not installed"
    assert targets["repacked_wheel_mb <= 6"] == {"pass": True, "ratio": 1.0, "required": "<= 6", "unit": "MB"}
