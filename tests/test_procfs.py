"""The /proc readers on fake trees: odd names, missing fields, vanishing and unreadable files."""

from __future__ import annotations

import errno
import os
import pwd
import struct
import types

import pytest
from fakeproc import MEMINFO_KIB, PF_KTHREAD, FakeProc, stat_line

from kernel_helpers import _overcommit_guard, metrics, overcommit, procfs, top
from kernel_helpers.procfs import AccessDenied, ProcessGone


@pytest.fixture
def fake(tmp_path):
    """A fake /proc that every reader uses for the duration of one test."""
    fp = FakeProc(tmp_path / "proc")
    old = procfs.set_proc_root(str(fp.root))
    yield fp
    procfs.set_proc_root(old)
    top.release_files()


def _sleep_hook(monkeypatch, action):
    """Run ``action`` where top.snapshot sleeps, i.e. between its two samples."""
    clock = types.SimpleNamespace(sleep=lambda _s: action(), monotonic=top.time.monotonic)
    monkeypatch.setattr(top, "time", clock)


# --- one process -------------------------------------------------------------------------

@pytest.mark.parametrize("comm", ["(a) b)", "a) S 1 2 3", "two  spaces", ")", "(("])
def test_stat_readers_keep_comm_with_spaces_and_parentheses(fake, comm):
    fake.add_process(42, comm, "R", utime=7, stime=5, priority=30, nice=10, starttime=999)
    st = procfs.stat(42)
    assert (st.comm, st.state, st.utime, st.stime, st.priority, st.nice) == (comm, "R", 7, 5, 30, 10)
    assert procfs.top_stat(42) == (comm, "R", 30, 10, 12, 999)
    [row] = procfs.top_rows_many([42])
    assert row[:7] == (42, comm, "R", 30, 10, 12, 999)
    with metrics.ProcessReader(42) as r:
        assert r.read()["state"] == "R"


def test_kernel_thread_has_zero_memory_and_no_vm_lines(fake):
    fake.add_kernel_thread(2, "kthreadd", "S")
    assert procfs.stat(2).is_kernel_thread
    assert procfs.statm(2) == (0, 0, 0)
    assert procfs.top_statm(2) == (0, 0, 0)
    assert "VmRSS" not in procfs.status(2)
    sample = metrics.process_sample(2, full=False)
    assert (sample.virt, sample.res, sample.shr, sample.rss_anon) == (0, 0, 0, None)
    with metrics.ProcessReader(2, full=True) as r:  # no smaps_rollup opened for a kernel thread
        got = r.read()
    assert (got["virt"], got["res"], got["shr"], got["rss_anon"], got["pss"]) == (0, 0, 0, None, None)


def test_statm_is_converted_from_pages_to_bytes(fake):
    fake.add_process(7, statm=(1000, 300, 120, 1, 0, 50, 0))
    page = procfs.PAGE_SIZE
    assert procfs.top_statm(7) == procfs.statm(7) == (1000 * page, 300 * page, 120 * page)


def test_short_statm_reads_as_zeros(fake):
    fake.add_process(8)
    (fake.root / "8" / "statm").write_text("5 6\n")
    assert procfs.statm(8) == (0, 0, 0)
    assert procfs.top_statm(8) == (0, 0, 0)


def test_status_without_rss_lines_gives_none_in_samples(fake):
    fake.add_process(9, status="Name:\tweird: name\nState:\tS (sleeping)\nUid:\t1000\t1001\t1001\t1001\n")
    st = procfs.status(9)
    assert (st["Uid"], st["EUid"]) == (1000, 1001)
    assert "Name" not in st and "VmRSS" not in st
    sample = metrics.process_sample(9, full=False)
    assert (sample.rss_anon, sample.rss_file, sample.rss_shmem, sample.swap) == (None, None, None, None)
    with metrics.ProcessReader(9) as r:
        got = r.read()
    assert (got["rss_anon"], got["rss_file"], got["rss_shmem"], got["swap"]) == (None, None, None, None)


def test_owner_uid_is_the_directory_owner(fake):
    fake.add_process(50, uid=65534)
    fake.add_process(51, uid=0)
    assert procfs.owner_uid(50) == 65534
    assert procfs.owner_uid(51) == 0


def test_missing_process_is_process_gone_for_every_reader(fake):
    for reader in (procfs.stat, procfs.statm, procfs.status, procfs.top_stat, procfs.top_statm,
                   procfs.owner_uid):
        with pytest.raises(ProcessGone) as info:
            reader(4242)
        assert info.value.pid == 4242
    assert procfs.top_rows_many([4242]) == []
    assert procfs.top_ticks_many([4242]) == {}
    with pytest.raises(ProcessGone) as info:
        metrics.ProcessReader(4242)
    assert info.value.pid == 4242


