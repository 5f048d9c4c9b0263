"""The suite's strict mode (WASMFFI_REQUIRE_ALL=1, set by `make test` and CI): a missing prerequisite fails instead of skipping."""

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

import conftest

HERE = pathlib.Path(__file__).resolve().parent

# A small suite that asks conftest's helpers for things no machine has, and for things this one
# has; it runs with this directory's conftest.py as a plugin (`-p conftest`), hooks included.
PROBE = textwrap.dedent(f"""
    import pathlib
    from conftest import require_file, require_module, require_tool

    def test_absent_module():
        require_module("wasmffi_no_such_module")

    def test_absent_submodule():
        require_module("wasmffi_no_such_package.sub")

    def test_absent_tool():
        require_tool("wasmffi-no-such-tool")

    def test_absent_file():
        require_file(pathlib.Path("/nonexistent/wasmffi.wasm"), "nothing")

    def test_present_things():
        assert require_module("json").dumps(1) == "1"
        assert require_tool("sh")
        assert require_file(pathlib.Path({__file__!r}), "nothing")
    """)


def run_probe(tmp_path: pathlib.Path, strict: str | None) -> subprocess.CompletedProcess:
    (tmp_path / "test_probe.py").write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k != "WASMFFI_REQUIRE_ALL"}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), *filter(None, [env.get("PYTHONPATH")])])
    if strict is not None:
        env["WASMFFI_REQUIRE_ALL"] = strict
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "conftest",
                           "--rootdir",
                           str(tmp_path), str(tmp_path / "test_probe.py")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)


def summary(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("strict", [None, "0"])
def test_without_strict_mode_a_missing_prerequisite_skips_with_its_reason(tmp_path, strict):
    proc = run_probe(tmp_path, strict)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert summary(proc).startswith("1 passed, 4 skipped"), proc.stdout
    # Each skip is listed at the test that needed the prerequisite.
    assert "test_probe.py:5: the Python module 'wasmffi_no_such_module' is not installed" in proc.stdout
    assert "conftest.py" not in proc.stdout
    assert "the Python module 'wasmffi_no_such_module' is not installed" in proc.stdout
    assert "wasmffi-no-such-tool is not installed" in proc.stdout
    assert "/nonexistent/wasmffi.wasm is missing: run `make nothing`" in proc.stdout


def test_strict_mode_turns_each_missing_prerequisite_into_a_failure(tmp_path):
    proc = run_probe(tmp_path, "1")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert summary(proc).startswith("4 failed, 1 passed"), proc.stdout
    assert "skipped" not in summary(proc)
    assert proc.stdout.count("[WASMFFI_REQUIRE_ALL=1: missing prerequisites fail]") == 4


def test_a_module_that_is_installed_but_broken_is_an_error_not_a_skip(tmp_path, monkeypatch):
    # Only the module's own absence counts as missing: one that fails to import for another
    # reason (here a dependency of it that is absent) raises, in either mode.
    (tmp_path / "wasmffi_broken_probe.py").write_text("import wasmffi_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(conftest, "STRICT", False)
    with pytest.raises(ModuleNotFoundError, match="wasmffi_no_such_dependency"):
        conftest.require_module("wasmffi_broken_probe")


def test_make_test_and_ci_run_in_strict_mode():
    root = conftest.ROOT
    assert "WASMFFI_REQUIRE_ALL ?= 1" in (root / "Makefile").read_text()
    assert "WASMFFI_REQUIRE_ALL=$(WASMFFI_REQUIRE_ALL) WASMFFI_GUEST_DIR" in (root / "Makefile").read_text()
    assert "export WASMFFI_REQUIRE_ALL=1\nmake test\n" in (root / ".ci" / "run").read_text()
