"""Chapter 2.2, VIRT, RES and SHR: where top's three memory numbers come from, what SHR counts,
and why PSS is the honest way to add memory up.

Every table here is measured on the reader's machine: the kernel's own /proc/PID/statm and
status, shared_mem runs (a MAP_SHARED region, copy-on-write pages after fork), the processes
that map glibc, the mappings behind a Jupyter kernel's VIRT, and the system's biggest processes
by RES and by PSS.  The chapter's prediction questions are registered at the bottom.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from .. import FAST, metrics, procfs, programs, quiz, realtop
from .. import children as demo_children  # 'children' here means shared_mem's
from ..i18n import error, josa, pick, quote
from ..procfs import AccessDenied, ProcessGone
from ..safety import fmt_bytes
from ..top import _user_name  # top's USER column: the login name, or the UID without a passwd entry

MiB = 1 << 20
KiB = 1 << 10

#: Size of the shared mapping in the shared_mem experiments, and of the private memory in the
#: copy-on-write one. Touching them takes milliseconds; fast mode just keeps the footprint small.
SHARED_MIB = 32 if FAST else 64
PRIVATE_MIB = 32 if FAST else 64
CHILDREN = 2
SWEEP = (0, 1, 2, 3)  # numbers of children for the PSS table
ARENA_THREADS = 4  # threads in the MALLOC_ARENA_MAX demo
HOGS = 8  # rows in the memory-hog tables

# glibc 2.36 HEAP_MAX_SIZE on 64-bit: 2 * DEFAULT_MMAP_THRESHOLD_MAX = 64 MiB per arena heap
ARENA_HEAP = 64 * MiB if sys.maxsize > 2**32 else 1 * MiB
# libc.so.6 since glibc 2.34; libc-2.31.so and the like before (maps shows the real file)
LIBC_RE = re.compile(r"/libc(?:-\d[\d.]*)?\.so(?:\.6)?$")


def _mib(n: float | None) -> float | None:
    return None if n is None else round(n / MiB, 1)


def _procs(n: int) -> str:
    return f"{n} process" if n == 1 else f"{n} processes"


def readable(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of a table of byte counts with each size in the unit that fits (fmt_bytes: 12 KiB, 1.5 MiB),
    so a small USS reads 12 KiB rather than 0.0 MiB (PID and role columns left alone)."""
    out = df.copy()
    for c in out.columns:
        if c not in ("PID", "role") and pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].map(lambda x: None if pd.isna(x) else fmt_bytes(x))
    return out


def _display(obj) -> None:
    """Show a DataFrame (or widget) in a notebook, or print it in a terminal."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None  # noqa: N806
    if get_ipython is not None and get_ipython() is not None:
        display(obj)
    else:
        print(obj.to_string() if isinstance(obj, pd.DataFrame) else obj)


# --- what the manual says ----------------------------------------------------------------

MAN_FIELDS = ("VIRT", "RES", "SHR")


#: 'procps-ng 4.0.2' from `top -V`, or None when top is not installed.
top_version = realtop.version


def _entries_from_man(text: str, fields: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    lines = text.splitlines()
    for name in fields:
        head = re.compile(rf"^(\s+){re.escape(name)}\s+--\s+\S")
        for i, line in enumerate(lines):
            m = head.match(line)
            if not m:
                continue
            indent, body = len(m.group(1)), []
            for nxt in lines[i + 1:]:
                if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                    break
                body.append(nxt.strip())
            paras = "\n".join(body).strip().split("\n\n")
            out[name] = "\n\n".join([re.sub(r"\s+", " ", line.strip()),
                                      *(re.sub(r"\s+", " ", p).strip() for p in paras)])
            break
    return out


def _entries_from_roff(fields: Iterable[str], path: str = "/usr/share/man/man1/top.1.gz") -> dict[str, str]:
    """The same entries from the man page source, for machines with the page but no `man`."""
    import gzip

    try:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            src = f.read()
    except OSError:
        return {}
    strings = dict(re.findall(r"^\.ds (\S+) (.*)$", src, flags=re.M))

    def plain(s: str) -> str:
        s = re.sub(r"\\\*\((\S\S)", lambda m: strings.get(m.group(1), ""), s)
        s = re.sub(r"\\\*(\S)", lambda m: strings.get(m.group(1), ""), s)
        s = re.sub(r"\\f(\(..|\[[^]]*\]|.)", "", s)
        return s.replace("\\-", "-").replace("\\ ", " ").replace("\\(aq", "'").replace("\\&", "")

    out: dict[str, str] = {}
    lines = src.splitlines()
    for name in fields:
        for i, line in enumerate(lines):
            if re.match(rf"^\\fB{re.escape(name)} \\\*\(Em ", line):
                paras, cur = [], []
                for nxt in lines[i + 1:]:
                    if nxt.startswith(".TP") or nxt.startswith(".SS") or nxt.startswith(".SH"):
                        break
                    if not nxt.strip() or nxt.startswith(".PP") or nxt.startswith(".IP"):
                        if cur:
                            paras.append(" ".join(cur))
                            cur = []
                        continue
                    if not nxt.startswith("."):
                        cur.append(plain(nxt).strip())
                if cur:
                    paras.append(" ".join(cur))
                title = re.sub(r"\s+", " ", plain(line)).strip()
                out[name] = "\n\n".join([title, *(re.sub(r"\s+", " ", p) for p in paras)])
                break
    return out


def man_definitions(fields: Iterable[str] = MAN_FIELDS) -> dict[str, str]:
    """The entries for ``fields`` from this machine's top(1) man page ({} if it is not installed)."""
    fields = tuple(fields)
    text = realtop.man_text()  # `man top`, rendered without hyphenation or line breaks in paragraphs
    found = _entries_from_man(text, fields) if text else {}
    return found or _entries_from_roff(fields)


def show_man_definitions(fields: Iterable[str] = MAN_FIELDS) -> dict[str, str]:
    """Print what `man top` on this machine says about VIRT, RES and SHR."""
    defs = man_definitions(fields)
    version = top_version()
    if not defs:
        print(pick("This machine has no top(1) manual page installed (common in containers), so the "
                   "quotes above, from procps-ng 4.0.2, are all we have here.",
                   "이 시스템에는 top(1) 매뉴얼 페이지가 설치되어 있지 않습니다(컨테이너에서는 흔한 일입니다). "
                   "그래서 위에 인용한 procps-ng 4.0.2의 문장이 전부입니다."))
        return defs
    print(pick(f"From `man top` on this machine (top from {version or 'procps'}):",
               f"이 시스템의 `man top`에 나오는 정의입니다(top 버전: {version or 'procps'})."))
    for name in fields:
        if name in defs:
            print()
            print(quote(defs[name]))
    return defs


# --- where the numbers come from ---------------------------------------------------------

