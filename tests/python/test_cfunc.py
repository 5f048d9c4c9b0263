"""CFunc, the declared-function callable: its typed plan, the two call forms, C strings as
headers mean them, copy-back limits and the records it passes by value."""

import inspect

import pytest

import wasmffi
from wasmffi import _core
from conftest import guest_path

CSTR = """
    size_t count_vowels(const char *s);
    uint32_t sum(const uint8_t *p, size_t n);
    double mean(const double *xs, size_t n);
    size_t fill(uint8_t *buf /* out */, size_t n, uint8_t value);
    int divmod(int a, int b, int *q /* out */, int *r /* out */);
"""


@pytest.fixture
def lib():
    return wasmffi.load(guest_path("cstr"), cdef=CSTR).exports


# ---- the plan ------------------------------------------------------------------------------------

def test_the_plan_is_built_by_the_typed_factory():
    b = _core.PlanBuilder("f", "f(p, *, n=None)", 2, 1, False)
    b.buffer("p", "const uint8_t *", _core.Dir.IN, "u8", 0, 1)
    b.value("n", "size_t", "u32", 1, "i32")
    b.link_length(1, 0, False)
    b.result(_core.ResultKind.VALUE, unit="u32", slot_type="i32")
    plan = b.build()
    assert (plan.name, plan.signature, plan.nparams) == ("f", "f(p, *, n=None)", 2)
    with pytest.raises(ValueError, match="built already"):
        b.build()


def test_the_factory_refuses_inconsistent_plans():
    b = _core.PlanBuilder("f", "f()", 1, 0, False)
    with pytest.raises(ValueError, match="unknown unit 'u7'"):
        b.value("x", "int", "u7", 0, "i32")
    with pytest.raises(ValueError, match="unknown wasm slot type 'v128'"):
        b.value("x", "int", "u32", 0, "v128")
    with pytest.raises(ValueError, match="cannot be Dir.Value"):
        b.buffer("p", "int *", _core.Dir.VALUE, "u8", 0, 1)
    with pytest.raises(ValueError, match="elements of size 0"):
        b.buffer("p", "void *", _core.Dir.IN, "u8", 0, 0)
    with pytest.raises(ValueError, match="needs its struct class"):
        b.buffer("p", "struct s *", _core.Dir.IN, "", 0, 8)
    with pytest.raises(TypeError):
        b.buffer("p", "int *", "in", "u8", 0, 1)  # a Dir, not its spelling
    b.value("x", "int", "u32", 0, "i32")
    with pytest.raises(IndexError, match="no such parameter"):
        b.link_length(0, 5, False)
    with pytest.raises(ValueError, match="links an integer value to a buffer"):
        b.link_length(0, 0, False)
    b2 = _core.PlanBuilder("g", "g(x)", 1, 0, False)
    b2.value("x", "int", "u32", 3, "i32")
    with pytest.raises(ValueError, match="slot is past the wasm parameters"):
        b2.build()


def test_directions_have_one_definition():
    from wasmffi.cdef import _lower
    from wasmffi._marshal import build_plan  # noqa: F401 - the one user of the mapping below
    assert {d.name for d in _core.Dir} == {"VALUE", "IN", "OUT", "INOUT"}
    assert {_lower.VALUE, _lower.IN, _lower.OUT, _lower.INOUT} == {d.name.lower() for d in _core.Dir}
    assert {r.name for r in _core.ResultKind} == {"VOID", "VALUE", "SRET"}


# ---- records passed by value ---------------------------------------------------------------------

NESTED = "struct inner { int32_t x; }; struct outer { int32_t a; struct inner b; }; int32_t get_x(struct inner v);"
GET_X = '(module (memory (export "memory") 1) (func (export "get_x") (param i32) (result i32) local.get 0))'


def test_a_nested_struct_view_passes_by_value():
    # Crashed the interpreter: the nested view's bytes are a memoryview of its parent's, and the
    # call read them as a bytearray.
    inst = wasmffi.load(GET_X, cdef=NESTED)
    o = wasmffi.CDef(NESTED).pytype("struct outer")(a=1)
    assert inst.exports.get_x(o.b) == 0
    o.b.x = -42
    assert inst.exports.get_x(o.b) == -42
    inner = wasmffi.CDef(NESTED).pytype("struct inner")(x=7)
    assert inst.exports.get_x(inner) == 7


