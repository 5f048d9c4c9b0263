"""Where the compiled code checks the epoch (Ctrl-C and timeout=), and that every way of running
long is still stopped.

The engine's Cranelift integration is patched (engine/patch_crates.py) to leave out the epoch
check at the entry of a function body that cannot call. These tests hold both halves of that:
such functions compile to the same code as with no epoch checks at all, and nothing that runs
long escapes the checks that remain (loop headers, large bulk operations, the entry of every
function that calls).
"""

import struct
import time

import pytest

import wasmffi
from conftest import GENEROUS

TIMEOUT = 0.05


def text_size(module: wasmffi.Module) -> int:
    """Size of the machine code in a module's compiled artifact (an ELF file; its .text)."""
    elf = module._m.serialize()
    assert elf[:4] == b"\x7fELF" and elf[4] == 2, "expected a 64-bit ELF artifact"
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    names_offset = headers[shstrndx][4]
    for name, _type, _flags, _addr, _offset, size in headers:
        start = names_offset + name
        if elf[start:elf.index(b"\0", start)] == b".text":
            return size
    raise AssertionError("no .text section in the artifact")


def leaves(count: int) -> str:
    """`count` exported functions that call nothing, each with its own constants."""
    return "".join(
        f'(func (export "leaf{i}") (param i32) (result i32)'
        f" (i32.add (i32.mul (i32.xor (local.get 0) (i32.const {0x9E3779B1 * (i + 1) & 0x7FFFFFFF}))"
        f" (i32.const {2 * i + 3})) (i32.shr_u (local.get 0) (i32.const {i % 13 + 1}))))"
        for i in range(count))


def callers(count: int) -> str:
    """`count` exported functions that each call the first leaf."""
    return "".join(
        f'(func (export "caller{i}") (param i32) (result i32)'
        f" (i32.add (call 0 (local.get 0)) (i32.const {i})))"
        for i in range(count))


def compiled_pair(wat: str) -> tuple[int, int]:
    """.text sizes of `wat` compiled on the default engine (epoch checks) and without them."""
    plain = wasmffi.Engine(epoch_interruption=False)
    return text_size(wasmffi.Module(wat)), text_size(wasmffi.Module(wat, engine=plain))


def test_functions_that_cannot_call_compile_without_epoch_checks():
    # .text is whole pages: 1000 functions make even one load each (7 bytes) show.
    with_checks, without = compiled_pair(f"(module {leaves(1000)})")
    print(f"1000 leaves: {with_checks} bytes of code with epoch checks on, {without} with them off")
    assert with_checks == without


def test_functions_that_call_keep_their_epoch_check_at_entry():
    # The control for the test above: the measure sees the entry checks where they belong.
    leaf_only, _ = compiled_pair(f"(module {leaves(1)})")
    with_checks, without = compiled_pair(f"(module {leaves(1)} {callers(200)})")
    print(f"200 callers: {with_checks - leaf_only} bytes of code with epoch checks on, "
          f"{without - leaf_only} with them off")
    assert with_checks - without >= 200 * 8


def stopped_by_timeout(wat: str, export: str, *args: int) -> float:
    """How long the call ran before its timeout stopped it (how soon is `bench latency`'s to
    measure; each test here bounds it far below what the call would run unchecked)."""
    inst = wasmffi.load(wat, timeout=TIMEOUT)
    start = time.perf_counter()
    with pytest.raises(wasmffi.Interrupt, match=rf"^{export}\(\): interrupt: the call ran past its timeout"):
        inst.exports[export](*args)
    took = time.perf_counter() - start
    print(f"{export}: stopped after {took * 1000:.1f} ms")
    return took


def test_a_tree_of_calls_without_loops_is_stopped():
    # wasmtime's reason for the entry checks: 2**40 calls of the leaf at the bottom, and no loop
    # anywhere. Every level calls, so every level keeps its check.
    levels = "".join(f"(func $f{k} (param i32) (result i32) (call $f{k + 1} (call $f{k + 1} (local.get 0))))"
                     for k in range(40))
    wat = f'(module {levels} (func $f40 (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))' \
          f' (export "tree" (func $f0)))'
    assert stopped_by_timeout(wat, "tree", 0) < TIMEOUT + GENEROUS  # unchecked: 2**40 calls, hours


def test_an_endless_loop_in_a_function_that_calls_nothing_is_stopped():
    # The loop header compares against the deadline the entry cached without checking it.
    wat = """(module (func (export "count") (param i32) (result i32)
      (loop $again (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br $again))
      (local.get 0)))"""
    assert stopped_by_timeout(wat, "count", 0) < TIMEOUT + GENEROUS  # unchecked: forever


def test_large_bulk_operations_in_a_function_that_calls_nothing_are_stopped():
    # A bulk operation of more than a few bytes checks the epoch as a loop header does, against
    # the deadline the entry cached. 6000 fills of 64 MiB in straight-line code, no loop: 384 GiB
    # of stores, a minute or more unchecked (tens of GB/s at most), against the 5 s bound.
    fills = "(memory.fill (i32.const 0) (local.get 0) (i32.const 0x4000000))" * 6000
    wat = f'''(module (memory 1024) (func (export "fill") (param i32) {fills}))'''
    assert stopped_by_timeout(wat, "fill", 1) < TIMEOUT + GENEROUS


def test_a_loop_of_calls_to_functions_that_call_nothing_is_stopped_and_answers_after():
    wat = f"""(module {leaves(3)}
      (func (export "spin") (param i32) (result i32)
        (loop $again (local.set 0 (call 1 (call 0 (local.get 0)))) (br $again))
        (local.get 0)))"""
    inst = wasmffi.load(wat, timeout=TIMEOUT)
    with pytest.raises(wasmffi.Interrupt):
        inst.exports.spin(1)
    assert inst.exports.leaf2(7) == wasmffi.load(wat).exports.leaf2(7)
