"""`python -m wasmffi bench marshal`: marshalled calls (bytes through guest scratch) and guest allocators, against wasmtime-py by hand."""

from __future__ import annotations

import functools
import os
import pathlib
import tempfile
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, TextIO, Union

from ._timing import FOOTER, Case, Progress, Settings, evaluate_ratio_targets, format_targets, measure, run_group

if TYPE_CHECKING:
    from .._scratch import Scratch
    import wasmffi

HELP = ("marshalled calls (64 B in, 64 B in/out) vs the scalar add and wasmtime-py by hand; "
        "guest allocators (bump, malloc, wasmffi scratch)")
N = 64  # bytes per marshalled call
DATA = bytes((i * 7 + 3) & 0xFF for i in range(N))
ROOT = pathlib.Path(__file__).resolve().parents[3]


@dataclass
class Guests:
    """The cstr guest library (guest/examples/cstr.c), without and with wasi-libc."""

    cstr: pathlib.Path
    cstr_libc: pathlib.Path


@dataclass
class Row:
    """One number: `build` returns the Case that times it (after checking it computes the right
    thing), or is None while the feature it measures does not exist yet."""

    key: str
    label: str
    build: Optional[Callable[[Guests], Optional[Case]]]
    needs_wasmtime: bool = False


def _load(path: Union[str, "os.PathLike[str]"]) -> "wasmffi.Instance":
    import wasmffi

    return wasmffi.load(path)


def case_add(g: Guests) -> Case:
    import wasmffi

    add = wasmffi.load('(module (func (export "add") (param i32 i32) (result i32) '
                       'local.get 0 local.get 1 i32.add))').exports.add
    if add(1, 2) != 3:
        raise AssertionError(f"add(1, 2) returned {add(1, 2)!r}")
    return Case("wasmffi_add_ns", "f(1, 2)", {"f": add})


def case_manual_wasmtime_py_in64(g: Guests) -> Optional[Case]:
    """The best a user can write with wasmtime-py today: the store pre-bound with
    functools.partial, the allocator's address masked to unsigned, the data a bytearray (Memory.write
    copies anything else into one first), bump_reset in `finally`. No read back: sum's buffer is
    input only."""
    try:
        import wasmtime
    except ImportError:
        return None
    store = wasmtime.Store()
    inst = wasmtime.Instance(store, wasmtime.Module.from_file(store.engine, str(g.cstr)), [])
    # Any: wasmtime-py types an export as the union of every extern kind; these are known by name.
    ex: Any = inst.exports(store)

    def manual_sum(data: bytearray, _alloc: Callable[[int], int] = functools.partial(ex["bump_alloc"], store),
                   _reset: Callable[[], None] = functools.partial(ex["bump_reset"], store),
                   _write: Callable[[bytearray, int], None] = functools.partial(ex["memory"].write, store),
                   _sum: Callable[[int, int], int] = functools.partial(ex["sum"], store)) -> int:
        n = len(data)
        ptr = _alloc(n) & 0xFFFFFFFF
        if not ptr:
            raise MemoryError("bump_alloc failed")
        try:
            _write(data, ptr)
            return _sum(ptr, n) & 0xFFFFFFFF
        finally:
            _reset()

    data = bytearray(DATA)
    got = manual_sum(data)
    if got != sum(DATA):
        raise AssertionError(f"wasmtime-py manual sum returned {got}, expected {sum(DATA)}")
    return Case("manual_wasmtime_py_in64_ns", "f(data)", {"f": manual_sum, "data": data})


def case_alloc_bump(g: Guests) -> Case:
    x = _load(g.cstr).exports
    mark = x.bump_mark()
    p = x.bump_alloc(N)
    x.bump_reset()
    if p != mark or x.bump_mark() != mark:
        raise AssertionError(f"bump_alloc/bump_reset misbehave: mark {mark}, got {p}, then {x.bump_mark()}")
    return Case("alloc_bump_ns", f"a({N}); r()", {"a": x.bump_alloc, "r": x.bump_reset})


def case_alloc_malloc(g: Guests) -> Case:
    x = _load(g.cstr_libc).exports
    x._initialize()
    p = x.malloc(N)
    x.free(p)
    if p == 0 or x.malloc(N) != p:
        raise AssertionError("guest malloc/free misbehave (no block, or a freed block not reused)")
    return Case("alloc_malloc_ns", f"f(m({N}))", {"m": x.malloc, "f": x.free})


