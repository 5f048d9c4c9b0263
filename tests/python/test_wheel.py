"""The wheel of `make dist` as installed by `make test-wheel`: its tag, its contents, its size, and `wasmffi build` from it."""

import os
import re
import pathlib
import shutil
import subprocess
import sys
import zipfile

import wasmffi
from wasmffi.bench import size as size_bench

from conftest import require_tool

PKG = pathlib.Path(wasmffi.__file__).resolve().parent

# Size budgets (decimal MB, as PyPI counts): wasmtime-py's wheel is 9.8 MB and installs a 31.3 MB
# shared library. Ours carries wasmtime (cranelift, WASI, gc) inside one extension module. The
# figures are measured as `bench size` (in `bench all`) measures them, so the two cannot disagree.
MAX_WHEEL_BYTES = 6_000_000
MAX_INSTALLED_BYTES = 18_000_000


def installed_bytes() -> int:
    """Every file of the installed package (the extension, Python sources, stubs, SDK headers);
    __pycache__ left out, since what Python writes there depends on what has been imported."""
    return size_bench.installed_bytes(size_bench.wasmffi_dirs())


def test_wheel_and_installed_package_are_within_their_size_budgets(wasmffi_wheel):
    wheel, installed = wasmffi_wheel.stat().st_size, installed_bytes()
    print(f"\n{wasmffi_wheel.name}: {wheel / 1e6:.2f} MB; installed wasmffi/: {installed / 1e6:.2f} MB")
    assert wheel <= MAX_WHEEL_BYTES, f"the wheel is {wheel / 1e6:.2f} MB, over {MAX_WHEEL_BYTES / 1e6:g} MB"
    assert installed <= MAX_INSTALLED_BYTES, f"installed: {installed / 1e6:.2f} MB, over {MAX_INSTALLED_BYTES / 1e6:g} MB"


def test_bench_size_repacks_the_installed_files_into_a_wheel_of_this_size(wasmffi_wheel):
    """`bench size` compares wheels by deflating installed files into a zip (wasmtime-py's wheel is
    not on disk): on our own wheel that estimate must be within 1% of the real one."""
    repacked, real = size_bench.repacked_bytes(size_bench.wasmffi_dirs()), wasmffi_wheel.stat().st_size
    assert abs(repacked - real) <= real / 100, f"repacked {repacked} bytes, the wheel {real}"


def test_wheel_is_tagged_manylinux_for_the_running_cpython(wasmffi_wheel):
    name, version, py, abi, plat = wasmffi_wheel.name[:-len(".whl")].split("-")
    tag = "cp%d%d" % sys.version_info[:2]
    assert (name, version, py, abi) == ("wasmffi", wasmffi.__version__, tag, tag)
    # manylinux_2_35 is the oldest this build allows (docs/build.md, "Wheels"): a newer glibc or
    # libstdc++ symbol creeping in would shut out systems the README promises.
    assert re.fullmatch(r"manylinux_2_(\d+)_x86_64", plat), plat
    assert int(plat.split("_")[2]) <= 35, plat


def test_wheel_holds_the_package_extension_stubs_and_sdk_and_nothing_else(wasmffi_wheel):
    with zipfile.ZipFile(wasmffi_wheel) as z:
        names = z.namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"wasmffi", f"wasmffi-{wasmffi.__version__}.dist-info"}, top
    for required in ("wasmffi/__init__.py", "wasmffi/_core.pyi", "wasmffi/py.typed", "wasmffi/cdef/__init__.py",
                     "wasmffi/bench/__init__.py", "wasmffi/include/wasmffi_guest.h",
                     "wasmffi/include/wasmffi_alloc.h", "wasmffi/include/wasmffi_alloc.c"):
        assert required in names, required
    (ext,) = [n for n in names if n.startswith("wasmffi/_core.") and n.endswith(".so")]
    assert ext.startswith("wasmffi/_core.cpython-%d%d-" % sys.version_info[:2]), ext
    assert not [n for n in names if n.endswith(".debug") or "__pycache__" in n]
    # auditwheel grafted no shared library in: the wheel needs only glibc (and libstdc++'s ABI
    # that CPython's manylinux policy allows).
    assert not [n for n in names if ".libs/" in n], names


def test_installed_mode_has_no_host_compiler_or_cargo_on_path():
    """tools/test-wheel.sh installs and tests the wheel with a PATH that holds no host C/C++
    compiler, cargo, rustc or CMake; clang (the guest compiler) is the one exception."""
    found = {t: shutil.which(t) for t in ("cc", "gcc", "g++", "c++", "cargo", "rustc", "cmake")}
    assert {t: p for t, p in found.items() if p} == {}


def test_wasmffi_build_compiles_a_guest_with_the_installed_sdk(tmp_path):
    require_tool("clang")
    src = tmp_path / "hello.c"
    src.write_text('#include "wasmffi_guest.h"\n'
                   'WASMFFI_EXPORT(add) int32_t add(int32_t a, int32_t b) { return a + b; }\n')
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-m", "wasmffi", "build", "--print-include-dir"], capture_output=True,
                       text=True, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert pathlib.Path(r.stdout.strip()).resolve() == PKG / "include"
    r = subprocess.run([sys.executable, "-m", "wasmffi", "build", str(src), "-o", str(tmp_path / "hello.wasm")],
                       capture_output=True, text=True, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert wasmffi.load(tmp_path / "hello.wasm").exports.add(40, 2) == 42


def test_installed_stub_is_the_checked_in_one():
    """The wheel's _core.pyi is python/wasmffi/_core.pyi, which test_typing.py checks against the
    installed extension: so the stub users get matches the module they get."""
    from conftest import ROOT
    assert (PKG / "_core.pyi").read_bytes() == (ROOT / "python" / "wasmffi" / "_core.pyi").read_bytes()


def test_readme_size_figures_are_this_wheels(wasmffi_wheel):
    """README.md's "Size" paragraph states the wheel, installed and extension sizes; they come from
    this measurement and must stay within 0.1 MB of it (the three CPythons' wheels differ by less)."""
    from conftest import ROOT
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Size\n"):text.index("## Layout")]
    ext = next(p for p in PKG.iterdir() if p.name.startswith("_core.") and p.suffix == ".so")
    measured = {"the wheel is": wasmffi_wheel.stat().st_size, "the installed package": installed_bytes(),
                "the extension module is": ext.stat().st_size}
    for words, size in measured.items():
        m = re.search(re.escape(words) + r"\s+\*\*([\d.]+) MB\*\*", section)
        assert m, f"README's Size section no longer says '{words} **N MB**'"
        assert abs(float(m.group(1)) - size / 1e6) <= 0.1, (
            f"README says {words} {m.group(1)} MB; measured {size / 1e6:.2f} MB: update README.md")
