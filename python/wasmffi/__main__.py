"""Command line: `python -m wasmffi bench GROUP|all ...`, `inspect FILE`, `stubgen FILE -o OUT.pyi` and `build SRC.c... -o OUT.wasm`."""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional


def _parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The command line's parser. The options of `bench` and `build` come from their modules,
    which are imported only when `command` is theirs (or None: every command in full), so that
    `inspect` and `stubgen` start without loading them."""
    p = argparse.ArgumentParser(prog="wasmffi", description="wasmffi: call WebAssembly from Python.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    bench = sub.add_parser("bench", help="run a benchmark and print a table with its targets",
                           description="Runs a benchmark in this process and prints ns per operation "
                                       "and the performance targets (reported, never asserted).")
    if command in (None, "bench"):
        _bench_arguments(bench)

    insp = sub.add_parser("inspect", help="print a module's imports and exports with their types",
                          description="Prints the imports and exports of a .wasm or .wat file.")
    insp.add_argument("file", metavar="FILE", help="a .wasm (binary) or .wat (text) module")

    stub = sub.add_parser("stubgen", help="write a typed .pyi Protocol for a module's exports",
                          description="Writes a .pyi stub with a typing.Protocol describing "
                                      "`inst.exports` of FILE (functions with their int/float "
                                      "parameters and results, Memory, Global), for mypy and IDEs. "
                                      "With --cdef, the declared functions get their cdef Python "
                                      "types instead of raw wasm ones.")
    stub.add_argument("file", metavar="FILE", help="a .wasm (binary) or .wat (text) module")
    stub.add_argument("--cdef", metavar="SRC", help="a file of C declarations, as passed to instantiate(cdef=...)")
    stub.add_argument("-o", "--output", metavar="OUT.pyi", required=True, help="the stub file to write")
    stub.add_argument("--name", metavar="CLASS", help="the Protocol's name (default: from FILE's name)")

    bld = sub.add_parser("build", help="compile C sources to a guest module with clang (SDK allocator linked)",
                         description="Compiles C sources with Debian's clang for wasm32 (no libc unless "
                                     "--libc) or wasm64, with the guest SDK headers on the include path "
                                     "and its bump allocator linked and exported.")
    if command in (None, "build"):
        from . import _build

        _build.add_arguments(bld)
    return p


def _bench_arguments(bench: argparse.ArgumentParser) -> None:
    from .bench import ALL_GROUPS, BENCHMARKS

    which = bench.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    for name, text in BENCHMARKS.items():
        b = which.add_parser(name, help=text, description=text)
        b.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
        b.add_argument("--quick", action="store_true",
                       help="fewer, shorter repeats (a few seconds; noisier numbers)")
    every = which.add_parser(
        "all", help="run every group and write DIR/report.md, report.json and report.png",
        description=f"Runs the groups {', '.join(ALL_GROUPS)} in turn (skipping, with a note, any "
                    "that is missing or fails) and writes DIR/report.md (tables with ratios and "
                    "targets), DIR/report.json and DIR/report.png (a chart; needs matplotlib: "
                    "pip install 'wasmffi[report]'). Prints a summary table of the targets at the end.")
    every.add_argument("--out", metavar="DIR", help="directory for report.md, report.json and report.png")
    every.add_argument("--quick", action="store_true", help="fewer, shorter repeats in every group (noisier)")
    every.add_argument("--groups", metavar="A,B", help=f"only these groups (some of {','.join(ALL_GROUPS)})")
    every.add_argument("--summary-only", metavar="REPORT_JSON",
                       help="run nothing: print the summary table of an existing report.json")


def main(argv: Optional[List[str]] = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`wasmffi inspect FILE | head`): stop quietly, and point stdout at
        # /dev/null so the interpreter's final flush does not raise the same error again.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):  # pragma: no cover  (stdout without a file descriptor)
            pass
        return 1


def _main(argv: Optional[List[str]]) -> int:
    words = sys.argv[1:] if argv is None else argv
    # The command is the first word that is not an option (the top level has only -h).
    command = next((w for w in words if not w.startswith("-")), "")
    args = _parser(command).parse_args(argv)
    if args.command == "bench":
        if args.benchmark == "all":
            from .bench._report import main_all

            return main_all(args.out, args.quick, args.groups, args.summary_only)
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
    if args.command == "stubgen":
        from ._stubgen import main as stubgen_main

        return stubgen_main(args.file, args.output, cdef_path=args.cdef, name=args.name)
    if args.command == "build":
        from . import _build

        return _build.run(args)
    raise AssertionError(args.command)  # pragma: no cover  (argparse rejects other commands)


if __name__ == "__main__":
    sys.exit(main())
