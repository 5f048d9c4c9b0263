"""`python -m wasmffi inspect`: memories, globals, custom sections, the allocator convention, and a closed pipe."""

import subprocess
import sys

import pytest

from conftest import guest_path
from wasmffi._inspect import custom_sections, describe
from wasmffi.bench import calls

WAT = """(module
  (memory (export "memory") 2 10)
  (global (export "counter") (mut i64) (i64.const 0))
  (global (export "limit") f32 (f32.const 1.5))
  (func (export "bump_alloc") (param i32) (result i32) i32.const 0)
  (func (export "malloc") (param i32) (result i32) i32.const 0)
  (func (export "free") (param i32 i32)))"""


def section(name: bytes, payload: bytes) -> bytes:
    body = bytes([len(name)]) + name + payload
    assert len(body) < 128  # one-byte LEB128 size
    return b"\x00" + bytes([len(body)]) + body


def lines_of(tmp_path, text, name="m.wat"):
    path = tmp_path / name
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return describe(path)


def test_memories_and_globals(tmp_path):
    lines = lines_of(tmp_path, WAT)
    assert "memories (imported and exported):" in lines
    assert "  memory (export): min 2 pages, max 10 pages, 32-bit, not shared, page size 65536 bytes" in lines
    assert "  counter (export): i64, mutable" in lines
    assert "  limit (export): f32, immutable" in lines


def test_memory64_and_imports(tmp_path):
    lines = lines_of(tmp_path, '(module (import "env" "g" (global i32)) (memory (export "mem") i64 1))')
    assert "  mem (export): min 1 pages, no max, 64-bit, not shared, page size 65536 bytes" in lines
    assert "  env.g (import): i32, immutable" in lines
    assert "allocator convention (i64 pointers, memory 'mem'):" in lines


def test_allocator_convention_from_the_export_types(tmp_path):
    lines = lines_of(tmp_path, WAT)
    assert "allocator convention (i32 pointers, memory 'memory'):" in lines
    assert "  bump: yes (bump_alloc (i32) -> i32)" in lines
    # free takes two parameters: not the malloc convention, and said so.
    malloc = [ln for ln in lines[lines.index("allocator convention (i32 pointers, memory 'memory'):"):]
              if ln.startswith("  malloc:")]
    assert malloc == ["  malloc: no (free has type (i32, i32) -> (), not the allocator's)"]
    assert "  cabi_realloc: no (cabi_realloc absent)" in lines
    assert '  allocator="auto" uses: bump' in lines


def test_allocator_convention_of_the_guest_modules():
    cstr = describe(guest_path("cstr"))
    assert any(ln.startswith("  bump: yes (bump_alloc (i32) -> i32; bump_mark () -> i32; bump_release (i32) -> ())")
               for ln in cstr), cstr
    assert '  allocator="auto" uses: bump' in cstr
    libc = describe(guest_path("cstr_libc"))
    # wasi-libc's build also links the SDK's bump allocator: both conventions, bump first.
    assert "  malloc: yes (malloc (i32) -> i32; free (i32) -> ())" in libc
    assert "  malloc: no (malloc absent; free absent)" in cstr
    assert '  allocator="auto" uses: bump' in libc


def test_cabi_realloc_and_no_allocator(tmp_path):
    lines = lines_of(tmp_path, '(module (memory (export "memory") 1) (func (export "cabi_realloc") '
                               '(param i32 i32 i32 i32) (result i32) i32.const 0))')
    assert '  allocator="auto" uses: cabi_realloc' in lines
    lines = lines_of(tmp_path, '(module (func (export "f")))', "n.wat")
    assert "allocator convention (i32 pointers, no exported memory: nothing to marshal through):" in lines
    assert '  allocator="auto" uses: none (int guest addresses only)' in lines


def test_custom_sections_of_a_binary(tmp_path):
    data = calls.GCD_WASM + section(b"wasmffi.note", b"hello") + section(b"empty", b"")
    assert custom_sections(data) == [("name", 8), ("wasmffi.note", 5), ("empty", 0)]
    lines = lines_of(tmp_path, data, "m.wasm")
    i = lines.index("custom sections:")
    assert lines[i + 1:i + 4] == ["  name: 8 bytes", "  wasmffi.note: 5 bytes", "  empty: 0 bytes"]
    plain = lines_of(tmp_path, calls.ADD_WASM, "a.wasm")
    assert plain[plain.index("custom sections:") + 1] == "  (none)"


def test_custom_sections_of_text_are_explained(tmp_path):
    lines = lines_of(tmp_path, WAT)
    i = lines.index("custom sections:")
    assert "only a binary .wasm has custom sections" in lines[i + 1]


@pytest.mark.parametrize("data, message", [
    (b"\0asm\x01\0\0\0\x00\x20\x04name", "runs past the end of the file"),
    (b"\0asm\x01\0\0\0\x00\x02\x09a", "name runs past the section"),
    (b"\0asm\x01\0\0\0\x00\xff\xff\xff\xff\xff", "not a valid LEB128 u32"),
    (b"(module)", "not a WebAssembly binary"),
])
def test_malformed_section_headers_raise_value_error(data, message):
    with pytest.raises(ValueError, match=message):
        custom_sections(data)


def test_inspect_into_a_closed_pipe_exits_quietly(tmp_path):
    # `python -m wasmffi inspect big.wat | head -1`: more output than a pipe buffer holds, so the
    # writer is still writing when the reader leaves.
    funcs = "".join(f'(func (export "a_rather_long_exported_function_name_{i:05d}") (param i32 i64) (result f64) '
                    "f64.const 0)" for i in range(3000))
    path = tmp_path / "big.wat"
    path.write_text(f"(module {funcs})")
    p = subprocess.Popen([sys.executable, "-m", "wasmffi", "inspect", str(path)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    first = p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    p.wait(timeout=120)
    p.stderr.close()
    assert first.startswith(str(path).encode()) and b"3000 export(s)" in first
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert err == ""
    assert p.returncode == 1
