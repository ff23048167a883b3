#!/usr/bin/env bash
# The first thing to try: `gotestrun run` on this machine, no cluster. It installs the
# build's packages (scripts/install-deps.sh), builds gotestrun and gotestrun-agent in
# build/, and runs the fixture module's leak/ (which keeps ~330 MiB alive by its last
# test) and clean/ packages at 256Mi: the kernel OOM-kills the leak, gotestrun names
# it, says why (the diagnosis), retries it alone with more memory (never above 1Gi)
# and ends green. Every shard attempt runs in a memory cgroup of its own (as root;
# otherwise limits are enforced by watching RSS, and the run says so).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${GOTESTRUN_BUILD_DIR:-$root/build}
bash "$root/scripts/install-deps.sh"
command -v go >/dev/null || { echo "example.sh: go (1.24 or later) must be on PATH" >&2; exit 1; }
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" gotestrun gotestrun-agent

module=$root/tests/fixtures/memory
export GOFLAGS=-mod=mod GOTOOLCHAIN=local  # the fixture needs no network
# A cold build cache compiles the standard library first; done here, outside the limits.
echo "==> go test -run '^\$' ./leak ./clean/...   (warms the Go build cache)"
(cd "$module" && go test -count=1 -run '^$' ./leak ./clean/... >/dev/null)

name=leak-$(date +%Y%m%d-%H%M%S)
run=$build/example-runs/$name
echo "==> gotestrun run ./leak ./clean/... --memory 256Mi --max-memory 1Gi"
# --no-history: each run starts from 256Mi; without it the next run would be planned
# from this one's peaks and never be killed.
code=0
"$build/cli/gotestrun" run ./leak ./clean/... --module-dir "$module" --memory 256Mi --max-memory 1Gi \
  --parallel 2 --no-history --name "$name" --out "$run" || code=$?
echo
echo "==> exit code $code. The report: $run/report.html"
echo "    everything the status holds: $build/cli/gotestrun describe $run"
exit "$code"
