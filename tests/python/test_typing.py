"""The typed package: the checked-in _core.pyi matches the extension, and mypy --strict passes on the package, examples and a typed client."""

import ast
import difflib
import pathlib
import subprocess
import sys

import pytest

import wasmffi
from wasmffi._errors import TRAP_CLASSES

ROOT = pathlib.Path(__file__).resolve().parents[2]
STUB = ROOT / "python" / "wasmffi" / "_core.pyi"
USAGE = ROOT / "tests" / "python" / "typing_usage.py"


def test_stub_matches_the_built_extension(tmp_path):
    out = tmp_path / "_core.pyi"
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "stubgen.py"), "-o", str(out)], capture_output=True,
                       text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, f"tools/stubgen.py failed:\n{r.stdout}{r.stderr}"
    new, old = out.read_text(encoding="utf-8"), STUB.read_text(encoding="utf-8")
    if new != old:
        diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), str(STUB), "regenerated"))
        pytest.fail(f"python/wasmffi/_core.pyi is out of date with the extension: run `make stubs`\n{diff}")


def test_package_is_marked_typed():
    assert (pathlib.Path(wasmffi.__file__).parent / "py.typed").is_file()
    assert STUB.is_file()


def test_mypy_strict_passes():
    """Settings in pyproject.toml [tool.mypy]: --strict on python/wasmffi, examples/, typing_usage.py."""
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-error-summary"], capture_output=True,
                       text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, f"mypy --strict found problems:\n{r.stdout}{r.stderr}"


def test_typing_usage_uses_every_public_name():
    tree = ast.parse(USAGE.read_text(encoding="utf-8"))
    used = {n.attr for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "wasmffi"}
    missing = sorted(set(wasmffi.__all__) - used)
    assert not missing, f"tests/python/typing_usage.py does not use wasmffi.{', wasmffi.'.join(missing)}"


def test_every_trap_class_is_exported_by_name():
    """__all__ spells the trap classes out (type checkers cannot expand *TRAP_CLASSES): keep them in step."""
    assert set(TRAP_CLASSES) <= set(wasmffi.__all__)
    assert all(getattr(wasmffi, name) is cls for name, cls in TRAP_CLASSES.items())
    assert len(wasmffi.__all__) == len(set(wasmffi.__all__))


def test_typing_usage_runs():
    sys.path.insert(0, str(USAGE.parent))
    try:
        import typing_usage
    finally:
        sys.path.remove(str(USAGE.parent))
    typing_usage.main()
