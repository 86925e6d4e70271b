"""aiortc with audio, video and a data channel, for dcgw's media test (test_media.sh).

usage: media_aiortc.py --role offer|answer --sdp-out F --sdp-in F --result F
                       [--seconds S] [--echo] [--dc-messages N] [--no-srtp]
                       [--tamper N] [--replay N] [--sctp-server] [--stop-file F]
                       [--timeout S]

offer: writes its offer (audio + video sendrecv, a data channel when --dc-messages) to
--sdp-out and applies the answer read from --sdp-in. answer: reads the offer from
--sdp-in and writes its answer to --sdp-out, sending audio and video on the m-lines
offered.

It sends aiortc's synthetic tracks (silence, green frames) and decodes what arrives: every
frame track.recv() returns is a decoded one. Counted over --seconds from the moment both
an audio and a video frame have arrived: {"frames": {"audio": N, "video": N}}.

--echo sends every data-channel message back on its channel; --dc-messages N opens
"echo" and sends N binary messages (sizes 1..1200) and checks each echo byte for byte.
--no-srtp: the DTLS handshake offers no use_srtp (data channels only, RFC 5764).
--tamper N / --replay N: once media flows, sends N copies of SRTP packets it sent, one
byte flipped / unchanged, from its ICE-validated address (straight onto the ICE
connection: they never pass its own SRTP).

Writes the result JSON to --result (renamed into place) when done, then waits for
--stop-file. Run with /usr/bin/python3 inside the test's network namespace.
"""
import argparse
import asyncio
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aiortc_common as ac  # noqa: E402
import aioice.ice  # noqa: E402
from aiortc import rtcdtlstransport  # noqa: E402
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack  # noqa: E402

PROTECTED = []  # (ICE connection, SRTP packet as sent): the last ones, for --tamper/--replay
ICE_SEND = aioice.ice.Connection.send


async def send_noting(self, data):
    """aioice's Connection.send, remembering the SRTP packets (RFC 7983: 128..191, and not
    RTCP, RFC 5761 §4) that leave."""
    if len(data) > 12 and 128 <= data[0] <= 191 and not 192 <= data[1] <= 223:
        PROTECTED.append((self, bytes(data)))
        del PROTECTED[:-64]
    await ICE_SEND(self, data)


aioice.ice.Connection.send = send_noting


def no_use_srtp():
    """aiortc offers use_srtp in every handshake; this context does not."""
    from OpenSSL import SSL

    def without(self):
        ctx = SSL.Context(SSL.DTLS_METHOD)
        ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *a: 1)
        ctx.use_certificate(self._cert)
        ctx.use_privatekey(self._key)
        ctx.set_cipher_list(b"HIGH:!CAMELLIA:!aNULL")
        return ctx

    rtcdtlstransport.RTCCertificate._create_ssl_context = without


async def inject(n_tamper, n_replay, result):
    """Tampered copies and verbatim replays of SRTP packets already sent."""
    for i in range(n_tamper):
        conn, pkt = PROTECTED[-1 - (i % len(PROTECTED))]
        bad = bytearray(pkt)
        # a sequence number never sent (so not a replay: RFC 3711 §3.3.2 checks that first)
        # and a flipped byte near the end (payload or tag): authentication must fail
        seq = (int.from_bytes(bad[2:4], "big") + 1000 + i) & 0xFFFF
        bad[2:4] = seq.to_bytes(2, "big")
        bad[-5] ^= 0x5A
        await ICE_SEND(conn, bytes(bad))
        result["injected"]["tampered"] += 1
        await asyncio.sleep(0.01)
    for i in range(n_replay):
        conn, pkt = PROTECTED[-1 - (i % len(PROTECTED))]
        await ICE_SEND(conn, pkt)
        result["injected"]["replayed"] += 1
        await asyncio.sleep(0.01)


def payload(i):
    n = 1 + (i * 37) % 1200
    return bytes((i * 7 + k * 13) & 255 for k in range(n))


async def consume(track, kind, counts, times, loop):
    while True:
        try:
            await track.recv()
        except MediaStreamError:
            return
        counts[kind] += 1
        times[kind].append(loop.time())


