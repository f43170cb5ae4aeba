"""Shared memory, per process: RES, SHR, USS and PSS side by side, and what their sums say.

``SharedExperiment`` (sharedview_model.py) runs ``shared_mem`` with K children and measures each
process; this view draws a grouped bar chart and the sums, so a reader sees that summing RES
counts the shared region once per process while PSS counts it once.
"""

from __future__ import annotations

import threading
import time

import ipywidgets as W
import pandas as pd

from .. import procfs
from ..i18n import Texts
from ..recordings import RecordedSharedView
from ..safety import MiB
from ._common import ClosingMixin, DisplayMixin, column_help, esc
from ._model_common import registry
from .livechart import LiveChart, template
from .sharedview_model import SharedExperiment

KIND = "shared_view"
_LABELS = Texts({
    "mib": ("shared MiB", "공유 MiB"), "children": ("children", "자식 수"), "private": ("private MiB", "개인 MiB"),
    "start": ("Start", "시작"), "stop": ("Stop", "중지"), "refresh": ("Measure again", "다시 측정"),
    "per": ("per process", "프로세스별"), "sums": ("summed over processes", "프로세스 합계"),
    "used": ("MemTotal−MemAvailable Δ", "MemTotal−MemAvailable 변화"),
    "starting": ("starting shared_mem…", "shared_mem 시작 중…"),
})
_METRICS = (("RES", "res", "#d62728"), ("SHR", "shr", "#2ca02c"), ("USS", "uss", "#1f77b4"),
            ("PSS", "pss", "#9467bd"))


