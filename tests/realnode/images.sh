#!/usr/bin/env bash
# Builds the images the real node runs, without a registry, and caches them as OCI
# archives; prints the folder holding them. Built with Debian's buildah (vfs storage,
# chroot isolation, storage in a scratch folder):
#   pause.tar  localhost/gotestrun/pause:1      the Pod sandbox (pause.c, static)
#   go.tar     localhost/gotestrun/go:<version> FROM scratch: this machine's Go toolchain
#                                               and a static busybox (sh, dd, sleep, ...)
# The archives are reused while this script, pause.c, the Go version and the busybox
# binary are unchanged. RealNode imports them into containerd's k8s.io namespace.
#
#   images=$(tests/realnode/images.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${GOTESTRUN_CACHE:-$HOME/.cache/gotestrun}
busybox=/bin/busybox
goroot=$(go env GOROOT)
goversion=$(go env GOVERSION)
key=$( { cat "$here/images.sh" "$here/image/pause.c"; echo "$goversion"; sha256sum "$busybox"; } | sha256sum | cut -c1-12)
out="$cache/node-images/$key"
if [ -s "$out/pause.tar" ] && [ -s "$out/go.tar" ]; then
  echo "$out"
  exit 0
fi
# ldd fails on a static binary: a dynamic busybox would not run in a root without a libc.
! ldd "$busybox" >/dev/null 2>&1 || {
  echo "$busybox is not static: install busybox-static (scripts/install-deps.sh)" >&2
  exit 1
}
work=$(mktemp -d /tmp/gotestrun-node-images.XXXXXX)
storage=(--root "$work/storage" --runroot "$work/run" --storage-driver vfs)
bah() { buildah "${storage[@]}" "$@"; }
cleanup() { bah rm --all >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$out.partial"

mkdir -p "$work/pause"
gcc -static -O2 -o "$work/pause/pause" "$here/image/pause.c"
cat >"$work/pause/Containerfile" <<'EOT'
FROM scratch
COPY pause /pause
USER 65535:65535
ENTRYPOINT ["/pause"]
EOT
bah bud --isolation chroot --layers=false -q -t localhost/gotestrun/pause:1 "$work/pause" >/dev/null
bah push -q localhost/gotestrun/pause:1 "oci-archive:$out.partial/pause.tar:localhost/gotestrun/pause:1"

# The Go image: GOROOT as the toolchain ships it, busybox as /bin/sh and friends, a
# writable /tmp, and the caches under /tmp so any user can build.
ctx="$work/go"
mkdir -p "$ctx/root/usr/local" "$ctx/root/bin" "$ctx/root/tmp" "$ctx/root/etc"
cp -a "$goroot" "$ctx/root/usr/local/go"
rm -rf "$ctx/root/usr/local/go/pkg/obj" "$ctx/root/usr/local/go/.git"
cp "$busybox" "$ctx/root/bin/busybox"
for app in $("$busybox" --list); do [ "$app" = busybox ] || ln -sf busybox "$ctx/root/bin/$app"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65532:65532:nobody:/tmp:/bin/sh\n' >"$ctx/root/etc/passwd"
printf 'root:x:0:\nnobody:x:65532:\n' >"$ctx/root/etc/group"
chmod 1777 "$ctx/root/tmp"
cat >"$ctx/Containerfile" <<'EOT'
FROM scratch
COPY root/ /
ENV PATH=/usr/local/go/bin:/bin GOROOT=/usr/local/go GOCACHE=/tmp/go-cache GOPATH=/tmp/go GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
WORKDIR /tmp
EOT
bah bud --isolation chroot --layers=false -q -t "localhost/gotestrun/go:$goversion" "$ctx" >/dev/null
bah push -q "localhost/gotestrun/go:$goversion" "oci-archive:$out.partial/go.tar:localhost/gotestrun/go:$goversion"
echo "localhost/gotestrun/go:$goversion" >"$out.partial/go.name"
rm -rf "$out" && mv "$out.partial" "$out"
echo "$out"
