"""Instantiation at scale: pooled instance slots (Engine pooling_slots), their reuse and limits, and bench lifecycle."""

import gc
import json

import pytest

import wasmffi
from conftest import guest_path, needs_address_space
from wasmffi import __main__ as cli
from wasmffi.bench import lifecycle

# Memory with a data segment, a mutable global and a table: everything a reused slot must reset.
STATE_WAT = """(module
  (memory (export "memory") 1 100)
  (data (i32.const 16) "pristine")
  (global $g (export "g") (mut i32) (i32.const 7))
  (table 4 funcref)
  (func (export "get_g") (result i32) global.get $g)
  (func (export "set_g") (param i32) local.get 0 global.set $g)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store8)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))"""


@pytest.fixture(scope="module")
def lifecycle_module():
    return wasmffi.Module(guest_path("lifecycle"))


def test_default_engine_pools_instances():
    assert wasmffi.default_engine().pooling_slots == 10000
    assert wasmffi.Engine().pooling_slots == 0  # an explicit Engine maps memories on demand
    assert "pooling_slots=3" in repr(wasmffi.Engine(pooling_slots=3))


def _lifecycle_f(i: int, x: int) -> int:
    """guest/bench/lifecycle.c's function number i on x, as an i32 (what the export returns)."""
    k = 0x9E3779B1 * (i + 1) % 2**32
    v = (((x ^ k) * (2 * i + 3)) + (x >> (i % 13 + 1)) + (k >> 7)) % 2**32
    return v - 2**32 if v >= 2**31 else v


def _lifecycle_table_xor() -> int:
    """The XOR of lifecycle.c's data table: 16384 words ((n + 1) * 2654435761 | 1) for n = 0..16383."""
    acc = 0
    for n in range(16384):
        acc ^= (n + 1) * 2654435761 % 2**32 | 1
    return acc - 2**32 if acc >= 2**31 else acc


def test_lifecycle_guest_is_library_sized_with_a_data_segment(lifecycle_module):
    assert guest_path("lifecycle").stat().st_size >= 100_000
    inst = lifecycle_module.instantiate()
    # The 64 KiB table is initialised data: the data segment arrived whole, in each instance.
    assert inst.exports.table_xor() == _lifecycle_table_xor() == 459227136
    assert lifecycle_module.instantiate().exports.table_xor() == 459227136
    # Each of the 3000 functions is its own (computed here from the C source), reached through
    # the function table, the index taken mod 3000.
    for i in (0, 1, 1234, 2999):
        assert inst.exports.dispatch(i, 5) == _lifecycle_f(i, 5), i
    assert inst.exports.dispatch(3001, 5) == _lifecycle_f(1, 5)


def test_3000_live_instances_on_the_default_engine(lifecycle_module):
    live = [lifecycle_module.instantiate() for _ in range(3000)]
    # Each has its own memory: bumping one instance's counter leaves every other at its start.
    for k, inst in enumerate(live[:50]):
        for _ in range(k):
            inst.exports.bump()
    assert [inst.exports.bump() for inst in live[:50]] == [k + 1 for k in range(50)]
    assert live[-1].exports.bump() == 1


def test_20000_instances_created_and_dropped(lifecycle_module):
    expect = lifecycle_module.instantiate().exports.table_xor()
    for i in range(20000):
        inst = lifecycle_module.instantiate()
        if i % 997 == 0:
            assert inst.exports.bump() == 1  # a reused slot starts from the module's own data
            assert inst.exports.table_xor() == expect
        del inst
    assert lifecycle_module.instantiate().exports.bump() == 1


