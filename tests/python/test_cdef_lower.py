"""cdef lowering: each declared function's wasm signature checked against the same declarations
compiled by clang (wasm32 and wasm64), the signature check's message, and the per-parameter
marshalling plan (directions, C strings, fixed counts, by-value records, length links)."""

import inspect
import pickle

import pytest

import wasmffi
from wasmffi.cdef import BYTES, ELEMENTS, IN, INOUT, OUT, VALUE, Pointer
from wasmffi.cdef._model import PRIMITIVES

from test_cdef_layout import clang

ABI = """
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
enum small { S0, S1 };
enum wide { W = 0x100000000 };
enum neg { NEG = -1 };
struct one_int { int32_t v; };
struct one_float { float f[1]; };
struct one_double_nested { struct { double d; } in; };
struct one_ptr { const char *s; };
struct one_i64 { uint64_t q; };
struct padded_char { char c; short pad_to_two; };
struct two { int32_t a, b; };
struct big { uint8_t bytes[40]; };
union one_union { int32_t i; };
union two_union { int32_t i; float f; };
struct opaque;
typedef int (*callback)(int);

void v_void(void);
char v_char(char c, signed char sc, unsigned char uc);
short v_short(short s, unsigned short us);
int v_int(int i, unsigned int u);
long v_long(long l, unsigned long ul);
long long v_ll(long long ll, unsigned long long ull);
bool v_bool(bool b, _Bool bb);
float v_float(float f);
double v_double(double d);
int8_t v_fixed8(int8_t a, uint8_t b);
int16_t v_fixed16(int16_t a, uint16_t b);
int32_t v_fixed32(int32_t a, uint32_t b);
int64_t v_fixed64(int64_t a, uint64_t b);
size_t v_size(size_t n, ssize_t s, ptrdiff_t d, intptr_t ip, uintptr_t up);
enum small v_enum(enum small s, enum neg n);
enum wide v_enum_wide(enum wide w);
void *v_ptr(void *p, const void *cp, uint8_t *u8, const char *s, struct two *t, struct opaque *o);
uint32_t sum(const uint8_t *p, size_t n);
void arr(uint8_t out[32], const uint32_t in[4], double d2[]);
void fnptr(callback cb, int (*raw)(int, int));
struct one_int r_one_int(struct one_int a);
struct one_float r_one_float(struct one_float a);
struct one_double_nested r_one_double(struct one_double_nested a);
struct one_ptr r_one_ptr(struct one_ptr a);
struct one_i64 r_one_i64(struct one_i64 a);
struct padded_char r_padded(struct padded_char a);
struct two r_two(struct two a, int32_t x);
struct big r_big(struct big a, struct big b);
union one_union r_one_union(union one_union u);
union two_union r_two_union(union two_union u);
"""


def _definition(cd, name):
    ft = cd.functions[name]
    params = ", ".join(p.type.spell(p.name or f"arg{i}") for i, p in enumerate(ft.params)) or "void"
    head = ft.result.spell(f"{name}({params})")
    if ft.result == PRIMITIVES["void"]:
        return head + " {}"
    return head + " { " + ft.result.spell("r") + "; __builtin_memset(&r, 0, sizeof r); return r; }"


@pytest.mark.parametrize("target", ["wasm32", "wasm64"])
def test_every_lowering_matches_clang(target, tmp_path):
    cd = wasmffi.CDef(ABI)
    # ssize_t is POSIX, not freestanding C: declare it as wasi-libc does (long).
    source = "typedef long ssize_t;\n" + ABI + "\n".join(_definition(cd, n) for n in cd.functions) + "\n"
    rc, err, path = clang(source, target, tmp_path, link=True)
    assert rc == 0, err
    exports = {e.name: e.type for e in wasmffi.Module.from_file(path).exports if e.kind == "func"}
    checked = 0
    for name in cd.functions:
        spec = cd.lower(name, target)
        spec.check(exports[name])  # raises CDefError naming both signatures on a mismatch
        checked += 1
    assert checked == len(cd.functions) == 30


