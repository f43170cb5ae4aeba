"""Chapter 2.4, process states and priority: the state letters of top's S column shown on small
demo processes (R, S, D, T, t, Z) and on the system's own tasks (I, and D when there is one), PR and NI, nice under
contention measured against the scheduler's weight table, and %CPU above 100 (Irix and Solaris
modes).

Every sentence a cell prints is built here from a measurement, in the notebook's language. The
processes come from kernel_helpers.children; this module only measures, tabulates, says and asks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from .. import FAST, children, kernelcase, procfs, quiz, top
from ..i18n import Texts, current_lang, error, josa, pick
from ..procfs import AccessDenied, ProcessGone
from ..safety import fmt_bytes
from .ch2_1 import state_name, tasks_bucket, top_version

__all__ = [
    "INTERVAL", "STATES", "SCHED_PRIO_TO_WEIGHT", "weight", "predicted_share", "system_states",
    "StateDemos", "state_demos", "priority_check", "Contention", "nice_contention", "BusyResult",
    "busy_process", "verdicts_agree",
]

#: Seconds between the two samples of a snapshot.
INTERVAL = 0.3 if FAST else 1.0
#: The demo processes end by themselves after this many seconds, whatever happens to the notebook.
DEMO_LIFETIME = 120 if FAST else 1800
#: How long the two competing processes are measured, and how long the busy process runs.
CONTENTION_SECONDS = 1.5 if FAST else 3.0
BUSY_SECONDS = 2.5 if FAST else 4.0
BUSY_INTERVAL = 0.5 if FAST else 1.0
#: The nice-0 share of one CPU may differ from the weight table's prediction by this many points.
SHARE_TOLERANCE = 6.0

TEXT = Texts({
    "none_D": ("No task is in D right now: D is usually brief (a disk read, a page fault waiting for I/O). "
               "To catch one, watch \"top -b -d 0.2 | grep ' D '\" in a terminal while, in a directory on a disk "
               "(before kernel 6.6, tmpfs refuses oflag=direct), something writes a large file: "
               "\"dd if=/dev/zero of=big bs=1M count=500 oflag=direct; rm big\". "
               "The demo below makes one on purpose: a vfork parent.",
               "지금은 D 상태인 태스크가 없습니다. D는 보통 잠깐입니다(디스크 읽기, I/O를 기다리는 페이지 폴트). "
               "직접 보려면 디스크에 있는 디렉터리에서(커널 6.6 전의 tmpfs는 oflag=direct를 거부합니다) "
               " \"dd if=/dev/zero of=big bs=1M count=500 oflag=direct; rm big\"로 큰 파일을 쓰는 동안 "
               "터미널에서 \"top -b -d 0.2 | grep ' D '\"를 지켜보세요. 아래 실험에서는 vfork한 부모로 일부러 "
               "하나 만들어 봅니다."),
    "seen_D": ("{n} task(s) in D right now, for example PID {pid} ({comm}, {kind}): waiting inside the kernel.",
               "지금 D 상태인 태스크 {n}개. 예: PID {pid}({comm}, {kind}). 커널 안에서 무언가를 기다리는 중입니다."),
    "none_I": ("No idle kernel threads (I) here: kernels before 4.14 show them as S or D, and containers may "
               "hide the host's kernel threads.",
               "여기에는 유휴 커널 스레드(I)가 없습니다. 4.14 이전 커널은 이들을 S나 D로 보여 주고, 컨테이너는 "
               "호스트의 커널 스레드를 숨기기도 합니다."),
    "seen_I": ("{n} idle kernel thread(s) (I), for example PID {pid} ({comm}): kernel workers with nothing to do.",
               "유휴 커널 스레드(I) {n}개. 예: PID {pid}({comm}). 할 일이 없는 커널 작업 스레드입니다."),
    "kthread": ("kernel thread", "커널 스레드"),
    "uproc": ("user process", "사용자 프로세스"),
})

# --- the scheduler's weights ---------------------------------------------------------------------

#: sched_prio_to_weight[] of kernel/sched/core.c: the weight of nice -20 .. 19 (nice 0 = 1024; each
#: step is about 1.25x). CFS and, since 6.6, EEVDF give runnable tasks CPU time in proportion to it.
SCHED_PRIO_TO_WEIGHT = (
    88761, 71755, 56483, 46273, 36291,
    29154, 23254, 18705, 14949, 11916,
    9548, 7620, 6100, 4904, 3906,
    3121, 2501, 1991, 1586, 1277,
    1024, 820, 655, 526, 423,
    335, 272, 215, 172, 137,
    110, 87, 70, 56, 45,
    36, 29, 23, 18, 15,
)


def weight(nice: int) -> int:
    """The scheduler's weight of a normal task at ``nice`` (-20..19)."""
    if not -20 <= int(nice) <= 19:
        raise error(ValueError, "nice must be between -20 and 19, not {nice}",
                    "nice는 -20에서 19 사이여야 합니다({nice}은(는) 쓸 수 없습니다)", nice=nice)
    return SCHED_PRIO_TO_WEIGHT[int(nice) + 20]


