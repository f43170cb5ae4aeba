"""Book mode (TOPLAB_BOOK=1, set by make book): live views display what a static page can keep.

A real kernel runs a small notebook in book mode: the memory panel runs malloc_test for real, and
its output, redrawn after every cell, ends up as a self-contained plotly figure of that run; a
FigureWidget displays as a static figure; the top table as a snapshot. No output is a widget view
(a static page cannot render one).
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from nbclient import NotebookClient

from kernel_helpers import recordings

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

CELLS = [
    "from kernel_helpers.widgets import memory_panel, top_table\n"
    "panel = memory_panel(step_mib=1, interval_ms=100, max_mib=64, lang='en')",
    "panel.start()\nsteps = panel.wait_steps(6, timeout=30)\nprint('STEPS', len(panel.step_table()))",
    "import plotly.graph_objects as go\nf = go.FigureWidget()\nf.add_scatter(x=[1, 2, 3], y=[4, 5, 6], name='probe')\nf",
    "tt = top_table(interval=0.5, sort='RES', max_rows=5, lang='en')",
    "panel.stop()\ntt.close()\nprint('CLOSED', panel.threads_alive())",
]


def test_book_mode_follows_the_environment(monkeypatch):
    for value, on in (("1", True), ("yes", True), ("", False), ("0", False)):
        monkeypatch.setenv(recordings.BOOK_ENV, value)
        assert recordings.book_mode() is on
    monkeypatch.delenv(recordings.BOOK_ENV)
    assert not recordings.book_mode()
    assert not recordings.install_book_display()  # outside book mode nothing is installed


def test_figure_html_is_a_plotly_figure_without_plotly_js():
    import plotly.graph_objects as go

    html = recordings.figure_html(go.FigureWidget(go.Scatter(x=[1, 2], y=[3, 4])))
    assert 'class="plotly-graph-div"' in html and "Plotly.newPlot" in html
    assert len(html) < 20_000  # plotly.js itself is not inlined: the site loads it once


def _y_values(html: str) -> list[float]:
    calls = re.findall(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*\{", html, re.S)
    ys = []
    for traces in calls:
        for t in json.loads(traces):
            y = t.get("y") or []
            ys.extend(v for v in y if isinstance(v, (int, float)))
    return ys


@pytest.mark.notebook
def test_a_notebook_in_book_mode_holds_static_figures_of_its_own_run(built, monkeypatch, tmp_path):
    monkeypatch.setenv("TOPLAB_BOOK", "1")
    monkeypatch.setenv("TOPLAB_FAST", "1")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [c.outputs for c in nb.cells]
    for i, outs in enumerate(outputs):
        for o in outs:
            assert o.output_type != "error", f"cell {i}: {o.get('ename')}: {o.get('evalue')}"
            assert WIDGET_MIME not in o.get("data", {}), f"cell {i} shows a live widget"
    text = "".join(o.get("text", "") for outs in outputs for o in outs)
    steps = int(re.search(r"STEPS (\d+)", text).group(1))
    assert steps >= 6  # the experiment ran for real
    assert "CLOSED {'sampler': False, 'pump': False, 'redraw': False}" in text

    # the panel's output (cell 0) was redrawn after the run: a figure of this run's VIRT
    panel_html = "".join(o.data.get("text/html", "") for o in outputs[0] if "data" in o)
    assert "In the lab this chart is live" in panel_html and 'class="toplab-live-figure"' in panel_html
    ys = _y_values(panel_html)
    assert ys and max(ys) >= 6, f"the panel's figure does not hold the run (max {max(ys, default=0)} MiB)"

    fig_html = "".join(o.data.get("text/html", "") for o in outputs[2] if "data" in o)
    assert _y_values(fig_html) == [4, 5, 6]

    top_html = "".join(o.data.get("text/html", "") for o in outputs[3] if "data" in o)
    assert "toplab-snapshot" in top_html and "toplab-top-table" in top_html and "top - " in top_html


def test_load_charts_shows_no_live_loader_and_sends_no_plotly_js_in_book_mode(monkeypatch):
    from kernel_helpers.widgets import livechart

    monkeypatch.setenv(recordings.BOOK_ENV, "1")
    monkeypatch.setitem(livechart._cache, "offered", False)

    def no_chart(*_a, **_k):
        raise AssertionError("a live chart was made in book mode")
    monkeypatch.setattr(livechart, "LiveChart", no_chart)
    assert livechart.load_charts() is None
    monkeypatch.undo()
    monkeypatch.setenv(recordings.BOOK_ENV, "1")
    monkeypatch.setitem(livechart._cache, "offered", False)
    chart = livechart.LiveChart(lang="en")  # a view's chart in book mode: no plotly.js in its state
    assert chart.plotly_js == b""
    chart.close()
