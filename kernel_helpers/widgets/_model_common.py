"""What the widgets' models share: the registry of live widgets, the language check, a few
formatters, and the overcommit safety figures.  Plain Python: no ipywidgets, no plotly.

``Registry`` keeps one live instance per kind and key, so running a cell again stops the
previous one first.
"""

from __future__ import annotations

import math
import threading

from .. import validate
from ..i18n import check_lang
from ..safety import MiB, fmt_bytes

__all__ = [
    "Registry", "registry", "check_lang", "fmt_delta", "sysctl_command", "MODES",
    "MIN_COMMIT_HEADROOM", "OVERCOMMIT_WAIT_SECONDS",
]

MODES = validate.OVERCOMMIT_MODES
# Real changes to mode 2 must leave every other process on the machine this much commit
# headroom even after the demo has used all it may: a shared server must keep working.
# (Read as _model_common.MIN_COMMIT_HEADROOM at each check, so a test can lower or raise it.)
MIN_COMMIT_HEADROOM = 256 * MiB
# How long a widget's overcommit change waits for another notebook's change to end: a widget
# callback must not hang (overcommit.WAIT_SECONDS, for code, is longer).
OVERCOMMIT_WAIT_SECONDS = 2.0


def fmt_delta(n: float | None) -> str:
    """A signed size change: '+1028 KiB' below 10 MiB (exact enough to see the 4 KiB pages), else '+12.0 MiB'."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "?"
    sign = "-" if n < 0 else "+"
    if abs(n) < 10 * MiB:
        return f"{sign}{abs(n) / 1024:.0f} KiB"
    return sign + fmt_bytes(abs(n))


def sysctl_command(mode: int, ratio: int | None = None) -> str:
    """The command a reader with root would run: 'sudo sysctl -w vm.overcommit_memory=2 vm.overcommit_ratio=50'."""
    words = ["sudo", "sysctl", "-w", f"vm.overcommit_memory={validate.mode(mode)}"]
    if ratio is not None:
        words.append(f"vm.overcommit_ratio={ratio}")
    return " ".join(words)


# --- the registry of live widgets ---------------------------------------------------------

class Registry:
    """One live object per (kind, key) in this kernel; registering a new one closes the old one.

    Running a notebook cell again creates a new panel: the old one's program, sampler and
    redraw thread must stop first, or they pile up.
    """

    def __init__(self) -> None:
        self._live: dict[tuple[str, str], object] = {}
        self._lock = threading.Lock()

    def replace(self, kind: str, key: str, obj: object) -> object | None:
        """Close whatever is registered under (kind, key), then register ``obj``; returns the old one."""
        with self._lock:
            old = self._live.pop((kind, key), None)
        if old is not None and old is not obj:
            old.close()  # type: ignore[attr-defined]
        with self._lock:
            self._live[(kind, key)] = obj
        return old

    def discard(self, kind: str, key: str, obj: object) -> None:
        with self._lock:
            if self._live.get((kind, key)) is obj:
                del self._live[(kind, key)]

    def live(self) -> dict[tuple[str, str], object]:
        with self._lock:
            return dict(self._live)

    def close_all(self) -> int:
        """Close every registered object (what a kernel restart would do); returns how many."""
        with self._lock:
            objs = list(self._live.values())
            self._live.clear()
        for obj in objs:
            obj.close()  # type: ignore[attr-defined]
        return len(objs)


registry = Registry()
