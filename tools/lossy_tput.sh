#!/usr/bin/env bash
# Throughput under loss, dcgw against the direct path, in one run (issue 13): an aiortc
# UE (tests/integration/peers/bulk_aiortc.py) sends messages without pacing to an aiortc
# echo and waits for every echo; goodput = bytes echoed / (last echo - first send). The
# same traffic, seeds and impairment (tests/integration/impair.py, per hop) run two ways,
# taking turns, --repeat times:
#
#   dcgw    UE <-> impair <-> dcgwd (one worker, defaults) <-> impair <-> echo
#           each SCTP association (UE-dcgw, dcgw-echo) crosses one impaired hop
#   direct  UE <-> impair <-> echo
#           the one SCTP association crosses one impaired hop (--direct-hops 2: two
#           proxies in a row, the same network path with dcgw taken out)
#
# Prints each run, then the ratio dcgw/direct of the goodputs, the median of the per-repeat
# ratios. Runs in a private network (and PID) namespace; needs root and Debian's
# python3-aiortc.
#
#   tools/lossy_tput.sh BUILD_DIR [--repeat N (3)] [--count N (600)] [--spread log|uniform]
#                       [--direct-hops 1|2] [--impair "IMPAIR.PY OPTIONS"] [--conf LINE]
# A run whose echoes did not all come back in order prints why, and its files are kept.
set -euo pipefail
case ${1:-} in -h | --help | "") sed -n '2,20p' "$0"; exit 0 ;; esac
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$1" && pwd)
shift
REPEAT=3 COUNT=600 SPREAD=log HOPS=1 CONF=""
IMPAIR="--loss 10 --delay 5 --jitter 2 --reorder 10 --duplicate 2"
while [ $# -gt 0 ]; do
    case $1 in
    --repeat) REPEAT=$2; shift 2 ;;
    --count) COUNT=$2; shift 2 ;;
    --spread) SPREAD=$2; shift 2 ;;
    --direct-hops) HOPS=$2; shift 2 ;;
    --impair) IMPAIR=$2; shift 2 ;;
    --conf) CONF="$CONF$2"$'\n'; shift 2 ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "lossy_tput.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
export DCGW_BUILD=$BUILD DCGW_SRC=$SRC
ARGS=("$BUILD" --repeat "$REPEAT" --count "$COUNT" --spread "$SPREAD" --direct-hops "$HOPS" --impair "$IMPAIR")
[ -z "$CONF" ] || ARGS+=(--conf "${CONF%$'\n'}")
source "$SRC/tests/integration/lib.sh"
netns_reexec "${ARGS[@]}"

IMP=($IMPAIR)
TIMEOUT=$((60 + COUNT / 2))

# proxy DIR NAME TARGET SEED: an impairment proxy to TARGET; prints its port.
proxy() {
    "$PY" "$SRC/tests/integration/impair.py" --target "$3" --port-out "$1/$2.port" --seed "$4" \
        "${IMP[@]}" --stats-out "$1/$2-impair.json" --stop-file "$1/stop" --timeout $((TIMEOUT + 30)) \
        >"$1/$2-impair.log" 2>&1 &
    wait_for "proxy $2" 5 test -s "$1/$2.port"
    cat "$1/$2.port"
}
# pointed SDP_IN HOSTPORT PORT SDP_OUT: the SDP with its candidate HOSTPORT replaced by
# 127.0.0.1:PORT (and the m-line port with it).
pointed() {
    sed -e "s/ ${2%:*} ${2##*:} typ host/ 127.0.0.1 $3 typ host/" \
        -e "s/^m=application ${2##*:} /m=application $3 /" "$1" >"$4.tmp"
    mv "$4.tmp" "$4"
}
ue() { # DIR SEED
    "$PY" "$PEERS/bulk_aiortc.py" --offer-out "$1/ue-offer.sdp" --answer-in "$1/ue-answer.sdp" \
        --result "$1/ue.json" --count "$COUNT" --spread "$SPREAD" --seed "$2" --stop-file "$1/stop" \
        --timeout "$TIMEOUT" 2>"$1/ue.log" &
    UE_PID=$!
}
result() { # DIR: "goodput_kBps seconds in_order/count"
    json_field "$1/ue.json" '"%.1f %.1f %d/%d" % ((j["goodput"] or 0) / 1000, j["seconds"] or 0, j["in_order"], j["count"])'
}

problems() { # DIR PATH: what went wrong in a run, and its files kept in /tmp
    local p
    p=$(json_field "$1/ue.json" '"; ".join(j["problems"])')
    [ -n "$p" ] || return 0
    echo "#   $2: $p"
    cp "$T/dcgwd.log" "$1/" 2>/dev/null || true
    cp -r "$1" "/tmp/lossy-tput-$(basename "$1").$$" && echo "#   files: /tmp/lossy-tput-$(basename "$1").$$"
}

