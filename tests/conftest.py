"""Shared fixtures: build the C programs once, and check that no test leaves anything behind."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
VM_SETTINGS = ("overcommit_memory", "overcommit_ratio", "overcommit_kbytes")


def _vm() -> dict[str, str]:
    out = {}
    for name in VM_SETTINGS:
        try:
            out[name] = Path(f"/proc/sys/vm/{name}").read_text().strip()
        except OSError:
            pass
    return out


# Tests that run alone (`make test` runs them after the parallel part, one at a time): they change
# machine-wide settings (vm.overcommit_*), create memory cgroups, start a hub or a browser, or measure
# time, CPU or machine-wide memory figures that tests running beside them would disturb. Everything
# else runs in parallel (pytest-xdist). The notebooks run in parallel too: the lab is built for
# several kernels at once (cages hold a per-base lock; the JupyterHub test runs chapter 2.3 in five
# non-root kernels together, alone), and they assert on what they print,
# not on quiet figures. Chapter 2.3 run as root is the exception: it switches vm.overcommit_memory,
# so it runs alone (SERIAL_TESTS). Nothing in the parallel part changes a machine-wide setting.
SERIAL_MODULES = {
    "test_overcommit.py": "changes vm.overcommit_* as root",
    "test_overcommit_concurrency.py": "changes vm.overcommit_* from many processes at once, on purpose",
    "test_cgroup.py": "creates memory cgroups",
    "test_lessons_ch2_3.py": "modes table as root, the OOM cage, Committed_AS deltas",
    "test_claims.py": "every measured claim: Committed_AS deltas, the modes table, cgroups, faults per step",
    "test_c_programs_timing.py": "measures time",
    "test_sampler.py": "measures the sampling rate",
    "test_browser.py": "a real JupyterLab in Chromium: CPU-heavy, with time limits",
    "test_binder_like.py": "namespaces and cgroups as root",
    "test_top.py": "compares %CPU, the Tasks line and load with the real top: needs a quiet machine",
    "test_lessons_ch2_1.py": "%CPU of busy processes, the Tasks line",
    "test_lessons_ch2_4.py": "nice under contention and %CPU over 100: needs the CPUs to itself",
    "test_jupyterhub.py": "five users run chapter 2.3 at once on a hub, in its time limits: the CPUs are theirs",
}


# Single tests elsewhere that must run alone too: (module, test name or its start, why).
SERIAL_TESTS = (
    ("test_widgets.py", "test_as_root_the_mode_", "sets vm.overcommit_memory for real, for seconds"),
    ("test_widgets.py", "test_whatif_as_root_runs_mode_1_for_real", "sets vm.overcommit_memory for real"),
    ("test_widgets.py", "test_whatif_prediction_matches_the_kernel_in_the_current_mode",
     "reads the mode, then asks the kernel: another test must not switch it in between"),
    ("test_no_leftovers.py", "test_stopping_the_kernel_mid_demo_leaves_nothing_running[overcommit",
     "the overcommit demo holds vm.overcommit_memory changed while the kernel is stopped"),
    ("test_notebooks.py", "test_notebook_runs_top_to_bottom_without_errors[en/2.3",
     "chapter 2.3 as root switches vm.overcommit_memory for its modes table"),
    ("test_notebooks.py", "test_notebook_runs_top_to_bottom_without_errors[ko/2.3",
     "chapter 2.3 as root switches vm.overcommit_memory for its modes table"),
)


# A module-scoped fixture that makes something machine-wide runs once per xdist worker: name it
# per worker (test_unprivileged.py: toplab-reader-gw0, toplab-reader-gw1).


# The three groups that need the whole machine for a minute each and would take `make test` past
# five minutes on 2 cores: they run in `make test-heavy` (CI runs it after `make test`), alone.
HEAVY_MODULES = {
    "test_jupyterhub.py": "a real JupyterHub with five Unix users running chapter 2.3 at once (about 70 s)",
    "test_overcommit_concurrency.py": "100 rounds of two processes switching vm.overcommit_memory (about 50 s)",
    "test_browser.py": "a real JupyterLab in headless Chromium (about 20 s, and the CPU to itself)",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in HEAVY_MODULES:
            item.add_marker(pytest.mark.heavy)
        if item.path.name in SERIAL_MODULES or any(
                item.path.name == mod and item.name.startswith(name) for mod, name, _ in SERIAL_TESTS):
            item.add_marker(pytest.mark.serial)


def _settled_vm() -> dict[str, str]:
    """The settings once no one holds them changed: a notebook in another worker may be inside an
    overcommit.temporarily() block right now, and it holds the machine-wide lock while it is."""
    from kernel_helpers import overcommit

    try:
        with overcommit._machine_lock(wait=60):
            return _vm()
    except (OSError, overcommit.OvercommitBusyError):
        return _vm()


@pytest.fixture(scope="session")
def built() -> Path:
    """Build c_programs/bin once per session with the project's one Makefile rule (one worker at a
    time: two gcc writing one binary, or one running while another replaces it, would race)."""
    import fcntl

    with open(REPO / "c_programs" / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        r = subprocess.run(["make", "-s", "-C", str(REPO), "build"], capture_output=True, text=True)
    assert r.returncode == 0, f"make build failed (is gcc installed?):\n{r.stdout}\n{r.stderr}"
    return REPO / "c_programs" / "bin"


def _our_leftovers(since: float) -> list[str]:
    """C programs started during this session that still run: our descendants, or orphans handed to init.

    Programs of other sessions on the same machine (started earlier, or under another parent) are not ours.
    """
    me = os.getpid()
    bin_dir = str(REPO / "c_programs" / "bin")
    found = []
    for p in psutil.process_iter(["pid", "cmdline", "create_time", "status"]):
        try:
            cmd = p.info["cmdline"] or []
            if not cmd or not cmd[0].startswith(bin_dir) or p.info["create_time"] < since:
                continue
            if p.info["status"] == psutil.STATUS_ZOMBIE and p.ppid() != me:
                continue  # dead, waiting for init to collect it
            chain = [a.pid for a in p.parents()]
            if me in chain or p.ppid() == 1:
                found.append(f"{p.pid} {' '.join(cmd)}")
        except psutil.Error:
            continue
    return found


@pytest.fixture(autouse=True, scope="session")
def _machine_left_as_found():
    """Fail the session if vm.overcommit_* changed or a C program it started is still running."""
    before, since = _settled_vm(), time.time() - 1
    yield
    after = _settled_vm()
    leftovers = []
    for _ in range(20):  # a program stopped at teardown may take a moment to go
        leftovers = _our_leftovers(since)
        if not leftovers:
            break
        time.sleep(0.1)
    assert after == before, f"vm settings changed by the tests: {before} -> {after}"
    assert not leftovers, "C programs left running by the tests:\n" + "\n".join(leftovers)
