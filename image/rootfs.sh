#!/usr/bin/env bash
# Lays out the image's root filesystem for image/Dockerfile in CONTEXT/rootfs:
#   /usr/local/bin/gotestrun-operator   (debug info stripped)
#   /usr/local/bin/gotestrun-agent      (static: it is copied into any Go image)
#   every shared library `ldd` names for the operator, at the path the loader looks for
#   it, and the loader itself at the operator's PT_INTERP path
#   /etc/ssl/certs/ca-certificates.crt, /etc/passwd and /etc/group (nonroot 65532),
#   /etc/nsswitch.conf, and empty /tmp, /proc, /dev, /sys for the runtime to mount over
#
#   image/rootfs.sh CONTEXT OPERATOR_BIN AGENT_BIN
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 CONTEXT OPERATOR_BIN AGENT_BIN" >&2; exit 2; }
context=$1 operator=$2 agent=$3
root="$context/rootfs"
rm -rf "$root"
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/proc" "$root/dev" "$root/sys" "$root/tmp"
chmod 1777 "$root/tmp"

if ldd "$agent" >/dev/null 2>&1; then
  echo "$agent is dynamically linked; the image needs the static agent (GTR_STATIC_AGENT=ON)" >&2
  exit 1
fi
objcopy --strip-debug "$operator" "$root/usr/local/bin/gotestrun-operator"
objcopy --strip-debug "$agent" "$root/usr/local/bin/gotestrun-agent"

# "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)":
# the path the loader resolves is the one to fill, with the file's content (not a symlink).
ldd "$operator" | awk '$2=="=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u |
  while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
interp=$(readelf -l "$operator" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[ -f "$root$interp" ] || { echo "loader $interp not copied" >&2; exit 1; }

cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
du -sh "$root" >&2
