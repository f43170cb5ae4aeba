"""Every notebook, both languages, runs top to bottom as a reader without root.

The test creates a user (``toplab-reader``), gives it a copy of the package, the built C programs
and the notebooks in a temporary folder it may read, and runs nbclient *as that user* with Debian's
``/usr/bin/python3`` on the venv's site-packages (the venv's own interpreter may sit under a home
folder other users cannot enter).  The kernel runs from a kernelspec written for the test, so
the kernel is that user's process too.  At teardown the user (and its home) and the folder go.

Without root nothing here can run (no useradd, no setpriv): the tests skip, except in CI, where
they must run and fail instead.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from test_notebooks import _errors

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# one Unix user per pytest-xdist worker (make test runs this module on two): toplab-reader-gw0 ...
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
READER = "toplab-reader" + (f"-{_WORKER}" if _WORKER else "")
SYSTEM_PYTHON = "/usr/bin/python3"
KERNEL_NAME = READER
CELL_TIMEOUT = 180
NOTEBOOKS = sorted(p.relative_to(REPO / "notebooks")
                   for p in (REPO / "notebooks").glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)
# big and never imported by a notebook: not worth copying when site-packages must be copied
SKIP_PACKAGES = {"playwright", "pip", "setuptools", "_distutils_hack", "__pycache__"}

RUNNER = r'''
"""Run one notebook with nbclient as this (unprivileged) user; write the executed copy."""
import os, sys, traceback
import nbformat
from nbclient import NotebookClient

assert os.geteuid() != 0, "still root"
src, out, kernel, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
nb = nbformat.read(src, as_version=4)
client = NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                        resources={"metadata": {"path": os.path.dirname(src)}})
code = 0
try:
    client.execute()
except Exception:
    traceback.print_exc()
    code = 1
nbformat.write(nb, out)
sys.exit(code)
'''


def need_root_tools(tools: tuple[str, ...], root_for: str, packages: str) -> None:
    """Skip (fail in CI, which runs as root) unless root, ``tools`` and a Python any user can run are here."""
    missing = [t for t in tools if shutil.which(t) is None]
    why = None
    if os.geteuid() != 0:
        why = f"needs root to {root_for}"
    elif missing:
        why = f"needs {', '.join(missing)} (Debian: apt-get install {packages})"
    elif not os.access(SYSTEM_PYTHON, os.X_OK):
        why = f"needs {SYSTEM_PYTHON}, which any user can run"
    if why is None:
        return
    if IN_CI:
        pytest.fail(why + "; CI runs as root, so this must run there")
    pytest.skip(why)


def _need_root() -> None:
    need_root_tools(("useradd", "userdel", "setpriv"),
                    "create a reader account (useradd) and run as it (setpriv)", "passwd util-linux")


def _python_version(python: str) -> str:
    r = subprocess.run([python, "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
                       capture_output=True, text=True, check=True)
    return r.stdout.strip()


def _as_reader(cmd: list[str], env: dict[str, str], cwd: str, timeout: float) -> subprocess.CompletedProcess:
    """Run ``cmd`` as the reader: real and effective UID and GID, its groups, no capabilities left."""
    wrap = ["setpriv", f"--reuid={READER}", f"--regid={READER}", "--init-groups", "--"]
    return subprocess.run(wrap + cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _readable_by_reader(path: Path, env: dict[str, str]) -> bool:
    r = _as_reader(["test", "-r", str(path)], env, "/", 10)
    return r.returncode == 0


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)  # the same file, in a folder the reader can enter
    except OSError:
        shutil.copy2(src, dst)


def _kill_reader_processes(uid: int) -> list[str]:
    """End what the reader account still runs (by PID: they are ours); returns what was found."""
    found = []
    for p in psutil.process_iter(["pid", "uids", "cmdline"]):
        try:
            if p.info["uids"] and p.info["uids"].real == uid:
                found.append(f"{p.pid} {' '.join(p.info['cmdline'] or [])}")
                p.kill()
        except psutil.Error:
            continue
    return found


class Reader:
    """The reader account and the folder it runs the lab from."""

    def __init__(self, root: Path, env: dict[str, str], work: Path):
        self.root, self.env, self.work = root, env, work

    def run_notebook(self, rel: Path) -> tuple[nbformat.NotebookNode, subprocess.CompletedProcess]:
        src = self.root / "repo" / "notebooks" / rel
        out = self.work / "out" / f"{rel.parent.name}-{rel.name}"
        r = _as_reader([SYSTEM_PYTHON, str(self.root / "run_notebook.py"), str(src), str(out), KERNEL_NAME,
                        str(CELL_TIMEOUT)], self.env, str(src.parent), timeout=1200)
        if not out.exists():
            pytest.fail(f"nbclient as {READER} wrote no notebook (exit {r.returncode}):\n{r.stderr[-3000:]}")
        return nbformat.read(out, as_version=4), r


@pytest.fixture(scope="module")
def reader(built) -> Reader:
    """Create toplab-reader and a readable copy of what the lab needs; remove both afterwards."""
    _need_root()
    venv_sp = Path(sysconfig.get_paths()["purelib"])
    if not (venv_sp / "nbclient").is_dir():
        pytest.skip(f"nbclient is not installed in {venv_sp}")
    if _python_version(SYSTEM_PYTHON) != f"{sys.version_info[0]}.{sys.version_info[1]}":
        msg = f"{SYSTEM_PYTHON} is not Python {sys.version_info[0]}.{sys.version_info[1]}, so it cannot use {venv_sp}"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    try:
        pwd.getpwnam(READER)
        pytest.fail(f"user {READER} already exists (left by an earlier run?): remove it with userdel -r {READER}")
    except KeyError:
        pass
    # /tmp, not $TMPDIR: that may sit under a home folder the reader cannot enter
    root = Path(tempfile.mkdtemp(prefix="toplab-unprivileged-", dir="/tmp" if os.path.isdir("/tmp") else None))
    created, left = False, []
    try:
        root.chmod(0o755)
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", "--user-group", READER],
                       check=True, capture_output=True)
        created = True
        pw = pwd.getpwnam(READER)
        # the code, read-only for the reader, as on a shared server
        repo = root / "repo"
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
        shutil.copytree(REPO / "kernel_helpers", repo / "kernel_helpers", ignore=ignore)
        shutil.copytree(built, repo / "c_programs" / "bin")
        # the notebooks and a work folder belong to the reader: a kernel may write where it runs
        shutil.copytree(REPO / "notebooks", repo / "notebooks", ignore=ignore)
        work = root / "work"
        for d in ("out", "runtime", "config", "data", "ipython"):
            (work / d).mkdir(parents=True)
        for path in [repo / "notebooks", *(repo / "notebooks").rglob("*"), work, *work.rglob("*")]:
            os.chown(path, pw.pw_uid, pw.pw_gid)
        (root / "run_notebook.py").write_text(RUNNER)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": pw.pw_dir, "USER": READER, "LOGNAME": READER,
               "LANG": "C.UTF-8", "TOPLAB_FAST": "1", "PYTHONDONTWRITEBYTECODE": "1",
               "JUPYTER_RUNTIME_DIR": str(work / "runtime"), "JUPYTER_CONFIG_DIR": str(work / "config"),
               "JUPYTER_DATA_DIR": str(work / "data"), "IPYTHONDIR": str(work / "ipython"),
               "JUPYTER_PATH": str(root / "jupyter")}
        # the venv's site-packages: in place when the reader can read it, else a linked copy
        if _readable_by_reader(venv_sp / "nbclient" / "__init__.py", env):
            sp = venv_sp
        else:
            sp = root / "site-packages"
            sp.mkdir()
            for entry in venv_sp.iterdir():
                if entry.name in SKIP_PACKAGES or entry.suffix == ".pth":
                    continue
                if entry.is_dir():
                    shutil.copytree(entry, sp / entry.name, symlinks=True, copy_function=_link_or_copy,
                                    )
                else:
                    _link_or_copy(str(entry), str(sp / entry.name))
        env["PYTHONPATH"] = f"{repo}{os.pathsep}{sp}"
        spec = root / "jupyter" / "kernels" / KERNEL_NAME
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [SYSTEM_PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"Python 3 ({READER})", "language": "python",
            "env": {"PYTHONPATH": env["PYTHONPATH"]}, "metadata": {"debugger": False},
        }))
        probe = _as_reader([SYSTEM_PYTHON, "-c", "import os, kernel_helpers, nbclient, ipykernel; "
                            "print(os.geteuid(), kernel_helpers.__file__)"], env, "/", 120)
        assert probe.returncode == 0, f"the reader cannot import the lab:\n{probe.stderr[-2000:]}"
        uid, where = probe.stdout.split()
        assert int(uid) == pw.pw_uid and where.startswith(str(repo)), probe.stdout
        yield Reader(root, env, work)
    finally:
        if created:
            uid = pwd.getpwnam(READER).pw_uid
            left = _kill_reader_processes(uid)
            for _ in range(50):
                if not any(p.uids().real == uid for p in psutil.process_iter() if _alive(p)):
                    break
                time.sleep(0.1)
            subprocess.run(["userdel", "--remove", READER], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    assert not left, f"processes of {READER} still ran after its notebooks ended:\n" + "\n".join(left)


def _alive(p: psutil.Process) -> bool:
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _text(nb: nbformat.NotebookNode) -> str:
    """Everything the code cells showed: streams, plain text and HTML results."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for o in cell.get("outputs", []):
            if o.output_type == "stream":
                parts.append(o.text)
            elif "data" in o:
                parts.extend(str(o.data.get(k, "")) for k in ("text/plain", "text/html"))
    return "\n".join(parts)


