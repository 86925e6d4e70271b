"""aiortc (Debian python3-aiortc 1.4) as either end of a dcgw relay session.

usage: relay_peer.py ue SDP_OUT SDP_IN [--timeout S] [--messages N] [--big BYTES]
       relay_peer.py as SDP_OUT SDP_IN [--timeout S]

ue  (the UE, offerer): opens a data channel "relay", writes its offer to SDP_OUT, waits for
    the answer in SDP_IN (dcgw's, written by the test), then sends N text messages and one
    binary message of BYTES bytes and waits until every one came back, then sends "bye".
as  (the application server, answerer): waits for an offer in SDP_IN (the one dcgw made
    for it), writes its answer to SDP_OUT and echoes every message on every data channel
    until it has echoed "bye" (or the timeout).

Prints one JSON line:
  {"role": "ue", "dtls": "connected", "ice": "completed", "fingerprint": {...},
   "channel_open": true, "open_ms": 812, "sent": 21, "echoed": 21, "received": 0,
   "echo_ok": true, "dtls_error": null, "alerts_received": []}

Exit status: 0 when the data channel carried everything end to end, 1 when DTLS failed or
the channel never opened, 2 on timeout or another error. Files are renamed into place, so
a reader never sees half of one. aioice leaves 127.0.0.1 out of its host candidates; the
test runs in a network namespace with nothing but loopback, so the lookup is patched
(aiortc_common.py). Run with Debian's /usr/bin/python3 inside that namespace.
"""
import argparse
import asyncio
import json

import aiortc_common as ac

ALERTS = ac.record_clear_alerts()  # DTLS alerts received in the clear, [level, description]


def payloads(n, big):
    out = ["relay message %d" % i for i in range(n)]
    if big:
        out.append(bytes((i * 31 + 7) & 0xFF for i in range(big)))
    return out


async def run_ue(pc, args, result, deadline):
    loop = asyncio.get_running_loop()
    channel = pc.createDataChannel("relay")
    want = payloads(args.messages, args.big)
    got = []
    opened = asyncio.Event()
    done = asyncio.Event()
    start = loop.time()

    @channel.on("open")
    def on_open():
        result["channel_open"] = True
        result["open_ms"] = int((loop.time() - start) * 1000)
        opened.set()

    @channel.on("message")
    def on_message(msg):
        got.append(msg)
        if len(got) >= len(want):
            done.set()

    if not await ac.offer(pc, args.sdp_out, args.sdp_in, deadline):
        result["dtls_error"] = "no answer from the test"
        return 2
    try:
        await asyncio.wait_for(opened.wait(), max(0.1, deadline - loop.time()))
    except asyncio.TimeoutError:
        return 1
    for m in want:
        channel.send(m)
        result["sent"] += 1
    try:
        await asyncio.wait_for(done.wait(), max(0.1, deadline - loop.time()))
    except asyncio.TimeoutError:
        pass
    result["echoed"] = len(got)
    result["echo_ok"] = got == want
    channel.send("bye")
    await asyncio.sleep(0.3)  # let "bye" reach the far end before closing
    return 0 if result["echo_ok"] else 2


def sctp_server_always():
    """aiortc 1.4 takes its SCTP role from its ICE role (controlling: client, sends INIT)
    and only a server answers an INIT: it has no INIT-collision handling (RFC 9260
    §5.2.4). dcgw is ICE-lite on both hops, so both aiortc ends are controlling and both
    would only send INITs. The AS therefore plays SCTP server; SCTP stays end to end."""
    from aiortc.rtcsctptransport import RTCSctpTransport

    RTCSctpTransport.is_server = property(lambda self: True)


async def run_as(pc, args, result, deadline):
    loop = asyncio.get_running_loop()
    bye = asyncio.Event()

    @pc.on("datachannel")
    def on_channel(channel):
        result["channel_open"] = True

        @channel.on("message")
        def on_message(msg):
            result["received"] += 1
            if msg == "bye":
                bye.set()
                return
            channel.send(msg)
            result["echoed"] += 1

    if not await ac.answer(pc, args.sdp_in, args.sdp_out, deadline):
        result["dtls_error"] = "no offer from the test"
        return 2
    try:
        await asyncio.wait_for(bye.wait(), max(0.1, deadline - loop.time()))
    except asyncio.TimeoutError:
        return 1 if not result["channel_open"] else 2
    return 0


async def run(args):
    _loop, deadline, pc = ac.new_peer(args.timeout)
    errors = ac.watch_dtls_errors(("handshake failed", "fingerprint"))
    result = {"role": args.role, "dtls": None, "ice": None, "fingerprint": None,
              "channel_open": False, "open_ms": None, "sent": 0, "echoed": 0, "received": 0,
              "echo_ok": False, "dtls_error": None, "alerts_received": ALERTS}
    status = 2
    try:
        if args.role == "ue":
            status = await run_ue(pc, args, result, deadline)
        else:
            sctp_server_always()
            status = await run_as(pc, args, result, deadline)
        return status
    finally:
        sctp = pc.sctp
        if sctp is not None:
            dtls = sctp.transport
            result["fingerprint"] = ac.local_fingerprint(dtls)
            result["dtls"] = dtls.state
            result["ice"] = dtls.transport.state
        if errors.lines:
            result["dtls_error"] = errors.lines[-1]
        print(json.dumps(result), flush=True)
        await pc.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("role", choices=["ue", "as"])
    ap.add_argument("sdp_out")
    ap.add_argument("sdp_in")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--messages", type=int, default=20)
    ap.add_argument("--big", type=int, default=60000)
    args = ap.parse_args()
    ac.run_main(run, args, {"role": args.role, "dtls": None, "dtls_error": "timeout"})


if __name__ == "__main__":
    main()
