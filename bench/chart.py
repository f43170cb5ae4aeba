"""The chart path in a real JupyterLab and Debian's headless Chromium (software rendering, as in CI).

One JupyterLab server of our own (tools/labserver.py: 127.0.0.1, a token, every Jupyter directory
in a temp dir, notebooks generated in it); each measurement opens its own page and kernel:

- first chart: a fresh page and a fresh kernel run ``memory_panel()`` (imports included), and a
  page whose first cell ran the chapter's setup (``load_charts()``) runs it in a second cell. The
  time is taken in the page, from asking JupyterLab to run the cell to the chart's svg drawn.
- drawing: per rate, a notebook starts a MemoryPanel sampling malloc_test at that rate. A counter
  in the page polls the plotly graph div every 50 ms (and listens to ``plotly_afterplot``) and counts
  the x values newer than the newest one seen so far, so a window that drops old points does not hide
  new ones. Points drawn per second = that count over the measuring time, against the rate asked
  for. The CPU of the kernel and of the whole Chromium process tree (renderer included) over wall time.
- hidden tab: the 5 Hz page is hidden for a while as Chromium hides a background tab
  (``visibilityState`` hidden, requestAnimationFrame held: playwright keeps real pages visible),
  comes back, and the time and frames it takes to show the newest point are counted.
- memory: after the 20 Hz measurement malloc_test is paused and the page keeps drawing at 20 Hz;
  the kernel's RSS and the page's JS heap (after a forced GC) are read at intervals and the slope of
  the second half extrapolated to an hour.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from pathlib import Path

import psutil

from bench.common import RESULTS, say
from tools.labserver import CHROMIUM, WIDGETS_RESTORED, LabServer, launch_chromium

COUNTER_JS = """() => {
  const nb = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const gd = nb && nb.node && nb.node.querySelector('.js-plotly-plot');
  if (!gd || !gd.data || !gd.data[0] || !gd.data[0].x || !gd.data[0].x.length) return false;
  if (window.__bench) return true;
  const b = window.__bench = {points: 0, draws: 0, polls: 0, lastMax: -Infinity, errors: 0, lastX: null};
  const count = () => {
    try {
      const x = gd.data[0].x;
      if (!x || !x.length) return;
      let n = 0;
      for (let i = x.length - 1; i >= 0 && x[i] > b.lastMax; i--) n++;
      if (n) { b.points += n; b.lastMax = x[x.length - 1]; }
      b.lastX = x[x.length - 1];
    } catch (e) { b.errors++; }
  };
  if (gd.on) gd.on('plotly_afterplot', () => { b.draws++; count(); });
  setInterval(() => { b.polls++; count(); }, 50);
  return true;
}"""
READ_JS = """() => { const nb = window.jupyterapp.shell.currentWidget;
  const box = nb && nb.node.querySelector('.toplab-chart');
  const st = box && box.toplabState;
  return Object.assign({now: performance.now(), frames: st ? st.frames : null, received: st ? st.received : null,
                        held: st ? st.x.length : null, newest: st && st.x.length ? st.x[st.x.length - 1] : null,
                        hidden: document.visibilityState}, window.__bench); }"""
CHART_READY = ".toplab-livechart .toplab-chart[data-ready='1'] .main-svg"
LOADER_READY = ".toplab-chart-loader .toplab-chart[data-ready='1']"

# The same figures before issue 12 (plotly FigureWidget redrawn whole at each redraw): the issue's
# own measurement in a real JupyterLab, and the README's last full `make bench` (2026-11-25).
BEFORE = {
    "first_chart_fresh_s": (11.7, "issue 12: cell creating memory_panel() in a fresh kernel"),
    "first_chart_setup_s": (None, "not measured before (the first FigureWidget alone cost 2-5 s)"),
    "chromium_5hz": (0.82, "make bench 2026-11-25 (issue 12 measured 86.6 %)"),
    "chromium_20hz": (None, "not measured before"),
    "kernel_5hz": (0.12, "make bench 2026-11-25 (issue 12 measured 10.5 %)"),
    "kernel_20hz": (0.19, "make bench 2026-11-25"),
    "points_5hz": (1.0, "make bench 2026-11-25: 5.0 of 5"),
    "points_20hz": (1.0, "make bench 2026-11-25: 20.0 of 20"),
}


def _notebook(path: Path, cells: list[str]) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def _panel_cells(path: Path, hz: float) -> list[str]:
    """A MemoryPanel sampling at ``hz``; at kernel shutdown its redraw figures (Redrawer.stats) and
    what its chart sent are written next to the notebook, as <name>.stats.json."""
    stats = path.with_suffix(".stats.json")
    return [f"from kernel_helpers.widgets import MemoryPanel"
            f"\npanel = MemoryPanel(step_mib=1, interval_ms=1000, max_mib=1024, hz={hz:g}, lang='en', key='bench')"
            "\npanel.show()\npanel.start()"
            "\nimport atexit, json"
            f"\natexit.register(lambda: open({str(stats)!r}, 'w').write(json.dumps(dict(panel.redraw_stats(),"
            " messages=panel.chart.sent_messages, points_sent=panel.chart.sent_points))));",
            "panel.pause();"]  # run by the memory measurement only


FIRST_CELL = "from kernel_helpers.widgets import memory_panel\npanel = memory_panel(lang='en', key='first')"
SETUP_CELL = ("from kernel_helpers.widgets import memory_panel, load_charts\n"
              "load_charts(lang='en')")  # what chapter 2.3's first cell does, with its other imports
PANEL_CELL = "panel = memory_panel(lang='en', key='first')"


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def _chromium_pids() -> list[int]:
    me = psutil.Process()
    return [c.pid for c in me.children(recursive=True) if "chrom" in c.name().lower()]


def _in_notebook(body: str) -> str:
    """A JS function whose ``body`` runs with ``nb`` = the notebook panel in front (false when none)."""
    return ("() => { const nb = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
            " if (!nb || !nb.sessionContext || !nb.node) return false; " + body + " }")


def _run(page, command: str = "notebook:run-all-cells", active: int = 0) -> None:
    """Run cells; if the first cell run shows no [*] or [n] within 10 s, ask again (at most 3 times)."""
    started = _in_notebook(f"const p = nb.node.querySelectorAll('.jp-Cell .jp-InputPrompt')[{active}];"
                           " return !!p && /\\[(\\*|\\d+)\\]/.test(p.textContent);")
    for _ in range(3):
        # not awaited: the command resolves only when every cell has finished
        page.evaluate(f"() => {{ window.jupyterapp.shell.currentWidget.content.activeCellIndex = {active};"
                      f" window.__t_run = performance.now(); window.jupyterapp.commands.execute('{command}'); }}")
        try:
            page.wait_for_function(started, timeout=10_000)
            return
        except Exception:
            continue
    raise RuntimeError(f"{command} did not start the notebook after 3 tries")


def _open(lab: LabServer, browser, name: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    # a workspace of its own: JupyterLab would otherwise reopen the notebooks of the page before
    workspace = f"bench-{Path(name).stem}-{secrets.token_hex(4)}"
    page.goto(f"{lab.base}/lab/workspaces/{workspace}/tree/{name}?token={lab.token}")
    page.wait_for_function(_in_notebook(
        f"if (nb.context.path !== {json.dumps(name)}) return false;"
        " const k = nb.sessionContext.session && nb.sessionContext.session.kernel;"
        " return !!k && k.connectionStatus === 'connected' && k.status === 'idle';"), timeout=90_000)
    page.wait_for_function(WIDGETS_RESTORED, timeout=60_000)
    return page, errors


def _close(lab: LabServer, page) -> None:
    page.close(run_before_unload=False)
    lab.delete_sessions()


def _seen(page, selector: str) -> float:
    return page.evaluate(f"() => (window.__t_seen[{json.dumps(selector)}] - window.__t_run) / 1000")


WATCH_JS = """(sel) => { window.__t_seen = window.__t_seen || {};
  const f = () => { if (document.querySelector(sel)) window.__t_seen[sel] = performance.now(); else setTimeout(f, 10); };
  f(); }"""


def first_chart(lab: LabServer, browser, fresh: bool) -> dict:
    """Seconds from running the cell to the chart drawn: in a fresh page and kernel, or after the setup cell."""
    name = f"first_{'fresh' if fresh else 'setup'}_{secrets.token_hex(3)}.ipynb"
    _notebook(lab.notebooks / name, [FIRST_CELL] if fresh else [SETUP_CELL, PANEL_CELL])
    page, errors = _open(lab, browser, name)
    try:
        out: dict = {}
        if not fresh:
            page.evaluate(WATCH_JS, LOADER_READY)
            _run(page, "notebook:run-cell", 0)
            page.wait_for_selector(LOADER_READY, timeout=120_000)
            out["setup_s"] = _seen(page, LOADER_READY)
            page.wait_for_function(_in_notebook("const p = nb.node.querySelector('.jp-Cell .jp-InputPrompt');"
                                                " return !!p && /\\[\\d+\\]/.test(p.textContent);"), timeout=60_000)
        page.evaluate(WATCH_JS, CHART_READY)
        _run(page, "notebook:run-cell", 0 if fresh else 1)
        page.wait_for_selector(CHART_READY, timeout=120_000)
        out["seconds"] = _seen(page, CHART_READY)
        out["in_widget_ms"] = page.evaluate(
            "() => +document.querySelector('.toplab-livechart .toplab-chart').dataset.firstChartMs")
        out["console_errors"] = errors[:10]
        return out
    finally:
        _close(lab, page)


# Both counters agree on where the chart is: the newest point received has been drawn and counted.
IN_STEP_JS = """() => { const nb = window.jupyterapp.shell.currentWidget;
  const box = nb && nb.node.querySelector('.toplab-chart'), st = box && box.toplabState;
  return !!st && !!window.__bench && st.x.length > 0 && window.__bench.lastX === st.x[st.x.length - 1]; }"""


def _read_caught_up(page) -> dict:
    """READ_JS at a moment when the points received and the points drawn are the same ones (a frame
    and the counter's next poll follow each message within about 50 ms), so that the two counts
    taken at the start and the end of a measurement cover the same points."""
    try:
        page.wait_for_function(IN_STEP_JS, timeout=5_000, polling=5)
    except Exception:  # never in step: the counts say so
        pass
    return page.evaluate(READ_JS)


def _measure(lab: LabServer, browser, name: str, seconds: float, warmup: float, chart: bool = True,
             hidden: float = 0.0, memory: float = 0.0) -> dict:
    page, errors = _open(lab, browser, name)
    try:
        _run(page, "notebook:run-cell", 0)
        try:
            if chart:
                page.wait_for_function(COUNTER_JS, timeout=120_000, polling=200)
            else:  # the idle reference: the cell has run, nothing draws
                page.wait_for_function(_in_notebook(
                    "const p = nb.node.querySelector('.jp-Cell .jp-InputPrompt');"
                    " return !!p && /\\[\\d+\\]/.test(p.textContent);"), timeout=120_000)
        except Exception:
            RESULTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(RESULTS / f"{Path(name).stem}-failed.png"))  # for the report
            raise
        time.sleep(warmup)  # the panel's first seconds: figure built, threads started
        view = _scroll_chart_into_view(page) if chart else None
        kernels = lab.kernel_pids()
        chrome = _chromium_pids()
        read = (lambda: _read_caught_up(page)) if chart else (lambda: page.evaluate(READ_JS))
        a = read()
        k0, c0, t0 = _cpu_seconds(kernels), _cpu_seconds(chrome), time.monotonic()
        time.sleep(seconds)
        b = read()
        k1, c1, t1 = _cpu_seconds(kernels), _cpu_seconds(chrome), time.monotonic()
        span = (b["now"] - a["now"]) / 1000.0
        out = {"seconds": span, "kernel_cpu_share": (k1 - k0) / (t1 - t0),
               "chromium_cpu_share": (c1 - c0) / (t1 - t0), "console_errors": errors, "chart_view": view}
        if chart:
            out.update(points_per_s=(b["points"] - a["points"]) / span,
                       received_per_s=((b["received"] or 0) - (a["received"] or 0)) / span,
                       frames_per_s=((b["frames"] or 0) - (a["frames"] or 0)) / span,
                       counter_errors=b.get("errors", 0))
        if hidden:
            out["hidden"] = _hidden_tab(page, hidden, chrome)
        if memory:
            out["memory"] = _memory(page, kernels, memory)
        out["console_errors"] = errors[:10]
        return out
    finally:
        _close(lab, page)


def _scroll_chart_into_view(page) -> dict:
    """Scroll the chart into the viewport (a reader looks at it); its box and whether all of it shows."""
    plot = page.locator(".toplab-chart .js-plotly-plot").first
    plot.scroll_into_view_if_needed(timeout=10_000)
    time.sleep(0.5)  # the scroll's own repaint is not part of the measurement
    box = plot.bounding_box() or {}
    vp = page.viewport_size or {}
    inside = bool(box) and box["y"] >= 0 and box["y"] + box["height"] <= vp.get("height", 0)
    return {"box": {k: round(v) for k, v in box.items()}, "viewport": vp, "fully_in_view": inside}


# Headless Chromium driven by playwright keeps every page visible and active (playwright#2286):
# another tab in front does not hide it. So the page is hidden the way Chromium treats a background
# tab: document.visibilityState is 'hidden' and requestAnimationFrame callbacks wait until it is
# shown again, while WebSocket messages keep arriving and being handled.
HIDE_JS = """() => { const w = window;
  w.__rafReal = w.__rafReal || w.requestAnimationFrame.bind(w); w.__held = [];
  w.__cafReal = w.__cafReal || w.cancelAnimationFrame.bind(w); w.__rafId = w.__rafId || 1e9;
  w.requestAnimationFrame = (cb) => { const id = ++w.__rafId; w.__held.push([id, cb]); return id; };
  w.cancelAnimationFrame = (id) => { w.__held = w.__held.filter((h) => h[0] !== id); w.__cafReal(id); };
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
  document.dispatchEvent(new Event('visibilitychange')); }"""
SHOW_JS = """() => { const w = window; w.requestAnimationFrame = w.__rafReal; w.cancelAnimationFrame = w.__cafReal;
  delete document.visibilityState; delete document.hidden;
  document.dispatchEvent(new Event('visibilitychange'));
  const held = w.__held; w.__held = []; w.__shownAt = performance.now();
  w.requestAnimationFrame((t) => held.forEach((h) => h[1](t))); }"""
CAUGHT_UP_JS = """() => { const nb = window.jupyterapp.shell.currentWidget;
  const box = nb.node.querySelector('.toplab-chart'), gd = nb.node.querySelector('.js-plotly-plot');
  const st = box.toplabState, x = gd.data[0].x;
  if (!st.x.length || x[x.length - 1] !== st.x[st.x.length - 1]) return false;
  return {ms: performance.now() - window.__shownAt, frames: st.frames, held: st.x.length}; }"""


def _hidden_tab(page, seconds: float, chrome: list[int]) -> dict:
    """Hide the page for ``seconds`` while the panel keeps sampling; then how it catches up."""
    page.evaluate(HIDE_JS)
    a = page.evaluate(READ_JS)
    c0, t0 = _cpu_seconds(chrome), time.monotonic()
    time.sleep(seconds)
    b = page.evaluate(READ_JS)
    c1, t1 = _cpu_seconds(chrome), time.monotonic()
    out = {"visibility": a["hidden"], "seconds_hidden": seconds,
           "frames_while_hidden": (b["frames"] or 0) - (a["frames"] or 0),
           "points_received_while_hidden": (b["received"] or 0) - (a["received"] or 0),
           "points_held": b["held"], "drawn_x_before_show": b["lastX"], "newest_x_before_show": b["newest"],
           "chromium_cpu_share_hidden": (c1 - c0) / (t1 - t0)}
    page.evaluate(SHOW_JS)
    done = page.wait_for_function(CAUGHT_UP_JS, timeout=30_000, polling=5).json_value()
    out["catch_up_s"] = done["ms"] / 1000
    out["frames_to_catch_up"] = done["frames"] - (b["frames"] or 0)
    time.sleep(1.0)
    c = page.evaluate(READ_JS)
    out["frames_first_second"] = (c["frames"] or 0) - (b["frames"] or 0)
    out["visibility_after"] = c["hidden"]
    return out


def _memory(page, kernels: list[int], seconds: float, every: float = 15.0) -> dict:
    """The kernel's RSS and the page's JS heap (after a GC) every ``every`` s; slopes per hour.

    The notebook's second cell pauses malloc_test first: the sampler and the chart go on at the
    same rate (flat lines), while the step table, which keeps one row per step (bounded by the cap:
    the lesson's data, not the chart's), stops growing."""
    _run(page, "notebook:run-cell", 1)
    time.sleep(2)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    rows = []
    t0 = time.monotonic()
    while True:
        cdp.send("HeapProfiler.collectGarbage")
        heap = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        rss = 0
        for pid in kernels:
            try:
                rss += psutil.Process(pid).memory_info().rss
            except psutil.Error:
                pass
        chrome = 0
        for pid in _chromium_pids():
            try:
                chrome += psutil.Process(pid).memory_full_info().uss
            except psutil.Error:
                pass
        rows.append({"t": time.monotonic() - t0, "kernel_rss": rss, "js_heap": heap.get("JSHeapUsedSize", 0),
                     "dom_nodes": heap.get("Nodes", 0), "chromium_uss": chrome})
        if rows[-1]["t"] >= seconds:
            break
        time.sleep(every)

    def slope(key: str) -> float:  # least squares over the second half (the first warms caches), per hour
        pts = rows[len(rows) // 2:]
        n = len(pts)
        if n < 2:
            return 0.0
        mt = sum(p["t"] for p in pts) / n
        mv = sum(p[key] for p in pts) / n
        den = sum((p["t"] - mt) ** 2 for p in pts)
        return sum((p["t"] - mt) * (p[key] - mv) for p in pts) / den * 3600 if den else 0.0

    return {"seconds": rows[-1]["t"], "samples": rows,
            "per_hour": {k: slope(k) for k in ("kernel_rss", "js_heap", "dom_nodes", "chromium_uss")}}


def _stats(path: Path) -> dict | None:
    for _ in range(50):  # written by the kernel as it shuts down
        if path.exists() and path.stat().st_size:
            return json.loads(path.read_text())
        time.sleep(0.1)
    return None


def _retry(what: str, fn):
    try:
        return fn()
    except Exception as e:  # seen once on a loaded machine: the page never drew; retry once
        say(f"{what} failed ({type(e).__name__}: {str(e)[:200]}); once more")
        res = fn()
        res["first_try"] = f"{type(e).__name__}: {str(e)[:300]}"
        return res


def chart_bench(rates: list[float], seconds: float, warmup: float = 3.0, repeats: int = 3,
                hidden: float = 60.0, memory: float = 300.0) -> dict:
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        return {"skipped": f"no Chromium at {CHROMIUM} (apt-get install chromium, or set TOPLAB_CHROMIUM)"}
    out = []
    with tempfile.TemporaryDirectory(prefix="toplab-bench-chart-") as tmp:
        # the panel at its real pace (no TOPLAB_FAST), messages in English
        with LabServer(Path(tmp), env={"TOPLAB_LANG": "en", "TOPLAB_FAST": None}) as lab:
            for hz in rates:
                nb = lab.notebooks / f"chart_{hz:g}hz.ipynb"
                _notebook(nb, _panel_cells(nb, hz))
            _notebook(lab.notebooks / "idle.ipynb", ["from kernel_helpers.widgets import MemoryPanel"])
            with sync_playwright() as p:
                browser = launch_chromium(p)
                try:
                    first: dict[str, list] = {"fresh": [], "setup": []}
                    for i in range(repeats):
                        for kind in ("fresh", "setup"):
                            say(f"first chart, {kind} ({i + 1}/{repeats})")
                            first[kind].append(_retry(f"first chart {kind}",
                                                      lambda kind=kind: first_chart(lab, browser, kind == "fresh")))
                    say(f"idle notebook page for {min(seconds, 15):g} s")
                    idle = _measure(lab, browser, "idle.ipynb", min(seconds, 15), warmup, chart=False)
                    for hz in rates:
                        extra = {"hidden": hidden} if hz == min(rates) else {"memory": memory} if hz == max(rates) else {}
                        say(f"chart at {hz:g} Hz for {seconds:g} s"
                            + (f", then hidden for {hidden:g} s" if "hidden" in extra else "")
                            + (f", then memory for {memory:g} s" if "memory" in extra else ""))
                        name = f"chart_{hz:g}hz.ipynb"
                        res = _retry(f"chart at {hz:g} Hz", lambda name=name, extra=extra: _measure(
                            lab, browser, name, seconds, warmup, **extra))
                        res["hz"] = hz
                        res["kernel_redraw"] = _stats(lab.notebooks / f"chart_{hz:g}hz.stats.json")
                        out.append(res)
                finally:
                    browser.close()
    return {"rates": out, "idle": idle, "first": first}