@pytest.mark.parametrize("slots", [0, 2, 10000])
def test_a_new_instance_never_sees_a_dropped_ones_state(slots):
    engine = wasmffi.Engine(pooling_slots=slots) if slots != 10000 else wasmffi.default_engine()
    module = wasmffi.Module(STATE_WAT, engine=engine)
    for _ in range(5):  # slots are reused: each round must start from the module's initial state
        a, b = module.instantiate(), module.instantiate()
        assert a.memory.read(16, 8) == b.memory.read(16, 8) == b"pristine"
        assert a.exports.get_g() == b.exports.get_g() == 7
        assert len(a.memory) == 65536
        a.exports.store(16, ord("X"))
        a.exports.set_g(99)
        assert a.exports.grow(3) == 1
        assert b.memory.read(16, 8) == b"pristine" and b.exports.get_g() == 7 and len(b.memory) == 65536
        assert a.memory.read(16, 1) == b"X" and a.exports.get_g() == 99 and len(a.memory) == 4 * 65536
        assert a.exports.g.value == 99 and b.exports.g.value == 7
        del a, b
        gc.collect()


def test_pool_exhaustion_is_a_resource_error_naming_the_fix():
    module = wasmffi.Module(STATE_WAT, engine=wasmffi.Engine(pooling_slots=2))
    first, second = module.instantiate(), module.instantiate()
    with pytest.raises(wasmffi.ResourceError) as info:
        module.instantiate()
    msg = str(info.value)
    assert "pools 2 instances" in msg and "pooling_slots" in msg
    del first
    third = module.instantiate()  # a freed slot is usable again
    assert third.exports.get_g() == second.exports.get_g() == 7


@pytest.mark.parametrize("value, exc, text", [
    (-1, ValueError, "pooling_slots"),
    (2**32, ValueError, "pooling_slots"),
    ("8", TypeError, "pooling_slots"),
    (1.5, TypeError, "pooling_slots"),
    (True, TypeError, "pooling_slots"),
])
def test_bad_pooling_slots(value, exc, text):
    with pytest.raises(exc, match=text):
        wasmffi.Engine(pooling_slots=value)


def test_imports_and_cdef_still_work_on_the_pooled_engine():
    calls = []
    wat = """(module (import "env" "log" (func $log (param i32)))
      (memory (export "memory") 1)
      (func (export "run") (param i32) (result i32) local.get 0 call $log local.get 0 i32.const 1 i32.add))"""
    module = wasmffi.Module(wat)
    assert module._engine is wasmffi.default_engine()
    insts = [module.instantiate({"env": {"log": calls.append}}) for _ in range(3)]
    assert [inst.exports.run(i) for i, inst in enumerate(insts)] == [1, 2, 3]
    assert calls == [0, 1, 2]
    with pytest.raises(wasmffi.LinkError, match="env.log"):
        module.instantiate()
    cdef_inst = wasmffi.Module(guest_path("cstr")).instantiate(cdef="size_t count_vowels(const char *s);")
    assert cdef_inst.exports.count_vowels(b"education") == 5