@dataclass(frozen=True)
class Breakdown:
    """VIRT/RES/SHR from statm and the RSS split from status, read back to back (in bytes)."""

    pid: int
    statm_raw: str  # the line as the kernel wrote it, in pages
    virt: int
    res: int
    shr: int
    vm_size: int
    vm_rss: int
    rss_anon: int
    rss_file: int
    rss_shmem: int
    consistent: bool  # statm did not change while status was read

    @property
    def res_sum(self) -> int:
        return self.rss_anon + self.rss_file + self.rss_shmem

    @property
    def shr_sum(self) -> int:
        return self.rss_file + self.rss_shmem


def read_breakdown(pid: int | None = None, attempts: int = 20) -> Breakdown:
    """Read statm, status, statm again until statm holds still, so the two files describe one moment."""
    pid = os.getpid() if pid is None else pid
    for _ in range(max(1, attempts)):
        before = procfs._read(procfs._path(pid, "statm"), pid)
        status = procfs._read(procfs._path(pid, "status"), pid)
        after = procfs._read(procfs._path(pid, "statm"), pid)
        if before == after:
            break
    pages = [int(x) for x in after.split()[:3]] + [0, 0, 0]
    st = procfs._kv_kib(status)
    page = procfs.PAGE_SIZE
    return Breakdown(
        pid=pid, statm_raw=after.strip(), virt=pages[0] * page, res=pages[1] * page,
        shr=pages[2] * page, vm_size=st.get("VmSize", 0), vm_rss=st.get("VmRSS", 0),
        rss_anon=st.get("RssAnon", 0), rss_file=st.get("RssFile", 0),
        rss_shmem=st.get("RssShmem", 0), consistent=before == after,
    )


