"""A memory cage: a temporary memory cgroup with a hard limit for one child process (v1 and v2).

Used by chapter 2.3's OOM demo; any chapter may use it. Creating one needs root or a delegated
cgroup hierarchy; ``MemoryCage.available()`` says whether it works here and, if not, why.
"""

from __future__ import annotations

import contextlib
import errno as _errno
import glob
import os
import re
import signal
import time

from .i18n import pick
from .safety import MiB

__all__ = ["CGROUP_V1", "CGROUP_V2", "MemoryCage"]

CGROUP_V1 = "/sys/fs/cgroup/memory"
CGROUP_V2 = "/sys/fs/cgroup"
_STALE = re.compile(r"^toplab-(\d+)(?:-\d+)?$")


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class MemoryCage:
    """A temporary memory cgroup with a hard limit, for one child process; removed on exit.

    cgroup v1: ``/sys/fs/cgroup/memory/toplab-<pid>`` with memory.limit_in_bytes (and
    memory.memsw.limit_in_bytes where swap is accounted, so the child cannot swap its way out).
    cgroup v2: ``/sys/fs/cgroup/toplab-<pid>`` with memory.max and memory.swap.max = 0, where the
    root cgroup hands the memory controller to its children. Both need root (or a delegated
    hierarchy); ``available()`` says whether it works here and why not.
    """

    def __init__(self, limit: int):
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 8 * MiB:
            raise ValueError(f"limit must be at least 8 MiB, got {limit!r}")
        self.limit = limit
        self.version, self.base = self._detect()
        self.path: str | None = None
        self.removed = False

    @staticmethod
    def _detect() -> tuple[int | None, str | None]:
        if os.path.isfile(os.path.join(CGROUP_V1, "memory.limit_in_bytes")):
            return 1, CGROUP_V1
        controllers = _read(os.path.join(CGROUP_V2, "cgroup.controllers"))
        if controllers is not None and "memory" in controllers.split():
            return 2, CGROUP_V2
        return None, None

    @classmethod
    def available(cls) -> tuple[bool, str]:
        """(True, how) when a cage can be made here; (False, why not) otherwise."""
        version, base = cls._detect()
        if version is None or base is None:
            return False, pick("no memory cgroup controller is mounted at /sys/fs/cgroup",
                               "/sys/fs/cgroup에 메모리 cgroup 컨트롤러가 마운트되어 있지 않습니다")
        if not os.access(base, os.W_OK):
            who = pick("not root", "root가 아님") if os.geteuid() else pick("read-only here", "읽기 전용")
            return False, pick(f"cgroup v{version} at {base} is not writable ({who}); creating a memory "
                               "cgroup needs root or a delegated hierarchy",
                               f"{base}의 cgroup v{version}에 쓸 수 없습니다({who}). 메모리 cgroup을 만들려면 root "
                               "권한이나 위임받은 계층이 필요합니다")
        if version == 2:
            sub = _read(os.path.join(base, "cgroup.subtree_control")) or ""
            if "memory" not in sub.split():
                return False, pick("cgroup v2: the root cgroup does not enable the memory controller for "
                                   "its children (cgroup.subtree_control)",
                                   "cgroup v2: 루트 cgroup이 자식에게 메모리 컨트롤러를 열어 두지 않았습니다 "
                                   "(cgroup.subtree_control)")
        return True, pick(f"cgroup v{version} memory controller at {base}, writable",
                          f"{base}의 cgroup v{version} 메모리 컨트롤러에 쓸 수 있음")

    @classmethod
    def remove_stale(cls) -> list[str]:
        """Remove empty toplab-* cgroups left by kernels that died mid-demo (their PID is gone)."""
        _, base = cls._detect()
        removed = []
        if base is None:
            return removed
        for d in glob.glob(os.path.join(base, "toplab-*")):
            m = _STALE.match(os.path.basename(d))
            if not m or _pid_alive(int(m.group(1))):
                continue
            procs = _read(os.path.join(d, "cgroup.procs"))
            if procs is None or procs.strip():
                continue  # unreadable, or someone still lives there: leave it alone
            with contextlib.suppress(OSError):
                os.rmdir(d)
                removed.append(d)
        return removed

    def __enter__(self) -> MemoryCage:
        ok, why = self.available()
        if not ok:
            raise PermissionError(why)
        self.remove_stale()
        name = f"toplab-{os.getpid()}"
        path = os.path.join(self.base, name)  # type: ignore[arg-type]
        n = 0
        while os.path.exists(path):
            n += 1
            path = os.path.join(self.base, f"{name}-{n}")  # type: ignore[arg-type]
        os.mkdir(path)
        self.path = path
        try:
            if self.version == 1:
                _write(self._f("memory.limit_in_bytes"), str(self.limit))
                if os.path.exists(self._f("memory.memsw.limit_in_bytes")):
                    _write(self._f("memory.memsw.limit_in_bytes"), str(self.limit))
            else:
                _write(self._f("memory.max"), str(self.limit))
                if os.path.exists(self._f("memory.swap.max")):
                    _write(self._f("memory.swap.max"), "0")
        except BaseException:
            self._remove()
            raise
        return self

    def _f(self, name: str) -> str:
        assert self.path is not None
        return os.path.join(self.path, name)

    def add(self, pid: int) -> None:
        """Move ``pid`` into the cage (its next allocations are charged here) and check it arrived."""
        _write(self._f("cgroup.procs"), str(pid))
        rel = "/" + os.path.relpath(self.path, self.base)  # type: ignore[arg-type]
        text = _read(f"/proc/{pid}/cgroup") or ""
        if not any(line.rsplit(":", 1)[-1] == rel for line in text.splitlines()):
            raise RuntimeError(f"pid {pid} did not arrive in {self.path}")

    def pids(self) -> list[int]:
        return [int(x) for x in (_read(self._f("cgroup.procs")) or "").split()]

    def oom_kills(self) -> int | None:
        """How many processes the OOM killer killed in this cgroup."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        for line in (_read(self._f(name)) or "").splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return None

    def peak(self) -> int | None:
        """The most memory the cgroup was charged at once (v1 max_usage, v2 memory.peak on 5.19+)."""
        text = _read(self._f("memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"))
        return int(text) if text and text.strip().isdigit() else None

    def _remove(self, timeout: float = 5.0) -> None:
        if self.path is None:
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                os.rmdir(self.path)
                self.removed = True
                return
            except FileNotFoundError:
                self.removed = True
                return
            except OSError as e:  # EBUSY while a killed task is still on its way out
                if e.errno != _errno.EBUSY or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        for pid in self.pids():  # only our own child can be in here; make sure it is gone
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._remove()
