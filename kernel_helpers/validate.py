"""Argument checks for the whole package: one for whole numbers, one for the overcommit mode.

Every error names the argument, shows what was given and says what to pass instead, so a reader
who typed ``step_mib=1.5`` in a notebook cell knows what to change.  ``True`` is not 1 here: a
bool given for a number is nearly always a slip (a flag passed to the wrong argument).
"""

from __future__ import annotations

import math
import operator

__all__ = ["whole", "mode", "OVERCOMMIT_MODES"]

#: vm.overcommit_memory: 0 heuristic, 1 always, 2 never (strict accounting), see overcommit.MODE_NAMES.
OVERCOMMIT_MODES = (0, 1, 2)


def whole(name: str, value: object, lo: int | None = None, hi: int | None = None, *,
          what: str = "a whole number", hint: str = "") -> int:
    """``value`` as an int, if it is a whole number from ``lo`` to ``hi`` (a None bound is open).

    Python and numpy integers pass; bools, floats, strings and None raise TypeError, a number
    out of range ValueError.  ``what`` says what is expected ('a whole number of bytes, e.g.
    2 * GiB'), ``hint`` ends either message with what to do about it.
    """
    tail = f"; {hint}" if hint else ""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be {what}, not the bool {value!r}{tail}")
    try:
        n = operator.index(value)  # int and numpy integers; never float, str or NaN
    except TypeError:
        fix = (f" (write int({value!r}) if a whole number is meant)"
               if isinstance(value, float) and math.isfinite(value) else "")
        raise TypeError(f"{name} must be {what}, not {type(value).__name__} {value!r}{fix}{tail}") from None
    if (lo is not None and n < lo) or (hi is not None and n > hi):
        raise ValueError(f"{name} must be {_range(lo, hi)}, got {n}{tail}")
    return int(n)


def _range(lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f"between {lo} and {hi}"
    return f"{lo} or more" if lo is not None else f"{hi} or less"


def mode(value: object, name: str = "overcommit mode") -> int:
    """A vm.overcommit_memory mode: 0, 1 or 2 (TypeError for a str or bool, ValueError for 3)."""
    what = "0, 1 or 2 (vm.overcommit_memory)"
    m = whole(name, value, what=what)
    if m not in OVERCOMMIT_MODES:
        raise ValueError(f"{name} must be {what}, got {m}")
    return m
