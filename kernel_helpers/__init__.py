"""kernel_helpers: run small C programs and read top's memory numbers for the toplab notebooks.

Importing never fails on a machine without /proc (macOS, Windows); functions that need
Linux raise a clear error there instead.
"""

import os

from .procfs import IS_LINUX, AccessDenied, ProcessGone

__version__ = "0.1.0"
#: Fast mode (TOPLAB_FAST=1, set by the tests and CI): experiments use short intervals and few steps.
FAST: bool = os.environ.get("TOPLAB_FAST", "").lower() in ("1", "true", "yes")
__all__ = ["FAST", "IS_LINUX", "AccessDenied", "ProcessGone", "__version__"]
