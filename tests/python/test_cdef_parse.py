"""cdef parsing: every declaration kind becomes the right type value, the CDef cache, and every
refusal is a CDefError that names the line, the name and what is wrong."""

import pytest

import wasmffi
from wasmffi.cdef import Array, Enum, FunctionType, Pointer, Struct, Union
from wasmffi.cdef._model import PRIMITIVES


def P(name):
    return PRIMITIVES[name]


def test_functions_params_and_results():
    cd = wasmffi.CDef("""
        uint32_t sum(const uint8_t *p, size_t n);
        void nothing(void);
        double unnamed(int, float);
        int apply(int (*cb)(int x), int v);
        const char *greet(const char *name);
    """)
    assert set(cd.functions) == {"sum", "nothing", "unnamed", "apply", "greet"}
    s = cd.functions["sum"]
    assert s.result == P("uint32_t")
    assert [(p.name, p.type) for p in s.params] == [("p", Pointer(P("uint8_t"), True)), ("n", P("size_t"))]
    assert cd.functions["nothing"].params == ()
    assert [p.name for p in cd.functions["unnamed"].params] == [None, None]
    cb = cd.functions["apply"].params[0].type
    assert isinstance(cb, Pointer) and isinstance(cb.to, FunctionType) and cb.to.result == P("int")
    assert cd.functions["greet"].result == Pointer(P("char"), True)
    assert s.spell("sum") == "uint32_t sum(const uint8_t *p, size_t n)"
    assert cd.functions["apply"].spell("apply") == "int apply(int (*cb)(int x), int v)"


def test_a_function_declared_twice_alike_is_fine_and_differently_is_an_error():
    assert "f" in wasmffi.CDef("int f(int a); int f(int b);").functions
    with pytest.raises(wasmffi.CDefError, match=r"f\(\) is declared twice with different types"):
        wasmffi.CDef("int f(int a); long f(int a);")


@pytest.mark.parametrize("spelling, name", [
    ("int", "int"), ("signed", "int"), ("signed int", "int"), ("unsigned", "unsigned int"),
    ("unsigned int", "unsigned int"), ("long int", "long"), ("unsigned long int", "unsigned long"),
    ("long unsigned", "unsigned long"), ("long long", "long long"),
    ("unsigned long long int", "unsigned long long"), ("short int", "short"),
    ("unsigned short", "unsigned short"), ("char", "char"), ("signed char", "signed char"),
    ("unsigned char", "unsigned char"), ("_Bool", "_Bool"), ("bool", "bool"), ("float", "float"),
    ("double", "double"), ("int8_t", "int8_t"), ("uint8_t", "uint8_t"), ("int16_t", "int16_t"),
    ("uint16_t", "uint16_t"), ("int32_t", "int32_t"), ("uint32_t", "uint32_t"),
    ("int64_t", "int64_t"), ("uint64_t", "uint64_t"), ("intptr_t", "intptr_t"),
    ("uintptr_t", "uintptr_t"), ("size_t", "size_t"), ("ssize_t", "ssize_t"),
    ("ptrdiff_t", "ptrdiff_t"),
])
def test_standard_and_multiword_scalar_names(spelling, name):
    cd = wasmffi.CDef(f"{spelling} f({spelling} x);")
    assert cd.functions["f"].result == P(name)


def test_standard_headers_are_accepted_and_ignored():
    cd = wasmffi.CDef('#include <stdint.h>\n#include <stddef.h>\n#include "stdbool.h"\nbool f(size_t n);')
    assert cd.functions["f"].result == P("bool")


def test_structs_nested_self_referential_forward_and_anonymous():
    cd = wasmffi.CDef("""
        struct opaque;
        struct node { struct node *next; int32_t v; };
        struct outer { struct inner { uint8_t a; } in; struct { double d; } anon; uint16_t arr[4]; };
        typedef struct { int x, y; } point_t;
        struct opaque *make(void);
    """)
    node = cd.structs["node"]
    assert node.fields[0].type == Pointer(node) and node.fields[0].type.to is node
    assert not cd.structs["opaque"].complete and cd.structs["node"].complete
    outer = cd.structs["outer"]
    assert [f.name for f in outer.fields] == ["in", "anon", "arr"]
    assert outer.field("in").type is cd.structs["inner"]          # a nested tag is file-scope, as in C
    assert outer.field("arr").type == Array(P("uint16_t"), 4)
    pt = cd.typedefs["point_t"]
    assert isinstance(pt, Struct) and pt.name is None and pt.spell() == "point_t"
    assert [f.name for f in pt.fields] == ["x", "y"]
    assert cd.type("point_t") is pt and cd.type("struct node") is node


