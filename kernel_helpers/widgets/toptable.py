"""A live top: the header lines and the process table, refreshed by a daemon thread.

Sorting, filtering and which rows to highlight are ``TopModel`` (toptable_model.py); this view renders
its ``TopView`` as HTML, with each column header explaining itself on hover (from
columns.METRICS).  Pausing or closing stops the thread.
"""

from __future__ import annotations

import threading

import ipywidgets as W
import pandas as pd

from .. import top
from ..i18n import Texts
from ._common import ClosingMixin, DisplayMixin, column_help, esc
from ._model_common import registry
from .toptable_model import FILTER_FIELDS, SORTABLE, TopModel, TopView

KIND = "top_table"
_LABELS = Texts({
    "sort": ("sort by", "정렬"), "filter": ("filter", "필터"), "interval": ("every s", "갱신 초"),
    "pause": ("Pause", "일시정지"), "rows": ("{n} of {total} processes shown; yours are highlighted",
                                         "프로세스 {total}개 중 {n}개 표시, 튜토리얼 프로그램은 강조"),
    "placeholder": ("command or user contains…", "명령 또는 사용자 포함…"),
    "paused": ("paused", "일시정지됨"),
})
_RIGHT = {"PID", "PR", "NI", "VIRT", "RES", "SHR", "%CPU", "%MEM", "TIME+"}


def _mem(nbytes: int) -> str:
    """top's memory cells: KiB, or m/g/t with one decimal when it gets wider than 7 characters."""
    kib = int(nbytes) // 1024
    if len(str(kib)) <= 7:
        return str(kib)
    n = kib / 1024
    for suffix in "mgt":
        if n < 1024 * 10 or suffix == "t":
            return f"{n:.1f}{suffix}"
        n /= 1024
    return str(kib)


def _time_plus(seconds: float) -> str:
    cent = int(round(seconds * 100))
    return f"{cent // 6000}:{cent // 100 % 60:02d}.{cent % 100:02d}"


def render_html(view: TopView, lang: str = "en") -> str:
    """The header lines and the table as HTML; the tutorial's processes get class toplab-mine."""
    head = "\n".join(esc(h) for h in view.header)
    ths = "".join(
        f'<th title="{esc(column_help(c, lang))}" style="text-align:{"right" if c in _RIGHT else "left"};'
        f'padding:1px 6px;cursor:help;border-bottom:1px solid #999">{esc(c)}</th>' for c in top.COLUMNS)
    t = view.table
    rows_html = []
    for pid, user, pr, ni, virt, res, shr, st, cpu, mem, tplus, comm in zip(
            t["PID"], t["USER"], t["PR"], t["NI"], t["VIRT"], t["RES"], t["SHR"], t["S"], t["%CPU"],
            t["%MEM"], t["TIME+"], t["COMMAND"], strict=True):
        cells = {"PID": int(pid), "USER": user, "PR": "rt" if pr < -99 else int(pr), "NI": int(ni),
                 "VIRT": _mem(virt), "RES": _mem(res), "SHR": _mem(shr), "S": st, "%CPU": f"{cpu:.1f}",
                 "%MEM": f"{mem:.1f}", "TIME+": _time_plus(tplus), "COMMAND": comm}
        mine = int(pid) in view.highlight
        style = "background:#fff3c4;font-weight:600" if mine else ""
        tds = "".join(f'<td style="text-align:{"right" if c in _RIGHT else "left"};padding:1px 6px">'
                      f"{esc(cells[c])}</td>" for c in top.COLUMNS)
        rows_html.append(f'<tr data-pid="{int(pid)}" class="{"toplab-mine" if mine else ""}" '
                         f'style="{style}">{tds}</tr>')
    return (f'<pre class="toplab-top-header" style="margin:0 0 4px 0;font-size:12px;line-height:1.3">{head}</pre>'
            '<table class="toplab-top-table" style="font-family:monospace;font-size:12px;border-collapse:collapse">'
            f"<thead><tr>{ths}</tr></thead><tbody>{''.join(rows_html)}</tbody></table>")


