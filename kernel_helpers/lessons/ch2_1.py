"""Chapter 2.1, reading the system's state with top: the real top's first frame and why its CPU
figures need a second one, kernel_helpers.top beside the real top (once), live explanations of each
header line and process column, and finding the biggest memory user. Process states and priority
are chapter 2.4's.

Every sentence a cell prints is built here from a measurement, in the notebook's language.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from .. import FAST, glossary, procfs, quiz, realtop, top
from ..columns import BY_COLUMN
from ..i18n import current_lang, error, pick, say, yes_no
from ..procfs import ProcessGone
from ..safety import fmt_bytes

__all__ = [
    "INTERVAL", "snapshot", "top_output", "run_top", "side_by_side", "cpu_lines", "explain_uptime", "explain_load",
    "explain_tasks", "tasks_bucket", "top_version", "cpu_fields", "mem_fields", "mem_sum", "book_mem_sum", "columns", "biggest", "top_table", "TopUnavailable",
]

#: Seconds between the two samples of a snapshot (top's refresh delay is 3 s; one is enough here).
INTERVAL = 0.3 if FAST else 1.0
#: Seconds between the two frames of `top -b -n 2` when the first frame's CPU figures are compared.
FRAME_DELAY = 0.5 if FAST else 1.0
MiB = 1024 * 1024


def _lang(lang: str | None) -> str:
    return lang or current_lang()


def snapshot(interval: float | None = None, pids: Iterable[int] | None = None) -> top.Snapshot:
    """One refresh of kernel_helpers.top (the chapter's interval unless given)."""
    return top.snapshot(INTERVAL if interval is None else interval, pids)


# --- the real top ---------------------------------------------------------------------------

def top_output(args: str = "-b -n 1") -> str:
    """The text the real `top` prints for ``args`` (batch mode and one frame unless given; 100 columns wide)."""
    try:
        # without a terminal, top needs batch mode and a frame count (realtop adds them); 100
        # columns are wide enough for COMMAND in a notebook
        return realtop.run(shlex.split(args), width=100).rstrip("\n")
    except realtop.TopFailed as e:
        what = " ".join(e.argv)
        raise error(RuntimeError, "{what} failed: {err}; check that procps' top runs in a terminal",
                    "{what} 실행에 실패했습니다: {err}. 터미널에서 procps의 top이 실행되는지 확인하세요",
                    what=what, err=e.stderr) from e


def run_top(args: str = "-b -n 1", lines: int | None = 15) -> None:
    """Run the real `top` with ``args`` and print the command and the first ``lines`` lines of its output."""
    try:
        out = top_output(args)
    except top.TopNotFound as e:
        print(pick("The real top is not installed here, so there is nothing to show. ",
                   "이 시스템에는 top이 설치되어 있지 않아 보여 줄 출력이 없습니다. ") + str(e))
        return
    text_lines = out.splitlines()
    print(f"$ top {args}" + (f" | head -{lines}" if lines else ""))
    print("\n".join(text_lines[:lines] if lines else text_lines))


_COMPARED = ("USER", "PR", "NI", "VIRT", "RES", "SHR", "S", "COMMAND")


def _same_column(lang: str | None = None) -> str:
    return pick("same", "일치", lang)


def _say_agreement(table: pd.DataFrame) -> None:
    same = int((table[_same_column()] == yes_no(True)).sum())
    print(pick(f"top and kernel_helpers.top printed identical fields for {same} of {len(table)} processes.",
               f"프로세스 {len(table)}개 가운데 {same}개에서 top과 kernel_helpers.top이 똑같은 값을 출력했습니다."))
    if same < len(table):
        print(pick(
            "Where a cell shows 'a ≠ b' (kernel_helpers, top), the process changed between the two "
            "readings, which ran a few milliseconds apart: a running process keeps touching memory.",
            "'a ≠ b'(kernel_helpers, top)로 표시된 칸은 몇 밀리초 간격을 둔 두 번의 측정 사이에 프로세스가 "
            "바뀐 경우입니다. 실행 중인 프로세스는 그사이에도 메모리를 건드립니다."))


def side_by_side(pids: Iterable[int]) -> pd.DataFrame:
    """Run `python -m kernel_helpers.top -n 1 -p PIDS` and `top -b -n 1 -p PIDS`; print both, return the comparison.

    Both run as separate programs at the same time, while this Jupyter kernel only waits for them: its
    own row is not disturbed by the reading.
    """
    pids = [int(p) for p in pids]
    try:
        ours, theirs = realtop.run_side_by_side(pids, width=100)
    except realtop.TopNotFound as e:
        print(e)
        return pd.DataFrame()
    pid_list = ",".join(map(str, pids))
    print(f"$ python -m kernel_helpers.top -n 1 -w 100 -p {pid_list}\n{ours}\n")
    print(f"$ top -b -n 1 -w 100 -p {pid_list}\n{theirs}\n")
    a, b = realtop.parse_frame(ours).by_pid(), realtop.parse_frame(theirs).by_pid()
    rows = {}
    for pid in pids:
        if pid in a and pid in b:
            row = {f: _field_text(a[pid][f], b[pid][f]) for f in _COMPARED}
            row[_same_column()] = yes_no(all(a[pid][f] == b[pid][f] for f in _COMPARED))
            rows[pid] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "PID"
    _say_agreement(table)
    return table


def _field_text(before: object, after: object) -> str:
    return str(before) if before == after else f"{before} ≠ {after}"


# --- the header, line by line ------------------------------------------------------------------

def _read_proc(name: str) -> str:
    with open(os.path.join(procfs.PROC_ROOT, name)) as f:
        return f.read().strip()


def _header_lines(snap: top.Snapshot) -> list[str]:
    return snap.to_text(max_rows=0).splitlines()


def explain_uptime(snap: top.Snapshot, lang: str | None = None) -> None:
    """The first header line: clock, uptime and users, with where each comes from."""
    lang = _lang(lang)
    h = snap.header
    print(_header_lines(snap)[0])
    up = int(h.uptime)
    d, hh, mm = up // 86400, up // 3600 % 24, up // 60 % 60
    print(pick(f"  /proc/uptime says {h.uptime:.0f} s since boot = {d} d {hh} h {mm} min.",
               f"  /proc/uptime: 부팅 후 {h.uptime:.0f}초 = {d}일 {hh}시간 {mm}분.", lang))
    if h.users:
        print(pick(f"  {h.users} login session(s) recorded in {procfs.UTMP_PATH}.",
                   f"  {procfs.UTMP_PATH}에 로그인 세션 {h.users}개가 기록되어 있습니다.", lang))
    else:
        print(pick(f"  0 users: nobody logged in through a terminal that writes {procfs.UTMP_PATH} "
                   "(usual in containers, Binder and JupyterHub).",
                   f"  사용자 0명: {procfs.UTMP_PATH}에 기록을 남기는 터미널 로그인이 없습니다"
                   "(컨테이너, Binder, JupyterHub에서는 흔한 일입니다).", lang))
    v = top_version()
    if v is not None and v >= USERS_FROM_LOGIND_SINCE:
        print(pick(f"  The top installed here (procps-ng {_dotted(v)}) asks systemd-logind instead of utmp when the "
                   "system was booted with systemd, so its count can differ.",
                   f"  여기 설치된 top(procps-ng {_dotted(v)})은 systemd로 부팅한 시스템에서는 utmp 대신 "
                   "systemd-logind에 물으므로 값이 다를 수 있습니다.", lang))


def explain_load(snap: top.Snapshot, lang: str | None = None) -> None:
    """The load average against the number of CPUs, and /proc/loadavg's other two fields."""
    lang = _lang(lang)
    h = snap.header
    ncpu = os.cpu_count() or 1
    raw = _read_proc("loadavg")
    runnable, _, total = raw.split()[3].partition("/")
    print(f"/proc/loadavg: {raw}")
    for minutes, value in zip((1, 5, 15), h.load_average, strict=True):
        share = 100 * value / ncpu
        print(pick(f"  {minutes:2d} min: {value:.2f} tasks runnable or in D on average = {share:.0f}% of {ncpu} CPUs",
                   f"  {minutes:2d}분: 실행 가능하거나 D 상태인 태스크 평균 {value:.2f}개 = CPU {ncpu}개의 {share:.0f}%",
                   lang))
    print(pick(f"  right now: {runnable} runnable of {total} threads (the 4th field).",
               f"  지금 이 순간: 스레드 {total}개 가운데 {runnable}개가 실행 가능 상태(4번째 필드).", lang))


_STATE_BUCKET = {"R": "running", "S": "sleeping", "D": "sleeping", "I": "sleeping",
                 "T": "stopped", "t": "stopped", "Z": "zombie"}
#: procps-ng 4.0.5 gave D its own word on the Tasks line (d-sleep); 4.0.1-4.0.4 count it in sleeping.
D_SLEEP_SINCE = (4, 0, 5)
#: procps-ng 4.0.4 counts users with systemd-logind (sd_get_sessions) on a system booted with systemd.
USERS_FROM_LOGIND_SINCE = (4, 0, 4)


def _dotted(v: tuple[int, ...]) -> str:
    return ".".join(map(str, v))


def top_version() -> tuple[int, ...] | None:
    """The installed top's procps-ng version as numbers, e.g. (4, 0, 2); None without a top."""
    m = re.search(r"(\d+(?:\.\d+)+)", realtop.version() or "")
    return tuple(int(x) for x in m.group(1).split(".")) if m else None


def tasks_bucket(state: str, version: tuple[int, ...] | None = None) -> str:
    """Where a top of ``version`` counts ``state`` on the Tasks line (4.0.1-4.0.4 when unknown)."""
    if state == "D" and version is not None and tuple(version) >= D_SLEEP_SINCE:
        return "d-sleep"
    return _STATE_BUCKET[state]


def state_name(state: str, lang: str) -> str:
    """The glossary's name of a state letter without its '(X)' suffix, for tables that show the letter."""
    names = {"R": "running", "S": "sleeping", "D": "uninterruptible_sleep", "I": "idle_kernel_thread",
             "T": "stopped", "t": "tracing_stop", "Z": "zombie"}
    return re.sub(r"\s*\([A-Za-z]\)$", "", glossary.term(names[state], lang))


def explain_tasks(snap: top.Snapshot, lang: str | None = None,
                  version: tuple[int, ...] | None = None) -> pd.DataFrame:
    """The Tasks line as a table: every state letter, its meaning, its count, and where top counts it.

    'counted as' follows ``version`` (default: the top installed here): procps-ng 4.0.5 and later
    count D apart, as d-sleep.
    """
    lang = _lang(lang)
    h = snap.header
    version = top_version() if version is None else tuple(version)
    print(_header_lines(snap)[1])
    rows = [(s, state_name(s, lang), h.states.get(s, 0), tasks_bucket(s, version)) for s in "RSDITtZ"]
    cols = pick("S|meaning|tasks|counted as", "S|뜻|태스크 수|Tasks 줄 항목", lang).split("|")
    table = pd.DataFrame(rows, columns=cols)
    s, d, i = (h.states.get(k, 0) for k in "SDI")
    print(pick(f"  sleeping {h.tasks_sleeping} = S {s} + D {d} + I {i}",
               f"  sleeping {h.tasks_sleeping} = S {s} + D {d} + I {i}", lang))
    if version is None:
        print(pick("  No top here: 'counted as' is what procps-ng 4.0.1-4.0.4 would do.",
                   "  여기에는 top이 없어서, 'Tasks 줄 항목'은 procps-ng 4.0.1-4.0.4 기준입니다.", lang))
    elif version >= D_SLEEP_SINCE:
        print(pick(f"  The top installed here (procps-ng {_dotted(version)}) counts D apart: its line reads "
                   f"sleep {s + i} (S + I) and d-sleep {d} (D).",
                   f"  여기 설치된 top(procps-ng {_dotted(version)})은 D를 따로 셉니다. 그 줄에는 "
                   f"sleep {s + i}(S + I)와 d-sleep {d}(D)가 나옵니다.", lang))
    else:
        print(pick(f"  'counted as' follows the top installed here, procps-ng {_dotted(version)}; from 4.0.5 "
                   "top counts D apart, as d-sleep.",
                   f"  'Tasks 줄 항목'은 여기 설치된 top(procps-ng {_dotted(version)})을 따릅니다. 4.0.5부터 "
                   "top은 D를 d-sleep으로 따로 셉니다.", lang))
    return table


_CPU_MEANING = {
    "us": ("user: running programs' own code (nice <= 0)", "user: 프로그램 자신의 코드 실행(nice <= 0)"),
    "sy": ("system: running kernel code for programs (system calls, page faults)",
           "system: 프로그램을 위해 커널 코드 실행(시스템 콜, 페이지 폴트)"),
    "ni": ("nice: user code of processes with nice > 0", "nice: nice > 0인 프로세스의 사용자 코드"),
    "id": ("idle: nothing to run", "idle: 실행할 것이 없음"),
    "wa": ("iowait: idle, while some I/O this CPU started is still pending",
           "iowait: 유휴 상태이지만 이 CPU가 시작한 I/O가 아직 끝나지 않음"),
    "hi": ("hardware interrupts", "하드웨어 인터럽트 처리"),
    "si": ("software interrupts (network, timers, block I/O completion)",
           "소프트웨어 인터럽트 처리(네트워크, 타이머, 블록 I/O 완료)"),
    "st": ("steal: this virtual CPU was ready to run while the hypervisor ran something else (another VM, or itself)",
           "steal: 이 가상 CPU가 실행될 준비가 되어 있었는데 하이퍼바이저가 다른 일(다른 VM이나 자신)을 실행"),
}
_CPU_STAT_COLUMN = {"us": "user", "sy": "system", "ni": "nice", "id": "idle", "wa": "iowait",
                    "hi": "irq", "si": "softirq", "st": "steal"}


def cpu_fields(snap: top.Snapshot, lang: str | None = None) -> pd.DataFrame:
    """The %Cpu(s) line as a table: each field, what it counts, the /proc/stat column, and the value."""
    lang = _lang(lang)
    print(_header_lines(snap)[2])
    print(pick(f"  measured over {snap.header.interval:.2f} s on all {os.cpu_count()} CPUs together",
               f"  CPU {os.cpu_count()}개 전체를 {snap.header.interval:.2f}초 동안 측정", lang))
    rows = [(k, pick(*_CPU_MEANING[k], lang), _CPU_STAT_COLUMN[k], round(snap.header.cpu[k], 1))
            for k in top.CPU_ORDER]
    cols = pick("field|what the CPUs did|/proc/stat column|%", "필드|CPU가 한 일|/proc/stat 열|%", lang).split("|")
    return pd.DataFrame(rows, columns=cols)


def cpu_lines(delay: float | None = None, lang: str | None = None) -> None:
    """The %Cpu(s) line of both frames of `top -b -n 2 -d DELAY`, each labelled with the time it covers."""
    lang = _lang(lang)
    delay = FRAME_DELAY if delay is None else delay
    out = top_output(f"-b -n 2 -d {delay}")
    first, second = [ln for ln in out.splitlines() if ln.startswith("%Cpu(s)")][:2]
    print(f"$ top -b -n 2 -d {delay} | grep Cpu")
    print(first + pick("   <- frame 1: only the moment since top started",
                       "   <- 첫 번째 화면: top이 시작한 직후의 짧은 순간뿐", lang))
    print(second + pick(f"   <- frame 2: the {delay} s between the frames",
                        f"   <- 두 번째 화면: 두 화면 사이의 {delay}초", lang))


def _mib(n: int) -> float:
    return round(n / MiB, 1)


def mem_fields(snap: top.Snapshot, lang: str | None = None) -> pd.DataFrame:
    """The Mem and Swap lines as a table: each field, its /proc/meminfo source, and its value in MiB."""
    lang = _lang(lang)
    print("\n".join(_header_lines(snap)[3:5]))
    h = snap.header
    rows = [
        ("Mem", "total", "MemTotal", _mib(h.mem_total)),
        ("Mem", "free", "MemFree", _mib(h.mem_free)),
        ("Mem", "used", "MemTotal - MemAvailable", _mib(h.mem_used)),
        ("Mem", "buff/cache", "Buffers + Cached + SReclaimable", _mib(h.mem_buff_cache)),
        ("Swap", "total", "SwapTotal", _mib(h.swap_total)),
        ("Swap", "free", "SwapFree", _mib(h.swap_free)),
        ("Swap", "used", "SwapTotal - SwapFree", _mib(h.swap_used)),
        ("Swap", "avail Mem", "MemAvailable", _mib(h.mem_avail)),
    ]
    cols = pick("line|field|from /proc/meminfo|MiB", "줄|필드|/proc/meminfo 출처|MiB", lang).split("|")
    return pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True)
