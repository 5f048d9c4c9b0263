"""The record codec (`_core.ScalarField`, src/python/record.cpp): a struct's scalar members convert
by the same marshalling units as declared parameters, so a value a member refuses is refused by a
parameter of that C type with the same words; and the codec checks every buffer it is handed."""

import enum
import struct

import pytest
from hypothesis import given, settings, strategies as st

import wasmffi
from wasmffi import _core

from _hostile import BadIndex, Boom, BytesSub, IntSub, RaisingIndex

TYPES = ["int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t", "uint64_t",
         "bool", "char", "float", "double", "size_t", "void *", "enum color"]
FORMATS = {"int8_t": "<b", "uint8_t": "<B", "int16_t": "<h", "uint16_t": "<H", "int32_t": "<i",
           "uint32_t": "<I", "int64_t": "<q", "uint64_t": "<Q", "bool": "<?", "char": "<b",
           "float": "<f", "double": "<d", "size_t": "<I", "void *": "<I", "enum color": "<I"}
RANGES = {"int8_t": (-2**7, 2**7 - 1), "uint8_t": (0, 2**8 - 1), "int16_t": (-2**15, 2**15 - 1),
          "uint16_t": (0, 2**16 - 1), "int32_t": (-2**31, 2**31 - 1), "uint32_t": (0, 2**32 - 1),
          "int64_t": (-2**63, 2**63 - 1), "uint64_t": (0, 2**64 - 1), "bool": (0, 1),
          "char": (-2**7, 2**7 - 1), "size_t": (0, 2**32 - 1), "void *": (0, 2**32 - 1),
          "enum color": (0, 2**32 - 1)}
ENUM = "enum color { RED, GREEN = 5 };"
FIELD_SRC = ENUM + "struct one {" + "".join(f" {t} m{i};" for i, t in enumerate(TYPES)) + " };"


@pytest.fixture(scope="module")
def cd():
    return wasmffi.CDef(FIELD_SRC)


@pytest.fixture(scope="module")
def one(cd):
    return cd.pytype("struct one")


def _param_instance(ctype):
    """An instance whose export `take` is declared with one parameter of `ctype`."""
    slot = "f32" if ctype == "float" else "f64" if ctype == "double" else \
        "i64" if ctype in ("int64_t", "uint64_t") else "i32"
    wat = f'(module (memory (export "memory") 1) (func (export "take") (param {slot})))'
    return wasmffi.load(wat, cdef=ENUM + f" void take({ctype} v);")


def _message(fn):
    try:
        fn()
    except (TypeError, OverflowError) as e:
        return type(e), str(e)
    raise AssertionError("not refused")


BAD_VALUES = [2**64, -2**64, 2**200, IntSub(2**70), "1", 1.5, None, [1], BadIndex(), b"ab"]


# A pointer parameter is a buffer (bytes in, copied through guest memory), a pointer member an
# address: they are compared elsewhere (test_cdef_struct, test_cfunc).
@pytest.mark.parametrize("index,ctype", [(i, t) for i, t in enumerate(TYPES) if t != "void *"])
def test_a_member_and_a_parameter_of_one_c_type_refuse_alike(one, index, ctype):
    take = _param_instance(ctype).exports.take
    with pytest.raises(Boom):
        setattr(one(), f"m{index}", RaisingIndex())
    with pytest.raises(Boom):
        take(RaisingIndex())
    for bad in BAD_VALUES:
        if ctype in ("float", "double") and isinstance(bad, (int, float)) and abs(bad) < 1e300:
            continue  # accepted by both
        field_err = _message(lambda: setattr(one(), f"m{index}", bad))
        param_err = _message(lambda: take(bad))
        # The same exception and the same words after the name of what was converted.
        prefix_f = f"struct one member 'm{index}' ({ctype})"
        prefix_p = f"take() argument 'v' ({ctype})"
        assert field_err[0] is param_err[0], (bad, field_err, param_err)
        assert field_err[1].startswith(prefix_f) and param_err[1].startswith(prefix_p), (field_err, param_err)
        assert field_err[1][len(prefix_f):] == param_err[1][len(prefix_p):], (field_err, param_err)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_members_round_trip_against_struct(cd, one, data):
    """Every unit writes the bytes `struct` writes at the member's offset, and reads them back."""
    obj = one()
    for i, t in enumerate(TYPES):
        if t == "float":
            v = data.draw(st.floats(width=32, allow_nan=False))
        elif t == "double":
            v = data.draw(st.floats(allow_nan=False))
        else:
            v = data.draw(st.one_of(st.integers(*RANGES[t]), st.sampled_from(RANGES[t])))
        setattr(obj, f"m{i}", v)
        off = cd.offsetof("struct one", f"m{i}")
        assert struct.unpack_from(FORMATS[t], bytes(obj), off)[0] == (bool(v) if t == "bool" else v)
        got = getattr(obj, f"m{i}")
        assert got == v and (t != "enum color" or v != 5 or got is cd.pytype("enum color").GREEN)


