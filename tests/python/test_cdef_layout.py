"""cdef layout: sizes, alignments and offsets on wasm32 and wasm64, checked against clang itself
(static asserts generated from our figures must compile), and the sizeof/alignof/offsetof API."""

import random
import subprocess

import pytest

import wasmffi
from conftest import require_tool
from wasmffi.cdef import WASM32, WASM64, Array, Struct


def clang(source: str, target: str, tmp_path, *, link: bool = False):
    """Compiles C for wasm32/wasm64 with clang: syntax only, or linked into a module exporting
    every function. Returns (returncode, stderr, path of the .wasm or None)."""
    src = tmp_path / f"check_{target}.c"
    src.write_text(source)
    args = [require_tool("clang"), f"--target={target}", "-ffreestanding", "-nostdlib"]
    if link:
        out = tmp_path / f"check_{target}.wasm"
        args += ["-O0", "-Wl,--no-entry", "-Wl,--export-all", "-o", str(out), str(src)]
    else:
        out = None
        args += ["-fsyntax-only", str(src)]
    proc = subprocess.run(args, capture_output=True, text=True)
    return proc.returncode, proc.stderr, out


def layout_asserts(cd: wasmffi.CDef, target: str, skew: int = 0) -> str:
    """_Static_assert lines for the size, alignment and every member offset (nested paths and
    array elements included) of each named struct and union, from our model."""
    lines = ["#include <stddef.h>"]
    records = [f"struct {n}" for n in cd.structs] + [f"union {n}" for n in cd.unions]
    records += [n for n, t in cd.typedefs.items() if isinstance(t, Struct)]
    for rec in records:
        t = cd.type(rec)
        if not t.complete:
            continue
        size = cd.sizeof(rec, target) + skew
        lines.append(f'_Static_assert(sizeof({rec}) == {size}, "sizeof {rec}");')
        lines.append(f'_Static_assert(_Alignof({rec}) == {cd.alignof(rec, target)}, "alignof {rec}");')
        for path in member_paths(t):
            off = cd.offsetof(rec, path, target)
            lines.append(f'_Static_assert(offsetof({rec}, {path}) == {off}, "offsetof {rec} {path}");')
    return "\n".join(lines) + "\n"


def member_paths(t: Struct, prefix: str = ""):
    for f in t.fields:
        path = f"{prefix}{f.name}"
        yield path
        ft = f.type
        if isinstance(ft, Array):
            yield f"{path}[{ft.length - 1}]"
            if isinstance(ft.of, Struct):
                yield from member_paths(ft.of, f"{path}[{ft.length - 1}].")
        if isinstance(ft, Struct):
            yield from member_paths(ft, f"{path}.")


FIXED = """
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#define NAME_LEN 13
#define EXPR ((1 << 3) + 0x10 / 3 - (-7 % 4) + (NAME_LEN > 10 ? 2 : 100))
enum sizes { SZ_A = EXPR, SZ_B, SZ_C = SZ_B * 2 };
struct sized { char a[EXPR]; char b[SZ_C]; char c[NAME_LEN - 1]; };
enum small { S0, S1, S2 };
enum neg { N_MIN = -5, N_MAX = 7 };
enum wide { W_BIG = 0x100000000 };
struct scalars { char c; short s; int i; long l; long long ll; float f; double d; bool b; };
struct ptrs { char tag; void *p; const char *name; size_t n; ptrdiff_t d; intptr_t ip; uintptr_t up; };
struct node { struct node *next; uint8_t kind; };
struct tail { uint64_t a; uint8_t b; };
struct arrays { uint8_t key[32]; uint16_t h[3]; char name[NAME_LEN]; double d[2]; };
struct nested { uint8_t flag; struct tail t; struct { char c; int32_t x; } anon; struct tail many[3]; };
union number { int8_t b; int64_t q; double d; uint8_t raw[9]; };
struct holds_union { char c; union number u; };
struct enums { uint8_t a; enum small s; enum neg n; uint8_t b; enum wide w; };
typedef struct { uint16_t x, y; long z; } triple_t;
struct matrix { float m[3][3]; int8_t pad; };
struct fnptr { void (*cb)(int); uint8_t c; };
struct ints { int8_t a; int16_t b; int32_t c; int64_t d; uint8_t e; uint16_t f; uint32_t g; uint64_t h; };
"""

