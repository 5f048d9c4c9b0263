"""Tests calling exported functions: scalar argument/result conversion, errors, signatures, globals and lifetimes."""

import gc
import inspect
import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wasmffi
from conftest import require_module

I32_MIN, I32_MAX, U32_MAX = -2**31, 2**31 - 1, 2**32 - 1
I64_MIN, I64_MAX, U64_MAX = -2**63, 2**63 - 1, 2**64 - 1

SCALARS_WAT = """(module
  (func (export "id32") (param i32) (result i32) local.get 0)
  (func (export "id64") (param i64) (result i64) local.get 0)
  (func (export "idf32") (param f32) (result f32) local.get 0)
  (func (export "idf64") (param f64) (result f64) local.get 0)
  (func (export "bits_f64") (param f64) (result i64) local.get 0 i64.reinterpret_f64)
  (func (export "bits_f32") (param f32) (result i32) local.get 0 i32.reinterpret_f32)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "u32_lt") (param i32 i32) (result i32) local.get 0 local.get 1 i32.lt_u)
  (func (export "multi") (param i32 i64 f32 f64) (result f64 f32 i64 i32)
    local.get 3 local.get 2 local.get 1 local.get 0)
  (func (export "nothing") (param i32))
  (func (export "nothing_at_all"))
  (global (export "g32") (mut i32) (i32.const 7))
  (global (export "g64") (mut i64) (i64.const -7))
  (global (export "gf32") (mut f32) (f32.const 1.5))
  (global (export "gf64") (mut f64) (f64.const 2.5))
  (global (export "const32") i32 (i32.const 42))
  (global (export "constf64") f64 (f64.const 0.25)))"""


def _instance():
    return wasmffi.load(SCALARS_WAT)


@pytest.fixture(scope="module")
def ex():
    return _instance().exports


def signed32(v: int) -> int:
    return (v + 2**31) % 2**32 - 2**31


def signed64(v: int) -> int:
    return (v + 2**63) % 2**64 - 2**63


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def f64_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


# ---------------------------------------------------------------------------------------------
# i32
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, seen", [
    (0, 0), (1, 1), (-1, -1), (I32_MIN, I32_MIN), (I32_MAX, I32_MAX),
    (I32_MAX + 1, I32_MIN), (U32_MAX, -1), (2**31 + 5, I32_MIN + 5),
])
def test_i32_accepts_signed_and_unsigned_range_and_returns_signed(ex, value, seen):
    assert ex.id32(value) == seen


def test_i32_accepts_unsigned_bit_pattern(ex):
    # The guest sees 2**32-1 as all ones: unsigned comparison says it is bigger than 0x7fffffff.
    assert ex.u32_lt(I32_MAX, U32_MAX) == 1
    assert ex.u32_lt(U32_MAX, 0) == 0
    assert ex.add(U32_MAX, 1) == 0  # -1 + 1 in the guest


@pytest.mark.parametrize("value", [2**32, I32_MIN - 1, 2**62, -2**62, 2**100, -2**100])
def test_i32_out_of_range_raises_overflow_error_naming_function(ex, value):
    with pytest.raises(OverflowError) as info:
        ex.id32(value)
    msg = str(info.value)
    assert "id32()" in msg
    assert "argument 1" in msg
    assert str(value) in msg


def test_i32_overflow_names_the_right_argument(ex):
    with pytest.raises(OverflowError, match=r"add\(\) argument 2"):
        ex.add(1, 2**32)


# ---------------------------------------------------------------------------------------------
# i64
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, seen", [
    (0, 0), (-1, -1), (I64_MIN, I64_MIN), (I64_MAX, I64_MAX), (I64_MAX + 1, I64_MIN),
    (U64_MAX, -1), (2**40, 2**40), (-2**40, -2**40), (2**61, 2**61), (-2**61 + 3, -2**61 + 3),
    (2**62 + 12345, 2**62 + 12345),
])
def test_i64_accepts_signed_and_unsigned_range_and_returns_signed(ex, value, seen):
    assert ex.id64(value) == seen


@pytest.mark.parametrize("value", [2**64, I64_MIN - 1, 2**100, -2**100])
def test_i64_out_of_range_raises_overflow_error_naming_function(ex, value):
    with pytest.raises(OverflowError) as info:
        ex.id64(value)
    msg = str(info.value)
    assert "id64()" in msg and "argument 1" in msg


