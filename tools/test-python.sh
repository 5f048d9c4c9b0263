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
var="PYTHON_${ver//./_}"
py="${!var:-}"
if [ -z "$py" ]; then
  root="${PYENV_ROOT:-$HOME/.pyenv}"
  py="$(ls -d "$root"/versions/"$ver".*/bin/python"$ver" 2>/dev/null | sort -V | tail -n 1 || true)"
fi
if [ -z "$py" ] && command -v "python$ver" >/dev/null && "python$ver" -c '' 2>/dev/null; then
  py="$(command -v "python$ver")"
fi
if [ -z "$py" ] || ! "$py" -c 'import sys; assert sys.version_info[:2] == tuple(map(int, sys.argv[1].split(".")))' "$ver"; then
  echo "test-python: no working Python $ver found (set $var=/path/to/python$ver)" >&2
  exit 1
fi

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
