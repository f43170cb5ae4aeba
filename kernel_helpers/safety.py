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
from .i18n import Texts, error, say

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
    raise AssertionError("unreachable")  # internal


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
        return self.describe()

    @property
    def limit(self) -> str:
        """Which constraint decided the budget: a key of ``parts`` ('fixed cap', ...)."""
        return next((key for key in _PART if key in self.reason), "")

    def describe(self, lang: str | None = None) -> str:
        """'512 MiB (limited by the fixed cap)', in ``lang`` or the notebook's language."""
        if not self.limit:  # a reason of its own (a test's, a recording's): as it is
            return f"{fmt_bytes(self.bytes)} ({self.reason})"
        return say(("{size} (limited by the {why})", "{size}({why} 기준)"), lang,
                   size=fmt_bytes(self.bytes), why=say(_PART[self.limit], lang))

    @property
    def reason_ko(self) -> str:
        """The Korean of ``reason`` (kept for callers that ask for it by name)."""
        return say(("limited by the {why}", "{why} 기준"), "ko",
                   why=say(_PART[self.limit], "ko")) if self.limit else self.reason


#: The constraints a budget can be limited by, the keys of Budget.parts.
_PART = Texts({
    "fixed cap": ("fixed cap", "고정 상한"),
    "half of MemAvailable": ("half of MemAvailable", "MemAvailable의 절반"),
    "half of the cgroup headroom": ("half of the cgroup headroom", "cgroup 한도까지 남은 양의 절반"),
    "half of MEM_LIMIT headroom": ("half of MEM_LIMIT headroom", "MEM_LIMIT까지 남은 양의 절반"),
})


def _cap_from_env() -> int:
    raw = os.environ.get("TOPLAB_MAX_DEMO_MIB")
    if raw is None:
        return DEFAULT_CAP
    try:
        mib = int(raw)
    except ValueError:
        raise error(ValueError, "TOPLAB_MAX_DEMO_MIB must be a whole number of MiB, not {raw!r}; "
                    "set it to e.g. 2048 or unset it",
                    "TOPLAB_MAX_DEMO_MIB는 MiB 단위의 정수여야 합니다({raw!r}은(는) 쓸 수 없습니다). "
                    "2048처럼 정수로 설정하거나 설정을 지우세요.", raw=raw) from None
    if mib <= 0:
        raise error(ValueError, "TOPLAB_MAX_DEMO_MIB must be positive, not {mib}; set it to e.g. 2048 or unset it",
                    "TOPLAB_MAX_DEMO_MIB는 양수여야 합니다({mib}은(는) 쓸 수 없습니다). "
                    "2048처럼 설정하거나 설정을 지우세요.", mib=mib)
    return mib * MiB


def budget(cap: int | None = None) -> Budget:
    """The demo budget on this machine now (see the module docstring)."""
    if cap is not None:
        cap = validate.whole("cap", cap, 1, what=("a whole number of bytes, e.g. 512 * MiB",
                                                       "바이트 단위 정수(예: 512 * MiB)"))
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


def check_request(nbytes: int, what: str | tuple[str, str] = ("this demo", "이 실험"),
                  cap: int | None = None) -> Budget:
    """Raise BudgetExceeded, saying the budget and why, when ``nbytes`` does not fit.

    ``what`` names the demo, as an (English, Korean) pair.
    """
    nbytes = validate.whole("size", nbytes, 0, what=("a whole number of bytes", "바이트 단위 정수"))
    b = budget(cap)
    if nbytes > b.bytes:
        raise error(BudgetExceeded,
                    "{what} would use up to {size}, over the demo budget of {budget}. "
                    "Choose a smaller size, or raise the fixed cap with TOPLAB_MAX_DEMO_MIB if this "
                    "machine is yours and has the memory to spare.",
                    "{what}은(는) 최대 {size}까지 쓸 수 있어 실험 예산 {budget}을(를) 넘습니다. "
                    "더 작은 크기를 고르세요. 직접 관리하는 시스템이고 메모리가 넉넉하다면 "
                    "TOPLAB_MAX_DEMO_MIB로 고정 상한을 올릴 수도 있습니다.",
                    what=say(what) if isinstance(what, tuple) else what, size=fmt_bytes(nbytes),
                    budget=b.describe())
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
            raise error(ValueError, "interval must be > 0 seconds, got {interval}; pass e.g. interval=0.2",
                        "interval은 0초보다 커야 합니다({interval}은(는) 쓸 수 없습니다). "
                        "interval=0.2처럼 주세요.", interval=interval)
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
                # this thread runs in the Jupyter kernel, so current_lang() is the notebook's
                self.fired = say(
                    ("stopped: MemAvailable fell to {avail}, below the safety floor of {floor}. "
                     "Something else on this machine needs the memory; close other notebooks or "
                     "programs, then start the demo again.",
                     "중지됨: MemAvailable이 {avail}(으)로 떨어져 안전 하한 {floor}보다 낮아졌습니다. "
                     "이 시스템의 다른 무언가가 메모리를 필요로 합니다. 다른 노트북이나 프로그램을 "
                     "닫은 뒤 실험을 다시 시작하세요."),
                    None, avail=fmt_bytes(avail), floor=fmt_bytes(self.floor))
                try:
                    self.on_low(self.fired)
                finally:
                    self._stop.set()
                return
