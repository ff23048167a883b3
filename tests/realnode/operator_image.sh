#!/usr/bin/env bash
# Builds the operator image (image/Dockerfile, from the binaries CMake built) with
# buildah and writes it as an OCI archive, for RealNode::ImportImage: the test Pods'
# init container copies the agent out of it, as on a user's cluster.
#
#   tests/realnode/operator_image.sh OPERATOR_BIN AGENT_BIN IMAGE_NAME ARCHIVE
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 OPERATOR_BIN AGENT_BIN IMAGE_NAME ARCHIVE" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
operator=$1 agent=$2 name=$3 archive=$4
work=$(mktemp -d /tmp/gotestrun-operator-image.XXXXXX)
storage=(--root "$work/storage" --runroot "$work/run" --storage-driver vfs)
cleanup() { buildah "${storage[@]}" rm --all >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
"$root/image/rootfs.sh" "$work/context" "$operator" "$agent" >&2
buildah "${storage[@]}" bud --isolation chroot --layers=false -q -f "$root/image/Dockerfile" -t "$name" \
  "$work/context" >/dev/null
rm -f "$archive"
buildah "${storage[@]}" push -q "$name" "oci-archive:$archive:$name"
