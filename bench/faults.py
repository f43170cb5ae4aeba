"""What a first-touch page fault costs: malloc_test's step timings against its ``rewrite``.

A step with ``--touch all`` writes memory that has never been touched: every page is a minor
fault (the kernel finds a free page, zeroes it, maps it), then the write. ``rewrite`` writes
the same bytes again, now resident: no fault, only the write. Both are timed inside the C
program (CLOCK_MONOTONIC around memset), and faults are counted with getrusage.
"""

from __future__ import annotations

from bench.common import median, spread
from kernel_helpers import programs

PAGE = 4096


def run_once(mib: int, rewrites: int = 5) -> dict:
    prog = programs.malloc_test(step_mib=1, interval_ms=10, touch="all", max_mib=mib, wait_go=True)
    prog.start(timeout=20)
    try:
        prog.send("go")
        prog.wait_for("cap", timeout=60 + mib)
        steps = [e for e in prog.events if e["event"] == "step" and e.get("ok") == 1]
        if not steps or "ns" not in steps[0]:
            raise RuntimeError("malloc_test prints no ns= on its step lines: rebuild it (make build)")
        touched = int(steps[-1]["touched"])
        first_ns = sum(int(s["ns"]) for s in steps)
        first_faults = sum(int(s["minflt"]) for s in steps)
        rw = []
        for _ in range(rewrites):
            prog.send("rewrite")
            rw.append(prog.wait_for("rewrite", timeout=60))
    finally:
        prog.stop()
    pages = touched / PAGE
    rw_ns = [int(r["ns"]) / pages for r in rw]
    return {
        "mib": mib, "pages": pages,
        "first_touch_ns_per_page": first_ns / pages,
        "first_touch_faults_per_mib": first_faults / (touched / (1 << 20)),
        "rewrite_ns_per_page": median(rw_ns), "rewrite_ns_per_page_all": rw_ns,
        "rewrite_faults_per_mib": median([int(r["minflt"]) / (touched / (1 << 20)) for r in rw]),
    }


def bench(mib: int, repeats: int) -> dict:
    runs = [run_once(mib) for _ in range(repeats)]
    return {
        "runs": runs,
        "first_touch_ns_per_page": spread([r["first_touch_ns_per_page"] for r in runs]),
        "rewrite_ns_per_page": spread([r["rewrite_ns_per_page"] for r in runs]),
        "first_touch_faults_per_mib": spread([r["first_touch_faults_per_mib"] for r in runs]),
        "rewrite_faults_per_mib": spread([r["rewrite_faults_per_mib"] for r in runs]),
    }