def test_unions_and_enums():
    cd = wasmffi.CDef("""
        union value { int32_t i; float f; uint8_t raw[4]; };
        enum color { RED, GREEN = 10, BLUE, ALIAS = RED };
        enum signed_e { NEG = -1, POS = 1 };
        enum big { BIG = 0x100000000 };
        typedef enum { A, B } ab_t;
    """)
    assert isinstance(cd.unions["value"], Union) and len(cd.unions["value"].fields) == 3
    color = cd.enums["color"]
    assert color.members == (("RED", 0), ("GREEN", 10), ("BLUE", 11), ("ALIAS", 0))
    assert color.base == P("unsigned int")
    assert cd.enums["signed_e"].base == P("int")
    assert cd.enums["big"].base == P("unsigned long long")
    assert isinstance(cd.typedefs["ab_t"], Enum)
    assert cd.constants["BLUE"] == 11 and cd.constants["B"] == 1


def test_typedef_chains_and_pointer_typedefs():
    cd = wasmffi.CDef("""
        typedef uint32_t u32; typedef u32 word; typedef word *word_ptr;
        typedef const char *cstr; typedef uint8_t key_t[32];
        word_ptr f(cstr s, key_t k);
    """)
    assert cd.typedefs["word"] == P("uint32_t")
    f = cd.functions["f"]
    assert f.result == Pointer(P("uint32_t"))
    assert f.params[0].type == Pointer(P("char"), True)
    assert f.params[1].type == Array(P("uint8_t"), 32)


def test_defines_and_constant_expressions_size_arrays():
    cd = wasmffi.CDef("""
        #define A 4
        #define HEX 0x10u
        #define OCT 010
        #define BIN 0b11
        #define EXPR ((A << 2) + HEX / 3 - (OCT % 3))   /* 16 + 5 - 2 */
        #define LONG_SUFFIX 7ULL
        #define NEG (-3)
        #define CH 'a'
        #define TERN (A > 3 ? 2 : 9)
        #define CONT (1 + \\
                      2)
        enum { E0 = A * 2, E1 };
        struct s { uint8_t a[A]; uint8_t b[EXPR]; uint8_t c[E1]; uint8_t d[A * E0]; };
    """)
    assert cd.constants["EXPR"] == 19 and cd.constants["HEX"] == 16 and cd.constants["OCT"] == 8
    assert cd.constants["BIN"] == 3 and cd.constants["LONG_SUFFIX"] == 7 and cd.constants["NEG"] == -3
    assert wasmffi.CDef("#define SAME 1\n#define SAME (2 - 1)").constants["SAME"] == 1
    assert cd.constants["CH"] == 97 and cd.constants["TERN"] == 2 and cd.constants["CONT"] == 3
    assert [f.type.length for f in cd.structs["s"].fields] == [4, 19, 9, 32]


def test_c_division_truncates_toward_zero():
    cd = wasmffi.CDef("#define Q (-7 / 2)\n#define R (-7 % 2)")
    assert (cd.constants["Q"], cd.constants["R"]) == (-3, -1)


def test_comments_are_ignored_and_lines_kept():
    cd = wasmffi.CDef("// a line comment\n/* a\n block */ int f(int x); // trailing\n")
    assert "f" in cd.functions
    with pytest.raises(wasmffi.CDefError, match="cdef line 4, column 8: unknown type name 'foo_t'"):
        wasmffi.CDef("/* one\n two\n three */\nvoid g(foo_t x);")


def test_cdef_is_cached_by_text_and_reusable():
    src = "struct cache_p { int a; }; int cache_f(struct cache_p *p);"
    a = wasmffi.CDef(src)
    assert wasmffi.CDef(src) is a
    assert wasmffi.CDef(src + " ") is not a
    assert a.pytype("struct cache_p") is wasmffi.CDef(src).pytype("struct cache_p")


def test_types_are_immutable_and_hashable():
    cd = wasmffi.CDef("struct s { int a; }; enum e { X };")
    s = cd.structs["s"]
    with pytest.raises(AttributeError, match="immutable"):
        s.fields = ()
    with pytest.raises(AttributeError, match="immutable"):
        cd.enums["e"].members = ()
    p = Pointer(P("int"), True)
    with pytest.raises(AttributeError):
        p.const = False
    assert {p: 1}[Pointer(P("int"), True)] == 1 and hash(s) == hash(cd.structs["s"])
    assert Array(P("int"), 3) == Array(P("int"), 3) != Array(P("int"), 4)
    # Nominal: two definitions of `struct s` in different sources are different types, as in C.
    assert wasmffi.CDef("struct s { int a; }; ") .structs["s"] != s
    with pytest.raises(TypeError):
        cd.functions["x"] = None  # read-only mappings


