"""A boundary that cannot be crashed: every public callable (exported functions, typed units,
Memory methods, declared functions of every cdef parameter kind) driven with arbitrary and hostile
Python objects. Every call either returns what a reference model of the documented rules says, or
raises a documented exception (TypeError, ValueError, OverflowError, MemoryAccessError,
ResourceError, or the caller's own exception from a hook it wrote) whose message names the
function; a refused call leaves guest memory and the caller's buffers as they were.

Crashes that kill the interpreter are reproduced in child processes (`test_crash_*`), so one
cannot take the suite down with it."""

from __future__ import annotations

import array
import math
import operator
import os
import pathlib
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import wasmffi
from wasmffi.cdef._model import Out
from _hostile import (Boom, BytesSub, ByteArraySub, IntSub, ListSub, Mutator, StrSub, TupleSub, floats_any,
                      int_likes, junk, raw_bytes, scalar_args, shaped_buffers)

HERE = pathlib.Path(__file__).resolve().parent
GUEST_C = HERE / "data" / "boundary.c"

CDEF = """
enum mode { FAST, SAFE = 4, BIG = 0x7fffffff };
enum sign { NEG = -2, POS = 2 };
int8_t id_i8(int8_t x); uint8_t id_u8(uint8_t x); int16_t id_i16(int16_t x); uint16_t id_u16(uint16_t x);
int32_t id_i32(int32_t x); uint32_t id_u32(uint32_t x); int64_t id_i64(int64_t x); uint64_t id_u64(uint64_t x);
float id_f32(float x); double id_f64(double x); bool id_bool(bool x); char id_char(char x);
long id_long(long x); size_t id_size(size_t x); enum mode id_mode(enum mode x); enum sign id_sign(enum sign x);
double mix(int8_t a, uint16_t b, int64_t c, float d, bool e);
uint32_t sum(const uint8_t *p, size_t n);
int64_t sum_i32(const int32_t *xs, size_t n);
double sum_f64(const double *xs, size_t count);
uint32_t sum_u16_bytes(size_t nbytes /* sizeof(v) */, const uint16_t *v);
void fill(uint8_t *buf, size_t n, uint8_t value);
void fill_out(uint8_t *buf /* out */, size_t n, uint8_t value);
void gen(uint32_t *dst /* out */ /* size_is(count) */, size_t count, uint32_t seed);
uint32_t key_sum(const uint8_t key[8]);
void rev4(uint16_t v[4]);
void iota8(int8_t dst[8], int8_t start);
void copy_bytes(uint8_t *dst /* out */ /* size_is(n) */, const uint8_t *src, size_t n);
size_t slen(const char *s);
void upcase(char *s);
int divmod(int a, int b, int *q /* out */, int *r /* out */);
struct inner { int32_t x; };
struct outer { int32_t a; struct inner b; };
struct point { int32_t x, y; };
struct rect { struct point min, max; };
struct blob { uint8_t tag; double weight; uint16_t codes[3]; struct point at; };
int32_t get_x(struct inner v);
int32_t outer_sum(struct outer o);
int32_t point_sum(struct point p);
struct inner inner_make(int32_t x);
int64_t rect_area(const struct rect *r);
void rect_norm(struct rect *r);
struct rect rect_make(int32_t x0, int32_t y0, int32_t x1, int32_t y1);
int bounds(const struct point *pts, size_t n, struct rect *out /* out */);
double blob_score(struct blob b);
struct blob blob_bump(struct blob b);
"""

# Fast enough for `make test` (the whole file in well under a minute on two shared cores).
SETTINGS = settings(max_examples=int(os.environ.get("WASMFFI_BOUNDARY_EXAMPLES", "100")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.function_scoped_fixture])
FEW = settings(SETTINGS, max_examples=max(20, SETTINGS.max_examples // 3))

# What a refused call may raise: the documented classes, and the caller's own exception (Boom)
# when a hook the caller wrote raised it.
DOCUMENTED = (TypeError, ValueError, OverflowError, wasmffi.MemoryAccessError, wasmffi.ResourceError)
# A trap is documented too, but is the callee's doing: each test that expects one says so.


# ---- the guest ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def wasm_path(tmp_path_factory):
    from wasmffi._build import build

    out = tmp_path_factory.mktemp("boundary") / "boundary.wasm"
    build([GUEST_C], out)
    return out


@pytest.fixture(scope="module")
def inst(wasm_path):
    return wasmffi.load(wasm_path, cdef=CDEF)


@pytest.fixture(scope="module")
def cd(inst):
    return inst.cdef


@pytest.fixture(scope="module", params=["wasm32", "wasm64"])
def inst_on(request, wasm_path, tmp_path_factory):
    """The guest on both targets (wasm64: memory64, 8-byte pointers, long and size_t)."""
    if request.param == "wasm32":
        return wasmffi.load(wasm_path, cdef=CDEF)
    from wasmffi._build import build

    out = tmp_path_factory.mktemp("boundary64") / "boundary64.wasm"
    build([GUEST_C], out, target="wasm64")
    return wasmffi.load(out, cdef=CDEF)


def snapshot(mem) -> bytes:
    # The shared instances stay small, so that a snapshot per call stays cheap: an output large
    # enough to grow guest memory by gigabytes (which may well succeed) belongs in its own instance.
    assert len(mem) <= 1 << 24, f"a test grew a shared instance's memory to {len(mem)} bytes"
    return mem.read(0, len(mem))


def assert_memory_unchanged(mem, before: bytes):
    after = mem.read(0, len(mem))
    assert after[:len(before)] == before, "a refused call changed guest memory"
    assert after[len(before):].count(0) == len(after) - len(before), "a refused call grew memory with data"


# Memory's bounds errors come from one checked span and name the operation ("read of 8 byte(s) at
# address ..."), as STYLE.md has it; for Memory methods that names the function well enough.
MEMORY_OPS = ("read of ", "write of ", "view of ")


def check_message(e: BaseException, fname: str, arg: str | None = None, position: int | None = None):
    """A refusal names the function, and (when it is about one argument) that argument, by name
    or by its position in the caller's call."""
    msg = str(e)
    named = f"{fname}(" in msg or (isinstance(e, wasmffi.MemoryAccessError) and fname in MEMORY_FUNCS
                                   and msg.startswith(MEMORY_OPS + (f"{fname} of ",)))
    assert named, f"{type(e).__name__} does not name {fname}(): {msg!r}"
    if arg is not None or position is not None:
        named = (arg is not None and f"'{arg}'" in msg) or (position is not None and f"argument {position}" in msg)
        assert named, f"{type(e).__name__} from {fname}() names neither {arg!r} nor argument {position}: {msg!r}"


class Outcome:
    """The result of one call, with the refusal already checked against the boundary's promises."""

    def __init__(self, ok: bool, value=None, error: BaseException | None = None):
        self.ok, self.value, self.error = ok, value, error

    def __repr__(self) -> str:
        return f"Outcome(ok={self.ok}, value={self.value!r}, error={self.error!r})"


def attempt(fn, fname: str, mem, *args, guard=(), allow_trap=False, also=(), **kw) -> Outcome:
    """Calls fn(*args, **kw). A refusal must be a documented class (or Boom, the caller's own),
    name `fname`, and leave guest memory and every bytes-like in `guard` unchanged. Any other
    exception (SystemError, MemoryError, AttributeError, ...) propagates and fails the test."""
    before = snapshot(mem) if mem is not None else None
    held = [(g, raw_bytes(g)) for g in guard]
    try:
        value = fn(*args, **kw)
    except Boom as e:
        error = e
    except wasmffi.Trap as e:
        if not allow_trap:
            raise
        event(f"{fname}: {type(e).__name__}")
        return Outcome(False, error=e)  # the callee ran: memory may have changed
    except DOCUMENTED + also as e:  # `also`: a class a method documents besides these (struct.error)
        check_message(e, fname)
        error = e
    else:
        event(f"{fname}: ok")
        return Outcome(True, value)
    event(f"{fname}: {type(error).__name__}")
    if before is not None:
        assert_memory_unchanged(mem, before)
    for g, data in held:
        if data is not None:
            assert raw_bytes(g) == data, f"a refused {fname}() call changed the caller's buffer"
    return Outcome(False, error=error)


# ---- the reference model of scalar conversion (README "Type mapping", docs/cdef.md) --------------

class Refused:
    """The model says: refused, with one of these exception classes."""

    def __init__(self, *classes):
        self.classes = classes

    def __repr__(self) -> str:
        return f"Refused{tuple(c.__name__ for c in self.classes)}"


def as_int(x):
    """The int a parameter of an integer type sees, or Refused."""
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float) or not hasattr(type(x), "__index__"):
        return Refused(TypeError)
    try:
        return operator.index(x)
    except Boom:
        return Refused(Boom)
    except TypeError:
        return Refused(TypeError)


def expect_int(x, lo: int, hi: int):
    v = as_int(x)
    if isinstance(v, Refused):
        return v
    return v if lo <= v <= hi else Refused(OverflowError)


F32_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]


