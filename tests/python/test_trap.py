"""Tests that guest traps raise the matching wasmffi.Trap subclass with a useful message, and leave the instance usable."""

import gc
import math
import os
import subprocess
import sys
import textwrap

import pytest

import wasmffi

TRAPS_WAT = """(module
  (memory (export "memory") 1)
  (global $calls (export "calls") (mut i32) (i32.const 0))
  (type $to_i32 (func (result i32)))
  (type $i32_to_i32 (func (param i32) (result i32)))
  (table 3 funcref)
  (elem (i32.const 0) $seven)
  (func $seven (result i32) i32.const 7)
  (func $unreach (export "unreach") unreachable)
  (func $oob_load (export "oob_load") (result i32) i32.const 70000 i32.load)
  (func $oob_store (export "oob_store") (param i32) local.get 0 i32.const 1 i32.store)
  (func $div_s (export "div_s") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func $rem_u64 (export "rem_u64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.rem_u)
  (func $trunc (export "trunc") (param f32) (result i32) local.get 0 i32.trunc_f32_s)
  (func $recurse (export "recurse") (param i32) (result i32)
    local.get 0 call $recurse i32.const 1 i32.add)
  (func $call_slot (export "call_slot") (param i32) (result i32) local.get 0 call_indirect (type $to_i32))
  (func $bad_sig (export "bad_sig") (result i32) i32.const 1 i32.const 0 call_indirect (type $i32_to_i32))
  (func $count (export "count") (result i32)
    global.get $calls i32.const 1 i32.add global.set $calls global.get $calls)
  (func $helper_that_traps (param i32) (result i32) local.get 0 i32.const 0 i32.div_u)
  (func $outer_caller (export "outer") (param i32) (result i32) local.get 0 call $helper_that_traps)
  (func (export "anonymous") unreachable))"""


@pytest.fixture
def traps():
    return wasmffi.load(TRAPS_WAT)


# (export, args, class, the engine's reason)
CASES = [
    ("unreach", (), wasmffi.Unreachable, "unreachable"),
    ("oob_load", (), wasmffi.MemoryOutOfBounds, "out of bounds memory access"),
    ("oob_store", (65535,), wasmffi.MemoryOutOfBounds, "out of bounds memory access"),
    ("div_s", (1, 0), wasmffi.IntegerDivisionByZero, "integer divide by zero"),
    ("rem_u64", (1, 0), wasmffi.IntegerDivisionByZero, "integer divide by zero"),
    ("div_s", (-2**31, -1), wasmffi.IntegerOverflow, "integer overflow"),
    ("trunc", (math.nan,), wasmffi.BadConversionToInteger, "invalid conversion to integer"),
    ("trunc", (3e9,), wasmffi.IntegerOverflow, "integer overflow"),
    ("recurse", (0,), wasmffi.StackOverflow, "call stack exhausted"),
    ("call_slot", (1,), wasmffi.IndirectCallToNull, "uninitialized element"),
    ("call_slot", (10,), wasmffi.TableOutOfBounds, "out of bounds table access"),
    ("bad_sig", (), wasmffi.BadSignature, "indirect call type mismatch"),
]
CASE_IDS = [f"{name}-{cls.__name__}" for name, _, cls, _ in CASES]


@pytest.mark.parametrize("name, args, cls, reason", CASES, ids=CASE_IDS)
def test_trap_raises_its_subclass(traps, name, args, cls, reason):
    with pytest.raises(cls) as info:
        traps.exports[name](*args)
    assert type(info.value) is cls
    assert isinstance(info.value, wasmffi.Trap)
    assert isinstance(info.value, wasmffi.Error)


@pytest.mark.parametrize("name, args, cls, reason", CASES, ids=CASE_IDS)
def test_trap_message_has_function_reason_and_backtrace(traps, name, args, cls, reason):
    with pytest.raises(wasmffi.Trap) as info:
        traps.exports[name](*args)
    msg = str(info.value)
    assert msg.startswith(f"{name}(): ")
    assert reason in msg
    assert "wasm backtrace" in msg
    assert msg.index(reason) < msg.index("wasm backtrace")  # the reason comes first
    # Every exported function here has a $name, so its frame is named (not "<wasm function N>").
    assert f"!{name}" in msg.split("wasm backtrace", 1)[1]


