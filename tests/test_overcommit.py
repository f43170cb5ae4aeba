"""overcommit: predict() redoes the kernel's commit check, and the settings always come back.

Tests that change vm.overcommit_* need root with a writable /proc/sys/vm (skipped otherwise,
failed in CI).  Every test is followed by a check, independent of the module under test,
that puts the three settings back if they changed and then fails the test; a guard process
also watches this pytest process for the whole module.  Mode-2 windows last tens of ms.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernel_helpers import _overcommit_guard, procfs
from kernel_helpers import overcommit as oc
from kernel_helpers.overcommit import CommitState, Settings

REPO = Path(__file__).resolve().parent.parent
BIG_ALLOC = REPO / "c_programs" / "bin" / "big_alloc"
REAL_VM = Path("/proc/sys/vm")
NAMES = ("overcommit_memory", "overcommit_ratio", "overcommit_kbytes")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SYSTEM_PYTHON = "/usr/bin/python3"  # nobody cannot reach a Python under /root
SETPRIV = "/usr/bin/setpriv"
NOBODY = 65534
KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40
PAGE = procfs.PAGE_SIZE
MARGIN = 4 * MiB  # mode 2: sizes this far under / over the predicted limit


# --- the machine, read and restored without the module under test -----------------------

def _real() -> tuple[int, int, int]:
    return tuple(int((REAL_VM / n).read_text().split()[0]) for n in NAMES)  # type: ignore[return-value]


def _put_back(snap: tuple[int, int, int]) -> None:
    mode, ratio, kbytes = snap
    # Writing ratio zeroes kbytes and vice versa: write only the non-zero one.  Leave strict
    # mode before touching the limit; enter it after.
    limit = ("overcommit_kbytes", kbytes) if kbytes else ("overcommit_ratio", ratio)
    steps = [limit, ("overcommit_memory", mode)] if mode == 2 else [("overcommit_memory", mode), limit]
    for name, value in steps:
        (REAL_VM / name).write_text(f"{value}\n")


def _guards_watching(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"kernel_helpers._overcommit_guard" in argv and b"--pid" in argv \
                and argv[argv.index(b"--pid") + 1] == str(pid).encode():
            found.append(int(entry))
    return found


def _gone(pid: int) -> bool:
    """Exited: no /proc entry, or a zombie waiting for whoever reaps orphans."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def _can_change_here() -> bool:
    return os.geteuid() == 0 and os.access(REAL_VM / "overcommit_memory", os.W_OK)


def _need_root() -> None:
    if _can_change_here():
        return
    msg = "needs root with a writable /proc/sys/vm (vm.overcommit_* is global and root-only)"
    if IN_CI:
        pytest.fail(msg + "; CI runs as root, so this must run there")
    pytest.skip(msg)


@pytest.fixture(scope="module", autouse=True)
def guard_for_this_pytest():
    """If this pytest process dies (SIGKILL by a CI timeout), a guard puts the settings back."""
    if not _can_change_here():
        yield None
        return
    mode, ratio, kbytes = _real()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kernel_helpers._overcommit_guard", "--pid", str(os.getpid()),
         "--mode", str(mode), "--ratio", str(ratio), "--kbytes", str(kbytes),
         "--keep-watching", "--max-seconds", "3600"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 15)
    assert ready and proc.stdout.readline().startswith(b"armed"), "the module's guard did not arm"
    yield proc
    _, err = proc.communicate(b"done\n", timeout=10)
    assert proc.returncode == 0, err


@pytest.fixture(autouse=True)
def machine_restored(guard_for_this_pytest):
    """After every test: settings as before (put back, then fail, if not) and no stray guard."""
    before = _real()
    yield
    after = _real()
    if after != before:
        _put_back(before)
    assert _real() == before, f"could not put vm.overcommit_* back to {before}"
    assert after == before, f"the test left vm.overcommit_* at {after} instead of {before} (put back)"
    keep = {guard_for_this_pytest.pid} if guard_for_this_pytest is not None else set()
    deadline = time.monotonic() + 2
    while (stray := [g for g in _guards_watching(os.getpid()) if g not in keep and not _gone(g)]) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not stray, f"guard processes left running: {stray}"


# --- fake figures -------------------------------------------------------------------------