class MemSum:
    """free + used + buff/cache against total, in MiB as top prints them."""

    total: float
    free: float
    used: float
    buff_cache: float
    avail: float

    @property
    def sum(self) -> float:
        return round(self.free + self.used + self.buff_cache, 1)

    @property
    def gap(self) -> float:
        """sum - total: positive when the three add up to more than total."""
        return round(self.sum - self.total, 1)

    @property
    def old_used(self) -> float:
        """What procps-ng before 4.0.1 printed as used: total - free - buff/cache."""
        return round(self.total - self.free - self.buff_cache, 1)


def book_mem_sum() -> MemSum:
    """The Mem line of the book's own screenshot (procps-ng 4.x, a 1 GiB VM)."""
    return MemSum(total=957.3, free=212.9, used=349.6, buff_cache=558.7, avail=607.8)


def mem_sum(snap: top.Snapshot, lang: str | None = None, show: bool = True) -> MemSum:
    """Add free + used + buff/cache on this machine and say how far from total the sum lands, and why."""
    lang = _lang(lang)
    h = snap.header
    m = MemSum(_mib(h.mem_total), _mib(h.mem_free), _mib(h.mem_used), _mib(h.mem_buff_cache), _mib(h.mem_avail))
    if show:
        for label, x in ((pick("this machine", "이 시스템", lang), m), (pick("the book", "책의 화면", lang), book_mem_sum())):
            sign = ">" if x.gap > 0.1 else "<" if x.gap < -0.1 else "="
            print(f"{label:>12}: free {x.free} + used {x.used} + buff/cache {x.buff_cache} = {x.sum} "
                  f"{sign} total {x.total}  ({x.gap:+.1f} MiB)")
        print(pick(
            f"The gap is free + buff/cache - avail Mem = {m.free} + {m.buff_cache} - {m.avail} "
            f"= {m.free + m.buff_cache - m.avail:+.1f} MiB: memory counted as free or cache that the kernel "
            f"would not hand out right away (its own reserve of free pages, a low watermark's worth each of page "
            f"cache and reclaimable slab that it assumes it cannot free, and cache it cannot drop, such as "
            f"shared memory). A top older than procps-ng 4.0.1 would print used = total - free - "
            f"buff/cache = {m.old_used} MiB here, and the three would add up exactly.",
            f"차이는 free + buff/cache - avail Mem = {m.free} + {m.buff_cache} - {m.avail} "
            f"= {m.free + m.buff_cache - m.avail:+.1f} MiB입니다. free나 캐시로 잡혀 있지만 커널이 바로 내주지 "
            f"않는 메모리(커널이 비워 두는 예비 페이지, 회수하지 못한다고 보고 빼 두는 페이지 캐시와 회수 가능 slab의 "
            f"low watermark만큼씩, 공유 메모리처럼 버릴 수 없는 캐시)입니다. procps-ng 4.0.1보다 오래된 top이라면 여기서 used = total - free - buff/cache "
            f"= {m.old_used} MiB를 출력했을 것이고, 세 값을 더하면 total과 정확히 맞았을 것입니다.", lang))
    return m


