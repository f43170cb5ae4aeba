/*
 * malloc_test - the book's malloc experiment, done right.
 *
 * Every interval it mallocs one step (default 1 MiB) and, if touching is on,
 * writes (memset) all of it or its first PERCENT% (rounded up to whole pages).
 * Blocks are never freed, so VIRT keeps growing; RES grows only with writes.
 *
 * Output protocol (stdout, one event per line, sizes in bytes):
 *   ready pid=<pid> step=<bytes> interval_ms=<n> touch=<none|all|pct> max=<bytes>
 *   go
 *   step n=<n> requested=<bytes> touched=<bytes> ok=1
 *   step n=<n> requested=<bytes> touched=<bytes> ok=0 errno=<ENAME>
 *   cap requested=<bytes> max=<bytes>
 *   done steps=<n> requested=<bytes> touched=<bytes>
 *   touch mode=<none|all|pct>
 *   paused / resumed
 *   error msg=<word>
 *   exit reason=stop|eof|signal [sig=SIGTERM]
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
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define PROG "malloc_test"
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

/* ---------- malloc_test ---------- */

static void usage(FILE *f, int full)
{
    fprintf(f, "usage: " PROG " [--step-mib N] [--interval-ms N] [--touch none|all|PERCENT]"
               " [--max-mib N] [--max-steps N] [--wait-go]\n");
    if (!full)
        return;
    fprintf(f,
            "  --step-mib N     MiB per malloc, 1..1024 (default 1)\n"
            "  --interval-ms N  time between steps, 1..600000 (default 1000)\n"
            "  --touch MODE     none, all or 0..100 percent of each step written (default none)\n"
            "  --max-mib N      cap on total requested MiB, 1..1048576 (default 1024)\n"
            "  --max-steps N    stop allocating after N steps, 1..2^63 (default unlimited)\n"
            "  --wait-go        wait for a 'go' line on stdin before the first step\n"
            "stdin: touch on|off|PERCENT, pause, resume, go, stop (one per line)\n");
}


static uint64_t g_step = MIB;
static uint64_t g_interval_ms = 1000;
static int g_touch_pct = 0; /* 0 = none, 100 = all */
static uint64_t g_max = 1024 * MIB;
static uint64_t g_max_steps = 0; /* 0 = unlimited */
static size_t g_page = 4096;

static int g_started = 1;
static int g_paused = 0;
static int g_capped = 0;
static int g_done = 0;
static int g_state_changed = 0; /* go / resume seen: re-plan the next step */
static int g_go_now = 0;

static uint64_t g_n;         /* step counter, 64-bit */
static uint64_t g_requested; /* bytes successfully malloc'd */
static uint64_t g_touched;   /* bytes written */
static void *g_head;         /* every block, linked through its first word */

static int parse_touch(const char *s, int *pct)
{
    uint64_t v;
    if (strcmp(s, "none") == 0 || strcmp(s, "off") == 0) {
        *pct = 0;
        return 0;
    }
    if (strcmp(s, "all") == 0 || strcmp(s, "on") == 0) {
        *pct = 100;
        return 0;
    }
    if (parse_u64(s, &v) != 0 || v > 100)
        return -1;
    *pct = (int)v;
    return 0;
}

static void print_touch_mode(const char *prefix)
{
    if (g_touch_pct == 0)
        printf("%snone", prefix);
    else if (g_touch_pct == 100)
        printf("%sall", prefix);
    else
        printf("%s%d", prefix, g_touch_pct);
}

static void handle_line(char *line)
{
    char *save = NULL;
    char *cmd = strtok_r(line, " \t\r", &save);
    if (!cmd)
        return; /* empty line */
    char *arg = strtok_r(NULL, " \t\r", &save);
    char *extra = strtok_r(NULL, " \t\r", &save);

    if (strcmp(cmd, "touch") == 0) {
        int pct;
        if (!arg || extra || parse_touch(arg, &pct) != 0) {
            printf("error msg=bad_touch_value\n");
            return;
        }
        g_touch_pct = pct;
        print_touch_mode("touch mode=");
        printf("\n");
        return;
    }
    if (arg) {
        printf("error msg=unknown_command\n");
        return;
    }
    if (strcmp(cmd, "stop") == 0) {
        g_quit = 1;
    } else if (strcmp(cmd, "pause") == 0) {
        g_paused = 1;
        printf("paused\n");
    } else if (strcmp(cmd, "resume") == 0) {
        if (g_paused)
            g_state_changed = 1;
        g_paused = 0;
        printf("resumed\n");
    } else if (strcmp(cmd, "go") == 0) {
        if (!g_started) {
            g_started = 1;
            g_go_now = 1;
        }
        printf("go\n");
    } else {
        printf("error msg=unknown_command\n");
    }
}

