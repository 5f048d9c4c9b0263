"""`python -m wasmffi build`: compiles C sources to a guest module with Debian's clang, linking the SDK's bump allocator."""

# This file imports nothing from the package, so the Makefile can run it as a script
# (`python python/wasmffi/_build.py ...`) before the extension is built.

from __future__ import annotations

import argparse
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Sequence, TextIO, Tuple

__all__ = ["BuildError", "BuildResult", "build", "include_dir", "wasm_imports", "main"]

TARGETS = ("wasm32", "wasm64")
OPT_LEVELS = ("0", "1", "2", "3", "s", "z")
ALLOC_UNIT = "wasmffi_alloc.c"
ALLOC_EXPORTS = ("bump_alloc", "bump_reset", "bump_mark", "bump_release")
LIBC_EXPORTS = ("malloc", "free")
# Where wasi-libc may live: Debian's package installs into the default sysroot's multiarch
# directories (/usr/lib/wasm32-wasi, /usr/include/wasm32-wasi), which Debian's clang searches
# without --sysroot; wasi-sdk and other distributions use a separate sysroot.
WASI_SYSROOTS = ("/usr/share/wasi-sysroot", "/opt/wasi-sdk/share/wasi-sysroot")
DEBIAN_WASI_LIBC = pathlib.Path("/usr/lib/wasm32-wasi/libc.a")


class BuildError(Exception):
    """A guest build failed: a tool is missing, an argument is wrong, or clang reported errors."""


@dataclass
class BuildResult:
    output: pathlib.Path
    command: List[str]
    imports: List[Tuple[str, str, str]] = field(default_factory=list)  # (module, name, kind)
    warnings: List[str] = field(default_factory=list)


def include_dir() -> pathlib.Path:
    """The directory holding wasmffi_guest.h and wasmffi_alloc.h: inside the installed package
    (a wheel ships it as wasmffi/include), else the source tree's guest/include (editable installs
    and running from a checkout)."""
    here = pathlib.Path(__file__).resolve().parent
    for candidate in (here / "include", here.parent.parent / "guest" / "include"):
        if (candidate / "wasmffi_alloc.h").is_file() and (candidate / ALLOC_UNIT).is_file():
            return candidate
    raise BuildError(f"the wasmffi guest SDK headers are missing: looked in {here / 'include'} and "
                     f"{here.parent.parent / 'guest' / 'include'}; reinstall wasmffi")


def _find_clang(clang: Optional[str]) -> str:
    # Not $CC: pip and make set it to the host compiler (gcc), which cannot target wasm.
    name = clang or os.environ.get("WASMFFI_CLANG") or "clang"
    path = shutil.which(name)
    if path is None:
        raise BuildError(f"{name!r} was not found on PATH: install Debian's clang and lld "
                         "(apt-get install clang lld), or name a clang with --clang or WASMFFI_CLANG")
    return path


def _check_linker(clang: str) -> None:
    out = subprocess.run([clang, "--print-prog-name=wasm-ld"], capture_output=True, text=True)
    prog = out.stdout.strip() or "wasm-ld"
    if not (os.path.isabs(prog) and os.path.exists(prog)) and shutil.which(prog) is None:
        raise BuildError("the WebAssembly linker wasm-ld was not found: install Debian's lld "
                         "(apt-get install lld)")


def _builtins(clang: str, triple: str) -> Optional[str]:
    """compiler-rt's builtins archive (64-bit multiply/divide helpers and the like) if installed."""
    out = subprocess.run([clang, f"--target={triple}", "-print-libgcc-file-name"],
                         capture_output=True, text=True)
    path = out.stdout.strip()
    return path if out.returncode == 0 and path and os.path.isfile(path) else None


def _wasi_sysroot() -> Optional[str]:
    """--sysroot for wasi-libc: None for Debian's layout (clang finds it), else a sysroot path."""
    env = os.environ.get("WASI_SYSROOT")
    if env:
        if not (pathlib.Path(env) / "lib" / "wasm32-wasi" / "libc.a").is_file():
            raise BuildError(f"WASI_SYSROOT={env} has no lib/wasm32-wasi/libc.a")
        return env
    if DEBIAN_WASI_LIBC.is_file():
        return None
    for root in WASI_SYSROOTS:
        if (pathlib.Path(root) / "lib" / "wasm32-wasi" / "libc.a").is_file():
            return root
    raise BuildError("--libc needs wasi-libc, which is not installed: apt-get install wasi-libc "
                     "libclang-rt-dev-wasm32 (or set WASI_SYSROOT to a wasi-sdk sysroot)")


