#!/usr/bin/env bash
# Prints the interpreter of one supported CPython (`tools/find-python.sh 3.12`): $PYTHON_3_12 if
# set, else pyenv's newest 3.12.x, else python3.12 on PATH. Used by test-python.sh and dist.sh.
set -euo pipefail
ver="${1:?usage: tools/find-python.sh VERSION (e.g. 3.12)}"
[[ "$ver" =~ ^3\.[0-9]+$ ]] || { echo "find-python: version must look like 3.12, not '$ver'" >&2; exit 2; }
var="PYTHON_${ver//./_}"
py="${!var:-}"
if [ -z "$py" ]; then
  root="${PYENV_ROOT:-$HOME/.pyenv}"
  py="$(ls -d "$root"/versions/"$ver".*/bin/python"$ver" 2>/dev/null | sort -V | tail -n 1 || true)"
fi
if [ -z "$py" ] && command -v "python$ver" >/dev/null && "python$ver" -c '' 2>/dev/null; then
  py="$(command -v "python$ver")"
fi
if [ -z "$py" ] || ! "$py" -c 'import sys; assert sys.version_info[:2] == tuple(map(int, sys.argv[1].split(".")))' "$ver" 2>/dev/null; then
  echo "no working Python $ver found (set $var=/path/to/python$ver)" >&2
  exit 1
fi
echo "$py"
