"""No leak report at exit: a subprocess does typical work (engines, modules, instances, views,
funcs, typed funcs, globals, errors) and exits; nanobind's leak checker must print nothing."""

import subprocess
import sys
import textwrap

import pytest

from conftest import guest_path

SCRIPT = textwrap.dedent("""
    import gc, inspect, sys
    import wasmffi

    inst = wasmffi.load(sys.argv[1])
    ex = inst.exports
    assert ex.gcd(16516842, 154654684) == 2
    t = ex.gcd.typed(params=["u32", "u32"], results=["u32"])
    assert t(12, 18) == 6
    str(t.type); inspect.signature(t)
    mem = inst.memory
    view = mem.view(0, 16)
    mem.write(0, b"abc"); mem.read_into(0, bytearray(3)); mem.write_array(0, [1, 2], "i32")
    engine = wasmffi.Engine(consume_fuel=True)
    other = wasmffi.Module('(module (memory (export "memory") 1) (global (export "g") (mut i32) '
                           '(i32.const 1)) (func (export "f") (result i32) unreachable))',
                           engine=engine).instantiate()
    other.fuel = 1000
    other.exports.g.value = 7
    for bad in (lambda: other.exports.f(), lambda: mem.read(None, 1), lambda: mem.read(-1, 1),
                lambda: wasmffi.Module(b"junk"), lambda: other.memory.grow(2**40)):
        try:
            bad()
        except Exception as e:
            kept = e  # an exception object (and its traceback) alive at exit
    cycle = [inst, other, view, t]
    cycle.append(cycle)
    import numpy
    arr = mem.ndarray(0, "uint8", 4)
    print("done")
""")


@pytest.mark.parametrize("mode", ["keep-everything", "delete-and-collect"])
def test_typical_session_exits_without_leak_report(mode):
    script = SCRIPT if mode == "keep-everything" else SCRIPT + "del inst, other, view, t, cycle, arr, mem, ex\ngc.collect()\n"
    r = subprocess.run([sys.executable, "-c", script, str(guest_path("arith"))], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "done"
    assert "leak" not in r.stderr.lower(), r.stderr
    assert r.stderr == "", r.stderr


def test_leak_checker_is_switched_on():
    # A deliberately leaked reference must be reported: proves the test above can see leaks
    # (the extension used to switch nanobind's leak warnings off).
    script = ("import ctypes, wasmffi\n"
              "inst = wasmffi.load('(module (memory (export \"memory\") 1))')\n"
              "ctypes.pythonapi.Py_IncRef(ctypes.py_object(inst.memory))\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "nanobind: leaked" in r.stderr and "wasmffi._core.Memory" in r.stderr, r.stderr
