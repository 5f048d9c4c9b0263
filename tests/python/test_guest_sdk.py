"""The guest SDK through today's raw API: the bump allocator (alignment, growth, wipe on reset/release) and the cstr library on wasm32, wasm64 and wasi-libc."""

import functools
import math
import struct

import pytest

import wasmffi
from wasmffi import _build
from conftest import guest_path

ALIGN = 16
PAGE = 65536
VARIANTS = ["cstr", "cstr64", "cstr_libc"]


class Guest:
    """An instance plus the manual marshalling a user writes today: copy into bump-allocated memory."""

    def __init__(self, inst: wasmffi.Instance):
        self.inst = inst
        self.x = inst.exports
        self.mem = inst.memory
        self.is64 = self.mem.is64
        if "_initialize" in self.x:  # wasi-libc reactor: run C constructors once, as documented
            self.x._initialize()
        # Unsigned sizes and addresses on the i64 slots of wasm64 (raw i64 results are signed).
        slot = "u64" if self.is64 else "u32"
        self.alloc = self.x.bump_alloc.typed(params=[slot], results=[slot])
        self.mark = self.x.bump_mark.typed(results=[slot])
        self.release = self.x.bump_release.typed(params=[slot])

    def put(self, data: bytes) -> int:
        p = self.alloc(len(data))
        assert p != 0, "bump_alloc failed"
        self.mem.write(p, data)
        return p

    def cstr(self, s: bytes) -> int:
        return self.put(s + b"\0")

    def read_cstr(self, p: int) -> bytes:
        out = bytearray()
        while (b := self.mem.read(p + len(out), 1)) != b"\0":
            out += b
        return bytes(out)


@pytest.fixture(params=VARIANTS)
def g(request):
    return Guest(wasmffi.load(guest_path(request.param)))


@pytest.fixture
def g32():
    return Guest(wasmffi.load(guest_path("cstr")))


def settle(g: Guest) -> None:
    """One allocation round, so the heap has claimed its first pages: afterwards the allocator's
    own state (static data below the heap) reads the same whenever the heap is empty."""
    g.alloc(2000)
    g.x.bump_reset()


@functools.lru_cache(maxsize=None)
def pattern(n: int, seed: int = 1) -> bytes:
    return bytes(((i * 37 + seed) % 251) + 1 for i in range(n))  # never zero


# --------------------------------------------------------------------------------------------
# The three artifacts


def test_artifacts_target_the_memory_they_claim():
    for name, is64 in (("cstr", False), ("cstr64", True), ("cstr_libc", False)):
        module = wasmffi.Module.from_file(guest_path(name))
        assert module.imports == (), f"{name}.wasm should need no imports"
        exports = {e.name: e for e in module.exports}
        assert exports["memory"].type.is64 is is64
        slot = "i64" if is64 else "i32"
        assert exports["bump_alloc"].type.params == (slot,)
        assert exports["sum"].type.params == (slot, slot)
        for fn in _build.ALLOC_EXPORTS:
            assert exports[fn].kind == "func"
    libc = {e.name for e in wasmffi.Module.from_file(guest_path("cstr_libc")).exports}
    assert {"malloc", "free", "_initialize"} <= libc
    plain = {e.name for e in wasmffi.Module.from_file(guest_path("cstr")).exports}
    assert not {"malloc", "free", "_initialize"} & plain


# --------------------------------------------------------------------------------------------
# Bump allocator


def test_allocations_are_aligned_distinct_and_do_not_overlap(g):
    sizes = [1, 0, 15, 16, 17, 100, 0, 3]
    blocks = [(g.alloc(n), n) for n in sizes]
    for p, _ in blocks:
        assert p != 0 and p % ALIGN == 0
    for (p, n), (q, _) in zip(blocks, blocks[1:]):
        assert q >= p + max(n, 1), "blocks overlap"
    assert len({p for p, _ in blocks}) == len(blocks)  # zero-byte requests get their own address


