#!/usr/bin/env bash
# CI smoke run of dcgw-bench: every scenario with tiny parameters (--quick, ~30 s), then
# checks that the JSON is well formed and that every figure a scenario reports is there
# and non-zero (messages delivered, CPU time, percentiles, sessions set up and held), and
# that the workers' memory comes back after a peak of 400 sessions.
#
#   dcgw-bench --quick  (own private network namespace when root)
#     +-- dcgwd (2 workers, 127.0.0.1) <--- A endpoints (bench) / Z endpoints (far end)
#     +-- janus echotest on a veth, when it can be measured (else the JSON says why)
#
# The Janus comparison is checked when the bench measured it; when it did not (Janus not
# installed, not root, or dcgw's DTLS stage without use_srtp) the test says so, with the
# bench's reason, and checks everything else.
source "$(dirname "$0")/lib.sh"

BENCH="$DCGW_BUILD/bench/dcgw-bench"
if [ ! -x "$BENCH" ]; then
    fail "dcgw-bench not built ($BENCH): configure with -DDCGW_BENCH=ON"
    finish
    exit 1
fi

check "dcgw-bench --help" bash -c "'$BENCH' --help >/dev/null"
check "bad options are refused" bash -c "! '$BENCH' --sizes 10 -q >/dev/null 2>&1"

# The Janus comparison is opt-in here (DCGW_BENCH_JANUS=1): one CI-like run in five saw it
# fail to measure on this shared 2-core machine; the full bench measures it every time.
JANUS_OPT=(--janus none)
[ "${DCGW_BENCH_JANUS:-0}" = 1 ] && JANUS_OPT=()
if timeout 300 "$BENCH" --quick -q "${JANUS_OPT[@]}" -j "$T/bench.json" -p "$T/bench.png" >"$T/bench.out" 2>&1; then
    ok "dcgw-bench --quick ran every scenario"
else
    fail "dcgw-bench --quick exited with $?"
fi
sed 's/^/    /' "$T/bench.out"

check "the PNG plot was written" bash -c "head -c 8 '$T/bench.png' | od -An -c | grep -q 'P   N   G'"

# Every check prints one line; the exit status counts the failures.
rc=0
/usr/bin/python3 - "$T/bench.json" <<'PY' >"$T/checks.txt" 2>&1 || rc=$?
import json, math, sys

def check(cond, what):
    print(("ok - " if cond else "not ok - ") + what)

def pos(x):
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0

try:
    j = json.load(open(sys.argv[1]))
except Exception as e:
    print("not ok - JSON well formed: %s" % e)
    sys.exit(1)
check(True, "JSON well formed")
run, sc = j["run"], j["scenarios"]
sizes = run["config"]["sizes"]
check(run["command"].startswith(("dcgw-bench", "/")) and "--quick" in run["command"],
      "the command line is recorded")
janus = j["janus"]["measured"]
paths = ["direct", "gateway"] + (["janus"] if janus else [])
if not janus:
    print("# Janus comparison NOT measured in this run: %s" % j["janus"]["reason"])

for name in ["tput_size", "tput_scale", "latency", "setup", "peak", "idle", "relay", "avatar",
             "bootstrap", "metrics"]:
    check(sc.get(name, {}).get("status") == "ok", "%s: status ok (%s)" %
          (name, sc.get(name, {}).get("reason", "")))

pts = sc["tput_size"]["points"]
for p in paths:
    for s in sizes:
        m = [x for x in pts if x["path"] == p and x["size"] == s]
        check(len(m) == 1 and pos(m[0]["messages"]) and pos(m[0]["msgs_per_s"]) and
              pos(m[0]["cpu_ns_per_msg"]) and pos(m[0]["endpoints_cpu_ns_per_msg"]) and
              m[0]["lost"] == 0 and m[0]["send_errors"] == 0,
              "tput_size %s %d B: messages, rate and CPU per message > 0, none lost" % (p, s))
for x in sc["tput_size"]["summary"]:
    check(pos(x["gateway_over_direct"]) and (not janus or pos(x["janus_over_gateway"])),
          "tput_size %d B: CPU ratios present" % x["size"])

for p in ["direct", "gateway"]:
    m = [x for x in sc["tput_scale"]["points"] if x["path"] == p]
    check(len(m) >= 1 and all(pos(x["messages"]) and pos(x["cpu_ns_per_msg"]) and
                              x["lost"] == 0 and x["sessions"] >= 1 for x in m),
          "tput_scale %s: every point delivered messages" % p)