def _state(mode=0, ratio=50, kbytes=0, mem_total=4 * GiB, swap_total=0, hugetlb=0,
           committed_as=100 * MiB, admin_reserve=8 * MiB, user_reserve=128 * MiB) -> CommitState:
    st = CommitState(Settings(mode, ratio, kbytes), mem_total, swap_total, hugetlb, 0,
                     committed_as, admin_reserve, user_reserve, 4096)
    return CommitState(st.settings, mem_total, swap_total, hugetlb, st.vm_commit_limit(),
                       committed_as, admin_reserve, user_reserve, 4096)


def _pred(nbytes, mode=None, st=None, **kw):
    """predict() on fake figures, isolating one term at a time (root, no VIRT, no startup)."""
    kw.setdefault("method", "mmap")
    kw.setdefault("cap_sys_admin", True)
    kw.setdefault("total_vm", 0)
    kw.setdefault("startup_commit", 0)
    return oc.predict(nbytes, mode, state=st or _state(), **kw)


@pytest.fixture
def fake_proc(tmp_path, monkeypatch):
    """A fake /proc: 4 GiB RAM, 1 GiB swap, mode 2 ratio 50, 100 MiB committed, no CAP_SYS_ADMIN."""
    vm = tmp_path / "sys" / "vm"
    vm.mkdir(parents=True)
    for name, value in {"overcommit_memory": 2, "overcommit_ratio": 50, "overcommit_kbytes": 0,
                        "admin_reserve_kbytes": 8192, "user_reserve_kbytes": 131072}.items():
        (vm / name).write_text(f"{value}\n")
    (tmp_path / "meminfo").write_text(
        "MemTotal:        4194304 kB\nMemFree:         1000000 kB\nSwapTotal:       1048576 kB\n"
        "CommitLimit:     3145728 kB\nCommitted_AS:     102400 kB\nHugePages_Total:       0\n"
        "Hugepagesize:       2048 kB\nHugetlb:               0 kB\n")
    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "status").write_text("Name:\tpython\nCapEff:\t0000000000000000\n")
    monkeypatch.setattr(procfs, "PROC_ROOT", str(tmp_path))
    return tmp_path


def _fake_settings(root: Path) -> tuple[int, int, int]:
    return tuple(int((root / "sys" / "vm" / n).read_text()) for n in NAMES)  # type: ignore[return-value]


def _fake_write(root: Path, mode: int, ratio: int, kbytes: int) -> None:
    for name, value in zip(NAMES, (mode, ratio, kbytes), strict=True):
        (root / "sys" / "vm" / name).write_text(f"{value}\n")


# --- reading --------------------------------------------------------------------------------

def test_commit_state_reads_meminfo_and_sysctls_in_bytes(fake_proc):
    st = oc.commit_state()
    assert st.settings == Settings(2, 50, 0)
    assert (st.mem_total, st.swap_total, st.hugetlb) == (4 * GiB, 1 * GiB, 0)
    assert (st.commit_limit, st.committed_as) == (3 * GiB, 100 * MiB)
    assert (st.admin_reserve, st.user_reserve) == (8 * MiB, 128 * MiB)
    assert st.headroom == 3 * GiB - 100 * MiB


def test_vm_commit_limit_matches_the_kernels_commit_limit():
    st = oc.commit_state()  # the real machine, read only
    assert st.vm_commit_limit() == st.commit_limit


def test_vm_commit_limit_subtracts_hugetlb_and_adds_swap_unscaled():
    st = _state(mem_total=4 * GiB, hugetlb=1 * GiB, swap_total=1 * GiB)
    assert st.vm_commit_limit(ratio=50) == (3 * GiB) // 2 + 1 * GiB
    assert st.vm_commit_limit(kbytes=512 * 1024) == 512 * MiB + 1 * GiB


# --- predict: mode 0 -------------------------------------------------------------------------

def test_mode0_boundary_is_ram_plus_swap_to_the_byte_with_mmap():
    st = _state(mem_total=4 * GiB, swap_total=1 * GiB)
    assert _pred(5 * GiB, 0, st).allowed
    assert not _pred(5 * GiB + 1, 0, st).allowed
    assert _pred(1, 0, st).limit_bytes == 5 * GiB


def test_mode0_malloc_boundary_leaves_room_for_the_24_byte_header():
    st = _state(mem_total=4 * GiB, swap_total=1 * GiB)
    assert _pred(5 * GiB - 24, 0, st, method="malloc").allowed
    assert not _pred(5 * GiB - 23, 0, st, method="malloc").allowed


def test_malloc_of_one_mib_commits_1028_kib():
    assert _pred(1 * MiB, 0, method="malloc").pages * PAGE == 1028 * KiB  # FACTS.md


