"""`python -m wasmffi bench lifecycle`: start-up, compile, cache load, instantiate and two-thread scaling on a 200 KB module."""

from __future__ import annotations

import compileall
import gc
import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from typing import Any, Callable, Dict, List, Optional, TextIO, Tuple

from ._timing import (Case, Settings, environment, evaluate_absolute_targets, evaluate_ratio_targets,
                      format_absolute_targets, format_figures, format_targets, measure, print_environment, write_json)

HELP = ("module lifecycle: import and first call in a fresh process, then on a 200 KB guest compile, "
        "cache load, instantiate+drop (wasmffi vs wasmtime-py) and 2-thread speedup")

ROOT = pathlib.Path(__file__).resolve().parents[3]
SOURCE = ROOT / "guest" / "bench" / "lifecycle.c"

NAMES = ["import_ms", "wasmtime_py_import_ms", "first_call_ms", "wasmtime_py_first_call_ms", "compile_ms", "compile_noepoch_ms", "wasmtime_py_compile_ms", "wasmtime_py_epoch_compile_ms", "cache_load_ms", "instantiate_us", "instantiate_keep_us",
         "wasmtime_py_instantiate_us", "wasi_instantiate_us", "wasmtime_py_wasi_instantiate_us", "threads2_speedup"]
UNITS = {"import_ms": "ms", "wasmtime_py_import_ms": "ms", "first_call_ms": "ms", "wasmtime_py_first_call_ms": "ms",
         "compile_ms": "ms", "compile_noepoch_ms": "ms", "wasmtime_py_compile_ms": "ms", "wasmtime_py_epoch_compile_ms": "ms",
         "cache_load_ms": "ms", "instantiate_us": "us",
         "instantiate_keep_us": "us", "wasmtime_py_instantiate_us": "us", "wasi_instantiate_us": "us",
         "wasmtime_py_wasi_instantiate_us": "us", "threads2_speedup": "x"}
STATEMENTS = {
    "import_ms": "`import wasmffi` in a fresh interpreter (python -E -S; the package's directory, then "
                 "site-packages, on sys.path): min over N processes, alternating with wasmtime-py",
    "wasmtime_py_import_ms": "`import wasmtime` the same way, from its installed copy",
    "first_call_ms": "wasmffi.load(bytes) of a 41-byte module and one call of its add(), in a fresh process "
                     "after `import wasmffi` (not counted): the default engine, compile, instantiate, call",
    "wasmtime_py_first_call_ms": "the same through wasmtime-py: Engine, Store, Module, Instance, one call (no target)",
    "compile_ms": "wasmffi.Module(data): min over N compilations, alternating with wasmtime-py",
    "compile_noepoch_ms": "the same through wasmffi.Engine(epoch_interruption=False): what the epoch checks "
                          "behind Ctrl-C and timeout= cost the compiler (wasmtime-py's default has none)",
    "wasmtime_py_compile_ms": "wasmtime.Module(engine, data): the same bytes, same process",
    "wasmtime_py_epoch_compile_ms": "the same through a wasmtime-py engine with epoch_interruption=True: "
                                    "wasmtime-py doing compile_ms's work (no target)",
    "cache_load_ms": "wasmffi.Module(data, cache=True) with the artifact already cached (min over N)",
    "instantiate_us": "module.instantiate() in a loop, each instance dropped at once (create + drop)",
    "instantiate_keep_us": "module.instantiate() with 1000 instances kept alive (create only; drop not timed)",
    "wasmtime_py_instantiate_us": "wasmtime.Instance(wasmtime.Store(engine), module, []) (create + drop)",
    "wasi_instantiate_us": "module.instantiate(wasi=wasmffi.Wasi()) of a reactor with 8 WASI imports: a "
                           "WASI context of its own per instance (no target)",
    "wasmtime_py_wasi_instantiate_us": "the same through wasmtime-py: a Store, set_wasi(WasiConfig()) and "
                                       "linker.instantiate, the linker with WASI defined made once",
    "threads2_speedup": "2 threads x W calls of work() on separate instances vs 1 thread x W (release_gil=True)",
}
TARGETS = [
    ("import_ms <= wasmtime_py_import_ms", "import_ms", "<=", 1.0, "wasmtime_py_import_ms"),
    ("compile_ms <= wasmtime_py_compile_ms", "compile_ms", "<=", 1.0, "wasmtime_py_compile_ms"),
    ("cache_load_ms <= compile_ms / 10", "cache_load_ms", "<=", 0.1, "compile_ms"),
    ("wasmtime_py_instantiate_us >= 5 x instantiate_us", "wasmtime_py_instantiate_us", ">=", 5.0, "instantiate_us"),
]
# Absolute targets (not ratios): key, "<=" or ">=", bound.
ABSOLUTE = [("instantiate_us <= 3", "instantiate_us", "<=", 3.0),
            ("threads2_speedup >= 1.7", "threads2_speedup", ">=", 1.7)]