lat = sc["latency"]["points"]
for p in paths:
    m = [x for x in lat if x["path"] == p]
    idle = [x for x in m if x["load"] == "idle"]
    loaded = [x for x in m if x["load"] == "fraction"]
    check(len(idle) == len(sizes) and all(
        pos(x["samples"]) and pos(x["rtt_p50_us"]) and x["rtt_p99_us"] >= x["rtt_p50_us"] and
        x["rtt_p999_us"] >= x["rtt_p99_us"] for x in idle),
        "latency %s: idle percentiles at every size, ordered" % p)
    check(len(loaded) == 1 and pos(loaded[0]["samples"]) and pos(loaded[0]["rtt_p99_us"]) and
          pos(loaded[0]["load_msgs_per_s"]), "latency %s: percentiles under load" % p)
check(isinstance(sc["latency"]["added_p99_us_per_traversal"]["gateway_at_load"], float),
      "latency: added p99 per traversal computed")

want = run["config"]["setup_sessions"]
for x in sc["setup"]["points"]:
    if x["path"] == "janus":
        continue
    check(x["sessions"] == want and x["failed"] == 0 and pos(x["sessions_per_s"]) and
          pos(x["cpu_ns_per_session"]) and pos(x["handshakes_per_s"]),
          "setup %s: %d sessions, rate and CPU per session > 0" % (x["path"], want))
cl = sc["setup"].get("crypto_limit") or {}
check(pos(cl.get("server_ns_per_handshake")) and pos(cl.get("client_ns_per_handshake")) and
      cl.get("handshakes", 0) > 0 and pos(cl.get("setup_of_limit")),
      "setup: the crypto-only handshake limit measured in the same run, set-up a share of it")
want = run["config"]["idle_sessions"]
idle = sc["idle"]["points"]
check(len(idle) == 2, "idle: direct and gateway")
for x in idle:
    check(x["sessions"] == want and x["lost"] == 0 and pos(x["measured_rss_bytes"]) and
          pos(x["cpu_ns_per_s_total"]),
          "idle %s: %d sessions held, none lost, memory and CPU measured" % (x["path"], want))

# Memory after a peak (issue 13): with the peak's sessions gone the workers shrink to
# within 2x of where they were plus the live sessions' share, and within 2x of the start
# once all are gone (the tree before malloc_trim kept the peak: 4.1x and 6.1x here).
pk = sc["peak"]["points"]
want = run["config"]["peak_sessions"]
check(len(pk) == 1 and pk[0]["sessions"] == want and pos(pk[0]["rss_per_session"]),
      "peak: %d sessions up, memory per session measured" % want)
for x in pk:
    print("# peak: workers' RSS %.1f MiB before, %.1f at %d sessions, %.1f with %d live "
          "(%.2fx before + their share), %.1f with none (%.2fx)" % (
              x["rss_before"] / 2**20, x["rss_peak"] / 2**20, x["sessions"],
              x["rss_after"] / 2**20, x["live"], x["after_over_before_plus_share"],
              x["rss_end"] / 2**20, x["end_over_before"]))
    check(x["after_over_before_plus_share"] <= 2.0,
          "peak: RSS after the peak <= 2 x (before + the live sessions' share)")
    check(x["end_over_before"] <= 2.0, "peak: RSS with every session gone <= 2 x before")

rl = sc["relay"]
check(rl["sizes"] and all(s in sizes for s in rl["sizes"]), "relay: sizes from the run's list")
for s in rl["sizes"]:
    for p in ["direct", "relay"]:
        m = [x for x in rl["points"] if x["path"] == p and x["size"] == s]
        check(len(m) == 1 and pos(m[0]["messages"]) and pos(m[0]["msgs_per_s"]) and
              pos(m[0]["cpu_ns_per_msg"]) and m[0]["lost"] == 0 and m[0]["send_errors"] == 0,
              "relay %s %d B: messages, rate, CPU > 0, none lost" % (p, s))
    r = [x for x in rl["points"] if x["path"] == "relay" and x["size"] == s][0]["relay"]
    check(r["legs_connected"] and pos(r["datagrams_a_to_z"]) and pos(r["datagrams_z_to_a"]) and
          pos(r["datagrams_per_msg"]) and pos(r["cpu_ns_per_datagram"]) and r["dropped"] == 0,
          "relay %d B: verified flow, datagrams relayed both ways, none dropped" % s)
