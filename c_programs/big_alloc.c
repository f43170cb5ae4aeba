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
#include <sys/mman.h>

#define PROG "big_alloc"
#include "common.h"

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
