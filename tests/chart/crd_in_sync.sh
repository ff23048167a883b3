#!/usr/bin/env bash
# crds/gotestrun.dev_gotestruns.yaml is the one source of the CRD. Helm cannot read
# outside the chart, so the chart carries a copy in files/crds/; this fails when the
# copy drifts (fix: cp crds/gotestrun.dev_gotestruns.yaml charts/gotestrun-operator/files/crds/),
# and when the rendered CRD's spec differs from the source's in any field.
source "$(dirname "$0")/lib.sh"
cmp "$root/crds/gotestrun.dev_gotestruns.yaml" "$chart/files/crds/gotestrun.dev_gotestruns.yaml" ||
  fail "charts/gotestrun-operator/files/crds/gotestrun.dev_gotestruns.yaml differs from crds/: copy it again"
"$helm" template gtr "$chart" --show-only templates/crd.yaml >"$work/crd.yaml"
python3 - "$root/crds/gotestrun.dev_gotestruns.yaml" "$work/crd.yaml" <<'PY'
import sys, yaml
source = yaml.safe_load(open(sys.argv[1]))
rendered = yaml.safe_load(open(sys.argv[2]))
if source["spec"] != rendered["spec"] or source["metadata"]["name"] != rendered["metadata"]["name"]:
    sys.exit("the rendered CRD differs from crds/gotestrun.dev_gotestruns.yaml")
print("rendered CRD spec equals crds/gotestrun.dev_gotestruns.yaml")
PY