class TopTable(ClosingMixin, DisplayMixin):
    """top in a notebook: header and process table, sortable, filterable, refreshing every ``interval`` s."""

    KIND = KIND

    def __init__(self, interval: float = 2.0, sort: str = "%CPU", filter_text: str = "",
                 filter_field: str = "COMMAND", max_rows: int = 20, *, lang: str | None = None,
                 key: str = "default", autostart: bool = True, highlight: tuple[int, ...] = ()):
        self.model = TopModel(sort, filter_text, filter_field, max_rows, interval, lang, highlight)
        self.lang = self.model.lang
        self.key = key
        self.closed = False
        registry.replace(KIND, key, self)
        lang = self.lang
        self.sort_dropdown = W.Dropdown(options=list(SORTABLE), value=sort, description=_LABELS("sort", lang),
                                        layout=W.Layout(width="170px"))
        self.filter_text = W.Text(value=filter_text, placeholder=_LABELS("placeholder", lang),
                                  description=_LABELS("filter", lang), layout=W.Layout(width="260px"))
        self.filter_field = W.ToggleButtons(options=list(FILTER_FIELDS), value=filter_field,
                                            style={"button_width": "100px"})
        self.interval_box = W.BoundedFloatText(value=interval, min=0.1, max=60, step=0.5,
                                               description=_LABELS("interval", lang), layout=W.Layout(width="160px"))
        self.pause_button = W.ToggleButton(value=not autostart, description=_LABELS("pause", lang), icon="pause",
                                           layout=W.Layout(width="110px"))
        self.info = W.HTML()
        self.table_html = W.HTML()
        self.table_html.add_class("toplab-top")
        self.sort_dropdown.observe(lambda ch: self._safely(self.model.set_sort, ch["new"]), names="value")
        self.filter_text.observe(lambda ch: self._safely(self._filter), names="value")
        self.filter_field.observe(lambda ch: self._safely(self._filter), names="value")
        self.interval_box.observe(lambda ch: self._safely(self.model.set_interval, float(ch["new"])),
                                  names="value")
        self.pause_button.observe(lambda ch: self.pause() if ch["new"] else self.resume(), names="value")
        self.widget = W.VBox([W.HBox([self.sort_dropdown, self.filter_text, self.filter_field,
                                      self.interval_box, self.pause_button]), self.info, self.table_html])
        self.widget.add_class("toplab-toptable")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: str | None = None
        self.refreshes = 0
        self.refresh(0.2)
        if autostart:
            self.resume()

    def _filter(self) -> None:
        self.model.set_filter(self.filter_text.value, self.filter_field.value)

    def _safely(self, fn, *args) -> None:
        try:
            self._error = None
            fn(*args)
        except Exception as e:
            self._error = f"{type(e).__name__}: {e}"
        self.render()

    # --- the refresh thread ---
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.model.refresh()  # blocks one interval: %CPU over it, as top does
                self.refreshes += 1
            except Exception as e:  # keep refreshing; show what went wrong
                self._error = f"{type(e).__name__}: {e}"
                if self._stop.wait(self.model.interval):
                    break
            if self._stop.is_set():
                break
            self.render()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def resume(self) -> TopTable:
        """Start refreshing every ``interval`` seconds in a daemon thread."""
        if self.closed or self.alive:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="toplab-top", daemon=True)
        self._thread.start()
        if self.pause_button.value:
            self.pause_button.value = False
        self.render()
        return self

    def pause(self) -> TopTable:
        """Stop refreshing (the thread ends, the /proc files it kept open are closed); the last table stays."""
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(self.model.interval + 2)
        self.model.release()
        if not self.pause_button.value:
            self.pause_button.value = True
        self.render()
        return self

    def _teardown(self) -> None:
        """close(): stop refreshing and release the kept-open /proc files."""
        self.pause()

    # --- the code API ---
    def refresh(self, interval: float | None = None) -> TopView:
        """Refresh now and show it, once ``interval`` seconds have passed since the previous refresh."""
        view = self.model.refresh(interval)
        self.refreshes += 1
        self.render(view)
        return view

    def set_sort(self, sort: str) -> None:
        self.model.set_sort(sort)
        self.sort_dropdown.value = sort
        self.render()

    def set_filter(self, text: str, field: str = "COMMAND") -> None:
        self.model.set_filter(text, field)
        self.filter_text.value, self.filter_field.value = text, field
        self.render()

    def rows(self) -> pd.DataFrame:
        """The rows shown now (sorted and filtered), as a DataFrame."""
        return self.model.view().table

    def render(self, view: TopView | None = None) -> None:
        view = view or self.model.view()
        self.table_html.value = render_html(view, self.lang)
        info = _LABELS("rows", self.lang, n=len(view.table), total=view.total)
        if not self.alive:
            info += f" · <b>{_LABELS('paused', self.lang)}</b>"
        if self._error:
            info += f' · <span style="color:#c00">{esc(self._error)}</span>'
        self.info.value = f'<span style="color:#555;font-size:12px">{info}</span>'

    def __repr__(self) -> str:
        return f"<TopTable key={self.key!r} {'refreshing' if self.alive else 'paused'}>"


def top_table(interval: float = 2.0, sort: str = "%CPU", filter_text: str = "", **kwargs) -> TopTable:
    """Create a TopTable, display it and return it (assign it: ``tt = top_table()``)."""
    return TopTable(interval, sort, filter_text, **kwargs).show()