# ---------------------------------------------------------------------------------------------
# f32 / f64
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["idf32", "idf64"])
@pytest.mark.parametrize("value", [math.inf, -math.inf, 0.0, 1.5, -2.25])
def test_float_special_and_exact_values_round_trip(ex, name, value):
    assert ex[name](value) == value


@pytest.mark.parametrize("name", ["idf32", "idf64"])
def test_float_nan_round_trips(ex, name):
    assert math.isnan(ex[name](math.nan))


@pytest.mark.parametrize("name", ["idf32", "idf64"])
def test_float_negative_zero_keeps_its_sign(ex, name):
    r = ex[name](-0.0)
    assert r == 0.0
    assert math.copysign(1.0, r) == -1.0


def test_f64_preserves_nan_payload_and_sign(ex):
    for bits in (0x7FF8000000000123, 0xFFF8000000000000, 0x7FF0000000000001):
        x = struct.unpack("<d", struct.pack("<Q", bits))[0]
        assert f64_bits(ex.idf64(x)) == bits
        assert ex.bits_f64(x) == signed64(bits)


def test_f32_rounds_to_nearest_f32(ex):
    r = ex.idf32(0.1)
    assert r != 0.1
    assert r == f32(0.1)
    assert ex.bits_f32(0.1) == struct.unpack("<i", struct.pack("<f", 0.1))[0]


def test_f32_accepts_its_largest_finite_value(ex):
    fmax = f32(3.4028234663852886e38)
    assert ex.idf32(fmax) == fmax


@pytest.mark.parametrize("value", [1e39, -1e39, 3.5e38, 2**200])
def test_f32_finite_value_too_large_raises_overflow_error(ex, value):
    with pytest.raises(OverflowError, match=r"idf32\(\) argument 1"):
        ex.idf32(value)


def test_f64_int_beyond_double_range_raises_overflow_error(ex):
    with pytest.raises(OverflowError):
        ex.idf64(2**1024)


@pytest.mark.parametrize("name", ["idf32", "idf64"])
def test_float_param_int_too_large_overflow_names_function(ex, name):
    with pytest.raises(OverflowError, match=rf"{name}\(\) argument 1"):
        ex[name](2**1024)


@pytest.mark.parametrize("name, value, expected", [
    ("idf64", 3, 3.0), ("idf64", -1, -1.0), ("idf64", 2**53, float(2**53)),
    ("idf32", 7, 7.0), ("idf32", -1, -1.0), ("idf32", 2**24 + 1, float(2**24)),
])
def test_ints_are_accepted_for_float_params(ex, name, value, expected):
    r = ex[name](value)
    assert type(r) is float
    assert r == expected


def test_float_params_accept_objects_with_float(ex):
    import fractions

    class Half:
        def __float__(self):
            return 0.5

    assert ex.idf64(Half()) == 0.5
    assert ex.idf64(fractions.Fraction(1, 4)) == 0.25


@pytest.mark.parametrize("name", ["idf32", "idf64"])
@pytest.mark.parametrize("bad", ["1.0", None, 1j, b"x"])
def test_float_param_rejects_non_numbers_with_type_error(ex, name, bad):
    with pytest.raises(TypeError, match=rf"{name}\(\) argument 1 must be float or int, not {type(bad).__name__}"):
        ex[name](bad)


# ---------------------------------------------------------------------------------------------
# Other argument types
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["id32", "id64"])
def test_bool_is_accepted_as_int(ex, name):
    assert ex[name](True) == 1
    assert ex[name](False) == 0


def test_bool_is_accepted_for_float_params(ex):
    assert ex.idf64(True) == 1.0


def test_int_subclass_is_accepted(ex):
    class MyInt(int):
        pass

    assert ex.id32(MyInt(U32_MAX)) == -1
    assert ex.id32(MyInt(-1)) == -1
    assert ex.id64(MyInt(U64_MAX)) == -1
    assert ex.id64(MyInt(-5)) == -5
    with pytest.raises(OverflowError, match=r"id32\(\)"):
        ex.id32(MyInt(2**32))


def test_index_protocol_objects_are_accepted_as_ints(ex):
    class Idx:
        def __index__(self):
            return 2**32 - 1

    assert ex.id32(Idx()) == -1
    assert ex.id64(Idx()) == 2**32 - 1


def test_error_raised_by_index_propagates(ex):
    class Bad:
        def __index__(self):
            raise ValueError("boom from __index__")

    with pytest.raises(ValueError, match="boom from __index__"):
        ex.id32(Bad())
    with pytest.raises(ValueError, match="boom from __index__"):
        ex.id64(Bad())


