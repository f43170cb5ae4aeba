"""Which case this kernel is in, where kernels differ in what a reader sees: measured, not assumed.

- ``res_counter()``: does top's RES (``/proc/PID/statm``) keep up with the exact Rss? Before 6.2
  each thread batches its RSS changes and publishes them every 64 page faults (never changed in
  the 6.1/5.15 branches); 6.2-6.15 keep per-CPU counters and statm reads only the shared total;
  6.16, 6.12.38+ and 6.6.98+ sum the per-CPU parts exactly (commit 82241a83cd15). Distributions
  patch kernels, so a probe decides: ``malloc_test`` takes one page fault per step, and statm is
  compared with ``smaps_rollup`` (a page-table walk, exact), both as totals and as changes.
- ``thp_mode()``: transparent huge pages (``always`` on Debian's kernels, ``madvise`` on Ubuntu's).
- ``cgroup_version()``: the memory controller's cgroup version, or None.
"""

from __future__ import annotations

import functools
import os
import platform
from collections.abc import Iterable
from dataclasses import dataclass

from . import procfs
from .i18n import error, pick

__all__ = ["ResCounter", "cgroup_version", "counter_lags", "cpu_limit", "res_counter", "thp_mode"]

THP_PATH = "/sys/kernel/mm/transparent_hugepage/enabled"


