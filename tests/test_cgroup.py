"""Where MemoryCage puts its cgroup, decided against fake cgroup trees (v1, v2, delegated v2).

The mount points (``cgroup.CGROUP_V1``, ``cgroup.CGROUP_V2``) and /proc (``procfs.PROC_ROOT``,
for self/cgroup) are redirected to a temporary tree.  Writability is real: the decision runs in
a child process as an unprivileged user (nobody when the tests run as root, else this user),
for whom only the "delegated" parts of the tree are writable, as after systemd's Delegate=yes.
Creating cages for real is tested in tests/test_lessons_ch2_3.py (v1 here) and by the claim
``places-v2-delegated`` (tests/claims/places.py) in VMs with cgroup v2.  The lock that keeps two
kernels of one user from undoing each other's leaf mode is tested with two processes on a
simulated cgroupfs (``FakeCgroupFs``: moves, subtree_control and rmdir behave as in the kernel).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import multiprocessing
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from kernel_helpers import cgroup, procfs
from kernel_helpers.safety import MiB

REPO = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = "/usr/bin/python3"  # the venv's interpreter may sit where nobody can enter
NOBODY = 65534
ROOT = os.geteuid() == 0
READER = NOBODY if ROOT else os.geteuid()  # who the decision runs as

PLAN = r'''
import json, sys
from kernel_helpers import cgroup, procfs
cgroup.CGROUP_V1, cgroup.CGROUP_V2 = sys.argv[1], sys.argv[2]
procfs.set_proc_root(sys.argv[3])
site = cgroup._plan()
print(json.dumps({"ok": site.ok, "version": site.version, "base": site.base, "leaf": site.leaf,
                  "en": site.en, "ko": site.ko, "available": cgroup.MemoryCage.available(),
                  "detect": cgroup.MemoryCage._detect()}))
'''


class Tree:
    """A fake /sys/fs/cgroup (v1 memory or v2) and a fake /proc, in one folder readable by all."""

    def __init__(self, top: Path):
        self.top = top
        self.v1 = top / "cgroup" / "memory"
        self.v2 = top / "cgroup"
        self.proc = top / "proc"
        (self.proc / "self").mkdir(parents=True)
        self.v2.mkdir()
        self._dirs: dict[Path, bool] = {}  # modes applied last: a read-only parent blocks mkdir

    def _file(self, path: Path, text: str, mine: bool) -> None:
        path.write_text(text)
        self._own(path, mine, 0o644)

    def _own(self, path: Path, mine: bool, mode: int) -> None:
        if mine and ROOT:
            os.chown(path, READER, READER)
        os.chmod(path, mode if mine else mode & 0o555)

    def v2_cgroup(self, rel: str, *, controllers: Iterable[str] = ("cpu", "memory", "pids"),
                  subtree: Iterable[str] = (), procs: Iterable[int] = (), mine: bool = False,
                  kind: str = "domain") -> Path:
        """One cgroup v2 directory; ``mine``: delegated to the reader (dir and the three files chowned)."""
        d = self.v2 / rel.strip("/") if rel.strip("/") else self.v2
        d.mkdir(parents=True, exist_ok=True)
        self._file(d / "cgroup.controllers", " ".join(controllers) + "\n", False)
        self._file(d / "cgroup.subtree_control", " ".join(subtree) + "\n", mine)
        self._file(d / "cgroup.procs", "".join(f"{p}\n" for p in procs), mine)
        self._file(d / "cgroup.threads", "".join(f"{p}\n" for p in procs), mine)
        if d != self.v2:
            self._file(d / "cgroup.type", kind + "\n", False)
            self._file(d / "memory.max", "max\n", False)
        self._dirs[d] = mine
        for p in procs:
            self.process(p, READER)
        return d

    def process(self, pid: int, uid: int) -> None:
        d = self.proc / str(pid)
        d.mkdir(exist_ok=True)
        if ROOT:
            os.chown(d, uid, uid)

    def live_in(self, rel: str) -> None:
        """This process's cgroup, as /proc/self/cgroup shows it on a v2-only machine."""
        (self.proc / "self" / "cgroup").write_text(f"0::{rel}\n")

    def plan(self, lang: str = "en") -> dict:
        """MemoryCage's decision, taken by the unprivileged reader."""
        for d in sorted(self._dirs, key=lambda p: -len(p.parts)):
            self._own(d, self._dirs[d], 0o755)
        env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1",
               "TOPLAB_LANG": lang}
        kw: dict = {"user": NOBODY, "group": NOBODY, "extra_groups": []} if ROOT else {}
        r = subprocess.run([SYSTEM_PYTHON, "-c", PLAN, str(self.v1), str(self.v2), str(self.proc)],
                           env=env, cwd="/", capture_output=True, text=True, timeout=60, **kw)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)


