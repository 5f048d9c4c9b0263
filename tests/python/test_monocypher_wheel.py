"""The monocypher-wasm wheel: py3-none-any, carries the .wasm, depends only on wasmffi, and works in a fresh virtualenv on the real wasmffi wheel."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest

import wasmffi

ROOT = pathlib.Path(__file__).resolve().parents[2]
WASM = ROOT / "build" / "monocypher" / "monocypher.wasm"
PKG = ROOT / "examples" / "monocypher-wasm"

# Without the module every test here skips, or in strict mode (`make test`) fails.
pytestmark = pytest.mark.usefixtures("monocypher_built")


def test_wheel_installs_and_runs_in_a_fresh_venv(tmp_path: pathlib.Path, wasmffi_wheel: pathlib.Path) -> None:
    """Builds the monocypher-wasm wheel (setuptools from this venv, no build isolation), checks
    its tag and contents, then installs it on top of the wasmffi wheel under test (the one
    `make dist` built, which `make test-wheel` names) into a new virtualenv that sees nothing of
    this one (python -m venv, no --system-site-packages) and hashes, locks and unlocks there.
    About 7 s here, most of it pip."""
    env = {k: v for k, v in os.environ.items() if k not in ("MONOCYPHER_WASM", "PYTHONPATH")}
    env["MONOCYPHER_WASM"] = str(WASM)  # where setup.py takes the module from
    wheels = tmp_path / "wheels"
    # From a copy: setuptools builds in the source tree (build/, *.egg-info), which must stay clean.
    src = tmp_path / "src"
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps",
                    "-w", str(wheels), str(src)], check=True, env=env, cwd=tmp_path)
    (wheel,) = wheels.glob("monocypher_wasm-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl"), wheel.name
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert "monocypher_wasm/monocypher.wasm" in names
        assert z.read("monocypher_wasm/monocypher.wasm") == WASM.read_bytes()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = [line for line in z.read(metadata).decode().splitlines() if line.startswith("Requires-Dist:")]
    assert requires == ["Requires-Dist: wasmffi"]
    assert not any(n.endswith((".c", ".h")) for n in names)  # no Monocypher sources in the wheel

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    del env["MONOCYPHER_WASM"]  # the installed package must find its own copy
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", str(wasmffi_wheel), str(wheel)],
                   check=True, env=env, cwd=tmp_path)
    script = (
        "import hashlib, monocypher_wasm as m, wasmffi, sys\n"
        "assert 'site-packages' in m.__file__ and 'site-packages' in wasmffi.__file__, (m.__file__, wasmffi.__file__)\n"
        "assert m.wasm_path().parent.name == 'monocypher_wasm', m.wasm_path()\n"
        "assert m.blake2b(b'abc') == hashlib.blake2b(b'abc').digest()\n"
        "mac, c = m.lock(bytes(32), bytes(24), b'in a fresh venv')\n"
        "assert len(m.argon2(b'pw', b'saltsalt', nb_blocks=8, nb_passes=1)) == 32  # inst.scratch()\n"
        "print(m.unlock(bytes(32), bytes(24), mac, c).decode())\n"
        "print(m.__file__); print(wasmffi.__file__)\n"
    )
    out = subprocess.run([str(py), "-I", "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text, mw_file, wasmffi_file = out.stdout.splitlines()
    assert text == "in a fresh venv"
    # Both packages came from the new venv, neither from this checkout or this process's environment.
    for f in (mw_file, wasmffi_file):
        assert pathlib.Path(f).resolve().is_relative_to(venv.resolve()), f
    assert wasmffi_file != wasmffi.__file__
