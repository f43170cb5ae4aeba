"""Two root kernels at once: changes to vm.overcommit_* are exclusive across processes (issue #11.4).

Real processes change the real settings, so these need root with a writable /proc/sys/vm
(skipped otherwise, failed in CI).  Worker processes run ``temporarily()`` blocks in different
modes at the same moment, round after round; every block must see the machine's original as
its ``original``, keep its own settings for the whole block, and the machine must be back to
the original after every round.  Then the failure cases: a holder killed with SIGKILL while
another waits, a holder killed together with its guard, and a second process that gets a
clear error (naming the holder) after its wait.

Other sessions on the same machine may use the lock too, so "the machine is back" is read
while holding the lock: whenever nobody holds it, the settings must be the original.
Children are ended by their PID; every test puts the settings back (then fails) if they moved.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernel_helpers import overcommit as oc
from kernel_helpers.overcommit import Settings

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parent.parent
REAL_VM = Path("/proc/sys/vm")
NAMES = ("overcommit_memory", "overcommit_ratio", "overcommit_kbytes")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
GiB = 1 << 30
ROUNDS = 100
HOLD = 0.002  # seconds each block keeps its settings (checking them meanwhile)
KB_A, KB_B = 1048576, 2097152  # overcommit_kbytes values: harmless outside mode 2


# --- the machine, read and put back without the module under test -----------------------------

def _real() -> Settings:
    return Settings(*(int((REAL_VM / n).read_text().split()[0]) for n in NAMES))


def _put_back(s: Settings) -> None:
    limit = ("overcommit_kbytes", s.kbytes) if s.kbytes else ("overcommit_ratio", s.ratio)
    steps = [limit, ("overcommit_memory", s.mode)] if s.mode == 2 else [("overcommit_memory", s.mode), limit]
    for name, value in steps:
        (REAL_VM / name).write_text(f"{value}\n")


@contextlib.contextmanager
def _turn(timeout: float = 30.0):
    """Hold the machine-wide lock (a plain flock on its file) so nobody is mid-change."""
    fd = os.open(oc.lock_paths()[0], os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the lock was not free within {timeout} s") from None
                time.sleep(0.005)
        yield
    finally:
        os.close(fd)


def _settled() -> Settings:
    """The settings while nobody may change them (every change holds the lock)."""
    with _turn():
        return _real()


def _state_pid() -> int | None:
    try:
        return json.loads(Path(oc.lock_paths()[1]).read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return None


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def _wait_gone(pid: int, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return _gone(pid)


def _waiting_for_the_lock(pid: int, seconds: float = 10.0) -> bool:
    """True once /proc/locks shows ``pid`` blocked in flock() on the lock file ("1: -> FLOCK ...")."""
    st = os.stat(oc.lock_paths()[0])
    where = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for line in Path("/proc/locks").read_text().splitlines():
            parts = line.split()
            if parts[1:3] == ["->", "FLOCK"] and parts[5:7] == [str(pid), where]:
                return True
        time.sleep(0.01)
    return False


def _can_change_here() -> bool:
    return os.geteuid() == 0 and os.access(REAL_VM / "overcommit_memory", os.W_OK)


@pytest.fixture(autouse=True)
def baseline():
    """The settings before the test; after it, put back (then fail) if they are not."""
    if not _can_change_here():
        msg = "needs root with a writable /proc/sys/vm (vm.overcommit_* is global and root-only)"
        if IN_CI:
            pytest.fail(msg + "; CI runs as root, so this must run there")
        pytest.skip(msg)
    before = _settled()
    yield before
    after = _settled()
    if after != before:
        _put_back(before)
    assert after == before, f"the test left vm.overcommit_* at {after} instead of {before} (put back)"


def _roomy() -> bool:
    """Mode 2 at ratio 100 leaves other processes at least 1 GiB of commit headroom."""
    st = oc.commit_state()
    return st.vm_commit_limit(ratio=100) - st.committed_as >= 1 * GiB


# --- children ------------------------------------------------------------------------------------

ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))

WORKER = r"""
import json, sys, time
from kernel_helpers import overcommit as oc

