/*
 * shared_mem - what SHR counts.
 *
 * Maps N MiB MAP_SHARED (anonymous by default, or a file with --file PATH),
 * optionally mallocs and writes P MiB of private memory, writes the shared
 * region (unless --no-touch-parent), then forks K children that each write
 * the whole shared region and wait. The private pages are inherited
 * copy-on-write: they show in the children's RES, not in their SHR.
 *
 * Output protocol (stdout, one event per line, sizes in bytes):
 *   ready pid=<pid> mib=<N> children=<K> kind=anon|file private=<bytes> shared=<bytes>
 *   child index=<i> pid=<pid>          (one per child, once it has touched the region)
 *   holding shared=<bytes> private=<bytes>
 *   child_exit index=<i> pid=<pid> code=<n> | sig=<SIGNAME>   (a child died early)
 *   error msg=<word> [errno=<ENAME>]   (setup failed: exit code 1)
 *   exit reason=stop|eof|signal [sig=SIGTERM]
 * Only the parent prints, and only the parent reads stdin.
 * See c_programs/README.md.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#define PROG "shared_mem"
#include "common.h"

#define MAX_CHILDREN 16

static void usage(FILE *f, int full)
{
    fprintf(f, "usage: " PROG " --mib N [--children K] [--file PATH] [--private-mib P]"
               " [--no-touch-parent]\n");
    if (!full)
        return;
    fprintf(f,
            "  --mib N            size of the shared mapping in MiB, 1..1024 (required)\n"
            "  --children K       children that also write it, 0..16 (default 2)\n"
            "  --file PATH        map this file (created/truncated to N MiB) instead of\n"
            "                     anonymous shared memory; removed at exit if we created it\n"
            "  --private-mib P    private memory written before fork, 0..1024 (default 0)\n"
            "  --no-touch-parent  the parent does not write the shared region\n"
            "stdin: stop (or close stdin) to exit\n");
}

static void handle_line(char *line)
{
    char *save = NULL;
    char *cmd = strtok_r(line, " \t\r", &save);
    if (!cmd)
        return;
    if (strcmp(cmd, "stop") == 0 && !strtok_r(NULL, " \t\r", &save))
        g_quit = 1;
    else
        printf("error msg=unknown_command\n");
}

static pid_t g_child[MAX_CHILDREN];
static int g_nchild;
static const char *g_file;
static int g_created;

static void child_main(int index, pid_t parent, unsigned char *shared, size_t len, int wfd)
{
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    if (g_sig) /* a signal reached the parent's handler in this copy */
        _exit(0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(1);
    memset(shared, 0x5a, len);
    int32_t rec = index;
    if (write(wfd, &rec, sizeof rec) != (ssize_t)sizeof rec)
        _exit(1);
    close(wfd);
    for (;;)
        pause(); /* until SIGTERM or SIGKILL */
}

static int child_index(pid_t pid)
{
    for (int i = 0; i < g_nchild; i++)
        if (g_child[i] == pid)
            return i;
    return -1;
}

static void report_child_exit(pid_t pid, int status)
{
    int i = child_index(pid);
    if (i < 0)
        return;
    g_child[i] = 0;
    if (WIFSIGNALED(status))
        printf("child_exit index=%d pid=%d sig=SIG%s\n", i, (int)pid,
               sigabbrev_np(WTERMSIG(status)));
    else
        printf("child_exit index=%d pid=%d code=%d\n", i, (int)pid, WEXITSTATUS(status));
}

/* Children that died on their own (OOM killer, kill by hand...). */
static void reap_early(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        report_child_exit(pid, status);
}

/* SIGTERM every child still there and wait for each: no zombies. */
static void stop_children(void)
{
    for (int i = 0; i < g_nchild; i++)
        if (g_child[i] > 0)
            kill(g_child[i], SIGTERM);
    for (int i = 0; i < g_nchild; i++) {
        if (g_child[i] <= 0)
            continue;
        int status;
        while (waitpid(g_child[i], &status, 0) < 0 && errno == EINTR)
            ;
        g_child[i] = 0;
    }
}

static void cleanup(void)
{
    stop_children();
    if (g_created && g_file)
        unlink(g_file);
}

static int fail(const char *what, int err)
{
    if (err)
        printf("error msg=%s errno=%s\n", what, errname(err));
    else
        printf("error msg=%s\n", what);
    cleanup();
    fflush(stdout);
    return 1;
}

