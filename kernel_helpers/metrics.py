"""One sample of a process or of the system, in the units top reads them (bytes, ticks).

``METRICS`` is the one table of metric metadata (name, top column, unit, description in
English and Korean); chart labels, tooltips and the glossary all read it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import psutil

from . import procfs
from .procfs import AccessDenied, ProcessGone

__all__ = [
    "METRICS", "Metric", "ProcessSample", "SystemSample", "process_sample", "system_sample",
    "ProcessReader", "CommitReader", "cpu_percent", "describe", "ProcessGone", "AccessDenied",
]


@dataclass(frozen=True)
class Metric:
    name: str  # field name in the samples
    column: str  # what top (or /proc) calls it
    unit: str  # bytes, ticks, count, percent, text
    source: str  # where the kernel exposes it
    en: str
    ko: str


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("virt", "VIRT", "bytes", "/proc/PID/statm field 1",
           "Virtual memory: every address range the process has mapped, touched or not.",
           "가상 메모리: 프로세스가 매핑한 모든 주소 공간. 실제로 썼는지와 상관없이 센다."),
    Metric("res", "RES", "bytes", "/proc/PID/statm field 2",
           "Resident memory: pages of this process that are in RAM now (anon + file + shmem).",
           "상주 메모리: 지금 실제 RAM에 올라와 있는 이 프로세스의 페이지 (익명 + 파일 + 공유 메모리)."),
    Metric("shr", "SHR", "bytes", "/proc/PID/statm field 3",
           "Shared memory: the resident file-backed and shmem pages. A part of RES, and not "
           "necessarily shared with anyone.",
           "공유 메모리: 상주 페이지 가운데 파일 기반 페이지와 shmem 페이지. RES의 일부이며, "
           "실제로 다른 프로세스와 나눠 쓰고 있다는 뜻은 아니다."),
    Metric("rss_anon", "RssAnon", "bytes", "/proc/PID/status",
           "Resident anonymous pages: heap, stacks and malloc'd memory that has been written.",
           "상주 익명 페이지: 힙, 스택, 그리고 malloc으로 받아 실제로 쓴 메모리."),
    Metric("rss_file", "RssFile", "bytes", "/proc/PID/status",
           "Resident pages backed by files: program code, libraries, mapped files.",
           "파일에 연결된 상주 페이지: 프로그램 코드, 라이브러리, 매핑한 파일."),
    Metric("rss_shmem", "RssShmem", "bytes", "/proc/PID/status",
           "Resident shared-memory pages (MAP_SHARED anonymous, tmpfs, SysV shm).",
           "상주 공유 메모리 페이지 (MAP_SHARED 익명 매핑, tmpfs, SysV shm)."),
    Metric("uss", "USS", "bytes", "/proc/PID/smaps_rollup",
           "Unique set size: memory only this process uses; freed if it exits.",
           "USS: 이 프로세스만 쓰는 메모리. 프로세스가 끝나면 돌려받는 양이다."),
    Metric("pss", "PSS", "bytes", "/proc/PID/smaps_rollup",
           "Proportional set size: RES with each shared page divided among its sharers.",
           "PSS: 공유 페이지를 나눠 쓰는 프로세스 수로 나눠서 센 RES."),
    Metric("swap", "SWAP", "bytes", "/proc/PID/status VmSwap",
           "Pages of this process that are in swap.",
           "스왑으로 나가 있는 이 프로세스의 페이지."),
    Metric("minflt", "nMin", "count", "/proc/PID/stat field 10",
           "Minor page faults: first touches served from RAM without disk I/O.",
           "마이너 페이지 폴트: 디스크 I/O 없이 RAM에서 해결된 첫 접근."),
    Metric("majflt", "nMaj", "count", "/proc/PID/stat field 12",
           "Major page faults: faults that had to read from disk.",
           "메이저 페이지 폴트: 디스크에서 읽어 와야 했던 폴트."),
    Metric("state", "S", "text", "/proc/PID/stat field 3",
           "State: R running, S sleeping, D uninterruptible, T stopped, t traced, Z zombie, I idle.",
           "상태: R 실행, S 대기, D 중단 불가 대기, T 정지, t 추적 중 정지, Z 좀비, I 유휴."),
    Metric("pr", "PR", "count", "/proc/PID/stat field 18",
           "Priority as the scheduler sees it: 20 + NI for normal tasks, 'rt' for top real-time.",
           "스케줄러가 보는 우선순위: 일반 태스크는 20 + NI, 최고 실시간 우선순위는 'rt'."),
    Metric("ni", "NI", "count", "/proc/PID/stat field 19",
           "Nice value, -20 (greedy) to 19 (polite).",
           "nice 값. -20(욕심 많음)부터 19(양보함)까지."),
    Metric("time_ticks", "TIME+", "ticks", "/proc/PID/stat fields 14+15",
           "CPU time used so far (user + system).",
           "지금까지 쓴 CPU 시간 (user + system)."),
    Metric("cpu_percent", "%CPU", "percent", "delta of stat fields 14+15",
           "Share of one CPU used since the last refresh; can exceed 100 with threads.",
           "지난 갱신 이후 CPU 하나 기준 사용률. 스레드가 여럿이면 100을 넘을 수 있다."),
    Metric("mem_percent", "%MEM", "percent", "RES / MemTotal",
           "RES as a share of the machine's RAM.",
           "전체 RAM 대비 RES의 비율."),
    Metric("mem_total", "total", "bytes", "/proc/meminfo MemTotal",
           "Usable RAM.", "사용할 수 있는 전체 RAM."),
    Metric("mem_free", "free", "bytes", "/proc/meminfo MemFree",
           "RAM nobody uses, not even the page cache.", "페이지 캐시조차 쓰지 않는 빈 RAM."),
    Metric("mem_used", "used", "bytes", "MemTotal - MemAvailable",
           "What top 4.x calls used: MemTotal - MemAvailable.",
           "top 4.x가 used로 보여주는 값: MemTotal - MemAvailable."),
    Metric("buff_cache", "buff/cache", "bytes", "Buffers + Cached + SReclaimable",
           "Page cache and reclaimable kernel caches.", "페이지 캐시와 회수 가능한 커널 캐시."),
    Metric("mem_available", "avail Mem", "bytes", "/proc/meminfo MemAvailable",
           "The kernel's estimate of memory available for new work without swapping.",
           "스왑 없이 새 작업에 내줄 수 있다고 커널이 추정한 메모리."),
    Metric("committed_as", "Committed_AS", "bytes", "/proc/meminfo",
           "Memory the kernel has promised to all processes, touched or not.",
           "커널이 모든 프로세스에게 약속한 메모리. 실제 사용 여부와 무관하다."),
    Metric("commit_limit", "CommitLimit", "bytes", "/proc/meminfo",
           "The ceiling on Committed_AS, enforced only in overcommit mode 2.",
           "Committed_AS의 상한. overcommit 모드 2에서만 강제된다."),
)}


def describe(name: str, lang: str = "en") -> str:
    """'VIRT: Virtual memory: ...' for a metric, in English ('en') or Korean ('ko')."""
    if name not in METRICS:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
    if lang not in ("en", "ko"):
        raise ValueError(f"lang must be 'en' or 'ko', not {lang!r}")
    m = METRICS[name]
    return f"{m.column}: {getattr(m, lang)}"


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
    if isinstance(pid, bool) or not isinstance(pid, int):
        raise TypeError(f"pid must be an int, not {type(pid).__name__}")
    if pid <= 0:
        raise ValueError(f"pid must be a positive integer, got {pid}")
    return pid


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
        data = self._stat.read(4096)
        try:
            return bool(int(data[data.rindex(b") ") + 2 :].split(b" ", 7)[6]) & 0x00200000)  # PF_KTHREAD
        except (ValueError, IndexError) as e:
            raise ProcessGone(self.pid, "unreadable stat line") from e

    def read(self) -> dict:
        """The process now (raises ProcessGone once it has exited and been reaped)."""
        data = self._stat.read(4096)
        try:
            f = data[data.rindex(b") ") + 2 :].split(b" ", 10)  # f[N - 3] is field N of stat
            state, minflt, majflt = f[0].decode("ascii", "replace"), int(f[7]), int(f[9])
        except (ValueError, IndexError) as e:
            raise ProcessGone(self.pid, "unreadable stat line") from e
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
                raise OSError(f"{self._file.path} has no MemFree line")
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
        raise ValueError(f"interval must be > 0 seconds, got {interval}")
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
