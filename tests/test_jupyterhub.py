"""A real JupyterHub on 127.0.0.1 with five local users, each running chapter 2.3 at the same time.

The fixture builds, in one temp folder readable by the users: a copy of the package, the C
programs and the notebooks; a venv from Debian's /usr/bin/python3 (root's own Python may sit
under /root, which other users cannot enter) with jupyterhub and the package, made with uv; and
configurable-http-proxy from npm. It creates toplab-w1..w5 with useradd and starts the hub with
tools/hub/jupyterhub_config.py (LocalProcessSpawner, a different MEM_LIMIT per user). Through the
hub API (an admin service token) it starts every user's lab, then, through the proxy, opens a
notebook session per user and runs every code cell of the chapter 2.3 notebook (fast mode) over
the kernel websocket, all five at once, while a thread samples /proc. Then it stops the labs and
the hub, and removes the users and the folder. The tests below read what was recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
import pytest

from kernel_helpers import safety

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools" / "hub"))
from remote_kernel import CellResult, KernelError, RemoteKernel  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
MiB = 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")
# user -> (MEM_LIMIT, notebook language): the budget must follow each user's own limit
USERS = {"toplab-w1": ("1G", "en"), "toplab-w2": ("1G", "ko"), "toplab-w3": ("768M", "en"),
         "toplab-w4": ("768M", "ko"), "toplab-w5": ("512M", "en")}
LIMIT_BYTES = {"1G": 1024 * MiB, "768M": 768 * MiB, "512M": 512 * MiB}
NOTEBOOK = "2.3-memory-commit.ipynb"
HUB_PYTHON = "/usr/bin/python3"  # executable by every user, unlike a pyenv Python under /root
CELL_TIMEOUT = 240  # seconds; five kernels share two cores
SPAWN_TIMEOUT = 240

pytestmark = [pytest.mark.hub, pytest.mark.timeout(900)]

PIDS = """
import json, os
print("TOPLAB_PIDS " + json.dumps({"pid": os.getpid(), "server_pid": os.getppid()}))
"""
PROBE = """
import importlib.metadata as _md, sys
from kernel_helpers import FAST, overcommit, safety
from kernel_helpers.cgroup import MemoryCage
_b = safety.budget()
print("TOPLAB_PROBE " + json.dumps({
    "budget": _b.bytes, "reason": _b.reason, "parts": _b.parts, "mem_limit": os.environ.get("MEM_LIMIT"),
    "uid": os.getuid(), "pid": os.getpid(), "server_pid": os.getppid(), "fast": FAST, "cwd": os.getcwd(),
    "can_change_overcommit": overcommit.can_change(), "cage": MemoryCage.available()[0],
    "floor": safety.floor_bytes(), "python": sys.version.split()[0],
    "versions": {n: _md.version(n) for n in ("jupyterhub", "jupyterlab", "jupyter_server", "ipykernel")}}))
"""
AFTER = """
from kernel_helpers import programs as _programs
print("TOPLAB_AFTER " + json.dumps({
    "oom_ran": oom.ran, "oom_why_not": oom.why_not, "modes_real": bool(modes.attrs["real"]),
    "running_programs": [p.pid for p in list(_programs._running) if p.running],
    "open_fds": len(os.listdir("/proc/self/fd"))}))
