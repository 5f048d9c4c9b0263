"""inst.scratch() on a module that exports an allocator but no memory: a clear error, nothing allocated."""

import pytest

import wasmffi

# malloc/free exported, the memory kept private: scratch() has an allocator but nowhere to zero.
NO_MEMORY = """(module
  (memory 1)
  (global $calls (mut i32) (i32.const 0))
  (func (export "malloc") (param i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1))) (i32.const 64))
  (func (export "free") (param i32))
  (func (export "calls") (result i32) (global.get $calls)))"""


def test_scratch_without_an_exported_memory_raises_before_allocating():
    inst = wasmffi.load(NO_MEMORY)
    assert inst.allocator == "malloc" and inst.memory is None
    with pytest.raises(TypeError, match=r"scratch\(\): the module exports no memory"):
        with inst.scratch() as s:
            s.alloc(4)
    assert inst.exports.calls() == 0