# A WASI reactor (wasi_instantiate_us): eight preview 1 imports, as a small C program has, and one
# export that asks WASI for its argument count (0: Wasi() grants no argv).
WASI_REACTOR = """(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
  (memory (export "memory") 1)
  (func (export "argc") (result i32)
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (i32.load (i32.const 0))))"""

WORK_ROUNDS = 2_000_000  # one work() call: ~50 ms of compute, so thread start-up is noise

# Fresh processes per start-up figure (min over them; each takes ~30-100 ms) after one untimed run.
STARTUP_RUNS, STARTUP_RUNS_QUICK = 15, 5

# first_call_ms's module: (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1
# i32.add) as wasm bytes, so that neither side parses WAT.
ADD_WASM = bytes.fromhex("0061736d01000000" "01070160027f7f017f" "03020100" "070701036164640000"
                         "0a09010700200020016a0b")

# The child processes. `python -E -S`: no site, so no .pth file runs (an editable install's import
# hook among them) and the environment's PYTHON* variables are ignored; both sides then import
# from a plain directory on sys.path, as from an installed wheel. `import os` comes first, untimed,
# because site would have loaded it (with stat and posixpath) before any program runs.
_IMPORT_CHILD = """import os, sys, time
sys.path[:0] = {paths!r}
t = time.perf_counter()
import {module}
t = time.perf_counter() - t
if not {module}.__file__.startswith({expect!r}):
    raise SystemExit("imported " + {module}.__file__ + ", not the copy under " + {expect!r})
print(t * 1e3)
"""
_FIRST_CALL_CHILD = {
    "wasmffi": """import os, sys, time
sys.path[:0] = {paths!r}
import wasmffi
data = {data!r}
t = time.perf_counter()
got = wasmffi.load(data).exports.add(2, 3)
t = time.perf_counter() - t
assert got == 5, got
print(t * 1e3)
""",
    "wasmtime": """import os, sys, time
sys.path[:0] = {paths!r}
import wasmtime
data = {data!r}
t = time.perf_counter()
engine = wasmtime.Engine()
store = wasmtime.Store(engine)
got = wasmtime.Instance(store, wasmtime.Module(engine, data), []).exports(store)["add"](store, 2, 3)
t = time.perf_counter() - t
assert got == 5, got
print(t * 1e3)
"""}