def test_a_record_by_value_refuses_other_objects():
    inst = wasmffi.load(GET_X, cdef=NESTED)
    for bad in (7, b"\0\0\0\0", None, wasmffi.CDef(NESTED).pytype("struct outer")()):
        with pytest.raises(TypeError, match=r"get_x\(\) argument 'v' \(struct inner\): expected .*inner"):
            inst.exports.get_x(bad)


# ---- two call forms ------------------------------------------------------------------------------

def test_c_order_takes_every_parameter_lengths_included(lib):
    data = bytes(range(10))
    assert lib.sum(data) == 45
    assert lib.sum(data, len(data)) == 45
    assert lib.sum(data, 4) == 6
    assert lib.sum(data, n=4) == 6
    assert lib.mean([1.0, 2.0, 6.0], 3) == 3.0
    assert lib.mean([1.0, 2.0, 6.0], 2) == 1.5
    buf = bytearray(8)
    assert lib.fill(buf, 8, 7) == 8 and buf == bytearray([7] * 8)
    assert lib.fill(buf, value=9) == 8 and buf == bytearray([9] * 8)
    assert lib.fill(buf, 3, n=8) == 8 and buf == bytearray([3] * 8)
    # Two positional arguments are the short form (buf, value), whatever the keywords say.
    with pytest.raises(TypeError, match=r"fill\(\) got multiple values for argument 'value'"):
        lib.fill(buf, 8, value=3)


def test_c_order_refuses_a_length_beyond_its_buffer_naming_both(lib):
    with pytest.raises(ValueError, match=r"sum\(\) argument 'n' \(size_t\): 11 exceeds the length of 'p' "
                                         r"\(10 elements\)"):
        lib.sum(bytes(10), 11)
    with pytest.raises(ValueError, match=r"mean\(\) argument 'n' \(size_t\): 4 exceeds the length of 'xs' "
                                         r"\(3 elements\)"):
        lib.mean([1.0, 2.0, 3.0], 4)


def test_arity_errors_give_both_forms(lib):
    with pytest.raises(TypeError, match=r"fill\(\) takes 2 positional arguments \(lengths filled in\) or 3 "
                                        r"\(every C parameter, in C order\) but 4 were given"):
        lib.fill(bytearray(2), 2, 1, 0)
    with pytest.raises(TypeError, match=r"fill\(\) got multiple values for argument 'n'"):
        lib.fill(bytearray(2), 2, 1, n=2)
    with pytest.raises(TypeError, match=r"divmod\(\) takes 4 positional arguments but 5 were given"):
        lib.divmod(1, 2, None, None, None)


def test_value_errors_name_the_parameter_and_show_negatives(lib):
    with pytest.raises(OverflowError, match=r"fill\(\) argument 'value' \(uint8_t\): -1 is out of range for u8"):
        lib.fill(bytearray(2), -1)
    with pytest.raises(OverflowError, match=r"fill\(\) argument 'n' \(size_t\): -2 is out of range for u32"):
        lib.fill(bytearray(2), -2, 1)
    with pytest.raises(TypeError, match=r"divmod\(\) argument 'b' \(int\) must be int, not str"):
        lib.divmod(1, "2", None, None)


def test_signature_shows_the_short_form(lib):
    sig = inspect.signature(lib.fill)
    assert list(sig.parameters) == ["buf", "value", "n"]
    assert sig.parameters["n"].kind is inspect.Parameter.KEYWORD_ONLY


# ---- copy back no further than the call can write ------------------------------------------------

def test_an_out_buffer_gets_back_only_what_its_length_covers(lib):
    buf = bytearray(b"abcdefgh")
    assert lib.fill(buf, 3, ord("z")) == 3
    assert buf == bytearray(b"zzzdefgh")  # not zzz + five zero bytes from the scratch copy
    view = memoryview(buf)[2:6]
    assert lib.fill(view, 0, 1) == 0
    assert buf == bytearray(b"zzzdefgh")


# ---- const char * as headers mean it -------------------------------------------------------------

def test_const_char_star_takes_bytes_as_they_are(lib):
    assert lib.count_vowels(b"aei\0ou") == 3  # NULs pass; the guest stops at the first
    assert lib.count_vowels(bytearray(b"aeiou")) == 5
    assert lib.count_vowels(memoryview(b"xaxex")) == 2
    assert lib.count_vowels("aeiou") == 5
    with pytest.raises(ValueError, match=r"count_vowels\(\) argument 's' .*cannot contain a NUL character"):
        lib.count_vowels("a\0e")