"""


def _skip_or_fail(why: str) -> None:
    if IN_CI:
        pytest.fail(f"the JupyterHub test must run in CI, but {why}")
    pytest.skip(why)


# --- what the run records ---------------------------------------------------------------

@dataclass
class UserRun:
    name: str
    limit: int
    lang: str
    probe: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    cells: list[CellResult] = field(default_factory=list)
    failure: str | None = None
    seconds: float = 0.0
    sizes: dict[str, dict[str, int]] = field(default_factory=dict)  # moment -> rss/pss of server, kernel
    left_after_kernel: list[str] = field(default_factory=list)  # C programs still there after shutdown
    left_after_stop: list[str] = field(default_factory=list)  # any process of the user after the hub stopped


@dataclass
class Peaks:
    """Peaks per user, from a thread sampling /proc every 0.1 s during the run."""

    total: int = 0  # RSS of the user's processes, summed: server + kernel + demo_sum at one moment
    kernel: int = 0
    server: int = 0
    demo_sum: int = 0  # everything else (C programs, the mmap reader), summed at one moment
    program: int = 0  # the largest single C program
    program_cmd: str = ""


@dataclass
class HubRun:
    users: dict[str, UserRun]
    peaks: dict[str, Peaks]
    min_available: int
    floor: int
    overcommit_seen: set[str]
    overcommit_before: str
    samples: int
    seconds: float
    hub_log: str


# --- building the environment -----------------------------------------------------------

def _run(cmd: list[str], what: str, timeout: float = 300, **kw) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what} took over {timeout} s: {' '.join(cmd)}")
    if r.returncode != 0:
        pytest.fail(f"{what} failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    return r.stdout


def _copy_toplab(dest: Path, bin_dir: Path) -> None:
    """What a workshop server holds: the package, the built C programs, the notebooks, the hub config."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, dest / name)
    skip = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.egg-info")
    for d in ("kernel_helpers", "notebooks", "jupyter"):
        shutil.copytree(REPO / d, dest / d, ignore=skip)
    shutil.copytree(REPO / "tools" / "hub", dest / "tools" / "hub", ignore=skip)
    (dest / "c_programs").mkdir()
    shutil.copytree(bin_dir, dest / "c_programs" / "bin")


def _build_env(tmp: Path, built: Path) -> tuple[Path, Path, Path]:
    """(toplab copy, venv, configurable-http-proxy) under ``tmp``; caches stay in ``tmp`` too."""
    toplab, venv, tools = tmp / "toplab", tmp / "venv", tmp / "tools"
    _copy_toplab(toplab, built)
    env = {**os.environ, "UV_CACHE_DIR": str(tmp / "cache" / "uv"), "npm_config_cache": str(tmp / "cache" / "npm")}
    # uv from PyPI into a folder of its own (the project's venv stays as it is), then the hub's venv
    _run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target",
          str(tools / "uv"), "uv"], "installing uv", env=env)
    uv = str(tools / "uv" / "bin" / "uv")
    _run([uv, "venv", "-q", "--python", HUB_PYTHON, str(venv)], "creating the hub venv", env=env)
    _run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "jupyterhub>=5",
          "-e", str(toplab)], "installing jupyterhub and toplab into the hub venv", env=env)
    settings = venv / "share" / "jupyter" / "lab" / "settings"
    settings.mkdir(parents=True, exist_ok=True)
    shutil.copy2(toplab / "jupyter" / "overrides.json", settings / "overrides.json")
    _run(["npm", "install", "--prefix", str(tools / "chp"), "--no-audit", "--no-fund", "--loglevel=error",
          "configurable-http-proxy"], "installing configurable-http-proxy with npm", env=env)
    shutil.rmtree(tmp / "cache", ignore_errors=True)
    _run(["chmod", "-R", "a+rX", str(tmp)], "making the folder readable by the users")
    return toplab, venv, tools / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"


# --- users ------------------------------------------------------------------------------

def _uid(name: str) -> int | None:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _procs_of(uid: int) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["uids"]):
        with contextlib.suppress(psutil.Error):
            if p.info["uids"] and p.info["uids"].real == uid:
                out.append(p)
    return out


def _describe(procs: list[psutil.Process]) -> list[str]:
    out = []
    for p in procs:
        with contextlib.suppress(psutil.Error):
            out.append(f"{p.pid} {' '.join(p.cmdline())[:150]}")
    return out


