#!/usr/bin/env bash
# Builds the pinned etcd, kube-apiserver and kube-controller-manager from the Go module
# proxy (see go.mod) and caches them; prints the folder holding the binaries.
# A cold build takes tens of minutes on two cores; the binaries are reused for as long
# as go.mod and go.sum are unchanged.
#
#   bin=$(tests/controlplane/build.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${GOTESTRUN_CACHE:-$HOME/.cache/gotestrun}
k8s=$(awk '$1=="k8s.io/kubernetes"{print $2}' "$here/go.mod")
key=$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-12)
out="$cache/controlplane/$k8s-$key"
if [ -x "$out/kube-apiserver" ] && [ -x "$out/kube-controller-manager" ] && [ -x "$out/etcd" ]; then
  echo "$out"
  exit 0
fi
minor=${k8s#v1.}; minor=${minor%%.*}
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=1"
ldflags="$ldflags -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=$k8s"
mkdir -p "$out.partial"
cd "$here"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
echo "building the control plane $k8s into $out (cold: tens of minutes)" >&2
go build -trimpath -ldflags "$ldflags" -o "$out.partial/etcd" go.etcd.io/etcd/server/v3 >&2
go build -trimpath -ldflags "$ldflags" -o "$out.partial/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2
go build -trimpath -ldflags "$ldflags" -o "$out.partial/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager >&2
rm -rf "$out" && mv "$out.partial" "$out"
echo "$out"
