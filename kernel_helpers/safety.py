"""The memory budget every demo runs under, and a watchdog that stops demos in time.

The budget is the smallest of: a fixed cap (1 GiB, or ``TOPLAB_MAX_DEMO_MIB``), a fraction of
MemAvailable, a fraction of the headroom left in this process's memory cgroup (v1 or v2),
and a fraction of the ``MEM_LIMIT`` that JupyterHub spawners set.  On a shared workshop server
that keeps one reader's demo from hurting everybody else's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from . import procfs, validate

MiB = 1024 * 1024
GiB = 1024 * MiB

DEFAULT_CAP = 1 * GiB
AVAILABLE_FRACTION = 0.5  # of MemAvailable
LIMIT_FRACTION = 0.5  # of what is left under a cgroup limit or MEM_LIMIT
FLOOR_MIN = 256 * MiB  # the watchdog's floor: at least this much MemAvailable ...
FLOOR_FRACTION = 0.05  # ... or this share of MemTotal, whichever is larger
CGROUP_ROOT = "/sys/fs/cgroup"
_UNLIMITED = 1 << 60  # cgroup v1 writes ~2^63 rounded to pages for "no limit"


class BudgetExceeded(ValueError):
    """A demo asked for more memory than the budget allows."""


def fmt_bytes(n: float) -> str:
    """Binary units the way a reader says them: 512 KiB, 1.5 MiB, 23.4 GiB."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" or n == int(n) else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


# --- memory cgroup ---------------------------------------------------------------------

def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    if text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return None if value >= _UNLIMITED else value


def cgroup_memory(pid: int | str = "self") -> tuple[int | None, int | None]:
    """(limit, usage) in bytes of the memory cgroup holding ``pid``; limit None when unlimited.

    cgroup v2 reads memory.max / memory.current, v1 memory.limit_in_bytes / usage_in_bytes;
    ancestors count too (the tightest limit wins).
    """
    try:
        with open(os.path.join(procfs.PROC_ROOT, str(pid), "cgroup")) as f:
            lines = f.read().splitlines()
    except OSError:
        return None, None
    best: tuple[int | None, int | None] = (None, None)
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # v2 unified hierarchy
            base, limit_f, usage_f = CGROUP_ROOT, "memory.max", "memory.current"
        elif "memory" in controllers.split(","):
            base, limit_f, usage_f = (os.path.join(CGROUP_ROOT, "memory"),
                                      "memory.limit_in_bytes", "memory.usage_in_bytes")
        else:
            continue
        parts = [p for p in path.split("/") if p]
        for depth in range(len(parts), -1, -1):
            d = os.path.join(base, *parts[:depth])
            limit = _read_int(os.path.join(d, limit_f))
            if limit is not None and (best[0] is None or limit < best[0]):
                best = (limit, _read_int(os.path.join(d, usage_f)))
    return best


# --- the budget ------------------------------------------------------------------------

@dataclass(frozen=True)
class Budget:
    """How much memory one demo may touch, and which constraint decided it."""

    bytes: int
    reason: str
    parts: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        from .i18n import current_lang

        return f"{fmt_bytes(self.bytes)} ({self.reason_ko if current_lang() == 'ko' else self.reason})"

    @property
    def reason_ko(self) -> str:
        for en, ko in _PART_KO.items():
            if en in self.reason:
                return f"{ko} 기준"
        return self.reason


_PART_KO = {
    "fixed cap": "고정 상한",
    "half of MemAvailable": "MemAvailable의 절반",
    "half of the cgroup headroom": "cgroup 한도까지 남은 양의 절반",
    "half of MEM_LIMIT headroom": "MEM_LIMIT까지 남은 양의 절반",
}


