/* Memory after a peak (issue 13). glibc's malloc keeps what a worker frees: a session's
 * allocations (usrsctp's stream tables, OpenSSL's buffers, dcgw's own) are small blocks in
 * the heap, and once the sessions of a peak are gone their pages stay resident between
 * the allocations still live (1,000 sessions came and went: 420 MB resident, 1.4 MB in
 * use). So whenever the session count has fallen by a sixteenth from its high-water mark
 * since the last trim (by 16 sessions at least), or to zero, the worker calls
 * malloc_trim(0) at the end of that loop turn, after the dead legs were freed: glibc gives
 * back every free page of its heaps (MADV_DONTNEED inside, sbrk at the top). The loop
 * stops while it runs, and the longer the more it gives back: in small steps a trim takes
 * 1-3 ms at 1,000 sessions per worker on the reference VM, where one trim per third of the
 * sessions took 15-160 ms. A count that churns without falling never trims (its memory
 * is reused).
 *
 * Idle legs give OpenSSL's record buffers back (dcgw_dtls_trim, issue 17): those leave
 * holes of about 36 KiB between live blocks, resident until trimmed. So the worker also
 * trims once the buffers released since its last trim add up to a sixteenth of what its
 * sessions hold (16 KiB a session; 16 MiB at least): a few trims while thousands of
 * sessions go quiet, none while they stay busy or stay quiet.
 *
 * Fixed thresholds also turn glibc's dynamic ones off, which would otherwise move blocks
 * of up to 32 MiB (a reassembly buffer, a held message) into the heap after the first
 * such block was freed: blocks of 128 KiB and more are mapped on their own and unmapped
 * when freed. */
#include <malloc.h>

#include "dcgw/base/log.h"
#include "worker_int.h"

enum {
    WMEM_MMAP_THRESHOLD = 128 * 1024,
    WMEM_TRIM_THRESHOLD = 1024 * 1024,     /* free() gives back the heap's top past this */
    WMEM_TRIM_MIN_FALL = 16,               /* sessions gone since the high-water mark, and */
    WMEM_TRIM_FALL_DIV = 16,               /* at least this part of those still live */
    WMEM_RELEASED_MIN = 16 * 1024 * 1024,  /* DTLS buffers released before a trim, at least */
    WMEM_RELEASED_PER_SESSION = 16 * 1024, /* and this much per live session */
};

void dcgw__wmem_init(void)
{
    mallopt(M_MMAP_THRESHOLD, WMEM_MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, WMEM_TRIM_THRESHOLD);
}

/* DTLS record buffers released since the last trim add up to enough to trim for. */
static bool released_enough(const struct worker *w, unsigned live)
{
    uint64_t bytes = (dcgw_dtls_releases_total() - w->mem_released) * DCGW_DTLS_RECORD_BUFFERS;
    uint64_t want = (uint64_t)live * WMEM_RELEASED_PER_SESSION;
    return bytes >= (want > WMEM_RELEASED_MIN ? want : WMEM_RELEASED_MIN);
}

void dcgw__wmem_after_turn(struct worker *w)
{
    unsigned live = g_hash_table_size(w->sessions);
    if (!released_enough(w, live)) {
        if (live >= w->mem_high) {
            w->mem_high = live;
            return;
        }
        unsigned fell = w->mem_high - live;
        if (live > 0 && (fell < WMEM_TRIM_MIN_FALL || fell < live / WMEM_TRIM_FALL_DIV))
            return;
    }
    w->mem_released = dcgw_dtls_releases_total();
    uint64_t t0 = uv_hrtime();
    malloc_trim(0);
    uint64_t us = (uv_hrtime() - t0) / 1000;
    w->stats.malloc_trims++;
    w->stats.malloc_trim_us += us;
    DCGW_DEBUG(WORKER, "sessions %u -> %u: malloc_trim took %llu us", w->mem_high, live,
               (unsigned long long)us);
    w->mem_high = live;
}
