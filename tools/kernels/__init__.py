"""Boot Debian's packaged kernels under qemu and run the project's claim checks inside each.

``python -m tools.kernels.matrix`` (``make test-kernels``) is the entry point:

- :mod:`tools.kernels.fetch` downloads a kernel package with ``apt-get download`` and unpacks it;
- :mod:`tools.kernels.initramfs` packs the interpreter, the stdlib, the few site-packages the
  project needs at run time, ``top`` and the repository's own code into an initramfs;
- :mod:`tools.kernels.guest_init` is that initramfs's ``/init`` (mounts, cgroups, THP, swap, run, power off);
- :mod:`tools.kernels.vm` boots one configuration and collects the command's output from the console;
- :mod:`tools.kernels.matrix` runs every configuration plus the host, and prints the claim x kernel table.

Downloads and built images live in ``${TOPLAB_CACHE:-~/.cache/toplab}/kernels/``; console logs,
the JSON records and the Markdown table in ``test-artifacts/`` (both outside git).  Two checkouts
may share that cache and run at once: whatever creates or deletes files there (download, image
build, pruning) holds :func:`cache_lock`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = REPO / "test-artifacts"


def cache_dir() -> Path:
    """``${TOPLAB_CACHE:-$HOME/.cache/toplab}/kernels``, created on first use."""
    base = os.environ.get("TOPLAB_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "toplab")
    d = Path(base) / "kernels"
    d.mkdir(parents=True, exist_ok=True)
    return d


_LOCK_MUTEX = threading.RLock()  # one thread of this process at a time holds the file lock ...
_lock_depth = 0  # ... as often as it likes (flock would deadlock on a second open of the file)
_lock_fd: int | None = None


@contextlib.contextmanager
def cache_lock() -> Iterator[None]:
    """Exclusive use of the kernel cache: an ``flock`` on ``cache_dir()/.lock``, shared by every
    process (another checkout, another ``make test-kernels``) and, through a lock, every thread.

    Re-entrant within a thread.  Released when the block ends or the process dies (the kernel
    drops an ``flock`` with its last descriptor; the descriptor is close-on-exec, so qemu and
    apt never hold it).
    """
    global _lock_depth, _lock_fd
    with _LOCK_MUTEX:
        if _lock_depth == 0:
            path = cache_dir() / ".lock"
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    print(f"kernels: waiting for another run to release {path} ...", file=sys.stderr, flush=True)
                    fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            _lock_fd = fd
        _lock_depth += 1
        try:
            yield
        finally:
            _lock_depth -= 1
            if _lock_depth == 0 and _lock_fd is not None:
                os.close(_lock_fd)  # releases the flock
                _lock_fd = None


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
