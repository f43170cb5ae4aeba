"""Live lab widgets: charts and controls a reader can play with, and a notebook can drive from code.

- ``memory_panel()``: malloc_test's VIRT/RES/SHR, Committed_AS and faults live, with controls.
- ``top_table()``: top's header and process table, refreshing, sortable and filterable.
- ``overcommit_whatif()``: predict an allocation under each overcommit mode; ask the kernel.
- ``shared_view()``: RES, SHR, USS and PSS of shared_mem's processes, and their sums.
- ``load_charts()``: load the charts' plotly.js into the page now (a chapter's first cell), so
  that the charts further down appear at once.

Each factory displays its widget and returns an object with a code API (``start()``,
``stop()``, ...).  Running the cell again stops the previous instance of the same kind (and
``key``) first.  ``FAST`` is True when ``TOPLAB_FAST=1`` (CI): notebooks pick short
intervals with it, e.g. ``interval_ms=100 if FAST else 1000``.  Without /proc (macOS, Windows),
``memory_panel()`` and ``shared_view()`` show recordings made on Linux (``kernel_helpers.recordings``).
"""

from __future__ import annotations

import os

from ._model_common import registry

# Everything loads on first use: a view (ipywidgets, plotly) with its own model only, a model
# (plain Python) alone. The claim checks run MallocExperiment inside bare kernels under qemu,
# where only the models' needs exist; a notebook that shows the top table never loads malloc_test's.
_LAZY = {"MemoryPanel": "panel", "memory_panel": "panel", "SharedView": "sharedview",
         "shared_view": "sharedview", "TopTable": "toptable", "top_table": "toptable",
         "WhatIf": "whatif", "overcommit_whatif": "whatif", "LiveChart": "livechart", "load_charts": "livechart",
         "MallocExperiment": "panel_model", "OvercommitControl": "panel_model",
         "SharedExperiment": "sharedview_model", "TopModel": "toptable_model", "WhatIfModel": "whatif_model"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    from ..i18n import error

    raise error(AttributeError, "module {module!r} has no attribute {name!r}; the widgets are {known}",
                "{module!r} 모듈에는 {name!r}이(가) 없습니다. 위젯은 {known} 중 하나입니다.",
                module=__name__, name=name, known=", ".join(sorted(_LAZY)))


FAST: bool = os.environ.get("TOPLAB_FAST", "").strip().lower() in ("1", "true", "yes")


def close_all() -> int:
    """Stop every live widget of this kernel (programs, samplers, threads); returns how many."""
    return registry.close_all()


__all__ = [
    "FAST", "MemoryPanel", "memory_panel", "TopTable", "top_table", "WhatIf", "overcommit_whatif",
    "SharedView", "shared_view", "LiveChart", "load_charts", "close_all", "registry", "MallocExperiment", "OvercommitControl",
    "TopModel", "WhatIfModel", "SharedExperiment",
]
