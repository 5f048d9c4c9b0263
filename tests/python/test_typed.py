"""Func.typed(): declared signedness for integer slots, so addresses come back unsigned; fuel/epoch."""

import inspect
import pytest

import wasmffi
from conftest import wat_instance

FUNCS = """
  (memory (export "memory") 1)
  (func (export "top") (result i32) i32.const -16)
  (func (export "id32") (param i32) (result i32) local.get 0)
  (func (export "id64") (param i64) (result i64) local.get 0)
  (func (export "two") (result i32 i64) i32.const -1 i64.const -1)
  (func (export "fadd") (param f32 f64) (result f64) local.get 0 f64.promote_f32 local.get 1 f64.add)
"""


@pytest.fixture
def inst():
    return wat_instance(FUNCS)


def test_ptr_result_of_i32_function_is_unsigned(inst):
    top = inst.exports.top
    assert top() == -16  # undeclared: signed, as wasm text prints it
    assert top.typed(results=["ptr"])() == 0xFFFFFFF0
    assert top.typed(results=["u32"])() == 0xFFFFFFF0


def test_ptr_on_i64_slot_is_u64(inst):
    f = inst.exports.id64.typed(params=["ptr"], results=["ptr"])
    assert f.params == ("u64",) and f.results == ("u64",)
    assert f(2**64 - 1) == 2**64 - 1
    assert f(2**63) == 2**63


def test_unsigned_params_reject_negative_values(inst):
    f = inst.exports.id32.typed(params=["u32"])
    assert f(0xFFFFFFFF) == -1  # result stays undeclared (signed)
    with pytest.raises(OverflowError, match=r"id32\(\) argument 1: -1 is out of range for u32"):
        f(-1)
    with pytest.raises(OverflowError, match="u32"):
        f(2**32)
    g = inst.exports.id64.typed(params=["u64"])
    with pytest.raises(OverflowError, match="u64"):
        g(-1)
    with pytest.raises(OverflowError, match="u64"):
        g(2**64)


def test_typed_keeps_the_original_and_shows_declared_types(inst):
    f = inst.exports.id32
    u = f.typed(params=["u32"], results=["u32"])
    assert str(f.type) == "(i32) -> i32" and str(u.type) == "(u32) -> u32"
    assert u.type == wasmffi.FuncType(("u32",), ("u32",))
    assert "(u32) -> u32" in repr(u)
    assert str(inspect.signature(u)) == "(p0: 'u32', /) -> 'u32'"
    assert f(-1) == -1 and u(2**32 - 1) == 2**32 - 1


def test_typed_multi_value_results(inst):
    assert inst.exports.two() == (-1, -1)
    assert inst.exports.two.typed(results=["u32", "u64"])() == (2**32 - 1, 2**64 - 1)


def test_typed_only_params_or_only_results_keeps_the_other(inst):
    f = inst.exports.fadd.typed(params=["f32", "f64"])
    assert f(1.5, 2.25) == 3.75 and f.results == ("f64",)


@pytest.mark.parametrize("kwargs, exc, text", [
    (dict(results=["f32"]), ValueError, "result 0: f32 does not fit wasm type i32"),
    (dict(results=["u64"]), ValueError, "u64 does not fit wasm type i32"),
    (dict(results=["u32", "u32"]), ValueError, "top.typed(): results: 2 type(s) declared, the wasm function has 1"),
    (dict(results=[]), ValueError, "top.typed(): results: 0 type(s) declared, the wasm function has 1"),
    (dict(params=["i32"]), ValueError, "top.typed(): parameters: 1 type(s) declared, the wasm function has 0"),
    (dict(results="ptr"), TypeError, "not a str"),
    (dict(results=["pointer"]), ValueError, "unknown type 'pointer'"),
    (dict(results=[32]), TypeError, "must be a type name str"),
    (dict(results=5), TypeError, "sequence"),
])
def test_typed_rejects_declarations_that_do_not_fit(inst, kwargs, exc, text):
    with pytest.raises(exc, match=text.replace("(", r"\(").replace(")", r"\)")):
        inst.exports.top.typed(**kwargs)


