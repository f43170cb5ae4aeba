"""Chapter 2.4's lesson module against real demo processes and the real scheduler."""

from __future__ import annotations

import os
import re
import time

import pytest

from kernel_helpers import children, procfs, quiz
from kernel_helpers.lessons import ch2_4

HANGUL = re.compile("[\uac00-\ud7a3]")


def _exists(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")


def _toplab_children() -> list[int]:
    out = []
    for pid in procfs.pids():
        try:
            st = procfs.stat(pid)
        except (procfs.ProcessGone, procfs.AccessDenied):
            continue
        if st.comm.startswith("toplab-") and st.ppid == os.getpid():
            out.append(pid)
    return out


# --- the weight table -----------------------------------------------------------------------------

def test_the_weight_table_is_the_kernels_with_1024_at_nice_0_and_about_1_25x_a_step():
    assert len(ch2_4.SCHED_PRIO_TO_WEIGHT) == 40
    assert (ch2_4.weight(-20), ch2_4.weight(0), ch2_4.weight(10), ch2_4.weight(19)) == (88761, 1024, 110, 15)
    ratios = [a / b for a, b in zip(ch2_4.SCHED_PRIO_TO_WEIGHT, ch2_4.SCHED_PRIO_TO_WEIGHT[1:], strict=False)]
    assert all(1.15 < r < 1.35 for r in ratios), ratios
    assert round(ch2_4.predicted_share(0, 10), 1) == 90.3
    with pytest.raises(ValueError, match="-20 and 19"):
        ch2_4.weight(20)


# --- the states -----------------------------------------------------------------------------------

def test_the_demo_processes_are_in_the_states_their_roles_name():
    with ch2_4.state_demos() as demos:
        time.sleep(0.2)
        t = demos.table()
        pids = dict(demos.pids)
    states = dict(zip(t.index, t["S"], strict=True))
    assert states["busy"] in "R"  # its main thread hashes: running
    assert states["sleeping"] == "S" and states["stopped"] == "T" and states["zombie"] == "Z"
    if "tracer" not in demos.missing:
        assert states["traced"] == "t" and states["tracer"] in "SR"
    if "vfork" not in demos.missing:
        assert states["vfork"] == "D" and states["vforked"] in "SR"
    assert set(demos.missing) <= {"tracer", "vfork"}
    assert (t.loc["zombie", "VIRT"], t.loc["zombie", "RES"], t.loc["zombie", "SHR"]) == (0, 0, 0)
    assert (t.loc["niced", "NI"], t.loc["niced", "PR"]) == (10, 30)
    deadline = time.monotonic() + 5
    while any(_exists(p) for p in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [role for role, p in pids.items() if _exists(p)], pids
    assert _toplab_children() == []


def test_the_state_questions_are_judged_from_the_demo_table():
    with ch2_4.state_demos() as demos:
        t = demos.table()
    assert quiz.get("2.4-stopped").judge(t) == 2
    assert quiz.get("2.4-zombie-res").judge(t) == 0
    assert quiz.get("2.4-nice-pr").judge(t) == 2
    en, ko = quiz.get("2.4-zombie-res").explain(t)
    assert "RES 0 B" in en and "RES는 0 B" in ko


def test_system_states_counts_every_letter_and_names_examples_that_exist(capsys):
    snap = ch2_4.snapshot(0.05)
    table = ch2_4.system_states(snap, lang="en")
    counts = dict(zip(table["S"], table["tasks"], strict=True))
    assert list(counts) == list("RSDTtZI")
    assert sum(counts.values()) == snap.header.tasks_total
    for letter, example in zip(table["S"], table["example (PID COMMAND)"], strict=True):
        if example != "-":
            assert int(example.split()[0]) in set(snap.table["PID"][snap.table["S"] == letter])
    out = capsys.readouterr().out
    assert ("No task is in D right now" in out) == (counts["D"] == 0)
    assert ("idle kernel thread(s) (I)" in out) == (counts["I"] > 0)


def test_system_states_tasks_line_column_follows_the_top_version():
    snap = ch2_4.snapshot(0.05)
    old = ch2_4.system_states(snap, lang="ko", show=False, version=(4, 0, 2))
    new = ch2_4.system_states(snap, lang="ko", show=False, version=(4, 0, 6))
    assert dict(zip(old["S"], old["Tasks 줄 항목"], strict=True))["D"] == "sleeping"
    assert dict(zip(new["S"], new["Tasks 줄 항목"], strict=True))["D"] == "d-sleep"
    assert "(R)" not in " ".join(new["뜻"]) and "예시(PID COMMAND)" in new.columns


def test_priority_check_finds_pr_equal_20_plus_ni_for_every_normal_task(capsys):
    snap = ch2_4.snapshot(0.05)
    ch2_4.priority_check(snap, lang="en")
    normal = snap.table[snap.table["PR"] >= 0]
    assert f"{len(normal)} of {len(normal)} have PR = 20 + NI" in capsys.readouterr().out


# --- nice under contention ------------------------------------------------------------------------

def test_nice_0_gets_the_weight_tables_share_against_nice_10_on_one_cpu():
    """1024 / (1024 + 110) = 90.3 %, measured within SHARE_TOLERANCE points (other load on the CPU
    slows both, not their ratio); two tries, since a test run next door can disturb one window."""
    tries = []
    for _ in range(2):
        c = ch2_4.nice_contention(10, seconds=2.0, show=False)
        tries.append(round(c.share, 1))
        if c.within:
            break
    assert c.within, f"nice 0's share {tries} %, predicted {c.predicted:.1f} ± {ch2_4.SHARE_TOLERANCE}"
    assert quiz.get("2.4-nice-share").judge(c) == 2
    assert _toplab_children() == []


# --- %CPU above 100 -------------------------------------------------------------------------------

def test_one_busy_thread_stays_at_or_below_100_and_the_verdict_says_so():
    r = ch2_4.busy_process(threads=1, show=False)
    assert 0 < r.irix <= 105 and r.ceiling == 100
    assert quiz.get("2.4-irix").judge(r) == (1 if r.irix > 100 else 0)
    assert ch2_4.verdicts_agree(r)
    assert not _exists(r.pid) or procfs.stat(r.pid).state == "Z"


@pytest.mark.parametrize("irix,idle,cpus,threads,limit", [
    (184.6, 0.1, 2, 2, None), (89.6, 0.2, 2, 2, None), (99.0, 0.0, 1, 1, None), (350.0, 0.5, 8, 4, None),
    (100.4, 0.0, 4, 4, None), (99.5, 1.0, 2, 2, 1.0), (99.5, 1.0, 2, 2, None), (60.0, 1.2, 2, 2, 0.5)])
def test_the_irix_verdict_and_its_prose_follow_the_measurement(irix, idle, cpus, threads, limit):
    r = ch2_4.BusyResult(1, threads, cpus, irix, idle, "R", limit)
    q = quiz.get("2.4-irix")
    en, ko = q.explain(r)
    assert q.judge(r) == (1 if irix > 100 else 0)
    assert ch2_4.verdicts_agree(r)
    assert (" faster than the clock" in en) == (irix > 100)
    capped = irix <= 100 and threads > 1 and cpus > 1 and idle >= 0.5
    assert ("has a CPU limit of" in en) == (capped and limit is not None)  # named only where one exists
    assert ("has no CPU limit" in en) == (capped and limit is None)
    assert f"{irix:.0f} %" in en and HANGUL.search(ko)
    assert f"{irix / cpus:.0f} % in Solaris mode" in en


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to pass 100%")
def test_two_busy_threads_show_what_the_idle_cpus_allow():
    r = ch2_4.busy_process(threads=2, show=False)
    # the threads get at most what was free plus their own use: never more than the ceiling
    assert 0 < r.irix <= r.ceiling + 5
    assert ch2_4.verdicts_agree(r)
    # at or below 100 only when its CPUs were busy with other work or a CPU limit holds it
    assert r.irix > 100 or r.idle_cpus < 1.0 or (r.cpu_limit is not None and r.cpu_limit <= 1.05), r


def test_a_verdict_that_names_the_wrong_reason_is_caught():
    r = ch2_4.BusyResult(1, 2, 2, 99.5, 1.0, "R", None)
    assert ch2_4.verdicts_agree(r)
    wrong = ch2_4.BusyResult(1, 2, 2, 99.5, 1.0, "R", None)
    orig = ch2_4._explain_irix
    try:  # a verdict that blames a CPU limit no cgroup has must not pass
        ch2_4._explain_irix = lambda x: (orig(x)[0].replace("has no CPU limit", "has a CPU limit of 1"), orig(x)[1])
        assert not ch2_4.verdicts_agree(wrong)
    finally:
        ch2_4._explain_irix = orig


@pytest.mark.parametrize("qid", ["2.4-stopped", "2.4-zombie-res", "2.4-nice-pr", "2.4-nice-share", "2.4-irix"])
def test_every_question_speaks_both_languages(qid):
    q = quiz.get(qid)
    assert q.text("en") and HANGUL.search(q.text("ko"))
    assert all(en and ko for en, ko in q.options)


def test_nothing_is_left_running():
    assert children.running() == [] and _toplab_children() == []
