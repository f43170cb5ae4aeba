"""What the four views share: a throttled redraw thread, display and close plumbing, and HTML helpers."""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable

from .. import columns, recordings
from ..i18n import error
from ._model_common import registry


def column_help(column: str, lang: str) -> str:
    """The hover text of a column or metric ('RES', 'nMin', 'committed_as'), from columns.METRICS."""
    return columns.help_text(column, lang)


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


class Redrawer:
    """A daemon thread that calls ``draw()`` after ``poke()``, at most ``max_fps`` times a second.

    Pokes that arrive while drawing coalesce into one more draw of the newest state: there is
    never a backlog.  ``draw()`` returns False to end the thread (e.g. the program finished and
    its final state is drawn); ``start()`` brings it back.
    """

    def __init__(self, draw: Callable[[], bool], max_fps: float = 5.0, name: str = "toplab-redraw"):
        if not 0 < max_fps <= 60:
            raise error(ValueError, "max_fps must be between 0 and 60, got {max_fps}",
                        "max_fps는 0에서 60 사이여야 합니다({max_fps}은(는) 쓸 수 없습니다)", max_fps=max_fps)
        self.draw = draw
        self.period = 1.0 / max_fps
        self.name = name
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.draws = 0
        self.pokes = 0
        self.draw_seconds = 0.0
        self.max_draw_seconds = 0.0
        self.errors: list[str] = []
        self._last = 0.0
        self._first: float | None = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        with self._lock:
            if self.alive:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def poke(self) -> None:
        self.pokes += 1
        self._dirty.set()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._dirty.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)

    def draw_now(self) -> bool:
        t0 = time.perf_counter()
        try:
            keep = self.draw()
        except Exception as e:  # a failed draw must not kill the thread; it is kept for inspection
            self.errors.append(f"{type(e).__name__}: {e}")
            del self.errors[:-20]
            keep = True
        dt = time.perf_counter() - t0
        self.draws += 1
        self.draw_seconds += dt
        self.max_draw_seconds = max(self.max_draw_seconds, dt)
        self._last = time.monotonic()
        if self._first is None:
            self._first = self._last
        return keep

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._dirty.wait(0.5):
                continue
            wait = self._last + self.period - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                break
            self._dirty.clear()
            if self._stop.is_set():
                break
            if not self.draw_now():
                break

    def stats(self) -> dict[str, float]:
        """Draws so far, their mean and worst time (ms), and draws per second since the first."""
        span = (self._last - self._first) if self._first is not None else 0.0
        return {
            "draws": self.draws, "pokes": self.pokes,
            "mean_ms": 1000 * self.draw_seconds / self.draws if self.draws else 0.0,
            "max_ms": 1000 * self.max_draw_seconds,
            "draws_per_s": (self.draws - 1) / span if span > 0 else 0.0,
        }


class DisplayMixin:
    """Display the view's ``widget``; after a factory displayed it, the repr is one text line."""

    widget: object
    _displayed = False

    def _repr_mimebundle_(self, **kwargs):
        if self._displayed:
            return {"text/plain": repr(self)}
        if recordings.book_mode():
            self.show()
            return {"text/plain": repr(self)}
        self._displayed = True
        return self.widget._repr_mimebundle_(**kwargs)  # type: ignore[attr-defined]

    def show(self):
        """Display the widget (again, e.g. in another cell); returns self."""
        from IPython.display import display

        self._displayed = True
        if recordings.book_mode():  # make book: a static page shows a recording or a snapshot instead
            recordings.book_display(self)
            return self
        display(self.widget)
        return self


class ClosingMixin:
    """``close()`` for a view registered in ``_model_common.registry`` under (``KIND``, ``key``).

    Running the cell again (``registry.replace``) and ``close_all()`` call it.  It acts once:
    it marks the view closed, runs the view's ``_teardown()`` (stop what the view started:
    its program, sampler, threads) and then leaves the registry.
    """

    KIND: str
    key: str
    closed = False

    def close(self) -> None:
        """Stop everything this view started (program, sampler, threads); used when the cell runs again."""
        if self.closed:
            return
        self.closed = True
        self._teardown()
        registry.discard(self.KIND, self.key, self)

    def _teardown(self) -> None:
        raise NotImplementedError
