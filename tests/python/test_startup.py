"""Start-up: `import wasmffi` loads no C parser, benchmark, report or build code until they are used (fresh processes)."""

import json
import subprocess
import sys

import pytest

from conftest import guest_path

# Loaded on first use only: cdef (pycparser and its tables), the CLI's optional commands, and the
# classes few programs need (Pool: concurrent.futures; InstanceFactory: pickle and inspect).
LAZY = ("pycparser", "wasmffi.cdef", "wasmffi._marshal", "wasmffi.bench", "wasmffi._build", "wasmffi._stubgen",
        "wasmffi._pool", "wasmffi._factory", "concurrent.futures", "inspect", "tempfile")


def loaded_after(code: str) -> dict:
    """Runs `code` in a fresh interpreter and returns {prefix: [modules]} for each LAZY prefix with
    modules that the code loaded (those loaded at start-up, say by site, are not counted)."""
    script = (f"import json, sys\nbefore = set(sys.modules)\n{code}\n"
              "new = set(sys.modules) - before\n"
              f"found = {{p: sorted(m for m in new if m == p or m.startswith(p + '.')) for p in {LAZY!r}}}\n"
              "print(json.dumps({p: ms for p, ms in found.items() if ms}))")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])


def test_import_wasmffi_loads_neither_pycparser_nor_cdef():
    loaded = loaded_after("import wasmffi")
    assert "pycparser" not in loaded and "wasmffi.cdef" not in loaded, loaded


def test_import_wasmffi_loads_no_optional_module():
    assert loaded_after("import wasmffi") == {}


def test_load_and_call_loads_no_optional_module():
    loaded = loaded_after("import wasmffi\n"
                          "inst = wasmffi.load('(module (func (export \"add\") (param i32 i32) (result i32) "
                          "local.get 0 local.get 1 i32.add))')\n"
                          "assert inst.exports.add(2, 3) == 5")
    assert loaded == {}


@pytest.mark.parametrize("name", ["CDef", "CDefError", "sizeof", "alignof", "offsetof", "out"])
def test_cdef_names_load_cdef_on_first_use(name):
    loaded = loaded_after("import wasmffi\n"
                          "assert 'wasmffi.cdef' not in sys.modules\n"
                          f"obj = wasmffi.{name}\n"
                          "assert 'wasmffi.cdef' in sys.modules and 'pycparser' in sys.modules\n"
                          f"from wasmffi import cdef\nassert obj is cdef.{name}")
    assert "pycparser" in loaded and "wasmffi.cdef" in loaded


def test_lazy_names_are_listed_and_resolve():
    loaded = loaded_after("import wasmffi\n"
                          "assert {'CDef', 'sizeof', 'Pool', 'InstanceFactory'} <= set(dir(wasmffi))\n"
                          "from wasmffi import Pool, InstanceFactory, CDef\n"
                          "from wasmffi._pool import Pool as P\n"
                          "assert Pool is P and wasmffi.Pool is P\n"
                          "assert all(getattr(wasmffi, n) is not None for n in wasmffi.__all__)")
    assert {"pycparser", "wasmffi._pool", "wasmffi._factory"} <= set(loaded)


def test_unknown_attribute_is_an_attribute_error():
    import wasmffi

    with pytest.raises(AttributeError, match="module 'wasmffi' has no attribute 'NoSuchName'"):
        wasmffi.NoSuchName  # noqa: B018
    assert not hasattr(wasmffi, "cdef_parser")


def test_cdef_keyword_loads_cdef():
    loaded = loaded_after(f"import wasmffi\ninst = wasmffi.load({str(guest_path('cstr'))!r}, "
                          "cdef='size_t count_vowels(const char *s);')\n"
                          "assert inst.exports.count_vowels(b'education') == 5")
    assert "pycparser" in loaded


def test_cli_inspect_loads_no_bench_build_or_cdef():
    loaded = loaded_after("from wasmffi.__main__ import main\n"
                          f"assert main(['inspect', {str(guest_path('arith'))!r}]) == 0")
    assert not {"pycparser", "wasmffi.bench", "wasmffi._build", "wasmffi._stubgen"} & set(loaded), loaded


def test_cli_build_help_still_lists_its_options():
    r = subprocess.run([sys.executable, "-m", "wasmffi", "build", "--help"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "--libc" in r.stdout and "--target" in r.stdout


def test_bench_startup_figures_come_from_fresh_processes():
    from wasmffi.bench import lifecycle

    notes = {}
    figures, source = lifecycle.startup_times(1, notes)
    assert set(figures) == {"import_ms", "wasmtime_py_import_ms", "first_call_ms", "wasmtime_py_first_call_ms"}
    for key, value in figures.items():
        assert (value is not None and 0 < value < 10_000) or key in notes, (key, value)
    # An editable install is measured from a copy with its _core (a wheel's layout), never through its hook.
    assert source.startswith(("installed package", "editable install, measured from a copy"))


def test_bench_import_target_compares_with_wasmtime_py():
    from wasmffi.bench import lifecycle

    figures = dict.fromkeys(lifecycle.NAMES, 1.0)
    figures.update(import_ms=30.0, wasmtime_py_import_ms=25.0)
    target = lifecycle.evaluate_targets(figures, {})["import_ms <= wasmtime_py_import_ms"]
    assert target["pass"] is False and target["ratio"] == pytest.approx(1.2)
    figures["wasmtime_py_import_ms"] = None
    target = lifecycle.evaluate_targets(figures, {"wasmtime_py_import_ms": "wasmtime-py not installed"})[
        "import_ms <= wasmtime_py_import_ms"]
    assert target["pass"] is None and target["reason"] == "wasmtime-py not installed"