def test_length_names_from_real_headers_link():
    from wasmffi.cdef import CDef, target_for_memory
    TARGET_WASM32 = target_for_memory(False)
    cd = CDef("""
        size_t compress(void *dst, size_t dstCapacity, const void *src, size_t srcSize);
        int verify(const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t nbytes);
        int take(const int32_t *xs, size_t xsCount, uint8_t *out, size_t out_capacity);
    """)
    def short_form(name):
        sig = cd.lower(name, TARGET_WASM32).signature()
        return [(p.name, p.kind is inspect.Parameter.KEYWORD_ONLY) for p in sig.parameters.values()]
    assert short_form("compress") == [("dst", False), ("src", False), ("dstCapacity", True), ("srcSize", True)]
    assert short_form("verify") == [("msg", False), ("sig", False), ("msg_len", True), ("nbytes", True)]
    take = cd.lower("take", TARGET_WASM32)
    assert [(p.name, p.length_of, p.length_unit) for p in take.params if p.length_of] == [
        ("xsCount", "xs", "elements"), ("out_capacity", "out", "bytes")]


# ---- /* length_is(return) */ ---------------------------------------------------------------------

WRITTEN = """
    size_t fill(uint8_t *buf /* out */ /* length_is(return) */, size_t n, uint8_t value);
    uint32_t sum(const uint8_t *p, size_t n);
"""


def test_length_is_return_copies_back_only_what_was_written():
    lib = wasmffi.load(guest_path("cstr"), cdef=WRITTEN).exports
    buf = bytearray(b"abcdefgh")
    assert lib.fill(buf, 3, ord("z")) == 3
    assert buf == bytearray(b"zzzdefgh")
    assert lib.fill(wasmffi.out(8), value=5, n=4) == (4, bytes([5] * 4))
    assert lib.fill(wasmffi.out(8), 7) == (8, bytes([7] * 8))


def test_length_is_return_refuses_what_it_cannot_mean():
    from wasmffi.cdef import CDef, CDefError, target_for_memory
    t = target_for_memory(False)
    for decl, msg in [
        ("size_t f(const uint8_t *p /* length_is(return) */, size_t n);", "applies to buffers the function writes"),
        ("void f(uint8_t *p /* out */ /* length_is(return) */, size_t n);", "needs an integer result, not void"),
        ("double f(uint8_t *p /* out */ /* length_is(return) */, size_t n);", "needs an integer result"),
        ("size_t f(const char *s /* length_is(return) */);", "applies to buffers the function writes"),
    ]:
        with pytest.raises(CDefError, match=msg):
            CDef(decl).lower("f", t)
    with pytest.raises(CDefError, match=r"looks like an annotation"):
        CDef("size_t f(uint8_t *p /* out */ /* length_is(n) */, size_t n);")


def test_a_written_length_the_buffer_cannot_hold_means_nothing_written():
    # A WAT guest that writes its whole buffer and returns an error code (-1 as size_t).
    wat = """(module (memory (export "memory") 1)
      (global $top (mut i32) (i32.const 1024))
      (func (export "bump_alloc") (param i32) (result i32) (local i32)
        global.get $top local.set 1
        global.get $top local.get 0 i32.add i32.const 15 i32.add i32.const -16 i32.and global.set $top
        local.get 1)
      (func (export "bump_reset") i32.const 1024 global.set $top)
      (func (export "scribble") (param i32 i32) (result i32)
        local.get 0 i32.const 120 local.get 1 memory.fill
        i32.const -1))"""
    lib = wasmffi.load(wat, cdef="size_t scribble(uint8_t *p /* out */ /* length_is(return) */, size_t n);").exports
    buf = bytearray(b"keep")
    assert lib.scribble(buf) == 2**32 - 1
    assert buf == bytearray(b"keep")
    assert lib.scribble(wasmffi.out(4)) == (2**32 - 1, b"")


# ---- scratch per buffer with malloc --------------------------------------------------------------

