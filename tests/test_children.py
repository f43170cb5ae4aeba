"""kernel_helpers.children: each demo process reaches its state, and none outlives its block.

"Gone" is checked with psutil by PID and start time (``Process.is_running``), so a PID the
kernel hands to some new process later does not count as ours still running.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from kernel_helpers import children, procfs

MiB = 1024 * 1024


def _state(pid: int) -> str:
    return procfs.stat(pid).state


def _gone(procs: list[psutil.Process], within: float = 5.0) -> list[psutil.Process]:
    """The processes still running (a zombie counts as running) after waiting up to ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        left = [p for p in procs if p.is_running()]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def _ours(pid: int) -> psutil.Process:
    return psutil.Process(pid)


# --- each one in its state --------------------------------------------------------------------------

def test_sleeping_sleeps_and_is_named_for_top():
    with children.sleeping() as c:
        p = _ours(c.pid)
        assert _state(c.pid) == "S" and procfs.stat(c.pid).comm == "toplab-sleeping"
        assert p.ppid() == os.getpid()
    assert c.returncode == -signal.SIGKILL
    assert not _gone([p])


def test_stopped_is_t_and_still_ends_on_leaving():
    with children.stopped() as c:
        p = _ours(c.pid)
        assert _state(c.pid) == "T"
    assert not _gone([p])


def test_niced_shows_ni_and_pr_20_plus_ni():
    with children.niced(7) as c:
        st = procfs.stat(c.pid)
        assert st.comm == "toplab-niced" and _ours(c.pid).nice() == 7
        assert (st.nice, st.priority) == (7, 27)  # top: NI 7, PR 20 + NI
    with pytest.raises(ValueError, match="between 1 and 19"):
        children.niced(0)
    with pytest.raises(TypeError):
        children.niced(2.5)  # type: ignore[arg-type]


def test_the_zombie_is_z_with_its_parent_and_both_go_with_the_block():
    with children.zombie() as c:
        parent, zombie = _ours(c.pid), _ours(c.zombie_pid)
        assert _state(c.zombie_pid) == "Z" and procfs.stat(c.zombie_pid).ppid == c.pid
        assert procfs.stat(c.zombie_pid).comm == "toplab-zombie" and _state(c.pid) in "SR"
        assert c.pids() == {"parent": c.pid, "zombie": c.zombie_pid}
    # the parent collects its zombie on SIGTERM: nothing is left for init to reap
    assert c.returncode == 0
    assert not _gone([parent, zombie])


def test_busy_threads_use_cpu_then_the_process_ends_by_itself():
    with children.busy(threads=2, seconds=1.5) as c:
        p = _ours(c.pid)
        assert p.num_threads() == 2  # the main thread is one of the two busy ones
        running, used = set(), 0.0
        while c.running:  # until its work is done, after 1.5 s
            with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess):
                running |= {_state_of_task(c.pid, t.id) for t in p.threads()}
                used = sum(p.cpu_times()[:2])
            time.sleep(0.02)
        # 2 threads for 1.5 s: up to 3 s of CPU; a loaded machine gives them less, never none
        assert "R" in running and used > 0.1, (running, used)
        assert c.returncode == 0
    assert not _gone([p])


def test_the_traced_child_is_t_under_its_tracer_and_both_go_with_the_block():
    try:
        c = children.traced().start()
    except children.ChildError as e:
        pytest.skip(f"ptrace not allowed here: {e}")
    with c:
        tracer, traced = _ours(c.pid), _ours(c.traced_pid)
        st = procfs.stat(c.traced_pid)
        assert st.state == "t" and st.ppid == c.pid and st.comm == "toplab-traced"
        with open(f"/proc/{c.traced_pid}/status") as f:
            assert f"TracerPid:\t{c.pid}" in f.read()
        assert c.pids() == {"tracer": c.pid, "traced": c.traced_pid}
    assert c.returncode == 0  # the tracer killed and reaped its child on SIGTERM
    assert not _gone([tracer, traced])


