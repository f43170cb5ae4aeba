"""The three C programs (c_programs/*.c), measured from /proc while they run.

Memory numbers are exact per step, so the assertions on them are tight; the waits for
events are generous because other test suites may load the 2 cores at the same time.
Snapshots of /proc are taken only at quiet points (before ``go``, after ``cap``, after
``paused``, at ``holding``), never racing a running step.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / "c_programs" / "bin"
NAMES = ("malloc_test", "big_alloc", "shared_mem")
KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
EVENT_TIMEOUT = 20.0  # generous: the machine may be busy
GLIBC_MMAP_STEP = 1028 * KiB  # 1 MiB + 16 B chunk header, rounded up to pages


# --- build -------------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def c_programs_built() -> Path:
    """`make build` once for this module (the project's one rule), with a clear failure."""
    if not (shutil.which("gcc") or shutil.which("cc")):
        pytest.fail("no C compiler: install gcc (Debian/Ubuntu: apt-get install gcc make)")
    if not shutil.which("make"):
        pytest.fail("make is not installed (Debian/Ubuntu: apt-get install make)")
    r = subprocess.run(["make", "-C", str(REPO), "build"], capture_output=True, text=True,
                       timeout=300)
    if r.returncode != 0:
        pytest.fail(f"make build failed:\n{r.stdout}\n{r.stderr}")
    for name in NAMES:
        assert os.access(BIN / name, os.X_OK), f"{BIN / name} was not built"
    return BIN


# --- helpers -----------------------------------------------------------------------------

def parse_event(line: str) -> dict:
    """'step n=3 requested=3145728 ok=1' -> {'event': 'step', 'n': 3, ...}; ints stay ints."""
    words = line.split()
    ev: dict = {"event": words[0] if words else "", "line": line}
    for w in words[1:]:
        key, sep, value = w.partition("=")
        assert sep, f"word without '=' in event line: {line!r}"
        ev[key] = int(value) if re.fullmatch(r"\d+", value) else value
    return ev


def minflt(pid: int) -> int:
    """Minor faults: field 10 of /proc/PID/stat, counted after the ')' that ends comm."""
    data = Path(f"/proc/{pid}/stat").read_text()
    fields = data[data.rindex(")") + 2:].split()  # fields[0] is field 3 (state)
    return int(fields[10 - 3])


def mem(pid: int):
    """VIRT, RES, SHR as top shows them (psutil reads /proc/PID/statm): vms, rss, shared."""
    return psutil.Process(pid).memory_info()


def is_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(pids, timeout: float) -> list[int]:
    """Poll until every pid is gone (or a zombie); returns those still alive."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in pids if not is_gone(p)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.01)


def kill_ours(pid: int) -> None:
    """SIGKILL one pid, but only if it is still one of our C programs."""
    try:
        p = psutil.Process(pid)
        if str(BIN) in " ".join(p.cmdline()) and p.status() != psutil.STATUS_ZOMBIE:
            p.kill()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        pass


class Run:
    """A started program: its events arrive through a reader thread into a queue."""

    def __init__(self, argv: list[str]):
        self.argv = [str(a) for a in argv]
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.pid = self.proc.pid
        self.lines: list[str] = []
        self.seen: list[dict] = []  # every event handed out so far, in order
        self._q: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            self._q.put(line)
        self._q.put(None)

    def _describe(self) -> str:
        return f"{Path(self.argv[0]).name} {' '.join(self.argv[1:])}; lines so far: {self.lines}"

    def next_event(self, timeout: float = EVENT_TIMEOUT) -> dict:
        try:
            line = self._q.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            msg = f"no event within {timeout:.1f} s from {self._describe()}"
            raise AssertionError(msg) from None
        if line is None:
            self._q.put(None)
            rc = self.proc.poll()
            raise AssertionError(f"stdout closed (exit code {rc}): {self._describe()}")
        ev = parse_event(line)
        self.seen.append(ev)
        return ev

    def wait_for(self, event: str, timeout: float = EVENT_TIMEOUT, **match) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            ev = self.next_event(deadline - time.monotonic())
            if ev["event"] == event and all(ev.get(k) == v for k, v in match.items()):
                return ev

    def pending(self, settle: float = 0.0) -> list[dict]:
        """Events already printed (after waiting `settle` s), without blocking further."""
        time.sleep(settle)
        out = []
        while True:
            try:
                line = self._q.get_nowait()
            except queue.Empty:
                return out
            if line is None:
                self._q.put(None)
                return out
            ev = parse_event(line)
            self.seen.append(ev)
            out.append(ev)

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def steps(self) -> list[dict]:
        return [e for e in self.seen if e["event"] == "step"]

    def finish(self, timeout: float = 10.0) -> int:
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except (OSError, ValueError):
                pass


@pytest.fixture
def start():
    """start(name, *args) -> Run; every process started (and every pid tracked) is killed."""
    runs: list[Run] = []
    extra: list[int] = []

    def _start(name: str, *args, argv: list[str] | None = None) -> Run:
        r = Run(argv if argv is not None else [BIN / name, *args])
        runs.append(r)
        return r

    _start.track = extra.append  # pids we did not start directly (children, grandchildren)
    try:
        yield _start
    finally:
        for pid in extra:
            kill_ours(pid)
        for r in runs:
            r.close()
        wait_gone(extra, 5.0)


def overcommit_mode() -> str:
    return Path("/proc/sys/vm/overcommit_memory").read_text().strip()


# --- malloc_test -------------------------------------------------------------------------

def run_to_cap(start, *args, max_mib: int = 16):
    """Run malloc_test from a quiet start (--wait-go) to its cap; snapshots at both ends."""
    r = start("malloc_test", "--interval-ms", 10, "--max-mib", max_mib, "--wait-go", *args)
    r.wait_for("ready")
    m0, f0 = mem(r.pid), minflt(r.pid)
    r.send("go")
    cap = r.wait_for("cap")
    m1, f1 = mem(r.pid), minflt(r.pid)
    ok = [s for s in r.steps() if s["ok"] == 1]
    assert len(ok) == max_mib and cap["requested"] == max_mib * MiB
    return r, ok, m1.vms - m0.vms, m1.rss - m0.rss, f1 - f0


def test_malloc_untouched_grows_virt_1028k_per_step_not_res(start):
    # 64 steps: the few one-off faults on program text (SHR, fault-around) are amortized
    r, ok, dvirt, dres, _ = run_to_cap(start, max_mib=64)
    per_step_virt, per_step_res = dvirt / len(ok), dres / len(ok)
    assert 1024 * KiB <= per_step_virt <= 1032 * KiB, per_step_virt / KiB
    assert per_step_res <= 8 * KiB, per_step_res / KiB
    assert all(s["touched"] == 0 for s in ok)


def test_malloc_touch_all_res_1mib_and_256_faults_per_mib(start):
    r, ok, dvirt, dres, dflt = run_to_cap(start, "--touch", "all")
    mib = len(ok)
    assert abs(dres / mib - MiB) <= 0.05 * MiB, dres / mib / KiB
    assert 240 <= dflt / mib <= 300, dflt / mib
    assert ok[-1]["touched"] == mib * MiB


def test_malloc_touch_50_writes_about_half(start):
    r, ok, dvirt, dres, dflt = run_to_cap(start, "--touch", "50")
    mib = len(ok)
    assert 0.45 * MiB <= dres / mib <= 0.55 * MiB, dres / mib / KiB
    assert 120 <= dflt / mib <= 150, dflt / mib
    assert ok[-1]["touched"] == mib * (MiB // 2)


def test_malloc_touch_on_mid_run_changes_following_steps(start):
    r = start("malloc_test", "--interval-ms", 10, "--max-mib", 256, "--wait-go")
    r.wait_for("ready")
    m0 = mem(r.pid)
    r.send("go")
    r.wait_for("step", n=6)
    r.send("pause")
    r.wait_for("paused")
    before = r.steps()
    m1 = mem(r.pid)
    r.send("touch on")
    r.wait_for("touch", mode="all")
    r.send("resume")
    r.wait_for("resumed")
    r.wait_for("step", n=before[-1]["n"] + 8)
    r.send("pause")
    r.wait_for("paused")
    after = r.steps()[len(before):]
    m2 = mem(r.pid)

    assert all(s["touched"] == 0 for s in before)
    assert [s["touched"] for s in after] == [(i + 1) * MiB for i in range(len(after))]
    # anonymous part of RES (RES - SHR): the first run of a code path also faults in a few
    # pages of program text (file-backed, counted in SHR), too many for only 6 steps
    anon0, anon1, anon2 = (m.rss - m.shared for m in (m0, m1, m2))
    assert (anon1 - anon0) / len(before) <= 8 * KiB, (anon1 - anon0) / len(before)
    assert abs((anon2 - anon1) / len(after) - MiB) <= 0.05 * MiB, (anon2 - anon1) / len(after)


def test_malloc_max_mib_stops_allocating(start):
    r = start("malloc_test", "--interval-ms", 10, "--max-mib", 5)
    cap = r.wait_for("cap")
    steps = r.steps()
    assert [s["n"] for s in steps] == [1, 2, 3, 4, 5] and all(s["ok"] == 1 for s in steps)
    assert cap["requested"] == 5 * MiB and cap["max"] == 5 * MiB
    v1 = mem(r.pid).vms
    assert r.pending(settle=0.3) == []  # 30 intervals later: no step, no second cap line
    assert mem(r.pid).vms == v1
    assert r.proc.poll() is None


def test_malloc_wait_go_waits_for_go(start):
    r = start("malloc_test", "--interval-ms", 10, "--wait-go")
    r.wait_for("ready")
    v0 = mem(r.pid).vms
    assert r.pending(settle=0.5) == []
    assert mem(r.pid).vms == v0
    r.send("go")
    r.wait_for("go")
    assert r.wait_for("step")["n"] == 1
    r.wait_for("step", n=2)


def _thp_enabled(pid: int) -> str | None:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("THP_enabled:"):
            return line.split()[1]
    return None  # kernels before 5.0 do not say


def test_malloc_turns_transparent_huge_pages_off_for_itself_unless_asked(start):
    off = start("malloc_test", "--interval-ms", 1000, "--wait-go")
    assert off.wait_for("ready")["thp"] == "off"
    assert _thp_enabled(off.pid) in ("0", None)
    on = start("malloc_test", "--interval-ms", 1000, "--wait-go", "--thp")
    assert on.wait_for("ready")["thp"] == "system"
    assert _thp_enabled(on.pid) in ("1", None)
    bad = start("malloc_test", "--thp=1")
    assert bad.proc.wait(timeout=5) == 2


def test_malloc_pause_resume_and_counts_in_true_units(start):
    step = 2 * MiB
    r = start("malloc_test", "--interval-ms", 10, "--step-mib", 2)
    r.wait_for("step", n=3)
    r.send("pause")
    r.wait_for("paused")
    last = r.steps()[-1]["n"]
    v = mem(r.pid).vms
    assert [e for e in r.pending(settle=0.3) if e["event"] == "step"] == []
    assert mem(r.pid).vms == v
    r.send("resume")
    r.wait_for("resumed")
    r.wait_for("step", n=last + 3)
    steps = r.steps()
    assert [s["n"] for s in steps] == list(range(1, len(steps) + 1))
    assert all(s["ok"] == 1 and s["requested"] == s["n"] * step for s in steps)
    assert not any(re.search(r"\bMB\b|MiB|KB|GB", line) for line in r.lines)


def test_malloc_counts_past_4_gib_in_bytes(start):
    if overcommit_mode() == "2":
        pytest.skip("vm.overcommit_memory=2 may refuse 6 GiB of untouched malloc")
    r = start("malloc_test", "--interval-ms", 1, "--step-mib", 1024, "--max-mib", 6144,
              "--wait-go")
    r.wait_for("ready")
    v0 = mem(r.pid).vms
    r.send("go")
    cap = r.wait_for("cap")
    assert cap["requested"] == 6 * GiB > 2**32
    assert r.steps()[-1]["requested"] == 6 * GiB
    assert mem(r.pid).vms - v0 >= 6 * GiB


def test_malloc_unknown_command_is_an_error_line_not_a_crash(start):
    r = start("malloc_test", "--interval-ms", 100000)
    r.wait_for("ready")
    r.send("frobnicate")
    assert r.wait_for("error")["msg"] == "unknown_command"
    r.send("touch 150")
    assert r.wait_for("error")["msg"] == "bad_touch_value"
    r.send("touch 30")
    assert r.wait_for("touch")["mode"] == 30
    assert r.proc.poll() is None


def test_malloc_failed_malloc_is_a_line_and_it_keeps_running(start):
    r = start("malloc_test", "--interval-ms", 10, "--wait-go")
    r.wait_for("ready")
    limit = mem(r.pid).vms + 8 * MiB  # room for about 7 steps of 1028 KiB
    psutil.Process(r.pid).rlimit(psutil.RLIMIT_AS, (limit, limit))
    r.send("go")
    fail = r.wait_for("step", ok=0)
    ok = [s for s in r.steps() if s["ok"] == 1]
    assert fail["errno"] == "ENOMEM"
    assert 6 <= len(ok) <= 8, len(ok)
    assert fail["requested"] == ok[-1]["requested"] == len(ok) * MiB
    again = r.wait_for("step", ok=0)  # it tries again next interval
    assert again["n"] > fail["n"] and again["requested"] == fail["requested"]
    assert r.proc.poll() is None
    r.send("stop")
    r.wait_for("exit", reason="stop")
    assert r.finish() == 0


# --- shared_mem --------------------------------------------------------------------------

def start_shared(start, *args) -> tuple[Run, list[int]]:
    r = start("shared_mem", *args)
    r.wait_for("ready")
    r.wait_for("holding")
    kids = [e["pid"] for e in r.seen if e["event"] == "child"]
    for pid in kids:
        start.track(pid)
    return r, kids


@pytest.mark.parametrize("kind", ["anon", "file"])
def test_shared_mem_shr_holds_the_mapping_in_parent_and_children(start, tmp_path, kind):
    n = 32
    path = tmp_path / "shared.bin"
    extra = ["--file", path] if kind == "file" else []
    r, kids = start_shared(start, "--mib", n, "--children", 3, *extra)
    assert r.seen[0]["kind"] == kind and len(kids) == 3
    if kind == "file":
        assert path.stat().st_size == n * MiB
    for pid in [r.pid, *kids]:
        m = mem(pid)
        assert n * MiB <= m.shared <= n * MiB + 8 * MiB, (pid, m)
        assert m.rss >= m.shared, (pid, m)
    r.send("stop")
    r.wait_for("exit", reason="stop")
    assert r.finish() == 0
    if kind == "file":
        assert not path.exists(), "the file shared_mem created was not removed at exit"


def test_shared_mem_keeps_a_file_it_did_not_create(start, tmp_path):
    path = tmp_path / "mine.bin"
    path.write_bytes(b"x" * 100)
    r, _ = start_shared(start, "--mib", 4, "--children", 0, "--file", path)
    r.send("stop")
    assert r.finish() == 0
    assert path.stat().st_size == 4 * MiB


def test_shared_mem_cow_private_pages_count_in_res_not_shr(start):
    n, p = 16, 32
    r, kids = start_shared(start, "--mib", n, "--children", 2, "--private-mib", p)
    for pid in [r.pid, *kids]:
        m = mem(pid)
        assert m.rss - m.shared >= p * MiB, (pid, m)
        assert n * MiB <= m.shared <= n * MiB + 8 * MiB, (pid, m)


def test_shared_mem_parent_shr_stays_low_without_touching(start):
    n = 32
    r, kids = start_shared(start, "--mib", n, "--children", 1, "--no-touch-parent")
    assert mem(r.pid).shared < 8 * MiB
    assert mem(kids[0]).shared >= n * MiB


# --- big_alloc ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["malloc", "mmap"])
def test_big_alloc_more_than_ram_plus_swap_fails_with_enomem(start, method):
    if overcommit_mode() != "0":
        pytest.skip(f"vm.overcommit_memory is {overcommit_mode()}, this checks mode 0")
    too_much = 2 * (psutil.virtual_memory().total + psutil.swap_memory().total)
    r = start("big_alloc", "--bytes", too_much, *(["--mmap"] if method == "mmap" else []))
    res = r.wait_for("result")
    assert (res["ok"], res["errno"], res["bytes"], res["method"]) == (0, "ENOMEM", too_much, method)
    r.wait_for("holding")
    assert r.proc.poll() is None


@pytest.mark.parametrize("method", ["malloc", "mmap"])
def test_big_alloc_64_mib_succeeds_and_costs_no_res(start, method):
    r = start("big_alloc", "--bytes", "64M", *(["--mmap"] if method == "mmap" else []))
    res = r.wait_for("result")
    assert (res["ok"], res["bytes"], res["method"]) == (1, 64 * MiB, method)
    r.wait_for("holding")
    m = mem(r.pid)
    assert m.vms >= 64 * MiB and m.rss < 8 * MiB, m


@pytest.mark.parametrize("method", ["malloc", "mmap"])
@pytest.mark.parametrize("touch,expect", [(("--touch-bytes", "32M"), 32 * MiB),
                                          (("--touch",), 64 * MiB)])
def test_big_alloc_touching_raises_res(start, method, touch, expect):
    r = start("big_alloc", "--bytes", 64 * MiB, *touch, *(["--mmap"] if method == "mmap" else []))
    assert r.wait_for("result")["ok"] == 1
    assert r.wait_for("touched")["bytes"] == expect
    r.wait_for("holding")
    m = mem(r.pid)
    assert expect <= m.rss <= expect + 8 * MiB, m


# --- all three: parent death, clean exits, bad arguments --------------------------------

QUICK_ARGS = {
    "malloc_test": ["--interval-ms", 10, "--max-mib", 8],
    "big_alloc": ["--bytes", "16M", "--touch"],
    "shared_mem": ["--mib", 8, "--children", 2],
}
SETTLED = {"malloc_test": "cap", "big_alloc": "holding", "shared_mem": "holding"}

INTERMEDIATE = """
import subprocess, sys, time
p = subprocess.Popen(sys.argv[1:])  # inherits our stdin and stdout
print("intermediate child=%d" % p.pid, flush=True)
time.sleep(300)
"""


@pytest.mark.parametrize("name", NAMES)
def test_dies_within_a_second_when_its_parent_is_killed(start, name):
    # The C program keeps a stdin and a stdout that stay open (the test holds them), so
    # only PR_SET_PDEATHSIG can end it when the intermediate python dies.
    r = start(name, argv=[sys.executable, "-c", INTERMEDIATE, BIN / name, *QUICK_ARGS[name]])
    child = r.wait_for("intermediate")["child"]
    start.track(child)
    r.wait_for(SETTLED[name])
    pids = [child] + [e["pid"] for e in r.seen if e["event"] == "child"]
    for pid in pids[1:]:
        start.track(pid)
    assert not any(is_gone(p) for p in pids)
    os.kill(r.pid, signal.SIGKILL)
    r.proc.wait(10)
    alive = wait_gone(pids, 1.0)
    assert not alive, f"still running 1 s after their parent was killed: {alive}"


@pytest.mark.parametrize("how", ["stop", "eof", "sigterm", "sigint"])
@pytest.mark.parametrize("name", NAMES)
def test_exits_cleanly(start, name, how):
    r = start(name, *QUICK_ARGS[name])
    r.wait_for(SETTLED[name])
    kids = [e["pid"] for e in r.seen if e["event"] == "child"]
    for pid in kids:
        start.track(pid)
    if how == "stop":
        r.send("stop")
    elif how == "eof":
        r.proc.stdin.close()
    else:
        r.proc.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGINT)
    ev = r.wait_for("exit")
    expected = {"stop": ("stop", None), "eof": ("eof", None),
                "sigterm": ("signal", "SIGTERM"), "sigint": ("signal", "SIGINT")}[how]
    assert (ev["reason"], ev.get("sig")) == expected
    assert r.finish() == 0
    assert r.pending(settle=0.1) == []  # nothing after the exit line
    for pid in kids:  # waited for by shared_mem: not even zombies
        assert not psutil.pid_exists(pid), f"child {pid} of shared_mem is still there"


BAD_ARGS = [
    ("malloc_test", ["--step-mib", "-1"]),
    ("malloc_test", ["--step-mib", "abc"]),
    ("malloc_test", ["--step-mib", "1.5"]),
    ("malloc_test", ["--step-mib", "+1"]),
    ("malloc_test", ["--step-mib", "99999999999999999999999"]),
    ("malloc_test", ["--step-mib", "0"]),
    ("malloc_test", ["--step-mib", "1025"]),
    ("malloc_test", ["--step-mib"]),
    ("malloc_test", ["--interval-ms", "0"]),
    ("malloc_test", ["--interval-ms", "600001"]),
    ("malloc_test", ["--touch", "101"]),
    ("malloc_test", ["--touch", "half"]),
    ("malloc_test", ["--touch", "-5"]),
    ("malloc_test", ["--max-mib", "0"]),
    ("malloc_test", ["--max-mib", "18446744073709551616"]),
    ("malloc_test", ["--step-mib", "8", "--max-mib", "4"]),
    ("malloc_test", ["--max-steps", "-3"]),
    ("malloc_test", ["--wait-go=1"]),
    ("malloc_test", ["--frobnicate"]),
    ("malloc_test", ["1"]),
    ("big_alloc", []),
    ("big_alloc", ["--bytes", "-1"]),
    ("big_alloc", ["--bytes", "0"]),
    ("big_alloc", ["--bytes", "lots"]),
    ("big_alloc", ["--bytes", "12Q"]),
    ("big_alloc", ["--bytes", "99999999999999999999999"]),
    ("big_alloc", ["--bytes", "9223372036854775809"]),
    ("big_alloc", ["--bytes", "9000000000G"]),
    ("big_alloc", ["--bytes", "1M", "--touch-bytes", "2M"]),
    ("big_alloc", ["--bytes", "1M", "--touch-bytes", "-1"]),
    ("big_alloc", ["--bytes", "2G", "--touch"]),
    ("big_alloc", ["--bytes", "64M", "--touch-bytes", "32M", "--max-touch-mib", "16"]),
    ("big_alloc", ["--bytes", "1M", "--max-touch-mib", "0"]),
    ("big_alloc", ["--bytes", "1M", "--touch", "--touch-bytes", "1K"]),
    ("big_alloc", ["--bytes", "1M", "--frobnicate"]),
    ("shared_mem", []),
    ("shared_mem", ["--mib", "0"]),
    ("shared_mem", ["--mib", "-4"]),
    ("shared_mem", ["--mib", "1025"]),
    ("shared_mem", ["--mib", "x"]),
    ("shared_mem", ["--mib", "99999999999999999999999"]),
    ("shared_mem", ["--mib", "8", "--children", "17"]),
    ("shared_mem", ["--mib", "8", "--children", "-1"]),
    ("shared_mem", ["--mib", "8", "--private-mib", "2048"]),
    ("shared_mem", ["--mib", "8", "--file", ""]),
    ("shared_mem", ["--mib", "8", "--frobnicate"]),
]


@pytest.mark.parametrize("name,args", BAD_ARGS, ids=[f"{n}:{' '.join(a) or 'none'}"
                                                     for n, a in BAD_ARGS])
def test_bad_arguments_are_refused_with_usage(name, args):
    r = subprocess.run([BIN / name, *args], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines and lines[0].startswith(f"usage: {name} "), r.stderr
    assert len(lines) >= 2 and lines[-1].startswith(f"{name}: "), r.stderr