def test_numpy_integers_are_accepted():
    np = require_module("numpy")
    ex = _instance().exports
    assert ex.id32(np.int64(5)) == 5
    assert ex.id32(np.int8(-3)) == -3
    assert ex.id32(np.uint32(U32_MAX)) == -1
    assert ex.id64(np.int64(I64_MIN)) == I64_MIN
    assert ex.id64(np.uint64(U64_MAX)) == -1
    assert ex.idf32(np.float32(0.5)) == 0.5
    assert ex.idf64(np.float64(2.5)) == 2.5
    with pytest.raises(OverflowError, match=r"id32\(\)"):
        ex.id32(np.int64(2**40))
    with pytest.raises(TypeError, match=r"id32\(\) argument 1 must be int"):
        ex.id32(np.float64(2.0))


@pytest.mark.parametrize("name", ["id32", "id64"])
def test_float_for_int_param_raises_type_error_naming_function_and_argument(ex, name):
    with pytest.raises(TypeError, match=rf"{name}\(\) argument 1 must be int, not float"):
        ex[name](1.0)


def test_float_for_second_int_param_names_argument_2(ex):
    with pytest.raises(TypeError, match=r"add\(\) argument 2 must be int, not float"):
        ex.add(1, 2.0)


@pytest.mark.parametrize("bad", ["1", None, b"1", [1]])
def test_non_int_for_i32_raises_type_error(ex, bad):
    with pytest.raises(TypeError, match=rf"add\(\) argument 1 must be int, not {type(bad).__name__}"):
        ex.add(bad, 1)


def test_decimal_is_refused_for_int_params(ex):
    import decimal

    with pytest.raises(TypeError, match="Decimal"):
        ex.id32(decimal.Decimal(3))


@pytest.mark.parametrize("args", [(), (1,), (1, 2, 3)])
def test_wrong_argument_count_raises_type_error_naming_function(ex, args):
    with pytest.raises(TypeError) as info:
        ex.add(*args)
    msg = str(info.value)
    assert msg.startswith("add() takes 2 positional arguments")
    assert f"but {len(args)}" in msg


def test_arity_error_for_single_param_function_is_singular(ex):
    with pytest.raises(TypeError, match=r"id32\(\) takes 1 positional argument but 2 were given"):
        ex.id32(1, 2)


@pytest.mark.parametrize("kwargs", [{"p1": 2}, {"b": 2}])
def test_keyword_arguments_raise_type_error(ex, kwargs):
    with pytest.raises(TypeError, match=r"add\(\) takes no keyword arguments"):
        ex.add(1, **kwargs)
    with pytest.raises(TypeError, match="keyword"):
        ex.add(1, 2, **kwargs)


def test_empty_kwargs_and_indirect_call_paths_work(ex):
    import functools

    assert ex.add(*[1, 2], **{}) == 3
    assert ex.add.__call__(3, 4) == 7
    assert type(ex.add).__call__(ex.add, 5, 6) == 11
    assert functools.partial(ex.add, 10)(5) == 15


def test_func_cannot_be_instantiated_directly():
    with pytest.raises(TypeError):
        wasmffi.Func()


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


def test_multi_value_results_come_back_as_tuple(ex):
    r = ex.multi(U32_MAX, U64_MAX, 0.1, 0.1)
    assert isinstance(r, tuple)
    assert r == (0.1, f32(0.1), -1, -1)
    assert [type(v) for v in r] == [float, float, int, int]


def test_no_results_return_none(ex):
    assert ex.nothing(5) is None
    assert ex.nothing_at_all() is None


def test_result_types_are_python_int_and_float(ex):
    assert type(ex.id32(3)) is int
    assert type(ex.id64(3)) is int
    assert type(ex.idf32(3.0)) is float
    assert type(ex.idf64(3.0)) is float


# ---------------------------------------------------------------------------------------------
# Introspection
# ---------------------------------------------------------------------------------------------


def test_repr_shows_name_and_signature(ex):
    assert repr(ex.add) == "<wasmffi.Func add(i32, i32) -> i32>"
    assert repr(ex.nothing_at_all) == "<wasmffi.Func nothing_at_all() -> ()>"
    assert repr(ex.multi) == "<wasmffi.Func multi(i32, i64, f32, f64) -> (f64, f32, i64, i32)>"


