"""``python -m tests.claims [--json] [--only ID ...] [--list]``: run the claim checks on this machine.

With ``--json``, prints one JSON object per line: first ``{"machine": {...}}`` (kernel, CPUs,
page size, THP, cgroup, swap, root), then one record per claim (see ``tests.claims.run``).
``tools/kernels`` reads these lines from each VM's console.  Exit status 0 when no claim
differs or errors, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys

from kernel_helpers import kernelcase

from . import load_all, run


def machine() -> dict:
    """The facts about this machine that decide which case each kernel-dependent claim is in."""

    def read(path: str) -> str:
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError:
            return ""

    version = kernelcase.cgroup_version()  # the lessons' own detection, so the table shows what they saw
    cg = f"v{version}" if version else "none"
    thp = kernelcase.thp_mode() or "none"
    swap = 0
    for line in read("/proc/meminfo").splitlines():
        if line.startswith("SwapTotal:"):
            swap = int(line.split()[1]) * 1024
    return {"kernel": platform.release(), "cpus": os.cpu_count(), "page_size": os.sysconf("SC_PAGE_SIZE"),
            "thp": thp, "cgroup": cg, "swap": swap, "root": os.geteuid() == 0,
            "python": platform.python_version(), "strace": shutil.which("strace") is not None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.claims", description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    ap.add_argument("--only", nargs="*", default=None, help="run only these claim ids")
    ap.add_argument("--list", action="store_true", help="list the claims and exit")
    args = ap.parse_args(argv)
    claims = load_all()
    if args.list:
        for c in claims.values():
            print(f"{c.id:<28} {c.chapter}  {c.title}")
        return 0
    unknown = set(args.only or ()) - set(claims)
    if unknown:
        print(f"unknown claim ids: {', '.join(sorted(unknown))} (see --list)", file=sys.stderr)
        return 2
    chosen = [c for c in claims.values() if args.only is None or c.id in args.only]
    if args.json:
        print(json.dumps({"machine": machine()}), flush=True)
    bad = 0
    for c in chosen:
        rec = run(c)
        bad += rec["status"] in ("differs", "error")
        if args.json:
            print(json.dumps(rec), flush=True)
        else:
            print(f"{rec['status']:<8} {c.id:<28} {rec['figures']}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
