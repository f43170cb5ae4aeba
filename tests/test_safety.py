"""safety: the demo budget takes the tightest constraint, and the watchdog fires below its floor."""

from __future__ import annotations

import threading

import pytest

from kernel_helpers import procfs, safety
from kernel_helpers.safety import GiB, MiB


def test_budget_is_the_fixed_cap_on_a_roomy_machine(monkeypatch):
    monkeypatch.delenv("MEM_LIMIT", raising=False)
    monkeypatch.delenv("TOPLAB_MAX_DEMO_MIB", raising=False)
    avail = procfs.meminfo()["MemAvailable"]
    b = safety.budget()
    assert b.bytes == min(1 * GiB, avail // 2, *b.parts.values())
    assert b.parts["fixed cap"] == 1 * GiB


def test_budget_follows_the_env_cap(monkeypatch):
    monkeypatch.setenv("TOPLAB_MAX_DEMO_MIB", "64")
    b = safety.budget()
    assert b.bytes == 64 * MiB and "fixed cap" in b.reason


def test_budget_follows_jupyterhub_mem_limit(monkeypatch):
    used = safety._user_rss()
    monkeypatch.setenv("MEM_LIMIT", str(used + 800 * MiB))
    b = safety.budget()
    assert "MEM_LIMIT" in b.reason
    # half of what this user has left under the limit; other processes of the user move a little
    assert 350 * MiB <= b.bytes <= 450 * MiB


@pytest.mark.serial  # sums the RSS of every process of this user: tests beside it would move it
def test_mem_limit_headroom_counts_all_of_this_users_processes():
    # the lab server and other kernels live under the same limit as this kernel
    import os
    import subprocess
    import sys

    own = procfs.statm(os.getpid())[1]
    before = safety._user_rss()
    child = subprocess.Popen([sys.executable, "-c", "import sys; b = bytearray(64 << 20); sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        for _ in range(100):
            if procfs.statm(child.pid)[1] > 64 * MiB:
                break
            threading.Event().wait(0.05)
        assert safety._user_rss() >= before + 60 * MiB
        assert before >= own
    finally:
        child.kill()
        child.wait()


def test_budget_follows_a_cgroup_v1_limit(tmp_path, monkeypatch):
    proc = tmp_path / "proc" / "self"
    proc.mkdir(parents=True)
    (proc / "cgroup").write_text("4:memory:/user/alice\n0::/\n")
    mem = tmp_path / "cg" / "memory" / "user" / "alice"
    mem.mkdir(parents=True)
    (mem / "memory.limit_in_bytes").write_text(str(512 * MiB))
    (mem / "memory.usage_in_bytes").write_text(str(112 * MiB))
    (tmp_path / "cg" / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    monkeypatch.setattr(procfs, "PROC_ROOT", str(tmp_path / "proc"))
    monkeypatch.setattr(safety, "CGROUP_ROOT", str(tmp_path / "cg"))
    assert safety.cgroup_memory() == (512 * MiB, 112 * MiB)


def test_budget_follows_the_tightest_cgroup_v2_ancestor(tmp_path, monkeypatch):
    proc = tmp_path / "proc" / "self"
    proc.mkdir(parents=True)
    (proc / "cgroup").write_text("0::/hub/user/bob\n")
    cg = tmp_path / "cg"
    (cg / "hub" / "user" / "bob").mkdir(parents=True)
    (cg / "hub" / "user" / "bob" / "memory.max").write_text("max\n")
    (cg / "hub" / "memory.max").write_text(f"{300 * MiB}\n")
    (cg / "hub" / "memory.current").write_text(f"{100 * MiB}\n")
    monkeypatch.setattr(procfs, "PROC_ROOT", str(tmp_path / "proc"))
    monkeypatch.setattr(safety, "CGROUP_ROOT", str(cg))
    assert safety.cgroup_memory() == (300 * MiB, 100 * MiB)
    # the budget is then half of the 200 MiB headroom (MemAvailable comes from the fake /proc too)
    (tmp_path / "proc" / "meminfo").write_text("MemTotal: 1000000 kB\nMemAvailable: 900000 kB\n")
    assert safety.budget().bytes == 100 * MiB


def test_check_request_refuses_over_budget_and_says_why(monkeypatch):
    monkeypatch.setenv("TOPLAB_MAX_DEMO_MIB", "100")
    assert safety.check_request(50 * MiB).bytes == 100 * MiB
    with pytest.raises(safety.BudgetExceeded, match=r"over the demo budget of 100 MiB .*fixed cap"):
        safety.check_request(101 * MiB, "a test")


@pytest.mark.parametrize("bad,exc", [(-1, ValueError), (1.5, TypeError), ("10", TypeError), (True, TypeError)])
def test_check_request_refuses_bad_sizes(bad, exc):
    with pytest.raises(exc):
        safety.check_request(bad)


@pytest.mark.parametrize("raw", ["abc", "0", "-5"])
def test_a_bad_env_cap_is_a_clear_error(monkeypatch, raw):
    monkeypatch.setenv("TOPLAB_MAX_DEMO_MIB", raw)
    with pytest.raises(ValueError, match="TOPLAB_MAX_DEMO_MIB"):
        safety.budget()


def test_watchdog_fires_once_below_the_floor():
    readings = iter([900, 800, 700, 50, 40, 30] + [10] * 100)
    fired = []
    done = threading.Event()

    def on_low(msg):
        fired.append(msg)
        done.set()

    w = safety.Watchdog(on_low, interval=0.01, floor=100, read_available=lambda: next(readings)).start()
    assert done.wait(2)
    w.stop()
    assert len(fired) == 1 and "below the safety floor" in fired[0]


def test_watchdog_stays_quiet_above_the_floor():
    fired = []
    w = safety.Watchdog(fired.append, interval=0.01, floor=100, read_available=lambda: 1000).start()
    threading.Event().wait(0.2)
    w.stop()
    assert fired == [] and w.fired is None


def test_fmt_bytes_uses_binary_units():
    assert safety.fmt_bytes(1028 * 1024) == "1.0 MiB"
    assert safety.fmt_bytes(512 * 1024) == "512 KiB"
    assert safety.fmt_bytes(3 * GiB // 2) == "1.5 GiB"
    assert safety.fmt_bytes(12) == "12 B"
