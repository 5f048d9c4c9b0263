"""Host functions (src/python/host.cpp): Python callables called from wasm, the units in reverse for
their arguments and results, exceptions crossing the wasm frames, re-entry and with_caller.
Declared (cdef) host functions are in test_imports_cdef*.py, resolution of the imports mapping in
test_imports.py."""

import math
import struct
import traceback

import pytest

import wasmffi

ECHO_WAT = """
(module
  (import "env" "i32" (func $i32 (param i32) (result i32)))
  (import "env" "i64" (func $i64 (param i64) (result i64)))
  (import "env" "f32" (func $f32 (param f32) (result f32)))
  (import "env" "f64" (func $f64 (param f64) (result f64)))
  (func (export "i32") (param i32) (result i32) local.get 0 call $i32)
  (func (export "i64") (param i64) (result i64) local.get 0 call $i64)
  (func (export "f32") (param f32) (result f32) local.get 0 call $f32)
  (func (export "f64") (param f64) (result f64) local.get 0 call $f64))
"""


ECHO = object()


def echo_instance(seen, ret=ECHO):
    def make(kind):
        def host(x):
            seen.append((kind, x))
            return x if ret is ECHO else ret
        return host
    return wasmffi.load(ECHO_WAT, {"env": {k: make(k) for k in ("i32", "i64", "f32", "f64")}})


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


@pytest.mark.parametrize("kind,value,arrives", [
    ("i32", 0, 0), ("i32", -1, -1), ("i32", 2**31 - 1, 2**31 - 1), ("i32", -2**31, -2**31),
    ("i32", 2**32 - 1, -1), ("i32", 2**31, -2**31),
    ("i64", 0, 0), ("i64", 2**63 - 1, 2**63 - 1), ("i64", -2**63, -2**63), ("i64", 2**64 - 1, -1),
    ("f32", 1.5, 1.5), ("f32", -0.0, -0.0), ("f32", 3.4028234663852886e38, 3.4028234663852886e38),
    ("f32", math.inf, math.inf), ("f32", 0.1, f32(0.1)), ("f32", 1e-45, f32(1e-45)),
    ("f64", 5e-324, 5e-324), ("f64", 1.7976931348623157e308, 1.7976931348623157e308), ("f64", -math.inf, -math.inf),
])
def test_every_scalar_type_crosses_at_its_boundaries(kind, value, arrives):
    seen = []
    inst = echo_instance(seen)
    out = getattr(inst.exports, kind)(value)
    assert seen == [(kind, arrives)]
    assert type(seen[0][1]) is (int if kind[0] == "i" else float)
    assert out == arrives and math.copysign(1, out) == math.copysign(1, arrives)


@pytest.mark.parametrize("kind", ["f32", "f64"])
def test_nan_crosses_both_ways(kind):
    seen = []
    inst = echo_instance(seen)
    assert math.isnan(getattr(inst.exports, kind)(math.nan))
    assert math.isnan(seen[0][1])


def test_unsigned_range_of_a_result_is_accepted_and_wraps_to_the_bit_pattern():
    inst = echo_instance([], ret=2**32 - 1)
    assert inst.exports.i32(0) == -1


@pytest.mark.parametrize("kind,bad,exc,words", [
    ("i32", 2**32, OverflowError, "out of range for i32"),
    ("i32", -2**31 - 1, OverflowError, "out of range for i32"),
    ("i64", 2**64, OverflowError, "out of range for i64"),
    ("i32", "7", TypeError, "must be int, not str"),
    ("i32", None, TypeError, "must be int, not NoneType"),
    ("f64", "x", TypeError, "not str"),
    ("f32", 1e300, OverflowError, "f32"),
])
def test_a_wrong_result_is_an_error_naming_the_import(kind, bad, exc, words):
    inst = echo_instance([], ret=bad)
    with pytest.raises(exc) as ei:
        getattr(inst.exports, kind)(1)
    assert f"'env.{kind}'" in str(ei.value) and words in str(ei.value)
    assert isinstance(ei.value.__cause__, wasmffi.Trap)


MULTI_WAT = """
(module
  (import "env" "pair" (func $pair (param i32) (result i32 i64)))
  (import "env" "none" (func $none (param i32)))
  (func (export "pair") (param i32) (result i32 i64) local.get 0 call $pair)
  (func (export "none") (param i32) local.get 0 call $none))
"""


