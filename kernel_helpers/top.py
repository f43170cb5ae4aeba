"""A whole-system snapshot with top's header and process table, and its `top -b` text.

``snapshot()`` samples every process twice, ``interval`` seconds apart, the way one refresh
of procps-ng top does: the header numbers come from /proc/uptime, /proc/loadavg, utmp,
/proc/stat and /proc/meminfo, each row from /proc/PID/stat and /proc/PID/statm plus the owner
of /proc/PID. ``Refresher`` is top's refresh loop: after its first refresh, each one reads
/proc once and takes %CPU over the time since the previous one, as top does between frames.
``Snapshot.table`` keeps numbers as numbers (bytes, seconds, percent);
``Snapshot.to_text()`` prints them in the layout of ``top -b -n 1`` (procps-ng 4.0.2).
``compare_with_top()`` runs the real top next to it (through kernel_helpers.realtop, which
also parses its output). ``python -m kernel_helpers.top`` is a
small ``top -b`` for the terminal.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import functools
import os

try:
    import pwd
except ImportError:  # Windows: importing must still work (see recordings)
    pwd = None  # type: ignore[assignment]
import shutil
import struct
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from . import procfs, realtop, validate
from .i18n import error, pick, say
from .procfs import ProcessGone
from .realtop import TOP_PID_LIMIT, TopNotFound, parse_top_batch

__all__ = [
    "Header", "Snapshot", "snapshot", "snapshot_row", "Refresher", "render", "compare_with_top",
    "parse_top_batch", "sort_table", "release_files", "TopNotFound", "COLUMNS", "SORT_FIELDS", "main",
]

# top's default columns, in its order. The table also carries two helper columns:
# UID (the effective UID behind USER) and TICKS (utime + stime, exact, behind TIME+).
COLUMNS = ("PID", "USER", "PR", "NI", "VIRT", "RES", "SHR", "S", "%CPU", "%MEM", "TIME+", "COMMAND")
HELPER_COLUMNS = ("UID", "TICKS")
SORT_FIELDS = COLUMNS  # what -o / sort= accept, spelled as top's column headers
CPU_ORDER = ("us", "sy", "ni", "id", "wa", "hi", "si", "st")  # the %Cpu(s) line's order
_WIDTHS = {"USER": 8, "PR": 3, "NI": 3, "VIRT": 7, "RES": 6, "SHR": 6, "S": 1,
           "%CPU": 5, "%MEM": 5, "TIME+": 9}  # top.c Fieldstab widths; PID depends on pid_max


# --- the data ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Header:
    """top's five summary lines as numbers: times in seconds, memory in bytes, CPU in percent."""

    time: _dt.datetime  # local wall-clock time at the end of the interval
    uptime: float  # seconds since boot (/proc/uptime)
    users: int  # utmp USER_PROCESS records
    load1: float
    load5: float
    load15: float
    tasks_total: int
    tasks_running: int  # R
    tasks_sleeping: int  # S + D + I (every state that is not R, T, t or Z)
    tasks_stopped: int  # T + t
    tasks_zombie: int  # Z
    states: dict[str, int]  # the same tasks counted per state letter
    cpu: dict[str, float]  # us sy ni id wa hi si st, percent of all CPUs over the interval
    mem_total: int  # MemTotal
    mem_free: int  # MemFree
    mem_used: int  # MemTotal - MemAvailable (procps-ng 4.0.1 and later)
    mem_buff_cache: int  # Buffers + Cached + SReclaimable
    mem_avail: int  # MemAvailable
    swap_total: int
    swap_free: int
    swap_used: int
    interval: float  # seconds between the two samples

    @property
    def load_average(self) -> tuple[float, float, float]:
        return self.load1, self.load5, self.load15

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Snapshot:
    """One refresh of top: ``header`` (summary lines) and ``table`` (one row per process)."""

    header: Header
    table: pd.DataFrame

    def to_text(self, width: int = 80, sort: str | None = None, max_rows: int | None = None,
                summary: bool = True) -> str:
        """The snapshot in `top -b -n 1` layout; see :func:`render`."""
        return render(self, width=width, sort=sort, max_rows=max_rows, summary=summary)

    def __str__(self) -> str:
        return self.to_text()


@dataclass
class _Base:
    """The first sample of an interval: when, the /proc/stat cpu line, and each PID's ticks."""

    t: float
    cpu: dict[str, int]
    ticks: dict[int, tuple[int, int]]  # pid -> (starttime, utime + stime)


# --- sampling ---------------------------------------------------------------------------

