// toplab's live chart: plotly.js driven by small messages (kernel_helpers/widgets/livechart.py).
//
// plotly.js comes from the kernel's plotly package once per page (a binary comm buffer, run as a
// script, kept on window), so every later chart starts at once. The figure is built once; then
// "points" messages append to each trace, the page trims each trace to `window` points, and a
// frame (at most one per animation frame, none while the tab is hidden) draws the traces only
// (Plotly.animate without a full redraw). Axis ranges stay fixed and move in steps, so a frame
// does not lay the axes out again.

const LOAD_KEY = "__toplabPlotly";

function theSlot() {
  let slot = window[LOAD_KEY];
  if (!slot || (slot.failed && !slot.loading)) {
    slot = window[LOAD_KEY] = { loading: false, failed: false, asked: 0 };
    slot.promise = new Promise((resolve, reject) => { slot.resolve = resolve; slot.reject = reject; });
  }
  return slot;
}

function loadPlotly(model) {
  if (window.Plotly && window.Plotly.animate) return Promise.resolve(window.Plotly);
  const slot = theSlot();
  if (!slot.watch) { // plotly.js that another part of the page loads: take it too
    slot.watch = setInterval(() => {
      if (window.Plotly && window.Plotly.animate && !slot.loading) { clearInterval(slot.watch); slot.resolve(window.Plotly); }
    }, 250);
    slot.promise.then(() => clearInterval(slot.watch), () => clearInterval(slot.watch));
  }
  if (!slot.loading && !slot.asked) {
    slot.asked = performance.now();
    model.send({ kind: "need_plotly" });
    // a kernel that never answers (restarted, closed): let the next chart ask again
    setTimeout(() => { if (!slot.loading && !window.Plotly) { slot.asked = 0; } }, 20000);
  }
  return slot.promise;
}

function runPlotly(buffer) {
  const slot = theSlot();
  if (slot.loading || window.Plotly) return;
  slot.loading = true;
  slot.asked = slot.asked || performance.now();
  const url = URL.createObjectURL(new Blob([buffer], { type: "text/javascript" }));
  // plotly.js's UMD header would register with RequireJS instead of window: hide define (only
  // where a page has one) while it runs, and give it back whatever happens
  const hasAmd = typeof window.define === "function";
  const amd = window.define;
  if (hasAmd) window.define = undefined;
  const restore = () => { if (hasAmd && window.define === undefined) window.define = amd; };
  const s = document.createElement("script");
  s.src = url;
  s.onload = () => {
    try {
      URL.revokeObjectURL(url);
      slot.loading = false;
      slot.seconds = (performance.now() - slot.asked) / 1000;
      slot.resolve(window.Plotly);
    } finally { restore(); }
  };
  s.onerror = (e) => {
    try {
      slot.loading = false;
      slot.failed = true;
      slot.reject(new Error("plotly.js did not load"));
    } finally { restore(); }
  };
  try { document.head.appendChild(s); } catch (e) { restore(); slot.loading = false; slot.failed = true; slot.reject(e); }
}

// 1, 2, 2.5, 5 x 10^k at or above v (for v > 0)
function niceUp(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v * (1 - 1e-9)) return m * p;
  return 10 * p;
}

function wanted(lo, hi, tozero) {
  if (tozero) lo = Math.min(0, lo);
  if (!(hi > lo)) hi = lo + 1;
  const pad = 0.12 * (hi - lo);
  const top = hi >= 0 ? niceUp(hi + pad) : -niceUp(-(hi + pad)) / 2;
  const bottom = lo >= 0 ? (tozero ? 0 : Math.max(0, lo - pad)) : -niceUp(-(lo - pad));
  return [bottom, top];
}

// The points a model has received, kept per model from initialize() on: a message that reaches the
// page before the chart is shown (or while the kernel is busy and cannot answer "hello") is not
// lost, and a view starts from the latest window. Every view of the model draws from it.
const STORES = new WeakMap();

function storeOf(model) {
  let d = STORES.get(model);
  if (!d) {
    d = { run: null, x: [], ys: {}, replaced: null, received: 0, dropped: 0, resets: 0, views: new Set() };
    STORES.set(model, d);
    model.on("msg:custom", (msg, buffers) => onMsg(model, d, msg, buffers));
  }
  return d;
}

