"""kernel_helpers.top against the real procps top, on processes started in known states."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from kernel_helpers import procfs, top
from kernel_helpers.procfs import ProcessGone

REPO = Path(__file__).resolve().parent.parent
TOP = shutil.which("top")
needs_top = pytest.mark.skipif(TOP is None, reason="procps top is not installed (apt-get install procps)")
FIELDS = ("VIRT", "RES", "SHR", "PR", "NI", "S", "USER", "COMMAND")
IDX = {name: i for i, name in enumerate(top.COLUMNS)}
MIB = 1024 * 1024


# --- helpers that do not use the code under test ------------------------------------------

def run_top(pids=(), width=512, frames=1, delay=None) -> str:
    """`top -b` with no personal toprc and C number formatting."""
    cmd = [TOP, "-b", "-n", str(frames), "-w", str(width)]
    if delay is not None:
        cmd += ["-d", str(delay)]
    if pids:
        cmd += ["-p", ",".join(map(str, pids))]
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": home, "LC_ALL": "C"}
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=30, check=True)
    return out.stdout


def rows_of(text: str) -> dict[int, list[str]]:
    """{pid: the 12 cells of its row} from top-style text (the first frame)."""
    lines = text.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.split()[:1] == ["PID"])
    assert lines[head].split() == list(top.COLUMNS)
    rows = {}
    for ln in lines[head + 1 :]:
        if not ln.strip():
            break
        cells = ln.split(None, len(top.COLUMNS) - 1)
        rows[int(cells[0])] = cells
    return rows


def kib(cell: str) -> float:
    """A VIRT/RES/SHR cell as top prints it ('123456' or '12.0g') back to KiB."""
    if cell[-1].isalpha():
        return float(cell[:-1]) * 1024 ** "kmgtpe".index(cell[-1])
    return float(cell)


def ours(pids, width=512) -> dict[int, list[str]]:
    return rows_of(top.snapshot(0.02, pids).to_text(width=width, summary=False))


def ours_vs_top(pids, width=512, tries=4):
    """Our cells and top's for ``pids``, retried until ours read the same before and after top."""
    for _ in range(tries):
        before = ours(pids, width)
        theirs = rows_of(run_top(pids, width))
        after = ours(pids, width)
        if all(p in before and p in after and
               [before[p][IDX[f]] for f in FIELDS] == [after[p][IDX[f]] for f in FIELDS] for p in pids):
            break
    return after, theirs


def wait_for(pid: int, check, timeout: float = 10.0):
    """Poll /proc/PID/stat until check(comm, state, pr, ni) is true."""
    deadline = time.monotonic() + timeout
    while True:
        st = procfs.top_stat(pid)
        if check(st[0], st[1], st[2], st[3]):
            return st
        if time.monotonic() > deadline:
            raise AssertionError(f"process {pid} never reached the expected state: {st}")
        time.sleep(0.01)


# --- processes in known states ------------------------------------------------------------

