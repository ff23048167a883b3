#!/usr/bin/env bash
# helm install, upgrade and uninstall against a real kube-apiserver (the pinned control
# plane; no kubelet, so the operator's Pods are not started: what is checked is what the
# API server accepts and stores, the RBAC it enforces, and what each step leaves behind).
#
# The RBAC is checked twice: with `kubectl auth can-i` as the chart's ServiceAccount (each
# row of the chart README's table, and what must stay forbidden), and by running
# gotestrun-operator (GTR_OPERATOR) on this machine with that ServiceAccount's token
# until it has taken the Lease, put its finalizer on a GoTestRun, created the planning
# Pod and written the status: the real code paths, under the chart's grants only, once
# cluster-wide and once in namespaced mode (Roles only).
source "$(dirname "$0")/lib.sh"
: "${GTR_OPERATOR:?GTR_OPERATOR must name the gotestrun-operator binary}"
ns=gotestrun-system
release=gtr
sa=system:serviceaccount:$ns:gtr-gotestrun-operator
start_control_plane

can() { kubectl auth can-i --as "$sa" "$@" >/dev/null 2>&1; }
expect_can() { can "$@" || fail "the ServiceAccount cannot: $*"; }
expect_cannot() { ! can "$@" || fail "the ServiceAccount can, and must not: $*"; }
jsonpath() { kubectl get "$@" 2>/dev/null || true; }
# review VERB GROUP RESOURCE SUBRESOURCE NAMESPACE: a SubjectAccessReview for the
# ServiceAccount; unlike `kubectl auth can-i` it needs no discovery, so it also asks
# about kinds this cluster does not serve (Tekton's CustomRuns).
review() {
  kubectl create -o 'jsonpath={.status.allowed}' -f - <<YAML
apiVersion: authorization.k8s.io/v1
kind: SubjectAccessReview
spec:
  user: $sa
  groups: [system:serviceaccounts, "system:serviceaccounts:$ns", system:authenticated]
  resourceAttributes: {verb: "$1", group: "$2", resource: "$3", subresource: "$4", namespace: "$5"}
YAML
}
expect_review() { [ "$(review "$@")" = "$expect" ] || fail "SubjectAccessReview $*: expected allowed=$expect"; }

step "install"
"$helm" install "$release" "$chart" --namespace "$ns" --create-namespace --set profiles.claim.storageClassName=standard
[ "$("$helm" status "$release" -n "$ns" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["info"]["status"])')" = deployed ] ||
  fail "the release is not deployed"
kubectl wait --for condition=established --timeout=60s crd/gotestruns.gotestrun.dev
[ "$(jsonpath -n "$ns" deployment/gtr-gotestrun-operator -o 'jsonpath={.spec.replicas}')" = 2 ] || fail "Deployment replicas != 2"
kubectl get -n "$ns" serviceaccount/gtr-gotestrun-operator pdb/gtr-gotestrun-operator service/gtr-gotestrun-operator-metrics \
  pvc/gotestrun-profiles role/gtr-gotestrun-operator-leader-election rolebinding/gtr-gotestrun-operator-leader-election >/dev/null
kubectl get clusterrole/gtr-gotestrun-operator clusterrolebinding/gtr-gotestrun-operator >/dev/null

step "RBAC as $sa"
for verb in list watch update; do expect_can "$verb" gotestruns.gotestrun.dev --all-namespaces; done
expect_can update gotestruns.gotestrun.dev --subresource=status -n default
expect_can update gotestruns.gotestrun.dev --subresource=finalizers -n default
for verb in list watch create delete; do expect_can "$verb" pods --all-namespaces; done
for verb in get create update; do expect_can "$verb" configmaps -n default; done
expect_can create events -n default
for verb in get create delete; do expect_can "$verb" gotestruns.gotestrun.dev -n default; done
expect=true
for verb in list watch; do expect_review "$verb" tekton.dev customruns "" ""; done
expect_review update tekton.dev customruns status default
expect_review update tekton.dev customruns finalizers default
for verb in list watch; do expect_review "$verb" argoproj.io workflows "" ""; done
expect_can create leases.coordination.k8s.io -n "$ns"
expect_can get leases.coordination.k8s.io/gotestrun-operator -n "$ns"
expect_can update leases.coordination.k8s.io/gotestrun-operator -n "$ns"
for verb in get list watch; do expect_cannot "$verb" secrets --all-namespaces; done
expect_cannot update leases.coordination.k8s.io/kube-scheduler -n "$ns"
expect_cannot get leases.coordination.k8s.io/gotestrun-operator -n kube-system
expect=false
expect_review update tekton.dev customruns "" default
expect_review delete tekton.dev customruns "" default
expect_review update argoproj.io workflows "" default
expect_review get argoproj.io workflows "" default
expect_cannot patch pods -n default
expect_cannot create pods --subresource=exec -n default
expect_cannot delete configmaps -n default
expect_cannot list configmaps -n default
expect_cannot create deployments.apps -n default
expect_cannot list nodes

