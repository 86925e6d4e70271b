#!/usr/bin/env bash
# Builds tools/relay_bench.c against a build directory and runs it against a fresh dcgwd
# (one worker) in a private network namespace: relay packet rate and added latency
# against direct UDP, in the same run (docs/relay.md). Prints relay_bench's JSON.
#
#   tools/relay_bench.sh BUILD_DIR [relay_bench options: --packets N --size B --rtts N]
set -euo pipefail
if [ "${DCGW_RELAY_BENCH_NETNS:-}" != 1 ]; then
    exec unshare -n env DCGW_RELAY_BENCH_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:?usage: tools/relay_bench.sh BUILD_DIR [options]}" && pwd)
shift
T=$(mktemp -d /tmp/dcgw-relay-bench.XXXXXX)
trap 'kill "$DCGWD" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$T"' EXIT
cc -O2 -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE -I"$SRC/include" -I"$BUILD/proto" \
    "$SRC/tools/relay_bench.c" "$BUILD/libdcgw.a" \
    $(pkg-config --libs libuv libprotobuf-c libconfig openssl usrsctp nice jansson libjwt libmicrohttpd) \
    -lm -o "$T/relay_bench"
cat >"$T/dcgw.conf" <<CONF
workers = 1;
log: { level = "warn"; };
control: { socket = "$T/ctl.sock"; };
data_plane: { address = "127.0.0.1"; };
CONF
"$BUILD/dcgwd" -c "$T/dcgw.conf" >"$T/dcgwd.log" 2>&1 &
DCGWD=$!
for _ in $(seq 50); do
    "$BUILD/dcgwctl" -s "$T/ctl.sock" ping >/dev/null 2>&1 && break
    sleep 0.1
done
sleep 0.3 # the worker's data plane
"$T/relay_bench" -s "$T/ctl.sock" "$@"
