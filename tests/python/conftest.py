"""Shared fixtures: compiled guest modules (built by `make guest`) and small WAT helpers."""

import importlib
import os
import pathlib
import shutil
import threading
import time
from typing import Any, Callable, NoReturn

import pytest

import wasmffi

ROOT = pathlib.Path(__file__).resolve().parents[2]
GUEST_DIR = pathlib.Path(os.environ.get("WASMFFI_GUEST_DIR", ROOT / "build" / "guest"))

# Strict mode (`make test` and .ci/run set it): a prerequisite this machine lacks (a dev
# dependency, a tool, a built artifact) fails the test that needs it instead of skipping it, so a
# broken set-up cannot drop tests unseen. Outside it, such a test is skipped with its reason
# (pyproject's `-ra` lists every skip in the summary).
STRICT = os.environ.get("WASMFFI_REQUIRE_ALL", "") not in ("", "0")

# `make test-sanitize` (tools/test-sanitize.sh) runs the suite on our code built with ASan and
# UBSan. Two kinds of test cannot hold there, and skip with the reason (listed by `-ra`):
# checks of the shipped (release, stripped) extension, and tests that need most of the address
# space (ASan keeps a shadow of about a seventh of it, so a 40 TiB instance pool or a child
# under RLIMIT_AS cannot be mapped).
SANITIZED = os.environ.get("WASMFFI_SANITIZED", "") == "1"
release_build_only = pytest.mark.skipif(
    SANITIZED, reason="checks the shipped release build; make test-sanitize builds an unstripped sanitized one")
measures_process_memory = pytest.mark.skipif(
    SANITIZED, reason="measures RSS and the C heap, which ASan's quarantine and shadow memory inflate (make test runs it)")
needs_address_space = pytest.mark.skipif(
    SANITIZED, reason="needs most of the address space, which ASan's shadow memory takes (make test-sanitize)")

# An upper bound for "it stops" and "it returns" checks that involve the clock: far above what any
# of them takes (a few to a few hundred ms), so that a loaded machine cannot fail them, and far
# below "never". How fast things happen is measured by `python -m wasmffi bench latency`.
GENEROUS = 5.0


# Installed mode (`make test-wheel`, tools/test-wheel.sh): the suite runs in a new venv against the
# wheel of `make dist` installed there (WASMFFI_WHEEL names it), not against the source tree. The
# modules that test a wheel itself are collected only then: an editable install has no wheel.
INSTALLED = os.environ.get("WASMFFI_TEST_INSTALLED", "") not in ("", "0")
collect_ignore = [] if INSTALLED else ["test_wheel.py", "test_monocypher_wheel.py"]


def pytest_report_header(config: pytest.Config) -> list:
    lines = ["WASMFFI_REQUIRE_ALL=1: a missing prerequisite fails its tests instead of skipping them" if STRICT
             else "WASMFFI_REQUIRE_ALL is not set: a missing prerequisite skips its tests (listed with the reason)"]
    if INSTALLED:
        lines.append(f"WASMFFI_TEST_INSTALLED=1: testing the installed {wasmffi.__file__} "
                     f"(wheel: {os.environ.get('WASMFFI_WHEEL', 'not named')})")
    else:
        lines.append("source tree mode: test_wheel.py and test_monocypher_wheel.py run in `make test-wheel`")
    return lines


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """A skip from missing() is listed (`-ra`) at the test that needed the prerequisite, not at
    missing() itself, where every such skip would be raised."""
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and isinstance(rep.longrepr, tuple) and call.excinfo is not None:
        here = pathlib.Path(__file__).resolve()
        if any(e.name == "missing" and pathlib.Path(str(e.path)).resolve() == here for e in call.excinfo.traceback):
            path, line = item.reportinfo()[:2]
            rep.longrepr = (str(path), (line or 0) + 1, rep.longrepr[2])


def missing(reason: str) -> NoReturn:
    """Skips the calling test (or fixture) for a prerequisite this machine lacks; in strict mode
    (WASMFFI_REQUIRE_ALL=1) fails it instead."""
    if STRICT:
        pytest.fail(f"{reason} [WASMFFI_REQUIRE_ALL=1: missing prerequisites fail]", pytrace=False)
    pytest.skip(reason)


def require_module(name: str) -> Any:
    """Imports `name`, a dev dependency (requirements-dev.txt). Only its absence skips (or, in
    strict mode, fails); an installed module that fails to import is an error like any other."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name is None or not (name == e.name or name.startswith(e.name + ".")):
            raise  # the module is there, but something it imports is not: a real failure
        missing(f"the Python module {name!r} is not installed (pip install -r requirements-dev.txt)")


def require_tool(name: str) -> str:
    """The path of the program `name` on PATH (make deps installs clang and lld)."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed (make deps installs it)")
    return path


def require_file(path: pathlib.Path, make_target: str) -> pathlib.Path:
    """`path`, a build artifact that `make test` builds first (with `make <make_target>`)."""
    if not path.is_file():
        missing(f"{path} is missing: run `make {make_target}`")
    return path


def wait_for(condition: Callable[[], Any], what: str, timeout: float = GENEROUS, interval: float = 0.001) -> Any:
    """Polls `condition()` until it returns something true, and returns that; fails the test
    naming `what` if `timeout` seconds pass first. A handshake, where a sleep would be a guess."""
    deadline = time.monotonic() + timeout
    while True:
        got = condition()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout} s for {what}")
        time.sleep(interval)


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


@pytest.fixture(scope="session")
def wasmffi_wheel() -> pathlib.Path:
    """The wasmffi wheel under test in installed mode ($WASMFFI_WHEEL, set by tools/test-wheel.sh)."""
    env = os.environ.get("WASMFFI_WHEEL")
    if not env:
        missing("WASMFFI_WHEEL does not name the wheel under test (run `make test-wheel`)")
    return require_file(pathlib.Path(env), "dist")


@pytest.fixture(scope="session")
def monocypher_built() -> pathlib.Path:
    """The Monocypher module ($MONOCYPHER_WASM, else build/monocypher/monocypher.wasm), which
    `make test` builds first: without it the tests that use this fixture skip (strict mode: fail)."""
    env = os.environ.get("MONOCYPHER_WASM")
    return require_file(pathlib.Path(env) if env else ROOT / "build" / "monocypher" / "monocypher.wasm",
                        "monocypher")


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
