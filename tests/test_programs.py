"""programs: arguments checked before anything starts, commands reach the child, nothing is left behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from kernel_helpers import programs
from kernel_helpers.programs import ProgramError
from kernel_helpers.safety import BudgetExceeded, MiB


def _gone(pid: int, within: float = 2.0) -> bool:
    """True once ``pid`` has exited: reaped, or a zombie handed to init (init reaps it in its own time).

    A zombie whose parent is still this test process is a leak, and counts as not gone.
    """
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            p = psutil.Process(pid)
            if p.status() == psutil.STATUS_ZOMBIE and p.ppid() != os.getpid():
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


def test_parse_event_reads_words_and_numbers():
    ev = programs.parse_event("step n=3 requested=3145728 touched=0 ok=1 errno=ENOMEM\n")
    assert ev == {"event": "step", "n": 3, "requested": 3145728, "touched": 0, "ok": 1, "errno": "ENOMEM"}
    assert programs.parse_event("") == {"event": ""}


@pytest.mark.parametrize("kwargs,exc", [
    ({"step_mib": -1}, ValueError), ({"step_mib": 0}, ValueError), ({"step_mib": 2.5}, TypeError),
    ({"interval_ms": 0}, ValueError), ({"touch": "some"}, ValueError), ({"touch": 101}, ValueError),
    ({"touch": True}, TypeError), ({"max_mib": 10**9}, ValueError), ({"max_mib": "5"}, TypeError),
])
def test_malloc_test_refuses_bad_arguments_before_starting(kwargs, exc, built):
    with pytest.raises(exc):
        programs.malloc_test(**kwargs)


def _help_range(help_text: str, option: str) -> tuple[int, int, str]:
    """(lo, hi, default) of an option in a C program's --help: '--step-mib N  ..., 1..1024 (default 1)'."""
    block = re.search(rf"^\s*{option} N\b(.*?)(?=^\s*--|\Z)", help_text, re.M | re.S)
    assert block, help_text
    line = " ".join(block.group(1).split())
    m = re.search(r"(\d+)\.\.(\d+) \(default (\w+)\)", line)
    assert m, line
    return int(m.group(1)), int(m.group(2)), m.group(3)


def test_malloc_test_bounds_and_default_cap_are_the_same_numbers_in_c_and_python(built):
    out = subprocess.run([str(programs.binary("malloc_test")), "--help"], capture_output=True, text=True,
                         timeout=10, stdin=subprocess.DEVNULL)
    text = out.stdout + out.stderr
    assert _help_range(text, "--step-mib")[:2] == (1, programs.STEP_MIB_MAX)
    assert _help_range(text, "--interval-ms")[:2] == (programs.INTERVAL_MS_MIN, programs.INTERVAL_MS_MAX)
    assert _help_range(text, "--max-mib") == (1, programs.MAX_MIB_MAX, str(programs.MAX_MIB_DEFAULT))
    for name, lo, hi in (("step_mib", 1, programs.STEP_MIB_MAX),
                         ("interval_ms", programs.INTERVAL_MS_MIN, programs.INTERVAL_MS_MAX),
                         ("max_mib", 1, programs.MAX_MIB_MAX)):
        kw = {"max_mib": programs.MAX_MIB_MAX} if name == "step_mib" else {}
        programs.malloc_test(**{**kw, name: lo})
        programs.malloc_test(**{**kw, name: hi})
        for bad in (lo - 1, hi + 1):
            with pytest.raises(ValueError, match=f"{name} must be between {lo} and {hi}"):
                programs.malloc_test(**{**kw, name: bad})