def predicted_share(nice_a: int, nice_b: int) -> float:
    """The share (in %) of one CPU that a task at ``nice_a`` gets against one at ``nice_b``."""
    wa, wb = weight(nice_a), weight(nice_b)
    return 100 * wa / (wa + wb)


def _lang(lang: str | None) -> str:
    return lang or current_lang()


def _cpus() -> set[int]:
    """The CPUs this process may run on (NotOnLinux where there is no /proc to measure with)."""
    if not procfs.have_proc() or not hasattr(os, "sched_getaffinity"):
        raise procfs.NotOnLinux()
    return os.sched_getaffinity(0)


def snapshot(interval: float | None = None, pids: Iterable[int] | None = None) -> top.Snapshot:
    """One refresh of kernel_helpers.top (the chapter's interval unless given)."""
    return top.snapshot(INTERVAL if interval is None else interval, pids)


# --- the states on this system ----------------------------------------------------------------------

STATES = "RSDTtZI"
_BUCKET = {"R": "running", "S": "sleeping", "D": "sleeping", "I": "sleeping",
           "T": "stopped", "t": "stopped", "Z": "zombie"}


def _is_kernel_thread(pid: int) -> bool | None:
    try:
        return procfs.stat(pid).is_kernel_thread
    except (ProcessGone, AccessDenied):
        return None


def system_states(snap: top.Snapshot | None = None, lang: str | None = None, show: bool = True,
                  version: tuple[int, ...] | None = None) -> pd.DataFrame:
    """Every state letter: its name, how many tasks are in it now, where the Tasks line counts it, one example.

    'Tasks line' follows ``version`` (default: the top installed here): 4.0.5 and later count D as d-sleep.
    """
    lang = _lang(lang)
    version = top_version() if version is None else tuple(version)
    snap = snap or snapshot()
    t = snap.table
    rows = []
    for s in STATES:
        part = t[t["S"] == s].sort_values("PID")
        example = f"{part.iloc[0]['PID']} {part.iloc[0]['COMMAND']}" if len(part) else "-"
        rows.append((s, state_name(s, lang), len(part), tasks_bucket(s, version), example))
    cols = pick("S|meaning|tasks|Tasks line|example (PID COMMAND)",
                "S|뜻|태스크 수|Tasks 줄 항목|예시(PID COMMAND)", lang).split("|")
    table = pd.DataFrame(rows, columns=cols)
    if show:
        for s in "DI":
            part = t[t["S"] == s].sort_values("PID")
            if not len(part):
                print(TEXT(f"none_{s}", lang))
                continue
            r = part.iloc[0]
            kind = TEXT("kthread" if _is_kernel_thread(int(r["PID"])) else "uproc", lang)
            print(TEXT(f"seen_{s}", lang, n=len(part), pid=int(r["PID"]), comm=r["COMMAND"], kind=kind))
    return table


# --- the demo processes ----------------------------------------------------------------------------

