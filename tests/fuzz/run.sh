#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) in build-fuzz/ and runs each over
# its committed corpus in tests/fuzz/corpus/<target>/.
#
#   tests/fuzz/run.sh [RUNS]      each target for RUNS executions (default 2000)
#   GOTESTRUN_FUZZ_LONG=1 tests/fuzz/run.sh
#                                 each target for 10 million executions, one after
#                                 another at low priority, new inputs kept in
#                                 build-fuzz/corpus/<target>/ (the committed corpus is
#                                 only read)
#   GOTESTRUN_FUZZ_TARGETS="manifest watch_stream" limits the run to those targets;
#   GOTESTRUN_FUZZ_SECONDS=N stops each target after N seconds if its runs are not done.
#   GOTESTRUN_FUZZ_MAX_LEN=N     longest input libFuzzer makes (default 65536); a
#                                 long run of a slow target may take a shorter one
#
# Every input is bounded in memory (-rss_limit_mb, -malloc_limit_mb) and time
# (-timeout): a slow or greedy input is a finding like a crash. Crash inputs are
# written to build-fuzz/findings/<target>/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${GOTESTRUN_FUZZ_BUILD_DIR:-$root/build-fuzz}
targets=(${GOTESTRUN_FUZZ_TARGETS:-manifest heap_profile test_stream gctrace kubeconfig watch_stream status})
runs=${1:-2000}
long=${GOTESTRUN_FUZZ_LONG:-0}
[ "$long" = 1 ] && runs=${1:-10000000}

cxx=$(command -v clang++ || command -v clang++-14 || true)
[ -n "$cxx" ] || { echo "tests/fuzz/run.sh: clang++ not found (scripts/install-deps.sh installs it)" >&2; exit 1; }

launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# -O1 with line tables only, as OSS-Fuzz builds: a cold build costs far less than
# -O2 -g, and stack traces still name lines.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Fuzz -DCMAKE_CXX_FLAGS_FUZZ="-O1 -gline-tables-only" \
  -DCMAKE_CXX_COMPILER="$cxx" \
  -DGTR_FUZZ=ON -DBUILD_TESTING=OFF "${launcher[@]}" >/dev/null
ninja -C "$build" -j "${GOTESTRUN_FUZZ_JOBS:-$(nproc)}" fuzz-targets

# ASan records the stack of every allocation and free in a depot that never shrinks;
# a recursive parser fed mutated input makes new stacks without end (the kubeconfig
# target's RSS grew ~2.5 KB per execution, to libFuzzer's 1 GiB limit after ~1M).
# The long run keeps no allocation stacks: its reports still give the faulting stack,
# and a saved input re-run with the bounded run's settings gives the rest.
asan_options=detect_leaks=1:allocator_may_return_null=0
[ "$long" = 1 ] && asan_options=$asan_options:malloc_context_size=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-$asan_options}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in "${targets[@]}"; do
  corpus=$root/tests/fuzz/corpus/$t
  findings=$build/findings/$t
  mkdir -p "$findings"
  # libFuzzer writes new inputs into the first folder: a scratch one, never the
  # committed corpus. The long run keeps its folder between runs.
  scratch=$build/corpus/$t
  nice=()
  if [ "$long" = 1 ]; then
    nice=(nice -n 19)
  else
    rm -rf "$scratch"
  fi
  mkdir -p "$scratch"
  dirs=("$scratch" "$corpus")
  start=$(date +%s)
  log=$build/findings/$t.log
  limit=()
  # A unit's time limit is wall-clock time: at nice 19 beside a busy machine a 60 ms
  # input has been seen to wait 12 s for a core, so the long run allows a minute (a
  # real hang still shows); the short run in the test command keeps 10 s.
  timeout=10
  [ "$long" = 1 ] && timeout=60
  [ -n "${GOTESTRUN_FUZZ_SECONDS:-}" ] && limit=(-max_total_time="$GOTESTRUN_FUZZ_SECONDS")
  if "${nice[@]}" "$build/tests/fuzz/${t}_fuzz" -runs="$runs" "${limit[@]}" -rss_limit_mb=1024 -malloc_limit_mb=512 \
      -timeout="$timeout" -max_len="${GOTESTRUN_FUZZ_MAX_LEN:-65536}" -artifact_prefix="$findings/" -print_final_stats=1 "${dirs[@]}" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    printf 'fuzz %-13s ok: %s executions in %ss\n' "$t" "${execs:-?}" "$(($(date +%s) - start))"
  else
    status=1
    printf 'fuzz %-13s FAILED (log %s, inputs in %s)\n' "$t" "$log" "$findings"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -5 || true
  fi
done
exit $status
