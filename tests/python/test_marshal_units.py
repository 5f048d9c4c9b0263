"""The marshalling units through Func.typed(): every C scalar unit checks its range and reads back what C would."""

import pytest

from conftest import wat_instance

FUNCS = """
  (func (export "id32") (param i32) (result i32) local.get 0)
  (func (export "id64") (param i64) (result i64) local.get 0)
  (func (export "garbage") (result i32) i32.const 0x1234ff80)
"""


@pytest.fixture
def inst():
    return wat_instance(FUNCS)


@pytest.mark.parametrize("unit,lo,hi", [
    ("i8", -128, 127), ("u8", 0, 255), ("i16", -32768, 32767), ("u16", 0, 65535),
    ("int32", -2**31, 2**31 - 1), ("u32", 0, 2**32 - 1),
])
def test_i32_units_round_trip_their_range_and_refuse_one_beyond(inst, unit, lo, hi):
    f = inst.exports.id32.typed(params=[unit], results=[unit])
    assert f(lo) == lo and f(hi) == hi and f(0) == 0
    for bad in (lo - 1, hi + 1):
        with pytest.raises(OverflowError, match=rf"id32\(\) argument 1: {bad} is out of range for {unit}"):
            f(bad)


@pytest.mark.parametrize("unit,lo,hi", [("int64", -2**63, 2**63 - 1), ("u64", 0, 2**64 - 1)])
def test_i64_units(inst, unit, lo, hi):
    f = inst.exports.id64.typed(params=[unit], results=[unit])
    assert f(lo) == lo and f(hi) == hi
    for bad in (lo - 1, hi + 1):
        with pytest.raises(OverflowError, match=f"out of range for {unit}"):
            f(bad)


def test_results_are_truncated_to_the_c_type_and_extended_by_its_sign(inst):
    g = inst.exports.garbage  # 0x1234ff80: low byte 0x80, low half 0xff80
    assert g.typed(results=["i8"])() == -128
    assert g.typed(results=["u8"])() == 0x80
    assert g.typed(results=["i16"])() == -128
    assert g.typed(results=["u16"])() == 0xff80
    assert g.typed(results=["bool"])() is True


def test_bool_takes_true_false_0_and_1_only(inst):
    f = inst.exports.id32.typed(params=["bool"], results=["bool"])
    assert f(True) is True and f(False) is False and f(1) is True and f(0) is False
    with pytest.raises(OverflowError, match="2 is out of range for bool"):
        f(2)
    with pytest.raises(TypeError, match="argument 1 must be int"):
        f("yes")


def test_unit_that_does_not_fit_the_slot_is_refused(inst):
    with pytest.raises(ValueError, match="int64 does not fit wasm type i32"):
        inst.exports.id32.typed(params=["int64"])
    with pytest.raises(ValueError, match="unknown type 'uint8_t'.*i8, u8"):
        inst.exports.id32.typed(params=["uint8_t"])
