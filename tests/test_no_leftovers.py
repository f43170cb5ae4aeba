"""Whatever the reader does to a kernel in the middle of a demo, nothing of the demo is left behind.

Real Jupyter kernels (jupyter_client's KernelManager, as JupyterLab uses it) run a demo cell; then
the test interrupts the kernel (in a blocking cell, or while it is idle and the demo runs in the
background, as widgets do), restarts it, or kills it with SIGKILL.  Within 2 seconds no C program
the demo printed (nor any child of one) may still run, and vm.overcommit_* must be as before.
Running a demo cell ten times leaves one demo running, not ten; a sampler left running for hours
keeps a bounded buffer and a flat memory footprint.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

jupyter_client = pytest.importorskip("jupyter_client")

REPO = Path(__file__).resolve().parent.parent
BIN_DIR = REPO / "c_programs" / "bin"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
VM = Path("/proc/sys/vm")
CLEAN_WITHIN = 2.0  # seconds after the interrupt, restart or kill returned
DEMO_THREADS = ("toplab-sampler", "toplab-pump", "toplab-panel-redraw", "toplab-top")

PRELUDE = "import json, threading, time\nfrom kernel_helpers import overcommit, programs\n"
TARGET = "target = 1 if overcommit.settings().mode != 1 else 0  # a real change that refuses nothing\n"

# Each demo: the cell that starts it and prints "DEMO {json}" (pids, and for overcommit the guard's
# PID and the mode now), and what keeps the cell busy when the action needs a blocking cell.
DEMOS = {
    "memory_panel": (
        "from kernel_helpers.widgets import memory_panel\n"
        "panel = memory_panel(interval_ms=100, max_mib=64)\n"
        "panel.start()\n"
        "print('DEMO', json.dumps({'pids': [panel.program.pid]}), flush=True)\n",
        "panel.wait_steps(10**6, timeout=3600)\n"),
    "shared_view": (
        "from kernel_helpers.widgets import shared_view\n"
        "sv = shared_view(mib=8, children=2)\n"
        "sv.start()\n"
        "print('DEMO', json.dumps({'pids': [pid for _, pid in sv.model.pids]}), flush=True)\n",
        "time.sleep(3600)\n"),
    # the panel's overcommit control: temporarily() entered, held while the demo runs in the background
    "overcommit_panel": (
        "from kernel_helpers.widgets import memory_panel\n" + TARGET +
        "panel = memory_panel(interval_ms=100, max_mib=64)\n"
        "panel.start()\n"
        "st = panel.set_overcommit(target)\n"
        "assert st.real and st.applied, st.text\n"
        "print('DEMO', json.dumps({'pids': [panel.program.pid], 'mode': overcommit.settings().mode,\n"
        "      'guard': panel.model.overcommit._temp.guard_pid}), flush=True)\n",
        "panel.wait_steps(10**6, timeout=3600)\n"),
    # a `with overcommit.temporarily()` block around a running program: blocking by nature
    "overcommit_with": (
        TARGET +
        "with overcommit.temporarily(target) as t, programs.malloc_test(interval_ms=100, max_mib=64) as prog:\n"
        "    print('DEMO', json.dumps({'pids': [prog.pid], 'mode': overcommit.settings().mode,\n"
        "          'guard': t.guard_pid}), flush=True)\n"
        "    time.sleep(3600)\n",
        None),
}
ACTIONS = ("interrupt", "restart", "sigkill")
CASES = [(d, a) for d in DEMOS for a in ACTIONS]


def _vm() -> dict[str, str]:
    return {n: (VM / n).read_text().strip() for n in ("overcommit_memory", "overcommit_ratio", "overcommit_kbytes")}


def _need_overcommit_root() -> None:
    if os.geteuid() == 0 and os.access(VM / "overcommit_memory", os.W_OK):
        return
    msg = "a real vm.overcommit_memory change needs root with a writable /proc/sys/vm"
    if IN_CI:
        pytest.fail(msg + "; CI runs as root, so this must run there")
    pytest.skip(msg)


def _running(pid: int, create_time: float | None = None) -> bool:
    """Still running: exists, is not a zombie, and (when given) is the same process as before."""
    try:
        p = psutil.Process(pid)
        if create_time is not None and abs(p.create_time() - create_time) > 0.05:
            return False  # the PID was reused by another process
        return p.status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.Error:
        return False


# --- a kernel, as JupyterLab runs one ---------------------------------------------------------

@contextlib.contextmanager
def _kernel():
    from jupyter_client import KernelManager

    env = dict(os.environ, TOPLAB_FAST="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=env, cwd=str(REPO / "notebooks" / "en"))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        yield km, kc
    finally:
        kc.stop_channels()
        with contextlib.suppress(Exception):
            km.shutdown_kernel(now=True)


def _messages(kc, msg_id: str, timeout: float):
    """The iopub messages of one execution, until the kernel goes idle (or ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no end of execution within {timeout} s")
        try:
            msg = kc.get_iopub_msg(timeout=left)
        except queue.Empty:
            continue
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        yield msg
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return


def _run(kc, code: str, timeout: float = 90) -> str:
    """Execute ``code``; its stdout, or a failure with the traceback."""
    out = []
    for msg in _messages(kc, kc.execute(code), timeout):
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            pytest.fail("cell failed:\n" + "\n".join(msg["content"]["traceback"])[-3000:])
    return "".join(out)


def _demo_info(text: str) -> dict:
    lines = [ln for ln in text.splitlines() if ln.startswith("DEMO ")]
    assert lines, f"the demo printed no DEMO line: {text[-2000:]}"
    return json.loads(lines[-1][5:])


def _start_blocking(kc, code: str, timeout: float = 90) -> tuple[str, dict]:
    """Send a cell that blocks; return its msg_id once it has printed its DEMO line."""
    msg_id = kc.execute(code)
    text = ""
    msgs = _messages(kc, msg_id, timeout)
    for msg in msgs:
        if msg["msg_type"] == "stream":
            text += msg["content"]["text"]
            if "DEMO " in text and text.endswith("\n"):
                return msg_id, _demo_info(text)
        elif msg["msg_type"] == "error":
            pytest.fail("demo cell failed:\n" + "\n".join(msg["content"]["traceback"])[-3000:])
    pytest.fail(f"the demo cell ended before printing DEMO: {text[-2000:]}")


def _tree(pids: list[int]) -> dict[int, float]:
    """The demo's programs and all their children, with their start times (to tell PID reuse)."""
    procs: dict[int, float] = {}
    for pid in pids:
        p = psutil.Process(pid)
        assert p.exe().startswith(str(BIN_DIR)), f"{pid} is not one of the C programs: {p.cmdline()}"
        for q in [p, *p.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                procs[q.pid] = q.create_time()
    return procs


def _left_after(t0: float, procs: dict[int, float], vm_before: dict[str, str] | None,
                guard: int | None) -> tuple[float, list[str]]:
    """Wait up to CLEAN_WITHIN seconds after ``t0``; return (when it was clean, what is still left).

    ``vm_before``: the settings to find again, for demos that change them (None for the others:
    vm.overcommit_* is global, and on a shared machine another session may change it meanwhile).
    """
    while True:
        left = [f"C program {pid} still running" for pid, ct in procs.items() if _running(pid, ct)]
        if guard is not None and _running(guard):
            left.append(f"overcommit guard {guard} still running")
        now = _vm() if vm_before is not None else None
        if now != vm_before:
            left.append(f"vm settings {now}, not {vm_before}")
        elapsed = time.monotonic() - t0
        if not left or elapsed > CLEAN_WITHIN:
            return elapsed, left
        time.sleep(0.02)


def _check_demo_threads_end(kc) -> None:
    out = _run(kc, "deadline = time.monotonic() + 2\n"
                   f"while any(t.name in {DEMO_THREADS!r} for t in threading.enumerate()) "
                   "and time.monotonic() < deadline:\n    time.sleep(0.02)\n"
                   "print(sorted(t.name for t in threading.enumerate() if t.name.startswith('toplab')))\n")
    assert not any(name in out for name in DEMO_THREADS), f"demo threads still running: {out}"


def _stop_mid_demo(km, kc, demo: str, action: str, blocking: bool) -> None:
    """Start the demo (in a cell that blocks, or in the background), do ``action``, check what is left."""
    setup, block = DEMOS[demo]
    vm_before = _vm()
    if blocking:
        msg_id, info = _start_blocking(kc, setup + (block or ""))
    else:
        msg_id, info = None, _demo_info(_run(kc, setup))
    procs = _tree(info["pids"])
    if "mode" in info:
        assert str(info["mode"]) != vm_before["overcommit_memory"], "the demo did not change the mode"
    time.sleep(0.3)  # let the demo run for a moment (a few malloc steps, samples, redraws)
    if action == "interrupt":
        km.interrupt_kernel()
    elif action == "restart":
        km.restart_kernel(now=False)
    else:
        os.kill(km.provisioner.process.pid, signal.SIGKILL)
    _elapsed, left = _left_after(time.monotonic(), procs, vm_before if "mode" in info else None,
                                 info.get("guard"))
    how = f"{action} {'in a blocking cell' if blocking else 'while the demo ran in the background'}"
    assert not left, f"{CLEAN_WITHIN} s after {how} during {demo}: " + "; ".join(left)
    if action == "interrupt":  # the kernel lives on; a blocking cell ended with KeyboardInterrupt
        if msg_id is not None:
            errors = [m["content"]["ename"] for m in _messages(kc, msg_id, 30) if m["msg_type"] == "error"]
            assert errors == ["KeyboardInterrupt"], errors
        _check_demo_threads_end(kc)


@pytest.mark.parametrize(("demo", "action"), CASES, ids=[f"{d}-{a}" for d, a in CASES])
def test_stopping_the_kernel_mid_demo_leaves_nothing_running(built, demo, action):
    """Interrupt: with the demo in the background (widgets), then in a blocking cell, in one kernel.
    Restart and SIGKILL: during a blocking cell (a busy kernel is the harder case)."""
    if demo.startswith("overcommit"):
        _need_overcommit_root()
    with _kernel() as (km, kc):
        _run(kc, PRELUDE)
        if action == "interrupt" and DEMOS[demo][1] is not None:
            _stop_mid_demo(km, kc, demo, action, blocking=False)
        _stop_mid_demo(km, kc, demo, action, blocking=True)


def test_interrupting_only_the_kernel_process_while_waiting_for_steps_ends_the_demo(built):
    """Some front ends signal the kernel's PID, not its process group: the C program then gets no
    SIGINT of its own, so the interrupted wait_steps() itself must end the demo."""
    setup, block = DEMOS["memory_panel"]
    with _kernel() as (km, kc):
        _run(kc, PRELUDE)
        msg_id, info = _start_blocking(kc, setup + block)
        procs = _tree(info["pids"])
        time.sleep(0.3)
        os.kill(km.provisioner.process.pid, signal.SIGINT)
        _elapsed, left = _left_after(time.monotonic(), procs, None, None)
        assert not left, f"{CLEAN_WITHIN} s after SIGINT to the kernel's PID alone: " + "; ".join(left)
        errors = [m["content"]["ename"] for m in _messages(kc, msg_id, 30) if m["msg_type"] == "error"]
        assert errors == ["KeyboardInterrupt"], errors
        _check_demo_threads_end(kc)
        assert _run(kc, "print(panel.model.running)").strip() == "False"


# --- running a demo cell again and again --------------------------------------------------------

RERUNS = {
    "memory_panel": (
        "from kernel_helpers.widgets import memory_panel\n"
        "panel = memory_panel(interval_ms=100, max_mib=64)\n"
        "panel.start()\n"
        "print('DEMO', json.dumps({'pids': [panel.program.pid]}))\n",
        {"toplab-sampler": 1, "toplab-pump": 1, "toplab-panel-redraw": 1}),
    "shared_view": (
        "from kernel_helpers.widgets import shared_view\n"
        "sv = shared_view(mib=8, children=2)\n"
        "sv.start()\n"
        "print('DEMO', json.dumps({'pids': [pid for _, pid in sv.model.pids]}))\n",
        {}),
    "shared_session": (  # chapter 2.2's cell, built on the same view
        "from kernel_helpers.lessons import ch2_2\n"
        "shared = ch2_2.shared_session(mib=8, children=2)\n"
        "print('DEMO', json.dumps({'pids': [pid for _, pid in shared.view.model.pids]}))\n",
        {}),
    "top_table": (
        "from kernel_helpers.widgets import top_table\n"
        "live = top_table(interval=0.5)\n"
        "print('DEMO', json.dumps({'pids': []}))\n",
        {"toplab-top": 1}),
}


def _thread_census(kc) -> dict[str, int]:
    out = _run(kc, "import collections\nprint('THREADS', json.dumps(collections.Counter("
                   "t.name for t in threading.enumerate() if t.name.startswith('toplab'))))\n")
    return json.loads(out.split("THREADS ", 1)[1])


@pytest.fixture(scope="module")
def rerun_kernel(built):
    """One kernel for the re-run tests: each demo kind has its own registry slot."""
    with _kernel() as (km, kc):
        _run(kc, PRELUDE)
        yield kc


@pytest.mark.parametrize("demo", list(RERUNS))
def test_running_a_demo_cell_ten_times_leaves_one_demo_running(rerun_kernel, demo):
    code, threads = RERUNS[demo]
    kc = rerun_kernel
    runs = [_demo_info(_run(kc, code))["pids"] for _ in range(10)]
    for pids in runs[:-1]:
        still = [pid for pid in pids if _running(pid)]
        assert not still, f"an earlier run of {demo} still runs: {still}"
    procs = _tree(runs[-1]) if runs[-1] else {}
    assert all(_running(pid) for pid in procs), "the last run's demo is not running"
    census = _thread_census(kc)
    for name, count in threads.items():
        assert census.get(name, 0) == count, f"{census.get(name, 0)} threads named {name} after 10 runs: {census}"
    assert all(census.get(name, 0) <= 1 for name in DEMO_THREADS), census
    live = _run(kc, "from kernel_helpers.widgets import close_all, registry\n"
                    "print(json.dumps([list(k) for k in registry.live()]))\nclose_all()\n")
    assert len(json.loads(live)) == 1, f"live widgets after 10 runs of {demo}: {live}"
    # and closing the one left (what a kernel shutdown does) stops its program and threads
    _elapsed, left = _left_after(time.monotonic(), procs, None, None)
    assert not left, left
    _check_demo_threads_end(kc)


def test_closing_the_tab_and_running_the_panel_again_leaves_one_demo(built):
    """Closing a notebook tab drops the front end's connection; the kernel and its demo live on.
    Reopening the notebook connects a new client to the same kernel; running the cell there
    replaces the demo the closed tab left, so one runs, not two."""
    code, _threads = RERUNS["memory_panel"]
    with _kernel() as (km, kc):
        _run(kc, PRELUDE)
        first = _tree(_demo_info(_run(kc, code))["pids"])
        kc.stop_channels()  # the tab is closed: no client is connected any more
        time.sleep(0.5)
        assert all(_running(pid, ct) for pid, ct in first.items()), "the demo should outlive its tab"
        kc2 = km.client()  # the notebook is opened again, on the same kernel
        kc2.start_channels()
        try:
            kc2.wait_for_ready(timeout=60)
            second = _tree(_demo_info(_run(kc2, code))["pids"])
            _elapsed, left = _left_after(time.monotonic(), first, None, None)
            assert not left, "the closed tab's demo still runs after the cell ran again: " + "; ".join(left)
            assert all(_running(pid, ct) for pid, ct in second.items())
            census = _thread_census(kc2)
            assert all(census.get(name, 0) <= 1 for name in DEMO_THREADS), census
            _run(kc2, "from kernel_helpers.widgets import close_all\nclose_all()\n")
            _elapsed, left = _left_after(time.monotonic(), second, None, None)
            assert not left, left
        finally:
            kc2.stop_channels()


# --- a sampler left running for hours -------------------------------------------------------------

SAMPLER_SCRIPT = textwrap.dedent(r'''
    import gc, json, os, sys, threading
    import pandas  # noqa: F401 - to_dataframe() loads it on first use: not the sampler's growth
    from kernel_helpers import metrics
    from kernel_helpers.sampler import Sampler

    ticks, raising = int(sys.argv[1]), sys.argv[2] == "1"
    n = [0]

    class ProcessReader:  # a fresh sample each tick, as /proc reads would give
        def __init__(self, pid, *, full=False):
            self.pid = pid
        def read(self):
            n[0] += 1
            k = n[0]
            return {"state": "S", "virt": k << 20, "res": k << 12, "shr": 4096, "rss_anon": k << 12,
                    "rss_file": 4096, "rss_shmem": 0, "swap": 0, "uss": None, "pss": None,
                    "minflt": k, "majflt": 0}
        def close(self):
            pass

    class CommitReader:
        def read(self):
            return {"committed_as": (1 << 30) + n[0], "mem_available": 1 << 33}
        def close(self):
            pass

    metrics.ProcessReader, metrics.CommitReader = ProcessReader, CommitReader

    class FastStop(threading.Event):
        """The sampler's stop event without the sleep between ticks: hours pass in seconds."""
        def __init__(self, ticks):
            super().__init__()
            self.left = ticks
        def wait(self, timeout=None):
            self.left -= 1
            if self.left <= 0:
                self.set()
            return self.is_set()

    clock_t = [0.0]
    def clock():  # 5 Hz of fake time per tick
        clock_t[0] += 0.2
        return clock_t[0]

    calls = [0]
    def on_sample(rows):
        calls[0] += 1
        if raising:
            raise RuntimeError("the chart is gone")

    s = Sampler(4242, hz=5, maxlen=600, clock=clock, on_sample=on_sample)

    def run(k):
        s._stop = FastStop(k)
        s.start()
        s._thread.join()

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    run(5000)  # warm up: the buffer is full from here on
    gc.collect()
    before = rss()
    run(ticks)
    gc.collect()
    print(json.dumps({"buffer": len(s.buffer), "frame": len(s.to_dataframe()), "ticks": s.ticks,
                      "calls": calls[0], "errors": len(s.errors), "status": s.status,
                      "hours": clock_t[0] / 3600, "growth": rss() - before}))
''')


def _long_sampler(ticks: int, raising: bool) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    r = subprocess.run([sys.executable, "-c", SAMPLER_SCRIPT, str(ticks), "1" if raising else "0"],
                       capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.splitlines()[-1])


def test_a_sampler_running_for_hours_keeps_its_memory_bounded():
    res = _long_sampler(150_000, raising=False)
    assert res["hours"] > 8, res  # 155,000 ticks at 5 Hz of fake time
    assert res["ticks"] == 155_000 and res["calls"] == 155_000, res
    assert res["buffer"] == res["frame"] == 600, res
    assert res["growth"] < 2 * 2**20, f"RSS grew by {res['growth'] / 2**20:.1f} MiB over {res['hours']:.0f} h: {res}"


def test_a_sampler_whose_callback_keeps_failing_keeps_its_memory_bounded():
    res = _long_sampler(150_000, raising=True)
    assert res["buffer"] == 600 and res["ticks"] == 155_000, res
    assert res["errors"] <= 100, res
    assert res["growth"] < 2 * 2**20, f"RSS grew by {res['growth'] / 2**20:.1f} MiB: {res}"


PANEL_SCRIPT = textwrap.dedent(r'''
    import gc, json, time
    from kernel_helpers.widgets.models import MallocExperiment

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    m = MallocExperiment(interval_ms=100, rlimit_as_mib=32)
    gc.collect()
    before = rss()
    t = time.monotonic()
    for n in range(1, 100_001):  # under RLIMIT_AS every step fails, and malloc_test never reaches its cap
        m._step({"event": "step", "n": n, "ok": 0, "errno": "ENOMEM", "requested": 30 << 20, "touched": 0},
                t + n / 10, None)
    gc.collect()
    print(json.dumps({"steps": len(m._steps), "narration": len(m.narration), "markers": len(m.markers),
                      "growth": rss() - before}))
''')


def test_a_panel_whose_steps_keep_failing_for_hours_keeps_its_memory_bounded():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    r = subprocess.run([sys.executable, "-c", PANEL_SCRIPT], capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout.splitlines()[-1])
    assert res["narration"] <= 200 and res["markers"] <= 500, res
    assert res["growth"] < 16 * 2**20, f"RSS grew by {res['growth'] / 2**20:.0f} MiB over 100,000 failed steps: {res}"
