"""Which copy of wasmffi the suite tests: the installed wheel (`make test-wheel`) or the source tree (`make build`)."""

import pathlib
import sys
import sysconfig

import wasmffi
from wasmffi import _build, _core

from conftest import INSTALLED, ROOT

PKG = pathlib.Path(wasmffi.__file__).resolve().parent


def test_the_suite_imports_the_copy_it_means_to_test():
    core = pathlib.Path(_core.__file__).resolve()
    if INSTALLED:
        # A venv's site-packages, never the checkout: a stray sys.path entry into python/ (or an
        # editable install) would import the sources and test them instead of the wheel.
        site = {pathlib.Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")}
        assert sys.prefix != sys.base_prefix, "installed mode runs in a venv of its own"
        assert PKG.parent in site, f"wasmffi imported from {PKG}, not from {site}"
        assert not PKG.is_relative_to(ROOT.resolve()), PKG
        assert core.parent == PKG, core
        assert _build.include_dir().resolve() == PKG / "include"
    else:
        # `make build`'s editable install: the package's sources in place, the extension built into
        # the venv (scikit-build-core's redirect mode).
        assert PKG == (ROOT / "python" / "wasmffi").resolve(), PKG
        assert pathlib.Path(sys.prefix).resolve() in core.parents, core
        assert _build.include_dir().resolve() == (ROOT / "guest" / "include").resolve()


def test_the_package_has_its_stubs_marker_and_sdk_headers():
    for name in ("py.typed", "_core.pyi", "__main__.py"):
        assert (PKG / name).is_file(), name
    for name in ("wasmffi_guest.h", "wasmffi_alloc.h", "wasmffi_alloc.c"):
        assert (_build.include_dir() / name).is_file(), name
