"""malloc_test's timing keys: ``ns`` and ``minflt`` on step lines, and the ``rewrite`` command.

These check what the keys mean, never how fast the machine is: a first touch faults every
page in (257 minor faults per 1 MiB step, ns > 0), a rewrite of the same memory faults none.
The figures themselves are measured by ``make bench`` (bench/run.py).
"""

from __future__ import annotations

import re

import psutil
import pytest

from kernel_helpers import programs
from kernel_helpers.safety import MiB

EVENT_TIMEOUT = 20.0  # generous: other suites may load the 2 cores at the same time
STEP_LINE = re.compile(r"^step n=\d+ requested=\d+ touched=\d+ ok=1 ns=\d+ minflt=\d+$")


@pytest.fixture
def malloc(built):
    """malloc(**kwargs) -> a started malloc_test (waiting for go); every one is stopped after."""
    started: list[programs.Program] = []

    def _start(**kwargs) -> programs.Program:
        prog = programs.malloc_test(**{"interval_ms": 10, "wait_go": True, **kwargs})
        started.append(prog)
        return prog.start(timeout=EVENT_TIMEOUT)

    try:
        yield _start
    finally:
        for prog in started:
            prog.stop()


def run_to_cap(prog: programs.Program) -> list[dict]:
    prog.send("go")
    prog.wait_for("cap", timeout=EVENT_TIMEOUT)
    return [e for e in prog.events if e["event"] == "step"]


def test_touching_steps_report_write_time_and_257_faults_per_mib(malloc):
    steps = run_to_cap(malloc(touch="all", max_mib=16))
    assert len(steps) == 16
    assert all(s["ok"] == 1 and s["ns"] > 0 for s in steps), steps
    # 256 pages of memset plus the page glibc's chunk header lands on
    assert all(250 <= s["minflt"] <= 300 for s in steps), [s["minflt"] for s in steps]


def test_untouched_steps_report_no_write_time_and_about_one_fault(malloc):
    steps = run_to_cap(malloc(touch="none", max_mib=16))
    assert all(s["ok"] == 1 and s["ns"] == 0 for s in steps), steps
    faults = sorted(s["minflt"] for s in steps)
    assert faults[len(faults) // 2] <= 2, faults  # the header page; the first step may add some text
    assert faults[-1] < 50, faults


def test_step_line_keeps_its_old_keys_first(malloc):
    prog = malloc(touch="all", max_mib=2)
    prog.send("go")
    prog.wait_for("cap", timeout=EVENT_TIMEOUT)
    prog.send("stop")
    prog.wait_for("exit", timeout=EVENT_TIMEOUT)
    lines = [" ".join(f"{k}={v}" for k, v in e.items() if k not in ("event", "t"))
             for e in prog.events if e["event"] == "step"]
    assert lines and all(STEP_LINE.match(f"step {line}") for line in lines), lines


def test_rewrite_writes_every_touched_byte_without_faults(malloc):
    prog = malloc(touch="all", max_mib=16)
    steps = run_to_cap(prog)
    first_touch_faults = sum(s["minflt"] for s in steps)
    prog.send("rewrite")
    rw = prog.wait_for("rewrite", timeout=EVENT_TIMEOUT)
    assert rw["bytes"] == steps[-1]["touched"] == 16 * MiB
    assert rw["ns"] > 0
    assert rw["minflt"] <= 2, rw  # resident pages: about none (a stray one from the printf path)
    assert first_touch_faults >= 250 * 16


def test_rewrite_counts_what_each_step_wrote(malloc):
    prog = malloc(touch=50, max_mib=8)
    steps = run_to_cap(prog)
    prog.send("touch off")  # later steps write nothing: rewrite still writes the first half of each block
    prog.wait_for("touch", timeout=EVENT_TIMEOUT, mode="none")
    prog.send("rewrite")
    rw = prog.wait_for("rewrite", timeout=EVENT_TIMEOUT)
    assert rw["bytes"] == steps[-1]["touched"] == 8 * (MiB // 2)
    assert rw["minflt"] <= 2, rw


def test_rewrite_before_any_touch_writes_nothing(malloc):
    prog = malloc(touch="none", max_mib=4)
    prog.send("rewrite")  # before go: no block yet
    assert prog.wait_for("rewrite", timeout=EVENT_TIMEOUT)["bytes"] == 0
    run_to_cap(prog)
    prog.send("rewrite")
    rw = prog.wait_for("rewrite", timeout=EVENT_TIMEOUT)
    assert rw["bytes"] == 0 and rw["minflt"] <= 2, rw


def test_rewrite_with_an_argument_is_an_unknown_command(malloc):
    prog = malloc(max_mib=4)
    prog.send("rewrite all")
    assert prog.wait_for("error", timeout=EVENT_TIMEOUT)["msg"] == "unknown_command"
    assert prog.running


def test_failed_step_reports_zero_write_time(malloc):
    prog = malloc(touch="all", max_mib=64)
    limit = psutil.Process(prog.pid).memory_info().vms + 8 * MiB  # room for about 7 steps
    psutil.Process(prog.pid).rlimit(psutil.RLIMIT_AS, (limit, limit))
    prog.send("go")
    fail = prog.wait_for("step", timeout=EVENT_TIMEOUT, ok=0)
    assert fail["errno"] == "ENOMEM" and fail["ns"] == 0 and isinstance(fail["minflt"], int)
