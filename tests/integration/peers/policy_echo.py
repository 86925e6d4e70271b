"""The application-side peer of the policy test: answers dcgw's offer and echoes.

usage: policy_echo.py OFFER_IN ANSWER_OUT RESULT STOP_FILE [--timeout S]

Waits for dcgw's offer in OFFER_IN, writes aiortc's answer to ANSWER_OUT, then echoes
every message on every channel dcgw opens toward it (same type, same bytes) and
records, per label: when the channel opened and closed, how many messages and bytes
arrived, the largest message, and each message's arrival time (seconds, monotonic).
When STOP_FILE appears (or at the timeout) it writes RESULT (JSON) and exits 0.
"""
import argparse
import asyncio
import sys

import aiortc_common as ac


async def run(args):
    loop, deadline, conn = ac.new_peer(args.timeout)
    chans = {}

    @conn.on("datachannel")
    def on_channel(ch):
        rec = chans.setdefault(ch.label, {"opened": loop.time(), "closed": None, "count": 0,
                                          "bytes": 0, "max_size": 0, "times": [],
                                          "protocol": ch.protocol, "id": ch.id})

        @ch.on("message")
        def on_message(msg):
            n = len(msg)
            rec["count"] += 1
            rec["bytes"] += n
            rec["max_size"] = max(rec["max_size"], n)
            rec["times"].append(loop.time())
            if ch.readyState == "open":
                ch.send(msg)

        @ch.on("close")
        def on_close():
            rec["closed"] = loop.time()

    try:
        if not await ac.answer(conn, args.offer_in, args.answer_out, deadline):
            return 2
        await ac.wait_file(args.stop_file, deadline)
        return 0
    finally:
        ac.write_json(args.result, {"now": loop.time(), "channels": chans})
        await conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("offer_in")
    ap.add_argument("answer_out")
    ap.add_argument("result")
    ap.add_argument("stop_file")
    ap.add_argument("--timeout", type=float, default=80.0)
    args = ap.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
