/*
 * common.h - the part malloc_test.c, big_alloc.c and shared_mem.c share:
 * signals, dying with the parent (PR_SET_PDEATHSIG), argument parsing helpers,
 * the stdin line reader, the poll loop and the exit event.
 *
 * Not a library: every function here is static, so each program still builds
 * as one translation unit (gcc ... -o bin/X X.c). Define PROG before including
 * it, and define in the program:
 *   static void usage(FILE *f, int full);   (bad arguments print it on stderr)
 *   static void handle_line(char *line);    (one complete stdin line)
 * Functions a program does not call are marked unused, so -Wextra -Werror
 * stays quiet. See c_programs/README.md.
 */
#ifndef C_PROGRAMS_COMMON_H
#define C_PROGRAMS_COMMON_H

#ifndef PROG
#error "define PROG (the program name) before including common.h"
#endif

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

#define MIB ((uint64_t)1 << 20)

static void usage(FILE *f, int full);

static volatile sig_atomic_t g_sig;
static int g_quit; /* 0 = running, 1 = stop command, 2 = EOF on stdin */

static __attribute__((unused)) void on_signal(int sig)
{
    if (!g_sig)
        g_sig = sig;
}

static __attribute__((unused)) void install_signals(void)
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
static __attribute__((unused)) void die_with_parent(pid_t original_parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        _exit(1);
    if (getppid() != original_parent)
        _exit(1);
}

static __attribute__((unused)) const char *errname(int e)
{
    const char *s = strerrorname_np(e);
    return s ? s : "EUNKNOWN";
}

static __attribute__((unused)) int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__((format(printf, 1, 2), noreturn, unused)) static void bad_args(const char *fmt, ...)
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
static __attribute__((unused)) int parse_u64(const char *s, uint64_t *out)
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

static __attribute__((unused)) uint64_t opt_u64(const char *name, const char *val, uint64_t lo,
                                                 uint64_t hi)
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
static __attribute__((unused)) const char *split_opt(const char *arg, char *name, size_t size)
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
static __attribute__((unused)) const char *opt_value(const char *name, const char *val, int argc,
                                                     char **argv, int *i)
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

static __attribute__((unused)) void flush_line(void)
{
    g_inbuf[g_inlen] = '\0';
    if (g_discard)
        printf("error msg=line_too_long\n");
    else
        handle_line(g_inbuf);
    g_inlen = 0;
    g_discard = 0;
}

static __attribute__((unused)) void read_stdin(void)
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
static __attribute__((unused)) int wait_events(int64_t deadline, int extra_fd)
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

static __attribute__((unused)) int print_exit(void)
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

#endif /* C_PROGRAMS_COMMON_H */
