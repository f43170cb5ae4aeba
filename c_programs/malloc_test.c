/*
 * malloc_test - the book's malloc experiment, done right.
 *
 * Every interval it mallocs one step (default 1 MiB) and, if touching is on,
 * writes (memset) all of it or its first PERCENT% (rounded up to whole pages).
 * Blocks are never freed, so VIRT keeps growing; RES grows only with writes.
 *
 * Output protocol (stdout, one event per line, sizes in bytes):
 *   ready pid=<pid> step=<bytes> interval_ms=<n> touch=<none|all|pct> max=<bytes> thp=<off|system>
 *   go
 *   step n=<n> requested=<bytes> touched=<bytes> ok=1 ns=<ns> minflt=<n>
 *   step n=<n> requested=<bytes> touched=<bytes> ok=0 errno=<ENAME> ns=0 minflt=<n>
 *   cap requested=<bytes> max=<bytes>
 *   done steps=<n> requested=<bytes> touched=<bytes>
 *   touch mode=<none|all|pct>
 *   rewrite bytes=<bytes> ns=<ns> minflt=<n>
 *   paused / resumed
 *   error msg=<word>
 *   exit reason=stop|eof|signal [sig=SIGTERM]
 * See c_programs/README.md.
 */
#define PROG "malloc_test"
#include "common.h"

#include <sys/prctl.h>
#include <sys/resource.h>

/* The options' bounds and the cap's default: kernel_helpers/programs.py holds the same numbers
 * (STEP_MIB_MAX ...), and tests/test_programs.py compares them with this program's --help. */
#define STEP_MIB_MAX 1024
#define INTERVAL_MS_MIN 1
#define INTERVAL_MS_MAX 600000
#define MAX_MIB_MAX 1048576
#define MAX_MIB_DEFAULT 256 /* as in Python: at most 256 MiB of RAM even with --touch all */
#define STR(x) #x
#define XSTR(x) STR(x)

static void usage(FILE *f, int full)
{
    fprintf(f, "usage: " PROG " [--step-mib N] [--interval-ms N] [--touch none|all|PERCENT]"
               " [--max-mib N] [--max-steps N] [--wait-go] [--thp]\n");
    if (!full)
        return;
    fprintf(f,
            "  --step-mib N     MiB per malloc, 1.." XSTR(STEP_MIB_MAX) " (default 1)\n"
            "  --interval-ms N  time between steps, " XSTR(INTERVAL_MS_MIN) ".." XSTR(INTERVAL_MS_MAX)
            " (default 1000)\n"
            "  --touch MODE     none, all or 0..100 percent of each step written (default none)\n"
            "  --max-mib N      cap on total requested MiB, 1.." XSTR(MAX_MIB_MAX)
            " (default " XSTR(MAX_MIB_DEFAULT) ")\n"
            "  --max-steps N    stop allocating after N steps, 1..2^63 (default unlimited)\n"
            "  --wait-go        wait for a 'go' line on stdin before the first step\n"
            "  --thp            allow transparent huge pages (default: off for this process, so\n"
            "                   every fault is one 4 KiB page even where THP is 'always')\n"
            "stdin: touch on|off|PERCENT, rewrite, pause, resume, go, stop (one per line)\n");
}


static uint64_t g_step = MIB;
static uint64_t g_interval_ms = 1000;
static int g_touch_pct = 0; /* 0 = none, 100 = all */
static uint64_t g_max = MAX_MIB_DEFAULT * MIB;
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
static void *g_head;         /* every block; its first two words: next block, bytes touched */
static unsigned char g_fill = 0x5a; /* rewrite changes it, so every pass really writes */

/* Minor faults of this process so far (getrusage: a cheap system call). */
static uint64_t minflt_now(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)ru.ru_minflt;
}

/* Write again every byte that the steps have touched (their RES is already there):
 * the cost of writing resident memory, next to a step's first touch. */
