"""`python -m wasmffi build`: compiles C to guest modules (no libc, wasm64, wasi-libc) that load and run; every error is clear."""

import pathlib
import shutil
import subprocess
import sys

import pytest

import wasmffi
from wasmffi import _build
from wasmffi.__main__ import main

ROOT = pathlib.Path(__file__).resolve().parents[2]

PURE = r"""
#include "wasmffi_alloc.h"
WASMFFI_EXPORT(triple) int32_t triple(int32_t x) { return 3 * x; }
/* Struct copies and zeroing become memory.copy/fill, not calls to a missing memcpy/memset. */
struct big { uint8_t bytes[256]; };
WASMFFI_EXPORT(copy_big) void copy_big(struct big *dst, const struct big *src) { *dst = *src; }
WASMFFI_EXPORT(clear) void clear(uint8_t *p, size_t n) { for (size_t i = 0; i < n; ++i) p[i] = 0; }
WASMFFI_EXPORT(scratch) uint8_t *scratch(size_t n) { return bump_alloc(n); }
int32_t not_marked(int32_t x) { return x + 1; }
"""

LIBC = r"""
#include <stdlib.h>
#include <string.h>
#include "wasmffi_guest.h"
WASMFFI_EXPORT(length) size_t length(const char *s) { return strlen(s); }
WASMFFI_EXPORT(parse) long parse(const char *s) { return strtol(s, 0, 16); }
WASMFFI_EXPORT(heap_dup) char *heap_dup(const char *s) {
  char *p = malloc(strlen(s) + 1);
  if (p) strcpy(p, s);
  return p;
}
"""


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "wasmffi", "build", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def src(tmp_path):
    def write(text: str, name: str = "prog.c") -> pathlib.Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def exports_of(path):
    return {e.name: e for e in wasmffi.Module.from_file(path).exports}


# --------------------------------------------------------------------------------------------
# Building and loading


def test_no_libc_build_loads_imports_nothing_and_exports_the_allocator(src, tmp_path):
    out = tmp_path / "out" / "pure.wasm"  # the output directory is created
    r = run_cli(src(PURE), "-o", out)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    module = wasmffi.Module.from_file(out)
    assert module.imports == ()
    ex = exports_of(out)
    assert set(_build.ALLOC_EXPORTS) <= set(ex)
    assert "not_marked" not in ex and "malloc" not in ex
    inst = module.instantiate()
    x, mem = inst.exports, inst.memory
    assert x.triple(14) == 42
    a, b = x.scratch(256), x.scratch(256)
    assert a and b == a + 256 and a % 16 == 0
    mem.write(b, bytes(range(256)))
    x.copy_big(a, b)
    assert mem.read(a, 256) == bytes(range(256))
    x.clear(a, 256)
    assert mem.read(a, 256) == bytes(256)


def test_wasm64_build_uses_memory64_and_64_bit_pointers(src, tmp_path):
    out = tmp_path / "pure64.wasm"
    r = run_cli(src(PURE), "-o", out, "--target", "wasm64")
    assert r.returncode == 0, r.stderr
    ex = exports_of(out)
    assert ex["memory"].type.is64 is True
    assert ex["scratch"].type.params == ("i64",) and ex["scratch"].type.results == ("i64",)
    assert ex["triple"].type.params == ("i32",)
    inst = wasmffi.load(out)
    assert inst.exports.triple(-5) == -15
    p = inst.exports.scratch(10)
    assert p != 0 and p % 16 == 0


def test_libc_build_links_wasi_libc_without_imports_and_exports_malloc_free(src, tmp_path):
    out = tmp_path / "libc.wasm"
    r = run_cli(src(LIBC), "-o", out, "--libc")
    assert r.returncode == 0, r.stderr
    module = wasmffi.Module.from_file(out)
    assert module.imports == ()
    ex = exports_of(out)
    assert {"malloc", "free", "_initialize", *_build.ALLOC_EXPORTS} <= set(ex)
    inst = module.instantiate()
    x, mem = inst.exports, inst.memory
    x._initialize()
    s = x.malloc(32)
    mem.write(s, b"hello wasi-libc\0")
    assert x.length(s) == 15
    d = x.heap_dup(s)
    assert d not in (0, s) and mem.read(d, 16) == b"hello wasi-libc\0"
    mem.write(s, b"-7fff\0")
    assert x.parse(s) == -0x7FFF
    x.free(d)
    x.free(s)


