"""The IMS AS side of the Nmf_MRM integration test (tests/integration/test_nmf.sh): turns
the SDP offers of WebRTC peers into an Nmf_MRM MediaContext, dcgw's answer (the context it
returned) into the SDP answer each peer takes, and validates every body against the schema
in tests/data/nmf/ with python3-jsonschema, independently of dcgw's own checks.

usage: nmf_as.py context OUT TERM=OFFER.sdp...        MediaContext, one termination each
       nmf_as.py answer RESPONSE TERM OFFER.sdp OUT     the SDP answer for TERM's peer
       nmf_as.py proxy CTX TERM [STREAM=URL]... [mdc1=IP:PORT] [local=IP[:PORT]]
                                                       TERM's DC media in CTX gets
                                                       mediaProxyConfig HTTP, replaceHttpUrl
                                                       and the MDC1 endpoints (in place)
       nmf_as.py token KEY.pem [scope=S] [aud=A] [exp=SECONDS]
                                                       an NRF access token (RS256 JWT),
                                                       signed by openssl; exp relative to now
       nmf_as.py validate DEF FILE                     DEF: MediaContext, PatchDocument,
                                                       ProblemDetails; prints each error
Run with Debian's /usr/bin/python3 (python3-jsonschema).
"""
import base64
import json
import os
import re
import subprocess
import sys
import time

EXT = "vendorSpecific-032473"  # dcgw's extension with its default enterprise number
SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "nmf",
                      "nmf-mrm.schema.json")


def attrs(sdp, name):
    return [m.group(1) for m in re.finditer(r"^a=%s:(.*?)\r?$" % re.escape(name), sdp, re.M)]


def first(sdp, name, default=None):
    v = attrs(sdp, name)
    return v[0] if v else default


def dcmap_streams(sdp):
    streams = {}
    for line in attrs(sdp, "dcmap"):
        sid, _, params = line.partition(" ")
        st = {"streamId": int(sid)}
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            v = v.strip('"')
            if k == "label":
                st[EXT] = {"label": v}
            elif k == "subprotocol":
                st["subprotocol"] = v
            elif k == "ordered":
                st["order"] = v == "true"
            elif k == "max-retr":
                st["maxRetry"] = int(v)
            elif k == "max-time":
                st["maxTime"] = int(v)
            elif k == "priority":
                st["priority"] = int(v)
        streams[sid] = st
    return streams


def termination(term, sdp):
    """What the AS learned from a peer's offer, as a TerminationInfo."""
    cand = re.search(r"^a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host", sdp, re.M)
    ip, port = cand.group(1), int(cand.group(2))
    algo, _, hexv = first(sdp, "fingerprint").partition(" ")
    m = re.search(r"^m=application \d+ (\S+) (\S+)", sdp, re.M)
    legacy = m.group(1) == "DTLS/SCTP"
    sctp = int(m.group(2)) if legacy else int(first(sdp, "sctp-port", "5000"))
    dc = {
        "streams": dcmap_streams(sdp),
        "maxMessageSize": int(first(sdp, "max-message-size", "65536")),
        "securitySetup": first(sdp, "setup", "actpass").upper(),
        "remoteDcEndpoint": {"sctpPort": sctp, "fingerprint": algo.upper() + " " + hexv},
    }
    tls = first(sdp, "tls-id")
    if tls:
        dc["remoteDcEndpoint"]["tlsId"] = tls
    media = {
        "mediaId": term + "-dc",
        "mediaResourceType": "DC",
        "remoteMbEndpoint": {"ip": {"ipv6Addr" if ":" in ip else "ipv4Addr": ip},
                             "transport": "UDP", "portNumber": port},
        "dcMedia": dc,
        EXT: {"remoteIce": {"ufrag": first(sdp, "ice-ufrag"), "pwd": first(sdp, "ice-pwd")}},
    }
    return {"terminationId": term, "medias": [media]}


def cmd_context(out, *terms):
    ctx = {"terminations": []}
    for t in terms:
        name, _, path = t.partition("=")
        ctx["terminations"].append(termination(name, open(path).read()))
    with open(out, "w") as f:
        json.dump(ctx, f, indent=1)


