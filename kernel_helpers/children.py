"""Small demo processes the lessons look at: sleeping, stopped, traced, in uninterruptible sleep (a
vfork parent), a zombie and its parent, niced, busy threads (niced and pinned to CPUs if asked), threads with malloc arenas, and a reader
of an untouched mapping.

Every one follows the contract of ``programs.Program`` (the C programs):

- ``with children.stopped() as c:`` starts it (``c.start()`` does the same) and returns once it
  is in its state (stopped: T; the zombie: Z; the others: their own code running); ``c.pid`` is
  its PID;
- leaving the block, or ``c.stop()``, ends it by its own PID (through Popen, which cannot hit a
  reused PID before the child is reaped), politely first where it has something to do on the way
  out, then with SIGKILL, and reaps it;
- it dies with this kernel where Linux allows: each child asks for SIGKILL when its parent dies
  (PR_SET_PDEATHSIG, as the C programs do), is forked by the programs' long-lived launcher
  thread (the signal follows the thread that forked it), ends by itself after ``lifetime``
  seconds (SIGALRM), and an atexit hook stops whatever is left.

Each child is a tiny Python (``python -I -S``: no site packages, no kernel_helpers) that names
itself ``toplab-ROLE``, which top shows as COMMAND. ``Group`` starts several at once and ends them
all.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Iterator

from . import procfs, programs, validate
from .i18n import error, pick
from .procfs import ProcessGone

__all__ = [
    "Child", "ChildError", "Group", "LIFETIME", "sleeping", "stopped", "traced", "vfork_parent", "niced", "zombie",
    "busy", "arenas", "page_reader", "running", "stop_all",
    "Sleeping", "Stopped", "Traced", "VforkParent", "Niced", "ZombieParent", "Busy", "Arenas", "PageReader",
]

#: A child ends by itself after this many seconds, whatever happens to the notebook.
LIFETIME = 1800.0

_running: weakref.WeakSet[Child] = weakref.WeakSet()
_running_lock = threading.Lock()


class ChildError(RuntimeError):
    """A demo process could not be started, or did not answer as expected."""


# What every child runs first: die with the parent, end after LIFETIME, name itself.
_PRELUDE = r"""
import ctypes, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
def name(n): libc.prctl(15, n.encode(), 0, 0, 0)  # PR_SET_NAME: top's COMMAND
libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
parent, lifetime, role, args = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4:]
if os.getppid() != parent:
    os._exit(1)  # the parent died before PR_SET_PDEATHSIG took effect
signal.setitimer(signal.ITIMER_REAL, lifetime)  # SIGALRM ends it after its lifetime
name("toplab-" + role)
"""

_SLEEP = r"""
print("ready", flush=True)
while True:
    time.sleep(3600)
"""

_NICED = r"""
try:  # absolute, so a niced Jupyter kernel does not shift it
    os.setpriority(os.PRIO_PROCESS, 0, int(args[0]))
except PermissionError:  # already nicer than asked: an unprivileged process cannot go back
    pass
""" + _SLEEP

# The zombie's parent forks a child that exits at once; it never calls wait(), so the child
# stays a zombie. On SIGTERM it collects the zombie and exits: no orphan is left for init.
_PARENT = r"""
def reap_and_exit(signum, frame):
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                break
        except ChildProcessError:
            break
    os._exit(0)
signal.signal(signal.SIGTERM, reap_and_exit)
kid = os.fork()
if kid == 0:
    name("toplab-zombie")
    os._exit(0)
print("ready", kid, flush=True)
while True:
    time.sleep(3600)