_LEAVES = ["char", "signed char", "unsigned char", "short", "unsigned short", "int", "unsigned int",
           "long", "unsigned long", "long long", "unsigned long long", "float", "double", "_Bool",
           "int8_t", "uint16_t", "int32_t", "uint64_t", "size_t", "intptr_t", "void *", "const char *"]


def random_records(seed: int, count: int) -> str:
    """C text for `count` random structs and unions: scalars, pointers, arrays, earlier records
    nested by value and in arrays. Deterministic for a seed."""
    rng = random.Random(seed)
    names, out = [], ["#include <stdint.h>", "#include <stddef.h>"]
    for k in range(count):
        kind = "union" if rng.random() < 0.2 else "struct"
        fields = []
        for j in range(rng.randint(1, 7)):
            if names and rng.random() < 0.25:
                base = rng.choice(names)
            else:
                base = rng.choice(_LEAVES)
            decl = f"{base} f{j}"
            if base.endswith("*"):
                decl = f"{base}f{j}"
            if rng.random() < 0.25:
                decl += f"[{rng.randint(1, 5)}]"
            fields.append(decl + ";")
        name = f"r{k}"
        out.append(f"{kind} {name} {{ {' '.join(fields)} }};")
        names.append(f"{kind} {name}")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("target", ["wasm32", "wasm64"])
@pytest.mark.parametrize("source", [FIXED, random_records(7, 60), random_records(2024, 60)],
                         ids=["fixed", "random-7", "random-2024"])
def test_layout_matches_clang(source, target, tmp_path):
    cd = wasmffi.CDef(source)
    rc, err, _ = clang(source + layout_asserts(cd, target), target, tmp_path)
    assert rc == 0, err


def test_clang_check_catches_a_wrong_size(tmp_path):
    """The harness itself can fail: the same asserts with every size off by 4 do not compile."""
    cd = wasmffi.CDef(FIXED)
    rc, err, _ = clang(FIXED + layout_asserts(cd, "wasm32", skew=4), "wasm32", tmp_path)
    assert rc != 0 and "sizeof struct scalars" in err


def test_known_figures_wasm32_and_wasm64():
    cd = wasmffi.CDef(FIXED)
    # long is 4 bytes on wasm32, 8 on wasm64; here padding before long long hides it.
    assert [cd.sizeof("struct scalars", t) for t in ("wasm32", "wasm64")] == [48, 48]
    assert [cd.sizeof("struct ptrs", t) for t in ("wasm32", "wasm64")] == [28, 56]
    assert [cd.offsetof("struct ptrs", "up", t) for t in ("wasm32", "wasm64")] == [24, 48]
    assert cd.offsetof("struct scalars", "l") == 8 and cd.offsetof("struct scalars", "ll") == 16
    assert cd.offsetof("struct scalars", "l", "wasm64") == 8 and cd.offsetof("struct scalars", "ll", "wasm64") == 16
    assert cd.sizeof("void *") == 4 and cd.sizeof("void *", "wasm64") == 8
    assert cd.sizeof("size_t") == 4 and cd.sizeof("size_t", "memory64") == 8
    assert (cd.sizeof("struct tail"), cd.alignof("struct tail")) == (16, 8)
    assert cd.sizeof("union number") == 16 and cd.offsetof("union number", "raw") == 0
    assert cd.sizeof("enum wide") == 8 and cd.sizeof("enum small") == 4
    # flag at 0, t at 8 (aligned 8), anon at 24 (8 bytes), many at 32, many[2].b at 32 + 2*16 + 8
    assert cd.offsetof("struct nested", "many[2].b") == 72
    assert cd.offsetof("struct matrix", "m[2][1]") == 7 * 4
    assert cd.sizeof("triple_t") == 8 and cd.sizeof("triple_t", "wasm64") == 16


