#!/usr/bin/env bash
# Informer sync over 5,000 ConfigMaps against the test control plane, beside
# `kubectl get configmaps -A -o json` on the same objects in the same run: wall time
# and peak RSS of each (medians of RUNS runs), and the ratios.
#
#   tests/bench/informer/run.sh [BUILD_DIR] [COUNT] [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
count=${2:-5000}
runs=${3:-5}
export GOTESTRUN_CONTROLPLANE_BIN=${GOTESTRUN_CONTROLPLANE_BIN:-$("$root/tests/controlplane/build.sh")}
work=$(mktemp -d)
"$build/tests/support/gotestrun-testenv" --env-file "$work/env" >"$work/testenv.log" 2>&1 &
env_pid=$!
trap 'kill $env_pid 2>/dev/null; wait $env_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do [ -s "$work/env" ] && break; sleep 0.1; done
[ -s "$work/env" ] || { cat "$work/testenv.log"; exit 1; }
# shellcheck disable=SC1091
. "$work/env"
export KUBECONFIG
echo "populating $count ConfigMaps..."
"$build/tests/bench/informer/informer_bench" populate bench "$count"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() {  # prints "seconds kilobytes" per run
  for _ in $(seq 1 "$runs"); do
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>/dev/null
    cat "$work/time"
  done
}
measure "$build/tests/bench/informer/informer_bench" sync >"$work/informer"
grep -o 'objects [0-9]*' "$work/out"
measure kubectl get configmaps -A -o json >"$work/kubectl"
i_t=$(cut -d' ' -f1 "$work/informer" | median); i_m=$(cut -d' ' -f2 "$work/informer" | median)
k_t=$(cut -d' ' -f1 "$work/kubectl" | median); k_m=$(cut -d' ' -f2 "$work/kubectl" | median)
printf '%-36s %10s %12s\n' "whole process, median of $runs" "wall s" "peak RSS MiB"
printf '%-36s %10s %12.1f\n' "informer list+sync" "$i_t" "$(echo "$i_m/1024" | bc -l)"
printf '%-36s %10s %12.1f\n' "kubectl get configmaps -A -o json" "$k_t" "$(echo "$k_m/1024" | bc -l)"
printf '%-36s %10.2f %12.2f\n' "ratio informer/kubectl" "$(echo "$i_t/$k_t" | bc -l)" "$(echo "$i_m/$k_m" | bc -l)"
