"""Shared fixtures: compiled guest modules (built by `make guest`) and small WAT helpers."""

import os
import pathlib

import pytest

import wasmffi

ROOT = pathlib.Path(__file__).resolve().parents[2]
GUEST_DIR = pathlib.Path(os.environ.get("WASMFFI_GUEST_DIR", ROOT / "build" / "guest"))


def guest_path(name: str) -> pathlib.Path:
    path = GUEST_DIR / f"{name}.wasm"
    if not path.exists():
        pytest.fail(f"guest module {path} is missing: run `make guest` first")
    return path


@pytest.fixture
def arith():
    """An instance of guest/examples/arith.c compiled with clang --target=wasm32."""
    return wasmffi.load(guest_path("arith"))


def wat_instance(body: str, **kw) -> wasmffi.Instance:
    """Instantiates `(module <body>)`."""
    return wasmffi.load(f"(module {body})", **kw)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh module-cache directory (WASMFFI_CACHE_DIR, inherited by worker processes through
    the environment) and zeroed cache counters; yields the directory. (It takes the name of
    pytest's own `cache` fixture, which no test here uses.)"""
    from wasmffi import _cache

    d = tmp_path / "cache"
    monkeypatch.setenv("WASMFFI_CACHE_DIR", str(d))
    _cache.reset()
    yield d
    _cache.reset()
