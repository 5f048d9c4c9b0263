"""The built extension: wasmtime is linked in statically and none of its symbols leak out."""

import shutil
import subprocess

import pytest

from wasmffi import _core


def _dynamic_symbols() -> list:
    nm = shutil.which("nm")
    if nm is None:
        pytest.fail("nm (binutils) is needed to inspect the extension's symbol table")
    out = subprocess.run([nm, "-D", "--defined-only", _core.__file__], check=True, capture_output=True,
                         text=True).stdout
    return [line.split()[-1] for line in out.splitlines() if line.strip()]


def test_extension_exports_its_init_function():
    assert "PyInit__core" in _dynamic_symbols()


def test_no_wasmtime_or_wasm_c_api_symbols_leak_from_the_extension():
    leaked = [s for s in _dynamic_symbols() if s.startswith(("wasm_", "wasmtime_", "wasi_", "wasmffi_"))]
    assert leaked == []


def test_extension_does_not_need_a_shared_wasmtime_library():
    ldd = shutil.which("ldd")
    if ldd is None:
        pytest.fail("ldd is needed to list the extension's shared-library dependencies")
    out = subprocess.run([ldd, _core.__file__], check=True, capture_output=True, text=True).stdout
    assert "wasmtime" not in out
