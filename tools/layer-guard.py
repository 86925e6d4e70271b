#!/usr/bin/python3
"""Guard: the tree's layers (docs/layout.md) are kept.

    tools/layer-guard.py          checks every file under src/ and include/dcgw/

Layers, lowest first: base, sdp, stages, guard, net, msg, worker, control, ctl, bin.
- A file of a layer includes only headers of its own layer or of layers below it
  ("dcgw/<layer>/<name>.h", or an internal header of its own folder).
- The stages and the guards do no I/O and know nothing of the wire schema: no file of
  stages/ or guard/ includes <uv.h> or "dcgw.pb-c.h".
Prints each violation as FILE:LINE and exits 1 when there is any.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYERS = ["base", "sdp", "stages", "guard", "net", "msg", "worker", "control", "ctl", "bin"]
NO_IO = {"stages", "guard"}
FORBIDDEN_IN_NO_IO = ("uv.h", "dcgw.pb-c.h")
INC = re.compile(r'^\s*#\s*include\s+([<"])([^>"]+)[>"]')


def layer_of(path):
    """The layer of a file under src/ or include/dcgw/, or None."""
    rel = os.path.relpath(path, ROOT).split(os.sep)
    if rel[0] == "src" and len(rel) > 2:
        return rel[1]
    if rel[:2] == ["include", "dcgw"] and len(rel) > 3:
        return rel[2]
    return None


def check(path):
    bad = []
    layer = layer_of(path)
    if layer is None:
        return ["%s: not in a layer folder (%s)" % (os.path.relpath(path, ROOT), " ".join(LAYERS))]
    if layer not in LAYERS:
        return ["%s: unknown layer %s" % (os.path.relpath(path, ROOT), layer)]
    rank = LAYERS.index(layer)
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            m = INC.match(line)
            if not m:
                continue
            where = "%s:%d" % (os.path.relpath(path, ROOT), no)
            name = m.group(2)
            if layer in NO_IO and os.path.basename(name) in FORBIDDEN_IN_NO_IO:
                bad.append("%s: %s includes %s (stages and guards do no I/O and do not "
                           "know the wire schema)" % (where, layer, name))
            parts = name.split("/")
            if m.group(1) == '"' and parts[0] == "dcgw" and len(parts) == 3:
                inc = parts[1]
                if inc not in LAYERS:
                    bad.append("%s: %s names no layer" % (where, name))
                elif LAYERS.index(inc) > rank:
                    bad.append("%s: %s (layer %s) includes %s from the higher layer %s"
                               % (where, os.path.basename(path), layer, name, inc))
            elif m.group(1) == '"' and parts[0] == "dcgw" and name != "dcgw.pb-c.h":
                bad.append("%s: %s is not dcgw/<layer>/<name>.h" % (where, name))
    return bad


def main():
    files = []
    for top in ("src", os.path.join("include", "dcgw")):
        for d, _, names in os.walk(os.path.join(ROOT, top)):
            files += [os.path.join(d, n) for n in names if n.endswith((".c", ".h"))]
    bad = [b for f in sorted(files) for b in check(f)]
    for b in bad:
        print("layer-guard: " + b)
    if bad:
        return 1
    print("layer-guard: %d files keep the layers (%s)" % (len(files), " < ".join(LAYERS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