def test_mode0_ignores_committed_memory():
    assert _pred(3 * GiB, 0, _state(committed_as=100 * GiB)).allowed


def test_mode0_reason_names_the_limit_and_the_request_in_both_languages():
    p = _pred(1 * TiB, 0, _state(mem_total=4 * GiB, swap_total=1 * GiB))
    assert "RAM + swap (5 GiB)" in p.reason and "1 TiB is larger" in p.reason
    assert "스왑(5 GiB)" in p.reason_ko and "1 TiB" in p.reason_ko
    assert str(p) in (p.reason, p.reason_ko)


# --- predict: mode 1 and the address space ----------------------------------------------------

def test_mode1_allows_twice_ram_plus_swap():
    p = _pred(2 * 5 * GiB, 1, _state(mem_total=4 * GiB, swap_total=1 * GiB))
    assert p.allowed and p.limit_bytes is None and "never refuses" in p.reason


@pytest.mark.skipif(oc.ADDRESS_SPACE is None, reason="address-space size known for x86-64 only")
def test_more_than_the_address_space_is_refused_even_in_mode1():
    p = _pred(256 * TiB, 1)
    assert not p.allowed and "address space" in p.reason


# --- predict: mode 2 -------------------------------------------------------------------------

def test_mode2_needs_committed_plus_request_strictly_below_the_limit():
    st = _state(mem_total=4 * GiB, committed_as=100 * MiB)  # 1048576 pages, 25600 committed
    largest = (1048576 * 50 // 100 - 25600 - 1) * PAGE
    assert _pred(largest, 2, st).allowed
    assert not _pred(largest + 1, 2, st).allowed
    assert _pred(1, 2, st).limit_bytes == largest


def test_mode2_ratio_argument_replaces_the_current_ratio():
    st = _state(ratio=50)  # the kernel floors in pages: 1048576 * 30 // 100 = 314572 pages
    assert _pred(1, 2, st, ratio=30).limit_bytes == (314572 - 25600 - 1) * PAGE


def test_mode2_kbytes_replaces_the_ratio():
    st = _state(swap_total=1 * GiB)
    p = _pred(1, 2, st, kbytes=1024 * 1024)
    assert p.limit_bytes == 1 * GiB + 1 * GiB - 100 * MiB - PAGE
    assert p.commit_limit == 2 * GiB


def test_mode2_admin_reserve_applies_only_without_cap_sys_admin():
    root = _pred(1, 2, cap_sys_admin=True).limit_bytes
    user = _pred(1, 2, cap_sys_admin=False).limit_bytes
    assert root - user == 8 * MiB


def test_mode2_user_reserve_is_total_vm_over_32_capped_by_the_sysctl():
    base = _pred(1, 2, total_vm=0).limit_bytes
    assert base - _pred(1, 2, total_vm=32 * MiB).limit_bytes == 1 * MiB
    assert base - _pred(1, 2, total_vm=64 * GiB).limit_bytes == 128 * MiB


def test_mode2_counts_what_a_new_process_commits_as_it_starts():
    base = _pred(1, 2).limit_bytes
    assert base - _pred(1, 2, startup_commit=380 * KiB).limit_bytes == 380 * KiB


def test_mode2_reason_shows_the_arithmetic_in_both_languages():
    p = _pred(20 * GiB, 2, _state(mem_total=4 * GiB, swap_total=1 * GiB))
    assert not p.allowed
    assert "100 MiB already committed + 20 GiB requested" in p.reason
    assert "CommitLimit 3 GiB = 50% of 4 GiB RAM + 1 GiB swap" in p.reason
    assert "허용량" in p.reason_ko and "스왑 1 GiB" in p.reason_ko


def test_predict_defaults_to_the_current_settings_and_privilege(fake_proc):
    p = oc.predict(1, method="mmap", total_vm=0, startup_commit=0)
    assert p.mode == 2
    # fake CapEff has no CAP_SYS_ADMIN: the 8 MiB admin reserve is kept
    assert p.limit_bytes == 3 * GiB - 100 * MiB - 8 * MiB - PAGE


# --- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("args, kwargs, exc", [
    ((-1,), {}, ValueError), ((1.5,), {}, TypeError), ((math.nan,), {}, TypeError),
    ((True,), {}, TypeError), (("1G",), {}, TypeError), ((None,), {}, TypeError),
    ((1, 3), {}, ValueError), ((1, -1), {}, ValueError), ((1, True), {}, TypeError),
    ((1, 2.0), {}, TypeError), ((1, 2), {"ratio": -5}, ValueError),
    ((1, 2), {"ratio": 0.5}, TypeError), ((1, 2), {"kbytes": 0}, ValueError),
    ((1, 2), {"ratio": 50, "kbytes": 1024}, ValueError), ((1,), {"method": "calloc"}, ValueError),
    ((1,), {"total_vm": -1}, ValueError), ((1,), {"cap_sys_admin": 1}, TypeError),
    ((1,), {"state": {"mode": 0}}, TypeError), ((1,), {"startup_commit": -4096}, ValueError),
])
def test_predict_rejects_bad_input_saying_what_to_pass(args, kwargs, exc):
    kw = {"state": _state(), **kwargs}
    with pytest.raises(exc, match=r"must|pass|not both"):
        oc.predict(*args, **kw)


