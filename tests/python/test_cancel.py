"""Instance.cancel() and Instance.canceller(): one instance's running call stopped from another
thread, raising wasmffi.Cancelled, with the instance usable afterwards and other instances untouched."""

import gc
import threading
import time

import pytest

import wasmffi
from conftest import GENEROUS, wait_for

WAT = """(module
  (import "env" "hook" (func $hook))
  (memory (export "memory") 1)
  ;; marks address 0 once it runs (a handshake for the tests), then loops until stopped
  (func (export "spin") (i32.store (i32.const 0) (i32.const 1)) (loop (br 0)))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  ;; calls the host function, then returns without another loop or call
  (func (export "call_hook") (result i32) call $hook i32.const 7))"""

PLAIN_WAT = """(module
  (memory (export "memory") 1)
  (func (export "spin") (i32.store (i32.const 0) (i32.const 1)) (loop (br 0)))
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $i))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"""


def in_thread(call):
    """Runs `call` on a thread; returns (thread, outcome list: the exception or result)."""
    out = []

    def run():
        try:
            out.append(call())
        except BaseException as e:  # noqa: BLE001 (the test looks at it)
            out.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def cancel_when_running(cancel) -> float:
    """Calls cancel() until a call was running for it to stop (it returns True only then: a
    handshake); returns the time it succeeded."""
    wait_for(cancel, "a running call to cancel")
    return time.perf_counter()


def test_cancel_stops_a_call_that_released_the_gil_and_the_instance_stays_usable():
    inst = wasmffi.load(PLAIN_WAT, release_gil=True)
    t, out = in_thread(inst.exports.spin)
    at = cancel_when_running(inst.cancel)
    t.join(GENEROUS)
    took = time.perf_counter() - at
    assert not t.is_alive()
    assert isinstance(out[0], wasmffi.Cancelled) and isinstance(out[0], wasmffi.Interrupt)
    assert str(out[0]).startswith("spin(): cancelled: the call was stopped by Instance.cancel()")
    print(f"cancel -> Cancelled: {took * 1e3:.2f} ms")
    assert inst.exports.add(2, 3) == 5
    assert inst.exports.count(1_000_000) == 1_000_000  # a longer call is not stopped by the old cancel
    assert inst.cancel() is False  # nothing runs now


def test_other_instances_on_the_same_engine_keep_running():
    engine = wasmffi.Engine()
    a = wasmffi.Module(PLAIN_WAT, engine=engine).instantiate(release_gil=True)
    b = wasmffi.Module(PLAIN_WAT, engine=engine).instantiate(release_gil=True)
    ta, out_a = in_thread(a.exports.spin)
    tb, out_b = in_thread(b.exports.spin)
    wait_for(lambda: a.memory.read(0, 1) == b"\x01" and b.memory.read(0, 1) == b"\x01", "both calls to begin")
    assert a.cancel() is True
    ta.join(GENEROUS)
    assert isinstance(out_a[0], wasmffi.Cancelled)
    # b's call goes on well past a's stop (many ticks, each of which would have stopped it) ...
    deadline = time.monotonic() + 0.2
    while time.monotonic() < deadline:
        assert tb.is_alive() and not out_b
        time.sleep(0.01)
    # ... until it is cancelled itself.
    assert b.cancel() is True
    tb.join(GENEROUS)
    assert isinstance(out_b[0], wasmffi.Cancelled)


def test_cancel_with_no_call_running_does_nothing():
    inst = wasmffi.load(PLAIN_WAT)
    assert inst.cancel() is False
    assert inst.canceller()() is False
    # The next call, long enough to see several epoch checks, runs to its end.
    assert inst.exports.count(50_000_000) == 50_000_000


def test_a_canceller_holds_the_instance_weakly():
    inst = wasmffi.load(PLAIN_WAT)
    cancel = inst.canceller()
    assert isinstance(cancel, wasmffi.Canceller) and cancel.alive
    del inst
    gc.collect()
    assert cancel.alive is False
    assert cancel() is False
    assert "dropped" in repr(cancel)


def test_a_canceller_stops_a_main_thread_call_holding_the_gil():
    # A call on the main thread that holds the GIL lets other threads run once per tick, inside
    # its epoch callback: the cancel made then is seen before wasm goes on.
    inst = wasmffi.load(PLAIN_WAT)
    cancel = inst.canceller()
    done = []
    t = threading.Thread(target=lambda: done.append(cancel_when_running(cancel)), daemon=True)
    t.start()
    with pytest.raises(wasmffi.Cancelled):
        inst.exports.spin()
    t.join(GENEROUS)
    assert done and inst.exports.add(1, 1) == 2


def test_a_cancel_made_inside_a_host_function_stops_the_call_when_it_returns():
    # call_hook() returns right after the host function, with no epoch check in between: the
    # cancel is seen on the way back (host.cpp), not left for the next call.
    box = {}

    def hook():
        box["ran"] = box["inst"].cancel()

    inst = wasmffi.load(WAT, imports={"env": {"hook": hook}})
    box["inst"] = inst
    with pytest.raises(wasmffi.Cancelled):
        inst.exports.call_hook()
    assert box["ran"] is True
    assert inst.exports.add(2, 2) == 4
    box["inst"] = None  # no cycle through the import


def test_cancel_from_many_threads_at_once():
    inst = wasmffi.load(PLAIN_WAT, release_gil=True)
    t, out = in_thread(inst.exports.spin)
    wait_for(lambda: inst.memory.read(0, 1) == b"\x01", "the call to begin")
    cancel = inst.canceller()
    threads = [threading.Thread(target=cancel) for _ in range(8)]
    for c in threads:
        c.start()
    for c in threads:
        c.join(GENEROUS)
    t.join(GENEROUS)
    assert isinstance(out[0], wasmffi.Cancelled)
    assert inst.exports.add(1, 2) == 3
