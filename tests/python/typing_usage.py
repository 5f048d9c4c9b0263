"""Uses every public name of wasmffi as a typed client would: checked by `mypy --strict` and run by test_typing.py."""

from __future__ import annotations

import array
import inspect
from typing import Any, List, Optional, Tuple, Type, assert_type

import wasmffi
from wasmffi._scratch import Scratch
from wasmffi.cdef import FunctionSpec, Out

WAT = """(module
  (memory (export "memory") 1 2)
  (global (export "counter") (mut i32) (i32.const 7))
  (global (export "scale") f64 (f64.const 1.5))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "top") (result i32) i32.const -16)
  (func (export "two") (result i32 f64) i32.const 1 f64.const 2.5)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "spin") (loop br 0))
  (func (export "boom") unreachable))"""

# A bump allocator and one C function to declare: sum of n bytes at p.
DECLARED_WAT = """(module
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 1024))
  (func (export "bump_alloc") (param i32) (result i32) (local $p i32)
    (local.set $p (global.get $top))
    (global.set $top (i32.and (i32.add (i32.add (global.get $top) (local.get 0)) (i32.const 15))
                              (i32.const -16)))
    (local.get $p))
  (func (export "sum") (param $p i32) (param $n i32) (result i32) (local $s i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $s)))"""

# Two host functions, one of which reads the caller's memory.
HOST_WAT = """(module
  (import "env" "log" (func $log (param i32 i32)))
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello")
  (func (export "run") (result i32)
    (call $log (i32.const 16) (i32.const 5))
    (call $twice (i32.const 21))))"""

# A library instance, and an app that imports its function through a Linker.
LIB_WAT = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'
APP_WAT = """(module
  (import "lib" "add" (func $add (param i32 i32) (result i32)))
  (import "env" "ten" (func $ten (result i32)))
  (func (export "run") (result i32) (call $add (call $ten) (i32.const 32))))"""

# A WASI command: writes "hi\n" to stdout (iovec at 0 -> 8, 3 bytes), then exits with status 3.
WASI_WAT = r"""(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\08\00\00\00\03\00\00\00")
  (data (i32.const 8) "hi\n")
  (func (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
    (call $exit (i32.const 3))))"""
DECLARED_C = """
    struct pair { uint16_t a, b; };
    uint32_t sum(const uint8_t *p, size_t n);
"""

# Every trap class by name, typed as Trap subclasses.
TRAPS: Tuple[Type[wasmffi.Trap], ...] = (
    wasmffi.StackOverflow, wasmffi.MemoryOutOfBounds, wasmffi.TableOutOfBounds,
    wasmffi.IndirectCallToNull, wasmffi.BadSignature, wasmffi.IntegerOverflow, wasmffi.IntegerDivisionByZero,
    wasmffi.BadConversionToInteger, wasmffi.Unreachable, wasmffi.Interrupt, wasmffi.OutOfFuel,
    wasmffi.Cancelled,
)
ERRORS: Tuple[Type[wasmffi.Error], ...] = (wasmffi.CompileError, wasmffi.LinkError, wasmffi.MemoryAccessError,
                                          wasmffi.ResourceError, wasmffi.Trap, wasmffi.CDefError,
                                          wasmffi.StoreInUseError, wasmffi.Exit, wasmffi.OutputLimitExceeded)


