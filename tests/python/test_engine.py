"""Engine settings and store limits: validation, repr/signature, fuel and epoch misuse, native stack."""

import inspect
import subprocess
import sys
import textwrap

import pytest

import wasmffi
from conftest import wat_instance

KIB = 1 << 10
MIB = 1 << 20

CONST = '(func (export "seven") (result i32) i32.const 7)'
# The same through a call: a function that calls checks the epoch at entry. CONST's function
# cannot call and has no loop, so it has no epoch check at all (tests/python/test_epoch_checks.py).
CHECKED = '(func $seven (result i32) i32.const 7) (func (export "seven") (result i32) call $seven)'
LOOP = '(func (export "spin") (loop $l br $l))'
# Recursion n deep: each level is a real wasm frame on the native stack.
RECURSE = """(func $r (export "recurse") (param i32) (result i32)
  local.get 0 i32.eqz
  if (result i32) i32.const 0
  else local.get 0 i32.const 1 i32.sub call $r i32.const 1 i32.add end)"""

DEFAULTS = dict(memory_reservation=4 << 30, memory_guard_size=32 << 20, memory64=True, consume_fuel=False,
                epoch_interruption=True, opt_level=1, max_wasm_stack=512 * KIB, pooling_slots=0)


def run_child(code: str) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter, so a crash shows as a return code, not a dead test run."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------------------------------------
# Settings: defaults, repr, signature, read-only
# ---------------------------------------------------------------------------------------------


def test_defaults_are_readable_settings():
    engine = wasmffi.Engine()
    for name, value in DEFAULTS.items():
        assert getattr(engine, name) == value, name
        assert type(getattr(engine, name)) is type(value), name


def test_repr_shows_every_setting_and_rebuilds_the_engine():
    engine = wasmffi.Engine(memory_reservation=8 << 30, consume_fuel=True, opt_level=2, max_wasm_stack=256 * KIB)
    text = repr(engine)
    assert text.startswith("wasmffi.Engine(")
    for name in DEFAULTS:
        assert f"{name}=" in text, name
    again = eval(text, {"wasmffi": wasmffi})
    for name in DEFAULTS:
        assert getattr(again, name) == getattr(engine, name), name
    assert again.memory_reservation == 8 << 30 and again.consume_fuel and again.opt_level == 2


def test_signature_lists_keyword_only_settings_with_their_defaults():
    sig = inspect.signature(wasmffi.Engine)
    assert list(sig.parameters) == list(DEFAULTS)
    for name, p in sig.parameters.items():
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert p.default == DEFAULTS[name], name
    # The signature accepts exactly what the constructor accepts.
    sig.bind(memory64=False, max_wasm_stack=1)
    with pytest.raises(TypeError):
        sig.bind(bogus=1)


@pytest.mark.parametrize("name", list(DEFAULTS))
def test_settings_are_read_only(name):
    engine = wasmffi.Engine()
    with pytest.raises(AttributeError):
        setattr(engine, name, DEFAULTS[name])
    assert getattr(engine, name) == DEFAULTS[name]


def test_unknown_attributes_cannot_be_added():
    with pytest.raises(AttributeError):
        wasmffi.Engine().fuel = 5


# ---------------------------------------------------------------------------------------------
# Bad arguments: TypeError / ValueError naming Engine() and the argument
# ---------------------------------------------------------------------------------------------


def test_unknown_keyword_names_it_and_the_accepted_ones():
    with pytest.raises(TypeError, match=r"Engine\(\) got an unexpected keyword argument 'bogus' \(accepted: "
                                        r"memory_reservation, .*max_wasm_stack, pooling_slots\)"):
        wasmffi.Engine(bogus=1)


def test_positional_arguments_are_refused():
    with pytest.raises(TypeError, match=r"Engine\(\) takes keyword arguments only, got 1 positional"):
        wasmffi.Engine(1 << 30)


