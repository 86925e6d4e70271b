#!/usr/bin/env bash
# dcgw as an installed service:
# a. `cmake --install` (into a DESTDIR) puts the programs, the configuration, the systemd
#    unit, the man pages and the docs in the usual places, and the unit names them;
# b. the man pages are the programs' --help, as roff;
# c. under systemd's notification protocol (NOTIFY_SOCKET, as systemd sets it for
#    Type=notify) dcgwd says READY=1 once every worker is ready, RELOADING=1 then READY=1
#    around a SIGHUP, STOPPING=1 on SIGTERM.
source "$(dirname "$0")/lib.sh"

# ---- a. cmake --install
PREFIX=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$DCGW_BUILD/CMakeCache.txt")
ROOT="$T/root"
rc=0; DESTDIR="$ROOT" cmake --install "$DCGW_BUILD" >"$T/install.log" 2>&1 || rc=$?
check "a. cmake --install into a DESTDIR (prefix $PREFIX, exit $rc)" [ "$rc" = 0 ]
R="$ROOT$PREFIX"
check "a. dcgwd in sbin" test -x "$R/sbin/dcgwd"
check "a. dcgwctl in bin" test -x "$R/bin/dcgwctl"
UNIT="$R/lib/systemd/system/dcgwd.service"
check "a. the systemd unit in lib/systemd/system" test -f "$UNIT"
check "a. dcgwd.8 and dcgwctl.1 in share/man" test -f "$R/share/man/man8/dcgwd.8" -a -f "$R/share/man/man1/dcgwctl.1"
check "a. README, docs (design.md) and the policy examples in share/doc/dcgw" \
    test -f "$R/share/doc/dcgw/README.md" -a -f "$R/share/doc/dcgw/docs/design.md" \
    -a -f "$R/share/doc/dcgw/examples/policy-allow-all.json"
unit() { sed -n "s/^$1=//p" "$UNIT" | head -n1; }
start=$(unit ExecStart)
bin=${start%% *} conf=${start##* }
check "a. the unit: Type=notify, ExecReload sends SIGHUP" \
    bash -c "[ '$(unit Type)' = notify ] && [ '$(unit ExecReload)' = '/bin/kill -HUP \$MAINPID' ]"
check "a. ExecStart runs the installed dcgwd ($bin)" test -x "$ROOT$bin"
check "a. with the installed configuration ($conf)" test -f "$ROOT$conf"
check "a. which the installed dcgwd accepts (the unit's ExecStartPre)" \
    "$ROOT$bin" --check-config "$ROOT$conf"
check "a. the installed configuration is the documented one" cmp -s "$ROOT$conf" "$DCGW_SRC/config/dcgw.conf"

# ---- b. man pages from --help
check "b. dcgwd.8 is a section 8 page with its options" bash -c \
    "grep -q '^.TH DCGWD 8' '$R/share/man/man8/dcgwd.8' && grep -q 'check\\\\-config' '$R/share/man/man8/dcgwd.8'"
missing=""
for cmd in ping version create update policy close-channel get list close stats watch; do
    grep -q "^$(sed 's/-/\\\\-/g' <<<"$cmd")" "$R/share/man/man1/dcgwctl.1" || missing+=" $cmd"
done
check "b. dcgwctl.1 has every command of dcgwctl --help${missing:+ (missing:$missing)}" [ -z "$missing" ]
check "b. dcgwctl.1 has the exit status and DCGW_SOCKET" bash -c \
    "grep -q '^.SH EXIT STATUS' '$R/share/man/man1/dcgwctl.1' && grep -q DCGW_SOCKET '$R/share/man/man1/dcgwctl.1'"

# ---- c. sd_notify
/usr/bin/python3 - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.5)
end = time.monotonic() + 30
with open(sys.argv[2], "w") as out:
    while time.monotonic() < end:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            continue
        for line in msg.split("\n"):
            if line.split("=")[0] in ("READY", "RELOADING", "STOPPING"):
                out.write(line + "\n")
                out.flush()
PY
LISTENER=$!
wait_for "the notification socket" 5 test -S "$T/notify.sock" || true
printf 'workers = 2;\ncontrol: { socket = "%s"; };\nmetrics: { listen = "127.0.0.1:0"; };\n' "$SOCK" >"$T/dcgw.conf"
NOTIFY_SOCKET="$T/notify.sock" "$DCGWD" -c "$T/dcgw.conf" >"$T/dcgwd.log" 2>&1 &
DCGWD_PID=$!
wait_for "READY=1" 10 grep -q READY=1 "$T/notify.log" || true
check "c. READY=1 once both workers are ready" bash -c \
    "grep -q READY=1 '$T/notify.log' && [ \$(grep -c 'ready (pid' '$T/dcgwd.log') = 2 ]"
check "c. the daemon answers" ctl ping
kill -HUP "$DCGWD_PID"
wait_for "READY=1 after the reload" 5 bash -c "[ \$(grep -c READY=1 '$T/notify.log') -ge 2 ]" || true
check "c. SIGHUP: RELOADING=1 then READY=1 ($(tr '\n' ' ' <"$T/notify.log"))" \
    [ "$(tr '\n' ' ' <"$T/notify.log")" = "READY=1 RELOADING=1 READY=1 " ]
kill -TERM "$DCGWD_PID"
wait "$DCGWD_PID" && drc=0 || drc=$?
DCGWD_PID=""
wait_for "STOPPING=1" 3 grep -q STOPPING=1 "$T/notify.log" || true
check "c. SIGTERM: STOPPING=1, exit 0 ($drc)" bash -c "grep -q STOPPING=1 '$T/notify.log' && [ $drc = 0 ]"
kill "$LISTENER" 2>/dev/null || true
finish
