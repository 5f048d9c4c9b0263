"""Ctrl-C during a long wasm call: SIGINT raises KeyboardInterrupt promptly and the instance stays usable."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import wasmffi

SPIN = """(module
  (func (export "spin") (loop (br 0)))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"""

# Ctrl-C must land within this long after the signal is sent (the promise).
PROMPT = 0.100


def run_child(code: str) -> subprocess.CompletedProcess:
    """A fresh interpreter: if the interrupt never lands, the child hangs, not the test run."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)


def test_sigint_from_another_process_stops_an_endless_loop_with_no_option_set():
    # The exact default path: no timeout, no release_gil, the default engine; the signal comes
    # from outside the process (as a terminal's Ctrl-C does), stamped with the wall clock.
    proc = run_child(f"""
        import subprocess, sys, time, wasmffi
        inst = wasmffi.load({SPIN!r})
        sender = subprocess.Popen([sys.executable, "-c",
            "import os, signal, sys, time; time.sleep(0.3); print(time.time(), flush=True); "
            "os.kill(int(sys.argv[1]), signal.SIGINT)", str(__import__("os").getpid())],
            stdout=subprocess.PIPE, text=True)
        try:
            inst.exports.spin()
            print("returned")
        except KeyboardInterrupt as e:
            caught = time.time()
            sent = float(sender.stdout.readline())
            sender.wait()
            print("latency", caught - sent)
            print("cause", type(e.__cause__).__name__, str(e.__cause__).splitlines()[0])
        print("after", inst.exports.add(2, 3))
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = dict(line.split(" ", 1) for line in proc.stdout.splitlines())
    latency = float(out["latency"])
    print(f"Ctrl-C latency (signal from another process): {latency * 1000:.1f} ms")
    assert 0 <= latency < PROMPT
    assert out["cause"] == "Interrupt spin(): interrupt: stopped by a signal"
    assert out["after"] == "5"


def _sigint_at(delay: float) -> float:
    """SIGINT to this process `delay` seconds from now, sent from a SIGALRM handler (which itself
    runs inside the wasm call, as every handler does); returns when the alarm is due."""
    def on_alarm(signum, frame):
        os.kill(os.getpid(), signal.SIGINT)
    signal.signal(signal.SIGALRM, on_alarm)
    due = time.perf_counter() + delay
    signal.setitimer(signal.ITIMER_REAL, delay)
    return due


@pytest.fixture
def alarm_restored():
    old = signal.getsignal(signal.SIGALRM)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


def test_sigint_from_a_timer_raises_keyboard_interrupt_and_the_instance_still_answers(alarm_restored):
    # timeout=5 only keeps a broken interrupt from hanging the suite; Ctrl-C must win by far.
    inst = wasmffi.load(SPIN, timeout=5)
    due = _sigint_at(0.2)
    with pytest.raises(KeyboardInterrupt) as info:
        inst.exports.spin()
    latency = time.perf_counter() - due
    print(f"Ctrl-C latency (timer signal, in-process): {latency * 1000:.1f} ms")
    assert latency < PROMPT
    assert isinstance(info.value.__cause__, wasmffi.Interrupt)
    assert inst.exports.add(40, 2) == 42
    # And again: nothing stays tripped.
    due = _sigint_at(0.05)
    with pytest.raises(KeyboardInterrupt):
        inst.exports.spin()
    assert time.perf_counter() - due < PROMPT
    assert inst.exports.add(1, 2) == 3


def test_a_handler_that_does_not_raise_lets_the_call_go_on(alarm_restored):
    seen = []
    old = signal.signal(signal.SIGINT, lambda s, f: seen.append(time.perf_counter()))
    try:
        inst = wasmffi.load(SPIN, timeout=0.3)
        _sigint_at(0.05)
        start = time.perf_counter()
        with pytest.raises(wasmffi.Interrupt, match=r"timeout=0\.3 s"):
            inst.exports.spin()
        assert len(seen) == 1 and seen[0] - start < 0.05 + PROMPT
    finally:
        signal.signal(signal.SIGINT, old)


def test_sigint_during_a_call_that_released_the_gil():
    inst = wasmffi.load(SPIN, release_gil=True, timeout=5)
    sent = []
    timer = threading.Timer(0.2, lambda: (sent.append(time.perf_counter()), os.kill(os.getpid(), signal.SIGINT)))
    timer.start()  # a Python thread can run: the call released the GIL
    try:
        with pytest.raises(KeyboardInterrupt):
            inst.exports.spin()
    finally:
        timer.join()
    latency = time.perf_counter() - sent[0]
    print(f"Ctrl-C latency (GIL released): {latency * 1000:.1f} ms")
    assert latency < PROMPT
    assert inst.exports.add(2, 2) == 4


def test_engine_without_epoch_interruption_has_no_ticker_and_no_timeout():
    engine = wasmffi.Engine(epoch_interruption=False)
    with pytest.raises(wasmffi.Error, match=r"^instantiate\(\) argument 'timeout': .*epoch_interruption=True"):
        wasmffi.load(SPIN, engine=engine, timeout=1)
    assert wasmffi.load(SPIN, engine=engine).exports.add(1, 1) == 2


def test_after_fork_the_child_starts_its_own_ticker():
    # The parent's ticker thread does not exist in a forked child; its first store starts one.
    proc = run_child(f"""
        import os, time, wasmffi
        # Compiled before the fork: wasmtime's parallel compilation uses worker threads that a
        # forked child does not have either.
        module = wasmffi.Module({SPIN!r})
        parent = module.instantiate(timeout=0.05)
        try:
            parent.exports.spin()
        except wasmffi.Interrupt:
            pass
        pid = os.fork()
        if pid == 0:
            inst = module.instantiate(timeout=0.05)
            start = time.perf_counter()
            try:
                inst.exports.spin()
                os._exit(3)
            except wasmffi.Interrupt:
                os._exit(0 if time.perf_counter() - start < 1 else 4)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status))
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["child", "0"]


def test_a_handler_may_call_into_the_interrupted_instance(alarm_restored):
    # Handlers run inside the call (from the epoch callback), so re-entering the same store there
    # is a nested call, as from a host function; with the GIL released, too.
    for release in (False, True):
        inst = wasmffi.load(SPIN, timeout=5, release_gil=release)
        seen = []

        def handler(signum, frame):
            seen.append(inst.exports.add(20, 22))
            raise KeyboardInterrupt

        old = signal.signal(signal.SIGINT, handler)
        try:
            _sigint_at(0.05)
            with pytest.raises(KeyboardInterrupt):
                inst.exports.spin()
        finally:
            signal.signal(signal.SIGINT, old)
        assert seen == [42]
        assert inst.exports.add(1, 1) == 2
