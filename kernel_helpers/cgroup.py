"""A memory cage: a temporary memory cgroup with a hard limit for one child process (v1 and v2).

Used by chapter 2.3's OOM demo; any chapter may use it. Creating one needs root or a delegated
cgroup v2 subtree; ``MemoryCage.available()`` says whether it works here and, if not, why.
The mount points are module constants (``CGROUP_V1``, ``CGROUP_V2``) and this process's cgroup
is read from ``procfs.PROC_ROOT``/self/cgroup, so tests can point all of them at a fake tree.
"""

from __future__ import annotations

import contextlib
import errno as _errno
import glob
import hashlib
import os
import re
import signal
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass

from . import procfs
from .i18n import error, josa, pick
from .safety import MiB

__all__ = ["CGROUP_V1", "CGROUP_V2", "MemoryCage"]

CGROUP_V1 = "/sys/fs/cgroup/memory"
CGROUP_V2 = "/sys/fs/cgroup"
_STALE = re.compile(r"^toplab-(\d+)(?:-\d+)?$")  # a cage: toplab-<pid of the kernel>[-n]
_LEAF = re.compile(r"^toplab-lab-(\d+)$")  # v2 leaf mode: where our cgroup's processes wait
_MOVE_ROUNDS = 20  # moving every process out of a cgroup: new forks may land there meanwhile
#: Where the per-base lock files go; None: /run/user/UID when it is ours, else /dev/shm, else /tmp.
LOCK_DIR: str | None = None
LOCK_TIMEOUT = 30.0  # seconds; the lock is held only while cgroups are made, moved or removed


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _words(path: str) -> list[str]:
    return (_read(path) or "").split()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _procs(d: str) -> list[int]:
    return [int(x) for x in _words(os.path.join(d, "cgroup.procs")) if x.isdigit()]


def _owner(pid: int) -> int | None:
    """The effective UID of ``pid`` (owner of /proc/PID), or None once it is gone."""
    try:
        return os.stat(os.path.join(procfs.PROC_ROOT, str(pid))).st_uid
    except OSError:
        return None


def _own_cgroup_v2() -> str | None:
    """This process's cgroup v2 path ('/user.slice/...'), from the '0::' line of /proc/self/cgroup."""
    for line in (_read(os.path.join(procfs.PROC_ROOT, "self", "cgroup")) or "").splitlines():
        if line.startswith("0::"):
            return line[3:].strip() or "/"
    return None


def _can_make_cages_in(d: str) -> bool:
    """We may create a child cgroup in ``d`` and move our child from our cgroup into it.

    Moving a process needs write access to cgroup.procs of the common ancestor of the source
    and the destination (Documentation/admin-guide/cgroup-v2.rst, "Delegation Containment"),
    which is ``d`` itself when ``d`` is our cgroup or one of its ancestors.
    """
    return os.access(d, os.W_OK | os.X_OK) and os.access(os.path.join(d, "cgroup.procs"), os.W_OK)


def _gives_memory(d: str) -> bool:
    return "memory" in _words(os.path.join(d, "cgroup.subtree_control"))


@dataclass(frozen=True)
class _Site:
    """Where cages can be made here, or why not (both languages)."""

    version: int | None
    root: str | None  # the hierarchy's mount point
    base: str | None  # the cgroup the cages are made in
    leaf: bool = False  # v2: our processes must first move into a leaf child of ``base``
    en: str = ""
    ko: str = ""

    @property
    def ok(self) -> bool:
        return self.base is not None

    def why(self) -> str:
        return pick(self.en, self.ko)


