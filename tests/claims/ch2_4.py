"""Chapter 2.4's measured claims: the state letters of the demo processes, a zombie's zero memory,
PR = 20 + NI, nice 0 against nice 10 on one CPU, and the %CPU verdict agreeing with its figures."""

from __future__ import annotations

from kernel_helpers import children
from kernel_helpers.lessons import ch2_4 as L

from . import Outcome, claim


@claim("2.4-states", "2.4", "the demo processes show R (busy), S, D (a vfork parent), T (SIGSTOP), t (under a "
       "tracer) and Z; top counts T and t as stopped")
def states() -> Outcome:
    with L.state_demos() as demos:
        t = demos.table()
    s = dict(zip(t.index, t["S"], strict=True))
    want = {"busy": "R", "sleeping": "S", "vfork": "D", "stopped": "T", "traced": "t", "zombie": "Z"}
    for role in demos.missing:  # no ptrace or no known clone syscall number here: said in the notebook
        want.pop({"tracer": "traced"}.get(role, role))
    ok = all(s.get(k) == v for k, v in want.items()) and L._judge_stopped(t) == 2
    note = "".join(f" (no {role}: {why})" for role, why in demos.missing.items())
    return Outcome(ok, " ".join(f"{k}={s.get(k)}" for k in want) + note, {"states": s})


@claim("2.4-zombie-res", "2.4", "a zombie holds no memory: VIRT, RES and SHR are 0 while its parent holds MiBs")
def zombie_res() -> Outcome:
    with children.zombie() as z:
        demos = L.StateDemos(pids=z.pids())
        t = demos.table()
    r, p = t.loc["zombie"], t.loc["parent"]
    ok = (int(r["VIRT"]), int(r["RES"]), int(r["SHR"])) == (0, 0, 0) and int(p["RES"]) > 0
    return Outcome(ok and L._judge_zombie(t) == 0,
                   f"zombie VIRT/RES/SHR {r['VIRT']}/{r['RES']}/{r['SHR']} B, parent RES {int(p['RES']) // 1024} KiB", {})


@claim("2.4-pr-nice", "2.4", "PR = 20 + NI for every normal task; nice 10 shows PR 30")
def pr_nice() -> Outcome:
    with children.niced(10) as n:
        snap = L.snapshot(0.1)
    t = snap.table
    normal = t[t["PR"] >= 0]
    n_ok = int((normal["PR"] == 20 + normal["NI"]).sum())
    ok = n_ok == len(normal)
    row = t[t["PID"] == n.pid].iloc[0]
    return Outcome(ok and (int(row["NI"]), int(row["PR"])) == (10, 30),
                   f"PR = 20 + NI for {n_ok} of {len(normal)} normal tasks; the niced child NI {row['NI']} PR {row['PR']}", {})


@claim("2.4-nice-share", "2.4", "on one CPU, nice 0 gets about 1024/(1024+110) = 90 % of the time against nice 10")
def nice_share() -> Outcome:
    c = L.nice_contention(10, seconds=2.0, show=False)
    if not c.within:  # one retry: a neighbour's burst can take one window
        c = L.nice_contention(10, seconds=2.0, show=False)
    return Outcome(c.within and L._judge_share(c) == 2,
                   f"nice 0 {c.cpu_pct[0]:.1f} %, nice 10 {c.cpu_pct[1]:.1f} % of CPU {c.cpu}: share {c.share:.1f} % "
                   f"(predicted {c.predicted:.1f} ± {L.SHARE_TOLERANCE:.0f})",
                   {"share": c.share, "pct": list(c.cpu_pct)})


@claim("2.4-irix", "2.4", "the %CPU verdict follows the measurement: above 100 only with several threads on "
       "several CPUs, and the prose says why when it is not")
def irix() -> Outcome:
    r = L.busy_process(show=False)
    ok = L.verdicts_agree(r) and r.irix <= r.ceiling + 5 and (r.ceiling > 100 or r.irix <= 105)
    return Outcome(ok, f"{r.threads} threads on {r.cpus} CPUs: Irix {r.irix:.0f} %, Solaris {r.solaris:.0f} %, "
                   f"ceiling {r.ceiling}, idle {r.idle_cpus:.1f} CPUs; verdict option {L._judge_irix(r)}", {})
