"""Command line: `python -m wasmffi bench {calls,memory,marshal,callbacks} [--json FILE] [--quick]`, `inspect FILE` and `build SRC.c... -o OUT.wasm`."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def _parser() -> argparse.ArgumentParser:
    from .bench import BENCHMARKS

    p = argparse.ArgumentParser(prog="wasmffi", description="wasmffi: call WebAssembly from Python.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    bench = sub.add_parser("bench", help="run a benchmark and print a table with its targets",
                           description="Runs a benchmark in this process and prints ns per operation "
                                       "and the performance targets (reported, never asserted).")
    which = bench.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    from .bench.marshal import HELP as MARSHAL_HELP

    for name, text in {**BENCHMARKS, "marshal": MARSHAL_HELP}.items():
        b = which.add_parser(name, help=text, description=text)
        b.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
        b.add_argument("--quick", action="store_true",
                       help="fewer, shorter repeats (a few seconds; noisier numbers)")

    insp = sub.add_parser("inspect", help="print a module's imports and exports with their types",
                          description="Prints the imports and exports of a .wasm or .wat file.")
    insp.add_argument("file", metavar="FILE", help="a .wasm (binary) or .wat (text) module")

    from . import _build

    bld = sub.add_parser("build", help="compile C sources to a guest module with clang (SDK allocator linked)",
                         description="Compiles C sources with Debian's clang for wasm32 (no libc unless "
                                     "--libc) or wasm64, with the guest SDK headers on the include path "
                                     "and its bump allocator linked and exported.")
    _build.add_arguments(bld)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "bench":
        if args.benchmark == "marshal":
            from .bench import marshal

            return marshal.run(json_path=args.json, quick=args.quick)
        from .bench import run

        return run(args.benchmark, json_path=args.json, quick=args.quick)
    if args.command == "inspect":
        from . import Error
        from ._inspect import describe

        try:
            lines = describe(args.file)
        except OSError as e:
            reason = e.strerror or str(e)
            print(f"wasmffi inspect: error: cannot read {args.file}: {reason}", file=sys.stderr)
            return 1
        except (Error, ValueError, TypeError) as e:
            msg = " ".join(str(e).split()) or type(e).__name__
            print(f"wasmffi inspect: error: {args.file} is not a valid WebAssembly module: {msg}",
                  file=sys.stderr)
            return 1
        print("\n".join(lines))
        return 0
    if args.command == "build":
        from . import _build

        return _build.run(args)
    raise AssertionError(args.command)  # pragma: no cover  (argparse rejects other commands)


if __name__ == "__main__":
    sys.exit(main())