async def run(args):
    loop, deadline, pc = ac.new_peer(args.timeout)
    if args.no_srtp:
        no_use_srtp()
    if args.sctp_server:
        from aiortc.rtcsctptransport import RTCSctpTransport

        RTCSctpTransport.is_server = property(lambda self: True)
    result = {"role": args.role, "frames": {"audio": 0, "video": 0}, "seconds": args.seconds,
              "tracks": [], "dtls": None, "srtp": not args.no_srtp, "echoed": 0,
              "dc": {"sent": 0, "ok": 0, "bad": 0, "open": False},
              "injected": {"tampered": 0, "replayed": 0}, "error": None}
    counts = {"audio": 0, "video": 0}
    times = {"audio": [], "video": []}
    tasks = []

    @pc.on("track")
    def on_track(track):
        result["tracks"].append(track.kind)
        tasks.append(asyncio.ensure_future(consume(track, track.kind, counts, times, loop)))

    @pc.on("datachannel")
    def on_dc(channel):
        result["dc"]["open"] = True

        @channel.on("message")
        def on_message(msg):
            if args.echo:
                channel.send(msg)
                result["echoed"] += 1

    audio, video = AudioStreamTrack(), VideoStreamTrack()
    dc_done = asyncio.Event()
    if args.dc_messages:
        ch = pc.createDataChannel("echo", protocol="x-echo")
        want = []

        @ch.on("open")
        def on_open():
            result["dc"]["open"] = True

            async def send_all():
                for i in range(args.dc_messages):
                    p = payload(i)
                    want.append(hashlib.sha256(p).hexdigest())
                    ch.send(p)
                    result["dc"]["sent"] += 1
                    await asyncio.sleep(args.seconds / max(1, args.dc_messages))

            tasks.append(asyncio.ensure_future(send_all()))

        @ch.on("message")
        def on_echo(msg):
            h = hashlib.sha256(msg if isinstance(msg, bytes) else msg.encode()).hexdigest()
            ok = bool(want) and h == want.pop(0)
            result["dc"]["ok" if ok else "bad"] += 1
            if result["dc"]["ok"] + result["dc"]["bad"] >= args.dc_messages:
                dc_done.set()
    else:
        # dcgw takes a session whose legs have a data-channel m-line: a silent one
        pc.createDataChannel("keep", negotiated=True, id=999)
        dc_done.set()

    try:
        if args.role == "offer":
            pc.addTrack(audio)
            pc.addTrack(video)
            ok = await ac.offer(pc, args.sdp_out, args.sdp_in, deadline)
        else:

            def add_tracks():
                pc.addTrack(audio)
                pc.addTrack(video)

            ok = await ac.answer(pc, args.sdp_in, args.sdp_out, deadline, before_answer=add_tracks)
        if not ok:
            result["error"] = "no SDP from the test"
            return 2
        # the window starts once both kinds have delivered a frame
        await ac.wait_until(lambda: counts["audio"] and counts["video"],
                            deadline - args.seconds - 1)
        if counts["audio"] and counts["video"]:
            t0 = loop.time()
            c0 = dict(counts)
            if args.tamper or args.replay:
                await asyncio.sleep(1.0)
                await inject(args.tamper, args.replay, result)
            await asyncio.sleep(max(0.0, t0 + args.seconds - loop.time()))
            result["frames"] = {k: counts[k] - c0[k] for k in counts}
            result["window_s"] = round(loop.time() - t0, 2)
        else:
            result["frames"] = dict(counts)
            result["error"] = "no audio and video frames arrived"
            if args.tamper or args.replay:
                await asyncio.sleep(1.0)
                if PROTECTED:
                    await inject(args.tamper, args.replay, result)
        try:
            await asyncio.wait_for(dc_done.wait(), max(0.1, deadline - loop.time()))
        except asyncio.TimeoutError:
            if args.dc_messages:
                result["error"] = result["error"] or "data channel echoes missing"
        return 0 if not result["error"] else 1
    finally:
        for t in pc.getTransceivers():
            if t.sender.transport is not None:
                result["dtls"] = t.sender.transport.state
                break
        if pc.sctp is not None and result["dtls"] is None:
            result["dtls"] = pc.sctp.transport.state
        result["frames_total"] = dict(counts)
        ac.write_json(args.result, result)
        while args.stop_file and not os.path.exists(args.stop_file) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for t in tasks:
            t.cancel()
        await pc.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--role", choices=["offer", "answer"], required=True)
    ap.add_argument("--sdp-out", required=True)
    ap.add_argument("--sdp-in", required=True)
    ap.add_argument("--result", required=True)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--echo", action="store_true")
    ap.add_argument("--dc-messages", type=int, default=0)
    ap.add_argument("--no-srtp", action="store_true")
    ap.add_argument("--tamper", type=int, default=0)
    ap.add_argument("--replay", type=int, default=0)
    ap.add_argument("--sctp-server", action="store_true")
    ap.add_argument("--stop-file")
    ap.add_argument("--timeout", type=float, default=40.0)
    ap.add_argument("--debug", action="store_true", help="aiortc's debug log on stderr")
    args = ap.parse_args()
    if args.debug:
        import logging

        logging.basicConfig(level=logging.DEBUG)
    ac.run_main(run, args)


if __name__ == "__main__":
    main()