# --- the process columns ------------------------------------------------------------------------

# What each column means and where it comes from: columns.METRICS, the table the widgets' tooltips
# and the glossary read too (BY_COLUMN finds an entry by top's column name).


def _row_cells(snap: top.Snapshot, pid: int) -> dict[str, str]:
    """The cells of one PID's row as top prints them (from kernel_helpers.top's rendering)."""
    one = top.Snapshot(snap.header, snap.table[snap.table["PID"] == pid])
    line = one.to_text(width=200, summary=False).splitlines()[1]
    return dict(zip(top.COLUMNS, line.split(None, len(top.COLUMNS) - 1), strict=True))


def columns(pid: int | None = None, lang: str | None = None, snap: top.Snapshot | None = None) -> pd.DataFrame:
    """Every process column: its value for ``pid`` (this Jupyter kernel by default) as top prints it, meaning, source."""
    lang = _lang(lang)
    pid = os.getpid() if pid is None else int(pid)
    snap = snap or snapshot(pids=[pid])
    if pid not in set(snap.table["PID"]):
        raise ProcessGone(pid)
    cells = _row_cells(snap, pid)
    rows = []
    for col in top.COLUMNS:
        m = BY_COLUMN[col]
        rows.append((col, cells[col], m.description(lang), m.where(lang)))
    cols = pick(f"column|PID {pid}|meaning|source", f"열|PID {pid}|뜻|출처", lang).split("|")
    return pd.DataFrame(rows, columns=cols)