BAD_CHANGES = [((3,), {}, ValueError), ((-1,), {}, ValueError), ((True,), {}, TypeError),
               (("2",), {}, TypeError), ((2.0,), {}, TypeError), ((2,), {"ratio": -1}, ValueError),
               ((2,), {"ratio": 1.5}, TypeError), ((2,), {"kbytes": 0}, ValueError),
               ((2,), {"ratio": 50, "kbytes": 1024}, ValueError)]


@pytest.mark.parametrize("args, kwargs, exc", BAD_CHANGES)
def test_set_mode_refuses_bad_values_before_writing(fake_proc, args, kwargs, exc):
    with pytest.raises(exc):
        oc.set_mode(*args, **kwargs)
    assert _fake_settings(fake_proc) == (2, 50, 0)


@pytest.mark.parametrize("args, kwargs, exc", BAD_CHANGES + [
    ((1,), {"max_seconds": 0}, ValueError), ((1,), {"max_seconds": math.nan}, ValueError),
    ((1,), {"max_seconds": True}, ValueError)])
def test_temporarily_refuses_bad_values_before_starting_a_guard(fake_proc, monkeypatch, args,
                                                               kwargs, exc):
    monkeypatch.setattr(oc, "_start_guard", lambda *a, **k: pytest.fail("a guard was started"))
    with pytest.raises(exc):
        with oc.temporarily(*args, **kwargs):
            pytest.fail("entered the block")
    assert _fake_settings(fake_proc) == (2, 50, 0)


@pytest.mark.parametrize("value, exc", [(-1, ValueError), (0, ValueError), (1000, ValueError),
                                        (1.5, TypeError), (True, TypeError), ("1G", TypeError)])
def test_rlimit_as_preexec_rejects_bad_sizes(value, exc):
    with pytest.raises(exc, match="nbytes must"):
        oc.rlimit_as_preexec(value)


@pytest.mark.parametrize("value, exc", [("0 50 0", TypeError), (Settings(5, 50, 0), ValueError),
                                        (Settings(0, -1, 0), ValueError)])
def test_restore_rejects_what_is_not_saved_settings(fake_proc, value, exc):
    with pytest.raises(exc):
        oc.restore(value)
    assert _fake_settings(fake_proc) == (2, 50, 0)


# --- write order -------------------------------------------------------------------------------

def test_plan_writes_one_limit_and_keeps_strict_mode_off_while_it_changes():
    plan = oc._plan
    assert plan(Settings(0, 50, 0), Settings(2, 30, 0)) == [
        ("overcommit_ratio", 30), ("overcommit_memory", 2)]
    assert plan(Settings(2, 30, 0), Settings(0, 50, 0)) == [
        ("overcommit_memory", 0), ("overcommit_ratio", 50)]
    assert plan(Settings(1, 0, 1048576), Settings(0, 50, 0)) == [
        ("overcommit_memory", 0), ("overcommit_ratio", 50)]
    assert plan(Settings(0, 50, 0), Settings(0, 0, 1024)) == [("overcommit_kbytes", 1024)]
    assert plan(Settings(0, 50, 0), Settings(0, 50, 0)) == []


# --- the guard, on a fake /proc ------------------------------------------------------------------

def _start_guard(root: Path, pid: int, starttime: int | None, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "kernel_helpers._overcommit_guard", "--pid", str(pid),
           "--mode", "0", "--ratio", "50", "--kbytes", "0", "--proc-root", str(root), *extra]
    if starttime is not None:
        cmd += ["--starttime", str(starttime)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 15)
    assert ready and proc.stdout.readline().startswith(b"armed"), "guard did not arm"
    return proc


