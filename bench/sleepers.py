"""Extra sleeping processes for the snapshot benchmark, started cheaply and stopped exactly.

``Sleepers(1000)`` starts one helper (this file run as a script) that forks 1000 children,
each exec'ing ``sleep 600`` with PR_SET_PDEATHSIG(SIGKILL). The helper prints their PIDs and
waits for its stdin to close; then it SIGKILLs those PIDs (and only those) and reaps them. If
the benchmark dies, the helper's stdin closes and it does the same; if the helper is killed,
the children die with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1


class Sleepers:
    """A context manager: ``with Sleepers(n) as pids:`` n sleeping processes, gone afterwards."""

    def __init__(self, n: int):
        self.n = n
        self.pids: list[int] = []
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> list[int]:
        if self.n <= 0:
            return []
        self.proc = subprocess.Popen([sys.executable, __file__, str(self.n)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        self.pids = [int(p) for p in line.split()]
        if len(self.pids) != self.n:
            self.__exit__()
            raise RuntimeError(f"the sleepers helper started {len(self.pids)} of {self.n} processes")
        deadline = time.monotonic() + 30
        for pid in self.pids:  # every child has exec'd sleep and gone to sleep
            while True:
                try:
                    with open(f"/proc/{pid}/stat", "rb") as f:
                        stat = f.read()
                except FileNotFoundError:
                    break
                if b"(sleep) S" in stat or time.monotonic() > deadline:
                    break
                time.sleep(0.005)
        return self.pids

    def __exit__(self, *exc: object) -> None:
        p = self.proc
        if p is None:
            return
        p.stdin.close()  # type: ignore[union-attr]
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()  # our helper, by its PID: its children die with it (PDEATHSIG)
            p.wait()
        p.stdout.close()  # type: ignore[union-attr]
        self.proc = None


def _helper(n: int) -> int:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    sleep = "/bin/sleep" if os.path.exists("/bin/sleep") else "/usr/bin/sleep"
    me = os.getpid()
    kids: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run the finally below
    try:
        for _ in range(n):
            pid = os.fork()
            if pid == 0:  # the child: die with the helper, then become `sleep 600`
                try:
                    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                    if os.getppid() == me:
                        os.execv(sleep, ["sleep", "600"])
                finally:
                    os._exit(127)
            kids.append(pid)
        print(" ".join(map(str, kids)), flush=True)
        sys.stdin.read()  # until the benchmark closes our stdin, or dies
    finally:
        for pid in kids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in kids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(_helper(int(sys.argv[1])))
