"""Running the real procps `top` and reading what it prints: one runner, one parser.

``run()`` starts ``top -b -n 1 -w 512 [-p PIDS]`` (batch mode, a frame count, a width) with an
empty HOME and XDG_CONFIG_HOME, so a personal ``~/.toprc`` cannot reorder the columns or change
the units, LC_ALL=C for '.' decimals, and a timeout. Without top it raises ``TopNotFound``, which
says what to install. ``parse()`` turns the text into ``Frame``s: the summary lines as numbers
and the process table as the text of each cell, found by column name; ``kib()`` reads a memory
cell ('123456', or scaled like '1.5g') back into KiB.

Beside it: ``run_cli()`` and ``run_side_by_side()`` run ``python -m kernel_helpers.top``, alone
or together with the real top; ``version()`` and ``man_text()`` ask this machine's top about
itself. Lessons call these and never start top themselves (tests/test_layout.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from .i18n import error, say

__all__ = [
    "TopNotFound", "TopFailed", "Frame", "Row", "which", "command", "environment", "run", "parse",
    "parse_frame", "parse_top_batch", "kib", "run_cli", "run_side_by_side", "version", "man_text",
    "process_row", "beside_statm",
    "TOP_PID_LIMIT", "WIDTH", "TIMEOUT", "MEMORY_COLUMNS",
]

TOP_PID_LIMIT = 20  # top -p takes at most 20 PIDs per run
WIDTH = 512  # top's widest: no cell is cut, and COMMAND is whole
TIMEOUT = 60.0  # seconds; one frame takes milliseconds, -n 2 -d D about D
#: top's memory columns, in KiB unless scaled with a suffix (see ``kib``).
MEMORY_COLUMNS = ("VIRT", "RES", "SHR", "SWAP", "CODE", "DATA", "USED", "RSan", "RSfd", "RSlk", "RSsh")
_SUFFIXES = "kmgtpe"  # top's Scaled_sfxs: KiB, MiB, GiB, TiB, PiB, EiB


class TopNotFound(FileNotFoundError):
    """The procps `top` command is not installed, so there is nothing to compare with."""

    def __init__(self) -> None:
        super().__init__(say((
            "the `top` command is not installed. Install procps: `apt-get install procps` "
            "(Debian/Ubuntu), `dnf install procps-ng` (Fedora) or `apk add procps` (Alpine).",
            "`top` 명령이 설치되어 있지 않습니다. procps를 설치하세요: `apt-get install procps`"
            "(Debian/Ubuntu), `dnf install procps-ng`(Fedora), `apk add procps`(Alpine).")))


class TopFailed(RuntimeError):
    """top ran but failed (a nonzero exit status, or no answer within the timeout)."""

    def __init__(self, argv: Sequence[str], returncode: int | None, stderr: str):
        self.argv, self.returncode, self.stderr = list(argv), returncode, stderr.strip()
        what = (say(("exit status {rc}", "종료 상태 {rc}"), rc=returncode) if returncode is not None
                else say(("timed out", "시간 초과")))
        super().__init__(say(("{argv} failed ({what}): {err}. Run it in a terminal to see why, then try again",
                              "{argv} 실행이 실패했습니다({what}): {err}. 터미널에서 직접 실행해 이유를 확인한 뒤 "
                              "다시 해 보세요."), argv=" ".join(self.argv), what=what, err=self.stderr))


# --- running it -------------------------------------------------------------------------------

def which() -> str | None:
    """The path of the real top, or None."""
    return shutil.which("top")


def command(args: Iterable[str] = (), pids: Iterable[int] | None = None, frames: int | None = None,
            delay: float | None = None, width: int | None = WIDTH) -> list[str]:
    """The argv of one batch run: ``top -b [ARGS] -n FRAMES [-d DELAY] -w WIDTH [-p PIDS]``.

    ``args`` are top's own options as a list (e.g. ``["-o", "%MEM"]``); -b is added unless
    given, ``-n 1`` when neither ``frames`` nor ``args`` give a frame count (top would run
    forever), ``-w WIDTH`` unless ``args`` give one or ``width`` is None (then top's default, 80
    when piped). Raises TopNotFound without top.
    """
    exe = which()
    if exe is None:
        raise TopNotFound()
    argv = [str(a) for a in args]
    if "-b" not in argv:
        argv.insert(0, "-b")
    if frames is not None:
        argv += ["-n", str(int(frames))]
    elif "-n" not in argv:
        argv += ["-n", "1"]
    if delay is not None:
        argv += ["-d", f"{delay:g}"]
    if width is not None and "-w" not in argv:
        argv += ["-w", str(int(width))]
    if pids is not None:
        pid_list = [int(p) for p in pids]
        if not pid_list:
            raise error(ValueError, "pids is empty: give at least one PID, or None for every process",
                        "pids가 비어 있습니다. PID를 하나 이상 주거나, 모든 프로세스를 보려면 None을 주세요.")
        if len(pid_list) > TOP_PID_LIMIT:
            raise error(ValueError, "top -p takes at most {limit} PIDs, got {n}; split them into groups of {limit}",
                        "top -p에는 PID를 최대 {limit}개까지 줄 수 있습니다({n}개를 받았습니다). {limit}개씩 나눠 주세요.",
                        limit=TOP_PID_LIMIT, n=len(pid_list))
        argv += ["-p", ",".join(map(str, pid_list))]
    return [exe, *argv]


def environment(home: str) -> dict[str, str]:
    """The environment top runs in: ``home`` (an empty folder) as HOME and XDG_CONFIG_HOME, C locale.

    top reads its configuration from $XDG_CONFIG_HOME/procps/toprc or ~/.toprc; a personal one
    can reorder or hide columns, scale memory to MiB or turn on colours. LC_ALL=C keeps '.' as
    the decimal point; TERM=dumb keeps terminal codes out of batch output.
    """
    return {**os.environ, "HOME": home, "XDG_CONFIG_HOME": home, "LC_ALL": "C", "TERM": "dumb"}


def run(args: Iterable[str] = (), pids: Iterable[int] | None = None, frames: int | None = None,
        delay: float | None = None, width: int | None = WIDTH, timeout: float = TIMEOUT) -> str:
    """Run the real top once (see ``command``) and return what it printed.

    Raises TopNotFound without top, TopFailed when it fails or takes longer than ``timeout``.
    """
    argv = command(args, pids, frames, delay, width)
    with tempfile.TemporaryDirectory(prefix="toplab-toprc-") as home:
        try:
            r = subprocess.run(argv, capture_output=True, text=True, env=environment(home),
                               stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired as e:  # run() has killed and reaped it
            err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
            raise TopFailed(["top", *argv[1:]], None, err) from e
    if r.returncode != 0:
        raise TopFailed(["top", *argv[1:]], r.returncode, r.stderr)
    return r.stdout


# --- reading what it printed ------------------------------------------------------------------

def kib(cell: str) -> int:
    """top's memory cell in KiB: '123456' (KiB), or scaled with a suffix ('1.5g', '300.2m'), rounded.

    top prints memory in KiB and, when the number does not fit its column (or a toprc scales
    memory), switches to k/m/g/t/p/e for KiB/MiB/GiB/TiB/PiB/EiB with one decimal.
    """
    text = str(cell).strip()
    if text[-1:].isalpha():
        power = _SUFFIXES.find(text[-1].lower())
        if power < 0:
            raise error(ValueError, "{cell!r} is not a memory cell of top (suffixes are {suffixes}); pass a number "
                        "of KiB such as '1024' or '1.5g'",
                        "{cell!r}은(는) top의 메모리 칸이 아닙니다(접미사는 {suffixes}). '1024'나 '1.5g'처럼 주세요.",
                        cell=cell, suffixes=", ".join(_SUFFIXES))
        return round(float(text[:-1]) * 1024**power)
    try:
        return int(text)
    except ValueError:
        return round(float(text))  # '0.0' where a toprc scales without a suffix


@dataclass(frozen=True)
class Row:
    """One process line of top's table: each cell's text by column name, and the line as printed."""

    cells: dict[str, str]
    line: str

    def __getitem__(self, column: str) -> str:
        return self.cells[column]

    def get(self, column: str, default: str | None = None) -> str | None:
        return self.cells.get(column, default)

    @property
    def pid(self) -> int:
        return int(self.cells["PID"])

    def kib(self, column: str) -> int:
        """A memory column (VIRT, RES, SHR, ...) in KiB."""
        return kib(self.cells[column])


@dataclass(frozen=True)
class Frame:
    """One frame of `top -b`: the summary lines as numbers and the process table as text.

    ``tasks`` ('total', 'running', ...), ``cpu`` ('us', 'sy', ...), ``mem`` ('total', 'free',
    'used', 'buff/cache') and ``swap`` ('total', 'free', 'used', 'avail Mem') hold the numbers as
    printed, memory in ``mem_unit`` ('MiB' by default). ``rows`` keep each cell's text.
    """

    uptime_line: str | None = None
    load_average: tuple[float, ...] = ()
    tasks: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    mem: dict[str, float] = field(default_factory=dict)
    swap: dict[str, float] = field(default_factory=dict)
    mem_unit: str | None = None
    columns: tuple[str, ...] = ()
    rows: tuple[Row, ...] = ()

    def row(self, pid: int) -> Row | None:
        """The row of ``pid``, or None when top did not list it."""
        want = str(int(pid))
        return next((r for r in self.rows if r.cells.get("PID") == want), None)

    def by_pid(self) -> dict[int, Row]:
        return {r.pid: r for r in self.rows if r.cells.get("PID", "").isdigit()}

    @property
    def summary(self) -> dict[str, object]:
        """The summary as a dict: 'uptime_line', 'tasks', 'cpu', 'mem', 'swap' (those present)."""
        out: dict[str, object] = {}
        if self.uptime_line is not None:
            out["uptime_line"] = self.uptime_line
        for key in ("tasks", "cpu", "mem", "swap"):
            if getattr(self, key):
                out[key] = dict(getattr(self, key))
        return out

    def table(self) -> pd.DataFrame:
        """The process table, one column per top column, each cell the text top printed."""
        return pd.DataFrame([[r.cells.get(c, "") for c in self.columns] for r in self.rows],
                            columns=list(self.columns))


_PAIR = re.compile(r"(-?[\d.]+)\+?\s+([A-Za-z/]+(?: Mem)?)")
_MEM_LINE = re.compile(r"^(\w+) (Mem|Swap)\s*:(.*)$")
_LOAD = re.compile(r"load average:\s*(.*)$")


def _pairs(text: str) -> list[tuple[str, str]]:
    return [(num, name.rstrip(".")) for num, name in _PAIR.findall(text.replace(",", " , "))]


def _frame(lines: list[str]) -> Frame:
    info: dict[str, object] = {}
    head = None
    for i, line in enumerate(lines):
        if line.startswith("top - "):
            info["uptime_line"] = line.rstrip()
            m = _LOAD.search(line)
            if m:
                info["load_average"] = tuple(float(x) for x in m.group(1).replace(",", " ").split())
        elif line.startswith(("Tasks:", "Threads:")):
            info["tasks"] = {name: int(float(num)) for num, name in _pairs(line.split(":", 1)[1])}
        elif line.startswith("%Cpu(s):"):
            info["cpu"] = {name: float(num) for num, name in _pairs(line.split(":", 1)[1])}
        elif (m := _MEM_LINE.match(line)) is not None:
            info["mem_unit"] = m.group(1)
            key = "mem" if m.group(2) == "Mem" else "swap"
            info[key] = {name: float(num.rstrip(".")) for num, name in _pairs(m.group(3))}
        elif "PID" in line.split():  # the column header, wherever a toprc put PID
            head = i
            break
    if head is None:
        raise error(ValueError, "no column header line (PID USER ...) in the top output; pass what `top -b -n 1` "
                    "printed, whole",
                    "top 출력에 열 제목 줄(PID USER ...)이 없습니다. `top -b -n 1`이 출력한 내용을 통째로 주세요.")
    names = tuple(lines[head].split())
    rows = []
    for ln in lines[head + 1:]:
        if not ln.strip():
            break
        cells = ln.split(None, len(names) - 1)  # the last column (COMMAND) may hold spaces
        cells += [""] * (len(names) - len(cells))
        rows.append(Row(dict(zip(names, cells, strict=True)), ln.rstrip()))
    return Frame(columns=names, rows=tuple(rows), **info)  # type: ignore[arg-type]


def parse(text: str) -> list[Frame]:
    """Every frame of `top -b` output (one per -n), in order."""
    lines = text.splitlines()
    starts = [i for i, ln in enumerate(lines) if ln.startswith("top - ")] or [0]
    if starts[0] != 0 and any(ln.strip() for ln in lines[: starts[0]]):
        starts.insert(0, 0)
    ends = starts[1:] + [len(lines)]
    return [_frame(lines[a:b]) for a, b in zip(starts, ends, strict=True)]


def parse_frame(text: str) -> Frame:
    """The first frame of `top -b` output."""
    return parse(text)[0]


def parse_top_batch(text: str) -> tuple[dict[str, object], pd.DataFrame]:
    """The first frame of `top -b` output as ``(summary, rows)``: see ``Frame.summary`` and ``Frame.table``.

    summary has 'uptime_line', 'tasks' (dict of counts), 'cpu' (dict of percents), 'mem' and
    'swap' (dicts of MiB as printed); rows has top's column names and the text of each cell.
    """
    f = parse_frame(text)
    return f.summary, f.table()


# --- our CLI, alone and beside the real top ---------------------------------------------------

def _cli_argv(pids: Sequence[int], args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "kernel_helpers.top", *args, "-p", ",".join(map(str, pids))]


def run_cli(pids: Iterable[int], args: Sequence[str] = ("-n", "1", "-w", "100"),
            timeout: float = TIMEOUT) -> tuple[list[str], str]:
    """Run ``python -m kernel_helpers.top ARGS -p PIDS`` in a fresh Python: (its argv, its output)."""
    argv = _cli_argv([int(p) for p in pids], list(args))
    r = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout)
    if r.returncode != 0:
        raise error(RuntimeError, "python -m kernel_helpers.top failed ({rc}): {err}. Run it in a terminal to see why",
                    "python -m kernel_helpers.top 실행이 실패했습니다({rc}): {err}. 터미널에서 직접 실행해 이유를 "
                    "확인하세요.", rc=r.returncode, err=r.stderr.strip())
    return argv, r.stdout


def run_side_by_side(pids: Iterable[int], width: int = 100, timeout: float = TIMEOUT) -> tuple[str, str]:
    """Run ``python -m kernel_helpers.top`` and the real top for ``pids`` at the same time: both texts.

    The caller only waits while both read /proc (into files: no pipe to drain, no Python code
    running here), so its own row cannot change between their readings. top starts last: it
    reads /proc within a few milliseconds, while the Python one still imports pandas.
    """
    pids = [int(p) for p in pids]
    top_argv = command(pids=pids, width=width)
    with tempfile.TemporaryDirectory(prefix="toplab-side-") as d:
        paths = (os.path.join(d, "cli.txt"), os.path.join(d, "top.txt"))
        procs: list[subprocess.Popen] = []
        try:
            with open(paths[0], "w") as out_cli, open(paths[1], "w") as out_top:
                procs.append(subprocess.Popen(_cli_argv(pids, ["-n", "1", "-w", str(width)]), stdout=out_cli,
                                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
                procs.append(subprocess.Popen(top_argv, stdout=out_top, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL, env=environment(d)))
                codes = [p.wait(timeout=timeout) for p in procs]
        finally:
            for p in procs:  # only on an error or a timeout: each by its own PID, then reaped
                if p.poll() is None:
                    p.kill()
                    p.wait()
        texts = tuple(open(path).read().rstrip("\n") for path in paths)
    for name, code, text in zip(("python -m kernel_helpers.top", "top"), codes, texts, strict=True):
        if code != 0:
            raise error(RuntimeError, "{name} failed ({code}): {text}. Run it in a terminal to see why",
                        "{name} 실행이 실패했습니다({code}): {text}. 터미널에서 직접 실행해 이유를 확인하세요.",
                        name=name, code=code, text=text[-500:])
    return texts[0], texts[1]


def process_row(pid: int) -> dict[str, object]:
    """Run ``top -b -n 1 -p PID`` and parse the process row: its cells, the raw ``line``, and
    ``VIRT_kib``/``RES_kib``/``SHR_kib``. ProcessGone when top does not list it."""
    from .procfs import ProcessGone

    found = parse_frame(run(pids=[pid])).row(pid)
    if found is None:
        raise ProcessGone(pid, ("top did not list it", "top 목록에 없음"))
    row: dict[str, object] = dict(found.cells)
    row["line"] = found.line
    for k in ("VIRT", "RES", "SHR"):
        row[k + "_kib"] = found.kib(k)
    return row


def beside_statm(pid: int, times: int = 3, every: float = 0.3) -> list[dict[str, object]]:
    """top's VIRT/RES/SHR for ``pid`` next to /proc/PID/statm's, in KiB, ``times`` times.

    statm is read just before and just after top; if the process changed in between, the pair is
    read again, so both sides describe the same moment. Each record: ``line`` (top's row),
    ``top`` and ``statm`` as (VIRT, RES, SHR) in KiB, and ``same``.
    """
    import time

    from . import procfs

    out = []
    for i in range(times):
        if i:
            time.sleep(every)
        for _ in range(5):
            before = procfs.statm(pid)
            row = process_row(pid)
            after = procfs.statm(pid)
            if before == after:
                break
        top_kib = (row["VIRT_kib"], row["RES_kib"], row["SHR_kib"])
        statm_kib = tuple(v // 1024 for v in after)
        out.append({"line": row["line"], "top": top_kib, "statm": statm_kib, "same": top_kib == statm_kib})
    return out


# --- what this machine's top says about itself ------------------------------------------------

def version() -> str | None:
    """'procps-ng 4.0.2' from `top -V`, or None when top is not installed."""
    exe = which()
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "-V"], capture_output=True, text=True, timeout=5,
                             stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"(procps(?:-ng)?)\s+(?:version\s+)?([\d.]+)", out)
    return f"{m.group(1)} {m.group(2)}" if m else (out.strip() or None)


def man_text() -> str | None:
    """`man top` rendered without hyphenation, justification or line breaks inside paragraphs (None without it)."""
    exe = shutil.which("man")
    if not exe:
        return None
    env = dict(os.environ, LANG="C", LC_ALL="C", MANWIDTH="2000", MANPAGER="cat", PAGER="cat")
    try:
        r = subprocess.run([exe, "--nh", "--nj", "-P", "cat", "top"], capture_output=True,
                           text=True, timeout=20, env=env, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = re.sub(".\b", "", r.stdout)  # overstrike bold/underline, if a pager left any
    return text if r.returncode == 0 and "VIRT" in text else None
