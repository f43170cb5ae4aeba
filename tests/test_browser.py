"""The live widgets in a real JupyterLab, driven by headless Chromium (Debian's, through playwright).

One JupyterLab server on 127.0.0.1 (tools/labserver.py: a free port, a token, every Jupyter
directory in a temp dir, the news toast turned off by an overrides.json), one notebook that
shows the memory panel and the top table.  The test runs all cells, clicks the real memset
toggle in the page and watches RES rise, checks the top table lists the program, and fails on
any console error.
Screenshots and the measured redraw figures go to test-artifacts/browser/ (gitignored).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from kernel_helpers.safety import MiB

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # for tools/, shared with the benchmark (`python -m bench.run` runs from REPO)
from tools.labserver import CHROMIUM, WIDGETS_RESTORED, LabServer, launch_chromium  # noqa: E402

pytestmark = pytest.mark.browser

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARTIFACTS = REPO / "test-artifacts" / "browser"

# the cells from here on (what-if, shared view) run after the panel checks: each plotly widget
# ships a 5 MB ES module that a busy browser needs seconds to load
FIRST_LATER_CELL = 3

# Console errors that are not ours and not a failure, each with the reason. Empty on purpose:
# add an entry only with a comment saying why the message is benign.
CONSOLE_ALLOWLIST: tuple[str, ...] = ()

NOTEBOOK_CELLS = [
    "import time\n"
    "t0 = time.perf_counter()\n"
    "from kernel_helpers.widgets import memory_panel, top_table\n"
    "panel = memory_panel(step_mib=1, interval_ms=250, max_mib=1024, lang='en')  # no cap for 4 min\n"
    "print(f'TIMING cell={time.perf_counter() - t0:.2f} figure={panel.figure_seconds:.2f}')",
    "panel.start();",
    "tt = top_table(interval=1.0, sort='RES', max_rows=10, lang='en')",
    "from kernel_helpers.widgets import overcommit_whatif, shared_view\n"
    "wi = overcommit_whatif(nbytes=64 * 2**30, lang='en')",
    "sv = shared_view(mib=16, children=2, lang='en')\n"
    "sv.start();",
]


def _need_chromium() -> None:
    """Skip (outside CI) or fail (in CI) with the fix, when Chromium or playwright is missing."""
    try:
        import playwright.sync_api  # noqa: F401
        have_playwright = True
    except ImportError:
        have_playwright = False
    if os.access(CHROMIUM, os.X_OK) and have_playwright:
        return
    if not have_playwright:
        msg = "the playwright package is missing: `make venv` installs it (pip install -e '.[test]')."
    else:
        msg = (f"Chromium not found at {CHROMIUM}: install Debian's chromium (apt-get install chromium) or "
               "set TOPLAB_CHROMIUM; the browser tests drive it through playwright (never `playwright install`).")
    if IN_CI:
        pytest.fail(msg)
    pytest.skip(msg)


def _write_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in NOTEBOOK_CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, built):
    """A JupyterLab server of our own; shut down (by its PID) at the end, with its kernels."""
    _need_chromium()
    server = LabServer(tmp_path_factory.mktemp("lab"), env={"TOPLAB_FAST": "1", "TOPLAB_LANG": "en"},
                       args=["--KernelManager.transport=ipc"],  # unix sockets: no TCP port race with other kernels
                       start_timeout=60)
    server.notebooks.mkdir()
    _write_notebook(server.notebooks / "live_panel.ipynb")
    try:
        server.start()
    except RuntimeError as e:
        pytest.fail(str(e))
    state = {"base": server.base, "token": server.token, "server": server, "pids": []}
    try:
        yield state
    finally:
        server.stop()
    # the kernel died with the server; its C programs die with the kernel (PR_SET_PDEATHSIG)
    left = [pid for pid in state["pids"] if not _gone(pid)]
    assert not left, f"C programs the notebook started are still running: {left}"


def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"c_programs/bin" not in f.read():
                    return True  # the PID now belongs to someone else (or is a zombie with no cmdline)
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.05)
    return False


def _js_panel(expr: str) -> str:
    """A JS expression evaluated with `nb` = the current notebook panel."""
    return (f"(() => {{ const nb = window.jupyterapp && window.jupyterapp.shell.currentWidget; "
            f"return {expr}; }})()")


def _run_cells(page, command: str, active: int) -> None:
    """Make cell ``active`` the active one and run ``command`` (e.g. notebook:run-all-above);
    check the first cell it runs got an execution count or a '*', retry if it did not."""
    started = ("(() => { const p = document.querySelectorAll('.jp-NotebookPanel .jp-Cell .jp-InputPrompt')"
               f"[{0 if command.endswith('above') else active}];"
               " return !!p && /\\[(\\*|\\d+)\\]/.test(p.textContent); })()")
    for _attempt in range(3):
        page.evaluate(f"window.jupyterapp.shell.currentWidget.content.activeCellIndex = {active}")
        # not awaited: the command's promise resolves only when the cells have finished
        page.evaluate(f"() => {{ window.jupyterapp.commands.execute('{command}'); }}")
        try:
            page.wait_for_function(started, timeout=10_000)
            return
        except Exception:
            continue
    raise AssertionError(f"{command} did not start executing the notebook after 3 tries")


class _Timeline:
    """When each phase finished, in seconds since the test began: saved with the metrics."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.marks: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        self.marks[name] = round(time.monotonic() - self.t0, 2)


