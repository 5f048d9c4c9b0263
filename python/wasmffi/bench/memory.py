"""`python -m wasmffi bench memory`: copy-in/copy-out cost of guest memory, wasmffi vs wasmtime-py."""

from __future__ import annotations

import ctypes
import textwrap
from typing import Any, Dict, List, Optional, TextIO, Tuple

from ._timing import FOOTER, Case, Progress, Settings, format_targets, measure, run_group, wasmtime_py_export

HELP = "guest memory copy-in/copy-out (64 B, 4 KiB, 1 MiB): wasmffi vs wasmtime-py and a memcpy floor"

MEMORY_WAT = '(module (memory (export "memory") 32))'  # 2 MiB
SIZES: List[Tuple[str, int]] = [("64b", 64), ("4k", 4096), ("1mib", 1 << 20)]
SIZE_LABELS = {"64b": "64 B", "4k": "4 KiB", "1mib": "1 MiB"}
PTR = 1 << 16  # guest address of every access (64 KiB in; 1 MiB from there still fits in 2 MiB)

# (key, label, needs wasmtime-py) -- rows of the table, per direction.
WRITE_ROWS = [
    ("floor_write", "floor: dst[:] = src_ba (one memcpy)", False),
    ("wasmffi_write", "wasmffi mem.write(ptr, data)", False),
    ("wasmffi_view_write", "wasmffi view: mv[ptr:end] = data", False),
    ("wasmtime_py_write", "wasmtime-py Memory.write(store, ba, ptr)", True),
    ("wasmtime_py_ptr_write", "wasmtime-py memmove(get_buffer_ptr(..))", True),
    ("wasmtime_py_bufview_write", "wasmtime-py cached buffer: mv[a:b] = data", True),
]
READ_ROWS = [
    ("floor_read", "floor: bytes(bytearray) (alloc + memcpy)", False),
    ("wasmffi_read", "wasmffi mem.read(ptr, n)", False),
    ("wasmffi_read_into", "wasmffi mem.read_into(ptr, buf)", False),
    ("wasmffi_view_read", "wasmffi view: bytes(mv[ptr:end])", False),
    ("wasmtime_py_read", "wasmtime-py Memory.read(store, a, b)", True),
    ("wasmtime_py_ptr_read", "wasmtime-py bytes(get_buffer_ptr(..))", True),
    ("wasmtime_py_bufview_read", "wasmtime-py cached buffer: bytes(mv[a:b])", True),
]


