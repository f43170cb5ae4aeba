"""`make bench`: measure the lab next to top, print one table, write the same figures as JSON.

Each figure is measured side by side with its reference in the same run and shown as a
ratio, with the target from issue 7 and whether it was met. Repeats give medians (every
repeat is in the JSON). ``--quick`` shortens the long parts (the chart draws 15 s instead of
60 s per rate, hides its tab 20 s instead of 60 s and watches memory 1 min instead of 8); ``--only``/``--skip`` choose parts: snapshot, sampler, memory, faults, notebooks,
lab, chart.

    python -m bench.run [--quick] [--only snapshot,sampler] [--skip chart]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as _dt
import io
import json
import os
import pstats
import sys
import time

from bench.common import RESULTS, Figure, loadavg, machine_info, median, run_worker, say

PARTS = ("snapshot", "sampler", "memory", "faults", "notebooks", "lab", "chart")
MiB = 1 << 20


# --- turning raw results into figures ----------------------------------------------------------

def snapshot_figures(res: dict) -> list[Figure]:
    figs = []
    sizes = res["sizes"]
    for s in sizes:
        extra = s["extra"]
        label = f"{s['processes']} procs" + (f" (+{extra})" if extra else " (now)")
        ours, top = s["ours_pass"]["median"], s["top"]["median"]
        key_size = "now" if extra == 0 else f"plus{extra}"
        main_size = extra in (0, max(x["extra"] for x in sizes))
        figs.append(Figure(
            f"snapshot_cpu_{key_size}", f"top refresh CPU, steady state, {label}", "ms", ours * 1e3,
            top * 1e3, "top", "ratio <= 1.5" if main_size else "", (ours / top <= 1.5) if main_size else None,
            {"ours_pass": s["ours_pass"], "top": s["top"], "top_startup": s["top_startup"]}))
        pub = s["ours_public"]["median"]
        figs.append(Figure(
            f"snapshot_public_cpu_{key_size}", f"top.snapshot() CPU (2 passes), {label}", "ms", pub * 1e3,
            top * 1e3, "top", "", None, {"ours_public": s["ours_public"]}))
        text = ours + s["ours_render"]["median"]
        figs.append(Figure(
            f"snapshot_text_cpu_{key_size}", f"refresh + to_text() of all rows, {label}", "ms",
            text * 1e3, top * 1e3, "top", "", None, {"ours_render": s["ours_render"]}))
    if len(sizes) >= 2:
        a, b = sizes[0], sizes[-1]
        dn = b["processes"] - a["processes"]
        slope = (b["ours_pass"]["median"] - a["ours_pass"]["median"]) / dn
        top_slope = (b["top"]["median"] - a["top"]["median"]) / dn
        met, note = None, ""
        if len(sizes) >= 3:  # linear: the cost per extra process is the same over each half
            m = sizes[len(sizes) // 2]
            s1 = (m["ours_pass"]["median"] - a["ours_pass"]["median"]) / (m["processes"] - a["processes"])
            s2 = (b["ours_pass"]["median"] - m["ours_pass"]["median"]) / (b["processes"] - m["processes"])
            met = abs(s2 - s1) <= 0.25 * max(s1, s2)
            note = (f"per extra process: {s1 * 1e6:.1f} us ({a['processes']}->{m['processes']}), "
                    f"{s2 * 1e6:.1f} us ({m['processes']}->{b['processes']})")
        figs.append(Figure("snapshot_cpu_per_process", "refresh CPU per extra process (slope)", "us",
                           slope * 1e6, top_slope * 1e6, "top", "linear (halves within 25%)",
                           met, {}, note))
    return figs


def sampler_figures(res: dict) -> list[Figure]:
    figs = []
    for r in res["rates"]:
        hz = r["hz"]
        ours, top = r["ours_thread_share"]["median"], r["top_share_steady"]["median"]
        if hz == 5:
            target, met = "<= 1% of a core and <= top", ours <= 0.01 and ours <= top
        else:
            target, met = "<= top", ours <= top
        figs.append(Figure(
            f"sampler_cpu_{hz:g}hz", f"Sampler CPU, 1 PID at {hz:g} Hz, % of a core", "%core", ours * 100,
            top * 100, "top -p", target, met,
            {k: r[k] for k in r if k.startswith(("ours", "top"))},
            f"whole process {r['ours_process_share']['median'] * 100:.2f}%; "
            f"top with its start-up {r['top_share_total']['median'] * 100:.2f}%"))
    return figs


def memory_figures(res: dict) -> list[Figure]:
    return [
        Figure("sampler_rss_growth", f"RSS growth, {res['samples']:,} samples, ring full",
               "MiB", res["growth"] / MiB, 5.0, "budget", "< 5 MiB", res["growth"] < 5 * MiB, res,
               f"RSS {res['rss_before'] / MiB:.1f} -> {res['rss_after'] / MiB:.1f} MiB"),
        Figure("sampler_cpu_per_sample", "Sampler.sample_once() CPU", "us", res["cpu_per_sample"] * 1e6),
        # its reference, top's CPU per refresh with -p, comes from the sampler part: see main()
    ]


def faults_figures(res: dict) -> list[Figure]:
    ft, rw = res["first_touch_ns_per_page"]["median"], res["rewrite_ns_per_page"]["median"]
    return [
        Figure("fault_first_touch_ns", "first write of a 4 KiB page (malloc_test)", "ns/page",
               ft, rw, "rewrite", "", None, {k: v for k, v in res.items() if k != "runs"},
               f"{res['runs'][0]['mib']} MiB in 1 MiB steps, {len(res['runs'])} runs; a fault costs about "
               f"{ft - rw:,.0f} ns more than the write"),
        Figure("fault_first_touch_faults", "minor faults per MiB written", "faults/MiB",
               res["first_touch_faults_per_mib"]["median"], res["rewrite_faults_per_mib"]["median"],
               "rewrite", "", None, {}),
    ]


def notebook_figures(res: dict) -> list[Figure]:
    bare = res["bare"]["median"]
    runs = res["runs"]
    figs = [Figure("notebooks_total", f"execute all {len(runs)} notebooks (en+ko, FAST)", "s",
                   res["total"], bare * len(runs), f"{len(runs)} x bare", "", None,
                   {"runs": runs, "bare": res["bare"]},
                   "FAILED: " + ", ".join(res["failed"]) if res["failed"] else "all ran without errors")]
    if runs:
        slow = max(runs, key=lambda r: r["seconds"])
        figs.append(Figure("notebook_slowest", f"slowest: {slow['notebook'].removeprefix('notebooks/')}", "s",
                           slow["seconds"], bare, "bare", "", None, {}))
    return figs


def lab_figures(res: dict) -> list[Figure]:
    cold = res.get("make_lab_cold")
    return [Figure("make_lab_ready", "make lab -> HTTP 200 on /lab?token=", "s", res["make_lab"].get("median"),
                   res["jupyter_lab"].get("median"), "jupyter lab", "", None, res,
                   f"a first, cold start took {cold:.1f} s (not counted)" if cold else "")]


def chart_figures(res: dict) -> list[Figure]:
    """Issue 12's targets, each beside the figure before it (bench.chart.BEFORE) as the reference."""
    from bench.chart import BEFORE

    if "skipped" in res:
        return [Figure("chart", "Chart points drawn per second", "pts/s", None, notes=res["skipped"])]
    figs = []

    def before(key: str) -> tuple[float | None, str]:
        value, why = BEFORE[key]
        return value, why

    first = res.get("first", {})
    for kind, limit, label in (("fresh", 2.0, "fresh page and kernel, imports included"),
                               ("setup", 0.5, "after the chapter's setup cell")):
        runs = first.get(kind) or []
        secs = median([r["seconds"] for r in runs])
        ref, why = before(f"first_chart_{kind}_s")
        note = f"{why}; runs: " + ", ".join(f"{r['seconds']:.2f}" for r in runs)
        if kind == "setup" and runs:
            note += f"; the setup cell itself (plotly.js loaded once): {median([r['setup_s'] for r in runs]):.2f} s"
        figs.append(Figure(f"first_chart_{kind}", f"cell to visible chart, {label}", "s", secs, ref,
                           "before" if ref else "", f"<= {limit:g} s", secs is not None and secs <= limit,
                           {"runs": runs}, note))
    idle = res["idle"]
    for r in res["rates"]:
        hz = r["hz"]
        ref, why = before(f"chromium_{hz:g}hz")
        limit = 0.15 if hz <= 5 else 0.25
        figs.append(Figure(
            f"chart_chromium_cpu_{hz:g}hz", f"Chromium CPU drawing at {hz:g} Hz, % of a core", "%core",
            r["chromium_cpu_share"] * 100, ref * 100 if ref else None, "before" if ref else "",
            f"<= {limit * 100:g}% of a core", r["chromium_cpu_share"] <= limit, {"idle": idle},
            f"{why}; idle notebook page {idle['chromium_cpu_share'] * 100:.1f}%; "
            f"{r['frames_per_s']:.1f} frames/s; one {r['seconds']:.0f} s sample; {_in_view(r)}"))
    for r in res["rates"]:
        hz = r["hz"]
        ref, why = before(f"kernel_{hz:g}hz")
        kr = r.get("kernel_redraw") or {}
        figs.append(Figure(
            f"chart_kernel_cpu_{hz:g}hz", f"kernel CPU while the chart draws at {hz:g} Hz", "%core",
            r["kernel_cpu_share"] * 100, ref * 100 if ref else None, "before" if ref else "",
            "<= 3% of a core" if hz <= 5 else "", (r["kernel_cpu_share"] <= 0.03) if hz <= 5 else None, kr,
            f"{why}; {kr.get('mean_ms', 0):.1f} ms per redraw, {kr.get('messages', 0)} messages "
            f"for {kr.get('points_sent', 0)} points in the whole run" if kr else why))
    for r in res["rates"]:
        hz = r["hz"]
        drawn, got = r["points_per_s"], r.get("received_per_s")
        share = drawn / got if got else None
        figs.append(Figure(
            f"chart_points_{hz:g}hz", f"chart points drawn at {hz:g} Hz, of those sampled", "%",
            share * 100 if share is not None else None, 100.0 * BEFORE[f"points_{hz:g}hz"][0], "before",
            ">= 99%", share is not None and share >= 0.99, {},
            f"{drawn:.2f} points/s drawn, {got:.2f}/s sampled and sent, {hz:g}/s asked"
            + (f"; console errors: {len(r['console_errors'])}" if r["console_errors"] else "")))
    for r in res["rates"]:
        h = r.get("hidden")
        if not h:
            continue
        ok = (h["frames_while_hidden"] == 0 and h["catch_up_s"] <= 1.0 and h["frames_to_catch_up"] <= 2
              and h["points_held"] <= 600)
        figs.append(Figure(
            "chart_hidden_catch_up", f"tab hidden {h['seconds_hidden']:g} s at {r['hz']:g} Hz: newest point shown",
            "s", h["catch_up_s"], None, "", "no backlog: <= 1 s, <= 2 frames", ok, h,
            f"{h['frames_while_hidden']} frames while hidden ({h['points_received_while_hidden']} points received, "
            f"{h['points_held']} held: the window); {h['frames_to_catch_up']} frame(s) to catch up; "
            f"{h['frames_first_second']} frames in the first second; Chromium "
            f"{h['chromium_cpu_share_hidden'] * 100:.1f}% of a core while hidden"))
    for r in res["rates"]:
        mem = r.get("memory")
        if not mem:
            continue
        ph = mem["per_hour"]
        mins = mem["seconds"] / 60
        for key, label, limit in (("kernel_rss", "kernel RSS", 5), ("js_heap", "page JS heap (after GC)", 5),
                                  ("chromium_uss", "Chromium USS (whole process tree)", 5)):
            per_h = ph[key] / MiB
            figs.append(Figure(
                f"chart_memory_{key}", f"{label}, drawing at {r['hz']:g} Hz: growth per hour", "MiB",
                per_h, None, "", f"flat: grows < {limit} MiB/h", per_h < limit, {},
                f"extrapolated from a {mins:.0f} min run (slope of its second half); "
                f"{mem['samples'][0][key] / MiB:.1f} -> {mem['samples'][-1][key] / MiB:.1f} MiB; "
                f"DOM nodes {mem['samples'][0]['dom_nodes']:.0f} -> {mem['samples'][-1]['dom_nodes']:.0f} "
                f"({ph['dom_nodes']:+.0f}/h)"))
    return figs


