#!/usr/bin/env bash
# OOM-to-retry latency over 50 real kills (see oom_retry_bench.cc).
#   tests/bench/oom_retry/run.sh [BUILD_DIR] [KILLS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
export GOTESTRUN_CONTROLPLANE_BIN=${GOTESTRUN_CONTROLPLANE_BIN:-$("$root/tests/controlplane/build.sh")}
ninja -C "$build" oom_retry_bench gotestrun-operator gotestrun-agent >/dev/null
exec "$build/tests/bench/oom_retry/oom_retry_bench" "$build/operator/gotestrun-operator" "$build/agent/gotestrun-agent" \
  "$root/tests/fixtures" "$root/crds" "${2:-50}"
