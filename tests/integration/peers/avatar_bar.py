"""The avatar repository (BAR) side of the avatar test: answers requests with envelopes.

usage: avatar_bar.py OFFER_IN ANSWER_OUT PLAN RESULT STOP_FILE [--timeout S]

Answers dcgw's offer. PLAN (JSON) maps channel labels to an envelope directory (as
tools/dcgw-avatar sign writes it: manifest.jws, chunk-NNNNN.bin) and a way to send it:
  {"label": {"dir": PATH, "send": MODE, "refused": true if dcgw never lets the request
             through (it is not waited for)}}
MODE: "normal" (manifest then every chunk, in order); "header" / "claims" (one byte of the
manifest's header / payload changed, signature kept: the header's typ recased, the
payload's avatar-1 made avatar-2); "none" (the payload re-sent under {"alg":"none"} with no
signature); "swap:K" (chunks 0..K-1, then chunk K+1 where K belongs, then the rest);
"truncate:K" (chunks 0..K-1, then the channel is closed); "stall:K" (chunks 0..K-1,
then nothing, the channel left open); "extra" (every chunk, then the last one again);
"flood" (every chunk as fast as aiortc takes them, unpaced).
When the first message (the UE's request token) arrives on a channel dcgw opened toward
it, the BAR queues that label's envelope; envelopes go out one at a time, at --rate. RESULT: per label,
the messages it received (the request tokens, as text) and what it sent.
"""
import argparse
import asyncio
import base64
import json
import os

import aiortc_common as ac


def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def tampered(manifest, mode):
    h, p, s = manifest.split(".")
    if mode == "header":
        hb = b64u_decode(h).replace(b'"typ":"avatar-manifest+jwt"', b'"typ":"Avatar-Manifest+jwt"')
        return b64u(hb) + "." + p + "." + s
    if mode == "claims":
        pb = b64u_decode(p).replace(b'"avatar-1"', b'"avatar-2"')
        return h + "." + b64u(pb) + "." + s
    if mode == "none":
        return b64u(b'{"alg":"none","typ":"avatar-manifest+jwt"}') + "." + p + "."
    return manifest


def load(d):
    with open(os.path.join(d, "manifest.jws"), encoding="ascii") as f:
        manifest = f.read().strip()
    names = sorted(n for n in os.listdir(d) if n.startswith("chunk-"))
    chunks = []
    for n in names:
        with open(os.path.join(d, n), "rb") as f:
            chunks.append(f.read())
    return manifest, chunks


async def send_envelope(ch, spec, rec, rate):
    """Sends one envelope at rate bytes/s at most: dcgw forwards each verified chunk at once
    and drops what the far leg cannot take (its bridge has no flow control across legs),
    so a sender paces to what the receiver can read."""
    loop = asyncio.get_running_loop()
    manifest, chunks = load(spec["dir"])
    mode, _, k = spec["send"].partition(":")
    order = list(range(len(chunks)))
    if mode == "swap":
        k = int(k)
        order[k], order[k + 1] = order[k + 1], order[k]
    elif mode in ("truncate", "stall"):
        order = order[:int(k)]
    elif mode == "extra":
        order.append(order[-1])
    ch.send(tampered(manifest, mode))
    rec["sent"].append("manifest")
    start, sent = loop.time(), 0
    for i in order:
        while mode != "flood" and (ch.bufferedAmount > 0 or loop.time() < start + sent / rate):
            await asyncio.sleep(0.002)
        if ch.readyState != "open":
            break
        ch.send(chunks[i])
        rec["sent"].append(i)
        sent += len(chunks[i])
    while ch.bufferedAmount > 0 and ch.readyState == "open":
        await asyncio.sleep(0.005)
    if mode == "truncate":
        await asyncio.sleep(0.2)
        ch.close()


async def serve(queue, rate, expected):
    """One envelope at a time; after each, a pause for dcgw's verdict (and the channel
    closes it starts) to settle, so stream resets never overlap a bulk transfer. The
    unpaced "flood" goes last, once every other request that can come has been served."""
    served = set()
    while True:
        ch, spec, rec = await queue.get()
        if spec["send"] == "flood" and not expected <= served | {ch.label}:
            await asyncio.sleep(0.1)
            queue.put_nowait((ch, spec, rec))
            continue
        await send_envelope(ch, spec, rec, rate)
        served.add(ch.label)
        await asyncio.sleep(0.3)


async def run(args):
    _loop, deadline, conn = ac.new_peer(args.timeout)
    with open(args.plan, encoding="utf-8") as f:
        plan = json.load(f)
    chans, queue = {}, asyncio.Queue()
    expected = {label for label, spec in plan.items() if not spec.get("refused")}
    server = asyncio.ensure_future(serve(queue, args.rate, expected))

    @conn.on("datachannel")
    def on_channel(ch):
        rec = chans.setdefault(ch.label, {"protocol": ch.protocol, "received": [], "sent": [],
                                          "closed": False})

        @ch.on("message")
        def on_message(msg):
            rec["received"].append(msg if isinstance(msg, str) else "<%d binary>" % len(msg))
            if len(rec["received"]) == 1 and ch.label in plan:
                queue.put_nowait((ch, plan[ch.label], rec))

        @ch.on("close")
        def on_close():
            rec["closed"] = True

    try:
        if not await ac.answer(conn, args.offer_in, args.answer_out, deadline):
            return 2
        await ac.wait_file(args.stop_file, deadline)
        return 0
    finally:
        server.cancel()
        ac.write_json(args.result, {"channels": chans})
        await conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for a in ("offer_in", "answer_out", "plan", "result", "stop_file"):
        ap.add_argument(a)
    ap.add_argument("--timeout", type=float, default=100.0)
    ap.add_argument("--rate", type=float, default=4e6, help="bytes/s of chunks")
    ac.retransmit_reconfig()  # its channels close on a loaded machine too
    ac.run_main(run, ap.parse_args())


if __name__ == "__main__":
    main()
