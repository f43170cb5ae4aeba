"""The model of the live top table (toptable.py): refresh, sort, filter and highlight, with no widget in it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from .. import programs, top, validate
from ..i18n import error
from ._model_common import check_lang

__all__ = ["SORTABLE", "FILTER_FIELDS", "TopView", "TopModel"]

SORTABLE = ("%CPU", "RES", "VIRT", "%MEM")
FILTER_FIELDS = ("COMMAND", "USER")


@dataclass
class TopView:
    """What the top table shows after sorting, filtering and highlighting."""

    header: list[str]
    table: pd.DataFrame
    highlight: set[int]
    total: int
    snapshot_time: float


class TopModel:
    """Refresh, sort, filter and highlight top's table: the logic of the live top table.

    Refreshes go through one ``top.Refresher``, so each (after the first) is a single pass over
    /proc with %CPU over the time since the previous one, as in top; :meth:`release` closes its
    files and the next refresh starts afresh.
    """

    def __init__(self, sort: str = "%CPU", filter_text: str = "", filter_field: str = "COMMAND",
                 max_rows: int = 25, interval: float = 2.0, lang: str | None = None,
                 highlight: Iterable[int] = ()):
        self.lang = check_lang(lang)
        self.set_sort(sort)
        self.set_filter(filter_text, filter_field)
        self.max_rows = validate.whole("max_rows", max_rows, 1, 10_000, what=("a whole number of rows", "행 수(정수)"))
        self.set_interval(interval)
        self.extra_highlight: set[int] = set(highlight)
        self.snapshot: top.Snapshot | None = None
        self._refresher: top.Refresher | None = None
        self._refresher_lock = threading.Lock()

    def set_sort(self, sort: str) -> None:
        if sort not in SORTABLE:
            raise error(ValueError, "sort must be one of {known}, not {sort!r}",
                        "sort는 {known} 중 하나여야 합니다({sort!r}은(는) 쓸 수 없습니다).", self.lang,
                        known=", ".join(SORTABLE), sort=sort)
        self.sort = sort

    def set_filter(self, text: str, field: str = "COMMAND") -> None:
        if field not in FILTER_FIELDS:
            raise error(ValueError, "filter field must be COMMAND or USER, not {field!r}",
                        "필터 필드는 COMMAND나 USER여야 합니다({field!r}은(는) 쓸 수 없습니다).", self.lang, field=field)
        if not isinstance(text, str):
            raise error(TypeError, "filter text must be a string, not {text!r}",
                        "필터 글자에는 문자열을 주세요({text!r}은(는) 쓸 수 없습니다).", self.lang, text=text)
        self.filter_text, self.filter_field = text.strip(), field

    def set_interval(self, interval: float) -> None:
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 0.1 <= interval <= 60:
            raise error(ValueError, "refresh interval must be between 0.1 and 60 seconds, got {interval!r}",
                        "새로 고침 간격은 0.1초에서 60초 사이여야 합니다({interval!r}은(는) 쓸 수 없습니다).", self.lang,
                        interval=interval)
        self.interval = float(interval)

    def tutorial_pids(self) -> set[int]:
        """The tutorial's own programs (and their children): highlighted in the table."""
        pids = set(self.extra_highlight)
        for p in programs.running():
            if p.pid:
                pids.add(p.pid)
                for ev in list(p.events):
                    if ev.get("event") == "child" and isinstance(ev.get("pid"), int):
                        pids.add(ev["pid"])  # type: ignore[arg-type]
        return pids

    def refresh(self, interval: float | None = None) -> TopView:
        """Refresh the table, first waiting until ``interval`` seconds (default: the model's) have
        passed since the previous refresh, as top does between frames; %CPU covers that time.

        The first refresh, and the first after :meth:`release`, samples twice ``interval`` apart.
        """
        wait = interval if interval is not None else self.interval
        refresher = self._current_refresher()
        try:
            self.snapshot = refresher.refresh(wait)
        except RuntimeError:
            if not refresher.closed:
                raise
            self.snapshot = self._current_refresher().refresh(wait)  # released meanwhile: anew
        return self.view()

    def _current_refresher(self) -> top.Refresher:
        with self._refresher_lock:
            if self._refresher is None:
                self._refresher = top.Refresher()
            return self._refresher

    def release(self) -> None:
        """Close the /proc files top keeps open between refreshes (about 3 per process)."""
        with self._refresher_lock:
            refresher, self._refresher = self._refresher, None
        if refresher is not None:
            refresher.close()
        top.release_files()  # and those that top.snapshot() calls left open

    def view(self) -> TopView:
        snap = self.snapshot
        if snap is None:
            return TopView([], pd.DataFrame(columns=list(top.COLUMNS)), set(), 0, 0.0)
        table = top.sort_table(snap.table, self.sort)
        if self.filter_text:
            col = table[self.filter_field].astype(str)
            table = table[col.str.contains(self.filter_text, case=False, regex=False)]
        highlight = self.tutorial_pids()
        # the tutorial's programs always make it into the rows shown, right after the top ones
        shown = table.head(self.max_rows)
        mine = table[table["PID"].isin(highlight) & ~table["PID"].isin(shown["PID"])]
        shown = pd.concat([shown, mine]) if len(mine) else shown
        header = snap.to_text(max_rows=0).splitlines()
        header = [h for h in header[:-1] if h.strip()]  # drop the column line: the table has it
        return TopView(header, shown.reset_index(drop=True), highlight, len(table), time.time())

