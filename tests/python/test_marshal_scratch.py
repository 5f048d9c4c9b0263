"""Scratch strategies by allocator: the SDK's canary arena, a bump allocator that does not wipe, and reference counts."""

import sys

import pytest

import wasmffi
from conftest import guest_path, wat_instance

# A bump allocator without the SDK's wipe on release: wasmffi must not trust a canary with it,
# and falls back to bump_alloc + bump_mark + bump_release per call.
PLAIN_BUMP = """
  (memory (export "memory") 2)
  (global $top (mut i32) (i32.const 1024))
  (func (export "bump_alloc") (param i32) (result i32) (local $p i32)
    (local.set $p (global.get $top))
    (global.set $top (i32.and (i32.add (i32.add (global.get $top) (local.get 0)) (i32.const 15))
                              (i32.const -16)))
    (local.get $p))
  (func (export "bump_mark") (result i32) (global.get $top))
  (func (export "bump_release") (param i32) (global.set $top (local.get 0)))
  (func (export "first") (param i32 i32) (result i32) (i32.load8_u (local.get 0)))
"""


def test_plain_bump_allocator_gets_per_call_blocks_released_after_each_call():
    inst = wat_instance(PLAIN_BUMP, cdef="uint8_t first(const uint8_t *p, size_t n);")
    raw = inst.raw_exports
    start = raw.bump_mark()
    assert inst.exports.first(b"\x2a" + bytes(40)) == 42
    assert raw.bump_mark() == start  # released: the probe found no wipe, so no arena was kept
    assert inst.exports.first(b"\x07" * 8) == 7
    assert raw.bump_mark() == start
    # Our own wipe still ran, although this allocator's release does not zero.
    assert b"\x2a" not in inst.memory.read(start - 64, 4096)


def test_sdk_allocator_keeps_one_arena_until_a_reset():
    inst = wasmffi.load(guest_path("cstr"), cdef="uint32_t sum(const uint8_t *p, size_t n);")
    raw = inst.raw_exports
    start = raw.bump_mark()
    assert inst.exports.sum(b"\x01" * 10) == 10
    after_first = raw.bump_mark()
    assert after_first > start  # the arena stays allocated
    for _ in range(50):
        inst.exports.sum(b"\x01" * 100)
    assert raw.bump_mark() == after_first  # no allocator call per call: the top did not move
    raw.bump_reset()
    assert inst.exports.sum(b"\x02" * 10) == 20  # the lost arena is noticed and a new one taken
    assert raw.bump_mark() > start
    big = b"\x01" * 100_000  # larger than the arena: a block of its own, released after the call
    top = raw.bump_mark()
    assert inst.exports.sum(big) == 100_000
    assert raw.bump_mark() == top


def test_calls_leave_argument_reference_counts_unchanged():
    cdef = """struct point { int32_t x, y; };
              uint32_t sum(const uint8_t *p, size_t n); size_t count_vowels(const char *s);
              void rewrite64(uint8_t buf[64]);
              struct point point_add(struct point a, struct point b);"""
    lib = wasmffi.load(guest_path("cstr"), cdef=cdef).exports
    data, text, buf, lst = bytes(64), "audio", bytearray(64), [1, 2, 3]
    before = [sys.getrefcount(o) for o in (data, text, buf, lst)]
    for _ in range(1000):
        lib.sum(data)
        lib.count_vowels(text)
        lib.rewrite64(buf)
        lib.sum(lst)
        lib.rewrite64(None)
        with pytest.raises(ValueError):
            lib.rewrite64(bytearray(3))
    assert [sys.getrefcount(o) for o in (data, text, buf, lst)] == before


CABI = """
  (memory (export "memory") 2)
  (global $top (mut i32) (i32.const 1024))
  (global $calls (export "calls") (mut i32) (i32.const 0))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (local.set $p (global.get $top))
    (global.set $top (i32.add (global.get $top) (local.get 3)))
    (local.get $p))
  (func (export "first") (param i32 i32) (result i32) (i32.load8_u (local.get 0)))
"""