step "gotestrun-operator with only the ServiceAccount's token"
token=$(kubectl create token gtr-gotestrun-operator -n "$ns" --duration=1h)
server=$(kubectl config view --minify --raw -o 'jsonpath={.clusters[0].cluster.server}')
kubectl config view --minify --raw --flatten -o 'jsonpath={.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$work/ca.crt"
cat >"$work/sa.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$server", certificate-authority: "$work/ca.crt"}}]
users: [{name: u, user: {token: "$token"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
YAML
kubectl --kubeconfig "$work/sa.kubeconfig" auth whoami -o 'jsonpath={.status.userInfo.username}{"\n"}' 2>/dev/null || true
mkdir -p "$work/profiles"

# operator_plans NS IDENTITY [operator flags...]: gotestrun-operator as the ServiceAccount
# until a GoTestRun in NS is planning (finalizer set, planning Pod created, status
# written) and the Lease is held; then the operator is stopped and the run removed.
operator_plans() {
  local run_ns=$1 identity=$2 run=payments-minimal ok="" phase="" pods=""
  shift 2
  "$GTR_OPERATOR" --kubeconfig "$work/sa.kubeconfig" --profiles-dir "$work/profiles" --http-port 0 \
    --leader-elect --lease-namespace "$ns" --identity "$identity" "$@" >"$work/operator-$identity.log" 2>&1 &
  local operator_pid=$!
  kubectl apply -n "$run_ns" -f "$root/crds/examples/minimal.yaml" >/dev/null
  for _ in $(seq 300); do
    phase=$(jsonpath -n "$run_ns" gotestrun/$run -o 'jsonpath={.status.phase}')
    pods=$(jsonpath -n "$run_ns" pods -l gotestrun.dev/run -o name)
    if [ "$phase" = Planning ] && [ -n "$pods" ]; then ok=1; break; fi
    kill -0 "$operator_pid" 2>/dev/null || break
    sleep 0.2
  done
  local holder
  holder=$(jsonpath -n "$ns" lease/gotestrun-operator -o 'jsonpath={.spec.holderIdentity}')
  kill "$operator_pid" 2>/dev/null
  wait "$operator_pid" 2>/dev/null || true
  if [ -z "$ok" ]; then
    cat "$work/operator-$identity.log" >&2
    fail "the operator did not plan $run_ns/$run under the chart's RBAC (phase '$phase', pods '$pods')"
  fi
  [ "$holder" = "$identity" ] || fail "the Lease is held by '$holder', not $identity"
  jsonpath -n "$run_ns" gotestrun/$run -o 'jsonpath={.metadata.finalizers}' | grep -q gotestrun.dev ||
    fail "no finalizer on $run_ns/$run"
  if grep -Ei 'forbidden|403' "$work/operator-$identity.log"; then fail "the operator was refused something"; fi
  echo "planned $run_ns/$run: phase Planning, $pods, Lease held by $identity, finalizer set"
  # The finalizer would hold the run until an operator removes it.
  kubectl patch -n "$run_ns" gotestrun/$run --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null
  kubectl delete -n "$run_ns" gotestrun/$run >/dev/null
  kubectl delete -n "$run_ns" pods -l gotestrun.dev/run >/dev/null
}
operator_plans default cluster-wide

step "upgrade: namespaced mode, three replicas, no Tekton or Argo grants"
kubectl create namespace team-a >/dev/null
"$helm" upgrade "$release" "$chart" --namespace "$ns" --reuse-values --set 'watchNamespaces={team-a}' --set replicaCount=3 \
  --set rbac.tekton=false --set rbac.argo=false
[ "$("$helm" history "$release" -n "$ns" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["revision"])')" = 2 ] ||
  fail "the upgrade is not revision 2"
[ "$(jsonpath -n "$ns" deployment/gtr-gotestrun-operator -o 'jsonpath={.spec.replicas}')" = 3 ] || fail "Deployment replicas != 3"
jsonpath -n "$ns" deployment/gtr-gotestrun-operator -o 'jsonpath={.spec.template.spec.containers[0].args}' |
  grep -q -- '--watch-namespaces=team-a' || fail "no --watch-namespaces=team-a"
! kubectl get clusterrole/gtr-gotestrun-operator >/dev/null 2>&1 || fail "the ClusterRole outlived the switch to namespaced mode"
kubectl get -n team-a role/gtr-gotestrun-operator rolebinding/gtr-gotestrun-operator >/dev/null
expect_can create pods -n team-a
expect_can list gotestruns.gotestrun.dev -n team-a
expect_cannot create pods -n default
expect_cannot list gotestruns.gotestrun.dev --all-namespaces
expect_cannot delete gotestruns.gotestrun.dev -n team-a
expect=false
expect_review list tekton.dev customruns "" team-a
expect_review list argoproj.io workflows "" team-a
step "gotestrun-operator, namespaced, with only the ServiceAccount's token"
operator_plans team-a namespaced --watch-namespaces team-a

step "uninstall: the CRD, the runs and the profiles claim stay"
kubectl apply -n team-a -f "$root/crds/examples/minimal.yaml" >/dev/null
"$helm" uninstall "$release" --namespace "$ns"
for gone in deployment/gtr-gotestrun-operator serviceaccount/gtr-gotestrun-operator pdb/gtr-gotestrun-operator \
  service/gtr-gotestrun-operator-metrics role/gtr-gotestrun-operator-leader-election; do
  ! kubectl get -n "$ns" "$gone" >/dev/null 2>&1 || fail "$gone is still there after uninstall"
done
! kubectl get -n team-a role/gtr-gotestrun-operator >/dev/null 2>&1 || fail "the team-a Role is still there"
kubectl get crd/gotestruns.gotestrun.dev >/dev/null || fail "the CRD went with the release (crds.keep)"
kubectl get -n team-a gotestrun/payments-minimal >/dev/null || fail "a GoTestRun went with the release"
kubectl get -n "$ns" pvc/gotestrun-profiles >/dev/null || fail "the profiles claim went with the release"

step "install again over the kept CRD and claim"
"$helm" install "$release" "$chart" --namespace "$ns" --set profiles.claim.storageClassName=standard >/dev/null
kubectl get -n "$ns" deployment/gtr-gotestrun-operator >/dev/null
"$helm" uninstall "$release" --namespace "$ns" >/dev/null
echo "install, upgrade, uninstall and reinstall: ok"