@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """name -> PID for processes we start: running, sleeping, stopped, zombie, niced, other users,
    real-time, odd and long command names, a huge VIRT. All are killed and reaped afterwards."""
    started: list[subprocess.Popen] = []
    pids: dict[str, int] = {}
    tmp = tmp_path_factory.mktemp("zoo")

    def start(name, argv, check, **kw):
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=kw.pop("stdout", subprocess.DEVNULL),
                             stderr=subprocess.DEVNULL, **kw)
        started.append(p)
        try:
            wait_for(p.pid, check)
        except (AssertionError, ProcessGone):
            if name in ("rt", "rt50", "long_user", "big_virt"):  # optional: the machine may refuse
                return None
            raise
        pids[name] = p.pid
        return p

    sleep = shutil.which("sleep")
    try:
        start("running", ["sh", "-c", "while :; do :; done"], lambda c, s, pr, ni: s == "R")
        start("sleeping", [sleep, "1000"], lambda c, s, pr, ni: c == "sleep" and s == "S")
        p = start("stopped", [sleep, "1000"], lambda c, s, pr, ni: c == "sleep")
        os.kill(p.pid, signal.SIGSTOP)
        wait_for(p.pid, lambda c, s, pr, ni: s == "T")
        start("zombie", [shutil.which("true")], lambda c, s, pr, ni: s == "Z")  # never waited for
        start("niced", ["nice", "-n", "10", sleep, "1000"], lambda c, s, pr, ni: c == "sleep" and ni == 10)
        start("nobody", [sleep, "1000"], lambda c, s, pr, ni: c == "sleep", user=65534, group=65534)
        long_names = [u for u in pwd.getpwall() if len(u.pw_name) > 8 and u.pw_uid != 0]
        if long_names:
            start("long_user", [sleep, "1000"], lambda c, s, pr, ni: c == "sleep",
                  user=long_names[0].pw_uid, group=long_names[0].pw_gid)
        if shutil.which("chrt"):
            start("rt", ["chrt", "-f", "99", sleep, "1000"], lambda c, s, pr, ni: c == "sleep" and pr == -100)
            start("rt50", ["chrt", "-f", "50", sleep, "1000"], lambda c, s, pr, ni: c == "sleep" and pr == -51)
        for name, link in (("odd_comm", "(a) b)"), ("long_comm", "averyveryverylongname")):
            (tmp / link).symlink_to(sleep)
            start(name, [str(tmp / link), "1000"], lambda c, s, pr, ni, want=link[:15]: c == want)
        big = ("import mmap, sys, time\n"
               "m = mmap.mmap(-1, 12 << 30, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)\n"
               "print('mapped', flush=True); time.sleep(1000)\n")  # 12 GiB, read-only, never touched
        p = start("big_virt", [sys.executable, "-c", big], lambda c, s, pr, ni: True, stdout=subprocess.PIPE)
        if p is not None and p.stdout.readline().strip() != b"mapped":
            pids.pop("big_virt")
        yield pids
    finally:
        for p in started:
            if p.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
            if p.stdout:
                p.stdout.close()
        top.release_files()


@needs_top
@pytest.mark.parametrize("width", [512, 80])
def test_rows_match_top_for_processes_in_known_states(zoo, width):
    pids = list(zoo.values())
    mine, theirs = ours_vs_top(pids, width)
    for name, pid in zoo.items():
        assert pid in theirs, f"top did not list {name} ({pid})"
        assert [mine[pid][IDX[f]] for f in FIELDS] == [theirs[pid][IDX[f]] for f in FIELDS], name
    # and the zoo is what it should be, so each kind of row was really compared
    state = {name: mine[pid][IDX["S"]] for name, pid in zoo.items()}
    assert (state["running"], state["sleeping"], state["stopped"], state["zombie"]) == ("R", "S", "T", "Z")
    assert [mine[zoo["niced"]][IDX[f]] for f in ("PR", "NI")] == ["30", "10"]
    assert mine[zoo["nobody"]][IDX["USER"]] == pwd.getpwuid(65534).pw_name
    assert mine[zoo["odd_comm"]][IDX["COMMAND"]] == "(a) b)"
    assert mine[zoo["zombie"]][IDX["VIRT"]] == "0"
    if width == 80:
        assert mine[zoo["long_comm"]][IDX["COMMAND"]].endswith("+")
    if "long_user" in zoo:
        assert mine[zoo["long_user"]][IDX["USER"]].endswith("+")
    if "rt" in zoo:
        assert (mine[zoo["rt"]][IDX["PR"]], mine[zoo["rt50"]][IDX["PR"]]) == ("rt", "-51")
    if "big_virt" in zoo:
        assert mine[zoo["big_virt"]][IDX["VIRT"]].endswith("g")


@needs_top
def test_memory_numbers_in_the_table_are_bytes_of_what_top_prints(zoo):
    pids = [pid for name, pid in zoo.items() if name != "big_virt"]
    theirs = rows_of(run_top(pids))
    table = top.snapshot(0.02, pids).table.set_index("PID")
    for pid in pids:
        for col in ("VIRT", "RES", "SHR"):
            assert table.loc[pid, col] % 1024 == 0
            assert table.loc[pid, col] // 1024 == int(theirs[pid][IDX[col]]), (pid, col)
        assert table.loc[pid, "PR"] == (-100 if theirs[pid][IDX["PR"]] == "rt" else int(theirs[pid][IDX["PR"]]))


def _summary(text: str) -> dict[str, float]:
    mem = re.search(r"^MiB Mem :\s*([\d.]+) total,\s*([\d.]+) free,\s*([\d.]+) used,\s*([\d.]+) buff/cache",
                    text, re.M)
    swap = re.search(r"^MiB Swap:\s*([\d.]+) total,\s*([\d.]+) free,\s*([\d.]+) used\.\s*([\d.]+) avail Mem",
                     text, re.M)
    keys = ("total", "free", "used", "buff/cache", "swap total", "swap free", "swap used", "avail")
    return dict(zip(keys, map(float, mem.groups() + swap.groups()), strict=True))


