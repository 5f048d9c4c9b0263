"""Per-instance sandbox limits: timeout, max_memory and the other store limits, fuel, stack depth."""

import math
import re
import time

import pytest

import wasmffi
from conftest import GENEROUS

SPIN = """(module
  (func (export "spin") (loop (br 0)))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"""

# Grows memory one page at a time until memory.grow returns -1; returns how many grows worked.
BOMB = """(module
  (memory (export "memory") 1)
  (func (export "bomb") (result i32) (local $n i32)
    (block $done
      (loop $more
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $more)))
    (local.get $n))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"""

RECURSE = """(module
  (func $r (export "recurse") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (call $r (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))))
  (func $forever (export "forever") (call $forever)))"""

PAGE = 65536


# ---------------------------------------------------------------------------------------------
# timeout=
# ---------------------------------------------------------------------------------------------


# How soon a timeout stops a call (within twice the timeout, 1 ms ones included) is a figure of
# `python -m wasmffi bench latency`, with its targets; here it must stop, and not before its time.
@pytest.mark.parametrize("timeout", [0.05, 0.2])
def test_timeout_stops_an_endless_loop_after_the_timeout(timeout):
    inst = wasmffi.load(SPIN, timeout=timeout)
    start = time.perf_counter()
    with pytest.raises(wasmffi.Interrupt) as info:
        inst.exports.spin()
    took = time.perf_counter() - start
    print(f"timeout={timeout}: stopped after {took * 1000:.1f} ms")
    assert timeout <= took < timeout + GENEROUS
    assert str(info.value).startswith(f"spin(): interrupt: the call ran past its timeout={timeout:g} s")
    assert "wasm backtrace" in str(info.value)


@pytest.mark.parametrize("timeout", [0.001, 0.003, 0.012])
def test_a_timeout_shorter_than_a_tick_stops_the_call_after_its_timeout(timeout):
    # Below two ticks (20 ms) the ticker wakes at the call's deadline, instead of the call waiting
    # for a tick (before, 1 ms stopped after 10-20 ms: the message says when it stopped).
    inst = wasmffi.load(SPIN, timeout=timeout)
    start = time.perf_counter()
    with pytest.raises(wasmffi.Interrupt) as info:
        inst.exports.spin()
    took = time.perf_counter() - start
    print(f"timeout={timeout}: stopped after {took * 1000:.2f} ms")
    assert timeout <= took < timeout + GENEROUS
    assert re.match(rf"spin\(\): interrupt: the call ran past its timeout={timeout:g} s \(stopped after [0-9.]+ ms\)",
                    str(info.value))
    assert inst.exports.add(2, 3) == 5  # no wake left over that could stop a later call
    time.sleep(2 * timeout)  # past where a left-over wake would fire
    assert inst.exports.add(2, 3) == 5


def test_after_a_timeout_the_instance_answers_and_the_clock_restarts():
    inst = wasmffi.load(SPIN, timeout=0.05)
    with pytest.raises(wasmffi.Interrupt):
        inst.exports.spin()
    assert inst.exports.add(2, 3) == 5
    time.sleep(0.1)  # longer than the timeout: only time spent inside a call counts
    assert inst.exports.add(2, 3) == 5
    start = time.perf_counter()
    with pytest.raises(wasmffi.Interrupt):
        inst.exports.spin()
    # Timed from this call's start: not cut short by the time that passed since the last one.
    assert 0.05 <= time.perf_counter() - start < 0.05 + GENEROUS


def test_timeout_counts_the_start_function():
    module = wasmffi.Module('(module (func $s (loop (br 0))) (start $s))')
    start = time.perf_counter()
    with pytest.raises(wasmffi.Interrupt, match=r"timeout=0\.05 s"):
        module.instantiate(timeout=0.05)
    assert 0.05 <= time.perf_counter() - start < 0.05 + GENEROUS