@pytest.mark.parametrize("call", ['puts("hi")', 'char b[8]; snprintf(b, 8, "%d", 1)'])
def test_libc_stdio_builds_with_a_warning_naming_the_wasi_imports(src, tmp_path, call):
    out = tmp_path / "io.wasm"
    code = f'#include <stdio.h>\n#include "wasmffi_guest.h"\nWASMFFI_EXPORT(f) void f(void) {{ {call}; }}\n'
    r = run_cli(src(code), "-o", out, "--libc")
    assert r.returncode == 0, r.stderr
    assert "warning" in r.stderr and "wasi_snapshot_preview1.fd_write" in r.stderr
    assert "WASI is not provided" in r.stderr
    imports = [(i.module, i.name) for i in wasmffi.Module.from_file(out).imports]
    assert ("wasi_snapshot_preview1", "fd_write") in imports


def test_no_libc_wasm32_links_compiler_rt_for_128_bit_and_long_double_math(src, tmp_path):
    code = ('#include "wasmffi_guest.h"\n'
            'WASMFFI_EXPORT(mulhi) uint64_t mulhi(uint64_t a, uint64_t b) '
            '{ return (uint64_t)(((unsigned __int128)a * b) >> 64); }\n'
            'WASMFFI_EXPORT(ld3) double ld3(double a) { long double x = a; return (double)(x * 3); }\n')
    out = tmp_path / "rt.wasm"
    r = run_cli(src(code), "-o", out)
    assert r.returncode == 0, r.stderr
    assert wasmffi.Module.from_file(out).imports == ()
    x = wasmffi.load(out).exports
    assert x.mulhi.typed(params=["u64", "u64"], results=["u64"])(2**63, 6) == 3
    assert x.ld3(1.5) == 4.5


def test_no_alloc_leaves_the_allocator_out(src, tmp_path):
    out = tmp_path / "bare.wasm"
    r = run_cli(src("#include \"wasmffi_guest.h\"\nWASMFFI_EXPORT(one) int one(void) { return 1; }\n"),
                "-o", out, "--no-alloc")
    assert r.returncode == 0, r.stderr
    ex = exports_of(out)
    assert "one" in ex and not set(_build.ALLOC_EXPORTS) & set(ex)


def test_source_that_also_emits_the_allocator_links_with_one_shared_heap(src, tmp_path):
    code = ('#define WASMFFI_ALLOC_IMPLEMENTATION\n#include "wasmffi_alloc.h"\n'
            'WASMFFI_EXPORT(mine) void *mine(size_t n) { return bump_alloc(n); }\n')
    out = tmp_path / "twice.wasm"
    r = run_cli(src(code), "-o", out)
    assert r.returncode == 0, r.stderr
    x = wasmffi.load(out).exports
    a = x.mine(16)
    b = x.bump_alloc(16)
    assert b == a + 16  # the exported allocator and the user's call see the same top
    x.bump_reset()
    assert x.mine(16) == a


def test_export_defines_includes_flags_and_optimisation_level(src, tmp_path):
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "k.h").write_text("#define K 7\n")
    code = '#include "k.h"\nint scaled(int x) { return x * K * FACTOR; }\n'
    out = tmp_path / "flags.wasm"
    r = run_cli(src(code), "-o", out, "--no-alloc", "--export", "scaled", "-I", inc, "-DFACTOR=3",
                "-O0", "--cflag=-Wall", f"--ldflag=--max-memory={4 * 65536}", "-v")
    assert r.returncode == 0, r.stderr
    assert "-O0" in r.stdout and "-Wl,--export=scaled" in r.stdout and "-DFACTOR=3" in r.stdout
    ex = exports_of(out)
    assert ex["memory"].type.maximum == 4
    assert wasmffi.load(out).exports.scaled(2) == 42


def test_several_sources_link_into_one_module(src, tmp_path):
    a = src('#include "wasmffi_guest.h"\nint helper(int);\n'
            'WASMFFI_EXPORT(f) int f(int x) { return helper(x) + 1; }\n', "a.c")
    b = src("int helper(int x) { return 10 * x; }\n", "b.c")
    out = tmp_path / "two.wasm"
    r = run_cli(a, b, "-o", out)
    assert r.returncode == 0, r.stderr
    assert wasmffi.load(out).exports.f(4) == 41