def _plan() -> _Site:
    """Decide where a cage can go on this machine: cgroup v1, or v2 at the root, under a
    delegated ancestor that already gives memory to its children, or in leaf mode."""
    if os.path.isfile(os.path.join(CGROUP_V1, "memory.limit_in_bytes")):
        root = CGROUP_V1
        if os.access(root, os.W_OK | os.X_OK):
            return _Site(1, root, root, en=f"cgroup v1 memory controller at {root}, writable",
                         ko=f"{root}의 cgroup v1 메모리 컨트롤러에 쓸 수 있음")
        return _not_writable(1, root)
    root = CGROUP_V2
    if "memory" not in _words(os.path.join(root, "cgroup.controllers")):
        return _Site(None, None, None,
                     en=f"no memory cgroup controller is mounted at {CGROUP_V2}",
                     ko=f"{CGROUP_V2}에 메모리 cgroup 컨트롤러가 마운트되어 있지 않습니다")
    if procfs.read_only_mount(root):
        return _not_writable(2, root)  # delegation cannot help either
    # 1. the top of the hierarchy, as root: what earlier versions did
    if _gives_memory(root) and _can_make_cages_in(root):
        return _Site(2, root, root, en=f"cgroup v2 memory controller at {root}, writable",
                     ko=f"{root}의 cgroup v2 메모리 컨트롤러에 쓸 수 있음")
    rel = _own_cgroup_v2()
    own = os.path.normpath(os.path.join(root, (rel or "/").lstrip("/")))
    if rel is None or not os.path.isdir(own):
        if not os.access(root, os.W_OK):
            return _not_writable(2, root)
        return _no_memory_for_children(root)
    # 2. the nearest ancestor (or our own cgroup) that already gives memory to its children and
    #    lets us create cgroups there: nothing of ours moves, only the child goes into the cage
    d = own
    while d != root and d.startswith(root + os.sep):
        if _gives_memory(d) and _can_make_cages_in(d):
            return _Site(2, root, d,
                         en=f"cgroup v2: {_rel(d, root)} is writable by uid {os.geteuid()} and gives memory to its "
                            "children; the cage goes there (nothing of this Jupyter kernel moves)",
                         ko=f"cgroup v2: {josa(_rel(d, root), '은')} uid {os.geteuid()} 사용자가 쓸 수 있고 자식에게 "
                            "메모리 컨트롤러를 열어 둡니다. 케이지를 그 아래에 만듭니다 (이 주피터 커널은 옮기지 않음)")
        d = os.path.dirname(d)
    # 3. our own cgroup is delegated to us but holds processes ("no internal processes"):
    #    leaf mode, for the length of the `with` block
    return _leaf_site(root, own, rel or "/")


def _rel(d: str, root: str) -> str:
    """``d`` as /proc/PID/cgroup shows it: relative to the hierarchy's mount point."""
    return "/" if d == root else "/" + os.path.relpath(d, root)


def _not_writable(version: int, root: str) -> _Site:
    if procfs.read_only_mount(root):  # a container's cgroups: nobody here can create one, root or not
        return _Site(version, root, None,
                     en=f"cgroup v{version} at {root} is not writable (mounted read-only here); creating a memory "
                        "cgroup needs root or a delegated cgroup v2 subtree on a writable mount, so here not even "
                        "root can make one (a container, most likely)",
                     ko=f"{root}의 cgroup v{version}에 쓸 수 없습니다(여기서는 읽기 전용으로 마운트됨). 메모리 cgroup을 "
                        "만들려면 쓰기 가능한 마운트에서 root 권한이나 위임받은 cgroup v2 하위 트리가 필요하므로, "
                        "여기서는 root라도 만들 수 없습니다 (컨테이너일 가능성이 큼)")
    if not os.geteuid():  # root, and still not writable: a user namespace's root, in a container
        return _Site(version, root, None,
                     en=f"cgroup v{version} at {root} is not writable, not even by root here (a container's "
                        "cgroups, most likely); creating a memory cgroup needs a cgroup hierarchy that root may "
                        "write, or a delegated cgroup v2 subtree",
                     ko=f"{root}의 cgroup v{version}에는 여기서 root도 쓸 수 없습니다(컨테이너의 cgroup일 가능성이 "
                        "큼). 메모리 cgroup을 만들려면 root가 쓸 수 있는 cgroup 계층이나 위임받은 cgroup v2 하위 "
                        "트리가 필요합니다")
    who_en, who_ko = "not root", "root가 아님"
    return _Site(version, root, None,
                 en=f"cgroup v{version} at {root} is not writable ({who_en}); creating a memory cgroup needs "
                    "root or a delegated cgroup v2 subtree",
                 ko=f"{root}의 cgroup v{version}에 쓸 수 없습니다({who_ko}). 메모리 cgroup을 만들려면 root "
                    "권한이나 위임받은 cgroup v2 하위 트리가 필요합니다")