def _in_view(r: dict) -> str:
    v = r.get("chart_view") or {}
    b = v.get("box") or {}
    if not b:
        return "chart position not recorded"
    return (f"chart {'fully' if v.get('fully_in_view') else 'partly'} in view "
            f"({b.get('width')}x{b.get('height')} px at y={b.get('y')}, viewport {v.get('viewport', {}).get('height')} px)")


# --- the table -----------------------------------------------------------------------------------

LEGEND = """\
references, each measured in the same run:
  top          procps top -b -d 0.1 -n K (CPU from its rusage), per refresh in steady state:
               (CPU of -n K - CPU of -n 1) / (K - 1), so its start-up does not count
  steady state ours: one read pass per refresh reusing the previous pass's ticks, as top does
               (top.Refresher, what `python -m kernel_helpers.top -n N` runs);
               top.snapshot(): a one-off call with no refresh before it, so two passes
  top -p       top -b -d 1/rate -p PID for the same seconds at the same time, steady state;
               ours is the CPU clock of the Sampler thread (idle malloc_test as the PID)
  rewrite      malloc_test's `rewrite` command: the same pages written again, resident
  bare         a one-cell notebook `import kernel_helpers` (kernel start-up), same nbclient
  jupyter lab  the same server command run directly, without make
  before       the same figure before issue 12 (plotly FigureWidget, whole windows resent and redrawn):
               issue 12's own measurement, or the README's full run of 2026-11-25
  sampled      points the kernel sampled and sent, counted in the page as they arrive; drawn:
               the x values that reach the plotly div's data
  Chromium CPU the whole Chromium process tree (renderer, GPU process in software, browser),
               CPU time over wall time; software rendering (--disable-gpu), as in CI
  hidden tab   playwright keeps every page visible, so the page is hidden as Chromium hides a
               background tab: visibilityState 'hidden', requestAnimationFrame held until shown"""