class SharedView(ClosingMixin, DisplayMixin):
    """shared_mem with K children: a bar chart of RES/SHR/USS/PSS per process and of their sums."""

    KIND = KIND

    def __init__(self, mib: int = 64, children: int = 2, private_mib: int = 0, *, lang: str | None = None,
                 key: str = "default", height: int = 380):
        self.model = SharedExperiment(mib, children, private_mib, lang=lang)
        self.lang = lang = self.model.lang
        self.key = key
        self.closed = False
        registry.replace(KIND, key, self)
        self._lock = threading.RLock()
        t0 = time.perf_counter()
        self.figure = self.chart = self._make_figure(height)
        self.figure_seconds = time.perf_counter() - t0
        self.bars: dict[int, dict] = {}  # trace -> what the chart shows now (x, y, text, marker)
        self.mib_slider = W.IntSlider(value=mib, min=1, max=256, description=_LABELS("mib", lang),
                                      continuous_update=False)
        self.children_slider = W.IntSlider(value=children, min=0, max=8, description=_LABELS("children", lang),
                                           continuous_update=False)
        self.private_slider = W.IntSlider(value=private_mib, min=0, max=128, description=_LABELS("private", lang),
                                          continuous_update=False)
        self.start_button = W.Button(description=_LABELS("start", lang), icon="play", button_style="success")
        self.stop_button = W.Button(description=_LABELS("stop", lang), icon="stop", button_style="danger")
        self.refresh_button = W.Button(description=_LABELS("refresh", lang), icon="refresh")
        self.text_html = W.HTML(f"<i>{esc(self.model.text)}</i>")
        self.text_html.add_class("toplab-shared-text")
        self.table_html = W.HTML()
        self.start_button.on_click(lambda _b: self._safely(self._start_clicked))
        self.stop_button.on_click(lambda _b: self._safely(self.stop))
        self.refresh_button.on_click(lambda _b: self._safely(self.refresh))
        self.widget = W.VBox([
            W.HBox([self.mib_slider, self.children_slider, self.private_slider]),
            W.HBox([self.start_button, self.refresh_button, self.stop_button]),
            self.text_html, self.figure, self.table_html,
        ])
        self.widget.add_class("toplab-shared")
        self._buttons()

    def _make_figure(self, height: int) -> LiveChart:
        """Two bar charts side by side (plotly's make_subplots(cols=2) layout, as plain JSON)."""
        lang = self.lang
        data = []
        for name, _key, colour in _METRICS:
            tip = esc(column_help(name, lang))[:90]
            data.append({"type": "bar", "x": [], "y": [], "name": name, "marker": {"color": colour},
                         "legendgroup": name, "xaxis": "x", "yaxis": "y",
                         "hovertemplate": f"{name} %{{y:.1f}} MiB<extra>{tip}</extra>"})
        data.append({"type": "bar", "x": [], "y": [], "name": "Σ", "marker": {"color": []}, "showlegend": False,
                     "text": [], "textposition": "outside", "xaxis": "x2", "yaxis": "y2",
                     "hovertemplate": "%{x}: %{y:.1f} MiB<extra></extra>"})
        title = {"font": {"size": 16}, "showarrow": False, "xanchor": "center", "xref": "paper", "y": 1.0,
                 "yanchor": "bottom", "yref": "paper"}
        layout = {
            "barmode": "group", "height": height, "template": template("plotly_white"),
            "margin": {"l": 50, "r": 20, "t": 40, "b": 40}, "legend": {"orientation": "h", "y": -0.15},
            "xaxis": {"anchor": "y", "domain": [0.0, 0.576]}, "yaxis": {"anchor": "x", "domain": [0.0, 1.0],
                                                                     "title": {"text": "MiB"}, "rangemode": "tozero"},
            "xaxis2": {"anchor": "y2", "domain": [0.676, 1.0]}, "yaxis2": {"anchor": "x2", "domain": [0.0, 1.0],
                                                                         "title": {"text": "MiB"}, "rangemode": "tozero"},
            "annotations": [dict(title, text=_LABELS("per", lang), x=0.288), dict(title, text=_LABELS("sums", lang), x=0.838)],
        }
        chart = LiveChart(spec={"data": data, "layout": layout, "config": {"displaylogo": False}}, lang=lang,
                          lock=self._lock, static=self.static_figure)
        chart.add_class("toplab-livechart")
        return chart  # the figure travels with the widget's first message; bars follow as 'replace'

    def static_figure(self) -> dict:
        """The bars as they stand, as a plain plotly figure (a static page: book mode)."""
        import copy

        spec = self.chart.spec
        data = copy.deepcopy(spec["data"])
        for i, bar in getattr(self, "bars", {}).items():
            data[i].update(copy.deepcopy(bar))
        return {"data": data, "layout": copy.deepcopy(spec["layout"])}

    def _safely(self, fn) -> None:
        try:
            fn()
        except Exception as e:
            self.text_html.value = f'<span style="color:#c00">{esc(type(e).__name__)}: {esc(e)}</span>'
        self._buttons()

    def _buttons(self) -> None:
        running = self.model.running
        self.start_button.disabled = running or self.closed
        self.stop_button.disabled = not running
        self.refresh_button.disabled = not running
        for s in (self.mib_slider, self.children_slider, self.private_slider):
            s.disabled = running

    def _start_clicked(self) -> None:
        self.model.configure(int(self.mib_slider.value), int(self.children_slider.value),
                             int(self.private_slider.value))
        self.start()

    # --- the code API ---
    def start(self) -> pd.DataFrame:
        """Start shared_mem, wait until every child has written the region, measure; returns table()."""
        with self._lock:
            self.text_html.value = f"<i>{_LABELS('starting', self.lang)}</i>"
            self.model.start()
        self._buttons()
        return self.refresh()

    def refresh(self) -> pd.DataFrame:
        """Measure every process again and redraw; returns the per-process table (bytes)."""
        table = self.model.measure()
        sums = self.model.sums(table)
        self._draw(table, sums)
        return table

    def table(self) -> pd.DataFrame:
        return self.model.measure()

    def sums(self) -> dict[str, int]:
        """Sums of RES, SHR, USS, PSS over the processes, and the change of MemTotal - MemAvailable."""
        return self.model.sums()

    def _draw(self, table: pd.DataFrame, sums: dict[str, int]) -> None:
        with self._lock:
            self._draw_locked(table, sums)

    def _draw_locked(self, table: pd.DataFrame, sums: dict[str, int]) -> None:
        roles = [f"{r} ({p})" for r, p in zip(table["role"], table["pid"], strict=True)]
        bars = {}
        for i, (_name, key, colour) in enumerate(_METRICS):
            bars[i] = {"x": roles, "y": [round(float(v) / MiB, 2) if pd.notna(v) else None for v in table[key]],
                       "marker": {"color": colour}}
        names = ["Σ RES", "Σ SHR", "Σ USS", "Σ PSS", _LABELS("used", self.lang)]
        vals = [sums["res"], sums["shr"], sums["uss"], sums["pss"], sums["mem_used_delta"]]
        bars[4] = {"x": names, "y": [round(v / MiB, 1) for v in vals], "text": [f"{v / MiB:.0f}" for v in vals],
                   "marker": {"color": [c for _n, _k, c in _METRICS] + ["#7f7f7f"]}}
        self.figure.replace(bars)
        self.bars = bars
        self.text_html.value = f'<div style="font-weight:600">{esc(self.model.explain(sums))}</div>'
        ths = "".join(f'<th title="{esc(column_help(h, self.lang))}" style="padding:1px 8px;cursor:help">{h}</th>'
                      for h in ("PID", "RES", "SHR", "USS", "PSS"))
        rows = "".join(
            f'<tr data-pid="{int(r.pid)}"><td style="padding:1px 8px">{esc(r.role)} {int(r.pid)}</td>'
            + "".join(f'<td style="text-align:right;padding:1px 8px">{(getattr(r, k) or 0) / MiB:.1f}</td>'
                      for k in ("res", "shr", "uss", "pss")) + "</tr>"
            for r in table.itertuples(index=False))
        total = ("<tr style='border-top:1px solid #999;font-weight:600'><td style='padding:1px 8px'>Σ</td>"
                 + "".join(f"<td style='text-align:right;padding:1px 8px'>{sums[k] / MiB:.1f}</td>"
                           for k in ("res", "shr", "uss", "pss")) + "</tr>")
        self.table_html.value = (f'<table style="font-family:monospace;font-size:12px;border-collapse:collapse">'
                                 f"<thead><tr>{ths}</tr></thead><tbody>{rows}{total}</tbody></table>"
                                 '<div style="color:#777;font-size:11px">MiB</div>')

    def stop(self) -> str | None:
        """Stop shared_mem and its children."""
        text = self.model.stop()
        if text:
            self.text_html.value = f"<i>{esc(text)}</i>"
        self._buttons()
        return text

    def _teardown(self) -> None:
        """close(): stop shared_mem and its children; the Start button stays disabled."""
        self.model.close()
        self._buttons()

    def __repr__(self) -> str:
        return f"<SharedView key={self.key!r} {'running' if self.model.running else 'stopped'}>"


def shared_view(mib: int = 64, children: int = 2, private_mib: int = 0,
                **kwargs) -> SharedView | RecordedSharedView:
    """Create the shared-memory view, display it and return it (``sv = shared_view(); sv.start()``).

    Without /proc (macOS, Windows) it shows shared_mem's figures recorded on Linux, labelled as such.
    """
    if not procfs.have_proc():
        return RecordedSharedView(lang=kwargs.get("lang")).show()
    return SharedView(mib, children, private_mib, **kwargs).show()
