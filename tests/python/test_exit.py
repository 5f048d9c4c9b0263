"""Interpreter exit while other threads are inside wasm calls, or on their way back from one: the
process exits with its own status, without an abort or nanobind's leak report (child processes)."""

import subprocess
import sys
import textwrap

from conftest import guest_path

# A guest whose `run` marks address 0 once it has begun (the child's main thread waits for that
# mark: a handshake, not a guess with a sleep) and then loops until stopped.
PRELUDE = """
import threading, time, wasmffi
WAT = '''(module (memory (export "memory") 1)
  (func (export "run") (i32.store (i32.const 0) (i32.const 1)) (loop $l (br $l))))'''
def wait_until_inside(inst):
    deadline = time.monotonic() + 30
    while inst.memory.read(0, 1) != b"\\x01":
        assert time.monotonic() < deadline, "the worker's call never began"
        time.sleep(0.001)
"""


def run_child(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60)


def assert_clean(r: subprocess.CompletedProcess) -> None:
    assert r.returncode == 0, f"exit status {r.returncode}; stderr:\n{r.stderr}"
    assert "terminate called" not in r.stderr
    assert "leaked" not in r.stderr, r.stderr  # nanobind's report at exit


def test_a_call_that_returns_while_the_interpreter_finalizes_does_not_abort():
    # issue 23's reproducer: the worker's call stops at its timeout while the main thread frees
    # three million lists at exit; taking the GIL back then made CPython end the thread inside
    # native frames ("terminate called without an active exception", status 134).
    for _ in range(3):
        assert_clean(run_child("""
            inst = wasmffi.load(WAT, timeout=0.1, release_gil=True)
            junk = [[i] for i in range(3_000_000)]
            threading.Thread(target=inst.exports.run, daemon=True).start()
            wait_until_inside(inst)
            """))


def test_exit_while_a_worker_runs_wasm_prints_no_leak_report():
    assert_clean(run_child("""
        inst = wasmffi.load(WAT, release_gil=True)
        threading.Thread(target=inst.exports.run, daemon=True).start()
        wait_until_inside(inst)
        """))


def test_exit_while_a_worker_holding_the_gil_sleeps_in_wasi():
    # A WASI sleep gives the GIL up while it waits (wasi_block.cpp) and takes it back each tick:
    # during exit it must park there, inside wasmtime's frames, which cannot be unwound.
    path = guest_path("wasi_block")
    assert_clean(run_child(f"""
        wasi = wasmffi.Wasi(argv=["p", "sleep"])
        inst = wasmffi.Module({str(path)!r}).instantiate(wasi=wasi)
        threading.Thread(target=inst.exports._start, daemon=True).start()
        deadline = time.monotonic() + 30
        while b"ready" not in wasi.stderr:  # the guest writes it just before it sleeps
            assert time.monotonic() < deadline, "the guest never reached its sleep"
            time.sleep(0.001)
        """))


def test_exit_while_a_worker_runs_a_python_host_function_called_from_wasm():
    # The host function's Python code takes the GIL back between bytecodes; during exit CPython
    # ends the thread there, an unwind that cannot cross wasmtime's frames (it aborted the process).
    assert_clean(run_child("""
        calls = [0]
        def hook():
            calls[0] += 1
            sum(range(1000))
        inst = wasmffi.load('(module (import "env" "hook" (func $h)) (func (export "run") (loop $l (call $h) (br $l))))',
                            imports={"env": {"hook": hook}})
        threading.Thread(target=inst.exports.run, daemon=True).start()
        deadline = time.monotonic() + 30
        while calls[0] < 1000:  # the worker is in its loop of host calls
            assert time.monotonic() < deadline, "the worker's call never began"
            time.sleep(0.001)
        """))
