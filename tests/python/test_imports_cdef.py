"""cdef-declared imports: the host function receives C-typed arguments and its result is checked by C type."""

import enum

import pytest

import wasmffi
from conftest import wat_instance

# The exports are undeclared wasm-typed trampolines: each passes its arguments to one import.
WAT = r"""
  (import "env" "ints" (func $ints (param i32 i32 i32 i32 i64) (result i32)))
  (import "env" "say" (func $say (param i32) (result i32)))
  (import "env" "sum" (func $sum (param i32 i32) (result i32)))
  (import "env" "sum_bytes" (func $sum_bytes (param i32 i32) (result i32)))
  (import "env" "at" (func $at (param i32) (result i32)))
  (import "env" "wide" (func $wide (param i32) (result i64)))
  (import "env" "flag" (func $flag (param f64) (result i32)))
  (import "env" "raw" (func $raw (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "h\c3\a9llo\00")
  (data (i32.const 32) "\01\00\02\00\03\00\ff\ff")
  (data (i32.const 48) "\ff\fe\00")
  (func (export "call_ints") (param i32 i32 i32 i32 i64) (result i32)
    local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 call $ints)
  (func (export "call_say") (param i32) (result i32) local.get 0 call $say)
  (func (export "call_sum") (param i32 i32) (result i32) local.get 0 local.get 1 call $sum)
  (func (export "call_sum_bytes") (param i32 i32) (result i32) local.get 0 local.get 1 call $sum_bytes)
  (func (export "call_at") (param i32) (result i32) local.get 0 call $at)
  (func (export "call_wide") (param i32) (result i64) local.get 0 call $wide)
  (func (export "call_flag") (param f64) (result i32) local.get 0 call $flag)
  (func (export "call_raw") (param i32) (result i32) local.get 0 call $raw)
"""

CDEF = """
    enum color { RED, GREEN = 5 };
    uint8_t ints(uint32_t a, int8_t b, bool c, enum color d, uint64_t e);
    int say(const char *msg);
    uint32_t sum(const uint16_t *xs, size_t n);
    uint32_t sum_bytes(const void *buf, uint32_t size /* sizeof(buf) */);
    uint32_t at(int32_t *p);
    int64_t wide(enum color c);
    bool flag(double x);
"""


def host(**over):
    funcs = {
        "ints": lambda a, b, c, d, e: 7,
        "say": lambda msg: 0,
        "sum": lambda xs: sum(xs),
        "sum_bytes": lambda buf: len(buf),
        "at": lambda p: p,
        "wide": lambda c: int(c),
        "flag": lambda x: x > 0,
        "raw": lambda v: v,
    }
    funcs.update(over)
    return {"env": funcs}


def make(**over):
    return wat_instance(WAT, imports=host(**over), cdef=CDEF)


def test_integers_arrive_by_their_c_type():
    seen = []
    inst = make(ints=lambda *args: seen.append(args) or 200)
    assert inst.exports.call_ints(-1, 0xFF, 2, 5, -1) == 200
    a, b, c, d, e = seen[0]
    assert (a, b, c, e) == (2**32 - 1, -1, True, 2**64 - 1)
    assert type(c) is bool
    assert isinstance(d, enum.IntEnum) and d.name == "GREEN" and d == 5
    inst.exports.call_ints(0x7FFFFFFF, 0x80, 0, 0, 2**63 - 1)
    assert seen[1] == (0x7FFFFFFF, -128, False, 0, 2**63 - 1)
    assert seen[1][3].name == "RED"


def test_enum_value_not_declared_arrives_as_int():
    got = []
    inst = make(wide=lambda c: got.append(c) or -3)
    assert inst.exports.call_wide(9) == -3
    assert got == [9] and not isinstance(got[0], enum.Enum)


def test_undeclared_import_keeps_wasm_typing():
    inst = make()
    assert inst.exports.call_raw(-1) == -1  # `raw` is not declared: i32 arrives signed


def test_const_char_pointer_arrives_as_str():
    got = []
    inst = make(say=lambda msg: got.append(msg) or len(msg))
    assert inst.exports.call_say(16) == 5
    assert got == ["héllo"]


def test_null_string_arrives_as_none():
    got = []
    inst = make(say=lambda msg: got.append(msg) or 0)
    inst.exports.call_say(0)
    assert got == [None]