# --- who uses the memory --------------------------------------------------------------------------

def biggest(snap: top.Snapshot, by: str = "RES", n: int = 5) -> pd.DataFrame:
    """The ``n`` processes with the most ``by`` (RES, VIRT or SHR), sizes in the unit that fits (KiB ... TiB)."""
    if by not in ("RES", "VIRT", "SHR"):
        raise error(ValueError, "by must be RES, VIRT or SHR, not {by!r}",
                    "by는 RES, VIRT, SHR 가운데 하나여야 합니다({by!r}은(는) 쓸 수 없습니다)", by=by)
    t = top.sort_table(snap.table, by).head(n)
    out = t[["PID", "USER", "COMMAND", "VIRT", "RES", "SHR", "%MEM"]].copy()
    for col in ("VIRT", "RES", "SHR"):
        out[col] = out[col].map(fmt_bytes)
    out["%MEM"] = out["%MEM"].round(1)
    return out.reset_index(drop=True)


# --- the live table ---------------------------------------------------------------------------------

class TopUnavailable(RuntimeError):
    """The live table widget is not available here (kernel_helpers.widgets or ipywidgets missing)."""


#: The live table refreshes this often (top's own default delay is 3 s).
LIVE_INTERVAL = 0.5 if FAST else 2.0


def top_table(sort: str = "%CPU", highlight: Iterable[int] = (), max_rows: int = 15):
    """Display the live top table (kernel_helpers.widgets TopTable) and return it; ``.close()`` stops it."""
    try:
        from ..widgets.toptable import TopTable
    except ImportError as e:
        raise TopUnavailable(pick("the live table needs kernel_helpers.widgets and ipywidgets: "
                                  "run `make venv` (or `pip install -e .`) and restart the Jupyter kernel",
                                  "실시간 표에는 kernel_helpers.widgets와 ipywidgets가 필요합니다. "
                                  "`make venv`(또는 `pip install -e .`)를 실행하고 주피터 커널을 다시 시작하세요")) from e
    return TopTable(LIVE_INTERVAL, sort, max_rows=max_rows, key="ch2_1", highlight=tuple(highlight)).show()


