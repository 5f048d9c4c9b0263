"""release_gil: other Python threads run during a long wasm call; the store stays one-thread-at-a-time."""

import threading
import time

import pytest

import wasmffi
from conftest import GENEROUS, wait_for

WAT = """(module
  (memory (export "memory") 1)
  (func (export "spin") (loop (br 0)))
  ;; runs until the host writes a non-zero word at address 0 (memory is not refused meanwhile)
  (func (export "wait_flag") (loop (br_if 0 (i32.eqz (i32.load (i32.const 0))))))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  ;; sum of 0..n-1, the slow way: a long call with a checkable result
  (func (export "sum") (param $n i64) (result i64) (local $i i64) (local $s i64)
    (block $done
      (loop $more
        (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i64.add (local.get $s) (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $more)))
    (local.get $s)))"""


def count_during(call) -> int:
    """How many times a Python thread counted while `call()` ran on this one, leaving out the
    first and last 50 ms of the call (the thread switches around the call's start and end)."""
    stop, counting = threading.Event(), threading.Event()
    stamps = []

    def counter():
        n = 0
        counting.set()
        while not stop.is_set():
            n += 1
            if n % 100 == 0:
                stamps.append(time.perf_counter())

    t = threading.Thread(target=counter)
    t.start()
    assert counting.wait(GENEROUS)
    try:
        start = time.perf_counter()
        call()
        end = time.perf_counter()
    finally:
        stop.set()
        t.join()
    return 100 * sum(1 for x in stamps if start + 0.05 < x < end - 0.05)


def count_during_a_timed_out_spin(**load_kwargs) -> int:
    """count_during() a 0.3 s call of spin() on an instance loaded with `load_kwargs`, which the
    instance's timeout ends."""
    inst = wasmffi.load(WAT, timeout=0.3, **load_kwargs)

    def spin():
        with pytest.raises(wasmffi.Interrupt):
            inst.exports.spin()

    return count_during(spin)


def test_another_thread_makes_progress_during_a_long_call_that_releases_the_gil():
    counted = count_during_a_timed_out_spin(release_gil=True)
    print(f"counter during a 0.3 s call with release_gil=True: {counted}")
    # A Python loop alone counts millions in 0.2 s; thousands show that it ran during the call.
    assert counted > 5_000


def test_a_call_holding_the_gil_lets_other_threads_run_once_per_tick():
    # Without release_gil a call on the main thread holds the GIL, but like Python code it hands
    # it over once per tick to a thread that has waited a switch interval. Before, the counter
    # stayed at 0.
    counted = count_during_a_timed_out_spin()
    print(f"counter during a 0.3 s call holding the GIL: {counted}")
    assert counted > 5_000