def test_first_allocation_starts_at_the_mark_and_lies_above_static_data(g):
    start = g.mark()
    assert start % ALIGN == 0
    p = g.alloc(32)
    assert p == start
    assert g.mark() == start + 32
    # wasm-ld's default layout: static data from address 1024, then the 64 KiB stack, then
    # __heap_base; with wasi-libc the heap starts at the end of memory, higher still.
    assert p >= PAGE


def test_reset_wipes_everything_handed_out_and_starts_over(g):
    settle(g)
    base = g.mark()
    before = g.mem.read(0, base)
    a = g.put(pattern(100))
    b = g.put(pattern(1000, 7))
    top = g.mark()
    assert top > b
    g.x.bump_reset()
    assert g.mem.read(base, top - base) == bytes(top - base)
    assert g.mem.read(0, base) == before  # nothing below the heap touched
    assert g.mark() == base
    assert g.alloc(8) == a  # the space is handed out again


def test_release_to_mark_wipes_only_what_came_after(g):
    keep = g.put(pattern(48))
    mark = g.mark()
    g.put(pattern(64, 3))
    g.put(pattern(200, 5))
    top = g.mark()
    g.release(mark)
    assert g.mark() == mark
    assert g.mem.read(keep, 48) == pattern(48)
    assert g.mem.read(mark, top - mark) == bytes(top - mark)
    assert g.alloc(1) == mark


def test_marks_nest_and_stale_marks_are_ignored(g):
    g.alloc(16)
    outer = g.mark()
    g.alloc(16)
    inner = g.mark()
    g.put(pattern(32))
    g.release(outer)  # releases the inner region too
    assert g.mark() == outer
    g.release(inner)  # above the top now: nothing to do
    assert g.mark() == outer
    assert g.mem.read(outer, inner + 32 - outer) == bytes(inner + 32 - outer)


def test_release_of_a_mark_at_or_above_the_top_changes_nothing(g):
    g.put(pattern(64))
    top = g.mark()
    snap = g.mem.read(0, top + 256)
    g.release(top)
    g.release(top + 4096)
    assert g.mark() == top
    assert g.mem.read(0, top + 256) == snap


def test_release_below_the_heap_is_a_reset_and_never_touches_memory_below_it(g):
    settle(g)
    base = g.mark()
    below = g.mem.read(0, base)
    g.put(pattern(128))
    g.release(0)
    assert g.mark() == base
    g.put(pattern(128))
    g.release(base - 4096)
    assert g.mark() == base
    assert g.mem.read(0, base) == below
    assert g.mem.read(base, 128) == bytes(128)


def test_unaligned_mark_is_rounded_up_never_freeing_below_it(g):
    base = g.mark()
    g.put(pattern(64))
    g.release(base + 20)
    assert g.mark() == base + 32
    assert g.mem.read(base, 32) == pattern(64)[:32]  # below the rounded mark: kept
    assert g.mem.read(base + 32, 32) == bytes(32)


def test_allocation_grows_memory_and_the_block_is_usable(g):
    pages = g.mem.pages
    n = 3 * PAGE + 5
    p = g.alloc(n)
    assert p != 0 and p % ALIGN == 0
    assert g.mem.pages > pages
    assert p + n <= len(g.mem)
    g.mem.write(p + n - 5, b"tail!")
    assert g.mem.read(p + n - 5, 5) == b"tail!"
    q = g.alloc(16)
    assert q == p + n + 11  # the next block follows in the grown pages


def test_pages_grown_by_someone_else_are_never_handed_out_or_wiped(g):
    a = g.put(pattern(64))
    old_end = len(g.mem)
    g.mem.grow(2)  # the host's pages now
    host = pattern(2 * PAGE, 5)
    g.mem.write(old_end, host)
    b = g.alloc(2 * PAGE)  # more than the heap's segment has left: a new one after the host's
    assert b >= old_end + 2 * PAGE
    g.mem.write(b, pattern(2 * PAGE, 9))
    c = g.alloc(16)
    assert c == b + 2 * PAGE
    top = g.mark()
    g.x.bump_reset()
    assert g.mem.read(old_end, 2 * PAGE) == host
    assert g.mem.read(a, 64) == bytes(64)
    assert g.mem.read(b, top - b) == bytes(top - b)
    # After the reset the first segment is used again, then the second, skipping the host's pages.
    assert g.alloc(16) == a
    d = g.alloc(old_end - a)
    assert d == b
    assert g.mem.read(old_end, 2 * PAGE) == host