def test_garbled_stat_line_is_process_gone(fake):
    fake.add_process(11)
    (fake.root / "11" / "stat").write_text("11 no-parentheses S 1\n")
    with pytest.raises(ProcessGone):
        procfs.stat(11)
    with pytest.raises(ProcessGone):
        procfs.top_stat(11)
    assert procfs.top_rows_many([11]) == []
    with pytest.raises(ProcessGone), metrics.ProcessReader(11) as r:
        r.read()


# --- the one /proc/PID/stat parser ------------------------------------------------------

_FIELDS = dict(ppid=3, flags=0x00400040, minflt=1010, majflt=1212, utime=1414, stime=1515,
               priority=1818, nice=-19, num_threads=2020, starttime=2222)  # all different


@pytest.mark.parametrize("comm", ["a) b) c)", "x (y) z", "a) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19",
                                  ") ", "", "kworker/u8:3-events_unbound", "é 名前", "x" * 63])
def test_parse_stat_keeps_comm_and_splits_at_the_last_close_paren(comm):
    f = procfs.parse_stat(stat_line(42, comm, "S", **_FIELDS).encode(), 42)
    assert f[procfs.COMM] == comm.encode() and f[procfs.STATE] == b"S"
    got = {name: int(f[getattr(procfs, name.upper())]) for name in _FIELDS}
    assert got == _FIELDS


def test_stat_converts_every_field_it_names(fake):
    fake.add_process(42, "a) b", "R", **_FIELDS)
    st = procfs.stat(42)
    assert (st.pid, st.comm, st.state) == (42, "a) b", "R")
    assert {name: getattr(st, name) for name in _FIELDS} == _FIELDS


@pytest.mark.parametrize(("flags", "kthread"), [(0x00208040, True), (PF_KTHREAD, True), (0x00400100, False), (0, False)])
def test_kernel_thread_flag_is_read_from_field_9(fake, flags, kthread):
    fake.add_process(7, "kthreadd" if kthread else "bash", flags=flags)
    f = procfs.parse_stat((fake.root / "7" / "stat").read_bytes(), 7)
    assert bool(int(f[procfs.FLAGS]) & procfs.PF_KTHREAD) is kthread
    assert procfs.stat(7).is_kernel_thread is kthread
    with metrics.ProcessReader(7) as r:
        assert r._kernel_thread() is kthread


def test_zombie_line_parses_and_every_reader_shows_state_z(fake, monkeypatch):
    # a zombie keeps its stat line (times, start time) but has no memory left: statm is all zeros
    fake.add_process(46, "defunct (x)", "Z", statm=(0, 0, 0, 0, 0, 0, 0), utime=5, stime=2, starttime=720)
    (fake.root / "46" / "smaps_rollup").write_text("Rss:  100 kB\nPss:  50 kB\n")  # must go unread
    assert procfs.stat(46).state == "Z"
    assert procfs.top_stat(46) == ("defunct (x)", "Z", 20, 0, 7, 720)
    [row] = procfs.top_rows_many([46])
    assert row[1:3] == ("defunct (x)", "Z") and row[7:10] == (0, 0, 0)
    assert procfs.top_ticks_many([46]) == {46: (720, 7)}
    with metrics.ProcessReader(46, full=True) as r:
        got = r.read()
    assert (got["state"], got["res"], got["pss"]) == ("Z", 0, None)
    monkeypatch.setattr(_overcommit_guard, "REAL_PROC", str(fake.root))
    assert _overcommit_guard._starttime(46) is None  # a zombie counts as dead for the guard
    fake.add_process(47, "alive", "S", starttime=730)
    assert _overcommit_guard._starttime(47) == 730


def test_every_truncated_stat_line_is_process_gone():
    line = stat_line(42, "a) b) (c", "S", starttime=2222).encode()
    end = line.index(b" 2222 ") + len(b" 2222")  # the end of field 22, the last field callers use
    for cut in range(end):
        with pytest.raises(ProcessGone) as info:
            procfs.parse_stat(line[:cut], 42)
        assert info.value.pid == 42
    assert procfs.parse_stat(line[: end + 1], 42)[procfs.STARTTIME] == b"2222"