@dataclass
class StateDemos:
    """Small processes in the states top shows: busy (R), sleeping (S), a vfork parent (D) with its
    child, stopped (T), traced (t), a zombie (Z) with its parent, and one at nice 10.

    Use as ``with state_demos() as demos:``; leaving the block ends and reaps them all (they are
    kernel_helpers.children). The measurements stay in ``demos.measured`` for the questions after
    the block. Where ptrace (or the raw clone for the D demo) is not available, that pair is left
    out and ``missing`` says why.
    """

    procs: children.Group | None = None
    pids: dict[str, int] = field(default_factory=dict)
    measured: pd.DataFrame | None = None
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def traced_error(self) -> str | None:
        return self.missing.get("tracer")

    def start(self) -> StateDemos:
        members: dict[str, children.Child] = {
            "busy": children.busy(1, seconds=min(DEMO_LIFETIME, 60)),
            "sleeping": children.sleeping(DEMO_LIFETIME),
        }
        optional = {"vfork": children.vfork_parent(DEMO_LIFETIME), "tracer": children.traced(DEMO_LIFETIME)}
        try:
            for role, child in optional.items():
                try:
                    child.start()
                    members[role] = child
                except children.ChildError as e:
                    self.missing[role] = str(e)
                if role == "vfork":
                    members["stopped"] = children.stopped(DEMO_LIFETIME)
            members["parent"] = children.zombie(DEMO_LIFETIME)
            members["niced"] = children.niced(10, DEMO_LIFETIME)
            self.procs = children.Group(**members)
            self.procs.start()
        except BaseException:
            for child in reversed(list(members.values())):
                child.stop()
            raise
        self.pids = self.procs.pids()
        return self

    def stop(self) -> None:
        """End every demo process (the zombie and the traced child go with their parents) and reap them."""
        if self.procs is not None:
            self.procs.stop()
        self.procs = None

    def __enter__(self) -> StateDemos:
        return self.start() if self.procs is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def table(self, snap: top.Snapshot | None = None) -> pd.DataFrame:
        """The demo processes' rows from a snapshot, with a 'role' index; also kept in ``measured``."""
        snap = snap or snapshot(pids=list(self.pids.values()))
        t = snap.table[snap.table["PID"].isin(self.pids.values())].copy()
        role_of = {pid: role for role, pid in self.pids.items()}
        t.insert(0, "role", t["PID"].map(role_of))
        t = t.set_index("role").loc[[r for r in self.pids if self.pids[r] in set(t["PID"])]]
        self.measured = t
        return t

    def show(self, lang: str | None = None) -> pd.DataFrame:
        """Print the demo processes as top shows them; return their rows with sizes a reader can read."""
        lang = _lang(lang)
        snap = snapshot(pids=list(self.pids.values()))
        t = self.table(snap)
        print(snap.to_text(width=100, summary=False))
        for role, why in self.missing.items():
            what = pick("traced process" if role == "tracer" else "process in D",
                        "추적 중인 프로세스" if role == "tracer" else "D 상태 프로세스", lang)
            print(pick(f"(No {what} here: {why}.)", f"(여기서는 {josa(what, '을/를')} 만들 수 없습니다: {why}.)", lang))
        out = t[["PID", "S", "PR", "NI", "VIRT", "RES", "%CPU", "COMMAND"]].copy()
        out["VIRT"] = out["VIRT"].map(fmt_bytes)
        out["RES"] = out["RES"].map(fmt_bytes)
        out["%CPU"] = out["%CPU"].round(1)
        return out


def state_demos() -> StateDemos:
    """Start the demo processes (use in a ``with`` block)."""
    return StateDemos().start()


# --- PR and NI -------------------------------------------------------------------------------------

def priority_check(snap: top.Snapshot | None = None, lang: str | None = None) -> pd.DataFrame:
    """Check PR = 20 + NI on every normal task; return one example row per kind of priority."""
    lang = _lang(lang)
    snap = snap or snapshot()
    t = snap.table
    normal = t[t["PR"] >= 0]
    ok = int((normal["PR"] == 20 + normal["NI"]).sum())
    rt = t[t["PR"] < 0]
    print(pick(f"Normal tasks (PR >= 0): {ok} of {len(normal)} have PR = 20 + NI.",
               f"일반 태스크(PR >= 0) {len(normal)}개 가운데 {ok}개가 PR = 20 + NI입니다.", lang))
    print(pick(f"Real-time tasks (PR < 0, shown as a negative number, or 'rt' at PR -100): {len(rt)}.",
               f"실시간 태스크(PR < 0, 음수로 표시하고 PR -100이면 'rt'): {len(rt)}개.", lang))
    kinds = [
        (pick("nice 0", "nice 0", lang), t[(t["PR"] >= 0) & (t["NI"] == 0)]),
        (pick("negative nice (more CPU)", "음수 nice(CPU를 더 받음)", lang), t[(t["PR"] >= 0) & (t["NI"] < 0)]),
        (pick("positive nice (yields)", "양수 nice(양보함)", lang), t[(t["PR"] >= 0) & (t["NI"] > 0)]),
        (pick("real-time", "실시간", lang), rt[rt["PR"] > -100]),
        (pick("real-time, highest ('rt')", "실시간 최고 우선순위('rt')", lang), rt[rt["PR"] <= -100]),
    ]
    rows = []
    for label, part in kinds:
        if len(part):
            r = part.sort_values("PID").iloc[0]
            pr = "rt" if r["PR"] <= -100 else str(r["PR"])
            rows.append((label, int(r["PID"]), r["COMMAND"], pr, int(r["NI"]), len(part)))
    cols = pick("kind|PID|COMMAND|PR|NI|how many", "종류|PID|COMMAND|PR|NI|개수", lang).split("|")
    return pd.DataFrame(rows, columns=cols)


