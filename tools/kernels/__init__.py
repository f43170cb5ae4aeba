"""Boot Debian's packaged kernels under qemu and run the project's claim checks inside each.

``python -m tools.kernels.matrix`` (``make test-kernels``) is the entry point:

- :mod:`tools.kernels.fetch` downloads a kernel package with ``apt-get download`` and unpacks it;
- :mod:`tools.kernels.initramfs` packs the interpreter, the stdlib, the few site-packages the
  project needs at run time, ``top`` and the repository's own code into an initramfs;
- :mod:`tools.kernels.guest_init` is that initramfs's ``/init`` (mounts, cgroups, THP, swap, run, power off);
- :mod:`tools.kernels.vm` boots one configuration and collects the command's output from the console;
- :mod:`tools.kernels.matrix` runs every configuration plus the host, and prints the claim x kernel table.

Downloads and built images live in ``${TOPLAB_CACHE:-~/.cache/toplab}/kernels/``; console logs,
the JSON records and the Markdown table in ``test-artifacts/`` (both outside git).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = REPO / "test-artifacts"


def cache_dir() -> Path:
    """``${TOPLAB_CACHE:-$HOME/.cache/toplab}/kernels``, created on first use."""
    base = os.environ.get("TOPLAB_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "toplab")
    d = Path(base) / "kernels"
    d.mkdir(parents=True, exist_ok=True)
    return d