def test_truncated_stat_line_is_process_gone_for_every_reader(fake, monkeypatch):
    fake.add_process(12, "cut short", "S")
    with metrics.ProcessReader(12) as r:
        (fake.root / "12" / "stat").write_text("12 (cut short) S 1 12 12 0 -1 0 5")  # same inode
        with pytest.raises(ProcessGone):
            r.read()
    for reader in (procfs.stat, procfs.top_stat):
        with pytest.raises(ProcessGone):
            reader(12)
    assert procfs.top_rows_many([12]) == [] and procfs.top_ticks_many([12]) == {}
    monkeypatch.setattr(_overcommit_guard, "REAL_PROC", str(fake.root))
    assert _overcommit_guard._starttime(12) is None


def test_parse_stat_reads_this_process_as_the_kernel_writes_it():
    pid = os.getpid()
    with open(f"/proc/{pid}/stat", "rb") as fh:
        f = procfs.parse_stat(fh.read(), pid)
    with open(f"/proc/{pid}/comm", "rb") as fh:
        assert f[procfs.COMM] == fh.read().rstrip(b"\n")
    assert (f[procfs.STATE], int(f[procfs.PPID])) == (b"R", os.getppid())
    assert int(f[procfs.STARTTIME]) == overcommit._own_starttime() == _overcommit_guard._starttime(pid)
    assert not procfs.stat(pid).is_kernel_thread


def _deny(monkeypatch, suffix: str):
    """Make os.open fail with EACCES for paths ending in ``suffix``, as /proc does for files
    of other users' processes (hidepid, ptrace-protected files)."""
    real_open = os.open

    def fake_open(path, flags, *args, **kwargs):
        if str(path).endswith(suffix):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)


def test_unreadable_file_is_access_denied(fake, monkeypatch):
    fake.add_process(60)
    _deny(monkeypatch, "/60/statm")
    with pytest.raises(AccessDenied) as info:
        procfs.top_statm(60)
    assert info.value.pid == 60 and "statm" in str(info.value)
    assert procfs.top_rows_many([60]) == []
    with pytest.raises(AccessDenied):
        metrics.ProcessReader(60)


def test_a_denied_smaps_rollup_leaves_uss_and_pss_unknown(fake, monkeypatch):
    fake.add_process(61)
    (fake.root / "61" / "smaps_rollup").write_text("Rss:  100 kB\nPss:  50 kB\n")
    with metrics.ProcessReader(61, full=True) as r:
        assert r.read()["pss"] == 50 * 1024
    _deny(monkeypatch, "/61/smaps_rollup")
    with metrics.ProcessReader(61, full=True) as r:
        got = r.read()
    assert (got["pss"], got["uss"]) == (None, None) and got["res"] > 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_real_file_of_another_users_process_is_access_denied():
    """Honest EACCES: as 'nobody', PID 1's smaps_rollup (ptrace-protected) cannot be read."""
    if not os.path.exists("/proc/1/smaps_rollup"):
        pytest.skip("no smaps_rollup on this kernel")
    rfd, wfd = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                procfs.smaps_rollup(1)
                result = b"read"
            except AccessDenied:
                result = b"AccessDenied"
            except Exception as e:
                result = type(e).__name__.encode()
            os.write(wfd, result)
        finally:
            os._exit(0)
    os.close(wfd)
    result = os.read(rfd, 100)
    os.close(rfd)
    os.waitpid(child, 0)
    assert result == b"AccessDenied"


# --- the system --------------------------------------------------------------------------

def test_meminfo_without_memavailable_falls_back_to_memfree(fake):
    kib = {k: v for k, v in MEMINFO_KIB.items() if k != "MemAvailable"}
    fake.set_meminfo(kib)
    assert "MemAvailable" not in procfs.meminfo()
    assert metrics.system_sample().mem_available == kib["MemFree"] * 1024
    with metrics.CommitReader() as c:
        assert c.read()["mem_available"] == kib["MemFree"] * 1024
    h = top.snapshot(0.001).header
    assert h.mem_avail == h.mem_free == kib["MemFree"] * 1024
    assert h.mem_used == (kib["MemTotal"] - kib["MemFree"]) * 1024


def test_kept_open_meminfo_is_read_afresh_each_time(fake):
    kib = dict(MEMINFO_KIB)
    fake.set_meminfo(kib)
    with metrics.CommitReader() as c:
        first = c.read()
        fake.set_meminfo(dict(kib, Committed_AS=kib["Committed_AS"] + 1000, MemAvailable=123))
        assert c.read() == {"committed_as": first["committed_as"] + 1000 * 1024, "mem_available": 123 * 1024}