def test_pages_the_host_grew_before_the_first_allocation_are_not_the_heaps(g):
    old_end = len(g.mem)
    g.mem.grow(1)
    host = pattern(PAGE, 4)
    g.mem.write(old_end, host)
    p = g.alloc(PAGE)  # more than the initial memory has left after __heap_base
    assert p >= old_end + PAGE or p + PAGE <= old_end
    g.mem.write(p, pattern(PAGE, 6))
    g.x.bump_reset()
    assert g.mem.read(old_end, PAGE) == host


@pytest.mark.parametrize("name", ["cstr", "cstr_libc"])
def test_wasm32_sizes_that_cannot_fit_return_zero_and_change_nothing(name):
    g = Guest(wasmffi.load(guest_path(name)))
    top = g.mark()
    pages = g.mem.pages
    for n in (2**32 - 1, 2**32 - 15, 2**32 - 16, 2**32 - top):
        assert g.alloc(n) == 0, n
    assert g.mark() == top and g.mem.pages == pages
    assert g.alloc(16) == top


def test_wasm64_sizes_that_cannot_fit_return_zero_and_change_nothing():
    g = Guest(wasmffi.load(guest_path("cstr64")))
    top = g.mark()
    pages = g.mem.pages
    for n in (2**64 - 1, 2**64 - 15, 2**63, 2**48):
        assert g.alloc(n) == 0, n
    assert g.mark() == top and g.mem.pages == pages
    assert g.alloc(16) == top


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    """The allocator alone, linked with a 3-page maximum memory: growth beyond it must fail."""
    out = tmp_path_factory.mktemp("capped") / "capped.wasm"
    src = out.with_suffix(".c")
    src.write_text('#include "wasmffi_alloc.h"\n')
    _build.build([src], out, extra_args=[f"-Wl,--max-memory={3 * PAGE}"])
    return out


def test_growth_failure_returns_zero_and_keeps_the_heap(capped):
    g = Guest(wasmffi.load(capped))
    assert g.mem.pages == 2
    top = g.mark()
    p = g.put(pattern(64))
    assert g.alloc(2 * PAGE) == 0  # needs a 4th page
    assert g.mark() == top + 64 and g.mem.pages == 2
    room = 3 * PAGE - g.mark()
    q = g.alloc(room)  # exactly what a 3rd page leaves: grows once, fits
    assert q == top + 64 and g.mem.pages == 3
    assert g.alloc(1) == 0
    assert g.mem.read(p, 64) == pattern(64)
    g.x.bump_reset()
    assert g.mem.read(top, 3 * PAGE - top) == bytes(3 * PAGE - top)


@pytest.mark.parametrize("flags", [[], ["-mno-bulk-memory"]], ids=["memory.fill", "store-loop"])
@pytest.mark.parametrize("target", ["wasm32", "wasm64"])
def test_both_wipe_implementations_zero_exactly_the_released_range(tmp_path, flags, target):
    out = tmp_path / "alloc.wasm"
    src = tmp_path / "alloc.c"
    src.write_text('#include "wasmffi_alloc.h"\n')
    _build.build([src], out, target=target, extra_args=flags)
    g = Guest(wasmffi.load(out))
    settle(g)
    base = g.mark()
    a = g.put(pattern(80))
    mark = g.mark()
    b = g.put(pattern(3 * PAGE, 3))  # grows the memory
    top = g.mark()
    after = g.mem.read(top, 256)
    g.release(mark)
    assert g.mem.read(a, 80) == pattern(80)
    assert g.mem.read(b, top - b) == bytes(top - b)
    assert g.mem.read(top, 256) == after
    g.x.bump_reset()
    assert g.mem.read(base, mark - base) == bytes(mark - base)


