"""`python -m wasmffi bench monocypher`: the group module's shape, its figures, and None-with-reason when a side is missing."""

from __future__ import annotations

import io
import json
import pathlib

import pytest

from conftest import require_module
from wasmffi.bench import BENCHMARKS
from wasmffi.bench import monocypher as bench

KEYS = ["mc_blake2b_64_ns", "native_blake2b_64_ns", "mc_blake2b_1mib_ms", "native_blake2b_1mib_ms",
        "mc_lock_1k_ns", "native_lock_1k_ns", "mc_x25519_us", "native_x25519_us"]


def test_registered() -> None:
    assert "monocypher" in BENCHMARKS and isinstance(bench.HELP, str) and "\n" not in bench.HELP


def test_missing_sides_are_none_with_reasons(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "_import_wasm", lambda: (None, "no module built"))
    monkeypatch.setattr(bench, "_import_native", lambda: (None, "no pymonocypher"))
    r = bench.collect(quick=True)
    assert set(r) == {"figures", "targets", "table", "notes"}
    assert list(r["figures"]) == KEYS and all(v is None for v in r["figures"].values())
    assert r["notes"]["mc_x25519_us"] == "no module built"
    assert r["notes"]["native_lock_1k_ns"] == "no pymonocypher"
    assert all(t["pass"] is None for t in r["targets"].values())
    assert "N/A" in r["table"]


@pytest.mark.usefixtures("monocypher_built")
def test_quick_run_measures_every_figure(tmp_path: pathlib.Path) -> None:
    require_module("monocypher")
    out = io.StringIO()
    assert bench.run(json_path=str(tmp_path / "mc.json"), quick=True, out=out) == 0
    data = json.loads((tmp_path / "mc.json").read_text())
    for key in KEYS:
        assert isinstance(data[key], float) and data[key] > 0, key
    # Units: 1 MiB of BLAKE2b takes well over a microsecond and under a second, in ms.
    assert 0.001 < data["mc_blake2b_1mib_ms"] < 1000
    assert set(data["targets"]) == {t[0] for t in bench.TARGETS}
    assert all(t["pass"] in (True, False) for t in data["targets"].values())
    assert "blake2b(64 B), wasm" in out.getvalue()