@pytest.mark.parametrize("name, value, cls, pattern", [
    # The convention (docs/design.md): a value of the wrong type is a TypeError, an int out of range
    # a ValueError.
    ("memory_reservation", -1, ValueError, r"'memory_reservation' must be an int in 0\.\.2\*\*64-1, not -1"),
    ("memory_reservation", 2**64, ValueError, r"'memory_reservation' must be an int in 0\.\.2\*\*64-1, not 18446"),
    ("memory_reservation", 1.5, TypeError, r"'memory_reservation' must be an int .*, not float"),
    ("memory_reservation", True, TypeError, r"'memory_reservation' must be an int .*, not bool"),
    ("memory_reservation", "4G", TypeError, r"'memory_reservation' must be an int .*, not str"),
    ("memory_reservation", 2**64 - 1, ValueError, r"'memory_reservation' must be at most 2\*\*48"),
    ("memory_guard_size", 2**63, ValueError, r"'memory_guard_size' must be at most 2\*\*48"),
    ("max_wasm_stack", -5, ValueError, r"'max_wasm_stack' must be an int in 0\.\.2\*\*64-1, not -5"),
    ("memory64", 1, TypeError, r"'memory64' must be True or False, not 1"),
    ("consume_fuel", "yes", TypeError, r"'consume_fuel' must be True or False, not str"),
    ("epoch_interruption", None, TypeError, r"'epoch_interruption' must be True or False, not NoneType"),
    ("opt_level", 3, ValueError, r"'opt_level' must be 0, 1 or 2, not 3"),
    ("opt_level", -1, ValueError, r"'opt_level' must be 0, 1 or 2, not -1"),
    ("opt_level", 2**80, ValueError, r"'opt_level' must be 0, 1 or 2, not 1208"),
    ("opt_level", "fast", TypeError, r"'opt_level' must be 0, 1 or 2, not str"),
])
def test_bad_values_name_engine_and_the_argument(name, value, cls, pattern):
    with pytest.raises(cls, match=r"^Engine\(\) argument " + pattern):
        wasmffi.Engine(**{name: value})


def test_index_types_are_accepted_as_sizes():
    class Size:
        def __index__(self):
            return 2 << 30

    assert wasmffi.Engine(memory_reservation=Size()).memory_reservation == 2 << 30


# ---------------------------------------------------------------------------------------------
# Configurations wasmtime rejects: an exception, never an abort
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, reason", [
    (dict(max_wasm_stack=0), "max_wasm_stack size cannot be zero"),
    # Without async support wasmtime still caps the wasm stack at its async stack size (2 MiB).
    (dict(max_wasm_stack=4 * MIB), "max_wasm_stack size cannot exceed the async_stack_size"),
    (dict(max_wasm_stack=2 * MIB + 1), "cannot exceed"),
])
def test_configurations_wasmtime_rejects_raise_value_error(kwargs, reason):
    with pytest.raises(ValueError, match=r"^Engine\(\): wasmtime rejected the configuration: .*" + reason):
        wasmffi.Engine(**kwargs)


