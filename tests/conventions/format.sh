#!/usr/bin/env bash
# The C++ code follows .clang-format: every tracked .h and .cc outside the Go fixtures,
# checked with clang-format --dry-run. Prints the files that differ; `clang-format -i`
# on them fixes it.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"
mapfile -t files < <(git ls-files '*.cc' '*.h' | grep -v '^tests/fixtures/')
if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/format-check.$$; then
  grep -o '^[^:]*\.\(cc\|h\):' /tmp/format-check.$$ | sort -u | sed 's/:$/ is not formatted (clang-format -i it)/' >&2
  rm -f /tmp/format-check.$$
  exit 1
fi
rm -f /tmp/format-check.$$
echo "${#files[@]} files follow .clang-format"
