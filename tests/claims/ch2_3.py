"""Chapter 2.3's measured claims: malloc_test's steps, the zero page, memory commit, RLIMIT_AS.

The step claims share one run of the chapter's own experiment (``MallocExperiment``, the model
behind ``memory_panel()``): malloc only, then memset on, then memset at 50 %, as the chapter
and its exercise do. Each check then asks the lesson's functions (``step_summary``,
``res_per_step``, ``explain_steps``, the quiz judges) what they would print, and compares it
with the kernel's exact figures: minor faults and ``smaps_rollup`` Rss.
"""

from __future__ import annotations

import contextlib
import io

import pandas as pd

from kernel_helpers import overcommit, quiz
from kernel_helpers.lessons import ch2_3 as L
from kernel_helpers.safety import GiB, MiB

from . import Outcome, Skip, claim

PHASE_STEPS = 12  # per phase: fewer than 64 faults without memset, so a batching kernel shows its lag
INTERVAL_MS = 300  # the step table is read by a thread after each step: qemu's TCG needs the time
KiB = 1024


def _quiet(fn, *a, lang: str | None = None, **kw):
    """Call a lesson function that prints, in ``lang`` if given; return (result, printed text)."""
    import os

    buf = io.StringIO()
    old = os.environ.get("TOPLAB_LANG")
    if lang:
        os.environ["TOPLAB_LANG"] = lang
    try:
        with contextlib.redirect_stdout(buf):
            out = fn(*a, **kw)
    finally:
        if lang:
            if old is None:
                os.environ.pop("TOPLAB_LANG", None)
            else:
                os.environ["TOPLAB_LANG"] = old
    return out, buf.getvalue()


_RUN: dict = {}  # the one experiment run the step claims share (or the error it raised)


def _steps() -> pd.DataFrame:
    """One run of the chapter's experiment: malloc only, memset on, memset 50 %; the step table.

    Also records the program's AnonHugePages at the end (``_RUN["anon_huge"]``): where THP is
    'always', a huge page (a write fault or khugepaged's collapse) would turn one step into 2 MiB.
    A failed run is remembered, so the six claims that share it fail at once instead of re-running.
    """
    if "error" in _RUN:
        raise RuntimeError(f"the shared experiment run failed earlier: {_RUN['error']}")
    if "steps" in _RUN:
        return _RUN["steps"]
    from kernel_helpers import procfs
    from kernel_helpers.widgets.models import MallocExperiment

    m = MallocExperiment(step_mib=1, interval_ms=INTERVAL_MS, max_mib=4 * PHASE_STEPS, hz=5)
    try:
        m.start()
        timeout = 60 + PHASE_STEPS * INTERVAL_MS / 1000 * 20  # slow under qemu's TCG
        m.wait_steps(PHASE_STEPS, timeout=timeout)
        m.set_touch(True, timeout=30)
        m.wait_steps(2 * PHASE_STEPS + 1, timeout=timeout)
        m.set_touch_percent(50, timeout=30)
        df = m.wait_steps(3 * PHASE_STEPS + 2, timeout=timeout)
        pid = m.program.pid if m.program else None
        _RUN["anon_huge"] = procfs.smaps_rollup(pid).get("AnonHugePages", 0) if pid else None
        _RUN["chart_lags"] = m.res_lags()  # the panel draws the exact Rss as a dashed line when True
    except Exception as e:
        _RUN["error"] = f"{type(e).__name__}: {e}"
        raise
    finally:
        m.close()
    _RUN["steps"] = df
    return df


def _phase(kind: str) -> pd.DataFrame:
    """The steps of one phase, split the way the lesson splits them (``d_touched``, what the program
    says it wrote in that step): 'none' (malloc only), 'all' (memset) or 'half' (memset at 50 %)."""
    ph = L._phases(_steps())
    if kind == "none":
        return ph["malloc"]
    written = ph["memset"]
    full = written["d_touched"] >= MiB
    return written[full] if kind == "all" else written[~full]


def _every(df: pd.DataFrame, col: str, want: float) -> tuple[bool, str]:
    """Does every step have ``want`` in ``col``? And the values seen, for the figures."""
    vals = sorted(set(float(x) for x in df[col]))
    return (len(df) > 0 and vals == [float(want)]), ",".join(f"{v:g}" for v in vals)


def _kib_list(df: pd.DataFrame, col: str, unit: int = KiB) -> str:
    """The distinct values of ``col`` over the steps, in ``unit`` (KiB; 1 for counts)."""
    return ",".join(f"{v / unit:g}" for v in sorted(set(float(x) for x in df[col])))