# --- nice under contention --------------------------------------------------------------------------

@dataclass(frozen=True)
class Contention:
    """Two busy processes pinned to one CPU, at nice ``nices[0]`` and ``nices[1]``, measured together."""

    cpu: int
    nices: tuple[int, int]
    pids: tuple[int, int]
    cpu_pct: tuple[float, float]  # %CPU of each, as top computes it
    ticks: tuple[int, int]  # CPU ticks each got during the measurement
    seconds: float

    @property
    def share(self) -> float:
        """The first process's share (%) of the CPU time the two got together."""
        total = sum(self.cpu_pct)
        return 100 * self.cpu_pct[0] / total if total else float("nan")

    @property
    def predicted(self) -> float:
        return predicted_share(*self.nices)

    @property
    def used(self) -> float:
        """How much of their CPU the two got together (%): the rest went to other tasks on it."""
        return sum(self.cpu_pct)

    @property
    def within(self) -> bool:
        return abs(self.share - self.predicted) <= SHARE_TOLERANCE


def nice_contention(nice: int = 10, seconds: float | None = None, show: bool = True,
                    lang: str | None = None) -> Contention:
    """Run two busy processes on the same CPU, at nice 0 and at ``nice``, and measure each one's share."""
    lang = _lang(lang)
    seconds = CONTENTION_SECONDS if seconds is None else float(seconds)
    cpu = max(_cpus())
    with children.busy(1, seconds + 3, 0, (cpu,)) as a, children.busy(1, seconds + 3, nice, (cpu,)) as b:
        time.sleep(0.2)  # both pinned and running
        snap = snapshot(seconds, [a.pid, b.pid])
        pids = (a.pid, b.pid)
    t = snap.table.set_index("PID")
    # ticks during the measurement: %CPU x elapsed x ticks per second (what top itself computes from)
    pct = (float(t.loc[pids[0], "%CPU"]), float(t.loc[pids[1], "%CPU"]))
    ticks = tuple(round(p / 100 * snap.header.interval * procfs.CLK_TCK) for p in pct)
    # the nice values as measured: a Jupyter kernel started niced passes its own nice on to both
    nices = (int(t.loc[pids[0], "NI"]), int(t.loc[pids[1], "NI"]))
    c = Contention(cpu, nices, pids, pct, ticks, snap.header.interval)  # type: ignore[arg-type]
    if show:
        print(snap.to_text(width=100, summary=False))
        (n0, n1), (w0, w1) = nices, (weight(nices[0]), weight(nices[1]))
        print(pick(
            f"Both pinned to CPU {cpu} for {c.seconds:.1f} s. nice {n0} got {pct[0]:.1f} % of it, nice {n1} got "
            f"{pct[1]:.1f} %: a share of {c.share:.1f} % for nice {n0}. The weight table predicts "
            f"{w0} / ({w0} + {w1}) = {c.predicted:.1f} %.",
            f"둘 다 CPU {cpu}에 묶어 {c.seconds:.1f}초 동안 측정했습니다. {josa(f'nice {n0}', '은/는')} {pct[0]:.1f}%, "
            f"{josa(f'nice {n1}', '은/는')} {pct[1]:.1f}%를 받아, 둘이 받은 시간 가운데 nice {n0}의 몫은 "
            f"{c.share:.1f}%입니다. 가중치 표의 예측은 {w0} / ({w0} + {w1}) = {c.predicted:.1f}%입니다.", lang))
        if c.used < 90:
            print(pick(f"Together they got {c.used:.0f} % of CPU {cpu}: other programs ran on it too. That "
                       "changes how much each gets, not the ratio between them.",
                       f"둘이 합쳐 CPU {cpu}의 {c.used:.0f}%만 받았습니다. 다른 프로그램도 이 CPU에서 돌았기 "
                       "때문입니다. 각자 받는 양은 줄지만 둘 사이의 비율은 그대로입니다.", lang))
    return c


