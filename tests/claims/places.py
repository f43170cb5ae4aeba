"""Claim checks about the places readers run the lab in (issue #11): the OOM cage everywhere root
has a memory cgroup, and a cgroup v2 subtree delegated to an unprivileged user.

``places-oom-cage`` runs chapter 2.3's OOM demo as it stands (v1 or v2, as root).
``places-v2-delegated`` sets up what systemd's ``Delegate=yes`` sets up (a cgroup chowned to the
user, with the memory controller passed down), starts an unprivileged child inside it, and lets
the child cage malloc_test with :class:`kernel_helpers.cgroup.MemoryCage`, in two layouts:
the child living in the delegated cgroup itself (leaf mode), and the child in a leaf the
delegation already has (the cage goes beside it); and, as a control, a cgroup that is not
delegated, where the child must be told why no cage can be made. The child runs the project's code
from a copy every user can read (kernel_helpers and c_programs/bin in a 0755 folder under /tmp), as a
clone under /root is closed to it. Where root cannot make cgroups at the top of the hierarchy (a
container's read-only /sys/fs/cgroup, or a cgroup namespace whose top holds processes) the check is
skipped with the reason. Everything made is removed afterwards, and only our own children are
killed, by PID.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from kernel_helpers import kernelcase, procfs

from . import Outcome, Skip, claim

REPO = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024
CGROUP_V2 = "/sys/fs/cgroup"
READER = "reader"  # the VM's unprivileged user (uid 1000); else uid 1000 by number
READER_UID = 1000
LIMIT_MIB = 32
CHILD_TIMEOUT = 180.0  # seconds; Python under qemu TCG is ~15x slower than natively


# --- the OOM demo as root (v1 or v2) ----------------------------------------------------------

@claim("places-oom-cage", "2.3", "As root, the OOM demo's memory cgroup SIGKILLs malloc_test near its limit "
       "(cgroup v1 or v2)", needs_root=True)
def oom_cage() -> Outcome:
    from kernel_helpers.cgroup import MemoryCage

    ok, why = MemoryCage.available()
    if not ok:
        raise Skip(why)
    from kernel_helpers.lessons import ch2_3

    limit = LIMIT_MIB * MiB
    r = ch2_3.oom_demo(limit_mib=LIMIT_MIB, interval_ms=20, timeout=120)
    version = MemoryCage(limit).version
    holds = (r.ran and r.killed and (r.oom_kills or 0) >= 1 and r.enomem_steps == 0
             and limit - 16 * MiB <= r.touched < limit and r.cgroup_removed)
    figures = (f"cgroup v{version} {r.cgroup} ({LIMIT_MIB} MiB): {r.exit} after {r.touched // MiB} MiB written "
               f"in {r.seconds:.1f} s, oom_kill={r.oom_kills}, peak "
               f"{'?' if r.peak is None else f'{r.peak / MiB:.1f} MiB'}, "
               f"cgroup {'removed' if r.cgroup_removed else 'LEFT BEHIND'}")
    return Outcome(holds, figures, {
        "version": version, "cgroup": r.cgroup, "returncode": r.returncode, "touched": r.touched,
        "oom_kills": r.oom_kills, "peak": r.peak, "enomem_steps": r.enomem_steps,
        "seconds": round(r.seconds, 2), "cgroup_removed": r.cgroup_removed})


# --- cgroup v2, delegated to an unprivileged user ----------------------------------------------

CHILD = r'''
import json, os, signal, sys, time

limit_mib = int(sys.argv[1])

def here(pid="self"):
    with open(f"/proc/{pid}/cgroup") as f:
        return next(ln[3:].strip() for ln in f if ln.startswith("0::"))

buddy = os.fork()  # another process of the lab in the same cgroup, as a Jupyter server would be
if buddy == 0:
    time.sleep(600)
    os._exit(0)
from kernel_helpers import programs
from kernel_helpers.cgroup import MemoryCage

out = {"uid": os.geteuid(), "cgroup_before": here(), "buddy_before": here(buddy)}
ok, why = MemoryCage.available()
out.update(available=ok, why=why)
if ok:
    prog = programs.malloc_test(step_mib=1, interval_ms=10, touch="all", max_mib=limit_mib + 32, wait_go=True)
    cage = MemoryCage(limit_mib * 1024 * 1024)
    try:
        with cage:
            out.update(cage=cage.path, base=cage.base, leaf=cage.leaf, cgroup_during=here(),
                       buddy_during=here(buddy))
            prog.start()
            cage.add(prog.pid)
            prog.send("go")
            deadline = time.monotonic() + 120
            while prog.running and time.monotonic() < deadline and prog.last("cap") is None:
                time.sleep(0.02)
            prog.stop()
            out.update(oom_kills=cage.oom_kills(), peak=cage.peak())
    finally:
        prog.stop()
    steps = [e for e in prog.events if e["event"] == "step"]
    out.update(returncode=prog.returncode, exit=prog.exit_description("en"),
               touched=max((int(e.get("touched", 0)) for e in steps), default=0),
               enomem_steps=sum(1 for e in steps if e.get("ok") == 0),
               cage_removed=not os.path.exists(cage.path), leaf_left=cage.leaf, cgroup_after=here())
out["buddy_after"] = here(buddy)
os.kill(buddy, signal.SIGKILL)  # our own child, by its PID
os.waitpid(buddy, 0)
print(json.dumps(out))
'''


def _reader() -> tuple[int, int]:
    try:
        pw = pwd.getpwnam(READER)
        return pw.pw_uid, pw.pw_gid
    except KeyError:
        return READER_UID, READER_UID


def _world_runnable(path: str) -> bool:
    """Every folder on the way is searchable by others and the file executable by them."""
    real = os.path.realpath(path)
    parts = Path(real).parents
    try:
        return (os.stat(real).st_mode & stat.S_IXOTH != 0
                and all(os.stat(p).st_mode & stat.S_IXOTH for p in parts))
    except OSError:
        return False


def _python() -> str:
    """An interpreter the reader can start (a venv's may live under /root); the child needs only the stdlib."""
    for exe in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        if exe and _world_runnable(exe):
            return exe
    raise Skip(f"no Python that uid {READER_UID} may run ({sys.executable} sits in a folder others cannot enter)")


def _procs(d: str) -> list[int]:
    try:
        with open(os.path.join(d, "cgroup.procs")) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def _remove_tree(top: str) -> None:
    """rmdir a cgroup subtree, deepest first; what still runs there is ours (our child's programs)."""
    if not os.path.isdir(top):
        return
    for d, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
        for pid in _procs(d):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError as e:
                if e.errno != errno.EBUSY:
                    raise
                time.sleep(0.05)


def _delegate(d: str, uid: int, gid: int, layout: str) -> str:
    """Make ``d`` as systemd's Delegate=yes does: the folder and its procs, subtree_control and
    threads files chowned to the user. Layout "own": the child lives in ``d``; "leaf": in
    ``d/payload``, with memory already given to the children; "none": ``d`` stays root's (no
    delegation). Returns the cgroup the child starts in."""
    os.mkdir(d)
    if layout == "none":
        return d
    for name in ("", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"):
        os.chown(os.path.join(d, name), uid, gid)
    if layout == "own":
        return d
    _write(os.path.join(d, "cgroup.subtree_control"), "+memory")
    payload = os.path.join(d, "payload")
    os.mkdir(payload)
    for name in ("", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"):
        os.chown(os.path.join(payload, name), uid, gid)
    return payload


def _place_and_drop(cg: str, uid: int, gid: int) -> Callable[[], None]:
    """preexec_fn: join cgroup ``cg`` while still root, then become the reader for good."""

    def run() -> None:
        _write(os.path.join(cg, "cgroup.procs"), str(os.getpid()))
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)

    return run


def _run_child(start_in: str, uid: int, gid: int, python: str, code: Path) -> dict:
    """CHILD as the reader, in cgroup ``start_in``, importing the project from ``code`` (see _readable_copy)."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1",
           "TOPLAB_FAST": "1", "TOPLAB_LANG": "en", "HOME": "/"}
    proc = subprocess.Popen([python, "-c", CHILD, str(LIMIT_MIB)], env=env, cwd="/",
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=_place_and_drop(start_in, uid, gid))
    try:
        out, err = proc.communicate(timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()  # our own child, by its PID
        out, err = proc.communicate()
        return {"error": f"timed out after {CHILD_TIMEOUT:.0f} s", "stderr": err[-1500:]}
    lines = out.strip().splitlines()
    try:
        rec = json.loads(lines[-1])
    except (IndexError, ValueError):
        return {"error": f"exit status {proc.returncode}, no result", "stderr": err[-1500:]}
    rec["child_returncode"] = proc.returncode
    return rec


def _judge(rec: dict, d: str, start_in: str, leaf_mode: bool) -> tuple[bool, str]:
    """Did the unprivileged child get its malloc_test OOM-killed in a cage under ``d``, and tidy up?"""
    if "error" in rec:
        return False, f"child failed: {rec['error']}: {rec.get('stderr', '')[-300:]}"
    if not rec.get("available"):
        return False, f"MemoryCage not available for uid {rec.get('uid')}: {rec.get('why')}"
    rel_d = "/" + os.path.relpath(d, CGROUP_V2)
    cage = rec.get("cage") or ""
    killed = rec.get("returncode") == -signal.SIGKILL and (rec.get("oom_kills") or 0) >= 1
    inside = cage.startswith(d + "/") and rec.get("base") == d
    home = "/" + os.path.relpath(start_in, CGROUP_V2)
    tidy = (rec.get("cage_removed") and rec.get("leaf_left") is None
            and rec.get("cgroup_after") == rec.get("cgroup_before") == home
            and rec.get("buddy_after") == rec.get("buddy_before") == home)
    # leaf mode moves every process of the cgroup into the leaf for the demo; otherwise none moves
    moved = (bool(rec.get("leaf")) == leaf_mode and rec.get("buddy_during") == rec.get("cgroup_during")
             and (rec.get("cgroup_during") != home) == leaf_mode)
    ok = bool(killed and inside and tidy and moved and rec.get("child_returncode") == 0)
    how = "leaf mode" if leaf_mode else "ready-made leaf"
    text = (f"{how}: uid {rec.get('uid')} caged malloc_test in {'/' + os.path.relpath(cage, CGROUP_V2)} "
            f"({LIMIT_MIB} MiB): {rec.get('exit')} after {int(rec.get('touched') or 0) // MiB} MiB, "
            f"oom_kill={rec.get('oom_kills')}; kernel and its sibling process in {rec.get('cgroup_during')} "
            f"and {rec.get('buddy_during')} during, {rec.get('cgroup_after')} and {rec.get('buddy_after')} after")
    if not inside:
        text += f" (NOT under {rel_d})"
    if not tidy:
        text += " (NOT tidied up)"
    if not moved:
        text += " (moved the wrong processes)"
    return ok, text


@contextlib.contextmanager
def _readable_copy() -> Iterator[Path]:
    """What the child imports and runs (kernel_helpers, c_programs/bin), copied into a folder under /tmp
    that every user can read: the reader cannot enter a clone under /root. Removed afterwards."""
    built = REPO / "c_programs" / "bin" / "malloc_test"
    if not built.is_file():
        raise Skip(f"{built} is not built (run `make build`)")
    top = Path(tempfile.mkdtemp(prefix="toplab-deleg-code-", dir="/tmp"))
    try:
        skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
        shutil.copytree(REPO / "kernel_helpers", top / "kernel_helpers", ignore=skip)
        shutil.copytree(REPO / "c_programs" / "bin", top / "c_programs" / "bin")
        for d, _, files in os.walk(top):  # whatever the umask and the clone's modes were
            os.chmod(d, 0o755)
            for name in files:
                f = os.path.join(d, name)
                os.chmod(f, 0o755 if os.stat(f).st_mode & stat.S_IXUSR else 0o644)
        if not _world_runnable(str(top / "c_programs" / "bin" / "malloc_test")):
            raise Skip(f"{top} cannot be entered by other users (a folder above it is closed to them)")
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _cgroup_top_usable(uid: int, gid: int) -> None:
    """Skip, saying why, where root cannot make a cgroup at the top and hand it to the reader:
    as places-oom-cage skips where MemoryCage.available() says no cage can be made."""
    if procfs.read_only_mount(CGROUP_V2):
        raise Skip(f"{CGROUP_V2} is mounted read-only here (a container, most likely): no cgroup can be made "
                   "there, not even by root, so there is nothing to delegate")
    if not os.access(CGROUP_V2, os.W_OK | os.X_OK):
        raise Skip(f"{CGROUP_V2} is not writable here, not even by root (a container's cgroups, most likely)")
    probe = os.path.join(CGROUP_V2, f"toplab-deleg-{os.getpid()}-probe")
    try:
        os.mkdir(probe)
        try:
            os.chown(probe, uid, gid)
        finally:
            os.rmdir(probe)
    except OSError as e:
        raise Skip(f"root cannot make a cgroup in {CGROUP_V2} and hand it to uid {uid} here "
                   f"({e.strerror}; a container's cgroups, most likely)") from None


def _enable_memory(root_sub: str) -> None:
    """Give the top's children the memory controller, as systemd and the VMs' /init do; Skip where it cannot be."""
    try:
        _write(root_sub, "+memory")
    except OSError as e:
        if e.errno == errno.EBUSY:  # "no internal processes": a cgroup namespace's top is not the real root
            why = (f"the top cgroup here ({CGROUP_V2}) holds processes, so it cannot give the memory controller "
                   "to its children (a container's cgroup namespace, most likely)")
        else:
            why = f"root cannot enable the memory controller in {root_sub} here ({e.strerror})"
        raise Skip(why) from None


def _stale_trees() -> None:
    """Subtrees left by an earlier run of this check that died (its PID is gone)."""
    for name in os.listdir(CGROUP_V2):
        parts = name.split("-")
        if name.startswith("toplab-deleg-") and len(parts) >= 3 and parts[2].isdigit():
            try:
                os.kill(int(parts[2]), 0)
            except ProcessLookupError:
                with contextlib.suppress(OSError):
                    _remove_tree(os.path.join(CGROUP_V2, name))


@claim("places-v2-delegated", "2.3", "On cgroup v2, an unprivileged user with a delegated subtree gets the "
       "OOM demo's cage (the caged malloc_test is SIGKILLed) and the subtree is left as found; without "
       "delegation the user is told what is missing", needs_root=True)
def v2_delegated() -> Outcome:
    version = kernelcase.cgroup_version(CGROUP_V2)
    if version == 1:
        raise Skip("this machine uses cgroup v1 for memory (delegation is a cgroup v2 feature)")
    if version is None:
        raise Skip(f"no cgroup v2 with the memory controller at {CGROUP_V2}")
    uid, gid = _reader()
    python = _python()
    _cgroup_top_usable(uid, gid)
    root_sub = os.path.join(CGROUP_V2, "cgroup.subtree_control")
    enabled_here = False
    _stale_trees()
    results, texts, data = [], [], {}
    try:
        with _readable_copy() as code:
            if "memory" not in _read(root_sub).split():
                _enable_memory(root_sub)  # the VM's /init does this; a real host's systemd too
                enabled_here = True
            for layout in ("own", "leaf", "none"):
                d = os.path.join(CGROUP_V2, f"toplab-deleg-{os.getpid()}-{layout}")
                try:
                    start_in = _delegate(d, uid, gid, layout)
                    rec = _run_child(start_in, uid, gid, python, code)
                    rec["subtree_control_after"] = _read(os.path.join(d, "cgroup.subtree_control"))
                    if layout == "none":  # no delegation: no cage, and the reason says what is missing
                        why = str(rec.get("why", ""))
                        ok = rec.get("available") is False and f"is not delegated to uid {uid}" in why \
                            and "Delegate=yes" in why and rec.get("child_returncode") == 0
                        text = f"not delegated: {why or rec.get('error')}"
                    else:
                        ok, text = _judge(rec, d, start_in, leaf_mode=layout == "own")
                    if layout == "own" and rec["subtree_control_after"]:
                        ok, text = False, text + f" (memory left on: '{rec['subtree_control_after']}')"
                finally:
                    _remove_tree(d)
                ok = ok and not os.path.exists(d)
                results.append(ok)
                texts.append(text)
                data[layout] = rec
    finally:
        if enabled_here:
            with contextlib.suppress(OSError):
                _write(root_sub, "-memory")
    return Outcome(all(results), "; ".join(texts), data)
