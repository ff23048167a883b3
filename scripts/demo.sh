#!/usr/bin/env bash
# The main job, on one machine: a real Kubernetes control plane (etcd, kube-apiserver,
# kube-controller-manager), a test node that runs Pods as local processes in memory
# cgroups, and the operator. It applies crds/examples/leak-demo.yaml, a GoTestRun of
# the fixture module that starts with too little memory, and shows the OOM kill, the
# package the operator names, its retry plan and the green result.
#
# (The single-process runner `gotestrun run` is not built yet; this runs the same
# engine through the API server.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${GOTESTRUN_BUILD_DIR:-$root/build}
bash "$root/scripts/install-deps.sh"
GOTESTRUN_CONTROLPLANE_BIN=$("$root/tests/controlplane/build.sh")
export GOTESTRUN_CONTROLPLANE_BIN
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" gotestrun-testenv gotestrun-operator gotestrun-agent

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/profiles"
echo "==> starting the control plane and a test node"
"$build/tests/support/gotestrun-testenv" --controller-manager --crds "$root/crds" --env-file "$work/env" \
  --node demo-node --work-dir "$work/node" \
  --claim "workspace=$root/tests/fixtures" --claim "gotestrun-profiles=$work/profiles" >"$work/testenv.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 900); do [ -s "$work/env" ] && break; sleep 0.1; done
[ -s "$work/env" ] || { tail -20 "$work/testenv.log"; exit 1; }
# shellcheck disable=SC1091
. "$work/env"
export KUBECONFIG
echo "==> starting gotestrun-operator"
"$build/operator/gotestrun-operator" --kubeconfig "$KUBECONFIG" --profiles-dir "$work/profiles" \
  --agent-path "$build/agent/gotestrun-agent" >"$work/operator.log" 2>&1 &
pids+=($!)

echo "==> kubectl apply -f crds/examples/leak-demo.yaml"
kubectl apply -f "$root/crds/examples/leak-demo.yaml"
last=""
for _ in $(seq 1 600); do
  now=$(kubectl get gotestrun leak-demo --no-headers 2>/dev/null || true)
  if [ "$now" != "$last" ]; then echo "$now"; last=$now; fi
  phase=$(kubectl get gotestrun leak-demo -o 'jsonpath={.status.phase}' 2>/dev/null || true)
  [ "$phase" = Succeeded ] || [ "$phase" = Failed ] && break
  sleep 1
done
echo
echo "==> attempts (pod, memory limit, outcome, killed package, phase, what happened)"
kubectl get gotestrun leak-demo -o 'jsonpath={range .status.shards[*].attempts[*]}{.pod}{"\t"}{.memory}{"\t"}{.outcome}{"\t"}{.killedPackage}{"\t"}{.phase}{"\t"}{.message}{"\n"}{end}'
echo
echo "==> packages"
kubectl get gotestrun leak-demo -o 'jsonpath={range .status.packages[*]}{.package}{"\t"}{.outcome}{"\tattempts "}{.attempts}{"\tpeak bytes "}{.peakBytes}{"\n"}{end}'
echo
echo "==> events"
kubectl get events --field-selector involvedObject.name=leak-demo -o 'jsonpath={range .items[*]}{.type}{"\t"}{.reason}{"\t"}{.message}{"\n"}{end}'
echo
echo "==> $(kubectl get gotestrun leak-demo -o 'jsonpath={.status.phase}: {.status.message}')"