static void rewrite_all(void)
{
    uint64_t bytes = 0;
    uint64_t f0 = minflt_now();
    int64_t t0 = mono_ns();
    g_fill ^= 0xff;
    for (unsigned char *p = g_head; p;) {
        void *next;
        uint64_t t;
        memcpy(&next, p, sizeof next);
        memcpy(&t, p + sizeof next, sizeof t);
        if (t > 0) {
            memset(p, g_fill, t);
            memcpy(p, &next, sizeof next); /* put the links back */
            memcpy(p + sizeof next, &t, sizeof t);
            bytes += t;
        }
        p = next;
    }
    int64_t ns = mono_ns() - t0;
    printf("rewrite bytes=%" PRIu64 " ns=%" PRId64 " minflt=%" PRIu64 "\n", bytes, ns,
           minflt_now() - f0);
}

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
    } else if (strcmp(cmd, "rewrite") == 0) {
        rewrite_all();
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
    uint64_t f0 = minflt_now();
    errno = 0;
    char *p = malloc(g_step);
    if (!p) {
        int e = errno ? errno : ENOMEM;
        printf("step n=%" PRIu64 " requested=%" PRIu64 " touched=%" PRIu64
               " ok=0 errno=%s ns=0 minflt=%" PRIu64 "\n",
               g_n, g_requested, g_touched, errname(e), minflt_now() - f0);
        return;
    }
    uint64_t t = 0;
    int64_t ns = 0;
    if (g_touch_pct > 0) {
        t = (g_step * (uint64_t)g_touch_pct + 99) / 100;
        t = (t + g_page - 1) / g_page * g_page;
        if (t > g_step)
            t = g_step;
        int64_t t0 = mono_ns();
        memset(p, g_fill, t); /* non-zero: no malloc+memset(0) -> calloc folding */
        ns = mono_ns() - t0;
    }
    /* Keep the block: its first two words link it and say how much of it was
     * written (already resident: the chunk header glibc wrote is on the same page). */
    memcpy(p, &g_head, sizeof g_head);
    memcpy(p + sizeof g_head, &t, sizeof t);
    g_head = p;
    g_requested += g_step;
    g_touched += t;
    printf("step n=%" PRIu64 " requested=%" PRIu64 " touched=%" PRIu64 " ok=1 ns=%" PRId64
           " minflt=%" PRIu64 "\n",
           g_n, g_requested, g_touched, ns, minflt_now() - f0);
}

int main(int argc, char **argv)
{
    pid_t parent = getppid();
    int wait_go = 0;
    int allow_thp = 0;

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
        if (strcmp(name, "--thp") == 0) {
            if (val)
                bad_args("%s takes no value", name);
            allow_thp = 1;
            continue;
        }
        int takes_value = strcmp(name, "--step-mib") == 0 || strcmp(name, "--interval-ms") == 0 ||
                          strcmp(name, "--touch") == 0 || strcmp(name, "--max-mib") == 0 ||
                          strcmp(name, "--max-steps") == 0;
        if (!takes_value)
            bad_args("unknown option '%s'", argv[i]);
        val = opt_value(name, val, argc, argv, &i);
        if (strcmp(name, "--step-mib") == 0)
            g_step = opt_u64(name, val, 1, STEP_MIB_MAX) * MIB;
        else if (strcmp(name, "--interval-ms") == 0)
            g_interval_ms = opt_u64(name, val, INTERVAL_MS_MIN, INTERVAL_MS_MAX);
        else if (strcmp(name, "--max-mib") == 0)
            g_max = opt_u64(name, val, 1, MAX_MIB_MAX) * MIB;
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
    /* Where THP is 'always' (Debian), a write can fault in 2 MiB at once and khugepaged later
     * collapses 2 MiB stretches holding a single written page: off, unless asked for (Linux 3.15+). */
    int thp_off = !allow_thp && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0;
    long ps = sysconf(_SC_PAGESIZE);
    if (ps > 0)
        g_page = (size_t)ps;

    printf("ready pid=%d step=%" PRIu64 " interval_ms=%" PRIu64, (int)getpid(), g_step,
           g_interval_ms);
    print_touch_mode(" touch=");
    printf(" max=%" PRIu64 " thp=%s\n", g_max, thp_off ? "off" : "system");

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