def real():
    return [int(open(f"/proc/sys/vm/{n}").read().split()[0])
            for n in ("overcommit_memory", "overcommit_ratio", "overcommit_kbytes")]

for line in sys.stdin:  # one job per line; EOF (the test ended or died): exit
    job = json.loads(line)
    out = {"originals": [], "errors": []}
    for mode, ratio, kbytes in job["blocks"]:
        try:
            with oc.temporarily(mode, ratio, kbytes, wait=job["wait"]) as t:
                applied = [t.applied.mode, t.applied.ratio, t.applied.kbytes]
                end = time.monotonic() + job["hold"]
                while True:  # nobody else may change them while this block holds them
                    now = real()
                    if now != applied:
                        out["errors"].append(f"inside the block {applied} became {now}")
                        break
                    if time.monotonic() >= end:
                        break
                    time.sleep(0.0005)
                out["originals"].append([t.original.mode, t.original.ratio, t.original.kbytes])
        except Exception as e:
            out["errors"].append(f"{type(e).__name__}: {e}")
    print(json.dumps(out), flush=True)
"""

HOLDER = r"""
import json, sys
from kernel_helpers import overcommit as oc
mode, ratio, kbytes = json.loads(sys.argv[1])
with oc.temporarily(mode, ratio, kbytes) as t:
    print(json.dumps({"guard": t.guard_pid, "original": list(t.original.__dict__.values())}), flush=True)
    sys.stdin.readline()  # hold until told (or until the test is gone)
"""

WAITER = r"""
import json, sys
from kernel_helpers import overcommit as oc
mode, ratio, kbytes = json.loads(sys.argv[1])
with oc.temporarily(mode, ratio, kbytes, wait=float(sys.argv[2])) as t:
    print(json.dumps({"original": list(t.original.__dict__.values()),
                      "applied": list(t.applied.__dict__.values())}), flush=True)
"""


def _spawn(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            cwd=str(REPO))


def _line(proc: subprocess.Popen, timeout: float) -> str | None:
    """The child's next line, or None if none came within ``timeout`` seconds."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else None


def _end(procs: list[subprocess.Popen]) -> None:
    """Close their stdin (they leave their blocks and exit); kill by PID whoever does not."""
    for p in procs:
        with contextlib.suppress(OSError):
            p.stdin.close()  # type: ignore[union-attr]
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        for f in (p.stdout, p.stderr):
            if f is not None:
                f.close()


def _hold(settings: tuple[int, int | None, int | None]) -> tuple[subprocess.Popen, int]:
    """A child inside ``temporarily(*settings)`` until its stdin gets a line; returns it and its guard PID."""
    holder = _spawn(HOLDER, json.dumps(settings))
    line = _line(holder, 20)
    if not line:
        _end([holder])
        pytest.fail(f"the holder did not enter its block: {holder.stderr.read() if holder.stderr else ''}")
    return holder, json.loads(line)["guard"]


# --- the race of issue #11: blocks in different modes, at the same moment, 100 rounds -------------

@pytest.mark.parametrize("workers", [2, 3])
def test_concurrent_blocks_always_see_and_restore_the_machine_original(baseline, workers):
    strict = (2, 100, None) if _roomy() else (0, None, KB_B)  # mode 2 only where it hurts nobody
    plans = [
        [(1, None, KB_A), strict],  # the issue: one process in mode 1, one in mode 2
        [strict, (1, None, None)],
        [(0, None, KB_B), (1, None, KB_A)],
    ][:workers]
    rounds = ROUNDS if workers == 2 else ROUNDS // 10  # each block starts a guard (~70 ms): keep it short
    procs = [_spawn(WORKER) for _ in plans]
    want = list(baseline.__dict__.values())
    t0 = time.monotonic()
    try:
        for r in range(rounds):
            for p, blocks in zip(procs, plans, strict=True):  # all at once: they race for the lock
                p.stdin.write(json.dumps({"blocks": blocks, "wait": 30, "hold": HOLD}) + "\n")  # type: ignore[union-attr]
                p.stdin.flush()  # type: ignore[union-attr]
            results = []
            for p in procs:
                line = _line(p, 60)
                assert line, f"round {r}: a worker did not answer: {p.stderr.read() if p.stderr else ''}"
                results.append(json.loads(line))
            errors = [e for res in results for e in res["errors"]]
            assert not errors, f"round {r}: {errors}"
            originals = [o for res in results for o in res["originals"]]
            assert originals == [want] * sum(map(len, plans)), \
                f"round {r}: a block saw {originals} as the original instead of {want}"
            now = _settled()
            assert now == baseline, f"round {r}: the machine was left at {now}, not {baseline}"
            assert _state_pid() not in {p.pid for p in procs}, f"round {r}: a state file was left"
    finally:
        _end(procs)
    took = time.monotonic() - t0
    print(f"{rounds} rounds of {workers} processes x 2 blocks in {took:.1f} s")