def _wait_exit(proc: subprocess.Popen, seconds: float) -> int | None:
    try:
        return proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return None


def _finish(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


def test_guard_restores_when_the_watched_process_dies(fake_proc):
    _fake_write(fake_proc, 0, 50, 0)
    victim = subprocess.Popen(["sleep", "60"])
    guard = _start_guard(fake_proc, victim.pid, _overcommit_guard._starttime(victim.pid))
    try:
        _fake_write(fake_proc, 2, 10, 0)
        victim.kill()
        victim.wait()
        assert _wait_exit(guard, 2) == 0
        assert _fake_settings(fake_proc) == (0, 50, 0)
    finally:
        victim.kill()
        victim.wait()
        _finish(guard)


def test_guard_leaves_the_settings_alone_while_the_process_lives(fake_proc):
    _fake_write(fake_proc, 0, 50, 0)
    guard = _start_guard(fake_proc, os.getpid(), _overcommit_guard._starttime(os.getpid()))
    try:
        _fake_write(fake_proc, 1, 0, 4096)
        assert _wait_exit(guard, 0.5) is None
        assert _fake_settings(fake_proc) == (1, 0, 4096)
    finally:
        _finish(guard)


def test_guard_restores_on_done_if_the_settings_are_still_changed(fake_proc):
    _fake_write(fake_proc, 0, 50, 0)
    guard = _start_guard(fake_proc, os.getpid(), _overcommit_guard._starttime(os.getpid()))
    _fake_write(fake_proc, 2, 20, 0)
    guard.communicate(b"done\n", timeout=5)
    assert guard.returncode == 0 and _fake_settings(fake_proc) == (0, 50, 0)


def test_guard_is_not_fooled_by_a_pid_now_used_by_another_process(fake_proc):
    # Our PID is alive, but with another start time: the watched process is gone.
    _fake_write(fake_proc, 2, 20, 0)
    starttime = _overcommit_guard._starttime(os.getpid())
    guard = _start_guard(fake_proc, os.getpid(), starttime + 1)
    try:
        assert _wait_exit(guard, 2) == 0
        assert _fake_settings(fake_proc) == (0, 50, 0)
    finally:
        _finish(guard)


def test_guard_exits_by_itself_once_someone_restored_the_settings(fake_proc):
    _fake_write(fake_proc, 0, 50, 0)
    guard = _start_guard(fake_proc, os.getpid(), _overcommit_guard._starttime(os.getpid()),
                         "--interval", "0.05")
    try:
        _fake_write(fake_proc, 1, 50, 0)
        time.sleep(0.3)  # let it see the change
        _fake_write(fake_proc, 0, 50, 0)
        assert _wait_exit(guard, 2) == 0
    finally:
        _finish(guard)


def test_guard_restores_and_exits_after_its_maximum_lifetime(fake_proc):
    _fake_write(fake_proc, 2, 5, 0)
    guard = _start_guard(fake_proc, os.getpid(), _overcommit_guard._starttime(os.getpid()),
                         "--max-seconds", "0.5", "--keep-watching")
    try:
        assert _wait_exit(guard, 3) == 0
        assert _fake_settings(fake_proc) == (0, 50, 0)
    finally:
        _finish(guard)


# --- privileges (real machine) ------------------------------------------------------------------

def _unprivileged(code: str) -> subprocess.CompletedProcess:
    """Run Python code really unprivileged: as user nobody when we are root, else as ourselves."""
    prelude = "import os\nassert os.geteuid() != 0, 'still root'\n"
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    if os.geteuid() != 0:
        if oc.change_method()[0] == "sudo":
            pytest.skip("this user has passwordless sudo, so it is privileged after all")
        return subprocess.run([sys.executable, "-c", prelude + code], env=env,
                              capture_output=True, text=True, timeout=60)
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.skip(f"{SYSTEM_PYTHON} is missing (the venv's Python is not readable by nobody)")
    r = subprocess.run([SYSTEM_PYTHON, "-c", prelude + code], user=NOBODY, group=NOBODY,
                       extra_groups=[], cwd="/", capture_output=True, text=True, timeout=60,
                       env=env)
    if "ModuleNotFoundError" in r.stderr and not IN_CI:
        # kernel_helpers.overcommit itself needs only the standard library
        pytest.skip(f"{SYSTEM_PYTHON} lacks a module the package now imports: {r.stderr[-200:]}")
    return r


@pytest.mark.root
def test_can_change_is_true_as_root():
    _need_root()
    assert oc.can_change() is True and oc.change_method()[0] == "write"


def test_can_change_is_false_for_an_unprivileged_user():
    r = _unprivileged("from kernel_helpers import overcommit as oc\n"
                   "print(oc.can_change(), oc.change_method()[1])\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("False ") and "writable only by root" in r.stdout


def test_set_mode_without_privilege_names_the_sysctl_command():
    r = _unprivileged("from kernel_helpers import overcommit as oc\n"
                      "try:\n    oc.set_mode(2, ratio=50)\n"
                      "except oc.OvercommitPermissionError as e:\n    print(e.command); print(e)\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "sudo sysctl -w vm.overcommit_memory=2 vm.overcommit_ratio=50"
    assert "`sudo sysctl -w vm.overcommit_memory=2 vm.overcommit_ratio=50`" in r.stdout
    assert "needs root" in r.stdout and "RLIMIT_AS" in r.stdout


def test_temporarily_without_privilege_changes_nothing_and_starts_no_guard():
    r = _unprivileged("from kernel_helpers import overcommit as oc\n"
                      "oc._start_guard = lambda *a, **k: print('GUARD STARTED')\n"
                      "try:\n    oc.temporarily(1).__enter__()\n"
                      "except PermissionError as e:\n    print(type(e).__name__, e.command)\n"
                      "print(oc._active is None)\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["OvercommitPermissionError", "sudo", "sysctl", "-w",
                                "vm.overcommit_memory=1", "True"]


# --- temporarily() on the real machine ------------------------------------------------------------

@pytest.mark.root
def test_set_mode_writes_and_restore_puts_back():
    _need_root()
    original = oc.settings()
    try:
        assert oc.set_mode(1, kbytes=4096) == Settings(1, 0, 4096) == Settings(*_real())
    finally:
        assert oc.restore(original) == original == Settings(*_real())


@pytest.mark.root
def test_temporarily_changes_inside_and_restores_after():
    _need_root()
    before = _real()
    with oc.temporarily(1, kbytes=1024 * 1024) as t:  # mode 1 refuses nobody: harmless
        assert _real() == (1, 0, 1024 * 1024) and t.applied == Settings(1, 0, 1024 * 1024)
        assert t.original == Settings(*before) and not _gone(t.guard_pid)
    assert _real() == before and _gone(t.guard_pid)


@pytest.mark.root
def test_temporarily_restores_on_exception():
    _need_root()
    before = _real()
    with pytest.raises(ZeroDivisionError), oc.temporarily(1, kbytes=2048) as t:
        assert _real()[0] == 1
        1 / 0  # noqa: B018
    assert _real() == before and _gone(t.guard_pid)


@pytest.mark.root
def test_temporarily_refuses_to_nest():
    _need_root()
    with oc.temporarily(1), pytest.raises(RuntimeError, match="already active"):
        oc.temporarily(1).__enter__()
    assert oc._active is None


CHILD = """
import sys, time
from kernel_helpers import overcommit as oc
with oc.temporarily({args}) as t:
    print("changed", t.guard_pid, flush=True)
    time.sleep(60)
"""


@pytest.mark.root
@pytest.mark.parametrize("args, inside, group", [
    ("2, ratio=100", (2, 100, 0), False),  # strict, on the gentlest limit, for a few ms
    ("1, kbytes=1048576", (1, 0, 1048576), False),  # ratio must come back from 0
    ("1, kbytes=1048576", (1, 0, 1048576), True),  # the guard is not in the killed group
], ids=["mode2-ratio100", "mode1-kbytes", "mode1-kbytes-killpg"])
def test_settings_come_back_after_sigkill_of_the_process_that_changed_them(args, inside, group):
    _need_root()
    before = _real()
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(args=args)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=group)
    try:
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], 20)
        line = child.stdout.readline() if ready else ""
        assert line.startswith("changed"), f"child did not change the settings: {child.stderr}"
        guard_pid = int(line.split()[1])
        assert _real() == inside
        if group:
            os.killpg(child.pid, signal.SIGKILL)  # its own session: this pytest is not in it
        else:
            os.kill(child.pid, signal.SIGKILL)
        t0 = time.monotonic()
        while _real() != before and time.monotonic() - t0 < 2:
            time.sleep(0.005)
        took = time.monotonic() - t0
        assert _real() == before, f"not restored {took:.2f} s after SIGKILL"
        while not _gone(guard_pid) and time.monotonic() - t0 < 2:
            time.sleep(0.01)
        assert _gone(guard_pid), "the guard is still running"
    finally:
        child.kill()
        child.communicate()


