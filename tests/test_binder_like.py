"""Chapter 2.3 where Binder and most JupyterHubs run it: /proc/sys and the cgroups read-only.

Each test starts a private mount namespace (``unshare --mount --propagation private``), remounts
/proc/sys and every mount under /sys/fs/cgroup read-only inside it, and runs chapter 2.3's lesson
functions there with TOPLAB_FAST=1: once as an unprivileged user (nobody), once as root.  A
``sudo`` that works without a password is put first on PATH, as some images have one: it must
not make the lesson believe the mode can be changed.  Nothing outside the namespace changes;
the test checks that vm.overcommit_* and the host's mounts are as before.

Needs root (unshare, mount, setpriv); skipped otherwise, except in CI, where it must run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from test_notebooks import _errors
from test_unprivileged import RUNNER as NB_RUNNER
from test_unprivileged import need_root_tools

REPO = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = "/usr/bin/python3"  # the venv's interpreter may sit under a folder nobody can enter
NOBODY = 65534
VM = Path("/proc/sys/vm")
SETTINGS = ("overcommit_memory", "overcommit_ratio", "overcommit_kbytes")
RUN_TIMEOUT = 200  # seconds; a run takes about 2

# Inside the new mount namespace: /proc/sys and the cgroup mounts read-only, then the command.
READ_ONLY = r'''
set -e
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
mountpoint -q /sys/fs/cgroup || mount --bind /sys/fs/cgroup /sys/fs/cgroup
for m in $(awk '$5 == "/sys/fs/cgroup" || $5 ~ "^/sys/fs/cgroup/" {print $5}' /proc/self/mountinfo); do
    mount -o remount,bind,ro "$m"
done
exec "$@"
'''

# A sudo that asks for no password and runs the command as the same user (-n and -- dropped).
FAKE_SUDO = '''#!/bin/sh
while [ "$1" = "-n" ] || [ "$1" = "--" ]; do shift; done
exec "$@"
'''

RUNNER = r'''
"""Run chapter 2.3's functions here; print one JSON line with what they returned or raised."""
import contextlib, io, json, os, sys, time, traceback

out = {"uid": os.geteuid()}

