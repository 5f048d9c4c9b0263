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
