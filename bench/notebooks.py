"""How long the lab takes: every notebook executed headless, and `make lab` until the server answers.

Notebooks run with nbclient in their own directory, with TOPLAB_FAST=1, as the test suite
runs them; the reference is a one-cell notebook that only imports kernel_helpers (a kernel's
start-up). ``make lab`` is timed from the command to the first HTTP 200 on /lab with the token
it printed; the reference is the same ``jupyter lab`` command run without make.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import REPO, VENV_BIN, median, say, spread
from tools.labserver import free_port, http_status
from tools.nbrun import notebook_errors

NB_ROOT = REPO / "notebooks"
CELL_TIMEOUT = 300


def execute(path: Path) -> dict:
    """Execute one notebook top to bottom (kernel start included): seconds, and any errors."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.monotonic()
    error = None
    try:
        client.execute()
    except Exception as e:  # reported with the time, not raised: a benchmark reports
        error = f"{type(e).__name__}: {str(e)[:300]}"
    seconds = time.monotonic() - t0
    errors = notebook_errors(nb) + ([error] if error else [])
    name = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name
    return {"notebook": name, "seconds": seconds, "errors": errors,
            "cells": sum(1 for c in nb.cells if c.cell_type == "code"), "slowest_cells": _slowest_cells(nb)}


def _slowest_cells(nb, n: int = 3) -> list[dict]:
    """The ``n`` slowest code cells, from the timestamps nbclient records in each cell's metadata."""
    from datetime import datetime

    out = []
    for i, cell in enumerate(nb.cells):
        ex = cell.metadata.get("execution", {}) if cell.cell_type == "code" else {}
        start, end = ex.get("iopub.execute_input"), ex.get("shell.execute_reply")
        if start and end:
            secs = (datetime.fromisoformat(end.replace("Z", "+00:00"))
                    - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
            first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
            out.append({"cell": i, "seconds": round(secs, 2), "source": first[:100]})
    return sorted(out, key=lambda c: -c["seconds"])[:n]


def _bare_notebook(folder: Path) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import kernel_helpers")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "bare.ipynb"
    nbformat.write(nb, path)
    return path


def notebooks_bench(repeats_bare: int = 3) -> dict:
    old = {k: os.environ.get(k) for k in ("TOPLAB_FAST", "TOPLAB_LANG")}
    os.environ["TOPLAB_FAST"] = "1"
    os.environ.pop("TOPLAB_LANG", None)
    try:
        with tempfile.TemporaryDirectory(prefix="toplab-bench-nb-") as tmp:
            bare_path = _bare_notebook(Path(tmp))
            bare = [execute(bare_path)["seconds"] for _ in range(repeats_bare)]
        runs = []
        for lang in ("en", "ko"):
            for path in sorted((NB_ROOT / lang).glob("*.ipynb")):
                say(f"notebook {path.relative_to(REPO)}")
                runs.append(execute(path))
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"bare": spread(bare), "runs": runs, "total": sum(r["seconds"] for r in runs),
            "failed": [r["notebook"] for r in runs if r["errors"]]}


# --- make lab ----------------------------------------------------------------------------------

_URL = re.compile(r"http://127\.0\.0\.1:(\d+)/\S*\?token=([0-9a-f]+)")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group we started (make and its jupyter), wait until all of it is gone."""
    for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
        if not _group_alive(proc.pid):
            break
        try:
            os.killpg(proc.pid, sig)  # only the group we started
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            proc.poll()  # reap make (or jupyter) itself, so the group can empty
            if not _group_alive(proc.pid):
                break
            time.sleep(0.05)
    proc.wait()


def _serve_until_200(cmd: list[str], env: dict[str, str], timeout: float = 120) -> dict:
    """Start ``cmd`` in its own process group; seconds until /lab?token=... answers 200; then stop the group."""
    log = tempfile.TemporaryFile(mode="w+")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = None
    seconds = None
    try:
        while time.monotonic() - t0 < timeout and proc.poll() is None:
            if url is None:
                log.seek(0)
                m = _URL.search(log.read())
                if m:
                    url = f"http://127.0.0.1:{m.group(1)}/lab?token={m.group(2)}"
            if url is not None and http_status(url, timeout=5) == 200:
                seconds = time.monotonic() - t0
                break
            time.sleep(0.02)
    finally:
        _stop_group(proc)
        log.seek(0)
        tail = log.read()[-2000:]
        log.close()
    return {"seconds": seconds, "url_seen": url is not None, "log_tail": tail if seconds is None else ""}


def lab_bench(repeats: int) -> dict:
    make_runs, direct_runs = [], []
    with tempfile.TemporaryDirectory(prefix="toplab-bench-lab-") as tmp:
        env = dict(os.environ)
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
        env["JUPYTER_RUNTIME_DIR"] = str(Path(tmp) / "runtime")  # its server files go here, not to ~

        def make_lab() -> dict:
            return _serve_until_200(["make", "--no-print-directory", "lab", f"PORT={free_port()}"], env)

        def jupyter_lab() -> dict:
            cmd = [str(VENV_BIN / "jupyter"), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={free_port()}", "--ServerApp.root_dir=notebooks",
                   "--LabApp.default_url=/lab/tree/en/00-start-here.ipynb"]
            if os.geteuid() == 0:
                cmd.append("--allow-root")
            return _serve_until_200(cmd, env)

        cold = make_lab()  # the first start after a while is much slower (caches): kept apart
        for i in range(repeats):  # interleaved, in alternating order
            first, second = (make_lab, jupyter_lab) if i % 2 == 0 else (jupyter_lab, make_lab)
            a, b = first(), second()
            make_runs.append(a if first is make_lab else b)
            direct_runs.append(b if first is make_lab else a)
    return {"make_lab": spread([r["seconds"] for r in make_runs]),
            "jupyter_lab": spread([r["seconds"] for r in direct_runs]),
            "make_lab_cold": cold["seconds"],
            "failures": [r["log_tail"] for r in [cold, *make_runs, *direct_runs] if r["seconds"] is None],
            "make_lab_median": median([r["seconds"] for r in make_runs])}
