"""Start the tutorial's C programs safely, talk to them, and always clean them up.

Arguments are checked here first (a clear ValueError for a negative, absurd or over-budget
size), the child gets its commands on stdin and answers with one ``EVENT key=value ...``
line per event on stdout (see c_programs/README.md).  Every child dies with the kernel: an
atexit hook stops what is still running, and the programs themselves ask the kernel for
SIGKILL when their parent dies (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

from . import safety, validate
from .i18n import Texts, error, josa
from .safety import MiB, fmt_bytes

REPO = Path(__file__).resolve().parent.parent
BIN_DIR = Path(os.environ.get("TOPLAB_BIN_DIR", REPO / "c_programs" / "bin"))
NAMES = ("malloc_test", "big_alloc", "shared_mem")
TOUCH_MODES = ("none", "all")

_running: weakref.WeakSet[Program] = weakref.WeakSet()
_running_lock = threading.Lock()


class _Launcher:
    """One daemon thread that forks every child.

    PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, so children must not
    come from a short-lived callback thread.  A daemon thread (unlike an executor's worker, which
    is joined before atexit hooks run) lives until the process itself ends.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, fn, *args, **kwargs) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="toplab-launcher", daemon=True)
                self._thread.start()
        self._jobs.put((fut, fn, args, kwargs))
        return fut

    def _run(self) -> None:
        while True:
            fut, fn, args, kwargs = self._jobs.get()
            try:
                fut.set_result(fn(*args, **kwargs))
            except BaseException as e:  # handed to the caller
                fut.set_exception(e)


_launcher = _Launcher()


def popen(cmd: list[str], **kwargs: object) -> subprocess.Popen:
    """``subprocess.Popen(cmd, **kwargs)``, forked by the launcher thread (see ``_Launcher``).

    For every child this kernel keeps running: a PR_SET_PDEATHSIG the child asks for then fires
    when the kernel's process ends, not when the thread that happened to start it does.
    """
    return _launcher.submit(subprocess.Popen, cmd, **kwargs).result()


class ProgramError(RuntimeError):
    """A program could not be started, or did not answer as expected."""


#: How a program ended, for Program.exit_description().
_EXIT = Texts({
    "running": ("running", "실행 중"),
    "not started": ("not started", "시작 전"),
    "killed": ("killed by {sig}", "{sig}(으)로 강제 종료됨"),
    "killed n": ("killed by signal {n}", "시그널 {n}(으)로 강제 종료됨"),
    "exited": ("exited with status {rc}", "종료 상태 {rc}(으)로 끝남"),
})


def parse_event(line: str) -> dict[str, object]:
    """'step n=3 requested=3145728 ok=1' -> {'event': 'step', 'n': 3, 'requested': 3145728, 'ok': 1}."""
    words = line.split()
    if not words:
        return {"event": ""}
    out: dict[str, object] = {"event": words[0]}
    for w in words[1:]:
        key, sep, value = w.partition("=")
        if not sep:
            out.setdefault("args", []).append(w)  # type: ignore[union-attr]
            continue
        try:
            out[key] = int(value)
        except ValueError:
            out[key] = value
    return out


def binary(name: str) -> Path:
    """The path of a built C program, or a ProgramError that says how to build it."""
    if name not in NAMES:
        raise error(ValueError, "unknown program {name!r}; the programs are {names}",
                    "{name!r}(이)라는 프로그램은 없습니다. 프로그램은 {names} 중 하나입니다.",
                    name=name, names=", ".join(NAMES))
    path = BIN_DIR / name
    if not os.access(path, os.X_OK):
        raise error(ProgramError, "{path} is not built yet. Run `make build` in {repo} (it needs gcc and make).",
                    "{path}이(가) 아직 빌드되지 않았습니다. {repo}에서 `make build`를 실행하세요"
                    "(gcc와 make가 필요합니다).", path=path, repo=REPO)
    return path


