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
127.0.0.1. Run with Debian's /usr/bin/python3 inside that namespace.
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

# Alerts received in the clear (epoch 0: before the handshake finished), as
# [level, description]: a fatal alert from dcgw is [2, 42] (bad_certificate).
ALERTS = []
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
    """Keeps aiortc's DTLS debug lines that say why a handshake failed."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        msg = record.getMessage()
        if "handshake failed" in msg:
            self.lines.append(msg)


async def wait_file(path, deadline):
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            # The writer renames the file into place, so it is complete once it exists.
            with open(path, encoding="ascii") as f:
                return f.read()
        await asyncio.sleep(0.05)
    return None


async def run(args):
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, _context: None)
    deadline = loop.time() + args.timeout
    errors = DtlsErrors()
    dtls_log = logging.getLogger("aiortc.rtcdtlstransport")
    dtls_log.setLevel(logging.DEBUG)
    dtls_log.addHandler(errors)
    dtls_log.propagate = False

    result = {"dtls": None, "ice": None, "fingerprint": None, "dtls_error": None,
              "remote_addr": None, "alerts_received": ALERTS}
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    status = 2
    try:
        pc.createDataChannel("interop")
        # aiortc gathers inside setLocalDescription: the offer holds its candidates.
        await pc.setLocalDescription(await pc.createOffer())
        tmp = args.offer_out + ".tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write(pc.localDescription.sdp)
        os.rename(tmp, args.offer_out)

        answer = await wait_file(args.answer_in, deadline)
        if answer is None:
            result["dtls_error"] = "no answer from the test"
            return status
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        dtls = pc.sctp.transport
        fps = dtls.getLocalParameters().fingerprints
        result["fingerprint"] = {"algorithm": fps[0].algorithm, "value": fps[0].value}
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
    args = ap.parse_args()
    try:
        sys.exit(asyncio.run(asyncio.wait_for(run(args), args.timeout + 5)))
    except asyncio.TimeoutError:
        print(json.dumps({"dtls": None, "dtls_error": "timeout"}), flush=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