# --- prediction questions -------------------------------------------------------------------------

def _judge_sum(m: MemSum) -> int:
    return 0 if abs(m.gap) <= 0.2 else (1 if m.gap > 0 else 2)


def _explain_sum(m: MemSum) -> tuple[str, str]:
    return (
        f"free + used + buff/cache = {m.sum} MiB against total {m.total} MiB ({m.gap:+.1f} MiB). Since "
        "procps-ng 4.0.1, used is MemTotal - MemAvailable, so the cache the kernel can reclaim is "
        "counted in buff/cache and left out of used, while the cache it cannot drop, the free pages it "
        "keeps in reserve and the low watermark's worth of cache and slab it holds back are counted twice: "
        "the three no longer add up to total.",
        f"free + used + buff/cache = {m.sum} MiB, total은 {m.total} MiB입니다({m.gap:+.1f} MiB). "
        "procps-ng 4.0.1부터 used는 MemTotal - MemAvailable이라서, 커널이 회수할 수 있는 캐시는 "
        "buff/cache에만 들어가고, 버릴 수 없는 캐시, 커널이 예비로 남겨 두는 빈 페이지, low watermark만큼 "
        "빼 두는 캐시와 slab은 두 번 들어갑니다. "
        "그래서 세 값을 더해도 total이 되지 않습니다.",
    )


