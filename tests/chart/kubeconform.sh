#!/usr/bin/env bash
# helm template | kubeconform -strict, against schemas made from the API server itself:
# a control plane (the pinned kube-apiserver, with the project's CRD applied) serves
# /openapi/v2 with every built-in kind and GoTestRun; openapi2jsonschema.py turns it
# into kubeconform's strict per-kind schemas. No schema is downloaded, and the
# Kubernetes version checked against is the one the integration tests run.
source "$(dirname "$0")/lib.sh"
start_control_plane --crds "$root/crds"
step "schemas from $(kubectl version -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])') /openapi/v2"
# The CRD's schema reaches /openapi/v2 a moment after the CRD is established.
for _ in $(seq 100); do
  kubectl get --raw /openapi/v2 >"$work/openapi.json"
  grep -q '"dev.gotestrun.v1alpha1.GoTestRun"' "$work/openapi.json" && break
  sleep 0.2
done
python3 "$root/tests/chart/openapi2jsonschema.py" "$work/openapi.json" "$work/schemas"
schemas="$work/schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json"
[ -f "$work/schemas/gotestrun-gotestrun-v1alpha1.json" ] || fail "no schema for GoTestRun"
[ -f "$work/schemas/deployment-apps-v1.json" ] || fail "no schema for Deployment"

validate() { # NAME FILE [kubeconform flags]
  local name=$1 file=$2
  shift 2
  step "$name"
  "$kubeconform" -strict -summary -output text -schema-location "$schemas" "$@" "$file" || fail "$name"
}
render() { # FILE helm-template-flags...
  local out=$1
  shift
  "$helm" template gtr "$chart" --namespace gotestrun-system "$@" >"$out"
}

render "$work/defaults.yaml"
validate "chart, defaults" "$work/defaults.yaml"
grep -q '^kind: CustomResourceDefinition' "$work/defaults.yaml" || fail "the defaults render no CRD"

render "$work/namespaced.yaml" --set 'watchNamespaces={team-a,team-b}' --set replicaCount=1 \
  --set leaderElection.enabled=false --set profiles.type=hostPath --set 'profiles.hostPath.claimNamespaces={team-a,team-b}' \
  --set 'tolerations[0].key=dedicated' --set 'tolerations[0].operator=Exists' --set nodeSelector.pool=ci
validate "chart, namespaced, hostPath" "$work/namespaced.yaml"

# The ServiceMonitor's CRD (Prometheus Operator) is not in this cluster: that one kind
# is skipped, by name, and only in this rendering.
render "$work/extras.yaml" --set metrics.serviceMonitor.enabled=true --set serviceAccount.create=false \
  --set serviceAccount.name=ci --set 'extraArgs={--workers=4}' --set 'extraEnv[0].name=TZ' \
  --set 'extraEnv[0].value=UTC' \
  --set image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
validate "chart, ServiceMonitor, digest, extras" "$work/extras.yaml" -skip ServiceMonitor

for example in "$root"/crds/examples/*.yaml; do
  validate "GoTestRun example $(basename "$example")" "$example"
done

step "the schemas refuse what the API server would"
cat >"$work/bad-deployment.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: c
          image: x
          securityContext: {runAsNonRoot: true, readOnlyRootFileSystem: true}
YAML
cat >"$work/bad-run.yaml" <<'YAML'
apiVersion: gotestrun.dev/v1alpha1
kind: GoTestRun
metadata: {name: bad}
spec:
  source: {git: {url: https://example.com/m.git}}
  image: golang:1.26
  resources: {memory: 512Mi, maxMemory: 4Gi}
  sharding: {shards: many}
YAML
for bad in bad-deployment bad-run; do
  if "$kubeconform" -strict -schema-location "$schemas" "$work/$bad.yaml" >"$work/$bad.log" 2>&1; then
    fail "kubeconform accepted $bad.yaml"
  fi
  echo "$bad.yaml refused: $(head -c 300 "$work/$bad.log")"
done
