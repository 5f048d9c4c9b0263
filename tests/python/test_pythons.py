"""Per-interpreter guards: the int fast path (src/python/pylong_fast.hpp) on every digit boundary, and tools/test-python.sh."""

import pathlib
import subprocess
import sys

import pytest
from hypothesis import given, strategies as st

import wasmffi

from conftest import wat_instance

ROOT = pathlib.Path(__file__).resolve().parents[2]
I64_MIN, I64_MAX, U64_MAX = -2**63, 2**63 - 1, 2**64 - 1

IDENTITY_WAT = """
  (func (export "id32") (param i32) (result i32) local.get 0)
  (func (export "id64") (param i64) (result i64) local.get 0)
  (func (export "add64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add)
  (func (export "add32") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "pair64") (param i64 i64) (result i64 i64) local.get 1 local.get 0)
"""


def _around(b: int) -> list:
    return [b - 1, b, b + 1, -(b - 1), -b, -(b + 1)]


# CPython stores ints in 30-bit digits (15-bit on a few platforms): one digit below 2**30, two
# below 2**60. The fast path reads one- and two-digit ints from the object itself, the rest go the
# public-API way; every boundary between those regimes, and the ends of the i64/u64 range, is here.
BOUNDARIES = sorted(set(
    [0, 1, -1, 2**15, -2**15, 2**31 - 1, -2**31, 2**31, 2**32 - 1, 2**32, -2**32, I64_MAX, I64_MIN, U64_MAX,
     I64_MAX - 1, I64_MIN + 1, 2**63, U64_MAX - 1, 0x2AAAAAAAAAAAAAAA, -0x2AAAAAAAAAAAAAAA, 2**60 - 2**30,
     0x15555555 | (0x2AAAAAAA << 30)]
    + _around(2**15) + _around(2**30) + _around(2**45) + _around(2**60)
))
I64_VALUES = [v for v in BOUNDARIES if I64_MIN <= v <= U64_MAX]
I32_VALUES = [v for v in BOUNDARIES if -2**31 <= v <= 2**32 - 1]


def signed(v: int, bits: int) -> int:
    return (v + 2**(bits - 1)) % 2**bits - 2**(bits - 1)


@pytest.fixture(scope="module")
def ids():
    return _IDS


_IDS = wat_instance(IDENTITY_WAT).exports


@pytest.mark.parametrize("v", I64_VALUES, ids=hex)
def test_i64_identity_on_digit_boundaries(ids, v):
    assert ids.id64(v) == signed(v, 64)


@pytest.mark.parametrize("v", I64_VALUES, ids=hex)
def test_u64_identity_on_digit_boundaries(ids, v):
    f = ids.id64.typed(params=["u64"], results=["u64"])
    if v < 0:
        with pytest.raises(OverflowError, match=r"id64\(\) argument 1: .* out of range for u64"):
            f(v)
    else:
        assert f(v) == v


@pytest.mark.parametrize("v", I32_VALUES, ids=hex)
def test_i32_and_u32_identity_on_digit_boundaries(ids, v):
    assert ids.id32(v) == signed(v, 32)
    u = ids.id32.typed(params=["u32"], results=["u32"])
    if v < 0:
        with pytest.raises(OverflowError, match=r"out of range for u32"):
            u(v)
    else:
        assert u(v) == v


@pytest.mark.parametrize("v", [2**32, -2**31 - 1, 2**60, -2**60, U64_MAX, I64_MIN], ids=hex)
def test_i32_out_of_range_on_digit_boundaries_raises(ids, v):
    """Two-digit ints outside i32 must not be truncated to their low digit by the fast path."""
    with pytest.raises(OverflowError, match=r"id32\(\) argument 1: .* out of range for i32"):
        ids.id32(v)


@pytest.mark.parametrize("v", [U64_MAX + 1, I64_MIN - 1, 2**90, -2**90], ids=hex)
def test_i64_out_of_range_raises(ids, v):
    with pytest.raises(OverflowError, match=r"id64\(\) argument 1: .* out of range for i64"):
        ids.id64(v)


def test_add_mixes_one_and_two_digit_arguments(ids):
    """Both arguments go through the fast path independently: a misread digit count or sign in
    either one changes the sum."""
    for a in I64_VALUES:
        for b in (0, 1, -1, 2**30, -2**30, 2**59 + 12345, -(2**59) - 54321):
            assert ids.add64(a, b) == signed(a + b, 64), (a, b)
            assert ids.add64(b, a) == signed(a + b, 64), (b, a)
            assert ids.pair64(a, b) == (signed(b, 64), signed(a, 64))
    for a in I32_VALUES:
        assert ids.add32(a, 2**30) == signed(a + 2**30, 32)
        assert ids.add32(-2**30, a) == signed(a - 2**30, 32)


def test_int_subclasses_and_index_objects_take_the_general_path(ids):
    """Only exact ints are read from the object; subclasses (bool, IntEnum-like) and __index__
    objects still convert, through the public API."""
    class Big(int):
        pass

    class Idx:
        def __init__(self, v):
            self.v = v

        def __index__(self):
            return self.v

    for v in (2**30, -(2**30) - 1, 2**60 - 1, I64_MIN, U64_MAX):
        assert ids.id64(Big(v)) == signed(v, 64)
        assert ids.id64(Idx(v)) == signed(v, 64)
    assert ids.id64(True) == 1


@given(st.integers(min_value=I64_MIN, max_value=U64_MAX), st.integers(min_value=-2**62, max_value=2**62))
def test_i64_add_matches_python_for_any_value(a, b):
    assert _IDS.add64(a, b) == signed(a + b, 64)


def test_running_interpreter_matches_the_extension():
    """make test-pythons must test the extension built for this interpreter, not another one."""
    tag = f"cpython-{sys.version_info.major}{sys.version_info.minor}"
    assert tag in pathlib.Path(wasmffi._core.__file__).name


def _script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "tools" / "test-python.sh"), *args], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)


def test_test_python_script_rejects_a_malformed_version():
    r = _script("3.x")
    assert r.returncode == 2
    assert "version must look like 3.12, not '3.x'" in r.stderr


def test_test_python_script_names_a_missing_interpreter():
    r = _script("3.99")
    assert r.returncode == 1
    assert "no working Python 3.99 found (set PYTHON_3_99=" in r.stderr
