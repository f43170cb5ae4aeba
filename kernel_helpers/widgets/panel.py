"""The memory experiment panel: malloc_test's VIRT/RES/SHR live, with controls that act on it.

The view only displays ``MallocExperiment`` (panel_model.py) and forwards clicks to it.  The chart
(a LiveChart: livechart.py) is built in the constructor, before any program starts; samples come
from the Sampler's thread; a Redrawer thread sends the page only the samples newer than the last
it sent, at most 5 times a second, so a busy browser never builds a backlog and no redraw resends
the history.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import ipywidgets as W

from .. import overcommit, procfs, programs
from ..i18n import Texts
from ..safety import fmt_bytes
from ._common import ClosingMixin, DisplayMixin, Redrawer, column_help, esc
from ._model_common import registry
from .livechart import LiveChart, points_message, template
from .panel_model import PANEL_INTERVAL_MS_MIN, MallocExperiment, OvercommitStatus

if TYPE_CHECKING:  # neither is needed to show the chart: pandas loads with the first table
    import pandas as pd

    from ..recordings import RecordedPanel

KIND = "memory_panel"

_LABELS = Texts({
    "start": ("Start", "시작"), "stop": ("Stop", "중지"), "pause": ("Pause", "일시정지"),
    "step": ("step MiB", "단계 MiB"), "interval": ("interval ms", "간격 ms"), "max": ("cap MiB", "상한 MiB"),
    "touch": ("memset", "memset"), "pct": ("memset %", "memset %"), "mode": ("overcommit", "overcommit"),
    "ratio": ("ratio %", "ratio %"), "x": ("seconds since start", "시작 후 초"),
    "y1": ("MiB", "MiB"), "y2": ("Committed_AS Δ MiB", "Committed_AS Δ MiB"),
    "y3": ("minor faults", "마이너 폴트"),
    "rss_exact": ("RES, exact (smaps_rollup)", "RES 정확한 값 (smaps_rollup)"),
    "touch_tip": ("Write (memset) each new block: sends 'touch on' / 'touch off' to the running program",
                  "새 블록을 memset으로 쓰기: 실행 중인 프로그램에 'touch on' / 'touch off'를 보냅니다"),
    "since": ("since start (whole system)", "시작 이후 (시스템 전체)"),
    "committed": ("Committed_AS Δ (whole system)", "Committed_AS Δ (시스템 전체)"),
    "error": ("Error", "오류"),
    # a line's hover label; {y} and {x} are plotly's placeholders for the point's values
    "hover": ("{name} {y} MiB at {x} s", "{x}초: {name} {y} MiB"),
})
_MARKER_STYLE = {  # kind -> (symbol, colour)
    "start": ("triangle-up", "#2ca02c"), "touch": ("diamond", "#1f77b4"), "paused": ("circle-open", "#7f7f7f"),
    "resumed": ("circle", "#7f7f7f"), "failed": ("x", "#d62728"), "cap": ("star", "#ff7f0e"),
    "done": ("star", "#ff7f0e"), "killed": ("x-thin-open", "#8b0000"), "stopped": ("square", "#555555"),
    "exited": ("square-open", "#555555"), "overcommit": ("hexagon", "#9467bd"),
}
_TEXT_PERIOD = 0.5  # seconds between two updates of the figures' line (a step updates it at once)
_STREAMED = {"virt": 0, "res": 1, "shr": 2, "committed": 3, "minflt": 4, "rss_exact": 6}  # series -> trace
_COLOURS = {"virt": "#1f77b4", "res": "#d62728", "shr": "#2ca02c", "committed": "#9467bd", "minflt": "#8c564b"}


class MemoryPanel(ClosingMixin, DisplayMixin):
    """A live chart of malloc_test with start/stop, step, interval, memset, touch % and overcommit controls.

    Drive it from code as well: ``start()``, ``set_touch()``, ``wait_steps()``, ``stop()``,
    ``data()``, ``step_table()``.  Creating a panel with the same ``key`` (running the cell
    again) stops the previous one first: its program, sampler and threads.
    """

    KIND = KIND

    def __init__(self, step_mib: int = 1, interval_ms: int = 1000, touch: bool = False,
                 touch_pct: int = 100, max_mib: int = programs.MAX_MIB_DEFAULT, *, hz: float = 5.0, window: int = 600,
                 lang: str | None = None, key: str = "default", max_fps: float = 5.0, height: int = 520,
                 rlimit_as_mib: int | None = None):
        # the model checks every argument first: bad input fails before anything starts or stops
        self.model = MallocExperiment(step_mib, interval_ms, touch, touch_pct, max_mib, hz=hz, window=window,
                                      lang=lang, rlimit_as_mib=rlimit_as_mib)
        self.lang = self.model.lang
        self.key = key
        self.closed = False
        registry.replace(KIND, key, self)  # stops the previous panel of this key first
        self._draw_lock = threading.RLock()  # the redraw thread, the caller's thread and frontend messages
        self._run, self._run_sampler, self._sent_t = 0, None, None  # what the page has been sent
        self._exact_shown = False
        self._text_at, self._text_steps = 0.0, -1  # when the figures' line was last written
        t0 = time.perf_counter()
        self.chart = self._make_figure(height)
        self.figure = self.chart  # the name of the chart before it became a LiveChart
        self.figure_seconds = time.perf_counter() - t0  # building the chart (plain JSON): milliseconds
        self._build_controls()
        self._redrawer = Redrawer(self._draw, max_fps=max_fps, name="toplab-panel-redraw")
        self.model.listeners.append(self._redrawer.poke)
        self._last_oc: OvercommitStatus | None = None
        self._error: str | None = None
        self._draw()

    # --- construction ---
    def _make_figure(self, height: int) -> LiveChart:
        """The chart as plain JSON (two rows, a second y axis below), in a LiveChart: no plotly import."""
        lang = self.lang

        def line(name: str, metric: str, colour: str, **kw) -> dict:
            tip = esc(column_help(metric, lang))
            return {"type": "scatter", "x": [], "y": [], "name": name, "mode": "lines",
                    "line": {"color": colour, "width": 2}, "xaxis": "x", "yaxis": "y",
                    "hovertemplate": _LABELS("hover", lang, name=name, y="%{y:.2f}", x="%{x:.1f}")
                    + f"<extra>{tip[:80]}</extra>", **kw}

        data = [
            line("VIRT", "VIRT", _COLOURS["virt"]),
            line("RES", "RES", _COLOURS["res"]),
            line("SHR", "SHR", _COLOURS["shr"]),
            {"type": "scatter", "x": [], "y": [], "name": _LABELS("committed", lang), "mode": "lines",
             "line": {"color": _COLOURS["committed"], "dash": "dot"}, "xaxis": "x2", "yaxis": "y2",
             "hovertemplate": "Committed_AS %{y:+.1f} MiB " + _LABELS("since", lang) + "<extra></extra>"},
            {"type": "scatter", "x": [], "y": [], "name": _LABELS("y3", lang), "mode": "lines",
             "line": {"color": _COLOURS["minflt"]}, "xaxis": "x2", "yaxis": "y3",
             "hovertemplate": "%{y:,} " + _LABELS("y3", lang) + "<extra></extra>"},
            {"type": "scatter", "x": [], "y": [], "name": "events", "mode": "markers+text",
             "textposition": "top center", "textfont": {"size": 11}, "marker": {"size": 11},
             "hovertemplate": "%{text}<extra></extra>", "showlegend": False, "xaxis": "x", "yaxis": "y"},
            # Trace 6: the exact Rss, drawn only where top's RES (a cached counter on kernels before 6.16) lags it.
            {"type": "scatter", "x": [], "y": [], "name": _LABELS("rss_exact", lang), "mode": "lines", "visible": False,
             "line": {"color": _COLOURS["res"], "dash": "dash", "width": 1.5}, "xaxis": "x", "yaxis": "y",
             "hovertemplate": _LABELS("rss_exact", lang) + " %{y:.2f} MiB<extra></extra>"},
        ]
        # the layout plotly's make_subplots(rows=2, shared_xaxes=True, row_heights=[0.68, 0.32],
        # vertical_spacing=0.06, specs=[[{}], [{"secondary_y": True}]]) builds
        layout = {
            # no uirevision: the figure is never rebuilt, so a reader's zoom stays without it (the page
            # stops moving the axes after a zoom, until a double-click)
            "height": height, "margin": {"l": 60, "r": 60, "t": 40, "b": 80},
            "legend": {"orientation": "h", "y": -0.12, "yanchor": "top", "x": 0},
            "title": {"x": 0.01, "y": 0.99, "font": {"size": 13}}, "template": template("plotly_white"),
            "xaxis": {"anchor": "y", "domain": [0.0, 0.94], "matches": "x2", "showticklabels": False},
            "yaxis": {"anchor": "x", "domain": [0.3608, 1.0], "title": {"text": _LABELS("y1", lang)}, "rangemode": "tozero"},
            "xaxis2": {"anchor": "y2", "domain": [0.0, 0.94], "title": {"text": _LABELS("x", lang)}},
            "yaxis2": {"anchor": "x2", "domain": [0.0, 0.3008], "title": {"text": _LABELS("y2", lang)}},
            "yaxis3": {"anchor": "x2", "overlaying": "y2", "side": "right", "title": {"text": _LABELS("y3", lang)},
                       "rangemode": "tozero", "showgrid": False},
        }
        spec = {"data": data, "layout": layout, "config": {"displaylogo": False},
                "stream": list(_STREAMED.values()), "xaxes": ["xaxis2"]}
        chart = LiveChart(spec=spec, window=self.model.window, title=self.model.title(), marker_trace=5,
                          visible=[t.get("visible", True) for t in data], lang=lang,
                          snapshot=self._snapshot, lock=self._draw_lock, static=self.static_figure)
        chart.add_class("toplab-livechart")
        return chart

    def static_figure(self) -> dict:
        """The chart as it stands, as a plain plotly figure (a static page: book mode).

        The whole window from ``model.chart()``, the markers, the title and the chart's layout;
        the exact Rss only where the live chart shows it.
        """
        import copy

        spec = self.chart.spec
        c = self.model.chart()
        data = copy.deepcopy(spec["data"])
        for key, i in _STREAMED.items():
            data[i]["x"], data[i]["y"] = list(c["t"]), list(c[key])
        for i, v in enumerate(self.chart.visible):
            data[i]["visible"] = bool(v)
        mk = self.chart.markers
        data[5].update(x=[m["t"] for m in mk], y=[m["y"] for m in mk], text=[m["text"] for m in mk],
                       marker=dict(data[5].get("marker", {}), symbol=[m["symbol"] for m in mk],
                                   color=[m["color"] for m in mk]))
        layout = copy.deepcopy(spec["layout"])
        layout["title"] = dict(layout.get("title", {}), text=self.chart.title or c["title"])
        if self.chart.title_color:
            layout["title"]["font"] = dict(layout["title"].get("font", {}), color=self.chart.title_color)
        return {"data": data, "layout": layout}

    def _build_controls(self) -> None:
        lang, m = self.lang, self.model
        short = W.Layout(width="190px")
        self.start_button = W.Button(description=_LABELS("start", lang), icon="play", button_style="success",
                                     layout=W.Layout(width="100px"))
        self.stop_button = W.Button(description=_LABELS("stop", lang), icon="stop", button_style="danger",
                                    layout=W.Layout(width="100px"))
        self.pause_button = W.ToggleButton(description=_LABELS("pause", lang), icon="pause", value=False,
                                           layout=W.Layout(width="120px"))
        self.step_box = W.BoundedIntText(value=m.step_mib, min=1, max=programs.STEP_MIB_MAX,
                                         description=_LABELS("step", lang), layout=short)
        self.interval_box = W.BoundedIntText(value=m.interval_ms, min=PANEL_INTERVAL_MS_MIN,
                                             max=programs.INTERVAL_MS_MAX, description=_LABELS("interval", lang),
                                             layout=short)
        self.max_box = W.BoundedIntText(value=m.max_mib, min=1, max=programs.MAX_MIB_MAX,
                                        description=_LABELS("max", lang), layout=short)
        self.touch_toggle = W.ToggleButton(description=_LABELS("touch", lang), value=m.touch, icon="pencil",
                                           tooltip=_LABELS("touch_tip", lang), layout=W.Layout(width="120px"))
        self.touch_toggle.add_class("toplab-touch")
        self.pct_slider = W.IntSlider(value=m.touch_pct, min=1, max=100, description=_LABELS("pct", lang),
                                      continuous_update=False, layout=W.Layout(width="280px"))
        cur = overcommit.settings()
        names = overcommit.MODE_NAMES
        self.mode_dropdown = W.Dropdown(
            options=[(f"{k}: {names[k][lang == 'ko'].split(':')[0]}", k) for k in (0, 1, 2)],
            value=cur.mode, description=_LABELS("mode", lang), layout=W.Layout(width="300px"))
        self.ratio_slider = W.IntSlider(value=max(1, min(100, cur.ratio)), min=1, max=100,
                                        description=_LABELS("ratio", lang), continuous_update=False,
                                        layout=W.Layout(width="280px"))
        self.overcommit_html = W.HTML()
        self.overcommit_html.add_class("toplab-overcommit")
        self.values_html = W.HTML()
        self.values_html.add_class("toplab-values")
        self.status_html = W.HTML()
        self.status_html.add_class("toplab-status")
        for b in (self.start_button, self.stop_button):
            b.add_class("toplab-" + ("start" if b is self.start_button else "stop"))
        self.start_button.on_click(lambda _b: self._safely(self._on_start))
        self.stop_button.on_click(lambda _b: self._safely(self.model.stop))
        self.pause_button.observe(lambda ch: self._safely(self._on_pause, ch["new"]), names="value")
        self.touch_toggle.observe(lambda ch: self._safely(self._on_touch, ch["new"]), names="value")
        self.pct_slider.observe(lambda ch: self._safely(self._on_pct, ch["new"]), names="value")
        self.mode_dropdown.observe(lambda ch: self._safely(self._on_mode), names="value")
        self.ratio_slider.observe(lambda ch: self._safely(self._on_mode), names="value")
        self.widget = W.VBox([
            W.HBox([self.start_button, self.pause_button, self.stop_button, self.step_box, self.interval_box,
                    self.max_box]),
            W.HBox([self.touch_toggle, self.pct_slider, self.mode_dropdown, self.ratio_slider]),
            self.overcommit_html, self.values_html, self.status_html, self.chart,
        ])
        self.widget.add_class("toplab-panel")

    # --- clicks (main thread) ---
    def _safely(self, fn, *args) -> None:
        """Run a click's action; an error becomes the status line instead of a traceback in the log."""
        try:
            self._error = None
            fn(*args)
        except Exception as e:
            self._error = f"{type(e).__name__}: {e}"
        self._redrawer.poke()
        self._draw_controls()

    def _on_start(self) -> None:
        self.model.configure(step_mib=int(self.step_box.value), interval_ms=int(self.interval_box.value),
                             max_mib=int(self.max_box.value))
        self.start()

    def _on_pause(self, value: bool) -> None:
        if not self.model.running or value == (self.model.state == "paused"):
            return
        self.model.pause() if value else self.model.resume()

    def _on_touch(self, value: bool) -> None:
        if value != self.model.touch:
            self.model.set_touch(bool(value))

    def _on_pct(self, value: int) -> None:
        if value != self.model.touch_pct:
            self.model.set_touch_percent(int(value))

    def _on_mode(self) -> None:
        mode = int(self.mode_dropdown.value)
        ratio = int(self.ratio_slider.value) if mode == 2 else None
        if self.model.overcommit.chosen == (mode, ratio):
            return
        self._last_oc = self.model.set_overcommit(mode, ratio)

    # --- drawing (Redrawer thread, or the caller's) ---
    def _draw(self) -> bool:
        with self._draw_lock:
            return self._draw_locked()

    def _run_id(self) -> tuple[int, bool]:
        """A number per run of the program (the page drops points of an earlier run), and whether
        this call saw a new run (the page needs a reset). One read of the sampler: a start() that
        swaps it at any moment is seen by exactly one call, which then sends the reset."""
        s = self.model.sampler
        if s is not self._run_sampler:
            self._run_sampler = s
            self._run += 1
            self._sent_t = None
            return self._run, True
        return self._run, False

    def _series(self, c: dict) -> dict[int, list]:
        ys = {i: c[key] for key, i in _STREAMED.items() if key != "rss_exact"}
        if self._exact_shown:
            ys[_STREAMED["rss_exact"]] = c["rss_exact"]
        return ys

    def _snapshot(self) -> list[dict]:
        """What a page that just opened the chart needs: this run's window, once (the lock is held)."""
        run, _new = self._run_id()
        c = self.model.chart_since(None)
        self._sent_t = c["after"]  # the next draw appends from here: no point reaches the page twice
        return [points_message("reset", run, c["t"], self._series(c))]

    def _draw_locked(self) -> bool:
        m = self.model
        chart = self.chart
        run, fresh = self._run_id()
        c = m.chart_since(self._sent_t)
        if not self._exact_shown and c["rss_exact"] and any(e is not None for e in c["rss_exact"]) \
                and getattr(m, "res_lags", lambda: False)():  # shown for good, with its whole window
            self._exact_shown = fresh = True
            c = m.chart_since(None)
            chart.visible = [True if i == _STREAMED["rss_exact"] else v for i, v in enumerate(chart.visible)]
        if fresh:
            chart.reset(run, c["t"], self._series(c))
        else:
            chart.append(run, c["t"], self._series(c))
        self._sent_t = c["after"]
        marks = m.chart_markers(self._window_start())
        chart.markers = [{"t": mk["t"], "y": round(mk["y"], 3), "text": mk["label"],
                          "symbol": _MARKER_STYLE.get(mk["kind"], ("circle", "#333"))[0],
                          "color": _MARKER_STYLE.get(mk["kind"], ("circle", "#333"))[1]} for mk in marks]
        chart.title = m.title()
        chart.title_color = "#8b0000" if (m.state == "finished" and m.exit and "killed" in m.exit) else ""
        self._draw_text()
        self._draw_controls()
        return m.running  # finished: the final state is drawn, the thread may end

    def _window_start(self) -> float | None:
        """The oldest sample's time in the window (markers before it leave the chart)."""
        s = self.model.sampler
        if s is None or not s.buffer:
            return None
        try:
            return s.buffer[0]["t"]
        except IndexError:
            return None

    def _draw_text(self) -> None:
        m, lang = self.model, self.lang
        last = m.latest()
        now, steps = time.monotonic(), len(m._steps)
        # the figures at most twice a second (each new text lays out the page), at once after a step
        if last is not None and (now - self._text_at >= _TEXT_PERIOD or steps != self._text_steps
                                 or not m.running):
            self._text_at, self._text_steps = now, steps
            base = m._baseline or {}
            dc = (last["committed_as"] - base["committed_as"]) if base.get("committed_as") is not None else None
            df = (last["minflt"] - base["minflt"]) if base.get("minflt") is not None else None
            pid = int(last["pid"])
            parts = [f'<span class="toplab-pid" data-pid="{pid}" title="{esc(column_help("PID", lang))}">'
                     f"PID {pid}</span>"]
            for col, key in (("VIRT", "virt"), ("RES", "res"), ("SHR", "shr")):
                parts.append(f'<span title="{esc(column_help(col, lang))}">{col}</span> '
                             f'<b data-metric="{key}" data-bytes="{int(last[key])}">{esc(fmt_bytes(last[key]))}</b>')
            if dc is not None:
                parts.append(f'<span title="{esc(column_help("Committed_AS", lang))}">Committed_AS</span> '
                             f'<b data-metric="committed" data-bytes="{int(dc)}">{"+" if dc >= 0 else "-"}'
                             f'{esc(fmt_bytes(abs(dc)))}</b>')
            if df is not None:
                parts.append(f'<span title="{esc(column_help("nMin", lang))}">{_LABELS("y3", lang)}</span> '
                             f'<b data-metric="minflt" data-count="{int(df)}">+{df:,}</b>')
            self.values_html.value = " &nbsp;·&nbsp; ".join(parts)
        lines = m.narration[-3:]
        out = [f'<div style="color:#777">{esc(x)}</div>' for x in lines[:-1]]
        out.append(f'<div class="toplab-status-line" style="font-weight:600">{esc(lines[-1])}</div>')
        if self._error:
            out.append(f'<div style="color:#c00;font-weight:600">{_LABELS("error", lang)}: {esc(self._error)}</div>')
        self.status_html.value = "".join(out)
        oc = m.overcommit_status
        if oc is None:
            self.overcommit_html.value = f'<span style="color:#555">{esc(m.overcommit.describe_current())}</span>'
        else:
            style = ("border-left:4px solid #9467bd;padding-left:6px" if oc.real else
                     "border-left:4px solid #ff7f0e;padding-left:6px;background:#fff8ec")
            self.overcommit_html.value = f'<div style="{style}" data-real="{int(oc.real)}">{esc(oc.text)}</div>'

    def _draw_controls(self) -> None:
        with self._draw_lock:
            self._draw_controls_locked()

    def _draw_controls_locked(self) -> None:
        m = self.model
        running = m.running
        self.start_button.disabled = running or m.closed
        self.stop_button.disabled = not running
        self.pause_button.disabled = not running
        for box in (self.step_box, self.interval_box, self.max_box):
            box.disabled = running
        if self.touch_toggle.value != m.touch:
            self.touch_toggle.value = m.touch
        if self.pct_slider.value != m.touch_pct:
            self.pct_slider.value = m.touch_pct
        if self.pause_button.value != (m.state == "paused"):
            self.pause_button.value = m.state == "paused"
        self.ratio_slider.layout.display = None if self.mode_dropdown.value == 2 else "none"

    # --- the code API ---
    def start(self) -> MemoryPanel:
        """Start malloc_test (and the sampler and redraw threads); the chart is already there."""
        self.model.start()
        self._redrawer.start()
        self._redrawer.poke()
        return self

    def stop(self) -> str:
        """Stop the program; the chart keeps its final state. Returns the final narration line."""
        final = self.model.stop()
        self._draw()
        return final

    def _teardown(self) -> None:
        """close(): stop the program, sampler and redraw thread; draw the final state once more."""
        self.model.close(replaced=True)
        self._redrawer.stop()
        self._draw()

    def set_touch(self, on: bool | int, timeout: float = 2.0) -> dict | None:
        """memset on/off (or a percent), live; returns the program's acknowledgement event."""
        ack = self.model.set_touch(on, timeout)
        self._draw_controls()
        return ack

    def set_touch_percent(self, pct: int, timeout: float = 2.0) -> dict | None:
        ack = self.model.set_touch_percent(pct, timeout)
        self._draw_controls()
        return ack

    def pause(self) -> dict:
        return self.model.pause()

    def resume(self) -> dict:
        return self.model.resume()

    def set_overcommit(self, mode: int, ratio: int | None = None) -> OvercommitStatus:
        """Choose vm.overcommit_memory: a real change (restored at stop) when possible, else a prediction."""
        st = self.model.set_overcommit(mode, ratio)
        self._last_oc = st
        if self.mode_dropdown.value != mode:
            self.mode_dropdown.value = mode
        if ratio is not None and self.ratio_slider.value != ratio:
            self.ratio_slider.value = ratio
        self._draw_text()
        return st

    def wait_steps(self, n: int, timeout: float = 30.0) -> pd.DataFrame:
        """Block until this run has made ``n`` steps; returns step_table()."""
        return self.model.wait_steps(n, timeout)

    def step_table(self) -> pd.DataFrame:
        """One row per step: totals, VIRT/RES/SHR/minflt/Committed_AS after it, d_* changes (bytes)."""
        return self.model.step_table()

    def data(self) -> pd.DataFrame:
        """The sampler's DataFrame (t in seconds, sizes in bytes) for the bounded window."""
        return self.model.data()

    @property
    def status(self) -> str:
        """The latest narration line."""
        return self.model.status

    @property
    def narration(self) -> list[str]:
        return list(self.model.narration)

    @property
    def markers(self):
        return list(self.model.markers)

    @property
    def program(self):
        return self.model.program

    @property
    def state(self) -> str:
        return self.model.state

    def redraw_stats(self) -> dict[str, float]:
        """How the redraw thread keeps up: draws, mean/max ms per draw, draws per second."""
        return self._redrawer.stats()

    def threads_alive(self) -> dict[str, bool]:
        """Which of this panel's threads run now (all False once it is stopped or closed)."""
        s = self.model.sampler
        p = self.model._pump
        return {"sampler": bool(s and s.alive), "pump": bool(p and p.is_alive()),
                "redraw": self._redrawer.alive}

    def __repr__(self) -> str:
        pid = self.model.program.pid if self.model.program else None
        return f"<MemoryPanel key={self.key!r} pid={pid} state={self.model.state}>"


def memory_panel(step_mib: int = 1, interval_ms: int = 1000, touch: bool = False, touch_pct: int = 100,
                 max_mib: int = programs.MAX_MIB_DEFAULT, **kwargs) -> MemoryPanel | RecordedPanel:
    """Create a MemoryPanel and display it; returns it (assign it: ``panel = memory_panel()``).

    Without /proc (macOS, Windows) it shows malloc_test's trace recorded on Linux, labelled as such.
    """
    if not procfs.have_proc():
        from ..recordings import RecordedPanel

        return RecordedPanel(lang=kwargs.get("lang")).show()
    return MemoryPanel(step_mib, interval_ms, touch, touch_pct, max_mib, **kwargs).show()