quiz.register(quiz.Question(
    id="2.1-mem-sum",
    prompt=("On the Mem line, add free + used + buff/cache. Compared with total, the sum is ...",
            "Mem 줄에서 free + used + buff/cache를 더하면, total과 비교해 ..."),
    options=[("exactly total", "total과 정확히 같다"), ("more than total", "total보다 크다"),
             ("less than total", "total보다 작다")],
    judge=_judge_sum, explain=_explain_sum,
))


def _judge_virt_res(snap: top.Snapshot) -> int:
    t = snap.table
    return 0 if int(top.sort_table(t, "VIRT").iloc[0]["PID"]) == int(top.sort_table(t, "RES").iloc[0]["PID"]) else 1


def _explain_virt_res(snap: top.Snapshot) -> tuple[str, str]:
    v, r = top.sort_table(snap.table, "VIRT").iloc[0], top.sort_table(snap.table, "RES").iloc[0]
    kw = dict(vpid=int(v["PID"]), vcmd=v["COMMAND"], vvirt=fmt_bytes(v["VIRT"]), vres=fmt_bytes(v["RES"]),
              rpid=int(r["PID"]), rcmd=r["COMMAND"], rres=fmt_bytes(r["RES"]), rvirt=fmt_bytes(r["VIRT"]))
    if _judge_virt_res(snap) == 0:
        en, ko = (
            "Here one process leads both lists: PID {vpid} ({vcmd}), VIRT {vvirt}, RES {vres}. That is this "
            "machine's situation, not a rule: its address space is still {vvirt} against {vres} in RAM, and on "
            "most machines a process with a big reservation (a browser, a JVM) tops VIRT while another holds "
            "more RAM. Sort by RES to find the memory user.",
            "여기서는 한 프로세스가 두 목록 모두 1위입니다. PID {vpid}({vcmd}), VIRT {vvirt}, RES {vres}. "
            "규칙이 아니라 이 시스템의 사정일 뿐입니다. 이 프로세스도 주소 공간은 {vvirt}, RAM에 있는 것은 "
            "{vres}뿐입니다. 대부분의 시스템에서는 주소 공간을 크게 예약하는 프로세스(브라우저, JVM)가 VIRT 1위를 "
            "차지하고, RAM은 다른 프로세스가 더 많이 씁니다. 메모리를 쓰는 프로세스는 RES로 정렬해서 찾습니다.")
    else:
        en, ko = (
            "Two different processes. Largest VIRT: PID {vpid} ({vcmd}), {vvirt} of address space, of which "
            "{vres} is in RAM. Largest RES: PID {rpid} ({rcmd}), {rres} in RAM (VIRT {rvirt}). VIRT counts every "
            "address range a process has mapped, used or not, so it says little about RAM; RES is what sits in RAM.",
            "서로 다른 프로세스입니다. VIRT 1위: PID {vpid}({vcmd}), 주소 공간 {vvirt} 가운데 RAM에 있는 것은 "
            "{vres}. RES 1위: PID {rpid}({rcmd}), RAM {rres}(VIRT {rvirt}). VIRT는 실제로 썼든 "
            "안 썼든 매핑한 주소 범위를 모두 세므로 RAM 사용량을 거의 알려 주지 않습니다. RAM에 있는 것은 RES입니다.")
    return say((en, ko), "en", **kw), say((en, ko), "ko", **kw)


quiz.register(quiz.Question(
    id="2.1-virt-res",
    prompt=("On this machine, is the process with the largest VIRT also the one with the largest RES?",
            "이 시스템에서 VIRT가 가장 큰 프로세스가 RES도 가장 클까요?"),
    options=[("yes, one process leads both", "예, 한 프로세스가 둘 다 1위다"),
             ("no, two different processes", "아니요, 서로 다른 프로세스다")],
    judge=_judge_virt_res, explain=_explain_virt_res,
))