def build(sources: Sequence[os.PathLike[str] | str], output: os.PathLike[str] | str, *, libc: bool = False,
          target: str = "wasm32", opt: str = "2", include_dirs: Iterable[str] = (),
          defines: Iterable[str] = (), exports: Iterable[str] = (), alloc: bool = True,
          clang: Optional[str] = None, extra_args: Iterable[str] = (), stack_first: bool = True) -> BuildResult:
    """Compiles and links `sources` into the guest module `output`; raises BuildError.

    Without libc: `--target=wasm32|wasm64 -nostdlib -Wl,--no-entry`, so the module imports
    nothing and a call to a libc function is a link error. With `libc=True`: wasi-libc as a
    reactor (no `_start`; `_initialize` runs C constructors), exporting malloc and free. Both
    turn on bulk memory, so struct copies and zeroing become memory.copy/memory.fill instructions
    instead of calls to a memcpy/memset that a libc-free module lacks (wasmtime enables bulk
    memory by default).

    `stack_first` (the default) places the C stack below static data (`--stack-first`): the
    stack grows down towards address 0, so a stack overflow runs off the bottom of memory and
    traps (MemoryOutOfBounds) instead of silently overwriting the guest's globals and heap, which
    lie above the stack in wasm-ld's default layout.
    """
    paths = [pathlib.Path(s) for s in sources]
    if not paths:
        raise BuildError("no source files given")
    if target not in TARGETS:
        raise BuildError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    if opt not in OPT_LEVELS:
        raise BuildError(f"optimisation level must be one of {', '.join('-O' + o for o in OPT_LEVELS)}, "
                         f"not -O{opt}")
    if libc and target != "wasm32":
        raise BuildError("--libc is available for wasm32 only (wasi-libc has no wasm64 build)")
    for src in paths:
        if not src.is_file():
            raise BuildError(f"source file {src} does not exist")
    exports = list(exports)
    for name in exports:
        if not name or not (name[0].isalpha() or name[0] == "_") or not all(
                c.isalnum() or c == "_" for c in name):
            raise BuildError(f"--export expects a C identifier, got {name!r}")

    cc = _find_clang(clang)
    _check_linker(cc)
    sdk = include_dir()
    output = pathlib.Path(output)

    triple = "wasm32-wasi" if libc else target
    cmd = [cc, f"--target={triple}", f"-O{opt}", "-mbulk-memory", f"-I{sdk}"]
    cmd += [f"-I{d}" for d in include_dirs]
    cmd += [f"-D{d}" for d in defines]
    if libc:
        sysroot = _wasi_sysroot()
        if sysroot:
            cmd.append(f"--sysroot={sysroot}")
        cmd += ["-mexec-model=reactor"]
        exports = list(LIBC_EXPORTS) + exports
        if _builtins(cc, triple) is None:
            raise BuildError("--libc needs compiler-rt's wasm32 builtins, which are not installed: "
                             "apt-get install libclang-rt-dev-wasm32")
    else:
        cmd += ["-nostdlib", "-Wl,--no-entry"]
    cmd += [f"-Wl,--export={name}" for name in dict.fromkeys(exports)]
    if stack_first:
        cmd.append("-Wl,--stack-first")
    cmd += list(extra_args)
    cmd += ["-o", str(output)]
    cmd += [str(s) for s in paths]
    if alloc:
        cmd.append(str(sdk / ALLOC_UNIT))
    if not libc:
        # Debian packages the wasm32 builtins for the wasi triple only; they hold no libc code,
        # so a libc-free wasm32 module links them just the same (128-bit and long double math).
        rt = _builtins(cc, triple) or (_builtins(cc, "wasm32-wasi") if target == "wasm32" else None)
        if rt:
            cmd.append(rt)

    output.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        text = (proc.stderr + proc.stdout).strip()
        hint = ""
        if "undefined symbol" in text and not libc:
            hint = ("\n(modules built without --libc have no C library: define the function, "
                    "or build with --libc for wasi-libc)")
        raise BuildError(f"clang failed (exit status {proc.returncode}):\n{text}{hint}\n"
                         f"command: {shlex.join(cmd)}")
    result = BuildResult(output=output, command=cmd)
    result.imports = wasm_imports(output.read_bytes())
    if result.imports:
        names = ", ".join(f"{m}.{n}" for m, n, _ in result.imports)
        result.warnings.append(
            f"{output} imports {names}: wasmffi instantiates it only if these are supplied as "
            "imports (WASI is not provided); in --libc builds they come from libc functions that "
            "use stdio or the system, such as printf, snprintf (stdio's formatting), fopen or time")
    if proc.stderr.strip():
        result.warnings.insert(0, proc.stderr.strip())
    return result