# --------------------------------------------------------------------------------------------
# Strings


def test_count_vowels(g):
    assert g.x.count_vowels(g.cstr(b"Hello, WebAssembly")) == 5
    assert g.x.count_vowels(g.cstr(b"")) == 0
    assert g.x.count_vowels(g.cstr(b"xyz AEIOU aeiou")) == 10


def test_upcase_in_place_leaves_non_ascii_alone(g):
    text = "héllo, wörld 42".encode()
    p = g.cstr(text)
    g.x.upcase(p)
    assert g.read_cstr(p) == "HéLLO, WöRLD 42".encode()


# --------------------------------------------------------------------------------------------
# Arrays


def test_sum(g):
    data = pattern(1000)
    assert g.x.sum(g.put(data), len(data)) == sum(data)
    assert g.x.sum(g.put(b"\xff" * 64), 64) == 255 * 64
    assert g.x.sum(0, 0) == 0


def test_rewrite64_reverses_and_increments_in_place(g):
    data = bytes(range(192, 256))
    p = g.put(data)
    g.x.rewrite64(p)
    assert g.mem.read(p, 64) == bytes((b + 1) & 0xFF for b in reversed(data))


def test_mean(g):
    xs = [1.5, -2.25, 1e10, 3.0]
    p = g.put(struct.pack(f"<{len(xs)}d", *xs))
    assert g.x.mean(p, len(xs)) == pytest.approx(sum(xs) / len(xs), rel=1e-15)
    assert math.isnan(g.x.mean(p, 0))


# --------------------------------------------------------------------------------------------
# Structs: struct point { int32_t x, y; }; struct rect { struct point min, max; };

RECT = struct.Struct("<4i")
POINT = struct.Struct("<2i")


def test_rect_area_by_pointer(g):
    assert g.x.rect_area(g.put(RECT.pack(-3, -4, 5, 6))) == 80
    assert g.x.rect_area(g.put(RECT.pack(0, 0, 70000, 70000))) == 70000 * 70000  # beyond 32 bits


def test_rect_normalize_in_out(g):
    p = g.put(RECT.pack(5, -1, -5, 1))
    g.x.rect_normalize(p)
    assert RECT.unpack(g.mem.read(p, RECT.size)) == (-5, -1, 5, 1)


def test_rect_bounds_out_parameter(g):
    pts = [(3, 4), (-1, 10), (7, -2)]
    p = g.put(b"".join(POINT.pack(*pt) for pt in pts))
    out = g.put(RECT.pack(99, 99, 99, 99))
    assert g.x.rect_bounds(p, len(pts), out) == 0
    assert RECT.unpack(g.mem.read(out, RECT.size)) == (-1, -2, 7, 10)
    assert g.x.rect_bounds(p, 0, out) == -1
    assert RECT.unpack(g.mem.read(out, RECT.size)) == (-1, -2, 7, 10)


def test_rect_make_returns_through_hidden_result_pointer(g):
    sret = g.put(bytes(RECT.size))
    assert g.x.rect_make(sret, 1, 2, 3, 4) is None
    assert RECT.unpack(g.mem.read(sret, RECT.size)) == (1, 2, 3, 4)


def test_point_add_by_value_is_passed_by_pointer_to_a_copy(g):
    sret = g.put(bytes(POINT.size))
    a, b = g.put(POINT.pack(1, -2)), g.put(POINT.pack(10, 20))
    g.x.point_add(sret, a, b)
    assert POINT.unpack(g.mem.read(sret, POINT.size)) == (11, 18)


def test_single_scalar_struct_is_passed_and_returned_as_the_scalar(g):
    module = wasmffi.Module.from_file(guest_path("cstr64" if g.is64 else "cstr"))
    ty = {e.name: e.type for e in module.exports}["counter_next"]
    assert ty.params == ("i32",) and ty.results == ("i32",)
    assert g.x.counter_next(41) == 42


