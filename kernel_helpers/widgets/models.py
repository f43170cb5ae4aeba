"""Every widget model in one namespace, for code written before each model moved beside its view.

The models live in ``panel_model`` (MallocExperiment, OvercommitControl), ``toptable_model``
(TopModel), ``whatif_model`` (WhatIfModel) and ``sharedview_model`` (SharedExperiment), with
what they share in ``_model_common``.  Importing this module loads all of them (still without
ipywidgets or plotly); a view imports only its own.
"""

from __future__ import annotations

from ._model_common import (
    MIN_COMMIT_HEADROOM,
    MODES,
    Registry,
    check_lang,
    fmt_delta,
    registry,
    sysctl_command,
)
from .panel_model import STEP_COLUMNS, MallocExperiment, Marker, OvercommitControl, OvercommitStatus
from .sharedview_model import SharedExperiment
from .toptable_model import FILTER_FIELDS, SORTABLE, TopModel, TopView
from .whatif_model import WhatIfModel, WhatIfResult

__all__ = [
    "Registry", "registry", "Marker", "OvercommitStatus", "OvercommitControl", "MallocExperiment",
    "TopModel", "TopView", "WhatIfModel", "WhatIfResult", "SharedExperiment", "check_lang", "fmt_delta",
    "sysctl_command", "MIN_COMMIT_HEADROOM", "MODES", "STEP_COLUMNS", "SORTABLE", "FILTER_FIELDS",
]