def test_malloc_scratch_falls_back_to_one_block_per_buffer():
    # A heap with two free holes of 256 KiB and no room to grow: one block for both buffers
    # cannot be had, each buffer alone fits a hole.
    inst = wasmffi.load(guest_path("cstr_libc"), max_memory=4 << 20, allocator="malloc",
                        cdef="uint32_t sum2(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);")
    assert inst.allocator == "malloc"
    lib, raw = inst.exports, inst.raw_exports
    assert lib.sum2(b"\1", b"\2") == 3  # takes the allocator's small arena once
    hole = 256 * 1024
    chunks = []
    while (p := raw.malloc(hole)) != 0:
        chunks.append(p)
    while raw.malloc(4096) != 0:  # and whatever is left
        pass
    assert len(chunks) >= 3
    raw.free(chunks[0])
    raw.free(chunks[2])
    a, b = bytes([1]) * 200_000, bytes([2]) * 200_000
    assert lib.sum2(a, b) == 600_000
    assert lib.sum2(a, b) == 600_000  # and the blocks went back
    with pytest.raises(wasmffi.ResourceError, match=r"sum2\(\): guest scratch of \d+ bytes for 'a' \(300000 bytes\), "
                                                     r"'b' \(300000 bytes\) could not be allocated"):
        lib.sum2(bytes(300_000), bytes(300_000))


# ---- wide C strings: one row in the string table -------------------------------------------------

WIDE = """
    uint32_t wide_sum(const wchar_t *s);
    uint32_t u16_sum(const char16_t *s);
"""


def test_wide_strings_are_encoded_at_their_width():
    lib = wasmffi.load(guest_path("cstr"), cdef=WIDE).exports
    text = "h\u00e9llo \u20ac \U0001f600"
    assert lib.wide_sum(text) == sum(map(ord, text))
    units = text.encode("utf-16-le")
    assert lib.u16_sum(text) == sum(int.from_bytes(units[i:i + 2], "little") for i in range(0, len(units), 2))
    assert lib.wide_sum("") == 0
    assert lib.wide_sum("ab".encode("utf-32-le")) == ord("a") + ord("b")  # bytes as they are
    assert lib.wide_sum("a\0b".encode("utf-32-le")) == ord("a")
    with pytest.raises(ValueError, match=r"wide_sum\(\) argument 's' \(const wchar_t \*\): a C string cannot "
                                         r"contain a NUL character \(at index 1\)"):
        lib.wide_sum("a\0b")
    with pytest.raises(ValueError, match=r"5 bytes is not a whole number of 4-byte characters"):
        lib.wide_sum(b"abcde")
    with pytest.raises(ValueError, match=r"u16_sum\(\) argument 's' .*cannot be encoded as utf-16-le"):
        lib.u16_sum("\ud800")  # a lone surrogate


def test_wide_string_types_lower_as_strings():
    from wasmffi.cdef import CDef, target_for_memory
    spec = CDef("#include <uchar.h>\nsize_t n(const char32_t *s, const char16_t *t, const wchar_t *u);").lower(
        "n", target_for_memory(False))
    assert [(p.cstring, p.elem_size) for p in spec.params] == [(True, 4), (True, 2), (True, 4)]


# ---- records: the C base keeps their bytes -------------------------------------------------------

def test_record_classes_derive_from_the_c_base():
    inner = wasmffi.CDef(NESTED).pytype("struct inner")
    assert issubclass(inner, _core.Record)
    b = _core.PlanBuilder("f", "f(v)", 1, 0, False)
    with pytest.raises(TypeError, match="must derive from _core.Record"):
        b.value("v", "struct inner", "int32", 0, "i32", record=dict)
    with pytest.raises(TypeError, match="must derive from _core.Record"):
        b.buffer("p", "struct s *", _core.Dir.IN, "", 0, 8, record=int)


def test_a_record_without_bytes_is_refused_not_read():
    inst = wasmffi.load(GET_X, cdef=NESTED)
    inner = wasmffi.CDef(NESTED).pytype("struct inner")
    bare = inner.__new__(inner)
    with pytest.raises(TypeError, match=r"get_x\(\) argument 'v' \(struct inner\): the inner instance has no bytes"):
        inst.exports.get_x(bare)
    bare._buf = memoryview(bytearray(8))[::2]  # not contiguous
    with pytest.raises(TypeError, match=r"get_x\(\) argument 'v' \(struct inner\): the struct's bytes are not a "
                                        r"contiguous buffer"):
        inst.exports.get_x(bare)
    bare._buf = bytearray(3)
    with pytest.raises(TypeError, match="the struct holds 3 bytes, not 4"):
        inst.exports.get_x(bare)
    bare._buf = b"\x05\0\0\0"
    assert inst.exports.get_x(bare) == 5