# --- a holder that ends while another process waits ---------------------------------------------

@pytest.mark.parametrize("end", ["returns", "sigkill"])
def test_a_waiting_process_gets_the_machine_original_after_the_holder_ends(baseline, end):
    holder, guard = _hold((1, None, KB_A))
    waiter = None
    try:
        assert _real() == Settings(1, 0, KB_A)
        waiter = _spawn(WAITER, json.dumps((0, None, KB_B)), "20")
        assert _waiting_for_the_lock(waiter.pid), "the waiter is not waiting for the holder's lock"
        assert _line(waiter, 0.2) is None, "the waiter entered while the holder held the settings"
        assert _real() == Settings(1, 0, KB_A), "the waiter changed the settings under the holder"
        if end == "returns":
            holder.stdin.write("\n")  # type: ignore[union-attr]
            holder.stdin.flush()  # type: ignore[union-attr]
        else:
            os.kill(holder.pid, signal.SIGKILL)  # its guard keeps the lock until it has restored
        line = _line(waiter, 10)
        assert line, f"the waiter never entered: {waiter.stderr.read() if waiter.stderr else ''}"
        got = json.loads(line)
        assert Settings(*got["original"]) == baseline, "the waiter saw the holder's settings as the original"
        assert Settings(*got["applied"]) == Settings(0, 0, KB_B)
        assert waiter.wait(timeout=10) == 0
        assert _wait_gone(guard), "the holder's guard is still running"
        assert _state_pid() not in (holder.pid, waiter.pid), "a state file was left"
    finally:
        _end([holder] + ([waiter] if waiter else []))


@pytest.mark.parametrize("how", ["repair_stale", "temporarily"])
def test_the_next_user_repairs_what_a_holder_killed_with_its_guard_left(baseline, how):
    holder, guard = _hold((1, None, KB_A))
    try:
        os.kill(guard, signal.SIGKILL)  # the guard first (its holder started it), then the holder
        assert _wait_gone(guard)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=5)
        # both gone: the lock is free, the settings still changed, the state file says what was there
        assert _real() == Settings(1, 0, KB_A)
        assert _state_pid() == holder.pid
        with pytest.warns(RuntimeWarning, match="ended without putting it back"):
            if how == "repair_stale":
                repaired = oc.repair_stale()
            else:
                with oc.temporarily(0, kbytes=KB_B) as t:
                    assert t.original == baseline and _real() == Settings(0, 0, KB_B)
                repaired = t.repaired
        assert repaired == baseline
        assert _real() == baseline and _state_pid() is None
        assert oc.repair_stale() is None  # nothing left to repair
    finally:
        _end([holder])


def test_a_holder_whose_guard_was_killed_still_holds_the_lock_and_restores(baseline):
    holder, guard = _hold((1, None, KB_A))
    try:
        os.kill(guard, signal.SIGKILL)
        assert _wait_gone(guard)
        with pytest.raises(oc.OvercommitBusyError):  # the holder's own descriptor keeps the lock
            oc.temporarily(0, kbytes=KB_B, wait=0.2).__enter__()
        assert _real() == Settings(1, 0, KB_A)
        holder.stdin.write("\n")  # type: ignore[union-attr]
        holder.stdin.flush()  # type: ignore[union-attr]
        assert holder.wait(timeout=10) == 0
        assert _real() == baseline and _state_pid() is None
    finally:
        _end([holder])


# --- a second process gets a clear error after its wait, and the widgets say so ------------------

