"""The monocypher-wasm wheel: py3-none-any, carries the .wasm, depends only on wasmffi, and works in a fresh virtualenv."""

from __future__ import annotations

import base64
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile

import pytest

import wasmffi
from wasmffi import _core

ROOT = pathlib.Path(__file__).resolve().parents[2]
WASM = ROOT / "build" / "monocypher" / "monocypher.wasm"
PKG = ROOT / "examples" / "monocypher-wasm"

# Without the module every test here skips, or in strict mode (`make test`) fails.
pytestmark = pytest.mark.usefixtures("monocypher_built")


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def wasmffi_wheel_from_build(dest: pathlib.Path) -> pathlib.Path:
    """A wheel of the wasmffi this test runs: the package's sources (python/wasmffi), the guest SDK
    headers (as wasmffi/include, like the real wheel) and the extension module the editable
    install already compiled, with metadata (dependencies included) read from pyproject.toml.
    Packing files that exist costs well under a second; `pip wheel .` would rebuild the C++
    extension (minutes on two cores). It is the same content scikit-build-core's wheel holds."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    name, version = meta["name"], meta["version"]
    files: dict[str, bytes] = {}
    pkg_dir = ROOT / "python" / "wasmffi"
    for path in sorted(pkg_dir.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files[f"wasmffi/{path.relative_to(pkg_dir).as_posix()}"] = path.read_bytes()
    for path in sorted((ROOT / "guest" / "include").iterdir()):
        files[f"wasmffi/include/{path.name}"] = path.read_bytes()
    ext = pathlib.Path(_core.__file__)
    files[f"wasmffi/{ext.name}"] = ext.read_bytes()
    abi = f"cp{sys.version_info.major}{sys.version_info.minor}"
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    tag = f"{abi}-{abi}-{plat}"
    info = f"{name}-{version}.dist-info"
    requires = "".join(f"Requires-Dist: {r}\n" for r in meta.get("dependencies", []))
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                 f"Requires-Python: {meta['requires-python']}\n{requires}").encode()
    files[f"{info}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: wasmffi-test\nRoot-Is-Purelib: false\nTag: {tag}\n".encode()
    record = [_record_line(n, d) for n, d in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = dest / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files.items():
            z.writestr(n, d)
    return wheel


def test_wheel_installs_and_runs_in_a_fresh_venv(tmp_path: pathlib.Path) -> None:
    """Builds the monocypher-wasm wheel (setuptools from this venv, no build isolation), checks
    its tag and contents, then installs it with wasmffi into a new virtualenv that sees nothing
    of this one (python -m venv, no --system-site-packages) and hashes, locks and unlocks there.
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
    core_wheel = wasmffi_wheel_from_build(wheels)
    del env["MONOCYPHER_WASM"]  # the installed package must find its own copy
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", str(core_wheel), str(wheel)],
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
