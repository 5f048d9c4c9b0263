"""A host function that refers to its own instance is a reference cycle, which the garbage
collector must be able to collect whatever export objects Python touched meanwhile: Memory,
Global and the buffer exporter behind Memory.view() hold the instance too, and before they were
visible to the collector (tp_traverse) such an instance, its store and its memory stayed alive
forever once `inst.memory` or a global had been read (found by the soak, docs/RELIABILITY.md)."""

import gc
import weakref

import pytest

import wasmffi

WAT = r"""(module (import "env" "cb" (func $cb (param i32) (result i32)))
  (memory (export "memory") 1)
  (global (export "g") (mut i32) (i32.const 7))
  (func (export "run") (param i32) (result i32) local.get 0 call $cb)
  (func (export "nop")))"""

TOUCHES = {
    "nothing": lambda inst: None,
    "memory": lambda inst: inst.memory,
    "memory in the callback": None,  # the host function itself reads its instance's memory
    "global": lambda inst: inst.exports.g.value,
    "func": lambda inst: inst.exports.nop,
    "raw func": lambda inst: inst.raw_exports.nop,
    "typed func": lambda inst: inst.exports.nop.typed(params=[]),
    "memory view kept by the callback": "view",
}


def make_cycle(touch_name: str, module: wasmffi.Module) -> weakref.ref:
    box = []

    def cb(i):
        if touch_name == "memory in the callback":
            return box[0].memory.pages + i
        return i + 1

    inst = module.instantiate({"env": {"cb": cb}})
    box.append(inst)
    assert inst.exports.run(1) == 2
    touch = TOUCHES[touch_name]
    if touch == "view":
        box.append(inst.memory.view(0, 16))  # the callback's closure holds a memoryview of its memory
    elif touch is not None:
        touch(inst)
    return weakref.ref(inst)


@pytest.mark.parametrize("touch_name", list(TOUCHES))
def test_host_function_holding_its_instance_is_collected(touch_name):
    module = wasmffi.Module(WAT)
    refs = [make_cycle(touch_name, module) for _ in range(3)]
    gc.collect()
    assert [r() for r in refs] == [None, None, None]


def test_many_such_cycles_do_not_accumulate():
    # 300 instances each in a cycle through its memory: with the cycles collected, the default
    # engine's instance slots and the stores' memory go back each time.
    module = wasmffi.Module(WAT)
    refs = []
    for _ in range(300):
        refs.append(make_cycle("memory in the callback", module))
    gc.collect()
    assert sum(r() is not None for r in refs) == 0