@pytest.mark.parametrize("kwargs", [dict(params=[]), dict(results=[]), dict(params=[], results=["i64"])])
def test_empty_declaration_means_none_and_must_match(inst, kwargs):
    # An empty list declares "no parameters" / "no results", for params and results alike.
    with pytest.raises(ValueError, match=r"^id64\.typed\(\): .*0 type\(s\) declared.*\(the function is id64\(i64\) -> i64\)"):
        inst.exports.id64.typed(**kwargs)


def test_empty_declaration_fits_a_function_without_params_or_results():
    inst = wat_instance('''(func (export "nothing")) (func (export "seven") (result i32) i32.const 7)''')
    f = inst.exports.nothing.typed(params=[], results=[])
    assert f() is None and f.type == wasmffi.FuncType((), ())
    g = inst.exports.seven.typed(params=[], results=["u32"])
    assert g() == 7 and str(g.type) == "() -> u32"


def test_typed_none_keeps_the_current_declaration(inst):
    u = inst.exports.two.typed(results=["u32", "u64"])
    assert u.typed(params=None, results=None).results == ("u32", "u64")
    assert u.typed().results == ("u32", "u64")


def test_typed_rejects_positional_arguments(inst):
    with pytest.raises(TypeError):
        inst.exports.top.typed(["ptr"])


def test_ptr_result_reads_memory_at_unsigned_address():
    # A 2 GiB + 64 KiB memory: the guest returns an address above 2**31.
    inst = wat_instance("""
      (memory (export "memory") 32769)
      (func (export "high") (result i32) i32.const 0x80000010
        i32.const 0x80000010 i32.const 0x01020304 i32.store)""")
    high = inst.exports.high.typed(results=["ptr"])
    p = high()
    assert p == 0x80000010
    assert inst.memory.read_u32(p) == 0x01020304
    with pytest.raises(wasmffi.MemoryAccessError, match="negative"):
        inst.memory.read_u32(inst.exports.high())  # the undeclared result is negative: refused


LOOP = """(func (export "spin") (param i32) (result i32) (local i32)
  (loop (local.set 1 (i32.add (local.get 1) (i32.const 1)))
        (br_if 0 (i32.lt_u (local.get 1) (local.get 0))))
  local.get 1)"""


def test_fuel_is_consumed_and_refills():
    inst = wat_instance(LOOP, engine=wasmffi.Engine(consume_fuel=True))
    assert inst.fuel == 0
    with pytest.raises(wasmffi.OutOfFuel):
        inst.exports.spin(10)
    inst.fuel = 1_000_000
    assert inst.exports.spin(1000) == 1000
    left = inst.fuel
    assert 0 < left < 1_000_000
    with pytest.raises(wasmffi.OutOfFuel, match="fuel"):
        inst.exports.spin(2**31)
    inst.fuel = 10_000
    assert inst.exports.spin(10) == 10  # usable again after running dry


def test_fuel_without_consume_fuel_is_a_clear_error():
    inst = wat_instance(LOOP)
    with pytest.raises(wasmffi.Error, match="fuel is not configured"):
        inst.fuel
    with pytest.raises(wasmffi.Error, match="fuel is not configured"):
        inst.fuel = 5
    with pytest.raises(ValueError, match=r"^Instance\.fuel must be an int in 0\.\.2\*\*64-1, not -1$"):
        wat_instance(LOOP, engine=wasmffi.Engine(consume_fuel=True)).fuel = -1


def test_epoch_past_the_deadline_interrupts_the_next_call():
    # Note: a Python thread cannot advance the epoch *during* a call, because the call holds the
    # GIL; a native deadline timer belongs to the sandbox-limits work.
    engine = wasmffi.Engine(epoch_interruption=True)
    inst = wat_instance(LOOP, engine=engine)
    inst.set_epoch_deadline(1)
    assert inst.exports.spin(100) == 100  # the epoch has not advanced: runs to completion
    engine.increment_epoch()
    with pytest.raises(wasmffi.Interrupt, match="interrupt"):
        inst.exports.spin(100)
    inst.set_epoch_deadline(1)  # a fresh deadline makes the instance usable again
    assert inst.exports.spin(100) == 100