def test_parse_type_against_declarations():
    cd = wasmffi.CDef("#define N 8\nstruct point { int x; };\ntypedef struct point pt;")
    assert cd.type("uint8_t[64]") == Array(P("uint8_t"), 64)
    assert cd.type("uint8_t[N]") == Array(P("uint8_t"), 8)
    assert cd.type("struct point *") == Pointer(cd.structs["point"])
    assert cd.type("const pt *") == Pointer(cd.structs["point"], True)
    assert cd.type("int (*)(int)") == Pointer(FunctionType(P("int"), cd.type("int (*)(int)").to.params))
    assert cd.type("size_t") == P("size_t")


def test_cdef_error_is_a_wasmffi_error_and_a_value_error():
    assert issubclass(wasmffi.CDefError, wasmffi.Error) and issubclass(wasmffi.CDefError, ValueError)
    with pytest.raises(TypeError, match="CDef\\(\\) takes C declarations as str, not bytes"):
        wasmffi.CDef(b"int f(void);")


@pytest.mark.parametrize("source, message", [
    # unknown names
    ("void f(foo_t x);", "cdef line 1, column 8: unknown type name 'foo_t'"),
    ("foo_t *f(void);", "cdef line 1, column 1: unknown type name 'foo_t'"),
    ("struct s { int a;\n  foo_t b; };", "cdef line 2, column 3: unknown type name 'foo_t'"),
    ("unsigned float f(void);", "unknown type name 'unsigned float'"),
    ("void f(int a[N]);", "parameter a: array size: unknown constant 'N'"),
    # syntax
    ("int f(int a,\n  int b;", "cdef line 2, column 8: syntax error before ';'"),
    ("int f(int a)", "syntax error at the end of the declarations"),
    ("/* never closed", "cdef line 1, column 1: unterminated /\\* comment"),
    # unsupported constructs
    ("int printf(const char *fmt, ...);", "printf\\(\\): variadic functions \\(...\\) are not supported"),
    ("struct s { int a : 3; };", "struct s, member 'a': bitfields are not supported"),
    ("long double f(void);", "long double .* is not supported"),
    ("_Complex double f(void);", "_Complex types are not supported"),
    ("__int128 f(void);", r"^cdef line 1, column 10: f\(\): __int128 is not supported$"),
    ("void f(unsigned __int128 x);", r"^cdef line 1, column 6: f\(\), parameter x: __int128 is not supported$"),
    ("struct s { __int128 big; };", r"^cdef line 1, column 21: struct s, member 'big': __int128 is not supported$"),
    ("int x;", "declaring variable 'x' is not supported"),
    ("int f(void) { return 1; }", "function bodies are not allowed in a cdef"),
    ("struct s { int n; uint8_t data[]; };", "flexible array members are not supported"),
    ("struct o { struct { int x; }; };", "anonymous members are not supported"),
    ("struct s {};", "struct s has no members"),
    # directives
    ("#define X 1.5", "cdef line 1: #define X 1.5: 1.5 is not an integer constant"),
    ("#define X", "#define X has no value"),
    ("#define F(x) x", "function-like macro F\\(\\) is not supported"),
    ("#define S \"text\"", "#define S \"text\": \"text\" is not an integer constant"),
    ("#define S2 int", "#define S2 int: only integer constant expressions"),
    ("#define Y (1 << -1)", "negative shift count"),
    ("#define Z (1 / 0)", "division by zero"),
    ("#define W UNDEFINED", "unknown constant 'UNDEFINED'"),
    ("#define R 1\n#define R 2", "cdef line 2: #define R redefines R \\(1\\) with a different value \\(2\\)"),
    ("int a;\n#ifdef X\n#endif", "cdef line 2: #ifdef is not supported"),
    ("#pragma once", "#pragma is not supported"),
    ("#include <stdio.h>", "#include <stdio.h> is not supported"),
    # types used wrongly
    ("struct s;\nstruct s f(void);", "cdef line 2, column 10: f\\(\\): returns incomplete struct s"),
    ("struct s;\nvoid f(struct s x);", "parameter x: struct s is incomplete here"),
    ("struct s { struct t inner; };", "member 'inner': struct t is incomplete here"),
    ("void f(int a[0]);", "array size must be positive, not 0"),
    ("void f(void x);", "parameter x has type void"),
    ("struct s { void v; };", "a value cannot have type void"),
    ("void f(void *a[-1 + 1]);", "array size must be positive"),
    ("enum e f(void);", "enum e is used before it is defined"),
    ("int f(void)[3];", "a function cannot return an array"),
    # redefinitions
    ("enum e { A }; enum e { C };", "enum e is defined twice"),
    ("enum e { A }; enum g { A };", "A is already defined"),
    ("struct s { int a; }; struct s { int b; };", "struct s is defined twice"),
    ("struct s { int a; int a; };", "member 'a': duplicate member"),
    ("void f(int a, int a);", "parameter 'a' is declared twice"),
    ("typedef long uint32_t;", "typedef long uint32_t conflicts with the standard uint32_t"),
    ("typedef int t; typedef long t;", "typedef t is redefined with a different type"),
    # annotations
    ("/* out */ void f(uint8_t *p);", "annotation /\\* out \\*/ must follow a parameter name"),
    ("struct s { uint8_t *p /* out */; };", "must follow a parameter name"),
    ("void f(uint8_t *p /* out */ /* in */);", "conflicting annotations"),
    ("void f(int n /* out */);", "/\\* out \\*/ applies to pointer or array parameters, not int"),
    ("void f(const uint8_t *p /* inout */);", "on a const pointer: the callee cannot write through it"),
    ("void f(uint8_t *p, int q /* len(zz) */);", "/\\* len\\(zz\\) \\*/ names no parameter 'zz'"),
    ("void f(int x /* len(x) */);", "'x' is not a pointer or array parameter"),
    ("void f(uint8_t *p, float n /* len(p) */);", "a length must be an integer type, not float"),
    ("void f(uint8_t *p, size_t a /* len(p) */, size_t b /* sizeof(p) */);",
     "parameters 'a' and 'b' are both linked to the length of 'p'"),
    ("void f(uint8_t *p, size_t n /* len(p) */ /* nolen */);", "/\\* nolen \\*/ contradicts"),
    ("void f(uint8_t *p /* nolen */);", "/\\* nolen \\*/ applies to integer parameters"),
])
def test_errors_name_what_is_wrong(source, message):
    with pytest.raises(wasmffi.CDefError, match=message):
        wasmffi.CDef(source)


