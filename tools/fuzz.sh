#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer harnesses of tests/fuzz with clang (our code under
# -fsanitize=fuzzer-no-link,address,undefined; the engine as built, so no cargo rebuild) in
# build/fuzz, runs each for FUZZ_SECONDS (default 60) on a working corpus seeded from
# tests/fuzz/corpus/<name>, then the cdef property test (hypothesis) with FUZZ_CDEF_EXAMPLES
# examples (20 per second of FUZZ_SECONDS; about that long). Fails on any crash, sanitizer report, leak or failed example; prints a summary.
# FUZZ_TARGETS picks harnesses ("module memory marshal cdef"); extra arguments go to libFuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${FUZZ_SECONDS:-60}"
targets="${FUZZ_TARGETS:-module memory marshal cdef}"
cdef_examples="${FUZZ_CDEF_EXAMPLES:-$((secs * 20))}"
jobs="${FUZZ_JOBS:-2}"
out=build/fuzz

# libFuzzer's runtime is a Debian package of its own (clang's version), needed only here.
rt="$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a"
if [ ! -f "$rt" ]; then
  pkg="libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
  echo "fuzz: installing $pkg (libFuzzer's runtime)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
fi

echo "fuzz: building the harnesses in $out (clang, fuzzer + address,undefined)"
cmake -S . -B "$out" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWASMFFI_FUZZ=ON -DWASMFFI_TESTS=OFF -DWASMFFI_PYTHON=OFF > /dev/null
cmake --build "$out" -j "$jobs"

# wasmtime catches wasm traps with signal handlers; ASan leaves those signals alone (see
# tools/test-sanitize.sh). libFuzzer keeps its own handlers: the harnesses make their engine on
# the first input, so wasmtime's handlers go in after libFuzzer's and pass any fault that is not
# a wasm trap on to it (a crash report). Each finding is written to $out/artifacts/<name>/.
export ASAN_OPTIONS="handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:allow_user_segv_handler=1:detect_stack_use_after_return=0:detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

summary=()
status=0
for name in $targets; do
  if [ "$name" = cdef ]; then
    echo "fuzz: cdef: hypothesis, $cdef_examples examples (tests/python/test_cdef_fuzz.py)"
    start=$(date +%s)
    if WASMFFI_CDEF_FUZZ_EXAMPLES="$cdef_examples" .venv/bin/python -m pytest -q -p no:cacheprovider \
        tests/python/test_cdef_fuzz.py > "$out/cdef.log" 2>&1; then
      result="ok"
    else
      result="FAILED (see $out/cdef.log)"; status=1
    fi
    summary+=("$(printf '%-8s %s: %s examples per test in %ss' cdef "$result" "$cdef_examples" $(( $(date +%s) - start )))")
    tail -3 "$out/cdef.log"
    continue
  fi
  corpus="$out/corpus/$name"
  artifacts="$out/artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  cp -n tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null || true
  seeds=$(ls "$corpus" | wc -l)
  echo "fuzz: $name for ${secs}s ($seeds inputs in $corpus)"
  log="$out/$name.log"
  rc=0
  "$out/fuzz_$name" -max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$@" "$corpus" > "$log" 2>&1 || rc=$?
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  stat() { grep -E "^stat::$1:" "$log" | awk '{print $2}' | tail -1; }
  cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<< "$last")
  ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<< "$last")
  corp=$(sed -nE 's/.*corp: ([0-9]+).*/\1/p' <<< "$last")
  line=$(printf '%-8s runs %s, %s exec/s, cov %s, ft %s, corpus %s -> %s, new units %s, peak RSS %s MB' \
    "$name" "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" "${cov:-?}" "${ft:-?}" \
    "$seeds" "${corp:-?}" "$(stat new_units_added)" "$(stat peak_rss_mb)")
  if [ $rc -ne 0 ]; then
    status=1
    line="$line; CRASH (exit $rc): $(ls "$artifacts" | tr '\n' ' ')"
    grep -E 'ERROR|SUMMARY|fuzz_[a-z]+:' "$log" | head -5 || true
  fi
  summary+=("$line")
done

echo
echo "fuzz: summary (FUZZ_SECONDS=$secs; logs in $out/*.log)"
printf '  %s\n' "${summary[@]}"
exit $status
