/* The init of tests/vm's initramfs (tests/vm/run_kernel.sh): linked statically, it is the
 * first process of a kernel booted under qemu. It mounts what the tests need, loads the
 * kernel modules the initramfs carries (/modules/NAME.ko, in the order of
 * /modules/order), prints the kernel's release, runs /run.sh with /bin/sh and reports its
 * exit status on the console as one line the host reads:
 *
 *   dcgw-vm: kernel 6.1.0-57-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (...)
 *   dcgw-vm: exit 0
 *
 * then powers the machine off. Any failure before /run.sh is reported as `exit 255` with
 * the reason. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("dcgw-vm: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    va_end(ap);
}

static void off(int status)
{
    say("exit %d", status);
    sync();
    reboot(RB_POWER_OFF);
    for (;;)
        pause();
}

/* /tmp is not mounted over: the initramfs root is already writable, and a build tree under
 * /tmp (a CI checkout there) has its programs copied to their own paths under it, which a
 * tmpfs mounted there would hide. */
static int mounts(void)
{
    static const struct {
        const char *what, *where, *type;
    } m[] = {{"proc", "/proc", "proc"},
             {"sysfs", "/sys", "sysfs"},
             {"devtmpfs", "/dev", "devtmpfs"},
             {"bpf", "/sys/fs/bpf", "bpf"}};
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        mkdir(m[i].where, 0755);
        if (mount(m[i].what, m[i].where, m[i].type, 0, NULL) < 0 && errno != EBUSY) {
            say("mount %s: %s", m[i].where, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* The console on stdin, stdout and stderr (the kernel gives init none without a
 * /dev/console in the initramfs). */
static void console(void)
{
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd < 0)
        return;
    for (int i = 0; i < 3; i++)
        dup2(fd, i);
    if (fd > 2)
        close(fd);
}

static int modules(void)
{
    FILE *order = fopen("/modules/order", "r");
    if (!order)
        return 0;
    char name[128];
    int r = 0;
    while (r == 0 && fscanf(order, "%127s", name) == 1) {
        char path[192];
        snprintf(path, sizeof(path), "/modules/%s.ko", name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) < 0) {
            if (errno != EEXIST) {
                say("module %s: %s", name, strerror(errno));
                r = -1;
            }
        }
        if (fd >= 0)
            close(fd);
    }
    fclose(order);
    return r;
}

int main(void)
{
    mkdir("/dev", 0755);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    console();
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (mounts() < 0 || modules() < 0)
        off(255);
    struct utsname u;
    if (uname(&u) == 0)
        say("kernel %s %s", u.release, u.version);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {"/bin/sh", "/run.sh", NULL};
        char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp", "TMPDIR=/tmp", NULL};
        execve(argv[0], argv, envp);
        say("exec /bin/sh: %s", strerror(errno));
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        off(255);
    off(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}