def test_multiple_results_come_from_a_tuple_or_list():
    inst = wasmffi.load(MULTI_WAT, {"env": {"pair": lambda x: (x + 1, x * 2**40), "none": lambda x: None}})
    assert inst.exports.pair(3) == (4, 3 * 2**40)
    assert inst.exports.none(3) is None
    inst = wasmffi.load(MULTI_WAT, {"env": {"pair": lambda x: [x, x], "none": lambda x: None}})
    assert inst.exports.pair(5) == (5, 5)


@pytest.mark.parametrize("pair,none,words", [
    (lambda x: (1, 2, 3), lambda x: None, "must return 2 values, not 3"),
    (lambda x: 1, lambda x: None, "must return a tuple of 2 values, not int"),
    (lambda x: (1,), lambda x: None, "must return 2 values, not 1"),
    (lambda x: (1, 2), lambda x: 0, "must return None"),
])
def test_a_wrong_result_count_is_a_type_error_naming_the_import(pair, none, words):
    inst = wasmffi.load(MULTI_WAT, {"env": {"pair": pair, "none": none}})
    with pytest.raises(TypeError, match=words) as ei:
        inst.exports.pair(1) if "None" not in words else inst.exports.none(1)
    assert "env." in str(ei.value)


RAISE_WAT = """
(module
  (import "env" "boom" (func $boom (param i32) (result i32)))
  (func (export "run") (param i32) (result i32) local.get 0 call $boom i32.const 1 i32.add)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
"""


class Custom(Exception):
    pass


@pytest.mark.parametrize("make", [lambda: ValueError("bad value"), lambda: KeyError("k"), lambda: Custom("mine"),
                                  lambda: ZeroDivisionError("z"), KeyboardInterrupt, lambda: SystemExit(3)])
def test_an_exception_crosses_wasm_as_the_same_object_with_its_traceback(make):
    exc = make()

    def raiser_in_host(x):
        raise exc

    inst = wasmffi.load(RAISE_WAT, {"env": {"boom": raiser_in_host}})
    with pytest.raises(type(exc)) as ei:
        inst.exports.run(7)
    assert ei.value is exc
    frames = [f.name for f in traceback.extract_tb(ei.value.__traceback__)]
    assert "raiser_in_host" in frames
    assert frames.index("raiser_in_host") > frames.index(
        "test_an_exception_crosses_wasm_as_the_same_object_with_its_traceback")
    assert isinstance(exc.__cause__, wasmffi.Trap)
    assert "env.boom" in str(exc.__cause__)
    # The store is still usable, and nothing stays pending.
    assert inst.exports.add(2, 3) == 5


def test_an_exception_keeps_its_own_cause():
    root = OSError("root")

    def host(x):
        raise RuntimeError("outer") from root

    inst = wasmffi.load(RAISE_WAT, {"env": {"boom": host}})
    with pytest.raises(RuntimeError) as ei:
        inst.exports.run(0)
    assert ei.value.__cause__ is root


def test_the_host_function_can_succeed_after_raising():
    calls = []

    def host(x):
        calls.append(x)
        if x < 0:
            raise ValueError(x)
        return x * 10

    inst = wasmffi.load(RAISE_WAT, {"env": {"boom": host}})
    with pytest.raises(ValueError):
        inst.exports.run(-1)
    assert inst.exports.run(4) == 41
    assert calls == [-1, 4]


def test_an_exception_in_the_start_function_reaches_the_caller():
    wat = """(module (import "env" "init" (func $init)) (start $init))"""
    err = LookupError("from start")

    def init():
        raise err

    with pytest.raises(LookupError) as ei:
        wasmffi.load(wat, {"env": {"init": init}})
    assert ei.value is err


REENTER_WAT = """
(module
  (import "env" "down" (func $down (param i32) (result i32)))
  (func (export "countdown") (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) i32.const 0 else local.get 0 call $down i32.const 1 i32.add end))
"""


def test_host_functions_reenter_wasm_100_deep():
    holder = {}
    depth = []

    def down(n):
        depth.append(n)
        return holder["inst"].exports.countdown(n - 1)

    holder["inst"] = inst = wasmffi.load(REENTER_WAT, {"env": {"down": down}})
    assert inst.exports.countdown(100) == 100
    assert depth == list(range(100, 0, -1))