def test_cabi_realloc_gives_one_arena_that_is_never_freed():
    inst = wat_instance(CABI, cdef="uint8_t first(const uint8_t *p, size_t n);")
    assert inst.allocator == "cabi_realloc"
    for k in range(1, 20):
        assert inst.exports.first(bytes([k]) * 8) == k
    assert inst.exports.calls.value == 1  # one allocation for the arena, none per call


def test_allocator_none_allows_addresses_only():
    inst = wasmffi.load(guest_path("cstr"), cdef="uint32_t sum(const uint8_t *p, size_t n);", allocator=None)
    assert inst.allocator == "none"
    with pytest.raises(TypeError, match="needs a copy in guest memory, and the module has no allocator"):
        inst.exports.sum(b"\x01")
    p = inst.raw_exports.bump_alloc(4)
    inst.memory.write(p, b"\x01\x02\x03\x04")
    assert inst.exports.sum(p, n=4) == 10


def test_auto_allocator_ignores_unrelated_exports_named_like_allocators():
    # Found by hypothesis: a module exporting an unrelated `free` (here () -> i32) failed to
    # instantiate with the default allocator="auto". Naming the allocator still checks it.
    wat = ('(module (memory (export "memory") 1) (func (export "free") (result i32) i32.const 7)'
           ' (global (export "malloc") i32 (i32.const 0)))')
    inst = wasmffi.load(wat)
    assert inst.allocator == "none"
    assert inst.exports.free() == 7
    with pytest.raises(wasmffi.LinkError, match="'malloc' is not a function"):
        wasmffi.load(wat, allocator="malloc")


# ---- fuel: the allocator calls marshalling makes are not the caller's ----------------------------

def test_marshalling_allocator_calls_spend_none_of_the_callers_fuel():
    engine = wasmffi.Engine(consume_fuel=True)
    data = bytes(range(64))
    inst = wasmffi.load(guest_path("cstr"), engine=engine, cdef="uint32_t sum(const uint8_t *p, size_t n);")
    # The same work through an int address (no copy, no allocator call): the reference.
    with inst.scratch() as s:
        p = s.copy(data)
        inst.fuel = 1_000_000
        assert inst.raw_exports.sum(p, len(data)) == sum(data)
        by_address = 1_000_000 - inst.fuel
    # The first declared call probes the allocator and takes its arena; neither may cost fuel.
    for _ in range(2):
        inst.fuel = 1_000_000
        assert inst.exports.sum(data) == sum(data)
        assert 1_000_000 - inst.fuel == by_address
    # A caller with just the fuel its own work needs still gets its bytes copied.
    fresh = wasmffi.load(guest_path("cstr"), engine=engine, cdef="uint32_t sum(const uint8_t *p, size_t n);")
    fresh.fuel = by_address
    assert fresh.exports.sum(data) == sum(data)
    assert fresh.fuel == 0


def test_an_allocator_that_runs_through_its_fuel_says_so():
    engine = wasmffi.Engine(consume_fuel=True)
    wat = """(module (memory (export "memory") 1)
      (func (export "bump_alloc") (param i32) (result i32) (loop $l (br $l)) i32.const 0)
      (func (export "bump_reset"))
      (func (export "sum") (param i32 i32) (result i32) i32.const 0))"""
    inst = wasmffi.load(wat, engine=engine, cdef="uint32_t sum(const uint8_t *p, size_t n);")
    inst.fuel = 1_000
    with pytest.raises(wasmffi.OutOfFuel, match=r"sum\(\): guest scratch of 16 bytes for 'p' \(3 bytes\) could not "
                                                r"be allocated: the guest allocator \(bump\) ran through the fuel "
                                                r"wasmffi gives its calls \(100000000; the caller's own fuel is kept\)"):
        inst.exports.sum(b"abc")
    assert inst.fuel == 1_000
