"""sampler: a steady daemon thread, a bounded buffer, exits recorded, errors turned into status."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from polling import wait_until

from kernel_helpers import metrics, programs
from kernel_helpers.safety import MiB
from kernel_helpers.sampler import COLUMNS, Sampler

_wait = wait_until


def test_samples_arrive_at_about_the_rate_asked(built):
    with programs.malloc_test(interval_ms=1000, max_mib=2) as p:
        s = Sampler(p, hz=20).start()
        time.sleep(1.0)
        s.stop()
    assert 12 <= s.ticks <= 22  # 20 Hz for one second, on a possibly busy machine
    df = s.to_dataframe()
    assert list(df.columns) == list(COLUMNS)
    assert (df["pid"] == p.pid).all() and df["t"].is_monotonic_increasing


def test_the_buffer_is_bounded():
    s = Sampler(os.getpid(), maxlen=50, system=False)
    for _ in range(500):
        s.sample_once()
    assert len(s.to_dataframe()) == 50 and s.ticks == 500


def test_start_and_stop_are_idempotent():
    s = Sampler(os.getpid(), hz=50)
    s.stop()
    assert s.status == "not started"
    s.start()
    thread = s._thread
    s.start()
    assert s._thread is thread and s.alive
    s.stop()
    s.stop()
    assert not s.alive and s.status == "stopped"


def test_res_follows_the_live_memset_toggle(built):
    with programs.malloc_test(interval_ms=30, max_mib=40, wait_go=True) as p, Sampler(p, hz=50) as s:
        p.send("go")
        p.wait_for("step", n=10)
        res_untouched = s.rows()[-1]["res"]
        p.send("touch on")
        p.wait_for("touch")
        ev = p.wait_for("step", timeout=10, n=p.last("step")["n"] + 10)
        time.sleep(0.1)
        last = s.rows()[-1]
    assert ev["touched"] >= 10 * MiB
    assert last["res"] - res_untouched >= 9.5 * MiB
    assert last["virt"] >= 20 * 1028 * 1024
    assert last["committed_as"] > 0


def test_a_normal_exit_is_recorded_and_the_thread_ends(built):
    p = programs.malloc_test(interval_ms=1000, max_mib=2).start()
    s = Sampler(p, hz=20).start()
    p.send("stop")
    assert _wait(lambda: not s.alive)
    assert s.exits == {p.pid: "exited with status 0"}
    assert s.status.startswith("finished") and "exited with status 0" in s.status
    p.stop()


def test_a_sigkill_is_recorded_as_such(built):
    # what an OOM kill looks like to the reader: the signal, not a crash of the notebook
    p = programs.malloc_test(interval_ms=1000, max_mib=2).start()
    s = Sampler(p, hz=20).start()
    os.kill(p.pid, signal.SIGKILL)
    assert _wait(lambda: not s.alive)
    assert s.exits[p.pid] == "killed by SIGKILL"
    p.stop()


def test_a_plain_pid_that_exits_is_noticed():
    child = subprocess.Popen(["sleep", "0.3"])
    s = Sampler(child.pid, hz=20).start()
    assert _wait(lambda: not s.alive)
    child.wait()
    assert child.pid in s.exits and s.status.startswith("finished")


def test_an_error_in_the_thread_becomes_status(monkeypatch):
    class Broken(metrics.CommitReader):
        def read(self):
            raise OSError("proc is gone")

    monkeypatch.setattr(metrics, "CommitReader", Broken)
    s = Sampler(os.getpid(), hz=50).start()
    assert _wait(lambda: not s.alive)
    assert s.status == "error: OSError: proc is gone"


def test_an_error_in_the_callback_is_kept_and_sampling_goes_on():
    def bad_callback(rows):
        raise ValueError("chart broke")

    s = Sampler(os.getpid(), hz=50, on_sample=bad_callback).start()
    assert _wait(lambda: s.ticks >= 5)
    s.stop()
    assert s.status == "stopped" and s.errors[0] == "on_sample: ValueError: chart broke"


@pytest.mark.parametrize("kwargs", [
    {"targets": []}, {"targets": -3}, {"targets": "12"}, {"targets": os.getpid(), "hz": 0},
    {"targets": os.getpid(), "hz": 1000}, {"targets": os.getpid(), "maxlen": 0},
])
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(ValueError):
        Sampler(**kwargs)


def test_an_unstarted_program_is_refused(built):
    with pytest.raises(ValueError, match="start"):
        Sampler(programs.malloc_test())


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_the_files_kept_open_are_closed_on_stop_and_when_the_program_exits(built):
    fds_before = _open_fds()
    with programs.malloc_test(interval_ms=1000, max_mib=2) as p:
        fds = _open_fds()  # the program's pipes included
        s = Sampler(p, hz=50, full=True).start()
        assert _wait(lambda: s.ticks >= 3)
        assert s.open_files == 5  # stat, statm, status, smaps_rollup, and meminfo for the system row
        assert _open_fds() == fds + 5
        s.stop()
        assert s.open_files == 0 and _open_fds() == fds
        s.start()  # sampling again opens them again
        assert _wait(lambda: s.ticks >= 6) and s.open_files == 5
    # the program has exited: the sampler notices, ends, and lets every file go
    assert _wait(lambda: not s.alive) and p.pid in s.exits
    assert s.open_files == 0 and _open_fds() == fds_before


def test_many_samplers_started_and_stopped_leak_no_descriptors():
    fds = _open_fds()
    for _ in range(50):
        s = Sampler(os.getpid(), hz=100).start()
        assert _wait(lambda s=s: s.ticks >= 1)
        s.stop()
    assert _open_fds() == fds


# --- read_now: a reading tied to a moment, through the sampler's own reader ----------------------

def test_read_now_reads_through_the_files_the_samples_use(built):
    with programs.malloc_test(interval_ms=1000, max_mib=4, wait_go=True) as p:
        s = Sampler(p, hz=50, full=True).start()
        assert _wait(lambda: s.ticks >= 2)
        fds = _open_fds()
        row = s.read_now(p.pid)
        assert _open_fds() == fds and s.open_files == 5  # no second reader
        assert set(COLUMNS) <= set(row) and row["pid"] == p.pid
        sample = s.rows()[-1]  # the program waits for 'go': nothing moves between the two
        for key in ("virt", "res", "shr", "rss_exact", "minflt"):
            assert row[key] == sample[key], key
        assert row["rss_exact"] is not None and row["committed_as"] > 0
        s.stop()
        assert s.read_now(p.pid) is None and s.open_files == 0  # stopped: nothing is opened again


def test_read_now_before_start_opens_the_reader_the_thread_then_uses(built):
    with programs.malloc_test(interval_ms=1000, max_mib=4, wait_go=True) as p:
        s = Sampler(p, hz=50, full=True)
        assert s.read_now(p.pid)["virt"] > 0 and s.open_files == 5
        s.start()
        assert _wait(lambda: s.ticks >= 2) and s.open_files == 5
        s.stop()
        assert s.open_files == 0


def test_read_now_of_an_ended_or_unknown_process():
    child = subprocess.Popen(["sleep", "30"])
    try:
        s = Sampler(child.pid, hz=50, system=False)
        with pytest.raises(ValueError, match="not sampled here"):
            s.read_now(os.getpid())
        assert s.read_now(child.pid)["state"] in ("S", "R")
        child.kill()
        child.wait()
        assert s.read_now(child.pid) is None  # gone: the thread, not read_now, records how it ended
        assert child.pid not in s.exits
    finally:
        child.kill()
        child.wait()
        s.stop()


def test_read_now_from_another_thread_while_sampling_fast(built):
    with programs.malloc_test(interval_ms=10, max_mib=64) as p:
        s = Sampler(p, hz=100, full=True).start()
        got = [s.read_now(p.pid) for _ in range(300)]
        s.stop()
    assert list(s.errors) == [] and s.status == "stopped"  # no read was broken by the other thread
    assert all(r is None or r["virt"] > 0 for r in got)
    assert sum(r is not None for r in got) >= 100
