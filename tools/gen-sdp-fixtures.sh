#!/bin/sh
# Regenerates the real-peer SDP fixtures of the sdp module (tests/data/sdp/):
#
#   aiortc-offer.sdp          Debian python3-aiortc 1.4: legacy "DTLS/SCTP 5000" + a=sctpmap
#   aiortc-answer.sdp         aiortc's answer to chromium-offer.sdp
#   chromium-offer.sdp        headless Chromium: UDP/DTLS/SCTP webrtc-datachannel, IPv4+IPv6
#   chromium-offer-mdns.sdp   the same with mDNS host-name obfuscation left on (.local)
#   chromium-answer.sdp       Chromium's answer to aiortc-offer.sdp
#
# Everything runs inside a private network namespace (no route to the outside world):
#
#   +------------------ netns (unshare -n) ------------------+
#   |  lo 127.0.0.1                                          |
#   |  dcv0 192.0.2.10/24, 2001:db8::10/64 <--veth--> dcv1   |
#   |  default routes via dcv0 (nothing answers behind it)   |
#   +--------------------------------------------------------+
#
# The veth pair gives the peers a non-loopback address to gather host candidates on
# (aiortc skips loopback; Chromium wants a default route). Peers use iceServers: [].
#
# usage: tools/gen-sdp-fixtures.sh [outdir]     (default: tests/data/sdp); needs root
# (or a user namespace) for unshare -n -p, /usr/bin/python3 with aiortc, /usr/bin/chromium.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../tests/data/sdp}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [ "${DCGW_SDP_NETNS:-}" != 1 ]; then
    # A PID namespace too: when this script ends, every browser helper it left ends.
    exec unshare -n -p -f --mount-proc env DCGW_SDP_NETNS=1 sh "$0" "$out"
fi

ip link set lo up
ip link add dcv0 type veth peer name dcv1
ip addr add 192.0.2.10/24 dev dcv0
ip -6 addr add 2001:db8::10/64 dev dcv0 nodad
ip link set dcv1 up
ip link set dcv0 up
ip route add default via 192.0.2.1 dev dcv0
ip -6 route add default via 2001:db8::1 dev dcv0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

py=/usr/bin/python3
chromium=/usr/bin/chromium

# chromium_sdp <outfile> <extra-flags> [offerfile]: runs the page, waits for the marker
# line on stderr (at most 60 s), then stops the browser's process group.
chromium_sdp()
{
    dst=$1 flags=$2 offer=${3:-}
    frag=
    if [ -n "$offer" ]; then
        frag="#$(base64 -w0 <"$offer")"
    fi
    ud=$(mktemp -d "$tmp/ud.XXXXXX")
    log="$ud.log"
    # shellcheck disable=SC2086 # $flags is a list of flags
    setsid "$chromium" --headless --no-sandbox --disable-gpu \
        --disable-background-networking --disable-component-update --disable-sync \
        --no-first-run --user-data-dir="$ud" --allow-loopback-in-peer-connection \
        --enable-logging=stderr --v=0 $flags \
        "file://$here/sdp-fixtures/chromium_sdp.html$frag" >/dev/null 2>"$log" &
    pid=$!
    i=0
    while ! grep -q 'DCGW-SDP-END\|DCGW-SDP-ERROR' "$log" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 600 ]; then
            break
        fi
        sleep 0.1
    done
    kill -TERM "-$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
        i=$((i + 1))
        sleep 0.1
    done
    kill -KILL "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    b64=$(grep -o 'DCGW-SDP-BEGIN[A-Za-z0-9+/=]*DCGW-SDP-END' "$log" | head -n1 |
        sed 's/^DCGW-SDP-BEGIN//; s/DCGW-SDP-END$//')
    if [ -z "$b64" ]; then
        echo "chromium produced no SDP for $dst:" >&2
        grep 'DCGW-SDP-ERROR' "$log" >&2 || tail -n 20 "$log" >&2
        exit 1
    fi
    printf '%s' "$b64" | base64 -d >"$out/$dst"
    echo "wrote $out/$dst"
}

"$py" "$here/sdp-fixtures/aiortc_sdp.py" offer >"$out/aiortc-offer.sdp"
echo "wrote $out/aiortc-offer.sdp"

chromium_sdp chromium-offer.sdp "--disable-features=WebRtcHideLocalIpsWithMdns"
chromium_sdp chromium-offer-mdns.sdp ""
chromium_sdp chromium-answer.sdp "--disable-features=WebRtcHideLocalIpsWithMdns" \
    "$out/aiortc-offer.sdp"

"$py" "$here/sdp-fixtures/aiortc_sdp.py" answer "$out/chromium-offer.sdp" \
    >"$out/aiortc-answer.sdp"
echo "wrote $out/aiortc-answer.sdp"
