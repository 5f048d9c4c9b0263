"""Python classes for declared structs, unions and enums: construction, range-checked fields per C
type, nested views, arrays, bytes in guest layout, and a hypothesis round trip against `struct`."""

import array
import enum
import struct
import sys

import pytest
from hypothesis import given, settings, strategies as st

import wasmffi

SRC = """
#define NAME 8
enum color { RED, GREEN = 5, BLUE };
struct point { int32_t x, y; };
struct all {
    uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
    uint64_t u64; int64_t i64; bool b; char c; float f; double d; void *p; size_t n;
    enum color col; long l;
};
struct shape { uint8_t kind; struct point pts[3]; char name[NAME]; struct point origin; };
union word { uint32_t w; uint8_t bytes[4]; float f; };
struct grid { uint16_t cells[2][3]; };
"""


@pytest.fixture(scope="module")
def cd():
    return wasmffi.CDef(SRC)


def test_keyword_constructor_defaults_to_zero_and_reads_back(cd):
    Point = cd.pytype("struct point")
    p = Point(x=1, y=-2)
    assert (p.x, p.y) == (1, -2)
    assert Point().x == 0 and bytes(Point()) == bytes(8)
    assert bytes(p) == struct.pack("<ii", 1, -2)
    p.y = 7
    assert p == Point(x=1, y=7) and p != Point(x=1, y=8)
    assert repr(p) == "point(x=1, y=7)"
    assert Point.__name__ == "point" and Point._size == 8


def test_unknown_member_is_a_type_error_naming_the_members(cd):
    with pytest.raises(TypeError, match=r"struct point has no member 'z' \(members: x, y\)"):
        cd.pytype("struct point")(z=1)


@pytest.mark.parametrize("field, ok, bad", [
    ("u8", [0, 255], [256, -1]),
    ("i8", [-128, 127], [128, -129]),
    ("u16", [0, 65535], [65536, -1]),
    ("i16", [-32768, 32767], [32768, -32769]),
    ("u32", [0, 2**32 - 1], [2**32, -1]),
    ("i32", [-2**31, 2**31 - 1], [2**31, -2**31 - 1]),
    ("u64", [0, 2**64 - 1], [2**64, -1]),
    ("i64", [-2**63, 2**63 - 1], [2**63, -2**63 - 1]),
    ("b", [0, 1, True, False], [2, -1]),
    ("c", [-128, 127], [128, -129]),
    ("p", [0, 2**32 - 1], [2**32, -1]),
    ("n", [0, 2**32 - 1], [2**32, -1]),
    ("l", [-2**31, 2**31 - 1], [2**31, -2**31 - 1]),
    ("col", [0, 6, 2**32 - 1], [2**32, -1]),
])
def test_integer_fields_are_range_checked_by_c_type(cd, field, ok, bad):
    All = cd.pytype("struct all")
    for v in ok:
        assert getattr(All(**{field: v}), field) == v
    for v in bad:
        with pytest.raises(OverflowError, match=rf"struct all member '{field}' \([^)]*\): {v} is out of range"):
            All(**{field: v})
        obj = All()
        with pytest.raises(OverflowError):
            setattr(obj, field, v)
        assert bytes(obj) == bytes(All._size)  # a refused value leaves the bytes untouched


def test_wasm64_classes_widen_pointer_sized_fields(cd):
    All64 = cd.pytype("struct all", target="wasm64")
    assert All64(p=2**64 - 1).p == 2**64 - 1 and All64(l=-2**63).l == -2**63
    with pytest.raises(OverflowError, match="out of range"):
        All64(n=2**64)
    assert All64 is not cd.pytype("struct all") and All64._size > cd.pytype("struct all")._size


def test_wrong_value_types_are_type_errors(cd):
    All = cd.pytype("struct all")
    with pytest.raises(TypeError, match=r"struct all member 'u32' \(uint32_t\) must be int, not str"):
        All(u32="1")
    with pytest.raises(TypeError, match=r"member 'i8' \(int8_t\) must be int, not float"):
        All(i8=1.5)
    with pytest.raises(TypeError, match=r"struct all member 'd' \(double\) must be float or int, not str"):
        All(d="x")
    with pytest.raises(OverflowError, match="struct all member 'f'"):
        All(f=1e300)  # too large for a C float


def test_float_fields_and_char_bytes(cd):
    All = cd.pytype("struct all")
    a = All(f=1.5, d=-2.25, c=b"A")
    assert (a.f, a.d, a.c) == (1.5, -2.25, 65)
    assert All(c=b"\xff").c == -1  # plain char is signed on wasm


def test_enum_classes_and_enum_fields(cd):
    Color = cd.pytype("enum color")
    assert issubclass(Color, enum.IntEnum) and Color.BLUE == 6 and Color(5) is Color.GREEN
    assert cd.pytype("enum color") is Color
    All = cd.pytype("struct all")
    assert All(col=Color.GREEN).col is Color.GREEN
    assert All(col=3).col == 3  # C allows values that name no member; they read back as ints


