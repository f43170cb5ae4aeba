"""A plotly chart that costs almost nothing to keep live: the kernel sends only new points.

``LiveChart`` is an anywidget whose front end (livechart.js) draws with the plotly.js that ships
inside the plotly Python package. The figure (traces without data, layout, config) is plain JSON
built by the view: the kernel never imports ``plotly.graph_objects``. After that:

- ``append(x, ys)`` sends only the new points; the page trims each trace to ``window`` points.
- ``reset(x, ys)`` replaces the points (a new run, or a page that asks for what is drawn so far).
- ``replace(traces)`` replaces whole traces (a bar chart redrawn on demand).
- ``title``, ``title_color``, ``markers`` and ``visible`` are traits: sent only when they change.

A page loads plotly.js once and keeps it on ``window``; every later chart in that page, from any
kernel, starts at once. The first chart a kernel makes carries the file in its state (one binary
buffer), so the page runs it as soon as the widget arrives, while the kernel builds the rest; a
page that still lacks it later asks (``need_plotly``) and the kernel answers with the same buffer.
The trait is emptied once the page says it runs plotly.js (``have_plotly``) and, in any case,
after the cell that made the chart, so the file does not stay in the widget's state. ``load_charts()`` shows the small loader a chapter's first cell uses, so a reader waits once,
at the top, with a message.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import anywidget
import traitlets as T

from ..i18n import error

_HERE = Path(__file__).resolve().parent
_ESM = (_HERE / "livechart.js").read_text(encoding="utf-8")
_cache: dict[str, object] = {}
_cache_lock = threading.Lock()

_LOADING = {"en": "Loading the chart library (plotly.js, once per page)…",
            "ko": "차트 라이브러리(plotly.js)를 불러오는 중… (페이지마다 한 번)"}
_READY = {"en": "Charts are ready.", "ko": "차트 준비가 끝났습니다."}


def _plotly_dir() -> Path:
    """The plotly package's folder, found without importing plotly (its import costs seconds)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise error(ImportError, "the plotly package is missing: run `make venv` (or `pip install plotly`) and restart "
                    "the Jupyter kernel", "plotly 패키지가 없습니다. `make venv`(또는 `pip install plotly`)를 실행하고 "
                    "주피터 커널을 다시 시작하세요")
    return Path(next(iter(spec.submodule_search_locations)))


def plotly_js() -> bytes:
    """plotly.min.js from the plotly Python package, read once per kernel."""
    with _cache_lock:
        if "js" not in _cache:
            _cache["js"] = (_plotly_dir() / "package_data" / "plotly.min.js").read_bytes()
        return _cache["js"]  # type: ignore[return-value]


def template(name: str = "plotly_white") -> dict:
    """A plotly layout template (plain JSON from the plotly package), read once per kernel."""
    key = "template:" + name
    with _cache_lock:
        if key not in _cache:
            _cache[key] = json.loads((_plotly_dir() / "package_data" / "templates" / f"{name}.json").read_text())
        return _cache[key]  # type: ignore[return-value]