def step(name, fn):
    buf, t0 = io.StringIO(), time.monotonic()
    print(f"{name}...", end=" ", file=sys.stderr, flush=True)
    try:
        with contextlib.redirect_stdout(buf):
            out[name] = fn()
    except BaseException as e:
        out[name + "_error"] = f"{type(e).__name__}: {e}\n" + traceback.format_exc()
    out[name + "_printed"] = buf.getvalue()
    print(f"{time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)

from kernel_helpers import overcommit, quiz
from kernel_helpers.cgroup import MemoryCage
from kernel_helpers.lessons import ch2_3 as L

out["read_only"] = {p: bool(os.statvfs(p).f_flag & os.ST_RDONLY)
                    for p in ("/proc/sys/vm/overcommit_memory", "/sys/fs/cgroup")}
step("can_change", overcommit.can_change)
step("change_method", overcommit.change_method)
step("machine", lambda: {k: str(v) for k, v in L.machine().data.attrs.items()})
step("commit_now", lambda: L.commit_now().data.to_dict())
def steady(fn):
    """fn() while vm.overcommit_* held still (other test sessions on this machine may change them)."""
    for _ in range(20):
        before = overcommit.settings()
        value = fn()
        if overcommit.settings() == before:
            return {"value": value, "settings": [before.mode, before.ratio, before.kbytes]}
        time.sleep(0.5)
    return {"value": value, "settings": None}
def modes():
    t = L.modes_table(ratio=50)
    return {"cells": t.to_dict(), "real": t.attrs["real"], "explain": L.explain_modes(t)}
step("modes", lambda: steady(modes))
step("boundary", lambda: steady(lambda: L.mode0_boundary().to_dict(orient="records")))
def rlimit():
    r = L.rlimit_demo()
    return {"errno": (r.failed or {}).get("errno"), "ok_steps": r.ok_steps,
            "predicted": r.predicted_ok_steps, "returncode": r.returncode}
step("rlimit", rlimit)
def oom():
    r = L.oom_demo()
    text = L.check_oom(quiz.get("2.3-oom"), r)
    r.show()
    return {"ran": r.ran, "why_not": r.why_not, "outcome": r.outcome, "check": text}
step("oom", oom)
def set_mode():
    try:
        overcommit.set_mode(1)
    except overcommit.OvercommitPermissionError as e:
        return {"raised": "OvercommitPermissionError", "command": e.command, "message": str(e)}
    return {"raised": None}
step("set_mode", set_mode)
def temporarily():
    started = []
    overcommit._start_guard = lambda *a, **k: started.append(1)
    try:
        with overcommit.temporarily(1):
            pass
    except overcommit.OvercommitPermissionError as e:
        return {"raised": "OvercommitPermissionError", "guards": len(started), "message": str(e)}
    return {"raised": None, "guards": len(started)}
step("temporarily", temporarily)
os.environ["TOPLAB_LANG"] = "ko"
step("cage_ko", MemoryCage.available)
step("machine_ko", lambda: L.machine().data.to_dict())
print(json.dumps(out, default=str))
'''


def _vm() -> dict[str, str]:
    return {n: (VM / n).read_text().strip() for n in SETTINGS}


def _back_to(before: dict[str, str], seconds: float = 30.0) -> dict[str, str]:
    """vm.overcommit_* once they equal ``before`` again: another test session on this machine may be
    inside a short temporarily() block right now (they are global), so give it time to end."""
    deadline = time.monotonic() + seconds
    now = _vm()
    while now != before and time.monotonic() < deadline:
        time.sleep(0.2)
        now = _vm()
    return now


def _mounts() -> list[str]:
    """The host's mounts (this namespace's): mount point and options."""
    return [" ".join(line.split()[4:6]) for line in Path("/proc/self/mountinfo").read_text().splitlines()]


def _need() -> None:
    need_root_tools(("unshare", "mount", "mountpoint", "setpriv"),
                    "make a mount namespace with read-only /proc/sys and cgroups", "util-linux mount")


@pytest.fixture(scope="module")
def place(built) -> Iterator[Path]:
    """A folder every user can read: the runner script and the fake sudo."""
    _need()
    venv = sysconfig.get_paths()["purelib"]
    r = subprocess.run([SYSTEM_PYTHON, "-c", "import sys; print(sys.version_info[:2])"],
                       capture_output=True, text=True, check=True)
    if r.stdout.strip() != str(tuple(sys.version_info[:2])):
        pytest.skip(f"{SYSTEM_PYTHON} is not Python {sys.version_info[0]}.{sys.version_info[1]}, so it cannot "
                    f"use {venv}")
    top = Path(tempfile.mkdtemp(prefix="toplab-binder-", dir="/tmp"))
    try:
        top.chmod(0o755)
        (top / "bin").mkdir()
        (top / "bin" / "sudo").write_text(FAKE_SUDO)
        (top / "bin" / "sudo").chmod(0o755)
        (top / "runner.py").write_text(RUNNER)
        (top / "run_notebook.py").write_text(NB_RUNNER)
        yield top
    finally:
        shutil.rmtree(top)


def _env(place: Path, **extra: str) -> dict[str, str]:
    return {"PATH": f"{place / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": "/", "LANG": "C.UTF-8",
            "TOPLAB_FAST": "1", "TOPLAB_LANG": "en", "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": f"{REPO}{os.pathsep}{sysconfig.get_paths()['purelib']}", **extra}


def _in_read_only_namespace(cmd: list[str], env: dict[str, str], as_root: bool,
                            timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    """Run ``cmd`` in a new mount namespace with /proc/sys and the cgroups read-only, as nobody
    (or root); check that the machine's settings and this namespace's mounts did not change."""
    if not as_root:
        cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--", *cmd]
    before_vm, before_mounts = _vm(), _mounts()
    try:
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", READ_ONLY, "sh",
                            *cmd], env=env, cwd="/", capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:  # run() has killed it (our child, by PID)
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        pytest.fail(f"over {timeout} s in the read-only namespace; what it said:\n{err[-3000:]}")
    assert _back_to(before_vm) == before_vm, "vm.overcommit_* changed"
    assert _mounts() == before_mounts, "the namespace's mounts leaked out"
    return r


def _run(place: Path, as_root: bool) -> dict:
    """The lesson in the read-only namespace, as nobody or as root; its JSON record."""
    r = _in_read_only_namespace([SYSTEM_PYTHON, str(place / "runner.py")], _env(place), as_root)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    errors = {k: v for k, v in out.items() if k.endswith("_error")}
    assert not errors, "\n".join(errors.values())
    assert out["uid"] == (0 if as_root else NOBODY)
    assert out["read_only"] == {"/proc/sys/vm/overcommit_memory": True, "/sys/fs/cgroup": True}
    return out


def _common(out: dict) -> None:
    """What every reader in such a container must see, root or not."""
    ok, why = out["change_method"]
    assert ok is None and out["can_change"] is False
    assert "read-only mount" in why and "not even root or sudo" in why
    m = out["machine"]
    assert m["can_change"] == "False" and "read-only mount" in m["change_why"]
    assert m["cage"] == "False" and "not writable" in m["cage_why"]
    # the modes table: the current mode for real, the others predicted, and it says why
    assert out["modes"]["settings"] is not None, "vm.overcommit_* kept changing (another test session?)"
    mode, ratio, kbytes = out["modes"]["settings"]
    modes = out["modes"]["value"]
    assert modes["real"] is False
    for col, cells in modes["cells"].items():
        current = col.startswith(f"mode {mode}") and (mode != 2 or ratio == 50) and kbytes == 0
        assert all(("(predicted)" in c) != current for c in cells.values()), (col, cells)
    assert "predicted" in modes["explain"] and "cannot change vm.overcommit_memory" in modes["explain"]
    # mode 0's line, to the byte: the largest request passes, one byte more does not
    if out["boundary"]["settings"] is not None and out["boundary"]["settings"][0] == 0:
        rows = out["boundary"]["value"]
        answers = [row["kernel's answer"] for row in rows]
        assert answers == ["ok", "ENOMEM"] and [row["predicted"] for row in rows] == answers
    assert out["rlimit"]["errno"] == "ENOMEM" and out["rlimit"]["returncode"] is None
    assert abs(out["rlimit"]["ok_steps"] - out["rlimit"]["predicted"]) <= 1
    oom = out["oom"]
    assert oom["ran"] is False and oom["outcome"] == "not run"
    assert "not writable (mounted read-only here)" in oom["why_not"]
    assert "needs root or a delegated cgroup v2 subtree" in oom["why_not"]
    assert "could not run here" in oom["check"] and "SIGKILL" in oom["check"]
    assert f"Not run here: {oom['why_not']}" in out["oom_printed"]
    # changing the mode: a clear refusal, no traceback, no guard process left running
    assert out["set_mode"]["raised"] == "OvercommitPermissionError"
    assert "read-only mount" in out["set_mode"]["message"]
    assert out["temporarily"] == {"raised": "OvercommitPermissionError", "guards": 0,
                                  "message": out["temporarily"]["message"]}
    # in Korean too
    ok_ko, why_ko = out["cage_ko"]
    assert ok_ko is False and "쓸 수 없습니다(여기서는 읽기 전용으로 마운트됨)" in why_ko
    assert out["machine_ko"]["값"]["여기서 모드 변경 가능"].startswith("아니요(")


@pytest.mark.root
def test_chapter_2_3_as_an_unprivileged_user_in_a_read_only_container(place):
    t0 = time.monotonic()
    out = _run(place, as_root=False)
    _common(out)
    assert time.monotonic() - t0 < 120


@pytest.mark.root
def test_root_in_a_read_only_container_is_told_it_cannot_change_the_mode(place):
    out = _run(place, as_root=True)
    _common(out)
    assert "sudo sysctl -w vm.overcommit_memory=1" == out["set_mode"]["command"]


@pytest.mark.root
@pytest.mark.notebook
def test_the_2_3_notebook_runs_in_a_read_only_container_as_nobody(place):
    """The chapter's notebook, top to bottom, with nbclient and its kernel both running as nobody."""
    work = place / "nb"
    for d in ("out", "runtime", "config", "data", "ipython"):
        (work / d).mkdir(parents=True, exist_ok=True)
    spec = place / "jupyter" / "kernels" / "toplab-binder"
    spec.mkdir(parents=True, exist_ok=True)
    env = _env(place, HOME=str(work), JUPYTER_RUNTIME_DIR=str(work / "runtime"),
               JUPYTER_CONFIG_DIR=str(work / "config"), JUPYTER_DATA_DIR=str(work / "data"),
               IPYTHONDIR=str(work / "ipython"), JUPYTER_PATH=str(place / "jupyter"))
    env.pop("TOPLAB_LANG")  # the kernel runs in notebooks/en, so the notebook speaks English
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [SYSTEM_PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (nobody)", "language": "python", "metadata": {"debugger": False},
        "env": {"PYTHONPATH": env["PYTHONPATH"], "TOPLAB_FAST": "1", "PATH": env["PATH"]}}))
    for path in [work, *work.rglob("*")]:
        os.chown(path, NOBODY, NOBODY)
    src = REPO / "notebooks" / "en" / "2.3-memory-commit.ipynb"
    out = work / "out" / src.name
    r = _in_read_only_namespace([SYSTEM_PYTHON, str(place / "run_notebook.py"), str(src), str(out),
                                 "toplab-binder", "180"], env, as_root=False, timeout=280)
    assert out.exists(), f"nbclient wrote no notebook (exit {r.returncode}):\n{r.stderr[-3000:]}"
    nb = nbformat.read(out, as_version=4)
    assert _errors(nb) == [], r.stderr[-2000:]
    assert r.returncode == 0, r.stderr[-3000:]
    text = "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                     + str(o.get("data", {}).get("text/html", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "Traceback" not in text
    assert "read-only mount" in text, "the machine table did not say why the mode cannot change"
    assert "(predicted)" in text and "Not run:" in text
    assert "RLIMIT_AS" in text and "ENOMEM" in text
    assert "Not run here: cgroup v1" in text or "Not run here: cgroup v2" in text or \
        "Not run here: no memory cgroup" in text