def expect_float(x, f32: bool):
    if isinstance(x, (int, float)):
        try:
            d = float(x)
        except OverflowError:
            return Refused(OverflowError)
    elif hasattr(type(x), "__float__") or hasattr(type(x), "__index__"):
        try:
            d = float(x) if hasattr(type(x), "__float__") else float(operator.index(x))
        except Boom:
            return Refused(Boom)
        except (TypeError, OverflowError) as e:
            return Refused(type(e))
    else:
        return Refused(TypeError)
    if f32:
        if math.isfinite(d) and abs(d) > F32_MAX:
            # Rounds to inf unless within half an ulp of the largest float: the C cast decides.
            try:
                return struct.unpack("<f", struct.pack("<f", d))[0]
            except OverflowError:
                return Refused(OverflowError)
        return struct.unpack("<f", struct.pack("<f", d))[0]
    return d


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return a == b and type(a) is type(b) if isinstance(a, bool) or isinstance(b, bool) else a == b


def check_against(out: Outcome, want, what: str):
    if isinstance(want, Refused):
        assert not out.ok, f"{what}: accepted, returning {out.value!r}; the rules refuse it ({want})"
        assert isinstance(out.error, want.classes), f"{what}: {out.error!r}, expected {want}"
    else:
        assert out.ok, f"{what}: refused with {out.error!r}; the rules accept it as {want!r}"
        assert same(out.value, want), f"{what}: returned {out.value!r}, expected {want!r}"


# C scalar parameter -> (lo, hi) | "f32" | "f64" | "bool"
INT_RANGES = {"i8": (-128, 127), "u8": (0, 255), "i16": (-(2**15), 2**15 - 1), "u16": (0, 2**16 - 1),
              "int32": (-(2**31), 2**31 - 1), "u32": (0, 2**32 - 1), "int64": (-(2**63), 2**63 - 1),
              "u64": (0, 2**64 - 1), "bool": (0, 1),
              # wasm-level units (plain exports, Func.typed): the signed and unsigned range of the width
              "i32": (-(2**31), 2**32 - 1), "i64": (-(2**63), 2**64 - 1)}


def expect_scalar(unit: str, x):
    if unit in ("f32", "f64"):
        return expect_float(x, unit == "f32")
    if unit == "bool":
        v = True if x is True else False if x is False else expect_int(x, 0, 1)
        return v if isinstance(v, Refused) else bool(v)
    lo, hi = INT_RANGES[unit]
    return expect_int(x, lo, hi)


def result_as(unit: str, v):
    """What a value that went in as `unit` comes back as from an identity function."""
    if isinstance(v, (Refused, float, bool)):
        return v
    if unit == "i32":
        return v - 2**32 if v >= 2**31 else v
    if unit == "i64":
        return v - 2**64 if v >= 2**63 else v
    return v


# ---- exported functions (Func) and typed units ---------------------------------------------------

IDS_WAT = """(module (memory (export "memory") 1)
  (func (export "id32") (param i32) (result i32) local.get 0)
  (func (export "id64") (param i64) (result i64) local.get 0)
  (func (export "idf32") (param f32) (result f32) local.get 0)
  (func (export "idf64") (param f64) (result f64) local.get 0)
  (func (export "many") (param """ + " ".join(["i32"] * 40) + """) (result i32) local.get 39)
  (func (export "pick") (param i32 i64 f32 f64) (result f64)
    local.get 0 f64.convert_i32_s local.get 1 f64.convert_i64_s f64.add
    local.get 2 f64.promote_f32 f64.add local.get 3 f64.add))"""

WASM_OF = {"id32": "i32", "id64": "i64", "idf32": "f32", "idf64": "f64"}
# Units Func.typed() takes, by the wasm slot type they need.
TYPED_UNITS = {"i32": ["i32", "u32", "i8", "u8", "i16", "u16", "int32", "bool", "ptr"],
               "i64": ["i64", "u64", "int64"], "f32": ["f32"], "f64": ["f64"]}


@pytest.fixture(scope="module")
def ids():
    return wasmffi.load(IDS_WAT)


def typed_result(unit: str, v):
    if isinstance(v, Refused):
        return v
    if unit == "ptr":
        return v
    return result_as(unit, v)


@SETTINGS
@given(name=st.sampled_from(sorted(WASM_OF)), x=scalar_args())
def test_plain_exports_take_each_wasm_scalar_by_the_rules(ids, name, x):
    wasm = WASM_OF[name]
    out = attempt(getattr(ids.exports, name), name, None, x)
    if not out.ok and not isinstance(out.error, Boom):
        check_message(out.error, name, position=1)
    check_against(out, result_as(wasm, expect_scalar(wasm, x)), f"{name}({x!r})")


@SETTINGS
@given(name=st.sampled_from(sorted(WASM_OF)), data=st.data())
def test_typed_units_take_and_return_by_their_declared_type(ids, name, data):
    wasm = WASM_OF[name]
    unit = data.draw(st.sampled_from(TYPED_UNITS[wasm]), label="unit")
    x = data.draw(scalar_args(), label="x")
    f = getattr(ids.exports, name).typed(params=[unit], results=[unit])
    out = attempt(f, name, None, x)
    model_unit = "u32" if unit == "ptr" else unit
    check_against(out, typed_result(model_unit, expect_scalar(model_unit, x)), f"{name}.typed({unit})({x!r})")


@SETTINGS
@given(args=st.lists(scalar_args(), min_size=0, max_size=6))
def test_plain_export_with_four_kinds_refuses_the_first_bad_argument(ids, args):
    out = attempt(ids.exports.pick, "pick", None, *args)
    if len(args) != 4:
        assert not out.ok and isinstance(out.error, TypeError)
        return
    wants = [expect_scalar(k, a) for k, a in zip(("i32", "i64", "f32", "f64"), args)]
    bad = next((i for i, w in enumerate(wants) if isinstance(w, Refused)), None)
    if bad is not None:
        check_against(out, wants[bad], f"pick{tuple(args)!r}")
        if isinstance(out.error, OverflowError):
            check_message(out.error, "pick", position=bad + 1)
        return
    a = result_as("i32", wants[0])
    b = result_as("i64", wants[1])
    expect = ((float(a) + float(b)) + float(wants[2])) + wants[3]
    check_against(out, expect, f"pick{tuple(args)!r}")


@SETTINGS
@given(k=st.integers(0, 39), x=scalar_args())
def test_plain_export_beyond_the_stack_slots_names_the_bad_argument(ids, k, x):
    """40 parameters: more than the 32 slots a call keeps on the C stack (a heap buffer then)."""
    args = [7] * 40
    args[k] = x
    out = attempt(ids.exports.many, "many", None, *args)
    want = expect_scalar("i32", x)
    if isinstance(want, Refused):
        check_against(out, want, f"many(... {x!r} at {k} ...)")
        if not isinstance(out.error, Boom):
            check_message(out.error, "many", position=k + 1)
    else:
        assert out.ok and out.value == result_as("i32", want if k == 39 else 7), out


@FEW
@given(params=st.one_of(st.just(None), st.lists(st.sampled_from(["i32", "u32", "u8", "ptr", "f32", "nope", ""]),
                                                 max_size=3),
                         st.text(max_size=3), junk(), st.lists(junk(), max_size=2)),
       release=st.one_of(st.none(), st.booleans(), junk(), int_likes()))
def test_typed_refuses_bad_declarations_cleanly(ids, params, release):
    f = ids.exports.id32
    try:
        g = f.typed(params=params, results=None, release_gil=release)
    except (TypeError, ValueError) as e:
        assert "typed(" in str(e), str(e)
        return
    assert params is None or (isinstance(params, list) and len(params) == 1 and params[0] in TYPED_UNITS["i32"])
    assert release is None or isinstance(release, bool)
    assert g(1) == 1


# ---- declared scalars ----------------------------------------------------------------------------

DECLARED_SCALARS = {"id_i8": "i8", "id_u8": "u8", "id_i16": "i16", "id_u16": "u16", "id_i32": "int32",
                    "id_u32": "u32", "id_i64": "int64", "id_u64": "u64", "id_f32": "f32", "id_f64": "f64",
                    "id_bool": "bool", "id_char": "i8", "id_long": "int32", "id_size": "u32",
                    "id_mode": "u32", "id_sign": "int32"}


@SETTINGS
@given(name=st.sampled_from(sorted(DECLARED_SCALARS)), x=scalar_args())
def test_declared_scalar_parameters_follow_their_c_type(inst_on, name, x):
    inst = inst_on
    unit = DECLARED_SCALARS[name]
    if inst.memory.is64:
        unit = {"id_long": "int64", "id_size": "u64"}.get(name, unit)
    out = attempt(getattr(inst.exports, name), name, inst.memory, x)
    want = expect_scalar(unit, x)
    check_against(out, want, f"{name}({x!r})")
    if not out.ok and not isinstance(out.error, Boom):
        check_message(out.error, name, "x", 1)
    if out.ok and name in ("id_mode", "id_sign"):
        members = {"id_mode": {0: "FAST", 4: "SAFE", 0x7FFFFFFF: "BIG"}, "id_sign": {-2: "NEG", 2: "POS"}}[name]
        if want in members:
            assert out.value.name == members[want]


