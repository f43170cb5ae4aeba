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


@pytest.fixture(scope="session")
def built() -> Path:
    """Build c_programs/bin once per session with the project's one Makefile rule."""
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
    before, since = _vm(), time.time() - 1
    yield
    after = _vm()
    leftovers = []
    for _ in range(20):  # a program stopped at teardown may take a moment to go
        leftovers = _our_leftovers(since)
        if not leftovers:
            break
        time.sleep(0.1)
    assert after == before, f"vm settings changed by the tests: {before} -> {after}"
    assert not leftovers, "C programs left running by the tests:\n" + "\n".join(leftovers)