# Runs code in the notebook's kernel (idle after the cells) and returns what it printed.
_KERNEL_PROBE = """async (code) => {
  const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  let out = '';
  const f = k.requestExecute({code: code, store_history: false});
  f.onIOPub = (m) => { const c = m.content;
    if (m.header.msg_type === 'stream') out += c.text;
    if (m.header.msg_type === 'error') out += c.ename + ': ' + c.evalue; };
  await Promise.race([f.done, new Promise(r => setTimeout(r, 10000))]);
  return out; }"""


def _save_failure(page, metrics: dict, mark: _Timeline) -> None:
    """On failure: a screenshot, the timeline so far, and the panel's status text, as artifacts."""
    metrics["timeline_s"] = mark.marks
    try:
        metrics["failure_kernel"] = page.evaluate(_KERNEL_PROBE, (
            "c = panel.chart\n"
            "print('redraw', panel._redrawer.stats(), panel._redrawer.errors[-3:], panel.threads_alive())\n"
            "print('chart', c.sent_messages, c.sent_points, c.plotly_sent, c.comm is not None)\n"))
        metrics["failure_plot"] = page.evaluate(
            "(() => { const gd = document.querySelector('.toplab-panel .js-plotly-plot');"
            " return gd && gd.data ? gd.data.map(t => (t.x || []).length) : null; })()")
        page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
        metrics["failure_page_text"] = page.evaluate(
            "[...document.querySelectorAll('.toplab-status, .toplab-values, .jp-OutputArea-output')]"
            ".map(e => e.innerText).join('\\n---\\n')")[:5000]
    except Exception as e:  # the page may be gone; keep what we have
        metrics["failure_page_text"] = f"(could not read the page: {e})"
    (ARTIFACTS / "failure.json").write_text(json.dumps(metrics, indent=2))


def _res_bytes(page) -> int:
    return int(page.get_attribute(".toplab-values b[data-metric='res']", "data-bytes"))


