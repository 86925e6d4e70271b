#!/usr/bin/env bash
# Sets up a fresh Debian machine, builds dcgw, and shows it working: starts dcgwd with
# two workers on a private control socket, drives it with dcgwctl (sessions, events,
# statistics), then stops it with SIGTERM.
# Usage: tools/demo.sh            (as root, or with sudo available)
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}

echo "==== packages"
bash tools/install-deps.sh test
echo "==== build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS" >/dev/null
echo "built build/dcgwd and build/dcgwctl"

D=$(mktemp -d /tmp/dcgw-demo.XXXXXX)
SOCK=$D/control.sock
cat >"$D/dcgw.conf" <<CONF
workers = 2;
control: { socket = "$SOCK"; };
CONF
ctl() { echo "\$ dcgwctl $*"; build/dcgwctl -s "$SOCK" "$@"; echo; }

build/dcgwd -c "$D/dcgw.conf" 2>"$D/dcgwd.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$D"' EXIT
for _ in $(seq 50); do build/dcgwctl -s "$SOCK" ping >/dev/null 2>&1 && break; sleep 0.1; done
sleep 0.3

build/dcgwctl -s "$SOCK" watch >"$D/events.log" 2>&1 &
sleep 0.2
echo "==== dcgwd is running (pid $PID); talking to it with dcgwctl"
ctl version
cp tests/data/sdp/chromium-offer-mdns.sdp "$D/offer.sdp"
ctl create --id demo-1 --tag "UE-A to application" --leg "name=ue,sdp=$D/offer.sdp" --leg name=as
ctl create --id demo-2 --leg "name=ue,sdp=$D/offer.sdp"
ctl list
ctl stats
ctl close demo-1
ctl list

echo "==== SIGTERM: dcgwd closes its sessions and exits"
kill -TERM $PID
wait $PID && echo "dcgwd exited with status 0"
sleep 0.2
echo
echo "==== events seen by 'dcgwctl watch' during the demo"
cat "$D/events.log"
echo
echo "==== dcgwd log"
cat "$D/dcgwd.log"