int main(int argc, char **argv)
{
    pid_t parent = getppid();
    uint64_t mib = 0, children = 2, private_mib = 0;
    int touch_parent = 1;

    for (int i = 1; i < argc; i++) {
        char name[32];
        const char *val = split_opt(argv[i], name, sizeof name);
        if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
            usage(stdout, 1);
            return 0;
        }
        if (strcmp(name, "--no-touch-parent") == 0) {
            if (val)
                bad_args("%s takes no value", name);
            touch_parent = 0;
            continue;
        }
        if (strcmp(name, "--mib") == 0) {
            val = opt_value(name, val, argc, argv, &i);
            mib = opt_u64(name, val, 1, 1024);
        } else if (strcmp(name, "--children") == 0) {
            val = opt_value(name, val, argc, argv, &i);
            children = opt_u64(name, val, 0, MAX_CHILDREN);
        } else if (strcmp(name, "--private-mib") == 0) {
            val = opt_value(name, val, argc, argv, &i);
            private_mib = opt_u64(name, val, 0, 1024);
        } else if (strcmp(name, "--file") == 0) {
            val = opt_value(name, val, argc, argv, &i);
            if (!*val)
                bad_args("--file: empty path");
            g_file = val;
        } else {
            bad_args("unknown option '%s'", argv[i]);
        }
    }
    if (mib == 0)
        bad_args("--mib is required");

    die_with_parent(parent);
    install_signals();
    setvbuf(stdout, NULL, _IOLBF, 0);
    size_t len = (size_t)(mib * MIB);
    size_t plen = (size_t)(private_mib * MIB);

    printf("ready pid=%d mib=%" PRIu64 " children=%" PRIu64 " kind=%s private=%" PRIu64
           " shared=%" PRIu64 "\n",
           (int)getpid(), mib, children, g_file ? "file" : "anon", (uint64_t)plen, (uint64_t)len);

    int fd = -1;
    if (g_file) {
        fd = open(g_file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0)
            g_created = 1;
        else if (errno == EEXIST)
            fd = open(g_file, O_RDWR | O_TRUNC | O_CLOEXEC);
        if (fd < 0)
            return fail("open", errno);
        if (ftruncate(fd, (off_t)len) != 0)
            return fail("ftruncate", errno);
    }
    unsigned char *shared = mmap(NULL, len, PROT_READ | PROT_WRITE,
                                 MAP_SHARED | (fd >= 0 ? 0 : MAP_ANONYMOUS), fd, 0);
    if (shared == MAP_FAILED)
        return fail("mmap", errno);
    if (fd >= 0)
        close(fd);

    if (plen > 0) {
        unsigned char *priv = malloc(plen);
        if (!priv)
            return fail("malloc", errno ? errno : ENOMEM);
        memset(priv, 0x5a, plen); /* stays reachable: never freed */
        __asm__ volatile("" : : "r"(priv) : "memory");
    }
    if (touch_parent)
        memset(shared, 0x5a, len);
    __asm__ volatile("" : : "r"(shared) : "memory");
    if (g_sig)
        return print_exit();

    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return fail("pipe", errno);
    fflush(stdout);
    pid_t me = getpid();
    for (int i = 0; i < (int)children; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            int e = errno;
            close(pfd[0]);
            close(pfd[1]);
            return fail("fork", e);
        }
        if (pid == 0) {
            close(pfd[0]);
            child_main(i, me, shared, len, pfd[1]);
        }
        g_child[g_nchild++] = pid;
    }
    close(pfd[1]);

    /* Each child writes its index once it has touched the region. */
    int reported = 0;
    while (reported < g_nchild && !g_sig && !g_quit) {
        if (!wait_events(-1, pfd[0]))
            continue;
        int32_t rec;
        ssize_t r = read(pfd[0], &rec, sizeof rec);
        if (r < 0 && errno == EINTR)
            continue;
        if (r != (ssize_t)sizeof rec || rec < 0 || rec >= g_nchild) {
            reap_early();
            close(pfd[0]);
            return fail("child_failed", 0);
        }
        printf("child index=%d pid=%d\n", (int)rec, (int)g_child[rec]);
        reported++;
    }
    close(pfd[0]);

    if (!g_sig && !g_quit) {
        printf("holding shared=%" PRIu64 " private=%" PRIu64 "\n", (uint64_t)len, (uint64_t)plen);
        while (!g_sig && !g_quit) {
            wait_events(-1, -1);
            reap_early();
        }
    }
    cleanup();
    return print_exit();
}