def _stderr(nb: nbformat.NotebookNode) -> list[str]:
    return [f"{cell.source[:80]!r}: {o.text[-400:]}" for cell in nb.cells if cell.cell_type == "code"
            for o in cell.get("outputs", []) if o.output_type == "stream" and o.name == "stderr"]


@pytest.mark.notebook
@pytest.mark.root
@pytest.mark.parametrize("rel", NOTEBOOKS, ids=[str(p) for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom_for_a_reader_without_root(reader, rel):
    nb, r = reader.run_notebook(rel)
    assert _errors(nb) == [], r.stderr[-2000:]
    assert r.returncode == 0, r.stderr[-3000:]
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code")
    assert _stderr(nb) == [], "the notebook printed on stderr for a reader without root"
    text = _text(nb)
    assert "Traceback" not in text
    ko = rel.parent.name == "ko"
    if rel.name == "00-start-here.ipynb":
        line = next((ln for ln in text.splitlines() if "] vm.overcommit_memory:" in ln), "")
        assert line.startswith("[ok  ]"), text
        assert ("바꿀 수 없으므로" if ko else "it cannot be changed here") in line, line
        assert "RLIMIT_AS" in line, line
    if rel.name == "2.3-memory-commit.ipynb":
        # the what-if shows a prediction and says why it did not run; the limits part ran for real
        assert ("실행하지 않음" if ko else "Not run:") in text, "the what-if did not fall back to a prediction"
        assert ("(예측)" if ko else "(predicted)") in text, "the modes table did not mark its predictions"
        assert "RLIMIT_AS" in text and "ENOMEM" in text