def _check_pids(pids: Iterable[int]) -> list[int]:
    if isinstance(pids, (int, str, bytes)):
        raise error(TypeError, "pids must be a list of PIDs such as [1, 2], not {pids!r}",
                    "pids에는 [1, 2]처럼 PID 목록을 주세요({pids!r}은(는) 쓸 수 없습니다).", pids=pids)
    out: list[int] = []
    for pid in pids:
        pid = validate.whole(("each PID", "각 PID"), pid, 1, what=("an int (a process ID)", "정수(프로세스 ID)"),
                             hint=("PIDs are positive integers", "PID는 양의 정수입니다."))
        if pid not in out:
            out.append(pid)
    return out


# The /proc files of the processes seen so far, kept open to read again (procfs.PidFiles):
# about three descriptors per process, at most _hold() processes, for one /proc root at a
# time. A snapshot takes them out under the lock and puts them back after, so no two threads
# ever share a descriptor.
_KEPT: dict[str, dict[int, procfs.PidFiles]] = {}  # proc root -> pid -> files
_KEPT_LOCK = threading.Lock()


def _hold() -> int:
    """How many processes may keep their files open: a third of RLIMIT_NOFILE, less a margin."""
    try:
        import resource  # Unix only: on Windows nothing is kept open
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return 0
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 16
    return max(0, (soft - 256) // 3)


def _take_files(root: str) -> dict[int, procfs.PidFiles]:
    with _KEPT_LOCK:
        others = [_KEPT.pop(r) for r in list(_KEPT) if r != root]  # e.g. a test's fake /proc
        files = _KEPT.pop(root, {})
    for old in others:
        procfs.close_pid_files(old)
    return files


def _give_back(root: str, files: dict[int, procfs.PidFiles]) -> None:
    with _KEPT_LOCK:
        kept = _KEPT.setdefault(root, {})
        dup = {pid: fs for pid, fs in files.items() if pid in kept}  # another thread's
        kept.update((pid, fs) for pid, fs in files.items() if pid not in dup)
    procfs.close_pid_files(dup)
    files.clear()


def release_files() -> None:
    """Close the /proc files that snapshots keep open between calls (the next one reopens them)."""
    with _KEPT_LOCK:
        all_files = list(_KEPT.values())
        _KEPT.clear()
    for files in all_files:
        procfs.close_pid_files(files)


def _release(root: str, pids: Iterable[int] | None) -> None:
    """Close the kept-open files of ``pids`` (of every process when None) under one /proc root."""
    with _KEPT_LOCK:
        kept = _KEPT.get(root, {})
        gone = {pid: kept.pop(pid) for pid in (list(kept) if pids is None else pids) if pid in kept}
    procfs.close_pid_files(gone)


def _sample_ticks(pids: list[int] | None, files: dict[int, procfs.PidFiles]) -> _Base:
    """The first sample: the /proc/stat cpu line and each PID's ticks."""
    t = time.monotonic()
    cpu = procfs.cpu_ticks()
    ticks = procfs.top_ticks_many(procfs.pids() if pids is None else pids, files, _hold())
    return _Base(t, cpu, ticks)


@functools.lru_cache(maxsize=4096)
def _user_name(uid: int) -> str:
    """The login name for a UID, as top prints it (the number when there is no passwd entry)."""
    if pwd is None:  # Windows: no passwd database
        return str(uid)
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _cpu_percent(before: dict[str, int], after: dict[str, int]) -> dict[str, float]:
    # top clamps each delta at 0 (idle and iowait can step backwards) and avoids dividing by 0
    delta = {k: max(0, after[k] - before[k]) for k in CPU_ORDER}
    total = sum(delta.values())
    if total < 1:
        return {k: (100.0 if k == "id" else 0.0) for k in CPU_ORDER}
    return {k: 100.0 * delta[k] / total for k in CPU_ORDER}


def _finish(base: _Base, pids: list[int] | None, files: dict[int, procfs.PidFiles],
            chain: bool = False) -> tuple[Snapshot, _Base | None]:
    """Take the second sample and build the Snapshot; with ``chain``, also the next first sample."""
    t1 = time.monotonic()
    cpu1 = procfs.cpu_ticks()
    mi = procfs.meminfo()
    mem_total = mi["MemTotal"]
    mem_free = mi["MemFree"]
    mem_avail = mi.get("MemAvailable", mem_free)  # MemAvailable: kernel 3.14+
    elapsed = max(t1 - base.t, 1e-9)
    per_tick = 100.0 / (procfs.CLK_TCK * elapsed)  # Irix mode: percent of one CPU
    hz = float(procfs.CLK_TCK)

    old = base.ticks
    listed = procfs.pids() if pids is None else pids
    raw = procfs.top_rows_many(listed, files, _hold())
    if pids is None:
        procfs.close_pid_files(files, keep=listed)  # those processes have gone
    name, get = _user_name, old.get
    rows = []
    for pid, comm, state, pr, ni, tk, start, virt, res, shr, uid in raw:
        prev = get(pid)
        # a PID that is new (or reused by a new process) spent all its ticks in the interval
        used = tk - prev[1] if prev is not None and prev[0] == start else tk
        rows.append((-used, pid, name(uid), pr, ni, virt, res, shr, state,
                     used * per_tick, 100.0 * res / mem_total, tk / hz, comm, uid, tk))
    rows.sort()  # top's default order: %CPU high to low, then PID low to high

    states: dict[str, int] = {}
    for r in rows:
        states[r[8]] = states.get(r[8], 0) + 1
    running = states.get("R", 0)
    stopped = states.get("T", 0) + states.get("t", 0)
    zombie = states.get("Z", 0)

    load = procfs.loadavg()
    swap_total, swap_free = mi.get("SwapTotal", 0), mi.get("SwapFree", 0)
    header = Header(
        time=_dt.datetime.now(), uptime=procfs.uptime_seconds(), users=procfs.users_count(),
        load1=load[0], load5=load[1], load15=load[2],
        tasks_total=len(rows), tasks_running=running,
        tasks_sleeping=len(rows) - running - stopped - zombie,
        tasks_stopped=stopped, tasks_zombie=zombie, states=dict(sorted(states.items())),
        cpu=_cpu_percent(base.cpu, cpu1),
        mem_total=mem_total, mem_free=mem_free, mem_used=mem_total - mem_avail,
        mem_buff_cache=mi.get("Buffers", 0) + mi.get("Cached", 0) + mi.get("SReclaimable", 0),
        mem_avail=mem_avail, swap_total=swap_total, swap_free=swap_free,
        swap_used=swap_total - swap_free, interval=elapsed,
    )
    if not chain:
        return Snapshot(header, _table(rows)), None
    return Snapshot(header, _table(rows)), _Base(t1, cpu1, {r[0]: (r[6], r[5]) for r in raw})


_DTYPES = ("int64", "object", "int64", "int64", "int64", "int64", "int64", "object",
           "float64", "float64", "float64", "object", "int64", "int64")


def _table(rows: list[tuple]) -> pd.DataFrame:
    """Build the DataFrame once, from one array per column (no per-row pandas work).

    The fast path is the constructor pandas' own ``from_records`` uses (about half the cost of a
    refresh's table at today's process counts); where a pandas lacks it, the public constructor
    gives the same frame (a test checks that both agree, dtypes included).
    """
    cols = list(zip(*rows, strict=True))[1:] if rows else [()] * len(_DTYPES)
    arrays = [np.array(c, dtype=d) for c, d in zip(cols, _DTYPES, strict=True)]
    index = pd.RangeIndex(len(rows))
    from_arrays = getattr(pd.DataFrame, "_from_arrays", None)
    if from_arrays is not None:
        try:
            return from_arrays(arrays, columns=pd.Index(COLUMNS + HELPER_COLUMNS), index=index,
                               verify_integrity=False)
        except TypeError:  # its signature changed: use the public constructor
            pass
    return _table_public(arrays, index)


def _table_public(arrays: list[np.ndarray], index: pd.RangeIndex) -> pd.DataFrame:
    """The same frame through the public constructor. Text columns stay ``object``, as under
    pandas 2: they go in as Series of that dtype, so pandas 3 does not convert them to ``str``."""
    data: dict[str, object] = {}
    for name, values in zip(COLUMNS + HELPER_COLUMNS, arrays, strict=True):
        data[name] = (pd.Series(values, index=index, dtype=object, copy=False) if values.dtype == object
                      else values)
    return pd.DataFrame(data, index=index, copy=False)


def _check_interval(interval: float, name: str = "interval") -> float:
    if isinstance(interval, bool) or not isinstance(interval, (int, float)):
        raise error(TypeError, "{name} must be a number of seconds, not {kind}; pass e.g. {name}=0.5",
                    "{name}에는 초 단위 숫자를 주세요({kind}은(는) 쓸 수 없습니다). {name}=0.5처럼 주세요.",
                    name=name, kind=type(interval).__name__)
    if not interval > 0:
        raise error(ValueError, "{name} must be > 0 seconds (%CPU needs two samples), got {interval}; "
                    "pass e.g. {name}=0.5",
                    "{name}은(는) 0초보다 커야 합니다(%CPU에는 두 번의 측정이 필요합니다). {interval}은(는) 쓸 수 "
                    "없습니다. {name}=0.5처럼 주세요.", name=name, interval=interval)
    return interval


def snapshot(interval: float = 0.5, pids: Iterable[int] | None = None) -> Snapshot:
    """Sample all processes (or only ``pids``, like top -p) ``interval`` seconds apart.

    %CPU is the share of one CPU over the interval (top's Irix mode, so a threaded process can
    pass 100). With ``pids`` the Tasks counts cover only those processes, as with top -p. A
    process that exits or hides itself during the snapshot is left out.
    """
    _check_interval(interval)
    wanted = None if pids is None else _check_pids(pids)
    root = procfs.PROC_ROOT
    files = _take_files(root)
    try:
        base = _sample_ticks(wanted, files)
        time.sleep(interval)
        return _finish(base, wanted, files)[0]
    finally:
        _give_back(root, files)


def snapshot_row(pid: int, interval: float = 0.2) -> pd.Series:
    """One process's row of the top table (e.g. ``snapshot_row(2)`` for kthreadd)."""
    table = snapshot(interval, [pid]).table
    if table.empty:
        raise ProcessGone(pid)
    return table.iloc[0]


class Refresher:
    """top's refresh loop: after the first :meth:`refresh`, each one is a single read pass.

    procps top reads every process once per refresh and takes %CPU from the ticks it read the
    refresh before. :func:`snapshot` has no refresh before, so it reads twice, ``interval``
    apart; a Refresher keeps each pass's ticks as the start of the next interval::

        with top.Refresher() as r:
            for _ in range(3):
                snap = r.refresh(2.0)  # %CPU over the 2 s since the previous refresh
                print(snap.to_text(max_rows=5))

    ``pids`` limits it to those processes, like top -p (and snapshot's ``pids``); a process
    that exits is left out of the tables from then on. The first refresh has nothing to start
    from, so it samples, waits ``first_interval`` seconds (or its ``interval``) and reads
    again, just as ``snapshot()`` does.

    The /proc files stay open between refreshes (about three descriptors per process, in the
    set snapshot() uses, bounded by RLIMIT_NOFILE); each read pass takes them out of that set
    and puts them back, so no two threads ever read through one descriptor. :meth:`close`, or
    the end of a ``with`` block, closes them. Threads may share a Refresher: their refreshes
    take turns.
    """

    def __init__(self, pids: Iterable[int] | None = None, first_interval: float = 0.5):
        self.pids: tuple[int, ...] | None = None if pids is None else tuple(_check_pids(pids))
        if self.pids == ():
            raise error(ValueError, "give at least one PID, e.g. Refresher([os.getpid()]), "
                        "or pids=None for every process",
                        "PID를 하나 이상 주세요. 예: Refresher([os.getpid()]). 모든 프로세스를 보려면 pids=None을 주세요.")
        self.first_interval = _check_interval(first_interval, "first_interval")
        self.refreshes = 0  # how many refresh() calls have returned a snapshot
        self._base: _Base | None = None  # the previous pass: the start of the next interval
        self._root: str | None = None  # the /proc root that pass read
        self._closed = False
        self._turn = threading.Lock()  # one refresh at a time
        self._state = threading.Lock()  # _closed, and files going back to the shared set

    @property
    def closed(self) -> bool:
        return self._closed

    def refresh(self, interval: float | None = None) -> Snapshot:
        """The next refresh of top: one pass over /proc, %CPU over the time since the last one.

        With ``interval``, it first waits until ``interval`` seconds have passed since the
        previous refresh read /proc (top's -d delay), so %CPU covers at least that; without, it
        reads at once. The first refresh samples, waits ``interval`` (default
        ``first_interval``) and reads again. Raises RuntimeError once :meth:`close` was called.
        """
        if interval is not None:
            _check_interval(interval)
        with self._turn:
            if self._closed:
                raise error(RuntimeError, "this Refresher is closed; make a new one with top.Refresher()",
                            "이 Refresher는 닫혔습니다. top.Refresher()로 새로 만드세요.")
            root = procfs.PROC_ROOT
            wanted = None if self.pids is None else list(self.pids)
            base = self._base if self._root == root else None  # a new /proc root starts afresh
            if base is None:
                base = self._with_files(root, lambda files: _sample_ticks(wanted, files))
                time.sleep(self.first_interval if interval is None else interval)
            elif interval is not None:
                left = base.t + interval - time.monotonic()
                if left > 0:
                    time.sleep(left)
            snap, self._base = self._with_files(
                root, lambda files: _finish(base, wanted, files, chain=True))
            self._root = root
            self.refreshes += 1
            return snap

    def _with_files(self, root: str, read):
        """``read(files)`` with the kept-open files taken out of the shared set for the pass."""
        files = _take_files(root)
        try:
            return read(files)
        finally:
            with self._state:
                mine: dict[int, procfs.PidFiles] = {}
                if self._closed:  # close() ran meanwhile: these are not to be kept any more
                    for pid in list(files) if self.pids is None else self.pids:
                        if pid in files:
                            mine[pid] = files.pop(pid)
                _give_back(root, files)
            procfs.close_pid_files(mine)

    def close(self) -> None:
        """Close the /proc files kept open for these processes (all of them when ``pids`` is None).

        Later :meth:`refresh` calls raise RuntimeError. It does not wait for a refresh running
        in another thread: that one finishes, then closes the files it read through.
        """
        with self._state:
            self._closed = True
            self._base = None
            _release(self._root or procfs.PROC_ROOT, self.pids)

    def __enter__(self) -> Refresher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        which = "all processes" if self.pids is None else f"pids={list(self.pids)}"
        state = "closed" if self._closed else f"{self.refreshes} refreshes"
        return f"<top.Refresher {which}, {state}>"


# --- text, as top -b prints it -------------------------------------------------------------

_FLOAT = struct.Struct("f")


def _f32(x: float) -> float:
    """x rounded to a C float, as top holds these numbers."""
    return _FLOAT.unpack(_FLOAT.pack(x))[0]


def _scale_mem(kib: int, width: int) -> str:
    """top.c scale_mem: KiB as an integer, else m/g/t/p with one decimal, whichever fits first."""
    text = str(kib)  # exact below 2**24 KiB, which covers every value that fits unscaled
    if len(text) <= width:
        return text
    num = _f32(kib)
    for sfx in "mgtp":
        num = _f32(num / 1024.0)
        text = f"{num:.1f}{sfx}"
        if len(text) <= width:
            return text
    return "?"


def _scale_pcnt(value: float, width: int) -> str:
    """top.c scale_pcnt: one decimal, or none when the number gets too wide (e.g. 1234)."""
    text = f"{value:#.1f}"
    if len(text) <= width:
        return text
    text = f"{value:{width}.0f}"
    return text if len(text) <= width else "?"


def _scale_tics(ticks: int, width: int) -> str:
    """top.c scale_tics (4.0.x): m:ss.hh up to 6 hours, then m:ss, h,mm, Nd+Nh, Nw+Nd, Nw."""
    nt = ticks * 100 // procfs.CLK_TCK
    cent, secs = nt % 100, nt // 100
    mins = secs // 60
    if mins <= 360:  # always fits top's 9 columns
        text = f"{mins}:{secs % 60:02d}.{cent:02d}"
        if len(text) <= width:
            return text
    hour = mins // 60
    days = hour // 24
    week = days // 7
    tries = [f"{mins}:{secs % 60:02d}"] if mins <= 360 else []
    if hour <= 96:
        tries.append(f"{hour},{mins % 60:02d}")
    if days <= 14:
        tries += [f"{days}d+{hour % 24}h", f"{days}d"]
    tries += [f"{week}w+{days % 7}d", f"{week}w"]
    return next((t for t in tries if len(t) <= width), "?")


def _fit(text: str, width: int) -> str:
    """top.c make_str/make_num: cut what does not fit and mark the cut with '+'."""
    return text if len(text) <= width else text[: width - 1] + "+"


def _printable(comm: str) -> str:
    """Control characters (prctl lets a program put them in its name) print as '?', as in top."""
    return comm if comm.isprintable() else "".join(c if c.isprintable() else "?" for c in comm)


def _uptime_text(seconds: float) -> str:
    """procps-ng 4.0.2 uptime format: '5 min', ' 1:23', '3 days,  2:03'."""
    s = int(seconds)
    days, hours, mins = s // 86400, (s // 3600) % 24, (s // 60) % 60
    text = f"{days} {'days' if days > 1 else 'day'}, " if days else ""
    return text + (f"{hours:2d}:{mins:02d}" if hours else f"{mins} min")


def _summary_num(nbytes: int) -> str:
    """A Mem/Swap figure: MiB with one decimal and a space, in 9 columns ('+' when cut)."""
    text = f"{_f32(_f32(nbytes // 1024) / 1024.0):#.1f} "
    return f"{text[:8] + '+' if len(text) > 9 else text:>9}"


def _summary_lines(h: Header) -> list[str]:
    users = f"{h.users:2d} {'users' if h.users > 1 else 'user'}"
    cpu = ",".join(f"{h.cpu[k]:#5.1f} {k}" for k in CPU_ORDER)
    n = _summary_num
    return [
        f"top - {h.time:%H:%M:%S} up {_uptime_text(h.uptime)}, {users},  "
        f"load average: {h.load1:.2f}, {h.load5:.2f}, {h.load15:.2f}",
        f"Tasks: {h.tasks_total:3d} total, {h.tasks_running:3d} running, "
        f"{h.tasks_sleeping:3d} sleeping, {h.tasks_stopped:3d} stopped, {h.tasks_zombie:3d} zombie",
        f"%Cpu(s):{cpu} ",
        f"MiB Mem : {n(h.mem_total)}total, {n(h.mem_free)}free, {n(h.mem_used)}used, "
        f"{n(h.mem_buff_cache)}buff/cache     ",
        f"MiB Swap: {n(h.swap_total)}total, {n(h.swap_free)}free, {n(h.swap_used)}used. "
        f"{n(h.mem_avail)}avail Mem ",
        "",
    ]


def _pid_width() -> int:
    try:
        return max(5, len(str(procfs.pid_max())))
    except (OSError, ValueError, IndexError):
        return 5


def _sort_key(field: str) -> tuple[str, bool]:
    """(column to sort on, descending?) for a top field name such as 'RES', '+%MEM' or '-PID'."""
    name = field.strip()
    descending = not name.startswith("-")
    name = name.lstrip("+-").upper()
    if name not in SORT_FIELDS:
        raise error(ValueError, "unknown sort field {field!r}; use one of: {known}",
                    "{field!r}(이)라는 정렬 필드는 없습니다. 다음 중 하나를 쓰세요: {known}",
                    field=field, known=", ".join(SORT_FIELDS))
    return {"TIME+": "TICKS", "%CPU": "%CPU"}.get(name, name), descending


def sort_table(table: pd.DataFrame, field: str) -> pd.DataFrame:
    """Sort like top -o FIELD: high to low ('-FIELD' for low to high), ties by PID."""
    col, descending = _sort_key(field)
    if col not in table.columns:
        col = "TIME+" if col == "TICKS" else col
    by_pid = table.sort_values("PID", kind="stable")
    return by_pid.sort_values(col, ascending=not descending, kind="stable")


def render(snap: Snapshot, width: int = 80, sort: str | None = None,
           max_rows: int | None = None, summary: bool = True) -> str:
    """The snapshot as `top -b -n 1 -w WIDTH` prints it: summary lines, then the table.

    VIRT/RES/SHR show in KiB (with m/g suffixes when too wide), rows keep the table's order
    unless ``sort`` names a column (top's -o), and COMMAND is cut with '+' to fit ``width``.
    """
    validate.whole("width", width, 80, 512, what=("an int from 80 to 512 (top's limit)",
                                                  "80에서 512 사이의 정수(top의 한도)"))
    table = snap.table if sort is None else sort_table(snap.table, sort)
    if max_rows is not None:
        table = table.head(max_rows)
    pw = _pid_width()
    fixed = pw + 1 + sum(w + 1 for w in _WIDTHS.values())
    cw = max(1, width - fixed - 1)  # COMMAND gets the rest of the line, minus its own pad
    heads = [f"{'PID':>{pw}}", f"{'USER':<8}", " PR", " NI", "   VIRT", "   RES", "   SHR", "S",
             " %CPU", " %MEM", "    TIME+", f"{'COMMAND':<{cw}}"]
    lines = _summary_lines(snap.header) if summary else []
    lines.append(" ".join(heads).rstrip())
    mem_total_kib = _f32(snap.header.mem_total // 1024) or 1.0
    ncpu = os.cpu_count() or 1
    cpu_max = 100.0 * ncpu if ncpu > 1 else 99.9  # top caps %CPU (Irix mode) at this
    ticks = (table["TICKS"] if "TICKS" in table.columns
             else (table["TIME+"] * procfs.CLK_TCK).round().astype("int64"))
    for pid, user, pr, ni, virt, res, shr, st, cpu, tk, comm in zip(
            table["PID"], table["USER"], table["PR"], table["NI"], table["VIRT"], table["RES"],
            table["SHR"], table["S"], table["%CPU"], ticks, table["COMMAND"], strict=True):
        res_kib = int(res) // 1024
        cells = [
            f"{_fit(str(pid), pw):>{pw}}", f"{_fit(str(user), 8):<8}",
            f"{'rt' if pr < -99 else _fit(str(pr), 3):>3}", f"{_fit(str(ni), 3):>3}",
            f"{_scale_mem(int(virt) // 1024, 7):>7}", f"{_scale_mem(res_kib, 6):>6}",
            f"{_scale_mem(int(shr) // 1024, 6):>6}", str(st)[:1],
            f"{_scale_pcnt(_f32(min(cpu, cpu_max)), 5):>5}",
            f"{_scale_pcnt(_f32(_f32(res_kib * 100.0) / mem_total_kib), 5):>5}",
            f"{_scale_tics(int(tk), 9):>9}", _fit(_printable(str(comm)), cw),
        ]
        lines.append(" ".join(cells).rstrip())
    return "\n".join(lines)


# --- next to the real top -------------------------------------------------------------------

COMPARED = ("VIRT", "RES", "SHR", "PR", "NI", "S", "USER", "COMMAND")


def _cells(snap: Snapshot) -> dict[int, list[str]]:
    """{pid: the 12 cells of its row} as render() prints them at top's widest (512)."""
    rows = render(snap, width=512, summary=False).splitlines()[1:]
    return {int(r.split(None, 1)[0]): r.split(None, len(COLUMNS) - 1) for r in rows}


def compare_with_top(pids: Iterable[int]) -> pd.DataFrame:
    """Run `top -b -n 1 -w 512 -p ...` and put its VIRT RES SHR PR NI S USER COMMAND next to ours.

    One row per PID; columns are (field, 'ours') and (field, 'top'), memory in KiB as top
    prints it, PR as text ('rt' for real-time). We read just before and just after top:
    ``same`` is True when one of our readings prints exactly as top did, and ``moved`` when
    the process's own numbers changed between our two readings. The raw top output is in
    ``result.attrs['top_output']``.
    """
    wanted = _check_pids(pids)
    if not wanted:
        raise error(ValueError, "give at least one PID, e.g. compare_with_top([os.getpid()])",
                    "PID를 하나 이상 주세요. 예: compare_with_top([os.getpid()])")
    before = _cells(snapshot(0.02, wanted))
    outputs: list[str] = []
    theirs: dict[int, realtop.Row] = {}
    for i in range(0, len(wanted), TOP_PID_LIMIT):  # top -p takes at most 20 PIDs
        out = realtop.run(pids=wanted[i : i + TOP_PID_LIMIT])
        outputs.append(out)
        theirs.update(realtop.parse_frame(out).by_pid())
    after = _cells(snapshot(0.02, wanted))
    # top's cells by column name, in our column order: a toprc's order could not matter
    top_cells = {pid: [row.get(c, "") for c in COLUMNS] for pid, row in theirs.items()}
    cols = [COLUMNS.index(f) for f in COMPARED]

    def key(cells: list[str] | None) -> list[str] | None:
        return None if cells is None else [cells[j] for j in cols]

    records = []
    for pid in wanted:
        theirs_pid = key(top_cells.get(pid))
        readings = [c for c in (after.get(pid), before.get(pid)) if c is not None]
        mine = next((c for c in readings if key(c) == theirs_pid), readings[0] if readings else None)
        rec: dict[tuple[str, str], object] = {}
        for f, j in zip(COMPARED, cols, strict=True):
            for side, cells in (("ours", mine), ("top", top_cells.get(pid))):
                val = None if cells is None else cells[j]
                if val is not None and f in ("VIRT", "RES", "SHR"):
                    val = realtop.kib(val)
                elif val is not None and f == "NI":
                    val = int(val)
                rec[(f, side)] = val
        rec[("same", "")] = theirs_pid is not None and key(mine) == theirs_pid
        rec[("moved", "")] = key(before.get(pid)) != key(after.get(pid))
        records.append(rec)
    result = pd.DataFrame.from_records(records, index=pd.Index(wanted, name="PID"))
    result.columns = pd.MultiIndex.from_tuples(result.columns)
    result.attrs["top_output"] = "\n".join(outputs)
    return result


# --- command line -------------------------------------------------------------------------

def _positive_int(what: tuple[str, str], hint: tuple[str, str]):
    """An argparse type: a word of the command line as a whole number, 1 or more (validate.whole)."""
    def parse(text: str) -> int:
        try:
            return validate.whole(what, int(text), 1, hint=hint)
        except ValueError as e:  # int() or the range
            if text.strip().lstrip("+-").isdigit():
                raise argparse.ArgumentTypeError(str(e)) from None
            raise error(argparse.ArgumentTypeError, "{text!r} is not a whole number; {hint}",
                        "{text!r}은(는) 정수가 아닙니다. {hint}", text=text, hint=pick(*hint)) from None
    return parse


def _pid_list(text: str) -> list[int]:
    hint = ("give PIDs as numbers, e.g. -p 1 -p 42 or -p 1,42 (see `ps -e` for PIDs)",
            "PID를 숫자로 주세요. 예: -p 1 -p 42 또는 -p 1,42 (PID는 `ps -e`로 확인)")
    parse = _positive_int(("a PID", "PID"), hint)
    parts = [p for p in text.split(",") if p.strip()]
    if not parts:
        raise error(argparse.ArgumentTypeError, "empty PID list; {hint}", "PID 목록이 비어 있습니다. {hint}",
                    hint=pick(*hint))
    return [parse(p.strip()) for p in parts]


_DELAY_HINT = ("give the delay in seconds, e.g. -d 1 or -d 0.5", "지연 시간을 초 단위로 주세요. 예: -d 1 또는 -d 0.5")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise error(argparse.ArgumentTypeError, "{text!r} is not a number; {hint}",
                    "{text!r}은(는) 숫자가 아닙니다. {hint}", text=text, hint=pick(*_DELAY_HINT)) from None
    if not 0 < value < 86400:
        raise error(argparse.ArgumentTypeError,
                    "the delay must be more than 0 and less than 86400 seconds, got {text}; {hint}",
                    "지연 시간은 0초보다 크고 86400초보다 작아야 합니다({text}은(는) 쓸 수 없습니다). {hint}",
                    text=text, hint=pick(*_DELAY_HINT))
    return value


def _field(text: str) -> str:
    try:
        _sort_key(text)
    except ValueError:
        raise error(argparse.ArgumentTypeError, "unknown field {text!r}; use one of {known} (e.g. -o %MEM)",
                    "{text!r}(이)라는 필드는 없습니다. {known} 중 하나를 쓰세요(예: -o %MEM).",
                    text=text, known=", ".join(SORT_FIELDS)) from None
    return text


def _width(text: str) -> int:
    value = _positive_int(("the width", "너비"), ("e.g. -w 120", "예: -w 120"))(text)
    if not 80 <= value <= 512:
        raise error(argparse.ArgumentTypeError, "the width must be from 80 to 512 columns, got {value}; e.g. -w 120",
                    "너비는 80에서 512열 사이여야 합니다({value}은(는) 쓸 수 없습니다). 예: -w 120", value=value)
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m kernel_helpers.top",
        description="Print processes the way `top -b` does, from the same /proc files.",
        epilog="Example: python -m kernel_helpers.top -n 2 -d 1 -o %MEM",
    )
    p.add_argument("-b", action="store_true", help="batch mode (always on; accepted for top's sake)")
    p.add_argument("-n", type=_positive_int(("-n", "-n"), ("e.g. -n 3 prints three frames", "예: -n 3은 세 화면을 출력합니다")), default=1,
                   metavar="ITERATIONS", help="frames to print, then exit (default 1)")
    p.add_argument("-d", type=_seconds, default=3.0, metavar="SECONDS",
                   help="seconds between frames (default 3.0, like top)")
    p.add_argument("-p", type=_pid_list, action="append", default=[], metavar="PID[,PID...]",
                   help="only these processes; repeat or separate with commas")
    p.add_argument("-o", type=_field, default="%CPU", metavar="FIELD",
                   help="sort high to low by this column (PID USER PR NI VIRT RES SHR S %%CPU "
                        "%%MEM TIME+ COMMAND); prefix '-' as in -o=-PID for low to high")
    p.add_argument("-w", type=_width, default=None, metavar="WIDTH",
                   help="line width (default: the terminal's, or 80 when piped, like top)")
    return p


def main(argv: list[str] | None = None) -> int:
    """`python -m kernel_helpers.top [-n N] [-d S] [-p PID ...] [-o FIELD] [-w W]`."""
    parser = _parser()
    args = parser.parse_args(argv)
    pids = [pid for group in args.p for pid in group]
    pids = list(dict.fromkeys(pids)) or None
    if pids is not None:
        missing = [p for p in pids if not os.path.exists(os.path.join(procfs.PROC_ROOT, str(p)))]
        if missing:
            parser.error(say(("no process with PID {pids} (it exited, or never existed); pick one from "
                              "`ps -e` or leave out -p",
                              "PID {pids}인 프로세스가 없습니다(끝났거나 처음부터 없었습니다). `ps -e`로 고르거나 "
                              "-p를 빼세요"), None, pids=", ".join(map(str, missing))))
    width = args.w or (shutil.get_terminal_size((80, 24)).columns if sys.stdout.isatty() else 80)
    width = min(512, max(80, width))
    try:
        # the first frame needs an interval too; keep it short, then one -d delay per frame
        with Refresher(pids, first_interval=min(args.d, 0.5)) as refresher:
            for i in range(args.n):
                snap = refresher.refresh(args.d if i else None)
                if i:
                    print()
                print(render(snap, width=width, sort=args.o), flush=True)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. piped into head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0

if __name__ == "__main__":
    sys.exit(main())
