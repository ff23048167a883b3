#!/usr/bin/env bash
# Rebuilds the heap profiles in this folder, and what `go tool pprof -top` reports
# for each sample type of each (by function, and by line for the space types), which
# the tests compare the reader against.
# Needs Go (the tests themselves do not). Every node is listed (no node or edge
# trimming) and values are printed in plain units (-unit=B), so they compare exactly.
#
#   tests/unit/core/diagnosis/pprof/testdata/regenerate.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
gen=$(cd "$here/../../../fixtures/heapgen" && pwd)
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$gen" && go build -trimpath -o "$tmp/heapgen" .)
"$tmp/heapgen" -scenario basic -out "$here/basic.pb.gz"
"$tmp/heapgen" -scenario grow -out "$here/grow_before.pb.gz" -out2 "$here/grow_after.pb.gz"
"$tmp/heapgen" -scenario sampled -out "$here/sampled.pb.gz"

for profile in basic grow_before grow_after sampled; do
  for type in alloc_objects alloc_space inuse_objects inuse_space; do
    go tool pprof -top -sample_index="$type" -nodecount=1000 -nodefraction=0 -edgefraction=0 -unit=B \
      "$here/$profile.pb.gz" >"$here/$profile.$type.top.txt" 2>/dev/null
  done
  for type in alloc_space inuse_space; do
    go tool pprof -top -lines -sample_index="$type" -nodecount=1000 -nodefraction=0 -edgefraction=0 -unit=B \
      "$here/$profile.pb.gz" >"$here/$profile.$type.lines.txt" 2>/dev/null
  done
done
ls -l "$here"/*.pb.gz
