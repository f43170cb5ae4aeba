"""Overcommit what-if: pick a size, a mode and a ratio; see the prediction; ask the kernel for real.

Predictions come from ``overcommit.predict`` on this machine's live figures (re-read on every
change).  The button runs ``big_alloc`` (a reservation only: nothing is touched, so it costs
no RAM) under the chosen mode, changing the mode for the run only when this process may.
"""

from __future__ import annotations

import ipywidgets as W

from .. import overcommit
from ..i18n import Texts
from ..safety import GiB, fmt_bytes
from ._common import DisplayMixin, esc
from ._model_common import registry
from .whatif_model import WhatIfModel, WhatIfResult

KIND = "whatif"
_LABELS = Texts({
    "size": ("size GiB", "크기 GiB"), "mode": ("mode", "모드"), "ratio": ("ratio %", "ratio %"),
    "run": ("Ask the kernel (big_alloc)", "커널에 물어보기 (big_alloc)"),
    "run_tip": ("Runs big_alloc: one malloc of this size, nothing written (reservation only)",
                "big_alloc 실행: 이 크기로 malloc 한 번, 쓰지는 않음 (예약만)"),
    "running": ("asking the kernel…", "커널에 묻는 중…"),
})


class WhatIf(DisplayMixin):
    """Sliders for size, mode and ratio; the predicted answer and its reason; a button for the real one."""

    def __init__(self, nbytes: int = 32 * GiB, mode: int | None = None, ratio: int | None = None, *,
                 lang: str | None = None, key: str = "default"):
        self.model = WhatIfModel(lang)
        self.lang = lang = self.model.lang
        cur = overcommit.settings()
        mode = cur.mode if mode is None else mode
        ratio = cur.ratio if ratio is None else ratio
        self.model.predict(nbytes, mode, ratio)  # checks the arguments before anything is shown
        self.key = key
        self.closed = False
        registry.replace(KIND, key, self)
        self.size_slider = W.FloatLogSlider(value=nbytes / GiB, base=2, min=-10, max=18, step=0.125,
                                            description=_LABELS("size", lang), readout_format=".4g",
                                            continuous_update=False, layout=W.Layout(width="420px"))
        self.size_label = W.HTML()
        names = overcommit.MODE_NAMES
        self.mode_dropdown = W.Dropdown(
            options=[(f"{k}: {names[k][lang == 'ko'].split(':')[0]}", k) for k in (0, 1, 2)], value=mode,
            description=_LABELS("mode", lang), layout=W.Layout(width="300px"))
        self.ratio_slider = W.IntSlider(value=max(1, min(100, ratio)), min=1, max=100,
                                        description=_LABELS("ratio", lang), continuous_update=False)
        self.run_button = W.Button(description=_LABELS("run", lang), icon="bolt", button_style="warning",
                                   tooltip=_LABELS("run_tip", lang), layout=W.Layout(width="260px"))
        self.run_button.add_class("toplab-whatif-run")
        self.machine_html = W.HTML()
        self.prediction_html = W.HTML()
        self.prediction_html.add_class("toplab-whatif-prediction")
        self.result_html = W.HTML()
        self.result_html.add_class("toplab-whatif-result")
        for w in (self.size_slider, self.mode_dropdown, self.ratio_slider):
            w.observe(lambda ch: self.update(), names="value")
        self.run_button.on_click(lambda _b: self._run_clicked())
        self.widget = W.VBox([W.HBox([self.size_slider, self.size_label]),
                              W.HBox([self.mode_dropdown, self.ratio_slider]),
                              self.machine_html, self.prediction_html, self.run_button, self.result_html])
        self.widget.add_class("toplab-whatif")
        self.last: WhatIfResult | None = None
        self.update()

    # --- the chosen values ---
    @property
    def nbytes(self) -> int:
        return max(1, int(round(self.size_slider.value * GiB)))

    @property
    def mode(self) -> int:
        return int(self.mode_dropdown.value)

    @property
    def ratio(self) -> int | None:
        return int(self.ratio_slider.value) if self.mode == 2 else None

    def set(self, nbytes: int | None = None, mode: int | None = None, ratio: int | None = None) -> None:
        """Move the sliders from code (checked like the model checks them)."""
        self.model.predict(nbytes or self.nbytes, self.mode if mode is None else mode,
                           ratio if ratio is not None else self.ratio_slider.value)
        if nbytes is not None:
            self.size_slider.value = nbytes / GiB
        if mode is not None:
            self.mode_dropdown.value = mode
        if ratio is not None:
            self.ratio_slider.value = ratio
        self.update()

    # --- display ---
    def update(self) -> overcommit.Prediction:
        """Re-read the machine's figures and show the prediction for the current choice."""
        self.ratio_slider.layout.display = None if self.mode == 2 else "none"
        self.size_label.value = f"<b>{esc(fmt_bytes(self.nbytes))}</b> ({self.nbytes:,} bytes)"
        self.machine_html.value = f'<span style="color:#555">{esc(self.model.machine())}</span>'
        p = self.model.predict(self.nbytes, self.mode, self.ratio)
        colour = "#2ca02c" if p.allowed else "#d62728"
        self.prediction_html.value = (f'<div style="border-left:4px solid {colour};padding-left:6px" '
                                      f'data-allowed="{int(p.allowed)}">{esc(self.model.prediction_text(p))}</div>')
        return p

    def _run_clicked(self) -> None:
        self.run_button.disabled = True
        self.result_html.value = f"<i>{_LABELS('running', self.lang)}</i>"
        try:
            self.run()
        except Exception as e:
            self.result_html.value = f'<div style="color:#c00">{esc(type(e).__name__)}: {esc(e)}</div>'
        finally:
            self.run_button.disabled = False

    def run(self, nbytes: int | None = None, mode: int | None = None, ratio: int | None = None) -> WhatIfResult:
        """Ask the kernel with big_alloc (reservation only); shows and returns the prediction and the answer."""
        if nbytes is not None or mode is not None or ratio is not None:
            self.set(nbytes, mode, ratio)
        r = self.model.run(self.nbytes, self.mode, self.ratio)
        self.last = r
        if not r.ran:
            colour = "#ff7f0e"
        else:
            colour = "#2ca02c" if r.agrees else "#d62728"
        self.result_html.value = (f'<div style="border-left:4px solid {colour};padding-left:6px" '
                                  f'data-ran="{int(r.ran)}" data-kernel-ok="{"" if r.kernel_ok is None else int(r.kernel_ok)}">'
                                  f"{esc(r.text)}</div>")
        self.update()
        return r

    def close(self) -> None:
        self.closed = True
        registry.discard(KIND, self.key, self)

    def __repr__(self) -> str:
        return f"<WhatIf {fmt_bytes(self.nbytes)} mode={self.mode} ratio={self.ratio}>"


def overcommit_whatif(nbytes: int = 32 * GiB, mode: int | None = None, ratio: int | None = None,
                      **kwargs) -> WhatIf:
    """Create the overcommit what-if widget, display it and return it."""
    return WhatIf(nbytes, mode, ratio, **kwargs).show()
