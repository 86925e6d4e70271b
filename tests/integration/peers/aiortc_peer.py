"""aiortc (Debian python3-aiortc 1.4) as the UE of a dcgw interop test.

usage: aiortc_peer.py OFFER_OUT ANSWER_IN [--timeout SECONDS]

Makes an offer with one data channel, writes it to OFFER_OUT, waits for dcgw's answer
in ANSWER_IN (written by the test), applies it and waits until the DTLS transport under
the data channel is "connected" or "failed". Prints one JSON line:

  {"dtls": "connected", "ice": "completed", "fingerprint": {"algorithm": "sha-256",
   "value": "AB:..."}, "dtls_error": null, "remote_addr": ["127.0.0.1", 40000],
   "alerts_received": []}

dtls_error is aiortc's own account of a failed handshake; alerts_received lists the
DTLS alerts that arrived in the clear, [level, description] (fatal = 2).

Exit status: 0 connected, 1 DTLS failed, 2 timeout or other error. SCTP is not
expected to come up (dcgw does not terminate it yet): only ICE and DTLS are waited for.

aioice (under aiortc) leaves 127.0.0.1 out of its host candidates; the test runs in a
network namespace that has nothing but loopback, so the lookup is patched to return
127.0.0.1 (aiortc_common.py). Run with Debian's /usr/bin/python3 inside that namespace.
"""
import argparse
import asyncio
import json

import aiortc_common as ac

# DTLS alerts received in the clear, [level, description] (fatal = 2).
ALERTS = ac.record_clear_alerts()


async def run(args):
    loop, deadline, pc = ac.new_peer(args.timeout)
    errors = ac.watch_dtls_errors()
    result = {"dtls": None, "ice": None, "fingerprint": None, "dtls_error": None,
              "remote_addr": None, "alerts_received": ALERTS}
    status = 2
    try:
        pc.createDataChannel("interop")
        if not await ac.offer(pc, args.offer_out, args.answer_in, deadline):
            result["dtls_error"] = "no answer from the test"
            return status
        dtls = pc.sctp.transport
        result["fingerprint"] = ac.local_fingerprint(dtls)
        while loop.time() < deadline and dtls.state not in ("connected", "failed", "closed"):
            await asyncio.sleep(0.02)
        result["dtls"] = dtls.state
        result["ice"] = dtls.transport.state
        pair = getattr(dtls.transport._connection, "_nominated", {})
        for p in pair.values():
            result["remote_addr"] = [p.remote_candidate.host, p.remote_candidate.port]
        if errors.lines:
            result["dtls_error"] = errors.lines[-1]
        status = 0 if dtls.state == "connected" else 1 if dtls.state == "failed" else 2
        return status
    finally:
        print(json.dumps(result), flush=True)
        await pc.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("offer_out")
    ap.add_argument("answer_in")
    ap.add_argument("--timeout", type=float, default=20.0)
    ac.run_main(run, ap.parse_args(), {"dtls": None, "dtls_error": "timeout"})


if __name__ == "__main__":
    main()
