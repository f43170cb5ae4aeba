"""metrics: the numbers agree with psutil and with /proc, and bad input is refused clearly."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from kernel_helpers import metrics, procfs


def _wait_for_exec(pid: int, comm: str) -> None:
    """Popen returns after fork; wait until the child has exec'd and settled."""
    for _ in range(500):
        st = procfs.stat(pid)
        if st.comm == comm and st.state == "S":
            m0 = procfs.statm(pid)
            time.sleep(0.05)
            if procfs.statm(pid) == m0:  # the loader is done mapping libraries
                return
        time.sleep(0.01)
    raise AssertionError(f"pid {pid} never became {comm}")


def test_virt_res_shr_equal_psutil_for_a_quiet_process():
    p = subprocess.Popen(["sleep", "30"])
    try:
        _wait_for_exec(p.pid, "sleep")
        s = metrics.process_sample(p.pid)
        assert (s.virt, s.res, s.shr) == metrics.psutil_memory_info(p.pid)
        mi = psutil.Process(p.pid).memory_info()
        assert (s.virt, s.res, s.shr) == (mi.vms, mi.rss, mi.shared)
    finally:
        p.kill()
        p.wait()


def test_res_is_the_sum_of_the_rss_split_and_shr_a_part_of_it():
    s = metrics.process_sample(os.getpid())
    # statm and status are read a moment apart; this process is quiet during it
    assert abs(s.res - (s.rss_anon + s.rss_file + s.rss_shmem)) <= 64 * 1024
    assert s.shr <= s.res
    assert abs(s.shr - (s.rss_file + s.rss_shmem)) <= 64 * 1024


def test_uss_and_pss_are_read_for_our_own_process():
    s = metrics.process_sample(os.getpid(), full=True)
    assert s.uss is not None and s.pss is not None
    assert 0 < s.uss <= s.pss <= s.res + 64 * 1024


def test_kernel_thread_has_zero_memory_and_no_smaps():
    kthreads = [p for p in procfs.pids() if procfs.stat(p).is_kernel_thread]
    if not kthreads:
        pytest.skip("no kernel threads visible (a PID namespace): nothing to check")
    s = metrics.process_sample(kthreads[0])
    assert (s.virt, s.res, s.shr, s.uss, s.pss) == (0, 0, 0, None, None)


def test_pr_is_20_plus_nice_for_a_niced_process():
    p = subprocess.Popen(["nice", "-n", "7", "sleep", "30"])
    try:
        _wait_for_exec(p.pid, "sleep")  # nice execs sleep
        s = metrics.process_sample(p.pid)
        assert (s.ni, s.pr) == (7, 27)
    finally:
        p.kill()
        p.wait()


def test_minor_faults_count_first_touches():
    code = ("import mmap,sys; m=mmap.mmap(-1, 64<<20); sys.stdout.write('ok\\n'); sys.stdout.flush(); "
            "import ctypes; b=(ctypes.c_char*(64<<20)).from_buffer(m); "
            "sys.stdin.readline(); ctypes.memset(b, 1, 64<<20); sys.stdout.write('done\\n'); sys.stdout.flush(); "
            "sys.stdin.readline()")
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ok\n"
        before = metrics.process_sample(p.pid)
        p.stdin.write("\n")
        p.stdin.flush()
        assert p.stdout.readline() == "done\n"
        after = metrics.process_sample(p.pid)
        faults = after.minflt - before.minflt
        assert 16384 * 0.95 <= faults <= 16384 * 1.1  # 64 MiB / 4 KiB pages (plus a few)
        assert after.res - before.res >= 63 * 1024 * 1024
    finally:
        p.kill()
        p.wait()


def test_system_sample_matches_meminfo_and_top_used_definition():
    s = metrics.system_sample()
    mi = procfs.meminfo()
    assert s.mem_total == mi["MemTotal"]
    assert s.mem_used == s.mem_total - s.mem_available
    assert s.buff_cache == s.buffers + s.cached + s.sreclaimable
    assert s.overcommit_memory in (0, 1, 2)
    assert s.commit_limit > 0 and s.committed_as > 0


@pytest.mark.serial  # a busy loop's %CPU: other tests on the same cores would lower it
def test_cpu_percent_of_a_busy_loop_is_near_100():
    p = subprocess.Popen(["sh", "-c", "while :; do :; done"])
    try:
        assert metrics.cpu_percent(p.pid, interval=1.0) > 50  # one core, shared with others
    finally:
        p.kill()
        p.wait()


def test_a_vanished_pid_raises_process_gone_with_advice():
    p = subprocess.Popen(["true"])
    p.wait()
    with pytest.raises(metrics.ProcessGone, match="Start the program again"):
        metrics.process_sample(p.pid)


@pytest.mark.parametrize("bad", [-1, 0, "12", 1.5, True, None])
def test_bad_pids_are_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        metrics.process_sample(bad)


