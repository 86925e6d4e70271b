#!/usr/bin/env bash
# The documents a newcomer reads point to what is in the tree (no daemon; under a second):
# relative links of README.md, bench/README.md and docs/*.md resolve; nothing names a
# DESIGN.md outside the repository; README's configuration paragraph names every section
# of config/dcgw.conf; the environment dcgwctl reads is documented.
source "$(dirname "$0")/lib.sh"

rc=0
/usr/bin/python3 - "$DCGW_SRC" <<'PY' >"$T/docs.txt" 2>&1 || rc=$?
import glob, os, re, sys
root = sys.argv[1]
docs = [os.path.join(root, "README.md"), os.path.join(root, "bench/README.md")] + \
    sorted(glob.glob(os.path.join(root, "docs/*.md")))
for d in docs:
    text = open(d, encoding="utf-8").read()
    rel = os.path.relpath(d, root)
    bad = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = os.path.normpath(os.path.join(os.path.dirname(d), target.split("#")[0]))
        if not os.path.exists(path):
            bad.append(target)
    print(("ok" if not bad else "not ok") + " - %s: relative links resolve%s" % (
        rel, "" if not bad else " (missing: %s)" % ", ".join(bad)))
    stray = [l for l in text.splitlines() if "DESIGN.md" in l] if not rel.endswith("design.md") else []
    print(("ok" if not stray else "not ok") + " - %s: no DESIGN.md outside the tree%s" % (
        rel, "" if not stray else ": " + stray[0].strip()[:80]))
readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
conf = open(os.path.join(root, "config/dcgw.conf"), encoding="utf-8").read()
sections = re.findall(r"^([a-z_]+): \{", conf, re.M)
para = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
missing = [s for s in sections if "`%s`" % s not in para]
print(("ok" if sections and not missing else "not ok") +
      " - README's Configuration names every section of dcgw.conf (%s)%s" % (
          ", ".join(sections), "" if not missing else "; missing: " + ", ".join(missing)))
print(("ok" if "DCGW_SOCKET" in readme else "not ok") + " - README documents DCGW_SOCKET")
PY
tap "$T/docs.txt"
check "the docs checks ran to the end (exit $rc)" [ $rc -eq 0 ]
check "dcgwctl --help documents DCGW_SOCKET" bash -c "'$DCGWCTL' --help | grep -q DCGW_SOCKET"
finish