# --- predict() against the kernel, with big_alloc ---------------------------------------------------
#
# In mode 2 the kernel compares a per-CPU-batched copy of Committed_AS (up to counter_slack(),
# ~94 MiB here, off the exact sum in /proc/meminfo).  resync_committed() folds it just before
# each comparison, and big_alloc is started with vfork (a plain subprocess.run: no user=, no
# preexec_fn), because a fork of this process charges its whole address space VMA by VMA to
# one CPU's delta and uncharges it in one go at exec, leaving the copy MiBs off again.

def _alloc(nbytes: int, method: str, *, as_nobody: bool = False, **popen) -> tuple[bool, str | None]:
    """Run big_alloc once; stdin is /dev/null, so it exits right after the allocation."""
    cmd = [str(BIG_ALLOC), "--bytes", str(nbytes)] + (["--mmap"] if method == "mmap" else [])
    if as_nobody:  # setpriv drops to nobody (no capabilities) without a fork of this process
        cmd = [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *cmd]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30,
                       **popen)
    for line in r.stdout.splitlines():
        if line.startswith("result "):
            ev = dict(w.split("=", 1) for w in line.split()[1:])
            return ev["ok"] == "1", ev.get("errno")
    raise AssertionError(f"big_alloc printed no result: rc={r.returncode} {r.stdout!r} {r.stderr!r}")


