"""Where MemoryCage puts its cgroup, decided against fake cgroup trees (v1, v2, delegated v2).

The mount points (``cgroup.CGROUP_V1``, ``cgroup.CGROUP_V2``) and /proc (``procfs.PROC_ROOT``,
for self/cgroup) are redirected to a temporary tree.  Writability is real: the decision runs in
a child process as an unprivileged user (nobody when the tests run as root, else this user),
for whom only the "delegated" parts of the tree are writable, as after systemd's Delegate=yes.
Creating cages for real is tested in tests/test_lessons_ch2_3.py (v1 here) and by the claim
``places-v2-delegated`` (tests/claims/places.py) in VMs with cgroup v2.
"""

from __future__ import annotations

import json
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
    assert "nothing of this kernel moves" in p["en"]
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
    assert "2 process(es), this kernel included, move into a leaf child (/toplab-deleg/toplab-lab-PID)" in p["en"]
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
    monkeypatch.setattr(cgroup, "_read_only_mount", lambda path: path == str(tmp_path))
    ok, why = cgroup.MemoryCage.available()
    assert not ok and why.startswith(f"cgroup v2 at {tmp_path} is not writable (mounted read-only here)")
    monkeypatch.setenv("TOPLAB_LANG", "ko")
    assert "읽기 전용으로 마운트됨" in cgroup.MemoryCage.available()[1]
