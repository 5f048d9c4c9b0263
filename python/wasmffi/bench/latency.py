"""`python -m wasmffi bench latency`: how soon Ctrl-C and timeouts stop a call, and how long an engine takes to go."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any, Callable, Dict, List, Optional, TextIO

from ._timing import (environment, evaluate_absolute_targets, format_absolute_targets, format_figures, print_environment,
                      write_json)

HELP = "latency: Ctrl-C (in-process, GIL released, from another process), timeout overshoot, engine teardown"

SPIN = """(module
  (func (export "spin") (loop (br 0)))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"""

# CPU time the calling thread must have spent since it was about to call spin() before the call
# counts as running (the Python in between takes microseconds; only the guest uses this much):
# the signal is sent then, so that it lands inside the call, never before it.
IN_CALL_CPU = 0.005
# The same for the other process, whose CPU time /proc gives in clock ticks (10 ms).
CHILD_IN_CALL_CPU = 0.03

TIMEOUTS_MS = (1, 3, 12, 50)

NAMES = ["ctrl_c_ms", "ctrl_c_release_gil_ms", "ctrl_c_other_process_ms"] + \
    [f"timeout_{t}ms_stop_ms" for t in TIMEOUTS_MS] + ["engine_teardown_us", "engine_teardown_no_ticker_us"]
UNITS = {name: ("us" if name.endswith("_us") else "ms") for name in NAMES}
STATEMENTS = {
    "ctrl_c_ms": "a signal (SIGALRM, whose handler raises Ctrl-C's SIGINT) due during spin() holding the GIL, "
                 "until KeyboardInterrupt is caught: the worst of N",
    "ctrl_c_release_gil_ms": "the same with release_gil=True, the signal sent by another thread: the worst of N",
    "ctrl_c_other_process_ms": "a child process in spin() (no option set), SIGINT sent from this one, until the "
                               "child catches KeyboardInterrupt (CLOCK_MONOTONIC in both): the worst of N",
    **{f"timeout_{t}ms_stop_ms": f"spin() on an instance with timeout={t / 1000:g}: how long the call ran, "
                                 f"the median of N" for t in TIMEOUTS_MS},
    "engine_teardown_us": "dropping an Engine whose ticker thread runs (a store made and dropped before): "
                          "stop and join the ticker, free the engine; the median of N",
    "engine_teardown_no_ticker_us": "dropping an Engine(epoch_interruption=False), which has no ticker: the "
                                    "reference (no target)",
}
# Absolute targets: label, key, "<=", bound in the key's unit. Ctrl-C: the promise of 100 ms.
# Timeouts: stopped within twice the timeout (below two ticks the ticker wakes at the deadline).
# Teardown: no waiting out a tick (10 ms; a sleep-polling stop took up to that).
TARGETS = [
    ("ctrl_c_ms <= 100", "ctrl_c_ms", "<=", 100.0),
    ("ctrl_c_release_gil_ms <= 100", "ctrl_c_release_gil_ms", "<=", 100.0),
    ("ctrl_c_other_process_ms <= 100", "ctrl_c_other_process_ms", "<=", 100.0),
    *[(f"timeout_{t}ms_stop_ms <= {2 * t}", f"timeout_{t}ms_stop_ms", "<=", 2.0 * t) for t in TIMEOUTS_MS],
    ("engine_teardown_us <= 1000", "engine_teardown_us", "<=", 1000.0),
]


def _ctrl_c_in_process(release_gil: bool, rounds: int) -> float:
    """The worst SIGINT-to-KeyboardInterrupt time (ms) over `rounds` calls of spin()."""
    import wasmffi

    inst = wasmffi.load(SPIN, release_gil=release_gil, timeout=30)
    worst = 0.0
    old_alarm = signal.getsignal(signal.SIGALRM)
    try:
        for _ in range(rounds):
            sent: List[float] = []
            if release_gil:
                main = time.pthread_getcpuclockid(threading.main_thread().ident or 0)
                mark = time.clock_gettime(main)

                def send() -> None:
                    while time.clock_gettime(main) - mark < IN_CALL_CPU:
                        time.sleep(0.001)
                    sent.append(time.perf_counter())
                    os.kill(os.getpid(), signal.SIGINT)

                sender = threading.Thread(target=send)
                sender.start()
            else:
                # The time counts from when SIGALRM was due (the "key press"): its handler, like a
                # Ctrl-C's, runs only at the call's next check, and sends SIGINT from there.
                mark = time.thread_time()
                due = [0.0]

                def arm() -> None:
                    due[0] = time.perf_counter() + 0.005
                    signal.setitimer(signal.ITIMER_REAL, 0.005)

                def on_alarm(signum: int, frame: Any) -> None:
                    if time.thread_time() - mark >= IN_CALL_CPU:
                        sent.append(due[0])
                        os.kill(os.getpid(), signal.SIGINT)
                    else:
                        arm()

                signal.signal(signal.SIGALRM, on_alarm)
                arm()
            try:
                inst.exports.spin()
                raise AssertionError("spin() returned")
            except KeyboardInterrupt as e:
                caught = time.perf_counter()
                if not isinstance(e.__cause__, wasmffi.Interrupt):
                    raise AssertionError("the KeyboardInterrupt did not come from inside the call") from e
            finally:
                if release_gil:
                    sender.join()
            worst = max(worst, caught - sent[0])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_alarm)
    return worst * 1e3


CHILD = """
import sys, time, wasmffi
inst = wasmffi.load({spin!r})
for _ in range({rounds}):
    print("ready", flush=True)
    try:
        inst.exports.spin()
        print("returned", flush=True)
        sys.exit(1)
    except KeyboardInterrupt as e:
        print("caught", time.monotonic(), type(e.__cause__).__name__, flush=True)
"""


def _thread_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/task/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ctrl_c_other_process(rounds: int) -> float:
    """The worst time (ms) from this process's SIGINT to the child's KeyboardInterrupt."""
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(spin=SPIN, rounds=rounds)],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    worst = 0.0
    try:
        for _ in range(rounds):
            line = child.stdout.readline()
            if line != "ready\n":
                raise AssertionError(f"child: expected 'ready', got {line!r}")
            mark = _thread_cpu(child.pid)
            deadline = time.monotonic() + 30
            while _thread_cpu(child.pid) - mark < CHILD_IN_CALL_CPU:
                if time.monotonic() > deadline:
                    raise AssertionError("the child did not run the guest")
                time.sleep(0.001)
            sent = time.monotonic()
            os.kill(child.pid, signal.SIGINT)
            words = child.stdout.readline().split()
            if len(words) != 3 or words[0] != "caught" or words[2] != "Interrupt":
                raise AssertionError(f"child: expected 'caught <time> Interrupt', got {words!r}")
            worst = max(worst, float(words[1]) - sent)
    finally:
        child.kill()
        child.wait()
    return worst * 1e3


def _timeout_stop(timeout_ms: int, rounds: int) -> float:
    """The median time (ms) a call of spin() ran before timeout=`timeout_ms` ms stopped it."""
    import wasmffi

    inst = wasmffi.load(SPIN, timeout=timeout_ms / 1000)
    took = []
    for _ in range(rounds):
        start = time.perf_counter()
        try:
            inst.exports.spin()
        except wasmffi.Interrupt:
            took.append(time.perf_counter() - start)
        else:
            raise AssertionError("spin() returned")
    return statistics.median(took) * 1e3


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _engine_teardown(epochs: bool, rounds: int) -> float:
    """The median time (us) of dropping the last reference to an Engine after a store was made.
    The process's thread count shows that the ticker ran and that the drop ended it."""
    import wasmffi

    wasmffi.Module(SPIN)  # any compiler threads start now, before the count
    times = []
    for _ in range(rounds):
        before = _threads()
        engine = wasmffi.Engine(epoch_interruption=epochs)
        wasmffi.load(SPIN, engine=engine).exports.add(1, 2)  # a store (and a ticker), dropped at once
        running = _threads()
        if running != before + epochs:
            raise AssertionError(f"{running - before} new threads with an engine, expected {int(epochs)}")
        start = time.perf_counter()
        del engine
        times.append(time.perf_counter() - start)
        deadline = time.monotonic() + 5
        while _threads() != before:  # the joined thread leaves /proc a moment after
            if time.monotonic() > deadline:
                raise AssertionError("the engine's ticker thread outlived the engine")
            time.sleep(0.0001)
    return statistics.median(times) * 1e6


def evaluate_targets(figures: Dict[str, Optional[float]], notes: Dict[str, str]) -> Dict[str, Dict[str, Any]]:
    return evaluate_absolute_targets(TARGETS, figures, notes, UNITS)


def format_report(figures: Dict[str, Optional[float]], targets: Dict[str, Dict[str, Any]],
                  notes: Dict[str, str], rounds: Dict[str, int]) -> str:
    lines = format_figures(NAMES, figures, notes, UNITS, 32)
    lines.extend(f"{name}: {text}" for name, text in STATEMENTS.items())
    lines.append(textwrap.fill(
        f"N = {rounds['ctrl_c']} for Ctrl-C, {rounds['timeout']} for timeouts, {rounds['teardown']} for "
        "teardown. The signal is sent once the call is known to run (the spinning thread's CPU time), so it "
        "always lands inside the call.", 78))
    lines.append("")
    lines.append("targets:")
    lines.extend(format_absolute_targets(targets, TARGETS, UNITS, 34))
    lines.append("")
    return "\n".join(lines)


def collect(quick: bool = False, progress: Optional[Callable[[str], None]] = None) -> Dict[str, Any]:
    say = progress or (lambda _msg: None)
    rounds = {"ctrl_c": 3 if quick else 10, "timeout": 5 if quick else 21, "teardown": 10 if quick else 50}
    notes: Dict[str, str] = {}
    figures: Dict[str, Optional[float]] = dict.fromkeys(NAMES)
    # Python's own Ctrl-C handler, even when this process was started with SIGINT ignored (as a
    # shell does for a background job): the signal must raise KeyboardInterrupt here, and a child
    # (its handler reset to the default by exec) then installs the same.
    old_sigint = None
    if threading.current_thread() is threading.main_thread():
        old_sigint = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _measure_ctrl_c(figures, notes, rounds, say)
    finally:
        if old_sigint is not None:
            signal.signal(signal.SIGINT, old_sigint)
    say("timeouts")
    for t in TIMEOUTS_MS:
        figures[f"timeout_{t}ms_stop_ms"] = _timeout_stop(t, rounds["timeout"])
    if os.path.isdir("/proc/self/task"):
        say("engine teardown")
        figures["engine_teardown_us"] = _engine_teardown(True, rounds["teardown"])
        figures["engine_teardown_no_ticker_us"] = _engine_teardown(False, rounds["teardown"])
    else:
        for key in ("engine_teardown_us", "engine_teardown_no_ticker_us"):
            notes[key] = "needs /proc to see the ticker thread come and go"
    targets = evaluate_targets(figures, notes)
    return {"figures": figures, "targets": targets, "notes": notes,
            "table": format_report(figures, targets, notes, rounds)}


def _measure_ctrl_c(figures: Dict[str, Optional[float]], notes: Dict[str, str], rounds: Dict[str, int],
                    say: Callable[[str], None]) -> None:
    if threading.current_thread() is not threading.main_thread():
        for key in ("ctrl_c_ms", "ctrl_c_release_gil_ms"):
            notes[key] = "not on the main thread (signal handlers run there only)"
    else:
        say("Ctrl-C")
        figures["ctrl_c_ms"] = _ctrl_c_in_process(False, rounds["ctrl_c"])
        figures["ctrl_c_release_gil_ms"] = _ctrl_c_in_process(True, rounds["ctrl_c"])
    if os.path.isdir("/proc/self/task"):
        figures["ctrl_c_other_process_ms"] = _ctrl_c_other_process(rounds["ctrl_c"])
    else:
        notes["ctrl_c_other_process_ms"] = "needs /proc to see the child run"


def run(json_path: Optional[str] = None, quick: bool = False, out: Optional[TextIO] = None) -> int:
    out = out or sys.stdout
    env = environment()
    result = collect(quick)
    print_environment(env, out)
    print(file=out)
    print(result["table"], file=out, end="")
    if json_path:
        write_json(json_path, {**result["figures"], "targets": result["targets"], "notes": result["notes"]},
                   env, quick, out)
    return 0