def test_rejected_configuration_in_a_child_does_not_abort():
    # The C API's own constructor unwraps wasmtime's error (an abort); the child proves ours does not.
    proc = run_child("""
        import wasmffi
        for stack in (0, 3 << 20):
            try:
                wasmffi.Engine(max_wasm_stack=stack)
            except ValueError as e:
                print("refused")
        print(wasmffi.Engine(max_wasm_stack=2 << 20).max_wasm_stack)
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["refused", "refused", str(2 << 20)]


def test_reservation_beyond_the_address_space_fails_at_instantiation_not_in_the_engine():
    # wasmtime accepts any sizes up front; the mmap of a memory is where they meet the machine,
    # and running out of address space there is resource exhaustion, not a link problem.
    engine = wasmffi.Engine(memory_reservation=2**48, memory_guard_size=2**48)
    with pytest.raises(wasmffi.ResourceError, match="mmap failed to reserve"):
        wat_instance("(memory 1)", engine=engine)
    assert wat_instance(CONST, engine=engine).exports.seven() == 7  # memory-free modules still run


def test_memory64_off_refuses_64_bit_memories_at_compile_time():
    with pytest.raises(wasmffi.CompileError, match="memory64 must be enabled"):
        wasmffi.Module("(module (memory i64 1))", engine=wasmffi.Engine(memory64=False))


def test_zero_reservation_means_memories_cannot_grow():
    engine = wasmffi.Engine(memory_reservation=0, memory_guard_size=0)
    inst = wat_instance('(memory (export "memory") 1) (func (export "grow") (result i32) i32.const 1 memory.grow)',
                        engine=engine)
    assert inst.exports.grow() == -1
    assert len(inst.memory) == 65536


def test_largest_accepted_wasm_stack_runs():
    inst = wat_instance(RECURSE, engine=wasmffi.Engine(max_wasm_stack=2 * MIB))
    assert inst.exports.recurse(1000) == 1000


# ---------------------------------------------------------------------------------------------
# Fuel
# ---------------------------------------------------------------------------------------------


def test_fuel_without_consume_fuel_names_the_fix():
    inst = wat_instance(CONST)
    with pytest.raises(wasmffi.Error, match=r"^Instance\.fuel: fuel is not configured: .*consume_fuel=True"):
        inst.fuel
    with pytest.raises(wasmffi.Error, match=r"^Instance\.fuel: fuel is not configured: .*Engine\(consume_fuel=True\)"):
        inst.fuel = 5
    assert inst.exports.seven() == 7


@pytest.mark.parametrize("value, exc, pattern", [
    (-1, ValueError, r"not -1"), (2**64, ValueError, r"not 18446744073709551616"), (1.0, TypeError, r"not float"),
    (None, TypeError, r"not NoneType"), (True, TypeError, r"not bool"), ("10", TypeError, r"not str"),
])
def test_bad_fuel_values_are_refused_naming_instance_fuel(value, exc, pattern):
    inst = wat_instance(CONST, engine=wasmffi.Engine(consume_fuel=True))
    inst.fuel = 100
    with pytest.raises(exc, match=r"^Instance\.fuel must be an int in 0\.\.2\*\*64-1, " + pattern):
        inst.fuel = value
    assert inst.fuel == 100  # unchanged


def test_fuel_at_the_u64_limit_round_trips():
    inst = wat_instance(CONST, engine=wasmffi.Engine(consume_fuel=True))
    inst.fuel = 2**64 - 1
    assert inst.exports.seven() == 7
    assert 0 < inst.fuel < 2**64 - 1


# ---------------------------------------------------------------------------------------------
# Epoch deadlines
# ---------------------------------------------------------------------------------------------


def test_new_store_on_an_epoch_engine_has_no_deadline():
    engine = wasmffi.Engine(epoch_interruption=True)
    inst = wat_instance(CHECKED, engine=engine)
    assert inst.exports.seven() == 7
    for _ in range(3):
        engine.increment_epoch()
    assert inst.exports.seven() == 7


def test_deadline_set_then_passed_interrupts():
    engine = wasmffi.Engine(epoch_interruption=True)
    inst = wat_instance(CHECKED, engine=engine)
    inst.set_epoch_deadline(2)
    engine.increment_epoch()
    assert inst.exports.seven() == 7
    engine.increment_epoch()
    with pytest.raises(wasmffi.Interrupt):
        inst.exports.seven()
    inst.set_epoch_deadline(0)  # zero ticks: already due
    with pytest.raises(wasmffi.Interrupt):
        inst.exports.seven()


def test_past_the_deadline_a_function_with_no_epoch_check_still_returns():
    # Straight-line code that calls nothing runs a bounded time, so it has no check to trap at;
    # the next check, in a function that calls or loops, does.
    engine = wasmffi.Engine(epoch_interruption=True)
    inst = wat_instance(CONST + LOOP, engine=engine)
    inst.set_epoch_deadline(0)
    assert inst.exports.seven() == 7
    with pytest.raises(wasmffi.Interrupt, match="epoch deadline"):
        inst.exports.spin()


@pytest.mark.parametrize("ticks", [2**64 - 1, 2**64 - 2, 2**63, 2**63 - 1, 2**62])
def test_huge_deadline_after_ticks_never_fires(ticks):
    # wasmtime adds the ticks to the current epoch unchecked: 2**64-1 after one tick used to
    # wrap to a deadline in the past, so every call trapped.
    engine = wasmffi.Engine(epoch_interruption=True)
    inst = wat_instance(CHECKED, engine=engine)
    for _ in range(5):
        engine.increment_epoch()
    inst.set_epoch_deadline(ticks)
    assert inst.exports.seven() == 7
    engine.increment_epoch()
    assert inst.exports.seven() == 7


def test_set_epoch_deadline_without_epoch_interruption_names_the_fix():
    inst = wat_instance(CONST, engine=wasmffi.Engine(epoch_interruption=False))
    with pytest.raises(wasmffi.Error, match=r"^Instance\.set_epoch_deadline\(\): epoch interruption is not "
                                            r"configured: .*Engine\(epoch_interruption=True\)"):
        inst.set_epoch_deadline(5)


@pytest.mark.parametrize("value, exc, pattern", [
    (-1, ValueError, "not -1"), (2**64, ValueError, "not 18446744073709551616"), (1.5, TypeError, "not float"),
    ("1", TypeError, "not str"), (None, TypeError, "not NoneType"),
])
def test_bad_deadlines_are_refused_naming_the_argument(value, exc, pattern):
    inst = wat_instance(CHECKED, engine=wasmffi.Engine(epoch_interruption=True))
    with pytest.raises(exc, match=r"^Instance\.set_epoch_deadline\(\) argument 'ticks' must be an int in "
                                        r"0\.\.2\*\*64-1, " + pattern):
        inst.set_epoch_deadline(value)
    assert inst.exports.seven() == 7  # still no deadline


# ---------------------------------------------------------------------------------------------
# Native stack: StackOverflow, never SIGSEGV
# ---------------------------------------------------------------------------------------------

SMALL_THREAD = """
    import threading, wasmffi
    RECURSE = {recurse!r}
    inst = wasmffi.load("(module " + RECURSE + ")", engine=wasmffi.Engine({engine}))
    out = []
    def run():
        for n in {depths}:
            try:
                out.append(str(inst.exports.recurse(n)))
            except wasmffi.Error as e:
                out.append(type(e).__name__ + ": " + str(e).splitlines()[0])
    threading.stack_size({stack})
    t = threading.Thread(target=run)
    t.start()
    t.join()
    print("\\n".join(out))
"""


def small_thread(engine: str, depths: list, stack: int = 256 * KIB) -> list:
    proc = run_child(SMALL_THREAD.format(recurse=RECURSE, engine=engine, depths=depths, stack=stack))
    assert proc.returncode == 0, f"child died with {proc.returncode}: {proc.stderr[-2000:]}"
    return proc.stdout.splitlines()


def test_small_thread_with_default_engine_raises_stack_overflow_not_sigsegv():
    # 256 KiB of thread stack cannot hold the default 512 KiB wasm stack: the call is refused
    # before entering wasm, even a shallow one, instead of running into the guard page.
    out = small_thread("", [10**9, 3])
    assert len(out) == 2
    for line in out:
        assert line.startswith("StackOverflow: recurse(): native stack too small, wasm not entered"), line
        assert "max_wasm_stack (512 KiB) + 64 KiB" in line and "threading.stack_size" in line


def test_small_thread_with_small_wasm_stack_traps_deep_recursion():
    out = small_thread(f"max_wasm_stack={64 * KIB}", [10**9, 100, 10**9])
    assert out[0].startswith("StackOverflow: recurse(): wasm trap: call stack exhausted"), out[0]
    assert out[1] == "100"
    assert out[2].startswith("StackOverflow: recurse(): wasm trap"), out[2]


def test_main_thread_deep_recursion_is_a_stack_overflow_trap():
    inst = wat_instance(RECURSE)
    with pytest.raises(wasmffi.StackOverflow, match=r"^recurse\(\): wasm trap: call stack exhausted"):
        inst.exports.recurse(10**9)
    assert inst.exports.recurse(5000) == 5000


def test_start_function_on_a_small_thread_is_refused_too():
    code = """
        import threading, wasmffi
        out = []
        def run():
            try:
                wasmffi.load('(module (func $s) (start $s))')
                out.append("entered")
            except wasmffi.StackOverflow as e:
                out.append("StackOverflow: " + str(e))
        threading.stack_size(256 * 1024)
        t = threading.Thread(target=run)
        t.start()
        t.join()
        print(out[0])
    """
    proc = run_child(code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("StackOverflow: native stack too small, wasm not entered"), proc.stdout


# ---------------------------------------------------------------------------------------------
# Reference types (the engine is built with wasmtime's `gc` feature and the DRC collector)
# ---------------------------------------------------------------------------------------------

EXTERNREF = """
  (global $g (export "ref_global") (mut externref) (ref.null extern))
  (table (export "refs") 2 externref)
  (func (export "is_null") (param externref) (result i32) local.get 0 ref.is_null)
  (func (export "make_null") (result externref) ref.null extern)
  (func (export "pass") (param funcref externref) (result externref) local.get 1)
  (func (export "count") (result i32) i32.const 3)"""


def test_externref_module_compiles_and_describes():
    module = wasmffi.Module(f"(module {EXTERNREF})")
    types = {e.name: e.text for e in module.exports}
    assert types["is_null"] == "(externref) -> i32"
    assert types["make_null"] == "() -> externref"
    assert types["pass"] == "(funcref, externref) -> externref"


@pytest.mark.parametrize("name", ["is_null", "make_null", "pass"])
def test_functions_with_reference_types_are_a_clear_type_error(name):
    inst = wat_instance(EXTERNREF)
    with pytest.raises(TypeError, match=rf"export '{name}' has signature .*ref.*: only i32, i64, f32 and f64"):
        inst.exports[name]
    assert inst.exports.count() == 3  # the instance is unharmed


def test_externref_global_is_refused_before_reading():
    inst = wat_instance(EXTERNREF)
    with pytest.raises(ValueError, match="global of type externref is not supported"):
        inst.exports.ref_global.value


def test_module_using_references_internally_runs():
    # A guest may use externref tables and ref.null internally while exporting scalar functions.
    inst = wat_instance("""
      (table $t 4 externref)
      (func (export "nulls") (result i32)
        (local $i i32) (local $n i32)
        (loop $l
          (if (ref.is_null (table.get $t (local.get $i))) (then (local.set $n (i32.add (local.get $n) (i32.const 1)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
        local.get $n)""")
    assert inst.exports.nulls() == 4


def test_gc_struct_types_compile_and_are_refused_at_the_call():
    inst = wat_instance("""
      (type $p (struct (field i32)))
      (func (export "mk") (result (ref $p)) (struct.new $p (i32.const 5)))
      (func (export "get") (result i32) (struct.get $p 0 (struct.new $p (i32.const 9))))""")
    assert inst.exports.get() == 9
    with pytest.raises(TypeError, match="export 'mk'"):
        inst.exports.mk


def test_uncaught_wasm_exception_is_a_trap_and_the_instance_stays_usable():
    # Exceptions come with the gc feature; one that escapes the guest must not take the host down.
    inst = wat_instance("""
      (tag $e (export "err") (param i32))
      (func (export "boom") (result i32) i32.const 42 throw $e)
      (func (export "caught") (result i32)
        (block $h (result i32) (try_table (catch $e $h) (throw $e (i32.const 5)))
          unreachable))
      (func (export "ok") (result i32) i32.const 1)""")
    for _ in range(2):
        with pytest.raises(wasmffi.Trap, match=r"^boom\(\): thrown Wasm exception"):
            inst.exports.boom()
    assert inst.exports.caught() == 5
    assert inst.exports.ok() == 1
    with pytest.raises(TypeError, match="export 'err' is a tag"):
        inst.exports.err
