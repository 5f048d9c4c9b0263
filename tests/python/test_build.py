"""The built extension: wasmtime linked in statically, none of its symbols leaking out, within its size."""

import os
import shutil
import subprocess

import pytest

from wasmffi import _core
from conftest import release_build_only


# The size budget of the module as shipped (wasmtime included); docs/build.md says what each
# build option costs. A decimal MB, as the docs and PyPI count. 9 MB until WASI preview 1 was
# built in (wasmtime's `wasi` feature, tokio included: +1.35 MB, 7.72 -> 9.08 MB); 9.5 MB until
# cranelift's code generator and register allocator went back to opt-level 3 for compile speed
# (+2.5 MB, 9.34 -> 11.83 MB; docs/build.md, "Compile speed"); 12 MB until the rest of the compile
# pipeline followed (7-8% faster compiles for +0.7 MB, 11.9 -> 12.6 MB).
MAX_EXTENSION_BYTES = 13_000_000


def _symbols(*nm_args: str) -> list:
    nm = shutil.which("nm")
    if nm is None:
        pytest.fail("nm (binutils) is needed to inspect the extension's symbol table")
    out = subprocess.run([nm, *nm_args, "--defined-only", _core.__file__], check=True, capture_output=True,
                         text=True).stdout
    return [line.split()[-1] for line in out.splitlines() if line.strip()]


def _dynamic_symbols() -> list:
    return _symbols("-D")


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


@release_build_only
def test_extension_is_within_its_size_budget():
    size = os.path.getsize(_core.__file__)
    assert size <= MAX_EXTENSION_BYTES, (
        f"{_core.__file__} is {size / 1e6:.2f} MB, over the {MAX_EXTENSION_BYTES / 1e6:g} MB budget; "
        "see docs/build.md (Size) for the build options that keep it there")


@release_build_only
def test_shipped_symbol_table_keeps_the_projects_names_and_drops_wasmtimes_internals():
    # The build moves the full table to a .debug file and keeps only these for profilers.
    names = _symbols()
    assert any(n.startswith("_ZN7wasmffi") for n in names), "the core's C++ symbols were stripped"
    assert "wasmtime_func_call_unchecked" in names
    internal = [n for n in names if n.startswith("_ZN") and "cranelift" in n]
    assert internal == []
