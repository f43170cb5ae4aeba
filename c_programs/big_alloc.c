/*
 * big_alloc - one allocation, for the overcommit experiments.
 *
 * Reserves N bytes with malloc (default) or with an anonymous private mmap
 * (--mmap), reports whether the kernel agreed, optionally writes the first M
 * bytes page by page (--touch-bytes M, or --touch for all of it), then holds
 * the memory until told to stop. The reservation size itself is not capped
 * (asking for 1 TiB and getting ENOMEM under vm.overcommit_memory=0 is the
 * point); touching is capped by --max-touch-mib (default 1024).
 *
 * Output protocol (stdout, one event per line, sizes in bytes):
 *   ready pid=<pid> bytes=<N> method=malloc|mmap touch=<M> max_touch=<bytes>
 *   result ok=1 bytes=<N> method=malloc|mmap
 *   result ok=0 bytes=<N> method=malloc|mmap errno=<ENAME>
 *   touching bytes=<so far>           (every 64 MiB while touching)
 *   touched bytes=<M>
 *   holding
 *   error msg=<word>
 *   exit reason=stop|eof|signal [sig=SIGTERM]
 * A failed allocation is a result, not an error: the exit code is still 0.
 * See c_programs/README.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define PROG "big_alloc"
#define MIB ((uint64_t)1 << 20)

/* ---------- common part: kept identical in malloc_test.c, big_alloc.c and
 * shared_mem.c (each program is a single file on purpose) ---------- */

static void usage(FILE *f, int full);

static volatile sig_atomic_t g_sig;
static int g_quit; /* 0 = running, 1 = stop command, 2 = EOF on stdin */