# --- %CPU above 100 ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class BusyResult:
    pid: int
    threads: int
    cpus: int
    irix: float  # %CPU as top shows it by default (Irix mode: one CPU = 100)
    idle_cpus: float  # how many of its CPUs' worth sat idle while it ran (the CPUs it may run on)
    state: str
    cpu_limit: float | None = None  # a CPU limit on its cgroup, in CPUs (cpu.max / cfs_quota), if any

    @property
    def ceiling(self) -> int:
        """The most %CPU the process could show: 100 per thread, at most 100 per CPU."""
        return 100 * min(self.threads, self.cpus)

    @property
    def solaris(self) -> float:
        """The same figure in Solaris mode (Shift+I): divided by the number of CPUs."""
        return self.irix / self.cpus

    @property
    def over_100(self) -> bool:
        return self.irix > 100


def _cpu_busy_ticks(cpus: Iterable[int]) -> tuple[int, int]:
    t = procfs.cpu_ticks(cpus)  # only the CPUs the busy process may run on
    return sum(t.values()), t["id"] + t["wa"]


def busy_process(threads: int | None = None, show: bool = True, lang: str | None = None) -> BusyResult:
    """Run one process with ``threads`` busy threads (default: one per CPU, at most 4); measure its %CPU.

    It runs for BUSY_SECONDS at most and ends right after the measurement.
    """
    lang = _lang(lang)
    cpus = len(_cpus())
    n = min(cpus, 4) if threads is None else int(threads)
    if not 1 <= n <= 8:
        raise error(ValueError, "threads must be between 1 and 8, not {threads}",
                    "threads는 1에서 8 사이여야 합니다({threads}은(는) 쓸 수 없습니다)", lang, threads=threads)
    with children.busy(n, seconds=BUSY_SECONDS) as p:
        time.sleep(0.1)
        allowed = _cpus()
        total0, idle0 = _cpu_busy_ticks(allowed)
        snap = snapshot(BUSY_INTERVAL, [p.pid])
        total1, idle1 = _cpu_busy_ticks(allowed)
    idle = len(allowed) * (idle1 - idle0) / (total1 - total0) if total1 > total0 else 0.0
    row = snap.table.iloc[0]
    r = BusyResult(p.pid, n, cpus, float(row["%CPU"]), idle, str(row["S"]), kernelcase.cpu_limit())
    if show:
        print(snap.to_text(width=100, summary=False))
        print(pick(f"{n} busy thread(s) on {cpus} CPU(s): %CPU {r.irix:.1f} in Irix mode (top's default), "
                   f"{r.solaris:.1f} in Solaris mode (Shift+I: divided by {cpus} CPUs). The most it could show is "
                   f"{r.ceiling}. Meanwhile {r.idle_cpus:.1f} CPU(s)' worth of time sat idle.",
                   f"CPU {cpus}개에서 바쁜 스레드 {n}개: %CPU는 Irix 모드(top의 기본값)로 {r.irix:.1f}, "
                   f"Solaris 모드(Shift+I: CPU {cpus}개로 나눔)로 {r.solaris:.1f}입니다. 나올 수 있는 최댓값은 "
                   f"{r.ceiling}입니다. 그동안 유휴 시간은 CPU {r.idle_cpus:.1f}개 분량이었습니다.", lang))
        if r.state != "R":
            print(pick(f"Its S column says {r.state}, not R: top shows a process's state as its main thread's, "
                       "and the main thread here only waits for the busy ones (top -H lists every thread).",
                       f"S 열은 R이 아니라 {r.state}입니다. top은 메인 스레드의 상태를 프로세스의 상태로 보여 주는데, "
                       "여기서 메인 스레드는 바쁜 스레드들을 기다리기만 합니다(top -H는 스레드를 하나씩 보여 줍니다).",
                       lang))
    return r


# --- prediction questions ---------------------------------------------------------------------------

def _role(t: pd.DataFrame, role: str) -> pd.Series:
    return t.loc[role]


def _judge_stopped(t: pd.DataFrame) -> int:
    return {"running": 0, "sleeping": 1, "stopped": 2, "zombie": 3}[_BUCKET[_role(t, "stopped")["S"]]]


