/* usrsctp on one thread (third_party/usrsctp/README.md, patch 0003). Built with the patched
 * library (DCGW_USRSCTP_NO_LOCKS), usrsctp takes no mutex while associations carry
 * messages, starts no iterator thread, and stops the process where it would wait on a
 * condition variable (a blocking call) instead of hanging. Built with the system library,
 * the first two tests assert the opposite (mutexes taken, an iterator thread): each
 * assertion can fail. With either library, the SCTP stage stops the process when a thread
 * other than the one that started the stack enters it. The mutex calls are counted by
 * defining pthread_mutex_lock and pthread_mutex_trylock in this program: the static
 * patched library and the shared system one both call these. Check's own mutex (taken by
 * every assertion) is left out. */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <usrsctp.h>

#include "dcgw/base/error.h"
#include "dcgw/stages/sctp.h"
#include "helper_sctp_assoc.h"
#include "helper_sctp_pair.h"
#include "helper_suite.h"

typedef int (*mutex_fn)(pthread_mutex_t *);

static atomic_ulong mutex_calls;
static pthread_mutex_t *_Atomic last_mutex, *_Atomic check_mutex;

static mutex_fn next_fn(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    mutex_fn f;
    memcpy(&f, &p, sizeof(f));
    return f;
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
    static mutex_fn real;
    if (!real)
        real = next_fn("pthread_mutex_lock");
    atomic_store(&last_mutex, m);
    if (m != atomic_load(&check_mutex))
        atomic_fetch_add(&mutex_calls, 1);
    return real(m);
}

int pthread_mutex_trylock(pthread_mutex_t *m)
{
    static mutex_fn real;
    if (!real)
        real = next_fn("pthread_mutex_trylock");
    atomic_store(&last_mutex, m);
    if (m != atomic_load(&check_mutex))
        atomic_fetch_add(&mutex_calls, 1);
    return real(m);
}

enum { NMSG = 200 };

START_TEST(no_mutex_per_message)
{
    struct stp_pair pr;
    stp_pair_new(&pr, NULL, NULL);
    stp_pair_connect(&pr);
    atomic_store(&last_mutex, NULL);
    ck_assert_int_eq(NMSG, 200); /* the mutex an assertion takes: Check's */
    atomic_store(&check_mutex, atomic_load(&last_mutex));
    atomic_store(&mutex_calls, 0);
    for (uint32_t i = 0; i < NMSG; i++) {
        uint8_t *m = stp_make_msg(i, 100 + i);
        stp_send_waiting(&pr, i % 2 ? pr.b.s : pr.a.s, (uint16_t)(i % 2), NULL, m, 100 + i);
        free(m);
    }
    stp_want_a = NMSG / 2;
    stp_want_b = NMSG / 2;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 2000), 0);
    unsigned long calls = atomic_load(&mutex_calls);
    for (uint32_t i = 0; i < NMSG / 2; i++) {
        stp_check_msg(&pr.b.msgs[i], 2 * i, 100 + 2 * i);
        stp_check_msg(&pr.a.msgs[i], 2 * i + 1, 101 + 2 * i);
    }
#ifdef DCGW_USRSCTP_NO_LOCKS
    ck_assert_uint_eq(calls, 0);
#else
    ck_assert_uint_ge(calls, NMSG);      /* the counting works: the unpatched library locks */
#endif
    stp_pair_free(&pr);
}
END_TEST

static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

START_TEST(no_iterator_thread)
{
    ck_assert_int_eq(thread_count(), 1); /* Check's fork mode: a fresh process */
    ck_assert_int_eq(dcgw_sctp_stack_init(NULL), 0);
#ifdef DCGW_USRSCTP_NO_LOCKS
    ck_assert_int_eq(thread_count(), 1);
#else
    ck_assert_int_eq(thread_count(), 2); /* usrsctp's iterator thread */
#endif
}
END_TEST

/* Runs fn in a child process (alarm: 10 s) and returns its wait status. */
static int in_child(void (*fn)(void))
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        alarm(10);
        fn();
        _exit(0);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return st;
}

static void *enter_from_thread(void *arg)
{
    (void)arg;
    struct dcgw_sctp_settings s;
    stp_settings(&s, 5100, 5101);
    struct dcgw_sctp_callbacks cbs = {.send_packet = stp_cb_send_packet};
    struct dcgw_sctp *a = NULL;
    dcgw_sctp_new(&s, &cbs, &a); /* stops the process */
    return NULL;
}

static void second_thread(void)
{
    if (dcgw_sctp_stack_init(NULL) != 0)
        _exit(3);
    pthread_t t;
    if (pthread_create(&t, NULL, enter_from_thread, NULL) != 0)
        _exit(4);
    pthread_join(t, NULL);
}

START_TEST(another_thread_stops_the_process)
{
    int st = in_child(second_thread);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "wait status %d", st);
}
END_TEST

#ifdef DCGW_USRSCTP_NO_LOCKS
static char anchor;

static void blocking_connect(void)
{
    if (dcgw_sctp_stack_init(NULL) != 0)
        _exit(3);
    usrsctp_register_address(&anchor);
    struct socket *so = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
    if (!so)
        _exit(4);
    struct sockaddr_conn a;
    memset(&a, 0, sizeof(a));
    a.sconn_family = AF_CONN;
    a.sconn_port = htons(5200);
    a.sconn_addr = &anchor;
    if (usrsctp_bind(so, (struct sockaddr *)&a, sizeof(a)) < 0)
        _exit(5);
    a.sconn_port = htons(5201);
    usrsctp_connect(so, (struct sockaddr *)&a, sizeof(a)); /* waits for the handshake */
    _exit(6);
}

START_TEST(a_blocking_call_stops_the_process)
{
    int st = in_child(blocking_connect);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "wait status %d", st);
}
END_TEST
#endif

int main(void)
{
    const TTest *tests[] = {no_mutex_per_message, no_iterator_thread,
                            another_thread_stops_the_process,
#ifdef DCGW_USRSCTP_NO_LOCKS
                            a_blocking_call_stops_the_process,
#endif
                            NULL};
    Suite *s = suite_create("sctp_onethread");
    tsuite_add(s, "onethread", 60, NULL, NULL, tests);
    return tsuite_run(s);
}
