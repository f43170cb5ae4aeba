"""Guard: put vm.overcommit_* back when the process that changed them dies.

``overcommit.temporarily()`` starts ``python -m kernel_helpers._overcommit_guard`` in its own
session, with the kernel's PID and start time and the settings to restore.  The guard watches
that one process through a pidfd (Linux 5.3+; else /proc/PID/stat, start time compared, so a
reused PID cannot fool it) and restores the settings, then exits, when any of these happens:

- the watched process dies (SIGKILL included);
- ``done`` arrives on stdin (the context manager restored them itself);
- the settings, once seen changed, are back to the originals (someone restored them);
- ``--max-seconds`` pass, or the guard gets SIGTERM.

With ``--lock-fd``, the guard has inherited the descriptor of the machine-wide lock that
``temporarily()`` holds (an flock belongs to the open file description, so it stays taken while
either process has it open): if the watched process dies, nobody else can change the settings
until the guard has put them back and exited.  It then removes the ``--state`` file, which
recorded the originals for the case that the guard dies too.

It prints one line, ``armed ...``, when it is watching; exit status 0 means the settings are
the originals, 1 that restoring failed, 2 that the lock descriptor was missing.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import sys
import time

from . import overcommit, procfs

REAL_PROC = "/proc"  # liveness is about real processes, even when PROC_ROOT is a fake tree


def _starttime(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat, or None when the process is gone or a zombie."""
    try:
        with open(f"{REAL_PROC}/{pid}/stat", "rb") as f:
            fields = procfs.parse_stat(f.read(), pid)
    except (OSError, procfs.ProcessGone):
        return None
    if fields[procfs.STATE] in (b"Z", b"X"):
        return None
    return int(fields[procfs.STARTTIME])


class Watched:
    """One process, known by PID and start time; ``alive()`` stays False once it died."""

    def __init__(self, pid: int, starttime: int):
        self.pid = pid
        self.pidfd: int | None = None
        try:
            self.pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.pidfd = None  # no pidfd (old kernel or Python), or already gone
        # Compare start times after opening the pidfd: if they match, the pidfd is that process.
        self._dead = _starttime(pid) != starttime
        self.starttime = starttime

    def alive(self) -> bool:
        if self._dead:
            return False
        if self.pidfd is not None:
            poller = select.poll()  # not select(): fds above 1024 are fine with poll
            poller.register(self.pidfd, select.POLLIN)
            self._dead = bool(poller.poll(0))  # a pidfd polls readable once the process exited
        else:
            self._dead = _starttime(self.pid) != self.starttime
        return not self._dead


def _say(text: str) -> None:
    try:
        print(text, flush=True)
    except (BrokenPipeError, OSError):
        pass  # nobody is listening any more (the kernel died): that is expected


def _complain(text: str) -> None:
    try:
        print(f"overcommit guard: {text}", file=sys.stderr, flush=True)
    except (BrokenPipeError, OSError):
        pass


def _current() -> overcommit.Settings | None:
    try:
        return overcommit.settings()
    except (OSError, ValueError, IndexError):
        return None


def _restore(original: overcommit.Settings) -> int:
    for attempt in range(3):
        try:
            overcommit._apply(original)
            return 0
        except Exception as e:  # keep trying a little, then say why
            if attempt == 2:
                _complain(f"could not restore {original}: {e}")
            time.sleep(0.1)
    return 1


def run(args: argparse.Namespace) -> int:
    if args.proc_root:
        procfs.set_proc_root(args.proc_root)
    original = overcommit.Settings(args.mode, args.ratio, args.kbytes)
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # the kernel's Ctrl-C or hangup is not ours
    got_term: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: got_term.append(signum))

    if args.lock_fd is not None:
        try:
            os.fstat(args.lock_fd)  # kept open, never unlocked here: exiting lets go of our share
        except OSError as e:
            _complain(f"--lock-fd {args.lock_fd} is not an open descriptor ({e.strerror}); not arming")
            return 2
    starttime = args.starttime if args.starttime is not None else _starttime(args.pid)
    watched = Watched(args.pid, starttime if starttime is not None else -1)
    deadline = time.monotonic() + args.max_seconds
    poller = select.poll()
    poller.register(0, select.POLLIN)
    if watched.pidfd is not None:
        poller.register(watched.pidfd, select.POLLIN)
    _say(f"armed pid={args.pid} pidfd={int(watched.pidfd is not None)} restore={original}")

    seen_changed = False
    interval_ms = max(10, int(args.interval * 1000))
    while True:
        reason = None
        for fd, _ in poller.poll(interval_ms):
            if fd == 0:
                try:
                    data = os.read(0, 4096)
                except OSError:
                    data = b""
                if not data:
                    poller.unregister(0)  # EOF: the parent closed the pipe or died
                elif b"done" in data:
                    reason = "done"
        died = reason is None and not watched.alive()
        if died:
            reason = f"process {args.pid} is gone"
        if reason is None and got_term:
            reason = "SIGTERM"
        if reason is None and time.monotonic() >= deadline:
            reason = f"{args.max_seconds:g} s maximum lifetime"
        now = _current()
        if reason is None:
            if now is not None and now != original:
                seen_changed = True
            elif now == original and seen_changed and not args.keep_watching:
                reason = "already restored"
        if reason is not None:
            code = 0 if now == original else _restore(original)
            if died and code == 0 and args.state:
                # the holder cannot remove its state file any more: the originals are back, so do it
                try:
                    overcommit._remove_state(args.state, pid=args.pid)
                except OSError as e:  # the next holder repairs from it instead: harmless
                    _complain(f"could not remove {args.state}: {e}")
            return code


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kernel_helpers._overcommit_guard",
                                description=__doc__.splitlines()[0])
    p.add_argument("--pid", type=int, required=True, help="the process to watch")
    p.add_argument("--starttime", type=int, help="its start time (field 22 of /proc/PID/stat)")
    p.add_argument("--mode", type=int, choices=(0, 1, 2), required=True)
    p.add_argument("--ratio", type=int, required=True)
    p.add_argument("--kbytes", type=int, required=True)
    p.add_argument("--max-seconds", type=float, default=overcommit.GUARD_MAX_SECONDS)
    p.add_argument("--interval", type=float, default=0.1, help="seconds between checks")
    p.add_argument("--proc-root", default="", help="read and write vm settings under this /proc")
    p.add_argument("--keep-watching", action="store_true",
                   help="do not exit when the settings come back; only on done, death or time")
    p.add_argument("--lock-fd", type=int, help="inherited descriptor of the machine-wide lock, kept open")
    p.add_argument("--state", default="", help="state file to remove after restoring for a dead process")
    args = p.parse_args(argv)
    if args.pid <= 0 or args.ratio < 0 or args.kbytes < 0 or not args.max_seconds > 0:
        p.error("--pid and --max-seconds must be positive, --ratio and --kbytes 0 or more")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
