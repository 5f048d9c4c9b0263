"""A guest blocked inside a WASI call (a sleep, a poll, a read of stdin that never ends) is stopped
by timeout=, Ctrl-C and Instance.cancel() as wasm code is, and the instance stays usable.

Every scenario that would hang without the fix runs in a child process with a bounded wait."""

import os
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import wasmffi
from conftest import GENEROUS, guest_path, wait_for

# A reactor that sleeps inside an export: nap(ns) builds one relative clock subscription at
# address 0 and calls poll_oneoff (events at 64, the count at 96); it returns the errno.
NAP_WAT = """(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "nap") (param $ns i64) (result i32)
    (i64.store (i32.const 0) (i64.const 42))       ;; userdata
    (i32.store8 (i32.const 8) (i32.const 0))       ;; tag: clock
    (i32.store (i32.const 16) (i32.const 1))       ;; monotonic
    (i64.store (i32.const 24) (local.get $ns))     ;; timeout
    (i64.store (i32.const 32) (i64.const 0))       ;; precision
    (i32.store16 (i32.const 40) (i32.const 0))     ;; relative
    (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 96)))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"""

# The sleep of the tests that run in this process: long enough that a stop before it ends can only
# be the one tested, short enough that without the fix they fail (not hang) in bounded time.
LONG_NS = 30 * 10**9


