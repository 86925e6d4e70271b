#!/usr/bin/python3
"""Guard: the tests use only what the packages of an install-deps.sh group provide.

    tools/deps-guard.py --group test --path-dir DIR

1. Works out the packages a fresh Debian 12 machine has after `install-deps.sh GROUP`: the
   base system (Essential, or Priority required/important) and the group's packages, with
   everything they depend on (Depends, Pre-Depends), as installed here.
2. Fills DIR with links to every program those packages own under /usr/bin and /usr/sbin
   (alternatives such as awk included). tools/test.sh runs the tests with PATH=DIR, so a
   test that calls a program of a package missing from the group fails here as it would on
   a fresh machine, even when someone installed that package on this one by hand.
3. Checks what PATH cannot catch: programs named by absolute path (/usr/bin/chromium),
   Python modules imported by the peers, scripts and heredocs (resolved with Debian's
   /usr/bin/python3 and traced to their package with dpkg), and the libraries the CMake
   files ask pkg-config for (every group includes build).

Prints each violation and exits 1 when there is any. Needs dpkg (Debian).
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN_DIRS = ("/usr/bin", "/usr/sbin")
# Files scanned for absolute program paths and Python imports, per group. The tests run the
# bench without Janus (--janus none); only the full bench (group all) may name it.
SCAN_DIRS = {"build": (), "test": ("tests/integration", "tools"),
             "vm": ("tests/integration", "tools", "tests/vm"),
             "all": ("tests/integration", "tools", "tests/vm", "bench")}
SCAN_EXT = (".sh", ".py", ".c", "")
ABS_RE = re.compile(r"(?<![\w./-])(/usr/s?bin/[A-Za-z0-9_+-]+(?:\.[0-9]+)?)")
IMPORT_RE = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_][A-Za-z0-9_]*)", re.M)
PY_MARK = re.compile(r"python3|#!/usr/bin/python3")
PKG_RE = re.compile(r"pkg_check_modules\(\s*\w+((?:\s+[^)\s]+)+)\s*\)")


def usr(path):
    """The merged-/usr spelling of a path dpkg may list as /bin, /sbin or /lib."""
    for old in ("/bin/", "/sbin/", "/lib/", "/lib64/"):
        if path.startswith(old):
            return "/usr" + path
    return path


def installed():
    out = subprocess.run(
        ["dpkg-query", "-W", "-f",
         "${Package}\t${Status}\t${Essential}\t${Priority}\t${Depends}\t${Pre-Depends}\t${Provides}\n"],
        check=True, capture_output=True, text=True).stdout
    pkgs, provides = {}, {}
    for line in out.splitlines():
        name, status, ess, prio, dep, pre, prov = (line.split("\t") + [""] * 7)[:7]
        if not status.endswith(" installed"):
            continue
        deps = []
        for clause in (dep + "," + pre).split(","):
            alts = [a.strip().split(" ")[0].split(":")[0] for a in clause.split("|") if a.strip()]
            if alts:
                deps.append(alts)
        pkgs[name] = {"base": ess == "yes" or prio in ("required", "important"), "deps": deps}
        for p in prov.split(","):
            p = p.strip().split(" ")[0]
            if p:
                provides.setdefault(p, []).append(name)
    return pkgs, provides


def closure(pkgs, provides, wanted):
    todo = [p for p, v in pkgs.items() if v["base"]] + list(wanted)
    seen = set()
    while todo:
        p = todo.pop()
        if p in seen or p not in pkgs:
            continue
        seen.add(p)
        for alts in pkgs[p]["deps"]:
            # Every installed alternative counts: apt picked one of them on a fresh machine.
            for a in alts:
                todo.extend([a] + provides.get(a, []))
    return seen


def owned_files(packages):
    files = set()
    names = sorted(packages)
    for i in range(0, len(names), 200):
        out = subprocess.run(["dpkg", "-L"] + names[i:i + 200], capture_output=True,
                             text=True).stdout
        files.update(usr(f) for f in out.splitlines() if f.startswith("/"))
    return files


def scanned_files(group):
    for d in SCAN_DIRS[group]:
        for top, _, names in os.walk(os.path.join(ROOT, d)):
            if "/results" in top or "/__pycache__" in top:
                continue
            for n in names:
                if os.path.splitext(n)[1] in SCAN_EXT:
                    yield os.path.join(top, n)


def resolves_to_allowed(path, files):
    real = usr(os.path.realpath(path))
    return usr(path) in files or real in files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--group", required=True, choices=sorted(SCAN_DIRS),
                    help="install-deps.sh group")
    ap.add_argument("--path-dir", help="directory to fill with links to the allowed programs")
    a = ap.parse_args()

    listed = subprocess.run(["bash", os.path.join(ROOT, "tools/install-deps.sh"), "--list", a.group],
                            check=True, capture_output=True, text=True).stdout.split()
    pkgs, provides = installed()
    missing = [p for p in listed if p not in pkgs]
    if missing:
        print("deps-guard: not installed (run tools/install-deps.sh %s): %s"
              % (a.group, " ".join(missing)))
        return 1
    allowed = closure(pkgs, provides, listed)
    files = owned_files(allowed)
    bad = []

    if a.path_dir:
        os.makedirs(a.path_dir, exist_ok=True)
        n = 0
        for d in BIN_DIRS:
            for name in sorted(os.listdir(d)):
                p = os.path.join(d, name)
                link = os.path.join(a.path_dir, name)
                if os.path.lexists(link) or not os.access(p, os.X_OK):
                    continue
                if resolves_to_allowed(p, files):
                    os.symlink(p, link)
                    n += 1
        print("deps-guard: %d packages (group %s and what they need), %d programs in %s"
              % (len(allowed), a.group, n, a.path_dir))

    py = "/usr/bin/python3"
    modules = set()
    for f in scanned_files(a.group):
        try:
            text = open(f, encoding="utf-8", errors="replace").read()
        except OSError:
            continue
        rel = os.path.relpath(f, ROOT)
        for m in ABS_RE.finditer(text):
            p = m.group(1)
            if not os.path.exists(p) or not resolves_to_allowed(p, files):
                bad.append("%s names %s, which no package of group %s provides" % (rel, p, a.group))
        if f.endswith(".py") or (f.endswith(".sh") and PY_MARK.search(text)):
            for m in IMPORT_RE.finditer(text):
                modules.add((m.group(1), rel))

    for top, _, names in os.walk(ROOT):
        if "CMakeLists.txt" not in names or "/build" in top or "/." in top:
            continue
        text = open(os.path.join(top, "CMakeLists.txt"), encoding="utf-8").read()
        for m in PKG_RE.finditer(text):
            for mod in m.group(1).split():
                if mod.isupper():
                    continue  # REQUIRED, IMPORTED_TARGET, QUIET ...
                mod = re.split(r"[<>=]", mod)[0]
                pc = subprocess.run(["pkg-config", "--path", mod], capture_output=True,
                                    text=True).stdout.strip()
                if not pc or not resolves_to_allowed(pc, files):
                    bad.append("%s asks pkg-config for %s (%s), which no package of group %s "
                               "provides" % (os.path.relpath(os.path.join(top, "CMakeLists.txt"), ROOT),
                                             mod, pc or "not found", a.group))

    local = {os.path.splitext(n)[0] for d in SCAN_DIRS[a.group]
             for _, _, names in os.walk(os.path.join(ROOT, d)) for n in names if n.endswith(".py")}
    for mod, rel in sorted(modules):
        if mod in local or mod in sys.builtin_module_names:
            continue
        out = subprocess.run([py, "-c", "import importlib.util as u, sys\n"
                              "s = u.find_spec(sys.argv[1])\n"
                              "print(s.origin if s else '')", mod],
                             capture_output=True, text=True).stdout.strip()
        if out in ("built-in", "frozen"):
            continue
        if not out or not resolves_to_allowed(out, files):
            bad.append("%s imports %s (%s), which no package of group %s provides"
                       % (rel, mod, out or "not found", a.group))

    for b in sorted(set(bad)):
        print("deps-guard: " + b)
    if bad:
        print("deps-guard: add the packages to tools/install-deps.sh")
        return 1
    print("deps-guard: every program and module the tests name comes from group %s" % a.group)
    return 0


if __name__ == "__main__":
    sys.exit(main())
