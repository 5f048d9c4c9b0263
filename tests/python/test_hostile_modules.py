"""Hostile modules: each ends in a clear exception (its class and key words pinned), and after it
the process, the instance where it survives, an instance made before it and a new one all work.

Infinite loops, memory and table bombs up to their limits, deep recursion (in wasm, and through
a host function that calls back in), a host callback that raises on every call, pointers a guest
returns that point outside its memory, memory grown during a call while views of it are held, a
module with 10**5 functions, a 100 MB data segment, and allocators that trap on every entry (or
hand out blocks outside memory) under cdef marshalling. The hostile Python *values* (arguments,
buffers) are test_boundary_property's, with tests/python/_hostile.py; the README's plugin runner
against hostile WASI plugins is test_sandbox's.
"""

import time

import numpy as np
import pytest

import wasmffi
from conftest import GENEROUS

PAGE = 65536

HEALTHY = """(module (memory (export "memory") 1)
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"""


@pytest.fixture(scope="module")
def bystander():
    """An instance made before every hostile one, on the default engine; it must keep working."""
    return wasmffi.load(HEALTHY)


def still_healthy(bystander, engine=None):
    """The instance made before, and a new one (on `engine` where the case used its own), work."""
    assert bystander.exports.add(2, 3) == 5
    fresh = wasmffi.load(HEALTHY, **({"engine": engine} if engine is not None else {}))
    assert fresh.exports.add(40, 2) == 42
    assert fresh.exports.grow(1) == 1 and len(fresh.memory) == 2 * PAGE


# ---- a tiny module writer (for sizes WAT text would be slow to build and parse) -----------------

def uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if (n == 0 and not byte & 0x40) or (n == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def section(ident: int, body: bytes) -> bytes:
    return bytes([ident]) + uleb(len(body)) + body


def vector(items) -> bytes:
    items = list(items)
    return uleb(len(items)) + b"".join(items)


def name(text: str) -> bytes:
    return uleb(len(text)) + text.encode()


def module_bytes(*sections: bytes) -> bytes:
    return b"\0asm\1\0\0\0" + b"".join(sections)


def many_functions(count: int) -> bytes:
    """`count` functions (i32) -> i32, function k returning its argument + k; exports "first" and
    "last"."""
    bodies = []
    for k in range(count):
        body = b"\x00\x20\x00\x41" + sleb(k) + b"\x6a\x0b"  # no locals; local.get 0, i32.const k, i32.add
        bodies.append(uleb(len(body)) + body)
    return module_bytes(
        section(1, vector([b"\x60\x01\x7f\x01\x7f"])),
        section(3, uleb(count) + b"\x00" * count),
        section(7, vector([name("first") + b"\x00" + uleb(0), name("last") + b"\x00" + uleb(count - 1)])),
        section(10, uleb(count) + b"".join(bodies)))


DATA_SIZE = 100 << 20


@pytest.fixture(scope="session")
def big_data_module():
    """A module whose one active data segment is 100 MiB: "head" at address 0, "tail" at its
    last bytes, zeros between (made once, in place: a zeroed bytearray costs no page until written)."""
    pages = DATA_SIZE // PAGE + 1
    head = module_bytes(
        section(5, vector([b"\x00" + uleb(pages)])),
        section(7, vector([name("memory") + b"\x02" + uleb(0)])))
    segment_head = b"\x00\x41\x00\x0b" + uleb(DATA_SIZE)  # memory 0, at i32.const 0, DATA_SIZE bytes
    body = uleb(1) + segment_head
    data = bytearray(len(head) + 1 + len(uleb(len(body) + DATA_SIZE)) + len(body) + DATA_SIZE)
    pos = 0
    for part in (head, b"\x0b", uleb(len(body) + DATA_SIZE), body):
        data[pos:pos + len(part)] = part
        pos += len(part)
    data[pos:pos + 4] = b"head"
    data[-4:] = b"tail"
    start = time.perf_counter()
    module = wasmffi.Module(data)
    print(f"100 MiB data segment: {len(data)} bytes compiled in {time.perf_counter() - start:.2f} s")
    return module


# ---- runaway code ------------------------------------------------------------------------------

def test_an_infinite_loop_is_stopped_by_its_timeout_and_everything_else_goes_on(bystander):
    wat = """(module (func (export "spin") (loop (br 0)))
      (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"""
    inst = wasmffi.load(wat, timeout=0.05)
    with pytest.raises(wasmffi.Interrupt, match=r"^spin\(\): interrupt: the call ran past its timeout=0.05 s"):
        inst.exports.spin()
    assert inst.exports.add(1, 1) == 2
    still_healthy(bystander)


BOMB = """(module (memory (export "memory") 1)
  (func (export "bomb") (loop $more (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    unreachable)
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"""


def test_a_memory_bomb_stops_at_max_memory_and_traps_there(bystander):
    # Grows a page at a time until memory.grow fails, then traps as a C program's abort() does.
    limit = 64 * PAGE
    inst = wasmffi.load(BOMB, max_memory=limit)
    with pytest.raises(wasmffi.Unreachable, match=r"^bomb\(\): wasm trap: wasm `unreachable` instruction executed"):
        inst.exports.bomb()
    assert len(inst.memory) == limit
    with pytest.raises(wasmffi.ResourceError, match=r"max_memory=4194304"):
        inst.memory.grow(1)
    inst.memory.write(limit - 4, b"last")  # the memory it got is all usable
    assert inst.memory.read(limit - 4, 4) == b"last" and inst.exports.add(1, 2) == 3
    # The same bomb in a second instance gets exactly as far: nothing was lost to the first.
    again = wasmffi.load(BOMB, max_memory=limit)
    with pytest.raises(wasmffi.Unreachable):
        again.exports.bomb()
    assert len(again.memory) == limit
    still_healthy(bystander)


TABLE_BOMB = """(module (table $t 1 funcref)
  (func (export "grow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0)))
  (func (export "bomb") (loop $more (br_if $more (i32.ne (table.grow $t (ref.null func) (i32.const 4096))
    (i32.const -1)))) unreachable)
  (func (export "size") (result i32) (table.size $t)))"""


def test_huge_tables_are_refused_at_their_limits(bystander):
    # Declared huge: the pooling default engine refuses it when compiling (its slots hold at most
    # 2**20 elements); any engine refuses it against max_table_elements when instantiating.
    with pytest.raises(wasmffi.CompileError, match=r"does not fit in pooling allocator requirements(.|\n)*"
                                                   r"minimum element size of 1000000000 which exceeds the limit"):
        wasmffi.Module("(module (table 1000000000 funcref))")
    engine = wasmffi.Engine()
    with pytest.raises(wasmffi.ResourceError, match=r"table minimum size of 1000000000 elements exceeds table limits "
                                                    r"\(this instance's limits: max_table_elements=1048576\)"):
        wasmffi.load("(module (table 1000000000 funcref))", engine=engine, max_table_elements=1 << 20)
    # Grown huge from inside: table.grow fails (-1) at the limit, as memory.grow does.
    inst = wasmffi.load(TABLE_BOMB, engine=engine, max_table_elements=100_000)
    assert inst.exports.grow(-1) == -1  # 2**32 - 1 more elements
    with pytest.raises(wasmffi.Unreachable, match=r"^bomb\(\)"):
        inst.exports.bomb()
    assert 100_000 - 4096 < inst.exports.size() <= 100_000
    assert inst.exports.grow(100_000) == -1
    # On the default engine, growth stops at the pool's slot size.
    pooled = wasmffi.load(TABLE_BOMB)
    with pytest.raises(wasmffi.Unreachable):
        pooled.exports.bomb()
    assert pooled.exports.size() <= 1 << 20
    still_healthy(bystander, engine)


def test_deep_recursion_is_a_stack_overflow(bystander):
    wat = """(module (func $down (export "down") (param i32) (result i32)
        (i32.add (call $down (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
      (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"""
    inst = wasmffi.load(wat)
    for _ in range(3):  # and again: the guard page and the instance are as before
        with pytest.raises(wasmffi.StackOverflow, match=r"^down\(\): wasm trap: call stack exhausted"):
            inst.exports.down(0)
    assert inst.exports.add(2, 2) == 4
    still_healthy(bystander)


def test_recursion_through_a_host_function_that_calls_back_in_is_a_clear_error(bystander):
    # wasm -> Python -> wasm -> Python ...: each level spends C stack on the host side too, which
    # the wasm stack limit does not see. It must end in an exception, not a crash of the process.
    wat = """(module (import "env" "h" (func $h (param i32) (result i32)))
      (func (export "f") (param i32) (result i32) (call $h (i32.add (local.get 0) (i32.const 1))))
      (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"""
    depth = []
    holder = {}

    def h(n: int) -> int:
        depth.append(n)
        return holder["inst"].exports.f(n)

    inst = holder["inst"] = wasmffi.load(wat, {"env": {"h": h}})
    with pytest.raises((wasmffi.StackOverflow, RecursionError)) as info:
        inst.exports.f(0)
    print(f"stopped at depth {max(depth)}: {type(info.value).__name__}: {str(info.value).splitlines()[0]}")
    assert max(depth) > 10
    assert inst.exports.add(3, 4) == 7 and inst.exports.f.__name__ == "f"
    still_healthy(bystander)


class Boom(Exception):
    pass


def test_a_host_callback_that_raises_on_every_call_passes_each_exception_through_by_identity(bystander):
    wat = """(module (import "env" "h" (func $h (param i32) (result i32)))
      (func (export "loop") (param i32) (result i32)
        (loop $l (local.set 0 (call $h (local.get 0))) (br $l)) (local.get 0))
      (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"""
    raised = []

    def h(x: int) -> int:
        raised.append(Boom(x))
        raise raised[-1]

    inst = wasmffi.load(wat, {"env": {"h": h}})
    for k in range(50):
        with pytest.raises(Boom) as info:
            inst.exports.loop(k)
        assert info.value is raised[-1] and info.value.args == (k,)
        assert isinstance(info.value.__cause__, wasmffi.Trap)
        assert "host function 'env.h' raised Boom" in str(info.value.__cause__)
    assert len(raised) == 50 and inst.exports.add(1, 2) == 3
    still_healthy(bystander)


# ---- pointers a guest returns ---------------------------------------------------------------------

POINTERS = """(module (memory (export "memory") 1)
  (func (export "bad_string") (result i32) (i32.const -16))
  (func (export "end_string") (result i32) (i32.const 65535))
  (func (export "bad_point") (result i32) (i32.const 65532))
  (func (export "fill") (param $dst i32) (param $cap i32) (param $claim i32) (result i32)
    (memory.fill (local.get $dst) (i32.const 0x5a) (local.get $cap)) (local.get $claim)))"""

POINTERS_CDEF = """
    struct point { int32_t x, y; };
    const char *bad_string(void);
    const char *end_string(void);
    struct point *bad_point(void);
    int32_t fill(uint8_t *dst /* out */ /* length_is(return) */, size_t cap, int32_t claim);
"""


def test_pointers_a_guest_returns_outside_its_memory_are_bounds_errors(bystander):
    inst = wasmffi.load(POINTERS, cdef=POINTERS_CDEF, allocator=None)
    lib = inst.exports
    p = lib.bad_string()
    assert p == 0xFFFFFFF0  # an address, unsigned; nothing is read from it by the call
    with pytest.raises(wasmffi.MemoryAccessError, match=r"^string_at\(\): address 0xfffffff0 is out of bounds "
                                                        r"of guest memory of 65536 bytes"):
        inst.string_at(p)
    with pytest.raises(wasmffi.MemoryAccessError, match=r"string_at\(\): address 0x10000000000000000 is out of bounds"):
        inst.string_at(2**64)
    with pytest.raises(wasmffi.MemoryAccessError, match=r"string_at\(\): address -1 is negative"):
        inst.string_at(-1)
    # The last byte is not a NUL: the string would run off the end of memory.
    inst.memory.write(65535, b"x")
    with pytest.raises(wasmffi.MemoryAccessError, match=r"no NUL from address 0xffff to the end of guest memory"):
        inst.string_at(lib.end_string())
    with pytest.raises(wasmffi.MemoryAccessError, match=r"no NUL from address 0xffff to the end"):
        inst.string_at(lib.end_string(), max_len=100)
    with pytest.raises(wasmffi.MemoryAccessError, match=r"out of bounds of guest memory"):
        inst.array_at(p, "uint32_t", 4)
    with pytest.raises(wasmffi.MemoryAccessError, match=r"does not fit in 64 bits"):
        inst.array_at(0, "uint64_t", 2**62)
    with pytest.raises(wasmffi.MemoryAccessError, match=r"read of 8 byte\(s\) at address 0xfffc is out of bounds"):
        inst.struct_at(lib.bad_point(), "struct point")
    still_healthy(bystander)


@pytest.mark.parametrize("claim", [17, 1 << 30, -1, -(2**31)])
def test_a_written_length_beyond_the_buffer_copies_nothing_back(claim, bystander):
    # length_is(return): a result the buffer cannot hold means nothing was written (docs/cdef.md).
    inst = wasmffi.load(POINTERS.replace('(memory (export "memory") 1)', '(memory (export "memory") 1)'
                                         ' (func (export "bump_alloc") (param i32) (result i32) (i32.const 1024))'),
                        cdef=POINTERS_CDEF)
    buf = bytearray(b"\x11" * 16)
    assert inst.exports.fill(buf, 16, claim) == claim
    assert buf == b"\x11" * 16
    n, got = inst.exports.fill(wasmffi.out(16), 16, claim)
    assert (n, got) == (claim, b"")
    assert inst.exports.fill(buf, 16, 3) == 3 and buf == b"\x5a" * 3 + b"\x11" * 13  # the control
    still_healthy(bystander)


# ---- memory grown during a call while views are held ----------------------------------------------

def test_views_held_across_growth_inside_a_call_stay_valid(bystander):
    # Memories never move (memory_may_move = false; docs/design.md, rule 3): a view taken before
    # or during a call sees the same guest bytes after the guest grew its memory, and after the
    # instance is dropped.
    wat = """(module (import "env" "h" (func $h (param i32)))
      (memory (export "memory") 1)
      (func (export "grow_during") (param i32) (result i32)
        (call $h (i32.const 0))
        (drop (memory.grow (local.get 0)))
        (call $h (i32.const 1))
        (i32.store8 (i32.const 10) (i32.const 99))
        (i32.store8 (i32.const 0x50000) (i32.const 77))
        (memory.size)))"""
    held = []
    holder = {}

    def h(stage: int) -> None:
        mem = holder["inst"].memory
        held.append(mem.view(0, 16))
        held.append(mem.ndarray(0, "uint8", (16,)))
        if stage == 1:
            held.append(mem.view(0x50000, 1))  # only in bounds since the growth

    inst = holder["inst"] = wasmffi.load(wat, {"env": {"h": h}}, max_memory=16 * PAGE)
    before = inst.memory.view(0, PAGE)
    assert inst.exports.grow_during(7) == 8
    assert before[10] == 99 and all(v[10] == 99 for v in held[:4]) and held[4][0] == 77
    # Growth the limit refuses changes nothing either.
    assert inst.exports.grow_during(100) == 8 and before[10] == 99
    arr = np.frombuffer(before, dtype=np.uint8)
    del inst, holder["inst"]
    assert before[10] == 99 and arr[10] == 99 and held[1][10] == 99 and held[4][0] == 77
    before.release()
    held.clear()  # the ndarrays in it hold the instance, and numpy arrays are not collected in cycles
    still_healthy(bystander)


@pytest.mark.parametrize("keep", ["view", "memory", "global"])
def test_an_instance_whose_host_function_keeps_its_memory_or_global_is_collected(keep, bystander):
    # A regression test: Memory, Global and the views' exporter did not report what they hold to
    # the cycle collector, so instance -> host function -> closure -> view -> Memory -> instance
    # was a cycle it could not see, and the instance (with its memory) was never freed. (Not
    # Memory.ndarray: numpy arrays are not tracked by the cycle collector at all, so a host
    # function that keeps one of its own instance's memory keeps that instance alive.)
    import gc
    import weakref

    def make():
        wat = """(module (import "env" "h" (func $h)) (memory (export "memory") 1)
          (global (export "g") (mut i32) (i32.const 7)) (func (export "f") (call $h)))"""
        kept, holder = [], {}

        def h() -> None:
            inst = holder["inst"]
            kept.append({"view": lambda: inst.memory.view(0, 16),
                         "memory": lambda: inst.memory,
                         "global": lambda: inst.exports.g}[keep]())

        inst = holder["inst"] = wasmffi.load(wat, {"env": {"h": h}})
        inst.exports.f()
        assert len(kept) == 1
        return weakref.ref(inst)

    ref = make()
    gc.collect()
    assert ref() is None, f"an instance whose host function keeps a {keep} of it was not collected"
    still_healthy(bystander)


# ---- sizes ----------------------------------------------------------------------------------------

def test_a_module_with_100000_functions_compiles_and_runs(bystander):
    data = many_functions(100_000)
    start = time.perf_counter()
    module = wasmffi.Module(data)
    took = time.perf_counter() - start
    print(f"100000 functions: {len(data)} bytes compiled in {took:.2f} s")
    inst = module.instantiate()
    assert inst.exports.first(1) == 1 and inst.exports.last(1) == 100_000
    still_healthy(bystander)


def test_a_100_mb_data_segment_respects_max_memory_and_then_loads(big_data_module, bystander):
    with pytest.raises(wasmffi.ResourceError, match=r"memory minimum size of 1601 pages exceeds memory limits "
                                                    r"\(this instance's limits: max_memory=67108864\)"):
        big_data_module.instantiate(max_memory=64 << 20)
    inst = big_data_module.instantiate()
    assert inst.memory.read(0, 4) == b"head" and inst.memory.read(DATA_SIZE - 4, 5) == b"tail\0"
    inst.memory.write(0, b"mine")
    # Every instance starts from the image: the first one's write is its own.
    assert big_data_module.instantiate().memory.read(0, 4) == b"head"
    still_healthy(bystander)


def test_a_data_segment_outside_memory_fails_instantiation_with_a_bounds_trap(bystander):
    with pytest.raises(wasmffi.MemoryOutOfBounds, match=r"out of bounds memory access"):
        wasmffi.load('(module (memory 1) (data (i32.const 65530) "0123456789"))')
    still_healthy(bystander)


# ---- allocators that trap ----------------------------------------------------------------------

SUM = """(func (export "sum") (param i32 i32) (result i32) (local $s i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get 1)))
      (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get 0))))
      (local.set 0 (i32.add (local.get 0) (i32.const 1)))
      (local.set 1 (i32.sub (local.get 1) (i32.const 1)))
      (br $next)))
    (local.get $s))
  (func (export "set_broken") (param i32) (global.set $broken (local.get 0)))"""

# A bump allocator over a growing heap that traps on every entry while $broken is set (as an
# allocator whose heap is corrupt does), in each of the three conventions wasmffi uses.
TAKE = """(func $take (param i32) (result i32) (local $p i32)
        (if (global.get $broken) (then unreachable))
        (local.set $p (global.get $top))
        (global.set $top (i32.add (global.get $top) (i32.and (i32.add (local.get 0) (i32.const 15)) (i32.const -16))))
        (if (i32.gt_u (global.get $top) (i32.mul (memory.size) (i32.const 65536)))
          (then (drop (memory.grow (i32.add (i32.shr_u (local.get 0) (i32.const 16)) (i32.const 1))))))
        (local.get $p))
      """
ALLOCATORS = {
    "malloc": TAKE + """(func (export "malloc") (param i32) (result i32) (call $take (local.get 0)))
      (func (export "free") (param i32) (if (global.get $broken) (then unreachable)))""",
    "bump": TAKE + """(func (export "bump_alloc") (param i32) (result i32) (call $take (local.get 0)))
      (func (export "bump_mark") (result i32) (if (global.get $broken) (then unreachable)) (global.get $top))
      (func (export "bump_release") (param i32) (if (global.get $broken) (then unreachable))
        (global.set $top (local.get 0)))""",
    "cabi_realloc": """(func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
        (if (global.get $broken) (then unreachable))
        (local.set $p (global.get $top))
        (global.set $top (i32.add (global.get $top) (i32.and (i32.add (local.get 3) (i32.const 15)) (i32.const -16))))
        (if (i32.gt_u (global.get $top) (i32.mul (memory.size) (i32.const 65536)))
          (then (drop (memory.grow (i32.add (i32.shr_u (local.get 3) (i32.const 16)) (i32.const 1))))))
        (local.get $p))""",
}


def allocator_module(kind: str) -> str:
    return f"""(module (memory (export "memory") 1)
      (global $broken (mut i32) (i32.const 1)) (global $top (mut i32) (i32.const 1024))
      {ALLOCATORS[kind]} {SUM})"""


SECRET = bytes([0xC3, 0x5A, 0x17, 0xE9]) * 16


@pytest.mark.parametrize("kind", sorted(ALLOCATORS))
def test_an_allocator_that_traps_on_every_entry_is_a_clear_error_and_the_instance_recovers(kind, bystander):
    inst = wasmffi.load(allocator_module(kind), cdef="uint32_t sum(const uint8_t *p, size_t n);")
    assert inst.allocator == kind
    for data in (SECRET, SECRET * 4096):  # one block, and one larger than any first arena
        for _ in range(2):
            with pytest.raises(wasmffi.Unreachable, match=r"^sum\(\): guest scratch of \d+ bytes for 'p' "
                                                          r"\(\d+ bytes\) could not be allocated: wasm trap: "
                                                          r"wasm `unreachable` instruction executed"):
                inst.exports.sum(data)
    with pytest.raises(wasmffi.Unreachable, match=r"^Scratch[.\w()]*: wasm trap: wasm `unreachable`"):
        with inst.scratch() as s:
            s.copy(SECRET)
    assert SECRET not in inst.memory.read(0, len(inst.memory))  # nothing was left in guest memory
    # The allocator mended (as a guest would after its own error), the next calls work at once.
    inst.exports.set_broken(0)
    assert inst.exports.sum(SECRET) == sum(SECRET)
    assert inst.exports.sum(SECRET * 4096) == sum(SECRET) * 4096
    assert SECRET not in inst.memory.read(0, len(inst.memory))
    # Broken again after it had handed out blocks: the same clear error, and again recovery;
    # except that cabi_realloc's arena, never freed (it has no free), serves the call without it.
    inst.exports.set_broken(1)
    if kind == "cabi_realloc":
        assert inst.exports.sum(SECRET * 4096) == sum(SECRET) * 4096
    else:
        with pytest.raises(wasmffi.Unreachable, match=r"could not be allocated"):
            inst.exports.sum(SECRET * 4096)
    inst.exports.set_broken(0)
    assert inst.exports.sum(SECRET) == sum(SECRET)
    still_healthy(bystander)


def test_an_allocator_that_hands_out_blocks_outside_memory_is_a_bounds_error(bystander):
    wat = f"""(module (memory (export "memory") 1) (global $broken (mut i32) (i32.const 0))
      (func (export "malloc") (param i32) (result i32) (i32.const -64))
      (func (export "free") (param i32))
      {SUM})"""
    inst = wasmffi.load(wat, cdef="uint32_t sum(const uint8_t *p, size_t n);")
    with pytest.raises(wasmffi.MemoryAccessError, match=r"^sum\(\): guest scratch of \d+ bytes for 'p' \(64 bytes\) "
                                                        r"could not be allocated: .*out of bounds of guest memory"):
        inst.exports.sum(SECRET)
    assert inst.exports.sum(0, 0) == 0  # int addresses need no allocator
    still_healthy(bystander)