"""

# The tracer forks a child that asks to be traced (PTRACE_TRACEME) and stops itself: a stop under
# a tracer is 't' (tracing stop), not 'T'. The tracer never resumes it. On SIGTERM it kills and
# reaps the tracee, then exits; if the tracer dies any other way, the tracee's own
# PR_SET_PDEATHSIG kills it (SIGKILL ends a traced process too).
_TRACER = r"""
def end(signum, frame):
    try:
        os.kill(kid, signal.SIGKILL)
        os.waitpid(kid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
    os._exit(0)
signal.signal(signal.SIGTERM, end)
r, w = os.pipe()
kid = os.fork()
if kid == 0:
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG is not inherited across fork
    name("toplab-traced")
    ok = libc.ptrace(0, 0, None, None) == 0  # PTRACE_TRACEME: our parent becomes our tracer
    os.write(w, b"1" if ok else b"0")
    if ok:
        os.kill(os.getpid(), signal.SIGSTOP)  # signal-delivery-stop under the tracer: state t
    os._exit(0)
ok = os.read(r, 1) == b"1"
if not ok:
    os.waitpid(kid, 0)
    print("error ptrace", ctypes.get_errno(), flush=True)
    sys.exit(1)
print("ready", kid, flush=True)
while True:
    time.sleep(3600)
"""

# A parent in uninterruptible sleep (D) without root: clone(CLONE_VFORK) suspends the caller until its
# child execs or exits (kernel/fork.c wait_for_vfork_done: TASK_KILLABLE, shown as D). Without
# CLONE_VM the child gets its own copy of memory, as after fork, so it may run Python; it waits for
# EOF on the stdin it shares with its parent (closed by stop(), or when our side dies) or for the
# lifetime, then exits, and the parent reaps it and exits too: nothing is left for init.
_VFORK = r"""
import platform, select
# (not s390x: its clone takes the stack pointer first, CLONE_BACKWARDS2)
SYS_CLONE = {"x86_64": 56, "aarch64": 220, "riscv64": 220, "i386": 120, "i686": 120, "armv7l": 120,
             "ppc64le": 120}.get(platform.machine())
if SYS_CLONE is None:
    print("error no clone syscall number for", platform.machine(), flush=True)
    sys.exit(1)
libc.syscall.restype = ctypes.c_long
print("ready", flush=True)
kid = libc.syscall(ctypes.c_long(SYS_CLONE), ctypes.c_ulong(0x4000 | signal.SIGCHLD), 0, 0, 0, 0)  # CLONE_VFORK
if kid == 0:
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)
    name("toplab-vforked")
    print("child", os.getpid(), flush=True)
    select.select([sys.stdin], [], [], lifetime)
    os._exit(0)
if kid < 0:
    sys.exit(1)
os.waitpid(kid, 0)
sys.exit(0)
"""

# Busy threads, optionally at a nice value and pinned to some CPUs (args: threads seconds nice cpus)
_BUSY = r"""
import hashlib, threading
try:  # absolute, so a niced Jupyter kernel does not shift it (nice 0 stays 0 where allowed)
    os.setpriority(os.PRIO_PROCESS, 0, int(args[2]))
except PermissionError:  # already nicer than asked: keep it; the lesson reports the nice it measured
    pass
if args[3] != "-":
    os.sched_setaffinity(0, [int(c) for c in args[3].split(",")])
buf = b"x" * (1 << 20)
end = time.monotonic() + float(args[1])
def work():
    while time.monotonic() < end:
        hashlib.sha256(buf).digest()  # releases the GIL: the threads really run in parallel
# the main thread is one of the busy ones, so top's S column (the main thread's state) says R
threads = [threading.Thread(target=work) for _ in range(int(args[0]) - 1)]
for t in threads:
    t.start()
print("ready", flush=True)
work()
for t in threads:
    t.join()
sys.exit(0)
"""

# Threads that malloc (glibc gives busy threads their own arena), then wait for stdin to close.
_ARENAS = r"""
import threading
n = int(args[0])
ready = threading.Barrier(n + 1)
def work():
    keep = [bytes(1000) for _ in range(200)]  # > 512 bytes: these come from glibc malloc
    ready.wait()
    threading.Event().wait()
for _ in range(n):
    threading.Thread(target=work, daemon=True).start()