def test_bool_members_read_as_bool_and_enum_members_as_members(one):
    o = one(m8=1, m14=5)
    assert o.m8 is True and isinstance(o.m14, enum.IntEnum) and o.m14 == 5
    assert one(m14=7).m14 == 7 and type(one(m14=7).m14) is int  # a value no member names stays an int


def test_a_refused_value_leaves_the_bytes_unchanged(one):
    o = one(m4=123)
    before = bytes(o)
    for bad, exc in ((2**31, OverflowError), ("x", TypeError), (BadIndex(), TypeError), (RaisingIndex(), Boom)):
        with pytest.raises(exc):
            o.m4 = bad
    assert bytes(o) == before


def test_a_member_cannot_be_deleted(one):
    o = one()
    with pytest.raises(AttributeError, match=r"struct one member 'm0' cannot be deleted"):
        del o.m0


def test_a_record_made_without_its_constructor_has_no_bytes(one):
    bare = one.__new__(one)
    with pytest.raises(TypeError, match=r"struct one member 'm0': the one instance has no bytes"):
        bare.m0
    with pytest.raises(TypeError, match="has no bytes"):
        bare.m0 = 1


def test_the_descriptor_refuses_objects_that_are_not_records(one):
    field = one.__dict__["m0"]
    assert isinstance(field, _core.ScalarField) and field.offset == 0 and field.ctype == "int8_t"
    with pytest.raises(TypeError, match="has no bytes"):
        field.__get__(object(), type(object()))
    with pytest.raises(TypeError, match="has no bytes"):
        field.__set__(bytearray(8), 1)


def test_get_and_set_check_the_buffer_they_are_given():
    f = _core.ScalarField("u16", 2, "x", "uint16_t")
    buf = bytearray(4)
    f.set(buf, 0xBEEF)
    assert buf == b"\0\0\xef\xbe" and f.get(buf) == 0xBEEF and f.get(memoryview(buf)) == 0xBEEF
    assert f.get(bytes(buf)) == 0xBEEF and f.get(BytesSub(bytes(buf))) == 0xBEEF
    assert f.get(bytearray(6), 2) == 0
    with pytest.raises(IndexError, match=r"x \(uint16_t\): 2 bytes at offset 2 do not fit in a buffer of 3 bytes"):
        f.get(bytearray(3))
    with pytest.raises(IndexError, match="do not fit"):
        f.set(bytearray(4), 1, 1)
    with pytest.raises(IndexError, match="do not fit"):
        f.get(bytearray(4), -1)
    with pytest.raises(OverflowError):
        f.get(bytearray(4), 2**70)
    with pytest.raises(BufferError, match=r"x \(uint16_t\): cannot write this buffer"):
        f.set(bytes(4), 1)
    with pytest.raises(TypeError, match=r"x \(uint16_t\): cannot read this buffer"):
        f.get("abcd")
    released = memoryview(bytearray(4))
    released.release()
    with pytest.raises(ValueError, match="cannot read this buffer"):
        f.get(released)
    strided = memoryview(bytearray(16))[::2]
    with pytest.raises(BufferError, match="cannot read this buffer"):
        f.get(strided)
    with pytest.raises(OverflowError, match=r"elem\[3\] \(uint16_t\): 70000 is out of range for u16"):
        f.set(bytearray(4), 70000, 0, "elem[3]")
    assert buf == b"\0\0\xef\xbe"


def test_the_factory_refuses_what_it_cannot_build():
    with pytest.raises(ValueError, match="unknown unit 'i128'"):
        _core.ScalarField("i128", 0, "x", "__int128")
    with pytest.raises(ValueError, match="offset -1 is negative"):
        _core.ScalarField("u8", -1, "x", "uint8_t")
    with pytest.raises(TypeError, match="enum_class must be a class"):
        _core.ScalarField("u8", 0, "x", "uint8_t", enum_class=3)
    assert _core.ScalarField("ptr", 0, "p", "void *", wide=True).get(bytes(8)) == 0
    with pytest.raises(IndexError):  # a wide pointer is 8 bytes
        _core.ScalarField("ptr", 0, "p", "void *", wide=True).get(bytes(4))


def test_member_access_and_out_markers_allocate_nothing_that_stays():
    """The C codec and out() keep no reference they should drop: 1500 rounds of writes, reads,
    refusals and out markers leave Python's heap where it was (tracemalloc, after a warm-up)."""
    import gc
    import tracemalloc

    P = wasmffi.CDef("enum e { A, B }; struct p { int32_t x; uint8_t y; double z; enum e k; char s[3]; };").pytype(
        "struct p")
    o = P()

    def work():
        for i in range(1500):
            o.x, o.y, o.z, o.k = i, i & 255, i / 3, i & 1
            o.s[1] = b"a"
            assert o.x == i and o.y == i & 255 and o.k == i & 1 and o.s[1] == 97
            assert wasmffi.out(i).count == i
            with pytest.raises(OverflowError):
                o.x = 2**40
            with pytest.raises(TypeError):
                o.y = "a"

    work()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        work()
        gc.collect()
        grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    finally:
        tracemalloc.stop()
    assert grown < 16 * 1024, f"{grown} bytes kept after 1500 rounds (one object a round would be 45 KB)"