class LiveChart(anywidget.AnyWidget):
    """A plotly figure in the page, fed by small messages (see the module's docstring).

    ``spec``: ``{"data": [...], "layout": {...}, "config": {...}, "stream": [trace indexes that
    receive points], "xaxes": [x axes whose range the page moves in steps]}``. ``window``: points
    kept per streamed trace (0: no streaming). ``snapshot``: called (under ``lock``) when a page
    asks for what is drawn so far; it returns the messages to send, e.g. one ``reset``.
    """

    _esm = _ESM
    spec = T.Dict().tag(sync=True)
    window = T.Int(0).tag(sync=True)
    title = T.Unicode("").tag(sync=True)
    title_color = T.Unicode("").tag(sync=True)
    markers = T.List().tag(sync=True)
    marker_trace = T.Int(-1).tag(sync=True)
    visible = T.List().tag(sync=True)
    plotly_js = T.Bytes(b"").tag(sync=True)  # the first chart of a kernel: plotly.min.js, as one buffer
    loading_text = T.Unicode("").tag(sync=True)
    ready_text = T.Unicode("").tag(sync=True)

    def __init__(self, *, lang: str = "en", snapshot: Callable[[], list[dict]] | None = None,
                 lock: threading.RLock | None = None, static: Callable[[], dict] | None = None, **kwargs):
        kwargs.setdefault("loading_text", _LOADING.get(lang, _LOADING["en"]))
        kwargs.setdefault("ready_text", _READY.get(lang, _READY["en"]))
        from ..recordings import book_mode

        with _cache_lock:
            first = not _cache.get("offered") and not book_mode()  # a static page draws no live chart
            _cache["offered"] = _cache.get("offered") or first
        if first:  # the page starts on plotly.js as the widget arrives, before the cell has finished
            kwargs["plotly_js"] = plotly_js()
        super().__init__(**kwargs)
        if first:
            _drop_plotly_after_this_cell(self)
        self.lock = lock or threading.RLock()
        self._snapshot = snapshot
        self._static = static
        self._last_replace: dict | None = None
        self.sent_messages = 0
        self.sent_points = 0  # x values sent in points/reset messages
        self.plotly_sent = 0  # how many times this chart sent plotly.js to a page
        self.on_msg(self._on_frontend_msg)

    def static_figure(self) -> dict:
        """The chart as it stands, as a plain plotly figure ({"data", "layout"}) for a static page.

        The view that owns the chart builds it (``static``: its data, markers and title); without
        one, the figure the page was given.
        """
        if self._static is not None:
            with self.lock:
                return self._static()
        return {"data": [dict(t) for t in self.spec.get("data", [])], "layout": dict(self.spec.get("layout", {}))}

    # --- kernel -> page ---
    def _post(self, msg: dict, buffers: Sequence[bytes] | None = None) -> None:
        self.sent_messages += 1
        self.sent_points += len(msg.get("x", ()))
        if self.comm is not None:  # closed widgets send nothing
            self.send(msg, buffers=list(buffers) if buffers else None)

    def append(self, run: int, x: list[float], ys: dict[int, list]) -> None:
        """New points only: the same ``x`` for every trace in ``ys`` (trace index -> values)."""
        if x:
            self._post(points_message("points", run, x, ys))

    def reset(self, run: int, x: list[float], ys: dict[int, list]) -> None:
        """Replace every streamed trace's points (a new run, or a page catching up)."""
        self._post(points_message("reset", run, x, ys))

    def replace(self, traces: dict[int, dict]) -> None:
        """Replace whole traces (their x, y, text, marker...), e.g. a bar chart measured again."""
        msg = {"kind": "replace", "traces": list(traces), "data": list(traces.values())}
        self._last_replace = msg
        self._post(msg)

    def drop_plotly(self) -> None:
        """Empty the ``plotly_js`` trait: a page that opens the chart later asks (``need_plotly``).

        Left in, the file would travel with every page load of the widget and stay in an executed
        notebook's widget state (6.4 MB of base64).
        """
        if self.plotly_js:
            self.plotly_js = b""

    # --- page -> kernel ---
    def _on_frontend_msg(self, _widget, content: dict, _buffers) -> None:
        kind = content.get("kind") if isinstance(content, dict) else None
        if kind == "have_plotly":  # the page runs it: the 4.8 MB need not stay in the widget's state
            self.drop_plotly()
        elif kind == "need_plotly":
            self.plotly_sent += 1
            self._post({"kind": "plotly"}, [plotly_js()])
        elif kind == "hello":
            with self.lock:
                msgs = self._snapshot() if self._snapshot is not None else []
                if self._last_replace is not None:
                    msgs.append(self._last_replace)
                for m in msgs:
                    self._post(m)


def _drop_plotly_after_this_cell(chart: LiveChart) -> None:
    """Empty the chart's ``plotly_js`` once the cell that made it has run (IPython's post_execute),
    so a run without a page (nbclient, papermill) does not keep it either. Outside IPython: no-op."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    ip = get_ipython()
    if ip is None or not hasattr(ip, "events"):
        return

    def done(*_args) -> None:
        try:
            ip.events.unregister("post_execute", done)
        except ValueError:  # pragma: no cover
            pass
        chart.drop_plotly()

    ip.events.register("post_execute", done)


def points_message(kind: str, run: int, x: list[float], ys: dict[int, list]) -> dict:
    return {"kind": kind, "run": run, "x": x, "traces": list(ys), "y": list(ys.values())}


def load_charts(lang: str | None = None) -> None:
    """Display the chart library's loader: the page loads plotly.js now, once, with a message.

    A chapter's first cell calls it, so that its charts later appear at once. It returns nothing
    (a cell ending with it shows the loader once).
    """
    import ipywidgets as W
    from IPython.display import display

    from ..recordings import book_mode
    from ._model_common import check_lang

    if book_mode():  # a static page: its charts are figures that need no loader, and no plotly.js from here
        return
    w = LiveChart(lang=check_lang(lang))
    w.add_class("toplab-chart-loader")
    # in a box: the page loads the ipywidgets controls' code now too, which the panel's buttons need
    display(W.VBox([w]))
