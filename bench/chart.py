"""The chart path: how many points per second headless Chromium really draws from a MemoryPanel.

One JupyterLab server of our own (tools/labserver.py: 127.0.0.1, a token, every Jupyter directory
in a temp dir); per rate, a generated notebook starts a MemoryPanel sampling malloc_test at that
rate. In the page, a counter listens to the plotly graph div: on every ``plotly_afterplot`` (and every 50 ms,
in case an event is missed) it counts the x values newer than the newest one seen so far, so a
window that drops old points does not hide new ones. Points drawn per second = that count over
the measuring time, against the rate asked for. The kernel's CPU in that time is recorded too.
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
from tools.labserver import CHROMIUM, LabServer, launch_chromium

COUNTER_JS = """() => {
  const nb = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const gd = nb && nb.node && nb.node.querySelector('.js-plotly-plot');
  if (!gd || !gd.data || !gd.data[0]) return false;
  if (window.__bench) return true;
  const b = window.__bench = {points: 0, draws: 0, polls: 0, lastMax: -Infinity, errors: 0};
  const count = () => {
    try {
      const x = gd.data[0].x;
      if (!x || !x.length) return;
      let n = 0;
      for (let i = x.length - 1; i >= 0 && x[i] > b.lastMax; i--) n++;
      if (n) { b.points += n; b.lastMax = x[x.length - 1]; }
    } catch (e) { b.errors++; }
  };
  if (gd.on) gd.on('plotly_afterplot', () => { b.draws++; count(); });
  setInterval(() => { b.polls++; count(); }, 50);
  return true;
}"""
READ_JS = "() => Object.assign({now: performance.now()}, window.__bench)"


def _notebook(path: Path, hz: float | None) -> None:
    """A notebook that shows a MemoryPanel sampling at ``hz`` (None: only imports, the idle reference).

    At kernel shutdown the panel's redraw figures (Redrawer.stats: draws, mean and worst ms in
    the kernel) are written next to the notebook, as <name>.stats.json.
    """
    import nbformat

    nb = nbformat.v4.new_notebook()
    src = "from kernel_helpers.widgets import MemoryPanel"
    if hz is not None:
        stats = path.with_suffix(".stats.json")
        src += (f"\npanel = MemoryPanel(step_mib=1, interval_ms=1000, max_mib=256, hz={hz:g}, lang='en', key='bench')"
                "\npanel.show()\npanel.start()"
                "\nimport atexit, json"
                f"\natexit.register(lambda: open({str(stats)!r}, 'w').write(json.dumps(panel.redraw_stats())));")
    nb.cells = [nbformat.v4.new_code_cell(src)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


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


def _run_all(page) -> None:
    """Run all cells; if the first cell shows no [*] or [n] within 10 s, ask again (at most 3 times)."""
    started = _in_notebook("const p = nb.node.querySelector('.jp-Cell .jp-InputPrompt');"
                           " return !!p && /\\[(\\*|\\d+)\\]/.test(p.textContent);")
    for _ in range(3):
        # not awaited: the command resolves only when every cell has finished
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        try:
            page.wait_for_function(started, timeout=10_000)
            return
        except Exception:
            continue
    raise RuntimeError("notebook:run-all-cells did not start the notebook after 3 tries")


def _measure(lab: LabServer, browser, name: str, seconds: float, warmup: float, chart: bool = True) -> dict:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        # a workspace of its own: JupyterLab would otherwise reopen the notebooks of the page before
        workspace = f"bench-{Path(name).stem}-{secrets.token_hex(4)}"
        page.goto(f"{lab.base}/lab/workspaces/{workspace}/tree/{name}?token={lab.token}")
        page.wait_for_function(_in_notebook(
            f"if (nb.context.path !== {json.dumps(name)}) return false;"
            " const k = nb.sessionContext.session && nb.sessionContext.session.kernel;"
            " return !!k && k.connectionStatus === 'connected' && k.status === 'idle';"), timeout=90_000)
        _run_all(page)
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
        kernels = lab.kernel_pids()
        chrome = _chromium_pids()
        a = page.evaluate(READ_JS)
        k0, c0, t0 = _cpu_seconds(kernels), _cpu_seconds(chrome), time.monotonic()
        time.sleep(seconds)
        b = page.evaluate(READ_JS)
        k1, c1, t1 = _cpu_seconds(kernels), _cpu_seconds(chrome), time.monotonic()
        span = (b["now"] - a["now"]) / 1000.0
        out = {"seconds": span, "kernel_cpu_share": (k1 - k0) / (t1 - t0),
               "chromium_cpu_share": (c1 - c0) / (t1 - t0), "console_errors": errors[:10]}
        if chart:
            out.update(points_per_s=(b["points"] - a["points"]) / span, draws_per_s=(b["draws"] - a["draws"]) / span,
                       counter_errors=b.get("errors", 0))
        return out
    finally:
        page.close(run_before_unload=False)
        lab.delete_sessions()


def _stats(path: Path) -> dict | None:
    for _ in range(50):  # written by the kernel as it shuts down
        if path.exists() and path.stat().st_size:
            return json.loads(path.read_text())
        time.sleep(0.1)
    return None


def chart_bench(rates: list[float], seconds: float, warmup: float = 3.0) -> dict:
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        return {"skipped": f"no Chromium at {CHROMIUM} (apt-get install chromium, or set TOPLAB_CHROMIUM)"}
    out = []
    with tempfile.TemporaryDirectory(prefix="toplab-bench-chart-") as tmp:
        # the panel at its real pace (no TOPLAB_FAST), messages in English
        with LabServer(Path(tmp), env={"TOPLAB_LANG": "en", "TOPLAB_FAST": None}) as lab:
            for hz in rates:
                _notebook(lab.notebooks / f"chart_{hz:g}hz.ipynb", hz)
            _notebook(lab.notebooks / "idle.ipynb", None)
            with sync_playwright() as p:
                browser = launch_chromium(p)
                try:
                    say(f"idle notebook page for {min(seconds, 15):g} s")
                    idle = _measure(lab, browser, "idle.ipynb", min(seconds, 15), warmup, chart=False)
                    for hz in rates:
                        say(f"chart at {hz:g} Hz for {seconds:g} s")
                        name = f"chart_{hz:g}hz.ipynb"
                        try:
                            res = _measure(lab, browser, name, seconds, warmup)
                        except Exception as e:  # seen once on a loaded machine: the page never drew; retry once
                            say(f"chart at {hz:g} Hz failed ({type(e).__name__}); once more")
                            res = _measure(lab, browser, name, seconds, warmup)
                            res["first_try"] = f"{type(e).__name__}: {str(e)[:300]}"
                        res["hz"] = hz
                        res["kernel_redraw"] = _stats(lab.notebooks / f"chart_{hz:g}hz.stats.json")
                        out.append(res)
                finally:
                    browser.close()
    return {"rates": out, "idle": idle}