function onMsg(model, d, msg, buffers) {
  if (!msg) return;
  if (msg.kind === "plotly") { if (buffers && buffers.length) runPlotly(buffers[0]); return; }
  if (msg.kind === "points" || msg.kind === "reset") takePoints(model, d, msg);
  else if (msg.kind === "replace") d.replaced = msg;
  else return;
  for (const v of d.views) v();
}

function takePoints(model, d, msg) {
  // run numbers only grow: points of a newer run than the page knows start that run (their reset
  // may have been lost, or the kernel saw the new run first in this message)
  const newer = d.run !== null && typeof msg.run === "number" && msg.run > d.run;
  if (msg.kind === "reset" || d.run === null || newer) {
    if (msg.kind === "reset" || newer) { d.x = []; d.ys = {}; d.resets++; }
    d.run = msg.run;
  } else if (msg.run !== d.run) {
    d.dropped += msg.x.length; // from an earlier run
    return;
  }
  let from = 0;
  const last = d.x.length ? d.x[d.x.length - 1] : -Infinity;
  while (from < msg.x.length && msg.x[from] <= last) from++; // seen already (a snapshot overlapped)
  if (from >= msg.x.length && msg.kind !== "reset") return;
  const n = Math.max(1, model.get("window") | 0);
  d.received += msg.x.length - from;
  d.x = d.x.concat(from ? msg.x.slice(from) : msg.x);
  const cut = Math.max(0, d.x.length - n);
  if (cut) d.x = d.x.slice(cut);
  msg.traces.forEach((i, k) => {
    const add = from ? msg.y[k].slice(from) : msg.y[k];
    let y = (d.ys[i] || []).concat(add);
    // a trace that joined later (or a reset) lines up with x from the right
    if (y.length > d.x.length) y = y.slice(y.length - d.x.length);
    d.ys[i] = y;
  });
}

