#!/usr/bin/env bash
# Installs the Debian packages that building, testing and the demo of dcgw need.
# Idempotent: packages already present are left alone. Run as root (or via sudo).
set -euo pipefail

build=(cmake make gcc clang pkg-config protobuf-c-compiler
       libusrsctp-dev libssl-dev libsrtp2-dev libnice-dev libuv1-dev
       libprotobuf-c-dev libjansson-dev libjwt-dev libconfig-dev libmicrohttpd-dev
       libglib2.0-dev)
test=(check libsubunit-dev libclang-rt-14-dev iproute2 procps util-linux
      python3 python3-aiortc openssl chromium)
demo=()
bench=(gnuplot-nox janus)

want=("${build[@]}" "${test[@]}")
case "${1:-all}" in
    build) want=("${build[@]}") ;;
    test) ;;
    all) want+=("${demo[@]}" "${bench[@]}") ;;
    *) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#want[@]} packages present"
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