static void on_signal(int sig)
{
    if (!g_sig)
        g_sig = sig;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: poll() returns EINTR at once */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Die with the parent; if it already died before prctl, leave now. */
static void die_with_parent(pid_t original_parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        _exit(1);
    if (getppid() != original_parent)
        _exit(1);
}

static const char *errname(int e)
{
    const char *s = strerrorname_np(e);
    return s ? s : "EUNKNOWN";
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__((format(printf, 1, 2), noreturn)) static void bad_args(const char *fmt, ...)
{
    va_list ap;
    usage(stderr, 0);
    fprintf(stderr, PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(2);
}

/* Digits only (rejects '-', '+', spaces, empty), no overflow. */
static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    for (const char *c = s; *c; c++)
        if (*c < '0' || *c > '9')
            return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return -2;
    if (*end)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static uint64_t opt_u64(const char *name, const char *val, uint64_t lo, uint64_t hi)
{
    uint64_t v = 0;
    int r = parse_u64(val, &v);
    if (r == -1)
        bad_args("%s: not a non-negative integer: '%s'", name, val);
    if (r == -2 || v < lo || v > hi)
        bad_args("%s: '%s' out of range (allowed %" PRIu64 "..%" PRIu64 ")", name, val, lo, hi);
    return v;
}

/* Split "--name=value" into name and value; "--name" gives value NULL. */
static const char *split_opt(const char *arg, char *name, size_t size)
{
    const char *eq = strchr(arg, '=');
    if (strncmp(arg, "--", 2) == 0 && eq && (size_t)(eq - arg) < size) {
        memcpy(name, arg, (size_t)(eq - arg));
        name[eq - arg] = '\0';
        return eq + 1;
    }
    snprintf(name, size, "%s", arg);
    return NULL;
}

/* Value of option `name` (from "--name=value" or the next argument). */
static const char *opt_value(const char *name, const char *val, int argc, char **argv, int *i)
{
    if (val)
        return val;
    if (*i + 1 >= argc)
        bad_args("%s needs a value", name);
    return argv[++*i];
}

/* stdin line reader: complete lines go to handle_line(). */
static void handle_line(char *line);
static char g_inbuf[256];
static size_t g_inlen;
static int g_discard;
static int g_stdin_open = 1;

static void flush_line(void)
{
    g_inbuf[g_inlen] = '\0';
    if (g_discard)
        printf("error msg=line_too_long\n");
    else
        handle_line(g_inbuf);
    g_inlen = 0;
    g_discard = 0;
}

static void read_stdin(void)
{
    char tmp[256];
    ssize_t r = read(0, tmp, sizeof tmp);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (r <= 0) {
        if (g_inlen > 0 || g_discard)
            flush_line(); /* last line without newline */
        g_stdin_open = 0;
        if (!g_quit)
            g_quit = 2;
        return;
    }
    for (ssize_t i = 0; i < r; i++) {
        if (tmp[i] == '\n')
            flush_line();
        else if (g_inlen < sizeof g_inbuf - 1)
            g_inbuf[g_inlen++] = tmp[i];
        else
            g_discard = 1;
    }
}

/* Wait for stdin input, a signal, the deadline (ns, CLOCK_MONOTONIC; -1 =
 * none) or, if extra_fd >= 0, for extra_fd to become readable (returns 1 then).
 * Returns after any stdin input so the caller re-checks its state. */
static int wait_events(int64_t deadline, int extra_fd)
{
    for (;;) {
        if (g_sig || g_quit)
            return 0;
        int64_t now = mono_ns();
        if (deadline >= 0 && now >= deadline)
            return 0;
        int64_t left = 50000000LL; /* notice flags within 50 ms at worst */
        if (deadline >= 0 && deadline - now < left)
            left = deadline - now;
        struct timespec ts = {left / 1000000000LL, left % 1000000000LL};
        struct pollfd pfd[2] = {{g_stdin_open ? 0 : -1, POLLIN, 0}, {extra_fd, POLLIN, 0}};
        int n = ppoll(pfd, 2, &ts, NULL);
        if (n <= 0)
            continue;
        if (pfd[0].revents & POLLNVAL) {
            g_stdin_open = 0;
            if (!g_quit)
                g_quit = 2;
        } else if (pfd[0].revents) {
            read_stdin();
        }
        if (extra_fd >= 0 && pfd[1].revents)
            return 1;
        return 0;
    }
}

static int print_exit(void)
{
    if (g_sig)
        printf("exit reason=signal sig=SIG%s\n", sigabbrev_np(g_sig));
    else if (g_quit == 1)
        printf("exit reason=stop\n");
    else
        printf("exit reason=eof\n");
    fflush(stdout);
    return 0;
}

/* ---------- big_alloc ---------- */

#define REPORT_EVERY (64 * MIB)

static void usage(FILE *f, int full)
{
    fprintf(f, "usage: " PROG " --bytes N[K|M|G|T] [--mmap] [--touch-bytes M[K|M|G|T] | --touch]"
               " [--max-touch-mib N]\n");
    if (!full)
        return;
    fprintf(f,
            "  --bytes N          bytes to reserve, 1..2^63; suffixes K, M, G, T: KiB..TiB\n"
            "  --mmap             use mmap(MAP_PRIVATE|MAP_ANONYMOUS) instead of malloc\n"
            "  --touch-bytes M    write the first M bytes (one byte per page), M <= N\n"
            "  --touch            write all N bytes\n"
            "  --max-touch-mib N  refuse to touch more than N MiB, 1..1048576 (default 1024)\n"
            "stdin: stop (or close stdin) to exit\n");
}

/* A size: digits with an optional K/M/G/T suffix (powers of 1024). */
static uint64_t opt_size(const char *name, const char *val, uint64_t lo, uint64_t hi)
{
    char digits[32];
    size_t len = strlen(val);
    unsigned shift = 0;
    if (len > 0) {
        switch (val[len - 1]) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        case 't': case 'T': shift = 40; break;
        default: break;
        }
    }
    if (shift)
        len--;
    if (len >= sizeof digits)
        bad_args("%s: '%s' out of range (allowed %" PRIu64 "..%" PRIu64 " bytes)", name, val, lo,
                 hi);
    memcpy(digits, val, len);
    digits[len] = '\0';
    uint64_t v = 0;
    int r = parse_u64(digits, &v);
    if (r == -1)
        bad_args("%s: not a size (digits with optional K, M, G or T): '%s'", name, val);
    if (r == -2 || v > (UINT64_MAX >> shift) || (v << shift) < lo || (v << shift) > hi)
        bad_args("%s: '%s' out of range (allowed %" PRIu64 "..%" PRIu64 " bytes)", name, val, lo,
                 hi);
    return v << shift;
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

static void *g_mem; /* kept reachable until exit */

int main(int argc, char **argv)
{
    pid_t parent = getppid();
    uint64_t bytes = 0, touch = 0, max_touch_mib = 1024;
    int use_mmap = 0, touch_all = 0, touch_set = 0;

    for (int i = 1; i < argc; i++) {
        char name[32];
        const char *val = split_opt(argv[i], name, sizeof name);
        if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
            usage(stdout, 1);
            return 0;
        }
        if (strcmp(name, "--mmap") == 0 || strcmp(name, "--touch") == 0) {
            if (val)
                bad_args("%s takes no value", name);
            if (strcmp(name, "--mmap") == 0)
                use_mmap = 1;
            else
                touch_all = 1;
            continue;
        }
        if (strcmp(name, "--bytes") == 0) {
            val = opt_value(name, val, argc, argv, &i);
            bytes = opt_size(name, val, 1, 1ULL << 63);
        } else if (strcmp(name, "--touch-bytes") == 0) {
            val = opt_value(name, val, argc, argv, &i);
            touch = opt_size(name, val, 0, 1ULL << 63);
            touch_set = 1;
        } else if (strcmp(name, "--max-touch-mib") == 0) {
            val = opt_value(name, val, argc, argv, &i);
            max_touch_mib = opt_u64(name, val, 1, 1048576);
        } else {
            bad_args("unknown option '%s'", argv[i]);
        }
    }
    if (bytes == 0)
        bad_args("--bytes is required");
    if (touch_all && touch_set)
        bad_args("use either --touch or --touch-bytes, not both");
    if (touch_all)
        touch = bytes;
    if (touch > bytes)
        bad_args("--touch-bytes (%" PRIu64 ") is larger than --bytes (%" PRIu64 ")", touch, bytes);
    if (touch > max_touch_mib * MIB)
        bad_args("refusing to touch %" PRIu64 " bytes: more than --max-touch-mib %" PRIu64
                 " MiB (raise it if you mean it)",
                 touch, max_touch_mib);

    die_with_parent(parent);
    install_signals();
    setvbuf(stdout, NULL, _IOLBF, 0);
    long ps = sysconf(_SC_PAGESIZE);
    uint64_t page = ps > 0 ? (uint64_t)ps : 4096;
    const char *method = use_mmap ? "mmap" : "malloc";

    printf("ready pid=%d bytes=%" PRIu64 " method=%s touch=%" PRIu64 " max_touch=%" PRIu64 "\n",
           (int)getpid(), bytes, method, touch, max_touch_mib * MIB);

    int err = 0;
    if (use_mmap) {
        void *p = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        if (p == MAP_FAILED)
            err = errno;
        else
            g_mem = p;
    } else {
        errno = 0;
        g_mem = malloc((size_t)bytes);
        if (!g_mem)
            err = errno ? errno : ENOMEM;
    }
    if (!g_mem) {
        printf("result ok=0 bytes=%" PRIu64 " method=%s errno=%s\n", bytes, method, errname(err));
    } else {
        printf("result ok=1 bytes=%" PRIu64 " method=%s\n", bytes, method);
        if (touch > 0) {
            volatile unsigned char *vp = g_mem;
            for (uint64_t start = 0; start < touch && !g_sig; start += REPORT_EVERY) {
                uint64_t end = touch - start > REPORT_EVERY ? start + REPORT_EVERY : touch;
                for (uint64_t off = start; off < end; off += page)
                    vp[off] = 1;
                if (end < touch)
                    printf("touching bytes=%" PRIu64 "\n", end);
            }
            if (!g_sig)
                printf("touched bytes=%" PRIu64 "\n", touch);
        }
    }
    if (!g_sig)
        printf("holding\n");
    while (!g_sig && !g_quit)
        wait_events(-1, -1);
    return print_exit();
}