def child(code: str, **kw) -> subprocess.Popen:
    """A Python child running `code`, with Python's own Ctrl-C handler even when this process was
    started with SIGINT ignored (as a shell starts a background job, which a child inherits)."""
    head = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    return subprocess.Popen([sys.executable, "-c", head + textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def finish(p: subprocess.Popen) -> tuple[str, str]:
    """The child's output, after it exited with 0 within a generous bound. Its stdin, if a pipe,
    stays open meanwhile (communicate() would close it: an end of input, not a read that waits)."""
    try:
        p.wait(timeout=60)
        out, err = p.stdout.read(), p.stderr.read()
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        pytest.fail(f"the child hung (a blocking WASI call was not stopped); stdout:\n{out}\nstderr:\n{err}")
    assert p.returncode == 0, f"status {p.returncode}; stdout:\n{out}\nstderr:\n{err}"
    return out, err


def assert_ready(p: subprocess.Popen) -> None:
    """Waits (boundedly) for the guest's "ready" line: it is about to block."""
    got, _, _ = select.select([p.stderr], [], [], 60)
    if not got:
        p.kill()
        pytest.fail("the guest never reported that it was ready")
    assert p.stderr.readline() == "ready\n"


def run_command(how: str, timeout: float, **wasi) -> str:
    """Runs wasi_block's `how` in a child under `timeout`; returns its report line."""
    p = child(f"""
        import time, wasmffi
        wasi = wasmffi.Wasi(argv=["p", {how!r}], **{wasi!r})
        start = time.monotonic()
        try:
            wasi.run({str(guest_path("wasi_block"))!r}, timeout={timeout})
            print("returned", wasi.stdout)
        except wasmffi.Interrupt as e:
            print(type(e).__name__, round(time.monotonic() - start, 3), str(e).splitlines()[0])
        """)
    return finish(p)[0].strip()


@pytest.mark.parametrize("how", ["sleep", "naps", "abs"])
def test_timeout_stops_a_sleeping_command(how):
    # sleep(3600); usleep(1000) forever; clock_nanosleep to an absolute time an hour away.
    line = run_command(how, 0.3)
    kind, took, reason = line.split(" ", 2)
    assert kind == "Interrupt" and "ran past its timeout=0.3 s" in reason, line
    # Not before its timeout; the bound is generous (compiling the guest counts in it too).
    assert 0.3 <= float(took) < GENEROUS, line
    print(how, line)


def test_sleeps_that_end_still_end_and_take_their_time():
    start = time.monotonic()
    wasi = wasmffi.Wasi(argv=["p", "short"])
    wasi.run(guest_path("wasi_block"), timeout=GENEROUS)
    assert wasi.stdout == b"slept\n"
    assert time.monotonic() - start >= 0.06  # 30 ms relative, then 30 ms to an absolute time


def test_a_reactor_sleeping_in_an_export_is_stopped_and_stays_usable():
    inst = wasmffi.load(NAP_WAT, wasi=wasmffi.Wasi(), timeout=0.2)
    assert inst.exports.nap(1_000_000) == 0  # 1 ms: returns, errno 0, one clock event
    mem = inst.memory
    assert mem.read_u32(96) == 1 and mem.read_u64(64) == 42 and mem.read_u8(74) == 0
    start = time.monotonic()
    with pytest.raises(wasmffi.Interrupt, match="timeout=0.2"):
        inst.exports.nap(LONG_NS)
    assert 0.2 <= time.monotonic() - start < GENEROUS
    assert inst.exports.add(2, 3) == 5 and inst.exports.nap(0) == 0
    mem.write(200, b"still here")
    assert mem.read(200, 10) == b"still here"


def test_cancel_stops_a_reactor_sleeping_in_an_export_on_another_thread():
    inst = wasmffi.load(NAP_WAT, wasi=wasmffi.Wasi(), release_gil=True)
    out = []
    t = threading.Thread(target=lambda: out.append(pytest.raises(wasmffi.Cancelled, inst.exports.nap, LONG_NS)),
                         daemon=True)
    t.start()
    wait_for(inst.cancel, "the sleep to be running")  # True only once a call runs: a handshake
    t.join(GENEROUS)
    assert not t.is_alive() and out
    assert inst.exports.nap(1000) == 0


def test_cancel_stops_a_command_sleeping_on_a_thread_that_holds_the_gil():
    # _start called as an export: the call holds the GIL; the sleep gives it up while it waits.
    wasi = wasmffi.Wasi(argv=["p", "sleep", "30"])
    inst = wasmffi.Module(guest_path("wasi_block")).instantiate(wasi=wasi)
    out = []

    def run():
        try:
            inst.exports._start()
        except wasmffi.Cancelled as e:
            out.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    wait_for(lambda: b"ready" in wasi.stderr, "the guest to reach its sleep")
    wait_for(inst.cancel, "the sleep to be running")
    t.join(GENEROUS)
    assert not t.is_alive() and out and "cancelled" in str(out[0])


def test_ctrl_c_stops_a_sleeping_command():
    p = child(f"""
        import sys, wasmffi
        try:
            wasmffi.Wasi(argv=["p", "sleep"], stderr="inherit").run({str(guest_path("wasi_block"))!r})
        except KeyboardInterrupt as e:
            print("KeyboardInterrupt", type(e.__cause__).__name__)
        """)
    assert_ready(p)  # the guest is about to sleep
    time.sleep(0.05)  # not a handshake: a signal a little before the sleep must stop it too
    os.kill(p.pid, signal.SIGINT)
    out, _ = finish(p)
    assert out.strip() == "KeyboardInterrupt Interrupt"


def _stdin_child(how: str, timeout: float) -> subprocess.Popen:
    return child(f"""
        import sys, time, wasmffi
        wasi = wasmffi.Wasi(argv=["p", {how!r}], stdin="inherit", stderr="inherit")
        start = time.monotonic()
        try:
            wasi.run({str(guest_path("wasi_block"))!r}, timeout={timeout})
            print("returned", wasi.stdout)
        except wasmffi.Interrupt as e:
            print(type(e).__name__, round(time.monotonic() - start, 3), "timeout" in str(e))
        """, stdin=subprocess.PIPE)


@pytest.mark.parametrize("how", ["read", "poll"])
def test_timeout_stops_a_read_of_stdin_that_never_ends(how):
    p = _stdin_child(how, 0.3)
    assert_ready(p)
    out, _ = finish(p)  # our end of the pipe stays open, with nothing written: the read waits
    p.stdin.close()
    kind, took, named = out.split()
    assert kind == "Interrupt" and named == "True" and 0.3 <= float(took) < GENEROUS, out


def test_an_inherited_stdin_is_read_through():
    p = _stdin_child("read", GENEROUS)
    assert_ready(p)
    p.stdin.write("hello, ")
    p.stdin.flush()
    p.stdin.write("stdin\n")
    p.stdin.close()
    out, _ = finish(p)
    assert out.startswith("returned b'hello, stdin\\nread 13 bytes, last 0\\n'"), out


def test_a_poll_of_stdin_returns_when_input_arrives():
    p = _stdin_child("poll", GENEROUS)
    assert_ready(p)
    p.stdin.write("x")
    p.stdin.flush()
    out, _ = finish(p)
    p.stdin.close()
    assert out.startswith("returned b'poll 1 revents 1\\n'"), out