def test_expected_lowerings_by_rule():
    cd = wasmffi.CDef(ABI)
    sig = {n: cd.lower(n).wasm_text for n in cd.functions}
    sig64 = {n: cd.lower(n, "wasm64").wasm_text for n in cd.functions}
    assert sig["v_void"] == "() -> ()"
    assert sig["v_ll"] == "(i64, i64) -> i64" and sig["v_float"] == "(f32) -> f32"
    assert sig["v_size"] == "(i32, i32, i32, i32, i32) -> i32"
    assert sig64["v_size"] == "(i64, i64, i64, i64, i64) -> i64"
    assert sig["v_enum_wide"] == "(i64) -> i64"
    assert sig["r_one_float"] == "(f32) -> f32" and sig["r_one_double"] == "(f64) -> f64"
    assert sig["r_padded"] == "(i32, i32) -> ()"            # padding: not a single scalar
    assert sig["r_two"] == "(i32, i32, i32) -> ()"          # sret, then a pointer to a copy, then x
    assert sig64["r_two"] == "(i64, i64, i32) -> ()"
    assert sig["r_one_union"] == "(i32) -> i32" and sig["r_two_union"] == "(i32, i32) -> ()"


def test_signature_mismatch_names_both():
    spec = wasmffi.CDef("uint32_t sum(const uint8_t *p, size_t n);").lower("sum")
    with pytest.raises(wasmffi.CDefError) as e:
        spec.check(("i32",), ("i32",))
    assert str(e.value) == ("declared `uint32_t sum(const uint8_t *p, size_t n)` lowers to "
                            "(i32, i32) -> i32 on wasm32 but export `sum` is (i32) -> i32")
    with pytest.raises(wasmffi.CDefError, match="export `other` is \\(i32, i32\\) -> \\(\\)"):
        spec.check(wasmffi.FuncType(("i32", "i32"), ()), export_name="other")
    spec.check(wasmffi.FuncType(("i32", "i32"), ("i32",)))  # matches: no error


def test_parameter_plans():
    cd = wasmffi.CDef(ABI)
    p = {s.name: s for s in cd.lower("v_ptr").params}
    assert (p["p"].direction, p["p"].elem_size, p["p"].const) == (INOUT, 1, False)
    assert (p["cp"].direction, p["cp"].cstring) == (IN, False)
    assert (p["s"].direction, p["s"].cstring, p["s"].elem) == (IN, True, PRIMITIVES["char"])
    assert (p["t"].direction, p["t"].elem_size, p["t"].count) == (INOUT, 8, None)
    assert p["o"].direction == VALUE and isinstance(p["o"].scalar, Pointer)  # opaque: an address
    a = {s.name: s for s in cd.lower("arr").params}
    assert (a["out"].direction, a["out"].count, a["out"].elem_size) == (INOUT, 32, 1)
    assert (a["in"].direction, a["in"].count, a["in"].elem_size) == (IN, 4, 4)
    assert (a["d2"].direction, a["d2"].count, a["d2"].elem_size) == (INOUT, None, 8)
    assert all(s.direction == VALUE for s in cd.lower("fnptr").params)
    big = cd.lower("r_big")
    assert big.result.kind == "sret" and (big.result.size, big.result.align) == (40, 1)
    assert [(s.direction, s.byval, s.wasm_index) for s in big.params] == [(IN, True, 1), (IN, True, 2)]
    one = cd.lower("r_one_float")
    assert one.result.kind == "value" and one.result.scalar == PRIMITIVES["float"]
    assert one.params[0].direction == VALUE and one.params[0].scalar == PRIMITIVES["float"]
    assert cd.lower("v_void").result.kind == "void"


def test_scalar_codes_name_the_marshaller():
    cd = wasmffi.CDef(ABI)
    codes = lambda n, t="wasm32": [s.code for s in cd.lower(n, t).params]
    assert codes("v_char") == ["i8", "i8", "u8"] and codes("v_bool") == ["bool", "bool"]
    assert codes("v_long") == ["i32", "u32"] and codes("v_long", "wasm64") == ["i64", "u64"]
    assert codes("v_fixed64") == ["i64", "u64"] and codes("v_enum") == ["u32", "i32"]
    assert codes("v_float") == ["f32"] and codes("v_double") == ["f64"]
    assert codes("fnptr") == ["ptr", "ptr"] and codes("r_one_ptr") == ["ptr"]
    assert cd.lower("v_size").result.code == "u32" and cd.lower("v_enum_wide").result.code == "u64"
    assert cd.lower("r_one_double").result.code == "f64" and cd.lower("r_big").result.code is None
    p = {s.name: s for s in cd.lower("v_ptr").params}
    assert (p["p"].elem_code, p["u8"].elem_code, p["s"].elem_code, p["t"].elem_code) == ("u8", "u8", "i8", None)
    assert [s.elem_code for s in cd.lower("arr").params] == ["u8", "u32", "f64"]
    assert [s.code for s in cd.lower("arr").params] == [None, None, None]


def test_out_and_in_annotations():
    cd = wasmffi.CDef("void f(uint8_t digest[32] /* out */, uint8_t *sloppy /* in */, "
                      "uint32_t *acc /* inout */, uint8_t *plain);")
    d = [s.direction for s in cd.lower("f").params]
    assert d == [OUT, IN, INOUT, INOUT]


