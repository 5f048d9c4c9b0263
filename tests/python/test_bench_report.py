"""`python -m wasmffi bench all`: report.json/md/png from the groups' collect(), failing or missing groups skipped with a note."""

import builtins
import importlib.util
import io
import json
import subprocess
import sys
import types

import pytest

from wasmffi.bench import ALL_GROUPS, BENCHMARKS, _report, callbacks, calls, group_module, marshal, memory

FAKE_TARGETS = {"fast <= 2 x slow": {"pass": True, "ratio": 0.5, "required": "<= 2"},
                "slow <= 0.1 x fast": {"pass": False, "ratio": 2.0, "required": "<= 0.1"},
                "gone >= 1 x fast": {"pass": None, "ratio": None, "required": ">= 1", "missing": ["gone"],
                                     "reason": "not installed here"}}


def fake_group(name, collect):
    mod = types.ModuleType(f"wasmffi.bench.{name}")
    mod.HELP = f"fake group {name}"
    mod.collect = collect
    return mod


def ok_collect(quick=False, progress=None):
    return {"figures": {"fast_ns": 10.0, "slow_ns": 20.0, "gone_ns": None}, "targets": FAKE_TARGETS,
            "notes": {"gone_ns": "not installed here"}, "table": "fast 10\nslow 20\n"}


def boom_collect(quick=False, progress=None):
    raise RuntimeError("the guest exploded")


def bad_shape_collect(quick=False, progress=None):
    return {"figures": {"x_ns": "fast"}, "targets": {}, "notes": {}, "table": ""}


@pytest.fixture
def fakes(monkeypatch):
    for name, collect in (("fakeok", ok_collect), ("fakeboom", boom_collect), ("fakebad", bad_shape_collect)):
        monkeypatch.setitem(sys.modules, f"wasmffi.bench.{name}", fake_group(name, collect))
    monkeypatch.delitem(sys.modules, "wasmffi.bench.fakemissing", raising=False)


def test_a_failing_group_does_not_kill_the_report(fakes, tmp_path):
    out = io.StringIO()
    report = _report.collect_all(["fakeboom", "fakeok", "fakemissing", "fakebad"], quick=True, out=out)
    paths = _report.write_report(report, str(tmp_path), out=out)
    log = out.getvalue()
    assert "[1/4] fakeboom: SKIPPED: failed: RuntimeError: the guest exploded" in log
    assert "[2/4] fakeok: done in" in log and "targets 1 passed, 1 failed, 1 not measured" in log
    assert "[3/4] fakemissing: SKIPPED: no such group module in this installation" in log
    assert "[4/4] fakebad: SKIPPED: failed: TypeError: fakebad.collect() figure 'x_ns' is 'fast'" in log

    data = json.loads((tmp_path / "report.json").read_text())
    assert set(data) >= {"environment", "groups", "summary"}
    assert data["environment"]["quick"] is True and "python" in data["environment"]
    assert list(data["groups"]) == ["fakeboom", "fakeok", "fakemissing", "fakebad"]
    ok = data["groups"]["fakeok"]
    assert ok["figures"] == {"fast_ns": 10.0, "slow_ns": 20.0, "gone_ns": None}
    assert ok["targets"] == FAKE_TARGETS and ok["notes"] == {"gone_ns": "not installed here"}
    assert "skipped" not in ok
    boom = data["groups"]["fakeboom"]
    assert boom["skipped"].startswith("failed: RuntimeError: the guest exploded")
    assert boom["figures"] == {} and boom["targets"] == {}
    assert data["summary"] == {"targets_passed": 1, "targets_failed": 1, "not_measured": 1, "groups_skipped": 3}
    assert "_tables" not in data

    md = (tmp_path / "report.md").read_text()
    assert "Produced by `python -m wasmffi bench all --out DIR --quick`." in md
    assert "| mode | quick (fewer, shorter repeats: noisier) |" in md
    assert "## fakeok" in md and "| fast_ns | 10.0 | ns |" in md
    assert "| fast <= 2 x slow | 0.50× | <= 2 | **PASS** |" in md
    assert "| slow <= 0.1 x fast | 2.00× | <= 0.1 | **FAIL** |" in md
    assert "| gone >= 1 x fast | not installed here | >= 1 | **N/A** |" in md
    assert "## fakeboom\n\nSkipped: failed: RuntimeError: the guest exploded" in md
    assert "| total | 1 | 1 | 1 | 3 skipped |" in md
    assert "```\nfast 10\nslow 20\n```" in md  # the group's own table, verbatim
    assert paths["json"].endswith("report.json") and paths["md"].endswith("report.md")


def test_a_group_missing_a_dependency_names_it(monkeypatch):
    def load(name):
        raise ModuleNotFoundError("No module named 'monocypher_wasm'", name="monocypher_wasm")

    report = _report.collect_all(["monocypher"], out=io.StringIO(), load=load)
    assert report["groups"]["monocypher"]["skipped"] == (
        "import failed: needs the module 'monocypher_wasm', which is not installed")