def test_func_params_results_and_type(ex):
    assert ex.add.params == ("i32", "i32")
    assert ex.add.results == ("i32",)
    assert ex.add.type == wasmffi.FuncType(("i32", "i32"), ("i32",))
    assert str(ex.add.type) == "(i32, i32) -> i32"
    assert ex.multi.params == ("i32", "i64", "f32", "f64")
    assert ex.multi.results == ("f64", "f32", "i64", "i32")
    assert ex.nothing.results == ()
    assert ex.nothing_at_all.params == ()


def test_func_type_is_the_same_value_as_the_module_description(ex):
    inst = wasmffi.load('''(module (func (export "pair") (param i32 i64) (result f32 f64)
        f32.const 0 f64.const 0))''')
    (info,) = inst.module.exports
    f = inst.exports.pair
    assert isinstance(f.type, wasmffi.FuncType) and f.type == info.type
    assert str(f.type) == str(info.type) == info.text == "(i32, i64) -> (f32, f64)"
    assert repr(f) == "<wasmffi.Func pair" + info.text + ">"
    assert f.typed(params=["ptr", "u64"]).type == wasmffi.FuncType(("u32", "u64"), ("f32", "f64"))


@pytest.mark.parametrize("params,results,text", [
    ((), (), "() -> ()"), (("i32",), (), "(i32) -> ()"), ((), ("f32", "f64"), "() -> (f32, f64)"),
    (("u32", "i64"), ("u64",), "(u32, i64) -> u64"),
])
def test_signature_text_has_one_producer(params, results, text):
    assert wasmffi._core.signature_text(list(params), list(results)) == text
    assert str(wasmffi.FuncType(params, results)) == text


def test_huge_int_argument_is_abbreviated_in_the_message(ex):
    with pytest.raises(OverflowError) as ei:
        ex.add(-(3 * 10**700 + 9), 1)
    msg = str(ei.value)
    assert msg.startswith("add() argument 1: -300000000000...000000000009 (701 digits) is out of range for i32")
    with pytest.raises(OverflowError, match=r"\(1001 digits\)"):
        ex.gf64.value = 10**1000
    big = 2**20000  # more digits than int -> str allows by default: still printed abbreviated
    with pytest.raises(OverflowError, match=r"^add\(\) argument 2: 398027684033\.\.\.\d{12} \(6021 digits\)"):
        ex.add(1, big)


def test_func_name_qualname_and_doc(ex):
    assert ex.add.__name__ == "add"
    assert ex.add.__qualname__ == "add"
    assert "add(i32, i32) -> i32" in ex.add.__doc__


def test_inspect_signature_shows_positional_params_and_annotations(ex):
    sig = inspect.signature(ex.add)
    assert list(sig.parameters) == ["p0", "p1"]
    for p in sig.parameters.values():
        assert p.kind is inspect.Parameter.POSITIONAL_ONLY
        assert p.annotation == "i32"
    assert sig.return_annotation == "i32"
    assert str(sig) == "(p0: 'i32', p1: 'i32', /) -> 'i32'"


def test_inspect_signature_for_no_and_multiple_results(ex):
    assert inspect.signature(ex.nothing).return_annotation is None
    sig = inspect.signature(ex.multi)
    assert [p.annotation for p in sig.parameters.values()] == ["i32", "i64", "f32", "f64"]
    assert sig.return_annotation == ("f64", "f32", "i64", "i32")
    assert list(inspect.signature(ex.nothing_at_all).parameters) == []


def test_signature_binds_like_the_call(ex):
    sig = inspect.signature(ex.add)
    sig.bind(1, 2)
    with pytest.raises(TypeError):
        sig.bind(1)
    with pytest.raises(TypeError):
        sig.bind(p0=1, p1=2)


# ---------------------------------------------------------------------------------------------
# Many parameters (beyond the on-stack slot array)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [31, 32, 33, 40])
def test_functions_with_many_params_sum_correctly(n):
    params = " ".join(["i64"] * n)
    body = " ".join(f"local.get {i}" for i in range(n)) + " i64.add" * (n - 1)
    inst = wasmffi.load(f'(module (func (export "sum") (param {params}) (result i64) {body}))')
    args = list(range(1, n + 1))
    assert inst.exports.sum(*args) == sum(args)
    with pytest.raises(TypeError, match=rf"takes {n} positional arguments"):
        inst.exports.sum(*args[:-1])
    bad = args[:]
    bad[-1] = 2**64
    with pytest.raises(OverflowError, match=rf"sum\(\) argument {n}"):
        inst.exports.sum(*bad)