@pytest.mark.parametrize("decl, links", [
    # the naming rule: right after an unsized buffer, these names link; "size" counts bytes
    ("void f(const uint8_t *p, size_t n);", {"n": ("p", ELEMENTS)}),
    ("void f(const uint32_t *v, size_t v_len);", {"v_len": ("v", ELEMENTS)}),
    ("void f(const uint32_t *v, size_t v_count);", {"v_count": ("v", ELEMENTS)}),
    ("void f(const uint32_t *v, size_t v_size);", {"v_size": ("v", BYTES)}),
    ("void f(const void *data, size_t size);", {"size": ("data", BYTES)}),
    ("void f(const char *s, int len);", {"len": ("s", ELEMENTS)}),
    ("void f(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen);",
     {"outlen": ("out", ELEMENTS), "inlen": ("in", ELEMENTS)}),
    # not linked: another name, not adjacent, a fixed array, a non-integer, opted out
    ("void f(const uint8_t *p, size_t bytes);", {}),
    ("void f(const uint8_t *p, int flag, size_t n);", {}),
    ("void f(const uint8_t p[16], size_t n);", {}),
    ("void f(const uint8_t *p, double n);", {}),
    ("void f(const uint8_t *p, bool n);", {}),
    ("void f(const uint8_t *p, size_t n /* nolen */);", {}),
    ("void f(int a, size_t n);", {}),
    # explicit links: anywhere, either unit
    ("void f(size_t count /* len(items) */, const uint16_t *items);", {"count": ("items", ELEMENTS)}),
    ("void f(const uint16_t *items, int flag, size_t nbytes /* sizeof(items) */);",
     {"nbytes": ("items", BYTES)}),
    ("void f(const uint8_t key[32], size_t k /* len(key) */);", {"k": ("key", ELEMENTS)}),
    ("void f(const uint8_t *p, size_t n, size_t m /* sizeof(p) */);", {"m": ("p", BYTES)}),
])
def test_length_links(decl, links):
    spec = wasmffi.CDef(decl).lower("f")
    got = {s.name: (s.length_of, s.length_unit) for s in spec.params if s.length_of}
    assert got == links
    for s in spec.params:
        if s.length_param:
            assert links[s.length_param][0] == s.name


def test_python_signature_puts_linked_lengths_last_as_keywords():
    spec = wasmffi.CDef("void hash(uint8_t *out /* out */, size_t outlen, const uint8_t *msg, size_t msg_len, int rounds);").lower("hash")
    assert str(spec.signature()) == ("(out: 'uint8_t *', msg: 'const uint8_t *', rounds: 'int', *, "
                                     "outlen: 'size_t' = None, msg_len: 'size_t' = None) -> None")
    assert str(wasmffi.CDef("int g(int);").lower("g").signature()) == "(arg0: 'int') -> 'int'"
    assert isinstance(spec.signature(), inspect.Signature)


def test_lowering_is_cached_per_target():
    cd = wasmffi.CDef("size_t f(size_t n);")
    assert cd.lower("f") is cd.lower("f", "wasm32") and cd.lower("f") is not cd.lower("f", "wasm64")
    with pytest.raises(wasmffi.CDefError, match="no function 'g' is declared"):
        cd.lower("g")


def test_out_marker():
    assert wasmffi.out(3).count == 3 and wasmffi.out(0) == wasmffi.out(0)
    with pytest.raises(ValueError, match=r"out\(\) count must be >= 0, not -1"):
        wasmffi.out(-1)
    with pytest.raises(TypeError, match=r"out\(\) count must be an int, not str"):
        wasmffi.out("4")
    with pytest.raises(TypeError, match=r"out\(\) count must be an int, not float"):
        wasmffi.out(1.5)
    with pytest.raises(OverflowError, match=r"out\(\) count 18446744073709551616 is more than any memory can hold"):
        wasmffi.out(2**64)
    o = wasmffi.out(2**64 - 1)
    assert repr(o) == "out(18446744073709551615)" and pickle.loads(pickle.dumps(o)) == o
    assert hash(wasmffi.out(7)) == hash(wasmffi.out(7)) and wasmffi.out(7) != wasmffi.out(8)
    assert wasmffi.out(7) != 7 and isinstance(o, wasmffi.cdef.Out)
    with pytest.raises(AttributeError):
        o.count = 1  # frozen
    with pytest.raises(TypeError):  # final: the call path trusts the layout of what passes its type check
        type("MyOut", (wasmffi.cdef.Out,), {})