def test_linked_buffer_arrives_as_bytes_without_its_length():
    got = []
    inst = make(sum=lambda xs: got.append(xs) or sum(xs), sum_bytes=lambda buf: got.append(buf) or len(buf))
    assert inst.exports.call_sum(32, 4) == 1 + 0 + 2 + 0 + 3 + 0 + 255 + 255  # n counts uint16_t elements
    assert got[0] == b"\x01\x00\x02\x00\x03\x00\xff\xff"
    assert inst.exports.call_sum_bytes(32, 3) == 3  # sizeof(buf) counts bytes
    assert got[1] == b"\x01\x00\x02"
    assert inst.exports.call_sum(0, 0) == 0
    assert got[2] == b""


def test_pointer_without_link_arrives_as_unsigned_address():
    inst = make()
    # The host gets 0xFFFFFFF0 and returns it (a uint32_t); the raw export's i32 reads it signed.
    assert inst.exports.call_at(-16) == -16
    got = []
    inst = make(at=lambda p: got.append(p) or 0)
    inst.exports.call_at(0x80000010)
    assert got == [0x80000010]


def test_float_and_bool_result():
    inst = make()
    assert inst.exports.call_flag(2.5) == 1
    assert inst.exports.call_flag(-1.0) == 0


@pytest.mark.parametrize("ret, exc, pattern", [
    (256, OverflowError, r"env\.ints.*256.*uint8_t \(0\.\.255\)"),
    (-1, OverflowError, r"env\.ints.*-1.*uint8_t"),
    ("7", TypeError, r"env\.ints.*must return int \(uint8_t\), not str"),
    (None, TypeError, r"env\.ints.*not NoneType"),
    (True, TypeError, r"env\.ints.*not bool"),
])
def test_result_checked_by_c_type(ret, exc, pattern):
    inst = make(ints=lambda *a: ret)
    with pytest.raises(exc, match=pattern):
        inst.exports.call_ints(0, 0, 0, 0, 0)
    inst.exports.call_raw(1)  # the instance stays usable


def test_bool_result_rejects_other_values():
    inst = make(flag=lambda x: 2)
    with pytest.raises(TypeError, match=r"env\.flag.*must return bool"):
        inst.exports.call_flag(1.0)


def test_int64_result_range():
    inst = make(wide=lambda c: 2**63)
    with pytest.raises(OverflowError, match=r"env\.wide.*int64_t"):
        inst.exports.call_wide(0)


def test_exception_crosses_intact():
    class Boom(Exception):
        pass

    err = Boom("from the host")
    inst = make(say=lambda msg: (_ for _ in ()).throw(err))
    with pytest.raises(Boom) as info:
        inst.exports.call_say(16)
    assert info.value is err


def test_with_caller_comes_first():
    got = []
    inst = make(say=wasmffi.with_caller(lambda caller, msg: got.append((caller.memory.read(16, 1), msg)) or 0))
    inst.exports.call_say(16)
    assert got == [(b"h", "héllo")]


def test_out_of_bounds_buffer_names_the_parameter():
    inst = make()
    with pytest.raises(IndexError, match=r"env\.sum.*parameter 'xs'"):
        inst.exports.call_sum(65530, 100)
    with pytest.raises(IndexError, match=r"env\.sum.*parameter 'xs'"):
        inst.exports.call_sum(32, -1)  # size_t n = 2^32-1 elements


def test_string_without_nul_or_not_utf8():
    inst = make()
    with pytest.raises(ValueError, match=r"env\.say.*parameter 'msg'.*not UTF-8"):
        inst.exports.call_say(48)
    inst.memory.write(65530, b"abcdef")
    with pytest.raises(IndexError, match=r"env\.say.*parameter 'msg'.*NUL"):
        inst.exports.call_say(65530)


def test_declaration_mismatch_names_both():
    bad = CDEF.replace("int say(const char *msg);", "int say(const char *msg, int extra);")
    with pytest.raises(wasmffi.CDefError, match=r"declared `int say\(const char \*msg, int extra\)` lowers to "
                                                r"\(i32, i32\) -> i32 on wasm32 but import `env\.say` is "):
        wat_instance(WAT, imports=host(), cdef=bad)


def test_declaration_matching_nothing_is_a_link_error():
    with pytest.raises(wasmffi.LinkError, match=r"exports no function 'nope' \(and imports none\)"):
        wat_instance(WAT, imports=host(), cdef=CDEF + "int nope(int);")


def test_string_param_needs_an_exported_memory():
    with pytest.raises(wasmffi.LinkError, match=r"`int say\(const char \*msg\)`.*'msg'.*exports no memory"):
        wat_instance('(import "env" "say" (func (param i32) (result i32)))', imports={"env": {"say": len}},
                     cdef="int say(const char *msg);")