def test_malloc_test_run_without_a_cap_stops_at_the_python_default(built):
    p = subprocess.Popen([str(programs.binary("malloc_test")), "--interval-ms", "100000"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        ready = programs.parse_event(p.stdout.readline())
    finally:
        p.stdin.close()  # end of stdin: the program exits
        p.wait(timeout=5)
    assert ready["event"] == "ready" and ready["max"] == programs.MAX_MIB_DEFAULT * MiB


def test_a_demo_over_the_budget_is_refused_with_the_reason(monkeypatch, built):
    monkeypatch.setenv("TOPLAB_MAX_DEMO_MIB", "16")
    prog = programs.malloc_test(max_mib=32)
    with pytest.raises(BudgetExceeded, match=r"32 MiB, over the demo budget of 16 MiB"):
        prog.start()
    assert prog.pid is None  # nothing was started


def test_big_alloc_checks_only_what_it_touches(monkeypatch, built):
    monkeypatch.setenv("TOPLAB_MAX_DEMO_MIB", "16")
    assert programs.big_alloc(1 << 40).touches_up_to == 0  # a reservation alone costs no RAM
    with pytest.raises(BudgetExceeded):
        programs.big_alloc(1 << 30, touch_bytes=64 * MiB).start()
    for bad in (-1, 0, 1 << 63, 2.0):
        with pytest.raises((ValueError, TypeError)):
            programs.big_alloc(bad)
    with pytest.raises(ValueError, match="cannot exceed"):
        programs.big_alloc(10, touch_bytes=20)


def test_shared_mem_refuses_bad_arguments(built):
    for kwargs in ({"mib": 0}, {"mib": 2048}, {"mib": 8, "children": 17}, {"mib": 8, "private_mib": -1}):
        with pytest.raises(ValueError):
            programs.shared_mem(**kwargs)


def test_a_missing_binary_says_how_to_build(monkeypatch, tmp_path):
    monkeypatch.setattr(programs, "BIN_DIR", tmp_path)
    with pytest.raises(ProgramError, match="make build"):
        programs.malloc_test().start()
    with pytest.raises(ValueError, match="unknown program"):
        programs.binary("rm")


def test_start_send_and_stop_round_trip(built):
    with programs.malloc_test(interval_ms=20, max_mib=4, wait_go=True) as p:
        assert p.running and p.last("ready")["pid"] == p.pid
        time.sleep(0.2)
        assert p.last("step") is None  # waiting for go
        p.send("go")
        ev = p.wait_for("step", n=2)
        assert ev["requested"] == 2 * MiB and ev["ok"] == 1
        p.send("touch on")
        assert p.wait_for("touch")["mode"] == "all"
    assert p.returncode == 0 and p.exit_description() == "exited with status 0"
    assert p.last("exit")["reason"] == "stop"
    assert _gone(p.pid)
    with pytest.raises(ProgramError, match="not running"):
        p.send("pause")


def test_wait_for_reports_a_program_that_died(built):
    p = programs.malloc_test(interval_ms=1000, max_mib=4).start()
    os.kill(p.pid, signal.SIGKILL)
    with pytest.raises(ProgramError, match="killed by SIGKILL"):
        p.wait_for("cap", timeout=5)
    p.stop()
    assert _gone(p.pid)


def test_stop_all_ends_every_running_program(built):
    ps = [programs.malloc_test(interval_ms=1000, max_mib=2).start() for _ in range(3)]
    assert {p.pid for p in ps} <= {p.pid for p in programs.running()}
    assert programs.stop_all() >= 3
    assert all(_gone(p.pid) for p in ps)
    assert programs.running() == []


def test_a_program_cannot_be_started_twice(built):
    with programs.malloc_test(max_mib=2) as p, pytest.raises(ProgramError, match="already started"):
        p.start()


def _child_script(body: str) -> list[str]:
    code = textwrap.dedent(f"""
        import sys, threading, time
        sys.path.insert(0, {str(programs.REPO)!r})
        from kernel_helpers import programs
        {body}
    """)
    return [sys.executable, "-c", code]


def test_programs_are_stopped_at_exit_when_the_notebook_forgot(built):
    # the atexit hook (not only the parent-death signal) stops them politely, so they say so;
    # our reporter is registered before the module's hook, so it runs after it (LIFO)
    code = textwrap.dedent(f"""
        import atexit, sys
        atexit.register(lambda: print(p.exit_description(), p.last("exit"), flush=True))
        sys.path.insert(0, {str(programs.REPO)!r})
        from kernel_helpers import programs
        p = programs.malloc_test(max_mib=2).start()
        print(p.pid, flush=True)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    pid, rest = out.stdout.split(maxsplit=1)
    assert "exited with status 0" in rest and "'reason': 'stop'" in rest, out
    assert _gone(int(pid))


def test_programs_die_when_the_kernel_is_killed_even_if_started_from_a_thread(built):
    # PR_SET_PDEATHSIG follows the forking *thread*; the launcher thread keeps children alive
    # exactly as long as the process, not as long as the callback thread that asked.
    body = """
        box = []
        t = threading.Thread(target=lambda: box.append(programs.malloc_test(max_mib=2).start()))
        t.start(); t.join()
        print(box[0].pid, flush=True)
        time.sleep(60)
    """
    kernel = subprocess.Popen(_child_script(body), stdout=subprocess.PIPE, text=True)
    try:
        pid = int(kernel.stdout.readline())
        time.sleep(0.3)
        assert psutil.pid_exists(pid), "the program died when the thread that started it ended"
        kernel.kill()
        kernel.wait()
        assert _gone(pid, within=1.0)
    finally:
        kernel.kill()
        kernel.wait()