run_dcgw() { # DIR SEED
    local d=$1 seed=$2 dc port
    mkdir -p "$d/dcgw"
    "$PY" "$PEERS/dc_aiortc.py" --role echo --offer-out "$d/as-offer.sdp" --answer-in "$d/as-answer.sdp" \
        --result "$d/as.json" --stop-file "$d/stop" --timeout $((TIMEOUT + 20)) 2>"$d/as.log" &
    local echo_pid=$!
    ue "$d" "$seed"
    wait_for "offers" 15 test -s "$d/ue-offer.sdp" -a -s "$d/as-offer.sdp"
    ctl create --policy "$SRC/config/examples/policy-allow-all.json" --id "run$seed" \
        --leg "name=ue,sdp=$d/ue-offer.sdp" --leg "name=as,sdp=$d/as-offer.sdp" --sdp-out "$d/dcgw" >/dev/null
    for leg in as ue; do
        dc=$(sdp_candidate "$d/dcgw/$leg.sdp")
        port=$(proxy "$d" "$leg" "$dc" $((seed * 10 + $([ $leg = as ] && echo 1 || echo 2))))
        pointed "$d/dcgw/$leg.sdp" "$dc" "$port" "$d/$leg-answer.sdp"
    done
    wait_for "the UE's result" "$TIMEOUT" test -s "$d/ue.json" || true
    ctl --json get "run$seed" >"$d/get.json" || true
    touch "$d/stop"
    wait "$UE_PID" "$echo_pid" 2>/dev/null || true
    ctl close "run$seed" >/dev/null 2>&1 || true
}

run_direct() { # DIR SEED
    local d=$1 seed=$2 u e pa pb
    mkdir -p "$d"
    ue "$d" "$seed"
    wait_for "the UE's offer" 15 test -s "$d/ue-offer.sdp"
    u=$(sdp_candidate "$d/ue-offer.sdp")
    pa=$(proxy "$d" ue "$u" $((seed * 10 + 2)))
    [ "$HOPS" = 1 ] || pa=$(proxy "$d" ue2 "127.0.0.1:$pa" $((seed * 10 + 3)))
    pointed "$d/ue-offer.sdp" "$u" "$pa" "$d/as-offer.sdp"
    "$PY" "$PEERS/dc_aiortc.py" --role echo --offer-in "$d/as-offer.sdp" --answer-out "$d/as-answer.sdp" \
        --result "$d/as.json" --stop-file "$d/stop" --timeout $((TIMEOUT + 20)) 2>"$d/as.log" &
    local echo_pid=$!
    wait_for "the echo's answer" 15 test -s "$d/as-answer.sdp"
    e=$(sdp_candidate "$d/as-answer.sdp")
    pb=$(proxy "$d" as "$e" $((seed * 10 + 1)))
    [ "$HOPS" = 1 ] || pb=$(proxy "$d" as2 "127.0.0.1:$pb" $((seed * 10 + 5)))
    pointed "$d/as-answer.sdp" "$e" "$pb" "$d/ue-answer.sdp"
    wait_for "the UE's result" "$TIMEOUT" test -s "$d/ue.json" || true
    touch "$d/stop"
    wait "$UE_PID" "$echo_pid" 2>/dev/null || true
}

start_loopback_dcgwd 1 "$CONF"
echo "# $COUNT messages ($SPREAD sizes, 1 B - 59 KiB) echoed; impairment per hop: $IMPAIR;" \
    "direct path: $HOPS hop(s); dcgwd: 1 worker${CONF:+, $CONF}"
printf '%-4s %-7s %12s %9s %9s %s\n' run path "goodput kB/s" seconds echoes dropped
RATIOS=()
for r in $(seq "$REPEAT"); do
    run_dcgw "$T/g$r" "$r"
    read -r g gs gn <<<"$(result "$T/g$r")"
    dropped=$(json_field "$T/g$r/get.json" 'sum(s.get("dropped_messages", 0) for l in j["session"]["legs"] for s in l["dc"]["streams"])')
    printf '%-4s %-7s %12s %9s %9s %s\n' "$r" dcgw "$g" "$gs" "$gn" "$dropped"
    problems "$T/g$r" dcgw
    run_direct "$T/d$r" "$r"
    read -r dg ds dn <<<"$(result "$T/d$r")"
    printf '%-4s %-7s %12s %9s %9s %s\n' "$r" direct "$dg" "$ds" "$dn" -
    problems "$T/d$r" direct
    RATIOS+=("$("$PY" -c "import sys; g, d = map(float, sys.argv[1:]); print('%.3f' % (g / d if d else 0))" "$g" "$dg")")
done
echo "# dcgwd: $(ctl --json stats | json_get '", ".join("%s %d" % (k, sum(c["value"] for w in j["stats"]["workers"] for c in w.get("counters", []) if c["name"] == k)) for k in ("sctp_read_pauses", "malloc_trims"))' 2>/dev/null)"
"$PY" - "${RATIOS[@]}" <<'PY'
import statistics, sys
r = [float(x) for x in sys.argv[1:]]
print("ratio dcgw/direct: %.2f (median of %d: %s)" % (statistics.median(r), len(r), " ".join("%.2f" % x for x in r)))
PY
