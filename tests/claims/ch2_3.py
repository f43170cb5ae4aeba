"""Chapter 2.3's measured claims: malloc_test's steps, the zero page, memory commit, RLIMIT_AS.

The step claims share one run of the chapter's own experiment (``MallocExperiment``, the model
behind ``memory_panel()``): malloc only, then memset on, then memset at 50 %, as the chapter
and its exercise do. Each check then asks the lesson's functions (``step_summary``,
``res_per_step``, ``explain_steps``, the quiz judges) what they would print, and compares it
with the kernel's exact figures: minor faults and ``smaps_rollup`` Rss.
"""

from __future__ import annotations

import contextlib
import functools
import io

import pandas as pd

from kernel_helpers import overcommit, quiz
from kernel_helpers.lessons import ch2_3 as L
from kernel_helpers.safety import MiB

from . import Outcome, Skip, claim

PHASE_STEPS = 12  # per phase: fewer than 64 faults without memset, so a batching kernel shows its lag
INTERVAL_MS = 100
KiB = 1024


def _quiet(fn, *a, **kw):
    """Call a lesson function that prints; return (result, printed text)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        out = fn(*a, **kw)
    return out, buf.getvalue()


@functools.cache
def _steps() -> pd.DataFrame:
    """One run of the chapter's experiment: malloc only, memset on, memset 50 %; the step table."""
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
    finally:
        m.close()
    return df


def _phase(kind: str) -> pd.DataFrame:
    """The steps of one phase: 'none' (malloc only), 'all' (memset) or 50 (half), first ones dropped."""
    df = _steps()
    df = df[df["ok"].astype(bool) & (df["step"] > 1)]
    want = {"none": df["touch"] == "none", "all": df["touch"] == "all", "half": df["touch"] == 50}[kind]
    sel = df[want]
    # the first step after a switch can straddle it: drop it
    return sel.iloc[1:] if kind != "none" else sel


def _per_step(df: pd.DataFrame, col: str) -> float:
    return float(df[col].median())


@claim("2.3-virt-step", "2.3", "VIRT grows by 1028 KiB per 1 MiB malloc (request + 24 B, whole pages)")
def virt_step() -> Outcome:
    df = _phase("none")
    want = L.mmap_size(MiB)
    got = sorted(set(int(x) for x in df["d_virt"]))
    return Outcome(got == [want], f"ΔVIRT {', '.join(f'{g // KiB}' for g in got)} KiB/step over {len(df)} steps; "
                   f"expected {want // KiB}", {"d_virt": got, "expected": want})


@claim("2.3-malloc-one-page", "2.3", "malloc without memset: 1 minor fault and one page of exact Rss per step")
def malloc_one_page() -> Outcome:
    df = _phase("none")
    f, r = _per_step(df, "d_minflt"), _per_step(df, "d_rss_exact")
    return Outcome(f == 1 and r == L.PAGE, f"minflt {f:.0f}/step, exact Rss +{r / KiB:.0f} KiB/step "
                   f"(statm RES +{_per_step(df, 'd_res') / KiB:.0f} KiB/step)",
                   {"minflt": f, "rss_exact": r, "statm_res": _per_step(df, "d_res")})


@claim("2.3-res-lag-verdict", "2.3",
       "the lesson says whether top's RES lags; its quiz and explanation use the exact figures")
def res_lag_verdict() -> Outcome:
    steps = _steps()
    lag = L.res_lag(steps)
    df = _phase("none")
    truly = abs(float(df["d_res"].sum()) - float(df["d_rss_exact"].sum())) >= L.PAGE
    _, lag_text = _quiet(L.explain_lag, steps)
    said_lag = "lagged" in lag_text
    r = L.res_per_step(steps)
    q = quiz.get("2.3-malloc-res")
    option = q.judge(r)
    _, text = _quiet(L.explain_steps, steps, part="malloc")
    says_one_page = "exactly one page became real" in text
    holds = lag.lagging == truly and said_lag == truly and option == 1 and says_one_page
    return Outcome(holds, f"statm RES {lag.statm_total / KiB:+.0f} KiB vs exact {lag.exact_total / KiB:+.0f} KiB over "
                   f"{lag.steps} steps: {'lags' if truly else 'exact'}; lesson says "
                   f"{'lagged' if said_lag else 'kept up'}; quiz option {option} (one page = 1)",
                   {"statm_total": lag.statm_total, "exact_total": lag.exact_total, "lagging": truly,
                    "quiz_option": option})


@claim("2.3-memset-step", "2.3", "memset of 1 MiB: 257 minor faults and 1028 KiB of exact Rss per step")
def memset_step() -> Outcome:
    df = _phase("all")
    f, r = _per_step(df, "d_minflt"), _per_step(df, "d_rss_exact")
    want = L.mmap_size(MiB)
    q = quiz.get("2.3-faults-per-mib")
    option = q.judge(L.faults_per_step(_steps()))
    return Outcome(f == want // L.PAGE and r == want and option == 1,
                   f"minflt {f:.0f}/step, exact Rss +{r / KiB:.0f} KiB/step, statm RES "
                   f"+{_per_step(df, 'd_res') / KiB:.0f} KiB/step over {len(df)} steps; quiz option {option}",
                   {"minflt": f, "rss_exact": r})


@claim("2.3-memset-half", "2.3", "memset of 50 %: about 129 faults and 516 KiB of exact Rss per step")
def memset_half() -> Outcome:
    df = _phase("half")
    f, r = _per_step(df, "d_minflt"), _per_step(df, "d_rss_exact")
    data_pages = MiB // 2 // L.PAGE
    ok = data_pages <= f <= data_pages + 2 and data_pages * L.PAGE <= r <= (data_pages + 2) * L.PAGE
    return Outcome(ok, f"minflt {f:.0f}/step, exact Rss +{r / KiB:.0f} KiB/step over {len(df)} steps "
                   f"(data pages {data_pages})", {"minflt": f, "rss_exact": r})


@claim("2.3-zero-page", "2.3", "reading untouched memory faults but adds no resident memory; writing adds it")
def zero_page() -> Outcome:
    mib = 16
    df = L.zero_page_demo(mib)
    pages = mib * MiB // L.PAGE
    faults, res = df.iloc[:, 0].tolist(), [v * KiB for v in df.iloc[:, 1].tolist()]
    top_res = [v * KiB for v in df.iloc[:, 2].tolist()]  # statm: may trail by up to 64 pages a thread
    tol = 8 * L.PAGE  # the reader's own few pages of Python objects
    ok = (pages <= faults[0] <= pages + 8 and abs(res[0]) <= tol and faults[1] <= 8
          and pages <= faults[2] <= pages + 8 and abs(res[2] - mib * MiB) <= tol
          and df.attrs["read_res"] == res[0])
    return Outcome(ok, f"{mib} MiB: read {faults[0]} faults, exact Rss {res[0] / KiB:+.0f} KiB (top's RES "
                   f"{top_res[0] / KiB:+.0f}); write {faults[2]} faults, exact Rss {res[2] / KiB:+.0f} KiB (top's RES "
                   f"{top_res[2] / KiB:+.0f})", {"faults": faults, "res": res, "top_res": top_res})


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
          and abs(r.ok_steps - r.predicted_ok_steps) <= 1
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