# --------------------------------------------------------------------------------------------
# Out-parameters


@pytest.mark.parametrize("a,b", [(17, 5), (-17, 5), (17, -5), (-17, -5), (0, 3), (2**31 - 1, 1)])
def test_divmod_truncates_like_c(g, a, b):
    q, r = g.put(bytes(4)), g.put(bytes(4))
    assert g.x.divmod(a, b, q, r) == 0
    qv, rv = struct.unpack("<i", g.mem.read(q, 4))[0], struct.unpack("<i", g.mem.read(r, 4))[0]
    assert qv == int(a / b) and rv == a - b * int(a / b)


@pytest.mark.parametrize("a,b", [(1, 0), (-2**31, -1)])
def test_divmod_refuses_undefined_cases_and_leaves_outputs(g, a, b):
    q, r = g.put(b"\x11" * 4), g.put(b"\x22" * 4)
    assert g.x.divmod(a, b, q, r) == -1
    assert g.mem.read(q, 4) == b"\x11" * 4 and g.mem.read(r, 4) == b"\x22" * 4


# --------------------------------------------------------------------------------------------
# Allocation during a call; resets by the guest; traps


def test_dup_upper_allocates_above_the_callers_scratch(g):
    s = g.cstr(b"abc-xyz")
    top = g.mark()
    p = g.x.dup_upper(s)
    assert p >= top, "the guest's allocation overlaps memory handed out before the call"
    assert g.read_cstr(p) == b"ABC-XYZ"
    assert g.read_cstr(s) == b"abc-xyz"
    assert g.mark() == p + 16


def test_alloc_filled(g):
    p = g.x.alloc_filled(40, 0xAB)
    assert p != 0 and p % ALIGN == 0
    assert g.mem.read(p, 40) == b"\xab" * 40


def test_guest_allocation_is_wiped_by_reset(g):
    p = g.x.dup_upper(g.cstr(b"a secret"))
    top = g.mark()
    g.x.bump_reset()
    assert g.read_cstr(p) == b""
    base = g.mark()
    assert g.mem.read(base, top - base) == bytes(top - base)


def test_sum_then_reset_wipes_the_input_the_caller_allocated(g):
    base = g.mark()
    data = pattern(300)
    p = g.put(data)
    assert g.x.sum_then_reset(p, len(data)) == sum(data)
    assert g.mark() == base
    assert g.mem.read(p, len(data)) == bytes(len(data))


def test_fill_then_trap_writes_then_traps_and_the_instance_stays_usable(g):
    p = g.put(bytes(32))
    with pytest.raises(wasmffi.Unreachable):
        g.x.fill_then_trap(p, 32, 0x5A)
    assert g.mem.read(p, 32) == b"\x5a" * 32
    top = g.mark()
    g.x.bump_reset()
    assert g.mem.read(p, top - p) == bytes(top - p)
    assert g.x.sum(g.put(b"\x01\x02\x03"), 3) == 6


# --------------------------------------------------------------------------------------------
# wasi-libc variant: malloc/free next to the bump allocator


def test_libc_malloc_and_free():
    g = Guest(wasmffi.load(guest_path("cstr_libc")))
    a = g.x.malloc(100)
    b = g.x.malloc(100)
    assert a and b and a != b and (b >= a + 100 or a >= b + 100)
    g.mem.write(a, pattern(100))
    g.mem.write(b, pattern(100, 9))
    assert g.mem.read(a, 100) == pattern(100)
    g.x.free(a)
    g.x.free(b)
    assert g.x.malloc(100) in (a, b)  # freed blocks are reused


