#!/usr/bin/env bash
# Builds image/Dockerfile with Debian's buildah (no daemon: vfs storage, chroot
# isolation, storage in a scratch folder) from the binaries CMake built, then proves
# the image is complete by running its binaries from its root filesystem alone:
#   - the operator (dynamic) loads with only the libraries the image carries, and
#     talks TLS to a real kube-apiserver until it holds its Lease
#   - the agent's `install` copies it; the copy runs
#   - the image has no shell, runs as 65532, and holds nothing it does not need
# And that the agent runs in any Go image: copied out of the image into a root that
# has no glibc and no musl (busybox-static is the only other file), it installs itself
# and runs; the operator, in the same root, cannot start (the root really lacks a loader).
#
#   GTR_OPERATOR=... GTR_AGENT=... GTR_TESTENV=... tests/image/build_image.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${GTR_OPERATOR:?}" "${GTR_AGENT:?}" "${GTR_TESTENV:?}"
work=$(mktemp -d /tmp/gotestrun-image.XXXXXX)
testenv_pid=""
storage=(--root "$work/storage" --runroot "$work/run" --storage-driver vfs)
bah() { buildah "${storage[@]}" "$@"; }
cleanup() {
  [ -n "$testenv_pid" ] && { kill "$testenv_pid" 2>/dev/null; wait "$testenv_pid" 2>/dev/null; }
  bah rm --all >/dev/null 2>&1 || true
  mountpoint -q "$work/bbroot/proc" 2>/dev/null && umount "$work/bbroot/proc"
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { printf '== %s (%s)\n' "$*" "$(date +%T)"; }
command -v buildah >/dev/null || fail "buildah is not installed (scripts/install-deps.sh)"

step "root filesystem"
"$root/image/rootfs.sh" "$work/context" "$GTR_OPERATOR" "$GTR_AGENT"
step "buildah bud"
bah bud --isolation chroot --layers=false -q -f "$root/image/Dockerfile" -t localhost/gotestrun-operator:test "$work/context" >/dev/null
bah images --format '{{.Name}}:{{.Tag}} {{.Size}}' localhost/gotestrun-operator:test
user=$(bah inspect --type image --format '{{.OCIv1.Config.User}}' localhost/gotestrun-operator:test)
[ "$user" = 65532:65532 ] || fail "the image runs as '$user', not 65532:65532"

ctr=$(bah from --pull-never localhost/gotestrun-operator:test)
mnt=$(bah mount "$ctr")
step "contents"
(cd "$mnt" && find . -type f | sort)
for sh in bin/sh bin/bash bin/busybox usr/bin/sh; do
  [ ! -e "$mnt/$sh" ] || fail "the image has a shell: /$sh"
done
# Every file is one of: the two binaries, a library ldd names, the loader, the CA
# bundle, passwd, group, nsswitch.conf.
expected=$( { echo ./usr/local/bin/gotestrun-operator; echo ./usr/local/bin/gotestrun-agent
  ldd "$GTR_OPERATOR" | awk '$2=="=>" && $3 ~ /^\// {print "."$3} $1 ~ /^\// {print "."$1}'
  printf './etc/%s\n' ssl/certs/ca-certificates.crt passwd group nsswitch.conf; } | sort -u)
actual=$(cd "$mnt" && find . -type f | sort)
[ "$expected" = "$actual" ] || { diff <(echo "$expected") <(echo "$actual") || true; fail "unexpected files in the image"; }

step "the operator runs from the image alone"
run_in() { bah run --isolation chroot --user 65532:65532 "$ctr" -- "$@"; }
version=$(sed -n 's/^project(gotestrun VERSION \([^ ]*\).*/\1/p' "$root/CMakeLists.txt")
[ "$(run_in /usr/local/bin/gotestrun-operator --version)" = "gotestrun-operator $version" ] || fail "gotestrun-operator --version"
[ "$(run_in /usr/local/bin/gotestrun-agent --version)" = "gotestrun-agent $version" ] || fail "gotestrun-agent --version"
run_in /usr/local/bin/gotestrun-operator --help | grep -q '^usage: gotestrun-operator' || fail "gotestrun-operator --help"
set +e
run_in /usr/local/bin/gotestrun-operator >"$work/noargs.log" 2>&1
rc=$?
set -e
[ $rc -eq 2 ] && grep -q -- '--profiles-dir is required' "$work/noargs.log" || { cat "$work/noargs.log"; fail "gotestrun-operator without flags: rc $rc"; }

# A real control plane on loopback (chroot isolation shares the host's network): the
# operator, from the image, loads the kubeconfig, verifies the server's certificate
# with OpenSSL, lists and watches, takes the Lease and answers its health port.
"$GTR_TESTENV" --env-file "$work/env" --crds "$root/crds" >"$work/testenv.log" 2>&1 &
testenv_pid=$!
for _ in $(seq 1200); do [ -s "$work/env" ] && break; kill -0 "$testenv_pid" || fail "no control plane"; sleep 0.1; done
kubeconfig=$(sed -n 's/^KUBECONFIG=//p' "$work/env")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$mnt/tmp/kube"
kubectl --kubeconfig "$kubeconfig" config view --raw --flatten >"$mnt/tmp/kube/config"
chmod -R a+rX "$mnt/tmp/kube"
# buildah itself in the background (not the bah function's subshell), so that the
# TERM below reaches it and the wait covers the operator's whole life.
buildah "${storage[@]}" run --isolation chroot --user 65532:65532 "$ctr" -- /usr/local/bin/gotestrun-operator \
  --kubeconfig /tmp/kube/config --profiles-dir /tmp --leader-elect --lease-namespace default --identity image-test \
  --http-address 127.0.0.1 --http-port "$port" \
  >"$work/operator.log" 2>&1 &
op=$!
held=""
for _ in $(seq 300); do
  held=$(kubectl --kubeconfig "$kubeconfig" get lease -n default gotestrun-operator -o 'jsonpath={.spec.holderIdentity}' 2>/dev/null || true)
  [ "$held" = image-test ] && break
  kill -0 "$op" 2>/dev/null || break
  sleep 0.2
done
healthz=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).status)' \
  "http://127.0.0.1:$port/healthz" 2>&1 || true)