def test_writable_buffer_arrives_as_address_with_its_length():
    got = []

    def fill(caller, buf, n):
        got.append((buf, n))
        caller.memory.write(buf, b"x" * n)

    inst = wat_instance('(import "env" "fill" (func $f (param i32 i32))) (memory (export "memory") 1) '
                        '(func (export "go") (param i32 i32) local.get 0 local.get 1 call $f)',
                        imports={"env": {"fill": wasmffi.with_caller(fill)}},
                        cdef="void fill(uint8_t *buf, size_t n);")
    inst.exports.go(100, 3)
    assert got == [(100, 3)]
    assert inst.memory.read(99, 5) == b"\0xxx\0"


def test_memory64_pointers_are_64_bit():
    got = []
    inst = wat_instance('(import "env" "say" (func $s (param i64) (result i32))) (memory (export "memory") i64 1) '
                        '(data (i64.const 8) "hi\\00") '
                        '(func (export "go") (param i64) (result i32) local.get 0 call $s)',
                        imports={"env": {"say": lambda msg: got.append(msg) or len(msg)}},
                        cdef="int say(const char *msg);")
    assert inst.exports.go(8) == 2
    assert got == ["hi"]
    with pytest.raises(wasmffi.CDefError, match=r"lowers to \(i32\) -> i32 on wasm32 but import `env\.say` is"):
        wat_instance('(import "env" "say" (func $s (param i64) (result i32))) (memory (export "memory") 1)',
                     imports={"env": {"say": len}}, cdef="int say(const char *msg);")


# The plan in reverse (src/python/host_plan.cpp): every parameter kind, hostile results, guest
# memory read by the core, and no Python wrapper between wasm and the callable.

KINDS_WAT = r"""
  (import "env" "scalars" (func $scalars (param i32 i32 i32 i32 i32 i64 i64 i32 i32 f32 f64) (result i32)))
  (import "env" "pointers" (func $pointers (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "text" (func $text (param i32 i32 i32) (result i32)))
  (import "env" "big" (func $big (param i32 i64) (result i64)))
  (import "env" "signed_len" (func $signed_len (param i32 i32) (result i32)))
  (import "env" "ret_u64" (func $ret_u64 (result i64)))
  (import "env" "ret_i16" (func $ret_i16 (result i32)))
  (import "env" "ret_ptr" (func $ret_ptr (result i32)))
  (import "env" "ret_f32" (func $ret_f32 (result f32)))
  (import "env" "nothing" (func $nothing (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "\01\02\03\04\05\06\07\08")
  (data (i32.const 96) "ok\00")
  (func (export "call_scalars") (param i32 i32 i32 i32 i32 i64 i64 i32 i32 f32 f64) (result i32)
    local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 local.get 5 local.get 6 local.get 7
    local.get 8 local.get 9 local.get 10 call $scalars)
  (func (export "call_pointers") (param i32 i32 i32 i32 i32 i32) (result i32)
    local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 local.get 5 call $pointers)
  (func (export "call_text") (param i32 i32 i32) (result i32) local.get 0 local.get 1 local.get 2 call $text)
  (func (export "call_big") (param i32 i64) (result i64) local.get 0 local.get 1 call $big)
  (func (export "call_signed_len") (param i32 i32) (result i32) local.get 0 local.get 1 call $signed_len)
  (func (export "call_ret_u64") (result i64) call $ret_u64)
  (func (export "call_ret_i16") (result i32) call $ret_i16)
  (func (export "call_ret_ptr") (result i32) call $ret_ptr)
  (func (export "call_ret_f32") (result f32) call $ret_f32)
  (func (export "call_nothing") (param i32) local.get 0 call $nothing)
  (func (export "grow") (result i32) i32.const 1 memory.grow)
"""

KINDS_CDEF = """
    enum mode { OFF, ON = 3 };
    struct pair { int32_t a; int32_t b; };
    int scalars(int8_t a, uint8_t b, int16_t c, uint16_t d, int32_t e, int64_t f, uint64_t g, bool h,
                enum mode m, float x, double y);
    int pointers(const uint8_t *in, uint32_t len, uint16_t *inout, size_t count, void *opaque, struct pair p);
    int text(const char *s, const char *t, const char *u);
    int64_t big(const uint32_t *xs, uint64_t n);
    int signed_len(const uint8_t *p, int n);
    uint64_t ret_u64(void);
    int16_t ret_i16(void);
    void *ret_ptr(void);
    float ret_f32(void);
    void nothing(int x);
"""


def kinds_host(**over):
    funcs = {
        "scalars": lambda *a: 0,
        "pointers": lambda *a: 0,
        "text": lambda *a: 0,
        "big": lambda xs: len(xs),
        "signed_len": lambda p: len(p),
        "ret_u64": lambda: 0,
        "ret_i16": lambda: 0,
        "ret_ptr": lambda: 0,
        "ret_f32": lambda: 0.0,
        "nothing": lambda x: None,
    }
    funcs.update(over)
    return {"env": funcs}


