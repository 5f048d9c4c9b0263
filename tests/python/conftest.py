"""Shared fixtures: compiled guest modules (built by `make guest`) and small WAT helpers."""

import os
import pathlib
import threading

import pytest

import wasmffi

ROOT = pathlib.Path(__file__).resolve().parents[2]
GUEST_DIR = pathlib.Path(os.environ.get("WASMFFI_GUEST_DIR", ROOT / "build" / "guest"))


def guest_path(name: str) -> pathlib.Path:
    path = GUEST_DIR / f"{name}.wasm"
    if not path.exists():
        pytest.fail(f"guest module {path} is missing: run `make guest` first")
    return path


def run_threads(work, count: int) -> list:
    """Runs work(0) ... work(count - 1) on `count` threads at once, waits for all, and returns the
    exceptions they raised (a thread's exception is otherwise lost), for the test to assert on."""
    errors = []

    def run(i):
        try:
            work(i)
        except BaseException as e:  # noqa: BLE001 - returned to the test
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


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