def _in_mode(mode: int):
    """temporarily(mode), or nothing when the machine is already in that mode."""
    if _real()[0] == mode:
        return contextlib.nullcontext()
    _need_root()
    return oc.temporarily(mode)


@pytest.mark.parametrize("method", ["mmap", "malloc"])
def test_mode0_kernel_boundary_is_the_predicted_byte(built, method):
    with _in_mode(0):
        st = oc.commit_state()
        largest = oc.predict(1, 0, method=method, state=st).limit_bytes
        assert largest == st.mem_total + st.swap_total - (24 if method == "malloc" else 0)
        # Just under reserves ~all of RAM + swap for a millisecond, touching none of it.
        assert oc.predict(largest, 0, method=method, state=st).allowed
        assert _alloc(largest, method) == (True, None)
        assert not oc.predict(largest + 1, 0, method=method, state=st).allowed
        assert _alloc(largest + 1, method) == (False, "ENOMEM")


@pytest.mark.root
@pytest.mark.parametrize("method", ["mmap", "malloc"])
def test_mode1_grants_twice_ram_plus_swap(built, method):
    _need_root()
    with oc.temporarily(1):
        st = oc.commit_state()
        n = 2 * (st.mem_total + st.swap_total)
        assert oc.predict(n, method=method, state=st).allowed
        assert _alloc(n, method) == (True, None)


def _skip_unless_roomy(ratio: int | None = None, kbytes: int | None = None) -> None:
    st = oc.commit_state()
    room = st.vm_commit_limit(ratio, kbytes) - st.committed_as
    if room < 1 * GiB:
        pytest.skip(f"only {room >> 20} MiB of commit headroom under that limit now: going strict "
                    "would make other processes on this machine fail")


def _synced_state() -> CommitState:
    oc.resync_committed()
    return oc.commit_state()


def _agree(limit: dict, attempt, windows: int = 5) -> None:
    """Short mode-2 windows; pass when one shows predict() and the kernel agreeing.

    A wrong prediction (off by more than MARGIN) fails every window; a process elsewhere that
    commits or frees MiBs within the few ms of a window can spoil one, hence the retries.
    """
    seen = []
    for _ in range(windows):
        with oc.temporarily(2, **limit):
            before = oc.commit_state().committed_as
            outcome = attempt()
            moved = oc.commit_state().committed_as - before
        if outcome is True:
            return
        seen.append((outcome, f"Committed_AS moved {moved / MiB:+.1f} MiB meanwhile"))
        time.sleep(0.5)
    pytest.fail(f"predict() and the kernel disagreed in {windows} windows: {seen}")