def test_runaway_recursion_through_host_and_wasm_ends_in_an_error_not_a_crash():
    holder = {}

    def down(n):
        return holder["inst"].exports.countdown(n)  # never decreases

    holder["inst"] = inst = wasmffi.load(REENTER_WAT, {"env": {"down": down}})
    with pytest.raises((RecursionError, wasmffi.StackOverflow)):
        inst.exports.countdown(1)
    holder["inst"] = None
    # Still usable afterwards.
    inst2 = wasmffi.load(REENTER_WAT, {"env": {"down": lambda n: n}})
    assert inst2.exports.countdown(5) == 6


def test_with_caller_passes_the_calling_instance():
    wat = """
    (module
      (import "env" "log" (func $log (param i32 i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "hello from wasm")
      (func (export "go") i32.const 16 i32.const 15 call $log)
      (func (export "seven") (result i32) i32.const 7))
    """
    got = []

    def log(caller, ptr, n):
        assert isinstance(caller, wasmffi.Caller)
        got.append((caller.memory.read(ptr, n), caller.exports.seven()))

    inst = wasmffi.load(wat, {"env": {"log": wasmffi.with_caller(log)}})
    inst.exports.go()
    assert got == [(b"hello from wasm", 7)]


def test_with_caller_in_a_start_function_says_the_instance_is_not_ready():
    wat = '(module (import "env" "init" (func $init)) (start $init))'

    def init(caller):
        caller.exports

    with pytest.raises(wasmffi.Error, match="not available"):
        wasmffi.load(wat, {"env": {"init": wasmffi.with_caller(init)}})


def test_with_caller_refuses_non_callables():
    with pytest.raises(TypeError, match="with_caller"):
        wasmffi.with_caller(3)


def test_builtin_callables_work_as_host_functions():
    wat = """
    (module (import "m" "gcd" (func $gcd (param i64 i64) (result i64)))
      (func (export "gcd") (param i64 i64) (result i64) local.get 0 local.get 1 call $gcd))"""
    inst = wasmffi.load(wat, {"m": {"gcd": math.gcd}})
    assert inst.exports.gcd(12, 18) == 6
    assert inst.exports.gcd(-(2**63), 2**62) == 2**62


def test_many_parameters_use_the_slow_argument_buffer():
    n = 20
    params = " ".join(["i32"] * n)
    gets = " ".join(f"local.get {i}" for i in range(n))
    wat = f"""(module (import "env" "sum" (func $sum (param {params}) (result i32)))
      (func (export "sum") (param {params}) (result i32) {gets} call $sum))"""
    inst = wasmffi.load(wat, {"env": {"sum": lambda *a: sum(a)}})
    assert inst.exports.sum(*range(n)) == sum(range(n))


def test_a_host_function_closing_over_its_own_instance_is_collected():
    import gc
    import weakref

    holder = {}
    holder["inst"] = inst = wasmffi.load(REENTER_WAT, {"env": {"down": lambda n: holder["inst"].exports.countdown(n - 1)}})
    assert inst.exports.countdown(3) == 3
    core = weakref.ref(inst._i)
    del inst, holder
    gc.collect()
    assert core() is None


def test_a_declared_function_reraises_a_host_exception_and_keeps_the_thread_rule():
    err = ArithmeticError("from host")

    def boom(x):
        if x < 0:
            raise err
        return x * 2

    inst = wasmffi.load(RAISE_WAT, {"env": {"boom": boom}}, cdef="int32_t run(int32_t x);")
    assert inst.exports.run(5) == 11
    with pytest.raises(ArithmeticError) as ei:
        inst.exports.run(-1)
    assert ei.value is err and isinstance(err.__cause__, wasmffi.Trap)


def test_forty_host_functions_of_three_types_each_answer_for_their_own_import():
    # Each host function takes its type from its own import (kept by the module since compile
    # time): the types rotate, so a function given another import's type would fail to link.
    types = ["i32", "i64", "f64"]
    to_i32 = {"i32": "", "i64": "i32.wrap_i64", "f64": "i32.trunc_f64_s"}
    imports_wat = "".join(f'(import "env" "f{i}" (func $f{i} (param {types[i % 3]}) (result {types[i % 3]})))'
                          for i in range(40))
    calls = "".join(f"(call $f{i} ({types[i % 3]}.const {i})) {to_i32[types[i % 3]]} i32.add " for i in range(40))
    module = wasmffi.Module(f'(module {imports_wat} (func (export "total") (result i32) i32.const 0 {calls}))')
    imports = {"env": {f"f{i}": lambda x: x * 2 + 1 for i in range(40)}}
    for _ in range(3):  # every instance makes its own 40 host functions
        assert module.instantiate(imports).exports.total() == sum(2 * i + 1 for i in range(40))