def modules_and_types() -> wasmffi.Instance:
    engine: wasmffi.Engine = wasmffi.default_engine()
    assert_type(engine.memory_reservation, int)
    small = wasmffi.Engine(memory_reservation=1 << 20, memory_guard_size=0, memory64=False, opt_level=0,
                           max_wasm_stack=256 * 1024)
    assert_type(small.memory_guard_size, int)
    assert_type(small.memory64, bool)
    assert_type(small.opt_level, int)
    assert_type(small.max_wasm_stack, int)
    assert (small.memory_reservation, small.memory64, small.opt_level) == (1 << 20, False, 0)
    wasmffi.set_default_engine(engine)  # the same engine: nothing changes for the rest
    assert_type(wasmffi.cache_dir(), str)
    assert_type(wasmffi.prune_cache(10 << 20, directory="/nonexistent/wasmffi-cache"), int)
    mod = wasmffi.Module(WAT, engine=engine)
    assert_type(mod, wasmffi.Module)
    factory = mod.factory(allocator=None)
    assert_type(factory, wasmffi.InstanceFactory)
    assert_type(factory(), wasmffi.Instance)
    assert isinstance(factory.module, wasmffi.Module)
    exports: Tuple[wasmffi.ExternInfo, ...] = mod.exports
    for e in exports:
        assert_type(e.name, str)
        if isinstance(e.type, wasmffi.FuncType):
            params: Tuple[str, ...] = e.type.params
            assert all(isinstance(p, str) for p in params)
        elif isinstance(e.type, wasmffi.MemoryType):
            maximum: Optional[int] = e.type.maximum
            assert maximum == 2
        elif isinstance(e.type, wasmffi.GlobalType):
            assert_type(e.type.mutable, bool)
    table = wasmffi.TableType("funcref", 0, None)
    assert_type(table.minimum, int)
    inst = mod.instantiate()
    assert_type(inst, wasmffi.Instance)
    assert_type(wasmffi.load(WAT), wasmffi.Instance)
    return inst


def calls(inst: wasmffi.Instance) -> None:
    ex = inst.exports
    assert_type(ex, wasmffi.Exports)
    names: List[str] = list(ex)
    assert "add" in names and "add" in ex and len(ex) == len(names)
    add: wasmffi.Func = ex.add
    assert add(2, 3) == 5
    assert_type(add.params, Tuple[str, ...])
    assert_type(add.type, wasmffi.FuncType)
    assert str(add.type) == "(i32, i32) -> i32"
    sig: inspect.Signature = inspect.signature(add)
    assert len(sig.parameters) == 2
    untyped: wasmffi.Func = ex["top"]
    top = untyped.typed(results=["ptr"])
    assert_type(top, wasmffi.Func)
    assert top() == 0xFFFFFFF0
    pair: Tuple[int, float] = ex.two()
    assert pair == (1, 2.5)
    try:
        ex.add(2**32, 1)
    except OverflowError as e:
        assert "out of range for i32" in str(e)
    else:
        raise AssertionError("OverflowError was not raised")


def globals_(inst: wasmffi.Instance) -> None:
    counter: wasmffi.Global = inst.exports.counter
    assert_type(counter.value, int | float)
    counter.value = 8
    assert counter.value == 8 and counter.mutable and counter.type == "i32"


def memory(inst: wasmffi.Instance) -> None:
    mem = inst.memory
    assert mem is not None
    assert_type(mem, wasmffi.Memory)
    assert_type(mem.write(16, b"hello\0"), int)
    assert_type(mem.read(16, 5), bytes)
    assert_type(mem.read_cstring(16, max_len=64), bytes)
    assert_type(mem.view(16, 5), memoryview)
    mem.write_u32(0, 0xFFFFFFFF)
    assert_type(mem.read_u32(0), int)
    mem.write_f64(8, 0.5)
    assert_type(mem.read_f64(8), float)
    assert_type(mem.read_array(0, 1, "u32"), "array.array[Any]")
    assert mem.write_array(32, [1, 2, 3], "i64") == 24
    assert mem.pack_into("<Ih", 64, 1, -2) == 6
    assert_type(mem.unpack_from("<Ih", 64), Tuple[Any, ...])
    assert mem.grow(1) == 1 and mem.pages == 2
    try:
        mem.read(len(mem) - 2, 100)
    except wasmffi.MemoryAccessError as e:
        assert isinstance(e, IndexError)
    else:
        raise AssertionError("wasmffi.MemoryAccessError was not raised")