def kinds(**over):
    return wat_instance(KINDS_WAT, imports=kinds_host(**over), cdef=KINDS_CDEF)


def test_every_scalar_kind_arrives_by_its_c_type():
    seen = []
    inst = kinds(scalars=lambda *a: seen.append(a) or 0)
    inst.raw_exports.call_scalars(0xFF, -1, 0x8000, -1, -1, -1, -1, 1, 3, 1.5, -2.25)
    a, b, c, d, e, f, g, h, m, x, y = seen[0]
    assert (a, b, c, d, e, f, g) == (-1, 255, -32768, 65535, -1, -1, 2**64 - 1)
    assert h is True
    assert m.name == "ON" and m == 3
    assert (x, y) == (1.5, -2.25) and type(x) is float
    # Wider bit patterns in the i32 slot are truncated to the C width, as C reads them.
    inst.raw_exports.call_scalars(0x17F, 0x1FF, 0x17FFF, 0x1FFFF, 7, 2**63 - 1, 5, 0, 2, 0.0, 0.0)
    a, b, c, d, e, f, g, h, m, x, y = seen[1]
    assert (a, b, c, d, e, f, g, h) == (127, 255, 32767, 65535, 7, 2**63 - 1, 5, False)
    assert m == 2 and not isinstance(m, enum.Enum)


def test_pointer_kinds_arrive_as_bytes_or_unsigned_addresses():
    seen = []
    inst = kinds(pointers=lambda *a: seen.append(a) or 0)
    inst.memory.write(200, bytes(range(1, 9)))
    inst.raw_exports.call_pointers(64, 3, 0x80000000, 9, -4, 200)
    # const uint8_t * with its length: the bytes (the length is not passed); uint16_t * (written
    # through by C): its address and element count; void *: an address; a struct by value: an
    # instance of its class holding a copy of the bytes at the address the caller passed.
    pair = inst.cdef.pytype(seen[0][4]._ctype)
    assert seen == [(b"\x01\x02\x03", 0x80000000, 9, 2**32 - 4, pair.from_bytes(bytes(range(1, 9))))]


def test_string_kinds_null_and_text():
    seen = []
    inst = kinds(text=lambda *a: seen.append(a) or 0)
    inst.raw_exports.call_text(96, 0, 97)
    assert seen == [("ok", None, "k")]


def test_empty_and_edge_buffers():
    seen = []
    inst = kinds(signed_len=lambda p: seen.append(p) or len(p))
    assert inst.raw_exports.call_signed_len(65536, 0) == 0  # empty, at the very end of memory
    assert inst.raw_exports.call_signed_len(65535, 1) == 1
    assert seen == [b"", b"\x00"]


def test_buffer_bounds_and_lengths_are_checked():
    inst = kinds()
    with pytest.raises(wasmffi.MemoryAccessError, match=r"env\.signed_len.*parameter 'p'.*out of bounds"):
        inst.raw_exports.call_signed_len(65536, 1)
    with pytest.raises(wasmffi.MemoryAccessError, match=r"env\.signed_len.*parameter 'p'.*out of bounds"):
        inst.raw_exports.call_signed_len(-1, 2)  # address 0xFFFFFFFF
    with pytest.raises(wasmffi.MemoryAccessError, match=r"env\.signed_len.*parameter 'p'.*negative \(-5\)"):
        inst.raw_exports.call_signed_len(64, -5)  # int n
    with pytest.raises(wasmffi.MemoryAccessError, match=r"env\.big.*parameter 'xs'.*out of bounds"):
        inst.raw_exports.call_big(64, 2**62)  # 2**62 uint32_t: the byte count overflows 64 bits
    with pytest.raises(wasmffi.MemoryAccessError, match=r"env\.big.*parameter 'xs'.*out of bounds"):
        inst.raw_exports.call_big(0, 16385)  # one element past the end
    assert inst.raw_exports.call_big(0, 16384) == 65536
    assert inst.raw_exports.call_signed_len(64, 2) == 2  # the instance stays usable


