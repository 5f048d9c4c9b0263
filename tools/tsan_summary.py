#!/usr/bin/env python3
"""Sorts ThreadSanitizer report files (tools/test-tsan.sh) into three groups:

- compile pool: one of the two accesses is on a thread of the engine's compile pool
  ('wasmffi-compile-N', engine/src/lib.rs: rayon; or not named yet, but started by Rust code). The caller blocks in rayon's `install` until
  the workers are done, and rayon hands results over through atomics and futex waits in Rust code
  that is not instrumented, so TSan sees memory written on a worker and then read or freed on the
  caller with nothing between them. Noise: the handoff is wasmtime's and rayon's, not ours;
- ours: otherwise, an access stack (not the stacks that created the threads or allocated the
  block) has a frame in our sources (src/, include/wasmffi/);
- others: the rest, by the module of each access's first frame past TSan's interceptors.

Prints the counts and each distinct report of ours in full; exits 1 if there is one."""

import collections
import pathlib
import re
import sys

ROOT = str(pathlib.Path(__file__).resolve().parents[1])
OURS = re.compile(re.escape(ROOT) + r"/(src|include/wasmffi)/")
# A thread the engine's Rust code started (std::thread::Builder): only the compile pool's are, and
# TSan may report one before rayon named it. The epoch ticker is a C++ std::thread (engine.cpp).
RUST_THREAD = "3std3sys6thread4unixNtB5_6Thread3new"
ACCESS = re.compile(r"^  (?:(?:Previous )?(?:atomic )?(?:[Ww]rite|[Rr]ead)|Atomic)", re.M)


def access_stacks(report: str) -> list:
    """The stacks of the accesses (sections that begin with 'Write of'/'Previous read of'...)."""
    sections = re.split(r"\n(?=  \S)", report)
    return [s for s in sections if ACCESS.match(s)]


def first_frame(stack: str) -> str:
    for m in re.finditer(r"#\d+ (\S+) (\S+)(?: \((\S+?)\+0x[0-9a-f]+\))?", stack):
        fn, loc, lib = m.group(1), m.group(2), m.group(3) or ""
        if "libsanitizer" in loc or lib.startswith("libtsan"):
            continue
        return lib if lib and not OURS.search(loc) else loc
    return "?"


def main(argv: list) -> int:
    files = sorted(pathlib.Path(argv[1]).glob("*")) if len(argv) > 1 else []
    reports = [r for f in files for r in f.read_text(errors="replace").split("==================\n")
               if "WARNING: ThreadSanitizer" in r]
    ours, others, pool = {}, collections.Counter(), collections.Counter()
    for r in reports:
        stacks = access_stacks(r)
        kind = re.search(r"WARNING: ThreadSanitizer: ([^(\n]*)", r).group(1).strip()
        compile_threads = {t for t, creation in re.findall(r"\n  Thread (T\d+) ([^\n]*\n(?:    #[^\n]*\n?)*)", r)
                           if "'wasmffi-compile" in creation or RUST_THREAD in creation}
        by = set(re.findall(r"(?i)(?:write|read)[^\n]* by (?:main thread|thread (T\d+))", r))
        if by & compile_threads:
            pool[(kind, " / ".join(sorted({first_frame(s).split("/")[-1] for s in stacks})))] += 1
        elif any(OURS.search(s) for s in stacks):
            key = (kind, tuple(first_frame(s) for s in stacks))
            ours.setdefault(key, r)
        else:
            where = sorted({first_frame(s).split("/")[-1] for s in stacks})
            others[(kind, " / ".join(where))] += 1
    print(f"tsan: {len(reports)} reports")
    print(f"tsan: {sum(pool.values())} between the engine's compile pool (wasmffi-compile-N) and its caller, by module:")
    for (kind, where), n in pool.most_common():
        print(f"  {n:5d}  {kind}: {where}")
    print(f"tsan: {sum(others.values())} others with no access in our code, by module:")
    for (kind, where), n in others.most_common():
        print(f"  {n:5d}  {kind}: {where}")
    print(f"tsan: {len(ours)} distinct reports with an access in our code (src/, include/wasmffi/)")
    for (kind, frames), r in ours.items():
        print(f"--- {kind}: {' / '.join(frames)}\n{r}")
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
