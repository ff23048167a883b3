#!/usr/bin/env bash
# helm lint --strict on the defaults and on the other shapes the values allow.
source "$(dirname "$0")/lib.sh"
"$helm" version --short
step "appVersion is the project's version (CMakeLists.txt)"
version=$(sed -n 's/^project(gotestrun VERSION \([^ ]*\).*/\1/p' "$root/CMakeLists.txt")
app=$(sed -n 's/^appVersion: "\(.*\)"/\1/p' "$chart/Chart.yaml")
[ -n "$version" ] && [ "$app" = "$version" ] || fail "Chart.yaml appVersion '$app' is not the project's version '$version'"
step "defaults"
"$helm" lint --strict "$chart"
step "namespaced, one replica, hostPath profiles, no CRD"
"$helm" lint --strict "$chart" --set 'watchNamespaces={team-a,team-b}' --set replicaCount=1 \
  --set leaderElection.enabled=false --set profiles.type=hostPath --set 'profiles.hostPath.claimNamespaces={team-a}' \
  --set crds.enabled=false
step "existing service account and claim, ServiceMonitor, digest"
"$helm" lint --strict "$chart" --set serviceAccount.create=false --set serviceAccount.name=ci \
  --set rbac.create=false --set profiles.claim.create=false --set metrics.serviceMonitor.enabled=true \
  --set image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
step "a value the schema refuses fails the lint"
if "$helm" lint --strict "$chart" --set replicaCount=0 >"$work/bad.log" 2>&1; then
  fail "helm lint accepted replicaCount=0"
fi
grep -q "replicaCount" "$work/bad.log" || { cat "$work/bad.log"; fail "the schema error does not name replicaCount"; }
step "the packaged chart carries the CRD and leaves the unit tests out"
"$helm" package "$chart" --destination "$work" >/dev/null
tgz=$(ls "$work"/gotestrun-operator-*.tgz)
tar -tzf "$tgz" >"$work/contents"
grep -qx 'gotestrun-operator/files/crds/gotestrun.dev_gotestruns.yaml' "$work/contents" || fail "the package has no CRD"
! grep -q '^gotestrun-operator/tests/' "$work/contents" || fail "the package carries tests/"
"$helm" template gtr "$tgz" | grep -q '^kind: CustomResourceDefinition' || fail "the packaged chart renders no CRD"
