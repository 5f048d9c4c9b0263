"""`python -m wasmffi inspect FILE`: a module's imports and exports with their types, as text."""

from __future__ import annotations

import os
from typing import List, Union


def describe(path: Union[str, os.PathLike[str]]) -> List[str]:
    """Lines describing the module in `path` (.wasm or .wat). Raises OSError or wasmffi.Error."""
    from . import Module

    module = Module.from_file(path)
    lines = [f"{os.fspath(path)}: {len(module.imports)} import(s), {len(module.exports)} export(s)"]
    for title, items in (("imports", module.imports), ("exports", module.exports)):
        lines.append(f"{title}:")
        if not items:
            lines.append("  (none)")
        lines.extend(f"  {item}" for item in items)
    return lines
