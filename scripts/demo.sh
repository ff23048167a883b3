#!/usr/bin/env bash
# The main job a newcomer can run today. The local runner (`gotestrun run`) is not
# built yet; until it is, this builds what is there and shows the Kubernetes layer at
# work: it starts the real test control plane, fills it with ConfigMaps, and syncs
# an informer over them beside kubectl.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${GOTESTRUN_BUILD_DIR:-$root/build}
bash "$root/scripts/install-deps.sh"
GOTESTRUN_CONTROLPLANE_BIN=$("$root/tests/controlplane/build.sh")
export GOTESTRUN_CONTROLPLANE_BIN
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" gotestrun-testenv informer_bench
exec "$root/tests/bench/informer/run.sh" "$build" "${1:-2000}" 3