def test_nested_struct_fields_are_views_of_the_parent(cd):
    Shape, Point = cd.pytype("struct shape"), cd.pytype("struct point")
    s = Shape(kind=1, origin=Point(x=5, y=6), pts=[{"x": 1, "y": 2}, Point(x=3, y=4), {}])
    assert s.origin == Point(x=5, y=6) and s.pts[1] == Point(x=3, y=4) and s.pts[2] == Point()
    s.origin.x = 50
    s.pts[0].y = 20
    assert s.origin.x == 50 and s.pts[0].y == 20
    raw = bytes(s)
    assert struct.unpack_from("<ii", raw, cd.offsetof("struct shape", "origin")) == (50, 6)
    assert struct.unpack_from("<ii", raw, cd.offsetof("struct shape", "pts[0]")) == (1, 20)
    with pytest.raises(TypeError, match="struct shape member 'origin' must be a point or a dict"):
        s.origin = (1, 2)


def test_array_fields_take_sequences_or_exact_bytes(cd):
    Shape, Grid = cd.pytype("struct shape"), cd.pytype("struct grid")
    s = Shape(name=b"abcdefgh")
    assert list(s.name) == list(b"abcdefgh") and len(s.name) == 8
    s.name = list(range(8))
    assert s.name == list(range(8)) and s.name[-1] == 7
    s.name[0] = -5
    assert s.name[0] == -5
    with pytest.raises(ValueError, match=r"struct shape member 'name' \(char\[8\]\) needs 8 bytes, got 3"):
        s.name = b"abc"
    with pytest.raises(ValueError, match=r"needs 8 values, got 2"):
        s.name = [1, 2]
    with pytest.raises(OverflowError, match=r"struct shape member 'name'\[3\] \(char\): 300 is out of range for i8 \(accepted: -128..127\)"):
        s.name = [0, 0, 0, 300, 0, 0, 0, 0]
    assert s.name[0] == -5  # a refused sequence leaves the array unchanged
    with pytest.raises(IndexError, match="index 8 out of range for 8 elements"):
        s.name[8]
    with pytest.raises(TypeError, match="takes a sequence of 8 values or 8 bytes, not str"):
        s.name = "abcdefgh"
    g = Grid(cells=[[1, 2, 3], [4, 5, 6]])
    assert [list(r) for r in g.cells] == [[1, 2, 3], [4, 5, 6]] and g.cells[1][2] == 6
    assert bytes(g) == struct.pack("<6H", 1, 2, 3, 4, 5, 6)
    g.cells = array.array("H", [9] * 6).tobytes()
    assert g.cells[0][0] == 9


def test_unions_overlap(cd):
    Word = cd.pytype("union word")
    w = Word(w=0x04030201)
    assert list(w.bytes) == [1, 2, 3, 4] and Word._size == 4
    w.f = 1.0
    assert w.w == 0x3F800000


def test_from_bytes_and_from_buffer_copy(cd):
    Point = cd.pytype("struct point")
    raw = struct.pack("<ii", 3, -4)
    p = Point.from_bytes(raw)
    assert (p.x, p.y) == (3, -4)
    buf = bytearray(b"\xaa" * 4 + raw)
    q = Point.from_buffer(buf, offset=4)
    buf[4] = 0
    assert q.x == 3  # a copy: guest memory may move when it grows
    assert Point.from_buffer(memoryview(buf)[4:]).y == -4
    with pytest.raises(ValueError, match=r"point.from_bytes\(\) needs 8 bytes \(sizeof struct point on wasm32\), got 7"):
        Point.from_bytes(raw[:7])
    with pytest.raises(ValueError, match="8 bytes at offset 5 do not fit in a buffer of 12 bytes"):
        Point.from_buffer(buf, offset=5)
    with pytest.raises(TypeError, match=r"point.from_bytes\(\) takes a bytes-like object, not str"):
        Point.from_bytes("12345678")
    assert Point.from_bytes(memoryview(raw)).y == -4
    with pytest.raises(ValueError, match="at offset -1"):
        Point.from_buffer(buf, offset=-1)


def test_records_are_unhashable_values(cd):
    Point = cd.pytype("struct point")
    with pytest.raises(TypeError):
        hash(Point())
    assert Point(x=1) != cd.pytype("struct point", target="wasm64")(x=1)  # other class
    assert Point(x=1)._asdict() == {"x": 1, "y": 0}


