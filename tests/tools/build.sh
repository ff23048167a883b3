#!/usr/bin/env bash
# Builds the pinned chart tools from the Go module proxy and caches them; prints the
# folder holding the binaries:
#   helm         helm.sh/helm/v4/cmd/helm                     (go.mod)
#   kubeconform  github.com/yannh/kubeconform/cmd/kubeconform (go.mod)
#   helm-unittest, the plugin's binary, run directly          (unittest/go.mod)
# helm-unittest has a module of its own: it builds against Helm 3's libraries and a
# yamlpath that do not resolve together with Helm 4's in one build list.
# Cold: about 10 minutes on two cores; the binaries are reused for as long as the
# go.mod and go.sum files are unchanged.
#
#   bin=$(tests/tools/build.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${GOTESTRUN_CACHE:-$HOME/.cache/gotestrun}
version() { awk -v m="$1" '$1==m{print $2}' "$2"; }
helm=$(version helm.sh/helm/v4 "$here/go.mod")
kubeconform=$(version github.com/yannh/kubeconform "$here/go.mod")
unittest=$(version github.com/helm-unittest/helm-unittest "$here/unittest/go.mod")
key=$(cat "$here/go.mod" "$here/go.sum" "$here/unittest/go.mod" "$here/unittest/go.sum" | sha256sum | cut -c1-12)
out="$cache/tools/$key"
if [ -x "$out/helm" ] && [ -x "$out/kubeconform" ] && [ -x "$out/helm-unittest" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$cache/tools"
partial=$(mktemp -d "$out.partial.XXXXXX")
chmod 755 "$partial"
trap 'rm -rf "$partial"' EXIT
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
echo "building helm $helm, kubeconform $kubeconform, helm-unittest $unittest into $out" >&2
cd "$here"
go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$helm" \
  -o "$partial/helm" helm.sh/helm/v4/cmd/helm >&2
go build -trimpath -ldflags "-s -w -X main.version=$kubeconform" \
  -o "$partial/kubeconform" github.com/yannh/kubeconform/cmd/kubeconform >&2
cd "$here/unittest"
go build -trimpath -ldflags "-s -w -X github.com/helm-unittest/helm-unittest/internal/build.version=${unittest#v}" \
  -o "$partial/helm-unittest" github.com/helm-unittest/helm-unittest/cmd/helm-unittest >&2
# Two builds at once (parallel tests on a cold cache): the first to finish wins.
mv -T "$partial" "$out" 2>/dev/null || [ -x "$out/helm-unittest" ]
echo "$out"
