#!/usr/bin/env bash
# Runs the libFuzzer targets of a fuzz build (cmake -DDCGW_FUZZ=ON -DCMAKE_C_COMPILER=clang),
# each over a copy of its seed corpus tests/fuzz/corpus/<name>/, several at a time.
#
# Usage: tools/fuzz-run.sh [--seconds N] [--jobs P] [--grow] BUILD_DIR [TARGET...]
#   --seconds N  time per target (default 30)
#   --jobs P     targets run at once (default 2)
#   --grow       afterwards, merge what the run found into the seed corpus, keeping only
#                inputs that add coverage (libFuzzer -merge=1); commit the result
#   TARGET       fuzz_<name> or <name>; default every target of the build
# A crash, leak or timeout fails the run: its log tail is printed and the input is kept
# under the printed directory. Prints the wall time at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER=30
JOBS=2
GROW=0
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) SECONDS_PER=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --grow) GROW=1; shift ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
    esac
done
[ $# -ge 1 ] || { echo "usage: tools/fuzz-run.sh [--seconds N] [--jobs P] [--grow] BUILD_DIR [TARGET...]" >&2; exit 2; }
BUILD=$1
shift
targets=()
if [ $# -gt 0 ]; then
    for t in "$@"; do targets+=("$BUILD/tests/fuzz/fuzz_${t#fuzz_}"); done
else
    for f in "$BUILD"/tests/fuzz/fuzz_*; do [ -x "$f" ] && targets+=("$f"); done
fi
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets in $BUILD/tests/fuzz" >&2; exit 2; }

OUT=$(mktemp -d /tmp/dcgw-fuzz.XXXXXX)
start=$(date +%s)

# One target: its log, then its status in $OUT/<name>.rc.
run_one() {
    local f=$1 name corpus work rc=0
    name=$(basename "$f")
    corpus=$ROOT/tests/fuzz/corpus/${name#fuzz_}
    work=$OUT/$name
    mkdir -p "$work/corpus"
    [ -d "$corpus" ] && cp -r "$corpus"/. "$work/corpus"/
    LSAN_OPTIONS=suppressions=$ROOT/tests/fuzz/lsan.supp \
        "$f" -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$work/" "$work/corpus" >"$work/log" 2>&1 || rc=$?
    if [ $rc -eq 0 ] && [ $GROW -eq 1 ]; then
        mkdir -p "$corpus"
        "$f" -merge=1 "$corpus" "$work/corpus" >>"$work/log" 2>&1 || rc=$?
    fi
    echo $rc >"$OUT/$name.rc"
}

for f in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
    run_one "$f" &
done
wait

failed=0
for f in "${targets[@]}"; do
    name=$(basename "$f")
    rc=$(cat "$OUT/$name.rc" 2>/dev/null || echo 1)
    last=$(grep -E '^#[0-9]+.*(DONE|pulse)' "$OUT/$name/log" | tail -1 || true)
    printf -- '-- %-22s %s\n' "$name" "${last:-(no progress line)}"
    if [ "$rc" != 0 ]; then
        tail -40 "$OUT/$name/log"
        echo "fuzz target $name failed (exit $rc); input and log kept in $OUT/$name"
        failed=1
    fi
done
echo "fuzz: ${#targets[@]} targets, ${SECONDS_PER}s each, $JOBS at a time: $(($(date +%s) - start))s wall"
[ $failed -eq 0 ] && rm -rf "$OUT"
exit $failed
