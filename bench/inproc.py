"""The benchmarks that run inside one warm Python process, next to procps top run as a child.

Run by bench/run.py in a fresh process each (``python -m bench.inproc WHAT ...``), so the
bench's own imports and threads do not count; each prints one JSON object.

- ``snapshot``: CPU per top refresh, ours in steady state against top's, at several sizes.
- ``sampler``: CPU of the Sampler thread at a rate, against ``top -b -d 1/rate -p PID``.
- ``memory``: RSS growth over many Sampler.sample_once calls with the ring buffer full.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import threading
import time

from bench.common import median, process_count, spread, top_cmd, top_env, top_refresh_cpu
from bench.sleepers import Sleepers


def _cpu() -> float:
    return time.process_time()  # user + system of this process; the only thread is the caller's


# --- 1. one top refresh -------------------------------------------------------------------------

def ours_chained(k: int, delay: float) -> dict:
    """The steady-state refresh, ``top.Refresher.refresh()``: one read pass that reuses the
    previous pass's ticks, as top does (what the TopTable widget and ``python -m
    kernel_helpers.top -n N`` use)."""
    from kernel_helpers import top

    with top.Refresher(first_interval=delay) as refresher:
        for _ in range(3):  # warm: files opened, user names cached
            time.sleep(delay)
            snap = refresher.refresh()
        passes, renders = [], []
        for _ in range(k - 1):
            time.sleep(delay)
            c0 = _cpu()
            snap = refresher.refresh()
            c1 = _cpu()
            snap.to_text(width=80)  # what top -b prints for every refresh: the whole table
            c2 = _cpu()
            passes.append(c1 - c0)
            renders.append(c2 - c1)
        rows = len(snap.table)
    return {"pass": sum(passes) / len(passes), "render": sum(renders) / len(renders), "rows": rows}


def ours_public(k: int, delay: float) -> float:
    """``top.snapshot(delay)``, a one-off snapshot: two read passes per call."""
    from kernel_helpers import top

    for _ in range(3):
        top.snapshot(delay)
    cpu = []
    for _ in range(k - 1):
        c0 = _cpu()
        top.snapshot(delay)  # its sleep costs no CPU
        cpu.append(_cpu() - c0)
    return sum(cpu) / len(cpu)


def snapshot_bench(sizes: list[int], k: int, delay: float, repeats: int) -> dict:
    out = []
    for extra in sizes:
        with Sleepers(extra):
            procs = process_count()
            chained, render, public, theirs = [], [], [], []
            for _ in range(repeats):  # interleaved, so both sides see the same machine
                c = ours_chained(k, delay)
                chained.append(c["pass"])
                render.append(c["render"])
                public.append(ours_public(k, delay))
                theirs.append(median(top_refresh_cpu(k, delay, 1)["per_refresh"]["all"]))
            startup = top_refresh_cpu(2, delay, 3)["startup_cpu"]
        out.append({"extra": extra, "processes": procs, "rows": c["rows"], "ours_pass": spread(chained),
                    "ours_render": spread(render), "ours_public": spread(public), "top": spread(theirs),
                    "top_startup": startup})
    return {"sizes": out, "k": k, "delay": delay, "repeats": repeats}


# --- 2. the sampler --------------------------------------------------------------------------

def _idle_target():
    from kernel_helpers import programs

    # the tutorial's own program, waiting for 'go': alive, idle, its numbers steady
    return programs.malloc_test(step_mib=1, interval_ms=1000, max_mib=8, wait_go=True).start()


def sampler_bench(rates: list[float], seconds: float, repeats: int) -> dict:
    from kernel_helpers.sampler import Sampler

    prog = _idle_target()
    env = top_env()
    out = []
    try:
        for hz in rates:
            delay = 1.0 / hz
            n = max(2, round(seconds * hz))
            ours, ours_proc, theirs_total, theirs = [], [], [], []
            startup = [top_refresh_cpu(2, delay, 1, [prog.pid])["startup_cpu"]["all"][0] for _ in range(3)]
            for _ in range(repeats):
                # top and the sampler run at the same time, for the same time, each on its own CPU clock
                t_top = time.monotonic()
                top = subprocess.Popen(top_cmd(n, delay, [prog.pid]), stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
                s = Sampler(prog, hz=hz)
                p0 = _cpu()
                s.start()
                clock = time.pthread_getcpuclockid(s._thread.ident)  # type: ignore[union-attr]
                t0 = time.monotonic()
                c0 = time.clock_gettime(clock)
                time.sleep(seconds)
                c1 = time.clock_gettime(clock)
                t1 = time.monotonic()
                s.stop()
                p1 = _cpu()
                _, status, ru = os.wait4(top.pid, 0)
                top.returncode = os.waitstatus_to_exitcode(status)
                top_wall = time.monotonic() - t_top
                top_cpu = ru.ru_utime + ru.ru_stime
                ours.append((c1 - c0) / (t1 - t0))
                ours_proc.append((p1 - p0) / (t1 - t0))
                theirs_total.append(top_cpu / top_wall)
                theirs.append((top_cpu - median(startup)) / (n * delay))
            out.append({"hz": hz, "seconds": seconds, "ticks_expected": round(seconds * hz),
                        "ours_thread_share": spread(ours), "ours_process_share": spread(ours_proc),
                        "top_share_steady": spread(theirs), "top_share_total": spread(theirs_total),
                        "top_startup_cpu": spread(startup)})
    finally:
        prog.stop()
        shutil.rmtree(env["HOME"], ignore_errors=True)
    return {"rates": out, "target_pid": "malloc_test (idle, waiting for go)"}


# --- 3. memory ---------------------------------------------------------------------------------

def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def memory_bench(samples: int) -> dict:
    from kernel_helpers.sampler import DEFAULT_MAXLEN, Sampler

    prog = _idle_target()
    try:
        s = Sampler(prog)  # the defaults: maxlen, system figures on
        for _ in range(2 * DEFAULT_MAXLEN + 1000):  # buffer full, every cache warm
            s.sample_once()
        gc.collect()
        rss0 = _rss()
        t0, c0 = time.monotonic(), _cpu()
        checkpoints = []
        for i in range(1, samples + 1):
            s.sample_once()
            if i % (samples // 10) == 0:
                checkpoints.append(_rss() - rss0)
        c1, t1 = _cpu(), time.monotonic()
        gc.collect()
        rss1 = _rss()
        assert len(s.buffer) == DEFAULT_MAXLEN
    finally:
        prog.stop()
    return {"samples": samples, "maxlen": DEFAULT_MAXLEN, "rss_before": rss0, "rss_after": rss1,
            "growth": rss1 - rss0, "growth_checkpoints": checkpoints,
            "cpu_per_sample": (c1 - c0) / samples, "wall_per_sample": (t1 - t0) / samples}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.inproc")
    sub = p.add_subparsers(dest="what", required=True)
    a = sub.add_parser("snapshot")
    a.add_argument("--sizes", default="0,500,1000")
    a.add_argument("--k", type=int, default=31)
    a.add_argument("--delay", type=float, default=0.1)
    a.add_argument("--repeats", type=int, default=5)
    b = sub.add_parser("sampler")
    b.add_argument("--rates", default="5,20")
    b.add_argument("--seconds", type=float, default=30)
    b.add_argument("--repeats", type=int, default=3)
    c = sub.add_parser("memory")
    c.add_argument("--samples", type=int, default=100_000)
    args = p.parse_args(argv)
    if args.what == "snapshot":
        res = snapshot_bench([int(x) for x in args.sizes.split(",")], args.k, args.delay, args.repeats)
    elif args.what == "sampler":
        res = sampler_bench([float(x) for x in args.rates.split(",")], args.seconds, args.repeats)
    else:
        res = memory_bench(args.samples)
    res["threads_at_end"] = [t.name for t in threading.enumerate()]
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
