"""Chapter 2.1, reading the system's state with top: live explanations of every header line and
column, small processes in the states top shows (stopped, zombie, niced, busy), the real top
next to kernel_helpers.top, and the chapter's prediction questions.

Every sentence a cell prints is built here from a measurement, in the notebook's language.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from .. import FAST, children, glossary, procfs, quiz, realtop, top
from ..columns import BY_COLUMN
from ..i18n import current_lang, pick
from ..procfs import ProcessGone

__all__ = [
    "INTERVAL", "snapshot", "top_output", "run_top", "run_cli", "side_by_side", "agreement",
    "header_agreement", "cpu_lines", "explain_uptime", "explain_load", "explain_tasks", "cpu_fields", "mem_fields", "mem_sum",
    "book_mem_sum", "columns", "priority_check", "time_plus", "StateDemos", "state_demos",
    "busy_process", "biggest", "top_table", "TopUnavailable",
]

#: Seconds between the two samples of a snapshot (top's refresh delay is 3 s; one is enough here).
INTERVAL = 0.3 if FAST else 1.0
#: The demo processes end by themselves after this many seconds, whatever happens to the notebook.
DEMO_LIFETIME = 120 if FAST else 1800
#: How long the busy process keeps its threads busy (enough for one snapshot and one real top).
BUSY_SECONDS = 2.5 if FAST else 4.0
BUSY_INTERVAL = 0.5 if FAST else 1.0
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
        raise RuntimeError(pick(f"{what} failed: {e.stderr}", f"{what} 실행 실패: {e.stderr}")) from e


def run_top(args: str = "-b -n 1", lines: int | None = 15) -> None:
    """Run the real `top` with ``args`` and print the command and the first ``lines`` lines of its output."""
    try:
        out = top_output(args)
    except top.TopNotFound as e:
        print(pick("The real top is not installed here, so there is nothing to show. ",
                   "이 컴퓨터에는 top이 설치되어 있지 않아 보여 줄 출력이 없습니다. ") + str(e))
        return
    text_lines = out.splitlines()
    print(f"$ top {args}" + (f" | head -{lines}" if lines else ""))
    print("\n".join(text_lines[:lines] if lines else text_lines))


def run_cli(pids: Iterable[int], args: str = "-n 1 -w 100", show: bool = True) -> str:
    """Run ``python -m kernel_helpers.top ARGS -p PIDS`` in a fresh Python, print and return its output."""
    argv, out = realtop.run_cli(pids, shlex.split(args))
    if show:
        print("$ " + " ".join(["python", *argv[1:]]))
        print(out.rstrip("\n"))
    return out


_COMPARED = ("USER", "PR", "NI", "VIRT", "RES", "SHR", "S", "COMMAND")


def _say_agreement(table: pd.DataFrame) -> None:
    same = int(table["same"].sum())
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

    Both run as separate programs at the same time, while this kernel only waits for them: its
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
            row["same"] = all(a[pid][f] == b[pid][f] for f in _COMPARED)
            rows[pid] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "PID"
    _say_agreement(table)
    return table


def _field_text(before: object, after: object) -> str:
    return str(before) if before == after else f"{before} ≠ {after}"


def agreement(pids: Iterable[int], show: bool = True) -> pd.DataFrame:
    """Run the real top for ``pids`` next to kernel_helpers.top (top.compare_with_top); return the fields.

    A cell reads "x" when both print x, "x ≠ y" (ours, top's) where they differ; VIRT RES SHR in KiB.
    """
    cmp = top.compare_with_top([int(p) for p in pids])
    rows = []
    for pid in cmp.index:
        row = {f: _field_text(cmp.loc[pid, (f, "ours")], cmp.loc[pid, (f, "top")]) for f in _COMPARED}
        row["same"] = bool(cmp.loc[pid, ("same", "")])
        rows.append(row)
    table = pd.DataFrame(rows, index=cmp.index)
    if show:
        _say_agreement(table)
    return table


def header_agreement(snap: top.Snapshot | None = None) -> pd.DataFrame:
    """The real top's summary numbers next to a snapshot's, taken a moment apart (MiB as top prints them)."""
    snap = snap or snapshot()
    theirs = realtop.parse_frame(top_output("-b -n 1"))
    h = snap.header
    mib = 1024 * 1024
    pairs = [
        ("Tasks", "total", theirs.tasks["total"], h.tasks_total),
        ("Mem", "total", theirs.mem["total"], round(h.mem_total / mib, 1)),
        ("Mem", "free", theirs.mem["free"], round(h.mem_free / mib, 1)),
        ("Mem", "used", theirs.mem["used"], round(h.mem_used / mib, 1)),
        ("Mem", "buff/cache", theirs.mem["buff/cache"], round(h.mem_buff_cache / mib, 1)),
        ("Swap", "total", theirs.swap["total"], round(h.swap_total / mib, 1)),
        ("Swap", "avail Mem", theirs.swap["avail Mem"], round(h.mem_avail / mib, 1)),
    ]
    table = pd.DataFrame(pairs, columns=["line", "field", "top", "kernel_helpers"])
    table["top"] = table["top"].astype(float)
    table["kernel_helpers"] = table["kernel_helpers"].astype(float)
    return table


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
                   f"  사용자 0명: {procfs.UTMP_PATH}에 기록을 남기는 터미널 로그인이 없습니다 "
                   "(컨테이너, Binder, JupyterHub에서는 흔한 일입니다).", lang))


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
        print(pick(f"  {minutes:2d} min: {value:.2f} tasks wanted a CPU on average = {share:.0f}% of {ncpu} CPUs",
                   f"  {minutes:2d}분: 평균 {value:.2f}개 태스크가 CPU를 원함 = CPU {ncpu}개의 {share:.0f}%", lang))
    print(pick(f"  right now: {runnable} runnable of {total} threads (the 4th field).",
               f"  지금 이 순간: 스레드 {total}개 가운데 {runnable}개가 실행 가능 상태 (4번째 필드).", lang))


_STATE_BUCKET = {"R": "running", "S": "sleeping", "D": "sleeping", "I": "sleeping",
                 "T": "stopped", "t": "stopped", "Z": "zombie"}


def explain_tasks(snap: top.Snapshot, lang: str | None = None) -> pd.DataFrame:
    """The Tasks line as a table: every state letter, its meaning, its count, and where top counts it."""
    lang = _lang(lang)
    h = snap.header
    print(_header_lines(snap)[1])
    names = {"R": "running", "S": "sleeping", "D": "uninterruptible_sleep", "I": "idle_kernel_thread",
             "T": "stopped", "t": "tracing_stop", "Z": "zombie"}
    rows = [(s, glossary.term(names[s], lang), h.states.get(s, 0), _STATE_BUCKET[s]) for s in "RSDITtZ"]
    cols = pick("S|meaning|tasks|counted as", "S|뜻|태스크 수|Tasks 줄에서", lang).split("|")
    table = pd.DataFrame(rows, columns=cols)
    s, d, i = (h.states.get(k, 0) for k in "SDI")
    print(pick(f"  sleeping {h.tasks_sleeping} = S {s} + D {d} + I {i}",
               f"  sleeping {h.tasks_sleeping} = S {s} + D {d} + I {i}", lang))
    return table


_CPU_MEANING = {
    "us": ("user: running programs' own code (nice <= 0)", "user: 프로그램 자신의 코드 실행 (nice <= 0)"),
    "sy": ("system: running kernel code for programs (system calls, page faults)",
           "system: 프로그램을 위해 커널 코드 실행 (시스템 콜, 페이지 폴트)"),
    "ni": ("nice: user code of processes with nice > 0", "nice: nice > 0인 프로세스의 사용자 코드"),
    "id": ("idle: nothing to run", "idle: 실행할 것이 없음"),
    "wa": ("iowait: idle, while some I/O this CPU started is still pending",
           "iowait: 유휴 상태이지만 이 CPU가 시작한 I/O가 아직 끝나지 않음"),
    "hi": ("hardware interrupts", "하드웨어 인터럽트 처리"),
    "si": ("software interrupts (network, timers, block I/O completion)",
           "소프트웨어 인터럽트 처리 (네트워크, 타이머, 블록 I/O 완료)"),
    "st": ("steal: the hypervisor ran another VM on this virtual CPU", "steal: 하이퍼바이저가 이 가상 CPU에서 다른 VM을 실행"),
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
    """The %Cpu(s) line of both frames of `top -b -n 2 -d DELAY`: the first covers only a few milliseconds."""
    lang = _lang(lang)
    delay = BUSY_INTERVAL if delay is None else delay
    out = top_output(f"-b -n 2 -d {delay}")
    first, second = [ln for ln in out.splitlines() if ln.startswith("%Cpu(s)")][:2]
    print(f"$ top -b -n 2 -d {delay} | grep Cpu")
    print(first + pick("   <- frame 1: a few milliseconds after start", "   <- 1번째 화면: 시작 후 몇 밀리초", lang))
    print(second + pick(f"   <- frame 2: the {delay} s between the frames", f"   <- 2번째 화면: 두 화면 사이의 {delay}초", lang))


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
        for label, x in ((pick("this machine", "이 컴퓨터", lang), m), (pick("the book", "책의 화면", lang), book_mem_sum())):
            sign = ">" if x.gap > 0.1 else "<" if x.gap < -0.1 else "="
            print(f"{label:>12}: free {x.free} + used {x.used} + buff/cache {x.buff_cache} = {x.sum} "
                  f"{sign} total {x.total}  ({x.gap:+.1f} MiB)")
        print(pick(
            f"The gap is free + buff/cache - avail Mem = {m.free} + {m.buff_cache} - {m.avail} "
            f"= {m.free + m.buff_cache - m.avail:+.1f} MiB: memory counted as free or cache that the kernel "
            f"would not hand out right away (its own reserve of free pages, and cache it cannot drop, such "
            f"as shared memory). A top older than procps-ng 4.0.1 would print used = total - free - "
            f"buff/cache = {m.old_used} MiB here, and the three would add up exactly.",
            f"차이는 free + buff/cache - avail Mem = {m.free} + {m.buff_cache} - {m.avail} "
            f"= {m.free + m.buff_cache - m.avail:+.1f} MiB입니다. free나 캐시로 잡혀 있지만 커널이 바로 내주지 "
            f"않는 메모리입니다 (커널이 비워 두는 예비 페이지, 그리고 공유 메모리처럼 버릴 수 없는 캐시). procps-ng 4.0.1보다 오래된 top이라면 여기서 used = total - free - buff/cache "
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
    """Every process column: its value for ``pid`` (this kernel by default) as top prints it, meaning, source."""
    lang = _lang(lang)
    pid = os.getpid() if pid is None else int(pid)
    snap = snap or snapshot(pids=[pid])
    if pid not in set(snap.table["PID"]):
        raise ProcessGone(pid)
    cells = _row_cells(snap, pid)
    rows = []
    for col in top.COLUMNS:
        m = BY_COLUMN[col]
        rows.append((col, cells[col], m.description(lang), m.source))
    cols = pick(f"column|PID {pid}|meaning|source", f"열|PID {pid}|뜻|출처", lang).split("|")
    return pd.DataFrame(rows, columns=cols)


def priority_check(snap: top.Snapshot, lang: str | None = None) -> pd.DataFrame:
    """Check PR = 20 + NI on every normal task; return one example row per kind of priority."""
    lang = _lang(lang)
    t = snap.table
    normal = t[t["PR"] >= 0]
    ok = int((normal["PR"] == 20 + normal["NI"]).sum())
    rt = t[t["PR"] < 0]
    print(pick(f"Normal tasks (PR >= 0): {ok} of {len(normal)} have PR = 20 + NI.",
               f"일반 태스크(PR >= 0): {len(normal)}개 가운데 {ok}개가 PR = 20 + NI입니다.", lang))
    print(pick(f"Real-time tasks (PR < 0, printed as a negative number or 'rt' at PR -100): {len(rt)}.",
               f"실시간 태스크(PR < 0, 음수로 출력하고 PR -100이면 'rt'로 출력): {len(rt)}개.", lang))
    kinds = [
        (pick("nice 0", "nice 0", lang), t[(t["PR"] >= 0) & (t["NI"] == 0)]),
        (pick("negative nice (more CPU)", "음수 nice (CPU 더 받음)", lang), t[(t["PR"] >= 0) & (t["NI"] < 0)]),
        (pick("positive nice (yields)", "양수 nice (양보함)", lang), t[(t["PR"] >= 0) & (t["NI"] > 0)]),
        (pick("real-time", "실시간", lang), rt[rt["PR"] > -100]),
        (pick("real-time, top priority ('rt')", "실시간 최고 우선순위 ('rt')", lang), rt[rt["PR"] <= -100]),
    ]
    rows = []
    for label, part in kinds:
        if len(part):
            r = part.sort_values("PID").iloc[0]
            pr = "rt" if r["PR"] <= -100 else str(r["PR"])
            rows.append((label, int(r["PID"]), r["COMMAND"], pr, int(r["NI"]), len(part)))
    cols = pick("kind|PID|COMMAND|PR|NI|how many", "종류|PID|COMMAND|PR|NI|개수", lang).split("|")
    return pd.DataFrame(rows, columns=cols)


def time_plus(ticks: int) -> str:
    """TIME+ as top prints it below 6 hours: minutes:seconds.hundredths (e.g. 6397 ticks -> '1:03.97')."""
    hundredths = int(ticks) * 100 // procfs.CLK_TCK
    minutes, rest = divmod(hundredths, 6000)
    return f"{minutes}:{rest // 100:02d}.{rest % 100:02d}"


def explain_time_plus(snap: top.Snapshot, lang: str | None = None) -> None:
    """The busiest process by CPU time: its ticks and how they become TIME+."""
    lang = _lang(lang)
    r = snap.table.sort_values("TICKS", ascending=False).iloc[0]
    ticks = int(r["TICKS"])
    print(pick(f"Most CPU time so far: PID {r['PID']} ({r['COMMAND']}), utime + stime = {ticks} ticks "
               f"of 1/{procfs.CLK_TCK} s = {ticks / procfs.CLK_TCK:.2f} s -> TIME+ {time_plus(ticks)}",
               f"지금까지 CPU 시간을 가장 많이 쓴 프로세스: PID {r['PID']} ({r['COMMAND']}), utime + stime = "
               f"{ticks}틱 (1틱 = 1/{procfs.CLK_TCK}초) = {ticks / procfs.CLK_TCK:.2f}초 -> TIME+ {time_plus(ticks)}",
               lang))


# --- processes in the states top shows -----------------------------------------------------------

@dataclass
class StateDemos:
    """Small processes in the states top shows: stopped (T), a zombie (Z) with its parent, niced (NI 10).

    Use as ``with state_demos() as demos:``; leaving the block kills and reaps them all (they are
    kernel_helpers.children). The measurements stay in ``demos.measured`` for the prediction
    checks after the block.
    """

    procs: children.Group | None = None
    pids: dict[str, int] = field(default_factory=dict)
    measured: pd.DataFrame | None = None

    def start(self) -> StateDemos:
        self.procs = children.Group(stopped=children.stopped(DEMO_LIFETIME), parent=children.zombie(DEMO_LIFETIME),
                                    niced=children.niced(10, DEMO_LIFETIME)).start()
        self.pids = self.procs.pids()  # stopped, parent, zombie, niced
        return self

    def stop(self) -> None:
        """End every demo process (the zombie goes when its parent does) and reap them."""
        if self.procs is not None:
            self.procs.stop()
        self.procs = None

    def __enter__(self) -> StateDemos:
        return self.start() if self.procs is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def table(self, snap: top.Snapshot | None = None) -> pd.DataFrame:
        """The demo processes' rows from a snapshot, with a 'role' column; also kept in ``measured``."""
        snap = snap or snapshot(pids=list(self.pids.values()))
        t = snap.table[snap.table["PID"].isin(self.pids.values())].copy()
        role_of = {pid: role for role, pid in self.pids.items()}
        t.insert(0, "role", t["PID"].map(role_of))
        t = t.set_index("role").loc[[r for r in self.pids if self.pids[r] in set(t["PID"])]]
        self.measured = t
        return t

    def show(self) -> None:
        """Print the demo processes as kernel_helpers.top shows them, then as the real top does."""
        pids = list(self.pids.values())
        snap = snapshot(pids=pids)
        self.table(snap)
        print(pick("kernel_helpers.top, these PIDs only:", "kernel_helpers.top, 이 PID들만:"))
        print(snap.to_text(width=100, summary=False))
        print()
        run_top("-b -n 1 -p " + ",".join(map(str, pids)), lines=None)


def state_demos() -> StateDemos:
    """Start the stopped, zombie and niced demo processes (use in a ``with`` block)."""
    return StateDemos().start()


@dataclass(frozen=True)
class BusyResult:
    pid: int
    threads: int
    cpus: int
    ours: float  # %CPU from kernel_helpers.top
    top: float  # %CPU from the real top's second frame
    state: str
    virt: int


def busy_process(threads: int | None = None, show: bool = True) -> BusyResult:
    """Run a process with ``threads`` busy threads (default: one per CPU, at most 4) and measure its %CPU.

    It runs for BUSY_SECONDS at most and is killed right after the measurement.
    """
    cpus = os.cpu_count() or 1
    n = min(cpus, 4) if threads is None else int(threads)
    if not 1 <= n <= 8:
        raise ValueError(f"threads must be between 1 and 8, got {threads}")
    with children.busy(n, seconds=BUSY_SECONDS) as p:
        snap = snapshot(BUSY_INTERVAL, [p.pid])
        frames = top_output(f"-b -n 2 -d {BUSY_INTERVAL} -p {p.pid}")
    row = snap.table.iloc[0]
    second = realtop.parse(frames)[-1]  # the first frame covers only a few milliseconds
    res = BusyResult(p.pid, n, cpus, float(row["%CPU"]), float(second.rows[0]["%CPU"]), str(row["S"]),
                     int(row["VIRT"]))
    if show:
        print(snap.to_text(width=100, summary=False))
        print(pick(f"{n} busy thread(s) on {cpus} CPU(s): kernel_helpers.top says %CPU {res.ours:.1f}, "
                   f"the real top (second frame of -n 2 -d {BUSY_INTERVAL}) says {res.top:.1f}.",
                   f"CPU {cpus}개에서 바쁜 스레드 {n}개. kernel_helpers.top의 %CPU: {res.ours:.1f}, "
                   f"실제 top(-n 2 -d {BUSY_INTERVAL}의 두 번째 화면)의 %CPU: {res.top:.1f}."))
        if res.state != "R":
            print(pick(f"Its S column says {res.state}, not R: for a process, top shows the state of the main "
                       "thread, which here just waits for the busy ones (top -H lists every thread).",
                       f"S 열은 R이 아니라 {res.state}입니다. top은 프로세스의 상태로 메인 스레드의 상태를 보여 주는데, "
                       "여기서 메인 스레드는 바쁜 스레드들이 끝나기를 기다리고 있을 뿐입니다 (top -H는 스레드를 하나씩 보여 줍니다)."))
    return res


# --- who uses the memory --------------------------------------------------------------------------

def biggest(snap: top.Snapshot, by: str = "RES", n: int = 5) -> pd.DataFrame:
    """The ``n`` processes with the most ``by`` (RES or VIRT), memory in MiB."""
    if by not in ("RES", "VIRT", "SHR"):
        raise ValueError(f"by must be RES, VIRT or SHR, not {by!r}")
    t = top.sort_table(snap.table, by).head(n)
    out = t[["PID", "USER", "COMMAND", "VIRT", "RES", "SHR", "%MEM"]].copy()
    for col in ("VIRT", "RES", "SHR"):
        out[col] = (out[col] / MiB).round(1)
    out = out.rename(columns={"VIRT": "VIRT MiB", "RES": "RES MiB", "SHR": "SHR MiB"})
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
                                  "run `make venv` (or `pip install -e .`) and restart the kernel",
                                  "실시간 표에는 kernel_helpers.widgets와 ipywidgets가 필요합니다. "
                                  "`make venv`(또는 `pip install -e .`)를 실행하고 커널을 다시 시작하세요")) from e
    return TopTable(LIVE_INTERVAL, sort, max_rows=max_rows, key="ch2_1", highlight=tuple(highlight)).show()