def test_results_are_right_with_the_gil_released_from_several_threads():
    n = 3_000_000
    expect = n * (n - 1) // 2
    module = wasmffi.Module(WAT)
    results = {}

    def work(k):
        inst = module.instantiate(release_gil=True)
        results[k] = [inst.exports.sum(n) for _ in range(3)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {k: [expect] * 3 for k in range(4)}


def test_typed_release_gil_is_per_function():
    inst = wasmffi.load(WAT, timeout=0.3)
    spin = inst.exports.spin.typed(release_gil=True)

    def call():
        with pytest.raises(wasmffi.Interrupt):
            spin()

    assert count_during(call) > 5_000
    assert inst.exports.add.typed(release_gil=True)(2, 3) == 5
    # typed() without release_gil keeps the function's choice; False turns it off.
    assert spin.typed(params=[]) is not spin
    assert inst.exports.add.typed(release_gil=False)(1, 1) == 2


def refused(attempt) -> bool:
    """Whether `attempt()` raises StoreInUseError (it runs normally when the store is free)."""
    try:
        attempt()
    except wasmffi.StoreInUseError:
        return True
    return False


def call_in_thread(call) -> tuple[threading.Thread, dict]:
    """Starts `call()` on a new thread; the dict gets its outcome ("returned" or the exception)."""
    outcome = {}

    def run():
        try:
            call()
            outcome["result"] = "returned"
        except BaseException as e:  # noqa: BLE001 - checked by the test
            outcome["result"] = e

    t = threading.Thread(target=run)
    t.start()
    return t, outcome


def test_a_store_released_by_one_thread_refuses_another():
    # The other thread's call runs until this one lets it return (by writing the flag), so the
    # checks below cannot race with its end; the timeout only keeps a broken test from hanging.
    inst = wasmffi.load(WAT, release_gil=True, timeout=GENEROUS)
    t, outcome = call_in_thread(inst.exports.wait_flag)
    wait_for(lambda: refused(lambda: inst.exports.add(1, 2)), "the other thread to be inside wait_flag()")
    with pytest.raises(wasmffi.StoreInUseError, match="in use by another thread"):
        inst.exports.add(1, 2)
    with pytest.raises(wasmffi.StoreInUseError):
        inst.raw_exports.add.typed(release_gil=False)(1, 2)
    inst.memory.write(0, b"\x01")
    t.join(GENEROUS)
    assert outcome == {"result": "returned"}
    assert inst.exports.add(1, 2) == 3  # free again once the call returned


def test_release_gil_with_python_imports_is_refused():
    wat = '(module (import "env" "f" (func $f)) (func (export "g") call $f))'
    with pytest.raises(ValueError, match=r"^instantiate\(\): release_gil=True cannot be used with Python host"):
        wasmffi.load(wat, {"env": {"f": lambda: None}}, release_gil=True)
    inst = wasmffi.load(wat, {"env": {"f": lambda: None}})
    with pytest.raises(ValueError, match=r"^Func\.typed\(\): release_gil=True cannot be used"):
        inst.exports.g.typed(release_gil=True)


@pytest.mark.parametrize("value", [1, "yes"])
def test_bad_release_gil_values(value):
    with pytest.raises(TypeError, match=r"^instantiate\(\) argument 'release_gil' must be True or False"):
        wasmffi.load(WAT, release_gil=value)
    with pytest.raises(TypeError, match=r"^typed\(\): release_gil must be True, False or None"):
        wasmffi.load(WAT).exports.add.typed(release_gil=value)


def test_declared_functions_release_the_gil_too():
    inst = wasmffi.load(WAT, cdef="void spin(void); int64_t sum(int64_t n);", allocator=None, release_gil=True,
                        timeout=0.3)

    def spin():
        with pytest.raises(wasmffi.Interrupt):
            inst.exports.spin()

    assert count_during(spin) > 5_000
    assert inst.exports.sum(1000) == 499500


def test_store_state_accessors_refuse_a_store_another_thread_is_inside():
    # Before, Memory.grow, Global.value (get and set), Instance.fuel and set_epoch_deadline did
    # not take the one-thread-per-store check: with the GIL released by a call, another thread
    # could change (grow) a store that was running.
    wat = """(module (memory (export "memory") 1) (global (export "g") (mut i32) (i32.const 7))
      (func (export "wait_flag") (loop (br_if 0 (i32.eqz (i32.load (i32.const 0))))))
      (func (export "nop")))"""
    engine = wasmffi.Engine(consume_fuel=True)
    inst = wasmffi.load(wat, engine=engine, release_gil=True, timeout=GENEROUS, fuel=10**15)
    t, outcome = call_in_thread(inst.exports.wait_flag)
    wait_for(lambda: refused(inst.exports.nop), "the other thread to be inside wait_flag()")
    g = inst.exports.g
    attempts = {
        "grow": lambda: inst.memory.grow(1),
        "global get": lambda: g.value,
        "global set": lambda: setattr(g, "value", 8),
        "fuel get": lambda: inst.fuel,
        "fuel set": lambda: setattr(inst, "fuel", 5),
        "epoch deadline": lambda: inst.set_epoch_deadline(5),
    }
    refusals = []
    for name, attempt in attempts.items():
        try:
            attempt()
        except wasmffi.StoreInUseError:
            refusals.append(name)
    inst.memory.write(0, b"\x01")  # lets the call return
    t.join(GENEROUS)
    assert outcome == {"result": "returned"}
    assert refusals == list(attempts)
    # Free again once the call returned: every accessor works, and nothing was changed meanwhile.
    assert inst.memory.pages == 1 and g.value == 7
    assert inst.memory.grow(1) == 1
    g.value = 8
    assert g.value == 8
