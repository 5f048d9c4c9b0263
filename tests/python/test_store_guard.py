"""The store guard (src/python/store_guard.cpp): one thread per store. A call from another thread
while a host function runs is refused with StoreInUseError, re-entry from the same thread is not,
and other stores stay usable meanwhile. Calls that release the GIL: test_gil.py."""

import threading
import time

import pytest

import wasmffi
from conftest import GENEROUS

WAT = """
(module
  (import "env" "nap" (func $nap (param i32) (result i32)))
  (func (export "napping") (param i32) (result i32) local.get 0 call $nap)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
"""


def sleeping_instance(started, release):
    def nap(x):
        started.set()
        release.wait(10)  # releases the GIL: other threads run while this store is entered
        return x + 1
    return wasmffi.load(WAT, {"env": {"nap": nap}})


def test_another_thread_is_refused_while_a_host_function_sleeps():
    started, release = threading.Event(), threading.Event()
    inst = sleeping_instance(started, release)
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("v", inst.exports.napping(41)))
    t.start()
    assert started.wait(10)
    with pytest.raises(wasmffi.StoreInUseError, match="in use by another thread") as ei:
        inst.exports.add(1, 2)
    assert isinstance(ei.value, RuntimeError)
    release.set()
    t.join(10)
    assert result == {"v": 42}
    # Free again: this thread may call now.
    assert inst.exports.add(1, 2) == 3


def test_other_instances_stay_usable_from_other_threads_meanwhile():
    started, release = threading.Event(), threading.Event()
    inst = sleeping_instance(started, release)
    other = wasmffi.load(WAT, {"env": {"nap": lambda x: x}})
    t = threading.Thread(target=inst.exports.napping, args=(1,))
    t.start()
    assert started.wait(10)
    try:
        assert other.exports.add(2, 2) == 4
        assert other.exports.napping(5) == 5
    finally:
        release.set()
        t.join(10)


def test_the_refused_thread_can_retry_after_the_owner_returns():
    started, release = threading.Event(), threading.Event()
    inst = sleeping_instance(started, release)
    outcome = []

    def second():
        assert started.wait(10)
        try:
            inst.exports.add(1, 1)
            outcome.append("entered")
        except wasmffi.StoreInUseError:
            outcome.append("refused")
        release.set()
        deadline = time.monotonic() + GENEROUS
        while time.monotonic() < deadline:  # refused until the owner's call has returned
            try:
                outcome.append(inst.exports.add(2, 2))
                return
            except wasmffi.StoreInUseError:
                time.sleep(0.001)

    t = threading.Thread(target=second)
    t.start()
    assert inst.exports.napping(1) == 2
    t.join(2 * GENEROUS)
    assert outcome == ["refused", 4]


def test_reentry_from_the_same_thread_is_allowed():
    holder = {}

    def nap(x):
        return holder["inst"].exports.add(x, 100)

    holder["inst"] = inst = wasmffi.load(WAT, {"env": {"nap": nap}})
    assert inst.exports.napping(1) == 101