static void do_step(void)
{
    g_n++;
    errno = 0;
    char *p = malloc(g_step);
    if (!p) {
        int e = errno ? errno : ENOMEM;
        printf("step n=%" PRIu64 " requested=%" PRIu64 " touched=%" PRIu64 " ok=0 errno=%s\n",
               g_n, g_requested, g_touched, errname(e));
        return;
    }
    uint64_t t = 0;
    if (g_touch_pct > 0) {
        t = (g_step * (uint64_t)g_touch_pct + 99) / 100;
        t = (t + g_page - 1) / g_page * g_page;
        if (t > g_step)
            t = g_step;
        memset(p, 0x5a, t); /* non-zero: no malloc+memset(0) -> calloc folding */
    }
    /* Keep the block: link it through its first word (already resident: the
     * chunk header glibc wrote is on the same page). */
    memcpy(p, &g_head, sizeof g_head);
    g_head = p;
    g_requested += g_step;
    g_touched += t;
    printf("step n=%" PRIu64 " requested=%" PRIu64 " touched=%" PRIu64 " ok=1\n",
           g_n, g_requested, g_touched);
}

int main(int argc, char **argv)
{
    pid_t parent = getppid();
    int wait_go = 0;

    for (int i = 1; i < argc; i++) {
        char name[32];
        const char *val = split_opt(argv[i], name, sizeof name);
        if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
            usage(stdout, 1);
            return 0;
        }
        if (strcmp(name, "--wait-go") == 0) {
            if (val)
                bad_args("%s takes no value", name);
            wait_go = 1;
            continue;
        }
        int takes_value = strcmp(name, "--step-mib") == 0 || strcmp(name, "--interval-ms") == 0 ||
                          strcmp(name, "--touch") == 0 || strcmp(name, "--max-mib") == 0 ||
                          strcmp(name, "--max-steps") == 0;
        if (!takes_value)
            bad_args("unknown option '%s'", argv[i]);
        val = opt_value(name, val, argc, argv, &i);
        if (strcmp(name, "--step-mib") == 0)
            g_step = opt_u64(name, val, 1, 1024) * MIB;
        else if (strcmp(name, "--interval-ms") == 0)
            g_interval_ms = opt_u64(name, val, 1, 600000);
        else if (strcmp(name, "--max-mib") == 0)
            g_max = opt_u64(name, val, 1, 1048576) * MIB;
        else if (strcmp(name, "--max-steps") == 0)
            g_max_steps = opt_u64(name, val, 1, (uint64_t)INT64_MAX);
        else if (parse_touch(val, &g_touch_pct) != 0)
            bad_args("--touch: expected none, all or a percentage 0..100, got '%s'", val);
    }
    if (g_step > g_max)
        bad_args("--max-mib must be at least --step-mib");

    die_with_parent(parent);
    install_signals();
    setvbuf(stdout, NULL, _IOLBF, 0);
    long ps = sysconf(_SC_PAGESIZE);
    if (ps > 0)
        g_page = (size_t)ps;

    printf("ready pid=%d step=%" PRIu64 " interval_ms=%" PRIu64, (int)getpid(), g_step,
           g_interval_ms);
    print_touch_mode(" touch=");
    printf(" max=%" PRIu64 "\n", g_max);

    g_started = !wait_go;
    int64_t interval = (int64_t)g_interval_ms * 1000000LL;
    int64_t next = mono_ns(); /* first step at once */

    while (!g_sig && !g_quit) {
        if (g_go_now) {
            g_go_now = 0;
            next = mono_ns();
        }
        if (g_state_changed) { /* resumed: next step one interval from now */
            g_state_changed = 0;
            next = mono_ns() + interval;
        }
        int active = g_started && !g_paused && !g_capped && !g_done;
        if (active && mono_ns() >= next) {
            do_step();
            if (g_max_steps && g_n >= g_max_steps) {
                g_done = 1;
                printf("done steps=%" PRIu64 " requested=%" PRIu64 " touched=%" PRIu64 "\n", g_n,
                       g_requested, g_touched);
            }
            if (g_requested + g_step > g_max) {
                g_capped = 1;
                printf("cap requested=%" PRIu64 " max=%" PRIu64 "\n", g_requested, g_max);
            }
            next += interval;
            int64_t now = mono_ns();
            if (next < now) /* fell behind: no burst of catch-up steps */
                next = now;
            continue; /* re-check flags before waiting */
        }
        wait_events(active ? next : -1, -1);
    }
    return print_exit();
}