kill "$op" 2>/dev/null || true
wait "$op" 2>/dev/null || true
[ "$held" = image-test ] || { cat "$work/operator.log"; fail "the operator from the image did not take its Lease"; }
grep -q "gotestrun-operator .*running" "$work/operator.log" || { cat "$work/operator.log"; fail "the operator did not start its controller"; }
[ "$healthz" = 200 ] || { cat "$work/operator.log"; fail "/healthz answered: $healthz"; }
echo "the operator from the image took the Lease, ran its controller and answered /healthz"

step "the agent installs itself from the image"
run_in /usr/local/bin/gotestrun-agent install /tmp/gotestrun-agent
cmp "$mnt/usr/local/bin/gotestrun-agent" "$mnt/tmp/gotestrun-agent" || fail "the installed agent differs"
set +e
run_in /tmp/gotestrun-agent >"$work/agent.log" 2>&1
rc=$?
set -e
[ $rc -eq 2 ] && grep -q '^usage:' "$work/agent.log" || { cat "$work/agent.log"; fail "the installed agent: rc $rc"; }

step "the agent in a root with neither glibc nor musl"
bb=$(command -v busybox) || fail "busybox-static is not installed (scripts/install-deps.sh)"
{ ldd "$bb" 2>&1 || true; } | grep -q "not a dynamic executable" || fail "$bb is not static"
mkdir -p "$work/bbroot/bin" "$work/bbroot/proc" "$work/bbroot/work"
cp "$bb" "$work/bbroot/bin/busybox"
cp "$mnt/usr/local/bin/gotestrun-agent" "$mnt/usr/local/bin/gotestrun-operator" "$work/bbroot/work/"
found=$(cd "$work/bbroot" && find . -name 'ld-*' -o -name 'libc.*' -o -name 'ld-musl*' -o -name 'libc.musl*')
[ -z "$found" ] || fail "the bare root has a C library: $found"
# A private mount namespace so that /proc (the agent's install reads /proc/self/exe)
# is mounted for this root only and goes away with it.
unshare --mount --fork /bin/sh -c '
  set -e
  mount -t proc proc "$1/proc"
  chroot "$1" /bin/busybox sh -c "
    /work/gotestrun-agent install /work/installed-agent
    /work/installed-agent >/work/agent.out 2>&1; echo \$? >/work/agent.rc
    /work/gotestrun-operator --help >/work/operator.out 2>&1; echo \$? >/work/operator.rc
  "
' sh "$work/bbroot"
[ "$(cat "$work/bbroot/work/agent.rc")" = 2 ] && grep -q '^usage:' "$work/bbroot/work/agent.out" ||
  { cat "$work/bbroot/work/agent.out"; fail "the installed agent did not run in the bare root"; }
[ "$(cat "$work/bbroot/work/operator.rc")" != 0 ] || fail "the dynamic operator ran in a root without a loader: the root is not bare"
echo "agent: installed and ran with no C library in the root; the dynamic operator there: rc $(cat "$work/bbroot/work/operator.rc") as expected"
