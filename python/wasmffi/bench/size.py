"""`python -m wasmffi bench size`: what wasmffi costs on disk and in a download, beside wasmtime-py.

The README's size paragraph and tests/python/test_wheel.py take their figures from the same
measurement: the installed package's files (the extension module included, ``__pycache__`` not),
the extension module alone, and the wheel. The wheel is the one `make dist` left in the checkout's
dist/ for this CPython when there is one; both packages are also repacked here, their installed
files deflated into a zip as a wheel is, so that the two are compared by one method even where
only an installed copy exists (wasmtime-py's wheel is not kept on disk by pip). The repacked size
is within 1% of the real wheel's, for ours (tests/python/test_wheel.py checks it) and for
wasmtime-py's (9.79 MB repacked, 9.8 MB published).
"""

from __future__ import annotations

import glob
import io
import os
import sys
import zipfile
from typing import Any, Dict, Iterator, List, Optional, TextIO, Tuple

from ._timing import (AbsoluteTarget, RatioTarget, evaluate_absolute_targets, evaluate_ratio_targets,
                      format_absolute_targets, format_figures, format_targets, run_group)

HELP = "size: the wheel, the installed package and the extension module, wasmffi vs wasmtime-py"

NAMES = ["wheel_mb", "repacked_wheel_mb", "installed_mb", "extension_mb",
         "wasmtime_py_repacked_wheel_mb", "wasmtime_py_installed_mb"]
UNITS = dict.fromkeys(NAMES, "MB")
STATEMENTS = {
    "wheel_mb": "the wasmffi wheel `make dist` built for this CPython (dist/ of the checkout)",
    "repacked_wheel_mb": "wasmffi's installed files deflated into a zip, as a wheel is",
    "installed_mb": "wasmffi's installed files on disk: the package, its stubs and the extension module",
    "extension_mb": "the extension module (_core) alone: the engine, WASI and the binding",
    "wasmtime_py_repacked_wheel_mb": "wasmtime-py's installed files deflated into a zip the same way "
                                     "(its published wheel: 9.8 MB)",
    "wasmtime_py_installed_mb": "wasmtime-py's installed files on disk",
}
# Decimal MB, as PyPI counts. The budgets: a wheel of at most 6 MB (held on the repacked size, which
# every installation can measure), an installed package of at most 18 MB, and both smaller than
# the anchor's.
TARGETS: List[AbsoluteTarget] = [
    ("repacked_wheel_mb <= 6", "repacked_wheel_mb", "<=", 6.0),
    ("installed_mb <= 18", "installed_mb", "<=", 18.0),
]
RATIO_TARGETS: List[RatioTarget] = [
    ("repacked_wheel_mb <= wasmtime_py_repacked_wheel_mb", "repacked_wheel_mb", "<=", 1.0,
     "wasmtime_py_repacked_wheel_mb"),
    ("installed_mb <= wasmtime_py_installed_mb", "installed_mb", "<=", 1.0, "wasmtime_py_installed_mb"),
]


def package_files(package_dirs: List[str]) -> Iterator[Tuple[str, str]]:
    """(path on disk, name in the archive) of every installed file of a package whose files lie in
    `package_dirs` (an editable install keeps its sources and its extension apart), bytecode caches
    left out."""
    seen = set()
    for root_dir in package_dirs:
        for root, dirs, files in os.walk(root_dir):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                path = os.path.join(root, name)
                arcname = os.path.relpath(path, root_dir)
                if arcname not in seen and not name.endswith((".pyc", ".pyo")):
                    seen.add(arcname)
                    yield path, arcname


def installed_bytes(package_dirs: List[str]) -> int:
    return sum(os.path.getsize(path) for path, _ in package_files(package_dirs))


def repacked_bytes(package_dirs: List[str]) -> int:
    """The size of a zip that deflates the package's files, as wheel builders write them."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path, arcname in package_files(package_dirs):
            z.write(path, arcname)
    return buf.tell()


def wasmffi_dirs() -> List[str]:
    import wasmffi
    import wasmffi._core

    dirs = [os.path.dirname(os.path.abspath(wasmffi.__file__))]
    ext_dir = os.path.dirname(os.path.abspath(wasmffi._core.__file__))
    return dirs if ext_dir in dirs else dirs + [ext_dir]


def built_wheel() -> Optional[str]:
    """The newest wasmffi wheel for this CPython in the checkout's dist/ (a source checkout only)."""
    import wasmffi

    checkout = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(wasmffi.__file__))))
    tag = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    wheels = glob.glob(os.path.join(checkout, "dist", f"wasmffi-*-{tag}-{tag}-*.whl"))
    return max(wheels, key=os.path.getmtime) if wheels else None


def collect(quick: bool = False) -> Dict[str, Any]:
    import wasmffi._core

    figures: Dict[str, Optional[float]] = dict.fromkeys(NAMES)
    notes: Dict[str, str] = {}
    dirs = wasmffi_dirs()
    figures["installed_mb"] = installed_bytes(dirs) / 1e6
    figures["extension_mb"] = os.path.getsize(wasmffi._core.__file__) / 1e6
    figures["repacked_wheel_mb"] = repacked_bytes(dirs) / 1e6
    wheel = built_wheel()
    if wheel is not None:
        figures["wheel_mb"] = os.path.getsize(wheel) / 1e6
    else:
        notes["wheel_mb"] = "no wheel for this CPython in the checkout's dist/ (make dist)"
    try:
        import wasmtime
    except ImportError:
        for key in ("wasmtime_py_repacked_wheel_mb", "wasmtime_py_installed_mb"):
            notes[key] = "wasmtime-py is not installed"
    else:
        anchor = [os.path.dirname(os.path.abspath(wasmtime.__file__))]
        figures["wasmtime_py_installed_mb"] = installed_bytes(anchor) / 1e6
        figures["wasmtime_py_repacked_wheel_mb"] = repacked_bytes(anchor) / 1e6
    targets = evaluate_targets(figures, notes)
    return {"figures": figures, "targets": targets, "notes": notes,
            "table": format_report(figures, targets, notes, wheel)}


def evaluate_targets(figures: Dict[str, Optional[float]], notes: Dict[str, str]) -> Dict[str, Dict[str, Any]]:
    out = evaluate_absolute_targets(TARGETS, figures, notes, UNITS)
    out.update(evaluate_ratio_targets(RATIO_TARGETS, figures, notes))
    return out


def format_report(figures: Dict[str, Optional[float]], targets: Dict[str, Dict[str, Any]],
                  notes: Dict[str, str], wheel: Optional[str]) -> str:
    lines = format_figures(NAMES, figures, notes, UNITS, 30)
    lines.extend(f"{name}: {text}" for name, text in STATEMENTS.items())
    if wheel is not None:
        lines.append(f"wheel: {os.path.basename(wheel)}")
    lines.append("")
    lines.append("targets:")
    lines.extend(format_absolute_targets(targets, TARGETS, UNITS, 50))
    ratios = {label: targets[label] for label, *_ in RATIO_TARGETS}
    lines.extend(format_targets(ratios, 50)[1:])
    lines.append("")
    return "\n".join(lines)


def run(json_path: Optional[str] = None, quick: bool = False, out: Optional[TextIO] = None) -> int:
    return run_group(collect, json_path, quick, out)
