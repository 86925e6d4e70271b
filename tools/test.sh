#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs every test dcgw has:
#   1. the Debian packages (tools/install-deps.sh), and the guard that the builds and tests
#      use only what those packages provide (tools/deps-guard.py: the builds run with a
#      PATH holding only the build group's programs, the tests with only the test group's),
#   2. the layer guard (tools/layer-guard.py, docs/layout.md): no file includes a header of
#      a layer above its own; stages and guards include neither <uv.h> nor the wire schema,
#   3. a clang build with AddressSanitizer + UndefinedBehaviorSanitizer: unit tests, on
#      Debian's usrsctp and libssl as installed (DCGW_USRSCTP=system, DCGW_LIBSSL=system: the
#      unpatched paths keep passing),
#   4. a clang libFuzzer build: each fuzz target over its seed corpus, two at a time
#      (tools/fuzz-run.sh); usrsctp and libssl patched (third_party/) and instrumented,
#   5. the format check,
#   6. the main gcc build: unit and integration tests (ctest), usrsctp and libssl patched,
#   (libssl: DCGW_LIBSSL=auto in 4 and 6: patched from Debian's source of the installed
#   libssl-dev, or of a newer 3.0.x when the archive dropped it; when neither can be had,
#   e.g. a mirror without the security archive's source, the system libssl with a CMake
#   warning, and the tests of the patch check the unpatched behaviour, so the tests pass on
#   any Debian 12 whatever its mirror holds)
#   7. the fast path's program on Debian 12's own 6.1 kernel under qemu (tests/vm, ctest -L
#      vm; adds install-deps.sh group vm; ~45 s with the packages and the kernel download).
# Usage: tools/test.sh [--quick]   (--quick skips 3-5 and 7)
# Environment: DCGW_FUZZ_SECONDS (default 30 per target), JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${DCGW_FUZZ_SECONDS:-30}
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1

step() { printf '\n==== %s\n' "$*"; }
# A configure's output is kept in $cfg_log: shown whole when it fails, else only the lines
# that say which usrsctp and libssl the tree links (patched or the system's).
cfg_log=$(mktemp /tmp/dcgw-configure.XXXXXX)
configure_failed() { cat "$cfg_log"; exit 1; }
configured() { grep -E '^-- (usrsctp|libssl):' "$cfg_log" || true; }

step "packages"
bash tools/install-deps.sh test
DEPS_PATH=$(mktemp -d /tmp/dcgw-deps.XXXXXX)
trap 'rm -rf "$DEPS_PATH" "$cfg_log"' EXIT
/usr/bin/python3 tools/deps-guard.py --group build --path-dir "$DEPS_PATH/build"
/usr/bin/python3 tools/deps-guard.py --group test --path-dir "$DEPS_PATH/test"
BUILD_PATH=$DEPS_PATH/build
TEST_PATH=$DEPS_PATH/test

step "layer guard (docs/layout.md)"
/usr/bin/python3 tools/layer-guard.py

if [ $QUICK -eq 0 ]; then
    step "sanitizer build (clang, ASan + UBSan): unit tests"
    PATH=$BUILD_PATH cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
        -DDCGW_SANITIZE=ON -DDCGW_BENCH=OFF -DDCGW_USRSCTP=system -DDCGW_LIBSSL=system >/dev/null
    PATH=$BUILD_PATH cmake --build build-asan -j"$JOBS" >/dev/null
    PATH=$TEST_PATH ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir build-asan -L unit --output-on-failure -j"$JOBS"

    step "fuzz build (clang, libFuzzer): ${FUZZ_SECONDS}s per target, 2 at a time"
    PATH=$BUILD_PATH cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DDCGW_FUZZ=ON -DDCGW_TESTS=OFF \
        -DDCGW_BENCH=OFF -DDCGW_USRSCTP=patched -DDCGW_LIBSSL=auto >"$cfg_log" || configure_failed
    configured
    PATH=$TEST_PATH cmake --build build-fuzz -j"$JOBS" >/dev/null
    PATH=$TEST_PATH bash tools/fuzz-run.sh --seconds "$FUZZ_SECONDS" --jobs 2 build-fuzz

    step "format check"
    bad=$(git ls-files '*.c' '*.h' | PATH=$TEST_PATH xargs clang-format --dry-run 2>&1 | grep -c 'warning:' || true)
    if [ "$bad" != 0 ]; then
        git ls-files '*.c' '*.h' | PATH=$TEST_PATH xargs clang-format --dry-run 2>&1 | grep 'warning:' | head
        echo "clang-format: $bad places to fix (clang-format -i)"; exit 1
    fi
    echo "format ok"
fi

step "main build (gcc): unit and integration tests"
PATH=$BUILD_PATH cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDCGW_USRSCTP=patched \
    -DDCGW_LIBSSL=auto >"$cfg_log" || configure_failed
configured
PATH=$BUILD_PATH cmake --build build -j"$JOBS" >/dev/null
PATH=$TEST_PATH ctest --test-dir build -LE vm --output-on-failure -j"$JOBS"

if [ $QUICK -eq 0 ]; then
    step "the fast path's program on Debian 12's kernel (qemu): ctest -L vm"
    bash tools/install-deps.sh vm
    /usr/bin/python3 tools/deps-guard.py --group vm --path-dir "$DEPS_PATH/vm"
    PATH=$DEPS_PATH/vm ctest --test-dir build -L vm --output-on-failure
fi