def test_a_second_process_gets_a_clear_error_naming_the_holder(baseline, monkeypatch):
    holder, _ = _hold((1, None, KB_A))
    try:
        held = Settings(1, 0, KB_A)
        t0 = time.monotonic()
        with pytest.raises(oc.OvercommitBusyError) as ei, oc.temporarily(0, kbytes=KB_B, wait=0.5):
            pytest.fail("entered while another process held the settings")
        took = time.monotonic() - t0
        e = ei.value
        assert 0.5 <= took < 3 and 0.5 <= e.waited < 3
        assert e.holder_pid == holder.pid and e.original == baseline and e.held_for is not None
        text = str(e)
        assert f"process {holder.pid}" in text and "already active" in text
        assert "stop that notebook's panel or wait" in text and "nothing was changed here" in text
        assert f"프로세스 {holder.pid}" in e.describe("ko")
        assert oc._active is None and _real() == held

        # one-off changes wait too, then refuse: they must not clobber the holder either
        monkeypatch.setattr(oc, "WAIT_SECONDS", 0.2)
        with pytest.raises(oc.OvercommitBusyError):
            oc.set_mode(0, kbytes=KB_B)
        with pytest.raises(oc.OvercommitBusyError):
            oc.restore(baseline)
        assert _real() == held

        # chapter 2.3's panel control: a status that says who holds it, not an exception
        from kernel_helpers.widgets.models import OvercommitControl, WhatIfModel

        for lang, head in (("en", "NOT APPLIED: "), ("ko", "적용하지 않음: ")):
            ctl = OvercommitControl(lang)
            ctl.WAIT_SECONDS = 0.2
            ctl.choose(0)
            st = ctl.status(1 << 20, 0, apply=True)
            assert not st.applied and not ctl.active
            assert st.text.startswith(head) and str(holder.pid) in st.text, st.text
        # the what-if widget: "not run", with the reason
        res = WhatIfModel("en").run(1 << 20, 0)
        assert not res.ran and f"process {holder.pid}" in res.text, res.text
        # chapter 2.3's table of modes: the other modes become labelled predictions, with who holds it
        from kernel_helpers.lessons import ch2_3

        monkeypatch.setattr(oc, "WAIT_SECONDS", 0.2)
        t = ch2_3.modes_table()
        assert not t.attrs["real"] and f"process {holder.pid}" in t.attrs["busy"]
        assert any("another process holds the mode" in str(c) for c in t.to_numpy().ravel()), t
        assert "other modes are predictions" in ch2_3.explain_modes(t) and f"process {holder.pid}" in ch2_3.explain_modes(t)
        assert _real() == held
    finally:
        _end([holder])
    assert _settled() == baseline


# --- the state file, on a fake /proc ------------------------------------------------------------

def test_a_state_file_that_cannot_be_trusted_is_not_obeyed(tmp_path, monkeypatch):
    vm = tmp_path / "sys" / "vm"
    vm.mkdir(parents=True)
    for name, value in zip(NAMES, (0, 50, 0), strict=True):
        (vm / name).write_text(f"{value}\n")
    monkeypatch.setattr(oc.procfs, "PROC_ROOT", str(tmp_path))
    monkeypatch.delenv(oc.LOCK_DIR_ENV, raising=False)
    lock, state = oc.lock_paths()
    assert os.path.dirname(lock) == os.path.dirname(state) == str(tmp_path)
    # recorded before the last reboot: the boot reset the settings, so "restoring" would be wrong
    Path(state).write_text(json.dumps({"original": [2, 5, 0], "pid": 1, "boot_id": "another-boot"}))
    with pytest.warns(RuntimeWarning, match="before the last reboot"):
        with oc._machine_lock():
            pass
    assert (vm / "overcommit_memory").read_text().strip() == "0" and not os.path.exists(state)
    # impossible values
    Path(state).write_text(json.dumps({"original": [7, -1, 0], "pid": 1}))
    with pytest.warns(RuntimeWarning, match="impossible settings"):
        assert oc.repair_stale() is None
    assert (vm / "overcommit_memory").read_text().strip() == "0" and not os.path.exists(state)
