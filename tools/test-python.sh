#!/usr/bin/env bash
# Builds wasmffi for one more CPython (e.g. `tools/test-python.sh 3.12`) in .venv-3.12 and runs the whole Python suite.
# Used by `make test-pythons`. Each version has its own venv and its own scikit-build-core build
# dir (build/py-3.12), so versions never share CMake caches or object files with each other or
# with `make build` (build/py).
set -euo pipefail
cd "$(dirname "$0")/.."

ver="${1:?usage: tools/test-python.sh VERSION (e.g. 3.12) [pytest args...]}"
shift
[[ "$ver" =~ ^3\.[0-9]+$ ]] || { echo "test-python: version must look like 3.12, not '$ver'" >&2; exit 2; }

# The interpreter: $PYTHON_3_12 if set, else pyenv's newest 3.12.x, else python3.12 on PATH.
py="$(tools/find-python.sh "$ver" 2>&1)" || { echo "test-python: $py" >&2; exit 1; }

venv=".venv-$ver"
stamp="$venv/.deps-stamp"
if [ ! -f "$stamp" ] || [ requirements-dev.txt -nt "$stamp" ]; then
  echo "test-python: $venv: installing requirements-dev.txt with $("$py" -V)"
  [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r requirements-dev.txt
  touch "$stamp"
fi

echo "test-python: building the extension for $("$venv/bin/python" -V) in build/py-$ver"
"$venv/bin/pip" install -q --no-build-isolation --no-deps -C "build-dir=build/py-$ver" -e . \
  || { echo "test-python: build failed; rerun with: $venv/bin/pip install -v --no-build-isolation -C build-dir=build/py-$ver -e ." >&2; exit 1; }

export WASMFFI_GUEST_DIR="${WASMFFI_GUEST_DIR:-$PWD/build/guest}"
exec "$venv/bin/python" -m pytest -q "$@"
