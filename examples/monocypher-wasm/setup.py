"""Wheel build hook: copies the monocypher.wasm that `make monocypher` built into the package."""

# The module is never committed: it is compiled from the pinned pymonocypher sdist into
# build/monocypher/ (or named by $MONOCYPHER_WASM) and only enters the package here, at build time.

import os
import pathlib
import shutil

# setuptools ships no type information (the repo's mypy run checks examples/ too).
from setuptools import setup  # type: ignore[import-untyped]
from setuptools.command.build_py import build_py  # type: ignore[import-untyped]

HERE = pathlib.Path(__file__).resolve().parent


class BuildPyWithWasm(build_py):  # type: ignore[misc]
    def run(self) -> None:
        super().run()
        wasm = pathlib.Path(os.environ.get("MONOCYPHER_WASM") or HERE.parents[1] / "build" / "monocypher" / "monocypher.wasm")
        if not wasm.is_file():
            raise SystemExit(f"{wasm} does not exist: run `make monocypher` in the wasmffi checkout first")
        dest = pathlib.Path(self.build_lib) / "monocypher_wasm"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(wasm, dest / "monocypher.wasm")
        license_file = wasm.parent / "LICENSE.txt"
        if license_file.is_file():
            shutil.copyfile(license_file, dest / "MONOCYPHER_LICENSE.txt")


setup(cmdclass={"build_py": BuildPyWithWasm})
