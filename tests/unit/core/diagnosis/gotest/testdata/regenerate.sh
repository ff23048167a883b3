#!/bin/sh
# Rebuilds the captured `go test` streams in this folder from the fixture module in
# tests/fixtures/gotest-streams. The unit tests assert on these files, so after
# regenerating, run them and review the diff: timings and addresses change, the
# shape must not.
#
# Every file is real output of the installed go command (GOTOOLCHAIN=local):
#   mixed.json            go test -json over passing, failing, skipping, no-test-files,
#                         panicking, build-failing and t.Parallel packages (stdout)
#   mixed_buildtext.json  the same with GODEBUG=gotestjsonbuildtext=1 and stderr merged:
#                         the pre-1.24 form, build errors as plain text between events
#   mixed_verbose.txt     go test -v, plain text, stderr merged
#   killed.json           a test binary that SIGKILLs itself mid-test, run under
#                         -exec 'env GODEBUG=gctrace=1' so its heap growth is visible
#   killed_verbose.txt    the same as plain text
#   killed_midline.json   a test binary SIGKILLed in the middle of writing a line: go
#                         test's "signal: killed" is glued to the unfinished line
#   killed_midline_verbose.txt  the same as plain text
#   gctrace.json          a package that allocates, with gctrace on for the test binary
#   compile_killed.json   the compiler of one package SIGKILLed while it runs
#   compile_killed.txt    the same as plain text
#   link_killed.json      the linker of one test binary SIGKILLed while it runs
#   link_killed.txt       the same as plain text
#   toolexec_killed.json  a -toolexec wrapper SIGKILLed in place of the compiler
set -eu

here=$(cd "$(dirname "$0")" && pwd)
fixtures=$(cd "$here/../../../fixtures/gotest-streams" && pwd)
cd "$fixtures"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
# Without GODEBUG in the go command's own environment its settings cannot leak in.
unset GODEBUG || true

mixed="./passing ./failing ./skipping ./notests ./panicking ./brokenbuild ./parallel"
# -trimpath keeps machine paths out of stack traces; -count=1 defeats the test cache.
flags="-count=1 -trimpath"

# A failing go test is the point here, so exit codes are ignored.
go test -json $flags $mixed > "$here/mixed.json" 2>/dev/null || true
GODEBUG=gotestjsonbuildtext=1 go test -json $flags $mixed > "$here/mixed_buildtext.json" 2>&1 || true
go test -v $flags $mixed > "$here/mixed_verbose.txt" 2>&1 || true
go test -json $flags -exec 'env GODEBUG=gctrace=1' ./killed > "$here/killed.json" 2>/dev/null || true
go test -v $flags ./killed > "$here/killed_verbose.txt" 2>&1 || true
go test -json $flags ./killedmidline > "$here/killed_midline.json" 2>/dev/null || true
go test -v $flags ./killedmidline > "$here/killed_midline_verbose.txt" 2>&1 || true
go test -json $flags -exec 'env GODEBUG=gctrace=1' ./gcheavy > "$here/gctrace.json" 2>/dev/null || true

# kill_child OUT PATTERN EXPECT COMMAND...
# Runs COMMAND (a go test) and sends SIGKILL to the child process of that go command
# whose command line matches PATTERN, as the OOM killer would. A run that did not
# catch the child alive (EXPECT not in OUT) is repeated.
kill_child() {
  out=$1 pattern=$2 expect=$3
  shift 3
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    "$@" > "$out" 2>&1 &
    gopid=$!
    while kill -0 "$gopid" 2>/dev/null; do
      if victim=$(pgrep -P "$gopid" -f -- "$pattern"); then
        # It may have finished in the meantime; then the attempt is repeated.
        kill -KILL $victim 2>/dev/null || true
        break
      fi
    done
    wait "$gopid" || true
    if grep -q "$expect" "$out"; then return 0; fi
    echo "attempt $attempt did not catch $pattern, retrying" >&2
  done
  echo "could not produce $out" >&2
  return 1
}

# A tiny package compiles faster than a watcher can see it, so the compiler of
# compilevictim is made to wait: with -bench it appends its timings to a file once it
# has compiled, and opening a FIFO that nobody reads blocks. It stays there, alive,
# until it is killed. Its compile never succeeds, so the build cache cannot skip it.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkfifo "$work/bench"
victim_gcflags="-gcflags=example.com/streams/compilevictim=-bench=$work/bench"
compile_pattern='/compile .*-p example\.com/streams/compilevictim '
kill_child "$here/compile_killed.json" "$compile_pattern" 'compile: signal: killed' \
  go test -json $flags "$victim_gcflags" ./compilevictim ./passing
kill_child "$here/compile_killed.txt" "$compile_pattern" 'compile: signal: killed' \
  go test $flags "$victim_gcflags" ./compilevictim ./passing

# Linking a test binary takes long enough to be caught, and happens on every run.
link_pattern='/link .*linkvictim\.test '
kill_child "$here/link_killed.json" "$link_pattern" 'link: signal: killed' go test -json $flags ./linkvictim ./passing
kill_child "$here/link_killed.txt" "$link_pattern" 'link: signal: killed' go test $flags ./linkvictim ./passing

# Through -toolexec, go names the wrapper, not the tool, in the message.
KILL_TOOL=compile KILL_IMPORTPATH=example.com/streams/compilevictim \
  go test -json $flags "$victim_gcflags" -toolexec "$fixtures/toolexec-killer/kill-tool.sh" \
  ./compilevictim > "$here/toolexec_killed.json" 2>/dev/null || true

echo "regenerated streams in $here"
