"""kernel_helpers: run small C programs and read top's memory numbers for the toplab notebooks.

Importing never fails on a machine without /proc (macOS, Windows); functions that need
Linux raise a clear error there instead.
"""

from .procfs import IS_LINUX, AccessDenied, ProcessGone

__version__ = "0.1.0"
__all__ = ["IS_LINUX", "AccessDenied", "ProcessGone", "__version__"]
