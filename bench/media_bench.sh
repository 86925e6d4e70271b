#!/usr/bin/env bash
# Runs dcgw-media-bench (bench/media/media_bench.c) against a fresh one-worker dcgwd in a
# private network namespace: SRTP packets/s and CPU per packet through dcgw in terminate
# and relay mode against the direct path, in one run (bench/README.md "Media"). Prints its
# JSON.
#
#   bench/media_bench.sh BUILD_DIR [--packets N] [--size 64..1400] [--window N] [--repeat N]
#                        [--profile gcm|cm80]
set -euo pipefail
if [ "${DCGW_MEDIA_BENCH_NETNS:-}" != 1 ]; then
    exec unshare -n env DCGW_MEDIA_BENCH_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
BUILD=$(cd "${1:?usage: bench/media_bench.sh BUILD_DIR [options]}" && pwd)
shift
T=$(mktemp -d /tmp/dcgw-media-bench.XXXXXX)
DCGWD=""
trap '[ -n "$DCGWD" ] && kill "$DCGWD" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"' EXIT
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
"$BUILD/bench/dcgw-media-bench" -s "$T/ctl.sock" "$@"