def _explain_stopped(t: pd.DataFrame) -> tuple[str, str]:
    s = _role(t, "stopped")["S"]
    traced = f" The traced child shows {t.loc['traced', 'S']}." if "traced" in t.index else ""
    traced_ko = f" 추적 중인 자식은 {t.loc['traced', 'S']} 상태입니다." if "traced" in t.index else ""
    return (f"After SIGSTOP the process is in state {s}: a job-control stop, what Ctrl+Z does in a shell. "
            f"top counts T, and t (stopped under a tracer such as gdb), as 'stopped'.{traced} Both keep their "
            "memory; a T process continues after SIGCONT.",
            f"SIGSTOP을 받은 프로세스는 {s} 상태입니다. 셸에서 Ctrl+Z를 누를 때와 같은 작업 제어 정지입니다. "
            f"top은 T와 t(추적 중 정지: gdb 같은 추적기가 멈춰 둔 상태)를 모두 'stopped'로 셉니다.{traced_ko} 둘 다 메모리는 "
            "그대로 갖고 있고, T 상태의 프로세스는 SIGCONT를 받으면 다시 실행됩니다.")


quiz.register(quiz.Question(
    id="2.4-stopped",
    prompt=("We send SIGSTOP to a sleeping process. Where will top count it on the Tasks line?",
            "잠들어 있는 프로세스에 SIGSTOP을 보냅니다. top은 Tasks 줄에서 이 프로세스를 어디에 셀까요?"),
    options=[("running", "running"), ("sleeping", "sleeping"), ("stopped", "stopped"), ("zombie", "zombie")],
    judge=_judge_stopped, explain=_explain_stopped,
))


def _judge_zombie(t: pd.DataFrame) -> int:
    r, parent = _role(t, "zombie"), _role(t, "parent")
    if int(r["RES"]) == 0:
        return 0
    return 1 if abs(int(r["RES"]) - int(parent["RES"])) <= 2 * 1024 * 1024 else 2


def _explain_zombie(t: pd.DataFrame) -> tuple[str, str]:
    r, p = _role(t, "zombie"), _role(t, "parent")
    virt, res, pres = fmt_bytes(r["VIRT"]), fmt_bytes(r["RES"]), fmt_bytes(p["RES"])
    return (f"The zombie (PID {r['PID']}, state {r['S']}) shows VIRT {virt} and RES {res}; its parent has RES "
            f"{pres}. A zombie has exited and given back all its memory; what is left is its entry in the "
            f"process table with the exit status, which its living parent (PID {p['PID']}) has not collected "
            "with wait().",
            f"좀비(PID {r['PID']}, 상태 {r['S']})의 VIRT는 {virt}, RES는 {res}이고, 부모의 RES는 {pres}입니다. "
            "좀비는 이미 종료해서 메모리를 모두 돌려주었습니다. 남은 것은 종료 상태를 담은 프로세스 테이블 "
            f"항목 하나이며, 살아 있는 부모(PID {p['PID']})가 아직 wait()로 이를 거둬 가지 않았습니다.")


quiz.register(quiz.Question(
    id="2.4-zombie-res",
    prompt=("A child process has exited, but its parent has not called wait(). What RES will top show for it?",
            "자식 프로세스가 종료했지만 부모가 아직 wait()를 부르지 않았습니다. top은 이 자식의 RES를 얼마로 보여 줄까요?"),
    options=[("0", "0"), ("about the same as its parent", "부모와 비슷한 값"), ("something else", "그 밖의 값")],
    judge=_judge_zombie, explain=_explain_zombie,
))


def _judge_nice(t: pd.DataFrame) -> int:
    return {10: 0, 20: 1, 30: 2}.get(int(_role(t, "niced")["PR"]), 3)


def _explain_nice(t: pd.DataFrame) -> tuple[str, str]:
    r = _role(t, "niced")
    return (f"The niced process shows NI {r['NI']} and PR {r['PR']}: for normal tasks top prints PR = 20 + NI. "
            "A higher PR means a lower priority.",
            f"nice를 준 프로세스는 NI {r['NI']}, PR {r['PR']}입니다. 일반 태스크라면 top은 PR = 20 + NI를 "
            "출력합니다. PR이 클수록 우선순위는 낮습니다.")