@pytest.fixture
def tree() -> Iterator[Tree]:
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.skip(f"needs {SYSTEM_PYTHON} (the decision runs as another user)")
    top = Path(tempfile.mkdtemp(prefix="toplab-cgroup-", dir="/tmp"))
    os.chmod(top, 0o755)
    try:
        yield Tree(top)
    finally:
        for d, _, _ in os.walk(top):
            os.chmod(d, 0o755)  # the "not delegated" parts are read-only, even for their owner
        shutil.rmtree(top)


def _v2_machine(t: Tree, *, root_gives_memory: bool = True) -> None:
    """The top of a v2 hierarchy with memory, owned by root (not the reader's)."""
    t.v2_cgroup("/", subtree=("memory", "pids") if root_gives_memory else ("pids",))


# --- cgroup v1 and no controller ---------------------------------------------------------------

def test_v1_memory_controller_is_used_where_it_is_writable(monkeypatch, tmp_path):
    v1 = tmp_path / "memory"
    v1.mkdir()
    (v1 / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    monkeypatch.setattr(cgroup, "CGROUP_V1", str(v1))
    monkeypatch.setattr(cgroup, "CGROUP_V2", str(tmp_path))
    assert cgroup.MemoryCage._detect() == (1, str(v1))
    assert cgroup.MemoryCage(16 * MiB).base == str(v1)
    assert cgroup.MemoryCage.available() == (True, f"cgroup v1 memory controller at {v1}, writable")


def test_v1_not_writable_says_root_or_delegation_is_needed(tree):
    tree.v1.mkdir()
    (tree.v1 / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    os.chmod(tree.v1, 0o555)
    p = tree.plan()
    assert not p["ok"] and p["detect"] == [None, None]
    assert p["available"][0] is False
    assert "not writable (not root)" in p["en"] and "root or a delegated cgroup v2 subtree" in p["en"]
    assert "root가 아님" in tree.plan("ko")["available"][1]


def test_no_memory_controller_anywhere(monkeypatch, tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu pids\n")
    monkeypatch.setattr(cgroup, "CGROUP_V1", str(tmp_path / "memory"))
    monkeypatch.setattr(cgroup, "CGROUP_V2", str(tmp_path))
    ok, why = cgroup.MemoryCage.available()
    assert not ok and why == f"no memory cgroup controller is mounted at {tmp_path}"
    with pytest.raises(PermissionError, match="no memory cgroup controller"):
        with cgroup.MemoryCage(16 * MiB):
            pass
    monkeypatch.setenv("TOPLAB_LANG", "ko")
    assert "메모리 cgroup 컨트롤러가 마운트되어 있지 않습니다" in cgroup.MemoryCage.available()[1]


# --- cgroup v2 ---------------------------------------------------------------------------------

def test_v2_root_writable_with_memory_for_children_is_used_first(monkeypatch, tmp_path):
    """As root on a v2 machine: the cage goes at the top, as before (our tmp tree is writable by us)."""
    for name, text in (("cgroup.controllers", "cpu memory pids\n"), ("cgroup.subtree_control", "memory\n"),
                       ("cgroup.procs", "")):
        (tmp_path / name).write_text(text)
    (tmp_path / "proc" / "self").mkdir(parents=True)
    (tmp_path / "proc" / "self" / "cgroup").write_text("0::/user.slice/x.scope\n")
    monkeypatch.setattr(cgroup, "CGROUP_V1", str(tmp_path / "memory"))
    monkeypatch.setattr(cgroup, "CGROUP_V2", str(tmp_path))
    monkeypatch.setattr(procfs, "PROC_ROOT", str(tmp_path / "proc"))
    assert cgroup.MemoryCage._detect() == (2, str(tmp_path))
    assert cgroup.MemoryCage.available() == (True, f"cgroup v2 memory controller at {tmp_path}, writable")


def test_v2_root_without_memory_for_children_says_so(tree):
    _v2_machine(tree, root_gives_memory=False)
    tree.live_in("/")
    p = tree.plan()
    assert not p["ok"]
    assert "not delegated to uid" in p["en"] and "Delegate=yes" in p["en"]


def test_v2_not_delegated_explains_what_is_needed_in_both_languages(tree):
    _v2_machine(tree)
    tree.v2_cgroup("/user.slice/session-1.scope", procs=[4242])  # root's, as logind makes it
    tree.live_in("/user.slice/session-1.scope")
    p = tree.plan()
    assert not p["ok"] and p["available"][0] is False
    assert f"cgroup /user.slice/session-1.scope is not delegated to uid {READER}" in p["en"]
    assert "needs root or a delegated cgroup v2 subtree" in p["en"]
    ko = tree.plan("ko")["available"][1]
    assert "위임되어 있지 않고" in ko and "root 권한이나 위임받은 cgroup v2" in ko


def test_v2_delegated_subtree_with_a_leaf_gets_the_cage_and_nothing_moves(tree):
    """systemd Delegate=yes, the payload already in a leaf: the cage goes beside the leaf."""
    _v2_machine(tree)
    tree.v2_cgroup("/system.slice", subtree=("memory",))
    d = tree.v2_cgroup("/system.slice/lab.service", subtree=("memory", "pids"), mine=True)
    tree.v2_cgroup("/system.slice/lab.service/payload", controllers=("memory", "pids"), procs=[4242], mine=True)
    tree.live_in("/system.slice/lab.service/payload")
    p = tree.plan()
    assert p["ok"] and p["version"] == 2 and p["base"] == str(d) and p["leaf"] is False
    assert p["detect"] == [2, str(d)]
    assert "nothing of this Jupyter kernel moves" in p["en"]
    assert "옮기지 않음" in tree.plan("ko")["available"][1]


def test_v2_the_nearest_delegated_ancestor_wins(tree):
    """The cage stays inside the reader's own limits: the nearest cgroup that can hold it."""
    _v2_machine(tree)
    tree.v2_cgroup("/user.slice", subtree=("memory",))
    tree.v2_cgroup("/user.slice/user@1000.service", subtree=("memory", "pids"), mine=True)
    near = tree.v2_cgroup("/user.slice/user@1000.service/app.slice", subtree=("memory",), mine=True)
    tree.v2_cgroup("/user.slice/user@1000.service/app.slice/lab.scope", procs=[4242, 4243], mine=True)
    tree.live_in("/user.slice/user@1000.service/app.slice/lab.scope")
    p = tree.plan()
    assert p["ok"] and p["base"] == str(near) and not p["leaf"]


def test_v2_delegated_cgroup_holding_processes_uses_leaf_mode_and_says_so(tree):
    """Delegated, but our processes live in it: "no internal processes" needs a leaf, for the demo only."""
    _v2_machine(tree)
    d = tree.v2_cgroup("/toplab-deleg", procs=[4242, 4243], mine=True)
    tree.live_in("/toplab-deleg")
    p = tree.plan()
    assert p["ok"] and p["base"] == str(d) and p["leaf"] is True
    assert "2 process(es), this Jupyter kernel included, move into a leaf child (/toplab-deleg/toplab-lab-PID)" in p["en"]
    assert "move back afterwards" in p["en"]
    assert "잎 cgroup" in tree.plan("ko")["available"][1]


def test_v2_delegated_without_the_memory_controller(tree):
    _v2_machine(tree, root_gives_memory=False)
    tree.v2_cgroup("/toplab-deleg", controllers=("pids",), procs=[4242], mine=True)
    tree.live_in("/toplab-deleg")
    p = tree.plan()
    assert not p["ok"]
    assert "does not pass it the memory controller" in p["en"] and "Delegate=memory" in p["en"]
    assert "메모리 컨트롤러를 넘겨주지 않았습니다" in tree.plan("ko")["available"][1]


def test_v2_threaded_cgroup_cannot_hold_a_cage(tree):
    _v2_machine(tree)
    tree.v2_cgroup("/toplab-deleg", procs=[4242], mine=True, kind="threaded")
    tree.live_in("/toplab-deleg")
    p = tree.plan()
    assert not p["ok"] and "of type 'threaded'" in p["en"]


@pytest.mark.skipif(not ROOT, reason="needs root to make a fake process owned by another user")
def test_v2_leaf_mode_never_moves_other_users_processes(tree):
    _v2_machine(tree)
    tree.v2_cgroup("/toplab-deleg", procs=[4242, 4243], mine=True)
    tree.process(4243, 0)  # a root process in the reader's cgroup
    tree.live_in("/toplab-deleg")
    p = tree.plan()
    assert not p["ok"] and "processes of other users (PID 4243)" in p["en"]


def test_v2_a_cgroup_path_outside_the_mount_is_not_trusted(tree):
    """Another cgroup namespace: /proc/self/cgroup names a path the mount does not have."""
    _v2_machine(tree)
    tree.live_in("/somewhere/else")
    p = tree.plan()
    assert not p["ok"] and "not writable (not root)" in p["en"]


def test_the_path_a_cage_is_checked_against_is_relative_to_the_mount():
    assert cgroup._rel("/sys/fs/cgroup/a/toplab-1", "/sys/fs/cgroup") == "/a/toplab-1"
    assert cgroup._rel("/sys/fs/cgroup/memory/toplab-1", "/sys/fs/cgroup/memory") == "/toplab-1"
    assert cgroup._rel("/sys/fs/cgroup", "/sys/fs/cgroup") == "/"


def test_v2_mounted_read_only_says_so_before_looking_for_delegation(monkeypatch, tmp_path):
    """A container's /sys/fs/cgroup (Docker mounts it read-only): no one can create a cgroup there.
    The mount is real in tests/test_binder_like.py; here only the decision is checked."""
    for name, text in (("cgroup.controllers", "memory\n"), ("cgroup.subtree_control", "memory\n"),
                       ("cgroup.procs", "")):
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(cgroup, "CGROUP_V1", str(tmp_path / "memory"))
    monkeypatch.setattr(cgroup, "CGROUP_V2", str(tmp_path))
    monkeypatch.setattr(procfs, "read_only_mount", lambda path: path == str(tmp_path))
    ok, why = cgroup.MemoryCage.available()
    assert not ok and why.startswith(f"cgroup v2 at {tmp_path} is not writable (mounted read-only here)")
    assert "not even root" in why  # root cannot help under a read-only mount: the message must not say it can
    monkeypatch.setenv("TOPLAB_LANG", "ko")
    ko = cgroup.MemoryCage.available()[1]
    assert "쓸 수 없습니다(여기서는 읽기 전용으로 마운트됨)" in ko and "root라도 만들 수 없습니다" in ko


def test_one_read_only_check_for_cgroups_and_proc_sys():
    from kernel_helpers import overcommit

    assert overcommit._read_only_mount is procfs.read_only_mount
    assert not hasattr(cgroup, "_read_only_mount")
    assert procfs.read_only_mount("/no/such/path") is False


# --- two kernels of one user on one delegated cgroup: the lock ---------------------------------

class FakeCgroupFs:
    """Just enough of cgroupfs, shared by several processes through real files under ``top``.

    Writing a PID to cgroup.procs moves it (and rewrites that process's fake /proc/self/cgroup);
    ``+memory`` in cgroup.subtree_control needs a cgroup without processes (EBUSY) and gives the
    children memory.max, ``-memory`` takes it away; mkdir makes the interface files; rmdir refuses
    a cgroup with processes or children (EBUSY). Each operation is atomic, as in the kernel, under a
    lock of the simulation's own (not the one under test). Installed in ``cgroup`` through its
    ``_write`` and an ``os`` whose mkdir and rmdir come from here.
    """

    def __init__(self, top: Path):
        self.top = top
        self.root = top / "cgroup"
        self.locks = top / "locks"  # cgroup.LOCK_DIR
        self.locks.mkdir()
        (top / "sim.lock").touch()

    # the fake processes: /proc as each one sees it (its self/cgroup, and every fake PID's folder)
    def add_processes(self, pids: list[int], cgroup_rel: str) -> None:
        for pid in pids:
            (self.top / f"proc-{pid}" / "self").mkdir(parents=True)
            (self.top / f"proc-{pid}" / "self" / "cgroup").write_text(f"0::{cgroup_rel}\n")
            for other in pids:
                (self.top / f"proc-{pid}" / str(other)).mkdir()

    def proc_root(self, pid: int) -> str:
        return str(self.top / f"proc-{pid}")

    def cgroup(self, rel: str, files: dict[str, str]) -> Path:
        d = self.root / rel.strip("/") if rel.strip("/") else self.root
        d.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (d / name).write_text(text)
        return d

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        with open(self.top / "sim.lock") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            yield

    def _inside(self, path: str | Path) -> bool:
        return Path(os.path.abspath(path)).is_relative_to(self.root)

    @staticmethod
    def _put(path: Path, text: str) -> None:
        """Replace a file at once: readers outside the simulation's lock never see half of it."""
        tmp = path.with_name(path.name + ".new")
        tmp.write_text(text)
        os.replace(tmp, path)

    def _children(self, d: Path) -> list[Path]:
        return [c for c in d.iterdir() if c.is_dir()]

    def write(self, path: str, value: str) -> None:
        p = Path(os.path.abspath(path))
        if not self._inside(p) or p.name not in ("cgroup.procs", "cgroup.subtree_control"):
            with open(p, "w") as f:
                f.write(value)
            return
        d = p.parent
        with self.atomic():
            if p.name == "cgroup.procs":
                pid = int(value)
                if not (self.top / f"proc-{pid}").is_dir():
                    raise ProcessLookupError(errno.ESRCH, "No such process")
                if d != self.root and (d / "cgroup.subtree_control").read_text().split():
                    raise OSError(errno.EBUSY, "Device or resource busy")  # no internal processes
                for procs in self.root.rglob("cgroup.procs"):
                    left = [x for x in procs.read_text().split() if x != str(pid)]
                    self._put(procs, "".join(f"{x}\n" for x in left))
                self._put(p, p.read_text() + f"{pid}\n")
                rel = "/" + str(d.relative_to(self.root)) if d != self.root else "/"
                self._put(self.top / f"proc-{pid}" / "self" / "cgroup", f"0::{rel}\n")
                return
            on = set((d / "cgroup.subtree_control").read_text().split())
            for word in value.split():
                sign, ctl = word[0], word[1:]
                if sign == "+":
                    if d != self.root and (d / "cgroup.procs").read_text().split():
                        raise OSError(errno.EBUSY, "Device or resource busy")
                    on.add(ctl)
                    for c in self._children(d):
                        if ctl == "memory" and not (c / "memory.max").exists():
                            (c / "memory.max").write_text("max\n")
                else:
                    if any(ctl in (c / "cgroup.subtree_control").read_text().split() for c in self._children(d)):
                        raise OSError(errno.EBUSY, "Device or resource busy")
                    on.discard(ctl)
                    for c in self._children(d):
                        if ctl == "memory":
                            (c / "memory.max").unlink(missing_ok=True)
            self._put(p, " ".join(sorted(on)) + "\n")

    def mkdir(self, path: str, mode: int = 0o777) -> None:
        if not self._inside(path):
            os.mkdir(path, mode)
            return
        d = Path(path)
        with self.atomic():
            os.mkdir(d)
            given = (d.parent / "cgroup.subtree_control").read_text()
            for name, text in (("cgroup.procs", ""), ("cgroup.subtree_control", "\n"), ("cgroup.type", "domain\n"),
                               ("cgroup.controllers", given)):
                (d / name).write_text(text)
            if "memory" in given.split():
                (d / "memory.max").write_text("max\n")

    def rmdir(self, path: str) -> None:
        if not self._inside(path):
            os.rmdir(path)
            return
        d = Path(path)
        with self.atomic():
            if not d.is_dir():
                raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(d))
            if (d / "cgroup.procs").read_text().split() or self._children(d):
                raise OSError(errno.EBUSY, "Device or resource busy", str(d))
            for f in d.iterdir():
                f.unlink()
            os.rmdir(d)


class _OsWith:
    """``os`` for the cgroup module, with mkdir and rmdir taken from the fake cgroupfs."""

    def __init__(self, fs: FakeCgroupFs):
        self.mkdir, self.rmdir = fs.mkdir, fs.rmdir

    def __getattr__(self, name: str):
        return getattr(os, name)


def _kernel_a(fs: FakeCgroupFs, in_leaf, b_done) -> dict:
    """Kernel A: its OOM demo in leaf mode. Right after leaf setup it waits (up to 3 s) for kernel B."""
    enter = cgroup.MemoryCage._enter_leaf_mode

    def enter_and_pause(self: cgroup.MemoryCage) -> None:
        enter(self)
        in_leaf.set()
        b_done.wait(3.0)  # kernel B's clean-up, if nothing holds it back, runs now

    cgroup.MemoryCage._enter_leaf_mode = enter_and_pause  # type: ignore[method-assign]
    out: dict = {}
    try:
        with cgroup.MemoryCage(16 * MiB) as cage:
            assert cage.path is not None
            out.update(leaf=cage.leaf, cage=cage.path, memory_max=Path(cage.path, "memory.max").read_text().strip())
            out["b_done_meanwhile"] = b_done.wait(10)  # B's clean-up ends while the demo runs, not before
    except BaseException as e:
        out["error"] = f"{type(e).__name__}: {e}"
    in_leaf.set()  # never leave B waiting
    return out


def _kernel_b(fs: FakeCgroupFs, in_leaf, b_done) -> dict:
    """Kernel B: tidies up as every demo does first (MemoryCage.remove_stale), while A is in leaf mode."""
    try:
        if not in_leaf.wait(30):
            return {"error": "kernel A never reached leaf mode"}
        removed = cgroup.MemoryCage.remove_stale()
        return {"removed": removed}
    except BaseException as e:
        return {"error": f"{type(e).__name__}: {e}"}
    finally:
        b_done.set()


def _as_kernel(fn, fs: FakeCgroupFs, ready, go, result: Path, *events) -> None:
    """The child process: /proc as this PID sees it in the fake tree, then ``fn``; its dict to ``result``."""
    ready.wait(30)
    go.wait(30)
    procfs.set_proc_root(fs.proc_root(os.getpid()))
    result.write_text(json.dumps(fn(fs, *events)))


@pytest.mark.parametrize("locked", [True, False], ids=["with-lock", "without-lock"])
def test_another_kernels_clean_up_waits_for_a_leaf_mode_until_its_cage_exists(monkeypatch, tmp_path, locked):
    """Kernels A and B (an English and a Korean notebook) live in one delegated cgroup. A moves
    everyone into its leaf and enables memory; B's remove_stale() then sees a leaf and no cage.
    With the lock B waits until A's cage exists, and A's cage gets memory.max; without it (the
    control: the race is real) B undoes A's leaf mode and A's cage has no memory controller."""
    ctx = multiprocessing.get_context("fork")
    fs = FakeCgroupFs(tmp_path)
    fs.cgroup("/", {"cgroup.controllers": "cpu memory pids\n", "cgroup.subtree_control": "pids\n",
                    "cgroup.procs": ""})
    monkeypatch.setattr(cgroup, "CGROUP_V1", str(fs.root / "memory"))
    monkeypatch.setattr(cgroup, "CGROUP_V2", str(fs.root))
    monkeypatch.setattr(cgroup, "LOCK_DIR", str(fs.locks))
    monkeypatch.setattr(cgroup, "LOCK_TIMEOUT", 20.0)
    monkeypatch.setattr(cgroup, "_write", fs.write)
    monkeypatch.setattr(cgroup, "os", _OsWith(fs))
    if not locked:
        monkeypatch.setattr(cgroup, "_base_lock", lambda base: contextlib.nullcontext())
    ready, go, in_leaf, b_done = ctx.Event(), ctx.Event(), ctx.Event(), ctx.Event()
    a = ctx.Process(target=_as_kernel, args=(_kernel_a, fs, ready, go, tmp_path / "a.json", in_leaf, b_done))
    b = ctx.Process(target=_as_kernel, args=(_kernel_b, fs, ready, go, tmp_path / "b.json", in_leaf, b_done))
    a.start()
    b.start()
    try:
        server = 4_000_000  # the lab server: a third process of the user's, not a real PID
        pids = [server, a.pid, b.pid]
        base = fs.cgroup("/lab.scope", {"cgroup.controllers": "memory pids\n", "cgroup.subtree_control": "\n",
                                        "cgroup.type": "domain\n", "cgroup.procs": "".join(f"{p}\n" for p in pids)})
        fs.add_processes(pids, "/lab.scope")
        ready.set()
        go.set()
        for p in (a, b):
            p.join(60)
    finally:
        for p in (a, b):
            if p.is_alive():
                p.kill()  # our own children, by PID
                p.join()
    ra, rb = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("a", "b"))
    assert "error" not in rb, rb
    if locked:
        assert "error" not in ra, ra
        assert ra["leaf"] == str(base / f"toplab-lab-{a.pid}") and ra["cage"] == str(base / f"toplab-{a.pid}")
        assert ra["memory_max"] == str(16 * MiB) and ra["b_done_meanwhile"]
        assert rb["removed"] == []  # A's cage existed by then: nothing of A's was undone
    else:
        assert "stopped giving the memory controller" in ra.get("error", ""), ra
    # either way, everything is back as it was, and the lock file is gone
    assert sorted(int(x) for x in (base / "cgroup.procs").read_text().split()) == sorted(pids)
    assert (base / "cgroup.subtree_control").read_text().split() == []
    assert [c.name for c in base.iterdir() if c.is_dir()] == []
    assert list(fs.locks.iterdir()) == []
    for pid in pids:
        assert (tmp_path / f"proc-{pid}" / "self" / "cgroup").read_text() == "0::/lab.scope\n"


def test_the_lock_of_a_base_is_exclusive_between_processes_and_leaves_no_file(monkeypatch, tmp_path):
    monkeypatch.setattr(cgroup, "LOCK_DIR", str(tmp_path))
    monkeypatch.setattr(cgroup, "LOCK_TIMEOUT", 0.3)
    base = "/sys/fs/cgroup/user.slice/lab.scope"
    ctx = multiprocessing.get_context("fork")
    held, release = ctx.Event(), ctx.Event()

    def hold() -> None:
        with cgroup._base_lock(base):
            held.set()
            release.wait(30)

    p = ctx.Process(target=hold)
    p.start()
    try:
        assert held.wait(30)
        with pytest.raises(TimeoutError, match="try again"):
            with cgroup._base_lock(base):
                pass
        with cgroup._base_lock(base + "-other"):  # another base: its own lock
            pass
        release.set()
        p.join(30)
        with cgroup._base_lock(base):  # free again, through a new file
            assert len(list(tmp_path.iterdir())) == 1
    finally:
        release.set()
        if p.is_alive():
            p.kill()  # our own child
        p.join()
    assert list(tmp_path.iterdir()) == []
    # where no leaf mode can happen (v1, the top of v2) nothing is locked and no file is made
    with cgroup._base_lock(cgroup.CGROUP_V2), cgroup._base_lock(cgroup.CGROUP_V1), cgroup._base_lock(None):
        assert list(tmp_path.iterdir()) == []


def test_a_lock_file_of_another_user_is_never_used(monkeypatch, tmp_path):
    """In a shared /dev/shm anyone could make our lock file first and hold it: such a file is skipped."""
    first, second = tmp_path / "shared", tmp_path / "mine"
    first.mkdir()
    second.mkdir()
    base = "/sys/fs/cgroup/lab.scope"
    (first / cgroup._lock_name(base)).symlink_to("/etc/passwd")  # not a regular file of ours
    monkeypatch.setattr(cgroup, "_lock_dirs", lambda: [str(first), str(second)])
    with cgroup._base_lock(base):
        assert (second / cgroup._lock_name(base)).is_file()
    assert not (second / cgroup._lock_name(base)).exists()


def test_the_not_writable_messages_read_well_for_root_and_for_others(monkeypatch):
    monkeypatch.setattr(procfs, "read_only_mount", lambda path: False)
    monkeypatch.setattr(cgroup.os, "geteuid", lambda: 0)
    site = cgroup._not_writable(2, "/sys/fs/cgroup")
    assert "not writable, not even by root here" in site.en and "needs root" not in site.en
    assert "root도 쓸 수 없습니다" in site.ko
    monkeypatch.setattr(cgroup.os, "geteuid", lambda: 1000)
    site = cgroup._not_writable(1, "/sys/fs/cgroup/memory")
    assert "is not writable (not root); creating a memory cgroup needs root or a delegated" in site.en
    assert "쓸 수 없습니다(root가 아님)" in site.ko
    site = cgroup._no_memory_for_children("/sys/fs/cgroup")
    assert "the top cgroup /sys/fs/cgroup does not give the memory controller" in site.en
    assert "`echo +memory > /sys/fs/cgroup/cgroup.subtree_control`" in site.en and "echo +memory" in site.ko