def test_timeout_applies_to_declared_functions():
    inst = wasmffi.load(SPIN, cdef="void spin(void); int add(int, int);", allocator=None, timeout=0.05)
    with pytest.raises(wasmffi.Interrupt, match=r"timeout=0\.05 s"):
        inst.exports.spin()
    assert inst.exports.add(1, 2) == 3


def test_instances_without_timeout_are_unaffected_by_one_with_it():
    slow = wasmffi.load(SPIN, timeout=0.05)
    plain = wasmffi.load(SPIN)
    with pytest.raises(wasmffi.Interrupt):
        slow.exports.spin()
    assert plain.exports.add(1, 1) == 2


@pytest.mark.parametrize("value, exc, pattern", [
    (0, ValueError, "must be a positive, finite number of seconds"),
    (-1, ValueError, "must be a positive, finite number of seconds"),
    (math.nan, ValueError, "must be a positive, finite number of seconds"),
    (math.inf, ValueError, "must be a positive, finite number of seconds"),
    (1e12, ValueError, "must be a positive, finite number of seconds \\(at most 10\\*\\*9\\)"),
    ("1", TypeError, "must be a number of seconds .* not str"),
    (True, TypeError, "must be a number of seconds .* not bool"),
])
def test_bad_timeout_names_the_argument(value, exc, pattern):
    with pytest.raises(exc, match=r"^instantiate\(\) argument 'timeout' " + pattern):
        wasmffi.load(SPIN, timeout=value)


# ---------------------------------------------------------------------------------------------
# max_memory and the other store limits
# ---------------------------------------------------------------------------------------------


def test_memory_bomb_stops_at_max_memory_as_the_guest_sees_it():
    inst = wasmffi.load(BOMB, max_memory=4 * PAGE)
    assert inst.exports.bomb() == 3  # 1 page to start, 3 grows, then memory.grow returns -1
    assert inst.memory.pages == 4
    assert inst.exports.grow(1) == -1
    assert inst.exports.grow(0) == 4  # the process and the instance are fine


def test_memory_bomb_without_a_limit_grows_much_further():
    # The same guest with max_memory=8 MiB: the limit, not something else, stopped the bomb above.
    assert wasmffi.load(BOMB, max_memory=128 * PAGE).exports.bomb() == 127


def test_growth_inside_the_limit_works():
    inst = wasmffi.load(BOMB, max_memory=4 * PAGE)
    assert inst.exports.grow(2) == 1
    assert inst.memory.pages == 3
    inst.memory.write(3 * PAGE - 1, b"x")
    assert inst.memory.read(3 * PAGE - 1, 1) == b"x"


def test_initial_memory_beyond_max_memory_fails_naming_the_limit():
    with pytest.raises(wasmffi.ResourceError, match=r"memory.*\(this instance's limits: max_memory=65535\)"):
        wasmffi.load(BOMB, max_memory=PAGE - 1)


def test_table_limits_name_the_limit():
    with pytest.raises(wasmffi.ResourceError, match=r"max_table_elements=3"):
        wasmffi.load('(module (table 4 funcref))', max_table_elements=3)
    with pytest.raises(wasmffi.ResourceError, match=r"max_tables=0"):
        wasmffi.load('(module (table 1 funcref))', max_tables=0)
    assert wasmffi.load('(module (table 3 funcref))', max_table_elements=3) is not None


def test_instance_and_memory_count_limits():
    with pytest.raises(wasmffi.ResourceError, match=r"max_instances=0"):
        wasmffi.load(SPIN, max_instances=0)
    with pytest.raises(wasmffi.ResourceError, match=r"max_memories=0"):
        wasmffi.load(BOMB, max_memories=0)
    assert wasmffi.load(BOMB, max_memories=1, max_instances=1).exports.grow(0) == 1
    # A failure that has nothing to do with the limits does not name them.
    with pytest.raises(wasmffi.LinkError) as info:
        wasmffi.load('(module (import "a" "b" (memory 1)))', {}, max_memory=PAGE)
    assert "limits" not in str(info.value)