def _pattern(n: int) -> bytes:
    return bytes((i * 7 + 3) & 0xFF for i in range(256)) * (n // 256) + bytes(range(n % 256))


def build_cases() -> Tuple[List[Case], bool]:
    """The cases, and whether wasmtime-py is available. Every path is checked to move the right
    bytes once before anything is timed."""
    import wasmffi

    mem = wasmffi.load(MEMORY_WAT).memory
    assert mem is not None
    mv = mem.view(0, len(mem))  # wasmffi memories never move: a view stays valid
    wt = wasmtime_py_export(MEMORY_WAT, "memory")
    cases: List[Case] = []
    for key, n in SIZES:
        src = _pattern(n)
        src_ba = bytearray(src)
        end = PTR + n

        # Floors: the same copy with no wasm in the way.
        dst = bytearray(n)
        dst[:] = src_ba
        assert dst == src and bytes(src_ba) == src
        # bytearray-to-bytearray: a bytes right-hand side would be copied into a temporary
        # bytearray first (CPython's bytearray slice assignment), i.e. two copies.
        cases.append(Case(f"floor_write_{key}", "dst[:] = src_ba", {"dst": dst, "src_ba": src_ba}))
        cases.append(Case(f"floor_read_{key}", "bytes(ba)", {"ba": src_ba}))

        # wasmffi.
        env = {"mem": mem, "mv": mv, "ptr": PTR, "end": end, "n": n, "src": src}
        mem.write(PTR, bytes(n))
        assert mem.write(PTR, src) == n and mem.read(PTR, n) == src
        buf = bytearray(n)
        assert mem.read_into(PTR, buf) == n and buf == src
        mv[PTR:end] = src
        assert bytes(mv[PTR:end]) == src
        cases.append(Case(f"wasmffi_write_{key}", "mem.write(ptr, src)", env))
        cases.append(Case(f"wasmffi_view_write_{key}", "mv[ptr:end] = src", env))
        cases.append(Case(f"wasmffi_read_{key}", "mem.read(ptr, n)", env))
        cases.append(Case(f"wasmffi_read_into_{key}", "mem.read_into(ptr, buf)", {**env, "buf": buf}))
        cases.append(Case(f"wasmffi_view_read_{key}", "bytes(mv[ptr:end])", env))

        if wt is None:
            continue
        wmem, store = wt
        # get_buffer_ptr's documented use: one ctypes array over the whole memory, used through
        # the buffer protocol (what np.frombuffer does). Its memoryview bounds-checks slices.
        wmv = memoryview(wmem.get_buffer_ptr(store)).cast("B")
        wenv = {"m": wmem, "store": store, "ptr": PTR, "end": end, "n": n, "src": src,
                "src_ba": src_ba, "memmove": ctypes.memmove, "wmv": wmv}
        wmem.write(store, bytearray(n), PTR)
        assert wmem.write(store, src_ba, PTR) == n and bytes(wmem.read(store, PTR, end)) == src
        ctypes.memmove(wmem.get_buffer_ptr(store, n, PTR), bytes(n), n)
        ctypes.memmove(wmem.get_buffer_ptr(store, n, PTR), src, n)
        assert bytes(wmem.get_buffer_ptr(store, n, PTR)) == src
        wmv[PTR:end] = src
        assert bytes(wmv[PTR:end]) == src
        # Memory.write copies anything but a bytearray into a bytearray first: give it one.
        cases.append(Case(f"wasmtime_py_write_{key}", "m.write(store, src_ba, ptr)", wenv))
        cases.append(Case(f"wasmtime_py_ptr_write_{key}", "memmove(m.get_buffer_ptr(store, n, ptr), src, n)", wenv))
        cases.append(Case(f"wasmtime_py_bufview_write_{key}", "wmv[ptr:end] = src", wenv))
        cases.append(Case(f"wasmtime_py_read_{key}", "m.read(store, ptr, end)", wenv))
        cases.append(Case(f"wasmtime_py_ptr_read_{key}", "bytes(m.get_buffer_ptr(store, n, ptr))", wenv))
        cases.append(Case(f"wasmtime_py_bufview_read_{key}", "bytes(wmv[ptr:end])", wenv))
    return cases, wt is not None


def _gbps(ns: Optional[float], n: int = 1 << 20) -> Optional[float]:
    return None if ns is None else n / ns  # bytes per ns == GB/s (10^9 bytes)


def summarize(ns: Dict[str, float]) -> Dict[str, Any]:
    """The required JSON numbers and the targets, from the per-case timings."""
    g = ns.get
    s: Dict[str, Any] = {
        "write_64b_ns": g("wasmffi_write_64b"),
        "read_64b_ns": g("wasmffi_read_64b"),
        "write_4k_ns": g("wasmffi_write_4k"),
        "read_4k_ns": g("wasmffi_read_4k"),
        "write_1mib_gbps": _gbps(g("wasmffi_write_1mib")),
        "read_1mib_gbps": _gbps(g("wasmffi_read_1mib")),
        "floor_copy_1mib_gbps": _gbps(g("floor_write_1mib")),
        "floor_write_1mib_gbps": _gbps(g("floor_write_1mib")),
        "floor_read_1mib_gbps": _gbps(g("floor_read_1mib")),
        "wasmtime_py_read_64b_ns": g("wasmtime_py_read_64b"),
        "wasmtime_py_write_64b_ns": g("wasmtime_py_write_64b"),
        "wasmtime_py_write_1mib_gbps": _gbps(g("wasmtime_py_write_1mib")),
        "wasmtime_py_read_1mib_gbps": _gbps(g("wasmtime_py_read_1mib")),
    }
    targets: Dict[str, Dict[str, Any]] = {}

    def target(label: str, ratio: Optional[float], need: float) -> None:
        targets[label] = {"pass": None if ratio is None else ratio >= need, "ratio": ratio,
                          "required": f">= {need:g}"}

    def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
        return None if a is None or b is None else a / b

    target("wasmffi 1 MiB write >= 0.7 x floor throughput",
           ratio(s["write_1mib_gbps"], s["floor_write_1mib_gbps"]), 0.7)
    target("wasmffi 1 MiB read >= 0.7 x floor throughput",
           ratio(s["read_1mib_gbps"], s["floor_read_1mib_gbps"]), 0.7)
    target("wasmffi 64 B read >= 20x faster than wasmtime-py read",
           ratio(s["wasmtime_py_read_64b_ns"], s["read_64b_ns"]), 20.0)
    s["targets"] = targets
    return s


def format_report(ns: Dict[str, float], summary: Dict[str, Any], settings: Settings,
                  have_wasmtime: bool) -> str:
    width = 44
    cols = "".join(f"{SIZE_LABELS[k]:>11}" for k, _ in SIZES)
    rule = "-" * (width + 11 * len(SIZES) + 22)
    lines = []
    for title, rows, floor_key in (("write (copy in), ns per op", WRITE_ROWS, "floor_write"),
                                   ("read (copy out), ns per op", READ_ROWS, "floor_read")):
        lines.append(f"{title:<{width}}{cols}{'1 MiB GB/s':>12}{'vs floor':>10}")
        lines.append(rule)
        floor = _gbps(ns.get(f"{floor_key}_1mib"))
        for key, label, needs_wt in rows:
            if needs_wt and not have_wasmtime:
                lines.append(f"{label:<{width}}{'n/a (wasmtime-py not installed)':>33}")
                continue
            cells = "".join(f"{ns[f'{key}_{k}']:>11.1f}" for k, _ in SIZES)
            gb = _gbps(ns[f"{key}_1mib"])
            assert gb is not None
            rel = f"{gb / floor:>9.2f}x" if floor else f"{'':>10}"
            lines.append(f"{label:<{width}}{cells}{gb:>12.2f}{rel}")
        lines.append("")
    notes = (FOOTER.format(repeats=settings.repeats, target=settings.target) + " "
             "Floors: write = dst[:] = src_ba between two bytearrays of the size (one memcpy, no "
             "allocation); read = bytes(bytearray) (one allocation + one memcpy, like a read that "
             "returns new bytes). floor_copy_1mib_gbps in the JSON is the write floor. read_into "
             "allocates nothing, so compare it with the write floor. Data written is a bytes object, "
             "except for wasmtime-py Memory.write, which gets a bytearray (its no-extra-copy path). "
             "\"cached buffer\" rows slice one memoryview taken once over get_buffer_ptr(store) (the "
             "np.frombuffer pattern its docs show), which goes stale if the memory moves; wasmffi's "
             "view rows do the same over mem.view(0, len(mem)), which stays valid (memories never move). "
             f"Every access is at guest address {PTR:#x}.")
    lines.append(textwrap.fill(notes, 100))
    lines.append("")
    lines.extend(format_targets(summary["targets"], 55))
    lines.append("")
    return "\n".join(lines)


def collect(quick: bool = False, progress: Progress = None) -> Dict[str, Any]:
    """The group's figures (summarize()'s keys), targets, notes and table; every per-case timing
    goes to the JSON under "results_ns"."""
    settings = Settings.for_mode(quick)
    cases, have_wasmtime = build_cases()
    messages = []
    if not have_wasmtime:
        messages.append("wasmtime-py is not installed: the wasmtime-py rows are unavailable (null).")
    ns = measure(cases, settings, progress)
    summary = summarize(ns)
    figures = {k: v for k, v in summary.items() if k != "targets"}
    notes = {k: "wasmtime-py not installed" if k.startswith("wasmtime_py_") else "not measured"
             for k, v in figures.items() if v is None}
    return {"figures": figures, "targets": summary["targets"], "notes": notes, "messages": messages,
            "table": format_report(ns, summary, settings, have_wasmtime), "extra": {"results_ns": ns}}


def run(json_path: Optional[str] = None, quick: bool = False, out: Optional[TextIO] = None) -> int:
    return run_group(collect, json_path, quick, out)