quiz.register(quiz.Question(
    id="2.4-nice-pr",
    prompt=("A process is started with nice 10. What will top print in its PR column?",
            "nice 10으로 시작한 프로세스가 있습니다. top의 PR 열에는 무엇이 나올까요?"),
    options=[("10", "10"), ("20", "20"), ("30", "30"), ("something else", "그 밖의 값")],
    judge=_judge_nice, explain=_explain_nice,
))


def _judge_share(c: Contention) -> int:
    return 0 if c.share < 60 else (1 if c.share < 80 else 2)


def _explain_share(c: Contention) -> tuple[str, str]:
    w0, w1 = weight(c.nices[0]), weight(c.nices[1])
    if c.within:
        en_v = f"within {SHARE_TOLERANCE:.0f} points of the prediction"
        ko_v = f"예측과의 차이가 {SHARE_TOLERANCE:.0f}%p 이내입니다"
    else:
        en_v = (f"more than {SHARE_TOLERANCE:.0f} points off the prediction: the measurement was short or the CPU "
                "busy with other work; run the cell again")
        ko_v = (f"예측과 {SHARE_TOLERANCE:.0f}%p 넘게 차이가 납니다. 측정 시간이 짧았거나 CPU가 다른 일로 바빴던 "
                "것이니 셀을 다시 실행해 보세요")
    n0, n1 = c.nices
    return (f"nice {n0} got {c.share:.1f} % of the time the two shared, nice {n1} the rest: {en_v}. The "
            f"scheduler gives runnable tasks time in proportion to their weights, {w0} for nice {n0} and {w1} for "
            f"nice {n1}: {w0} / ({w0} + {w1}) = {c.predicted:.1f} %. Each nice step is worth about 1.25x, "
            f"so {n1 - n0} steps are about {w0 / w1:.0f}x.",
            f"둘이 나눠 쓴 시간 가운데 {josa(f'nice {n0}', '이/가')} {c.share:.1f}%를, {josa(f'nice {n1}', '이/가')} "
            f"나머지를 받았습니다. {ko_v}. 스케줄러는 실행 가능한 태스크에게 가중치에 비례해 시간을 나눠 줍니다. "
            f"가중치는 {josa(f'nice {n0}', '이/가')} {w0}, {josa(f'nice {n1}', '이/가')} {w1}이므로 "
            f"{w0} / ({w0} + {w1}) = {c.predicted:.1f}%입니다. nice가 한 단계 오를 때마다 약 1.25배씩 차이가 나므로, "
            f"{n1 - n0}단계면 약 {w0 / w1:.0f}배입니다.")


quiz.register(quiz.Question(
    id="2.4-nice-share",
    prompt=("Two busy processes share one CPU, one at nice 0 and one at nice 10. What share of the CPU does the "
            "nice 0 one get?",
            "바쁜 프로세스 두 개가 CPU 하나를 나눠 씁니다. 하나는 nice 0, 다른 하나는 nice 10입니다. nice 0인 "
            "프로세스는 CPU를 얼마나 받을까요?"),
    options=[("about half: nice only matters for the order", "절반쯤: nice는 순서만 바꾼다"),
             ("about two thirds", "3분의 2쯤"), ("about nine tenths", "10분의 9쯤")],
    judge=_judge_share, explain=_explain_share,
))


def _judge_irix(r: BusyResult) -> int:
    return 1 if r.over_100 else 0