@pytest.mark.parametrize("name", ["max_memory", "max_table_elements", "max_instances", "max_tables",
                                  "max_memories"])
@pytest.mark.parametrize("value, exc, pattern", [
    # Python's convention (docs/design.md): the wrong type is a TypeError, an int out of range a
    # ValueError, whichever bound it is past.
    (-1, ValueError, "must be an int in 0..2\\*\\*64-1, not -1"),
    (2**64, ValueError, "must be an int in 0..2\\*\\*64-1, not 18446744073709551616"),
    (2**63, ValueError, "must be at most 2\\*\\*63-1, not 9223372036854775808"),
    (1.5, TypeError, "must be an int in 0..2\\*\\*64-1, not float"),
    ("1", TypeError, "must be an int in 0..2\\*\\*64-1, not str"),
])
def test_bad_limits_name_the_argument(name, value, exc, pattern):
    with pytest.raises(exc, match=rf"^instantiate\(\) argument '{name}' {pattern}"):
        wasmffi.load(SPIN, **{name: value})


# ---------------------------------------------------------------------------------------------
# fuel= and stack depth
# ---------------------------------------------------------------------------------------------


def test_fuel_runs_out_with_out_of_fuel():
    engine = wasmffi.Engine(consume_fuel=True)
    inst = wasmffi.load(SPIN, engine=engine, fuel=10_000)
    assert inst.exports.add(1, 2) == 3
    with pytest.raises(wasmffi.OutOfFuel, match=r"^spin\(\): .*fuel"):
        inst.exports.spin()
    assert inst.fuel == 0
    inst.fuel = 100
    assert inst.exports.add(1, 2) == 3


def test_fuel_on_an_engine_without_fuel_names_the_fix():
    with pytest.raises(wasmffi.Error, match=r"^instantiate\(\) argument 'fuel': .*Engine\(consume_fuel=True\)"):
        wasmffi.load(SPIN, fuel=10)


def test_bad_fuel_names_the_argument():
    with pytest.raises(ValueError, match=r"^instantiate\(\) argument 'fuel' must be an int in 0\.\.2\*\*64-1, not -5$"):
        wasmffi.load(SPIN, engine=wasmffi.Engine(consume_fuel=True), fuel=-5)
    with pytest.raises(TypeError, match=r"^instantiate\(\) argument 'fuel' must be an int in 0\.\.2\*\*64-1, not str$"):
        wasmffi.load(SPIN, engine=wasmffi.Engine(consume_fuel=True), fuel="5")


def test_deep_recursion_is_a_stack_overflow_and_the_instance_survives():
    inst = wasmffi.load(RECURSE)
    with pytest.raises(wasmffi.StackOverflow):
        inst.exports.forever()
    assert inst.exports.recurse(1000) == 1000


def test_a_smaller_max_wasm_stack_overflows_sooner():
    # Depth is about proportional to the stack: ~2,000 frames of this function in 64 KiB, ~16,000
    # in the default 512 KiB.
    small = wasmffi.load(RECURSE, engine=wasmffi.Engine(max_wasm_stack=64 << 10))
    big = wasmffi.load(RECURSE)
    with pytest.raises(wasmffi.StackOverflow):
        small.exports.recurse(8_000)
    assert big.exports.recurse(8_000) == 8_000
    assert small.exports.recurse(1_000) == 1_000


def test_memory_grow_from_python_past_max_memory_names_the_limit():
    # Before, the error blamed only the declared maximum and the engine's memory_reservation.
    inst = wasmffi.load('(module (memory (export "memory") 1))', max_memory=2 << 16)
    assert inst.memory.grow(1) == 1
    with pytest.raises(wasmffi.ResourceError, match=r"max_memory=131072 bytes"):
        inst.memory.grow(1)
    assert inst.memory.pages == 2
