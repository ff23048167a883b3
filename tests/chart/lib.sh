# Sourced by the chart tests: the pinned tools, a scratch folder, and (for the tests
# that need one) a control plane of their own.
#   GOTESTRUN_TOOLS_BIN   folder with helm, kubeconform, helm-unittest (else built or
#                         reused from the cache by tests/tools/build.sh)
#   GTR_TESTENV           gotestrun-testenv (set by CMake)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
chart="$root/charts/gotestrun-operator"
tools=${GOTESTRUN_TOOLS_BIN:-$("$root/tests/tools/build.sh")}
helm="$tools/helm"
kubeconform="$tools/kubeconform"
work=$(mktemp -d /tmp/gotestrun-chart.XXXXXX)
# helm keeps its config, cache and repositories here, never in $HOME.
export HELM_CONFIG_HOME="$work/helm/config" HELM_CACHE_HOME="$work/helm/cache" HELM_DATA_HOME="$work/helm/data"
testenv_pid=""

cleanup() {
  if [ -n "$testenv_pid" ]; then
    kill "$testenv_pid" 2>/dev/null || true
    wait "$testenv_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

step() { printf '== %s\n' "$*"; }

# start_control_plane [gotestrun-testenv flags...]: kube-apiserver + etcd on loopback;
# exports KUBECONFIG once it answers.
start_control_plane() {
  : "${GTR_TESTENV:?GTR_TESTENV must name the gotestrun-testenv binary}"
  "$GTR_TESTENV" --env-file "$work/env" "$@" >"$work/testenv.log" 2>&1 &
  testenv_pid=$!
  for _ in $(seq 1200); do
    [ -s "$work/env" ] && break
    kill -0 "$testenv_pid" 2>/dev/null || { cat "$work/testenv.log" >&2; fail "the control plane did not start"; }
    sleep 0.1
  done
  [ -s "$work/env" ] || fail "the control plane did not start within 2 minutes"
  export KUBECONFIG
  KUBECONFIG=$(sed -n 's/^KUBECONFIG=//p' "$work/env")
}