def cmd_answer(response, term, offer_path, out):
    """dcgw's local endpoints of TERM as the SDP answer to its peer's offer, in the offer's
    m-line form (aiortc 1.4 offers the legacy DTLS/SCTP one)."""
    ctx = json.load(open(response))
    t = next(t for t in ctx["terminations"] if t["terminationId"] == term)
    media = t["medias"][0]
    dc = media["dcMedia"]
    offer = open(offer_path).read()
    ip = list(media["localMbEndpoint"]["ip"].values())[0]
    port = media["localMbEndpoint"]["portNumber"]
    fam = "IP6" if ":" in ip else "IP4"
    algo, _, hexv = dc["localDcEndpoint"]["fingerprint"].partition(" ")
    sctp = dc["localDcEndpoint"]["sctpPort"]
    ice = media[EXT]["localIce"]
    mid = first(offer, "mid", "0")
    legacy = re.search(r"^m=application \d+ DTLS/SCTP ", offer, re.M) is not None
    lines = ["v=0", "o=- 1 1 IN %s %s" % (fam, ip), "s=-", "t=0 0"]
    if ice.get("lite"):
        lines.append("a=ice-lite")
    lines.append("a=group:BUNDLE %s" % mid)
    if legacy:
        lines += ["m=application %d DTLS/SCTP %d" % (port, sctp), "c=IN %s %s" % (fam, ip),
                  "a=mid:%s" % mid, "a=sctpmap:%d webrtc-datachannel 65535" % sctp]
    else:
        lines += ["m=application %d UDP/DTLS/SCTP webrtc-datachannel" % port,
                  "c=IN %s %s" % (fam, ip), "a=mid:%s" % mid, "a=sctp-port:%d" % sctp]
    lines += ["a=max-message-size:%d" % dc["maxMessageSize"],
              "a=candidate:1 1 udp 2130706431 %s %d typ host" % (ip, port),
              "a=end-of-candidates", "a=ice-ufrag:%s" % ice["ufrag"],
              "a=ice-pwd:%s" % ice["pwd"], "a=fingerprint:%s %s" % (algo.lower(), hexv),
              "a=setup:%s" % dc["securitySetup"].lower()]
    for sid, st in sorted(dc["streams"].items(), key=lambda kv: int(kv[0])):
        p = []
        label = st.get(EXT, {}).get("label")
        if label:
            p.append('label="%s"' % label)
        if "subprotocol" in st:
            p.append('subprotocol="%s"' % st["subprotocol"])
        lines.append("a=dcmap:%s %s" % (sid, ";".join(p)) if p else "a=dcmap:%s" % sid)
    with open(out + ".tmp", "w") as f:
        f.write("\r\n".join(lines) + "\r\n")
    os.rename(out + ".tmp", out)


def endpoint(text):
    """'ip:port', '[ip]:port' or 'ip' as a TS 29.571 Endpoint over TCP (port 0: any)."""
    m = re.fullmatch(r"\[([0-9a-f:]+)\]:(\d+)|([0-9.]+):(\d+)|([0-9a-f:.]+)", text)
    ip = m.group(1) or m.group(3) or m.group(5)
    port = int(m.group(2) or m.group(4) or 0)
    return {"ip": {"ipv6Addr" if ":" in ip else "ipv4Addr": ip}, "transport": "TCP",
            "portNumber": port}


def cmd_proxy(path, term, *items):
    ctx = json.load(open(path))
    dc = next(t for t in ctx["terminations"] if t["terminationId"] == term)["medias"][0]["dcMedia"]
    for item in items:
        k, _, v = item.partition("=")
        if k == "mdc1":
            dc["remoteMdc1Endpoint"] = endpoint(v)
        elif k == "local":
            dc["localMdc1Endpoint"] = endpoint(v)
        else:
            dc["mediaProxyConfig"] = "HTTP"
            dc.setdefault("replaceHttpUrl", {})[k] = {"replaceHttpUrl": v, "streamId": int(k)}
    with open(path, "w") as f:
        json.dump(ctx, f, indent=1)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def cmd_token(key, *items):
    """What an NRF issues (TS 33.501 13.4.1): a JWT, here RS256 (RFC 7518 3.3: PKCS #1 v1.5
    over SHA-256, which openssl dgst -sign writes as is)."""
    opts = dict(i.partition("=")[::2] for i in items)
    now = int(time.time())
    claims = {"iss": "nrf-test", "sub": "ims-as-test", "scope": opts.get("scope", "nmf-mrm"),
              "iat": now, "exp": now + int(opts.get("exp", "300"))}
    if "aud" in opts:
        claims["aud"] = opts["aud"]
    si = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()) + "." + \
        b64url(json.dumps(claims).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=si.encode(),
                         capture_output=True, check=True).stdout
    print(si + "." + b64url(sig))


def cmd_validate(definition, path):
    import jsonschema
    schema = json.load(open(SCHEMA))
    sub = dict(schema, **{"$ref": "#/$defs/" + definition})
    try:
        doc = json.load(open(path))
    except ValueError as e:
        print("not JSON: %s" % e)
        return 1
    v = jsonschema.Draft202012Validator(sub)
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
    for e in errors:
        print("/" + "/".join(str(p) for p in e.absolute_path) + ": " + e.message[:200])
    return 1 if errors else 0


def main(argv):
    cmds = {"context": cmd_context, "answer": cmd_answer, "proxy": cmd_proxy, "token": cmd_token,
            "validate": cmd_validate}
    if len(argv) < 2 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    return cmds[argv[1]](*argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
