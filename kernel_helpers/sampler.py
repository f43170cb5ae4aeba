"""Sample processes at a steady rate in a daemon thread, into a bounded ring buffer.

The thread never raises into another cell: an error becomes ``status``.  When a sampled
program exits, the sampler records how (exit status, or the signal that killed it, e.g.
SIGKILL from the OOM killer) and stops itself once nothing is left to sample.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from . import metrics, validate
from .i18n import Texts, error
from .procfs import AccessDenied, ProcessGone
from .programs import Program

if TYPE_CHECKING:  # pandas loads on first use: a live chart does not wait for it
    import pandas as pd

DEFAULT_HZ = 5.0
DEFAULT_MAXLEN = 600  # two minutes at 5 Hz
COLUMNS = ("t", "pid", "virt", "res", "shr", "rss_anon", "rss_file", "rss_shmem", "uss", "pss",
           "rss_exact", "minflt", "majflt", "state", "committed_as", "mem_available")


#: How a sampled process ended, in Sampler.exits (in the notebook's language: a reader sees them).
_ENDED = Texts({
    "stopped by": ("{how} ({why})", "{how} ({why})"),
    "zombie": ("exited (a zombie: its parent has not collected it)",
               "종료됨 (좀비: 부모가 아직 종료 상태를 거두지 않았습니다)"),
    "exited": ("exited", "종료됨"),
    "not readable": ("not readable: {e}", "읽을 수 없음: {e}"),
})


class Sampler:
    """Sample one or several PIDs (or Programs) at ``hz`` into a ring buffer of ``maxlen`` rows.

    ``on_sample(rows)`` is called from the thread after each tick (a chart uses it); errors in
    it are kept in ``status`` and do not stop sampling.
    """

    def __init__(self, targets: int | Program | Iterable[int | Program], hz: float = DEFAULT_HZ,
                 maxlen: int = DEFAULT_MAXLEN, full: bool = False, system: bool = True,
                 on_sample: Callable[[list[dict]], None] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        if isinstance(targets, (int, Program)):
            targets = [targets]
        self.targets: list[int | Program] = list(targets)
        if not self.targets:
            raise error(ValueError, "give at least one PID or Program to sample, e.g. Sampler([os.getpid()])",
                        "샘플링할 PID나 Program을 하나 이상 주세요. 예: Sampler([os.getpid()])")
        for t in self.targets:
            if isinstance(t, Program):
                if t.pid is None:
                    raise error(ValueError, "{name} has not been started yet: call .start() first",
                                "{name}이(가) 아직 시작되지 않았습니다. 먼저 .start()를 호출하세요.", name=t.name)
            elif isinstance(t, bool) or not isinstance(t, int) or t <= 0:
                raise error(ValueError, "targets must be positive PIDs or started Programs, got {t!r}; "
                            "pass e.g. [os.getpid()]",
                            "targets는 양수 PID나 시작된 Program이어야 합니다({t!r}은(는) 쓸 수 없습니다). "
                            "[os.getpid()]처럼 주세요.", t=t)
        if isinstance(hz, bool) or not isinstance(hz, (int, float)) or not 0 < hz <= 100:
            raise error(ValueError, "hz must be between 0 and 100 samples per second, got {hz!r}; pass e.g. hz=5",
                        "hz는 초당 샘플 수로 0보다 크고 100 이하여야 합니다({hz!r}은(는) 쓸 수 없습니다). "
                        "hz=5처럼 주세요.", hz=hz)
        maxlen = validate.whole("maxlen", maxlen, 1, what=("a whole number of rows", "행 수(정수)"))
        self.hz = float(hz)
        self.full = full
        self.system = system
        self.on_sample = on_sample
        self.clock = clock
        self.buffer: collections.deque[dict] = collections.deque(maxlen=maxlen)
        self.exits: dict[int, str] = {}  # pid -> how it ended
        self.status = "not started"
        self.errors: collections.deque[str] = collections.deque(maxlen=100)  # the latest, bounded
        self.t0: float | None = None
        self.ticks = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # files kept open between ticks (see metrics.ProcessReader); opened at the first tick, or at
        # the first read_now(). The lock keeps a close from racing a read in another thread.
        self._readers: dict[int, metrics.ProcessReader] = {}
        self._read_lock = threading.Lock()
        self._commit: metrics.CommitReader | None = None
        self._pairs_cache: list[tuple[int | Program, int]] | None = None

    # --- control ---
    @property
    def pids(self) -> list[int]:
        return [t.pid if isinstance(t, Program) else t for t in self.targets]  # type: ignore[misc]

    def _pairs(self) -> list[tuple[int | Program, int]]:
        """(target, pid) per target; a started Program keeps its PID, so this is worked out once."""
        if self._pairs_cache is None:
            self._pairs_cache = list(zip(self.targets, self.pids, strict=True))
        return self._pairs_cache

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Sampler:
        """Start the thread (a no-op when it is already running)."""
        if self.alive:
            return self
        self._stop.clear()
        if self.t0 is None:
            self.t0 = self.clock()
        self.status = "running"
        self._thread = threading.Thread(target=self._run, name="toplab-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread (a no-op when it is not running) and close the files it kept open."""
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)
        if t is None or not t.is_alive():  # else the thread closes them as it ends
            self._close_files()
        if self.status == "running":
            self.status = "stopped"

    def _close_files(self) -> None:
        with self._read_lock:
            readers, self._readers = self._readers, {}
            for r in readers.values():
                r.close()
            commit, self._commit = self._commit, None
            if commit is not None:
                commit.close()

    @property
    def open_files(self) -> int:
        """How many /proc files the sampler holds open now (3-4 per live PID, 1 for the system row)."""
        return sum(len(r._files) for r in self._readers.values()) + (self._commit is not None)

    def __enter__(self) -> Sampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- sampling ---
    def _system_row(self) -> dict:
        """Committed_AS and MemAvailable now ({} without ``system``); call with the read lock held."""
        if not self.system:
            return {}
        if self._commit is None:
            self._commit = metrics.CommitReader()
        return self._commit.read()

    def _read_pid(self, pid: int) -> dict:
        """One process now, through its kept-open reader; call with the read lock held."""
        reader = self._readers.get(pid)
        if reader is None:
            reader = self._readers[pid] = metrics.ProcessReader(pid, full=self.full)
        return reader.read()

    def read_now(self, pid: int) -> dict | None:
        """``pid`` read now by the same reader as the samples (a row with the buffer's columns, not
        added to it), for a figure tied to a moment, such as right after a program's step line.

        None when the process has exited or turned zombie, cannot be read, or the sampler has
        stopped; the sampling thread records how it ended.
        """
        if pid not in self.pids:
            raise error(ValueError, "pid {pid} is not sampled here (targets: {pids}); ask for one of those",
                        "PID {pid}은(는) 이 샘플러가 샘플링하지 않습니다(대상: {pids}). 그중 하나를 고르세요.",
                        pid=pid, pids=self.pids)
        with self._read_lock:
            finished = self._stop.is_set() or (self._thread is not None and not self._thread.is_alive())
            if finished or pid in self.exits:
                return None  # no file is opened again once the thread has closed them
            try:
                sys_row = self._system_row()
                row = self._read_pid(pid)
            except (ProcessGone, AccessDenied):
                return None
        if row["state"] == "Z":
            return None
        now = self.clock()
        row.update(sys_row, t=now - self.t0 if self.t0 is not None else 0.0, pid=pid)
        return row

    def sample_once(self) -> list[dict]:
        """Take one row per live target now, append them to the buffer and return them."""
        ended: list[tuple[int | Program, int, bool]] = []
        with self._read_lock:
            rows = self._sample_locked(ended)
        for target, pid, zombie in ended:  # may wait for the exit status: not under the lock
            self.exits[pid] = self._how_it_ended(target, pid, zombie=zombie)
        return rows

    def _sample_locked(self, ended: list[tuple[int | Program, int, bool]]) -> list[dict]:
        now = self.clock()
        if self.t0 is None:
            self.t0 = now
        sys_row = self._system_row()
        rows = []
        t = now - self.t0
        for target, pid in self._pairs():
            if pid in self.exits:
                continue
            try:
                ps = self._read_pid(pid)
            except ProcessGone:
                self._close_reader(pid)
                self.exits[pid] = "exited"  # how: worked out by sample_once, after the lock
                ended.append((target, pid, False))
                continue
            except AccessDenied as e:
                self._close_reader(pid)
                self.exits[pid] = _ENDED("not readable", None, e=e)
                continue
            if ps["state"] == "Z":  # exited, waiting for its parent to collect the status
                self._close_reader(pid)
                self.exits[pid] = "exited"
                ended.append((target, pid, True))
                continue
            ps.update(sys_row, t=t, pid=pid)  # the reader's dict becomes the row (swap rides along)
            rows.append(ps)
        with self._lock:
            self.buffer.extend(rows)
        self.ticks += 1
        return rows

    def _close_reader(self, pid: int) -> None:
        reader = self._readers.pop(pid, None)
        if reader is not None:
            reader.close()

    @staticmethod
    def _how_it_ended(target: int | Program, pid: int, zombie: bool = False) -> str:
        if isinstance(target, Program):
            for _ in range(50):  # the reader may see /proc go before Popen reaps: wait briefly
                if target.returncode is not None:
                    # the sampler runs in the Jupyter kernel: current_lang() is the notebook's
                    desc = target.exit_description()
                    return _ENDED("stopped by", None, how=desc, why=target.stopped_by) if target.stopped_by else desc
                time.sleep(0.01)
        return _ENDED("zombie" if zombie else "exited")

    def _run(self) -> None:
        period = 1.0 / self.hz
        next_t = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    rows = self.sample_once()
                except Exception as e:  # never raise into someone else's cell
                    self.errors.append(f"{type(e).__name__}: {e}")
                    self.status = f"error: {type(e).__name__}: {e}"
                    return
                if self.on_sample is not None:
                    try:
                        self.on_sample(rows)
                    except Exception as e:
                        self.errors.append(f"on_sample: {type(e).__name__}: {e}")
                if len(self.exits) == len(self.targets):
                    self.status = "finished: " + "; ".join(
                        f"pid {p} {how}" for p, how in self.exits.items())
                    return
                next_t += period
                delay = next_t - time.monotonic()
                if delay < 0:  # fell behind (a busy machine): skip ahead, never queue a backlog
                    next_t = time.monotonic()
                    delay = 0
                self._stop.wait(delay)
        finally:
            self._close_files()
            if self.status == "running":
                self.status = "stopped"

    # --- results ---
    def rows(self) -> list[dict]:
        with self._lock:
            return list(self.buffer)

    def rows_after(self, t: float | None) -> list[dict]:
        """The rows newer than ``t`` (all of them for None), oldest first: a live chart's new points,
        without copying the whole window at every redraw."""
        with self._lock:
            if t is None:
                return list(self.buffer)
            out = []
            for row in reversed(self.buffer):
                if row["t"] <= t:
                    break
                out.append(row)
        out.reverse()
        return out

    def last(self) -> dict | None:
        """The newest row, or None."""
        with self._lock:
            return self.buffer[-1] if self.buffer else None

    def to_dataframe(self) -> pd.DataFrame:
        """The buffer as a DataFrame: one row per PID per tick, sizes in bytes, ``t`` in seconds."""
        import pandas as pd

        df = pd.DataFrame(self.rows(), columns=list(COLUMNS))
        return df