def package_dir(tmpdir: str) -> Tuple[str, str]:
    """(a directory holding a non-editable wasmffi package, how it was found). An installed package
    (wheel or `pip install .`: _core beside __init__.py) is used where it is. An editable install
    keeps the sources in the checkout and _core elsewhere behind an import hook, which a wheel
    has not: then the package is copied into `tmpdir` with its _core and compiled to bytecode, as
    pip does when it installs a wheel."""
    import wasmffi
    from wasmffi import _core

    pkg = pathlib.Path(wasmffi.__file__).resolve().parent
    core = pathlib.Path(_core.__file__).resolve()
    if core.parent == pkg:
        return str(pkg.parent), f"installed package {pkg}"
    copy = pathlib.Path(tmpdir) / "wasmffi"
    shutil.copytree(pkg, copy, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(core, copy / core.name)
    if not compileall.compile_dir(str(copy), quiet=1):
        raise RuntimeError(f"could not compile the copy of wasmffi in {copy} to bytecode")
    return tmpdir, f"editable install, measured from a copy of {pkg} and {core.name}"


def _child_ms(code: str) -> float:
    r = subprocess.run([sys.executable, "-E", "-S", "-c", code], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"a start-up child process failed (exit {r.returncode}): {r.stderr.strip()[-500:]}")
    return float(r.stdout.split()[-1])


def startup_times(runs: int, notes: Dict[str, str]) -> Tuple[Dict[str, Optional[float]], str]:
    """(import_ms, first_call_ms and their wasmtime-py counterparts, where wasmffi was imported
    from). Each figure is the minimum over `runs` fresh processes (after one untimed run each,
    which also writes any missing bytecode), the kinds alternating so that a busy moment of the
    machine does not land on one side only."""
    out: Dict[str, Optional[float]] = dict.fromkeys(
        ("import_ms", "wasmtime_py_import_ms", "first_call_ms", "wasmtime_py_first_call_ms"))
    import site

    # The installation's site-packages follow on sys.path, for what either package imports from it.
    sites = [d for d in site.getsitepackages() if os.path.isdir(d)]
    with tempfile.TemporaryDirectory(prefix="wasmffi-bench-startup-") as tmp:
        where, how = package_dir(tmp)
        ours = [where, *sites]
        children = {"import_ms": _IMPORT_CHILD.format(paths=ours, module="wasmffi", expect=where),
                    "first_call_ms": _FIRST_CALL_CHILD["wasmffi"].format(paths=ours, data=ADD_WASM)}
        spec = importlib.util.find_spec("wasmtime")
        if spec is None or spec.origin is None:
            notes["wasmtime_py_import_ms"] = notes["wasmtime_py_first_call_ms"] = "wasmtime-py not installed"
        else:
            home = str(pathlib.Path(spec.origin).parents[1])
            theirs = [home, *(d for d in sites if d != home)]
            children["wasmtime_py_import_ms"] = _IMPORT_CHILD.format(paths=theirs, module="wasmtime", expect=home)
            children["wasmtime_py_first_call_ms"] = _FIRST_CALL_CHILD["wasmtime"].format(paths=theirs, data=ADD_WASM)
        for code in children.values():
            _child_ms(code)  # untimed: bytecode, page cache
        best = dict.fromkeys(children, float("inf"))
        keys = list(children)
        for i in range(runs):
            for key in keys[i % len(keys):] + keys[:i % len(keys)]:
                best[key] = min(best[key], _child_ms(children[key]))
    out.update(best)
    return out, how


def module_bytes(tmpdir: str) -> bytes:
    """lifecycle.wasm from $WASMFFI_GUEST_DIR when set, else compiled from the checkout's
    guest/bench/lifecycle.c into `tmpdir` (the flags of `make guest`)."""
    env = os.environ.get("WASMFFI_GUEST_DIR")
    if env:
        path = pathlib.Path(env) / "lifecycle.wasm"
        if not path.is_file():
            raise FileNotFoundError(f"WASMFFI_GUEST_DIR={env} lacks lifecycle.wasm: run `make guest`")
        return path.read_bytes()
    if not SOURCE.is_file():
        raise FileNotFoundError("bench lifecycle needs guest/bench/lifecycle.c: run it from a wasmffi checkout, "
                                "or set WASMFFI_GUEST_DIR to a directory holding lifecycle.wasm (`make guest`)")
    from .. import _build

    out = pathlib.Path(tmpdir) / "lifecycle.wasm"
    _build.build([SOURCE], out, alloc=False)
    return out.read_bytes()


def _best_of(fn: Callable[[], Any], n: int) -> float:
    """Minimum wall time of `n` calls of fn, in seconds."""
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


# Rounds of the four alternating compiles (about 0.65 s a round). The minimum of 5 swung by 0.87-1.00x
# between three runs on a machine with other work (2026-11-26); more rounds make a quiet moment
# likelier for every one of the four, which is what the minimum needs.
COMPILE_ROUNDS, COMPILE_ROUNDS_QUICK = 11, 4


def compile_times(data: bytes, n: int,
                  notes: Dict[str, str]) -> Tuple[float, float, Optional[float], Optional[float]]:
    """(wasmffi, wasmffi without epoch checks, wasmtime-py, wasmtime-py with epoch checks) compile
    ms: min over n each, the four alternating in one process."""
    import wasmffi

    no_epoch = wasmffi.Engine(epoch_interruption=False, pooling_slots=wasmffi.default_engine().pooling_slots)

    wt: Any = None
    try:
        import wasmtime

        wt = wasmtime
        wt_engine = wt.Engine()
        config = wt.Config()
        config.epoch_interruption = True
        wt_epoch_engine = wt.Engine(config)
    except ImportError:
        notes["wasmtime_py_compile_ms"] = notes["wasmtime_py_epoch_compile_ms"] = "wasmtime-py not installed"
    ours, plain, theirs, theirs_epoch = float("inf"), float("inf"), float("inf"), float("inf")
    for _ in range(n):
        ours = min(ours, _best_of(lambda: wasmffi.Module(data), 1))
        plain = min(plain, _best_of(lambda: wasmffi.Module(data, engine=no_epoch), 1))
        if wt is not None:
            theirs = min(theirs, _best_of(lambda: wt.Module(wt_engine, data), 1))
            theirs_epoch = min(theirs_epoch, _best_of(lambda: wt.Module(wt_epoch_engine, data), 1))
    if wt is None:
        return ours * 1e3, plain * 1e3, None, None
    return ours * 1e3, plain * 1e3, theirs * 1e3, theirs_epoch * 1e3


def cache_load_time(data: bytes, n: int, notes: Dict[str, str]) -> Optional[float]:
    """ms to load the module from the on-disk cache (stored by a first, untimed call), in a
    temporary cache directory so the user's cache is neither read nor filled."""
    import wasmffi

    saved = os.environ.get("WASMFFI_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="wasmffi-bench-cache-") as d:
        os.environ["WASMFFI_CACHE_DIR"] = d
        try:
            wasmffi.Module(data, cache=True)  # compiles and stores
            return _best_of(lambda: wasmffi.Module(data, cache=True), n) * 1e3
        finally:
            if saved is None:
                os.environ.pop("WASMFFI_CACHE_DIR", None)
            else:
                os.environ["WASMFFI_CACHE_DIR"] = saved


def keep_time(module: Any, count: int, rounds: int) -> float:
    """us per instance to create `count` instances kept alive (their drop is not timed). The
    cyclic GC is off while timing, as timeit has it for the other figures: otherwise its passes
    over the growing list of live instances would be counted as instantiation."""
    best = float("inf")
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            keep: List[Any] = []
            append = keep.append
            inst = module.instantiate
            t = time.perf_counter()
            for _ in range(count):
                append(inst())
            best = min(best, time.perf_counter() - t)
            del keep
    finally:
        if was_enabled:
            gc.enable()
    return best / count * 1e6


def wasi_cases(notes: Dict[str, str]) -> List[Case]:
    """wasi_instantiate_us and (with wasmtime-py) its wasmtime-py counterpart, each checked once."""
    import wasmffi

    module = wasmffi.Module(WASI_REACTOR)
    if module.instantiate(wasi=wasmffi.Wasi()).exports.argc() != 0:
        raise AssertionError("the WASI reactor counted arguments where Wasi() grants none")
    cases = [Case("wasi_instantiate_us", "m(wasi=W())", {"m": module.instantiate, "W": wasmffi.Wasi})]
    try:
        import wasmtime
    except ImportError:
        notes["wasmtime_py_wasi_instantiate_us"] = "wasmtime-py not installed"
        return cases
    engine = wasmtime.Engine()
    wt_module = wasmtime.Module(engine, WASI_REACTOR)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()

    def wt_instantiate() -> Any:
        store = wasmtime.Store(engine)
        store.set_wasi(wasmtime.WasiConfig())
        return store, linker.instantiate(store, wt_module)

    store, inst = wt_instantiate()
    argc: Any = inst.exports(store)["argc"]
    if argc(store) != 0:
        raise AssertionError("the WASI reactor counted arguments through wasmtime-py where none were given")
    cases.append(Case("wasmtime_py_wasi_instantiate_us", "f()", {"f": wt_instantiate}))
    return cases


def threads2_speedup(module: Any, rounds: int, notes: Dict[str, str]) -> Optional[float]:
    """Wall time of one thread running work(W) against two threads each running work(W) on an
    instance of its own: 2.0 is perfect scaling. Min over `rounds` of each."""
    insts = [module.instantiate(release_gil=True) for _ in range(2)]
    expect = insts[0].exports.work(WORK_ROUNDS)
    if insts[1].exports.work(WORK_ROUNDS) != expect:
        raise AssertionError("work() differs between two instances of one module")

    def two() -> None:
        ts = [threading.Thread(target=i.exports.work, args=(WORK_ROUNDS,)) for i in insts]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    one_best, two_best = float("inf"), float("inf")
    for _ in range(rounds):
        one_best = min(one_best, _best_of(lambda: insts[0].exports.work(WORK_ROUNDS), 1))
        two_best = min(two_best, _best_of(two, 1))
    return 2 * one_best / two_best


def evaluate_targets(figures: Dict[str, Optional[float]], notes: Dict[str, str]) -> Dict[str, Dict[str, Any]]:
    out = evaluate_ratio_targets(TARGETS, figures, notes)
    out.update(evaluate_absolute_targets(ABSOLUTE, figures, notes, UNITS))
    return out


def format_report(figures: Dict[str, Optional[float]], targets: Dict[str, Dict[str, Any]],
                  notes: Dict[str, str], settings: Settings, size: int, startup: str = "") -> str:
    lines = [f"module: guest/bench/lifecycle.c, {size} bytes of wasm (3000 functions, 64 KiB data segment)",
             *([f"start-up: {startup}"] if startup else []), "",
             *format_figures(NAMES, figures, notes, UNITS, 30)]
    lines.extend(f"{name}: {text}" for name, text in STATEMENTS.items())
    lines.append(textwrap.fill(
        f"Instantiation figures: minimum over {settings.repeats} interleaved timeit repeats "
        f"(~{settings.target:.2g} s each), warm (the module compiled once, a first instance made "
        "before timing). Compile and cache figures: minimum over single runs.", 78))
    lines.append("")
    ratio_labels = {t[0] for t in TARGETS}
    lines.extend(format_targets({k: v for k, v in targets.items() if k in ratio_labels}, 50))
    # Absolute targets: the measured figure itself, in its unit, not a ratio.
    lines.extend(format_absolute_targets(targets, ABSOLUTE, UNITS, 50))
    lines.append("")
    return "\n".join(lines)


def collect(quick: bool = False, progress: Optional[Callable[[str], None]] = None) -> Dict[str, Any]:
    import wasmffi

    settings = Settings.for_mode(quick)
    notes: Dict[str, str] = {}
    figures: Dict[str, Optional[float]] = dict.fromkeys(NAMES)
    say = progress or (lambda _msg: None)
    say("start-up")
    runs = STARTUP_RUNS_QUICK if quick else STARTUP_RUNS
    startup, source = startup_times(runs, notes)
    figures.update(startup)
    startup_text = f"{source}; minimum over {runs} processes each"
    with tempfile.TemporaryDirectory(prefix="wasmffi-bench-lifecycle-") as tmp:
        data = module_bytes(tmp)
    say("compile")
    (figures["compile_ms"], figures["compile_noepoch_ms"], figures["wasmtime_py_compile_ms"],
     figures["wasmtime_py_epoch_compile_ms"]) = compile_times(
        data, COMPILE_ROUNDS_QUICK if quick else COMPILE_ROUNDS, notes)
    say("cache load")
    figures["cache_load_ms"] = cache_load_time(data, 3 if quick else 10, notes)

    module = wasmffi.Module(data)
    check = module.instantiate()
    expect_xor = check.exports.table_xor()
    cases = [Case("instantiate_us", "m()", {"m": module.instantiate})]
    try:
        import wasmtime
    except ImportError:
        notes["wasmtime_py_instantiate_us"] = "wasmtime-py not installed"
    else:
        wt_engine = wasmtime.Engine()
        wt_module = wasmtime.Module(wt_engine, data)
        store = wasmtime.Store(wt_engine)
        table_xor: Any = wasmtime.Instance(store, wt_module, []).exports(store)["table_xor"]
        got = table_xor(store)
        if got != expect_xor:
            raise AssertionError(f"table_xor: wasmffi {expect_xor}, wasmtime-py {got}")
        cases.append(Case("wasmtime_py_instantiate_us", "I(S(e), m, imp)",
                          {"I": wasmtime.Instance, "S": wasmtime.Store, "e": wt_engine, "m": wt_module, "imp": []}))
    cases.extend(wasi_cases(notes))
    say("instantiate")
    figures.update({k: v / 1e3 for k, v in measure(cases, settings, progress).items()})
    figures["instantiate_keep_us"] = keep_time(module, 1000, 3 if quick else 7)
    say("threads")
    figures["threads2_speedup"] = threads2_speedup(module, 2 if quick else 5, notes)
    targets = evaluate_targets(figures, notes)
    return {"figures": figures, "targets": targets, "notes": notes, "extra": {"startup": startup_text},
            "table": format_report(figures, targets, notes, settings, len(data), startup_text)}


def run(json_path: Optional[str] = None, quick: bool = False, out: Optional[TextIO] = None) -> int:
    out = out or sys.stdout
    env = environment()
    result = collect(quick)
    print_environment(env, out)
    print(file=out)
    print(result["table"], file=out, end="")
    if json_path:
        write_json(json_path, {**result["figures"], "targets": result["targets"], "notes": result["notes"],
                               **result["extra"]}, env, quick, out)
    return 0