ready.wait()
print("ready", flush=True)
sys.stdin.read()  # until our parent closes the pipe (or dies)
"""

# One private anonymous mapping, read or written one byte per page on command.
_READER = r"""
import mmap
# no huge pages for this whole process: where THP is "always", khugepaged would otherwise collapse
# the interpreter's own heap into 2 MiB pages while the demo measures (PR_SET_THP_DISABLE, 3.15+)
libc.prctl(41, 1, 0, 0, 0)
n = int(args[0])
m = mmap.mmap(-1, n, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
if hasattr(m, "madvise") and hasattr(mmap, "MADV_NOHUGEPAGE"):
    m.madvise(mmap.MADV_NOHUGEPAGE)  # 4 KiB pages even where transparent huge pages are "always"
mv = memoryview(m)
print("ready", flush=True)
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "read":
        total = 0
        for off in range(0, n, mmap.PAGESIZE):
            total += mv[off]
        print("read sum=%d" % total, flush=True)
    elif cmd == "write":
        for off in range(0, n, mmap.PAGESIZE):
            mv[off] = 1
        print("written", flush=True)
    else:
        break
"""


def _wait_state(pid: int, states: str, timeout: float = 5.0) -> str:
    """Poll /proc/PID/stat until the process is in one of ``states``; the state seen last."""
    deadline = time.monotonic() + timeout
    while True:
        state = procfs.stat(pid).state
        if state in states or time.monotonic() > deadline:
            return state
        time.sleep(0.01)


class Child:
    """One demo process: ``start()``, ``pid``, ``stop()``; a context manager that stops it on exit."""

    first_line = ""  # what the child printed instead of 'ready', when it did not start

    role = "child"
    body = _SLEEP
    #: True: close stdin and send SIGTERM before SIGKILL (the child cleans up); False: SIGKILL at once.
    polite = False
    stdin_pipe = False
    #: The state letter ``start()`` waits for after 'ready' (None: none in particular).
    state: str | None = None

    def __init__(self, *args: object, lifetime: float = LIFETIME, env: dict[str, str] | None = None):
        if not 0 < lifetime <= 86400:
            raise error(ValueError, "lifetime must be more than 0 and at most 86400 seconds, got {lifetime}",
                        "lifetime은 0보다 크고 86400초 이하여야 합니다({lifetime}은(는) 쓸 수 없습니다)", lifetime=lifetime)
        self.args = [str(a) for a in args]
        self.lifetime = float(lifetime)
        self.env = env
        self.proc: subprocess.Popen[str] | None = None
        self.ready_words: list[str] = []

    # --- life cycle ---
    def argv(self) -> list[str]:
        return [sys.executable, "-I", "-S", "-c", _PRELUDE + self.body, str(os.getpid()), f"{self.lifetime:g}",
                self.role, *self.args]

    def start(self) -> Child:
        """Start the child, wait for its 'ready' line, then until it is in its state."""
        if self.proc is not None:
            raise error(ChildError, "the {role} demo was already started (pid {pid}); make a new one",
                        "{role} 실험 프로세스는 이미 시작했습니다(PID {pid}). 새로 하나 만드세요", role=self.role,
                        pid=self.proc.pid)
        if not procfs.have_proc():
            raise procfs.NotOnLinux()  # prctl, /proc states: every demo child needs Linux
        self.proc = programs.popen(
            self.argv(), stdin=subprocess.PIPE if self.stdin_pipe else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)
        with _running_lock:
            _running.add(self)
        try:
            line = self.proc.stdout.readline() if self.proc.stdout else ""
            words = line.split()
            if words[:1] != ["ready"]:
                self.first_line = line.strip()  # e.g. 'error ptrace 1': what the child said instead
                raise error(ChildError, "the {role} demo process did not start: {why}",
                            "{role} 실험 프로세스가 시작하지 못했습니다: {why}", role=self.role,
                            why=self.first_line or self._stderr() or pick("no output", "출력 없음"))
            self.ready_words = words[1:]
            self._settle()
        except BaseException:
            self.stop()
            raise
        return self

    def _settle(self) -> None:
        """Wait until the child is in the state it shows (after its 'ready' line)."""
        if self.state is not None:
            seen = _wait_state(self.pid, self.state)
            if seen != self.state:
                raise error(ChildError, "the {role} demo is in state {seen}, not {want}; run the cell again",
                            "{role} 실험 프로세스의 상태가 {want}이(가) 아니라 {seen}입니다. 셀을 다시 실행하세요",
                            role=self.role, seen=seen, want=self.state)

    def _stderr(self) -> str:
        p = self.proc
        if p is None or p.stderr is None:
            return ""
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.kill()
            p.wait(timeout=10)
        with contextlib.suppress(OSError, ValueError):
            return p.stderr.read().strip()
        return ""

    def stop(self, timeout: float = 2.0) -> int | None:
        """End the child by its own PID (politely first, if it cleans up), reap it; its exit status."""
        p = self.proc
        if p is None:
            return None
        if self.polite and p.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                if p.stdin:
                    p.stdin.close()  # children that read stdin end on EOF
            try:
                p.wait(timeout=timeout / 2)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    p.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=timeout / 2)
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.kill()  # a stopped process dies of SIGKILL too
        p.wait(timeout=10)
        for s in (p.stdin, p.stdout, p.stderr):
            with contextlib.suppress(OSError, ValueError):
                if s:
                    s.close()
        with _running_lock:
            _running.discard(self)
        return p.returncode

    def __enter__(self) -> Child:
        return self if self.proc is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise error(ChildError, "the {role} demo is not started yet; use `with` or .start()",
                        "{role} 실험 프로세스를 아직 시작하지 않았습니다. `with`나 .start()를 쓰세요", role=self.role)
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def pids(self) -> dict[str, int]:
        """Role -> PID of every process this child stands for (the zombie's parent adds the zombie)."""
        return {self.role: self.pid}

    def __repr__(self) -> str:
        state = "not started" if self.proc is None else ("running" if self.running else f"ended {self.returncode}")
        return f"<{type(self).__name__} {self.role} pid={self.proc.pid if self.proc else None} {state}>"


class Sleeping(Child):
    """A process that sleeps (S)."""

    role = "sleeping"
    state = "S"


class Stopped(Child):
    """A sleeping process stopped with SIGSTOP (T), as Ctrl+Z in a shell does."""

    role = "stopped"

    def _settle(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)  # by our own child's PID
        state = _wait_state(self.pid, "T")
        if state != "T":
            raise error(ChildError, "the stopped demo is in state {state}, not T, after SIGSTOP; run the cell again",
                        "SIGSTOP을 보낸 뒤에도 실험 프로세스의 상태가 T가 아니라 {state}입니다. 셀을 다시 실행하세요",
                        state=state)


class Niced(Child):
    """A sleeping process that raised its own nice value (NI, and PR = 20 + NI)."""

    role = "niced"
    body = _NICED
    state = "S"

    def __init__(self, nice: int = 10, lifetime: float = LIFETIME):
        validate.whole("nice", nice, 1, 19, hint=("an unprivileged process can only lower its priority",
                                                 "권한 없는 프로세스는 우선순위를 낮출 수만 있습니다"))
        super().__init__(nice, lifetime=lifetime)
        self.nice = nice


class ZombieParent(Child):
    """A sleeping parent with a zombie child (Z) it never waits for; ``zombie_pid`` is the zombie.

    Stopping it sends SIGTERM first: the parent then collects the zombie and exits, so no zombie
    is left for init. If the parent dies another way, init (or a subreaper) collects it.
    """

    role = "parent"
    body = _PARENT
    polite = True

    zombie_pid: int | None = None

    def _settle(self) -> None:
        if not self.ready_words or not self.ready_words[0].isdigit():
            raise error(ChildError, "the zombie's parent did not say its child's PID; run the cell again",
                        "좀비의 부모가 자식의 PID를 알려 주지 않았습니다. 셀을 다시 실행하세요")
        self.zombie_pid = int(self.ready_words[0])
        state = _wait_state(self.zombie_pid, "Z")
        if state != "Z":
            raise error(ChildError, "the zombie is in state {state}, not Z; run the cell again",
                        "좀비 프로세스의 상태가 Z가 아니라 {state}입니다. 셀을 다시 실행하세요", state=state)

    def pids(self) -> dict[str, int]:
        assert self.zombie_pid is not None
        return {"parent": self.pid, "zombie": self.zombie_pid}


class Traced(Child):
    """A tracer and its child stopped under it (t, tracing stop), as a debugger holds a program.

    ``traced_pid`` is the stopped child. Where ptrace is not allowed (Yama ptrace_scope 3, some
    seccomp profiles), ``start()`` raises ChildError with the reason.
    """

    role = "tracer"
    body = _TRACER
    polite = True

    traced_pid: int | None = None

    def _settle(self) -> None:
        if not self.ready_words or not self.ready_words[0].isdigit():
            raise error(ChildError, "the tracer did not say its child's PID; run the cell again",
                        "추적하는 프로세스가 자식의 PID를 알려 주지 않았습니다. 셀을 다시 실행하세요")
        self.traced_pid = int(self.ready_words[0])
        state = _wait_state(self.traced_pid, "t")
        if state != "t":
            raise error(ChildError, "the traced child is in state {state}, not t; run the cell again",
                        "추적당하는 자식의 상태가 t가 아니라 {state}입니다. 셀을 다시 실행하세요", state=state)

    def start(self) -> Child:
        try:
            return super().start()
        except ChildError as e:
            said = self.first_line.split()
            if said[:2] == ["error", "ptrace"]:  # the tracer's own words, not the message's language
                import errno as _errno

                code = int(said[2]) if len(said) > 2 and said[2].isdigit() else 0
                raise error(ChildError, "ptrace is not allowed here ({err}); see /proc/sys/kernel/yama/ptrace_scope",
                            "여기서는 ptrace가 허용되지 않습니다({err}). /proc/sys/kernel/yama/ptrace_scope를 "
                            "확인하세요", err=_errno.errorcode.get(code, code)) from e
            raise

    def pids(self) -> dict[str, int]:
        assert self.traced_pid is not None
        return {"tracer": self.pid, "traced": self.traced_pid}


class VforkParent(Child):
    """A process in uninterruptible sleep (D): a vfork parent waiting for its child (``child_pid``, S).

    It counts in the load average while it waits, without using any CPU. Stopping it closes the
    stdin both share: the child exits, the parent reaps it and exits.
    """

    role = "vfork"
    body = _VFORK
    polite = True
    stdin_pipe = True

    child_pid: int | None = None

    def _settle(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        words = self.proc.stdout.readline().split()
        if words[:1] != ["child"] or len(words) < 2 or not words[1].isdigit():
            raise error(ChildError, "the vfork demo's child did not start: {why}",
                        "vfork 실험의 자식이 시작하지 못했습니다: {why}",
                        why=" ".join(words) or self._stderr() or pick("no output", "출력 없음"))
        self.child_pid = int(words[1])
        state = _wait_state(self.pid, "D")
        if state != "D":
            raise error(ChildError, "the vfork parent is in state {state}, not D; run the cell again",
                        "vfork 부모의 상태가 D가 아니라 {state}입니다. 셀을 다시 실행하세요", state=state)

    def pids(self) -> dict[str, int]:
        assert self.child_pid is not None
        return {"vfork": self.pid, "vforked": self.child_pid}


class Busy(Child):
    """``threads`` threads hashing for ``seconds`` (R while they run), then the process exits.

    ``nice`` (0-19) and ``cpus`` (CPU numbers to pin to with sched_setaffinity) are set by the
    child itself before its threads start.
    """

    role = "busy"
    body = _BUSY

    def __init__(self, threads: int = 1, seconds: float = 4.0, nice: int = 0, cpus: tuple[int, ...] | None = None):
        validate.whole("threads", threads, 1, 64)
        validate.whole("nice", nice, 0, 19, hint=("an unprivileged process can only lower its priority",
                                                 "권한 없는 프로세스는 우선순위를 낮출 수만 있습니다"))
        if not 0 < seconds <= 600:
            raise error(ValueError, "seconds must be more than 0 and at most 600, got {seconds}",
                        "seconds는 0보다 크고 600 이하여야 합니다({seconds}은(는) 쓸 수 없습니다)", seconds=seconds)
        cpu_arg = "-"
        if cpus is not None:
            if not hasattr(os, "sched_getaffinity"):
                raise procfs.NotOnLinux()
            cpus = tuple(int(c) for c in cpus)
            allowed = os.sched_getaffinity(0)
            if not cpus or not set(cpus) <= allowed:
                raise error(ValueError, "cpus must be a non-empty subset of the CPUs this process may use, "
                            "{allowed}; got {cpus}",
                            "cpus는 이 프로세스가 쓸 수 있는 CPU {allowed} 가운데 하나 이상이어야 합니다({cpus}은(는) "
                            "쓸 수 없습니다)", allowed=sorted(allowed), cpus=list(cpus))
            cpu_arg = ",".join(map(str, cpus))
        # its lifetime is a safety net a little after the work ends
        super().__init__(threads, seconds, nice, cpu_arg, lifetime=seconds + 5)
        self.threads, self.seconds, self.nice, self.cpus = threads, float(seconds), nice, cpus


class Arenas(Child):
    """A Python whose ``threads`` threads each malloc, so glibc gives them arenas; waits until stopped.

    ``arena_max`` sets MALLOC_ARENA_MAX for it (None: glibc's default, any inherited value removed).
    """

    role = "arenas"
    body = _ARENAS
    polite = True
    stdin_pipe = True

    def __init__(self, threads: int = 8, arena_max: int | None = None, lifetime: float = LIFETIME):
        validate.whole("threads", threads, 1, 256)
        if arena_max is not None:
            validate.whole("arena_max", arena_max, 1, hint=("or None for glibc's default",
                                                         "glibc 기본값을 쓰려면 None"))
        env = dict(os.environ)
        env.pop("MALLOC_ARENA_MAX", None)
        if arena_max is not None:
            env["MALLOC_ARENA_MAX"] = str(arena_max)
        super().__init__(threads, lifetime=lifetime, env=env)
        self.threads, self.arena_max = threads, arena_max


class PageReader(Child):
    """A Python with one private anonymous mapping of ``nbytes`` it reads or writes one byte per page.

    ``do("read")`` reads every page (untouched memory maps the kernel's shared zero page),
    ``do("write")`` writes one byte in each (each page becomes its own); each returns the answer.
    """

    role = "reader"
    body = _READER
    polite = True
    stdin_pipe = True

    def __init__(self, nbytes: int, lifetime: float = LIFETIME):
        validate.whole("nbytes", nbytes, 1, what=("a whole number of bytes", "바이트 단위의 정수"))
        super().__init__(nbytes, lifetime=lifetime)
        self.nbytes = nbytes

    def do(self, cmd: str) -> str:
        answer = {"read": "read", "write": "written"}.get(cmd)
        if answer is None:
            raise error(ValueError, "cmd must be 'read' or 'write', not {cmd!r}",
                        "cmd는 'read'나 'write'여야 합니다({cmd!r}은(는) 쓸 수 없습니다)", cmd=cmd)
        if not self.running or self.proc is None or self.proc.stdin is None or self.proc.stdout is None:
            raise error(ChildError, "the page reader is not running; start it with `with` or .start()",
                        "페이지 읽기 프로세스가 실행 중이 아닙니다. `with`나 .start()로 시작하세요")
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line.startswith(answer):
            raise error(ChildError, "the page reader answered {line!r} instead of {answer!r}; run the cell again",
                        "페이지 읽기 프로세스가 {answer!r} 대신 {line!r}(이)라고 답했습니다. 셀을 다시 실행하세요",
                        line=line, answer=answer)
        return line


# --- the ones the lessons use -----------------------------------------------------------------

def sleeping(lifetime: float = LIFETIME) -> Sleeping:
    """A sleeping process (not started: use ``with`` or ``.start()``)."""
    return Sleeping(lifetime=lifetime)


def stopped(lifetime: float = LIFETIME) -> Stopped:
    """A process stopped with SIGSTOP (state T)."""
    return Stopped(lifetime=lifetime)


def traced(lifetime: float = LIFETIME) -> Traced:
    """A tracer and its child in tracing stop (``.pid`` the tracer, ``.traced_pid`` the child, state t)."""
    return Traced(lifetime=lifetime)


def vfork_parent(lifetime: float = LIFETIME) -> VforkParent:
    """A vfork parent in uninterruptible sleep (D, ``.pid``) and its waiting child (``.child_pid``)."""
    return VforkParent(lifetime=lifetime)


def niced(nice: int = 10, lifetime: float = LIFETIME) -> Niced:
    """A sleeping process with nice ``nice`` (top: NI nice, PR 20 + nice)."""
    return Niced(nice, lifetime=lifetime)


def zombie(lifetime: float = LIFETIME) -> ZombieParent:
    """A parent and its zombie child (``.pid`` the parent, ``.zombie_pid`` the zombie)."""
    return ZombieParent(lifetime=lifetime)


def busy(threads: int = 1, seconds: float = 4.0, nice: int = 0, cpus: tuple[int, ...] | None = None) -> Busy:
    """``threads`` busy threads for ``seconds``, in one process, at ``nice``, pinned to ``cpus`` if given."""
    return Busy(threads, seconds, nice, cpus)


def arenas(threads: int = 8, arena_max: int | None = None) -> Arenas:
    """A Python with ``threads`` malloc'ing threads, under MALLOC_ARENA_MAX=``arena_max`` if given."""
    return Arenas(threads, arena_max)


def page_reader(nbytes: int) -> PageReader:
    """A Python with an untouched private mapping of ``nbytes`` to read or write a byte per page."""
    return PageReader(nbytes)


class Group:
    """Several children started together (in order) and stopped together (in reverse order).

    ``Group(stopped=children.stopped(), parent=children.zombie())``; ``group["stopped"]`` is a
    child, ``group.pids()`` every role's PID, the zombie's included. If one fails to start, the
    ones already started are stopped before the error goes on.
    """

    def __init__(self, **members: Child):
        self.members = dict(members)

    def __getitem__(self, name: str) -> Child:
        return self.members[name]

    def __iter__(self) -> Iterator[Child]:
        return iter(self.members.values())

    def start(self) -> Group:
        try:
            for c in self.members.values():
                if c.proc is None:
                    c.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for c in reversed(list(self.members.values())):
            c.stop()

    def pids(self) -> dict[str, int]:
        """Name -> PID, in order; a zombie's parent contributes 'parent' and 'zombie'."""
        out: dict[str, int] = {}
        for name, c in self.members.items():
            extra = c.pids()
            if len(extra) == 1:
                out[name] = c.pid
            else:
                out.update(extra)
        return out

    @property
    def started(self) -> bool:
        return any(c.proc is not None for c in self.members.values())

    def __enter__(self) -> Group:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- cleanup ------------------------------------------------------------------------------

def running() -> list[Child]:
    """Demo processes this kernel started that are still running."""
    with _running_lock:
        return [c for c in _running if c.running]


def stop_all() -> int:
    """Stop every demo process this kernel started; returns how many were running."""
    kids = running()
    for c in kids:
        with contextlib.suppress(ProcessGone, OSError, subprocess.TimeoutExpired):
            c.stop(timeout=0.5)
    return len(kids)


atexit.register(stop_all)