def test_backtrace_names_inner_frames_innermost_first(traps):
    with pytest.raises(wasmffi.IntegerDivisionByZero) as info:
        traps.exports.outer(5)
    msg = str(info.value)
    assert msg.startswith("outer(): ")
    trace = msg.split("wasm backtrace", 1)[1]
    assert "helper_that_traps" in trace and "outer_caller" in trace
    assert trace.index("helper_that_traps") < trace.index("outer_caller")


def test_backtrace_of_unnamed_function_uses_its_index(traps):
    with pytest.raises(wasmffi.Unreachable) as info:
        traps.exports.anonymous()
    msg = str(info.value)
    assert msg.startswith("anonymous(): ")
    assert "<wasm function" in msg


def test_backtrace_names_the_wat_module():
    inst = wasmffi.load('(module $my_module (func $boom (export "boom") unreachable))')
    with pytest.raises(wasmffi.Unreachable, match=r"my_module!boom"):
        inst.exports.boom()


def test_arith_divide_by_zero_raises_integer_division_by_zero(arith):
    with pytest.raises(wasmffi.IntegerDivisionByZero) as info:
        arith.exports.divide(1, 0)
    msg = str(info.value)
    assert msg.startswith("divide(): ")
    assert "integer divide by zero" in msg
    assert "wasm backtrace" in msg


def test_arith_int_min_divided_by_minus_one_raises_integer_overflow(arith):
    with pytest.raises(wasmffi.IntegerOverflow, match="integer overflow"):
        arith.exports.divide(-2**31, -1)
    with pytest.raises(wasmffi.IntegerOverflow):
        arith.exports.divide(2**31, 2**32 - 1)  # the same bit patterns, written unsigned


def test_every_trap_class_is_a_trap_and_an_error():
    names = ["StackOverflow", "MemoryOutOfBounds", "TableOutOfBounds",
             "IndirectCallToNull", "BadSignature", "IntegerOverflow", "IntegerDivisionByZero",
             "BadConversionToInteger", "Unreachable", "Interrupt", "OutOfFuel", "Cancelled"]
    assert issubclass(wasmffi.Cancelled, wasmffi.Interrupt)  # what stops an Interrupt stops a cancel
    for name in names:
        cls = getattr(wasmffi, name)
        assert issubclass(cls, wasmffi.Trap), name
        assert issubclass(cls, wasmffi.Error), name
        assert name in wasmffi.__all__
    assert issubclass(wasmffi.Trap, wasmffi.Error)
    assert not issubclass(wasmffi.Trap, wasmffi.CompileError)
    from wasmffi._errors import TRAP_CLASSES
    assert sorted(TRAP_CLASSES) == sorted(names)  # the classes a trap can be raised as: no more


def test_there_is_no_class_for_a_trap_that_cannot_happen():
    # HeapMisaligned (a misaligned atomic access) was exported but could never be raised: the
    # engine is built without the threads proposal, so a module that uses atomics does not compile.
    with pytest.raises(wasmffi.CompileError, match="threads support is not enabled"):
        wasmffi.Module('(module (memory 1) (func (export "f") (result i32) (i32.atomic.load (i32.const 1))))')
    assert not hasattr(wasmffi, "HeapMisaligned")


def test_trap_kinds_are_distinct(traps):
    with pytest.raises(wasmffi.Trap) as info:
        traps.exports.div_s(-2**31, -1)
    assert not isinstance(info.value, wasmffi.IntegerDivisionByZero)
    with pytest.raises(wasmffi.Trap) as info:
        traps.exports.div_s(1, 0)
    assert not isinstance(info.value, wasmffi.IntegerOverflow)