def _num(x: float | None, unit: str) -> str:
    if x is None:
        return "-"
    if unit == "MiB":
        return f"{x:.2f} MiB"
    if unit in ("ms", "s"):
        return f"{x:.3g} {unit}" if abs(x) < 10 else f"{x:.1f} {unit}"
    if unit == "%core":
        return f"{x:.2f}%"
    if unit in ("us", "ns/page"):
        return f"{x:,.1f} {unit.replace('us', 'µs')}"
    return f"{x:,.1f} {unit}"


def table(figs: list[Figure]) -> str:
    rows = [("figure", "ours", "reference", "ratio", "target", "met?")]
    for f in figs:
        ref = _num(f.reference, f.unit) + (f" {f.ref_name}" if f.ref_name else "")
        ratio = "-" if f.ratio is None else f"{f.ratio:.2f}x"
        met = {True: "yes", False: "NO", None: "-"}[f.met]
        rows.append((f.name, _num(f.ours, f.unit), ref, ratio, f.target or "-", met))
    widths = [min(52, max(len(r[i]) for r in rows)) for i in range(6)]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(c[:widths[i]].ljust(widths[i]) if i in (0, 2, 4) else c.rjust(widths[i])
                               for i, c in enumerate(r)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --- profiles, for the targets that were missed -------------------------------------------------

def profile_sampler(n: int = 2000) -> str:
    from kernel_helpers.sampler import Sampler

    s = Sampler(os.getpid())
    for _ in range(200):
        s.sample_once()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        s.sample_once()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
    return out.getvalue()


FIGURES = {"snapshot": snapshot_figures, "sampler": sampler_figures, "memory": memory_figures,
           "faults": faults_figures, "notebooks": notebook_figures, "lab": lab_figures, "chart": chart_figures}


def _per_sample_reference(info: dict, figs: list[Figure]) -> None:
    # the per-sample CPU next to top's per-refresh CPU with -p, from the sampler part
    by_key = {f.key: f for f in figs}
    per = by_key.get("sampler_cpu_per_sample")
    rates = info["raw"].get("sampler", {}).get("rates") if isinstance(info["raw"].get("sampler"), dict) else None
    if per is not None and rates:
        per.reference = median([r["top_share_steady"]["median"] / r["hz"] for r in rates]) * 1e6
        per.ref_name = "top -p"


def _report(info: dict, figs: list[Figure], path: str) -> None:
    started = _dt.datetime.fromisoformat(info["started"])
    q = info["quick"]
    m = info["machine"]
    print(f"toplab bench, {started:%Y-%m-%d %H:%M}{' (--quick)' if q else ''}: {m['cpu_model']}, {m['cores']} cores, "
          f"{m['mem_total_bytes'] / (1 << 30):.1f} GiB, kernel {m['kernel']}, Python {m['python']}, {m['top']}")
    print(f"load average {info['load']['start']} at start, {info['load']['end']} at end; "
          f"{m['processes']} processes; medians of repeats\n")
    print(table(figs))
    notes = [f"  {f.name}: {f.notes}" for f in figs if f.notes]
    if notes:
        print("\nnotes:\n" + "\n".join(notes))
    print("\n" + LEGEND)
    if "notebooks" in info["raw"] and isinstance(info["raw"]["notebooks"], dict) and "runs" in info["raw"]["notebooks"]:
        print("\nnotebooks (seconds, kernel start included):")
        for r in info["raw"]["notebooks"]["runs"]:
            slow = ", ".join(f"cell {c['cell']} {c['seconds']:.1f} s" for c in r.get("slowest_cells", [])[:2])
            print(f"  {r['seconds']:7.1f}  {r['notebook']}" + (f"  (slowest: {slow})" if slow else "")
                  + ("  ERRORS: " + "; ".join(r["errors"])[:200] if r["errors"] else ""))
    missed = [f.name for f in figs if f.met is False]
    print(f"\ntargets missed: {', '.join(missed) if missed else 'none'}")
    print(f"JSON: {os.path.relpath(path)} (and bench/results/latest.json); {info['duration_s']:.0f} s")


def table_from(path: str) -> int:
    """The table of an earlier run, recomputed from its JSON (its raw results, today's targets)."""
    with open(path) as fh:
        info = json.load(fh)
    figs: list[Figure] = []
    for name in info["parts"]:
        raw = info["raw"].get(name)
        if not isinstance(raw, dict) or "error" in raw:
            err = raw.get("error", "no result") if isinstance(raw, dict) else "no result"
            figs.append(Figure(name, f"{name}: FAILED", "", None, notes=err[:200]))
            continue
        figs.extend(FIGURES[name](raw))
    _per_sample_reference(info, figs)
    _report(info, figs, path)
    return 0


# --- main -----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="shorter runs (chart 15 s, fewer repeats)")
    p.add_argument("--only", default="", help=f"comma-separated parts: {','.join(PARTS)}")
    p.add_argument("--skip", default="", help="comma-separated parts to leave out")
    p.add_argument("--out", default=None, help="JSON path (default bench/results/bench-<time>.json)")
    p.add_argument("--table", default=None, metavar="JSON",
                   help="measure nothing: print the table of an earlier run from its JSON")
    args = p.parse_args(argv)
    if args.table:
        return table_from(args.table)
    parts = [x for x in (args.only.split(",") if args.only else PARTS) if x]
    parts = [x for x in parts if x not in args.skip.split(",")]
    unknown = set(parts) - set(PARTS)
    if unknown:
        p.error(f"unknown part(s) {', '.join(sorted(unknown))}; the parts are {', '.join(PARTS)}")
    q = args.quick
    started = _dt.datetime.now()
    t_start = time.monotonic()
    info = {"machine": machine_info(), "started": started.isoformat(timespec="seconds"), "quick": q,
            "parts": parts, "load": {"start": loadavg()}, "raw": {}, "profiles": {}}
    say(f"load average at start: {info['load']['start']}; parts: {', '.join(parts)}")
    figs: list[Figure] = []

    def section(name: str, fn, to_figures) -> None:
        if name not in parts:
            return
        say(f"{name} ...")
        t0, l0 = time.monotonic(), loadavg()
        try:
            raw = fn()
        except Exception as e:  # one broken part must not lose the others' figures
            say(f"{name} failed: {type(e).__name__}: {e}")
            info["raw"][name] = {"error": f"{type(e).__name__}: {e}"}
            figs.append(Figure(name, f"{name}: FAILED", "", None, notes=f"{type(e).__name__}: {str(e)[:200]}"))
            return
        info["raw"][name] = raw
        info["load"][name] = {"before": l0, "after": loadavg(), "seconds": round(time.monotonic() - t0, 1)}
        figs.extend(to_figures(raw))

    section("snapshot", lambda: run_worker("inproc", "snapshot", "--sizes", "0,500,1000",
                                           "--k", 21 if q else 31, "--repeats", 3 if q else 5), snapshot_figures)
    section("sampler", lambda: run_worker("inproc", "sampler", "--rates", "5,20", "--seconds", 10 if q else 30,
                                          "--repeats", 2 if q else 3), sampler_figures)
    section("memory", lambda: run_worker("inproc", "memory", "--samples", 100_000), memory_figures)

    from bench import chart, faults, notebooks

    section("faults", lambda: faults.bench(128 if q else 256, 3), faults_figures)
    section("notebooks", notebooks.notebooks_bench, notebook_figures)
    section("lab", lambda: notebooks.lab_bench(2 if q else 3), lab_figures)
    section("chart", lambda: chart.chart_bench([5, 20], 15 if q else 60, repeats=3, hidden=20 if q else 60,
                                               memory=60 if q else 480), chart_figures)

    _per_sample_reference(info, figs)
    if any(f.met is False and f.key.startswith("sampler_cpu") for f in figs):
        info["profiles"]["sampler.sample_once"] = profile_sampler()

    info["load"]["end"] = loadavg()
    info["duration_s"] = round(time.monotonic() - t_start, 1)
    info["figures"] = [f.as_dict() for f in figs]
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = args.out or str(RESULTS / f"bench-{started:%Y%m%d-%H%M%S}{'-quick' if q else ''}.json")
    with open(path, "w") as fh:
        json.dump(info, fh, indent=1, default=str)
    with open(RESULTS / "latest.json", "w") as fh:
        json.dump(info, fh, indent=1, default=str)

    _report(info, figs, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
