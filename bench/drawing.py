"""How to draw a live line chart with plotly.js cheaply in headless Chromium (software rendering).

The comparison behind the live chart's design (issue 12), outside JupyterLab so that only the
drawing counts: one page with the plotly.js of the plotly package and the panel's shape (5 line
traces on two rows with a second y axis, a markers trace, 600 points per trace), fed at 5 Hz with
one new point per trace per frame (at most one frame per animation frame). Per way of drawing:
the CPU of the whole Chromium process tree over wall time, and the main thread's time per frame.

    python -m bench.drawing [--seconds 15] [--modes animate,extend,extend-auto,react,gl]

- ``extend-auto``: ``Plotly.extendTraces`` with autoranged axes (what a FigureWidget-like redraw costs)
- ``extend``: ``Plotly.extendTraces`` with fixed axis ranges moved in steps
- ``react``: ``Plotly.react`` with new arrays, fixed ranges
- ``animate``: ``Plotly.animate(..., {redraw: false})``, fixed ranges moved in steps (what LiveChart does)
- ``gl``: ``scattergl`` traces with ``extendTraces`` (WebGL, here in software)
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bench.chart import _chromium_pids, _cpu_seconds
from kernel_helpers.widgets.livechart import plotly_js
from tools.labserver import launch_chromium

SETUP_JS = r"""
async ([mode, hz]) => {
  const s = document.createElement('script'); s.textContent = window.__src; document.head.appendChild(s);
  const gd = document.createElement('div'); document.body.appendChild(gd);
  const type = mode === 'gl' ? 'scattergl' : 'scatter';
  const names = ['VIRT', 'RES', 'SHR', 'committed', 'minflt'];
  const data = names.map((n, i) => ({type, x: [], y: [], name: n, mode: 'lines', xaxis: i < 3 ? 'x' : 'x2',
    yaxis: i < 3 ? 'y' : (i === 3 ? 'y2' : 'y3'), hovertemplate: n + ' %{y:.2f} MiB at %{x:.1f} s<extra></extra>'}));
  data.push({type: 'scatter', x: [1], y: [100], mode: 'markers+text', text: ['start'], showlegend: false});
  const fixed = mode !== 'extend-auto' && mode !== 'gl';
  const layout = {height: 520, width: 1300, margin: {l: 60, r: 60, t: 40, b: 80}, title: {text: 'malloc_test'},
    xaxis: {anchor: 'y', domain: [0, 0.94], matches: 'x2', showticklabels: false},
    yaxis: {anchor: 'x', domain: [0.36, 1], rangemode: 'tozero'}, xaxis2: {anchor: 'y2', domain: [0, 0.94]},
    yaxis2: {anchor: 'x2', domain: [0, 0.3]}, yaxis3: {anchor: 'x2', overlaying: 'y2', side: 'right', showgrid: false},
    legend: {orientation: 'h', y: -0.12}};
  if (fixed) Object.assign(layout.yaxis, {range: [0, 200], autorange: false});
  if (fixed) { layout.xaxis2.range = [0, 150]; layout.xaxis2.autorange = false;
               layout.yaxis2.range = [-10, 200]; layout.yaxis3.range = [0, 1e5]; }
  await Plotly.newPlot(gd, data, layout, {displaylogo: false});
  let t = 0, frames = 0, ms = 0, x = [], ys = names.map(() => []), step = 0;
  const pending = [];
  const frame = () => {
    window.__raf = false;
    const a = performance.now();
    const add = pending.splice(0);
    const addY = names.map((n, i) => add.map((v) => i === 4 ? Math.floor(v * 100) : 100 + 10 * i + Math.sin(v)));
    x = x.concat(add).slice(-600);
    ys = ys.map((y, i) => y.concat(addY[i]).slice(-600));
    const s = Math.floor(x[x.length - 1] / 30);
    if (fixed && s !== step) { step = s; Plotly.relayout(gd, {'xaxis2.range': [x[0], x[x.length - 1] + 30]}); }
    if (mode === 'animate') {
      Plotly.animate(gd, {data: ys.map((y) => ({x, y})), traces: [0, 1, 2, 3, 4]},
                     {transition: {duration: 0}, frame: {duration: 0, redraw: false}, mode: 'immediate'});
    } else if (mode === 'react') {
      const d = gd.data.map((tr, i) => i < 5 ? Object.assign({}, tr, {x, y: ys[i]}) : tr);
      Plotly.react(gd, d, gd.layout);
    } else {
      Plotly.extendTraces(gd, {x: names.map(() => add), y: addY}, [0, 1, 2, 3, 4], 600);
    }
    frames++;
    ms += performance.now() - a;
  };
  for (let k = 0; k < 600; k++) { t += 1 / hz; pending.push(t); }
  frame();
  setInterval(() => { t += 1 / hz; pending.push(t);
    if (!window.__raf) { window.__raf = true; requestAnimationFrame(frame); } }, 1000 / hz);
  window.__stats = () => ({frames, ms_per_frame: ms / frames});
}
"""


def measure(playwright, src: str, mode: str, seconds: float, hz: float = 5.0) -> dict:
    browser = launch_chromium(playwright)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_content("<html><body></body></html>")
        page.evaluate("(s) => { window.__src = s; }", src)
        page.evaluate(SETUP_JS, [mode, hz])
        time.sleep(3)
        pids = _chromium_pids()
        a, c0, t0 = page.evaluate("window.__stats()"), _cpu_seconds(pids), time.monotonic()
        time.sleep(seconds)
        b, c1, t1 = page.evaluate("window.__stats()"), _cpu_seconds(pids), time.monotonic()
        return {"mode": mode, "chromium_cpu_share": (c1 - c0) / (t1 - t0),
                "frames_per_s": (b["frames"] - a["frames"]) / (t1 - t0), "ms_per_frame_sync": b["ms_per_frame"]}
    finally:
        browser.close()


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    p = argparse.ArgumentParser(prog="python -m bench.drawing", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--modes", default="animate,extend,extend-auto,react,gl")
    args = p.parse_args(argv)
    src = plotly_js().decode("utf-8")
    out = []
    with sync_playwright() as pw:
        for mode in args.modes.split(","):
            r = measure(pw, src, mode, args.seconds)
            out.append(r)
            print(f"{mode:12s} Chromium {r['chromium_cpu_share'] * 100:5.1f}% of a core, "
                  f"{r['frames_per_s']:.1f} frames/s, {r['ms_per_frame_sync']:.1f} ms per frame in the call",
                  flush=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
