"""Claim checks: one function per measured claim the chapters make, run natively and in each kernel.

A claim check runs the project's own code (kernel_helpers and the C programs) on the machine it
finds itself on, and returns an :class:`Outcome`: whether the chapter's statement holds here,
and the figures it measured.  The same checks run

- natively, through ``tests/test_claims.py`` (pytest, part of ``make test``);
- inside Debian's kernels under qemu, through ``make test-kernels`` (``tools/kernels``), which
  runs ``python -m tests.claims --json`` in each VM and prints a kernel x claim table.

To add a claim, write a function in a module of this package (any new ``*.py`` here is found),
decorate it with ``@claim(id, chapter, title)``, and return ``Outcome(holds, figures)``: the
figures are what the kernel matrix prints. It runs in bare kernels too: use the library's models,
not its views (no plotly or ipywidgets there), and only the packages the VM image carries
(``tools/kernels/initramfs.py``: RUNTIME_DISTS).

A claim that depends on the kernel (the RES counter's lag, transparent huge pages, the cgroup
version) is phrased the way the chapter phrases it: "the lesson measures which case this
machine is in and says so", and the check verifies that the lesson's verdict matches the
kernel's exact figures.  A check whose preconditions are missing here (no root, no memory
cgroup) is *skipped* with the reason; ``differs`` means the chapter would print something false.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["CLAIMS", "EXPECTED_SKIPS", "Claim", "Outcome", "Skip", "claim", "load_all", "modules", "run"]

#: Skips that are expected, by claim id: a predicate on the machine facts (``python -m tests.claims
#: --json`` prints them first: kernel, cpus, page_size, thp, cgroup, swap, root). Any other skip,
#: in CI or in a VM of the kernel matrix, is a failure: a check that stops running must not look
#: like a check that passes.
EXPECTED_SKIPS: dict[str, tuple[str, Callable[[dict], bool]]] = {
    "places-v2-delegated": ("needs cgroup v2 (delegation is a v2 feature)", lambda m: m.get("cgroup") != "v2"),
    # the kernel matrix's VMs carry no strace; CI installs it, so there it must run
    "2.3-strace-mmap": ("needs strace", lambda m: not m.get("strace")),
}


def modules() -> list[str]:
    """Every module in this package (each registers its checks with @claim on import)."""
    import pkgutil

    return [f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]


class Skip(Exception):
    """Raised by a check whose preconditions are missing here (the message says which)."""


@dataclass
class Outcome:
    """What a check found: does the chapter's statement hold here, and the figures behind it."""

    holds: bool
    figures: str
    data: dict = field(default_factory=dict)  # raw numbers, for the JSON record


@dataclass
class Claim:
    id: str
    chapter: str
    title: str
    fn: Callable[[], Outcome]
    needs_root: bool = False


CLAIMS: dict[str, Claim] = {}


def claim(id: str, chapter: str, title: str, needs_root: bool = False):
    """Register a claim check: ``fn() -> Outcome``, raising :class:`Skip` when it cannot run here."""

    def register(fn: Callable[[], Outcome]) -> Callable[[], Outcome]:
        if id in CLAIMS:
            raise ValueError(f"claim {id!r} registered twice")
        CLAIMS[id] = Claim(id, chapter, title, fn, needs_root)
        return fn

    return register


def load_all() -> dict[str, Claim]:
    """Import every claim module (registration happens on import); returns the registry."""
    for name in modules():
        importlib.import_module(name)
    return CLAIMS


def run(c: Claim) -> dict:
    """Run one check; a JSON-ready record with status holds / differs / skipped / error."""
    import os

    t0 = time.monotonic()
    rec: dict = {"claim": c.id, "chapter": c.chapter, "title": c.title}
    if c.needs_root and os.geteuid() != 0:
        rec.update(status="skipped", figures="needs root")
    else:
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # lesson functions print; JSON lines must stay clean
                out = c.fn()
            rec.update(status="holds" if out.holds else "differs", figures=out.figures, data=out.data)
        except Skip as e:
            rec.update(status="skipped", figures=str(e))
        except Exception as e:  # a check that crashes is reported, and the others still run
            rec.update(status="error", figures=f"{type(e).__name__}: {e}",
                       trace=traceback.format_exc(limit=6))
    rec["seconds"] = round(time.monotonic() - t0, 2)
    return rec