def _kill_user_processes(uid: int) -> None:
    """SIGKILL, by PID, whatever still runs as one of the test users (all started by this test)."""
    for _ in range(50):
        procs = _procs_of(uid)
        if not procs:
            return
        for p in procs:
            with contextlib.suppress(psutil.Error):
                p.kill()
        time.sleep(0.1)


def _remove_user(name: str) -> None:
    uid = _uid(name)
    if uid is None:
        return
    _kill_user_processes(uid)
    subprocess.run(["userdel", "-r", name], capture_output=True, text=True)
    if _uid(name) is not None:
        subprocess.run(["userdel", "-f", "-r", name], capture_output=True, text=True)


def _create_user(name: str) -> None:
    _remove_user(name)  # left by an earlier run that was killed before its teardown
    _run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", name], f"useradd {name}")


# --- the hub ----------------------------------------------------------------------------

def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Hub:
    def __init__(self, tmp: Path, toplab: Path, venv: Path, chp: Path):
        self.state = tmp / "hub"
        self.state.mkdir()
        self.log_path = self.state / "jupyterhub.log"
        public, hub_port, api = _free_ports(3)
        self.url = f"http://127.0.0.1:{public}"
        self.token = secrets.token_hex(32)
        self.env = {
            "PATH": f"{venv / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8", "HOME": str(self.state),
            "TOPLAB_DIR": str(toplab), "TOPLAB_HUB_URL": self.url, "TOPLAB_HUB_PORT": str(hub_port),
            "TOPLAB_HUB_PROXY_API": f"http://127.0.0.1:{api}", "TOPLAB_HUB_PROXY": str(chp),
            "TOPLAB_HUB_USERS": " ".join(USERS), "TOPLAB_HUB_PASSWORD": secrets.token_hex(12),
            "TOPLAB_HUB_MEM_LIMIT": "1G",
            "TOPLAB_HUB_MEM_LIMITS": " ".join(f"{u}={lim}" for u, (lim, _) in USERS.items()),
            "TOPLAB_HUB_API_TOKEN": self.token, "TOPLAB_HUB_SPAWN_ENV": "TOPLAB_FAST=1",
        }
        self.cmd = [str(venv / "bin" / "jupyterhub"), "-f", str(toplab / "tools" / "hub" / "jupyterhub_config.py")]
        self.proc: subprocess.Popen | None = None

    def log(self, tail: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return "(no hub log)"

    def fail(self, why: str) -> None:
        pytest.fail(f"{why}\n--- jupyterhub log (tail) ---\n{self.log()}", pytrace=False)

    def start(self, timeout: float = 120) -> None:
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(self.cmd, cwd=self.state, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.fail(f"jupyterhub exited with status {self.proc.returncode} while starting")
            with contextlib.suppress(OSError, ValueError):
                if self.api("GET", "")[0] == 200:
                    return
            time.sleep(0.5)
        self.fail(f"jupyterhub did not answer on {self.url}/hub/api/ within {timeout} s")

    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 30) -> tuple[int, dict]:
        req = urllib.request.Request(f"{self.url}/hub/api/{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                text = r.read()
                return r.status, (json.loads(text) if text else {})
        except urllib.error.HTTPError as e:
            return e.code, {"error": e.read().decode(errors="replace")[:500]}

    def start_servers(self, names: list[str], timeout: float = SPAWN_TIMEOUT) -> None:
        for name in names:
            code, body = self.api("POST", f"users/{name}/server")
            if code not in (201, 202):
                self.fail(f"starting {name}'s server: HTTP {code} {body}")
        waiting = set(names)
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            for name in sorted(waiting):
                code, model = self.api("GET", f"users/{name}")
                server = (model.get("servers") or {}).get("", {}) if code == 200 else {}
                if server.get("ready"):
                    waiting.discard(name)
                elif code == 200 and not server and not model.get("pending"):
                    self.fail(f"{name}'s server stopped while starting")
            time.sleep(1)
        if waiting:
            self.fail(f"servers of {sorted(waiting)} not ready within {timeout} s")

    def stop_servers(self, names: list[str], timeout: float = 120) -> None:
        for name in names:
            self.api("DELETE", f"users/{name}/server")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(not (self.api("GET", f"users/{n}")[1].get("servers") or {}) for n in names):
                return
            time.sleep(1)

    def stop(self) -> None:
        """SIGTERM the hub (it stops the labs and the proxy it started), then make sure of both."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        pid_file = self.state / "jupyterhub-proxy.pid"
        with contextlib.suppress(OSError, ValueError, psutil.Error):
            p = psutil.Process(int(pid_file.read_text().strip()))
            if "configurable-http-proxy" in " ".join(p.cmdline()):
                p.kill()
                p.wait(10)


# --- sampling /proc during the run ----------------------------------------------------------

class ProcSampler(threading.Thread):
    def __init__(self, uids: dict[int, str], bin_dir: str, interval: float = 0.1):
        super().__init__(name="hub-test-sampler", daemon=True)
        self.uids, self.bin_dir, self.interval = uids, bin_dir, interval
        self.peaks = {name: Peaks() for name in uids.values()}
        self.min_available = 1 << 62
        self.overcommit: set[str] = set()
        self.samples = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    self.min_available = min(self.min_available, int(line.split()[1]) * 1024)
        self.overcommit.add(Path("/proc/sys/vm/overcommit_memory").read_text().strip())
        now = {name: Peaks() for name in self.peaks}
        for pid in os.listdir("/proc"):  # a stat per PID picks out the users' processes cheaply
            try:
                name = self.uids.get(os.stat(f"/proc/{pid}").st_uid) if pid.isdigit() else None
                if name is None:
                    continue
                with open(f"/proc/{pid}/statm") as f:
                    rss = int(f.read().split()[1]) * PAGE
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except (OSError, ValueError, IndexError):
                continue  # gone meanwhile
            cur = now[name]
            # a kernel or a lab forking a child shows twice until the child execs, with the same pages
            # (copy-on-write): count the largest of each, so RSS of shared pages is not added twice
            if "ipykernel_launcher" in cmd:
                cur.kernel = max(cur.kernel, rss)
            elif "jupyterhub-singleuser" in cmd:
                cur.server = max(cur.server, rss)
            else:
                cur.demo_sum += rss
                if cmd.startswith(self.bin_dir) and rss > cur.program:
                    cur.program, cur.program_cmd = rss, cmd
        for name, cur in now.items():
            cur.total = cur.server + cur.kernel + cur.demo_sum
            pk = self.peaks[name]
            pk.total, pk.kernel = max(pk.total, cur.total), max(pk.kernel, cur.kernel)
            pk.server, pk.demo_sum = max(pk.server, cur.server), max(pk.demo_sum, cur.demo_sum)
            if cur.program > pk.program:
                pk.program, pk.program_cmd = cur.program, cur.program_cmd
        self.samples += 1


def _size(pid: int) -> dict[str, int]:
    try:
        m = psutil.Process(pid).memory_full_info()
        return {"rss": m.rss, "pss": m.pss}
    except (psutil.Error, AttributeError):
        return {"rss": 0, "pss": 0}


def _sizes(run: UserRun) -> dict[str, int]:
    k, s = _size(run.probe["pid"]), _size(run.probe["server_pid"])
    return {"kernel_rss": k["rss"], "kernel_pss": k["pss"], "server_rss": s["rss"], "server_pss": s["pss"]}


def _c_programs_of(uid: int, bin_dir: str) -> list[str]:
    procs = [p for p in _procs_of(uid) if not _is_zombie(p)]
    return [d for d in _describe(procs) if bin_dir in d]


def _is_zombie(p: psutil.Process) -> bool:
    try:
        return p.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


# --- one user's session -----------------------------------------------------------------------

def _json_line(cell: CellResult, key: str) -> dict:
    for line in cell.stdout.splitlines():
        if line.startswith(key + " "):
            return json.loads(line[len(key) + 1:])
    raise KernelError(f"no {key} line in: {cell.stdout[-500:]!r} {cell.error or ''}")


async def _user_session(hub: Hub, run: UserRun, cells: list[tuple[str, bool]], bin_dir: str) -> None:
    t0 = time.monotonic()
    base = f"{hub.url}/user/{run.name}/"
    rk = RemoteKernel(base, hub.token, f"toplab/notebooks/{run.lang}/{NOTEBOOK}")
    try:
        for page in ("lab", "lab/api/settings", f"api/contents/toplab/notebooks/{run.lang}"):
            await rk.request("GET", page, timeout=120)  # what a browser opening the lab asks for
        await rk.start(timeout=180)
        pids = await rk.execute(PIDS, timeout=CELL_TIMEOUT)
        run.cells.append(pids)
        run.probe = _json_line(pids, "TOPLAB_PIDS")
        run.sizes["bare kernel"] = _sizes(run)
        probe = await rk.execute(PROBE, timeout=CELL_TIMEOUT)
        run.cells.append(probe)
        run.probe.update(_json_line(probe, "TOPLAB_PROBE"))
        first = await rk.execute(cells[0][0], timeout=CELL_TIMEOUT)  # the chapter's imports
        run.cells.append(first)
        run.sizes["idle, chapter imported"] = _sizes(run)
        for code, may_raise in cells[1:]:
            res = await rk.execute(code, timeout=CELL_TIMEOUT)
            run.cells.append(res)
            if not res.ok and not may_raise:
                run.failure = f"cell failed: {code[:200]!r}\n{res.error or res.stderr[-1500:]}"
                return
        run.sizes["after chapter 2.3"] = _sizes(run)
        after = await rk.execute(AFTER, timeout=CELL_TIMEOUT)
        run.cells.append(after)
        run.after = _json_line(after, "TOPLAB_AFTER")
    except Exception as e:  # recorded, so the other users' runs go on and the report says which failed
        run.failure = f"{type(e).__name__}: {e}"
    finally:
        with contextlib.suppress(KernelError, OSError, asyncio.TimeoutError):
            await rk.shutdown()
        run.seconds = time.monotonic() - t0
    uid = run.probe.get("uid")
    if uid is not None:  # the kernel is gone: so must its C programs be (PR_SET_PDEATHSIG, atexit)
        for _ in range(50):
            run.left_after_kernel = _c_programs_of(uid, bin_dir)
            if not run.left_after_kernel:
                break
            await asyncio.sleep(0.1)


async def _all_sessions(hub: Hub, runs: list[UserRun], cells: list[tuple[str, bool]], bin_dir: str) -> None:
    from tornado.httpclient import AsyncHTTPClient

    AsyncHTTPClient.configure(None, max_clients=64)
    await asyncio.gather(*(_user_session(hub, r, cells, bin_dir) for r in runs))


def _notebook_cells() -> list[tuple[str, bool]]:
    nb = nbformat.read(REPO / "notebooks" / "en" / NOTEBOOK, as_version=4)
    return [(c.source, "raises-exception" in c.metadata.get("tags", [])) for c in nb.cells
            if c.cell_type == "code"]


def _report(res: HubRun) -> str:
    lines = [f"hub run: {res.seconds:.0f} s, {res.samples} samples, min MemAvailable "
             f"{safety.fmt_bytes(res.min_available)} (floor {safety.fmt_bytes(res.floor)})"]
    for name, run in res.users.items():
        pk = res.peaks[name]
        lines.append(f"{name} MEM_LIMIT={safety.fmt_bytes(run.limit)} budget="
                     f"{safety.fmt_bytes(run.probe.get('budget', 0))} ({run.probe.get('reason')}) "
                     f"{run.seconds:.0f} s; peaks: user {safety.fmt_bytes(pk.total)}, server "
                     f"{safety.fmt_bytes(pk.server)}, kernel {safety.fmt_bytes(pk.kernel)}, demos "
                     f"{safety.fmt_bytes(pk.demo_sum)}, largest C program {safety.fmt_bytes(pk.program)}; "
                     f"kernel's open files after: {run.after.get('open_fds')}")
        if run.failure:
            lines.append(f"    FAILED: {run.failure[:2000]}")
        for moment, s in run.sizes.items():
            lines.append(f"    {moment}: " + ", ".join(f"{k} {safety.fmt_bytes(v)}" for k, v in s.items()))
    return "\n".join(lines)


# --- the fixture ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hub_run(built: Path) -> Iterator[HubRun]:
    if sys.platform != "linux":
        _skip_or_fail("it needs Linux")
    if os.geteuid() != 0:
        _skip_or_fail("it needs root (useradd, and a hub that starts servers as other users)")
    for tool in ("useradd", "userdel", "npm", "node"):
        if shutil.which(tool) is None:
            _skip_or_fail(f"{tool} is not installed")
    if not os.access(HUB_PYTHON, os.X_OK):
        _skip_or_fail(f"{HUB_PYTHON} is missing")

    t_start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="toplab-hub-"))
    os.chmod(tmp, 0o755)  # the users' labs run from here
    hub: Hub | None = None
    names = list(USERS)
    try:
        toplab, venv, chp = _build_env(tmp, built)
        for name in names:
            _create_user(name)
        uids = {_uid(n): n for n in names}
        bin_dir = str(toplab / "c_programs" / "bin")
        hub = Hub(tmp, toplab, venv, chp)
        res = _run_hub(hub, names, uids, bin_dir)
        print(_report(res) + f"\nwhole fixture: {time.monotonic() - t_start:.0f} s")
        if os.environ.get("TOPLAB_HUB_REPORT"):
            Path(os.environ["TOPLAB_HUB_REPORT"]).write_text(json.dumps({
                "seconds": res.seconds, "min_available": res.min_available, "floor": res.floor,
                "users": {n: {"limit": r.limit, "lang": r.lang, "probe": r.probe, "sizes": r.sizes,
                              "peaks": vars(res.peaks[n]), "seconds": r.seconds} for n, r in res.users.items()},
            }, indent=1))
        yield res
    finally:
        if hub is not None:
            hub.stop()
        for name in names:
            _remove_user(name)
        shutil.rmtree(tmp, ignore_errors=True)


def _run_hub(hub: Hub, names: list[str], uids: dict[int, str], bin_dir: str) -> HubRun:
    """Start the hub and the labs, run the chapter in every lab at once, stop it all; what was seen."""
    try:
        hub.start()
        hub.start_servers(names)
        runs = [UserRun(n, LIMIT_BYTES[lim], lang) for n, (lim, lang) in USERS.items()]
        sampler = ProcSampler(uids, bin_dir)  # type: ignore[arg-type]
        vm_before = Path("/proc/sys/vm/overcommit_memory").read_text().strip()
        t_run = time.monotonic()
        sampler.start()
        try:
            asyncio.run(_all_sessions(hub, runs, _notebook_cells(), bin_dir))
        finally:
            sampler.halt.set()
            sampler.join(5)
        run_seconds = time.monotonic() - t_run
        hub.stop_servers(names)
        hub.stop()
        for r in runs:
            uid = _uid(r.name)
            for _ in range(100):  # the labs were told to stop: give them a moment
                r.left_after_stop = _describe(_procs_of(uid))  # type: ignore[arg-type]
                if not r.left_after_stop:
                    break
                time.sleep(0.1)
        return HubRun({r.name: r for r in runs}, sampler.peaks, sampler.min_available, safety.floor_bytes(),
                      sampler.overcommit, vm_before, sampler.samples, run_seconds, hub.log(20000))
    except Exception as e:  # an unexpected error: say it with the hub's log
        hub.fail(f"{type(e).__name__}: {e}")
        raise


# --- the tests ----------------------------------------------------------------------------------

def test_every_user_runs_chapter_2_3_to_the_end(hub_run):
    failures = {n: r.failure for n, r in hub_run.users.items() if r.failure or not r.after}
    assert not failures, "\n".join(f"{n}: {f}" for n, f in failures.items()) + "\n--- hub log ---\n" + \
        hub_run.hub_log[-4000:]
    for run in hub_run.users.values():
        assert run.probe["fast"] and run.probe["cwd"].endswith(f"/notebooks/{run.lang}"), run.probe
        assert run.after["running_programs"] == [], run.after
        assert run.after["open_fds"] < 256, run.after  # top.py keeps /proc files open: bounded


def test_korean_notebooks_speak_korean(hub_run):
    for run in hub_run.users.values():
        text = "".join(c.stdout for c in run.cells[3:])  # the chapter's cells, after the probes
        has_hangul = any("\uac00" <= ch <= "\ud7a3" for ch in text)
        assert has_hangul == (run.lang == "ko"), f"{run.name} ({run.lang}) printed: {text[:300]!r}"


def test_the_budget_follows_each_users_mem_limit(hub_run):
    for run in hub_run.users.values():
        p = run.probe
        assert p["mem_limit"] == str(run.limit), p
        assert "MEM_LIMIT" in p["reason"], p
        part = p["parts"]["half of MEM_LIMIT headroom"]
        assert p["budget"] == part, p
        # half of (limit - the kernel's own RSS); a kernel is well under 300 MiB when the probe runs
        assert run.limit // 2 - 150 * MiB <= part < run.limit // 2, p
    by_limit: dict[int, list[int]] = {}
    for run in hub_run.users.values():
        by_limit.setdefault(run.limit, []).append(run.probe["budget"])
    ranges = [(min(b), max(b)) for _, b in sorted(by_limit.items())]
    assert all(lo[1] < hi[0] for lo, hi in zip(ranges, ranges[1:], strict=False)), f"a smaller limit gave a larger budget: {by_limit}"


def test_demo_programs_stay_within_the_budget(hub_run):
    for name, run in hub_run.users.items():
        pk = hub_run.peaks[name]
        assert 0 < pk.program <= run.probe["budget"], (name, pk)
        assert pk.demo_sum <= run.probe["budget"], (name, pk)


def test_every_user_stays_within_mem_limit(hub_run):
    """RSS summed over the user's processes: the lab server, the kernel and the demos it started
    (an overestimate: library pages count once per process)."""
    for name, run in hub_run.users.items():
        pk = hub_run.peaks[name]
        assert pk.total <= run.limit, (name, run.limit, pk)


def test_mem_available_never_falls_below_the_safety_floor(hub_run):
    assert hub_run.samples > 10
    assert hub_run.min_available >= hub_run.floor, hub_run


def test_hub_users_cannot_change_overcommit_or_make_cgroups(hub_run):
    """vm.overcommit_memory is global: the chapter must only predict the other modes for hub users."""
    for run in hub_run.users.values():
        assert run.probe["can_change_overcommit"] is False and run.after["modes_real"] is False, run.probe
        assert run.probe["cage"] is False and run.after["oom_ran"] is False, run.after


def test_overcommit_mode_stayed_put_during_the_run(hub_run):
    if hub_run.overcommit_seen != {hub_run.overcommit_before} and not IN_CI:
        pytest.skip(f"vm.overcommit_memory went {hub_run.overcommit_before} -> {hub_run.overcommit_seen} during "
                    "the run; the hub users cannot write it (see the test above), so another root process on this "
                    "machine did (a concurrent test session?)")
    assert hub_run.overcommit_seen == {hub_run.overcommit_before}


def test_nothing_is_left_running(hub_run):
    for run in hub_run.users.values():
        assert run.left_after_kernel == [], f"{run.name}: C programs outlived the kernel"
        assert run.left_after_stop == [], f"{run.name}: processes outlived the hub"
