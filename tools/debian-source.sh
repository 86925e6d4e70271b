#!/usr/bin/env bash
# Fetches Debian's source package of libusrsctp (one exact version) into DIR with apt, for
# cmake/usrsctp.cmake. The machine's own apt configuration is left alone: the deb-src
# entries are made from its Debian deb entries in a private apt state under DIR/.apt, and
# apt checks the files against the signed Sources index. cmake checks them again against
# the SHA-256 sums it carries.
# Usage: tools/usrsctp-source.sh DIR VERSION     (e.g. 0.9.5.0-2)
# Exits 0 with the .dsc, .orig.tar.gz and .debian.tar.xz in DIR, else non-zero and why.
set -euo pipefail
dir=${1:?usage: $0 DIR VERSION}
version=${2:?usage: $0 DIR VERSION}
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
    echo "usrsctp-source: no apt sources in /etc/apt" >&2
    exit 1
fi
opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$parts"
      -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache"
      -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root" -q)
# An unreachable or source-less repository only warns; apt-get source says if nothing had it.
apt-get "${opts[@]}" update >"$state/update.log" 2>&1 || true
cd "$dir"
if ! apt-get "${opts[@]}" source --download-only "libusrsctp=$version" >"$state/source.log" 2>&1; then
    echo "usrsctp-source: apt-get source libusrsctp=$version failed:" >&2
    # offline, the index update failed first: that is the reason to show
    { grep -E '^(Err|E):' "$state/update.log" | head -n 2; tail -n 2 "$state/source.log"; } >&2
    exit 1
fi
rm -rf "$state/lists" "$state/cache" # the Sources indexes: about 50 MB, not needed again