function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "toplab-chart";
  el.appendChild(box);
  const note = document.createElement("div");
  note.className = "toplab-chart-note";
  note.style.cssText = "color:#777;font-size:12px;padding:2px 0";
  note.textContent = model.get("loading_text") || "";
  box.appendChild(note);
  const spec = model.get("spec") || {};
  const streaming = model.get("window") > 0 && spec.data;
  const d = storeOf(model);
  const st = {
    gd: null, dirty: false, raf: 0, ranges: {}, userZoom: false, self: 0, frames: 0, alive: true,
    resets: d.resets, replacedDone: null,
  };
  // for the tests and the benchmark: frames drawn, points held and received
  for (const k of ["x", "ys", "run", "received", "dropped"]) Object.defineProperty(st, k, { get: () => d[k] });
  box.toplabState = st;
  const win = () => Math.max(1, model.get("window") | 0);
  const streamed = () => (spec.stream || []);

  function changed() {
    if (!st.alive) return;
    if (st.resets !== d.resets) { st.resets = d.resets; st.ranges = {}; }
    st.dirty = true;
    schedule();
  }
  d.views.add(changed);

  function schedule() {
    if (!st.gd || st.raf || !st.dirty) return;
    // at most one frame per animation frame; none while the tab is hidden: the points wait,
    // trimmed to the window, and the tab draws them in one frame when it is shown again
    st.raf = requestAnimationFrame(frame);
  }

  function axisOf(i) {
    const t = spec.data[i] || {};
    return (t.yaxis || "y").replace(/^y/, "yaxis");
  }

  function fixRanges(P) {
    if (st.userZoom) return;
    const lay = {};
    const x = st.x;
    const layout = st.gd.layout;
    if (x.length) {
      const first = x[0], lastX = x[x.length - 1];
      const r = st.ranges.x;
      // the x axis moves in steps: while the window fills, from 0 to 25 % beyond the newest point;
      // once it is full, by a quarter of the window (30 s at 5 Hz, 7.5 s at 20 Hz). In between, a
      // frame draws the traces only and the axes stay as they are.
      let want = null;
      if (x.length < win()) {
        if (!r || lastX > r[1] || r[0] > 0) want = [-0.01 * Math.max(lastX, 8), Math.max(8, 1.25 * lastX)];
      } else {
        const full = Math.max(lastX - first, 1);
        if (!r || lastX > r[1] || first < r[0]) want = [first - 0.01 * full, lastX + 0.25 * full];
      }
      if (want) {
        st.ranges.x = want;
        for (const k of spec.xaxes || ["xaxis"]) lay[k + ".range"] = st.ranges.x.slice();
      }
    }
    const byAxis = {};
    for (const i of streamed()) {
      const tr = st.gd.data[i];
      if (!tr || tr.visible === false) continue;
      const y = st.ys[i] || [];
      const ax = axisOf(i);
      const b = byAxis[ax] || (byAxis[ax] = [Infinity, -Infinity]);
      for (const v of y) { if (v !== null && v !== undefined) { if (v < b[0]) b[0] = v; if (v > b[1]) b[1] = v; } }
    }
    const mk = model.get("markers") || [];
    if (mk.length && byAxis.yaxis) for (const m of mk) { if (m.y > byAxis.yaxis[1]) byAxis.yaxis[1] = m.y; }
    for (const ax of Object.keys(byAxis)) {
      const [lo, hi] = byAxis[ax];
      if (!(hi >= lo)) continue;
      const tozero = (layout[ax] || {}).rangemode === "tozero";
      const r = st.ranges[ax];
      const need = !r || hi > r[1] || lo < r[0] || (r[1] - r[0]) > 4 * Math.max(hi - Math.min(lo, tozero ? 0 : lo), 1e-9) + 1;
      if (need) {
        st.ranges[ax] = wanted(lo, hi, tozero);
        lay[ax + ".range"] = st.ranges[ax].slice();
      }
    }
    if (Object.keys(lay).length) {
      st.self++; // its plotly_relayout event comes later: not the reader's zoom
      Promise.resolve(P.relayout(st.gd, lay)).catch(() => {}).then(() => { st.self--; });
    }
  }

  function frame() {
    st.raf = 0;
    if (!st.dirty || !st.gd || !st.alive) return;
    st.dirty = false;
    const P = window.Plotly;
    if (d.replaced && d.replaced !== st.replacedDone) {
      const msg = d.replaced;
      st.replacedDone = msg;
      const data = st.gd.data.map((t, i) => {
        const k = msg.traces.indexOf(i);
        return k < 0 ? t : Object.assign({}, t, msg.data[k]);
      });
      P.react(st.gd, data, st.gd.layout);
    }
    if (streaming) {
      fixRanges(P);
      const idx = streamed().filter((i) => st.ys[i]);
      if (idx.length) {
        P.animate(st.gd, { data: idx.map((i) => ({ x: st.x, y: st.ys[i] })), traces: idx },
          { transition: { duration: 0 }, frame: { duration: 0, redraw: false }, mode: "immediate" });
      }
    }
    st.frames++;
  }

  function drawMarkers() {
    const i = model.get("marker_trace");
    if (!st.gd || i < 0) return;
    const mk = model.get("markers") || [];
    window.Plotly.restyle(st.gd, {
      x: [mk.map((m) => m.t)], y: [mk.map((m) => m.y)], text: [mk.map((m) => m.text)],
      "marker.symbol": [mk.map((m) => m.symbol)], "marker.color": [mk.map((m) => m.color)],
    }, [i]);
  }
  function drawTitle() {
    if (!st.gd) return;
    window.Plotly.relayout(st.gd, { "title.text": model.get("title"), "title.font.color": model.get("title_color") || null });
  }
  function drawVisible() {
    if (!st.gd) return;
    const vis = model.get("visible") || [];
    const idx = [], val = [];
    vis.forEach((v, i) => { if (st.gd.data[i] && (st.gd.data[i].visible !== false) !== v) { idx.push(i); val.push(v); } });
    if (idx.length) { window.Plotly.restyle(st.gd, { visible: val }, idx); st.dirty = true; schedule(); }
  }
  model.on("change:markers", drawMarkers);
  model.on("change:title", drawTitle);
  model.on("change:title_color", drawTitle);
  model.on("change:visible", drawVisible);

  let ro = null;
  const started = performance.now();
  model.send({ kind: "hello" }); // the kernel answers with what is drawn so far
  loadPlotly(model).then(async (P) => {
    if (!st.alive) return;
    if (!spec.data) { // the loader alone: say it is ready
      note.textContent = model.get("ready_text") || "";
      box.dataset.ready = "1";
      return;
    }
    const gd = document.createElement("div");
    gd.className = "toplab-plot";
    box.appendChild(gd);
    if (!box.isConnected || !box.clientWidth) { // JupyterLab attaches the output a moment later
      await new Promise((res) => { const t0 = performance.now(); const f = () => (box.isConnected && box.clientWidth) || performance.now() - t0 > 2000 ? res() : requestAnimationFrame(f); f(); });
    }
    const layout = JSON.parse(JSON.stringify(spec.layout || {}));
    layout.title = Object.assign({}, layout.title || {}, { text: model.get("title") });
    if (model.get("title_color")) layout.title.font = Object.assign({}, layout.title.font || {}, { color: model.get("title_color") });
    const data = JSON.parse(JSON.stringify(spec.data));
    (model.get("visible") || []).forEach((v, i) => { if (data[i]) data[i].visible = v; });
    const mk = model.get("markers") || [];
    const mi = model.get("marker_trace");
    if (mi >= 0 && data[mi]) Object.assign(data[mi], { x: mk.map((m) => m.t), y: mk.map((m) => m.y), text: mk.map((m) => m.text), marker: Object.assign({}, data[mi].marker || {}, { symbol: mk.map((m) => m.symbol), color: mk.map((m) => m.color) }) });
    if (streaming) {
      for (const ax of Object.keys(layout)) if (/^[xy]axis\d*$/.test(ax)) layout[ax].autorange = false;
      for (const i of spec.stream || []) if (data[i]) { data[i].x = st.x; data[i].y = st.ys[i] || []; }
      st.ranges = {};
      const x = spec.xaxes || ["xaxis"];
      for (const k of x) layout[k].range = [0, 10];
      for (const k of Object.keys(layout)) if (/^yaxis\d*$/.test(k)) layout[k].range = layout[k].range || [0, 1];
    }
    await P.newPlot(gd, data, layout, Object.assign({ displaylogo: false, responsive: false }, spec.config || {}));
    st.gd = gd;
    note.remove();
    box.dataset.ready = "1";
    box.dataset.firstChartMs = String(Math.round(performance.now() - started));
    gd.on("plotly_relayout", (ev) => {
      if (st.self || !ev) return;
      const keys = Object.keys(ev);
      if (keys.some((k) => /axis\d*\.autorange$/.test(k) || k === "autosize")) { st.userZoom = false; st.ranges = {}; st.dirty = true; schedule(); }
      else if (keys.some((k) => /axis\d*\.range/.test(k))) st.userZoom = true; // the reader zoomed: leave the axes alone
    });
    if (window.ResizeObserver) {
      let w = box.clientWidth;
      ro = new ResizeObserver(() => {
        if (!st.gd || box.clientWidth === w || !box.clientWidth) return;
        w = box.clientWidth;
        // Plots.resize relayouts with autosize: not the reader's doing, and a reader's zoom stays
        const keep = {};
        if (st.userZoom) {
          for (const k of Object.keys(st.gd.layout)) {
            const r = /^[xy]axis\d*$/.test(k) && st.gd.layout[k].range;
            if (r) keep[k + ".range"] = r.slice();
          }
        }
        st.self++;
        Promise.resolve(P.Plots.resize(st.gd)).catch(() => {})
          .then(() => (Object.keys(keep).length ? P.relayout(st.gd, keep) : null)).catch(() => {})
          .then(() => { st.self--; });
      });
      ro.observe(box);
    }
    if (st.resets !== d.resets) { st.resets = d.resets; st.ranges = {}; }
    st.dirty = st.dirty || d.x.length > 0 || !!d.replaced;
    schedule();
  }).catch((e) => { note.textContent = String(e); });

  return () => {
    st.alive = false;
    d.views.delete(changed);
    model.off("change:markers", drawMarkers);
    model.off("change:title", drawTitle);
    model.off("change:title_color", drawTitle);
    model.off("change:visible", drawVisible);
    if (st.raf) cancelAnimationFrame(st.raf);
    if (ro) ro.disconnect();
    if (st.gd && window.Plotly) window.Plotly.purge(st.gd);
  };
}

// The model, as soon as the widget exists (before it is shown): the first chart a kernel makes
// carries plotly.js in its state, and the page starts running it while the kernel builds the rest.
function initialize({ model }) {
  storeOf(model); // listen from now on, before any view is shown
  const buf = model.get("plotly_js");
  if (!buf || !buf.byteLength) return;
  let ran = Promise.resolve();
  if (!(window.Plotly && window.Plotly.animate)) { runPlotly(buf); ran = theSlot().promise; }
  // once it runs, the kernel empties the trait: the file need not travel with the state again
  ran.then(() => { try { model.send({ kind: "have_plotly" }); } catch (e) { /* closed */ } }, () => {});
}

export default { initialize, render };

// for tests/test_widgets.py (node): the per-model store, without a page
export const _forTests = { storeOf };
