#!/usr/bin/env bash
# The operator under load (see load_bench.cc): 200 GoTestRuns x 10 shards, every 4th
# run OOM-killed where its packages were, Pods completed by the test node's fast mode
# with evidence captured once from a real run of tests/fixtures/memory.
#   tests/bench/load/run.sh [--quick] [BUILD_DIR] [load_bench flags...]
# --quick: 20 runs, to see that it works.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
quick=()
if [[ ${1:-} == --quick ]]; then
  quick=(--runs 20)
  shift
fi
build=$(cd "${1:-$root/build}" && pwd)
shift || true
export GOTESTRUN_CONTROLPLANE_BIN=${GOTESTRUN_CONTROLPLANE_BIN:-$("$root/tests/controlplane/build.sh")}
ninja -C "$build" load_bench gotestrun-operator gotestrun gotestrun-agent >/dev/null

# The evidence the Pods leave: one real local run of ten fixture packages at 256Mi, one
# package per shard (five are killed: leak, largetest, initmem, goroutineleak,
# gcheadroom; each passes on its retry). Captured once per build folder.
capture=$build/tests/bench/load/capture
if [[ ! -f $capture/status.yaml ]]; then
  rm -rf "$capture"
  (cd "$root/tests/fixtures/memory" &&
    GOFLAGS=-mod=mod GOTOOLCHAIN=local "$build/cli/gotestrun" run --agent "$build/agent/gotestrun-agent" \
      --memory 256Mi --max-memory 1Gi --shards 10 --no-history --out "$capture" \
      ./leak ./largetest ./clean/... ./parallelspike ./initmem ./goroutineleak ./gcheadroom >"$capture.log" 2>&1) || {
    echo "capturing the evidence failed: $capture.log" >&2
    exit 1
  }
fi
exec "$build/tests/bench/load/load_bench" "$build/operator/gotestrun-operator" "$capture" "$root/crds" \
  --shards 10 --kill-limit 256Mi "${quick[@]}" "$@"
