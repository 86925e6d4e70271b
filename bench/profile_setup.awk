# Set-up CPU of dcgwd by kind of work, from `perf script -F comm,tid,time,ip,sym` of a
# recording with call graphs (bench/profile.sh with PROFILE_CALLGRAPH=dwarf: frame-pointer
# chains stop inside libcrypto and libc). -v MASTER=PID puts the master's samples apart.
# Each sample goes to the first kind found walking its stack from the leaf to the root, so
# a handshake's sends count as the handshake's; the share of samples taken under a
# reschedule IPI (preemption by another process of the shared machine) is printed per kind.
function kind(s) {
    if (s == "ASN1_item_d2i_ex") return "handshake: decoding the peer's certificate"
    if (s == "state_machine") return "handshake: the rest"
    if (s ~ /^(usrsctp_|dcgw_sctp_|sctp_)/) return "usrsctp"
    if (s == "dcgw__worker_from_master") return "worker: control requests (SDP, legs)"
    if (s == "dcgw_ice_lite_recv") return "ICE"
    if (s ~ /^dcgw_io_(flush|send)|sendmmsg/) return "UDP sends"
    if (s ~ /recvmmsg|^read_burst$/) return "UDP receives"
    if (s ~ /^dcgw__wev|^dcgw__master|^dcgw_master|^uv_write|^on_read$/) return "events and control I/O"
    if (s ~ /epoll_wait/) return "epoll"
    return ""
}
function flush(   i, k) {
    if (n == 0)
        return
    k = ""
    for (i = 1; i <= n && k == ""; i++)
        k = kind(st[i])
    if (k == "")
        k = "other"
    if (tid == MASTER)
        k = "master: " k
    c[k]++
    total++
    if (ipi) {
        ci[k]++
        ipis++
    }
    n = 0
    ipi = 0
}
/^ *[^ ]+ +[0-9]+ +[0-9]+\.[0-9]+:/ { flush(); tid = $2; next }
NF >= 2 { st[++n] = $2; if ($2 == "asm_sysvec_reschedule_ipi") ipi = 1 }
END {
    flush()
    if (total == 0) {
        print "no samples"
        exit 1
    }
    for (k in c)
        printf "%5.1f%%  (%4.1f%% of it under a reschedule IPI)  %s\n", 100 * c[k] / total,
               100 * ci[k] / c[k], k | "sort -rn"
    close("sort -rn")
    printf "%d samples, %.1f%% under a reschedule IPI\n", total, 100 * ipis / total
}
