"""What the aiortc peers of the integration tests share (aiortc_peer.py, relay_peer.py,
dc_aiortc.py, dc_demo.py, policy_ue.py, policy_echo.py): aiortc on loopback, file
signalling, the peer connection and its offer/answer, DTLS diagnostics.

Importing this module patches aioice: aioice leaves 127.0.0.1 out of its host
candidates, and the tests run in a network namespace that has nothing but loopback, so
the host-address lookup returns 127.0.0.1. Run the peers with Debian's /usr/bin/python3
(python3-aiortc 1.4) inside that namespace.

Signalling is files: a writer renames each file into place (write_file), so a reader
that sees a non-empty file has all of it (wait_file).
"""
import asyncio
import json
import logging
import os
import sys

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc import rtcsctptransport


def loopback_only(use_ipv4, use_ipv6):
    """Stands in for aioice.ice.get_host_addresses, which skips 127.0.0.1."""
    return ["127.0.0.1"] if use_ipv4 else []


aioice.ice.get_host_addresses = loopback_only


def write_file(path, text):
    """Writes text to path.tmp, then renames it into path."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.rename(tmp, path)


def write_json(path, obj):
    write_file(path, json.dumps(obj, indent=1))


async def wait_file(path, deadline):
    """The file's text once it exists, or None at deadline (loop time)."""
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path, encoding="utf-8") as f:
                return f.read()
        await asyncio.sleep(0.05)
    return None


async def wait_until(pred, deadline, step=0.02):
    """True once pred() is, polled every step seconds; pred() at deadline."""
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        if pred():
            return True
        await asyncio.sleep(step)
    return pred()


def new_peer(timeout):
    """(loop, deadline, pc) for a peer's run(): a peer connection with no ICE servers, a
    deadline timeout seconds from now, and aiortc's stray task errors kept quiet (the
    result says what went wrong)."""
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, _context: None)
    return loop, loop.time() + timeout, RTCPeerConnection(RTCConfiguration(iceServers=[]))


async def offer(pc, offer_out, answer_in, deadline, edit=None):
    """Writes pc's offer (passed through edit() if given; aiortc gathers inside
    setLocalDescription, so it holds the candidates) to offer_out, waits for the answer
    in answer_in and applies it. False when no answer came by deadline."""
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    write_file(offer_out, edit(sdp) if edit else sdp)
    answer = await wait_file(answer_in, deadline)
    if answer is None:
        return False
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return True


async def answer(pc, offer_in, answer_out, deadline, edit=None, before_answer=None):
    """Waits for an offer in offer_in, applies it, calls before_answer() if given (to make
    channels once the far side is known), writes pc's answer (through edit() if given)
    to answer_out. False when no offer came by deadline."""
    sdp = await wait_file(offer_in, deadline)
    if sdp is None:
        return False
    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
    if before_answer:
        before_answer()
    await pc.setLocalDescription(await pc.createAnswer())
    sdp = pc.localDescription.sdp
    write_file(answer_out, edit(sdp) if edit else sdp)
    return True


def advertise_max_message_size(n):
    """aiortc writes a=max-message-size from getCapabilities(); make it say n."""
    caps = rtcsctptransport.RTCSctpCapabilities(maxMessageSize=n)
    rtcsctptransport.RTCSctpTransport.getCapabilities = lambda self: caps


def retransmit_reconfig():
    """Makes aiortc resend a stream reset request that the peer has not answered.

    aiortc 1.4 sends each RE-CONFIG request (the Outgoing SSN Reset Request that closes a
    channel, RFC 8831 §6.7) once and starts no timer for it, where RFC 6525 §5.1.1 has
    the sender retransmit it until it is answered; it keeps one request in flight and
    queues the others behind it. When the datagram of a request or of its answer is lost
    (a peer's socket buffer overflows on a loaded machine: hundreds of datagrams were
    dropped per run of test_avatar at load average 10), that channel stays "closing" for
    good, and so does every channel the peer closes after it. This resends the request in
    flight after an RTO, then after twice that, up to aiortc's RTO ceiling, for as long
    as it stays unanswered; the peer answers a repeated request as it answered the first
    (usrsctp echoes its last result)."""
    sctp = rtcsctptransport.RTCSctpTransport
    transmit = sctp._transmit_reconfig

    async def resend_unanswered(self, request):
        delay = self._rto
        while True:
            await asyncio.sleep(delay)
            if self._reconfig_request is not request or self._association_state != sctp.State.ESTABLISHED:
                return
            await self._send_reconfig_param(request)
            delay = min(2 * delay, rtcsctptransport.SCTP_RTO_MAX)

    async def transmit_and_watch(self):
        before = self._reconfig_request
        await transmit(self)
        if self._reconfig_request is not None and self._reconfig_request is not before:
            asyncio.ensure_future(resend_unanswered(self, self._reconfig_request))

    sctp._transmit_reconfig = transmit_and_watch


def local_fingerprint(dtls):
    """The first fingerprint of a DTLS transport's own certificate, as JSON."""
    fp = dtls.getLocalParameters().fingerprints[0]
    return {"algorithm": fp.algorithm, "value": fp.value}


def record_clear_alerts():
    """Makes aioice note the DTLS alerts that arrive in the clear (epoch 0: before the
    handshake finished) and returns the list they go into, as [level, description]: a
    fatal alert from dcgw is [2, 42] (bad_certificate)."""
    alerts = []
    recv = aioice.ice.Connection.recv

    async def recv_noting_alerts(self):
        data = await recv(self)
        off = 0  # DTLS records: type(1) version(2) epoch(2) sequence(6) length(2) fragment
        while off + 13 <= len(data) and 20 <= data[off] <= 63:
            n = int.from_bytes(data[off + 11:off + 13], "big")
            if data[off] == 21 and data[off + 3:off + 5] == b"\0\0" and n >= 2 and off + 15 <= len(data):
                alerts.append([data[off + 13], data[off + 14]])
            off += 13 + n
        return data

    aioice.ice.Connection.recv = recv_noting_alerts
    return alerts


class DtlsErrors(logging.Handler):
    """Keeps aiortc's DTLS debug lines that say why a handshake failed (those with any
    of words in them, case aside) in self.lines."""

    def __init__(self, words):
        super().__init__(logging.DEBUG)
        self.words = [w.lower() for w in words]
        self.lines = []

    def emit(self, record):
        msg = record.getMessage()
        if any(w in msg.lower() for w in self.words):
            self.lines.append(msg)


def watch_dtls_errors(words=("handshake failed",)):
    """A DtlsErrors handler on aiortc's DTLS logger (at DEBUG, not passed on)."""
    errors = DtlsErrors(words)
    log = logging.getLogger("aiortc.rtcdtlstransport")
    log.setLevel(logging.DEBUG)
    log.addHandler(errors)
    log.propagate = False
    return errors


def run_main(run, args, timeout_line=None):
    """Exits with the status of run(args), given args.timeout + 5 s in all; on running
    out of that, prints timeout_line (JSON) if given and exits 2."""
    try:
        sys.exit(asyncio.run(asyncio.wait_for(run(args), args.timeout + 5)))
    except asyncio.TimeoutError:
        if timeout_line is not None:
            print(json.dumps(timeout_line), flush=True)
        sys.exit(2)