def test_without_matplotlib_there_is_no_chart_and_a_note(fakes, monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kw):
        if name.split(".")[0] == "matplotlib":
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    out = io.StringIO()
    report = _report.collect_all(["fakeok"], out=out)
    paths = _report.write_report(report, str(tmp_path), out=out)
    assert "png" not in paths and not (tmp_path / "report.png").exists()
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["chart"] is None and "matplotlib is not installed" in data["chart_note"]
    assert "note: matplotlib is not installed" in out.getvalue()
    assert "(No chart: matplotlib is not installed" in (tmp_path / "report.md").read_text()


def test_the_chart_is_a_png_when_matplotlib_is_installed(tmp_path):
    __import__("conftest").require_module("matplotlib")
    report = json.loads((__import__("conftest").ROOT / "tests/python/data/bench_report.json").read_text())
    assert _report.render_chart(report, str(tmp_path / "c.png")) is None
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chart_needs_two_measured_figures_in_some_comparison(tmp_path):
    report = {"environment": {}, "groups": {"calls": {"figures": {"wasmffi_add": 40.0}}}}
    why = _report.render_chart(report, str(tmp_path / "c.png"))
    if importlib.util.find_spec("matplotlib") is None:
        assert "matplotlib is not installed" in why
    else:
        assert why == "no comparison has two measured figures: no report.png"
    assert not (tmp_path / "c.png").exists()


def test_bench_all_quick_on_two_groups(tmp_path):
    out = tmp_path / "rep"
    r = subprocess.run([sys.executable, "-m", "wasmffi", "bench", "all", "--quick", "--groups", "calls,callbacks",
                        "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "[1/2] calls: running (quick) ..." in r.stdout and "[2/2] callbacks: done in" in r.stdout
    data = json.loads((out / "report.json").read_text())
    assert list(data["groups"]) == ["calls", "callbacks"]
    for mod in (calls, callbacks):
        g = data["groups"][mod.__name__.rsplit(".", 1)[1]]
        assert list(g["figures"]) == mod.NAMES
        assert list(g["targets"]) == [t[0] for t in mod.TARGETS]
        for key, v in g["figures"].items():
            assert (isinstance(v, float) and v > 0) or key in g["notes"], key
    passed = sum(t["pass"] is True for g in data["groups"].values() for t in g["targets"].values())
    failed = sum(t["pass"] is False for g in data["groups"].values() for t in g["targets"].values())
    assert data["summary"]["targets_passed"] == passed and data["summary"]["targets_failed"] == failed
    md = (out / "report.md").read_text()
    assert "## calls" in md and "× c_call_floor |" in md and "## callbacks" in md
    assert (out / "report.png").exists() == (importlib.util.find_spec("matplotlib") is not None)
    # The summary table ends the output, and --summary-only prints the same from the JSON.
    tail = r.stdout[r.stdout.index("group "):]
    assert "calls" in tail and "total" in tail
    s = subprocess.run([sys.executable, "-m", "wasmffi", "bench", "all", "--summary-only", str(out / "report.json")],
                       capture_output=True, text=True, timeout=60)
    assert s.returncode == 0 and s.stdout == tail


@pytest.mark.parametrize("argv, message", [
    (["--out", "x", "--groups", "calls,nope"], "--groups: unknown group(s) nope"),
    (["--groups", "calls"], "--out DIR is required"),
])
def test_bench_all_usage_errors(argv, message, tmp_path):
    r = subprocess.run([sys.executable, "-m", "wasmffi", "bench", "all", *argv], capture_output=True, text=True,
                       timeout=60, cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_summary_only_refuses_a_file_that_is_not_a_report(tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text("[1, 2]")
    r = subprocess.run([sys.executable, "-m", "wasmffi", "bench", "all", "--summary-only", str(bad)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "is not a `bench all` report.json" in r.stderr


@pytest.mark.parametrize("mod", [calls, memory, marshal, callbacks])
def test_groups_have_the_group_module_shape(mod):
    name = mod.__name__.rsplit(".", 1)[1]
    assert group_module(name) is mod and name in ALL_GROUPS and name in BENCHMARKS
    assert isinstance(mod.HELP, str) and mod.HELP and "\n" not in mod.HELP
    assert callable(mod.collect) and callable(mod.run)


def test_group_module_refuses_names_that_are_not_groups():
    with pytest.raises(ValueError, match="bad benchmark group name '_report'"):
        group_module("_report")


@pytest.mark.parametrize("ratio, required, text", [
    (1.99982, ">= 2", "1.9998×"), (2.0031, "<= 2", "2.0031×"), (2.71, "<= 3", "2.71×"), (0.5, "<= 2", "0.50×")])
def test_a_ratio_next_to_its_limit_shows_enough_digits(ratio, required, text):
    assert _report._ratio_text({"ratio": ratio, "required": required, "pass": None}) == text


def test_an_unwritable_out_dir_fails_before_measuring(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = subprocess.run([sys.executable, "-m", "wasmffi", "bench", "all", "--groups", "calls", "--out",
                        str(blocker / "sub")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"--out {blocker / 'sub'}: cannot write there" in r.stderr
    assert "[1/1] calls" not in r.stdout
