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
test runs in a network namespace with nothing but loopback, so the lookup is patched.
Run with Debian's /usr/bin/python3 inside that namespace.
"""
import argparse
import asyncio
import json
import logging
import os
import sys

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription


def loopback_only(use_ipv4, use_ipv6):
    """Stands in for aioice.ice.get_host_addresses, which skips 127.0.0.1."""
    return ["127.0.0.1"] if use_ipv4 else []


aioice.ice.get_host_addresses = loopback_only

ALERTS = []  # DTLS alerts received in the clear, [level, description]
_connection_recv = aioice.ice.Connection.recv


async def recv_noting_alerts(self):
    data = await _connection_recv(self)
    off = 0  # DTLS records: type(1) version(2) epoch(2) sequence(6) length(2) fragment
    while off + 13 <= len(data) and 20 <= data[off] <= 63:
        n = int.from_bytes(data[off + 11:off + 13], "big")
        if data[off] == 21 and data[off + 3:off + 5] == b"\0\0" and n >= 2 and off + 15 <= len(data):
            ALERTS.append([data[off + 13], data[off + 14]])
        off += 13 + n
    return data


aioice.ice.Connection.recv = recv_noting_alerts


class DtlsErrors(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        msg = record.getMessage()
        if "handshake failed" in msg or "fingerprint" in msg.lower():
            self.lines.append(msg)


def write_file(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(text)
    os.rename(tmp, path)


async def wait_file(path, deadline):
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path, encoding="ascii") as f:
                return f.read()
        await asyncio.sleep(0.05)
    return None


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

    await pc.setLocalDescription(await pc.createOffer())
    write_file(args.sdp_out, pc.localDescription.sdp)
    answer = await wait_file(args.sdp_in, deadline)
    if answer is None:
        result["dtls_error"] = "no answer from the test"
        return 2
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
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

    offer = await wait_file(args.sdp_in, deadline)
    if offer is None:
        result["dtls_error"] = "no offer from the test"
        return 2
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    write_file(args.sdp_out, pc.localDescription.sdp)
    try:
        await asyncio.wait_for(bye.wait(), max(0.1, deadline - loop.time()))
    except asyncio.TimeoutError:
        return 1 if not result["channel_open"] else 2
    return 0


async def run(args):
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, _context: None)
    deadline = loop.time() + args.timeout
    errors = DtlsErrors()
    dtls_log = logging.getLogger("aiortc.rtcdtlstransport")
    dtls_log.setLevel(logging.DEBUG)
    dtls_log.addHandler(errors)
    dtls_log.propagate = False
    result = {"role": args.role, "dtls": None, "ice": None, "fingerprint": None,
              "channel_open": False, "open_ms": None, "sent": 0, "echoed": 0, "received": 0,
              "echo_ok": False, "dtls_error": None, "alerts_received": ALERTS}
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
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
            fps = dtls.getLocalParameters().fingerprints
            result["fingerprint"] = {"algorithm": fps[0].algorithm, "value": fps[0].value}
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
    try:
        sys.exit(asyncio.run(asyncio.wait_for(run(args), args.timeout + 5)))
    except asyncio.TimeoutError:
        print(json.dumps({"role": args.role, "dtls": None, "dtls_error": "timeout"}), flush=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