def test_string_errors_name_the_parameter():
    inst = kinds()
    inst.memory.write(65534, b"ab")
    with pytest.raises(wasmffi.MemoryAccessError, match=r"env\.text.*parameter 'u'.*no NUL terminator"):
        inst.raw_exports.call_text(96, 96, 65534)
    with pytest.raises(wasmffi.MemoryAccessError, match=r"env\.text.*parameter 't'.*start inside memory"):
        inst.raw_exports.call_text(96, 65536, 96)
    inst.memory.write(200, b"\xc3\x28\x00")  # an invalid two-byte sequence
    with pytest.raises(ValueError, match=r"env\.text.*parameter 's'.*not UTF-8.*invalid continuation byte"):
        inst.raw_exports.call_text(200, 96, 96)
    inst.memory.write(210, b"\xed\xa0\x80\x00")  # a UTF-16 surrogate encoded in UTF-8
    with pytest.raises(ValueError, match=r"env\.text.*parameter 's'.*not UTF-8"):
        inst.raw_exports.call_text(210, 96, 96)


def test_memory_read_after_growth_sees_the_new_pages():
    seen = []
    inst = kinds(signed_len=lambda p: seen.append(p) or len(p))
    assert inst.raw_exports.grow() == 1
    inst.memory.write(70000, b"grown")
    assert inst.raw_exports.call_signed_len(70000, 5) == 5
    assert seen == [b"grown"]


class Index:
    """Not an int, but convertible by __index__ (which the result check must not call)."""

    def __init__(self, value, boom=False):
        self.value, self.boom = value, boom

    def __index__(self):
        if self.boom:
            raise RuntimeError("__index__ was called")
        return self.value


class Color(enum.IntEnum):
    BLUE = 9


@pytest.mark.parametrize("name, export, ret, exc, pattern", [
    ("ret_u64", "call_ret_u64", 2**64, OverflowError, r"env\.ret_u64.*returned 18446744073709551616, out of range "
                                                      r"for uint64_t \(0\.\.18446744073709551615\)"),
    ("ret_u64", "call_ret_u64", -1, OverflowError, r"env\.ret_u64.*returned -1, out of range for uint64_t"),
    ("ret_u64", "call_ret_u64", 10**400, OverflowError, r"env\.ret_u64.*returned \d+\.\.\.\d+ \(401 digits\)"),
    ("ret_u64", "call_ret_u64", -(10**400), OverflowError, r"env\.ret_u64.*returned -\d+\.\.\.\d+ \(401 digits\)"),
    ("ret_u64", "call_ret_u64", Index(1, boom=True), TypeError, r"env\.ret_u64.*must return int \(uint64_t\), "
                                                                r"not Index"),
    ("ret_u64", "call_ret_u64", 1.0, TypeError, r"env\.ret_u64.*must return int \(uint64_t\), not float"),
    ("ret_u64", "call_ret_u64", False, TypeError, r"env\.ret_u64.*not bool"),
    ("ret_i16", "call_ret_i16", 32768, OverflowError, r"env\.ret_i16.*returned 32768, out of range for int16_t "
                                                      r"\(-32768\.\.32767\)"),
    ("ret_i16", "call_ret_i16", -32769, OverflowError, r"env\.ret_i16.*-32769.*int16_t"),
    ("ret_ptr", "call_ret_ptr", 2**32, OverflowError, r"env\.ret_ptr.*4294967296, out of range for void \*"),
    ("ret_ptr", "call_ret_ptr", -1, OverflowError, r"env\.ret_ptr.*-1, out of range for void \*"),
    ("ret_f32", "call_ret_f32", "1.0", TypeError, r"env\.ret_f32"),
    ("ret_f32", "call_ret_f32", 1e300, OverflowError, r"env\.ret_f32"),
    ("nothing", "call_nothing", 0, TypeError, r"env\.nothing.*must return None \(declared void\), not int"),
])
def test_hostile_results_are_refused_by_the_declared_type(name, export, ret, exc, pattern):
    inst = kinds(**{name: lambda *a: ret})
    args = (0,) if export == "call_nothing" else ()
    with pytest.raises(exc, match=pattern):
        inst.raw_exports[export](*args)
    assert inst.raw_exports.call_signed_len(64, 1) == 1  # the instance stays usable


@pytest.mark.parametrize("name, export, ret, want", [
    ("ret_u64", "call_ret_u64", 2**64 - 1, -1),      # the raw export reads the i64 signed
    ("ret_u64", "call_ret_u64", 2**63, -(2**63)),
    ("ret_u64", "call_ret_u64", Color.BLUE, 9),       # an int subclass is an int
    ("ret_i16", "call_ret_i16", -32768, -32768),
    ("ret_ptr", "call_ret_ptr", 2**32 - 1, -1),
    ("ret_f32", "call_ret_f32", 3, 3.0),              # floats take ints, as wasm-typed results do
])
def test_results_in_range_pass(name, export, ret, want):
    inst = kinds(**{name: lambda *a: ret})
    assert inst.raw_exports[export]() == want


