"""A JupyterLab server of our own, for the browser test and the chart benchmark, and what both share.

``LabServer(root)`` runs ``python -m jupyterlab`` headless on 127.0.0.1: a free port, a random
token, every Jupyter directory under ``root`` (nothing of the user's is read or written), the
news toast turned off (the repository's jupyter/overrides.json, the one ``make venv`` installs)
and ``--LabApp.expose_app_in_browser=True``, so a page can reach ``window.jupyterapp``. Notebooks
are served from ``root/notebooks``; the server's log goes to ``root/lab.log``. It is stopped by
its PID: POST /api/shutdown (its kernels go with it), then SIGTERM, then SIGKILL; a kernel that
outlives it (each runs in a session of its own) is then ended by its PID.

Imported as ``tools.labserver``: ``python -m bench.run`` runs from the repository, whose folder is
then on sys.path; the tests that use it put it there.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("TOPLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
JUPYTER_DIRS = (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                ("JUPYTERLAB_SETTINGS_DIR", "user-settings"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
                ("IPYTHONDIR", "ipython"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(url: str, timeout: float = 2.0) -> int:
    """The HTTP status of a GET on ``url``; 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def launch_chromium(playwright):
    """Debian's Chromium (or $TOPLAB_CHROMIUM), headless, through playwright (never `playwright install`)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def _alive(p: psutil.Process) -> bool:
    """Still running (a zombie has ended; psutil notices a PID that now belongs to another process)."""
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class LabServer:
    """A JupyterLab server in ``root`` (an existing, empty-enough folder), as a context manager.

    ``env`` changes the server's environment (a value of None removes the variable); ``args`` are
    added to its command line; ``start_timeout`` is how long it may take to answer /api/status.
    """

    def __init__(self, root: Path, *, env: Mapping[str, str | None] | None = None, args: Sequence[str] = (),
                 start_timeout: float = 90):
        self.root = Path(root)
        self.notebooks = self.root / "notebooks"
        self.log_path = self.root / "lab.log"
        self.env, self.args, self.start_timeout = dict(env or {}), list(args), start_timeout
        self.port, self.token = 0, ""
        self.base = ""
        self.proc: subprocess.Popen | None = None

    def start(self) -> LabServer:
        """Start the server; return once /api/status answers 200, or raise RuntimeError with the log's end."""
        root = self.root
        self.notebooks.mkdir(exist_ok=True)
        settings = root / "lab-settings"
        settings.mkdir(exist_ok=True)
        shutil.copyfile(REPO / "jupyter" / "overrides.json", settings / "overrides.json")  # no news toast
        env = dict(os.environ)
        for name, sub in JUPYTER_DIRS:
            (root / sub).mkdir(exist_ok=True)
            env[name] = str(root / sub)
        for name, value in self.env.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        self.port, self.token = free_port(), secrets.token_hex(16)
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.notebooks}",
               "--LabApp.expose_app_in_browser=True", f"--LabApp.app_settings_dir={settings}", *self.args]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True, cwd=root)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + self.start_timeout
        while http_status(f"{self.base}/api/status?token={self.token}") != 200:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop(graceful=False)
                raise RuntimeError(f"JupyterLab did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        return self

    def kernel_pids(self) -> list[int]:
        """The PIDs of this server's kernels."""
        if self.proc is None:
            return []
        pids = []
        for c in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                if "ipykernel" in " ".join(c.cmdline()):
                    pids.append(c.pid)
            except psutil.Error:
                pass
        return pids

    def delete_sessions(self) -> None:
        """Shut down every kernel of this server (the C programs they started die with them)."""
        with urllib.request.urlopen(f"{self.base}/api/sessions?token={self.token}", timeout=10) as r:
            sessions = json.load(r)
        for s in sessions:
            req = urllib.request.Request(f"{self.base}/api/sessions/{s['id']}?token={self.token}", method="DELETE")
            urllib.request.urlopen(req, timeout=20).close()

    def stop(self, graceful: bool = True) -> None:
        """Stop the server by its PID (graceful: ask it over HTTP first), then any kernel it leaves behind."""
        p, self.proc = self.proc, None
        if p is None:
            return
        try:
            kernels = psutil.Process(p.pid).children()  # psutil checks for PID reuse before signalling
        except psutil.Error:
            kernels = []
        steps: tuple[tuple[signal.Signals | None, float], ...] = (
            (signal.SIGTERM, 10), (signal.SIGKILL, 10))
        if graceful:
            req = urllib.request.Request(f"{self.base}/api/shutdown?token={self.token}", method="POST", data=b"")
            try:
                urllib.request.urlopen(req, timeout=10).close()
            except OSError:
                pass
            steps = ((None, 20), *steps)
        for sig, wait in steps:
            if sig is not None and p.poll() is None:
                p.send_signal(sig)  # our own server, by its PID
            try:
                p.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self._log.close()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            kernels = [k for k in kernels if _alive(k)]
            for k in kernels:
                try:
                    k.send_signal(sig)
                except psutil.Error:
                    pass
            deadline = time.monotonic() + 5
            while any(_alive(k) for k in kernels) and time.monotonic() < deadline:
                time.sleep(0.05)

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# JavaScript for page.wait_for_function: true once the open notebook's ipywidgets manager has restored
# the kernel's widgets (the browser tests and the chart benchmark wait for it before they measure).
WIDGETS_RESTORED = """(async () => {
  const nb = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!nb || !nb.content || !nb.content.rendermime) return false;
  let r;
  try { r = nb.content.rendermime.createRenderer('application/vnd.jupyter.widget-view+json'); }
  catch (e) { return false; }
  if (!r._manager) return false;
  const m = await r._manager.promise;
  return !!m && m.restoredStatus === true; })()"""