def _cap_from_env() -> int:
    raw = os.environ.get("TOPLAB_MAX_DEMO_MIB")
    if raw is None:
        return DEFAULT_CAP
    try:
        mib = int(raw)
    except ValueError:
        raise ValueError(f"TOPLAB_MAX_DEMO_MIB must be a whole number of MiB, not {raw!r}") from None
    if mib <= 0:
        raise ValueError(f"TOPLAB_MAX_DEMO_MIB must be positive, not {mib}")
    return mib * MiB


def budget(cap: int | None = None) -> Budget:
    """The demo budget on this machine now (see the module docstring)."""
    if cap is not None:
        cap = validate.whole("cap", cap, 1, what="a whole number of bytes, e.g. 512 * MiB")
    parts: dict[str, int] = {"fixed cap": cap if cap is not None else _cap_from_env()}
    try:
        parts["half of MemAvailable"] = int(procfs.meminfo()["MemAvailable"] * AVAILABLE_FRACTION)
    except (OSError, KeyError):
        pass
    limit, usage = cgroup_memory()
    if limit is not None:
        parts["half of the cgroup headroom"] = int(max(0, limit - (usage or 0)) * LIMIT_FRACTION)
    env_limit = os.environ.get("MEM_LIMIT")
    if env_limit and env_limit.isdigit() and int(env_limit) > 0:
        # JupyterHub spawners export the user's limit in bytes.
        # The limit covers the whole user: the lab server and every open kernel, not just this one.
        used = _user_rss()
        parts["half of MEM_LIMIT headroom"] = int(max(0, int(env_limit) - used) * LIMIT_FRACTION)
    reason, value = min(parts.items(), key=lambda kv: kv[1])
    return Budget(bytes=value, reason=f"limited by the {reason}", parts=parts)


def _user_rss() -> int:
    """RSS of every process of this user (the lab server, all kernels, running demos)."""
    import psutil

    me = os.geteuid()
    total = 0
    for p in psutil.process_iter(["uids", "memory_info"]):
        try:
            if p.info["uids"] is not None and p.info["uids"].effective == me and p.info["memory_info"]:
                total += p.info["memory_info"].rss
        except psutil.Error:
            continue
    return total


def check_request(nbytes: int, what: str = "this demo", cap: int | None = None) -> Budget:
    """Raise BudgetExceeded, saying the budget and why, when ``nbytes`` does not fit."""
    nbytes = validate.whole("size", nbytes, 0, what="a whole number of bytes")
    b = budget(cap)
    if nbytes > b.bytes:
        raise BudgetExceeded(
            f"{what} would use up to {fmt_bytes(nbytes)}, over the demo budget of {b}. "
            "Choose a smaller size, or raise the fixed cap with TOPLAB_MAX_DEMO_MIB if this "
            "machine is yours and has the memory to spare."
        )
    return b


# --- the watchdog ----------------------------------------------------------------------

def floor_bytes() -> int:
    """MemAvailable below which the watchdog stops running demos."""
    return max(FLOOR_MIN, int(procfs.meminfo()["MemTotal"] * FLOOR_FRACTION))


class Watchdog:
    """A daemon thread that calls ``on_low(message)`` once when MemAvailable falls below the floor."""

    def __init__(self, on_low: Callable[[str], None], interval: float = 0.2,
                 floor: int | None = None, read_available: Callable[[], int] | None = None):
        if not interval > 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval}")
        self.on_low = on_low
        self.interval = interval
        self.floor = floor if floor is not None else floor_bytes()
        self._read = read_available or (lambda: procfs.meminfo()["MemAvailable"])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.fired: str | None = None

    def start(self) -> Watchdog:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="toplab-watchdog", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                avail = self._read()
            except Exception:  # a read error must not kill the thread that guards memory
                continue
            if avail < self.floor:
                self.fired = (
                    f"stopped: MemAvailable fell to {fmt_bytes(avail)}, below the safety floor of "
                    f"{fmt_bytes(self.floor)}. Something else on this machine needs the memory."
                )
                try:
                    self.on_low(self.fired)
                finally:
                    self._stop.set()
                return
