"""kernel_helpers: run small C programs and read top's memory numbers for the toplab notebooks.

Importing never fails on a machine without /proc (macOS, Windows). There, functions that need
/proc raise ``NotOnLinux``, a clear error that says what to do, and ``widgets.memory_panel()`` and
``widgets.shared_view()`` show recordings made on Linux (``kernel_helpers.recordings``).
"""

import os

from .procfs import IS_LINUX, AccessDenied, NotOnLinux, ProcessGone, have_proc

__version__ = "0.1.0"
#: Fast mode (TOPLAB_FAST=1, set by the tests and CI): experiments use short intervals and few steps.
FAST: bool = os.environ.get("TOPLAB_FAST", "").lower() in ("1", "true", "yes")
if os.environ.get("TOPLAB_BOOK"):  # make book: figures display as static plotly figures (recordings.py)
    from .recordings import install_book_display

    install_book_display()
__all__ = ["FAST", "IS_LINUX", "AccessDenied", "NotOnLinux", "ProcessGone", "__version__", "have_proc"]
