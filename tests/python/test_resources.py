"""Resource exhaustion has one exception class: wasmffi.ResourceError, for failed grows and failed
instance reservations alike (both also a MemoryError, neither a MemoryAccessError)."""

import pytest

import wasmffi
from conftest import wat_instance, needs_address_space


def test_resource_error_is_an_error_and_a_memory_error():
    assert issubclass(wasmffi.ResourceError, wasmffi.Error)
    assert issubclass(wasmffi.ResourceError, MemoryError)
    assert not issubclass(wasmffi.ResourceError, wasmffi.MemoryAccessError)
    assert "ResourceError" in wasmffi.__all__


def test_grow_past_declared_maximum_raises_resource_error():
    mem = wat_instance('(memory (export "memory") 1 2)').memory
    with pytest.raises(wasmffi.ResourceError, match=r"cannot grow memory of 1 page\(s\) by 2 page\(s\)"):
        mem.grow(2)
    assert mem.pages == 1
    assert mem.grow(1) == 1


def test_grow_past_the_engine_reservation_raises_resource_error():
    # 64 KiB pages, 1 MiB reservation: an unbounded memory can reach 16 pages and no further.
    engine = wasmffi.Engine(memory_reservation=1 << 20)
    mem = wat_instance('(memory (export "memory") 1)', engine=engine).memory
    assert mem.grow(15) == 1
    with pytest.raises(wasmffi.ResourceError, match="memory_reservation") as ei:
        mem.grow(1)
    assert isinstance(ei.value, MemoryError)
    assert mem.pages == 16


@needs_address_space
def test_address_space_exhaustion_at_instantiation_raises_resource_error():
    # 64 TiB per memory: the 128 TiB user address space of x86-64 runs out after one or two.
    engine = wasmffi.Engine(memory_reservation=1 << 46)
    module = wasmffi.Module('(module (memory (export "memory") 1))', engine=engine)
    live = []
    with pytest.raises(wasmffi.ResourceError, match="cannot reserve memory for a new instance") as ei:
        for _ in range(8):
            live.append(module.instantiate())
    assert isinstance(ei.value, MemoryError) and not isinstance(ei.value, wasmffi.LinkError)
    assert len(live) >= 1
    live.clear()
    module.instantiate()  # the space is back once the instances are gone


def test_link_errors_stay_link_errors():
    with pytest.raises(wasmffi.LinkError) as ei:
        wasmffi.load('(module (import "env" "f" (func)))')
    assert not isinstance(ei.value, wasmffi.ResourceError)
