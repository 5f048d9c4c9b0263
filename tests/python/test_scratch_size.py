"""Scratch.alloc() sizes: beyond the guest's address space or negative, refused before anything is allocated."""

import pytest

import wasmffi
from conftest import guest_path


@pytest.mark.parametrize("size", [2**32, 2**32 + 16, 2**40])
def test_size_beyond_a_wasm32_address_space_is_refused(size):
    # Before: guest_alloc took the size modulo 2**32 (a 16-byte block for 2**32 + 16), and only
    # the zero-fill after it, a host bytes object of the full size, stopped the caller.
    inst = wasmffi.load(guest_path("cstr"))
    raw = inst.raw_exports
    before = raw.bump_mark()
    with inst.scratch() as s:
        with pytest.raises(ValueError, match=r"Scratch.alloc\(\): .* does not fit .*32-bit"):
            s.alloc(size)
        assert raw.bump_mark() == before  # nothing was allocated
        assert s.alloc(16) > 0  # still usable


@pytest.mark.parametrize("size,exc", [(-1, ValueError), (1.5, TypeError), ("8", TypeError), (True, TypeError)])
def test_size_must_be_a_non_negative_int(size, exc):
    inst = wasmffi.load(guest_path("cstr"))
    with inst.scratch() as s:
        with pytest.raises(exc, match=r"Scratch.alloc\(\)"):
            s.alloc(size)


@pytest.mark.parametrize("size", [2**32, 2**32 + 8192])
def test_core_guest_alloc_refuses_sizes_beyond_a_wasm32_address_space(size):
    # The core's allocator call, below Scratch's own check: it passed the size on as an i32, so
    # 2**32 + 8192 became an 8 KiB block.
    inst = wasmffi.load(guest_path("cstr"))
    before = inst.raw_exports.bump_mark()
    with pytest.raises(ValueError, match=r"32-bit guest"):
        inst._i.guest_alloc(size)
    assert inst.raw_exports.bump_mark() == before
