"""The UE peer of the policy test: drives the scenario test_policy.sh asserts on.

usage: policy_ue.py OFFER_OUT ANSWER_IN RESULT MARKERS [--flood-rate R] [--flood-secs S]
                    [--timeout S]

Offers three in-band (DCEP) channels, "chat", "bulk" and "secret", and waits for dcgw's
answer in ANSWER_IN. Then, with the application peer echoing on the far leg:
  1. waits for chat and bulk to open and for secret to be refused (closed, never open);
  2. chat: 5 small messages, all echoed;
  3. chat: 3 binary messages of 2000 bytes (over the policy's 1024), then 2 small ones:
     the small ones come back, the big ones never;
  4. bulk: a flood of 100-byte messages at --flood-rate for --flood-secs;
  5. writes MARKERS/flooded and waits for MARKERS/updated (the test patches the policy
     so that bulk is denied), then waits for bulk to close and sends 5 more chat
     messages, all echoed.
With --expect-refused it only checks that no channel opens and all three are closed
(a session without a policy passes nothing).
Writes RESULT (JSON) with what it saw, then stays connected until MARKERS/stop.
Exit 0 when every step went as described, 1 otherwise (the result says which), 2 on a
signalling error.
"""
import argparse
import asyncio
import sys

import aiortc_common as ac


class Chan:
    def __init__(self, conn, label):
        self.ch = conn.createDataChannel(label)
        self.label = label
        self.opened = False
        self.closed = False
        self.echoes = []
        self.ch.on("open", self._open)
        self.ch.on("close", self._close)
        self.ch.on("message", self.echoes.append)

    def _open(self):
        self.opened = True

    def _close(self):
        self.closed = True


async def echo_of(chan, sent, deadline):
    """True once every message in sent came back (in any order)."""
    return await ac.wait_until(lambda: all(m in chan.echoes for m in sent), deadline)


async def flood(loop, chan, rate, secs):
    start = loop.time()
    sent = 0
    while loop.time() - start < secs:
        due = int((loop.time() - start) * rate)
        while sent < due:
            chan.ch.send("bulk-%06d-" % sent + "x" * 88)
            sent += 1
        await asyncio.sleep(0.005)
    return {"sent": sent, "start": start, "end": loop.time()}


async def all_refused(loop, chans, res):
    await ac.wait_until(lambda: all(c.closed for c in chans), loop.time() + 15)
    res["open"] = {c.label: c.opened for c in chans}
    res["closed"] = {c.label: c.closed for c in chans}
    if any(c.opened for c in chans) or not all(c.closed for c in chans):
        return "every channel should be refused"
    return None


async def scenario(loop, args, chans, res):
    if args.expect_refused:
        return await all_refused(loop, chans, res)
    chat, bulk, secret = chans
    t = loop.time() + 15
    ok = await ac.wait_until(lambda: chat.opened and bulk.opened and secret.closed, t)
    res["open"] = {c.label: c.opened for c in chans}
    res["secret_closed"] = secret.closed
    if not ok:
        return "channels: chat and bulk should open, secret be refused"
    first = ["chat-%d" % i for i in range(5)]
    for m in first:
        chat.ch.send(m)
    res["chat_echo_before"] = await echo_of(chat, first, loop.time() + 15)
    if not res["chat_echo_before"]:
        return "chat: the first messages did not come back"
    for i in range(3):
        chat.ch.send(bytes([i]) * 2000)
    after = ["after-big-%d" % i for i in range(2)]
    for m in after:
        chat.ch.send(m)
    res["small_after_big_echoed"] = await echo_of(chat, after, loop.time() + 10)
    await asyncio.sleep(0.5)
    res["big_echoed"] = sum(1 for m in chat.echoes if isinstance(m, bytes) and len(m) == 2000)
    res["flood"] = await flood(loop, bulk, args.flood_rate, args.flood_secs)
    await asyncio.sleep(1.0)
    res["flood"]["echoed"] = sum(1 for m in bulk.echoes if str(m).startswith("bulk-"))
    ac.write_file(args.markers + "/flooded", "1")
    if await ac.wait_file(args.markers + "/updated", loop.time() + 20) is None:
        return "no policy update from the test"
    t_upd = loop.time()
    res["bulk_closed_after_update"] = await ac.wait_until(lambda: bulk.closed, t_upd + 10)
    res["bulk_close_delay"] = loop.time() - t_upd
    res["chat_open_after_update"] = not chat.closed
    last = ["chat-after-update-%d" % i for i in range(5)]
    for m in last:
        chat.ch.send(m)
    res["chat_echo_after"] = await echo_of(chat, last, loop.time() + 10)
    if not res["bulk_closed_after_update"]:
        return "bulk was not closed by the update"
    if not res["chat_echo_after"] or chat.closed:
        return "chat stopped flowing after the update"
    if not res["small_after_big_echoed"] or res["big_echoed"]:
        return "oversized messages: wrong handling"
    return None


async def run(args):
    loop, deadline, conn = ac.new_peer(args.timeout)
    chans = [Chan(conn, "chat"), Chan(conn, "bulk"), Chan(conn, "secret")]
    res = {"problem": "not started"}
    try:
        if not await ac.offer(conn, args.offer_out, args.answer_in, deadline):
            res["problem"] = "no answer"
            return 2
        res["problem"] = await asyncio.wait_for(scenario(loop, args, chans, res),
                                                deadline - loop.time())
        return 0 if res["problem"] is None else 1
    except asyncio.TimeoutError:
        res["problem"] = "timeout"
        return 2
    finally:
        ac.write_json(args.result, res)
        await ac.wait_file(args.markers + "/stop", deadline)
        await conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("offer_out")
    ap.add_argument("answer_in")
    ap.add_argument("result")
    ap.add_argument("markers")
    ap.add_argument("--flood-rate", type=float, default=300.0)
    ap.add_argument("--flood-secs", type=float, default=4.0)
    ap.add_argument("--expect-refused", action="store_true")
    ap.add_argument("--timeout", type=float, default=70.0)
    args = ap.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
