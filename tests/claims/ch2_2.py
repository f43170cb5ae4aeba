"""Chapter 2.2's measured claims: top's numbers are statm's, the RSS identities, PSS and copy-on-write."""

from __future__ import annotations

import shutil
import time

from kernel_helpers import programs, realtop
from kernel_helpers.lessons import ch2_2 as L2
from kernel_helpers.safety import MiB

from . import Outcome, Skip, claim

KiB = 1024


@claim("2.2-top-parity", "2.2", "top's VIRT, RES and SHR are statm's fields x page size, to the KiB")
def top_parity() -> Outcome:
    if shutil.which("top") is None:
        raise Skip("procps top is not installed")
    with programs.malloc_test(step_mib=1, interval_ms=50, touch="all", max_mib=8) as p:
        p.wait_for("cap", timeout=60)
        recs = realtop.beside_statm(p.pid, times=2, every=0.05)
    same = [r["same"] for r in recs]
    last = recs[-1]
    return Outcome(all(same), "top {}/{}/{} KiB, statm {}/{}/{} KiB".format(*last["top"], *last["statm"]),
                   {"same": same})


@claim("2.2-identities", "2.2", "RES = RssAnon + RssFile + RssShmem and SHR = RssFile + RssShmem")
def identities() -> Outcome:
    with programs.malloc_test(step_mib=1, interval_ms=20, touch="all", max_mib=8) as p:
        p.wait_for("cap", timeout=60)
        time.sleep(0.05)
        b = L2.read_breakdown(p.pid)
    ok = b.consistent and b.res == b.res_sum and b.shr == b.shr_sum and b.virt == b.vm_size and b.res == b.vm_rss
    return Outcome(ok, f"RES {b.res // KiB} = {b.rss_anon // KiB} + {b.rss_file // KiB} + {b.rss_shmem // KiB} KiB; "
                   f"SHR {b.shr // KiB} KiB", {"res": b.res, "res_sum": b.res_sum, "shr": b.shr})


@claim("2.2-shared-pss", "2.2", "a region written by K+1 processes: each counts it whole in RES/SHR, N/(K+1) in PSS, none of it in USS")
def shared_pss() -> Outcome:
    mib, children = 16, 3
    run = L2.run_shared(mib=mib, children=children)
    n = mib * MiB
    share = n / (children + 1)
    t = run.table
    shmem_ok = bool((t["RssShmem"] >= 0.95 * n).all())
    pss_ok = bool(((t["PSS"] - share).abs() <= 0.1 * n + 2 * MiB).all())
    judge = L2._children_shr_judge(run)
    # USS: only the pages no other process maps; the region is shared, so each keeps only its own few MiB
    uss_ok = bool((t["USS"] < 0.25 * n).all())
    return Outcome(shmem_ok and pss_ok and uss_ok and judge == 0,
                   f"{mib} MiB x {children + 1} processes: RssShmem {t['RssShmem'].min() / MiB:.1f}-"
                   f"{t['RssShmem'].max() / MiB:.1f} MiB, PSS {t['PSS'].min() / MiB:.1f}-{t['PSS'].max() / MiB:.1f} MiB "
                   f"(N/(K+1) = {share / MiB:.1f}), USS {t['USS'].max() / KiB:.0f} KiB at most; quiz option {judge}",
                   {"pss": t["PSS"].tolist(), "uss": t["USS"].tolist()})


@claim("2.2-cow", "2.2", "copy-on-write pages after fork count in the child's RES, not its SHR; PSS halves them")
def cow() -> Outcome:
    mib = 16
    run = L2.run_shared(mib=1, children=1, private_mib=mib)
    c, par = run.child_rows.iloc[0], run.parent
    p = mib * MiB
    ok = (c.RssAnon >= 0.9 * p and c.SHR - c.RssShmem < 0.5 * p
          and abs(c.PSS - (c.RES - p / 2)) <= 0.15 * p and L2._cow_judge(run) == 1)
    return Outcome(ok, f"child RES {c.RES / MiB:.1f} MiB (RssAnon {c.RssAnon / MiB:.1f}), SHR {c.SHR / MiB:.1f} MiB, "
                   f"PSS {c.PSS / MiB:.1f} MiB; parent PSS {par.PSS / MiB:.1f} MiB", {})