def _explain_irix(r: BusyResult) -> tuple[str, str]:
    base_en = (f"top's default Irix mode counts one CPU as 100 %, so {r.threads} thread(s) on {r.cpus} CPU(s) "
               f"can show up to {r.ceiling} %. Measured: {r.irix:.0f} %, {r.solaris:.0f} % in Solaris mode "
               f"(Shift+I).")
    base_ko = (f"top의 기본 Irix 모드는 CPU 하나를 100%로 세므로, CPU {r.cpus}개에서 스레드 {r.threads}개는 "
               f"최대 {r.ceiling}%까지 보일 수 있습니다. 측정값은 {r.irix:.0f}%, Solaris 모드(Shift+I)로는 "
               f"{r.solaris:.0f}%입니다.")
    if r.over_100:
        return (base_en + " Its threads ran on several CPUs at the same time, so its CPU time grew faster than "
                "the clock.",
                base_ko + " 스레드들이 여러 CPU에서 동시에 돌아서 CPU 시간이 실제 경과 시간보다 빨리 늘었습니다.")
    if r.ceiling <= 100:
        return (base_en + " With one CPU (or one thread) there is no second CPU to run on at the same time, so "
                "100 is the limit here.",
                base_ko + " CPU(또는 스레드)가 하나뿐이면 동시에 돌 CPU가 없으므로 여기서는 100이 한계입니다.")
    if r.idle_cpus >= 0.5 and r.cpu_limit is not None and r.cpu_limit <= 1.05:
        return (base_en + f" It stayed at or below 100 although {r.idle_cpus:.1f} CPU(s)' worth of time sat idle: "
                f"its cgroup has a CPU limit of {r.cpu_limit:.2g} CPU (cpu.max, or cpu.cfs_quota_us on cgroup v1), "
                "which lets it use that much at most, however many threads it runs.",
                base_ko + f" CPU {r.idle_cpus:.1f}개 분량의 유휴 시간이 있었는데도 100을 넘지 못했습니다. 이 "
                f"프로세스의 cgroup에 CPU {r.cpu_limit:.2g}개만큼의 CPU 한도(cpu.max, cgroup v1에서는 "
                "cpu.cfs_quota_us)가 걸려 있어서, 스레드가 몇 개든 그만큼까지만 쓸 수 있습니다.")
    if r.idle_cpus >= 0.5:
        return (base_en + f" It stayed at or below 100 although {r.idle_cpus:.1f} CPU(s)' worth of time sat idle, "
                "and its cgroup has no CPU limit: something outside the process held its threads back (on a "
                "virtual machine, the hypervisor: compare the st field of %Cpu(s)). Run the cell again.",
                base_ko + f" CPU {r.idle_cpus:.1f}개 분량의 유휴 시간이 있었고 cgroup에 CPU 한도도 없는데 100을 넘지 "
                "못했습니다. 프로세스 바깥의 무언가가 스레드를 붙잡아 둔 것입니다(가상 머신이라면 하이퍼바이저입니다. "
                "%Cpu(s)의 st 값을 보세요). 셀을 다시 실행해 보세요.")
    return (base_en + f" It stayed at or below 100 because the CPUs were not free: only {r.idle_cpus:.1f} CPU(s)' "
            "worth of time was idle meanwhile, and the other programs' share was not ours to take. On a quieter "
            "machine the same process shows more than 100.",
            base_ko + f" 100을 넘지 못한 것은 CPU가 비어 있지 않았기 때문입니다. 그동안의 유휴 시간은 CPU "
            f"{r.idle_cpus:.1f}개만큼뿐이었고, 다른 프로그램이 쓴 시간은 가져올 수 없었습니다. 더 한가한 "
            "시스템에서는 같은 프로세스가 100을 넘습니다.")


quiz.register(quiz.Question(
    id="2.4-irix",
    prompt=("One process keeps one busy thread per CPU. In top's default mode, will its %CPU go above 100 here?",
            "프로세스 하나가 CPU마다 바쁜 스레드를 하나씩 돌립니다. top의 기본 모드에서 이 프로세스의 %CPU가 "
            "여기서 100을 넘을까요?"),
    options=[("no, 100 or less", "아니요, 100 이하다"), ("yes, more than 100", "예, 100을 넘는다")],
    judge=_judge_irix, explain=_explain_irix,
))


def verdicts_agree(r: BusyResult) -> bool:
    """The printed explanation gives the reason the facts point to, and no other (used by the tests and
    claims): over 100 only with threads on several CPUs; at most 100 because of one CPU, a CPU limit
    that exists, a hold-up with idle CPUs, or CPUs that were not free (idle under half a CPU)."""
    en, _ = _explain_irix(r)
    reasons = {
        "several": "faster than the clock" in en,
        "one": "there is no second CPU" in en,
        "limit": "has a CPU limit of" in en,
        "held": "has no CPU limit" in en,
        "busy": "the CPUs were not free" in en,
    }
    if sum(reasons.values()) != 1:
        return False
    if r.irix > 100:
        expected = "several"
    elif min(r.threads, r.cpus) <= 1:
        expected = "one"
    elif r.idle_cpus >= 0.5:
        expected = "limit" if r.cpu_limit is not None and r.cpu_limit <= 1.05 else "held"
    else:
        expected = "busy"
    return reasons[expected] and (_judge_irix(r) == 1) == (r.irix > 100)

