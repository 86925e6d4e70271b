#!/usr/bin/env bash
# Fetches Debian's source package PACKAGE (one exact version) into DIR with apt, for the
# patched dependencies (cmake/usrsctp.cmake, cmake/libssl.cmake). The machine's own apt
# configuration is left alone: the deb-src entries are made from its Debian deb entries in a
# private apt state under DIR/.apt, and apt checks the files against the signed Sources
# index (cmake checks them again: against the sums it carries, or the .dsc's).
# Usage: tools/debian-source.sh PACKAGE VERSION DIR [NEWER]
#   e.g. tools/debian-source.sh libusrsctp 0.9.5.0-2 ~/.cache/dcgw/usrsctp
# NEWER (e.g. "3.0."): when the archive no longer has VERSION (a security update replaced
# it), fetch instead its newest version of PACKAGE that starts with NEWER and is newer
# than VERSION.
# Exits 0 with the .dsc, orig and debian tarballs in DIR and the version fetched on stdout,
# else non-zero and why on stderr.
set -euo pipefail
usage="usage: $0 PACKAGE VERSION DIR [NEWER]"
pkg=${1:?$usage}
version=${2:?$usage}
dir=${3:?$usage}
newer=${4:-}
mkdir -p "$dir/.apt/lists/partial" "$dir/.apt/cache/archives/partial" "$dir/.apt/parts"
state=$(cd "$dir/.apt" && pwd)
parts=$state/parts
rm -f "$parts"/*
# deb822 files: every "Types: deb" stanza also as deb-src; one-line files: each deb line.
n=0
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    sed -e 's/^Types:.*\bdeb\b.*$/Types: deb-src/' "$f" >"$parts/$n-$(basename "$f")"
    n=$((n + 1))
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -n -e 's/^deb\s/deb-src /p' "$f" >"$parts/$n-$(basename "$f")"
    n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
    echo "debian-source: no apt sources in /etc/apt" >&2
    exit 1
fi
opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$parts"
      -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache"
      -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root" -q)
# An unreachable or source-less repository only warns; apt-get source says if nothing had it.
apt-get "${opts[@]}" update >"$state/update.log" 2>&1 || true
# The versions to try: VERSION; without it in the index, the newer ones of the series,
# newest first (a mirror may lack a version's files).
try=("$version")
if [ -n "$newer" ] && ! apt-cache "${opts[@]}" showsrc "$pkg" 2>/dev/null |
        grep -qxF "Version: $version"; then
    try=()
    for v in $(apt-cache "${opts[@]}" showsrc "$pkg" 2>/dev/null | sed -n 's/^Version: //p'); do
        case $v in "$newer"*) ;; *) continue ;; esac
        dpkg --compare-versions "$v" gt "$version" && try+=("$v")
    done
    mapfile -t try < <(printf '%s\n' "${try[@]}" | sort -u | sort -r -V)
    if [ ${#try[@]} -eq 0 ]; then
        echo "debian-source: no source of $pkg $version, nor of a newer $newer* one" >&2
        exit 1
    fi
    echo "debian-source: $pkg $version is no longer in the archive; trying ${try[*]}" >&2
fi
cd "$dir"
for v in "${try[@]}"; do
    if apt-get "${opts[@]}" source --download-only "$pkg=$v" >"$state/source.log" 2>&1; then
        rm -rf "$state/lists" "$state/cache" # the Sources indexes: about 50 MB, not needed again
        echo "$v"
        exit 0
    fi
    echo "debian-source: apt-get source $pkg=$v failed:" >&2
    # offline, the index update failed first: that is the reason to show
    { grep -E '^(Err|E):' "$state/update.log" | head -n 2; tail -n 2 "$state/source.log"; } >&2 || true
    rm -f "${pkg}_$v".* "${pkg}_${v%-*}".orig.* # what a mirror missing some files left
done
exit 1
