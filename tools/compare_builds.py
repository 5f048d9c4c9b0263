"""Compares the call and compile speed of built _core modules (docs/build.md: what each build option costs)."""

# Usage: .venv/bin/python tools/compare_builds.py [--rounds N] BASE.so OTHER.so ...
# Each module is copied next to a copy of python/wasmffi and measured in a fresh process; the
# modules take turns, in alternating order, so that a change in the machine's load hits them
# alike. Times are thread CPU time, because these machines are shared and wall time mostly
# measures the other builds. Ratios are to the first module.

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs in the child: ns per call of add and gcd (min of 7 timeit repeats) and the CPU seconds
# of compiling the big module (min of 2).
CHILD = r"""
import json, sys, time, timeit
import wasmffi
from wasmffi import _core
from wasmffi.bench.calls import ADD_WAT, GCD_WAT, A, B
big = open(sys.argv[1], "rb").read()
add = wasmffi.load(ADD_WAT).exports.add
gcd = wasmffi.load(GCD_WAT).exports.gcd
assert add(1, 2) == 3
def best(stmt, g, n):
    return min(timeit.repeat(stmt, globals=g, number=n, repeat=7, timer=time.thread_time)) / n * 1e9
out = {"so": _core.__file__, "add_ns": best("f(1, 2)", {"f": add}, 200000),
       "gcd_ns": best(f"f({A}, {B})", {"f": gcd}, 100000)}
ts = []
for _ in range(2):
    t = time.thread_time()
    wasmffi.Module(big)
    ts.append(time.thread_time() - t)
out["compile_s"] = min(ts)
print(json.dumps(out))
"""


def big_module(n: int = 3000) -> bytes:
    """A binary module of n small exported functions: compiling it is mostly cranelift's work."""
    try:
        import wasmtime
    except ImportError:
        sys.exit("compare_builds: wasmtime-py (a dev dependency) is needed to turn the test module into binary")
    funcs = [f'(func (export "f{i}") (param i32 i32) (result i32) (local i32) local.get 0 local.get 1 '
             f'i32.add i32.const {i} i32.mul local.tee 2 local.get 0 i32.xor local.get 2 i32.const 7 '
             'i32.shr_u i32.or local.get 1 i32.sub)' for i in range(n)]
    return wasmtime.wat2wasm("(module " + "\n".join(funcs) + ")")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("modules", nargs="+", metavar="MODULE.so")
    args = ap.parse_args()
    ext = "_core" + sysconfig.get_config_var("EXT_SUFFIX")
    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "big.wasm")
        with open(big, "wb") as f:
            f.write(big_module())
        pkgs = []
        for i, so in enumerate(args.modules):
            pkg = os.path.join(tmp, str(i), "wasmffi")
            shutil.copytree(os.path.join(ROOT, "python", "wasmffi"), pkg,
                            ignore=shutil.ignore_patterns("*.so", "__pycache__"))
            shutil.copy(so, os.path.join(pkg, ext))
            pkgs.append(os.path.dirname(pkg))
        data = [[] for _ in pkgs]
        for r in range(args.rounds):
            order = list(range(len(pkgs)))
            if r % 2:
                order.reverse()
            for i in order:
                # -S: no site-packages, so an installed (editable) wasmffi cannot shadow the copy.
                res = subprocess.run([sys.executable, "-S", "-c", CHILD, big], env={"PYTHONPATH": pkgs[i]},
                                     capture_output=True, text=True)
                if res.returncode != 0:
                    sys.exit(f"compare_builds: {args.modules[i]} failed:\n{res.stderr}")
                d = json.loads(res.stdout)
                if not d["so"].startswith(pkgs[i]):
                    sys.exit(f"compare_builds: measured {d['so']}, not the copy of {args.modules[i]}")
                data[i].append(d)
    keys = ("add_ns", "gcd_ns", "compile_s")
    best = [{k: min(x[k] for x in rows) for k in keys} for rows in data]
    med = [{k: statistics.median(x[k] for x in rows) for k in keys} for rows in data]
    print(f"min (median) over {args.rounds} rounds; ratio to {args.modules[0]}")
    for so, b, m in zip(args.modules, best, med):
        print(f"{os.path.getsize(so) / 1e6:6.2f} MB  "
              f"add {b['add_ns']:6.1f} ns {b['add_ns'] / best[0]['add_ns']:.3f} ({m['add_ns'] / med[0]['add_ns']:.3f})  "
              f"gcd {b['gcd_ns']:6.1f} ns {b['gcd_ns'] / best[0]['gcd_ns']:.3f} ({m['gcd_ns'] / med[0]['gcd_ns']:.3f})  "
              f"compile {b['compile_s'] * 1e3:6.1f} ms {b['compile_s'] / best[0]['compile_s']:.3f} "
              f"({m['compile_s'] / med[0]['compile_s']:.3f})  {so}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