CSTR_CDEF = """
    uint32_t sum(const uint8_t *p, size_t n);
    void rewrite64(uint8_t buf[64]);
"""


def case_in64(g: Guests) -> Case:
    import wasmffi

    f = wasmffi.load(g.cstr, cdef=CSTR_CDEF).exports.sum
    if f(DATA) != sum(DATA):
        raise AssertionError(f"cdef sum returned {f(DATA)}, expected {sum(DATA)}")
    return Case("in64_ns", "f(data)", {"f": f, "data": DATA})


def case_inout64(g: Guests) -> Case:
    import wasmffi

    f = wasmffi.load(g.cstr, cdef=CSTR_CDEF).exports.rewrite64
    buf = bytearray(DATA)
    f(buf)
    want = bytes((b + 1) & 0xFF for b in reversed(DATA))
    if bytes(buf) != want:
        raise AssertionError("cdef rewrite64 did not rewrite the buffer in place")
    return Case("inout64_ns", "f(buf)", {"f": f, "buf": bytearray(DATA)})


def case_alloc_scratch(g: Guests) -> Case:
    import wasmffi

    inst = wasmffi.load(g.cstr)

    def scratch_alloc(n: int, _scratch: Callable[[], Scratch] = inst.scratch) -> int:
        with _scratch() as s:
            return s.alloc(n)

    p = scratch_alloc(N)
    mem = inst.memory
    if p == 0 or mem is None or mem.read(p, N) != bytes(N) or scratch_alloc(N) != p:
        raise AssertionError("inst.scratch(): a block was not zeroed, or not released for reuse")
    return Case("alloc_scratch_ns", f"f({N})", {"f": scratch_alloc})


# Rows of the table, in order; a feature not built yet has build=None and reports None.
ROWS: List[Row] = [
    Row("in64_ns", "wasmffi cdef: sum(const uint8_t *p, size_t n), 64 B", case_in64),
    Row("inout64_ns", "wasmffi cdef: rewrite64(uint8_t buf[64]) in place", case_inout64),
    Row("wasmffi_add_ns", "wasmffi: add(1, 2), the scalar reference", case_add),
    Row("manual_wasmtime_py_in64_ns", "wasmtime-py by hand: alloc, write, sum, reset", case_manual_wasmtime_py_in64,
        needs_wasmtime=True),
    Row("alloc_bump_ns", "guest bump_alloc(64) + bump_reset (wasmffi)", case_alloc_bump),
    Row("alloc_malloc_ns", "guest malloc(64) + free (wasi-libc, wasmffi)", case_alloc_malloc),
    Row("alloc_scratch_ns", "wasmffi inst.scratch(): alloc(64), wipe, release", case_alloc_scratch),
]
KEYS = [r.key for r in ROWS]

# (label, numerator, op, factor, denominator): the check is  numerator op factor x denominator.
TARGETS = [
    ("in64_ns <= 3 x wasmffi_add_ns", "in64_ns", "<=", 3.0, "wasmffi_add_ns"),
    ("inout64_ns <= 3.5 x wasmffi_add_ns", "inout64_ns", "<=", 3.5, "wasmffi_add_ns"),
    ("manual_wasmtime_py_in64_ns >= 100 x in64_ns", "manual_wasmtime_py_in64_ns", ">=", 100.0, "in64_ns"),
]


def guests(tmpdir: str) -> Guests:
    """cstr.wasm and cstr_libc.wasm from $WASMFFI_GUEST_DIR when set, else compiled from the
    checkout's guest/examples/cstr.c into `tmpdir` (the same flags as `make guest`)."""
    env = os.environ.get("WASMFFI_GUEST_DIR")
    if env:
        g = Guests(pathlib.Path(env) / "cstr.wasm", pathlib.Path(env) / "cstr_libc.wasm")
        missing = [str(p) for p in (g.cstr, g.cstr_libc) if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"WASMFFI_GUEST_DIR={env} lacks {', '.join(missing)}: run `make guest`")
        return g
    src = ROOT / "guest" / "examples" / "cstr.c"
    if not src.is_file():
        raise FileNotFoundError("bench marshal needs the cstr guest library: run it from a wasmffi "
                                "checkout, or set WASMFFI_GUEST_DIR to a directory holding "
                                "cstr.wasm and cstr_libc.wasm (built by `make guest`)")
    from .. import _build

    out = pathlib.Path(tmpdir)
    _build.build([src], out / "cstr.wasm")
    _build.build([src], out / "cstr_libc.wasm", libc=True)
    return Guests(out / "cstr.wasm", out / "cstr_libc.wasm")


