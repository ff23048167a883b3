#!/usr/bin/env bash
# Regenerates the attempt folders in this directory: real runs of the agent over the
# packages of tests/fixtures/memory, each alone in a memory cgroup of its own with the
# limit below (the limits tests/e2e/diagnosis_accuracy_test.cc uses, so the kernel
# OOM-kills the pathological ones), trimmed to what ReadPackageSignals reads (the
# overlay and partly written profiles are dropped). signals_test.cc reads them.
#
# Usage: tests/unit/core/diagnosis/cause/testdata/regenerate.sh BUILD_DIR
#   BUILD_DIR holds agent/gotestrun-agent. Needs go, a C compiler (nativemem uses
#   cgo), and a memory cgroup this process may make children in (root; cgroup v1 with
#   the memory controller, or cgroup v2 with memory enabled for children).
#
# The folders hold absolute paths and times of the machine that made them; the tests
# check causes and shapes, not exact figures, so regenerating keeps them passing.
set -euo pipefail

build=$(cd "${1:?usage: regenerate.sh BUILD_DIR}" && pwd)
agent="$build/agent/gotestrun-agent"
here=$(cd "$(dirname "$0")" && pwd)
fixture=$(cd "$here/../../../fixtures/memory" && pwd)
[[ -x "$agent" ]] || { echo "no agent at $agent" >&2; exit 1; }
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=1

# name|package|limit MiB (0: none)|agent flags
cases=(
  "leak|leak|200|"
  "largetest|largetest|200|"
  "goroutineleak|goroutineleak|200|"
  "nativemem|nativemem|200|"
  "initmem|initmem|200|"
  "gcheadroom|gcheadroom|300|"
  "parallelspike|parallelspike|200|--parallel 8"
  # A flag only this run uses, so that the compile is never in the build cache.
  "compileheavy|compileheavy|200|--flag -gcflags=gotestrun.dev/fixtures/memory/compileheavy=-D=/regenerate-$$-$(date +%s)"
  "clean_a|clean/a|512|"
  "leak_passed|leak|0|"
)

# Our own memory cgroup: v1 (memory controller) or v2.
v1=$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)
v2=$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)
if [[ -n "$v1" && -d "/sys/fs/cgroup/memory$v1" ]]; then
  parent="/sys/fs/cgroup/memory$v1"; limit_file=memory.limit_in_bytes
elif [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
  parent="/sys/fs/cgroup$v2"; limit_file=memory.max
elif [[ -f /sys/fs/cgroup/unified/cgroup.controllers ]]; then
  parent="/sys/fs/cgroup/unified$v2"; limit_file=memory.max
else
  echo "no memory cgroup found" >&2; exit 1
fi

# Warm the build cache outside any limit (the compile of compileheavy excepted).
(cd "$fixture" && go test -count=1 -run '^$' $(go list ./... | grep -v compileheavy) > /dev/null)

for row in "${cases[@]}"; do
  IFS='|' read -r name pkg limit flags <<< "$row"
  out="$here/$name"
  rm -rf "$out"
  cg="$parent/cause-regenerate-$$"
  mkdir "$cg"
  [[ "$limit" != 0 ]] && echo $((limit << 20)) > "$cg/$limit_file"
  # shellcheck disable=SC2086
  (cd "$fixture" && sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" \
     "$agent" run --dir "$out" --module-dir "$fixture" --heap-interval 10ms --flag -count=1 $flags "./$pkg") \
     > /dev/null 2>&1 || true
  until rmdir "$cg" 2>/dev/null; do
    while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done < "$cg/cgroup.procs"
    sleep 0.1
  done
  rm -rf "$out/overlay"
  find "$out" -name '*.tmp' -delete
  echo "$name: $(du -sh "$out" | cut -f1)"
done