def _no_memory_for_children(root: str) -> _Site:
    return _Site(2, root, None,
                 en=f"cgroup v2: the top cgroup {root} does not give the memory controller to its children (memory "
                    f"is missing from {root}/cgroup.subtree_control); as root, `echo +memory > "
                    f"{root}/cgroup.subtree_control` turns it on, except in a container whose top cgroup holds "
                    "processes",
                 ko=f"cgroup v2: 최상위 cgroup {josa(root, '이')} 자식에게 메모리 컨트롤러를 열어 두지 않았습니다 "
                    f"({root}/cgroup.subtree_control에 memory가 없음). root로 `echo +memory > "
                    f"{root}/cgroup.subtree_control`을 실행하면 켜집니다 (최상위 cgroup에 프로세스가 있는 "
                    "컨테이너에서는 안 됨)")


_NEEDS_EN = ("; a memory cage needs root or a delegated cgroup v2 subtree (systemd Delegate=yes, for "
             "example `systemd-run --user --scope -p Delegate=yes jupyter lab`)")
_NEEDS_KO = (". 메모리 케이지를 만들려면 root 권한이나 위임받은 cgroup v2 하위 트리가 필요합니다 (systemd "
             "Delegate=yes, 예: `systemd-run --user --scope -p Delegate=yes jupyter lab`)")


def _leaf_site(root: str, own: str, rel: str) -> _Site:
    """Leaf mode in our own cgroup, if it is delegated to us; else why no cage can be made."""
    uid = os.geteuid()
    files = [own] + [os.path.join(own, f) for f in ("cgroup.procs", "cgroup.subtree_control")]
    if own == root or not all(os.access(f, os.W_OK) for f in files):
        if own == root and os.geteuid() == 0:
            return _no_memory_for_children(root) if os.access(root, os.W_OK) else _not_writable(2, root)
        return _Site(2, root, None,
                     en=f"cgroup v2: this Jupyter kernel's cgroup {rel} is not delegated to uid {uid} (not writable), "
                        "and no cgroup above it both gives memory to its children and is writable" + _NEEDS_EN,
                     ko=f"cgroup v2: 이 주피터 커널의 cgroup {josa(rel, '이')} uid {uid}에게 위임되어 있지 않고(쓸 수 없음), "
                        "그 위에도 자식에게 메모리를 열어 주면서 쓸 수 있는 cgroup이 없습니다" + _NEEDS_KO)
    if "memory" not in _words(os.path.join(own, "cgroup.controllers")):
        return _Site(2, root, None,
                     en=f"cgroup v2: this Jupyter kernel's cgroup {rel} is delegated to uid {uid}, but its parent does not "
                        f"pass it the memory controller (memory is missing from {rel}/cgroup.controllers); ask "
                        "for Delegate=memory, or MemoryAccounting=yes on the unit",
                     ko=f"cgroup v2: 이 주피터 커널의 cgroup {josa(rel, '은')} uid {uid}에게 위임되어 있지만, 부모가 메모리 "
                        f"컨트롤러를 넘겨주지 않았습니다 ({rel}/cgroup.controllers에 memory가 없음). "
                        "Delegate=memory나 유닛의 MemoryAccounting=yes를 요청하세요")
    kind = (_read(os.path.join(own, "cgroup.type")) or "domain").strip()
    if kind != "domain":
        return _Site(2, root, None,
                     en=f"cgroup v2: this Jupyter kernel's cgroup {rel} is of type '{kind}', not 'domain', so it cannot "
                        "hold a memory cgroup",
                     ko=f"cgroup v2: 이 주피터 커널의 cgroup {josa(rel, '은')} 'domain'이 아니라 '{kind}' 유형이라 메모리 "
                        "cgroup을 둘 수 없습니다")
    procs = _procs(own)
    others = [p for p in procs if _owner(p) not in (uid, None)]
    if others:
        shown = ", ".join(map(str, others[:5])) + (", ..." if len(others) > 5 else "")
        return _Site(2, root, None,
                     en=f"cgroup v2: this Jupyter kernel's cgroup {rel} is delegated to uid {uid}, but it also holds "
                        f"processes of other users (PID {shown}), which the demo must not move",
                     ko=f"cgroup v2: 이 주피터 커널의 cgroup {josa(rel, '은')} uid {uid}에게 위임되어 있지만 다른 사용자의 "
                        f"프로세스(PID {shown})도 들어 있어, 실험이 그것을 옮길 수 없습니다")
    n = len(procs)
    return _Site(2, root, own, leaf=True,
                 en=f"cgroup v2: this Jupyter kernel's cgroup {rel} is delegated to uid {uid}; during the demo its "
                    f"{n} process(es), this Jupyter kernel included, move into a leaf child ({rel}/toplab-lab-PID) so "
                    "that memory can be enabled for the cage, and move back afterwards",
                 ko=f"cgroup v2: 이 주피터 커널의 cgroup {josa(rel, '은')} uid {uid}에게 위임되어 있습니다. 실험하는 동안 "
                    f"이 주피터 커널을 포함한 프로세스 {n}개가 잎 cgroup({rel}/toplab-lab-PID)으로 옮겨 가서 케이지에 "
                    "메모리 컨트롤러를 켤 수 있게 하고, 끝나면 제자리로 돌아옵니다")


