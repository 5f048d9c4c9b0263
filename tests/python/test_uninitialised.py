"""Objects made with Cls.__new__ and never initialised: every method raises TypeError, none crashes.
Run in a subprocess, so a crash is reported as a failure instead of ending the test run."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    from wasmffi import _core

    CALLS = {
        "Memory": [lambda m: m.read(0, 1), lambda m: m.write(0, b"x"), lambda m: m.read_into(0, bytearray(1)),
                   lambda m: m.view(0, 1), lambda m: m.grow(1), lambda m: m.read_cstring(0),
                   lambda m: m.read_ptr(0), lambda m: m.write_ptr(0, 1), lambda m: m.read_u8(0),
                   lambda m: m.write_i64(0, 1), lambda m: m.write_f32(0, 1.0), lambda m: len(m),
                   lambda m: m.pages],
        "_GuestBuffer": [lambda b: memoryview(b)],
        "Global": [lambda g: g.value, lambda g: setattr(g, "value", 1), lambda g: g.type],
    }
    for name, calls in CALLS.items():
        cls = getattr(_core, name)
        obj = cls.__new__(cls)
        for i, call in enumerate(calls):
            try:
                call(obj)
            except TypeError:
                pass
            else:
                raise SystemExit(f"{name} call {i} did not raise TypeError")
    print("ok")
""")


def test_uninitialised_objects_raise_type_error_and_never_crash():
    r = subprocess.run([sys.executable, "-W", "ignore", "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    assert r.stdout.strip() == "ok"