@SETTINGS
@given(args=st.tuples(*[st.one_of(st.integers(-200, 70000), scalar_args())] * 5))
def test_declared_scalars_refuse_the_first_bad_argument_and_name_it(inst, args):
    units = ("i8", "u16", "int64", "f32", "bool")
    out = attempt(inst.exports.mix, "mix", inst.memory, *args)
    wants = [expect_scalar(u, a) for u, a in zip(units, args)]
    bad = next((i for i, w in enumerate(wants) if isinstance(w, Refused)), None)
    if bad is not None:
        check_against(out, wants[bad], f"mix{args!r}")
        if not isinstance(out.error, Boom):
            check_message(out.error, "mix", "abcde"[bad], bad + 1)
        return
    a, b, c, d, e = wants
    expect = float(a) + float(b) + float(c) + float(d) + (0.5 if e else 0.0)
    check_against(out, expect, f"mix{args!r}")


# ---- buffers: the reference model of docs/cdef.md "Marshalling plans" ----------------------------

RAW_FORMATS = {"B", "b", "c"}
FORMAT_KINDS = {**{c: "int" for c in "hHiIlLqQnN"}, **{c: "float" for c in "efd"}, "?": "bool"}
UNIT_KIND = {"u8": "int", "i8": "int", "u16": "int", "int32": "int", "u32": "int", "f64": "float"}
PACK = {"u8": "B", "i8": "b", "u16": "H", "int32": "i", "u32": "I", "f64": "d"}


def expect_buffer(x, elem, size: int, writes: bool, count=None, cstring=False):
    """Refused(...), or the bytes the callee is given for `x` (a C string's without its NUL).
    `elem` is the element's unit, None for a struct."""
    if isinstance(x, bool) or x is None:
        return Refused(TypeError)
    if cstring and isinstance(x, str):
        try:
            data = x.encode("utf-8")
        except UnicodeEncodeError:
            return Refused(ValueError)
        return Refused(ValueError) if b"\0" in data else data
    if isinstance(x, (list, tuple)):
        if writes or elem is None:
            return Refused(TypeError)
        vals = []
        for item in x:
            v = expect_scalar(elem, item)
            if isinstance(v, Refused):
                return v
            vals.append(v)
        data = struct.pack("<" + PACK[elem] * len(vals), *vals) if elem != "u8" else bytes(v & 0xFF for v in vals)
    else:
        try:
            m = memoryview(x)
        except TypeError:
            return Refused(TypeError)
        except ValueError:  # a released memoryview
            return Refused(TypeError, ValueError)
        except Boom:  # __buffer__ raised (Python 3.12+): refused, as its own error or a TypeError
            return Refused(TypeError, Boom)
        with m:
            if not m.c_contiguous:
                return Refused(TypeError)
            if writes and m.readonly:
                return Refused(TypeError)
            fmt = m.format[1:] if m.format[:1] in "@=<" else m.format
            if fmt not in RAW_FORMATS:
                if len(fmt) != 1 or elem is None or m.itemsize != size or FORMAT_KINDS.get(fmt) != UNIT_KIND[elem]:
                    return Refused(TypeError)
            data = m.tobytes()
    # A C string given as bytes or as a list of numbers passes as it is, NULs included: the
    # callee sees it end at the first one.
    if cstring and b"\0" in data:
        return EmbeddedNul(data)
    if count is not None and len(data) != count * size:
        return Refused(ValueError)
    if len(data) % size:
        return Refused(ValueError)
    return data


class EmbeddedNul(Refused):
    """Bytes with a NUL for `const char *`: refused (ValueError) today; issue 16 item 9 passes
    bytes as they are, so the callee sees the string up to the first NUL. Either is accepted."""

    def __init__(self, data: bytes):
        super().__init__(ValueError)
        self.data = data


def f64_sum(values) -> float:
    s = 0.0
    for v in values:
        s += v
    return s