def test_bad_cpu_interval_is_refused():
    with pytest.raises(ValueError, match="interval"):
        metrics.cpu_percent(os.getpid(), interval=0)


def test_metric_table_has_both_languages_for_every_metric():
    for name, m in metrics.METRICS.items():
        assert m.en and m.ko and m.column and m.unit, name
        assert any("\uac00" <= ch <= "\ud7a3" for ch in m.ko), f"{name}: Korean text missing"
    assert metrics.describe("res", "ko").startswith("RES: ")
    with pytest.raises(KeyError, match="unknown metric"):
        metrics.describe("bogus")
    with pytest.raises(ValueError):
        metrics.describe("res", "fr")


# --- the readers a sampler keeps open ------------------------------------------------------------

@pytest.mark.parametrize("full", [False, True])
def test_process_reader_gives_what_process_sample_gives(full):
    p = subprocess.Popen(["sleep", "30"])
    try:
        _wait_for_exec(p.pid, "sleep")
        with metrics.ProcessReader(p.pid, full=full) as r:
            got = r.read()
            again = r.read()  # a kept-open file read a second time is generated afresh
        want = metrics.process_sample(p.pid, full=full).as_dict()
        assert got == again == {k: want[k] for k in got}
        assert (got["uss"] is not None) == full
    finally:
        p.kill()
        p.wait()


def test_process_reader_sees_memory_change_between_reads():
    code = ("import mmap,sys; m=mmap.mmap(-1, 32<<20); print('ok', flush=True); sys.stdin.readline(); "
            "m.write(b'x' * (32<<20)); print('done', flush=True); sys.stdin.readline()")
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ok\n"
        with metrics.ProcessReader(p.pid) as r:
            before = r.read()
            p.stdin.write("\n")
            p.stdin.flush()
            assert p.stdout.readline() == "done\n"
            after = r.read()
        assert after["res"] - before["res"] >= 31 << 20
        assert after["rss_shmem"] - before["rss_shmem"] >= 31 << 20  # an anonymous shared mapping
        assert after["minflt"] - before["minflt"] >= 8000
    finally:
        p.kill()
        p.wait()


def test_process_reader_of_a_kernel_thread_has_zero_memory_and_no_smaps():
    kthreads = [p for p in procfs.pids() if procfs.stat(p).is_kernel_thread]
    if not kthreads:
        pytest.skip("no kernel threads visible (a PID namespace): nothing to check")
    with metrics.ProcessReader(kthreads[0], full=True) as r:
        got = r.read()
    assert (got["virt"], got["res"], got["shr"], got["uss"], got["pss"]) == (0, 0, 0, None, None)


def test_process_reader_says_gone_once_the_process_is_reaped():
    p = subprocess.Popen(["sleep", "30"])
    r = metrics.ProcessReader(p.pid)
    try:
        assert r.read()["state"] in ("S", "R")
        p.kill()
        p.wait()
        with pytest.raises(metrics.ProcessGone, match="Start the program again"):
            r.read()
    finally:
        r.close()
    with pytest.raises(metrics.ProcessGone):
        metrics.ProcessReader(p.pid)


def test_process_reader_never_reads_a_new_process_that_took_the_pid():
    """The files stay bound to the task they were opened for: force PID reuse with ns_last_pid."""
    last_pid = "/proc/sys/kernel/ns_last_pid"
    if os.geteuid() != 0 or not os.access(last_pid, os.W_OK):
        pytest.skip("forcing a PID to be reused needs root (writes /proc/sys/kernel/ns_last_pid)")
    for _ in range(20):  # other processes may fork in between: try again
        old = subprocess.Popen(["sleep", "30"])
        r = metrics.ProcessReader(old.pid)
        try:
            r.read()
            old.kill()
            old.wait()
            with open(last_pid, "w") as f:
                f.write(str(old.pid - 1))
            new = subprocess.Popen(["sleep", "30"])
            try:
                if new.pid != old.pid:
                    continue
                _wait_for_exec(new.pid, "sleep")
                assert metrics.process_sample(new.pid).state == "S"  # the PID is alive again ...
                with pytest.raises(metrics.ProcessGone):
                    r.read()  # ... but the reader was the old process's, and that one is gone
                return
            finally:
                new.kill()
                new.wait()
        finally:
            r.close()
    pytest.skip("could not get the same PID back in 20 tries (a busy machine)")


def test_commit_reader_gives_what_system_sample_gives():
    with metrics.CommitReader() as c:
        for _ in range(5):  # meminfo moves; read both close together until they agree
            got, s = c.read(), metrics.system_sample()
            if got == {"committed_as": s.committed_as, "mem_available": s.mem_available}:
                return
    pytest.fail(f"CommitReader {got} never matched system_sample ({s.committed_as}, {s.mem_available})")
