"""Memory goes back: after `del` of an instance whose guest touched 256 MiB, the process's resident
set returns to within 16 MiB of what it was, with no other instance made or dropped, on the
default (pooled) engine as on an on-demand Engine(). Each case runs in a child process, which
reads its own /proc/self/statm, so that other tests' memory cannot blur the figures."""

import json
import subprocess
import sys
import textwrap

import pytest

MIB = 1 << 20

# touch(pages): grows the memory by `pages` 64 KiB pages and writes one byte per 4 KiB page of
# all of it, so every page is resident. bomb(): grows and touches until a grow fails, then traps.
TOUCHER = r"""(module
  (memory (export "memory") 1)
  (func $touch (export "touch") (param $pages i32) (local $i i32) (local $end i32)
    (drop (memory.grow (local.get $pages)))
    (local.set $end (i32.mul (memory.size) (i32.const 65536)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (i32.store8 (local.get $i) (i32.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 4096)))
      (br $l))))
  (func (export "bomb")
    (loop $l
      (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then unreachable))
      (call $touch (i32.const 0))
      (br $l))))"""

CHILD = textwrap.dedent("""
    import gc, json, os, sys, wasmffi
    PAGE = os.sysconf("SC_PAGE_SIZE")
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE
    engine, how = sys.argv[1], sys.argv[2]
    mod = wasmffi.Module(sys.argv[3], engine=None if engine == "pooled" else wasmffi.Engine())
    warm = mod.instantiate(); warm.exports.touch(1); del warm      # code, engine, pool touched once
    gc.collect()
    base = rss()
    if how == "touch":
        inst = mod.instantiate()
        inst.exports.touch(4096)                                      # 256 MiB
    else:
        inst = mod.instantiate(max_memory=256 << 20)                  # grows until refused, traps
        try:
            inst.exports.bomb()
        except wasmffi.Unreachable:
            pass
    peak = rss()
    del inst
    print(json.dumps({"base": base, "peak": peak, "after": rss()}))
""")


@pytest.mark.parametrize("how", ["touch", "bomb"])
@pytest.mark.parametrize("engine", ["pooled", "on-demand"])
def test_rss_returns_to_baseline_after_del_without_other_instances(engine, how):
    out = subprocess.run([sys.executable, "-c", CHILD, engine, how, TOUCHER], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout)
    # The guest really touched its memory (else the test would prove nothing) ...
    assert figures["peak"] - figures["base"] > 200 * MIB, figures
    # ... and it went back on `del`: before Store::release_at_close the pooled engine stayed
    # ~256 MiB up here, until about 16 more instances had been dropped.
    assert figures["after"] - figures["base"] < 16 * MIB, figures