def unpack(fmt: str, data: bytes):
    return struct.unpack("<" + fmt * (len(data) // struct.calcsize(fmt)), data)


def upcased(data: bytes) -> bytes:
    end = data.find(b"\0")
    end = len(data) if end < 0 else end
    return data[:end].upper() + data[end:] if data[:end].isascii() else bytes(
        (b - 32 if 97 <= b <= 122 else b) for b in data[:end]) + data[end:]


def wrap32(v: int) -> int:
    return (v + 2**31) % 2**32 - 2**31


def area(x0, y0, x1, y1) -> int:
    """rect_area's arithmetic: int32 differences (wrapping, as wasm does), multiplied in int64."""
    return (wrap32(x1 - x0) * wrap32(y1 - y0) + 2**63) % 2**64 - 2**63


class BufCase:
    """One buffer parameter under test: how to call with it, what the rules say it holds, and
    what the call must return (and leave in a writable argument) for the bytes it was given."""

    def __init__(self, fname, param, elem, size, *, writes=False, count=None, cstring=False, args=(), kw=None,
                 result=None, after=None):
        self.fname, self.param, self.elem, self.size = fname, param, elem, size
        self.writes, self.count, self.cstring = writes, count, cstring
        self.args, self.kw = args, kw or {}
        self.result = result    # data -> expected result (None: not checked)
        self.after = after      # data -> expected contents of the caller's buffer after the call

    def __repr__(self) -> str:
        return f"BufCase({self.fname}.{self.param})"


BUF_CASES = [
    BufCase("sum", "p", "u8", 1, result=lambda d: sum(d)),
    BufCase("sum_i32", "xs", "int32", 4, result=lambda d: sum(unpack("i", d))),
    BufCase("sum_f64", "xs", "f64", 8, result=lambda d: f64_sum(unpack("d", d))),
    BufCase("sum_u16_bytes", "v", "u16", 2, result=lambda d: sum(unpack("H", d))),
    BufCase("key_sum", "key", "u8", 1, count=8, result=lambda d: sum(b * (i + 1) for i, b in enumerate(d))),
    BufCase("fill", "buf", "u8", 1, writes=True, args=(3,), result=lambda d: None,
            after=lambda d: bytes((3 + i) & 0xFF for i in range(len(d)))),
    BufCase("rev4", "v", "u16", 2, writes=True, count=4, result=lambda d: None,
            after=lambda d: struct.pack("<4H", *[(v + 1) & 0xFFFF for v in reversed(unpack("H", d))])),
    BufCase("iota8", "dst", "i8", 1, writes=True, count=8, args=(5,), result=lambda d: None,
            after=lambda d: bytes(range(5, 13))),
    BufCase("slen", "s", "i8", 1, cstring=True, result=lambda d: len(d)),
    BufCase("upcase", "s", "i8", 1, writes=True, result=lambda d: None,
            after=lambda d: upcased(d) if b"\0" in d else None),
    BufCase("rect_area", "r", None, 16,
            result=lambda d: area(*unpack("i", d[:16])) if len(d) >= 16 else None),
    BufCase("rect_norm", "r", None, 16, writes=True, result=lambda d: None,
            after=lambda d: (lambda a, b, c, e: struct.pack("<4i", min(a, c), min(b, e), max(a, c), max(b, e)))(
                *unpack("i", d[:16])) + d[16:] if len(d) >= 16 else None),
    BufCase("bounds", "pts", None, 8, args=(None,)),
]


def buffer_args(case: BufCase):
    """Anything a buffer parameter may be given, but int addresses (tested below)."""
    return st.one_of(
        shaped_buffers().map(lambda t: t[1]),
        st.lists(st.one_of(st.integers(-5, 300), scalar_args()), max_size=10),
        st.lists(st.integers(0, 255), max_size=24).map(tuple),
        st.lists(st.integers(0, 255), max_size=24).map(ListSub),
        st.lists(st.integers(0, 255), max_size=24).map(TupleSub),
        st.text(max_size=8),
        st.text(max_size=8).map(StrSub),
        st.sampled_from(["\ud800", "a\udfffb", "\0", "x\0y", "\u00e9t\u00e9", "\U0001f600"]),
        st.binary(max_size=24),
        st.binary(max_size=24).map(BytesSub),
        st.binary(max_size=24).map(ByteArraySub),
        st.binary(max_size=24).map(bytearray),
        junk().filter(lambda j: not isinstance(j, (str, list))),
        st.floats(),
        st.sampled_from([True, False]),
    )


@SETTINGS
@given(data=st.data())
def test_buffer_parameters_take_exactly_what_the_rules_allow(inst_on, data):
    inst = inst_on
    case = data.draw(st.sampled_from(BUF_CASES), label="case")
    x = data.draw(buffer_args(case), label="x")
    fn = getattr(inst.exports, case.fname)
    if x is None and case.writes:  # None for an output: allocated, and returned after the C result
        out = attempt(fn, case.fname, inst.memory, x, *case.args, **case.kw)
        assert out.ok, out
        got = out.value
        zeros = bytes(case.size * (case.count or 1))
        if case.count is None:  # `T *`: one element, returned as a value
            expect = case.after(zeros) if case.after else zeros
            if case.elem is None:
                assert bytes(got) == expect, out
            else:
                assert got == struct.unpack("<" + PACK[case.elem], expect[:case.size])[0], out
        else:
            expect = case.after(zeros)
            assert (bytes(got) if case.size == 1 else struct.pack(f"<{case.count}{PACK[case.elem]}", *got)) == expect
        return
    want = expect_buffer(x, case.elem, case.size, case.writes, case.count, case.cstring)
    out = attempt(fn, case.fname, inst.memory, x, *case.args, guard=[x] if raw_bytes(x) is not None else [],
                  **case.kw)
    if isinstance(want, EmbeddedNul) and out.ok:
        assert out.value == want.data.index(b"\0"), out
        return
    if isinstance(want, Refused):
        check_against(out, want, f"{case.fname}({x!r})")
        if not isinstance(out.error, Boom):
            check_message(out.error, case.fname, case.param, 1)
        return
    assert out.ok, f"{case.fname}({x!r}): refused with {out.error!r}; the rules pass it as {want!r}"
    expect = case.result(want) if case.result else None
    if case.fname == "bounds":
        rc, rect = out.value
        pts = unpack("i", want)
        if not pts:
            assert rc == -1 and bytes(rect) == bytes(16)
        else:
            xs, ys = pts[0::2], pts[1::2]
            assert rc == 0 and bytes(rect) == struct.pack("<4i", min(xs), min(ys), max(xs), max(ys))
    elif expect is not None:
        assert same(out.value, expect), f"{case.fname}({x!r}) returned {out.value!r}, expected {expect!r}"
    if case.after is not None and raw_bytes(x) is not None:
        new = case.after(want)
        if new is not None:
            assert raw_bytes(x) == new, f"{case.fname}({x!r}) left {raw_bytes(x)!r}, expected {new!r}"


def test_list_for_a_c_string_is_terminated(wasm_path):
    """A list of numbers for `const char *` is converted element by element (docs/cdef.md), but
    no NUL is added: the callee reads on into whatever follows the copy (here: 'A's written past
    the allocator's top; in a fresh instance zeros, which hide the bug)."""
    inst = wasmffi.load(wasm_path, cdef=CDEF)
    mem, top = inst.memory, inst.raw_exports.bump_mark()
    mem.write(top, b"A" * (len(mem) - top - 1) + b"\0")
    assert inst.exports.slen((66,) * 3) == 3
    assert inst.exports.slen([66] * 16) == 16


# ---- int addresses -------------------------------------------------------------------------------

def addresses(size: int):
    return st.one_of(st.integers(0, size), st.integers(size - 40, size + 40), st.sampled_from(
        [-1, -(2**40), 2**32, 2**64 - 1, 2**64, 2**100]), st.integers(0, size).map(IntSub))


@SETTINGS
@given(data=st.data())
def test_int_addresses_are_used_in_bounds_or_refused(inst, data):
    mem = inst.memory
    size = len(mem)
    addr = data.draw(addresses(size), label="addr")
    n = data.draw(st.one_of(st.none(), st.integers(0, 64), st.integers(-3, size + 8), st.sampled_from([2**32, 2**64])),
                  label="n")
    fname = data.draw(st.sampled_from(["sum", "key_sum", "fill", "slen", "rect_area"]), label="fname")
    fn = getattr(inst.exports, fname)
    kw = {"n": n} if fname in ("sum", "fill") and n is not None else {}
    args = (addr, 9) if fname == "fill" else (addr,)
    before = snapshot(mem)
    out = attempt(fn, fname, mem, *args, allow_trap=fname in ("rect_area", "slen"), **kw)
    span = {"sum": n, "fill": n, "key_sum": 8, "rect_area": 16}.get(fname)
    if addr < 0 or addr >= 2**64:
        assert not out.ok and isinstance(out.error, (wasmffi.MemoryAccessError, OverflowError)), out
        return
    if fname in ("sum", "fill") and n is None:
        assert not out.ok and isinstance(out.error, TypeError), out
        check_message(out.error, fname, "n")
        return
    if span is not None and (span < 0 or span > 2**32 - 1):
        assert not out.ok and isinstance(out.error, (OverflowError, ValueError)), out
        return
    if fname == "slen":
        end = before.find(b"\0", addr)
        if addr > size or end < 0:
            assert not out.ok and isinstance(out.error, wasmffi.Error), out  # a MemoryAccessError or a trap
        else:
            assert out.ok and out.value == end - addr, out
        return
    if addr + span > size:
        if fname == "rect_area" and addr <= size:
            # An address for `const struct rect *` is checked for 0 bytes, not one record: the
            # callee traps. See test_address_for_a_record_pointer_is_checked_for_one_record.
            assert not out.ok and isinstance(out.error, (wasmffi.MemoryAccessError, wasmffi.MemoryOutOfBounds)), out
            return
        assert not out.ok and isinstance(out.error, wasmffi.MemoryAccessError), out
        return
    assert out.ok, out
    region = before[addr:addr + span]
    if fname == "sum":
        assert out.value == sum(region)
    elif fname == "key_sum":
        assert out.value == sum(b * (i + 1) for i, b in enumerate(region))
    elif fname == "rect_area":
        assert out.value == area(*unpack("i", region))
    else:
        assert mem.read(addr, span) == bytes((9 + i) & 0xFF for i in range(span))
        mem.write(addr, region)  # restore
    after = snapshot(mem)
    if fname != "fill":
        assert after == before or fname == "rect_area"


# ---- outputs: None, out(n), size_is, fixed arrays ------------------------------------------------

def out_args():
    return st.one_of(
        st.none(),
        st.integers(0, 40).map(wasmffi.out),
        st.sampled_from([2**33, 2**40]).map(wasmffi.out),  # more than memory_reservation: cannot fit
        st.binary(max_size=40).map(bytearray),
        shaped_buffers(40).map(lambda t: t[1]),
        junk().filter(lambda j: j is not None),
    )


@SETTINGS
@given(buf=out_args(), value=st.one_of(st.integers(0, 255), scalar_args()))
def test_out_buffer_with_a_linked_length(inst, buf, value):
    out = attempt(inst.exports.fill_out, "fill_out", inst.memory, buf, value,
                  guard=[buf] if raw_bytes(buf) is not None else [])
    v = expect_scalar("u8", value)
    if buf is None or isinstance(buf, Out):
        n = 1 if buf is None else buf.count
        if n > 2**32:  # more than a wasm32 memory holds: refused first (buf comes before value)
            assert not out.ok and isinstance(out.error, ValueError), out
            check_message(out.error, "fill_out", "buf")
        elif isinstance(v, Refused):
            check_against(out, v, f"fill_out({buf!r}, {value!r})")
        elif n >= 2**31:
            assert not out.ok and isinstance(out.error, (wasmffi.ResourceError, OverflowError, ValueError)), out
        else:
            expect = bytes((v + i) & 0xFF for i in range(n))
            assert out.ok and out.value == (expect[0] if buf is None else expect), out
        return
    want = expect_buffer(buf, "u8", 1, True)
    if isinstance(want, Refused) or isinstance(v, Refused):
        assert not out.ok, out
        return
    assert out.ok and out.value is None, out
    assert raw_bytes(buf) == bytes((v + i) & 0xFF for i in range(len(want)))


@SETTINGS
@given(dst=out_args(), count=st.one_of(st.integers(0, 40), scalar_args()), seed=st.integers(0, 2**32 - 1))
def test_size_is_output(inst, dst, count, seed):
    v = as_int(count)
    assume(not (isinstance(v, int) and 2**12 < v < 2**30))  # an output that fits, but grows memory a lot
    out = attempt(inst.exports.gen, "gen", inst.memory, dst, count, seed,
                  guard=[dst] if raw_bytes(dst) is not None else [])
    n = expect_scalar("u32", count)
    if isinstance(n, Refused):
        assert not out.ok, out
        return
    expect = [(seed * (i + 1)) & 0xFFFFFFFF for i in range(n)] if n <= 2**12 else None
    if dst is None or isinstance(dst, Out):
        if dst is not None and dst.count != n:
            assert not out.ok and isinstance(out.error, ValueError), out
            check_message(out.error, "gen", "dst")
        elif n > 2**12:  # 2**30 and more 4-byte elements: beyond memory_reservation
            assert not out.ok and isinstance(out.error, (wasmffi.ResourceError, ValueError)), out
        else:
            assert out.ok and out.value == expect, out
        return
    want = expect_buffer(dst, "u32", 4, True)
    if isinstance(want, Refused) or len(want) < 4 * n:
        assert not out.ok, out
        return
    assert out.ok and out.value is None, out
    assert raw_bytes(dst)[:4 * n] == struct.pack(f"<{n}I", *expect)


@SETTINGS
@given(dst=out_args(), src=st.one_of(st.binary(max_size=40), buffer_args(BUF_CASES[0])))
def test_size_is_output_beside_an_input(inst, dst, src):
    out = attempt(inst.exports.copy_bytes, "copy_bytes", inst.memory, dst, src,
                  guard=[b for b in (dst, src) if raw_bytes(b) is not None])
    data = expect_buffer(src, "u8", 1, False)
    if isinstance(data, Refused):
        assert not out.ok, out
        return
    if dst is None or (isinstance(dst, Out) and dst.count == len(data)):
        assert out.ok and out.value == data, out
    elif isinstance(dst, Out):
        assert not out.ok and isinstance(out.error, ValueError), out
    elif not isinstance(expect_buffer(dst, "u8", 1, True), Refused) and len(raw_bytes(dst)) >= len(data):
        assert out.ok and raw_bytes(dst)[:len(data)] == data, out
    else:
        assert not out.ok, out


@SETTINGS
@given(a=st.one_of(st.integers(-50, 50), scalar_args()), b=st.one_of(st.integers(-5, 5), scalar_args()),
       q=out_args(), r=out_args())
def test_scalar_out_parameters(inst, a, b, q, r):
    out = attempt(inst.exports.divmod, "divmod", inst.memory, a, b, q, r,
                  guard=[o for o in (q, r) if raw_bytes(o) is not None])
    va, vb = expect_scalar("int32", a), expect_scalar("int32", b)
    if isinstance(va, Refused) or isinstance(vb, Refused):
        assert not out.ok, out
        return
    outs = []
    for o in (q, r):
        if o is None:
            outs.append("scalar")
        elif isinstance(o, Out):
            outs.append("list" if o.count < 2**31 else "huge")
        else:
            w = expect_buffer(o, "int32", 4, True)
            outs.append("bad" if isinstance(w, Refused) else "empty" if not w else "buffer")
    if "bad" in outs or "huge" in outs:
        assert not out.ok, out
        return
    if "empty" in outs or any(o == "list" and x.count == 0 for o, x in zip(outs, (q, r))):
        # A zero-element output for an `int *` is accepted (any multiple of sizeof(int) is), and
        # the callee writes one int through it anyway: C's contract, not the boundary's.
        assert out.ok, out
        return
    assert out.ok, out
    ok = vb != 0 and not (va == -(2**31) and vb == -1)
    qq = int(va / vb) if ok else 0
    rr = va - vb * qq if ok else 0
    value = out.value if isinstance(out.value, tuple) else (out.value,)
    assert value[0] == (0 if ok else -1)
    returned = list(value[1:])
    for o, x, v in zip(outs, (q, r), (qq, rr)):
        if o == "scalar":
            got = returned.pop(0)
            assert got == v
        elif o == "list":
            got = returned.pop(0)
            assert got[0] == v and len(got) == x.count
        elif ok:
            assert unpack("i", raw_bytes(x)[:4])[0] == v


# ---- records: by value, by pointer, nested views, results ----------------------------------------

def record_args(cd):
    """Struct instances, nested views sharing a parent's bytes, views of arrays, and raw bytes."""
    Inner, Outer, Point, Rect, Blob = (cd.pytype(f"struct {n}") for n in ("inner", "outer", "point", "rect", "blob"))
    i32 = st.integers(-(2**31), 2**31 - 1)
    return st.one_of(
        i32.map(lambda x: Inner(x=x)),
        st.tuples(i32, i32).map(lambda t: Outer(a=t[0], b={"x": t[1]})),
        st.tuples(i32, i32).map(lambda t: Point(x=t[0], y=t[1])),
        st.tuples(i32, i32, i32, i32).map(lambda t: Rect(min={"x": t[0], "y": t[1]}, max={"x": t[2], "y": t[3]})),
        st.tuples(i32, i32).map(lambda t: Rect(min={"x": t[0], "y": t[1]}).min),      # nested view
        st.tuples(i32, i32).map(lambda t: Rect(max={"x": t[0], "y": t[1]}).max),
        st.tuples(st.integers(0, 255), st.floats(allow_nan=False), i32, i32).map(
            lambda t: Blob(tag=t[0], weight=t[1], codes=[1, 2, 3], at={"x": t[2], "y": t[3]})),
        st.tuples(i32, i32).map(lambda t: Blob(at={"x": t[0], "y": t[1]}).at),         # nested view, 8-aligned
        st.binary(min_size=0, max_size=40),
        st.just({"x": 1}),
        junk(),
    )


def record_bytes(x, cls, count):
    """The bytes an argument for a record parameter of class `cls` stands for, or Refused. A
    record by value is a buffer of exactly one record (count 1); by pointer, of any number."""
    if isinstance(x, cls):
        return bytes(x)
    if hasattr(x, "_ctype"):  # another record class: not a buffer
        return Refused(TypeError)
    return expect_buffer(x, None, cls._size, False, count)


@SETTINGS
@given(data=st.data())
def test_records_by_value_and_by_pointer(inst, cd, data):
    fname = data.draw(st.sampled_from(["outer_sum", "point_sum", "blob_score", "blob_bump", "rect_area", "get_x"]),
                      label="fname")
    x = data.draw(record_args(cd), label="x")
    cls = cd.pytype({"outer_sum": "struct outer", "point_sum": "struct point", "blob_score": "struct blob",
                     "blob_bump": "struct blob", "rect_area": "struct rect", "get_x": "struct inner"}[fname])
    out = attempt(getattr(inst.exports, fname), fname, inst.memory, x, guard=[x] if raw_bytes(x) is not None else [])
    if fname == "get_x":  # a single-scalar struct: only an instance of its class (no bytes)
        if isinstance(x, cls):
            assert out.ok and out.value == x.x, out
        else:
            assert not out.ok and isinstance(out.error, TypeError), out
            check_message(out.error, "get_x", "v", 1)
        return
    want = record_bytes(x, cls, None if fname == "rect_area" else 1)
    if isinstance(want, Refused):
        check_against(out, want, f"{fname}({x!r})")
        if not isinstance(out.error, Boom):
            param = {"outer_sum": "o", "point_sum": "p", "blob_score": "b", "blob_bump": "b", "rect_area": "r"}[fname]
            check_message(out.error, fname, param, 1)
        return
    assert out.ok, out
    if len(want) < cls._size:
        return  # fewer bytes than one record: the callee reads past them (C's contract, not checked)
    rec = cls.from_bytes(want[:cls._size])
    if fname == "outer_sum":
        expect = (rec.a + rec.b.x + 2**31) % 2**32 - 2**31
    elif fname == "point_sum":
        expect = (rec.x + rec.y + 2**31) % 2**32 - 2**31
    elif fname == "rect_area":
        expect = area(rec.min.x, rec.min.y, rec.max.x, rec.max.y)
    elif fname == "blob_score":
        expect = float(rec.tag) + rec.weight + rec.codes[0] + rec.codes[1] + rec.codes[2] + rec.at.x + rec.at.y
    else:
        rec.tag = (rec.tag + 1) & 0xFF
        rec.at.x = (rec.at.x + 1 + 2**31) % 2**32 - 2**31
        assert type(out.value) is cls and bytes(out.value)[:1] == bytes(rec)[:1]
        assert out.value.weight == rec.weight or math.isnan(rec.weight)
        assert list(out.value.codes) == list(rec.codes) and out.value.at == rec.at
        return
    assert same(out.value, expect), (out, expect)


@SETTINGS
@given(xs=st.tuples(*[st.one_of(st.integers(-(2**31), 2**31 - 1), scalar_args())] * 4))
def test_record_results(inst, cd, xs):
    out = attempt(inst.exports.rect_make, "rect_make", inst.memory, *xs)
    wants = [expect_scalar("int32", x) for x in xs]
    bad = next((i for i, w in enumerate(wants) if isinstance(w, Refused)), None)
    if bad is not None:
        check_against(out, wants[bad], f"rect_make{xs!r}")
        return
    Rect = cd.pytype("struct rect")
    assert out.ok and type(out.value) is Rect
    assert out.value == Rect(min={"x": wants[0], "y": wants[1]}, max={"x": wants[2], "y": wants[3]})
    one = attempt(inst.exports.inner_make, "inner_make", inst.memory, xs[0])
    assert one.ok and one.value == cd.pytype("struct inner")(x=wants[0])


@FEW
@given(x=st.one_of(junk(), st.integers(), st.binary(max_size=8), st.just({"x": 2**40}), st.just({"x": "a"}),
                   st.just({"nope": 1}), st.lists(st.integers(), max_size=3), shaped_buffers(8).map(lambda t: t[1]),
                   floats_any()))
def test_record_fields_and_constructors_refuse_cleanly(cd, x):
    """Struct classes (pure Python) are part of the boundary too: constructors, nested fields,
    array members, from_bytes and from_buffer take anything, and refuse with TypeError,
    ValueError or OverflowError naming the class or member."""
    Outer, Blob = cd.pytype("struct outer"), cd.pytype("struct blob")
    for make, names in [
        (lambda: Outer(b=x), ("struct outer member 'b'", "struct inner")),
        (lambda: Blob(codes=x), ("struct blob member 'codes'",)),
        (lambda: Blob(at=x), ("struct blob member 'at'", "struct point")),
        (lambda: Blob(weight=x), ("struct blob member 'weight'",)),
        (lambda: setattr(Blob(), "tag", x), ("struct blob member 'tag'",)),
        (lambda: Blob().codes.__setitem__(1, x), ("struct blob member 'codes'[1]",)),
        (lambda: Outer.from_bytes(x), ("outer.from_bytes()",)),
        (lambda: Outer.from_buffer(x), ("outer.from_buffer()",)),
        (lambda: Outer.from_buffer(bytes(16), x), ("outer.from_buffer()",)),
    ]:
        try:
            make()
        except Boom:
            pass
        except (TypeError, ValueError, OverflowError) as e:
            assert any(n in str(e) for n in names), (names, e)


# ---- Memory methods ------------------------------------------------------------------------------

MEM_SIZE = 65536
_alive = []


@pytest.fixture(scope="module")
def mem():
    inst = wasmffi.load('(module (memory (export "memory") 1 1))')
    m = inst.memory
    m.write(0, bytes((i * 37 + 11) % 251 + 1 for i in range(MEM_SIZE)))  # no NUL bytes...
    m.write(1000, b"\0")  # ...but these two
    m.write(MEM_SIZE - 100, b"\0")
    _alive.append(inst)  # the Memory keeps its instance alive too; this says so
    return m


def as_address(x):
    """to_address's rule: an int-like, unsigned and below 2**64."""
    v = as_int(x)
    if isinstance(v, Refused):
        return v
    if v < 0 or v >= 2**64:
        return Refused(wasmffi.MemoryAccessError)
    return v


def mem_ints():
    return st.one_of(st.integers(0, MEM_SIZE + 16), st.integers(MEM_SIZE - 16, MEM_SIZE + 16), int_likes(),
                     floats_any(), junk())


MEMORY_FUNCS = {"read", "view", "read_into", "write", "read_ptr", "write_ptr", "read_cstring",
                *(f"{rw}_{t}" for rw in ("read", "write") for t in ("i8", "u8", "i16", "u16", "i32", "u32", "i64",
                                                                    "u64", "f32", "f64"))}
TYPED = {"i8": "b", "u8": "B", "i16": "h", "u16": "H", "i32": "i", "u32": "I", "i64": "q", "u64": "Q",
         "f32": "f", "f64": "d"}


@SETTINGS
@given(data=st.data())
def test_memory_methods_take_addresses_lengths_and_values_by_the_rules(mem, data):
    method = data.draw(st.sampled_from(["read", "view", "read_into", "write", "read_cstring", "read_ptr",
                                        "write_ptr", "typed_read", "typed_write"]), label="method")
    addr = data.draw(mem_ints(), label="addr")
    before = snapshot(mem)
    a = as_address(addr)
    if method in ("read", "view"):
        n = data.draw(st.one_of(st.integers(0, 64), mem_ints()), label="n")
        out = attempt(getattr(mem, method), method, mem, addr, n)
        ln = as_address(n)
        want = next((w for w in (a, ln) if isinstance(w, Refused)), None)
        if want is None and a + ln > MEM_SIZE:
            want = Refused(wasmffi.MemoryAccessError)
        if want is not None:
            return check_against(out, want, f"{method}({addr!r}, {n!r})")
        assert out.ok and bytes(out.value) == before[a:a + ln], out
    elif method in ("read_into", "write"):
        kind = data.draw(st.sampled_from(["shaped", "junk", "guest view", "bytearray"]), label="kind")
        if kind == "shaped":
            buf = data.draw(shaped_buffers(), label="buf")[1]
        elif kind == "junk":
            buf = data.draw(junk(), label="buf")
        else:
            buf = mem.view(100, 16) if kind == "guest view" else bytearray(8)
        raw = raw_bytes(buf)
        out = attempt(getattr(mem, method), method, mem, addr, buf, guard=[buf] if raw is not None else [])
        if isinstance(a, Refused):
            return check_against(out, a, f"{method}({addr!r}, ...)")
        usable = raw is not None and (method == "write" or not memoryview(buf).readonly)
        if not usable:
            assert not out.ok and isinstance(out.error, (TypeError, ValueError)), out
            return
        if a + len(raw) > MEM_SIZE:
            assert not out.ok and isinstance(out.error, wasmffi.MemoryAccessError), out
            return
        assert out.ok and out.value == len(raw), out
        if method == "write":
            assert mem.read(a, len(raw)) == raw
            mem.write(0, before)
        else:
            assert raw_bytes(buf) == before[a:a + len(raw)]
    elif method == "read_cstring":
        cap = data.draw(st.one_of(st.none(), st.integers(0, 2000), mem_ints()), label="max_len")
        out = attempt(mem.read_cstring, "read_cstring", mem, addr, cap)
        c = None if cap is None else as_address(cap)
        refusals = [w for w in (a, c) if isinstance(w, Refused)]
        if refusals or (a > MEM_SIZE and c is not None):
            # Two bad arguments: either refusal may come first (the address is bounds-checked
            # before max_len is read), and each is documented.
            if not isinstance(a, Refused) and a > MEM_SIZE:
                refusals.append(Refused(wasmffi.MemoryAccessError))
            assert not out.ok, out
            assert isinstance(out.error, tuple(k for r in refusals for k in r.classes)), (out, refusals)
            return
        if a > MEM_SIZE:
            assert not out.ok and isinstance(out.error, wasmffi.MemoryAccessError), out
            return
        end = before.find(b"\0", a)
        limit = MEM_SIZE - a if c is None else min(c, MEM_SIZE - a)
        if end < 0 or end - a >= limit:
            assert not out.ok and isinstance(out.error, (ValueError, wasmffi.MemoryAccessError)), out
        else:
            assert out.ok and out.value == before[a:end], out
    elif method in ("read_ptr", "typed_read"):
        t = "u32" if method == "read_ptr" else data.draw(st.sampled_from(sorted(TYPED)), label="t")
        fname = "read_ptr" if method == "read_ptr" else f"read_{t}"
        out = attempt(getattr(mem, fname), fname, mem, addr)
        size = struct.calcsize(TYPED[t])
        if not isinstance(a, Refused) and a + size > MEM_SIZE:
            a = Refused(wasmffi.MemoryAccessError)
        if isinstance(a, Refused):
            return check_against(out, a, f"{fname}({addr!r})")
        assert out.ok and same(out.value, struct.unpack_from("<" + TYPED[t], before, a)[0]), out
    else:
        t = "u32" if method == "write_ptr" else data.draw(st.sampled_from(sorted(TYPED)), label="t")
        fname = "write_ptr" if method == "write_ptr" else f"write_{t}"
        value = data.draw(st.one_of(scalar_args(), st.integers(-(2**64), 2**64)), label="value")
        out = attempt(getattr(mem, fname), fname, mem, addr, value)
        size = struct.calcsize(TYPED[t])
        if method == "write_ptr":
            v = as_address(value)
            if not isinstance(v, Refused) and v > 2**32 - 1:
                v = Refused(OverflowError)
        elif t in ("f32", "f64"):
            v = expect_float(value, t == "f32")
        else:
            lo = -(2 ** (8 * size - 1)) if t[0] == "i" else 0
            v = expect_int(value, lo, 2 ** (8 * size) - 1)
        if not isinstance(a, Refused) and a + size > MEM_SIZE:
            a = Refused(wasmffi.MemoryAccessError)
        want = next((w for w in (a, v) if isinstance(w, Refused)), None)
        if want is not None:
            assert not out.ok, out
            # Either refusal may be reported first; both are of a documented class.
            assert isinstance(out.error, a.classes if isinstance(a, Refused) else ()) or isinstance(
                out.error, v.classes if isinstance(v, Refused) else ()), (out, a, v)
            return
        assert out.ok, out
        code = TYPED[t]
        if code in "fd":
            stored = struct.pack("<" + code, v)
        else:
            stored = (v % 2 ** (8 * size)).to_bytes(size, "little")
        assert mem.read(a, size) == stored
        mem.write(0, before)


@FEW
@given(data=st.data())
def test_python_written_memory_methods_refuse_cleanly(mem, data):
    """read_array, write_array, pack_into, unpack_from, ndarray, grow: written in Python over the
    checked core calls; hostile arguments end in a documented exception naming the method."""
    method = data.draw(st.sampled_from(["read_array", "write_array", "pack_into", "unpack_from", "ndarray",
                                        "grow"]), label="method")
    addr = data.draw(mem_ints(), label="addr")
    before = snapshot(mem)
    if method == "read_array":
        count = data.draw(st.one_of(st.integers(0, 32), mem_ints()), label="count")
        t = data.draw(st.one_of(st.sampled_from(sorted(TYPED)), junk()), label="type")
        out = attempt(mem.read_array, "read_array", mem, addr, count, t)
        if out.ok:
            a, n = as_address(addr), as_address(count)
            assert out.value.tobytes() == before[a:a + n * out.value.itemsize]
    elif method == "write_array":
        values = data.draw(st.one_of(st.lists(st.one_of(st.integers(-300, 300), scalar_args()), max_size=6),
                                     shaped_buffers().map(lambda t: t[1]), junk()), label="values")
        t = data.draw(st.one_of(st.sampled_from(sorted(TYPED)), junk()), label="type")
        out = attempt(mem.write_array, "write_array", mem, addr, values, t)
        if out.ok:
            mem.write(0, before)
    elif method == "pack_into":
        fmt = data.draw(st.sampled_from(["<i", "B", "2h", "d", "x", "<Q", "s", "10s", "P", 5]), label="fmt")
        values = data.draw(st.lists(scalar_args(), max_size=3), label="values")
        out = attempt(mem.pack_into, "pack_into", mem, fmt, addr, *values, also=(struct.error,))
        if out.ok:
            mem.write(0, before)
    elif method == "unpack_from":
        fmt = data.draw(st.sampled_from(["<i", "B", "2h", "d", "x", "<Q", "10s", "", 5]), label="fmt")
        out = attempt(mem.unpack_from, "unpack_from", mem, fmt, addr, also=(struct.error,))
    elif method == "ndarray":
        dtype = data.draw(st.sampled_from([np.uint8, "<i4", "f8", ">u2", object, "x", None]), label="dtype")
        shape = data.draw(st.one_of(st.integers(-2, 40), st.lists(st.integers(-1, 8), max_size=3), junk()),
                          label="shape")
        out = attempt(mem.ndarray, "ndarray", mem, addr, dtype, shape)
    else:
        out = attempt(mem.grow, "grow", mem, addr)
        if out.ok:
            assert out.value == 1 and as_address(addr) == 0  # (memory 1 1): only grow(0) succeeds
    assert snapshot(mem) == before


# ---- crashes, each in a child process -------------------------------------------------------------
# Each reproducer runs in its own interpreter, so a segmentation fault fails one test instead of
# killing the run. The child prints how the call ended; the test accepts a documented exception or
# the right result, and nothing else (a signal, SystemError, MemoryError, a wrong value).

CHILD_PRELUDE = """
import os, sys
sys.path.insert(0, {here!r})
import wasmffi
from wasmffi.cdef._model import Out
from _hostile import *
CDEF = os.environ["BOUNDARY_CDEF"]
inst = wasmffi.load(os.environ["BOUNDARY_WASM"], cdef=CDEF)
lib, cd = inst.exports, inst.cdef
DOCUMENTED = (TypeError, ValueError, OverflowError, wasmffi.MemoryAccessError, wasmffi.ResourceError)
# A trap is documented too, but is the callee's doing: each test that expects one says so.
def outcome(f, *args, **kw):
    try:
        r = f(*args, **kw)
    except DOCUMENTED as e:
        if isinstance(e, (UnicodeError, wasmffi.Trap)):
            print("UNDOCUMENTED", type(e).__name__, e)
        else:
            print("REFUSED", type(e).__name__, e)
        return None
    except Exception as e:
        print("UNDOCUMENTED", type(e).__name__, e)
        return None
    print("RESULT", repr(r))
    return r
"""


def run_child(wasm_path, body: str, cdef: str = CDEF) -> subprocess.CompletedProcess:
    code = CHILD_PRELUDE.format(here=str(HERE)) + textwrap.dedent(body)
    env = dict(os.environ, BOUNDARY_WASM=str(wasm_path), BOUNDARY_CDEF=cdef)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def assert_child_ok(proc: subprocess.CompletedProcess, *, results=None):
    """The child ended normally, and every call in it either returned what `results` says (in
    order; None: any result) or was refused with a documented exception."""
    assert proc.returncode == 0, f"child died with {proc.returncode}: {proc.stderr[-2000:]}"
    lines = [ln for ln in proc.stdout.splitlines() if ln.split(" ", 1)[0] in ("RESULT", "REFUSED", "UNDOCUMENTED")]
    assert lines, proc.stdout
    for i, ln in enumerate(lines):
        assert not ln.startswith("UNDOCUMENTED"), ln
        if results is not None and results[i] is not None and ln.startswith("RESULT"):
            assert ln == f"RESULT {results[i]!r}", (ln, results[i])


def test_child_harness_sees_a_crash(wasm_path):
    """The harness itself: a child that dies of a signal fails assert_child_ok."""
    proc = run_child(wasm_path, "import ctypes; ctypes.string_at(0)")
    with pytest.raises(AssertionError, match="child died"):
        assert_child_ok(proc)
    assert_child_ok(run_child(wasm_path, "outcome(lib.sum, b'abc')"), results=[294])


KNOWN_CRASH = "crashes the interpreter (src/python/cfunc.cpp, being rewritten for issue 16): unmark once fixed"


def test_crash_nested_view_by_value(wasm_path):
    """issue 16's reproducer: a nested struct view passed by value (its _buf is a memoryview;
    call_plan reads it as a bytearray: cfunc.cpp:441 at a7a0369)."""
    proc = run_child(wasm_path, """
        Outer = cd.pytype("struct outer")
        o = Outer(a=1, b={"x": 5})
        outcome(lib.get_x, o.b)
        o.b.x = -7
        outcome(lib.get_x, o.b)
    """)
    assert_child_ok(proc, results=[5, -7])


def test_crash_record_subclass_with_a_foreign_buf(wasm_path):
    """A subclass of a struct class whose `_buf` is not a bytearray, passed by value (the same
    unchecked PyByteArray_AS_STRING, cfunc.cpp:438-441 at a7a0369)."""
    proc = run_child(wasm_path, """
        Inner = cd.pytype("struct inner")
        class Evil(Inner):
            _buf = property(lambda self: "not a bytearray", lambda self, v: None)
        outcome(lib.get_x, Evil())
        class Evil2(Inner):
            _buf = property(lambda self: memoryview(b"\\x05\\0\\0\\0"), lambda self, v: None)
        outcome(lib.get_x, Evil2())
    """)
    assert_child_ok(proc)


def test_crash_bytearray_resized_by_a_later_arguments_hook(wasm_path):
    """fill(buf, value): `value`'s __index__ runs after `buf` was measured and its storage
    pointer taken (bytes and bytearray skip the buffer protocol, so nothing pins them: cfunc.cpp:195);
    it shrinks or grows buf, and the call copies from (:523) and back into (:552) freed memory."""
    proc = run_child(wasm_path, """
        for size in (0, 4 << 20):
            buf = bytearray(1 << 20)
            outcome(lib.fill, buf, Mutator(7, resize(buf, size)))
            print("LEN", len(buf))
    """)
    assert_child_ok(proc)


def test_crash_list_cleared_by_an_items_hook(wasm_path):
    """sum([...]): converting item 0 runs its __index__, which empties the list; the loop then
    reads items past the list's (now NULL) storage (PySequence_Fast_GET_ITEM, cfunc.cpp:236)."""
    proc = run_child(wasm_path, """
        items = [0] * 64
        items[0] = Mutator(1, clear(items))
        outcome(lib.sum, items)
        items = [1.5] * 64
        items[0] = Mutator(1.0, clear(items))
        outcome(lib.sum_f64, items)
    """)
    assert_child_ok(proc)


HUGE_OUT_CDEF = """
struct point { int32_t x, y; };
struct rect { struct point min, max; };
void copy_bytes(uint8_t *dst /* out */, const uint8_t *src, size_t n);
void upcase(char *s);
int divmod(int a, int b, int *q /* out */, int *r /* out */);
int bounds(const struct point *pts, size_t n, struct rect *out /* out */);
"""


def test_crash_out_count_overflowing_the_scratch_size(wasm_path):
    """out(n) with n x sizeof(T) beyond 2**64: the byte count wraps (n * elem_size, then
    align16: cfunc.cpp:184 and :489), so the scratch block is smaller than the output; the memset of
    the unwrapped size (:522) follows. Must be refused before anything is allocated."""
    proc = run_child(wasm_path, """
        outcome(lib.copy_bytes, wasmffi.out(2**64 - 1), b"abc")
    """, cdef=HUGE_OUT_CDEF)
    assert_child_ok(proc)


KNOWN_WRONG = "wrong behaviour in src/python/cfunc.cpp (being rewritten for issue 16): unmark once fixed"


def test_out_counts_that_wrap_are_refused_without_touching_memory(wasm_path):
    """The same overflow without a segfault: out(2**64 - 1) for the only buffer leaves no scratch
    at all, so the callee gets the address 0 and writes guest memory there; an element count whose
    byte size wraps to a few bytes gives the callee a block smaller than the output."""
    proc = run_child(wasm_path, """
        mem = inst.memory
        before = mem.read(0, len(mem))
        outcome(lib.upcase, wasmffi.out(2**64 - 1))
        print("SAME", mem.read(0, len(before)) == before)
        outcome(lib.divmod, 7, 2, wasmffi.out(2**62 + 1), None)
        outcome(lib.bounds, b"\\1\\0\\0\\0\\2\\0\\0\\0", wasmffi.out(2**60 + 1))
        print("SAME", mem.read(0, len(before)) == before)
    """, cdef=HUGE_OUT_CDEF)
    assert_child_ok(proc)
    assert "SAME False" not in proc.stdout, proc.stdout


def test_address_for_a_record_pointer_is_checked_for_one_record(inst):
    """docs/cdef.md: an int for a buffer parameter is an address "used as is (no copy) after a
    bounds check". For an unsized `const struct rect *` the check covers 0 bytes, so an address
    15 bytes before the end passes and the callee traps instead of a MemoryAccessError."""
    with pytest.raises(wasmffi.MemoryAccessError, match=r"rect_area\(\)"):
        inst.exports.rect_area(len(inst.memory) - 15)


# ---- linked lengths and argument binding ---------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_given_lengths_may_shorten_a_buffer_but_not_exceed_it(inst, data):
    fname, key, elem, size, unit = data.draw(st.sampled_from([
        ("sum", "n", "u8", 1, "elements"), ("sum_f64", "count", "f64", 8, "elements"),
        ("sum_u16_bytes", "nbytes", "u16", 2, "bytes")]), label="case")
    raw = data.draw(st.binary(max_size=32).map(lambda b: b[:len(b) - len(b) % size]), label="raw")
    n = data.draw(st.one_of(st.integers(0, len(raw) // (size if unit == "elements" else 1) + 2), int_likes(),
                            floats_any(), junk()), label="n")
    out = attempt(getattr(inst.exports, fname), fname, inst.memory, raw, **{key: n})
    have = len(raw) // size if unit == "elements" else len(raw)
    if n is None:  # None: filled from the buffer, as if omitted
        v = have
    else:
        v = expect_scalar("u32", n)
        if isinstance(v, Refused):
            check_against(out, v, f"{fname}(..., {key}={n!r})")
            return
    if v > have:
        assert not out.ok and isinstance(out.error, ValueError), out
        check_message(out.error, fname, key)
        assert f"'{key}'" in str(out.error)
        return
    assert out.ok, out
    if fname == "sum":
        assert out.value == sum(raw[:v])
    elif fname == "sum_f64":
        assert same(out.value, f64_sum(unpack("d", raw[:8 * v])))
    else:
        assert out.value == sum(unpack("H", raw[:v - v % 2]))


@SETTINGS
@given(pos=st.lists(st.one_of(st.binary(max_size=4), st.integers(0, 255), st.none()), max_size=4),
       kw=st.dictionaries(st.sampled_from(["buf", "n", "value", "p", "x", "nope", "in_", "__class__"]),
                          st.one_of(st.binary(max_size=4).map(bytearray), st.integers(0, 255), st.none()),
                          max_size=3))
def test_arguments_bind_by_position_and_keyword_or_are_refused_naming_the_function(inst, pos, kw):
    """fill(buf, value, *, n=None): every mix of positional and keyword arguments either binds as
    Python would bind that signature (up to two positional arguments: the short form) or the C
    parameter list `fill(buf, n, value)` (more: C order, docs/cdef.md), or is a
    TypeError/ValueError/OverflowError naming fill()."""
    import inspect

    sig = inspect.signature(inst.exports.fill)
    if len(pos) > 2:  # C order: every C parameter positionally, the length included
        P = inspect.Parameter
        sig = inspect.Signature([P("buf", P.POSITIONAL_OR_KEYWORD), P("n", P.POSITIONAL_OR_KEYWORD),
                                 P("value", P.POSITIONAL_OR_KEYWORD)])
    try:
        bound = sig.bind(*pos, **kw)
    except TypeError:
        bound = None
    out = attempt(inst.exports.fill, "fill", inst.memory, *pos, **kw)
    if bound is None:
        assert not out.ok and isinstance(out.error, TypeError), out
        return
    args = bound.arguments
    buf, value, n = args["buf"], args["value"], args.get("n")
    if buf is None and n is None and isinstance(value, int):
        assert out.ok and out.value == value, out  # one element allocated, returned as a value
    elif out.ok:  # bound: the rest is conversion, tested above; accepted only with a usable buffer
        assert isinstance(buf, bytearray) or buf is None or (isinstance(buf, int) and n is not None)
        assert isinstance(value, int)


# ---- wrong refusals found by the properties above (src/python/cfunc.cpp) --------------------------

def test_a_string_utf8_cannot_encode_is_refused_naming_the_argument(inst):
    """A str with a lone surrogate for `const char *`: CPython's UnicodeEncodeError came out as it
    was, naming neither slen() nor 's'."""
    with pytest.raises(ValueError, match=r"slen\(\) argument 's'"):
        inst.exports.slen("a\ud800")


def test_value_errors_count_the_callers_positions(inst):
    """fill(buf, value, *, n=None): `value` is the caller's second argument, but its refusal says
    "argument 3" (its place among the C parameters, the omitted length counted)."""
    with pytest.raises(OverflowError, match=r"fill\(\) argument (2\b|'value')"):
        inst.exports.fill(bytearray(4), 300)


def test_a_keyword_only_length_is_named_in_its_refusal(inst):
    """sum(p, *, n=None): n=-1 is refused as "sum() argument 2", a position the caller never used."""
    with pytest.raises(OverflowError, match=r"sum\(\) argument 'n'"):
        inst.exports.sum(b"abc", n=-1)


# ---- hooks that run between arguments ------------------------------------------------------------

PINNED = {
    "memoryview": lambda n: (lambda b: (memoryview(b), b))(bytearray(n)),
    "bytearray-sub": lambda n: (lambda b: (b, b))(ByteArraySub(n)),
    "numpy": lambda n: (lambda a: (a, a))(np.zeros(n, np.uint8)),
    "array": lambda n: (lambda a: (a, a))(array.array("B", bytes(n))),
}


@pytest.mark.parametrize("kind", sorted(PINNED))
@pytest.mark.parametrize("action", ["resize", "call", "grow", "reset"])
def test_hooks_between_arguments_see_pinned_buffers_and_a_usable_instance(inst, kind, action):
    """fill(buf, value): value's __index__ runs after buf was taken. Through the buffer protocol
    buf is pinned (a resize is a BufferError inside the hook); calls into the same instance, a
    memory grow and an allocator reset in the hook leave the outer call correct."""
    n = 64
    arg, owner = PINNED[kind](n)
    acts = {
        "resize": (lambda: owner.extend(b"xx")) if isinstance(owner, bytearray) else
                  (lambda: owner.resize(2 * n, refcheck=True)) if isinstance(owner, np.ndarray) else
                  (lambda: owner.extend([1, 2])),
        "call": lambda: inst.exports.sum(b"\x01" * 300),
        "grow": lambda: inst.memory.grow(1),
        "reset": lambda: inst.raw_exports.bump_reset(),
    }
    errors = []

    def act():
        try:
            acts[action]()
        except (BufferError, ValueError) as e:  # pinned: refused inside the hook, as it must be
            errors.append(e)

    value = Mutator(9, act)
    assert inst.exports.fill(arg, value) is None
    assert value.calls == 1
    assert raw_bytes(arg)[:n] == bytes((9 + i) & 0xFF for i in range(n))
    assert len(owner) == n or action != "resize"
    if action == "resize":
        assert errors, "a buffer the call holds was resized under it"


@pytest.mark.parametrize("fname, ctype", [("outer_sum", "struct outer"), ("get_x", "struct inner"),
                                          ("rect_area", "struct rect"), ("rect_norm", "struct rect")])
def test_a_record_without_its_bytes_is_a_type_error(inst, cd, fname, ctype):
    """cls.__new__(cls) has no `_buf`: the call looks the attribute up by name, and the
    AttributeError escapes, naming neither the function nor the argument."""
    cls = cd.pytype(ctype)
    with pytest.raises(TypeError, match=rf"{fname}\(\) argument"):
        getattr(inst.exports, fname)(cls.__new__(cls))


@pytest.mark.skipif(sys.version_info < (3, 12), reason="__buffer__ in Python code is Python 3.12+")
def test_an_exception_from_a_callers_buffer_hook_passes_through_declared_functions(inst):
    """sum(p): PyObject_GetBuffer's error is cleared and replaced with "needs a C-contiguous
    buffer, RaisingBuffer is not", hiding the caller's own exception (memory.cpp passes it on)."""
    from _hostile import RaisingBuffer

    with pytest.raises(Boom, match="__buffer__ raised"):
        inst.exports.sum(RaisingBuffer())
