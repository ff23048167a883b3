#!/usr/bin/env bash
# Times the heap profile reader on a large Go heap profile against `go tool pprof -top`
# and against `gzip -dc` (the floor: the reader must at least inflate the file), with
# the peak memory of each from /usr/bin/time -v. Each runs three times; the best wall
# time and the largest peak RSS are shown.
#
#   tests/bench/pprof/run.sh [BUILD_DIR]      (default: build; needs pprof_bench built)
#
# The profile is generated once (tests/fixtures/heapgen/largegen, 200k allocations on
# distinct deep stacks through 2000 functions) and cached in
# $GOTESTRUN_CACHE/pprof-bench (default ~/.cache/gotestrun). PPROF_BENCH_SAMPLES
# changes the number of allocations.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
bench="$build/tests/bench/pprof/pprof_bench"
if [ ! -x "$bench" ]; then
  echo "no $bench: build it first (ninja -C $build pprof_bench)" >&2
  exit 1
fi
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
cache=${GOTESTRUN_CACHE:-$HOME/.cache/gotestrun}/pprof-bench
samples=${PPROF_BENCH_SAMPLES:-200000}
profile="$cache/large-$samples.pb.gz"
mkdir -p "$cache"

if [ ! -s "$profile" ]; then
  gen_key=$(sha256sum "$root/tests/fixtures/heapgen/largegen/main.go" | cut -c1-12)
  program="$cache/largeheap-$gen_key"
  if [ ! -x "$program" ]; then
    echo "generating and building the large-profile program (a few minutes)" >&2
    rm -rf "$cache/src"
    (cd "$root/tests/fixtures/heapgen" && go run ./largegen -funcs 2000 -fanout 4 -out "$cache/src")
    (cd "$cache/src" && go build -trimpath -o "$program.partial" .)
    mv "$program.partial" "$program"
  fi
  echo "writing $profile" >&2
  "$program" -samples "$samples" -depth 40 -out "$profile.partial"
  mv "$profile.partial" "$profile"
fi

# The pprof binary itself, so the go command's own start-up is not timed. Since Go
# 1.24 it lives in the build cache, built on first use.
go tool pprof -h >/dev/null 2>&1 || true
pprof_tool=$(go tool -n pprof)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# measure NAME COMMAND...: best wall seconds and max RSS KiB over three runs, into
# $tmp/NAME.wall and $tmp/NAME.rss; the command's stdout goes to $tmp/NAME.out.
measure() {
  local name=$1
  shift
  local best="" rss=0
  for _ in 1 2 3; do
    local start end wall r
    start=$(date +%s%N)
    /usr/bin/time -v -o "$tmp/$name.time" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    end=$(date +%s%N)
    wall=$(awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e9 }')
    r=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tmp/$name.time")
    if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$wall; fi
    [ "$r" -gt "$rss" ] && rss=$r
  done
  echo "$best" >"$tmp/$name.wall"
  echo "$rss" >"$tmp/$name.rss"
}

measure reader "$bench" "$profile"
measure pprof "$pprof_tool" -top -sample_index=inuse_space -nodecount=20 "$profile"
measure gzip sh -c 'exec gzip -dc "$1" >/dev/null' sh "$profile"

compressed=$(stat -c %s "$profile")
decompressed=$(gzip -dc "$profile" | wc -c)
echo "profile: $profile"
awk -v c="$compressed" -v d="$decompressed" 'BEGIN { printf "  %.1f MB compressed, %.1f MB decompressed\n", c / 1e6, d / 1e6 }'
echo "reader phases (last run): $(cat "$tmp/reader.err")"
echo
printf "%-26s %10s %14s\n" "" "wall (s)" "max RSS (MiB)"
row() { awk -v n="$1" -v w="$(cat "$tmp/$2.wall")" -v r="$(cat "$tmp/$2.rss")" 'BEGIN { printf "%-26s %10.3f %14.1f\n", n, w, r / 1024 }'; }
row "pprof_bench (reader)" reader
row "go tool pprof -top" pprof
row "gzip -dc (floor)" gzip
ratio() {
  awk -v a="$(cat "$tmp/reader.$2")" -v b="$(cat "$tmp/$1.$2")" 'BEGIN { printf "%.2f", a / b }'
}
echo
echo "reader/pprof: time $(ratio pprof wall)x, max RSS $(ratio pprof rss)x"
echo "reader/gzip:  time $(ratio gzip wall)x, max RSS $(ratio gzip rss)x"
echo
echo "reader's top 20:"
cat "$tmp/reader.out"
echo
echo "pprof's top 20:"
sed -n '/flat%/,$p' "$tmp/pprof.out"
