#!/usr/bin/env bash
# Builds the images the real node runs, without a registry, and caches them as OCI
# archives; prints the folder holding them. Built with Debian's buildah (vfs storage,
# chroot isolation, storage in a scratch folder):
#   pause.tar  localhost/gotestrun/pause:1      the Pod sandbox (pause.c, static)
#   go.tar     localhost/gotestrun/go:<version> FROM scratch: this machine's Go toolchain,
#                                               a static busybox (sh, dd, sleep, ...) and
#                                               Debian's C compiler, so cgo builds as in
#                                               the official golang images
# The archives are reused while this script, pause.c, the Go version, the busybox
# binary and the C compiler's packages are unchanged. RealNode imports them into
# containerd's k8s.io namespace.
#
#   images=$(tests/realnode/images.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${GOTESTRUN_CACHE:-$HOME/.cache/gotestrun}
busybox=/bin/busybox
goroot=$(go env GOROOT)
goversion=$(go env GOVERSION)
# The C compiler: gcc and libc6-dev with everything they depend on, as installed here
# (scripts/install-deps.sh), without their documentation.
c_packages=$(apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances gcc libc6-dev 2>/dev/null | grep -v '^ ' | grep -v '^<' | sort -u)
c_versions=$(dpkg-query -W -f '${Package} ${Version}\n' $c_packages)
key=$( { cat "$here/images.sh" "$here/image/pause.c"; echo "$goversion"; sha256sum "$busybox"; echo "$c_versions"; } |
  sha256sum | cut -c1-12)
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

# The Go image: GOROOT as the toolchain ships it, busybox as /bin/sh and friends, the
# C compiler's files at their paths (the library folders merged into /usr as on this
# machine; /bin stays busybox's), a writable /tmp, and the caches under /tmp so any
# user can build.
ctx="$work/go"
mkdir -p "$ctx/root/usr/local" "$ctx/root/usr/lib" "$ctx/root/usr/lib64" "$ctx/root/bin" "$ctx/root/tmp" "$ctx/root/etc"
ln -s usr/lib "$ctx/root/lib"
ln -s usr/lib64 "$ctx/root/lib64"
for p in $c_packages; do dpkg -L "$p"; done |
  grep -v -E '^/usr/share/(doc|man|info|locale|lintian|bug)/' |
  while read -r f; do [ -d "$f" ] && [ ! -L "$f" ] || echo "${f#/}"; done |
  tar -C / -cf - --no-recursion -T - | tar -C "$ctx/root" --keep-directory-symlink -xf -
printf 'int main(void) { return 0; }\n' >"$ctx/root/tmp/cc-check.c"
chroot "$ctx/root" /usr/bin/gcc -o /tmp/cc-check /tmp/cc-check.c && chroot "$ctx/root" /tmp/cc-check || {
  echo "the Go image's C compiler does not build a program" >&2
  exit 1
}
rm -f "$ctx/root/tmp/cc-check" "$ctx/root/tmp/cc-check.c"
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
ENV PATH=/usr/local/go/bin:/usr/bin:/bin GOROOT=/usr/local/go GOCACHE=/tmp/go-cache GOPATH=/tmp/go GOTOOLCHAIN=local GOFLAGS=-mod=mod
WORKDIR /tmp
EOT
bah bud --isolation chroot --layers=false -q -t "localhost/gotestrun/go:$goversion" "$ctx" >/dev/null
bah push -q "localhost/gotestrun/go:$goversion" "oci-archive:$out.partial/go.tar:localhost/gotestrun/go:$goversion"
echo "localhost/gotestrun/go:$goversion" >"$out.partial/go.name"
rm -rf "$out" && mv "$out.partial" "$out"
echo "$out"
