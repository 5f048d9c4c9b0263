"""C parameters named like Python keywords (`in`, `pass`, `from`): bound and called as `in_`, `pass_`, `from_`."""

from __future__ import annotations

import pathlib

import pytest

import wasmffi
from conftest import require_tool
from wasmffi import CDef
from wasmffi._build import build

CDEF = "uint32_t sum_in(const uint8_t *in, size_t n, uint32_t pass);"


def test_signature_uses_python_names() -> None:
    spec = CDef(CDEF).lower("sum_in")
    assert [p.name for p in spec.params] == ["in", "n", "pass"]  # the C names are kept
    assert list(spec.signature().parameters) == ["in_", "pass_", "n"]


def test_declared_function_with_keyword_names_binds_and_calls(tmp_path: pathlib.Path) -> None:
    # Before: binding raised ValueError("'in' is not a valid parameter name") from inspect.
    src = tmp_path / "kw.c"
    src.write_text('#include "wasmffi_guest.h"\n'
                   "uint32_t sum_in(const uint8_t *in, size_t n, uint32_t pass) {\n"
                   "    uint32_t s = pass; for (size_t i = 0; i < n; i++) s += in[i]; return s; }\n")
    require_tool("clang")
    require_tool("wasm-ld")
    build([src], tmp_path / "kw.wasm", exports=["sum_in"])
    lib = wasmffi.load(tmp_path / "kw.wasm", cdef=CDEF).exports
    assert lib.sum_in(b"\x01\x02\x03", 10) == 16
    assert lib.sum_in(in_=b"\x05", pass_=1) == 6
    with pytest.raises(TypeError, match="'in_'"):
        lib.sum_in(7.5, 1)
