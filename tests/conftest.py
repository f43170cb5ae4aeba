"""Shared fixtures: build the C programs once, and check that no test leaves anything behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

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


@pytest.fixture(autouse=True, scope="session")
def _machine_left_as_found():
    """Fail the session if vm.overcommit_* changed or a C program is still running afterwards."""
    before = _vm()
    yield
    after = _vm()
    leftovers = subprocess.run(["pgrep", "-af", str(REPO / "c_programs" / "bin")],
                               capture_output=True, text=True).stdout.strip()
    assert after == before, f"vm settings changed by the tests: {before} -> {after}"
    assert not leftovers, f"C programs left running by the tests:\n{leftovers}"