@claim("2.3-virt-step", "2.3", "VIRT grows by 1028 KiB per 1 MiB malloc (request + 24 B, whole pages)")
def virt_step() -> Outcome:
    df = _phase("none")
    want = L.mmap_size(MiB)
    ok, _ = _every(df, "d_virt", want)
    return Outcome(ok, f"ΔVIRT {_kib_list(df, 'd_virt')} KiB in each of {len(df)} steps; expected {want // KiB}",
                   {"expected": want})


@claim("2.3-malloc-one-page", "2.3",
       "malloc without memset: in every step 1 minor fault and one page of exact Rss; no huge pages")
def malloc_one_page() -> Outcome:
    df = _phase("none")
    f_ok, _ = _every(df, "d_minflt", 1)
    r_ok, _ = _every(df, "d_rss_exact", L.PAGE)
    huge = _RUN.get("anon_huge")
    return Outcome(f_ok and r_ok and not huge,
                   f"minflt {_kib_list(df, 'd_minflt', 1)} per step, exact Rss +{_kib_list(df, 'd_rss_exact')} KiB, "
                   f"statm RES +{_kib_list(df, 'd_res')} KiB over {len(df)} steps; AnonHugePages {huge}",
                   {"anon_huge": huge})


def _expected_lag(release: str) -> bool | None:
    """What the kernel's version says about statm's RES (None where only a measurement can tell):
    before 6.2 it always lags; 6.16+, 6.12.38+ and 6.6.98+ sum exactly (commit 82241a83cd15)."""
    import re

    m = re.match(r"(\d+)\.(\d+)\.(\d+)", release)
    if not m:
        return None
    v = tuple(int(x) for x in m.groups())
    if v < (6, 2, 0):
        return True
    if v >= (6, 16, 0) or (6, 12, 38) <= v < (6, 13, 0) or (6, 6, 98) <= v < (6, 7, 0):
        return False
    return None


@claim("2.3-res-lag-verdict", "2.3",
       "the lesson says whether top's RES lags, as the kernel's version predicts; quiz and text use the exact figures")
def res_lag_verdict() -> Outcome:
    import os

    steps = _steps()
    lag = L.res_lag(steps)
    _, lag_text = _quiet(L.explain_lag, steps)
    said_lag = "lagged" in lag_text
    expected = _expected_lag(os.uname().release)
    r = L.res_per_step(steps)
    option = quiz.get("2.3-malloc-res").judge(r)
    _, text = _quiet(L.explain_steps, steps, part="malloc")
    says_one_page = "exactly one page became real" in text
    # the same in Korean, and the chart: all four say the same thing the kernel's figures say
    _, lag_ko = _quiet(L.explain_lag, steps, lang="ko")
    _, text_ko = _quiet(L.explain_steps, steps, part="malloc", lang="ko")
    said_lag_ko = "늦었습니다" in lag_ko
    one_page_ko = "페이지 하나만 실제 메모리가 되었습니다" in text_ko
    chart = _RUN.get("chart_lags")
    holds = (said_lag == lag.lagging == said_lag_ko == chart and (expected is None or expected == lag.lagging)
             and option == 1 and says_one_page and one_page_ko)
    return Outcome(holds, f"statm RES {lag.statm_total / KiB:+.0f} KiB vs exact {lag.exact_total / KiB:+.0f} KiB over "
                   f"{lag.steps} steps: lesson says {'lagged' if said_lag else 'kept up'} (ko: "
                   f"{'늦었습니다' if said_lag_ko else '제때 따라왔습니다'}), chart's exact-Rss line "
                   f"{'shown' if chart else 'hidden'}; the version predicts "
                   f"{ {True: 'a lag', False: 'exact', None: 'either'}[expected]}; quiz option {option} (one page = 1)",
                   {"statm_total": lag.statm_total, "exact_total": lag.exact_total, "said_lag": said_lag,
                    "expected": expected, "quiz_option": option})