def test_bool_result_takes_bool_or_0_and_1_only():
    for ret, want in ((True, 1), (False, 0), (1, 1), (0, 0)):
        assert make(flag=lambda x, r=ret: r).exports.call_flag(0.0) == want
    for ret in (2, -1, 1.0, None, Index(1)):
        with pytest.raises(TypeError, match=r"env\.flag.*must return bool \(bool\)"):
            make(flag=lambda x, r=ret: r).exports.call_flag(0.0)


def test_callback_reentering_wasm():
    # The host function writes guest memory and calls back into the instance (which calls
    # another declared import) before returning: the bytes it got were copied before.
    # (Through the Caller, which holds the instance weakly: a host function holding its own
    # instance makes a cycle through Memory/Func objects that the collector cannot see.)
    got = []

    def sum_bytes(caller, buf):
        caller.memory.write(32, b"\x09\x09")
        got.append((buf, caller.exports.call_say(16)))  # re-enters wasm, which calls `say`
        return len(buf)

    inst = make(sum_bytes=wasmffi.with_caller(sum_bytes), say=lambda msg: len(msg))
    assert inst.exports.call_sum_bytes(32, 4) == 4
    assert got == [(b"\x01\x00\x02\x00", 5)]
    assert inst.memory.read(32, 2) == b"\x09\x09"


def test_exception_while_converting_an_argument_reaches_the_caller_and_the_callable_is_not_called():
    calls = []
    inst = make(sum=lambda xs: calls.append(xs) or 0)
    with pytest.raises(wasmffi.MemoryAccessError) as info:
        inst.exports.call_sum(65536, 1)
    assert "env.sum" in str(info.value) and "'xs'" in str(info.value)
    assert calls == []


def test_declared_import_is_the_users_callable_itself():
    import gc

    from wasmffi import _imports

    def ints(a, b, c, d, e):
        return 0

    inst = make(ints=ints)
    # The core's import entries (what the _Instance keeps alive and calls) hold the function itself.
    entries = [r for r in gc.get_referents(inst._i) if isinstance(r, list)]
    assert len(entries) == 1
    by_name = {e[2]: e for e in entries[0] if e is not None}
    assert by_name["env.ints"][0] is ints
    assert type(by_name["env.ints"][3]).__name__ == "DeclPlan"
    assert len(by_name["env.raw"]) == 3  # undeclared: the plain entry
    # resolve() builds the same entries, and no closure.
    module = inst.module
    got, caller = _imports.resolve(module, host(ints=ints), cdef=wasmffi.CDef(CDEF))
    assert caller is None
    assert [e[0] for e in got if e[2] == "env.ints"] == [ints]


def test_with_caller_declared_import_gets_the_caller_object_itself():
    seen = []

    def say(caller, msg):
        seen.append((caller, msg))
        return 0

    inst = make(say=wasmffi.with_caller(say))
    inst.exports.call_say(16)
    inst.exports.call_say(0)
    assert seen[0][1] == "héllo" and seen[1][1] is None
    assert seen[0][0] is seen[1][0] and isinstance(seen[0][0], wasmffi.Caller)
    assert seen[0][0].exports.call_raw(4) == 4


def test_declared_import_without_memory_reads_nothing():
    inst = wat_instance('(import "env" "f" (func $f (param i32 i32) (result i32))) '
                        '(func (export "go") (param i32 i32) (result i32) local.get 0 local.get 1 call $f)',
                        imports={"env": {"f": lambda p, n: p - n}}, cdef="uint32_t f(uint8_t *p, uint8_t n);")
    # A writable buffer arrives as its address (0xFFFFFFFF), its uint8_t length truncated (0x101 -> 1);
    # the module has no memory, and none is needed. The raw i32 export reads 0xFFFFFFFE signed.
    assert inst.exports.go(-1, 0x101) == -2


def test_declared_import_reads_memory_during_the_start_function():
    # The core reads the calling instance's memory itself (no Caller, which has no instance yet
    # while the start function runs).
    got = []
    wat_instance('(import "env" "say" (func $say (param i32) (result i32))) (memory (export "memory") 1) '
                 '(data (i32.const 16) "early\\00") (func $start i32.const 16 call $say drop) (start $start)',
                 imports={"env": {"say": lambda msg: got.append(msg) or 0}}, cdef="int say(const char *msg);")
    assert got == ["early"]