@pytest.mark.parametrize(("data", "keys", "want"), [
    (b"MemTotal:  1000 kB\nMemFree:  500 kB\n", [b"MemTotal", b"MemFree"], [1024000, 512000]),  # first line
    (b"Pss_Anon:  7 kB\nPss:  9 kB\n", [b"Pss", b"Pss_Anon"], [9216, 7168]),  # a key that starts another
    (b"A:  1 kB\nHugePages_Total:       3", [b"HugePages_Total"], [3]),  # no unit, no final newline
    (b"A:  1 kB\nB:\nC: x kB\n", [b"B", b"C", b"D"], [None, None, None]),  # empty, garbled, absent
    (b"XRssAnon:  5 kB\nRssAnon:  6 kB\n", [b"RssAnon"], [6144]),  # only at the start of a line
])
def test_pick_kib_finds_only_whole_keys(data, keys, want):
    assert procfs.pick_kib(data, keys) == want


def test_meminfo_keeps_counts_without_unit(fake):
    fake.write("meminfo", "MemTotal:  1000 kB\nMemFree:  500 kB\nHugePages_Total:       3\nbroken line\n")
    mi = procfs.meminfo()
    assert mi == {"MemTotal": 1024000, "MemFree": 512000, "HugePages_Total": 3}


def test_cpu_line_with_fewer_fields_pads_with_zeros(fake):
    fake.write("stat", "cpu  10 20 30 40\nintr 0\n")
    assert procfs.cpu_ticks() == {"us": 10, "ni": 20, "sy": 30, "id": 40,
                                  "wa": 0, "hi": 0, "si": 0, "st": 0}


def test_cpu_percent_comes_from_the_delta_of_the_cpu_line(fake, monkeypatch):
    fake.write("stat", "cpu  100 0 100 800\n")  # an old kernel: four fields
    _sleep_hook(monkeypatch, lambda: fake.write("stat", "cpu  150 0 150 900\n"))
    cpu = top.snapshot(0.5).header.cpu
    assert cpu == {"us": 25.0, "sy": 25.0, "ni": 0.0, "id": 50.0,
                   "wa": 0.0, "hi": 0.0, "si": 0.0, "st": 0.0}


def test_no_cpu_line_is_an_error(fake):
    fake.write("stat", "intr 0\n")
    with pytest.raises(OSError, match="cpu"):
        procfs.cpu_ticks()


def test_pid_max_is_read(fake):
    fake.write("sys/kernel/pid_max", "4194304\n")
    assert procfs.pid_max() == 4194304


def _utmp_record(ut_type: int, user: bytes) -> bytes:
    rec = bytearray(procfs._UTMP_RECORD)
    struct.pack_into("=h", rec, 0, ut_type)
    rec[44 : 44 + len(user)] = user
    return bytes(rec)


def test_users_count_counts_user_process_records(tmp_path, monkeypatch):
    utmp = tmp_path / "utmp"
    utmp.write_bytes(_utmp_record(2, b"reboot") + _utmp_record(7, b"alice") + _utmp_record(7, b"")
                     + _utmp_record(8, b"bob") + _utmp_record(7, b"carol") + b"\0" * 10)
    monkeypatch.setattr(procfs, "UTMP_PATH", str(utmp))
    assert procfs.users_count() == 2  # BOOT_TIME, empty name, DEAD_PROCESS and a torn tail skipped
    monkeypatch.setattr(procfs, "UTMP_PATH", str(tmp_path / "missing"))
    assert procfs.users_count() == 0


# --- snapshots on a fake tree --------------------------------------------------------------

def _tree(fake):
    fake.add_process(1, "init", utime=300, stime=200, starttime=1)
    fake.add_kernel_thread(2, "kthreadd", "S")
    fake.add_process(42, "(a) b)", "R", uid=65534, utime=100, starttime=500)
    fake.add_process(43, "sleeper", "S", uid=54321, starttime=600)  # a UID with no passwd entry
    fake.add_process(44, "stopped", "T", starttime=700)
    fake.add_process(45, "traced", "t", starttime=710)
    fake.add_process(46, "zombie", "Z", statm=(0, 0, 0, 0, 0, 0, 0), starttime=720)
    fake.add_process(47, "disk", "D", starttime=730)


def test_snapshot_of_fake_tree_counts_states_like_top(fake):
    _tree(fake)
    snap = top.snapshot(0.001)
    h = snap.header
    assert set(snap.table["PID"]) == {1, 2, 42, 43, 44, 45, 46, 47}
    assert (h.tasks_total, h.tasks_running, h.tasks_sleeping, h.tasks_stopped, h.tasks_zombie) == (8, 1, 4, 2, 1)
    assert h.states == {"D": 1, "R": 1, "S": 3, "T": 1, "Z": 1, "t": 1}
    row = snap.table.set_index("PID").loc[42]
    assert row["COMMAND"] == "(a) b)" and row["USER"] == pwd.getpwuid(65534).pw_name
    assert snap.table.set_index("PID").loc[43, "USER"] == "54321"
    assert snap.table.set_index("PID").loc[1, "TIME+"] == pytest.approx(500 / procfs.CLK_TCK)