@claim("2.3-memset-step", "2.3", "memset of 1 MiB: in every step 257 minor faults and 1028 KiB of exact Rss")
def memset_step() -> Outcome:
    df = _phase("all")
    want = L.mmap_size(MiB)
    f_ok, _ = _every(df, "d_minflt", want // L.PAGE)
    r_ok, _ = _every(df, "d_rss_exact", want)
    option = quiz.get("2.3-faults-per-mib").judge(L.faults_per_step(df))
    _, text = _quiet(L.explain_steps, df, part="memset")
    return Outcome(f_ok and r_ok and option == 1 and f"{want // L.PAGE} pages of" in text,
                   f"minflt {_kib_list(df, 'd_minflt', 1)}, exact Rss +{_kib_list(df, 'd_rss_exact')} KiB, statm RES "
                   f"+{_kib_list(df, 'd_res')} KiB per step over {len(df)} steps; quiz option {option}", {})


@claim("2.3-memset-half", "2.3", "memset of 50 %: in every step 129 faults and 516 KiB of exact Rss")
def memset_half() -> Outcome:
    df = _phase("half")
    pages = MiB // 2 // L.PAGE + 1  # the data starts 16 bytes in: one more page
    f_ok, _ = _every(df, "d_minflt", pages)
    r_ok, _ = _every(df, "d_rss_exact", pages * L.PAGE)
    return Outcome(f_ok and r_ok, f"minflt {_kib_list(df, 'd_minflt', 1)}, exact Rss +{_kib_list(df, 'd_rss_exact')} "
                   f"KiB per step over {len(df)} steps (expected {pages} pages)", {})


@claim("2.3-zero-page", "2.3", "reading untouched memory faults once a page but adds no resident memory; writing adds it")
def zero_page() -> Outcome:
    mib = L.ZERO_PAGE_MIB  # the chapter's size
    df = L.zero_page_demo(mib)
    pages = mib * MiB // L.PAGE
    faults, res = df.iloc[:, 0].tolist(), [v * KiB for v in df.iloc[:, 1].tolist()]
    top_res = [v * KiB for v in df.iloc[:, 2].tolist()]  # statm: may publish older changes here
    tol = 8 * L.PAGE  # the reader's own few pages of Python objects
    q = quiz.get("2.3-zero-page")
    ok = (pages <= faults[0] <= pages + 8 and abs(res[0]) <= tol and faults[1] <= 8
          and pages <= faults[2] <= pages + 8 and abs(res[2] - mib * MiB) <= tol
          and q.judge(df.attrs["read_res"]) == 1)
    return Outcome(ok, f"{mib} MiB: read {faults[0]} faults, exact Rss {res[0] / KiB:+.0f} KiB (top's RES "
                   f"{top_res[0] / KiB:+.0f}); write {faults[2]} faults, exact Rss {res[2] / KiB:+.0f} KiB (top's RES "
                   f"{top_res[2] / KiB:+.0f}); quiz: 'stays about the same'", {"faults": faults, "res": res,
                                                                            "top_res": top_res})


@claim("2.3-commit-probe", "2.3", "an untouched reservation raises Committed_AS by its size at once; RES stays small")
def commit_probe() -> Outcome:
    n = 128 * MiB
    p = L.commit_probe(n, repeats=3)
    ok = abs(p.reservation - n) <= 0.05 * n and p.res < 4 * MiB
    return Outcome(ok, f"reservation {n // MiB} MiB: Committed_AS {p.reservation / MiB:+.1f} MiB, "
                   f"RES {p.res / KiB:.0f} KiB", {"reservation": p.reservation, "res": p.res})


@claim("2.3-mode0-boundary", "2.3", "mode 0 refuses only a single request larger than RAM + swap (to the byte)")
def mode0_boundary() -> Outcome:
    if overcommit.settings().mode != 0:
        raise Skip("vm.overcommit_memory is not 0 here")
    st = overcommit.commit_state()
    df = L.mode0_boundary()
    answers = df.iloc[:, 3].tolist()
    predicted = df.iloc[:, 4].tolist()
    largest = overcommit.predict(1, mode=0, state=st).limit_bytes
    ok = answers[0] in ("ok", "성공") and answers[1] == "ENOMEM" and answers == predicted
    return Outcome(ok, f"largest {largest:,} B = RAM + swap - {st.mem_total + st.swap_total - largest} B "
                   f"(swap {st.swap_total // MiB} MiB): {answers[0]}, +1 B: {answers[1]}",
                   {"largest": largest, "answers": answers, "swap": st.swap_total})


@claim("2.3-tib-mode0", "2.3", "malloc of 1 TiB fails with ENOMEM under mode 0 (more than RAM + swap)")
def tib_mode0() -> Outcome:
    if overcommit.settings().mode != 0:
        raise Skip("vm.overcommit_memory is not 0 here")
    st = overcommit.commit_state()
    if st.mem_total + st.swap_total >= 1 << 40:
        raise Skip("this machine has 1 TiB of RAM + swap or more")
    r = L.try_alloc(1 << 40, quiet=True)
    return Outcome(not r.ok and r.errno == "ENOMEM" and r.agrees, f"1 TiB: {r.errno or 'ok'}, predicted "
                   f"{'ok' if r.prediction.allowed else 'ENOMEM'}", {"ok": r.ok})


@claim("2.3-modes-table", "2.3", "the three modes answer as predicted (each set for milliseconds, then restored)",
       needs_root=True)
def modes_table() -> Outcome:
    if not overcommit.can_change():
        raise Skip("vm.overcommit_memory cannot be changed here")
    before = overcommit.settings()
    df = L.modes_table()
    after = overcommit.settings()
    cells = [str(v) for v in df.to_numpy().ravel()]
    differed = [c for c in cells if "differed" in c or "다름" in c]
    ok = df.attrs.get("real") and not differed and before == after
    return Outcome(bool(ok), "; ".join(f"{col}: {'/'.join(str(v) for v in df[col])}" for col in df.columns)
                   + f"; settings restored: {before == after}", {"cells": cells})


@claim("2.3-rlimit", "2.3", "under RLIMIT_AS malloc returns NULL (ENOMEM) at the predicted step; the program runs on")
def rlimit() -> Outcome:
    r = L.rlimit_demo()
    ok = (r.failed is not None and r.failed.get("errno") == "ENOMEM" and r.returncode is None
          and r.ok_steps == r.predicted_ok_steps
          and "ok=1" in r.big_alloc_lines[0][1] and "ok=0" in r.big_alloc_lines[1][1])
    return Outcome(ok, f"{r.ok_steps} steps ok (predicted {r.predicted_ok_steps}), then "
                   f"{(r.failed or {}).get('errno')}; still running: {r.returncode is None}",
                   {"ok_steps": r.ok_steps, "predicted": r.predicted_ok_steps})


@claim("2.3-machine-case", "2.3", "the lesson's machine table names this kernel's THP mode and RES counter case")
def machine_case() -> Outcome:
    from kernel_helpers import kernelcase

    df = L.machine().data
    info = df.attrs
    thp = kernelcase.thp_mode()
    # the chapter's own run: did statm trail the exact Rss?
    none = _phase("none")
    truly = abs(float(none["d_res"].sum()) - float(none["d_rss_exact"].sum())) >= L.PAGE
    cells = " | ".join(str(v) for v in df.iloc[:, 0])
    ok = info.get("thp") == thp and (thp is None or thp in cells) and info.get("res_lags") == truly
    return Outcome(ok, f"THP {thp}; probe says RES {'lags' if info.get('res_lags') else 'exact'}, "
                   f"the experiment: {'lags' if truly else 'exact'}", {"thp": thp, "probe_lags": info.get("res_lags")})


@claim("2.3-strace-mmap", "2.3",
       "strace: each 1 MiB malloc reaches the kernel as one mmap of 1 MiB + 24 B in whole pages; no call named malloc")
def strace_mmap() -> Outcome:
    import shutil

    if shutil.which("strace") is None:
        raise Skip("strace is not installed")
    r, text = _quiet(L.trace_malloc, steps=3)
    want = L.mmap_size(MiB)
    named_malloc = any(ln.startswith("malloc(") for ln in r.lines)
    ok = (not r.recorded and r.step_mmaps == [want] * 3 and not named_malloc
          and f"mmap(NULL, {want:,}" in text)
    return Outcome(ok, f"step mmaps {r.step_mmaps} (expected 3 x {want}); recorded: {r.recorded}; "
                   f"{len(r.lines)} lines traced", {"step_mmaps": r.step_mmaps})


@claim("2.3-page-tables", "2.3", "each process has its own page tables (VmPTE per process, non-zero)")
def page_tables() -> Outcome:
    df = L.page_tables()
    col = [c for c in df.columns if "VmPTE" in c][0]
    ok = len(df) >= 2 and all(not v.startswith("0 ") for v in df[col])
    return Outcome(ok, "; ".join(f"PID {pid}: {v}" for pid, v in df[col].items()), {"rows": len(df)})


@claim("2.3-book-10gb", "2.3",
       "malloc(10 GiB) under mode 0: refused on the book's 957 MiB machine by the rule; here the kernel answers as the rule says")
def book_10gb() -> Outcome:
    from kernel_helpers import overcommit

    df = L.book_10gb()
    answers = list(df.iloc[:, 3])
    mode = overcommit.settings().mode
    predicted_here = overcommit.predict(10 * GiB).allowed
    here_ok = (answers[1] != "ENOMEM") == predicted_here
    ok = answers[0] == "ENOMEM" and here_ok
    return Outcome(ok, f"book's VM: {answers[0]}; here (mode {mode}): {answers[1]}, rule says "
                   f"{'granted' if predicted_here else 'ENOMEM'}", {"answers": answers})
