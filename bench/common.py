"""What every benchmark shares: a figure with its reference, medians, top's CPU, machine facts."""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
RESULTS = BENCH / "results"
VENV_BIN = Path(sys.executable).parent


@dataclass
class Figure:
    """One row of the table: our figure, its reference measured in the same run, and the target."""

    key: str
    name: str
    unit: str
    ours: float | None
    reference: float | None = None
    ref_name: str = ""
    target: str = ""  # e.g. "ratio <= 1.5"
    met: bool | None = None
    samples: dict = field(default_factory=dict)  # every repeat, for the JSON
    notes: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.reference:
            return None
        return self.ours / self.reference

    def as_dict(self) -> dict:
        d = asdict(self)
        d["ratio"] = self.ratio
        return d


def median(values: Sequence[float]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def spread(values: Sequence[float]) -> dict:
    vals = [v for v in values if v is not None]
    if not vals:
        return {"n": 0}
    return {"n": len(vals), "median": statistics.median(vals), "min": min(vals), "max": max(vals),
            "all": [round(v, 9) for v in vals]}


# --- procps top, measured from outside -------------------------------------------------------

def top_env() -> dict[str, str]:
    """An empty HOME (no personal toprc changes the columns) and the C locale: realtop's environment."""
    from kernel_helpers import realtop  # here, not at the top: bench.common measures imports too

    return realtop.environment(tempfile.mkdtemp(prefix="toplab-bench-toprc-"))


def child_cpu(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run ``cmd`` to the end with output thrown away: (its CPU seconds user+system, wall seconds).

    The CPU comes from the child's own rusage (wait4), so nothing else on the machine counts.
    """
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed with {proc.returncode}")
    return ru.ru_utime + ru.ru_stime, time.monotonic() - t0


def top_cmd(n: int, delay: float, pids: Sequence[int] = ()) -> list[str]:
    """``top -b -n N -d DELAY [-p PIDS]`` at top's own width (realtop.command; TopNotFound without top)."""
    from kernel_helpers import realtop

    return realtop.command(pids=list(pids) or None, frames=n, delay=delay, width=None)


def top_refresh_cpu(k: int, delay: float, repeats: int, pids: Sequence[int] = ()) -> dict:
    """top's CPU per refresh in steady state: (CPU of -n K - CPU of -n 1) / (K - 1), per repeat."""
    env = top_env()
    per, one, many = [], [], []
    for _ in range(repeats):
        c1, _ = child_cpu(top_cmd(1, delay, pids), env)
        ck, _ = child_cpu(top_cmd(k, delay, pids), env)
        one.append(c1)
        many.append(ck)
        per.append((ck - c1) / (k - 1))
    shutil.rmtree(env["HOME"], ignore_errors=True)
    return {"per_refresh": spread(per), "startup_cpu": spread(one), f"cpu_n{k}": spread(many)}


# --- the machine -----------------------------------------------------------------------------

def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def process_count() -> int:
    return sum(1 for n in os.listdir("/proc") if n.isdigit())


def _first_line(cmd: list[str]) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    return (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr).strip() else "?"


def machine_info() -> dict:
    # imported here: the in-process workers import this module and need none of tools.labserver
    from tools.labserver import CHROMIUM

    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.lower().startswith(("model name", "hardware", "cpu model")):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_total = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_total = int(line.split()[1]) * 1024
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
    return {
        "cpu_model": cpu, "cores": os.cpu_count(), "mem_total_bytes": mem_total,
        "kernel": platform.release(), "python": platform.python_version(),
        "top": _first_line(["top", "-V"]), "chromium": _first_line([CHROMIUM, "--version"]),
        "processes": process_count(), "rlimit_nofile": list(nofile),
        "clk_tck": os.sysconf("SC_CLK_TCK"), "page_size": os.sysconf("SC_PAGE_SIZE"),
    }


# --- workers ---------------------------------------------------------------------------------

def run_worker(module: str, *args: object, timeout: float = 1800) -> dict:
    """Run ``python -m bench.<module> args...`` in a fresh process; it prints one JSON object last."""
    cmd = [sys.executable, "-m", f"bench.{module}", *map(str, args)]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def say(text: str) -> None:
    """Progress on stderr, so stdout keeps only the table."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    t0 = time.monotonic()
    out = fn()
    return out, time.monotonic() - t0
