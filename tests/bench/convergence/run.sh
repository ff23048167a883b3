#!/usr/bin/env bash
# The convergence benchmark: one table, every row measured in this run (README.md).
#   tests/bench/convergence/run.sh [--quick] [--suites memory,service,text,roaring]
#       [--build BUILD_DIR] [--rows a,b,c,d,e] [bench.py options...]
# --quick: the two fixture suites only. The real modules are downloaded through the Go
# module proxy into tests/bench/convergence/.cache (git ignores it), at the versions
# pinned in bench.py. Needs a cgroup memory controller this process may make children
# in (cgroup v1 or v2), go on PATH, python3 with PyYAML.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=$root/build
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) args+=(--suites memory,service) ;;
    --build) build=$(cd "$2" && pwd); shift ;;
    --build=*) build=$(cd "${1#--build=}" && pwd) ;;
    -h|--help) sed -n '2,8p' "$0"; exec python3 "$here/bench.py" --help ;;
    *) args+=("$1") ;;
  esac
  shift
done
export GOTESTRUN_CONTROLPLANE_BIN=${GOTESTRUN_CONTROLPLANE_BIN:-$("$root/tests/controlplane/build.sh")}
ninja -C "$build" convergence_cgroup_run convergence_operator_run gotestrun gotestrun-agent gotestrun-operator >/dev/null
exec python3 "$here/bench.py" --root "$root" --build "$build" --cache "$here/.cache" "${args[@]}"