def _trap_in_child(engine_kwargs: str) -> tuple:
    """Runs an endless loop in a fresh interpreter (so a missing trap cannot hang the suite)."""
    code = textwrap.dedent(f"""
        import wasmffi
        engine = wasmffi.Engine({engine_kwargs})
        inst = wasmffi.Module('(module (func (export "spin") (loop (br 0))))', engine=engine).instantiate()
        if engine.epoch_interruption:
            inst.set_epoch_deadline(0)  # a new store has no deadline; zero ticks is already due
        try:
            inst.exports.spin()
        except wasmffi.Trap as e:
            print(type(e).__name__)
            print(str(e).splitlines()[0])
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    return lines[0], lines[1]


def test_running_out_of_fuel_raises_out_of_fuel():
    name, headline = _trap_in_child("consume_fuel=True")
    assert name == "OutOfFuel"
    assert headline.startswith("spin(): ") and "fuel" in headline


def test_epoch_interruption_raises_interrupt():
    name, headline = _trap_in_child("epoch_interruption=True")
    assert name == "Interrupt"
    assert headline.startswith("spin(): ") and "interrupt" in headline


# ---------------------------------------------------------------------------------------------
# After a trap
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, args, cls, reason", CASES, ids=CASE_IDS)
def test_instance_stays_usable_after_trap(traps, name, args, cls, reason):
    ex = traps.exports
    mem = traps.memory
    mem.write(100, b"keep")
    assert ex.count() == 1
    with pytest.raises(cls):
        ex[name](*args)
    assert ex.count() == 2  # state from before the trap survives; calls still work
    assert ex.calls.value == 2
    assert mem.read(100, 4) == b"keep"
    assert ex.div_s(7, 2) == 3
    assert ex.call_slot(0) == 7
    with pytest.raises(cls):  # and the same trap is raised again, not something else
        ex[name](*args)


def test_stack_overflow_is_recoverable_repeatedly(traps):
    for _ in range(5):
        with pytest.raises(wasmffi.StackOverflow):
            traps.exports.recurse(0)
    assert traps.exports.count() == 1


def test_trap_does_not_undo_memory_writes_made_before_it():
    inst = wasmffi.load('(module (memory (export "memory") 1) '
                        '(func (export "store_then_trap") i32.const 8 i32.const 0x11223344 i32.store unreachable))')
    with pytest.raises(wasmffi.Unreachable):
        inst.exports.store_then_trap()
    assert inst.memory.read(8, 4) == bytes([0x44, 0x33, 0x22, 0x11])


def test_start_function_trap_raises_at_instantiation():
    module = wasmffi.Module('(module (func $boom_at_start unreachable) (start $boom_at_start))')
    with pytest.raises(wasmffi.Unreachable) as info:
        module.instantiate()
    msg = str(info.value)
    assert "unreachable" in msg
    assert "wasm backtrace" in msg and "boom_at_start" in msg
    with pytest.raises(wasmffi.Trap):  # the module stays valid; each attempt traps again
        module.instantiate()


def test_start_function_trap_via_load_raises_trap_subclass():
    with pytest.raises(wasmffi.IntegerDivisionByZero):
        wasmffi.load('(module (func $start i32.const 1 i32.const 0 i32.div_u drop) (start $start))')


def test_caught_trap_can_be_chained_and_reraised(traps):
    with pytest.raises(RuntimeError) as info:
        try:
            traps.exports.unreach()
        except wasmffi.Trap as e:
            raise RuntimeError("wrapped") from e
    assert isinstance(info.value.__cause__, wasmffi.Unreachable)


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc to measure memory")
def test_trapping_in_a_loop_does_not_leak_or_crash(traps):
    ex = traps.exports
    arg = 2**31 + 12345  # a heap int: its refcount shows whether the error path leaks references
    func = ex.div_s

    def trap_many(n):
        for _ in range(n):
            try:
                func(arg, 0)
            except wasmffi.IntegerDivisionByZero:
                pass

    trap_many(1000)  # warm up allocator and caches
    gc.collect()
    refs_arg, refs_func, refs_cls = sys.getrefcount(arg), sys.getrefcount(func), \
        sys.getrefcount(wasmffi.IntegerDivisionByZero)
    before = _rss()
    trap_many(1000)
    trap_many(1000)
    gc.collect()
    grown = _rss() - before
    assert sys.getrefcount(arg) == refs_arg
    assert sys.getrefcount(func) == refs_func
    # A leaked reference per raised exception would show up as +2000 here.
    assert sys.getrefcount(wasmffi.IntegerDivisionByZero) - refs_cls < 10
    assert grown < 8 * 1024 * 1024, f"RSS grew by {grown} bytes over 2000 traps"
    assert ex.count() == 1
    assert ex.div_s(9, 3) == 3


def test_many_stack_overflows_in_a_loop_do_not_crash(traps):
    for _ in range(200):
        with pytest.raises(wasmffi.StackOverflow):
            traps.exports.recurse(0)
    assert traps.exports.count() == 1
