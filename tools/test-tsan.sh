#!/usr/bin/env bash
# `make test-tsan`: the thread stress (tools/stress_threads.py) and the thread tests with our code
# (the core and the extension) built under ThreadSanitizer. As in tools/test-sanitize.sh, the
# engine (Rust: wasmtime and our shim crate) stays as built and CPython is the stock one, neither
# instrumented: TSan sees only the memory accesses our C++ makes, and it learns of the
# synchronisation done elsewhere only through the pthread calls it intercepts. Its own venv
# (.venv-tsan, with only what the extension and these tests need) and build dir (build/py-tsan).
#
# Reports go to build/tsan-reports/ (one file per process); tools/tsan_summary.py sorts them
# (races between the engine's compile pool and its caller, whose handoff TSan cannot see; ours;
# others) and the script exits 1 if one has an access in our sources (src/, include/wasmffi/).
# SOAK_SCALE scales the stress (default 0.05 here: TSan slows calls 5-20x). Extra arguments go
# to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

cxx="${CXX:-g++}"
libtsan="$("$cxx" -print-file-name=libtsan.so)"
[ -f "$libtsan" ] || { echo "test-tsan: $cxx has no libtsan.so (apt-get install libtsan2)" >&2; exit 1; }

venv=.venv-tsan
py="${PYTHON:-$PWD/.venv/bin/python}"
if [ ! -f "$venv/.deps-stamp" ] || [ requirements-dev.txt -nt "$venv/.deps-stamp" ]; then
  echo "test-tsan: $venv: installing the build and test dependencies"
  [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q $(grep -E '^(scikit-build-core|nanobind|pytest|pycparser|numpy)==' requirements-dev.txt)
  touch "$venv/.deps-stamp"
fi
echo "test-tsan: building the extension (thread) in build/py-tsan"
"$venv/bin/pip" install -q --no-build-isolation --no-deps -C build-dir=build/py-tsan \
  -C cmake.build-type=RelWithDebInfo -C cmake.define.WASMFFI_SANITIZE=thread -e .

reports="$PWD/build/tsan-reports"
rm -rf "$reports" && mkdir -p "$reports"
export WASMFFI_GUEST_DIR="${WASMFFI_GUEST_DIR:-$PWD/build/guest}"
export WASMFFI_SANITIZED=1
# halt_on_error=0: see every report of the run, not only the first; exitcode=0: a process with
# reports exits as its tests say, and tools/tsan_summary.py decides. report_signal_unsafe=0: the
# epoch ticker and wasmtime's trap handlers run code in signal context that TSan would flag.
# history_size=4: longer access histories, so both stacks of a race are shown.
export TSAN_OPTIONS="halt_on_error=0:exitcode=0:report_signal_unsafe=0:history_size=4:second_deadlock_stack=1:log_path=$reports/tsan${TSAN_EXTRA:+:$TSAN_EXTRA}"
scale="${SOAK_SCALE:-0.05}"
status=0
echo "test-tsan: tools/stress_threads.py --scale $scale under ThreadSanitizer"
LD_PRELOAD="$libtsan" PYTHONMALLOC=malloc "$venv/bin/python" tools/stress_threads.py --scale "$scale" \
  --json build/tsan-stress.json || status=$?
echo "test-tsan: thread tests under ThreadSanitizer"
LD_PRELOAD="$libtsan" PYTHONMALLOC=malloc "$venv/bin/python" -m pytest -q -p no:cacheprovider \
  tests/python/test_thread_stress.py tests/python/test_gil.py tests/python/test_store_guard.py \
  tests/python/test_pool.py "$@" || status=$?

if compgen -G "$reports/*" > /dev/null; then
  echo "test-tsan: distinct summaries:"
  cat "$reports"/* | grep '^SUMMARY: ThreadSanitizer' | sed 's/^SUMMARY: ThreadSanitizer: //' | sort | uniq -c | sort -rn | head -20
  # Which reports are ours, and which the engine's compile pool (tools/tsan_summary.py says why).
  "$venv/bin/python" tools/tsan_summary.py "$reports" || status=1
else
  echo "test-tsan: no ThreadSanitizer report"
fi
exit $status
