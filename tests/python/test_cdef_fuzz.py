"""cdef fuzzing (hypothesis): generated declaration text, well-formed or mangled, goes through
`wasmffi.CDef(text)` and everything a CDef answers (lowering per target, layout, Python types).

The one documented refusal is `wasmffi.CDefError` (docs/cdef.md); any other exception, from
our code or from pycparser underneath, is a finding. `make test` runs a modest number of
examples; `make fuzz` (tools/fuzz.sh) sets WASMFFI_CDEF_FUZZ_EXAMPLES for a longer run."""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wasmffi
from wasmffi.cdef import Enum, Struct, Union

EXAMPLES = int(os.environ.get("WASMFFI_CDEF_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

SCALARS = ["int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t", "uint64_t",
           "char", "unsigned char", "signed char", "short", "unsigned", "int", "long", "long long",
           "unsigned long long", "float", "double", "size_t", "ssize_t", "intptr_t", "uintptr_t",
           "ptrdiff_t", "bool", "_Bool"]
ODD = ["void", "long double", "__int128", "_Complex double", "unknown_t", "struct", "const", "volatile int"]
RECORDS = ["struct S0", "struct S1", "union U0", "enum E0", "T0", "T1"]
EXPRS = ["4", "N", "M", "1 << 3", "N * 2", "(N + 1) / 2", "0x10", "010", "0b101", "'a'", "1 ? 2 : 3",
         "N > 2", "-1", "0", "7u", "3l", "1 / 0", "5 % 0", "1 << 63", "1 << 64", "99999999999999999999999",
         "N - N", "~0", "E0_B", "(1)", "sizeof(int)", "1.5", "\"s\""]
NOTES = ["out", "inout", "in", "len(p0)", "len(p1)", "sizeof(p2)", "nolen", "size_is(p0)", "size_is(p3)",
         "length_is(return)", "sizedby(n)", "out size_is(p1)", "out inout", "length in bytes", "len()", "out */ /* in"]

base_type = st.one_of(st.sampled_from(SCALARS), st.sampled_from(RECORDS), st.sampled_from(ODD))
expr = st.sampled_from(EXPRS)


@st.composite
def declarator(draw, name):
    quals = draw(st.sampled_from(["", "const ", "volatile "]))
    stars = "".join(draw(st.lists(st.sampled_from(["*", "* const ", "*const*"]), max_size=2)))
    arrays = "".join(f"[{draw(expr)}]" for _ in range(draw(st.integers(0, 2))))
    if draw(st.integers(0, 9)) == 0:  # a function pointer
        return f"{quals}{draw(base_type)} (*{name})({draw(base_type)}, {draw(base_type)} x){arrays}"
    return f"{quals}{draw(base_type)} {stars}{name}{arrays}"


@st.composite
def function(draw):
    name = draw(st.sampled_from(["f0", "f1", "f2", "main", "int"]))
    n = draw(st.integers(0, 4))
    params = []
    for i in range(n):
        p = draw(declarator(draw(st.sampled_from([f"p{i}", f"p{i}", "", "n"]))))
        notes = " ".join(f"/* {draw(st.sampled_from(NOTES))} */" for _ in range(draw(st.integers(0, 2))))
        params.append(f"{p} {notes}".rstrip())
    if not params and draw(st.booleans()):
        params = ["void"]
    if draw(st.integers(0, 15)) == 0:
        params.append("...")
    body = " { return 0; }" if draw(st.integers(0, 15)) == 0 else ";"
    return f"{draw(declarator(name))}({', '.join(params)}){body}"


@st.composite
def record(draw):
    kind = draw(st.sampled_from(["struct S0", "struct S1", "union U0", "struct"]))
    if draw(st.integers(0, 7)) == 0:
        return f"{kind};"  # a forward declaration
    members = [draw(declarator(draw(st.sampled_from(["a", "b", "c", "a"])))) + ";"
               for _ in range(draw(st.integers(0, 4)))]
    if draw(st.integers(0, 9)) == 0:
        members.append("int bits : 3;")
    return f"{kind} {{ {' '.join(members)} }};"


@st.composite
def enum(draw):
    items = []
    for name in draw(st.lists(st.sampled_from(["E0_A", "E0_B", "E0_C", "N"]), max_size=4)):
        items.append(f"{name} = {draw(expr)}" if draw(st.booleans()) else name)
    return f"enum E0 {{ {', '.join(items)} }};"


@st.composite
def other(draw):
    return draw(st.one_of(
        st.builds(lambda n, e: f"#define {n} {e}", st.sampled_from(["N", "M", "N"]), expr),
        st.builds(lambda d: f"typedef {d};", declarator("T0")),
        st.builds(lambda d: f"typedef {d};", declarator("T1")),
        st.sampled_from(["#include <stdint.h>", "#include <stdio.h>", "#ifdef X", "#pragma once",
                         "#define F(x) x", "int global;", "// comment", "/* comment */", "/*", "\"",
                         "typedef int size_t;", "typedef long size_t;", "__attribute__((packed))"]),
    ))


declaration = st.one_of(function(), record(), enum(), other())
PUNCT = "(){}[];*,/#\n \t0123456789abcdefxyzN_\"'<>=+-?:.&|^~!\\"


@st.composite
def source(draw):
    text = "\n".join(draw(st.lists(declaration, min_size=1, max_size=6)))
    for _ in range(draw(st.integers(0, 3)) if draw(st.booleans()) else 0):  # mangle it a little
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 12)))
        op = draw(st.integers(0, 2))
        if op == 0:
            text = text[:i] + text[j:]
        elif op == 1:
            text = text[:i] + text[i:j] + text[i:]
        else:
            text = text[:i] + draw(st.text(alphabet=PUNCT, min_size=1, max_size=4)) + text[i:]
    return text


def exercise(text):
    """Everything a CDef answers; only CDefError may come out."""
    try:
        cd = wasmffi.CDef(text)
    except wasmffi.CDefError as e:
        assert str(e)
        return
    assert isinstance(repr(cd), str)
    for name in cd.functions:
        for target in ("wasm32", "wasm64"):
            try:
                spec = cd.lower(name, target)
            except wasmffi.CDefError as e:
                assert str(e)
                continue
            assert isinstance(spec.wasm_text, str)
    for group in (cd.structs, cd.unions, cd.enums, cd.typedefs):
        for t in group.values():
            for target in ("wasm32", "wasm64"):
                try:
                    size, align = cd.sizeof(t, target), cd.alignof(t, target)
                    assert size >= 0 and align >= 1 and size % align == 0, (t, size, align)
                    if isinstance(t, (Struct, Union)):
                        assert cd.layout(t, target).size == size
                    if isinstance(t, (Struct, Union, Enum)):
                        cd.pytype(t, target)
                except wasmffi.CDefError as e:
                    assert str(e)
    for value in cd.constants.values():
        assert isinstance(value, int)


@FUZZ
@given(source())
def test_generated_declarations_parse_or_raise_cdef_error(text):
    exercise(text)


@FUZZ
@given(st.text(alphabet=PUNCT + "intcharstruvoidlgefp", max_size=200))
def test_arbitrary_text_parses_or_raises_cdef_error(text):
    exercise(text)


@pytest.mark.parametrize("depth", [10, 200, 2000])
def test_deep_nesting_raises_cdef_error_not_recursion_error(depth):
    for text in ("int " + "*" * depth + "p;",
                 "#define N " + "(" * depth + "1" + ")" * depth,
                 "int f(" + "int (*)(" * depth + "int" + ")" * depth + ");",
                 "int a" + "[1]" * depth + ";"):
        exercise(text)