def _move_all(src: str, dst: str) -> None:
    """Move every process of cgroup ``src`` into ``dst`` (forks made meanwhile follow, in later rounds)."""
    for _ in range(_MOVE_ROUNDS):
        pids = _procs(src)
        if not pids:
            return
        for pid in pids:
            try:
                _write(os.path.join(dst, "cgroup.procs"), str(pid))
            except ProcessLookupError:
                pass  # exited meanwhile
            except OSError as e:
                if e.errno != _errno.ESRCH:
                    raise
    if _procs(src):
        raise error(RuntimeError, "processes keep appearing in {src}; could not move them all to {dst}. "
                    "Stop the demos of other notebooks, then try again",
                    "{src}에 프로세스가 계속 새로 생겨 {dst}(으)로 모두 옮기지 못했습니다. 다른 노트북의 실험을 "
                    "멈춘 뒤 다시 해 보세요.", src=src, dst=dst)


def _cages_in(base: str) -> list[str]:
    return [d for d in glob.glob(os.path.join(base, "toplab-*")) if _STALE.match(os.path.basename(d))]


def _lock_dirs() -> list[str]:
    """Folders for the lock files, the same for every kernel of this user: cgroupfs holds no
    regular files, so the lock lives in /run/user/UID (when it is this user's), /dev/shm or /tmp."""
    if LOCK_DIR is not None:
        return [LOCK_DIR]
    uid = os.geteuid()
    dirs = []
    run = f"/run/user/{uid}"
    with contextlib.suppress(OSError):
        st = os.stat(run)
        if stat.S_ISDIR(st.st_mode) and st.st_uid == uid and os.access(run, os.W_OK | os.X_OK):
            dirs.append(run)
    return dirs + ["/dev/shm", "/tmp"]


def _lock_name(base: str) -> str:
    digest = hashlib.sha256(os.path.normpath(base).encode()).hexdigest()[:16]
    return f"toplab-cgroup-{os.geteuid()}-{digest}.lock"


def _open_lock(base: str) -> tuple[int, str] | None:
    """An open lock file of ours for ``base`` (never another user's: in a shared /dev/shm anyone could
    make one first and hold it), or None where none can be had."""
    name = _lock_name(base)
    for d in _lock_dirs():
        path = os.path.join(d, name)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError:
            continue
        st = os.fstat(fd)
        if st.st_uid == os.geteuid() and stat.S_ISREG(st.st_mode):
            return fd, path
        os.close(fd)
    return None


