"""Waiting for something a background thread or process does, without fixed sleeps."""

from __future__ import annotations

import time


def wait_until(cond, timeout: float = 5.0, every: float = 0.02) -> bool:
    """Poll ``cond()`` until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(every)
    return False