def test_wide_strings_arrive_as_str():
    got = []
    inst = wat_instance('(import "env" "u16" (func $a (param i32) (result i32))) '
                        '(import "env" "u32" (func $b (param i32) (result i32))) (memory (export "memory") 1) '
                        '(func (export "a") (param i32) (result i32) local.get 0 call $a) '
                        '(func (export "b") (param i32) (result i32) local.get 0 call $b)',
                        imports={"env": {"u16": lambda s: got.append(s) or 0, "u32": lambda s: got.append(s) or 0}},
                        cdef="int u16(const char16_t *s); int u32(const wchar_t *s);")
    inst.memory.write(64, "hé😀".encode("utf-16-le") + b"\0\0")
    inst.memory.write(128, "hé😀".encode("utf-32-le") + b"\0\0\0\0")
    # A zero byte inside a character is no terminator: 0x0100 is U+0100.
    inst.memory.write(192, "\u0100x".encode("utf-16-le") + b"\0\0")
    inst.raw_exports.a(64)
    inst.raw_exports.b(128)
    inst.raw_exports.a(192)
    inst.raw_exports.a(0)
    assert got == ["hé😀", "hé😀", "\u0100x", None]
    inst.memory.write(256, b"\x00\xd8\x00\x00")  # a lone high surrogate
    with pytest.raises(ValueError, match=r"env\.u16.*parameter 's'.*not UTF-16"):
        inst.raw_exports.a(256)
    inst.memory.write(300, b"\x00\x00\x11\x00\x00\x00\x00\x00")  # 0x110000: past Unicode
    with pytest.raises(ValueError, match=r"env\.u32.*parameter 's'.*not UTF-32"):
        inst.raw_exports.b(300)
    inst.memory.write(65532, b"a\x00b\x00")  # no zero unit before the end
    with pytest.raises(wasmffi.MemoryAccessError, match=r"env\.u16.*parameter 's'.*no NUL terminator"):
        inst.raw_exports.a(65532)


def test_memory_found_once_stays_right_after_growth():
    # Only this instance can call `f` (no table, no reference type, no export of f's type), so the
    # memory its first call finds is kept; its bytes and size are still read on every call.
    seen = []
    inst = wat_instance('(import "env" "f" (func $f (param i32 i32) (result i32))) (memory (export "memory") 1) '
                        '(func (export "go") (param i32) (result i32) local.get 0 i32.const 5 call $f) '
                        '(func (export "grow") (result i32) i32.const 1 memory.grow)',
                        imports={"env": {"f": lambda p: seen.append(p) or len(p)}},
                        cdef="uint32_t f(const uint8_t *p, size_t n);")
    inst.memory.write(100, b"first")
    assert inst.exports.go(100) == 5
    with pytest.raises(wasmffi.MemoryAccessError, match=r"env\.f.*parameter 'p'.*out of bounds"):
        inst.exports.go(70000)
    assert inst.exports.grow() == 1
    inst.memory.write(70000, b"grown")
    assert inst.exports.go(70000) == 5
    assert seen == [b"first", b"grown"]


# --- structs: by value (a pointer to a copy, or a lone scalar) and results through memory --------

STRUCT_CDEF = """
    struct point { int32_t x, y; };
    struct id { uint16_t v; };
    int32_t norm1(struct point p);
    uint32_t twice(struct id i);
    struct id next_id(struct id i);
    struct point make(int32_t x, int32_t y);
"""
STRUCT_WAT = r"""
  (import "env" "norm1" (func $norm1 (param i32) (result i32)))
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (import "env" "next_id" (func $next_id (param i32) (result i32)))
  (import "env" "make" (func $make (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\07\00\00\00\f7\ff\ff\ff")
  (func (export "call_norm1") (param i32) (result i32) local.get 0 call $norm1)
  (func (export "call_twice") (param i32) (result i32) local.get 0 call $twice)
  (func (export "call_next_id") (param i32) (result i32) local.get 0 call $next_id)
  (func (export "call_make") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 call $make)
"""


def struct_instance(**over):
    funcs = {"norm1": lambda p: abs(p.x) + abs(p.y), "twice": lambda i: 2 * i.v,
             "next_id": lambda i: type(i)(v=i.v + 1), "make": lambda x, y: {"x": x, "y": y}}
    funcs.update(over)
    return wat_instance(STRUCT_WAT, imports={"env": funcs}, cdef=STRUCT_CDEF)


def test_a_struct_by_value_arrives_as_an_instance_of_its_class():
    # Before: the host function got the address of the caller's copy (an int), not the struct.
    seen = []
    inst = struct_instance(norm1=lambda p: seen.append(p) or abs(p.x) + abs(p.y))
    assert inst.raw_exports.call_norm1(16) == 16
    point = inst.cdef.pytype("struct point")
    assert seen == [point(x=7, y=-9)] and type(seen[0]) is point
    seen[0].x = 100  # a copy: the guest's bytes stay
    assert inst.memory.read(16, 8) == b"\x07\x00\x00\x00\xf7\xff\xff\xff"
    with pytest.raises(wasmffi.MemoryAccessError, match=r"env\.norm1.*parameter 'p'.*out of bounds"):
        inst.raw_exports.call_norm1(65532)


