"""Tests of the call benchmark's set-up: its embedded modules, optional peers and targets (no timing)."""

import builtins

import pytest

import wasmffi
from conftest import require_module
from wasmffi.bench import calls


def test_embedded_binaries_are_the_wat_modules_assembled():
    wasmtime = require_module("wasmtime")
    assert calls.ADD_WASM == bytes(wasmtime.wat2wasm(calls.ADD_WAT))
    assert calls.GCD_WASM == bytes(wasmtime.wat2wasm(calls.GCD_WAT))


def test_embedded_binaries_compute_what_the_text_does():
    assert wasmffi.load(calls.ADD_WASM).exports.add(1, 2) == 3
    assert wasmffi.load(calls.GCD_WASM).exports.gcd(calls.A, calls.B) == wasmffi.load(calls.GCD_WAT).exports.gcd(
        calls.A, calls.B) == 2


def test_cases_time_the_inline_and_item_idioms():
    stmts = {c.name: c.stmt for c in calls.build_cases()}
    assert stmts["wasmffi_add_inline"] == "inst.exports.add(1, 2)"
    assert stmts["wasmffi_add_item"] == 'inst.exports["add"](1, 2)'
    assert stmts["wasmffi_add"] == "f(1, 2)"


def test_pywasm3_rows_run_when_it_is_installed():
    require_module("wasm3")
    cases = {c.name: c for c in calls.build_cases()}
    add, gcd = cases["pywasm3_add"], cases["pywasm3_gcd"]
    assert add.env["f"](1, 2) == 3
    assert gcd.env["f"](calls.A, calls.B) == 2


def test_missing_pywasm3_gives_null_rows_with_a_reason(monkeypatch):
    real_import = builtins.__import__

    def no_wasm3(name, *args, **kw):
        if name == "wasm3":
            raise ImportError("No module named 'wasm3'")
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_wasm3)
    names = {c.name for c in calls.build_cases()}
    assert "pywasm3_add" not in names and "pywasm3_gcd" not in names
    ns = dict.fromkeys(calls.NAMES)
    ns.update({n: 100.0 for n in names})
    targets = calls.evaluate_targets(ns)
    t = targets["pywasm3_add >= 2 x wasmffi_add"]
    assert t["pass"] is None and t["reason"] == "pywasm3 not installed"
    assert targets["wasmffi_add_inline <= 1.5 x wasmffi_add"]["pass"] is True
    env = {"wasmtime": None, "pywasm3": None}
    report = calls.format_report(ns, targets, env, calls.Settings.for_mode(True))
    assert "pywasm3_add" in report and "(pywasm3 not installed)" in report
    assert "N/A   pywasm3_add >= 2 x wasmffi_add" in report


def test_readme_comparison_rows_hold_for_the_installed_peers():
    # README.md "Comparison with other Python wasm runtimes": what add(2**32, 1) and add("2", 1) do.
    with pytest.raises(OverflowError):
        wasmffi.load(calls.ADD_WAT).exports.add(2**32, 1)
    with pytest.raises(TypeError):
        wasmffi.load(calls.ADD_WAT).exports.add("2", 1)
    w3 = calls.pywasm3_export(calls.ADD_WASM, "add")
    if w3 is not None:
        assert w3[0](2**32, 1) == 1
        with pytest.raises(SystemError):
            w3[0]("2", 1)
    from wasmffi.bench._timing import wasmtime_py_export

    wt = wasmtime_py_export(calls.ADD_WAT, "add")
    if wt is not None:
        f, store = wt
        assert f(store, 2**32, 1) == 1
        with pytest.raises(TypeError):
            f(store, "2", 1)
