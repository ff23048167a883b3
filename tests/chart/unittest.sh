#!/usr/bin/env bash
# The helm-unittest suites in charts/gotestrun-operator/tests, run by the plugin's own
# binary (no `helm plugin install`, which would fetch it from the network).
source "$(dirname "$0")/lib.sh"
"$tools/helm-unittest" --strict --color=false "$chart"