def test_panel_chart_toggle_and_top_table_in_a_real_browser(lab):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    metrics: dict[str, object] = {}
    mark = _Timeline()
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            mark("browser")
            page.goto(f"{lab['base']}/lab/tree/live_panel.ipynb?token={lab['token']}")
            mark("page loaded")
            page.wait_for_function(_js_panel(
                "!!(nb && nb.sessionContext && nb.sessionContext.session && nb.sessionContext.session.kernel "
                "&& nb.sessionContext.session.kernel.connectionStatus === 'connected' "
                "&& nb.sessionContext.session.kernel.status === 'idle')"), timeout=60_000)
            mark("kernel idle")
            # JupyterLab's widget manager then restores widgets from the kernel (comm_info, request_state);
            # widgets created while that is under way can end up bound to a model that gets no messages
            page.wait_for_function(WIDGETS_RESTORED, timeout=60_000)
            mark("widget manager ready")
            _run_cells(page, "notebook:run-all-above", active=FIRST_LATER_CELL)  # panel and top
            mark("cells started")

            # the chart renders: plotly's svg, with VIRT/RES/SHR line paths that have points
            page.wait_for_function("(() => { const p = document.querySelector('.jp-NotebookPanel .jp-Cell "
                                   ".jp-InputPrompt'); return !!p && /\\[1\\]/.test(p.textContent); })()",
                                   timeout=60_000)
            mark("first cell done")
            timing = page.inner_text(".jp-NotebookPanel .jp-Cell .jp-OutputArea-output:has-text('TIMING')")
            metrics["kernel_cell1"] = timing.strip()
            page.wait_for_selector(".toplab-panel", timeout=60_000)
            mark("panel shown")
            page.wait_for_selector(".toplab-panel .js-plotly-plot .main-svg", timeout=60_000)
            mark("plotly svg")
            # (plotly simplifies a flat line such as SHR to two vertices: count the data, check the paths exist)
            page.wait_for_function(
                "(() => { const gd = document.querySelector('.toplab-panel .js-plotly-plot');"
                " const l = document.querySelectorAll('.toplab-panel .scatterlayer .trace path.js-line');"
                " return !!gd && !!gd.data && gd.data[1].x.length > 3 && l.length >= 3"
                " && [...l].every(p => (p.getAttribute('d') || '').includes('L')); })()",
                timeout=60_000)
            page.wait_for_selector(".toplab-values b[data-metric='res']", timeout=30_000)
            pid = int(page.get_attribute(".toplab-values .toplab-pid", "data-pid"))
            lab["pids"].append(pid)
            mark("chart drawn")

            # measure what the browser draws: frames per second (each draws only the traces' new
            # state, Plotly.animate without a full redraw) and the points the traces hold
            frames = ("(() => { const b = document.querySelector('.toplab-panel .toplab-chart');"
                      " const gd = document.querySelector('.toplab-panel .js-plotly-plot');"
                      " return {frames: b.toplabState.frames, t: performance.now(), last: gd.data[1].x.slice(-1)[0],"
                      " points: gd.data.slice(0, 5).reduce((a, t) => a + (t.x ? t.x.length : 0), 0)}; })()")
            before = page.evaluate(frames)
            time.sleep(3.0)
            drawn = page.evaluate(frames)
            seconds = (drawn["t"] - before["t"]) / 1000
            metrics["browser_frames_per_s"] = (drawn["frames"] - before["frames"]) / seconds
            metrics["points_in_traces"] = drawn["points"]
            assert drawn["frames"] - before["frames"] >= 3, (before, drawn)  # the chart keeps updating at about 5 Hz
            assert drawn["last"] > before["last"] + 2.0, (before, drawn)  # with the new points

            # hovering the RES line shows its hover text (the hovertemplate with the value)
            # (frames keep redrawing: the label is read in the same check that waits for it, and the
            # mouse moves again to the line's newest points until it shows)
            page.locator(".toplab-panel .js-plotly-plot").scroll_into_view_if_needed()
            hover = None
            deadline = time.monotonic() + 15
            while hover is None and time.monotonic() < deadline:
                xy = page.evaluate("""(() => { const gd = document.querySelector('.toplab-panel .js-plotly-plot');
                    const fl = gd._fullLayout, xa = fl.xaxis, ya = fl.yaxis, t = gd.data[1];
                    const i = t.x.length - 3, r = gd.getBoundingClientRect();
                    return [r.left + xa._offset + xa.l2p(t.x[i]), r.top + ya._offset + ya.l2p(t.y[i])]; })()""")
                page.mouse.move(xy[0] - 5, xy[1])
                page.mouse.move(xy[0], xy[1])
                try:
                    hover = page.wait_for_function(
                        "(() => { const h = document.querySelector('.toplab-panel .hoverlayer .hovertext');"
                        " const t = h && h.parentNode.textContent; return t && t.includes('MiB') ? t : null; })()",
                        timeout=2_000).json_value()
                except Exception:  # playwright's TimeoutError: move again
                    hover = None
            assert hover and "MiB at" in hover, hover
            page.mouse.move(0, 0)

            # RES stays flat while untouched, then rises once the real toggle is clicked in the page
            res_before = _res_bytes(page)
            page.screenshot(path=str(ARTIFACTS / "1-before-memset.png"))
            page.click(".toplab-touch")
            mark("toggle clicked")
            deadline = time.monotonic() + 20
            while _res_bytes(page) < res_before + 4 * MiB and time.monotonic() < deadline:
                time.sleep(0.2)
            res_after = _res_bytes(page)
            assert res_after >= res_before + 4 * MiB, (res_before, res_after)
            mark("RES rose")
            # the chart follows (plotly draws a frame later than the label): its RES trace rises too
            last_res = "document.querySelector('.toplab-panel .js-plotly-plot').data[1].y.slice(-1)[0]"
            page.wait_for_function(f"{last_res} * {MiB} >= {res_before + 4 * MiB}", timeout=20_000)
            status = page.inner_text(".toplab-status")
            assert "memset wrote the block" in status or "memset is on" in status, status
            assert page.locator(".toplab-panel .scatterlayer .trace text", has_text="memset on").count() >= 1

            # the top table lists the program, highlighted
            row = page.wait_for_selector(f".toplab-top-table tr.toplab-mine[data-pid='{pid}']", timeout=20_000)
            assert "malloc_test" in row.inner_text()
            title = page.get_attribute(".toplab-top-table th:has-text('RES')", "title")
            assert title.startswith("RES: Resident memory")
            mark("top row found")
            page.screenshot(path=str(ARTIFACTS / "2-after-memset.png"))
            top_widget = page.locator(".toplab-toptable")
            top_widget.scroll_into_view_if_needed()
            top_widget.screenshot(path=str(ARTIFACTS / "3-top-table.png"))

            # the what-if shows a prediction; the shared view draws its bars and the sums
            _run_cells(page, "notebook:run-all-below", active=FIRST_LATER_CELL)
            page.wait_for_selector(".toplab-whatif-prediction [data-allowed]", timeout=30_000)
            page.wait_for_function("document.querySelectorAll('.toplab-shared .barlayer .point path').length >= 12",
                                   timeout=30_000)
            assert "Summing RES over the 3 processes" in page.inner_text(".toplab-shared-text")
            lab["pids"].extend(int(x) for x in page.eval_on_selector_all(
                ".toplab-shared tr[data-pid]", "rows => rows.map(r => r.dataset.pid)"))
            page.click(".toplab-whatif-run")  # big_alloc for real: a reservation, nothing touched
            page.wait_for_selector(".toplab-whatif-result [data-ran='1']", timeout=30_000)
            assert "Kernel's answer: malloc of 64 GiB" in page.inner_text(".toplab-whatif-result")
            mark("whatif and shared drawn")
            for sel, name in ((".toplab-whatif", "4-whatif.png"), (".toplab-shared", "5-shared.png")):
                page.locator(sel).scroll_into_view_if_needed()
                page.locator(sel).screenshot(path=str(ARTIFACTS / name))
        except BaseException:
            metrics["console_errors"] = errors
            _save_failure(page, metrics, mark)
            raise
        finally:
            browser.close()
    mark("browser closed")
    metrics["timeline_s"] = mark.marks
    (ARTIFACTS / "metrics.json").write_text(json.dumps(metrics, indent=2))
    real = [e for e in errors if not any(a in e for a in CONSOLE_ALLOWLIST)]
    assert not real, "errors in the browser console:\n" + "\n".join(real)