def breakdown_table(b: Breakdown) -> pd.DataFrame:
    """One row per number, with the file and field it comes from, in KiB as top prints it."""
    rows = [
        ("VIRT", "/proc/PID/statm", pick("field 1 x page size", "1번째 필드 x 페이지 크기"), b.virt),
        ("RES", "/proc/PID/statm", pick("field 2 x page size", "2번째 필드 x 페이지 크기"), b.res),
        ("SHR", "/proc/PID/statm", pick("field 3 x page size", "3번째 필드 x 페이지 크기"), b.shr),
        ("VmSize", "/proc/PID/status", "VmSize", b.vm_size),
        ("VmRSS", "/proc/PID/status", "VmRSS", b.vm_rss),
        ("RssAnon", "/proc/PID/status", pick("anonymous: heap, stacks, malloc", "익명: 힙, 스택, malloc"),
         b.rss_anon),
        ("RssFile", "/proc/PID/status", pick("file-backed: program, libraries", "파일 기반: 프로그램, 라이브러리"),
         b.rss_file),
        ("RssShmem", "/proc/PID/status", pick("shmem: MAP_SHARED anonymous, tmpfs", "shmem: MAP_SHARED 익명, tmpfs"),
         b.rss_shmem),
    ]
    cols = [pick("number", "항목"), pick("file", "파일"), pick("what", "내용"), "KiB"]
    return pd.DataFrame([(a, f, w, v // KiB) for a, f, w, v in rows], columns=cols)


def check_breakdown(b: Breakdown) -> tuple[bool, bool]:
    """Print the two identities with this process's numbers; return whether each holds exactly."""
    k = KiB
    res_ok, shr_ok = b.res == b.res_sum, b.shr == b.shr_sum
    mark = {True: "✓", False: "✗"}
    print(f"RES = RssAnon + RssFile + RssShmem:  {b.res // k} KiB = {b.rss_anon // k} + "
          f"{b.rss_file // k} + {b.rss_shmem // k} = {b.res_sum // k} KiB  {mark[res_ok]}")
    print(f"SHR = RssFile + RssShmem:            {b.shr // k} KiB = {b.rss_file // k} + "
          f"{b.rss_shmem // k} = {b.shr_sum // k} KiB  {mark[shr_ok]}")
    print(pick(f"SHR is {b.shr / b.res:.0%} of RES here, and RES - SHR = RssAnon = {b.rss_anon // k} KiB.",
               f"여기서 SHR은 RES의 {b.shr / b.res:.0%}이고, RES - SHR = RssAnon = {b.rss_anon // k} KiB입니다."))
    if not (res_ok and shr_ok):
        print(pick("(The process allocated memory between the two reads, or this kernel's RSS counters "
                   "are per-CPU approximations: kernels 6.2 to 6.15. Run the cell again.)",
                   "(두 파일을 읽는 사이에 프로세스가 메모리를 할당했거나, 이 커널(6.2~6.15)의 RSS 카운터가 CPU별 "
                   "근삿값이기 때문입니다. 셀을 다시 실행해 보세요.)"))
    return res_ok, shr_ok


# --- shared_mem runs ---------------------------------------------------------------------

_COLS = ("VIRT", "RES", "SHR", "RssAnon", "RssFile", "RssShmem", "USS", "PSS")


@dataclass
class SharedRun:
    """One shared_mem run, measured while it held its memory: a row per process, in bytes."""

    mib: int
    children: int
    private_mib: int
    touch_parent: bool
    table: pd.DataFrame  # role, PID and _COLS, bytes
    meminfo_before: dict[str, int] | None  # just before the program started
    meminfo_during: dict[str, int]
    meminfo_after: dict[str, int] | None = None  # just after it stopped (filled in by stop)
    times: dict[str, float] = field(default_factory=dict)  # time.monotonic() of each reading
    meminfo_prestop: dict[str, int] | None = None  # just before it was stopped

    @property
    def parent(self) -> pd.Series:
        return self.table.iloc[0]

    @property
    def child_rows(self) -> pd.DataFrame:
        return self.table.iloc[1:]

    @property
    def sum_res(self) -> int:
        return int(self.table["RES"].sum())

    @property
    def sum_pss(self) -> int:
        return int(self.table["PSS"].sum())

    @property
    def real_delta(self) -> int:
        """What the machine spent on it, from AnonPages + Shmem in /proc/meminfo (bytes).

        Best: how much they dropped when the processes exited, read right before and right after
        the stop, so other processes have little time to move them. Otherwise: the growth from
        just before the start to the measurement. (MemAvailable is too coarse for this: freed
        pages can sit uncounted on per-CPU lists for a while.)
        """
        if self.meminfo_prestop is not None and self.meminfo_after is not None:
            return _anon_shmem(self.meminfo_prestop) - _anon_shmem(self.meminfo_after)
        if self.meminfo_before is not None:
            return _anon_shmem(self.meminfo_during) - _anon_shmem(self.meminfo_before)
        return 0

    def mib_table(self) -> pd.DataFrame:
        """The table in MiB, role labels in the notebook's language."""
        df = self.table.copy()
        df["role"] = [_role(i) for i in range(len(df))]
        for c in _COLS:
            df[c] = df[c].map(_mib)
        df = df.rename(columns={"role": pick("process", "프로세스")})
        return df.set_index(pick("process", "프로세스"))


def _anon_shmem(mi: dict[str, int]) -> int:
    return mi.get("AnonPages", 0) + mi.get("Shmem", 0)


def _role(i: int) -> str:
    return pick("parent", "부모") if i == 0 else pick(f"child {i}", f"자식 {i}")


def measure_pids(pids: list[int]) -> pd.DataFrame:
    """A row per PID: PID and VIRT, RES, SHR, RssAnon, RssFile, RssShmem, USS, PSS in bytes."""
    rows = []
    for i, pid in enumerate(pids):
        s = metrics.process_sample(pid)
        rows.append({"role": i, "PID": pid, "VIRT": s.virt, "RES": s.res, "SHR": s.shr,
                     "RssAnon": s.rss_anon or 0, "RssFile": s.rss_file or 0,
                     "RssShmem": s.rss_shmem or 0, "USS": s.uss, "PSS": s.pss})
    return pd.DataFrame(rows)


def program_pids(prog: programs.Program) -> list[int]:
    """The parent's PID, then its children's in the order they reported."""
    kids = [int(e["pid"]) for e in prog.events if e.get("event") == "child"]
    return [prog.pid, *kids] if prog.pid else kids


def _settle(pids: list[int], timeout: float = 2.0) -> None:
    """Wait until RES of every PID holds still for one read (the last child may still be writing)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        now = [procfs.statm(p)[1] for p in pids]
        if now == last:
            return
        last = now
        time.sleep(0.05)


def run_shared(mib: int = SHARED_MIB, children: int = CHILDREN, private_mib: int = 0,
               touch_parent: bool = True) -> SharedRun:
    """Start shared_mem, wait until every child has written the region, measure, stop it."""
    times = {"before": time.monotonic()}
    before = procfs.meminfo()
    with programs.shared_mem(mib, children=children, private_mib=private_mib,
                             touch_parent=touch_parent) as prog:
        prog.wait_for("holding", timeout=30)
        pids = program_pids(prog)
        _settle(pids)
        times["during"] = time.monotonic()
        during = procfs.meminfo()
        table = measure_pids(pids)
        prestop = procfs.meminfo()
        prog.stop()
        after = procfs.meminfo()
    times["after"] = time.monotonic()
    return SharedRun(mib, children, private_mib, touch_parent, table, before, during, after, times, prestop)


class SharedSession:
    """A live shared_mem run shown in the SharedView widget (RES/SHR/USS/PSS bars), measured on demand.

    Without the widgets package it runs the program alone and ``measure()`` still works. The
    widget's own Start/Stop buttons and sliders stay usable; ``measure()`` reads whatever runs now.
    """

    def __init__(self, mib: int = SHARED_MIB, children: int = CHILDREN, private_mib: int = 0,
                 key: str = "ch2.2"):
        self.mib, self.children, self.private_mib, self.key = mib, children, private_mib, key
        self.view = None
        self.program: programs.Program | None = None
        self.before: dict[str, int] | None = None
        self.t_before = 0.0
        self._first_pid: int | None = None
        self.runs: list[SharedRun] = []

    def start(self, widget: bool = True) -> SharedSession:
        self.t_before = time.monotonic()
        self.before = procfs.meminfo()
        view = _shared_view(self.mib, self.children, self.private_mib, self.key) if widget else None
        if view is not None:
            view.show()
            view.start()
            self.view = view
        else:
            _display(pick("(The SharedView widget is not available here: tables only.)",
                          "(여기서는 SharedView 위젯을 쓸 수 없어 표로만 보여 줍니다.)"))
            prog = programs.shared_mem(self.mib, children=self.children, private_mib=self.private_mib)
            prog.start()
            try:
                prog.wait_for("holding", timeout=30)
            except programs.ProgramError:
                prog.stop()
                raise
            self.program = prog
        cur = self._program()
        self._first_pid = cur.pid if cur else None
        return self

    def _program(self) -> programs.Program | None:
        return self.view.model.program if self.view is not None else self.program

    def measure(self) -> SharedRun:
        """Measure every process of the running shared_mem (a SharedRun, bytes)."""
        prog = self._program()
        if prog is None or not prog.running:
            raise error(programs.ProgramError, "shared_mem is not running: run the cell that starts it again.",
                        "shared_mem이 실행 중이 아닙니다. shared_mem을 시작하는 셀을 다시 실행하세요.")
        if self.view is not None:  # the reader may have restarted it with other sliders
            m = self.view.model
            mib, children, private = m.mib, m.children, m.private_mib
        else:
            mib, children, private = self.mib, self.children, self.private_mib
        pids = program_pids(prog)
        _settle(pids)
        times = {"during": time.monotonic(), "before": self.t_before}
        during = procfs.meminfo()
        before = self.before if prog.pid == self._first_pid else None
        run = SharedRun(mib, children, private, True, measure_pids(pids), before, during, times=times)
        self.runs.append(run)
        return run

    def stop(self) -> None:
        """Stop shared_mem and its children, reading /proc/meminfo right before and after."""
        prog = self._program()
        pid = prog.pid if prog is not None and prog.running else None
        prestop = procfs.meminfo()
        if self.view is not None:
            self.view.stop()
        if self.program is not None:
            self.program.stop()
        t, after = time.monotonic(), procfs.meminfo()
        for r in self.runs:
            if r.meminfo_after is None and pid is not None and int(r.table["PID"].iloc[0]) == pid:
                r.meminfo_prestop, r.meminfo_after = prestop, after
                r.times["after"] = t
        print(pick("shared_mem stopped; its memory is free again.", "shared_mem을 멈췄습니다. 쓰던 메모리가 해제되었습니다."))


def shared_session(mib: int = SHARED_MIB, children: int = CHILDREN, private_mib: int = 0,
                   key: str = "ch2.2") -> SharedSession:
    """Start shared_mem in the SharedView widget (or alone, without widgets) and return the session."""
    return SharedSession(mib, children, private_mib, key).start()


def pss_sweep(mib: int = SHARED_MIB, counts: Iterable[int] = SWEEP) -> pd.DataFrame:
    """For each number of children K: the shared region's share of each process's PSS vs N/(K+1).

    Rows: K; columns in MiB: RssShmem (the region, counted whole in RES and SHR), PSS of the
    region per process (PSS minus the process's non-shmem PSS is small, so we use the mean PSS of
    the children, or of the parent when K = 0), and N/(K+1).
    """
    rows = []
    for k in counts:
        run = run_shared(mib, children=k)
        procs = run.child_rows if k > 0 else run.table
        rows.append({
            "K": k,
            pick("processes", "프로세스 수"): k + 1,
            "RES": _mib(procs["RES"].mean()),
            "SHR": _mib(procs["SHR"].mean()),
            "RssShmem": _mib(procs["RssShmem"].mean()),
            "PSS": _mib(procs["PSS"].mean()),
            "N/(K+1)": round(mib / (k + 1), 1),
            pick("sum of PSS", "PSS 합계"): _mib(run.sum_pss),
        })
    return pd.DataFrame(rows).set_index("K")


def _shared_view(mib: int, children: int, private_mib: int, key: str):
    """A SharedView widget, or None where the widgets cannot load (no ipywidgets/plotly)."""
    try:
        from ..widgets import SharedView
    except Exception:  # the widgets are optional for this chapter: tables still work
        return None
    return SharedView(mib, children, private_mib, key=key)


def summarize_shared(run: SharedRun) -> None:
    """One sentence per lesson of the shared-region run, with this machine's numbers."""
    n = run.mib * MiB
    kids = run.child_rows
    _display(run.mib_table())
    print(pick(
        f"Shared region: {run.mib} MiB, written by the parent and {run.children} children.",
        f"공유 영역: {run.mib} MiB, 부모와 자식 {run.children}개가 모두 썼습니다."))
    if len(kids):
        c = kids.iloc[0]
        print(pick(
            f"Each child: RES {fmt_bytes(c.RES)}, SHR {fmt_bytes(c.SHR)} (RssShmem {fmt_bytes(c.RssShmem)}): "
            f"the whole region counts in both.",
            f"자식 하나: RES {fmt_bytes(c.RES)}, SHR {fmt_bytes(c.SHR)}(RssShmem {fmt_bytes(c.RssShmem)}). "
            f"영역 전체가 두 값 모두에 들어갑니다."))
        print(pick(
            f"Each child's PSS: {fmt_bytes(c.PSS)}, about N/(K+1) = {fmt_bytes(n / (run.children + 1))}.",
            f"자식 하나의 PSS: {fmt_bytes(c.PSS)}, 대략 N/(K+1) = {fmt_bytes(n / (run.children + 1))}입니다."))


def sum_table(*runs: SharedRun) -> pd.DataFrame:
    """Per run: sum of RES, sum of PSS, and what /proc/meminfo says the machine spent (MiB)."""
    rows = []
    for r in runs:
        kids = "1 child" if r.children == 1 else f"{r.children} children"
        label = pick(f"{r.mib} MiB shared, {r.private_mib} MiB private, {kids}",
                     f"공유 {r.mib} MiB, 비공개 {r.private_mib} MiB, 자식 {r.children}개")
        rows.append({pick("run", "실행"): label,
                     pick("sum of RES", "RES 합계"): _mib(r.sum_res),
                     pick("sum of PSS", "PSS 합계"): _mib(r.sum_pss),
                     pick("freed at exit (AnonPages + Shmem)", "종료 때 풀린 양(AnonPages + Shmem)"): _mib(r.real_delta),
                     pick("sum of RES / freed", "RES 합계 / 풀린 양"): round(r.sum_res / max(r.real_delta, 1), 1)})
    return pd.DataFrame(rows).set_index(pick("run", "실행"))


# --- glibc: who maps it, and what it really costs ----------------------------------------

@dataclass
class LibcScan:
    """Processes that map the C library, from /proc/*/maps."""

    users: list[tuple[int, str]] = field(default_factory=list)  # (pid, comm)
    paths: set[str] = field(default_factory=set)
    scanned: int = 0  # user processes whose maps we could read (kernel threads have none)
    denied: int = 0  # maps not readable (another user's process, without root)
    vanished: int = 0  # exited while we looked


def _maps_entries(text: str):
    """(start, end, perms, path) for each line of a maps/smaps header."""
    for line in text.splitlines():
        f = line.split(None, 5)
        if len(f) >= 5 and "-" in f[0] and len(f[1]) == 4:
            try:
                start, end = (int(x, 16) for x in f[0].split("-"))
            except ValueError:
                continue
            yield start, end, f[1], (f[5].strip() if len(f) > 5 else "")


def _comm(pid: int) -> str:
    try:
        return procfs._read(procfs._path(pid, "comm"), pid).strip()
    except (ProcessGone, AccessDenied, OSError):
        return "?"


def libc_users(pids: Iterable[int] | None = None) -> LibcScan:
    """Scan /proc/PID/maps of every process for the C library, skipping the ones we may not read."""
    scan = LibcScan()
    for pid in procfs.pids() if pids is None else pids:
        try:
            text = procfs._read(procfs._path(pid, "maps"), pid)
        except ProcessGone:
            scan.vanished += 1
            continue
        except AccessDenied:
            scan.denied += 1
            continue
        if not text:  # a kernel thread: no user memory
            continue
        scan.scanned += 1
        hits = {p for _, _, _, p in _maps_entries(text) if LIBC_RE.search(p)}
        if hits:
            scan.paths |= hits
            scan.users.append((pid, _comm(pid)))
    return scan


def report_libc_users(scan: LibcScan) -> None:
    print(pick(
        f"{len(scan.users)} of the {scan.scanned} processes we could read map the C library "
        f"({', '.join(sorted(scan.paths)) or 'none'}).",
        f"읽을 수 있었던 프로세스 {scan.scanned}개 가운데 {len(scan.users)}개가 C 라이브러리를 매핑하고 "
        f"있습니다({', '.join(sorted(scan.paths)) or '없음'})."))
    if scan.denied:
        print(pick(f"Maps not readable (other users' processes need root): {_procs(scan.denied)}.",
                   f"프로세스 {scan.denied}개는 maps를 읽을 수 없습니다(다른 사용자의 프로세스는 root 권한이 "
                   "필요합니다)."))
    if scan.vanished:
        print(pick(f"{scan.vanished} exited while we looked.", f"프로세스 {scan.vanished}개는 살펴보는 사이에 종료되었습니다."))
    names = pd.Series([c for _, c in scan.users]).value_counts()
    if len(names):
        print(pick("Most common: ", "많은 순서: ") + ", ".join(f"{c} x{n}" for c, n in names.head(8).items()))


@dataclass
class LibcMemory:
    """RSS and PSS of the C library's mappings, per process, from /proc/PID/smaps (bytes)."""

    table: pd.DataFrame  # PID, COMMAND, Rss, Pss of the libc mappings
    denied: int = 0
    vanished: int = 0
    file_size: int = 0  # size of the libc file on disk

    @property
    def sum_rss(self) -> int:
        return int(self.table["Rss"].sum()) if len(self.table) else 0

    @property
    def sum_pss(self) -> int:
        return int(self.table["Pss"].sum()) if len(self.table) else 0


def _smaps_sums(text: str, match: re.Pattern[str]) -> tuple[int, int, set[str]]:
    """Sum Rss and Pss (bytes) over the mappings in an smaps text whose path matches."""
    rss = pss = 0
    paths: set[str] = set()
    current = False
    for line in text.splitlines():
        f = line.split(None, 5)
        if len(f) >= 5 and "-" in f[0] and len(f[1]) == 4:
            path = f[5].strip() if len(f) > 5 else ""
            current = bool(match.search(path))
            if current:
                paths.add(path)
        elif current and line.startswith("Rss:"):
            rss += int(line.split()[1]) * KiB
        elif current and line.startswith("Pss:"):
            pss += int(line.split()[1]) * KiB
    return rss, pss, paths


def libc_memory(pids: Iterable[int] | None = None) -> LibcMemory:
    """RSS and PSS of every process's libc mappings; processes we cannot read are counted, not fatal."""
    rows, denied, vanished, paths = [], 0, 0, set()
    for pid in procfs.pids() if pids is None else pids:
        try:
            text = procfs._read(procfs._path(pid, "smaps"), pid)
        except ProcessGone:
            vanished += 1
            continue
        except AccessDenied:
            denied += 1
            continue
        rss, pss, found = _smaps_sums(text, LIBC_RE)
        if found:
            paths |= found
            rows.append({"PID": pid, "COMMAND": _comm(pid), "Rss": rss, "Pss": pss})
    size = 0
    for p in paths:
        try:
            size = max(size, os.stat(p).st_size)
        except OSError:
            pass
    table = pd.DataFrame(rows, columns=["PID", "COMMAND", "Rss", "Pss"])
    return LibcMemory(table.sort_values("Rss", ascending=False, ignore_index=True), denied, vanished, size)


def report_libc_memory(m: LibcMemory) -> pd.DataFrame:
    """Print the sums and return the top rows in KiB."""
    n = len(m.table)
    print(pick(
        f"libc mappings in {_procs(n)}: sum of their RSS {fmt_bytes(m.sum_rss)}, "
        f"sum of their PSS {fmt_bytes(m.sum_pss)} (the file itself is {fmt_bytes(m.file_size)}).",
        f"프로세스 {n}개의 libc 매핑: RSS 합계 {fmt_bytes(m.sum_rss)}, PSS 합계 {fmt_bytes(m.sum_pss)}"
        f"(파일 크기는 {fmt_bytes(m.file_size)})."))
    if m.sum_pss and m.denied * 4 <= n:  # with many sharers hidden, PSS is divided among unseen ones too
        print(pick(
            f"Adding up RSS counts libc {m.sum_rss / m.sum_pss:.1f} times; the pages are in RAM once.",
            f"RSS를 더하면 libc를 {m.sum_rss / m.sum_pss:.1f}번 센 셈입니다. 페이지는 RAM에 한 번만 있습니다."))
    if m.denied:
        print(pick(f"(smaps not readable for {_procs(m.denied)}, since other users' processes need root. If they "
                   "map libc, their share is missing from the PSS sum.)",
                   f"(읽을 수 없는 프로세스가 {m.denied}개 있습니다. 다른 사용자의 프로세스는 root 권한이 필요합니다. "
                   "이들이 libc를 매핑하고 있다면 그 몫이 PSS 합계에서 빠집니다.)"))
    out = m.table.head(HOGS).copy()
    out["Rss"] //= KiB
    out["Pss"] //= KiB
    return out.rename(columns={"Rss": "Rss (KiB)", "Pss": "Pss (KiB)"}).set_index("PID")


# --- why VIRT is large: arenas and thread stacks -----------------------------------------

@dataclass(frozen=True)
class Mapping:
    start: int
    end: int
    perms: str
    path: str
    rss: int

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def anonymous(self) -> bool:
        return self.path == ""


def read_mappings(pid: int | None = None) -> list[Mapping]:
    """Every mapping of a process with its Rss, from /proc/PID/smaps."""
    pid = os.getpid() if pid is None else pid
    text = procfs._read(procfs._path(pid, "smaps"), pid)
    out: list[Mapping] = []
    head = None
    for line in text.splitlines():
        f = line.split(None, 5)
        if len(f) >= 5 and "-" in f[0] and len(f[1]) == 4:
            if head:
                out.append(Mapping(*head, rss=0))
            start, end = (int(x, 16) for x in f[0].split("-"))
            head = (start, end, f[1], f[5].strip() if len(f) > 5 else "")
        elif head and line.startswith("Rss:"):
            out.append(Mapping(*head, rss=int(line.split()[1]) * KiB))
            head = None
    if head:
        out.append(Mapping(*head, rss=0))
    return out


CATEGORIES = ("arena", "stack", "heap", "main_stack", "file", "anon", "special")
_CATEGORY_NAMES = {
    "arena": ("malloc arenas (64 MiB heaps)", "malloc 아레나(64 MiB 힙)"),
    "stack": ("thread stacks (+ guard page)", "스레드 스택(+ 보호 페이지)"),
    "heap": ("main heap [heap] (brk)", "주 힙 [heap] (brk)"),
    "main_stack": ("main thread [stack]", "주 스레드 [stack]"),
    "file": ("files: program, libraries", "파일: 프로그램, 라이브러리"),
    "anon": ("other anonymous mappings", "그 밖의 익명 매핑"),
    "special": ("[vdso], [vvar] and the like", "[vdso], [vvar] 등"),
}


def classify(maps: list[Mapping], arena_size: int = ARENA_HEAP) -> list[tuple[str, Mapping]]:
    """Label each mapping: glibc arena heaps, thread stacks, heap, files, other anonymous ...

    An arena heap starts on an ``arena_size`` boundary: its used part is rw-p and the rest a
    PROT_NONE (---p) reservation right behind it, 64 MiB together. A pthread stack is an rw-p
    anonymous mapping with a one-page ---p guard right below it.
    """
    page = procfs.PAGE_SIZE
    maps = sorted(maps, key=lambda m: m.start)
    labels: list[str | None] = [None] * len(maps)
    for i, m in enumerate(maps):
        if labels[i] or not m.anonymous or m.start % arena_size:
            continue
        total, j = m.size, i
        while total < arena_size and j + 1 < len(maps):
            nxt = maps[j + 1]
            if not (nxt.anonymous and nxt.start == maps[j].end and nxt.perms.startswith("---")):
                break
            j += 1
            total += nxt.size
        if total == arena_size:
            for k in range(i, j + 1):
                labels[k] = "arena"
    for i, m in enumerate(maps):
        if labels[i] or not m.anonymous or not m.perms.startswith("rw"):
            continue
        g = maps[i - 1] if i else None
        if g and g.anonymous and g.perms.startswith("---") and g.end == m.start and g.size == page \
                and labels[i - 1] is None:
            labels[i] = labels[i - 1] = "stack"
    out = []
    for lab, m in zip(labels, maps, strict=True):
        if lab is None:
            if m.path == "[heap]":
                lab = "heap"
            elif m.path == "[stack]":
                lab = "main_stack"
            elif m.path.startswith("["):
                lab = "special"
            elif m.path:
                lab = "file"
            else:
                lab = "anon"
        out.append((lab, m))
    return out


@dataclass
class VirtBreakdown:
    pid: int
    virt: int  # statm field 1
    threads: int
    table: pd.DataFrame  # category key -> count, VIRT, RES (bytes)

    def count(self, cat: str) -> int:
        return int(self.table.loc[cat, "count"])

    def virt_of(self, cat: str) -> int:
        return int(self.table.loc[cat, "VIRT"])

    def res_of(self, cat: str) -> int:
        return int(self.table.loc[cat, "RES"])

    @property
    def arenas_and_stacks(self) -> int:
        return self.virt_of("arena") + self.virt_of("stack")

    @property
    def largest(self) -> str:
        return str(self.table["VIRT"].idxmax())

    def mib_table(self) -> pd.DataFrame:
        rows = []
        for cat, r in self.table.iterrows():
            rows.append({pick("what", "종류"): pick(*_CATEGORY_NAMES[cat]),
                         pick("mappings", "매핑 수"): int(r["count"]),
                         "VIRT (MiB)": _mib(r["VIRT"]), "RES (MiB)": _mib(r["RES"]),
                         pick("share of VIRT", "VIRT 비중"): f"{r['VIRT'] / max(self.virt, 1):.0%}"})
        return pd.DataFrame(rows).set_index(pick("what", "종류"))


def virt_breakdown(pid: int | None = None) -> VirtBreakdown:
    """Sort a process's VIRT into arenas, thread stacks, heap, files and the rest (own process by default)."""
    pid = os.getpid() if pid is None else pid
    maps = read_mappings(pid)
    virt = procfs.statm(pid)[0]
    threads = procfs.status(pid).get("Threads", 1)
    agg = {c: [0, 0, 0] for c in CATEGORIES}
    for lab, m in classify(maps):
        a = agg[lab]
        a[1] += m.size
        a[2] += m.rss
        if not (lab == "stack" and m.perms.startswith("---")) and not (
                lab == "arena" and m.start % ARENA_HEAP):
            a[0] += 1  # count a stack with its guard, and an arena heap with its reservation, once
    table = pd.DataFrame.from_dict(agg, orient="index", columns=["count", "VIRT", "RES"])
    return VirtBreakdown(pid, virt, threads, table)


def print_virt_res(pid: int | None = None) -> Breakdown:
    """This kernel's VIRT and RES, side by side."""
    b = read_breakdown(pid)
    print(pick(f"PID {b.pid}: VIRT {fmt_bytes(b.virt)}, RES {fmt_bytes(b.res)}: VIRT is {b.virt / max(b.res, 1):.1f} times RES.",
               f"PID {b.pid}: VIRT {fmt_bytes(b.virt)}, RES {fmt_bytes(b.res)}. VIRT가 RES의 {b.virt / max(b.res, 1):.1f}배입니다."))
    return b


def report_virt(v: VirtBreakdown) -> None:
    a, s = v.count("arena"), v.count("stack")
    print(pick(
        f"VIRT of this Jupyter kernel (PID {v.pid}): {fmt_bytes(v.virt)}, {v.threads} threads.",
        f"이 주피터 커널(PID {v.pid})의 VIRT: {fmt_bytes(v.virt)}, 스레드 {v.threads}개."))
    print(pick(
        f"{a} malloc arena heaps ({fmt_bytes(v.virt_of('arena'))}) and {s} thread stacks "
        f"({fmt_bytes(v.virt_of('stack'))}) explain {v.arenas_and_stacks / max(v.virt, 1):.0%} of VIRT, "
        f"yet only {fmt_bytes(v.res_of('arena') + v.res_of('stack'))} of them is resident.",
        f"malloc 아레나 힙 {a}개({fmt_bytes(v.virt_of('arena'))})와 스레드 스택 {s}개"
        f"({fmt_bytes(v.virt_of('stack'))})가 VIRT의 {josa(f'{v.arenas_and_stacks / max(v.virt, 1):.0%}', '을')} "
        f"차지하지만, 그중 상주 메모리는 {fmt_bytes(v.res_of('arena') + v.res_of('stack'))}뿐입니다."))


def arena_demo(threads: int = ARENA_THREADS, arena_max: int | None = None, timeout: float = 20.0) -> dict:
    """Start a Python with ``threads`` threads that malloc, optionally under MALLOC_ARENA_MAX; count its arenas."""
    with demo_children.arenas(threads, arena_max) as child:
        v = virt_breakdown(child.pid)
        child.stop(timeout=timeout)
    return {"MALLOC_ARENA_MAX": "-" if arena_max is None else str(arena_max), "threads": v.threads,
            "arenas": v.count("arena"), "arena VIRT": v.virt_of("arena"), "VIRT": v.virt}


def arena_table(threads: int = ARENA_THREADS) -> pd.DataFrame:
    """The same threaded Python with the default arenas and with MALLOC_ARENA_MAX=1, in MiB."""
    rows = [arena_demo(threads), arena_demo(threads, arena_max=1)]
    df = pd.DataFrame(rows)
    df["arena VIRT"] = df["arena VIRT"].map(_mib)
    df["VIRT"] = df["VIRT"].map(_mib)
    return df.rename(columns={"threads": pick("threads", "스레드 수"), "arenas": pick("arena heaps", "아레나 힙"),
                              "arena VIRT": pick("arena VIRT (MiB)", "아레나 VIRT (MiB)"),
                              "VIRT": "VIRT (MiB)"}).set_index("MALLOC_ARENA_MAX")


# --- memory hogs: RES vs PSS -------------------------------------------------------------

@dataclass
class Hogs:
    table: pd.DataFrame  # PID USER COMMAND RES SHR PSS USS (bytes; PSS/USS None when unreadable)
    mem_total: int
    mem_available: int

    @property
    def readable(self) -> pd.DataFrame:
        return self.table[self.table["PSS"].notna()]

    @property
    def denied(self) -> int:
        return int(self.table["PSS"].isna().sum())

    @property
    def sum_res(self) -> int:
        return int(self.table["RES"].sum())

    @property
    def sum_res_readable(self) -> int:
        return int(self.readable["RES"].sum())

    @property
    def sum_pss(self) -> int:
        return int(self.readable["PSS"].sum())

    @property
    def used(self) -> int:
        return self.mem_total - self.mem_available

    def top(self, by: str, n: int = HOGS) -> pd.DataFrame:
        src = self.readable if by in ("PSS", "USS") else self.table
        df = src.sort_values(by, ascending=False).head(n).copy()
        for c in ("RES", "SHR", "PSS", "USS"):
            df[c] = df[c].map(lambda x: None if pd.isna(x) else fmt_bytes(x))
        df.insert(0, pick("rank", "순위"), range(1, len(df) + 1))
        return df.set_index("PID")

    def sums(self) -> pd.DataFrame:
        rows = [
            (pick(f"sum of RES, all {len(self.table)} processes", f"RES 합계, 전체 프로세스 {len(self.table)}개"),
             self.sum_res),
            (pick(f"sum of RES, the {len(self.readable)} with readable PSS",
                  f"RES 합계, PSS를 읽을 수 있는 {len(self.readable)}개"), self.sum_res_readable),
            (pick(f"sum of PSS, the same {len(self.readable)}", f"PSS 합계, 같은 {len(self.readable)}개"),
             self.sum_pss),
            (pick("MemTotal - MemAvailable (top's used)", "MemTotal - MemAvailable(top의 used)"), self.used),
        ]
        col = pick("measure", "측정값")
        return pd.DataFrame([(a, _mib(b)) for a, b in rows], columns=[col, "MiB"]).set_index(col)


def memory_hogs() -> Hogs:
    """RES and SHR of every user process, and PSS/USS where smaps_rollup is readable."""
    rows = []
    for pid in procfs.pids():
        try:
            virt, res, shr = procfs.top_statm(pid)
            if virt == 0:  # kernel thread
                continue
            comm = _comm(pid)
            user = _user_name(procfs.owner_uid(pid))
        except (ProcessGone, AccessDenied):
            continue
        pss = uss = None
        try:
            sm = procfs.smaps_rollup(pid)
            pss = sm.get("Pss")
            uss = sm.get("Private_Clean", 0) + sm.get("Private_Dirty", 0)
        except AccessDenied:
            pass
        except ProcessGone:
            continue
        rows.append({"PID": pid, "USER": user, "COMMAND": comm, "RES": res, "SHR": shr, "PSS": pss, "USS": uss})
    mi = procfs.meminfo()
    table = pd.DataFrame(rows, columns=["PID", "USER", "COMMAND", "RES", "SHR", "PSS", "USS"])
    table["PSS"] = table["PSS"].astype("float")
    table["USS"] = table["USS"].astype("float")
    return Hogs(table, mi["MemTotal"], mi.get("MemAvailable", mi["MemFree"]))


def report_hogs(h: Hogs) -> None:
    print(pick(
        f"Sum of RES over the processes with readable PSS: {fmt_bytes(h.sum_res_readable)}; "
        f"sum of their PSS: {fmt_bytes(h.sum_pss)}. The RES sum is {h.sum_res_readable / max(h.sum_pss, 1):.1f} "
        f"times the PSS sum.",
        f"PSS를 읽을 수 있는 프로세스들의 RES 합계: {fmt_bytes(h.sum_res_readable)}, PSS 합계: "
        f"{fmt_bytes(h.sum_pss)}. RES 합계가 PSS 합계의 {h.sum_res_readable / max(h.sum_pss, 1):.1f}배입니다."))
    if h.denied:
        print(pick(f"No PSS for {_procs(h.denied)}: smaps_rollup is not readable (other users' processes need root).",
                   f"프로세스 {h.denied}개는 smaps_rollup을 읽을 수 없어 PSS가 없습니다(다른 사용자의 프로세스는 root 권한이 "
                   "필요합니다)."))
    by_res = h.readable.sort_values("RES", ascending=False).head(HOGS)["PID"]
    moved = set(h.top("PSS").index) ^ set(by_res)
    if moved:
        print(pick(f"Among the processes with readable PSS, in the top {HOGS} by one measure but not the other: ",
                   f"PSS를 읽을 수 있는 프로세스 가운데, 한 기준으로만 상위 {HOGS}개에 드는 프로세스: ")
              + ", ".join(pick("{c} ({p})", "{c}({p})").format(c=h.table.set_index('PID').loc[p, 'COMMAND'], p=p)
                             for p in sorted(moved)))


# --- predict, then observe ---------------------------------------------------------------

def _some_child(run: SharedRun) -> pd.Series:
    if not len(run.child_rows):
        raise error(ValueError, "this question needs a run with at least one child (children >= 1); run it again "
                    "with children=1 or more",
                    "이 문제에는 자식이 하나 이상인 실행이 필요합니다(children >= 1). children을 1 이상으로 해서 "
                    "다시 실행하세요.")
    return run.child_rows.iloc[0]


def _children_shr_judge(run: SharedRun) -> int:
    n = run.mib * MiB
    _some_child(run)
    grew = run.child_rows["RssShmem"].min()
    if grew >= 0.9 * n:
        return 0
    if abs(grew - n / (run.children + 1)) < 0.15 * n:
        return 2
    return 1


def _children_shr_explain(run: SharedRun) -> tuple[str, str]:
    c = _some_child(run)
    return (
        f"Each child's SHR is {fmt_bytes(c.SHR)}, of which RssShmem, the region, is {fmt_bytes(c.RssShmem)}: "
        f"every process that touches a shared page counts the whole page in its own SHR and RES. "
        f"Nothing in SHR is divided among the sharers; that is what PSS ({fmt_bytes(c.PSS)}) does.",
        f"자식마다 SHR이 {fmt_bytes(c.SHR)}이고, 그중 공유 영역인 RssShmem이 {fmt_bytes(c.RssShmem)}입니다. "
        f"공유 페이지를 건드린 프로세스는 저마다 그 페이지 전체를 자기 SHR과 RES에 셉니다. SHR은 "
        f"공유하는 프로세스 수로 나누지 않습니다. 나누는 것은 PSS({fmt_bytes(c.PSS)})입니다.",
    )


quiz.register(quiz.Question(
    id="2.2-children-shr",
    prompt=("shared_mem maps N MiB MAP_SHARED, the parent writes it, then forks children that each write "
            "the whole region too. What happens to each child's SHR?",
            "shared_mem은 N MiB를 MAP_SHARED로 매핑해 부모가 쓰고, 자식들을 fork해 자식들도 영역 전체에 씁니다. "
            "자식 각각의 SHR은 어떻게 될까요?"),
    options=[("It grows by about N MiB in every child", "자식마다 약 N MiB씩 늘어난다"),
             ("It stays small: only the parent, which created the mapping, counts it",
              "작은 채로 있다. 매핑을 만든 부모만 센다"),
             ("It grows by N/(K+1) MiB: the region is split among the K+1 processes",
              "N/(K+1) MiB만큼 늘어난다. 영역을 K+1개 프로세스가 나눠 센다")],
    judge=_children_shr_judge,
    explain=_children_shr_explain,
))


_SPLITS = (1.0, 1 / 3, 1 / 4, 0.0)


def _pss_split_judge(sweep: pd.DataFrame) -> int:
    if 3 not in sweep.index:
        raise error(ValueError, "this question is about 3 children: include 3 in pss_sweep(counts=...)",
                    "이 문제는 자식 3개에 관한 것입니다. pss_sweep(counts=...)에 3을 넣으세요.")
    mib = sweep["N/(K+1)"].iloc[0] * (sweep.index[0] + 1)
    share = sweep.loc[3, "PSS"] / mib
    return min(range(len(_SPLITS)), key=lambda i: abs(_SPLITS[i] - share))


def _pss_split_explain(sweep: pd.DataFrame) -> tuple[str, str]:
    row = sweep.loc[3]
    return (
        f"With 3 children, each process's PSS is {row['PSS']:.1f} MiB against N/(K+1) = {row['N/(K+1)']:.1f} MiB "
        f"(the small rest is each process's own code and data), while RES and SHR stay at "
        f"{row['RES']:.1f} and {row['SHR']:.1f} MiB. The kernel divides each page by the number of processes "
        f"mapping it: four here, the parent included.",
        f"자식이 3개일 때 프로세스마다 PSS는 {row['PSS']:.1f} MiB이고 N/(K+1) = {row['N/(K+1)']:.1f} MiB입니다"
        f"(나머지 조금은 각 프로세스의 코드와 데이터입니다). 반면 RES와 SHR은 {row['RES']:.1f} MiB와 "
        f"{row['SHR']:.1f} MiB 그대로입니다. 커널은 페이지마다 그 페이지를 매핑한 프로세스 수로 나눕니다. "
        f"여기서는 부모까지 넷입니다.",
    )


quiz.register(quiz.Question(
    id="2.2-pss-split",
    prompt=("Now the parent and 3 children all write the N MiB region. About how much PSS does the region "
            "add to each of the four processes?",
            "이번에는 부모와 자식 3개가 모두 N MiB 영역에 씁니다. 이 영역이 네 프로세스 각각의 PSS에 "
            "얼마쯤 더해질까요?"),
    options=[("N: the whole region", "N: 영역 전체"), ("N/3: split among the children", "N/3: 자식끼리 나눈다"),
             ("N/4: split among all four", "N/4: 넷이 나눈다"), ("Nothing: PSS leaves shared pages out",
                                                              "0: PSS는 공유 페이지를 빼고 센다")],
    judge=_pss_split_judge,
    explain=_pss_split_explain,
))


def _cow_judge(run: SharedRun) -> int:
    p = run.private_mib * MiB
    c = _some_child(run)
    if c.SHR - c.RssShmem >= 0.9 * p:
        return 0
    if c.RssAnon >= 0.9 * p:
        return 1
    return 2


def _cow_explain(run: SharedRun) -> tuple[str, str]:
    c, par = _some_child(run), run.parent
    return (
        f"The child's RES is {fmt_bytes(c.RES)} with RssAnon {fmt_bytes(c.RssAnon)}, but its SHR is only "
        f"{fmt_bytes(c.SHR)}. The {run.private_mib} MiB are shared with the parent for real (nobody has written "
        f"them since fork, so there is one copy), yet they are anonymous pages, and SHR counts only file and "
        f"shmem pages. PSS sees the sharing: parent {fmt_bytes(par.PSS)}, child {fmt_bytes(c.PSS)}, half each.",
        f"자식의 RES는 {fmt_bytes(c.RES)}이고 RssAnon이 {fmt_bytes(c.RssAnon)}인데, SHR은 {fmt_bytes(c.SHR)}뿐입니다. "
        f"이 {run.private_mib} MiB는 실제로 부모와 공유하고 있습니다(fork 뒤 아무도 쓰지 않았으니 복사본은 "
        f"하나입니다). 하지만 익명 페이지이고, SHR은 파일 페이지와 shmem 페이지만 셉니다. 공유를 알아보는 것은 "
        f"PSS입니다. 부모 {fmt_bytes(par.PSS)}, 자식 {fmt_bytes(c.PSS)}, 절반씩입니다.",
    )


quiz.register(quiz.Question(
    id="2.2-cow-shr",
    prompt=("The parent mallocs and writes P MiB of private memory, then forks one child that never touches it. "
            "Parent and child now share those pages copy-on-write. Where do they show in the child?",
            "부모가 비공개 메모리 P MiB를 malloc해서 쓴 다음, 그 메모리를 건드리지 않는 자식 하나를 fork합니다. "
            "이제 부모와 자식은 그 페이지를 쓰기 시 복사(copy-on-write)로 공유합니다. 자식에게서는 어디에 나타날까요?"),
    options=[("In RES and in SHR: they are shared with the parent", "RES와 SHR 모두. 부모와 공유하니까"),
             ("In RES, not in SHR", "RES에는 나타나지만 SHR에는 나타나지 않는다"),
             ("Nowhere until the child writes them", "자식이 쓰기 전까지는 어디에도 없다")],
    judge=_cow_judge,
    explain=_cow_explain,
))


def _sum_res_judge(run: SharedRun) -> int:
    ratio = run.sum_res / max(run.real_delta, 1)
    if ratio > 1.5:
        return 1
    if ratio >= 2 / 3:
        return 0
    return 2


def _sum_res_explain(run: SharedRun) -> tuple[str, str]:
    procs = run.children + 1
    return (
        f"Sum of RES over the {procs} processes: {fmt_bytes(run.sum_res)}. What the machine really spent on "
        f"them (AnonPages + Shmem in /proc/meminfo): {fmt_bytes(run.real_delta)}. Sum of PSS: {fmt_bytes(run.sum_pss)}. "
        f"RES counts each shared page once per process that maps it; PSS counts it once in total.",
        f"프로세스 {procs}개의 RES 합계: {fmt_bytes(run.sum_res)}. 이들에게 실제로 쓰인 메모리(/proc/meminfo의 "
        f"AnonPages + Shmem): "
        f"{fmt_bytes(run.real_delta)}. PSS 합계: {fmt_bytes(run.sum_pss)}. RES는 공유 페이지를 매핑한 프로세스마다 "
        f"한 번씩 세고, PSS는 전체에서 한 번만 셉니다.",
    )


quiz.register(quiz.Question(
    id="2.2-sum-res",
    prompt=("Add up RES over the parent and its children from the two runs above. Compared with the memory the "
            "machine really spent on them, the sum is ...",
            "위 두 실행에서 부모와 자식들의 RES를 모두 더합니다. 이들에게 실제로 쓰인 메모리와 비교하면 합계는 ..."),
    options=[("About the same", "거의 같다"),
             ("Several times larger, about one copy per process", "몇 배 크다. 프로세스 수만큼 복사본을 센 정도"),
             ("Smaller: RES leaves the shared part out", "더 작다. RES는 공유 부분을 빼고 센다")],
    judge=_sum_res_judge,
    explain=_sum_res_explain,
))


def _virt_judge(v: VirtBreakdown) -> int:
    arenas_stacks = v.arenas_and_stacks
    others = {"heap": v.virt_of("heap"), "file": v.virt_of("file")}
    biggest = max(others, key=lambda k: others[k])
    if arenas_stacks >= max(others.values()):
        return 2
    return 0 if biggest == "heap" else 1


def _virt_explain(v: VirtBreakdown) -> tuple[str, str]:
    return (
        f"Arena heaps and thread stacks: {fmt_bytes(v.arenas_and_stacks)} of VIRT; files (libraries): "
        f"{fmt_bytes(v.virt_of('file'))}; the main heap: {fmt_bytes(v.virt_of('heap'))}. Of the arenas and "
        f"stacks only {fmt_bytes(v.res_of('arena') + v.res_of('stack'))} is resident: they are reservations.",
        f"아레나 힙과 스레드 스택: VIRT 중 {fmt_bytes(v.arenas_and_stacks)}, 파일(라이브러리): "
        f"{fmt_bytes(v.virt_of('file'))}, 주 힙: {fmt_bytes(v.virt_of('heap'))}. 아레나와 스택 가운데 상주 메모리는 "
        f"{fmt_bytes(v.res_of('arena') + v.res_of('stack'))}뿐입니다. 대부분 예약만 해 둔 공간입니다.",
    )


quiz.register(quiz.Question(
    id="2.2-virt-kernel",
    prompt=("The cell above printed this Jupyter kernel's VIRT and RES: VIRT is far larger. What takes most of that VIRT?",
            "위 셀이 이 주피터 커널의 VIRT와 RES를 보여 줬습니다. VIRT가 훨씬 큽니다. 그 VIRT의 대부분을 차지하는 것은 "
            "무엇일까요?"),
    options=[("Python objects on the main heap", "주 힙에 있는 파이썬 객체"),
             ("The loaded libraries (numpy, pandas, libpython ...)", "불러온 라이브러리(numpy, pandas, libpython ...)"),
             ("Address space reserved for threads: malloc arenas and stacks",
              "스레드용으로 예약한 주소 공간: malloc 아레나와 스택")],
    judge=_virt_judge,
    explain=_virt_explain,
))
