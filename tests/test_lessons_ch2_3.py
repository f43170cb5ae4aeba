"""Chapter 2.3's experiments measure what the chapter says, against real programs and the real kernel.

Tests that change vm.overcommit_memory or create a memory cgroup need root (skipped otherwise);
every one of them checks that the machine is left as found.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from kernel_helpers import overcommit, procfs, programs, quiz
from kernel_helpers.lessons import ch2_3 as L
from kernel_helpers.safety import GiB, MiB
from kernel_helpers.widgets.models import MallocExperiment

KiB = 1024
PAGE = procfs.PAGE_SIZE
IS_ROOT = os.geteuid() == 0
VM = Path("/proc/sys/vm")


def _vm() -> tuple[str, ...]:
    return tuple((VM / n).read_text().strip() for n in ("overcommit_memory", "overcommit_ratio", "overcommit_kbytes"))


def _children() -> list[psutil.Process]:
    return [c for c in psutil.Process().children(recursive=True) if c.status() != psutil.STATUS_ZOMBIE]


@pytest.fixture
def en(monkeypatch):
    monkeypatch.setenv("TOPLAB_LANG", "en")


@pytest.fixture
def ko(monkeypatch):
    monkeypatch.setenv("TOPLAB_LANG", "ko")


@pytest.fixture(scope="module")
def run(built) -> MallocExperiment:
    """One real malloc_test run: 6 steps without memset, then 5 with it (the model behind the panel)."""
    m = MallocExperiment(interval_ms=60, max_mib=64, lang="en")
    try:
        m.start()
        m.wait_steps(6)
        m.set_touch(True)
        m.wait_steps(len(m.step_table()) + 5)
    finally:
        m.stop()
    return m


@pytest.fixture(scope="module")
def steps(run) -> pd.DataFrame:
    return run.step_table()


# --- malloc_test: the step table ----------------------------------------------------------

def test_mmap_size_is_request_plus_header_rounded_up_to_pages():
    assert L.mmap_size(MiB, 4096) == 1028 * KiB
    assert L.mmap_size(MiB, 65536) == 1088 * KiB  # arm64 with 64 KiB pages
    assert L.mmap_size(64 * MiB, 4096) == 64 * MiB + 4 * KiB
    # glibc maps the request + 24 bytes (not 16): the boundary sits 24 bytes below a page multiple
    assert L.mmap_size(4096 - 24, 4096) == 4096 and L.mmap_size(4096 - 23, 4096) == 8192


def _lag_steps(d_res: int, d_exact: int, n: int = 8) -> pd.DataFrame:
    return pd.DataFrame({
        "step": range(1, n + 1), "ok": [True] * n, "d_virt": [1028 * KiB] * n, "d_res": [d_res] * n,
        "d_rss_exact": [d_exact] * n, "d_minflt": [1] * n, "d_touched": [0] * n, "d_committed": [1028 * KiB] * n,
    })


def test_a_frozen_statm_res_is_called_a_lag_and_the_quiz_uses_the_exact_figure(en, capsys):
    frozen = _lag_steps(0, PAGE)  # Debian 12's 6.1: statm RES frozen, smaps_rollup +1 page per step
    lag = L.res_lag(frozen)
    assert lag.lagging and lag.missed_pages == 7 and lag.statm_per_step == 0 and lag.exact_per_step == PAGE
    text = L.explain_lag(frozen)
    assert "lagged" in text and "1640 KiB" in text and "7 page(s)" in text
    assert L.res_per_step(frozen) == PAGE  # judged on the exact Rss, not on the frozen counter
    assert "exactly one page became real" in L.explain_steps(frozen, part="malloc")


def test_a_counter_that_keeps_up_is_said_to_keep_up(en):
    text = L.explain_lag(_lag_steps(PAGE, PAGE))
    assert "kept up" in text and not L.res_lag(_lag_steps(PAGE, PAGE)).lagging


def test_the_lag_verdict_speaks_korean(ko):
    text = L.explain_lag(_lag_steps(0, PAGE))
    assert "늦었습니다" in text and "1640 KiB" in text


def test_untouched_steps_grow_virt_by_the_mapping_and_res_by_one_page(steps, en):
    s = L.step_summary(steps)
    row = s.loc["malloc only"]
    assert row["VIRT per step (KiB)"] == L.mmap_size(MiB) / KiB
    assert row["Rss per step, exact (KiB)"] == PAGE / KiB
    assert row["minor faults per step"] == 1
    assert L.res_per_step(steps) == PAGE


def test_memset_steps_fault_once_per_page_plus_the_header(steps, en):
    row = L.step_summary(steps).loc["malloc + memset"]
    assert row["Rss per step, exact (KiB)"] == L.mmap_size(MiB) / KiB
    assert L.faults_per_step(steps) == MiB // PAGE + 1


def test_the_first_step_is_left_out_of_the_summary(steps, en):
    counted = L.step_summary(steps)["steps"].sum()
    assert counted == int(steps["ok"].sum()) - 1


def test_explain_steps_quotes_the_measured_numbers(steps, en):
    text = L.explain_steps(steps)
    assert f"{L.mmap_size(MiB) // KiB:,} KiB of VIRT" in text
    assert f"{MiB // PAGE + 1} minor faults" in text
    with pytest.raises(ValueError, match="part"):
        L.explain_steps(steps, part="both")


def _fake_steps(d_committed: list[int]) -> pd.DataFrame:
    n = len(d_committed)
    return pd.DataFrame({
        "step": range(1, n + 1), "ok": [True] * n, "d_virt": [1028 * KiB] * n, "d_res": [4 * KiB] * n,
        "d_minflt": [1] * n, "d_touched": [0] * n, "d_committed": d_committed,
    })


def test_explain_steps_says_when_other_processes_blur_committed_as(en):
    quiet = L.explain_steps(_fake_steps([0] + [1028 * KiB] * 5), part="malloc")
    assert "rose by 1,028 KiB per step" in quiet
    noisy = L.explain_steps(_fake_steps([0, 9 * MiB, -3 * MiB, 7 * MiB, 12 * MiB, 5 * MiB]), part="malloc")
    assert "other processes" in noisy and "rose by" not in noisy


def test_explain_steps_speaks_korean(steps, ko):
    text = L.explain_steps(steps)
    assert re.search("[\uac00-\ud7a3]", text) and "1,028 KiB" in text


def test_step_view_shows_kib_and_the_memset_state(steps, en):
    v = L.step_view(steps, rows=len(steps))
    assert list(v["memset"].unique()) == ["off", "on"]
    assert (v["ΔVIRT (KiB)"] == 1028).all()


def test_res_and_faults_need_the_right_steps():
    empty = _fake_steps([0])
    with pytest.raises(ValueError, match="malloc-only"):
        L.res_per_step(empty)
    with pytest.raises(ValueError, match="memset"):
        L.faults_per_step(empty)


# --- the book's units -----------------------------------------------------------------------

def test_book_int_overflows_at_step_2048_and_ours_does_not(run, en):
    assert L._c_int(2047 * MiB) == 2047 * MiB
    assert L._c_int(2048 * MiB) == -(2**31)
    shown = L.book_vs_ours(run)
    t = shown.data
    assert t.loc[1, "book's program prints"] == "Allocated 1048576 MB"
    # the very lines malloc_test printed (its own events, every key), in its documented format
    printed = [e for e in run.program.events if e["event"] == "step"][:3]
    assert len(printed) == 3
    for ev in printed:
        n = ev["n"]
        line = t.loc[n, "malloc_test prints"]
        assert re.fullmatch(rf"step n={n} requested={n * MiB} touched=0 ok=1 ns=0 minflt=\d+", line), line
        assert line.endswith(f" minflt={ev['minflt']}") and t.loc[n, "source"] == "measured"
        assert f">{line}<" in shown.to_html()  # shown whole in the notebook, not cut at 50 characters
    assert [int(n) for n in t.index[:3]] == [1, 2, 3]
    assert t.loc[2048, "book's program prints"] == "Allocated -2147483648 MB"
    assert "requested=2147483648" in t.loc[2048, "malloc_test prints"]
    assert t.loc[2048, "source"] == "computed" and t.loc[1, "source"] == "measured"


def test_book_vs_ours_takes_the_panel_not_its_step_table(steps, en):
    with pytest.raises(TypeError, match="takes the panel"):
        L.book_vs_ours(steps)
    from kernel_helpers.recordings import RecordedPanel

    t = L.book_vs_ours(RecordedPanel(lang="en")).data  # no /proc: the recording kept no lines
    assert list(t.index) == [2047, 2048, 2049] and set(t["source"]) == {"computed"}


def test_beyond_int_prints_the_real_line_in_bytes(built, en, capsys):
    line = L.beyond_int(3 * GiB)
    assert line == "result ok=1 bytes=3221225472 method=malloc"


# --- the zero page --------------------------------------------------------------------------

def test_reading_untouched_memory_faults_but_does_not_grow_res(built, en):
    zp = L.zero_page_demo(32)
    pages = 32 * MiB // PAGE
    faults, res = zp["minor faults"].tolist(), zp["Rss change, exact (KiB)"].tolist()
    assert "RES change, top (KiB)" in zp.columns  # top's figure beside it
    assert pages <= faults[0] < pages + 64  # one fault per page (plus a few of Python's own)
    assert res[0] < 1024  # KiB: the zero page is nobody's RES
    assert faults[1] < 16 and res[1] < 64
    assert faults[2] >= pages and res[2] >= 32 * 1024 * 0.95  # the write makes every page real
    assert zp.attrs["read_res"] == int(res[0] * KiB)


def test_the_zero_page_reader_does_not_outlive_the_demo(built):
    before = {c.pid for c in _children()}
    L.zero_page_demo(8)
    assert {c.pid for c in _children()} <= before


# --- Committed_AS ---------------------------------------------------------------------------

def test_committed_as_rises_by_the_reservation_before_anything_is_written(built, en):
    for _ in range(3):  # Committed_AS is machine-wide: retry when the machine was busy
        probe = L.commit_probe(256 * MiB, repeats=3)
        if abs(probe.reservation - 256 * MiB) <= 8 * MiB:
            break
    assert abs(probe.reservation - 256 * MiB) <= 8 * MiB, probe
    assert probe.res < 16 * MiB  # nothing was written
    assert 0 < probe.program_itself < 16 * MiB
    assert "256 MiB" in probe.explain()


def test_commit_now_recomputes_the_kernels_commit_limit(en):
    t = L.commit_now().data
    assert t.attrs["limit_matches"]
    assert {"Committed_AS", "CommitLimit", "vm.overcommit_memory"} <= set(t.index)


# --- the commit check -----------------------------------------------------------------------

def _mode0_tib_refused() -> bool:
    st = overcommit.commit_state()
    return st.settings.mode == 0 and st.mem_total + st.swap_total < L.TiB


@pytest.mark.skipif(not _mode0_tib_refused(), reason="needs mode 0 and less than 1 TiB of RAM + swap")
def test_one_tib_is_refused_under_mode_0_as_predicted(built, en):
    r = L.try_alloc(L.TiB, quiet=True)
    assert not r.ok and r.errno == "ENOMEM" and r.agrees
    assert quiz.get("2.3-tib-mode0").judge(r) == 1
    assert "ENOMEM" in str(r)


@pytest.mark.skipif(overcommit.settings().mode != 0, reason="needs vm.overcommit_memory=0")
def test_mode_0_draws_its_line_at_ram_plus_swap_to_the_byte(built, en):
    t = L.mode0_boundary()
    assert t["kernel's answer"].tolist() == ["ok", "ENOMEM"]
    assert t["predicted"].tolist() == ["ok", "ENOMEM"]
    n0, n1 = (int(x.replace(",", "")) for x in t["request (bytes)"])
    assert n1 == n0 + 1


@pytest.mark.skipif(not IS_ROOT or not overcommit.can_change(), reason="changing the mode needs root")
def test_modes_table_asks_the_kernel_under_each_mode_and_restores_it(built, en):
    before = _vm()
    t = L.modes_table(ratio=50)
    assert _vm() == before
    assert t.attrs["real"]
    small, middle, huge = t.index
    assert t.loc[small].tolist() == ["ok", "ok", "ok"]
    assert t.loc[middle].tolist() == ["ok", "ok", "ENOMEM"]
    assert t.loc[huge].tolist() == ["ENOMEM", "ok", "ENOMEM"]
    windows = t.attrs["windows_ms"]
    assert set(windows) == {"mode 1", "mode 2 (ratio 50)"} and max(windows.values()) < 2000
    assert "real answer" in L.explain_modes(t)


def test_modes_table_without_privilege_runs_only_the_current_mode(built, en, monkeypatch):
    monkeypatch.setattr(overcommit, "can_change", lambda: False)
    monkeypatch.setattr(overcommit, "temporarily", lambda *a, **k: pytest.fail("must not change the mode"))
    t = L.modes_table(ratio=50)
    cur = overcommit.settings().mode
    for col in t.columns:
        is_current = col.startswith(f"mode {cur}") and (cur != 2 or "ratio 50" in col)
        assert all(("predicted" in cell) != is_current for cell in t[col]), col
    assert not t.attrs["real"]
    assert "predicted" in L.explain_modes(t)


# --- RLIMIT_AS ------------------------------------------------------------------------------

def test_rlimit_as_makes_malloc_return_null_where_the_arithmetic_says(built, en, capsys):
    r = L.rlimit_demo(32, big=256 * MiB)
    assert r.failed is not None and r.failed["errno"] == "ENOMEM"
    assert abs(r.ok_steps - r.predicted_ok_steps) <= 1
    assert r.returncode is None  # still running when we stopped it: not killed
    assert r.vm_size_end <= 32 * MiB
    assert [line.split(" ok=")[1].split()[0] for _, line in r.big_alloc_lines] == ["1", "0"]
    assert quiz.get("2.3-rlimit").judge(r) == 0
    r.show()
    assert "ok=0 errno=ENOMEM" in capsys.readouterr().out


# --- the OOM killer in a memory cgroup ------------------------------------------------------

needs_cage = pytest.mark.skipif(not L.MemoryCage.available()[0], reason="needs root and a memory cgroup")


@needs_cage
def test_the_caged_process_is_really_oom_killed_and_the_cgroup_removed(built, en):
    r = L.oom_demo(limit_mib=64, interval_ms=10, timeout=60)
    assert r.ran and r.killed and r.returncode == -signal.SIGKILL
    assert r.outcome == "killed" and r.enomem_steps == 0
    assert r.oom_kills == 1  # the kernel's own count for the cgroup: a real OOM kill
    assert 48 * MiB <= r.touched < 64 * MiB
    assert r.sampler_exit == "killed by SIGKILL"
    assert r.cgroup_removed and not os.path.exists(r.cgroup)
    assert quiz.get("2.3-oom").judge(r) == 1
    assert not psutil.pid_exists(r.pid) or psutil.Process(r.pid).status() == psutil.STATUS_ZOMBIE


@needs_cage
def test_the_cage_is_removed_even_when_the_block_fails(built):
    with pytest.raises(RuntimeError, match="boom"):
        with L.MemoryCage(32 * MiB) as cage:
            path = cage.path
            with open(os.path.join(path, "memory.limit_in_bytes" if cage.version == 1 else "memory.max")) as f:
                assert int(f.read()) == 32 * MiB
            raise RuntimeError("boom")
    assert not os.path.exists(path)


@needs_cage
def test_stale_cages_of_dead_kernels_are_cleaned_up():
    pid = subprocess.Popen(["true"])
    pid.wait()
    base = L.MemoryCage(16 * MiB).base
    stale = os.path.join(base, f"toplab-{pid.pid}")
    os.mkdir(stale)
    try:
        assert stale in L.MemoryCage.remove_stale()
    finally:
        if os.path.exists(stale):
            os.rmdir(stale)
    assert not os.path.exists(stale)


def test_without_a_cage_the_demo_explains_instead(built, monkeypatch, capsys, en):
    monkeypatch.setattr(L.MemoryCage, "available", classmethod(lambda cls: (False, "not root")))
    r = L.oom_demo()
    assert not r.ran and r.outcome == "not run" and r.why_not == "not root"
    text = L.check_oom(quiz.get("2.3-oom"), r)
    assert "SIGKILL" in text and "137" in text
    r.show()
    assert "Not run here: not root" in capsys.readouterr().out
    assert L.oom_chart(r) is not None


def test_a_cage_needs_a_sane_limit():
    with pytest.raises(ValueError, match="8 MiB"):
        L.MemoryCage(1024)


# --- the questions --------------------------------------------------------------------------

QUESTIONS = ("2.3-malloc-res", "2.3-faults-per-mib", "2.3-zero-page", "2.3-commit", "2.3-tib-mode0",
             "2.3-rlimit", "2.3-oom")


@pytest.mark.parametrize("qid", QUESTIONS)
def test_every_question_is_registered_in_both_languages(qid):
    q = quiz.get(qid)
    assert q.text("en") and re.search("[\uac00-\ud7a3]", q.text("ko"))
    assert all(en and ko for en, ko in q.options)


def test_judges_follow_the_measurement():
    assert quiz.get("2.3-malloc-res").judge(4096) == 1
    assert quiz.get("2.3-malloc-res").judge(MiB) == 0
    assert quiz.get("2.3-malloc-res").judge(0) == 2
    faults = quiz.get("2.3-faults-per-mib")
    assert [faults.judge(x) for x in (1, 257, 1100, 10**6)] == [0, 1, 2, 3]
    assert quiz.get("2.3-zero-page").judge(4096) == 1
    assert quiz.get("2.3-zero-page").judge(64 * MiB) == 0
    assert quiz.get("2.3-commit").judge(256 * MiB) == 1
    assert quiz.get("2.3-commit").judge(100 * KiB) == 0
    oom = quiz.get("2.3-oom")
    assert oom.judge(L.OomResult(ran=True, returncode=-9)) == 1
    assert oom.judge(L.OomResult(ran=True, returncode=None, enomem_steps=3)) == 0
    assert oom.judge(L.OomResult(ran=True, returncode=None)) == 2


def test_machine_summary_lists_what_decides_the_real_runs(en):
    t = L.machine().data
    assert {"Can change the mode here", "Memory cgroup for the OOM demo"} <= set(t.index)
    assert t.attrs["page_size"] == PAGE and t.attrs["mode"] == overcommit.settings().mode


def test_nothing_is_left_running(built):
    time.sleep(0.05)
    assert not programs.running()


# --- malloc() is a library function: strace ------------------------------------------------

def _need_strace():
    import shutil

    if shutil.which("strace") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("strace must be installed in CI (.ci/run installs it)")
        pytest.skip("strace is not installed")


def test_trace_shows_one_mmap_of_request_plus_24_bytes_per_step(en, capsys):
    _need_strace()
    r = L.trace_malloc(steps=3, step_mib=2)
    out = capsys.readouterr().out
    want = L.mmap_size(2 * MiB)
    assert want == 2 * MiB + PAGE  # 2 MiB + 24 B, rounded up to whole pages
    assert not r.recorded and r.step_mmaps == [want] * 3
    assert not any(ln.startswith("malloc(") for ln in r.lines)  # no system call is named malloc
    assert f"mmap(NULL, {want:,}" in out and "3 of the 3 malloc(2 MiB) calls" in out
    assert not _children()


def test_the_recorded_trace_matches_a_live_one(en):
    _need_strace()
    live = L.trace_malloc(steps=3, quiet=True)
    if PAGE != 4096:
        pytest.skip("the recording was made with 4 KiB pages")
    step = f"mmap(NULL, {L.mmap_size(MiB)},"
    strip = lambda lines: [re.sub(r"0x[0-9a-f]+", "ADDR", ln) for ln in lines if ln.startswith(step)]  # noqa: E731
    assert strip(live.lines) == strip(L.RECORDED_TRACE["lines"]) and len(strip(live.lines)) == 3


def test_without_strace_the_recording_is_shown_and_labelled(en, monkeypatch, capsys):
    monkeypatch.setattr(programs.shutil, "which", lambda name: None)
    r = L.trace_malloc()
    out = capsys.readouterr().out
    assert r.recorded and r.step_mmaps == [L.mmap_size(MiB)] * 3
    assert out.startswith("A RECORDED trace (Debian 12") and "apt-get install strace" in out


def test_strace_refuses_bad_arguments():
    with pytest.raises(ValueError, match="steps"):
        programs.strace_malloc_test(steps=0)
    with pytest.raises(ValueError, match="step_mib"):
        programs.strace_malloc_test(steps=1, step_mib=-1)
    with pytest.raises(ValueError, match="system call names"):
        programs.strace_malloc_test(syscalls=("mmap; rm -rf /",))


def test_each_process_has_its_own_page_tables():
    df = L.page_tables(os.getpid())
    col = [c for c in df.columns if "VmPTE" in c][0]
    assert os.getpid() in df.index and 1 in df.index
    assert df[col].str.match(r"^[1-9][\d.]* (KiB|MiB)$").all(), df[col]  # a size per process, none zero


def test_malloc_10gb_fails_on_the_books_machine_and_here_the_kernel_agrees_with_the_rule(en):
    df = L.book_10gb()
    answers = list(df.iloc[:, 3])
    assert answers[0] == "ENOMEM"  # 10 GiB > 957 MiB of RAM + no swap
    assert (answers[1] != "ENOMEM") == overcommit.predict(10 * GiB).allowed
    assert not _children()