@contextlib.contextmanager
def _base_lock(base: str | None) -> Iterator[None]:
    """Hold the lock of ``base`` (one per base, shared by this user's kernels): from leaf setup until
    the cage exists, and while a leaf mode is undone. Without it, kernel B's clean-up can undo kernel
    A's leaf mode after A moved everyone into the leaf but before A made its cage (two notebooks on
    one delegated cgroup). Not reentrant: a second ``_base_lock`` of the same base in one process
    waits for the first. No-op where no leaf mode can happen (v1, the top of the v2 hierarchy).
    The file is unlinked on release; a waiter that then gets the lock of an unlinked file retries."""
    if base is None or os.path.normpath(base) in (os.path.normpath(CGROUP_V1), os.path.normpath(CGROUP_V2)):
        yield
        return
    import fcntl  # Linux only, as cgroups are

    timeout = LOCK_TIMEOUT
    deadline = time.monotonic() + timeout
    while True:
        opened = _open_lock(base)
        if opened is None:  # nowhere to put a lock file: go on unlocked, as before there was a lock
            yield
            return
        fd, path = opened
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise error(TimeoutError, "another kernel has held {path} (the lock of {base}) for over "
                                    "{timeout:.0f} s; try again",
                                    "다른 주피터 커널이 {path}({base}의 잠금)을(를) {timeout:.0f}초 넘게 잡고 있습니다. "
                                    "다시 해 보세요.", path=path, base=base, timeout=timeout) from None
                    time.sleep(0.01)
            try:
                now = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:
                now = None
            mine = os.fstat(fd)
            if now is None or (now.st_dev, now.st_ino) != (mine.st_dev, mine.st_ino):
                continue  # the holder before us unlinked it: take the lock of the file there now
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(path)  # still holding it: a waiter on this file will retry
            return
        finally:
            os.close(fd)


def _restore_leaves(base: str) -> list[str]:
    """Undo leaf mode in ``base`` once no cage is left there: memory off for the children, the
    processes back from each toplab-lab-* leaf, the leaf removed. Returns the leaves removed."""
    if os.path.normpath(base) == os.path.normpath(CGROUP_V2):
        return []  # leaf mode never runs at the top (it is not a delegated cgroup): never touch it
    leaves = [d for d in glob.glob(os.path.join(base, "toplab-lab-*")) if _LEAF.match(os.path.basename(d))]
    if not leaves or _cages_in(base):
        return []  # another kernel's demo is still running here: it restores when it ends
    done = []
    with contextlib.suppress(OSError):
        # Leaf mode only starts where memory was off for the children (our processes lived here).
        _write(os.path.join(base, "cgroup.subtree_control"), "-memory")
    for leaf in leaves:
        try:
            _move_all(leaf, base)
            os.rmdir(leaf)
            done.append(leaf)
        except (OSError, RuntimeError):
            continue  # left for the next cage's clean-up
    return done


