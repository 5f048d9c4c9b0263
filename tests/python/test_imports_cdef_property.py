"""Property tests of declared imports: any wasm bit pattern arrives as its C-typed value; any
result is either stored exactly (in the C type's range) or refused with OverflowError/TypeError
naming the import; any buffer span is either read exactly or refused naming the parameter."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wasmffi

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# C type -> (wasm type, bits, signed).
TYPES = {
    "int8_t": ("i32", 8, True), "uint8_t": ("i32", 8, False), "int16_t": ("i32", 16, True),
    "uint16_t": ("i32", 16, False), "int32_t": ("i32", 32, True), "uint32_t": ("i32", 32, False),
    "int64_t": ("i64", 64, True), "uint64_t": ("i64", 64, False),
}


def c_value(bits_in_slot, bits, signed):
    """What C reads from a slot holding `bits_in_slot`: truncated to the width, then signed or not."""
    v = bits_in_slot & ((1 << bits) - 1)
    return v - (1 << bits) if signed and v >> (bits - 1) else v


def signed_slot(v, wasm):
    """A raw export's reading of slot bits `v` (wasm i32/i64 print signed)."""
    width = 32 if wasm == "i32" else 64
    v &= (1 << width) - 1
    return v - (1 << width) if v >> (width - 1) else v


_cache = {}


def echo(ctype):
    """An instance whose export `go` passes its argument to declared import `f(ctype) -> ctype`;
    the host function is whatever `box[0]` holds."""
    if ctype not in _cache:
        wasm = TYPES[ctype][0]
        box = [lambda v: v]
        inst = wasmffi.load(f'(module (import "env" "f" (func $f (param {wasm}) (result {wasm}))) '
                            f'(func (export "go") (param {wasm}) (result {wasm}) local.get 0 call $f))',
                            imports={"env": {"f": lambda v: box[0](v)}}, cdef=f"{ctype} f({ctype} v);")
        _cache[ctype] = (inst, box)
    return _cache[ctype]


@pytest.mark.parametrize("ctype", sorted(TYPES))
@SETTINGS
@given(raw=st.integers(-(2**63), 2**64 - 1))
def test_arguments_arrive_as_c_reads_them(ctype, raw):
    wasm, bits, signed = TYPES[ctype]
    if wasm == "i32":
        raw &= 0xFFFFFFFF
    inst, box = echo(ctype)
    seen = []
    box[0] = lambda v: seen.append(v) or v
    inst.raw_exports.go(raw)
    assert seen == [c_value(raw, bits, signed)]
    assert type(seen[0]) is int


@pytest.mark.parametrize("ctype", sorted(TYPES))
@SETTINGS
@given(ret=st.one_of(st.integers(-(2**65), 2**65), st.integers(-(2**70), 2**70),
                     st.sampled_from([-1, 0, 255, 256, 2**15, 2**31, 2**32, 2**63, 2**64, -(2**63) - 1, 10**100])))
def test_results_are_stored_exactly_or_refused(ctype, ret):
    wasm, bits, signed = TYPES[ctype]
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    inst, box = echo(ctype)
    box[0] = lambda v: ret
    if lo <= ret <= hi:
        assert inst.raw_exports.go(0) == signed_slot(ret, wasm)
    else:
        with pytest.raises(OverflowError, match=rf"host function 'env\.f' returned -?\d.*out of range for {ctype}"):
            inst.raw_exports.go(0)


@pytest.mark.parametrize("ctype", ["int32_t", "uint64_t"])
@SETTINGS
@given(ret=st.one_of(st.none(), st.booleans(), st.floats(), st.text(max_size=3), st.binary(max_size=3),
                     st.lists(st.integers(), max_size=2)))
def test_non_int_results_are_type_errors(ctype, ret):
    inst, box = echo(ctype)
    box[0] = lambda v: ret
    with pytest.raises(TypeError, match=rf"host function 'env\.f' must return int \({ctype}\), not "):
        inst.raw_exports.go(0)


_buf = {}


def buffer_instance():
    if not _buf:
        seen = []
        inst = wasmffi.load('(module (import "env" "f" (func $f (param i32 i32) (result i32))) '
                            '(memory (export "memory") 1) '
                            '(func (export "go") (param i32 i32) (result i32) local.get 0 local.get 1 call $f))',
                            imports={"env": {"f": lambda p: seen.append(p) or len(p)}},
                            cdef="uint32_t f(const uint16_t *p, uint32_t n);")
        inst.memory.write(0, bytes(i % 251 for i in range(65536)))
        _buf.update(inst=inst, seen=seen)
    return _buf["inst"], _buf["seen"]


@SETTINGS
@given(addr=st.one_of(st.integers(0, 65536 + 8), st.integers(65500, 65540), st.integers(0, 2**32 - 1)),
       n=st.one_of(st.integers(0, 40), st.integers(32760, 32800), st.integers(0, 2**32 - 1)))
def test_buffer_spans_are_read_exactly_or_refused(addr, n):
    inst, seen = buffer_instance()
    seen.clear()
    if addr + 2 * n <= 65536:
        assert inst.raw_exports.go(addr, n) == 2 * n
        assert seen == [inst.memory.read(addr, 2 * n)]
    else:
        with pytest.raises(wasmffi.MemoryAccessError, match=r"host function 'env\.f' parameter 'p': .*out of bounds"):
            inst.raw_exports.go(addr, n)
        assert seen == []
