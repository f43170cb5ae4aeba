"""One sample of a process or of the system, in the units top reads them (bytes, ticks).

What each field means (top's column, unit, description in English and Korean) is in the one
table of metric metadata, ``columns.METRICS``, re-exported here as ``METRICS``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import psutil

from . import procfs, validate
from .columns import METRICS, Metric, describe
from .i18n import error
from .procfs import FLAGS, MAJFLT, MINFLT, PF_KTHREAD, STATE, AccessDenied, ProcessGone, parse_stat

__all__ = [
    "METRICS", "Metric", "ProcessSample", "SystemSample", "process_sample", "system_sample",
    "ProcessReader", "CommitReader", "cpu_percent", "describe", "ProcessGone", "AccessDenied",
]


@dataclass(frozen=True)
class ProcessSample:
    """One reading of one process, in bytes and ticks (None where not readable)."""

    t: float  # time.monotonic()
    pid: int
    comm: str
    state: str
    virt: int
    res: int
    shr: int
    rss_anon: int | None
    rss_file: int | None
    rss_shmem: int | None
    uss: int | None
    pss: int | None
    swap: int | None
    minflt: int
    majflt: int
    pr: int
    ni: int
    time_ticks: int
    threads: int
    # Rss summed by a page-table walk (smaps_rollup), exact on every kernel. statm's RES above is a
    # cached counter: before 6.2 each thread holds up to 64 faults' worth of changes (up to 16 pages a
    # fault with fault-around) until it faults again, unmaps or exits; 6.2-6.15 (before 6.6.98 and
    # 6.12.38) each CPU holds back under max(32, 2 x CPUs) pages per counter. None when not read.
    rss_exact: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _check_pid(pid: object) -> int:
    return validate.whole("pid", pid, 1, what=("a process ID (a whole number, see `ps -e`)",
                                                   "프로세스 ID(정수, `ps -e` 참고)"))


def process_sample(pid: int, *, full: bool = True) -> ProcessSample:
    """Read VIRT/RES/SHR, the Rss split, USS/PSS (when ``full`` and readable), faults and state."""
    pid = _check_pid(pid)
    t = time.monotonic()
    st = procfs.stat(pid)
    virt, res, shr = procfs.statm(pid)
    stt = procfs.status(pid)
    uss = pss = rss_exact = None
    if full and procfs.HAS_SMAPS_ROLLUP and not st.is_kernel_thread:  # ESRCH for kthreads
        try:
            sm = procfs.smaps_rollup(pid)
            pss = sm.get("Pss")
            rss_exact = sm.get("Rss")
            uss = sm.get("Private_Clean", 0) + sm.get("Private_Dirty", 0)
        except AccessDenied:
            pass  # needs ptrace access: other users' processes without root
    return ProcessSample(
        t=t, pid=pid, comm=st.comm, state=st.state, virt=virt, res=res, shr=shr,
        rss_anon=stt.get("RssAnon"), rss_file=stt.get("RssFile"), rss_shmem=stt.get("RssShmem"),
        uss=uss, pss=pss, swap=stt.get("VmSwap"), minflt=st.minflt, majflt=st.majflt,
        pr=st.priority, ni=st.nice, time_ticks=st.utime + st.stime, threads=st.num_threads,
        rss_exact=rss_exact,
    )


_STATUS_KEYS = (b"RssAnon", b"RssFile", b"RssShmem", b"VmSwap")
_SMAPS_KEYS = (b"Pss", b"Private_Clean", b"Private_Dirty", b"Rss")
_COMMIT_KEYS = (b"Committed_AS", b"MemAvailable")


class ProcessReader:
    """One process read again and again, for a sampler: the figures of :func:`process_sample`.

    ``read()`` returns a dict with ``state``, ``virt``, ``res``, ``shr``, ``rss_anon``, ``rss_file``,
    ``rss_shmem``, ``swap``, ``uss``, ``pss``, ``rss_exact``, ``minflt`` and ``majflt``, the same values
    process_sample() gives. It keeps /proc/PID/stat, statm and status (and smaps_rollup with
    ``full``) open and picks out only these keys, so a tick costs a fraction of a fresh
    process_sample(). The files stay bound to this process: once it is reaped, read() raises
    ProcessGone even if another process has taken the PID. Close it when done (a Sampler does),
    or use it in a ``with`` block.
    """

    def __init__(self, pid: int, *, full: bool = False):
        self.pid = pid = _check_pid(pid)
        prefix = f"{procfs.PROC_ROOT}/{pid}/"
        self._files: list[procfs.KeptFile] = []
        self._smaps: procfs.KeptFile | None = None
        try:
            for name in ("stat", "statm", "status"):
                self._files.append(procfs.KeptFile(prefix + name, pid))
            self._stat, self._statm, self._status = self._files
            if full and procfs.HAS_SMAPS_ROLLUP and not self._kernel_thread():  # ESRCH for kthreads
                try:
                    self._smaps = procfs.KeptFile(prefix + "smaps_rollup", pid)
                    self._files.append(self._smaps)
                except AccessDenied:
                    pass  # needs ptrace access: other users' processes without root
        except BaseException:
            self.close()
            raise

    def _kernel_thread(self) -> bool:
        return bool(int(parse_stat(self._stat.read(4096), self.pid)[FLAGS]) & PF_KTHREAD)

    def read(self) -> dict:
        """The process now (raises ProcessGone once it has exited and been reaped)."""
        f = parse_stat(self._stat.read(4096), self.pid)
        state, minflt, majflt = f[STATE].decode("ascii", "replace"), int(f[MINFLT]), int(f[MAJFLT])
        m = self._statm.read(4096).split()
        page = procfs.PAGE_SIZE
        virt, res, shr = (int(m[0]) * page, int(m[1]) * page, int(m[2]) * page) if len(m) >= 3 else (0, 0, 0)
        anon, file, shmem, swap = procfs.pick_kib(self._status.read(), _STATUS_KEYS)
        uss = pss = rss_exact = None
        if self._smaps is not None and state != "Z":  # a zombie has no memory map left to sum
            try:
                pss, clean, dirty, rss_exact = procfs.pick_kib(self._smaps.read(), _SMAPS_KEYS)
                uss = (clean or 0) + (dirty or 0)
            except AccessDenied:
                pass
        return {"state": state, "virt": virt, "res": res, "shr": shr, "rss_anon": anon, "rss_file": file,
                "rss_shmem": shmem, "swap": swap, "uss": uss, "pss": pss, "rss_exact": rss_exact,
                "minflt": minflt, "majflt": majflt}

    def close(self) -> None:
        for f in self._files:
            f.close()

    def __enter__(self) -> ProcessReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CommitReader:
    """Committed_AS and MemAvailable (MemFree before kernel 3.14), read again and again.

    The two system figures a sampler records with each row, as :func:`system_sample` gives them,
    from /proc/meminfo kept open. ``read()`` returns ``{"committed_as": ..., "mem_available": ...}``
    in bytes.
    """

    def __init__(self) -> None:
        self._file = procfs.KeptFile(f"{procfs.PROC_ROOT}/meminfo")

    def read(self) -> dict:
        data = self._file.read()
        committed, available = procfs.pick_kib(data, _COMMIT_KEYS)
        if available is None:  # before kernel 3.14
            [available] = procfs.pick_kib(data, (b"MemFree",))
            if available is None:
                raise OSError(f"{self._file.path} has no MemFree line")  # internal: every kernel writes it
        return {"committed_as": committed or 0, "mem_available": available}

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> CommitReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cpu_percent(pid: int, interval: float = 0.5) -> float:
    """%CPU as top computes it (Irix mode): ticks used over ``interval`` / (CLK_TCK * interval)."""
    pid = _check_pid(pid)
    if not interval > 0:
        raise error(ValueError, "interval must be > 0 seconds, got {interval}; pass e.g. interval=0.5",
                    "interval은 0초보다 커야 합니다({interval}은(는) 쓸 수 없습니다). interval=0.5처럼 주세요.",
                    interval=interval)
    s0, t0 = procfs.stat(pid), time.monotonic()
    time.sleep(interval)
    s1, t1 = procfs.stat(pid), time.monotonic()
    used = (s1.utime + s1.stime) - (s0.utime + s0.stime)
    return 100.0 * used / (procfs.CLK_TCK * (t1 - t0))


@dataclass(frozen=True)
class SystemSample:
    """System memory and commit figures, in bytes, plus the vm.overcommit settings."""

    t: float
    mem_total: int
    mem_free: int
    mem_available: int
    buffers: int
    cached: int
    sreclaimable: int
    swap_total: int
    swap_free: int
    committed_as: int
    commit_limit: int
    overcommit_memory: int
    overcommit_ratio: int
    overcommit_kbytes: int

    @property
    def mem_used(self) -> int:
        """top 4.x 'used': MemTotal - MemAvailable (procps-ng 4.0.1 and later)."""
        return self.mem_total - self.mem_available

    @property
    def buff_cache(self) -> int:
        return self.buffers + self.cached + self.sreclaimable

    @property
    def swap_used(self) -> int:
        return self.swap_total - self.swap_free

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(mem_used=self.mem_used, buff_cache=self.buff_cache, swap_used=self.swap_used)
        return d


def system_sample() -> SystemSample:
    """Read /proc/meminfo and /proc/sys/vm/overcommit_* once."""
    mi = procfs.meminfo()
    return SystemSample(
        t=time.monotonic(),
        mem_total=mi["MemTotal"], mem_free=mi["MemFree"],
        mem_available=mi.get("MemAvailable", mi["MemFree"]),  # MemAvailable: kernel 3.14+
        buffers=mi.get("Buffers", 0), cached=mi.get("Cached", 0),
        sreclaimable=mi.get("SReclaimable", 0),
        swap_total=mi.get("SwapTotal", 0), swap_free=mi.get("SwapFree", 0),
        committed_as=mi.get("Committed_AS", 0), commit_limit=mi.get("CommitLimit", 0),
        overcommit_memory=procfs.vm_setting("overcommit_memory"),
        overcommit_ratio=procfs.vm_setting("overcommit_ratio"),
        overcommit_kbytes=procfs.vm_setting("overcommit_kbytes"),
    )


def psutil_memory_info(pid: int):
    """psutil's view of the same statm, for cross-checks: (vms, rss, shared) in bytes."""
    try:
        mi = psutil.Process(pid).memory_info()
    except psutil.NoSuchProcess as e:
        raise ProcessGone(pid) from e
    except psutil.AccessDenied as e:
        raise AccessDenied(pid, f"/proc/{pid}/statm") from e
    return mi.vms, mi.rss, mi.shared
