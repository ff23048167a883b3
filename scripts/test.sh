#!/usr/bin/env bash
# Runs every test on a fresh machine or a warm one:
#   1. installs the Debian packages (scripts/install-deps.sh; nothing to do when present)
#   2. builds the pinned etcd / kube-apiserver / kube-controller-manager from the Go
#      module proxy, or reuses them from ~/.cache/gotestrun (tests/controlplane/build.sh)
#   3. builds helm, kubeconform and helm-unittest from the Go module proxy, or reuses
#      them (tests/tools/build.sh)
#   4. builds the real node's kubelet and containerd from the Go module proxy and its
#      images with buildah, or reuses them (tests/realnode/build.sh, images.sh)
#   5. builds the project with warnings as errors and runs the unit, integration, chart,
#      e2e and e2e-node tests (ctest labels), each integration binary against its own
#      control plane, the e2e-node ones on a real kubelet, containerd and runc
#   6. builds it again with AddressSanitizer + UndefinedBehaviorSanitizer and runs the
#      unit and integration tests under them
#   7. builds the libFuzzer targets with clang and runs each over its committed corpus
#      for a bounded number of inputs (tests/fuzz/run.sh; GOTESTRUN_FUZZ_RUNS sets it)
# Set GOTESTRUN_SKIP_SANITIZERS=1 to skip step 6 while iterating.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${GOTESTRUN_BUILD_DIR:-$root/build}
jobs=$(nproc)

section() { printf '\n==> %s (%s)\n' "$1" "$(date +%T)"; }

section "dependencies"
bash "$root/scripts/install-deps.sh"

section "control plane"
GOTESTRUN_CONTROLPLANE_BIN=$("$root/tests/controlplane/build.sh")
export GOTESTRUN_CONTROLPLANE_BIN
echo "$GOTESTRUN_CONTROLPLANE_BIN"

section "chart tools"
GOTESTRUN_TOOLS_BIN=$("$root/tests/tools/build.sh")
export GOTESTRUN_TOOLS_BIN
echo "$GOTESTRUN_TOOLS_BIN"

section "real node"
GOTESTRUN_NODE_BIN=$("$root/tests/realnode/build.sh")
GOTESTRUN_NODE_IMAGES=$("$root/tests/realnode/images.sh")
export GOTESTRUN_NODE_BIN GOTESTRUN_NODE_IMAGES
echo "$GOTESTRUN_NODE_BIN $GOTESTRUN_NODE_IMAGES"

section "build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGTR_WERROR=ON >/dev/null
ninja -C "$build" -j "$jobs"

section "tests"
# Anchored: the e2e-node label (a real kubelet and containerd, tests/realnode) is not in this run.
# A test binary that fails is run once more: the e2e tests time real OOM kills on two
# shared cores, and what a kill leaves as evidence varies with the load. The first
# run's failure stays in the log (each binary ends with its failures in brief); a
# failure that comes back fails the run.
ctest --test-dir "$build" --output-on-failure -j 2 --repeat until-pass:2 -L '^(unit|integration|chart|e2e)$'

section "tests on the real node"
# Alone: a kubelet and containerd on the same machine as other tests' memory cgroups
# would skew both.
ctest --test-dir "$build" --output-on-failure --repeat until-pass:2 -L '^e2e-node$'

if [ "${GOTESTRUN_SKIP_SANITIZERS:-0}" != 1 ]; then
  section "build with ASan+UBSan"
  cmake -S "$root" -B "$build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DGTR_WERROR=ON -DGTR_SANITIZE=ON >/dev/null
  ninja -C "$build-asan" -j "$jobs"
  section "tests under ASan+UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$build-asan" --output-on-failure -j 2 -L 'unit|integration'
fi
section "fuzz targets (bounded runs over the committed corpus)"
bash "$root/tests/fuzz/run.sh" "${GOTESTRUN_FUZZ_RUNS:-2000}"
section "done"