def test_print_include_dir_names_the_sdk_headers():
    r = run_cli("--print-include-dir")
    assert r.returncode == 0, r.stderr
    path = pathlib.Path(r.stdout.strip())
    assert (path / "wasmffi_alloc.h").is_file() and (path / "wasmffi_guest.h").is_file()
    assert (path / "wasmffi_alloc.c").is_file()


def test_installed_layout_finds_the_headers_inside_the_package(tmp_path):
    """A wheel ships the SDK as wasmffi/include next to _build.py: that copy is preferred."""
    pkg = tmp_path / "site" / "wasmffi"
    shutil.copytree(ROOT / "guest" / "include", pkg / "include")
    shutil.copy(ROOT / "python" / "wasmffi" / "_build.py", pkg / "_build.py")
    r = subprocess.run([sys.executable, str(pkg / "_build.py"), "--print-include-dir"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert pathlib.Path(r.stdout.strip()) == pkg / "include"


def test_missing_sdk_headers_are_a_clear_error(tmp_path):
    pkg = tmp_path / "site" / "wasmffi"
    pkg.mkdir(parents=True)
    shutil.copy(ROOT / "python" / "wasmffi" / "_build.py", pkg / "_build.py")
    r = subprocess.run([sys.executable, str(pkg / "_build.py"), "--print-include-dir"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "guest SDK headers are missing" in r.stderr and "reinstall wasmffi" in r.stderr


def test_the_makefile_runs_the_module_as_a_script_without_the_package(src, tmp_path):
    out = tmp_path / "script.wasm"
    r = subprocess.run([sys.executable, "-S", str(ROOT / "python" / "wasmffi" / "_build.py"),
                        str(src(PURE)), "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert wasmffi.load(out).exports.triple(2) == 6


# --------------------------------------------------------------------------------------------
# Errors


def test_compile_errors_show_clangs_output(src, tmp_path):
    bad = src("int f(void) { return undeclared_name; }\n", "bad.c")
    r = run_cli(bad, "-o", tmp_path / "bad.wasm")
    assert r.returncode == 1
    assert r.stderr.startswith("wasmffi build: error: clang failed")
    assert "bad.c:1:" in r.stderr and "undeclared_name" in r.stderr
    assert "command: " in r.stderr
    assert not (tmp_path / "bad.wasm").exists()


def test_calling_libc_without_libc_is_a_link_error_with_a_hint(src, tmp_path):
    code = 'unsigned long strlen(const char *);\n#include "wasmffi_guest.h"\n' \
           'WASMFFI_EXPORT(f) unsigned long f(const char *s) { return strlen(s); }\n'
    r = run_cli(src(code), "-o", tmp_path / "x.wasm")
    assert r.returncode == 1
    assert "undefined symbol: strlen" in r.stderr and "--libc" in r.stderr


def test_libc_is_refused_for_wasm64(src, tmp_path):
    r = run_cli(src(PURE), "-o", tmp_path / "x.wasm", "--libc", "--target", "wasm64")
    assert r.returncode == 1
    assert "--libc is available for wasm32 only" in r.stderr


def test_missing_clang_names_the_debian_packages(src, tmp_path):
    r = run_cli(src(PURE), "-o", tmp_path / "x.wasm", "--clang", tmp_path / "no-such-clang")
    assert r.returncode == 1
    assert "was not found" in r.stderr and "apt-get install clang lld" in r.stderr


def test_missing_wasi_libc_names_the_debian_packages(src, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_build, "DEBIAN_WASI_LIBC", tmp_path / "nowhere" / "libc.a")
    monkeypatch.setattr(_build, "WASI_SYSROOTS", ())
    monkeypatch.delenv("WASI_SYSROOT", raising=False)
    assert main(["build", str(src(LIBC)), "-o", str(tmp_path / "x.wasm"), "--libc"]) == 1
    err = capsys.readouterr().err
    assert "--libc needs wasi-libc" in err and "apt-get install wasi-libc" in err


def test_bad_wasi_sysroot_is_named(src, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WASI_SYSROOT", str(tmp_path))
    assert main(["build", str(src(LIBC)), "-o", str(tmp_path / "x.wasm"), "--libc"]) == 1
    assert f"WASI_SYSROOT={tmp_path} has no lib/wasm32-wasi/libc.a" in capsys.readouterr().err


@pytest.mark.parametrize("args,message", [
    ([], "no source files given (usage: wasmffi build SRC.c... -o OUT.wasm)"),
    (["{src}"], "no output file given: add -o OUT.wasm"),
    (["{tmp}/missing.c", "-o", "{tmp}/x.wasm"], "source file {tmp}/missing.c does not exist"),
    (["{src}", "-o", "{tmp}/x.wasm", "--export", "not-a-name"], "--export expects a C identifier, got 'not-a-name'"),
])
def test_usage_errors_are_named(src, tmp_path, capsys, args, message):
    s = src(PURE)
    args = [a.format(src=s, tmp=tmp_path) for a in args]
    assert main(["build", *args]) == 1
    assert capsys.readouterr().err == f"wasmffi build: error: {message.format(tmp=tmp_path)}\n"


@pytest.mark.parametrize("args", [["--target", "wasm128"], ["-O9"]])
def test_invalid_choices_are_rejected_by_the_parser(src, tmp_path, args):
    r = run_cli(src(PURE), "-o", tmp_path / "x.wasm", *args)
    assert r.returncode == 2
    assert "invalid choice" in r.stderr


def test_build_api_checks_its_arguments(src, tmp_path):
    with pytest.raises(_build.BuildError, match="target must be one of wasm32, wasm64, not 'arm'"):
        _build.build([src(PURE)], tmp_path / "x.wasm", target="arm")
    with pytest.raises(_build.BuildError, match="optimisation level must be one of .* not -O7"):
        _build.build([src(PURE)], tmp_path / "x.wasm", opt="7")
    with pytest.raises(_build.BuildError, match="no source files given"):
        _build.build([], tmp_path / "x.wasm")


# --------------------------------------------------------------------------------------------
# The import-section reader behind the warning, against the engine's own view


def test_wasm_imports_matches_the_engine_on_every_import_kind():
    wat = """(module
      (import "env" "f" (func (param i32) (result i64)))
      (import "env" "t" (table 1 10 funcref))
      (import "env" "m" (memory 1 2))
      (import "env" "g" (global (mut i64)))
      (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
      (import "x" "m64" (memory i64 1)))"""
    import wasmtime  # a dev dependency: its wat2wasm gives the binary to read

    binary = bytes(wasmtime.wat2wasm(wat))
    expected = [(i.module, i.name, i.kind) for i in wasmffi.Module(binary).imports]
    assert len(expected) == 6
    assert _build.wasm_imports(binary) == expected


def test_wasm_imports_rejects_non_wasm():
    with pytest.raises(ValueError, match="not a WebAssembly binary"):
        _build.wasm_imports(b"\x7fELF....")


# --------------------------------------------------------------------------------------------
# The stack below static data

SMASH = r"""
#include "wasmffi_guest.h"
static volatile int32_t sentinel = 12345;

/* Each frame fills 1 KiB of the C stack; deep enough, the stack runs out. */
static int32_t dig(int32_t n) {
  volatile uint8_t frame[1024];
  for (int i = 0; i < 1024; ++i) frame[i] = (uint8_t)n;
  return n == 0 ? 0 : dig(n - 1) + frame[0] + frame[1023];
}

WASMFFI_EXPORT(recurse) int32_t recurse(int32_t n) { return dig(n); }
WASMFFI_EXPORT(get_sentinel) int32_t get_sentinel(void) { return sentinel; }
"""


def test_a_stack_overflow_traps_instead_of_overwriting_globals(src, tmp_path):
    path = src(SMASH, "smash.c")
    out = tmp_path / "smash.wasm"
    _build.build([path], out)
    inst = wasmffi.load(out)
    assert inst.exports.recurse(10) == 2 * sum(range(1, 11))
    assert inst.exports.get_sentinel() == 12345
    with pytest.raises(wasmffi.MemoryOutOfBounds):
        inst.exports.recurse(200)  # 200 KiB of frames: more than the 64 KiB stack
    assert inst.exports.get_sentinel() == 12345


def test_without_stack_first_the_same_overflow_overwrites_a_global(src, tmp_path):
    # What --stack-first prevents: wasm-ld's default layout puts the stack above static data.
    path = src(SMASH, "smash.c")
    out = tmp_path / "smash_default.wasm"
    r = run_cli(path, "-o", out, "--no-stack-first")
    assert r.returncode == 0, r.stderr
    inst = wasmffi.load(out)
    with pytest.raises(wasmffi.MemoryOutOfBounds):
        inst.exports.recurse(200)  # it runs on below address 0, but only after writing over the data
    assert inst.exports.get_sentinel() != 12345