def test_layout_lists_members():
    cd = wasmffi.CDef("struct s { uint8_t a; uint32_t b; uint8_t c[3]; };")
    lay = cd.layout("struct s")
    assert [(f.name, f.offset, f.size) for f in lay.fields] == [("a", 0, 1), ("b", 4, 4), ("c", 8, 3)]
    assert (lay.size, lay.align) == (12, 4)


def test_module_functions_take_struct_classes_ctypes_and_names():
    cd = wasmffi.CDef("struct p { uint8_t tag; size_t n; struct { double d; } in; };")
    P32, P64 = cd.pytype("struct p"), cd.pytype("struct p", target="wasm64")
    assert wasmffi.sizeof(P32) == 16 and wasmffi.sizeof(P64) == 24
    assert wasmffi.alignof(P32) == 8
    assert wasmffi.offsetof(P32, "n") == 4 and wasmffi.offsetof(P64, "n") == 8
    assert wasmffi.offsetof(P64, "in.d") == 16
    assert wasmffi.sizeof(P32, target="wasm64") == 24  # an explicit target wins
    assert wasmffi.sizeof(cd.type("struct p")) == 16
    assert wasmffi.sizeof("uint64_t") == 8 and wasmffi.alignof("uint16_t") == 2
    assert wasmffi.sizeof("size_t", target="wasm64") == 8
    assert wasmffi.sizeof("uint8_t[64]") == 64


@pytest.mark.parametrize("call, message", [
    (lambda cd: cd.sizeof("struct opaque"), "struct opaque is incomplete"),
    (lambda cd: cd.sizeof("void"), "void has no size"),
    (lambda cd: cd.sizeof("struct nope"), "unknown type name 'struct nope'"),
    (lambda cd: cd.sizeof("nope_t"), "unknown type name 'nope_t'"),
    (lambda cd: cd.offsetof("struct s", "zz"), "struct s has no member 'zz'"),
    (lambda cd: cd.offsetof("struct s", "a.b"), ".b applied to uint8_t"),
    (lambda cd: cd.offsetof("struct s", "arr[4]"), "index 4 is out of range for uint8_t[4]"),
    (lambda cd: cd.offsetof("struct s", "a[0]"), "[0] applied to uint8_t"),
    (lambda cd: cd.offsetof("struct s", "arr[x]"), "bad member path"),
    (lambda cd: cd.offsetof("struct s", ""), "a member path"),
    (lambda cd: cd.offsetof("uint32_t", "a"), "uint32_t is not a struct or union"),
    (lambda cd: cd.sizeof("int f(void)"), "not a C type name"),
    (lambda cd: cd.sizeof("int; int"), "not a C type name"),
])
def test_layout_errors_name_the_problem(call, message):
    cd = wasmffi.CDef("struct opaque; struct s { uint8_t a; uint8_t arr[4]; };")
    with pytest.raises(wasmffi.CDefError, match=message.replace("[", r"\[").replace(".", r"\.")):
        call(cd)


def test_bad_target_and_bad_arguments():
    cd = wasmffi.CDef("struct s { int a; };")
    with pytest.raises(ValueError, match="target must be 'wasm32' or 'wasm64', not 'wasm16'"):
        cd.sizeof("struct s", "wasm16")
    with pytest.raises(TypeError, match="sizeof\\(\\) takes a C type"):
        wasmffi.sizeof(3)
    with pytest.raises(TypeError, match="must be str"):
        cd.sizeof(3.5)


def test_targets_are_values():
    assert WASM32.pointer_size == 4 and WASM64.pointer_size == 8
    cd = wasmffi.CDef("struct s { long a; };")
    assert cd.sizeof("struct s", WASM64) == 8