@pytest.mark.root
@pytest.mark.parametrize("limit", [{"ratio": 50}, {"ratio": 30}, {"kbytes": 6 * GiB // KiB}],
                         ids=["ratio50", "ratio30", "kbytes6G"])
@pytest.mark.parametrize("method", ["mmap", "malloc"])
def test_mode2_predict_agrees_with_the_kernel_around_the_headroom(built, limit, method):
    _need_root()
    _skip_unless_roomy(**limit)

    def attempt():
        # over first: a refusal costs nobody anything; under holds the headroom for a moment
        st = _synced_state()
        over = oc.predict(1, method=method, state=st).limit_bytes + MARGIN
        got_over = (oc.predict(over, method=method, state=st).allowed, _alloc(over, method))
        st = _synced_state()
        under = oc.predict(1, method=method, state=st).limit_bytes - MARGIN
        got_under = (oc.predict(under, method=method, state=st).allowed, _alloc(under, method))
        expected = ((False, (False, "ENOMEM")), (True, (True, None)))
        return (got_over, got_under) == expected or (got_over, got_under)

    _agree(limit, attempt)


@pytest.mark.root
def test_mode2_bisected_kernel_limit_is_the_predicted_one_within_a_few_pages(built):
    _need_root()
    _skip_unless_roomy(50)

    def works(offset: int) -> bool:
        st = _synced_state()
        return _alloc(oc.predict(1, method="mmap", state=st).limit_bytes + offset, "mmap")[0]

    def attempt():
        lo, hi = -8 * MiB, 8 * MiB
        if not works(lo) or works(hi):
            return "more than 8 MiB off"
        while hi - lo > PAGE:
            mid = lo + (hi - lo) // 2 // PAGE * PAGE
            lo, hi = (mid, hi) if works(mid) else (lo, mid)
        return abs(lo) <= 4 * PAGE or f"kernel limit {lo // PAGE:+d} pages off the prediction"

    _agree({"ratio": 50}, attempt)


@pytest.mark.root
@pytest.mark.skipif(not os.access(SETPRIV, os.X_OK), reason=f"{SETPRIV} (util-linux) is missing")
def test_mode2_keeps_the_admin_reserve_from_unprivileged_callers(built):
    _need_root()
    _skip_unless_roomy(50)

    def attempt():
        # the unprivileged limit is 8 MiB (admin_reserve_kbytes) below root's
        got = []
        for offset, as_nobody in ((-2 * MiB, True), (2 * MiB, True), (2 * MiB, False)):
            st = _synced_state()
            largest = oc.predict(1, method="mmap", cap_sys_admin=False, state=st).limit_bytes
            got.append(_alloc(largest + offset, "mmap", as_nobody=as_nobody))
        return got == [(True, None), (False, "ENOMEM"), (True, None)] or got

    _agree({"ratio": 50}, attempt)


def test_resync_committed_refuses_outside_mode_2(fake_proc):
    _fake_write(fake_proc, 0, 50, 0)
    with pytest.raises(RuntimeError, match="only in mode 2"):
        oc.resync_committed()
    assert _fake_settings(fake_proc) == (0, 50, 0)


def test_counter_slack_is_cpus_times_the_mode2_batch(monkeypatch):
    monkeypatch.setattr(oc, "_present_cpus", lambda: 2)
    # 4 GiB = 1048576 pages; batch = 1048576 / 2 / 256 = 2048 pages per CPU
    assert oc.counter_slack(_state(mem_total=4 * GiB)) == 2 * 2048 * PAGE


def test_mode2_reason_warns_when_the_request_is_within_the_slack():
    st = _state()
    largest = _pred(1, 2, st).limit_bytes
    assert "either way" in _pred(largest, 2, st).reason
    assert "either way" not in _pred(largest // 2, 2, st).reason


# --- RLIMIT_AS: the per-process analogue, no privilege needed ---------------------------------------

def test_rlimit_as_makes_malloc_fail_with_enomem_without_privilege(built):
    nobody = os.geteuid() == 0 and os.access(SETPRIV, os.X_OK)
    cap = oc.rlimit_as_preexec(64 * MiB)
    assert _alloc(16 * MiB, "malloc", as_nobody=nobody, preexec_fn=cap) == (True, None)
    assert _alloc(128 * MiB, "malloc", as_nobody=nobody, preexec_fn=cap) == (False, "ENOMEM")


def test_temporarily_works_in_a_kernel_holding_more_than_1024_files():
    # top.py keeps /proc files open between snapshots; select() would fail past fd 1024
    _need_root()
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1300:
        pytest.skip(f"the hard open-file limit ({hard}) is too low to hold 1300 files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1300), hard))
    files = []
    try:
        while len(files) < 1100:
            files.append(open("/dev/null"))  # noqa: SIM115
        assert files[-1].fileno() > 1024
        original = oc.settings()
        with oc.temporarily(1):
            assert oc.settings().mode == 1
        assert oc.settings() == original
    finally:
        for f in files:
            f.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
