#!/usr/bin/env bash
# The include graph of the product code, checked: every folder has a layer, a folder
# includes only from its own folder or from lower layers, and the folder graph has no
# cycle. The build already refuses an include across an undeclared library dependency
# (gtr_library in the top CMakeLists.txt); this keeps the declared dependencies
# themselves pointing one way. Prints the graph it checked.
#
#   tests/conventions/layering.sh [SOURCE_ROOT]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"

# Layers, lowest first. Within the core, the order is the flow of data: the policy's
# vocabulary, the API types that carry it, the readers, the evidence contract, the
# classifier over them, the engine that joins them.
layer_of() {
  case "$1" in
    base) echo 0 ;;
    core/policy) echo 10 ;;
    core/api) echo 11 ;;
    core/diagnosis/gotest | core/diagnosis/pprof) echo 12 ;;
    core/evidence) echo 13 ;;
    core/diagnosis/cause) echo 14 ;;
    core/engine) echo 15 ;;
    sandbox | kube/client | report) echo 20 ;;
    kube/runtime | agent) echo 30 ;;
    controllers/gotestrun | controllers/tekton | controllers/argo) echo 40 ;;
    operator | cli) echo 50 ;;
    *) echo "" ;;
  esac
}

folders=$(git ls-files '*.h' '*.cc' | grep -v '^tests/' | xargs -n1 dirname | sort -u)
edges=$(for f in $(git ls-files '*.h' '*.cc' | grep -v '^tests/'); do
  from=$(dirname "$f")
  sed -n 's/^#include "\([^"]*\)\/[^/"]*".*/\1/p' "$f" | while read -r to; do
    if [ "$to" != "$from" ]; then echo "$from $to"; fi
  done
done | sort -u)

status=0
for d in $folders; do
  if [ -z "$(layer_of "$d")" ]; then
    echo "folder $d has no layer: place it in tests/conventions/layering.sh" >&2
    status=1
  fi
done
while read -r from to; do
  [ -z "$from" ] && continue
  lf=$(layer_of "$from"); lt=$(layer_of "$to")
  if [ -z "$lt" ]; then
    echo "$from includes from $to, which is not product code" >&2
    status=1
  elif [ "$lt" -ge "$lf" ]; then
    echo "upward or sideways edge: $from (layer $lf) includes $to (layer $lt)" >&2
    status=1
  fi
done <<<"$edges"
# Core code reaches no HTTP, TLS or process library directly either.
if git grep -n -E '#include <(httplib|openssl/|spawn|sys/wait)' -- 'core/*' >&2; then
  echo "the core includes an I/O library" >&2
  status=1
fi
if ! echo "$edges" | tsort >/dev/null 2>/tmp/layering-tsort.$$; then
  cat /tmp/layering-tsort.$$ >&2
  status=1
fi
rm -f /tmp/layering-tsort.$$

echo "$(echo "$edges" | grep -c .) folder edges among $(echo "$folders" | wc -w) folders:"
echo "$edges" | awk '{a[$1]=a[$1] " " $2} END {for (k in a) print "  " k " ->" a[k]}' | sort
[ $status -eq 0 ] && echo "no upward edge, no cycle"
exit $status
