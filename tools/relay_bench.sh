#!/usr/bin/env bash
# The relay bench (docs/fastpath.md "Bench"): in a private network namespace, three
# one-worker dcgwd (userspace: GSO, GRO and the fast path off; gso: GSO and GRO on; bpf:
# the eBPF fast path on, attached to the lo of a network namespace of its own, where its
# peers are too, so that the program sees only its path) and the raw forwarder
# bench/relay/relay_fwd.c, then dcgw-relay-bench measures each path against direct UDP in
# the same run.
#
#   tools/relay_bench.sh BUILD_DIR [dcgw-relay-bench options: --packets N --size B
#                                   --window N --repeat N -j FILE]
set -euo pipefail
if [ "${DCGW_RELAY_BENCH_NETNS:-}" != 1 ]; then
    exec unshare -n env DCGW_RELAY_BENCH_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
BUILD=$(cd "${1:?usage: tools/relay_bench.sh BUILD_DIR [options]}" && pwd)
shift
T=$(mktemp -d /tmp/dcgw-relay-bench.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"' EXIT
start() { # start NAME DATA_PLANE_SETTINGS [MORE_CONFIG [netns]]
    cat >"$T/$1.conf" <<CONF
workers = 1;
log: { level = "info"; };
control: { socket = "$T/$1.sock"; };
data_plane: { address = "127.0.0.1"; $2 };
metrics: { enabled = false; };
${3:-}
CONF
    if [ "${4:-}" = netns ]; then # its own lo: its program sees only its path's datagrams
        unshare -n bash -c 'ip link set lo up && exec "$0" -c "$1"' "$BUILD/dcgwd" \
            "$T/$1.conf" >"$T/$1.log" 2>&1 &
    else
        "$BUILD/dcgwd" -c "$T/$1.conf" >"$T/$1.log" 2>&1 &
    fi
    PIDS+=($!)
    for _ in $(seq 50); do
        "$BUILD/dcgwctl" -s "$T/$1.sock" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
}
start userspace "gso = false; gro = false;"
start gso "gso = true; gro = true;"
start bpf "gso = true; gro = true;" "fast_path: { enabled = true; };" netns
sleep 0.5 # the workers' data planes
grep -q "fast path on" "$T/bpf.log" || { echo "relay_bench: the bpf daemon has no fast path:" >&2; cat "$T/bpf.log" >&2; exit 1; }
"$BUILD/bench/dcgw-relay-fwd" 127.0.0.1:0 >"$T/fwd.addr" &
PIDS+=($!)
FWD_PID=$!
sleep 0.2
"$BUILD/bench/dcgw-relay-bench" --relay "userspace=$T/userspace.sock,${PIDS[0]}" \
    --relay "gso=$T/gso.sock,${PIDS[1]}" --relay "bpf=$T/bpf.sock,${PIDS[2]},netns" \
    --fwd "$(cat "$T/fwd.addr"),$FWD_PID" "$@"