# --- prediction questions -------------------------------------------------------------------------

def _judge_sum(m: MemSum) -> int:
    return 0 if abs(m.gap) <= 0.2 else (1 if m.gap > 0 else 2)


def _explain_sum(m: MemSum) -> tuple[str, str]:
    return (
        f"free + used + buff/cache = {m.sum} MiB against total {m.total} MiB ({m.gap:+.1f} MiB). Since "
        "procps-ng 4.0.1, used is MemTotal - MemAvailable, so the cache the kernel can reclaim is "
        "counted in buff/cache and left out of used, while the cache it cannot drop and the free pages it "
        "keeps in reserve are counted twice: the three no longer add up to total.",
        f"free + used + buff/cache = {m.sum} MiB, total은 {m.total} MiB입니다 ({m.gap:+.1f} MiB). "
        "procps-ng 4.0.1부터 used는 MemTotal - MemAvailable이라서, 커널이 회수할 수 있는 캐시는 "
        "buff/cache에만 들어가고, 버릴 수 없는 캐시와 커널이 예비로 남겨 두는 빈 페이지는 두 번 셉니다. "
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


def _role(t: pd.DataFrame, role: str) -> pd.Series:
    return t.loc[role]


def _judge_nice(t: pd.DataFrame) -> int:
    pr = int(_role(t, "niced")["PR"])
    return {10: 0, 20: 1, 30: 2}.get(pr, 3)


def _explain_nice(t: pd.DataFrame) -> tuple[str, str]:
    r = _role(t, "niced")
    return (f"The niced process shows NI {r['NI']} and PR {r['PR']}: for normal tasks top prints "
            "PR = 20 + NI. A higher PR means a lower priority; it only costs the process CPU time when "
            "other processes want the same CPUs.",
            f"nice를 준 프로세스는 NI {r['NI']}, PR {r['PR']}입니다. 일반 태스크라면 top은 PR = 20 + NI를 "
            "출력합니다. PR이 클수록 우선순위는 낮으며, 다른 프로세스와 같은 CPU를 두고 경쟁할 때만 "
            "CPU 시간을 덜 받습니다.")


quiz.register(quiz.Question(
    id="2.1-nice-pr",
    prompt=("A process is started with nice 10. What will top print in its PR column?",
            "nice 10으로 시작한 프로세스가 있습니다. top의 PR 열에는 무엇이 나올까요?"),
    options=[("10", "10"), ("20", "20"), ("30", "30"), ("something else", "그 밖의 값")],
    judge=_judge_nice, explain=_explain_nice,
))


def _judge_stopped(t: pd.DataFrame) -> int:
    return {"running": 0, "sleeping": 1, "stopped": 2, "zombie": 3}[_STATE_BUCKET[_role(t, "stopped")["S"]]]


def _explain_stopped(t: pd.DataFrame) -> tuple[str, str]:
    s = _role(t, "stopped")["S"]
    return (f"After SIGSTOP the process is in state {s}: a job-control stop, the same as Ctrl+Z in a shell. "
            "top counts T (and t, a stop by a debugger) as 'stopped'. It holds its memory and continues "
            "after SIGCONT.",
            f"SIGSTOP을 받은 프로세스는 {s} 상태입니다. 셸에서 Ctrl+Z를 누른 것과 같은 작업 제어 정지입니다. "
            "top은 T(그리고 디버거가 멈춘 t)를 'stopped'로 셉니다. 메모리는 그대로 갖고 있다가 SIGCONT를 "
            "받으면 이어서 실행합니다.")


quiz.register(quiz.Question(
    id="2.1-stopped",
    prompt=("We send SIGSTOP to a sleeping process. Where will top count it on the Tasks line?",
            "잠들어 있는 프로세스에 SIGSTOP을 보냅니다. top은 Tasks 줄에서 이 프로세스를 어디에 셀까요?"),
    options=[("running", "running"), ("sleeping", "sleeping"), ("stopped", "stopped"), ("zombie", "zombie")],
    judge=_judge_stopped, explain=_explain_stopped,
))


def _judge_zombie(t: pd.DataFrame) -> int:
    r = _role(t, "zombie")
    parent = _role(t, "parent")
    if r["RES"] == 0:
        return 0
    return 1 if abs(int(r["RES"]) - int(parent["RES"])) <= 2 * MiB else 2


def _explain_zombie(t: pd.DataFrame) -> tuple[str, str]:
    r, p = _role(t, "zombie"), _role(t, "parent")
    return (f"The zombie (PID {r['PID']}, state {r['S']}) shows VIRT {r['VIRT'] // 1024} KiB and RES "
            f"{r['RES'] // 1024} KiB. It has exited and its memory is already freed; all that is left is its "
            f"entry in the process table with the exit status, which its living parent (PID {p['PID']}) has "
            "not collected with wait(). A zombie is not 'a child whose parent died': a child whose parent dies "
            "is adopted by init (or a subreaper), which reaps it.",
            f"좀비(PID {r['PID']}, 상태 {r['S']})의 VIRT는 {r['VIRT'] // 1024} KiB, RES는 {r['RES'] // 1024} KiB"
            "입니다. 이미 종료해서 메모리도 다 반납했고, 남은 것은 종료 상태를 담은 프로세스 테이블 항목뿐입니다. "
            f"살아 있는 부모(PID {p['PID']})가 아직 wait()로 이를 거둬 가지 않았을 뿐입니다. 좀비는 '부모가 죽은 "
            "자식'이 아닙니다. 부모가 죽은 자식은 init(또는 서브리퍼)이 입양해서 곧바로 회수합니다.")


quiz.register(quiz.Question(
    id="2.1-zombie-res",
    prompt=("A child process has exited, but its parent has not called wait(). What RES will top show for it?",
            "자식 프로세스가 종료했지만 부모가 아직 wait()를 부르지 않았습니다. top은 이 자식의 RES를 얼마로 보여 줄까요?"),
    options=[("0", "0"), ("about the same as its parent", "부모와 비슷한 값"), ("something else", "그 밖의 값")],
    judge=_judge_zombie, explain=_explain_zombie,
))


def _judge_busy(r: BusyResult) -> int:
    return 1 if r.ours > 110 else 0


def _explain_busy(r: BusyResult) -> tuple[str, str]:
    if r.cpus == 1:
        return ("This machine has one CPU, so a process can use at most 100% of it, however many threads it has. "
                "On a machine with more CPUs, top's default Irix mode would show more than 100.",
                "이 컴퓨터는 CPU가 하나뿐이라 스레드가 몇 개든 100%를 넘을 수 없습니다. CPU가 여럿인 컴퓨터라면 "
                "top의 기본 Irix 모드에서 100을 넘는 값이 나옵니다.")
    if r.ours <= 110:
        return (f"%CPU was {r.ours:.0f} (top: {r.top:.0f}), although {r.threads} threads were busy on {r.cpus} CPUs: "
                "other programs were using the CPUs at the same time (look at the load average), so the threads "
                "did not get a whole CPU each. On a quiet machine the same process shows close to "
                f"{100 * min(r.threads, r.cpus)}%: top's default Irix mode counts one CPU as 100%.",
                f"바쁜 스레드 {r.threads}개가 CPU {r.cpus}개에서 돌았는데도 측정된 %CPU는 {r.ours:.0f}(top: {r.top:.0f})에 "
                "그쳤습니다. "
                "같은 시간에 다른 프로그램들도 CPU를 쓰고 있어서(부하 평균을 보세요) 스레드마다 CPU 하나를 통째로 "
                f"받지 못했기 때문입니다. 한가한 컴퓨터라면 같은 프로세스가 {100 * min(r.threads, r.cpus)}% 가까이 "
                "나옵니다. top의 기본 Irix 모드는 CPU 하나를 100%로 세기 때문입니다.")
    return (f"%CPU was {r.ours:.0f} (top: {r.top:.0f}). top's default Irix mode counts one CPU as 100%, and "
            f"{r.threads} threads can keep {min(r.threads, r.cpus)} CPUs busy at once, so a process can show up to "
            f"{100 * r.cpus}% here. Press Shift+I in top (Solaris mode) to divide by the number of CPUs instead.",
            f"측정된 %CPU: {r.ours:.0f} (top: {r.top:.0f}). top의 기본 Irix 모드는 CPU 하나를 100%로 세는데, "
            f"스레드 {r.threads}개가 CPU {min(r.threads, r.cpus)}개를 동시에 쓸 수 있으므로 이 컴퓨터에서는 최대 "
            f"{100 * r.cpus}%까지 나올 수 있습니다. top에서 Shift+I(Solaris 모드)를 누르면 CPU 수로 나눈 값을 보여 줍니다.")


quiz.register(quiz.Question(
    id="2.1-irix",
    prompt=("One process keeps several threads busy at once (one per CPU). What %CPU will top show for it?",
            "프로세스 하나가 여러 스레드(CPU마다 하나)를 동시에 바쁘게 돌립니다. top은 이 프로세스의 %CPU를 얼마로 보여 줄까요?"),
    options=[("at most 100", "최대 100"), ("more than 100", "100보다 큰 값")],
    judge=_judge_busy, explain=_explain_busy,
))


def _judge_virt_res(snap: top.Snapshot) -> int:
    t = snap.table
    return 0 if int(top.sort_table(t, "VIRT").iloc[0]["PID"]) == int(top.sort_table(t, "RES").iloc[0]["PID"]) else 1


def _explain_virt_res(snap: top.Snapshot) -> tuple[str, str]:
    v, r = top.sort_table(snap.table, "VIRT").iloc[0], top.sort_table(snap.table, "RES").iloc[0]
    en = (f"Largest VIRT: PID {v['PID']} ({v['COMMAND']}), {v['VIRT'] / MiB:.0f} MiB of address space, of which "
          f"{v['RES'] / MiB:.0f} MiB is in RAM. Largest RES: PID {r['PID']} ({r['COMMAND']}), "
          f"{r['RES'] / MiB:.0f} MiB in RAM. VIRT counts every address range a process has mapped, used or "
          "not (thread stacks, malloc arenas, mapped files), so it says little about RAM; RES is what sits in RAM.")
    ko = (f"VIRT가 가장 큰 프로세스: PID {v['PID']} ({v['COMMAND']}), 주소 공간 {v['VIRT'] / MiB:.0f} MiB 가운데 "
          f"RAM에 있는 것은 {v['RES'] / MiB:.0f} MiB. RES가 가장 큰 프로세스: PID {r['PID']} ({r['COMMAND']}), "
          f"RAM {r['RES'] / MiB:.0f} MiB. VIRT는 실제로 썼든 안 썼든 매핑한 주소 범위(스레드 스택, malloc 아레나, "
          "매핑한 파일)를 모두 세므로 RAM 사용량을 거의 알려 주지 않습니다. RAM에 있는 것은 RES입니다.")
    return en, ko


quiz.register(quiz.Question(
    id="2.1-virt-res",
    prompt=("On this machine, is the process with the largest VIRT also the one with the largest RES?",
            "이 컴퓨터에서 VIRT가 가장 큰 프로세스가 RES도 가장 클까요?"),
    options=[("yes, the same process", "그렇다, 같은 프로세스다"), ("no, two different processes", "아니다, 서로 다른 프로세스다")],
    judge=_judge_virt_res, explain=_explain_virt_res,
))