def _ours_mib(h: top.Header) -> dict[str, float]:
    vals = (h.mem_total, h.mem_free, h.mem_used, h.mem_buff_cache, h.swap_total, h.swap_free,
            h.swap_used, h.mem_avail)
    keys = ("total", "free", "used", "buff/cache", "swap total", "swap free", "swap used", "avail")
    return {k: v / MIB for k, v in zip(keys, vals, strict=True)}


@needs_top
def test_mem_and_swap_lines_match_top():
    me = [os.getpid()]
    for _ in range(4):  # other work on the machine moves free/used a little between reads
        a = _ours_mib(top.snapshot(0.001, me).header)
        theirs = _summary(run_top(me))
        b = _ours_mib(top.snapshot(0.001, me).header)
        off = {k: v for k, v in theirs.items()
               if not min(a[k], b[k]) - 0.1 <= v <= max(a[k], b[k]) + 0.1}
        if not off:
            break
    assert not off, f"top's Mem/Swap lines outside our readings around it: {off}, ours {a} .. {b}"
    text = top.snapshot(0.001, me).to_text()
    assert _summary(text)["total"] == theirs["total"]  # printed identically


@needs_top
def test_whole_system_pids_match_top():
    before = set(top.snapshot(0.02).table["PID"])
    theirs = set(rows_of(run_top()))
    after = set(top.snapshot(0.02).table["PID"])
    assert os.getpid() in theirs
    assert before & after <= theirs, "processes alive all along that top did not list"
    extra = theirs - (before | after)  # top itself, and anything born and gone meanwhile
    assert not {p for p in extra if os.path.exists(f"/proc/{p}")}, extra
    assert len(before ^ after) < max(10, len(before) // 2), "the machine is too busy to compare"


@needs_top
def test_tasks_line_matches_top_within_drift(zoo):
    a = top.snapshot(0.02).header
    text = run_top()
    b = top.snapshot(0.02).header
    m = re.search(r"^Tasks:\s*(\d+) total,\s*(\d+) running,\s*(\d+) sleeping,\s*(\d+) stopped,\s*(\d+) zombie",
                  text, re.M)
    theirs = dict(zip(("total", "running", "sleeping", "stopped", "zombie"), map(int, m.groups()), strict=True))
    drift = abs(a.tasks_total - b.tasks_total) + 2  # top itself, and churn between reads
    for key in theirs:
        lo, hi = sorted((getattr(a, f"tasks_{key}"), getattr(b, f"tasks_{key}")))
        assert lo - drift <= theirs[key] <= hi + drift, (key, theirs[key], lo, hi)
    assert a.tasks_stopped >= 1 and a.tasks_zombie >= 1  # the zoo's
    assert a.tasks_total == a.tasks_running + a.tasks_sleeping + a.tasks_stopped + a.tasks_zombie


def _cpu_ns(pid: int) -> int:
    """CPU time in ns from /proc/PID/schedstat: the scheduler's own count, not tick samples."""
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


@needs_top
def test_cpu_percent_of_a_busy_loop_matches_top_and_the_scheduler(zoo):
    busy, idle = zoo["running"], zoo["sleeping"]
    with tempfile.TemporaryDirectory() as home:  # top measures the same half second as we do
        env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": home, "LC_ALL": "C"}
        proc = subprocess.Popen([TOP, "-b", "-n", "2", "-d", "0.5", "-w", "512", "-p", str(busy)],
                                stdout=subprocess.PIPE, text=True, env=env)
        time.sleep(0.12)  # top's first frame comes after about 0.1 s; its second one 0.5 s later
        ns0, t0 = _cpu_ns(busy), time.monotonic()
        row = top.snapshot(0.5, [busy, idle]).table.set_index("PID")
        ns1, t1 = _cpu_ns(busy), time.monotonic()
        out, _ = proc.communicate(timeout=30)
    theirs = float(rows_of(out.split("\ntop - ")[-1])[busy][IDX["%CPU"]])
    scheduler = 100 * (ns1 - ns0) / 1e9 / (t1 - t0)
    mine = row.loc[busy, "%CPU"]
    assert mine > 0 and row.loc[busy, "TIME+"] > 0
    assert abs(mine - scheduler) <= 10, (mine, scheduler)  # ticks are samples: a tick or two off
    assert abs(mine - theirs) <= 25, (mine, theirs)
    assert row.loc[idle, "%CPU"] == 0.0


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two CPUs")
def test_threaded_process_can_pass_100_percent(zoo):
    """Irix mode: %CPU is per CPU, so two busy threads (hashlib drops the GIL) show up to 200."""
    code = ("import hashlib, threading\n"
            "data = b'x' * (1 << 20)\n"
            "def spin():\n"
            "    while True: hashlib.sha256(data).digest()\n"
            "for _ in range(2): threading.Thread(target=spin, daemon=True).start()\n"
            "threading.Event().wait()\n")
    p = subprocess.Popen([sys.executable, "-c", code])
    os.kill(zoo["running"], signal.SIGSTOP)  # our own busy loop would take one of the CPUs
    try:
        time.sleep(0.3)
        for _ in range(3):
            t = top.snapshot(1.0).table.set_index("PID")
            mine, others = t.loc[p.pid, "%CPU"], t["%CPU"].sum() - t.loc[p.pid, "%CPU"]
            if mine > 100:
                break
        else:
            if others > 100 * (os.cpu_count() or 1) - 150:
                pytest.skip(f"other processes use {others:.0f}% of the CPUs; no room for two threads")
        assert mine > 100, (mine, others)
    finally:
        p.kill()
        p.wait(timeout=10)
        os.kill(zoo["running"], signal.SIGCONT)
        wait_for(zoo["running"], lambda c, s, pr, ni: s == "R")


# --- robustness -----------------------------------------------------------------------------

def test_snapshot_survives_processes_that_come_and_go():
    churn = subprocess.Popen(["sh", "-c", "while :; do /bin/true; done"])
    try:
        time.sleep(0.1)
        seen = set()
        for _ in range(10):
            t = top.snapshot(0.02).table
            seen |= set(t["PID"])
            assert t["PID"].is_unique and churn.pid in set(t["PID"])
        assert len(seen - {churn.pid}) > len(procfs.pids()) - 5  # many short-lived ones came and went
    finally:
        churn.kill()
        churn.wait(timeout=10)


def test_snapshot_skips_a_process_whose_files_vanish_midway(monkeypatch):
    victim = subprocess.Popen(["sleep", "1000"])
    try:
        wait_for(victim.pid, lambda c, s, pr, ni: c == "sleep")
        top.release_files()
        real_open = os.open

        def vanishing(path, flags, *args, **kwargs):
            if str(path) == f"/proc/{victim.pid}/statm":  # stat read fine, then it was gone
                raise FileNotFoundError(2, "No such file or directory", str(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", vanishing)
        pids = set(top.snapshot(0.02).table["PID"])
        assert victim.pid not in pids and os.getpid() in pids
    finally:
        victim.kill()
        victim.wait(timeout=10)


def test_kept_files_of_an_exited_process_are_dropped():
    p = subprocess.Popen(["sleep", "1000"])
    wait_for(p.pid, lambda c, s, pr, ni: c == "sleep")
    assert list(top.snapshot(0.01, [p.pid]).table["PID"]) == [p.pid]
    p.kill()
    p.wait(timeout=10)
    assert top.snapshot(0.01, [p.pid]).table.empty
    assert p.pid not in top._KEPT.get(procfs.PROC_ROOT, {})
    with pytest.raises(ProcessGone):
        top.snapshot_row(p.pid, 0.01)


def test_open_files_stay_bounded_and_are_released():
    for _ in range(5):
        top.snapshot(0.001)
    kept = top._KEPT.get(procfs.PROC_ROOT, {})
    assert len(kept) <= len(procfs.pids()) + 5
    assert len(os.listdir("/proc/self/fd")) <= 3 * len(kept) + 64
    top.release_files()
    assert not top._KEPT and len(os.listdir("/proc/self/fd")) < 64


# --- the refresher: top's refresh loop ---------------------------------------------------------

def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


class Passes:
    """Counts the read passes over /proc: first samples (ticks only) and full passes (rows)."""

    def __init__(self, monkeypatch):
        self.ticks = self.rows = 0
        real_ticks, real_rows = procfs.top_ticks_many, procfs.top_rows_many

        def ticks(*a, **kw):
            self.ticks += 1
            return real_ticks(*a, **kw)

        def rows(*a, **kw):
            self.rows += 1
            return real_rows(*a, **kw)

        monkeypatch.setattr(procfs, "top_ticks_many", ticks)
        monkeypatch.setattr(procfs, "top_rows_many", rows)


def test_refresher_rows_match_snapshot_for_steady_processes(zoo):
    steady = [zoo[n] for n in ("sleeping", "stopped", "zombie", "niced", "nobody", "odd_comm", "long_comm")]
    cols = ["VIRT", "RES", "SHR", "USER", "COMMAND", "PR", "NI", "S", "UID"]
    with top.Refresher(steady, first_interval=0.02) as r:
        first = r.refresh()
        second = r.refresh(0.05)
    snap = top.snapshot(0.02, steady)
    for got in (first, second):
        assert sorted(got.table["PID"]) == sorted(steady)
        assert got.header.tasks_total == len(steady) and got.header.tasks_zombie == 1
        pd.testing.assert_frame_equal(got.table.set_index("PID").loc[steady, cols],
                                      snap.table.set_index("PID").loc[steady, cols])
    assert (second.table["%CPU"] == 0).all()  # they sleep, are stopped or are zombies
    assert second.to_text(summary=False) == snap.to_text(summary=False)


def test_refresher_cpu_of_a_busy_child_covers_the_time_since_the_last_refresh(zoo):
    idle = zoo["sleeping"]
    os.kill(zoo["running"], signal.SIGSTOP)  # the zoo's busy loop would compete for the CPUs
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        with top.Refresher([child.pid, idle]) as r:
            r.refresh(0.2)
            ns0, t0 = _cpu_ns(child.pid), time.monotonic()
            snap = r.refresh(1.0)
            ns1, t1 = _cpu_ns(child.pid), time.monotonic()
        row = snap.table.set_index("PID")
        mine = row.loc[child.pid, "%CPU"]
        scheduler = 100 * (ns1 - ns0) / 1e9 / (t1 - t0)
        assert 1.0 <= snap.header.interval < 1.3, snap.header.interval  # waited 1 s since the last one
        assert abs(mine - scheduler) <= 10, (mine, scheduler)  # ticks are samples: a tick or two off
        if scheduler < 85:
            pytest.skip(f"the busy child only got {scheduler:.0f}% of a CPU; the machine is busy")
        assert mine >= 85, (mine, scheduler)
        assert row.loc[idle, "%CPU"] == 0.0
    finally:
        child.kill()
        child.wait(timeout=10)
        os.kill(zoo["running"], signal.SIGCONT)


def test_refreshing_n_times_reads_proc_n_times_not_2n(monkeypatch):
    passes = Passes(monkeypatch)
    me = [os.getpid()]
    with top.Refresher(me, first_interval=0.01) as r:
        snaps = [r.refresh(0.02) for _ in range(5)]
    assert (passes.ticks, passes.rows) == (1, 5)  # one first sample, then one pass per refresh
    assert r.refreshes == 5 and all(list(s.table["PID"]) == me for s in snaps)
    assert all(s.header.interval >= 0.02 for s in snaps[1:])
    # snapshot() has no previous refresh: two passes every time
    passes.ticks = passes.rows = 0
    for _ in range(5):
        top.snapshot(0.01, me)
    assert (passes.ticks, passes.rows) == (5, 5)


def test_refresh_without_interval_reads_at_once_over_the_time_since_the_last():
    with top.Refresher([os.getpid()], first_interval=0.01) as r:
        r.refresh()
        time.sleep(0.3)
        t0 = time.monotonic()
        snap = r.refresh()
        assert time.monotonic() - t0 < 0.2  # no waiting of its own
        assert snap.header.interval >= 0.3


def test_refresher_close_releases_descriptors():
    top.release_files()
    before = fd_count()
    r = top.Refresher(first_interval=0.01)
    rows = len(r.refresh().table)
    r.refresh(0.01)
    assert fd_count() > before + rows  # kept open between refreshes, about three per process
    r.close()
    assert r.closed and fd_count() <= before
    assert not top._KEPT.get(procfs.PROC_ROOT)
    with pytest.raises(RuntimeError, match="closed"):
        r.refresh()
    r.close()  # twice is fine
    with top.Refresher([os.getpid()], first_interval=0.01) as r2:
        r2.refresh()
        assert fd_count() > before
    assert r2.closed and fd_count() <= before


def test_closing_a_refresher_for_some_pids_keeps_the_other_files():
    top.release_files()
    top.snapshot(0.01)  # the whole system's files, kept for the next snapshot
    me = os.getpid()
    with top.Refresher([me], first_interval=0.01) as r:
        r.refresh()
        kept = top._KEPT[procfs.PROC_ROOT]
        assert me in kept and len(kept) > 5
    kept = top._KEPT[procfs.PROC_ROOT]
    assert me not in kept and len(kept) > 5
    top.release_files()


def test_close_from_another_thread_during_a_refresh():
    top.release_files()
    before = fd_count()
    r = top.Refresher(first_interval=0.5)
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("snap", r.refresh()))
    t.start()
    time.sleep(0.2)  # it took its first sample and waits
    r.close()  # must not wait for it
    assert t.is_alive()
    t.join(10)
    assert len(out["snap"].table) > 5  # the refresh that was running finished
    assert fd_count() <= before and not top._KEPT.get(procfs.PROC_ROOT)  # and kept nothing open


def test_threads_sharing_a_refresher_take_turns():
    results, errors = [], []

    def work():
        try:
            for _ in range(3):
                results.append(r.refresh(0.02))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    with top.Refresher(first_interval=0.02) as r:
        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert not errors and len(results) == 9 and r.refreshes == 9
    assert all(s.table["PID"].is_unique and os.getpid() in set(s.table["PID"]) for s in results)
    assert all(s.header.interval >= 0.02 for s in results)


def test_refresher_leaves_out_a_process_that_exits():
    p = subprocess.Popen(["sleep", "1000"])
    wait_for(p.pid, lambda c, s, pr, ni: c == "sleep")
    with top.Refresher([p.pid, os.getpid()], first_interval=0.01) as r:
        assert set(r.refresh().table["PID"]) == {p.pid, os.getpid()}
        p.kill()
        p.wait(timeout=10)
        assert list(r.refresh().table["PID"]) == [os.getpid()]
        assert p.pid not in top._KEPT.get(procfs.PROC_ROOT, {})


@pytest.mark.parametrize("kwargs, error, match", [
    ({"pids": 1}, TypeError, "list of PIDs"), ({"pids": [0]}, ValueError, "positive"),
    ({"pids": [True]}, TypeError, "int"), ({"pids": ["1"]}, TypeError, "int"),
    ({"pids": []}, ValueError, "at least one PID"),
    ({"first_interval": 0}, ValueError, "first_interval must be > 0"),
    ({"first_interval": "1"}, TypeError, "first_interval must be a number"),
])
def test_refresher_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        top.Refresher(**kwargs)


@pytest.mark.parametrize("interval, error", [(0, ValueError), (-1, ValueError), ("1", TypeError), (True, TypeError)])
def test_refresh_rejects_a_bad_interval(interval, error):
    with top.Refresher([os.getpid()]) as r, pytest.raises(error, match="interval"):
        r.refresh(interval)
    assert r.refreshes == 0


def test_top_model_refreshes_through_one_refresher_and_releases_it(monkeypatch):
    from kernel_helpers.widgets.models import TopModel

    top.release_files()
    before = fd_count()
    passes = Passes(monkeypatch)
    tm = TopModel(interval=0.1, lang="en")
    for _ in range(3):
        view = tm.refresh(0.05)
    assert (passes.ticks, passes.rows) == (1, 3)
    assert view.total == len(tm.snapshot.table) > 5 and tm.snapshot.header.interval >= 0.05
    tm.release()
    assert fd_count() <= before
    tm.refresh(0.05)  # after a pause it starts afresh: a first sample again
    assert (passes.ticks, passes.rows) == (2, 4)
    tm.release()
    assert fd_count() <= before


# --- the data and the text --------------------------------------------------------------------

def test_table_keeps_numbers_numeric():
    t = top.snapshot(0.01).table
    assert list(t.columns) == list(top.COLUMNS + top.HELPER_COLUMNS)
    for col in ("PID", "PR", "NI", "VIRT", "RES", "SHR", "UID", "TICKS"):
        assert pd.api.types.is_integer_dtype(t[col]), col
    for col in ("%CPU", "%MEM", "TIME+"):
        assert pd.api.types.is_float_dtype(t[col]), col
    for col in ("USER", "S", "COMMAND"):
        assert t[col].dtype == object, col  # not pandas 3's inferred str dtype
    empty = top._table([])  # e.g. top -p with every process gone: same columns and dtypes
    assert empty.empty and list(empty.columns) == list(t.columns) and empty.dtypes.equals(t.dtypes)
    assert isinstance(t.index, pd.RangeIndex) and list(t.index) == list(range(len(t)))
    me = t.set_index("PID").loc[os.getpid()]
    assert me["TIME+"] == pytest.approx(me["TICKS"] / procfs.CLK_TCK)
    assert me["%MEM"] == pytest.approx(100 * me["RES"] / procfs.meminfo()["MemTotal"])
    assert list(t["%CPU"]) == sorted(t["%CPU"], reverse=True)


def test_the_fast_table_constructor_and_the_public_one_build_the_same_frame(monkeypatch):
    """_table uses pandas' private _from_arrays when it is there; without it (a future pandas) the
    public constructor must give the very same frame: values, dtypes, columns and index."""
    rows = []
    real = top._table
    monkeypatch.setattr(top, "_table", lambda r: (rows.append(r), real(r))[1])
    fast = top.snapshot(0.01).table
    monkeypatch.setattr(top, "_table", real)
    monkeypatch.delattr(pd.DataFrame, "_from_arrays", raising=False)
    public = top._table(rows[-1])
    pd.testing.assert_frame_equal(fast, public, check_dtype=True, check_index_type=True, check_column_type=True)
    assert len(public) > 10 and public["COMMAND"].dtype == object
    empty = top._table([])
    assert empty.empty and empty.dtypes.equals(fast.dtypes)


def test_snapshot_row_shows_one_process():
    row = top.snapshot_row(os.getpid(), 0.01)
    assert row["PID"] == os.getpid() and row["COMMAND"] == procfs.stat(os.getpid()).comm


@pytest.mark.parametrize("kwargs, error", [
    ({"interval": 0}, ValueError), ({"interval": -1}, ValueError), ({"interval": "1"}, TypeError),
    ({"pids": 1}, TypeError), ({"pids": [0]}, ValueError), ({"pids": [True]}, TypeError),
    ({"pids": ["1"]}, TypeError),
])
def test_snapshot_rejects_bad_arguments(kwargs, error):
    with pytest.raises(error):
        top.snapshot(**kwargs)


def test_sort_table_sorts_like_top_o():
    t = top.snapshot(0.01).table
    by_res = top.sort_table(t, "RES")
    assert list(by_res["RES"]) == sorted(t["RES"], reverse=True)
    zeros = by_res[by_res["RES"] == 0]["PID"].tolist()
    assert zeros == sorted(zeros)  # ties by PID, low to high
    assert list(top.sort_table(t, "-PID")["PID"]) == sorted(t["PID"])
    assert list(top.sort_table(t, "time+")["TICKS"]) == sorted(t["TICKS"], reverse=True)
    with pytest.raises(ValueError, match="RES"):
        top.sort_table(t, "BOGUS")


@pytest.mark.parametrize("seconds, text", [
    (59, "0 min"), (5 * 60 + 59, "5 min"), (3600 + 23 * 60, " 1:23"), (13 * 3600, "13:00"),
    (86400 + 60, "1 day, 1 min"), (3 * 86400 + 2 * 3600 + 3 * 60, "3 days,  2:03"),
])
def test_uptime_text_follows_procps(seconds, text):
    assert top._uptime_text(seconds) == text


@pytest.mark.parametrize("kib, width, text", [
    (9999999, 7, "9999999"), (10000000, 7, "9765.6m"), (10240 * 1024, 7, "10.0g"),
    (12 * 1024 * 1024 + 30000, 7, "12.0g"),
    (999999, 6, "999999"), (1000000, 6, "976.6m"), (0, 6, "0"),
])
def test_memory_cells_scale_like_top(kib, width, text):
    assert top._scale_mem(kib, width) == text


@pytest.mark.parametrize("seconds, text", [
    (1.23, "0:01.23"), (59 * 60 + 59.99, "59:59.99"), (360 * 60, "360:00.00"), (361 * 60 + 5, "6,01"),
    (96 * 3600, "96,00"), (100 * 3600, "4d+4h"), (20 * 86400, "2w+6d"), (200 * 86400, "28w+4d"),
])
def test_time_cells_scale_like_top(seconds, text):
    assert top._scale_tics(round(seconds * procfs.CLK_TCK), 9) == text


# --- the command line -----------------------------------------------------------------------

def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kernel_helpers.top", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_cli_prints_top_layout_for_a_pid(zoo):
    pid = zoo["sleeping"]
    r = cli("-n", "1", "-d", "0.1", "-p", str(pid))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("top - ") and lines[1].startswith("Tasks:   1 total,")
    assert lines[2].startswith("%Cpu(s):") and lines[3].startswith("MiB Mem :")
    assert list(rows_of(r.stdout)) == [pid]
    assert rows_of(r.stdout)[pid][IDX["COMMAND"]] == "sleep"


def test_cli_takes_pids_repeated_and_comma_separated(zoo):
    a, b, c = zoo["sleeping"], zoo["niced"], zoo["stopped"]
    r = cli("-n", "2", "-d", "0.1", "-p", f"{a},{b}", "-p", str(c), "-o", "PID")
    assert r.returncode == 0, r.stderr
    frames = r.stdout.split("\n\ntop - ")
    assert len(frames) == 2
    assert list(rows_of(frames[1])) == sorted([a, b, c], reverse=True)


def test_cli_sorts_by_res(zoo):
    r = cli("-n", "1", "-d", "0.1", "-o", "RES", "-w", "512")
    assert r.returncode == 0, r.stderr
    res = [kib(cells[IDX["RES"]]) for cells in rows_of(r.stdout).values()]
    assert len(res) > 5 and res == sorted(res, reverse=True)


@pytest.mark.parametrize("args, hint", [
    (["-p", "-5"], "1 or more"), (["-p", "notanumber"], "ps -e"), (["-p", "1,,x"], "not a whole number"),
    (["-o", "BOGUS"], "%MEM"), (["-d", "-1"], "seconds"), (["-d", "soon"], "seconds"),
    (["-n", "0"], "1 or more"), (["-w", "20"], "80 to 512"), (["-x"], "unrecognized"),
])
def test_cli_rejects_bad_input_with_a_hint(args, hint, capsys):
    with pytest.raises(SystemExit) as info:
        top.main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert hint in err and "usage:" in err


def test_cli_says_when_a_pid_does_not_exist(capsys):
    gone = subprocess.Popen(["true"])
    gone.wait(timeout=10)
    if os.path.exists(f"/proc/{gone.pid}"):
        pytest.skip("the PID was reused already")
    with pytest.raises(SystemExit) as info:
        top.main(["-p", str(gone.pid)])
    assert info.value.code == 2
    assert f"no process with PID {gone.pid}" in capsys.readouterr().err


def test_cli_exit_status_is_2_for_bad_field():
    r = cli("-o", "BOGUS")
    assert r.returncode == 2 and "unknown field 'BOGUS'" in r.stderr and not r.stdout


# --- side by side with top --------------------------------------------------------------------

@needs_top
def test_compare_with_top_agrees_on_the_zoo(zoo):
    pids = list(zoo.values())
    for _ in range(3):
        result = top.compare_with_top(pids)
        if result[("same", "")].all():
            break
    assert list(result.index) == pids
    assert result[("same", "")].all(), result
    assert {f for f, _ in result.columns} == set(FIELDS) | {"same", "moved"}
    assert (result[("VIRT", "ours")] == result[("VIRT", "top")]).all()
    assert "PID USER" in result.attrs["top_output"]


@needs_top
def test_parse_top_batch_reads_top_output():
    text = run_top([os.getpid()])
    summary, rows = top.parse_top_batch(text)
    assert list(rows.columns) == list(top.COLUMNS) and list(rows["PID"]) == [str(os.getpid())]
    assert summary["tasks"]["total"] == 1 and set(summary["cpu"]) == set(top.CPU_ORDER)
    assert summary["mem"]["total"] == _summary(text)["total"]
    assert summary["swap"]["avail Mem"] == _summary(text)["avail"]


def test_compare_with_top_explains_a_missing_top(monkeypatch):
    monkeypatch.setattr(top.shutil, "which", lambda name: None)
    with pytest.raises(top.TopNotFound, match="apt-get install procps"):
        top.compare_with_top([os.getpid()])
