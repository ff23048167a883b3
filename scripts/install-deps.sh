#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need. Idempotent: does nothing
# when every package is already there, so the README and CI can call it every time.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git openssl
  libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev libssl-dev libspdlog-dev
  libgtest-dev libgmock-dev zlib1g-dev
  chromium
  python3 python3-yaml
  buildah runc busybox-static
  containernetworking-plugins iptables iproute2  # the real node (tests/realnode): CNI plugins, its bridge
  clang-14 libclang-rt-14-dev  # libFuzzer and the sanitizers' runtimes, for tests/fuzz
  clang-format
)
# chromium renders the report in a test; python3-yaml reads manifests in the chart
# tests; buildah (with runc, which it depends on) builds the image without a daemon, and
# busybox-static is the only other file of the bare root the static agent is run in.
# The informer benchmark compares against kubectl; Debian's kubernetes-client provides
# one unless some other package already did.
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