def test_libc_malloc_and_the_bump_heap_never_overlap_or_wipe_each_other():
    """wasi-libc's malloc uses the space after __heap_base and grows the memory too: the bump
    heap starts at the end of memory and skips the pages malloc grows."""
    g = Guest(wasmffi.load(guest_path("cstr_libc")))
    blocks = []  # (address, size, owner)
    for i, n in enumerate([64, 3 * PAGE, 200, 2 * PAGE, 5 * PAGE, 16]):
        owner = "bump" if i % 2 else "malloc"
        p = g.alloc(n) if owner == "bump" else g.x.malloc(n)
        assert p != 0
        g.mem.write(p, pattern(n, i))
        blocks.append((p, n, owner))
    spans = sorted((p, p + n) for p, n, _ in blocks)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert start >= end, "blocks overlap"
    g.x.bump_reset()
    for i, (p, n, owner) in enumerate(blocks):
        expected = bytes(n) if owner == "bump" else pattern(n, i)
        assert g.mem.read(p, n) == expected, owner


# --------------------------------------------------------------------------------------------
# Property: any sequence of allocations, marks, releases, resets, host growth and (with libc)
# malloc keeps live blocks intact and disjoint, zeroes what is freed, and never touches memory
# the heap does not own.

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

OPS = st.lists(st.one_of(
    st.tuples(st.just("alloc"), st.one_of(st.integers(0, 300), st.integers(0, 3 * PAGE))),
    st.tuples(st.just("mark"), st.just(0)),
    st.tuples(st.just("release"), st.integers(0, 10)),
    st.tuples(st.just("reset"), st.just(0)),
    st.tuples(st.just("host_grow"), st.integers(1, 2)),
    st.tuples(st.just("malloc"), st.integers(1, 2 * PAGE)),
), max_size=25)


@functools.lru_cache(maxsize=None)
def compiled(name: str) -> wasmffi.Module:
    return wasmffi.Module.from_file(guest_path(name))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variant=st.sampled_from(VARIANTS), ops=OPS)
def test_allocator_keeps_its_invariants_under_any_sequence(variant, ops):
    g = Guest(compiled(variant).instantiate())
    if variant == "cstr_libc":
        # wasi-libc's malloc claims all of memory.size on its first call, pages the host grew
        # before included (its behaviour, not the bump heap's): start it before the host grows.
        g.x.free(g.x.malloc(1))
    live = []     # (address, size, seed): bump blocks, in allocation (= address) order
    foreign = []  # (address, size, seed): host pages and malloc blocks the heap must not touch
    marks = []
    seed = 0

    def owned_blocks_ok():
        for p, n, s in live + foreign:
            assert g.mem.read(p, n) == pattern(n, s), (p, n)

    for op, arg in ops:
        seed += 1
        if op == "alloc":
            p = g.alloc(arg)
            assert p != 0 and p % ALIGN == 0
            for q, m, _ in live + foreign:
                assert p + max(arg, 1) <= q or q + m <= p, "overlaps a block in use"
            if arg:
                g.mem.write(p, pattern(arg, seed))
                live.append((p, arg, seed))
        elif op == "mark":
            marks.append(g.mark())
        elif op in ("release", "reset"):
            to = 0 if op == "reset" or not marks else marks[arg % len(marks)]
            freed = [b for b in live if b[0] >= to]
            g.release(to) if op == "release" else g.x.bump_reset()
            for p, n, _ in freed:
                assert g.mem.read(p, n) == bytes(n), "freed block not wiped"
            live = [b for b in live if b[0] < to]
            marks = [m for m in marks if m <= g.mark()]  # later marks are stale now
        elif op == "host_grow":
            start = g.mem.grow(arg) * PAGE
            g.mem.write(start, pattern(arg * PAGE, seed))
            foreign.append((start, arg * PAGE, seed))
        elif op == "malloc" and variant == "cstr_libc":
            p = g.x.malloc(arg)
            assert p != 0
            for q, m, _ in live + foreign:
                assert p + arg <= q or q + m <= p, "malloc block overlaps a block in use"
            g.mem.write(p, pattern(arg, seed))
            foreign.append((p, arg, seed))
        owned_blocks_ok()
