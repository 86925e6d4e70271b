"""The UE of the avatar test: asks for avatars and records what reaches it.

usage: avatar_ue.py OFFER_OUT ANSWER_IN PLAN RESULT --tool PATH [--timeout S]

PLAN (JSON) maps channel labels to what the UE does and waits for:
  {"label": {"token": "dtls" | "other", "expect": "complete" | "closed" | "either",
             "chunks": N, "after": FILE (optional)}}
For each label the UE opens an in-band (DCEP) channel with subprotocol "avatar" (at once,
or once FILE exists when "after" names one) and, once it is open, sends a request token
(avatar-request+jwt: avatar_id avatar-1, iss sip:alice@ims.example, aud dcgw, exp now +
300) signed with the private key of the
certificate aiortc uses for DTLS ("dtls"), or with a fresh key ("other"). It then records
every message that arrives on the channel and whether the channel closed. It is done with
a label when the channel closed ("closed"), the manifest and N chunks arrived
("complete"), or either.

RESULT: per label, the messages (type, length), the manifest text, the SHA-256 of the
chunks concatenated, and closed; written one second after the last label finished (so
anything arriving late shows). Exit 0 when every label finished, 1 on timeout.
"""
import argparse
import asyncio
import hashlib
import json
import importlib.machinery
import importlib.util
import time

import aiortc_common as ac
from cryptography.hazmat.primitives.asymmetric import ec


def load_tool(path):
    loader = importlib.machinery.SourceFileLoader("dcgw_avatar", path)
    spec = importlib.util.spec_from_loader("dcgw_avatar", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


class Chan:
    def __init__(self, conn, label, plan, tool, dtls_key):
        self.label, self.plan = label, plan
        self.msgs, self.manifest, self.hash, self.closed = [], None, hashlib.sha256(), False
        self.ch = conn.createDataChannel(label, protocol="avatar")
        key = dtls_key if plan["token"] == "dtls" else ec.generate_private_key(ec.SECP256R1())
        now = int(time.time())
        self.token = tool.jws_sign("ES256", key, {"typ": tool.TYP_REQUEST},
                                   {"avatar_id": "avatar-1", "iss": "sip:alice@ims.example",
                                    "aud": "dcgw", "iat": now, "exp": now + 300})
        self.ch.on("open", lambda: self.ch.send(self.token))
        self.ch.on("message", self.on_message)
        self.ch.on("close", self.on_close)

    def on_message(self, m):
        if isinstance(m, str):
            self.msgs.append(["text", len(m)])
            if self.manifest is None:
                self.manifest = m
        else:
            self.msgs.append(["binary", len(m)])
            self.hash.update(m)

    def on_close(self):
        self.closed = True

    def done(self):
        complete = len(self.msgs) >= 1 + self.plan["chunks"]
        if self.plan["expect"] == "closed":
            return self.closed
        return complete or (self.plan["expect"] == "either" and self.closed)

    def result(self):
        return {"messages": self.msgs, "manifest": self.manifest, "closed": self.closed,
                "chunks_sha256": self.hash.hexdigest(), "token": self.token, "done": self.done()}


async def run(args):
    loop, deadline, conn = ac.new_peer(args.timeout)
    tool = load_tool(args.tool)
    with open(args.plan, encoding="utf-8") as f:
        plan = json.load(f)
    # aiortc 1.4 keeps its DTLS certificate (and key) private: the one the SDP fingerprint
    # names, so the token is signed with the key the UE authenticates with
    dtls_key = conn._RTCPeerConnection__certificates[0]._key.to_cryptography_key()
    chans = [Chan(conn, label, p, tool, dtls_key) for label, p in plan.items() if "after" not in p]

    async def later(label, p):
        if await ac.wait_file(p["after"], deadline) is not None:
            chans.append(Chan(conn, label, p, tool, dtls_key))

    waits = [asyncio.ensure_future(later(label, p)) for label, p in plan.items() if "after" in p]
    ok = False
    try:
        if not await ac.offer(conn, args.offer_out, args.answer_in, deadline):
            return 2
        ok = await ac.wait_until(lambda: len(chans) == len(plan) and all(c.done() for c in chans),
                                 deadline, step=0.05)
        await asyncio.sleep(1.0)  # anything that comes late after the point of failure
        return 0 if ok else 1
    finally:
        for w in waits:
            w.cancel()
        ac.write_json(args.result, {"ok": ok, "channels": {c.label: c.result() for c in chans}})
        await conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for a in ("offer_out", "answer_in", "plan", "result"):
        ap.add_argument(a)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--timeout", type=float, default=90.0)
    ac.retransmit_reconfig()  # its channels close on a loaded machine too
    ac.run_main(run, ap.parse_args())


if __name__ == "__main__":
    main()
