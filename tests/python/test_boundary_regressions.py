"""Regression tests for refusals at the boundary that did not say where they came from, found by
tests/python/test_boundary_property.py: each once raised an error naming no function."""

import struct
import sys

import pytest

import wasmffi
from _hostile import BadIndex, released_view

WAT = """(module (memory (export "memory") 1)
  (func (export "f") (param i32 f64) (result i32) local.get 0))"""


@pytest.fixture
def inst():
    return wasmffi.load(WAT)


@pytest.mark.parametrize("call, where", [
    (lambda i: i.exports.f(BadIndex(), 1.0), r"f\(\) argument 1"),
    (lambda i: i.exports.f(1, BadIndex()), r"f\(\) argument 2"),
    (lambda i: i.exports.f.typed(params=["u8", "f64"])(BadIndex(), 1.0), r"f\(\) argument 1"),
    (lambda i: i.memory.read(BadIndex(), 1), r"read\(\): address"),
    (lambda i: i.memory.view(0, BadIndex()), r"view\(\): length"),
    (lambda i: i.memory.read_u8(BadIndex()), r"read_u8\(\): address"),
    (lambda i: i.memory.write_u8(0, BadIndex()), r"write_u8\(\) value"),
    (lambda i: i.memory.write_f32(0, BadIndex()), r"write_f32\(\) value"),
], ids=["i32", "f64", "typed-u8", "read", "view", "read_u8", "write_u8", "write_f32"])
def test_an_index_hook_returning_a_non_int_is_a_type_error_naming_the_argument(inst, call, where):
    """__index__ returning a str: CPython's TypeError ("__index__ returned non-int (type str)")
    used to come out as it was, naming nothing; now it says whose argument it was, and keeps
    CPython's words and exception (as the cause)."""
    with pytest.raises(TypeError, match=where + r".*__index__ returned non-int") as info:
        call(inst)
    assert isinstance(info.value.__cause__, TypeError)


def test_a_hooks_own_exception_passes_through_unchanged(inst):
    class Boom(Exception):
        pass

    class Raises:
        def __index__(self):
            raise Boom("mine")

    with pytest.raises(Boom, match="^mine$"):
        inst.exports.f(Raises(), 1.0)
    with pytest.raises(Boom, match="^mine$"):
        inst.memory.read(Raises(), 1)


@pytest.mark.parametrize("call, where", [
    (lambda m: m.read_array(BadIndex(), 1), r"read_array\(\): address"),
    (lambda m: m.read_array(0, BadIndex()), r"read_array\(\): count"),
    (lambda m: m.write_array(BadIndex(), [1]), r"write_array\(\): address"),
    (lambda m: m.pack_into("B", BadIndex(), 1), r"pack_into\(\): address"),
    (lambda m: m.unpack_from("B", BadIndex()), r"unpack_from\(\): address"),
], ids=["read_array-address", "read_array-count", "write_array", "pack_into", "unpack_from"])
def test_python_written_memory_methods_name_themselves_for_a_bad_index_hook(inst, call, where):
    """The Memory methods written in Python passed what __index__ returned on unchecked, so a str
    failed later inside read() or a comparison, naming the wrong method or none."""
    with pytest.raises(TypeError, match=where + r".*__index__ returned non-int"):
        call(inst.memory)


def test_a_refused_grow_names_grow():
    mem = wasmffi.load('(module (memory (export "memory") 1 1))').memory
    with pytest.raises(wasmffi.ResourceError, match=r"^grow\(\): cannot grow memory of 1 page\(s\) by 1 page\(s\)"):
        mem.grow(1)


@pytest.mark.parametrize("call, cls, where", [
    (lambda m: m.pack_into("<i", len(m) - 3, 0), wasmffi.MemoryAccessError, r"^pack_into\(\): write of 4"),
    (lambda m: m.pack_into("<i", 0, "a"), struct.error, r"^pack_into\(\): required argument is not an integer"),
    (lambda m: m.pack_into(5, 0, 1), TypeError, r"^pack_into\(\): struct format must be str"),
    (lambda m: m.unpack_from("d", len(m) - 7), wasmffi.MemoryAccessError, r"^unpack_from\(\): read of 8"),
    (lambda m: m.unpack_from("?z", 0), struct.error, r"^unpack_from\(\): bad char in struct format"),
    (lambda m: m.ndarray(len(m) - 7, "f8", 1), wasmffi.MemoryAccessError, r"^ndarray\(\): view of 8"),
    (lambda m: m.ndarray(0, object, 1), TypeError, r"^ndarray\(\): dtype object holds Python objects"),
    (lambda m: m.ndarray(0, "nope", 1), TypeError, r"^ndarray\(\): dtype 'nope' is not a numpy dtype"),
    (lambda m: m.ndarray(0, "u1", {"a": 1}), ValueError, r"^ndarray\(\): shape must be non-negative ints"),
    (lambda m: m.ndarray(0, "u1", object()), TypeError, r"^ndarray\(\): shape must be an int or a sequence"),
    (lambda m: m.ndarray(0, "u1", released_view()), TypeError, r"^ndarray\(\): shape must be an int or a sequence"),
], ids=["pack_into-bounds", "pack_into-value", "pack_into-format", "unpack_from-bounds", "unpack_from-format",
        "ndarray-bounds", "ndarray-object", "ndarray-dtype", "ndarray-shape-dict", "ndarray-shape-object",
        "ndarray-shape-released"])