for x in rl["summary"]:
    check(all(pos(x[k]) for k in ["relay_over_direct_msgs_per_s", "relay_over_direct_mb_per_s",
              "relay_cpu_over_direct_cpu_per_msg", "relay_cpu_ns_per_datagram"]),
          "relay %d B: ratios present" % x["size"])

av = sc["avatar"]
apts = {p["kind"]: p for p in av["points"]}
check(set(apts) == {"plain", "verified"}, "avatar: plain and verified points")
for k, p in apts.items():
    check(p["transfers"] >= 1 and p["bytes"] == p["transfers"] * av["config"]["size"] and
          all(pos(p[f]) for f in ("seconds", "mb_per_s", "gw_cpu_ns_per_mb",
                                  "ends_cpu_ns_per_mb")),
          "avatar %s: every transfer delivered, MB/s and CPU per MB > 0" % k)
check(all(pos(av["ratio"][k]) for k in ("mb_per_s", "gw_cpu_per_mb")), "avatar: ratios present")
c = av["checks"]
check(c["byte_exact"] and c["bytes_compared"] > 0 and c["stray_messages"] == 0,
      "avatar: every byte compared and equal")
check(c["avatar_accepted"] == c["verified_transfers"] == apts["verified"]["transfers"] + 1,
      "avatar: one avatar_accepted per verified transfer (and the warm-up)")
check(c["request_forwarded"] and c["request_accepted"] == 1,
      "avatar: the UE's request token (its DTLS key) accepted and forwarded")

bt = sc["bootstrap"]
bpts = {(x["path"], x["load"]): x for x in bt.get("points", [])}
for p in ("direct", "proxy"):
    for ld in ("app-list", "application"):
        x = bpts.get((p, ld), {})
        check(pos(x.get("requests")) and pos(x.get("requests_per_s")) and pos(x.get("mb_per_s")),
              "bootstrap %s %s: requests, req/s and MB/s > 0" % (p, ld))
check(all(pos(bpts.get(("proxy", ld), {}).get(k)) for ld in ("app-list", "application")
          for k in ("dcgwd_cpu_ns_per_request", "dcgwd_cpu_ns_per_mb")),
      "bootstrap: dcgwd CPU per request and per MB through the proxy > 0")
check(all(pos(bt.get("ratio", {}).get(k)) for k in ("requests_per_s", "mb_per_s")),
      "bootstrap: proxy/direct ratios present")

ms = sc["metrics"]["summary"]  # scraping /metrics against the data path (docs/metrics.md)
check(ms["scrapes"] > 0 and ms["scrapes_failed"] == 0 and ms["exposition_bytes"] > 1000,
      "metrics: /metrics scraped during the traffic, every scrape answered (%d)" % ms["scrapes"])
check(pos(ms["workers_cpu_ns_per_msg_quiet"]) and pos(ms["workers_cpu_ns_per_msg_scraped"]) and
      pos(ms["scraped_over_quiet"]) and ms["verdict"] in ("not above noise", "above noise"),
      "metrics: the workers' CPU per message, quiet and scraped, and a verdict")

fl = sc["flood"]
check(fl.get("status") == "ok" and all(
    pos(fl["kinds"][k]["samples"]) and pos(fl["kinds"][k]["rtt_p99_us"]) for k in
    ("none", "stun", "dtls")) and all(pos(fl["kinds"][k]["flood_sent"]) for k in ("stun", "dtls")),
    "flood: probes in every window, the flooder sent (tests/integration/test_flood.sh checks more)")

t = j["targets"]
check(len(t) == 9 and all(x["verdict"] in ("met", "MISSED", "not measured", "inside noise")
                          for x in t), "nine targets with verdicts")
# A figure below zero or within its noise never claims a target (issue 12).
check(all(x["verdict"] != "met" or (x["measured"] is not None and x["measured"] >= 0 and
                                     abs(x["measured"]) > (x.get("noise") or 0)) for x in t),
      "no target is met by a figure below zero or inside its noise")
idle_gw = [x for x in idle if x["path"] == "gateway"]
check(len(idle_gw) == 1 and idle_gw[0].get("cpu_ns_per_s_noise") is not None,
      "idle: the gateway's CPU figure comes with its measured noise")
check(j["plot"]["status"] == "ok", "gnuplot ran")
PY
tap "$T/checks.txt"
check "the bench JSON checks ran to the end (exit $rc)" [ $rc -eq 0 ]
finish
