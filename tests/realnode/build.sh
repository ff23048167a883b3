#!/usr/bin/env bash
# Builds the parts of the real node from the Go module proxy and caches them: kubelet
# and kube-proxy from the same k8s.io/kubernetes as tests/controlplane (kubelet/go.mod), containerd,
# ctr and containerd-shim-runc-v2 (containerd/go.mod). runc and the CNI plugins come
# from Debian (scripts/install-deps.sh). Prints the folder holding the binaries; they
# are reused for as long as the two go.mod/go.sum pairs are unchanged.
#
#   bin=$(tests/realnode/build.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${GOTESTRUN_CACHE:-$HOME/.cache/gotestrun}
k8s=$(awk '$1=="k8s.io/kubernetes"{print $2} $1=="require" && $2=="k8s.io/kubernetes"{print $3}' "$here/kubelet/go.mod")
key=$(cat "$here"/kubelet/go.mod "$here"/kubelet/go.sum "$here"/containerd/go.mod "$here"/containerd/go.sum |
  sha256sum | cut -c1-12)
out="$cache/node/$k8s-$key"
parts=(kubelet kube-proxy containerd ctr containerd-shim-runc-v2)
ready=1
for p in "${parts[@]}"; do [ -x "$out/$p" ] || ready=0; done
if [ "$ready" = 1 ]; then
  echo "$out"
  exit 0
fi
minor=${k8s#v1.}; minor=${minor%%.*}
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=1"
ldflags="$ldflags -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=$k8s"
mkdir -p "$out.partial"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
echo "building the real node (kubelet and kube-proxy $k8s, containerd) into $out (cold: tens of minutes)" >&2
# The machine is shared: the build yields to interactive work.
for p in kubelet kube-proxy; do
  (cd "$here/kubelet" && nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$out.partial/$p" \
    "k8s.io/kubernetes/cmd/$p") >&2
done
ctrd=$(awk '$1=="require" && $2=="github.com/containerd/containerd/v2"{print $3} $1=="github.com/containerd/containerd/v2"{print $2}' \
  "$here/containerd/go.mod")
cldflags="-s -w -X github.com/containerd/containerd/v2/version.Version=$ctrd"
cd "$here/containerd"
for p in containerd ctr containerd-shim-runc-v2; do
  # The shim must be static: containerd starts it with a minimal environment.
  nice -n 10 go build -trimpath -tags "no_btrfs no_devmapper no_zfs" -ldflags "$cldflags" -o "$out.partial/$p" \
    "github.com/containerd/containerd/v2/cmd/$p" >&2
done
rm -rf "$out" && mv "$out.partial" "$out"
echo "$out"
