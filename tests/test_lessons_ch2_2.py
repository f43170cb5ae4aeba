"""Chapter 2.2 lesson: VIRT/RES/SHR sources, shared and copy-on-write memory, libc, VIRT, hogs.

Everything runs against real processes and the real kernel; each test stops what it starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from kernel_helpers import procfs, quiz
from kernel_helpers.lessons import ch2_2
from kernel_helpers.procfs import AccessDenied
from kernel_helpers.safety import fmt_bytes

MiB = 1 << 20
PAGE = procfs.PAGE_SIZE


# --- where the numbers come from ---------------------------------------------------------

def test_res_is_the_sum_of_the_rss_parts_and_shr_its_file_and_shmem_part():
    b = ch2_2.read_breakdown()
    assert b.consistent
    assert b.res == b.vm_rss == b.rss_anon + b.rss_file + b.rss_shmem
    assert b.shr == b.rss_file + b.rss_shmem
    assert b.virt == b.vm_size and b.shr <= b.res <= b.virt
    assert len(b.statm_raw.split()) == 7


def test_breakdown_table_and_check_print_the_measured_identities(capsys):
    b = ch2_2.read_breakdown()
    table = ch2_2.breakdown_table(b)
    assert list(table["KiB"][:3]) == [b.virt // 1024, b.res // 1024, b.shr // 1024]
    assert ch2_2.check_breakdown(b) == (True, True)
    out = capsys.readouterr().out
    assert f"{b.res // 1024} KiB" in out and "✓" in out and "✗" not in out


# --- shared memory -------------------------------------------------------------------------

def test_every_child_counts_the_whole_shared_region_in_res_and_shr(built):
    run = ch2_2.run_shared(mib=16, children=2)
    assert len(run.table) == 3
    for _, row in run.table.iterrows():
        assert row.RssShmem >= 16 * MiB
        assert row.RES >= row.SHR >= row.RssShmem
        assert row.SHR == row.RssFile + row.RssShmem
        assert abs(row.PSS - 16 * MiB / 3) < 1 * MiB
    assert quiz.get("2.2-children-shr").judge(run) == 0


def test_pss_of_the_region_is_n_over_k_plus_one(built):
    sweep = ch2_2.pss_sweep(mib=8, counts=(0, 1, 3))
    for k, row in sweep.iterrows():
        assert abs(row["PSS"] - 8 / (k + 1)) < 0.6, (k, row["PSS"])
        assert abs(row["RssShmem"] - 8) < 0.2  # RES and SHR do not divide
        assert abs(row[sweep.columns[-1]] - 8) < 1.5  # the PSS sum is the region, once
    assert quiz.get("2.2-pss-split").judge(sweep) == 2  # N/4


def test_copy_on_write_pages_show_in_res_not_in_shr_and_pss_halves_them(built):
    run = ch2_2.run_shared(mib=1, children=1, private_mib=16)
    child, parent = run.child_rows.iloc[0], run.parent
    assert child.RssAnon >= 16 * MiB
    assert child.RES >= 16 * MiB
    assert child.SHR - child.RssShmem < 4 * MiB
    assert abs(child.PSS - parent.PSS) < 2 * MiB
    assert 8 * MiB <= child.PSS < 12 * MiB
    assert quiz.get("2.2-cow-shr").judge(run) == 1


def test_the_sum_of_res_overstates_and_the_sum_of_pss_does_not(built):
    for _ in range(3):  # other processes on a busy machine can move AnonPages meanwhile: retry
        run = ch2_2.run_shared(mib=32, children=2)
        if abs(run.real_delta - 32 * MiB) < 4 * MiB:
            break
    assert run.sum_res > 2.5 * 32 * MiB
    assert abs(run.sum_pss - 32 * MiB) < 2 * MiB
    assert abs(run.real_delta - 32 * MiB) < 4 * MiB, run.real_delta / MiB
    assert quiz.get("2.2-sum-res").judge(run) == 1
    assert list(ch2_2.sum_table(run).iloc[0][:2]) == [ch2_2._mib(run.sum_res), ch2_2._mib(run.sum_pss)]


def test_a_parent_that_never_touches_the_region_does_not_count_it(built):
    run = ch2_2.run_shared(mib=16, children=2, touch_parent=False)
    assert run.parent.VIRT >= 16 * MiB
    assert run.parent.RssShmem < 1 * MiB
    assert all(abs(p - 8 * MiB) < 1 * MiB for p in run.child_rows["PSS"])


@pytest.mark.parametrize("widget", [False, True])
def test_a_shared_session_measures_the_running_program_and_stops_it(built, widget, capsys):
    session = ch2_2.SharedSession(mib=8, children=1, key="test-ch2.2").start(widget=widget)
    try:
        prog = session._program()
        assert prog is not None and prog.running
        run = session.measure()
        assert len(run.table) == 2 and (run.table["RssShmem"] >= 8 * MiB).all()
    finally:
        session.stop()
    assert not prog.running
    assert run.meminfo_prestop is not None and run.meminfo_after is not None
    assert abs(run.real_delta - 8 * MiB) < 4 * MiB, run.real_delta / MiB
    assert "stopped" in capsys.readouterr().out
    with pytest.raises(ch2_2.programs.ProgramError, match="not running"):
        session.measure()
    if session.view is not None:
        session.view.close()


# --- glibc ---------------------------------------------------------------------------------

def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_libc_scan_finds_this_process():
    scan = ch2_2.libc_users()
    assert os.getpid() in [pid for pid, _ in scan.users]
    assert scan.paths and all(ch2_2.LIBC_RE.search(p) for p in scan.paths)
    assert scan.scanned >= len(scan.users) >= 1


def test_libc_scans_skip_vanished_and_unreadable_processes(monkeypatch):
    gone = _dead_pid()
    secret = os.getppid()
    real_read = procfs._read

    def read(path, pid=None):
        if pid == secret:
            raise AccessDenied(pid, path)
        return real_read(path, pid)

    monkeypatch.setattr(procfs, "_read", read)
    scan = ch2_2.libc_users([os.getpid(), gone, secret])
    assert (scan.vanished, scan.denied, scan.scanned) == (1, 1, 1)
    mem = ch2_2.libc_memory([os.getpid(), gone, secret])
    assert (mem.vanished, mem.denied) == (1, 1)
    assert list(mem.table["PID"]) == [os.getpid()]


def test_libc_pss_summed_over_processes_is_far_below_the_rss_sum():
    mem = ch2_2.libc_memory()
    mine = mem.table.set_index("PID").loc[os.getpid()]
    assert 0 < mine.Pss <= mine.Rss
    assert mem.sum_pss <= mem.sum_rss
    assert mem.file_size > 0
    if len(mem.table) >= 3:
        assert mem.sum_pss < mem.sum_rss / 2


# --- VIRT ----------------------------------------------------------------------------------

def test_classify_recognises_arena_heaps_and_thread_stacks():
    base = 0x7F0000000000  # 64 MiB aligned
    M = ch2_2.Mapping
    maps = [
        M(base, base + 0x21000, "rw-p", "", 0x21000),
        M(base + 0x21000, base + 64 * MiB, "---p", "", 0),
        M(base + 64 * MiB, base + 64 * MiB + PAGE, "---p", "", 0),  # guard page
        M(base + 64 * MiB + PAGE, base + 72 * MiB + PAGE, "rw-p", "", 8192),  # 8 MiB stack
        M(base + 80 * MiB, base + 81 * MiB, "r-xp", "/usr/lib/x86_64-linux-gnu/libc.so.6", 4096),
        M(0x1000000, 0x1100000, "rw-p", "[heap]", 4096),
        M(base + 90 * MiB, base + 91 * MiB, "rw-p", "", 0),
    ]
    labels = {(m.start, m.perms): lab for lab, m in ch2_2.classify(maps)}
    assert labels[(base, "rw-p")] == labels[(base + 0x21000, "---p")] == "arena"
    assert labels[(base + 64 * MiB, "---p")] == labels[(base + 64 * MiB + PAGE, "rw-p")] == "stack"
    assert labels[(base + 80 * MiB, "r-xp")] == "file"
    assert labels[(0x1000000, "rw-p")] == "heap"
    assert labels[(base + 90 * MiB, "rw-p")] == "anon"


def test_virt_breakdown_adds_up_to_virt_and_finds_our_threads():
    stop = threading.Event()
    started = threading.Barrier(4)

    def work():
        keep = [bytes(1000) for _ in range(100)]  # glibc malloc in this thread: it gets an arena
        started.wait()
        stop.wait()
        del keep

    threads = [threading.Thread(target=work, daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        started.wait(timeout=10)
        v = ch2_2.virt_breakdown()
    finally:
        stop.set()
        for t in threads:
            t.join()
    # the same address space seen twice (smaps, then statm): reading smaps itself allocates a little
    assert abs(v.table["VIRT"].sum() - v.virt) <= 4 * MiB
    assert v.count("stack") >= 3
    if "MALLOC_ARENA_MAX" not in os.environ:
        assert v.count("arena") >= 1
    assert v.res_of("arena") + v.res_of("stack") < v.arenas_and_stacks
    assert quiz.get("2.2-virt-kernel").judge(v) in (0, 1, 2)


def test_malloc_arena_max_1_removes_the_extra_arenas():
    default = ch2_2.arena_demo(threads=3)
    single = ch2_2.arena_demo(threads=3, arena_max=1)
    assert default["arenas"] >= 1 and single["arenas"] == 0
    assert default["threads"] == single["threads"] == 4
    assert single["VIRT"] < default["VIRT"] - 60 * MiB
    leftovers = subprocess.run(["pgrep", "-f", "threading.Barrier"], capture_output=True, text=True).stdout
    assert not leftovers.strip()


# --- hogs ----------------------------------------------------------------------------------

def test_memory_hogs_rank_by_res_and_pss_and_sum_them():
    h = ch2_2.memory_hogs()
    assert os.getpid() in set(h.readable["PID"])
    assert h.sum_pss <= h.sum_res_readable <= h.sum_res
    assert 0 < h.used < h.mem_total
    top = h.top("PSS")
    raw = h.readable.sort_values("PSS", ascending=False).head(len(top))
    assert list(top.index) == list(raw["PID"]) and list(top["PSS"]) == [fmt_bytes(x) for x in raw["PSS"]]
    assert len(h.sums()) == 4


# --- the manual ----------------------------------------------------------------------------

def test_the_man_page_entries_are_read_from_man_or_from_the_roff_source():
    if not os.path.exists("/usr/share/man/man1/top.1.gz"):
        pytest.skip("no top(1) manual page installed")
    roff = ch2_2._entries_from_roff(ch2_2.MAN_FIELDS)
    assert "subset of resident memory (RES)" in roff["SHR"]
    assert roff["SHR"].startswith("SHR -- Shared Memory Size (KiB)")
    defs = ch2_2.man_definitions()
    assert set(defs) == set(ch2_2.MAN_FIELDS)
    assert "mapped but not used" in defs["VIRT"]


def test_questions_are_registered():
    for qid in ("2.2-children-shr", "2.2-pss-split", "2.2-cow-shr", "2.2-sum-res", "2.2-virt-kernel"):
        q = quiz.get(qid)
        assert q.text("en") and q.text("ko") != q.text("en")


def test_the_lesson_imports_without_a_display():
    r = subprocess.run([sys.executable, "-c", "from kernel_helpers.lessons import ch2_2; print(ch2_2.SHARED_MIB)"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip().isdigit()