def test_snapshot_skips_a_process_that_exits_between_samples(fake, monkeypatch):
    _tree(fake)
    _sleep_hook(monkeypatch, lambda: fake.remove(43))
    snap = top.snapshot(0.5)
    assert 43 not in set(snap.table["PID"]) and 42 in set(snap.table["PID"])
    assert snap.header.tasks_total == 7


def test_snapshot_skips_listed_pids_whose_files_are_gone_or_denied(fake, monkeypatch):
    _tree(fake)
    real_pids = procfs.pids
    monkeypatch.setattr(procfs, "pids", lambda: real_pids() + [999])  # listed, then gone
    _deny(monkeypatch, "/44/statm")
    snap = top.snapshot(0.001)
    assert set(snap.table["PID"]) == {1, 2, 42, 43, 45, 46, 47}


def test_snapshot_counts_a_new_process_from_zero(fake, monkeypatch):
    fake.add_process(1, "init", utime=10, starttime=1)
    hz = procfs.CLK_TCK

    def between():
        fake.add_process(70, "newborn", utime=hz // 10, starttime=5000)  # born in the interval
        fake.add_process(1, "init", utime=10 + hz // 4, starttime=1)

    _sleep_hook(monkeypatch, between)
    t = top.snapshot(0.5).table.set_index("PID")
    elapsed_ratio = t.loc[70, "%CPU"] / t.loc[1, "%CPU"]
    assert elapsed_ratio == pytest.approx((hz // 10) / (hz // 4))
    assert list(t.index) == [1, 70]  # sorted by %CPU, high to low


def test_fake_tree_renders_in_top_layout(fake):
    _tree(fake)
    text = top.snapshot(0.001).to_text(width=80)
    lines = text.splitlines()
    mib = {k: v / 1024 for k, v in MEMINFO_KIB.items()}
    used = mib["MemTotal"] - mib["MemAvailable"]
    cache = mib["Buffers"] + mib["Cached"] + mib["SReclaimable"]
    assert lines[1] == "Tasks:   8 total,   1 running,   4 sleeping,   2 stopped,   1 zombie"
    assert lines[3] == (f"MiB Mem : {mib['MemTotal']:8.1f} total, {mib['MemFree']:8.1f} free, "
                        f"{used:8.1f} used, {cache:8.1f} buff/cache     ")
    assert lines[4].startswith(f"MiB Swap: {mib['SwapTotal']:8.1f} total,")
    assert lines[4].endswith(f"used. {mib['MemAvailable']:8.1f} avail Mem ")
    assert lines[6] == "  PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND"
    assert all(len(ln) <= 80 for ln in lines[6:])
    kib = procfs.PAGE_SIZE // 1024  # the fake statm is in pages: (2000, 300, 200, ...)
    user = pwd.getpwuid(65534).pw_name
    mem = 300 * kib * 100 / MEMINFO_KIB["MemTotal"]
    assert (f"   42 {user[:8]:<8}  20   0 {2000 * kib:7d} {300 * kib:6d} {200 * kib:6d} R "
            f"  0.0 {mem:5.1f}   0:01.00 (a) b)") in lines
    assert next(ln for ln in lines if ln.startswith("   46 ")).split()[4:8] == ["0", "0", "0", "Z"]


def test_pid_column_follows_pid_max(fake):
    fake.add_process(1234567, "big")
    fake.write("sys/kernel/pid_max", "4194304\n")
    lines = top.snapshot(0.001).to_text(summary=False).splitlines()
    assert lines[0].startswith("    PID USER")
    assert lines[1].startswith("1234567 root")
    (fake.root / "sys" / "kernel" / "pid_max").unlink()
    assert top.snapshot(0.001).to_text(summary=False).startswith("  PID USER")


def test_cpu_ticks_of_chosen_cpus_sum_their_own_lines():
    import os

    every = sorted(os.sched_getaffinity(0))
    one = procfs.cpu_ticks(every[:1])
    total, all_cpus = procfs.cpu_ticks(), procfs.cpu_ticks(range(os.cpu_count() or 1))
    assert set(one) == set(total) and sum(one.values()) > 0
    assert sum(one.values()) < sum(all_cpus.values()) or len(every) == 1
    # the per-CPU lines add up to the aggregate line (read a moment apart: within a second of ticks)
    assert abs(sum(all_cpus.values()) - sum(total.values())) <= os.sysconf("SC_CLK_TCK") * (os.cpu_count() or 1)