def evaluate_targets(ns: Dict[str, Optional[float]]) -> Dict[str, Dict[str, Any]]:
    return evaluate_ratio_targets(TARGETS, ns)


def _why_missing(key: str, have_wasmtime: bool) -> str:
    row = next(r for r in ROWS if r.key == key)
    if row.build is None:
        return "not implemented yet"
    return "wasmtime-py not installed" if row.needs_wasmtime and not have_wasmtime else "not measured"


def format_report(ns: Dict[str, Optional[float]], targets: Dict[str, Dict[str, Any]], settings: Settings,
                  have_wasmtime: bool) -> str:
    width = max(len(r.label) for r in ROWS) + 2
    add = ns.get("wasmffi_add_ns")
    lines = [f"{'benchmark':<{width}}{'key':<28}{'ns/op':>10}{'x add':>9}", "-" * (width + 47)]
    for row in ROWS:
        v = ns.get(row.key)
        if v is None:
            lines.append(f"{row.label:<{width}}{row.key:<28}{'None':>10}  ({_why_missing(row.key, have_wasmtime)})")
        else:
            rel = f"{v / add:>8.2f}x" if add else ""
            lines.append(f"{row.label:<{width}}{row.key:<28}{v:>10.1f}{rel}")
    lines.append("-" * (width + 47))
    lines.append(textwrap.fill(
        FOOTER.format(repeats=settings.repeats, target=settings.target) + " Guests: the cstr "
        "library (guest/examples/cstr.c) built with `wasmffi build`, without libc (bump allocator "
        "of wasmffi_alloc.h) and with wasi-libc (dlmalloc's malloc/free). The wasmtime-py row "
        "calls the same module as a user would by hand: functools.partial-bound store, bump_alloc, "
        "& 0xffffffff, Memory.write of a bytearray, sum, bump_reset in finally.", 100))
    lines.append("")
    lines.append("targets:")
    for label, t in targets.items():
        if t["pass"] is None:
            why = "; ".join(f"{k} {_why_missing(k, have_wasmtime)}" for k in t["missing"])
            lines.append(f"  N/A   {label:<45} (unknown: {why})")
        else:
            lines.extend(format_targets({label: t}, 45)[1:])
    lines.append("")
    return "\n".join(lines)


def build_cases(g: Guests) -> List[Case]:
    cases = []
    for row in ROWS:
        case = row.build(g) if row.build else None
        if case is not None:
            if case.name != row.key:  # pragma: no cover  (a programming error in this file)
                raise AssertionError(f"case {case.name!r} built for row {row.key!r}")
            cases.append(case)
    return cases


def collect(quick: bool = False, progress: Progress = None) -> Dict[str, Any]:
    """The group's figures (ns per operation, None where unmeasured), targets, notes and table."""
    settings = Settings.for_mode(quick)
    with tempfile.TemporaryDirectory(prefix="wasmffi-bench-") as tmp:
        cases = build_cases(guests(tmp))
    have_wasmtime = any(c.name == "manual_wasmtime_py_in64_ns" for c in cases)
    messages = []
    if not have_wasmtime:
        messages.append("wasmtime-py is not installed: manual_wasmtime_py_in64_ns is unavailable (null).")
    ns: Dict[str, Optional[float]] = dict.fromkeys(KEYS)
    ns.update(measure(cases, settings, progress))
    targets = evaluate_targets(ns)
    notes = {k: _why_missing(k, have_wasmtime) for k in KEYS if ns[k] is None}
    return {"figures": ns, "targets": targets, "notes": notes, "messages": messages,
            "table": format_report(ns, targets, settings, have_wasmtime),
            "extra": {"not_implemented": [r.key for r in ROWS if r.build is None]}}


def run(json_path: Optional[str] = None, quick: bool = False, out: Optional[TextIO] = None) -> int:
    return run_group(collect, json_path, quick, out)