class Program:
    """One running C program: ``start()``, ``send()``, ``wait_for()``, ``stop()``; a context manager."""

    def __init__(self, name: str, args: list[str], touches_up_to: int, what: str | tuple[str, str]):
        self.name = name
        self.args = [str(a) for a in args]
        self.touches_up_to = touches_up_to
        self.what = what
        self.proc: subprocess.Popen[str] | None = None
        self.events: list[dict[str, object]] = []
        self.stderr_lines: list[str] = []
        self.stopped_by: str | None = None
        self._queue: queue.Queue[dict[str, object] | None] = queue.Queue()
        self._lock = threading.Lock()
        self.preexec_fn = None

    # --- life cycle ---
    def start(self, timeout: float = 5.0) -> Program:
        """Check the budget, start the child, and wait for its ``ready`` line."""
        if self.proc is not None:
            raise error(ProgramError, "{name} was already started (pid {pid}); make a new one",
                        "{name}은(는) 이미 시작되었습니다(PID {pid}). 새로 만들어 시작하세요.",
                        name=self.name, pid=self.proc.pid)
        safety.check_request(self.touches_up_to, self.what)
        path = binary(self.name)
        cmd = [str(path), *self.args]
        self.proc = popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, bufsize=1, preexec_fn=self.preexec_fn)
        with _running_lock:
            _running.add(self)
        threading.Thread(target=self._read_stdout, daemon=True, name=f"{self.name}-out").start()
        threading.Thread(target=self._read_stderr, daemon=True, name=f"{self.name}-err").start()
        _watchdog_start()
        try:
            self.wait_for("ready", timeout=timeout)
        except ProgramError:
            self.stop()
            raise
        return self

    def __enter__(self) -> Program:
        return self if self.proc is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.exit_description("en")
        return f"<Program {self.name} pid={self.pid} {state}>"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def exit_description(self, lang: str | None = None) -> str:
        """How the program is or ended, in ``lang`` or the notebook's language.

        English: 'running', 'not started', 'exited with status 0', 'killed by SIGKILL' or 'killed by
        signal N' (Popen's negative codes); code that parses it asks for ``exit_description("en")``.
        Korean: '실행 중', '시작 전', '종료 상태 0으로 끝남', 'SIGKILL로 강제 종료됨' ...
        """
        rc = self.returncode
        if rc is None:
            return _EXIT("running" if self.proc else "not started", lang)
        if rc < 0:
            try:
                return _EXIT("killed", lang, sig=signal.Signals(-rc).name)
            except ValueError:
                return _EXIT("killed n", lang, n=-rc)
        return _EXIT("exited", lang, rc=rc)

    # --- talking ---
    def _read_stdout(self) -> None:
        assert self.proc and self.proc.stdout
        for line in self.proc.stdout:
            ev = parse_event(line)
            ev["t"] = time.monotonic()
            with self._lock:
                self.events.append(ev)
            self._queue.put(ev)
        self._queue.put(None)  # EOF marker

    def _read_stderr(self) -> None:
        assert self.proc and self.proc.stderr
        for line in self.proc.stderr:
            self.stderr_lines.append(line.rstrip("\n"))

    def send(self, command: str) -> None:
        """Send one command line (``touch on``, ``pause``, ``go``, ``stop`` ...) to the program."""
        if not self.running:
            raise error(ProgramError, "{name} is not running ({how}); start it again",
                        "{name}이(가) 실행 중이 아닙니다({how}). 다시 시작하세요.",
                        name=self.name, how=self.exit_description())
        assert self.proc and self.proc.stdin
        try:
            self.proc.stdin.write(command.strip() + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as e:
            raise error(ProgramError, "{name} stopped listening ({how}); start it again",
                        "{name}이(가) 더 이상 명령을 받지 않습니다({how}). 다시 시작하세요.",
                        name=self.name, how=self.exit_description()) from e

    def iter_events(self, timeout: float = 5.0) -> Iterator[dict[str, object]]:
        """Events as they arrive, until EOF or ``timeout`` seconds without one."""
        while True:
            try:
                ev = self._queue.get(timeout=timeout)
            except queue.Empty:
                return
            if ev is None:
                self._queue.put(None)
                return
            yield ev

    def wait_for(self, event: str, timeout: float = 5.0, **match: object) -> dict[str, object]:
        """Block until an event named ``event`` (with the given key values) arrives; return it."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                ev = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if ev is None:
                self._queue.put(None)
                try:  # its stdout ended: it is exiting; let it be reaped, so the message says how it ended
                    self.proc.wait(timeout=1)  # type: ignore[union-attr]
                except subprocess.TimeoutExpired:
                    pass
                err = "; ".join(self.stderr_lines[-3:])
                raise error(ProgramError,
                            "{name} ended before '{event}' ({how}){err}; see its message, then start it again",
                            "{name}이(가) '{event}' 전에 끝났습니다({how}){err}. 프로그램의 메시지를 확인한 뒤 "
                            "다시 시작하세요.",
                            name=self.name, event=event, how=self.exit_description(),
                            err=f": {err}" if err else "")
            if ev["event"] == event and all(ev.get(k) == v for k, v in match.items()):
                return ev
        raise error(ProgramError,
                    "{name} sent no '{event}' line within {timeout} s; stop it and start it again "
                    "(a busy system may need a longer timeout)",
                    "{name}이(가) {timeout}초 안에 '{event}' 줄을 보내지 않았습니다. 멈춘 뒤 다시 시작하세요"
                    "(시스템이 바쁘면 timeout을 늘려야 할 수 있습니다).",
                    name=self.name, event=event, timeout=timeout)

    def last(self, event: str) -> dict[str, object] | None:
        """The most recent event of that name, or None."""
        with self._lock:
            for ev in reversed(self.events):
                if ev["event"] == event:
                    return ev
        return None

    def stop(self, timeout: float = 2.0) -> int | None:
        """Ask politely (``stop``), then SIGTERM, then SIGKILL, by our own PID; reap the child."""
        if self.proc is None:
            return None
        p = self.proc
        if p.poll() is None:
            try:
                p.stdin.write("stop\n")  # type: ignore[union-attr]
                p.stdin.flush()  # type: ignore[union-attr]
            except (BrokenPipeError, ValueError, OSError):
                pass
            for sig in (None, signal.SIGTERM, signal.SIGKILL):
                if sig is not None and p.poll() is None:
                    try:
                        p.send_signal(sig)
                    except ProcessLookupError:
                        pass
                try:
                    p.wait(timeout=timeout)
                    break
                except subprocess.TimeoutExpired:
                    continue
        p.wait()
        for stream in (p.stdin,):
            try:
                if stream:
                    stream.close()
            except (BrokenPipeError, OSError):
                pass
        with _running_lock:
            _running.discard(self)
        return p.returncode


# --- the three programs ----------------------------------------------------------------

# malloc_test's bounds, the numbers c_programs/malloc_test.c checks (tests/test_programs.py compares
# them with its --help). MallocExperiment and the panel's boxes use these too.
STEP_MIB_MAX = 1024  # MiB per malloc
INTERVAL_MS_MIN = 1  # the program's floor; a panel asks for more (panel_model.PANEL_INTERVAL_MS_MIN)
INTERVAL_MS_MAX = 600_000  # ten minutes between steps
MAX_MIB_MAX = 1 << 20  # 1 TiB of reservations: untouched, they cost no RAM
MAX_MIB_DEFAULT = 256  # the cap when none is given, here and in the C program


def _touch_arg(touch: str | int) -> str:
    if isinstance(touch, bool):
        raise error(TypeError, "touch must be 'none', 'all' or a percent 0-100, not a bool",
                    "touch는 'none', 'all' 또는 0~100의 퍼센트여야 합니다(True/False는 쓸 수 없습니다).")
    if isinstance(touch, int):
        return str(validate.whole("touch percent", touch, 0, 100))
    if touch not in TOUCH_MODES:
        raise error(ValueError, "touch must be 'none', 'all' or a percent 0-100, got {touch!r}",
                    "touch는 'none', 'all' 또는 0~100의 퍼센트여야 합니다({touch!r}은(는) 쓸 수 없습니다).",
                    touch=touch)
    return touch


def malloc_test(step_mib: int = 1, interval_ms: int = 1000, touch: str | int = "none",
                max_mib: int = MAX_MIB_DEFAULT, wait_go: bool = False, thp: bool = False) -> Program:
    """The chapter 2.3 experiment: malloc ``step_mib`` every ``interval_ms``, memset when touching.

    ``max_mib`` is a hard cap checked against the demo budget, since touching can be turned
    on at any time.  Transparent huge pages are off for the program unless ``thp`` (where THP is
    'always', khugepaged would otherwise turn a one-page step into 2 MiB of RES).  Call
    ``.start()`` (or use ``with``) to run it.
    """
    validate.whole("step_mib", step_mib, 1, STEP_MIB_MAX)
    validate.whole("interval_ms", interval_ms, INTERVAL_MS_MIN, INTERVAL_MS_MAX)
    validate.whole("max_mib", max_mib, 1, MAX_MIB_MAX)
    args = ["--step-mib", step_mib, "--interval-ms", interval_ms, "--touch", _touch_arg(touch),
            "--max-mib", max_mib]
    if wait_go:
        args.append("--wait-go")
    if thp:
        args.append("--thp")
    return Program("malloc_test", args, max_mib * MiB,
                   (f"malloc_test up to {max_mib} MiB", f"최대 {max_mib} MiB의 malloc_test"))


def big_alloc(nbytes: int, mmap: bool = False, touch_bytes: int = 0) -> Program:
    """One reservation of ``nbytes`` (any size: untouched it costs no RAM), touching ``touch_bytes``."""
    nbytes = validate.whole("nbytes", nbytes, 1, (1 << 63) - 1, what=("a whole number of bytes", "바이트 단위 정수"))
    touch_bytes = validate.whole("touch_bytes", touch_bytes, 0, what=("a whole number of bytes", "바이트 단위 정수"))
    if touch_bytes > nbytes:
        raise error(ValueError, "touch_bytes ({touch_bytes}) cannot exceed nbytes ({nbytes}); pass a smaller touch_bytes",
                    "touch_bytes({touch_bytes})는 nbytes({nbytes})보다 클 수 없습니다. touch_bytes를 줄이세요.",
                    touch_bytes=touch_bytes, nbytes=nbytes)
    args = ["--bytes", nbytes] + (["--mmap"] if mmap else [])
    if touch_bytes:
        args += ["--touch-bytes", touch_bytes]
    return Program("big_alloc", args, touch_bytes,
                   (f"big_alloc touching {fmt_bytes(touch_bytes)}", f"{josa(fmt_bytes(touch_bytes), '을')} 쓰는 big_alloc"))


# shared_mem's bounds, as c_programs/shared_mem.c checks them (SharedExperiment uses these too)
SHARED_MIB_MAX = 1024  # the shared region, and the private memory, in MiB
SHARED_CHILDREN_MAX = 16


def shared_mem(mib: int, children: int = 2, file: str | os.PathLike[str] | None = None,
               private_mib: int = 0, touch_parent: bool = True) -> Program:
    """A shared mapping of ``mib`` MiB touched by a parent and ``children`` forked children."""
    validate.whole("mib", mib, 1, SHARED_MIB_MAX)
    validate.whole("children", children, 0, SHARED_CHILDREN_MAX)
    validate.whole("private_mib", private_mib, 0, SHARED_MIB_MAX)
    args = ["--mib", mib, "--children", children]
    if file is not None:
        args += ["--file", os.fspath(file)]
    if private_mib:
        args += ["--private-mib", private_mib]
    if not touch_parent:
        args.append("--no-touch-parent")
    # shared pages exist once; private pages are copy-on-write and stay shared unless written
    return Program("shared_mem", args, (mib + private_mib) * MiB,
                   (f"shared_mem with {mib} MiB shared and {private_mib} MiB private",
                    f"공유 {mib} MiB, 개인 {private_mib} MiB의 shared_mem"))


# --- what the kernel said about them ---------------------------------------------------

def kernel_log(pid: int) -> list[str]:
    """The kernel's last OOM-kill lines about ``pid`` (`dmesg`; empty where the log is not readable)."""
    exe = shutil.which("dmesg")
    if exe is None:
        return []
    try:
        r = subprocess.run([exe], capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return []
    key = re.compile(rf"(Killed process {int(pid)} |oom-kill:.*\bpid={int(pid)},)")
    return [ln.strip() for ln in r.stdout.splitlines() if key.search(ln)][-2:]


# --- strace -----------------------------------------------------------------------------

STRACE_SYSCALLS = ("brk", "mmap", "munmap")


class StraceUnavailable(ProgramError):
    """strace is not installed, or may not trace here (no ptrace in this container)."""


def strace_malloc_test(steps: int = 3, step_mib: int = 1, syscalls: tuple[str, ...] = STRACE_SYSCALLS,
                       timeout: float = 20.0) -> list[str]:
    """The system calls malloc_test makes for ``steps`` mallocs of ``step_mib``, as strace prints them.

    Runs ``strace -qq -e trace=brk,mmap,munmap malloc_test --max-steps N`` (nothing is written, so
    it costs no RAM) and returns strace's lines. strace writes them to a pipe of their own, apart
    from the program's stdout; whatever happens (an error, a timeout, Ctrl-C), both processes are
    gone when this returns.
    """
    steps = validate.whole("steps", steps, 1, 16)
    step_mib = validate.whole("step_mib", step_mib, 1, 64)
    bad = [s for s in syscalls if not re.fullmatch(r"[a-z_0-9]+", s)]
    if bad or not syscalls:
        raise error(ValueError, "syscalls must be system call names such as 'mmap', not {bad!r}",
                    "syscalls에는 'mmap' 같은 시스템 콜 이름을 주세요({bad!r}은(는) 쓸 수 없습니다)", bad=bad)
    exe = shutil.which("strace")
    if exe is None:
        raise error(StraceUnavailable, "strace is not installed here: on Debian or Ubuntu run "
                    "`sudo apt-get install strace`, then run this cell again",
                    "이 시스템에는 strace가 없습니다. Debian이나 Ubuntu에서는 `sudo apt-get install strace`로 "
                    "설치한 다음 이 셀을 다시 실행하세요")
    program = str(binary("malloc_test"))  # before any descriptor is opened: a clear error if not built
    rfd, wfd = os.pipe()  # strace writes its lines here (-o /dev/fd/N)
    cmd = [exe, "-qq", "-e", "trace=" + ",".join(syscalls), "-o", f"/dev/fd/{wfd}", program,
           "--step-mib", str(step_mib), "--interval-ms", "1", "--max-steps", str(steps),
           "--max-mib", str(steps * step_mib)]
    try:
        proc = popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     text=True, pass_fds=(wfd,))
    except BaseException:
        os.close(rfd)
        raise
    finally:
        os.close(wfd)
    trace: list[str] = []
    reader = threading.Thread(target=lambda: trace.extend(os.fdopen(rfd).read().splitlines()),
                              name="toplab-strace", daemon=True)
    reader.start()
    own: list[str] = []
    timer = threading.Timer(timeout, proc.kill)  # a program that goes silent cannot hold the loop
    timer.daemon = True
    timer.start()
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            own.append(line.strip())
            if line.startswith("done"):
                break
        proc.stdin.close()  # type: ignore[union-attr]  # EOF: malloc_test exits
        proc.wait(timeout=max(1.0, timeout))
    except subprocess.TimeoutExpired:
        pass
    finally:
        timer.cancel()
        if proc.poll() is None:  # an error, a timeout or Ctrl-C on the way: end both now
            proc.kill()
        proc.wait()
        err = proc.stderr.read() if proc.stderr else ""  # type: ignore[union-attr]
        for f in (proc.stdin, proc.stdout, proc.stderr):
            if f and not f.closed:
                f.close()
        reader.join(timeout=5)  # strace is gone, so the pipe's writer is closed
    if not any(ln.startswith("done") for ln in own):
        raise error(StraceUnavailable, "strace could not run malloc_test here ({err}); in a container "
                    "tracing needs the ptrace system call (docker run --cap-add SYS_PTRACE)",
                    "여기서는 strace로 malloc_test를 실행할 수 없었습니다({err}). 컨테이너라면 ptrace "
                    "시스템 콜이 허용되어야 합니다(docker run --cap-add SYS_PTRACE)",
                    err=(err.strip().splitlines() or [proc.returncode])[-1])
    return list(trace)


# --- cleanup ---------------------------------------------------------------------------

def running() -> list[Program]:
    """Programs this kernel started that are still running."""
    with _running_lock:
        return [p for p in _running if p.running]


def stop_all() -> int:
    """Stop every program this kernel started; returns how many were running."""
    progs = running()
    for p in progs:
        p.stop()
    return len(progs)


_watchdog: safety.Watchdog | None = None


def _on_low_memory(message: str) -> None:
    for p in running():
        p.stopped_by = message
        p.stop(timeout=0.5)


def _watchdog_start() -> None:
    global _watchdog
    if _watchdog is None or _watchdog.fired or not (_watchdog._thread and _watchdog._thread.is_alive()):
        try:
            _watchdog = safety.Watchdog(_on_low_memory).start()
        except (OSError, KeyError):
            _watchdog = None  # no /proc/meminfo: nothing to watch


atexit.register(stop_all)