class MemoryCage:
    """A temporary memory cgroup with a hard limit, for one child process; removed on exit.

    cgroup v1: ``/sys/fs/cgroup/memory/toplab-<pid>`` with memory.limit_in_bytes (and
    memory.memsw.limit_in_bytes where swap is accounted, so the child cannot swap its way out).
    cgroup v2: ``<base>/toplab-<pid>`` with memory.max and memory.swap.max = 0, where ``base`` is,
    in this order of preference:

    1. the root ``/sys/fs/cgroup``, when it gives memory to its children and we may write there (root);
    2. the nearest cgroup, from this process's own (``0::/path`` in /proc/self/cgroup) upwards,
       that already gives memory to its children and where this user may create cgroups and
       move processes (a delegated subtree laid out with a leaf for its processes, or a systemd
       user slice). Only the child moves, into the cage;
    3. *leaf mode*: this process's own cgroup, when it is delegated to this user but holds
       processes. cgroup v2 lets a non-root cgroup that holds processes give no controller to
       children ("no internal processes"), so for the length of the ``with`` block every process
       of that cgroup (all this user's: the lab server, this kernel, other kernels) moves into a
       leaf child ``toplab-lab-<pid>``, memory is enabled for the children, and the cage is made
       beside the leaf. On exit the cage goes, memory is switched off again and the processes
       move back, unless another kernel's cage still runs there (then the last one out restores).
       The trade-off: during the demo /proc/PID/cgroup of those processes shows the leaf, and
       forks made then start in it; if the kernel dies mid-demo, the next ``remove_stale()`` puts
       them back. Nothing moves permanently, and ``available()`` says so beforehand. Kernels of
       one user that share the base (an English and a Korean notebook) take turns through a lock
       file (``_base_lock``: in /run/user/UID, /dev/shm or /tmp, as cgroupfs holds no files), from
       leaf setup until their cage exists and while a leaf mode is undone, so one kernel's clean-up
       cannot undo another's leaf mode before its cage is made.

    ``available()`` says which case applies, or why none does.
    """

    def __init__(self, limit: int):
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 8 * MiB:
            raise error(ValueError, "limit must be at least 8 MiB, got {limit!r}; pass e.g. 64 * MiB",
                        "limit은 8 MiB 이상이어야 합니다({limit!r}은(는) 쓸 수 없습니다). 64 * MiB처럼 주세요.",
                        limit=limit)
        self.limit = limit
        self._site = _plan()
        self.version = self._site.version if self._site.ok else None
        self.base = self._site.base
        self.leaf: str | None = None  # leaf mode: where our cgroup's processes wait
        self.path: str | None = None
        self.removed = False

    @staticmethod
    def _detect() -> tuple[int | None, str | None]:
        """(cgroup version, the cgroup cages are made in), or (None, None) where none can be made."""
        site = _plan()
        return (site.version, site.base) if site.ok else (None, None)

    @classmethod
    def available(cls) -> tuple[bool, str]:
        """(True, how) when a cage can be made here; (False, why not) otherwise, in the reader's language."""
        site = _plan()
        return site.ok, site.why()

    @classmethod
    def remove_stale(cls) -> list[str]:
        """Remove empty toplab-* cgroups left by kernels that died mid-demo (their PID is gone),
        and undo a leaf mode that nobody finished."""
        _, base = cls._detect()
        if base is None:
            return []
        try:
            with _base_lock(base):
                return cls._remove_stale_in(base)
        except TimeoutError:
            return []  # another kernel is busy there for long: its own exit, or the next cage, cleans up

    @staticmethod
    def _remove_stale_in(base: str) -> list[str]:
        """remove_stale() in ``base``; the caller holds its lock."""
        removed: list[str] = []
        for d in _cages_in(base):
            m = _STALE.match(os.path.basename(d))
            if not m or _pid_alive(int(m.group(1))):
                continue
            procs = _read(os.path.join(d, "cgroup.procs"))
            if procs is None or procs.strip():
                continue  # unreadable, or someone still lives there: leave it alone
            with contextlib.suppress(OSError):
                os.rmdir(d)
                removed.append(d)
        if base != CGROUP_V1:
            removed += _restore_leaves(base)
        return removed

    def __enter__(self) -> MemoryCage:
        for _ in range(3):
            site = _plan()
            if not site.ok:
                raise PermissionError(site.why())
            with _base_lock(site.base):
                assert site.base is not None
                # first: it may end a leaf mode left behind, which changes the plan
                self._remove_stale_in(site.base)
                again = _plan()
                if again.ok and again.base == site.base:
                    self._make(again)  # leaf mode (if needed) and the cage, under the lock
                    return self
                if not again.ok:
                    raise PermissionError(again.why())
        raise error(RuntimeError, "where the cage can go kept changing while it was being made (other kernels "
                    "starting or ending their demos?); try again",
                    "cgroup을 만드는 동안 만들 수 있는 위치가 계속 바뀌었습니다(다른 주피터 커널이 실험을 시작하거나 "
                    "끝내는 중일 수 있습니다). 다시 해 보세요.")

    def _make(self, site: _Site) -> None:
        self._site = site
        self.version, self.base = site.version, site.base
        if site.leaf:
            self._enter_leaf_mode()
        base = self.base
        assert base is not None
        name = f"toplab-{os.getpid()}"
        path = os.path.join(base, name)
        n = 0
        while os.path.exists(path):
            n += 1
            path = os.path.join(base, f"{name}-{n}")
        try:
            os.mkdir(path)
        except BaseException:
            self._leave_leaf_mode()
            raise
        self.path = path
        try:
            if self.version == 1:
                _write(self._f("memory.limit_in_bytes"), str(self.limit))
                if os.path.exists(self._f("memory.memsw.limit_in_bytes")):
                    _write(self._f("memory.memsw.limit_in_bytes"), str(self.limit))
            else:
                if not os.path.exists(self._f("memory.max")):
                    raise error(RuntimeError, "{base} stopped giving the memory controller to its children "
                                "(another kernel's demo ended meanwhile?); try again",
                                "{base}이(가) 자식 cgroup에 메모리 컨트롤러를 더 이상 주지 않습니다(그사이 다른 주피터 "
                                "커널의 실험이 끝났을 수 있습니다). 다시 해 보세요.", base=base)
                _write(self._f("memory.max"), str(self.limit))
                if os.path.exists(self._f("memory.swap.max")):
                    _write(self._f("memory.swap.max"), "0")
        except BaseException:
            self._remove()
            self._leave_leaf_mode()
            raise

    def _enter_leaf_mode(self) -> None:
        """Move our cgroup's processes into a leaf child, then give memory to the children."""
        base = self.base
        assert base is not None
        leaf = os.path.join(base, f"toplab-lab-{os.getpid()}")
        if not os.path.isdir(leaf):
            os.mkdir(leaf)
        self.leaf = leaf
        try:
            for _ in range(3):  # a fork between the move and the write makes it EBUSY: move again
                _move_all(base, leaf)
                try:
                    _write(os.path.join(base, "cgroup.subtree_control"), "+memory")
                    break
                except OSError as e:
                    if e.errno != _errno.EBUSY:
                        raise
            else:
                raise error(RuntimeError, "could not enable memory for the children of {base}: it keeps holding "
                            "processes; stop the demos of other notebooks, then try again",
                            "{base}의 자식 cgroup에 메모리 컨트롤러를 켤 수 없습니다. 그 안에 프로세스가 계속 "
                            "있습니다. 다른 노트북의 실험을 멈춘 뒤 다시 해 보세요.", base=base)
        except BaseException:
            self._leave_leaf_mode()
            raise

    def _leave_leaf_mode(self) -> None:
        if self.leaf is not None and self.base is not None:
            if self.leaf in _restore_leaves(self.base) or not os.path.exists(self.leaf):
                self.leaf = None

    def _f(self, name: str) -> str:
        assert self.path is not None
        return os.path.join(self.path, name)

    def add(self, pid: int) -> None:
        """Move ``pid`` into the cage (its next allocations are charged here) and check it arrived."""
        _write(self._f("cgroup.procs"), str(pid))
        assert self.path is not None and self._site.root is not None
        rel = _rel(self.path, self._site.root)
        text = _read(f"/proc/{pid}/cgroup") or ""
        if not any(line.rsplit(":", 1)[-1] == rel for line in text.splitlines()):
            raise error(RuntimeError, "pid {pid} did not arrive in {path}; close this cage and try again",
                        "PID {pid}이(가) {path}에 들어가지 않았습니다. 이 cgroup을 닫고 다시 해 보세요.",
                        pid=pid, path=self.path)

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
        try:
            for pid in self.pids():  # only our own child can be in here; make sure it is gone
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self._remove()
        finally:
            if self.version == 2 and self.base is not None:
                # ends our leaf mode, or one another kernel left to the last cage out; under the lock,
                # so that it waits for a kernel between its leaf setup and its cage
                with contextlib.suppress(TimeoutError), _base_lock(self.base):
                    _restore_leaves(self.base)  # on a timeout: the last cage out, or the next one, restores
                if self.leaf is not None and not os.path.exists(self.leaf):
                    self.leaf = None