def test_lowering_errors_carry_the_declaration_line():
    with pytest.raises(wasmffi.CDefError, match=r"cdef line 3: f\(\) parameter 'n'"):
        wasmffi.CDef("\n\nvoid f(int n /* out */);")


def test_typedef_of_a_standard_name_with_its_own_type_is_accepted():
    cd = wasmffi.CDef("typedef unsigned int uint32_t; typedef unsigned long size_t; uint32_t f(size_t n);")
    assert cd.functions["f"].result == P("uint32_t") and cd.functions["f"].params[0].type == P("size_t")


@pytest.mark.parametrize("comment", ["sizedby(n)", "out sizedby(n)", "out size_is(n)", "out inout"])
def test_a_misspelt_or_doubled_annotation_is_an_error_not_a_comment(comment):
    # Before, these were plain comments: `/* out sizedby(n) */` left the buffer an input.
    with pytest.raises(wasmffi.CDefError, match="looks like an annotation but is not one"):
        wasmffi.CDef(f"void f(uint8_t *h /* {comment} */, size_t n);")


@pytest.mark.parametrize("comment", ["length in bytes", "see foo(x) below", "in bytes", "out of range"])
def test_ordinary_comments_next_to_parameters_stay_comments(comment):
    # The declaration lowers exactly as without the comment (h an inout buffer, n its length).
    plain = wasmffi.CDef("void f(uint8_t *h, size_t n);").lower("f")
    assert plain.params[0].direction == "inout" and plain.params[0].length_param == "n"
    assert wasmffi.CDef(f"void f(uint8_t *h /* {comment} */, size_t n);").lower("f") == plain


def test_a_lone_annotation_word_is_an_annotation_not_a_comment():
    assert wasmffi.CDef("void f(uint8_t *h /* in */, size_t n);").lower("f").params[0].direction == "in"


def test_nesting_past_the_parsers_recursion_limit_is_a_cdef_error():
    # Found by tests/python/test_cdef_fuzz.py: pycparser parses recursively, and 200 nested
    # parentheses (or function-pointer parameters) raised RecursionError out of CDef().
    for text in ("#define N " + "(" * 200 + "1" + ")" * 200,
                 "int f(" + "int (*)(" * 200 + "int" + ")" * 200 + ");"):
        with pytest.raises(wasmffi.CDefError, match="nested too deeply"):
            wasmffi.CDef(text)
    with pytest.raises(wasmffi.CDefError, match="nested too deeply"):
        wasmffi.CDef("struct s { int x; };").type("int (*)(" * 200 + "int" + ")" * 200)
