"""Traces recorded on Linux, shown to readers whose machine has no /proc (macOS, Windows).

``python -m kernel_helpers.recordings record`` (``make record``) runs two experiments on Linux
and writes what they measured to small JSON files in ``kernel_helpers/data/``:

- ``malloc_test.json``: VIRT, RES and SHR of malloc_test over time, 1 MiB per step, first
  without memset, then with it (the chapter 2.3 panel);
- ``shared_mem.json``: RES, SHR, USS and PSS of shared_mem and its children (the shared view).

Where /proc is missing, ``widgets.memory_panel()`` and ``widgets.shared_view()`` show these
instead, always labelled "Recorded on Linux <kernel> on <date>": a recording, never a live
measurement.  Loading and showing them needs no Linux; recording does.

Book mode (``TOPLAB_BOOK=1``, set by ``make book``): the notebooks run live on Linux, but a static
site cannot hold a live widget.  There every live view displays what a page can keep instead
(``book_display``): its chart and text as a self-contained plotly figure and HTML, redrawn after
every cell while the view is open, so the page holds the chart of this run as it stood when it was
last used (a chart that drew nothing shows the recording of its experiment, labelled).  Any other
plotly figure (a FigureWidget included) displays as a self-contained figure too (``figure_html``;
the page loads plotly.js once).  The experiments run live, so a chart and the tables and
sentences around it come from the same run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .i18n import error, pick

DATA_DIR = Path(__file__).resolve().parent / "data"
NAMES = ("malloc_test", "shared_mem")
KiB = 1024
MiB = 1024 * KiB

# what the recording runs: small, fixed, and the same as the chapters' defaults where they have one
MALLOC_STEPS = 8  # steps without memset, then as many with it
MALLOC_INTERVAL_MS = 500
MALLOC_HZ = 10
SHARED_MIB = 64
SHARED_CHILDREN = 2

__all__ = ["DATA_DIR", "NAMES", "Recording", "load", "record", "RecordedPanel", "RecordedSharedView",
           "malloc_samples", "malloc_steps", "shared_table", "BOOK_ENV", "book_mode", "figure_html",
           "book_display", "install_book_display"]


# --- loading ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recording:
    """One recorded experiment: ``meta`` (where and when, and what ran) and the measured ``data``."""

    name: str
    meta: dict
    data: dict

    def label(self, lang: str | None = None) -> str:
        """'Recorded on Linux 6.1.0 on 2025-11-25', in the notebook's language."""
        kernel, date = self.meta.get("kernel", "?"), self.meta.get("date", "?")
        return pick(f"Recorded on Linux {kernel} on {date}", f"리눅스 {kernel}에서 {date}에 기록함", lang)


def load(name: str) -> Recording:
    """The recording ``name`` (one of NAMES) shipped in kernel_helpers/data/."""
    if name not in NAMES:
        raise error(ValueError, "unknown recording {name!r}; the recordings are {names}",
                    "{name!r}(이)라는 기록은 없습니다. 기록은 {names} 중 하나입니다.", name=name, names=", ".join(NAMES))
    path = DATA_DIR / f"{name}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(FileNotFoundError, "{path} is missing: on Linux, run `make record` to make it",
                    "{path}이(가) 없습니다. 리눅스에서 `make record`를 실행해 만드세요.", path=path) from None
    return Recording(raw["name"], raw["meta"], raw["data"])


def _meta(what: str) -> dict:
    u = os.uname()
    libc, libc_version = platform.libc_ver()
    with open("/proc/meminfo") as f:
        mem_total = int(next(ln for ln in f if ln.startswith("MemTotal:")).split()[1]) * KiB
    return {
        "kernel": u.release, "machine": u.machine,
        "date": datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
        "libc": f"{libc} {libc_version}".strip(), "page_size": os.sysconf("SC_PAGE_SIZE"),
        "mem_total": mem_total, "what": what,
    }


# --- recording (Linux) ----------------------------------------------------------------------