def _leb(data: bytes, pos: int) -> Tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated LEB128 number")
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def wasm_imports(data: bytes) -> List[Tuple[str, str, str]]:
    """(module, name, kind) of every import of a binary module: just enough of the format to
    tell a self-contained module from one that needs a host (no engine needed)."""
    if data[:4] != b"\0asm":
        raise ValueError("not a WebAssembly binary (bad magic number)")
    kinds = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}
    pos = 8
    while pos < len(data):
        section, pos = data[pos], pos + 1
        size, pos = _leb(data, pos)
        if section != 2:
            pos += size
            continue
        out = []
        count, p = _leb(data, pos)
        for _ in range(count):
            names = []
            for _ in range(2):
                n, p = _leb(data, p)
                names.append(data[p:p + n].decode("utf-8", "replace"))
                p += n
            kind, p = data[p], p + 1
            out.append((names[0], names[1], kinds.get(kind, f"kind {kind}")))
            # Skip the description, which the caller does not need.
            if kind == 0:
                _, p = _leb(data, p)
            elif kind in (1, 2):
                p += kind == 1  # a table's reference type
                flags, p = _leb(data, p)
                _, p = _leb(data, p)
                if flags & 1:
                    _, p = _leb(data, p)
            elif kind == 3:
                p += 2  # value type, mutability
            elif kind == 4:
                p += 1
                _, p = _leb(data, p)
            else:
                break
        return out
    return []


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="*", metavar="SRC.c", help="C source files")
    p.add_argument("-o", dest="output", metavar="OUT.wasm", help="the module to write")
    p.add_argument("--target", choices=TARGETS, default="wasm32",
                   help="wasm32 (default) or wasm64 (memory64: 8-byte pointers and size_t)")
    p.add_argument("--libc", action="store_true",
                   help="link Debian's wasi-libc (wasm32 only) and export malloc/free; the module "
                        "exports _initialize, which runs C constructors")
    p.add_argument("-O", dest="opt", choices=OPT_LEVELS, default="2", metavar="LEVEL",
                   help="optimisation level: -O0, -O1, -O2 (default), -O3, -Os, -Oz")
    p.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR",
                   help="add an include directory (the SDK's is always on the path)")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VALUE]",
                   help="define a preprocessor macro")
    p.add_argument("--export", dest="exports", action="append", default=[], metavar="NAME",
                   help="export a function that is not marked WASMFFI_EXPORT (repeatable)")
    p.add_argument("--cflag", dest="cflags", action="append", default=[], metavar="FLAG",
                   help="pass FLAG to clang, e.g. --cflag=-Wall (repeatable)")
    p.add_argument("--ldflag", dest="ldflags", action="append", default=[], metavar="FLAG",
                   help="pass FLAG to wasm-ld, e.g. --ldflag=--max-memory=1048576 (repeatable)")
    p.add_argument("--no-stack-first", dest="stack_first", action="store_false",
                   help="keep wasm-ld's default layout (stack above static data), where a C stack "
                        "overflow overwrites globals instead of trapping")
    p.add_argument("--no-alloc", dest="alloc", action="store_false",
                   help="do not link the bump allocator (bump_alloc/bump_reset/bump_mark/bump_release)")
    p.add_argument("--clang", metavar="PATH", help="the clang to run (default: $WASMFFI_CLANG or clang)")
    p.add_argument("-v", "--verbose", action="store_true", help="print the clang command")
    p.add_argument("--print-include-dir", action="store_true",
                   help="print the directory of the SDK headers (wasmffi_guest.h, wasmffi_alloc.h) and exit")


def run(args: argparse.Namespace, out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        if args.print_include_dir:
            print(include_dir(), file=out)
            return 0
        if not args.sources:
            raise BuildError("no source files given (usage: wasmffi build SRC.c... -o OUT.wasm)")
        if not args.output:
            raise BuildError("no output file given: add -o OUT.wasm")
        result = build(args.sources, args.output, libc=args.libc, target=args.target, opt=args.opt,
                       include_dirs=args.include_dirs, defines=args.defines, exports=args.exports,
                       alloc=args.alloc, clang=args.clang, stack_first=args.stack_first,
                       extra_args=[*args.cflags, *(f"-Wl,{f}" for f in args.ldflags)])
    except BuildError as e:
        print(f"wasmffi build: error: {e}", file=err)
        return 1
    if args.verbose:
        print(shlex.join(result.command), file=out)
    for w in result.warnings:
        print(f"wasmffi build: warning: {w}", file=err)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="wasmffi build",
                                description="Compiles C sources to a WebAssembly guest module.")
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