def test_member_and_enum_names_python_cannot_hold_are_refused_clearly():
    cd = wasmffi.CDef("struct s { int _buf; }; struct t { int from_bytes; }; "
                      "enum e { mro }; enum f { _missing_ };")
    with pytest.raises(wasmffi.CDefError, match="struct s member '_buf' has the name of an attribute"):
        cd.pytype("struct s")
    with pytest.raises(wasmffi.CDefError, match="struct t member 'from_bytes'"):
        cd.pytype("struct t")
    assert cd.sizeof("struct s") == 4  # the layout is still usable
    with pytest.raises(wasmffi.CDefError, match="enum e cannot become a Python IntEnum"):
        cd.pytype("enum e")
    with pytest.raises(wasmffi.CDefError, match="_missing_ are reserved by the enum module"):
        cd.pytype("enum f")


def test_pytype_of_a_scalar_is_an_error(cd):
    with pytest.raises(wasmffi.CDefError, match="uint8_t is not a struct, union or enum"):
        cd.pytype("uint8_t")


# --- round trip against Python's struct module ---------------------------------------------------
# On x86-64 and aarch64 hosts, struct's native ("@") alignment of fixed-width types equals
# wasm32's, so struct.calcsize/pack give an independent statement of the layout.
_NATIVE_MATCHES_WASM32 = (sys.byteorder == "little" and struct.calcsize("@bq") == 16
                          and struct.calcsize("@bd") == 16 and struct.calcsize("@bh") == 4)

_SCALARS = [("int8_t", "b"), ("uint8_t", "B"), ("int16_t", "h"), ("uint16_t", "H"),
            ("int32_t", "i"), ("uint32_t", "I"), ("int64_t", "q"), ("uint64_t", "Q"),
            ("float", "f"), ("double", "d")]
_ALIGN_CODE = {1: "b", 2: "h", 4: "i", 8: "q"}


def _value(code):
    if code in "fd":
        return st.floats(allow_nan=False, width=32 if code == "f" else 64)
    bits = struct.calcsize(code) * 8
    if code.isupper():
        return st.integers(0, 2**bits - 1)
    return st.integers(-2**(bits - 1), 2**(bits - 1) - 1)


@st.composite
def _record(draw, depth=0):
    """(C member declarations, struct format, flat values, {name: value}, alignment)."""
    n = draw(st.integers(1, 6))
    decls, fmt, flat, values, align = [], "", [], {}, 1
    for k in range(n):
        name = f"m{k}"
        if depth == 0 and draw(st.integers(0, 4)) == 0:
            sub_decls, sub_fmt, sub_flat, sub_values, sub_align = draw(_record(depth=1))
            decls.append(f"struct {{ {' '.join(sub_decls)} }} {name};")
            code = _ALIGN_CODE[sub_align]
            fmt += f"0{code}{sub_fmt}0{code}"
            flat += sub_flat
            values[name] = sub_values
            align = max(align, sub_align)
            continue
        ctype, code = draw(st.sampled_from(_SCALARS))
        count = draw(st.sampled_from([None, None, 1, 2, 5]))
        align = max(align, struct.calcsize(code))
        if count is None:
            v = draw(_value(code))
            decls.append(f"{ctype} {name};")
            fmt += code
            flat.append(v)
        else:
            v = draw(st.lists(_value(code), min_size=count, max_size=count))
            decls.append(f"{ctype} {name}[{count}];")
            fmt += f"{count}{code}"
            flat += v
        values[name] = v
    return decls, fmt, flat, values, align


def _read_back(obj):
    return {k: (_read_back(v) if isinstance(v, wasmffi.cdef.CRecord) else
                list(v) if isinstance(v, wasmffi.cdef.CArray) else v)
            for k, v in ((k, getattr(obj, k)) for k in obj._fields)}


@pytest.mark.skipif(not _NATIVE_MATCHES_WASM32, reason="host struct alignment differs from wasm32")
@settings(max_examples=150, deadline=None)
@given(_record())
def test_struct_round_trip_matches_python_struct(rec):
    decls, fmt, flat, values, align = rec
    cd = wasmffi.CDef(f"struct r {{ {' '.join(decls)} }};")
    Cls = cd.pytype("struct r")
    full = "@" + fmt + "0" + _ALIGN_CODE[align]
    assert Cls._size == struct.calcsize(full) == cd.sizeof("struct r")
    obj = Cls(**values)
    expected = struct.pack(full, *flat)
    assert bytes(obj) == expected
    assert _read_back(Cls.from_bytes(expected)) == values
    assert Cls.from_bytes(expected) == obj


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(_SCALARS), st.integers(1, 40), st.data())
def test_array_round_trip_matches_python_struct(scalar, n, data):
    ctype, code = scalar
    values = data.draw(st.lists(_value(code), min_size=n, max_size=n))
    Cls = wasmffi.CDef(f"struct a {{ {ctype} v[{n}]; }};").pytype("struct a")
    expected = struct.pack(f"<{n}{code}", *values)
    assert bytes(Cls(v=values)) == expected
    assert list(Cls.from_bytes(expected).v) == values
    assert bytes(Cls(v=expected)) == expected