def thp_mode(path: str = THP_PATH) -> str | None:
    """'always', 'madvise' or 'never' (the bracketed choice), or None where the kernel has no THP."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    if "[" not in text:
        return None
    return text[text.index("[") + 1: text.index("]")]


def cgroup_version(root: str = "/sys/fs/cgroup") -> int | None:
    """1 or 2 for the hierarchy that has the memory controller mounted at ``root``, else None."""
    if os.path.isfile(os.path.join(root, "memory", "memory.limit_in_bytes")):
        return 1
    try:
        with open(os.path.join(root, "cgroup.controllers")) as f:
            if "memory" in f.read().split():
                return 2
    except OSError:
        pass
    return None


def cpu_limit(proc_self: str = "/proc/self/cgroup", root: str = "/sys/fs/cgroup") -> float | None:
    """The CPU limit on this process's cgroup and its parents, in CPUs (0.5 = half a CPU), or None.

    cgroup v2: ``cpu.max`` ("max 100000" or "QUOTA PERIOD"); v1: ``cpu.cfs_quota_us`` over
    ``cpu.cfs_period_us`` (-1 = none), in the cpu controller's hierarchy. The smallest along the path.
    """
    try:
        with open(proc_self) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    found: list[float] = []

    def walk(base: str, rel: str, read) -> None:
        parts = [p for p in rel.strip("/").split("/") if p]
        for i in range(len(parts), -1, -1):
            v = read(os.path.join(base, *parts[:i]))
            if v is not None:
                found.append(v)

    def v2(d: str) -> float | None:
        try:
            with open(os.path.join(d, "cpu.max")) as f:
                quota, period = f.read().split()[:2]
        except (OSError, ValueError):
            return None
        return None if quota == "max" else int(quota) / int(period)

    def v1(d: str) -> float | None:
        try:
            with open(os.path.join(d, "cpu.cfs_quota_us")) as f:
                quota = int(f.read())
            with open(os.path.join(d, "cpu.cfs_period_us")) as f:
                period = int(f.read())
        except (OSError, ValueError):
            return None
        return None if quota < 0 or period <= 0 else quota / period

    for line in lines:
        hid, controllers, rel = (line.split(":", 2) + ["", ""])[:3]
        if hid == "0" and controllers == "":
            walk(root, rel, v2)
        elif "cpu" in controllers.split(","):
            for mount in (os.path.join(root, controllers), os.path.join(root, "cpu"), os.path.join(root, "cpu,cpuacct")):
                if os.path.isdir(mount):
                    walk(mount, rel, v1)
                    break
    return min(found) if found else None


def counter_lags(readings: Iterable[tuple[float, float | None]], page: int | None = None) -> bool:
    """Is top's RES a lagging counter here? True when any reading pairs statm's RES with an exact
    Rss (smaps_rollup) a page or more away. Each pair must be read together while the process is
    idle. The one rule the probe, the lesson's step table and the panel's chart all use."""
    page = procfs.PAGE_SIZE if page is None else page
    for statm, exact in readings:
        if exact is None or exact != exact or statm != statm:  # not read, or nan
            continue
        if abs(statm - exact) >= page:
            return True
    return False


@dataclass(frozen=True)
class ResCounter:
    """The probe's result: how far statm's RES trailed the exact Rss over ``faults`` minor faults."""

    kernel: str
    faults: int  # minor faults the probe caused (one per step)
    statm_delta: int  # statm RES change over the probe, bytes
    exact_delta: int | None  # smaps_rollup Rss change, bytes (None: not readable here)

    gap: int = 0  # the larger |statm RES - exact Rss| of the two readings, bytes

    @property
    def lags(self) -> bool:
        """statm trailed (or ran ahead of) the exact Rss by a page or more, in total or over the probe."""
        if self.exact_delta is None:
            return False
        return counter_lags([(self.statm_delta, self.exact_delta), (self.gap, 0)])

    def describe(self) -> str:
        """One line for the chapter's machine table, in the notebook's language."""
        if self.exact_delta is None:
            return pick("not measured (smaps_rollup unreadable)", "측정하지 못함 (smaps_rollup을 읽을 수 없음)")
        kib = 1024
        if self.lags:
            gap_en = f"; they were {self.gap // kib} KiB apart" if self.gap else ""
            gap_ko = f". 두 값은 {self.gap // kib} KiB 차이가 났음" if self.gap else ""
            return pick(f"lags: over {self.faults} minor faults statm RES moved {self.statm_delta // kib} KiB, "
                        f"the exact Rss {self.exact_delta // kib} KiB{gap_en}",
                        f"늦게 따라옴: 마이너 폴트 {self.faults}번 동안 statm RES는 {self.statm_delta // kib} KiB, "
                        f"정확한 Rss는 {self.exact_delta // kib} KiB 움직임{gap_ko}")
        return pick(f"exact: over {self.faults} minor faults statm RES and the exact Rss both moved "
                    f"{self.statm_delta // kib} KiB",
                    f"정확함: 마이너 폴트 {self.faults}번 동안 statm RES와 정확한 Rss가 똑같이 "
                    f"{self.statm_delta // kib} KiB 움직임")


@functools.cache
def res_counter(steps: int = 16) -> ResCounter:
    """Measure whether statm's RES lags on this kernel (about 0.5 s; cached for the process).

    ``malloc_test`` mallocs 1 MiB per step without memset: one page fault per step, fewer than the
    64 a batching kernel waits for. Read before the first step and after the last, while it sleeps.
    """
    from . import programs  # programs pulls in the safety watchdog: only when probing

    if not 0 < steps < 64:
        raise error(ValueError, "steps must be between 1 and 63 (fewer faults than a kernel batch), got {steps}; "
                    "pass e.g. steps=16",
                    "steps는 1에서 63 사이여야 합니다(커널이 한 번에 모으는 폴트 수보다 적게). {steps}은(는) 쓸 수 "
                    "없습니다. steps=16처럼 주세요.", steps=steps)
    with programs.malloc_test(step_mib=1, interval_ms=5, max_mib=steps, wait_go=True) as p:
        pid = p.pid
        assert pid is not None
        statm0, exact0, flt0 = _read(pid)
        p.send("go")
        p.wait_for("cap", timeout=60)  # all steps made; it allocates nothing more and sleeps
        statm1, exact1, flt1 = _read(pid)
    exact = None if exact0 is None or exact1 is None else exact1 - exact0
    # a batching kernel may publish older changes inside the probe; the totals show it even then
    gap = 0 if exact is None else max(abs(statm0 - exact0), abs(statm1 - exact1))  # type: ignore[operator]
    return ResCounter(platform.release(), flt1 - flt0, statm1 - statm0, exact, gap)


def _read(pid: int) -> tuple[int, int | None, int]:
    res = procfs.statm(pid)[1]
    try:
        exact = procfs.smaps_rollup(pid).get("Rss") if procfs.HAS_SMAPS_ROLLUP else None
    except procfs.AccessDenied:
        exact = None
    return res, exact, procfs.stat(pid).minflt