@needs_address_space
def test_bench_lifecycle_quick_json_has_the_issue_keys(tmp_path, capsys):
    out = tmp_path / "lifecycle.json"
    assert cli.main(["bench", "lifecycle", "--quick", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    for key in ("compile_ms", "wasmtime_py_compile_ms", "cache_load_ms", "instantiate_us",
                "wasmtime_py_instantiate_us", "threads2_speedup"):
        assert key in data
    assert data["quick"] is True
    assert data["instantiate_us"] > 0 and data["compile_ms"] > 0
    # A figure is a number, or null with the reason in notes.
    for key in lifecycle.NAMES:
        assert isinstance(data[key], float) or key in data["notes"], key
    assert set(data["targets"]) == {t[0] for t in lifecycle.TARGETS} | {t[0] for t in lifecycle.ABSOLUTE}
    assert "instantiate_us" in capsys.readouterr().out


def test_bench_lifecycle_collect_has_the_group_shape():
    assert isinstance(lifecycle.HELP, str) and "\n" not in lifecycle.HELP
    # The targets evaluate from figures alone: a missing figure gives pass None with its reason.
    figures = dict.fromkeys(lifecycle.NAMES, 1.0)
    figures["cache_load_ms"] = None
    targets = lifecycle.evaluate_targets(figures, {"cache_load_ms": "Module(cache=True) not available"})
    assert targets["cache_load_ms <= compile_ms / 10"]["pass"] is None
    assert targets["cache_load_ms <= compile_ms / 10"]["reason"] == "Module(cache=True) not available"
    assert targets["instantiate_us <= 3"]["pass"] is True
    assert targets["threads2_speedup >= 1.7"]["pass"] is False
    assert targets["wasmtime_py_instantiate_us >= 5 x instantiate_us"]["pass"] is False


@pytest.mark.parametrize("wat, limit", [
    ("(module " + "(memory 1) " * 17 + ")", "defined memories count of 17 exceeds the per-instance limit of 16"),
    ("(module (table 1048577 funcref))", "exceeds the limit of 1048576"),
])
def test_a_module_beyond_the_pools_per_module_limits_compiles_only_on_demand(wat, limit):
    # The default engine's pool has per-module limits (docs/design.md, "Instantiation cost"):
    # such a module is refused when compiled, with wasmtime's reason; an on-demand engine takes it.
    with pytest.raises(wasmffi.CompileError, match="pooling allocator") as info:
        wasmffi.Module(wat)
    assert limit in str(info.value)
    wasmffi.Module(wat, engine=wasmffi.Engine()).instantiate()  # raises if refused


def test_instances_in_reference_cycles_do_not_exhaust_the_pool():
    # A host function closing over its own instance makes a cycle that only the cyclic GC frees;
    # a full pool collects once before giving up (4 slots, 200 such instances in a loop).
    module = wasmffi.Module('(module (import "env" "f" (func $f (result i32))) '
                            '(func (export "run") (result i32) call $f))', engine=wasmffi.Engine(pooling_slots=4))

    def cyclic():
        box = {}
        inst = module.instantiate({"env": {"f": lambda: len(box)}})
        box["inst"] = inst
        return inst.exports.run()

    assert [cyclic() for _ in range(200)] == [1] * 200
    # Live instances are not garbage: the pool's limit still holds for them.
    live = [module.instantiate({"env": {"f": lambda: 0}}) for _ in range(4)]
    with pytest.raises(wasmffi.ResourceError, match="no free instance slot"):
        module.instantiate({"env": {"f": lambda: 0}})
    assert len(live) == 4


@needs_address_space
def test_default_engine_falls_back_to_no_pool_under_an_address_space_limit():
    # The pooled default engine reserves ~40 TiB of address space at creation; under RLIMIT_AS
    # (ulimit -v) that mmap fails. Before the fallback, every default-engine call then raised
    # ValueError ("failed to create memory pool mapping"), though unpooled instances fit.
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import resource, warnings
        resource.setrlimit(resource.RLIMIT_AS, (16 << 30, 16 << 30))
        import wasmffi
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            inst = wasmffi.load('(module (memory 1) (func (export "f") (result i32) i32.const 7))')
        print(inst.exports.f(), wasmffi.default_engine().pooling_slots)
        print([str(w.message)[:60] for w in caught])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.splitlines()
    assert first == "7 0"
    assert "without its instance pool" in second


# --- module.instantiate() without options: the Instance built in one C call ---------------------

def _slow_instance(module, **kw):
    """The same instance through Instance() (a keyword set to its default skips the plain path)."""
    return wasmffi.Instance(module, **kw)


@pytest.mark.parametrize("guest", ["lifecycle", "cstr", "cstr64", "cstr_libc"])
def test_plain_instantiate_builds_what_instance_builds(guest):
    module = wasmffi.Module(guest_path(guest))
    fast, slow = module.instantiate(), _slow_instance(module)
    assert type(fast) is wasmffi.Instance
    assert fast.module is module and fast.cdef is None
    assert fast.raw_exports is fast.exports
    assert type(fast.exports) is type(slow.exports)
    assert sorted(dir(fast.exports)) == sorted(dir(slow.exports))
    # allocator="auto" binds the same allocator (bump, malloc, none) and memory either way.
    assert fast.allocator == slow.allocator
    assert (fast.memory is None) == (slow.memory is None)
    assert repr(fast) == repr(slow)
    if fast.allocator != "none":
        with fast.scratch() as s:
            addr = s.alloc(16)
        assert addr > 0
    assert not hasattr(fast, "_linker_store") and not hasattr(slow, "_linker_store")
    with pytest.raises(AttributeError):
        fast.exports = None


def test_plain_instantiate_without_memory_but_allocator_exports_takes_the_full_path():
    # allocator exports and no memory: "auto" still looks them up (Instance._setup), so it is
    # not the plain case; the result must be the same as through Instance().
    module = wasmffi.Module("""(module
      (func (export "malloc") (param i32) (result i32) i32.const 8)
      (func (export "free") (param i32)))""")
    assert module._plain_memory is False
    assert module.instantiate().allocator == _slow_instance(module).allocator


def test_plain_instances_are_collected_with_their_cycles():
    import weakref

    module = wasmffi.Module(STATE_WAT)
    inst = module.instantiate()
    ref = weakref.ref(inst)
    cycle = [inst]
    cycle.append(cycle)
    del inst, cycle
    gc.collect()
    assert ref() is None


def test_instantiate_is_a_method_in_every_spelling():
    import inspect

    module = wasmffi.Module(STATE_WAT)
    bound = module.instantiate
    for make in (module.instantiate, bound, lambda: wasmffi.Module.instantiate(module),
                 lambda: module.instantiate(None), lambda: module.instantiate(timeout=None)):
        inst = make()
        assert type(inst) is wasmffi.Instance and inst.exports.get_g() == 7
    params = inspect.signature(wasmffi.Module.instantiate).parameters
    assert list(params)[:3] == ["self", "imports", "cdef"] and "release_gil" in params
    assert "imports" in inspect.signature(bound).parameters and "self" not in inspect.signature(bound).parameters
    assert "A new Instance in a store of its own" in wasmffi.Module.instantiate.__doc__
    assert wasmffi.Module.instantiate.__name__ == "instantiate"
    with pytest.raises(TypeError, match="unexpected keyword argument 'tiemout'"):
        module.instantiate(tiemout=1)
    with pytest.raises(TypeError):
        wasmffi.Module.instantiate()  # no module


def test_instantiate_of_a_module_subclass_runs_the_python_method():
    calls = []

    class Traced(wasmffi.Module):
        __slots__ = ()

        def instantiate(self, *args, **kwargs):
            calls.append(args)
            return super().instantiate(*args, **kwargs)

    inst = Traced(STATE_WAT).instantiate()
    assert calls == [()] and inst.exports.get_g() == 7


def test_instantiate_wrapper_and_type_registration_refuse_bad_input():
    from wasmffi import _core

    seen = []
    wrapped = _core._Instantiate(lambda *a, **k: seen.append((a, k)) or "fallback")
    # Not a wasmffi.Module (or with arguments): the wrapped function gets the call unchanged.
    assert wrapped(object()) == "fallback" and wrapped(1, 2, x=3) == "fallback"
    assert seen[1] == ((1, 2), {"x": 3})
    assert wrapped.__wrapped__ is not None and "wasmffi instantiate method" in repr(wrapped)
    for bad in [(), (1,), (print, print)]:
        with pytest.raises(TypeError):
            _core._Instantiate(*bad)
    # A Module made without __init__ has no compiled module: refused, not a crash.
    blank = wasmffi.Module.__new__(wasmffi.Module)
    with pytest.raises(AttributeError, match=r"'(wasmffi\._api\.)?Module' object has no attribute '_imports'"):
        blank.instantiate()
    with pytest.raises(TypeError, match=r"the Module class must derive from _core\._ModuleBase"):
        _core._register_types(type("NoSlots", (), {"__slots__": ("_m",)}), wasmffi.Instance)
    with pytest.raises(TypeError, match=r"the Instance class must derive from _core\._InstanceBase"):
        _core._register_types(wasmffi.Module, type("NoSlots", (), {"__slots__": ("module",)}))
    with pytest.raises(TypeError, match="expects the Module and Instance classes"):
        _core._register_types(42, wasmffi.Instance)
    assert type(wasmffi.Module(STATE_WAT).instantiate()) is wasmffi.Instance  # still registered


# --- store options on the C path: module.instantiate(timeout=..., max_memory=..., ...) ----------

LIMITS_WAT = """(module
  (memory (export "memory") 1)
  (func (export "spin") (loop (br 0)))
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"""


def test_store_options_take_effect_on_the_c_path():
    module = wasmffi.Module(LIMITS_WAT)
    inst = module.instantiate(timeout=0.05, max_memory=2 * 65536, release_gil=True)
    assert type(inst) is wasmffi.Instance and inst._i.timeout == 0.05 and inst._i.release_gil is True
    assert inst.exports.grow(1) == 1 and inst.exports.grow(1) == -1  # the second page is the last
    with pytest.raises(wasmffi.Interrupt, match=r"timeout=0\.05 s"):
        inst.exports.spin()
    assert inst.exports.add(2, 3) == 5
    plain = module.instantiate(max_tables=1, max_instances=1, max_memories=1, max_table_elements=10)
    assert plain._i.timeout is None and plain.exports.grow(5) == 1


def test_fuel_on_the_c_path():
    engine = wasmffi.Engine(consume_fuel=True)
    module = wasmffi.Module(LIMITS_WAT, engine=engine)
    inst = module.instantiate(fuel=1000)
    with pytest.raises(wasmffi.OutOfFuel):
        inst.exports.spin()
    with pytest.raises(wasmffi.Error, match="consume_fuel"):
        wasmffi.Module(LIMITS_WAT).instantiate(fuel=10)


_SECONDS = "must be a positive, finite number of seconds (at most 10**9), not "
_SECONDS_TYPE = "must be a number of seconds (int or float) or None, not "
_U64 = "must be an int in 0..2**64-1, not "


@pytest.mark.parametrize("kwargs, exc, message", [
    ({"timeout": 0}, ValueError, "'timeout' " + _SECONDS + "0"),
    ({"timeout": -1.0}, ValueError, "'timeout' " + _SECONDS + "-1.0"),
    ({"timeout": "1"}, TypeError, "'timeout' " + _SECONDS_TYPE + "str"),
    ({"timeout": float("nan")}, ValueError, "'timeout' " + _SECONDS + "nan"),
    ({"timeout": True}, TypeError, "'timeout' " + _SECONDS_TYPE + "bool"),
    ({"fuel": -1}, ValueError, "'fuel' " + _U64 + "-1"),
    ({"fuel": 1.5}, TypeError, "'fuel' " + _U64 + "float"),
    ({"max_memory": -1}, ValueError, "'max_memory' " + _U64 + "-1"),
    ({"max_memory": 2 ** 64}, ValueError, "'max_memory' " + _U64 + "18446744073709551616"),
    ({"max_tables": "1"}, TypeError, "'max_tables' " + _U64 + "str"),
    ({"max_instances": 2 ** 63}, ValueError, "'max_instances' must be at most 2**63-1, not 9223372036854775808"),
    ({"release_gil": 1}, TypeError, "'release_gil' must be True or False, not 1"),
    ({"release_gil": None}, TypeError, "'release_gil' must be True or False, not NoneType"),
])
def test_bad_store_options_fail_alike_on_both_paths(kwargs, exc, message):
    module = wasmffi.Module(LIMITS_WAT)
    with pytest.raises(exc) as c_path:
        module.instantiate(**kwargs)
    with pytest.raises(exc) as python_path:
        module.instantiate(**kwargs, cdef=None)  # cdef= (even None) is not a store option
    assert type(c_path.value) is type(python_path.value) is exc
    assert str(c_path.value) == str(python_path.value) == "instantiate() argument " + message


def test_other_keywords_still_reach_the_python_method():
    module = wasmffi.Module(LIMITS_WAT)
    with pytest.raises(TypeError, match="unexpected keyword argument 'max_memroy'"):
        module.instantiate(timeout=1.0, max_memroy=1)
    assert module.instantiate(timeout=1.0, allocator=None).allocator == "none"
    assert module.instantiate(None, timeout=1.0).exports.add(1, 1) == 2