def record_malloc(steps: int = MALLOC_STEPS, interval_ms: int = MALLOC_INTERVAL_MS, hz: float = MALLOC_HZ) -> dict:
    """Run malloc_test: ``steps`` 1 MiB mallocs without memset, then ``steps`` with it, sampled at ``hz``."""
    from . import programs
    from .sampler import Sampler

    prog = programs.malloc_test(step_mib=1, interval_ms=interval_ms, touch="none", max_mib=4 * steps,
                                wait_go=True)
    with prog:
        sampler = Sampler(prog, hz=hz, maxlen=100_000, system=False).start()
        time.sleep(0.5)  # a baseline before the first step
        prog.send("go")
        prog.wait_for("step", timeout=10, n=steps)
        prog.send("touch on")
        touch = prog.wait_for("touch", timeout=5)
        prog.wait_for("step", timeout=10 + steps * interval_ms / 1000, n=2 * steps)
        time.sleep(interval_ms / 1000 / 2)
        sampler.stop()
        t0 = sampler.t0 or 0.0
        events = list(prog.events)
    df = sampler.to_dataframe()
    t_touch = float(touch["t"]) - t0
    samples = {
        "t": [round(float(x), 2) for x in df["t"]],
        "virt_kib": [int(v) // KiB for v in df["virt"]],
        "res_kib": [int(v) // KiB for v in df["res"]],
        "shr_kib": [int(v) // KiB for v in df["shr"]],
        "minflt": [int(v) for v in df["minflt"]],
    }
    step_rows = [{"n": int(e["n"]), "t": round(float(e["t"]) - t0, 2), "ok": int(e.get("ok", 0)),
                  "requested": int(e["requested"]), "touched": int(e["touched"])}
                 for e in events if e["event"] == "step"]
    return {"name": "malloc_test",
            "meta": _meta(f"malloc_test --step-mib 1 --interval-ms {interval_ms} --touch none "
                          f"--max-mib {4 * steps} --wait-go; 'touch on' after step {steps}; "
                          f"sampled from /proc/PID/statm and stat at {hz:g} Hz"),
            "data": {"samples": samples, "steps": step_rows, "touch_on_t": round(t_touch, 2),
                     "step_bytes": MiB, "interval_ms": interval_ms}}


def record_shared(mib: int = SHARED_MIB, children: int = SHARED_CHILDREN) -> dict:
    """Run shared_mem with ``children`` children sharing ``mib`` MiB; measure each process once."""
    from . import metrics, programs

    with programs.shared_mem(mib, children=children) as prog:
        prog.wait_for("holding", timeout=30)
        kids = sorted((int(e["index"]), int(e["pid"])) for e in prog.events if e["event"] == "child")
        rows = []
        for role, pid in [("parent", prog.pid), *((f"child {i}", pid) for i, pid in kids)]:
            s = metrics.process_sample(pid, full=True)
            rows.append({"role": role, "res_kib": s.res // KiB, "shr_kib": s.shr // KiB,
                         "uss_kib": (s.uss or 0) // KiB, "pss_kib": (s.pss or 0) // KiB,
                         "rss_anon_kib": (s.rss_anon or 0) // KiB, "rss_shmem_kib": (s.rss_shmem or 0) // KiB})
    return {"name": "shared_mem",
            "meta": _meta(f"shared_mem --mib {mib} --children {children}; each process measured from "
                          "/proc/PID/statm, status and smaps_rollup"),
            "data": {"mib": mib, "children": children, "processes": rows}}


def record(out_dir: str | os.PathLike[str] = DATA_DIR) -> list[Path]:
    """Record every experiment on this Linux machine into ``out_dir``; returns the files written."""
    if not sys.platform.startswith("linux") or not os.path.exists("/proc/self/statm"):
        raise error(RuntimeError, "recording needs Linux with /proc: run `make record` on a Linux machine",
                    "기록하려면 /proc이 있는 리눅스가 필요합니다. 리눅스 시스템에서 `make record`를 실행하세요.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for rec in (record_malloc(), record_shared()):
        path = out / f"{rec['name']}.json"
        path.write_text(json.dumps(rec, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


# --- the recordings as tables ----------------------------------------------------------------

def malloc_samples(rec: Recording | None = None):
    """The malloc_test trace as a DataFrame: t (s), virt, res, shr (bytes), minflt, memset ('off'/'on')."""
    import pandas as pd

    rec = rec or load("malloc_test")
    s = rec.data["samples"]
    df = pd.DataFrame({"t": s["t"], "virt": [v * KiB for v in s["virt_kib"]],
                       "res": [v * KiB for v in s["res_kib"]], "shr": [v * KiB for v in s["shr_kib"]],
                       "minflt": s["minflt"]})
    df["memset"] = ["on" if t >= rec.data["touch_on_t"] else "off" for t in df["t"]]
    return df


def malloc_steps(rec: Recording | None = None):
    """One row per recorded step: n, t, ok, requested, touched (bytes, totals so far)."""
    import pandas as pd

    rec = rec or load("malloc_test")
    return pd.DataFrame(rec.data["steps"], columns=["n", "t", "ok", "requested", "touched"])


def shared_table(rec: Recording | None = None):
    """One row per recorded shared_mem process: role, RES, SHR, USS, PSS, RssAnon, RssShmem (bytes)."""
    import pandas as pd

    rec = rec or load("shared_mem")
    rows = [{"role": r["role"], **{k[:-4]: r[k] * KiB for k in r if k.endswith("_kib")}}
            for r in rec.data["processes"]]
    return pd.DataFrame(rows, columns=["role", "res", "shr", "uss", "pss", "rss_anon", "rss_shmem"])


# --- the views --------------------------------------------------------------------------------

def _banner(rec: Recording, lang: str | None, live: str) -> str:
    return pick(
        f"RECORDING, not a live measurement: this machine has no /proc ({sys.platform}), so {live} "
        f"cannot run here. {rec.label('en')} ({rec.meta.get('machine', '')}, {rec.meta.get('libc', '')}): "
        f"{rec.meta.get('what', '')}. On Linux the same cell runs the experiment live.",
        f"기록이며 실시간 측정이 아닙니다: 이 시스템에는 /proc이 없어서({sys.platform}) {live} 실험을 여기서 실행할 수 "
        f"없습니다. {rec.label('ko')} ({rec.meta.get('machine', '')}, {rec.meta.get('libc', '')}): "
        f"{rec.meta.get('what', '')}. 리눅스에서는 같은 셀이 실험을 실시간으로 실행합니다.", lang)


def _show(banner: str, figure) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:  # pragma: no cover
        get_ipython = None  # noqa: N806
    if get_ipython is not None and get_ipython() is not None:
        import html

        display(HTML(f'<div class="toplab-recording" style="border-left:4px solid #ff7f0e;padding:4px 8px;'
                     f'background:#fff8ec;font-weight:600">{html.escape(banner)}</div>'))
        display(figure)
    else:
        print(banner)


class _Recorded:
    """What both recorded views share: the banner, a note for live controls, display."""

    recording: Recording
    lang: str | None
    live: str  # the program recorded, and the name of its recording

    def __init__(self, *args: object, lang: str | None = None, **kwargs: object):
        # the live widget's arguments are accepted and ignored: the recording is what it is
        self.recording = load(self.live)
        self.lang = lang
        self.figure = self._figure()

    def _figure(self):
        raise NotImplementedError

    @property
    def label(self) -> str:
        return self.recording.label(self.lang)

    @property
    def banner(self) -> str:
        return _banner(self.recording, self.lang, self.live)

    def _note(self, action: str) -> str:
        text = pick(f"{action}: nothing runs here, this is a recording ({self.label}).",
                    f"{action}: 여기서는 아무것도 실행하지 않습니다. 기록을 보여 줍니다 ({self.label}).", self.lang)
        print(text)
        return text

    def show(self):
        """Display the banner and the chart; returns self."""
        _show(self.banner, self.figure)  # type: ignore[attr-defined]
        return self

    def close(self) -> None:
        pass


class RecordedPanel(_Recorded):
    """``memory_panel()`` without /proc: malloc_test's recorded VIRT/RES/SHR, memset off then on.

    The panel's code API answers from the recording (``data()``, ``step_table()``,
    ``wait_steps()``); the live controls (``start()``, ``set_touch()`` ...) only say so.
    """

    live = "malloc_test"

    def _figure(self):
        import plotly.graph_objects as go

        df = malloc_samples(self.recording)
        fig = go.Figure()
        for col, name, colour in (("virt", "VIRT", "#1f77b4"), ("res", "RES", "#d62728"), ("shr", "SHR", "#2ca02c")):
            fig.add_trace(go.Scatter(x=df["t"], y=df[col] / MiB, name=name, mode="lines",
                                     line={"color": colour, "width": 2}))
        t_on = self.recording.data["touch_on_t"]
        fig.add_vline(x=t_on, line_dash="dash", line_color="#555",
                      annotation_text=pick("memset on", "memset 켬", self.lang), annotation_position="top left")
        fig.update_layout(title={"text": f"malloc_test: {self.label}", "x": 0.01, "font": {"size": 13}},
                          xaxis_title=pick("seconds since start", "시작 후 초", self.lang), yaxis_title="MiB",
                          template="plotly_white", height=420, legend={"orientation": "h", "y": -0.2})
        return fig

    def data(self):
        return malloc_samples(self.recording)

    def step_table(self):
        return malloc_steps(self.recording)

    def wait_steps(self, n: int = 0, timeout: float = 0.0):
        """The recorded steps (the recording does not grow)."""
        return self.step_table()

    def start(self):
        self._note("start()")
        return self

    def stop(self) -> str:
        return self._note("stop()")

    def set_touch(self, on: bool | int = True, timeout: float = 0.0) -> None:
        self._note("set_touch()")

    def set_overcommit(self, mode: int, ratio: int | None = None) -> None:
        self._note("set_overcommit()")

    @property
    def status(self) -> str:
        return self.label

    @property
    def program(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"<RecordedPanel malloc_test: {self.recording.label('en')}>"


class RecordedSharedView(_Recorded):
    """``shared_view()`` without /proc: shared_mem's recorded RES, SHR, USS and PSS per process."""

    live = "shared_mem"

    def _figure(self):
        import plotly.graph_objects as go

        t = shared_table(self.recording)
        fig = go.Figure()
        for col, name, colour in (("res", "RES", "#d62728"), ("shr", "SHR", "#2ca02c"), ("uss", "USS", "#1f77b4"),
                                  ("pss", "PSS", "#9467bd")):
            fig.add_trace(go.Bar(x=t["role"], y=t[col] / MiB, name=name, marker_color=colour))
        fig.update_layout(barmode="group", title={"text": f"shared_mem: {self.label}", "x": 0.01,
                                                  "font": {"size": 13}},
                          yaxis_title="MiB", template="plotly_white", height=380)
        return fig

    def table(self):
        return shared_table(self.recording)

    def sums(self) -> dict[str, int]:
        t = self.table()
        return {k: int(t[k].sum()) for k in ("res", "shr", "uss", "pss")} | {"processes": len(t)}

    def start(self):
        self._note("start()")
        return self.table()

    def refresh(self):
        return self.table()

    def stop(self) -> str:
        return self._note("stop()")

    def __repr__(self) -> str:
        return f"<RecordedSharedView shared_mem: {self.recording.label('en')}>"


# --- book mode: what a static page shows for a live view ---------------------------------------

BOOK_ENV = "TOPLAB_BOOK"
_RECORDING_OF = {"MemoryPanel": "malloc_test", "SharedView": "shared_mem"}  # view class -> its recording


def book_mode() -> bool:
    """True while ``make book`` executes the notebooks (``TOPLAB_BOOK=1``)."""
    return os.environ.get(BOOK_ENV, "").strip().lower() in ("1", "true", "yes")


def figure_html(fig) -> str:
    """A plotly figure (or FigureWidget) as an HTML fragment that draws itself where plotly.js is loaded."""
    import plotly.graph_objects as go

    # a FigureWidget's current state without its comm, or a figure as plain JSON (a view's static_figure())
    static = go.Figure(fig if isinstance(fig, dict) else fig.to_dict())
    height = f"{static.layout.height}px" if static.layout.height else "420px"
    return static.to_html(include_plotlyjs=False, full_html=False, default_height=height,
                          config={"displaylogo": False, "responsive": True})


def _publish(html_text: str, plain: str) -> None:
    from IPython.display import publish_display_data

    publish_display_data({"text/html": html_text, "text/plain": plain})


def _note_html(text: str, colour: str = "#1f77b4") -> str:
    import html

    return (f'<div class="toplab-book-note" style="border-left:4px solid {colour};padding:4px 8px;'
            f'background:#f3f7fb;margin:4px 0">{html.escape(text)}</div>')


def _snapshot(widget) -> list[str]:
    """The text a widget tree shows now: HTML and labels as they are, controls as 'name: value'."""
    import html

    import ipywidgets as W

    layout = getattr(widget, "layout", None)
    if layout is not None and getattr(layout, "display", None) == "none":
        return []
    if isinstance(widget, W.Box):
        return [part for child in widget.children for part in _snapshot(child)]
    if isinstance(widget, (W.HTML, W.HTMLMath)):
        return [widget.value] if widget.value else []
    if isinstance(widget, W.Label):
        return [html.escape(widget.value)] if widget.value else []
    if callable(getattr(widget, "static_figure", None)):  # a LiveChart: its view's figure as it stands
        return [figure_html(widget.static_figure())]
    if hasattr(widget, "to_dict") and hasattr(widget, "data"):  # a plotly FigureWidget
        return [figure_html(widget)]
    if isinstance(widget, (W.Button, W.ToggleButton)):
        return []
    value = getattr(widget, "value", None)
    if isinstance(widget, W.FloatLogSlider) and value is not None:
        value = f"{value:.4g}"
    desc = getattr(widget, "description", "") or ""
    if value in (None, "") or isinstance(value, (tuple, list)):
        return []
    return [f'<span class="toplab-book-control" style="color:#555;margin-right:1em">'
            f"{html.escape(desc)}{': ' if desc else ''}<code>{html.escape(str(value))}</code></span>"]


def _figures(widget):
    """The figures in a widget tree, each as its list of traces: a LiveChart's (through its view's
    static_figure()) and a plotly FigureWidget's."""
    if callable(getattr(widget, "static_figure", None)):
        yield widget.static_figure().get("data", [])
    elif hasattr(widget, "to_dict") and hasattr(widget, "data"):
        yield widget.data
    for child in getattr(widget, "children", ()) or ():
        yield from _figures(child)


def _has_points(view) -> bool:
    def n(values) -> int:
        return 0 if values is None else len(values)

    def get(t, key):
        return t.get(key) if isinstance(t, dict) else getattr(t, key, None)
    return any(n(get(t, "x")) or n(get(t, "y")) for traces in _figures(view.widget) for t in traces)


def _recorded_bundle(view, name: str) -> dict:
    """A view that never got data on this run: the recording of its experiment, labelled."""
    lang = getattr(view, "lang", None)
    rec = load(name)
    note = pick(
        f"In the lab this is a live chart with controls. It drew nothing on this run, so this page shows a "
        f"recording of the same kind of experiment ({rec.label('en')}, {rec.meta.get('machine', '')}: "
        f"{rec.meta.get('what', '')}).",
        f"랩에서는 컨트롤이 달린 실시간 차트입니다. 이번 실행에서는 그린 것이 없어서 같은 종류의 실험을 기록한 것을 "
        f"보여 줍니다({rec.label('ko')}, {rec.meta.get('machine', '')}: {rec.meta.get('what', '').split(';')[0]}).",
        lang)
    viewer = RecordedPanel if name == "malloc_test" else RecordedSharedView
    fig = viewer(lang=lang).figure
    return {"text/html": _note_html(note, "#ff7f0e") + f'<div class="toplab-recording-figure">{figure_html(fig)}</div>',
            "text/plain": f"[{rec.label(lang)}] {name}"}


def _view_bundle(view) -> dict:
    """What a static page shows for a live view now: its chart and text as they stand, with a note."""
    lang = getattr(view, "lang", None)
    name = _RECORDING_OF.get(type(view).__name__)
    if name is not None and not _has_points(view):
        return _recorded_bundle(view, name)
    lock = getattr(view, "_draw_lock", None)  # the view's own drawing lock, where it has one
    if lock is not None:
        with lock:
            parts = _snapshot(view.widget)
    else:
        parts = _snapshot(view.widget)
    if name is not None:
        note = pick("In the lab this chart is live, with controls. Here it is drawn from the run that made this page: "
                    "the measurements as they stood after the cells that use it had run, the same run as the "
                    "tables and sentences around it.",
                    "랩에서는 컨트롤이 달린 실시간 차트입니다. 여기서는 이 페이지를 만들 때 실행한 측정값으로 그렸습니다. "
                    "이 차트를 쓰는 셀들이 끝난 시점까지의 값이며, 주변의 표와 문장도 같은 실행에서 나왔습니다.", lang)
        cls = "toplab-live-figure"
    else:
        note = pick("In the lab this view is live, with controls; here it is a snapshot taken when this page was built.",
                    "랩에서는 컨트롤이 달린 실시간 화면입니다. 여기서는 이 페이지를 만들 때 찍은 스냅숏을 보여 줍니다.",
                    lang)
        cls = "toplab-snapshot"
    return {"text/html": _note_html(note) + f'<div class="{cls}">' + "\n".join(parts) + "</div>",
            "text/plain": repr(view)}


_BOOK_VIEWS: list[tuple[object, str]] = []  # (view, display id): redrawn after every cell until closed


def book_display(view) -> None:
    """Display a live view as a static page can keep it (book mode); the view itself keeps running.

    The output is redrawn after every cell while the view is open (IPython's post_run_cell), so
    the executed notebook holds the view as it stood when it was last used on this run.
    """
    import uuid

    from IPython.display import display

    did = uuid.uuid4().hex
    display(_view_bundle(view), raw=True, display_id=did)
    _BOOK_VIEWS.append((view, did))


def _refresh_book_views(*_args) -> None:
    from IPython.display import update_display

    for entry in list(_BOOK_VIEWS):
        view, did = entry
        try:
            update_display(_view_bundle(view), raw=True, display_id=did)
        except Exception as e:  # a page with a stale chart is better than a failed build; say so
            print(f"toplab book mode: could not redraw {view!r}: {type(e).__name__}: {e}")
        if getattr(view, "closed", False):
            _BOOK_VIEWS.remove(entry)


def install_book_display() -> bool:
    """In book mode, make every plotly figure (a FigureWidget too) display as a static figure; True if done."""
    if not book_mode():
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    ip = get_ipython()
    if ip is None:
        return False

    def show(fig) -> bool:
        _publish(figure_html(fig), f"<plotly figure: {fig.layout.title.text or ''}>")
        return True

    # type printers come before the objects' own _ipython_display_ / _repr_mimebundle_
    ip.display_formatter.ipython_display_formatter.for_type_by_name("plotly.basedatatypes", "BaseFigure", show)
    ip.events.register("post_run_cell", _refresh_book_views)
    return True


# --- command line -------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kernel_helpers.recordings", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="run the experiments on this Linux machine and write the JSON files")
    rec.add_argument("--out", default=str(DATA_DIR), help=f"folder to write to (default {DATA_DIR})")
    sub.add_parser("show", help="print what the shipped recordings hold")
    args = p.parse_args(argv)
    if args.command == "record":
        for path in record(args.out):
            print(f"wrote {path} ({path.stat().st_size:,} bytes)")
        return 0
    for name in NAMES:
        r = load(name)
        print(f"{name}: {r.label('en')}, {r.meta.get('machine')}, {r.meta.get('libc')}\n  {r.meta.get('what')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