def test_function_with_many_results_returns_them_all():
    n = 40
    results = " ".join(["i32"] * n)
    body = " ".join(f"i32.const {i}" for i in range(n))
    inst = wasmffi.load(f'(module (func (export "many") (result {results}) {body}))')
    assert inst.exports.many() == tuple(range(n))


# ---------------------------------------------------------------------------------------------
# The compiled C guest
# ---------------------------------------------------------------------------------------------


def test_arith_add_wraps_like_the_guest(arith):
    assert arith.exports.add(2, 3) == 5
    assert arith.exports.add(I32_MAX, 1) == I32_MIN


def test_arith_gcd_matches_math_gcd(arith):
    assert arith.exports.gcd(16516842, 154654684) == math.gcd(16516842, 154654684)
    assert arith.exports.gcd(2**32 - 2, 6) == 2  # unsigned in the guest


def test_arith_unsigned_result_comes_back_signed(arith):
    # gcd(0, b) returns b: the guest's uint32 0xffffffff is read back as -1.
    assert arith.exports.gcd(0, U32_MAX) == -1


def _fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def test_arith_fib_returns_i64(arith):
    assert arith.exports.fib(90) == _fib(90) == 2880067194370816120
    assert arith.exports.fib(93) == signed64(_fib(93))  # above 2**63: the guest's uint64 comes back signed
    assert arith.exports.fib(93) < 0


def test_arith_mul_i64_overflow_wraps_in_the_guest(arith):
    a, b = 3**40, 3**3
    assert a * b > I64_MAX
    assert arith.exports.mul_i64(a, b) == signed64(a * b)
    assert arith.exports.mul_i64(2**62, 4) == 0
    assert arith.exports.mul_i64(-(2**31), 2**31) == -(2**62)


def test_arith_hypot2_uses_f64(arith):
    assert arith.exports.hypot2(3.0, 4.0) == 25.0
    assert arith.exports.hypot2(3, 4) == 25.0
    assert arith.exports.hypot2(0.1, 0.2) == 0.1 * 0.1 + 0.2 * 0.2
    assert arith.exports.hypot2(1e200, 1.0) == math.inf


def test_arith_scale_f32_computes_in_f32(arith):
    r = arith.exports.scale_f32(0.1, 3.0)
    assert r == f32(f32(0.1) * f32(3.0))
    assert r != 0.1 * 3.0
    assert arith.exports.scale_f32(2.5, 4) == 10.0


def test_arith_divide_truncates_toward_zero(arith):
    assert arith.exports.divide(7, 2) == 3
    assert arith.exports.divide(-7, 2) == -3


# ---------------------------------------------------------------------------------------------
# Globals
# ---------------------------------------------------------------------------------------------


def test_global_reads_initial_values():
    ex = _instance().exports
    assert ex.g32.value == 7
    assert ex.g64.value == -7
    assert ex.gf32.value == 1.5
    assert ex.gf64.value == 2.5
    assert ex.const32.value == 42
    assert ex.constf64.value == 0.25


@pytest.mark.parametrize("name, written, read", [
    ("g32", U32_MAX, -1), ("g32", I32_MIN, I32_MIN), ("g32", 123, 123), ("g32", True, 1),
    ("g64", U64_MAX, -1), ("g64", I64_MIN, I64_MIN), ("g64", 2**40, 2**40),
    ("gf32", 0.1, f32(0.1)), ("gf32", math.inf, math.inf), ("gf32", 3, 3.0),
    ("gf64", 0.1, 0.1), ("gf64", -math.inf, -math.inf), ("gf64", 7, 7.0),
])
def test_mutable_global_write_then_read(name, written, read):
    g = _instance().exports[name]
    g.value = written
    assert g.value == read


def test_global_nan_and_negative_zero():
    ex = _instance().exports
    ex.gf64.value = math.nan
    assert math.isnan(ex.gf64.value)
    ex.gf32.value = -0.0
    assert math.copysign(1.0, ex.gf32.value) == -1.0


def test_global_type_mutable_and_repr():
    ex = _instance().exports
    assert ex.g64.type == "i64" and ex.g64.mutable is True
    assert ex.const32.type == "i32" and ex.const32.mutable is False
    assert repr(ex.g32) == "<wasmffi.Global g32: mut i32>"
    assert "const32" in repr(ex.const32) and "mut" not in repr(ex.const32)