def test_a_struct_of_one_scalar_travels_as_the_scalar_both_ways():
    inst = struct_instance()
    ident = inst.cdef.pytype("struct id")
    assert inst.raw_exports.call_twice(21) == 42
    assert inst.raw_exports.call_next_id(41) == 42
    assert inst.raw_exports.call_next_id(0x10029) == 42  # the slot's low 16 bits are the struct
    got = []
    inst = struct_instance(twice=lambda i: got.append(i) or 0, next_id=lambda i: 7)
    inst.raw_exports.call_twice(5)
    assert got == [ident(v=5)]
    assert inst.raw_exports.call_next_id(1) == 7  # the scalar itself is accepted too


def test_a_struct_result_is_written_through_the_hidden_pointer():
    inst = struct_instance()
    inst.raw_exports.call_make(64, 3, -4)
    assert inst.memory.read(64, 8) == b"\x03\x00\x00\x00\xfc\xff\xff\xff"
    point = inst.cdef.pytype("struct point")
    inst = struct_instance(make=lambda x, y: point(x=x * 10, y=y))
    inst.raw_exports.call_make(80, 5, 6)
    assert point.from_bytes(inst.memory.read(80, 8)) == point(x=50, y=6)


@pytest.mark.parametrize("ret,exc,words", [
    (None, TypeError, r"env\.make.* must return a point \(struct point\) or a dict of its fields, not NoneType"),
    ((1, 2), TypeError, r"must return a point .* not tuple"),
    (b"\0" * 8, TypeError, r"must return a point .* not bytes"),
    ({"z": 1}, TypeError, r"struct point has no member 'z'"),
    ({"x": 2**40}, OverflowError, r"struct point member 'x' \(int32_t\): 1099511627776 is out of range"),
])
def test_a_wrong_struct_result_is_refused_and_memory_is_unchanged(ret, exc, words):
    inst = struct_instance(make=lambda x, y: ret)
    inst.memory.write(64, b"\xaa" * 8)
    with pytest.raises(exc, match=words):
        inst.raw_exports.call_make(64, 1, 2)
    assert inst.memory.read(64, 8) == b"\xaa" * 8


def test_a_struct_result_address_outside_memory_is_refused():
    inst = struct_instance()
    with pytest.raises(wasmffi.MemoryAccessError, match=r"env\.make.* result: .*out of bounds"):
        inst.raw_exports.call_make(65530, 1, 2)
    with pytest.raises(wasmffi.MemoryAccessError, match=r"env\.make.* result"):
        inst.raw_exports.call_make(2**32 - 4, 1, 2)


def test_a_record_of_another_class_or_without_bytes_is_refused():
    inst = struct_instance(make=lambda x, y: wasmffi.CDef("struct point { int32_t x, y; };").pytype("struct point")())
    with pytest.raises(TypeError, match="must return a point"):
        inst.raw_exports.call_make(64, 1, 2)
    point = inst.cdef.pytype("struct point")
    inst = struct_instance(make=lambda x, y: point.__new__(point))
    with pytest.raises(TypeError, match=r"returned a struct point that has no bytes"):
        inst.raw_exports.call_make(64, 1, 2)


def test_struct_imports_without_memory_are_refused_at_link_time():
    body = STRUCT_WAT.replace('(memory (export "memory") 1)', "").replace(
        '(data (i32.const 16) "\\07\\00\\00\\00\\f7\\ff\\ff\\ff")', "")
    funcs = {"norm1": abs, "twice": abs, "next_id": abs, "make": abs}
    with pytest.raises(wasmffi.LinkError, match=r"parameter 'p' is read from guest memory, but the module exports no memory"):
        wat_instance(body, imports={"env": funcs}, cdef=STRUCT_CDEF)
    only_make = body.split('(import "env" "twice"')[0].replace('(import "env" "norm1" (func $norm1 (param i32) (result i32)))', "")
    with pytest.raises(wasmffi.LinkError, match=r"struct result is written to guest memory, but the module exports no memory"):
        wat_instance(only_make + '(import "env" "make" (func $make (param i32 i32 i32)))',
                     imports={"env": {"make": abs}}, cdef="struct point { int32_t x, y; }; struct point make(int32_t x, int32_t y);")