def errors(inst: wasmffi.Instance) -> None:
    try:
        inst.exports.div(1, 0)
    except wasmffi.IntegerDivisionByZero as e:
        assert isinstance(e, wasmffi.Trap)
    else:
        raise AssertionError("wasmffi.IntegerDivisionByZero was not raised")
    try:
        inst.exports.boom()
    except wasmffi.Unreachable:
        pass
    else:
        raise AssertionError("wasmffi.Unreachable was not raised")
    try:
        wasmffi.Module(b"\0asm junk")
    except wasmffi.CompileError as e:
        assert isinstance(e, wasmffi.Error)
    else:
        raise AssertionError("wasmffi.CompileError was not raised")
    try:
        wasmffi.load('(module (import "env" "f" (func)))')
    except wasmffi.LinkError:
        pass
    else:
        raise AssertionError("wasmffi.LinkError was not raised")
    full = wasmffi.load('(module (memory (export "memory") 1 1))').memory
    assert full is not None
    try:
        full.grow(1)
    except wasmffi.ResourceError as e:
        assert isinstance(e, MemoryError)
    else:
        raise AssertionError("wasmffi.ResourceError was not raised")
    try:
        wasmffi.CDef("struct nope x;")
    except wasmffi.CDefError as e:
        assert isinstance(e, ValueError)
    else:
        raise AssertionError("wasmffi.CDefError was not raised")
    fuel = wasmffi.load(WAT, engine=wasmffi.Engine(consume_fuel=True))
    fuel.fuel = 10_000
    try:
        fuel.exports.spin()
    except wasmffi.OutOfFuel:
        assert_type(fuel.fuel, int)
    else:
        raise AssertionError("wasmffi.OutOfFuel was not raised")
    assert all(issubclass(t, wasmffi.Trap) for t in TRAPS)
    assert all(issubclass(t, wasmffi.Error) for t in ERRORS)


def cdefs() -> None:
    cd = wasmffi.CDef("""
        #define KEY_SIZE 32
        struct point { int32_t x, y; };
        uint32_t sum(const uint8_t *p, size_t n);
    """)
    assert_type(cd, wasmffi.CDef)
    assert wasmffi.CDef(cd.source) is cd  # parsed once, cached by text
    assert cd.constants["KEY_SIZE"] == 32
    assert_type(cd.sizeof("struct point"), int)
    assert cd.sizeof("struct point") == 8 and cd.offsetof("struct point", "y") == 4
    point_cls = cd.pytype("struct point")
    p = point_cls(x=1, y=-2)
    assert bytes(p) == b"\x01\0\0\0\xfe\xff\xff\xff"
    assert_type(wasmffi.sizeof("uint64_t"), int)
    assert wasmffi.sizeof("size_t") == 4 and wasmffi.sizeof("size_t", "wasm64") == 8
    assert_type(wasmffi.alignof(point_cls), int)
    assert wasmffi.alignof(point_cls) == 4
    assert_type(wasmffi.offsetof(point_cls, "y"), int)
    assert wasmffi.offsetof(point_cls, "y") == 4
    marker = wasmffi.out(16)
    assert_type(marker, Out)
    assert marker.count == 16
    spec = cd.lower("sum")
    assert_type(spec, FunctionSpec)
    assert spec.wasm_text == "(i32, i32) -> i32"


def declared() -> None:
    inst = wasmffi.load(DECLARED_WAT, cdef=DECLARED_C, allocator="bump")
    assert_type(inst.allocator, str)
    assert inst.allocator == "bump"
    cd = inst.cdef
    assert cd is not None
    assert_type(cd, wasmffi.CDef)
    assert_type(inst.raw_exports, wasmffi.Exports)
    raw: wasmffi.Func = inst.raw_exports.sum
    assert raw(0, 0) == 0
    f = inst.exports.sum
    assert isinstance(f, wasmffi.CFunc)
    assert_type(f.spec, FunctionSpec)
    assert_type(f.raw, wasmffi.Func)
    assert_type(f.__signature__, inspect.Signature)
    assert f(b"\x01\x02\x03") == 6
    with inst.scratch() as s:
        assert_type(s, Scratch)
        text = s.copy(b"hi\0")
        assert_type(text, int)
        assert_type(inst.string_at(text), bytes)
        assert inst.string_at(text) == b"hi"
        nums = s.new("uint16_t[2]")
        mem = inst.memory
        assert mem is not None
        mem.write(nums, b"\x05\x00\x07\x00")
        assert inst.array_at(nums, "uint16_t", 2) == [5, 7]
        pair = inst.struct_at(nums, "struct pair")
        assert (pair.a, pair.b) == (5, 7)
    module = wasmffi.Module(DECLARED_WAT)
    assert_type(module.instantiate(cdef=cd, allocator=None), wasmffi.Instance)


