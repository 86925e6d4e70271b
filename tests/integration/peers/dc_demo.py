"""aiortc UE for tools/demo.sh: a few readable messages through dcgw, one line each.

usage: dc_demo.py --offer-out F --answer-in F [--negotiated ID:LABEL:PROTOCOL]
                  [--label L --protocol P] [--max N] [--stop-file F] [--timeout S]

Opens a DCEP channel (--label/--protocol) and the negotiated channel (its a=dcmap line
goes into the offer), sends on each a short greeting, an empty text message, 1000
binary bytes and one message of --max bytes, and prints every message it sends and every
echo that comes back, marking an echo that is byte-exact and of the right type. Then it
stays connected until --stop-file exists. Exit 0 when every echo came back right.
Runs like dc_aiortc.py (Debian's /usr/bin/python3, inside a network namespace).
"""
import argparse
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aiortc_common as ac  # noqa: E402
import dc_common  # noqa: E402


def show(data):
    if isinstance(data, str):
        text = data if len(data) <= 44 else data[:24] + "..."
        return "text   %7d B  %r" % (len(data.encode("utf-8")), text)
    return "binary %7d B  %s" % (len(data), data[:8].hex() + ("..." if len(data) > 8 else ""))


def messages(label, n_max):
    big = dc_common.content({"kind": "text", "size": n_max, "seed": 3})[1].decode("ascii")
    return ["hello from the UE on %s, through dcgw" % label, "",
            dc_common.content({"kind": "binary", "size": 1000, "seed": 9})[1],
            "grüße ✓", big]


async def run(args):
    loop, deadline, pc = ac.new_peer(args.timeout)
    ac.advertise_max_message_size(args.max)
    chans = [pc.createDataChannel(args.label, protocol=args.protocol)]
    negotiated = []
    if args.negotiated:
        cid, label, proto = args.negotiated.split(":")
        negotiated = [(int(cid), label, proto)]
        chans.append(pc.createDataChannel(label, protocol=proto, negotiated=True, id=int(cid)))
    pending = {ch.label: [] for ch in chans}
    good = {"n": 0, "bad": 0}
    done = asyncio.Event()

    def hook(ch):
        @ch.on("open")
        def on_open():
            print("UE  channel %-5s open (%s, stream %d, subprotocol %s)" % (
                ch.label, "negotiated" if ch.negotiated else "DCEP", ch.id, ch.protocol),
                flush=True)
            for m in messages(ch.label, args.max):
                pending[ch.label].append(m)
                ch.send(m)
                print("UE  -> %-5s %s" % (ch.label, show(m)), flush=True)

        @ch.on("message")
        def on_message(m):
            want = pending[ch.label].pop(0) if pending[ch.label] else None
            same = want is not None and type(want) is type(m) and want == m
            good["n" if same else "bad"] += 1
            print("UE  <- %-5s %s  %s" % (ch.label, show(m), "echo ok" if same else "WRONG"),
                  flush=True)
            if not any(pending.values()):
                done.set()

    for ch in chans:
        hook(ch)
    try:
        if not await ac.offer(pc, args.offer_out, args.answer_in, deadline,
                              lambda sdp: dc_common.add_dcmap(sdp, negotiated)):
            print("UE  no answer", flush=True)
            return 2
        try:
            await asyncio.wait_for(done.wait(), max(0.1, deadline - loop.time()))
        except asyncio.TimeoutError:
            print("UE  timed out waiting for the echoes", flush=True)
        print("UE  %d echoes byte-exact, %d wrong, %d missing" % (
            good["n"], good["bad"], sum(len(p) for p in pending.values())), flush=True)
        if args.result:
            ac.write_file(args.result, "done\n")
        while args.stop_file and loop.time() < deadline and not os.path.exists(args.stop_file):
            await asyncio.sleep(0.05)
        return 0 if good["bad"] == 0 and not any(pending.values()) else 1
    finally:
        await pc.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offer-out", required=True)
    ap.add_argument("--answer-in", required=True)
    ap.add_argument("--label", default="chat")
    ap.add_argument("--protocol", default="demo-chat")
    ap.add_argument("--negotiated")
    ap.add_argument("--max", type=int, default=262144)
    ap.add_argument("--result", help="written once the echoes are in")
    ap.add_argument("--stop-file")
    ap.add_argument("--timeout", type=float, default=20.0)
    ac.run_main(run, ap.parse_args())


if __name__ == "__main__":
    main()