@pytest.mark.parametrize("name", ["const32", "constf64"])
def test_writing_immutable_global_raises_attribute_error(name):
    g = _instance().exports[name]
    before = g.value
    with pytest.raises(AttributeError, match=rf"global '{name}' is immutable"):
        g.value = 1
    assert g.value == before


@pytest.mark.parametrize("name, value", [
    ("g32", 2**32), ("g32", I32_MIN - 1), ("g64", 2**64), ("g64", I64_MIN - 1), ("gf32", 1e39),
])
def test_global_write_out_of_range_raises_overflow_error_and_keeps_value(name, value):
    g = _instance().exports[name]
    before = g.value
    with pytest.raises(OverflowError, match=rf"global '{name}'"):
        g.value = value
    assert g.value == before


@pytest.mark.parametrize("name, value", [("g32", 1.5), ("g64", "1"), ("gf64", "x"), ("gf32", b"1")])
def test_global_write_of_wrong_type_raises_type_error(name, value):
    g = _instance().exports[name]
    with pytest.raises(TypeError, match=rf"global '{name}' must be .*, not {type(value).__name__}"):
        g.value = value


def test_global_write_of_none_raises_type_error():
    g = _instance().exports.g32
    with pytest.raises(TypeError):
        g.value = None
    assert g.value == 7


def test_global_write_of_none_names_the_global():
    g = _instance().exports.g32
    with pytest.raises(TypeError, match=r"global 'g32' must be int, not NoneType"):
        g.value = None


def test_guest_sees_global_written_from_python():
    inst = wasmffi.load('(module (global $g (export "g") (mut i64) (i64.const 0)) '
                        '(func (export "get") (result i64) global.get $g) '
                        '(func (export "bump") global.get $g i64.const 1 i64.add global.set $g))')
    inst.exports.g.value = U64_MAX
    assert inst.exports.get() == -1
    inst.exports.bump()
    assert inst.exports.g.value == 0


# ---------------------------------------------------------------------------------------------
# Lifetimes
# ---------------------------------------------------------------------------------------------


def test_func_keeps_its_instance_alive():
    inst = wasmffi.load('(module (global $n (mut i32) (i32.const 0)) '
                        '(func (export "next") (result i32) global.get $n i32.const 1 i32.add global.set $n global.get $n))')
    f = inst.exports.next
    assert f() == 1
    del inst
    gc.collect()
    assert f() == 2
    assert f() == 3


def test_func_outlives_module_and_instance_objects():
    from conftest import guest_path

    inst = wasmffi.load(guest_path("arith"))
    f = inst.exports.gcd
    del inst
    gc.collect()
    for _ in range(3):
        assert f(12, 18) == 6


def test_global_keeps_its_instance_alive():
    inst = wasmffi.load('(module (global (export "g") (mut i32) (i32.const 5)))')
    g = inst.exports.g
    del inst
    gc.collect()
    g.value = 9
    assert g.value == 9


# ---------------------------------------------------------------------------------------------
# Property tests
# ---------------------------------------------------------------------------------------------

_PROP = _instance().exports


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=I32_MIN, max_value=U32_MAX))
def test_i32_identity_returns_signed_interpretation(v):
    r = _PROP.id32(v)
    assert r == signed32(v)
    assert I32_MIN <= r <= I32_MAX
    assert r % 2**32 == v % 2**32


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=I64_MIN, max_value=U64_MAX))
def test_i64_identity_returns_signed_interpretation(v):
    r = _PROP.id64(v)
    assert r == signed64(v)
    assert r % 2**64 == v % 2**64


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.integers(min_value=U32_MAX + 1), st.integers(max_value=I32_MIN - 1)))
def test_i32_outside_accepted_range_always_overflows(v):
    with pytest.raises(OverflowError, match=r"id32\(\)"):
        _PROP.id32(v)


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_f64_identity_preserves_bits(x):
    r = _PROP.idf64(x)
    if math.isnan(x):
        assert math.isnan(r)
    assert f64_bits(r) == f64_bits(x)
    assert _PROP.bits_f64(x) == signed64(f64_bits(x))


@settings(max_examples=300, deadline=None)
@given(st.floats(width=32, allow_nan=False, allow_infinity=True))
def test_f32_identity_returns_same_value_for_f32_representable_floats(x):
    r = _PROP.idf32(x)
    assert r == x
    assert math.copysign(1.0, r) == math.copysign(1.0, x)
