#!/usr/bin/env bash
# `make test-sanitize`: the C++ tests and the whole Python suite with the core and the extension
# built under AddressSanitizer (LeakSanitizer included) and UndefinedBehaviorSanitizer. The engine
# (Rust) stays as built; CPython is the normal one, so the ASan runtime is preloaded and Python's
# allocator is switched to malloc (PYTHONMALLOC=malloc) so that ASan sees every object we touch.
# Its own build dirs (build/cpp-san, build/py-san) and venv (.venv-san): nothing is shared with
# `make build`. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

san="${WASMFFI_SANITIZE:-address,undefined}"
cxx="${CXX:-g++}"
libasan="$("$cxx" -print-file-name=libasan.so)"
[ -f "$libasan" ] || { echo "test-sanitize: $cxx has no libasan.so (apt-get install libasan8 or the compiler's package)" >&2; exit 1; }
# libstdc++ is preloaded too: ASan resolves the real __cxa_throw when it starts, and CPython does
# not link libstdc++, so an extension loaded later (matplotlib's) would throw into a null pointer.
libstdcxx="$("$cxx" -print-file-name=libstdc++.so.6)"

# wasmtime catches wasm traps with signal handlers (SIGSEGV for out-of-bounds accesses, SIGILL,
# SIGFPE, SIGBUS): ASan leaves those signals to it. Reports go to files in build/san-reports (one
# per process, children included), because pytest captures stderr and a report would be lost
# with the process it ends; any report fails the run.
reports="$PWD/build/san-reports"
rm -rf "$reports" && mkdir -p "$reports"
asan_common="handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:allow_user_segv_handler=1:exitcode=86:detect_stack_use_after_return=0:verify_asan_link_order=0:log_path=$reports/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan"
# LeakSanitizer runs on the C++ suite, which has no Python in it (tools/lsan.supp says why it is
# empty). In the Python process it is off: CPython leaves objects allocated at exit, and every
# allocation's stack passes through libpython, so no suppression could tell its leaks from ours.
# Leaks of Python objects are caught there by test_leaks.py (nanobind's leak checker at exit) and
# the tracemalloc tests; native leaks by the C++ suite under LeakSanitizer.
export LSAN_OPTIONS="suppressions=$PWD/tools/lsan.supp:print_suppressions=0"

check_reports() {
  if compgen -G "$reports/*" > /dev/null; then
    echo "test-sanitize: sanitizer reports in $reports:" >&2
    for f in "$reports"/*; do echo "--- $f" >&2; head -60 "$f" >&2; done
    return 1
  fi
}

echo "test-sanitize: C++ tests ($san) in build/cpp-san"
cmake -S . -B build/cpp-san -G Ninja -DWASMFFI_TESTS=ON -DWASMFFI_PYTHON=OFF -DWASMFFI_SANITIZE="$san" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWASMFFI_GUEST_DIR="$PWD/build/guest" > /dev/null
cmake --build build/cpp-san
(cd build/cpp-san && ASAN_OPTIONS="$asan_common:detect_leaks=1" ctest --output-on-failure)
check_reports

venv=.venv-san
py="${PYTHON:-$PWD/.venv/bin/python}"
if [ ! -f "$venv/.deps-stamp" ] || [ requirements-dev.txt -nt "$venv/.deps-stamp" ]; then
  echo "test-sanitize: $venv: installing requirements-dev.txt"
  [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r requirements-dev.txt
  touch "$venv/.deps-stamp"
fi
echo "test-sanitize: building the extension ($san) in build/py-san"
# Built and installed without the sanitizer runtime loaded (pip and CMake are not instrumented).
"$venv/bin/pip" install -q --no-build-isolation --no-deps -C build-dir=build/py-san \
  -C cmake.build-type=RelWithDebInfo -C cmake.define.WASMFFI_SANITIZE="$san" -e .

export WASMFFI_GUEST_DIR="${WASMFFI_GUEST_DIR:-$PWD/build/guest}"
export WASMFFI_SANITIZED=1  # tests that cannot run under ASan (address-space limits) say so
echo "test-sanitize: Python suite under $san"
status=0
ASAN_OPTIONS="$asan_common:detect_leaks=0" LD_PRELOAD="$libasan $libstdcxx" PYTHONMALLOC=malloc \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" || status=$?
check_reports || status=1
exit $status
