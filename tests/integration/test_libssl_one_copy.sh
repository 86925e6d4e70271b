#!/usr/bin/env bash
# One libssl in use per process (cmake/libssl.cmake, third_party/openssl/README.md). dcgw's
# patched libssl is linked statically; Debian's libcurl (OpenSSL flavour, for MDC1) still
# loads the system's libssl.so.3. The programs export their libssl's functions, so the
# dynamic linker binds libcurl's calls to them, never to libssl.so.3: this checks that, with
# every binding resolved at load (LD_BIND_NOW), for the daemon, the control tool, the bench
# and the unit tests that use OpenSSL or libcurl. With the system libssl every binding goes
# to libssl.so.3 and the check is the same: all of them to one object.
source "$(dirname "$0")/lib.sh"

# The objects that libssl functions (SSL_*, TLS_*, DTLS_*) are bound to in a run of the
# program that stops at once, one line each; bindings made inside libssl.so.3 itself are left
# out (its code runs only when something calls into it). A program's calls of its own
# static libssl need no binding.
ssl_targets() {
    LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT="$T/ld" CK_RUN_SUITE=none "$@" \
        >/dev/null 2>&1 || true
    cat "$T"/ld.* | grep -v 'binding file [^ ]*/libssl\.so' |
        sed -n -E "s/.* to ([^ ]+) \[[0-9]+\]: normal symbol \`(SSL|TLS|DTLS)_[A-Za-z0-9_]+'.*/\1/p" |
        sort -u
    rm -f "$T"/ld.*
}

patched=0
syms=$(nm -D --defined-only "$DCGWD")
grep -qw SSL_new <<<"$syms" && patched=1
echo "# libssl: $([ $patched = 1 ] && echo "dcgw's patched, static" || echo "the system's")"

for prog in "$DCGWD --version" "$DCGWCTL --version" "$DCGW_BUILD/bench/dcgw-bench --help" \
    "$DCGW_BUILD/tests/test_mdc1" "$DCGW_BUILD/tests/test_dtls" "$DCGW_BUILD/tests/test_nmf"; do
    bin=${prog%% *}
    [ -x "$bin" ] || continue # the bench is optional (DCGW_BENCH)
    targets=$(ssl_targets $prog)
    name=$(basename "$bin")
    echo "# $name: libssl functions bound to: $(echo $targets)"
    check "$name binds libssl's functions to one object at most" \
        [ "$(echo "$targets" | grep -c .)" -le 1 ]
    if [ $patched = 1 ]; then
        check "$name binds none to the system's libssl.so.3" \
            bash -c "! echo '$targets' | grep -q 'libssl\.so'"
    fi
done
if [ $patched = 1 ] && ldd "$DCGWD" | grep -q 'libcurl\.so'; then
    LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT="$T/ld" "$DCGWD" --version >/dev/null 2>&1 || true
    check "libcurl's SSL_CTX_new is dcgwd's own" \
        grep -q "libcurl.so.4 .* to $DCGWD .*normal symbol \`SSL_CTX_new'" "$T"/ld.*
fi
finish