def host_functions() -> None:
    seen: List[bytes] = []

    def log(caller: wasmffi.Caller, ptr: int, n: int) -> None:
        mem = caller.memory
        assert mem is not None
        assert_type(mem, wasmffi.Memory)
        assert_type(caller.exports, wasmffi.Exports)
        assert "run" in caller.exports
        seen.append(mem.read(ptr, n))

    marked = wasmffi.with_caller(log)
    assert_type(marked, wasmffi.with_caller)
    inst = wasmffi.load(HOST_WAT, {"env": {"log": marked, "twice": lambda x: 2 * x}})
    assert inst.exports.run() == 42
    assert seen == [b"hello"]


def linking() -> None:
    linker = wasmffi.Linker()
    assert_type(linker.engine, wasmffi.Engine)
    lib = linker.instantiate(wasmffi.Module(LIB_WAT))
    assert_type(lib, wasmffi.Instance)
    linker.define_instance("lib", lib)
    linker.define("env", "ten", lambda: 10)
    app = linker.instantiate(wasmffi.Module(APP_WAT))
    assert app.exports.run() == 42
    try:
        wasmffi.Linker().instantiate(wasmffi.Module(APP_WAT))
    except wasmffi.LinkError as e:
        assert "lib.add" in str(e)
    else:
        raise AssertionError("wasmffi.LinkError was not raised")


def wasi() -> None:
    w = wasmffi.Wasi(argv=["prog"], env={"A": "b"})
    try:
        w.run(WASI_WAT)
    except wasmffi.Exit as e:
        assert_type(e.code, int)
        assert e.code == 3
    else:
        raise AssertionError("wasmffi.Exit was not raised")
    assert_type(w.stdout, bytes)
    assert w.stdout == b"hi\n" and w.stderr == b""
    capped = wasmffi.Wasi.sandboxed(output_limit=2, timeout=2.0, max_memory=1 << 20)
    assert_type(capped, wasmffi.Wasi)
    try:
        capped.run(WASI_WAT)
    except wasmffi.OutputLimitExceeded as limit:
        assert_type(limit.stream, str)
        assert_type(limit.limit, int)
        assert (limit.stream, limit.limit) == ("stdout", 2) and capped.stdout == b"hi"
    else:
        raise AssertionError("wasmffi.OutputLimitExceeded was not raised")
    capped.clear()


def sandbox_and_threads() -> None:
    module = wasmffi.Module(WAT)
    limited = module.instantiate(timeout=0.05, max_memory=2 << 16, max_table_elements=10, max_instances=1,
                                 max_tables=1, max_memories=1, release_gil=True)
    try:
        limited.exports.spin()
    except wasmffi.Interrupt as e:
        assert "timeout=0.05 s" in str(e)
    else:
        raise AssertionError("wasmffi.Interrupt was not raised")
    cancel: wasmffi.Canceller = limited.canceller()
    assert_type(cancel(), bool)
    assert_type(limited.cancel(), bool)
    assert_type(cancel.alive, bool)
    metered = wasmffi.load(WAT, engine=wasmffi.Engine(consume_fuel=True), fuel=1000)
    assert_type(metered.fuel, int)
    add: wasmffi.Func = module.instantiate().exports.add
    assert add.typed(release_gil=True)(1, 2) == 3
    made = wasmffi.Instance(module, timeout=1.0)
    assert made.exports.add(2, 2) == 4
    with wasmffi.Pool(module, size=2) as pool:
        assert_type(pool.size, int)
        assert pool.call("add", 1, 2) == 3
        assert pool.map("add", [(1, 2), (3, 4)]) == [3, 7]
        with pool.instance() as inst:
            assert_type(inst, wasmffi.Instance)
    with wasmffi.Pool(module.instantiate, size=1) as by_factory:
        assert by_factory.call("add", 2, 3) == 5


def main() -> None:
    inst = modules_and_types()
    calls(inst)
    globals_(inst)
    memory(inst)
    errors(inst)
    cdefs()
    declared()
    host_functions()
    linking()
    wasi()
    sandbox_and_threads()


if __name__ == "__main__":
    main()