def test_the_traced_child_dies_when_its_tracer_is_killed():
    try:
        c = children.traced().start()
    except children.ChildError as e:
        pytest.skip(f"ptrace not allowed here: {e}")
    with c:
        traced = _ours(c.traced_pid)
        c.proc.kill()  # no cleanup runs in the tracer: PR_SET_PDEATHSIG must end the child
        c.proc.wait(timeout=10)
        assert not _gone([traced])


def test_the_vfork_parent_is_in_d_without_using_cpu_and_both_go_with_the_block():
    try:
        c = children.vfork_parent().start()
    except children.ChildError as e:
        pytest.skip(f"no raw clone here: {e}")
    with c:
        parent, kid = _ours(c.pid), _ours(c.child_pid)
        assert _state(c.pid) == "D" and procfs.stat(c.child_pid).ppid == c.pid
        assert procfs.stat(c.child_pid).comm == "toplab-vforked"
        before = procfs.stat(c.pid)
        time.sleep(0.5)
        after = procfs.stat(c.pid)
        assert after.state == "D" and (after.utime + after.stime) - (before.utime + before.stime) <= 1
        assert c.pids() == {"vfork": c.pid, "vforked": c.child_pid}
    assert c.returncode == 0  # the child saw EOF and exited; the parent reaped it and exited
    assert not _gone([parent, kid])


def test_the_vfork_pair_goes_when_its_python_dies():
    code = ("from kernel_helpers import children; import time; c = children.vfork_parent(60).start(); "
            "print(c.pid, c.child_pid, flush=True); time.sleep(60)")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(x) for x in p.stdout.readline().split()]
        procs = [_ours(x) for x in pids]
        p.kill()
        p.wait(timeout=10)
        assert not _gone(procs)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()


def test_busy_takes_a_nice_value_and_a_cpu_pinning():
    cpu = max(os.sched_getaffinity(0))
    with children.busy(1, seconds=1.0, nice=5, cpus=(cpu,)) as c:
        p = _ours(c.pid)
        assert p.nice() == 5 and os.sched_getaffinity(c.pid) == {cpu}
        assert procfs.stat(c.pid).priority == 25
    assert not _gone([p])
    with pytest.raises(ValueError, match="subset"):
        children.busy(1, cpus=(10_000,))
    with pytest.raises(ValueError, match="between 0 and 19"):
        children.busy(1, nice=-1)


def _state_of_task(pid: int, tid: int) -> str:
    try:
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "?"