def test_python_written_memory_methods_name_themselves_in_every_refusal(inst, call, cls, where):
    """They passed on errors from read()/write()/view(), struct and numpy as those raised them,
    naming another method or none (and numpy's ValueError for object dtypes)."""
    with pytest.raises(cls, match=where):
        call(inst.memory)


@pytest.mark.parametrize("call, cls, where", [
    (lambda m: m.read_array(0, 1, None), TypeError, r"^read_array\(\): element type must be a str, not NoneType"),
    (lambda m: m.read_array(0, 1, [1]), TypeError, r"^read_array\(\): element type must be a str, not list"),
    (lambda m: m.write_array(0, [1], "u128"), ValueError, r"^write_array\(\): unknown element type 'u128'"),
    (lambda m: m.write_array(0, None), TypeError, r"^write_array\(\): 'NoneType' object is not iterable"),
    (lambda m: m.write_array(0, [1, BadIndex()], "i32"), TypeError, r"^write_array\(\): __index__ returned non-int"),
    (lambda m: m.write_array(len(m) - 1, [1, 2]), wasmffi.MemoryAccessError, r"^write_array\(\) of u8 elements: write"),
], ids=["read_array-None", "read_array-list", "write_array-type", "write_array-None", "write_array-hook",
        "write_array-bounds"])
def test_array_methods_name_themselves_for_bad_types_and_values(inst, call, cls, where):
    """read_array/write_array looked their element type up unchecked (a list was "unhashable", a
    released memoryview raised from its hash) and let iteration and element-hook errors out bare."""
    before = inst.memory.read(0, len(inst.memory))
    with pytest.raises(cls, match=where):
        call(inst.memory)
    assert inst.memory.read(0, len(inst.memory)) == before


@pytest.fixture
def records():
    cd = wasmffi.CDef("struct inner { int32_t x; }; struct outer { int32_t a; struct inner b; };"
                      "struct blob { uint8_t tag; uint16_t codes[3]; };")
    return cd.pytype("struct outer"), cd.pytype("struct blob")


def strided():
    return memoryview(bytearray(16))[::2]


@pytest.mark.parametrize("call, cls, where", [
    (lambda O, B: B(codes=released_view()), TypeError, r"^struct blob member 'codes' \(uint16_t\[3\]\) cannot take"),
    (lambda O, B: B(codes=strided()), TypeError, r"^struct blob member 'codes' \(uint16_t\[3\]\) cannot take"),
    (lambda O, B: O.from_bytes(released_view()), ValueError, r"^outer\.from_bytes\(\): operation forbidden"),
    (lambda O, B: O.from_buffer(None), TypeError, r"^outer\.from_buffer\(\) takes a C-contiguous bytes-like"),
    (lambda O, B: O.from_buffer(strided()), TypeError, r"^outer\.from_buffer\(\) takes a C-contiguous bytes-like"),
    (lambda O, B: O.from_buffer(released_view()), ValueError, r"^outer\.from_buffer\(\): operation forbidden"),
    (lambda O, B: O.from_buffer(bytes(8), 1.5), TypeError, r"^outer\.from_buffer\(\): offset must be an int"),
], ids=["array-released", "array-strided", "from_bytes-released", "from_buffer-None", "from_buffer-strided",
        "from_buffer-released", "from_buffer-offset"])
def test_record_classes_name_themselves_for_unusable_buffers(records, call, cls, where):
    """Struct classes passed memoryview's own errors on (released, strided, not a buffer),
    naming neither the class nor the member."""
    with pytest.raises(cls, match=where):
        call(*records)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="__buffer__ in Python code is Python 3.12+")
def test_an_exception_from_a_callers_buffer_hook_passes_through_memory_methods(inst):
    """write()/read_into() replaced whatever a __buffer__ raised with "must be a contiguous
    bytes-like object", hiding the caller's own exception."""
    class Boom(Exception):
        pass

    class Raises:
        def __buffer__(self, flags):
            raise Boom("mine")

    for call in (lambda: inst.memory.write(0, Raises()), lambda: inst.memory.read_into(0, Raises())):
        with pytest.raises(Boom, match="^mine$"):
            call()
    with pytest.raises(TypeError, match=r"^write\(\): data must be a contiguous bytes-like object, not int"):
        inst.memory.write(0, 5)
