"""Chapter 2.1's lesson module against real processes, the real top and the real kernel."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pandas as pd
import pytest

from kernel_helpers import children, procfs, quiz, realtop, top
from kernel_helpers.lessons import ch2_1, ch2_4
from kernel_helpers.safety import fmt_bytes

HAS_TOP = shutil.which("top") is not None
needs_top = pytest.mark.skipif(not HAS_TOP, reason="procps top is not installed")
HANGUL = re.compile("[\uac00-\ud7a3]")


# --- the real top, field by field (the notebook shows one such check; the others are here) ----------

@needs_top
def test_the_real_top_agrees_field_by_field_on_processes_in_every_state():
    with ch2_4.state_demos() as demos:
        quiet = {r: p for r, p in demos.pids.items() if r != "busy"}  # a busy process moves between readings
        cmp = top.compare_with_top(list(quiet.values()))
    assert list(cmp.index) == list(quiet.values())
    assert cmp[("same", "")].all(), cmp.to_string()
    want = {"sleeping": "S", "vfork": "D", "vforked": "S", "stopped": "T", "tracer": "S", "traced": "t",
            "parent": "S", "zombie": "Z", "niced": "S"}
    assert list(cmp[("S", "top")]) == [want[r] for r in quiet]


@needs_top
def test_side_by_side_agrees_for_this_process_and_kthreadd(capsys):
    table = ch2_1.side_by_side([os.getpid(), 2])
    out = capsys.readouterr().out
    assert "$ python -m kernel_helpers.top -n 1 -w 100 -p" in out and "$ top -b -n 1 -w 100 -p" in out
    assert (table["same"] == "yes").all(), table.to_string()
    assert table.loc[os.getpid(), "S"] == "S"  # read by other programs while we wait: sleeping


@needs_top
def test_the_header_matches_the_real_top_within_a_moment():
    snap = ch2_1.snapshot()
    theirs = realtop.parse_frame(ch2_1.top_output("-b -n 1"))
    h, mib = snap.header, 2**20
    by = {("Tasks", "total"): (theirs.tasks["total"], h.tasks_total),
          ("Mem", "total"): (float(theirs.mem["total"]), round(h.mem_total / mib, 1)),
          ("Mem", "free"): (float(theirs.mem["free"]), round(h.mem_free / mib, 1)),
          ("Mem", "used"): (float(theirs.mem["used"]), round(h.mem_used / mib, 1)),
          ("Mem", "buff/cache"): (float(theirs.mem["buff/cache"]), round(h.mem_buff_cache / mib, 1)),
          ("Swap", "total"): (float(theirs.swap["total"]), round(h.swap_total / mib, 1))}
    assert by[("Mem", "total")][0] == by[("Mem", "total")][1]
    assert by[("Swap", "total")][0] == by[("Swap", "total")][1]
    assert abs(by[("Tasks", "total")][0] - by[("Tasks", "total")][1]) <= 5  # top counts itself; tasks come and go
    for field in ("free", "used", "buff/cache"):
        top_v, ours = by[("Mem", field)]
        assert abs(top_v - ours) < 64, (field, top_v, ours)  # MiB, read a moment apart on a busy machine


@needs_top
def test_cpu_lines_shows_the_first_frame_covers_almost_no_time(capsys):
    ch2_1.cpu_lines(0.3, lang="en")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "$ top -b -n 2 -d 0.3 | grep Cpu"
    assert lines[1].startswith("%Cpu(s):") and "frame 1" in lines[1]
    assert lines[2].startswith("%Cpu(s):") and "frame 2" in lines[2]


def test_run_top_without_top_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setattr(realtop.shutil, "which", lambda name: None)
    ch2_1.run_top("-b -n 1")
    assert "apt-get install procps" in capsys.readouterr().out
    with pytest.raises(top.TopNotFound):
        ch2_1.top_output("-b -n 1")


@needs_top
def test_run_top_adds_batch_mode_and_one_frame_and_cuts_lines(capsys):
    ch2_1.run_top("-o %MEM", lines=9)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "$ top -o %MEM | head -9" and len(lines) == 10
    assert lines[1].startswith("top - ") and lines[7].split()[:2] == ["PID", "USER"]


# --- the header and the columns -----------------------------------------------------------------

def test_mem_sum_gap_is_free_plus_buff_cache_minus_available():
    snap = ch2_1.snapshot(0.05)
    m = ch2_1.mem_sum(snap, show=False)
    h = snap.header
    assert m.total == round(h.mem_total / 2**20, 1)
    assert abs(m.gap - (m.free + m.buff_cache - m.avail)) <= 0.2
    assert abs((m.free + m.old_used + m.buff_cache) - m.total) <= 0.2  # the pre-4.0.1 formula adds up
    assert quiz.get("2.1-mem-sum").judge(m) == (0 if abs(m.gap) <= 0.2 else 1 if m.gap > 0 else 2)


def test_the_books_screenshot_does_not_add_up_either():
    b = ch2_1.book_mem_sum()
    assert b.sum == 1121.2 and b.gap == 163.9
    assert quiz.get("2.1-mem-sum").judge(b) == 1


def test_mem_sum_prints_both_machines_in_korean(monkeypatch, capsys):
    monkeypatch.setenv("TOPLAB_LANG", "ko")
    ch2_1.mem_sum(ch2_1.snapshot(0.05))
    out = capsys.readouterr().out
    assert "이 시스템" in out and "책의 화면" in out and "1121.2 > total 957.3" in out


def test_explain_tasks_counts_every_state_and_sleeping_is_s_plus_d_plus_i(capsys):
    snap = ch2_1.snapshot(0.05)
    table = ch2_1.explain_tasks(snap, lang="en")
    counts = dict(zip(table["S"], table["tasks"], strict=True))
    h = snap.header
    assert sum(counts.values()) == h.tasks_total
    assert counts["S"] + counts["D"] + counts["I"] == h.tasks_sleeping
    assert counts["T"] + counts["t"] == h.tasks_stopped
    assert f"sleeping {h.tasks_sleeping} = S {counts['S']} + D {counts['D']} + I {counts['I']}" in capsys.readouterr().out


def test_cpu_fields_add_up_to_100_and_name_the_proc_stat_columns():
    table = ch2_1.cpu_fields(ch2_1.snapshot(0.1), lang="en")
    assert list(table["field"]) == list(top.CPU_ORDER)
    assert abs(table["%"].sum() - 100) < 1
    assert dict(zip(table["field"], table["/proc/stat column"], strict=True))["wa"] == "iowait"


def test_explain_load_reads_proc_loadavg(capsys):
    ch2_1.explain_load(ch2_1.snapshot(0.05), lang="en")
    out = capsys.readouterr().out
    assert out.startswith("/proc/loadavg: ") and f"of {os.cpu_count()} CPUs" in out
    assert re.search(r"right now: \d+ runnable of \d+ threads", out)
    assert out.count(" min: ") == 3


def test_explain_uptime_prints_korean_in_a_korean_notebook(monkeypatch, capsys):
    monkeypatch.setenv("TOPLAB_LANG", "ko")
    ch2_1.explain_uptime(ch2_1.snapshot(0.05))
    out = capsys.readouterr().out
    assert out.startswith("top - ") and HANGUL.search(out)


@needs_top
def test_columns_show_what_the_real_top_prints_for_a_stopped_process():
    with children.stopped(60) as c:
        pid = c.pid
        table = ch2_1.columns(pid, lang="en")
        _, rows = top.parse_top_batch(ch2_1.top_output(f"-b -n 1 -p {pid}"))
    ours = dict(zip(table["column"], table[f"PID {pid}"], strict=True))
    theirs = rows.iloc[0].to_dict()
    assert list(ours) == list(top.COLUMNS)
    for col in ("PID", "USER", "PR", "NI", "VIRT", "RES", "SHR", "S", "%MEM", "TIME+", "COMMAND"):
        assert ours[col] == theirs[col], col


def test_columns_of_a_gone_process_is_a_clear_error():
    p = subprocess.Popen(["true"])
    p.wait()
    with pytest.raises(procfs.ProcessGone):
        ch2_1.columns(p.pid)


def test_biggest_sorts_by_res_or_virt_and_prints_sizes_in_a_unit_that_fits():
    snap = ch2_1.snapshot(0.05)
    for by in ("RES", "VIRT"):
        big = ch2_1.biggest(snap, by, n=3)
        expected = top.sort_table(snap.table, by).head(3)
        assert list(big["PID"]) == list(expected["PID"])
        assert list(big[by]) == [fmt_bytes(v) for v in expected[by]]
        for text in big[by]:  # 1 to 1023.9 of its unit: never "1482747.8 MiB" nor "0.0 MiB"
            number = float(text.split()[0])
            assert text.endswith(" B") or 1 <= number < 1024, text
    with pytest.raises(ValueError, match="RES, VIRT or SHR"):
        ch2_1.biggest(snap, "%CPU")


def test_biggest_picks_tib_for_a_huge_virt():
    t = pd.DataFrame({"PID": [1, 2], "USER": ["a", "b"], "COMMAND": ["x", "y"], "VIRT": [1482747.8 * 2**20, 4096],
                      "RES": [2**20, 5 * 2**10], "SHR": [0, 512], "%MEM": [0.1, 0.0]})
    big = ch2_1.biggest(top.Snapshot(ch2_1.snapshot(0.05).header, t), "VIRT")
    assert list(big["VIRT"]) == ["1.4 TiB", "4 KiB"] and list(big["RES"]) == ["1 MiB", "5 KiB"]


# --- the prediction questions -------------------------------------------------------------------

def test_the_virt_res_question_compares_the_two_largest():
    snap = ch2_1.snapshot(0.05)
    q = quiz.get("2.1-virt-res")
    same = top.sort_table(snap.table, "VIRT").iloc[0]["PID"] == top.sort_table(snap.table, "RES").iloc[0]["PID"]
    assert q.judge(snap) == (0 if same else 1)
    en, ko = q.explain(snap)
    assert ("Two different processes" in en) == (not same) and HANGUL.search(ko)


def _table(virt_leader_res: int) -> top.Snapshot:
    t = pd.DataFrame({"PID": [1, 2], "USER": ["a", "b"], "COMMAND": ["big", "fat"], "VIRT": [40 << 30, 2 << 30],
                      "RES": [virt_leader_res, 300 << 20], "SHR": [0, 0], "%MEM": [0.0, 0.0]})
    return top.Snapshot(ch2_1.snapshot(0.05).header, t)


@pytest.mark.parametrize("leader_res,same", [(100 << 20, False), (500 << 20, True)])
def test_the_virt_res_verdict_and_its_prose_agree_either_way(leader_res, same):
    q = quiz.get("2.1-virt-res")
    snap = _table(leader_res)
    assert q.judge(snap) == (0 if same else 1)
    en, ko = q.explain(snap)
    verdict = q.verdict(snap, "en")
    if same:
        assert "yes, one process leads both" in verdict and "one process leads both lists" in en
        assert "Two different" not in en
    else:
        assert "no, two different processes" in verdict and en.startswith("Two different processes")
    assert "40 GiB" in en and "40 GiB" in ko


@pytest.mark.parametrize("qid", ["2.1-mem-sum", "2.1-virt-res"])
def test_every_question_speaks_both_languages(qid):
    q = quiz.get(qid)
    assert q.text("en") and HANGUL.search(q.text("ko"))
    assert all(en and ko for en, ko in q.options)


# --- the live table -----------------------------------------------------------------------------

def test_top_table_refreshes_and_stops_when_closed():
    pytest.importorskip("ipywidgets")
    live = ch2_1.top_table(sort="RES")
    try:
        assert live.refreshes >= 1 and not live.rows().empty
        assert list(live.rows()["RES"]) == sorted(live.rows()["RES"], reverse=True)
    finally:
        live.close()
    assert not live.alive


def test_explain_tasks_follows_the_top_version(capsys):
    """procps-ng 4.0.1-4.0.4 count D in sleeping; 4.0.5 and later count it apart, as d-sleep."""
    snap = ch2_1.snapshot(0.05)
    old = ch2_1.explain_tasks(snap, lang="en", version=(4, 0, 2))
    new = ch2_1.explain_tasks(snap, lang="en", version=(4, 0, 6))
    assert dict(zip(old["S"], old["counted as"], strict=True))["D"] == "sleeping"
    counted = dict(zip(new["S"], new["counted as"], strict=True))
    assert counted["D"] == "d-sleep" and counted["I"] == counted["S"] == "sleeping"
    assert "d-sleep" in capsys.readouterr().out
    assert ch2_1.tasks_bucket("D", None) == "sleeping"