def test_arenas_has_its_threads_and_takes_malloc_arena_max(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")  # an inherited value is removed unless asked for
    with children.arenas(3) as c:
        p = _ours(c.pid)
        env = p.environ()
        assert p.num_threads() == 4 and "MALLOC_ARENA_MAX" not in env
    with children.arenas(3, arena_max=1) as d:
        q = _ours(d.pid)
        assert q.environ()["MALLOC_ARENA_MAX"] == "1"
    assert c.returncode == d.returncode == 0  # ended on EOF of stdin, not killed
    assert not _gone([p, q])


def test_the_page_reader_reads_and_writes_a_byte_per_page():
    with children.page_reader(4 * MiB) as r:
        p = _ours(r.pid)
        rss0 = procfs.statm(r.pid)[1]
        assert r.do("read").strip() == "read sum=0"
        assert r.do("write").strip() == "written"
        assert r.do("read").strip() == f"read sum={4 * MiB // os.sysconf('SC_PAGE_SIZE')}"
        assert procfs.statm(r.pid)[1] - rss0 >= 3 * MiB  # the writes made the pages its own
        with pytest.raises(ValueError, match="'read' or 'write'"):
            r.do("erase")
    assert r.returncode == 0
    assert not _gone([p])
    with pytest.raises(children.ChildError, match="not running"):
        r.do("read")


# --- the contract ----------------------------------------------------------------------------------

def test_a_group_starts_in_order_and_leaves_nothing_running():
    g = children.Group(stopped=children.stopped(), parent=children.zombie(), niced=children.niced(10),
                       sleeping=children.sleeping())
    with g:
        pids = g.pids()
        assert list(pids) == ["stopped", "parent", "zombie", "niced", "sleeping"]
        assert [_state(pids[r]) for r in ("stopped", "zombie")] == ["T", "Z"]
        procs = [_ours(pid) for pid in pids.values()]
        assert {c.pid for c in children.running()} >= {g[n].pid for n in ("stopped", "parent", "niced")}
    assert not _gone(procs)
    assert not [c for c in children.running() if c in list(g)]


def test_a_group_that_fails_to_start_stops_what_it_started():
    class Broken(children.Child):
        role = "broken"
        body = "raise SystemExit('no luck')\n"

    first = children.sleeping()
    g = children.Group(first=first, broken=Broken())
    with pytest.raises(children.ChildError, match="did not start: no luck"):
        g.start()
    assert first.proc is not None and first.returncode is not None  # started, then ended and reaped


def test_start_twice_is_an_error_and_stop_twice_is_harmless():
    c = children.sleeping().start()
    try:
        with pytest.raises(children.ChildError, match="already started"):
            c.start()
    finally:
        assert c.stop() == -signal.SIGKILL
        assert c.stop() == -signal.SIGKILL
    with pytest.raises(children.ChildError, match="not started"):
        _ = children.sleeping().pid


def test_a_child_ends_by_itself_after_its_lifetime():
    with children.Sleeping(lifetime=0.3) as c:
        c.proc.wait(timeout=10)
        assert c.returncode == -signal.SIGALRM


def test_stop_all_ends_every_child_this_process_started():
    kids = [children.sleeping().start(), children.stopped().start()]
    procs = [_ours(c.pid) for c in kids]
    assert children.stop_all() >= 2
    assert not _gone(procs) and not children.running()


_ORPHAN = """
import json, sys, time
from kernel_helpers import children
g = children.Group(stopped=children.stopped(), parent=children.zombie(), niced=children.niced(10),
                   sleeping=children.sleeping(), arenas=children.arenas(2), reader=children.page_reader(1 << 20))
g.start()
print(json.dumps(g.pids()), flush=True)
time.sleep(60)
"""


def test_children_die_with_the_python_that_started_them():
    p = subprocess.Popen([sys.executable, "-c", _ORPHAN], stdout=subprocess.PIPE, text=True)
    try:
        pids = json.loads(p.stdout.readline())
        procs = [_ours(pid) for role, pid in pids.items() if role != "zombie"]
        assert len(procs) == 6 and all(q.is_running() for q in procs)
        p.send_signal(signal.SIGKILL)  # no cleanup code runs: only PR_SET_PDEATHSIG can help
        p.wait(timeout=10)
        left = [q for q in _gone(procs) if q.status() != psutil.STATUS_ZOMBIE]
        assert not left, left
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()


@pytest.mark.parametrize("lang, words", [("en", "ptrace is not allowed here (EPERM)"),
                                         ("ko", "ptrace가 허용되지 않습니다(EPERM)")])
def test_a_tracer_refused_ptrace_says_so_with_the_errno_in_either_language(monkeypatch, lang, words):
    from kernel_helpers import children

    class Refused(children.Traced):
        body = 'print("error ptrace 1", flush=True)\nsys.exit(1)\n'

    monkeypatch.setenv("TOPLAB_LANG", lang)
    with pytest.raises(children.ChildError) as e:
        Refused().start()
    assert words in str(e.value)


def test_a_child_that_says_something_else_than_ready_is_quoted_in_the_error(monkeypatch):
    from kernel_helpers import children

    class Odd(children.Child):
        role = "odd"
        body = 'print("error no clone syscall number for s390x", flush=True)\nsys.exit(1)\n'

    monkeypatch.setenv("TOPLAB_LANG", "en")
    with pytest.raises(children.ChildError, match="did not start: error no clone syscall number for s390x"):
        Odd().start()
