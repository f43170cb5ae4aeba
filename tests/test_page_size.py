"""No reader assumes 4 KiB pages: statm and the commit arithmetic on 16 KiB and 64 KiB machines.

arm64 kernels run with 4, 16 or 64 KiB pages (Apple silicon Linux 16 KiB, RHEL/Ampere 64 KiB,
ppc64le 64 KiB).  /proc/PID/statm counts pages, /proc/PID/status and smaps_rollup count kB, and
the kernel's commit check counts pages.  Each test builds a fake /proc whose statm is in pages of
that size (tests/fakeproc.py) and sets ``procfs.PAGE_SIZE``, the one value every reader converts
with, as ``os.sysconf("SC_PAGE_SIZE")`` would give it on such a machine.
"""

from __future__ import annotations

import pytest
from fakeproc import MEMINFO_KIB, FakeProc

from kernel_helpers import metrics, overcommit, procfs, top
from kernel_helpers.lessons import ch2_2, ch2_3
from kernel_helpers.safety import GiB, MiB

KiB = 1024
STATM = (5000, 700, 300, 20, 0, 400, 0)  # size resident shared text lib data dt, in pages


@pytest.fixture(params=[16 * KiB, 64 * KiB], ids=["16k", "64k"])
def machine(request, tmp_path, monkeypatch):
    """A fake /proc with pages of 16 or 64 KiB, read by every reader for one test."""
    page = request.param
    meminfo = dict(MEMINFO_KIB, MemTotal=2 * 1024 * 1024 + page // KiB)  # 2 GiB and one page
    fp = FakeProc(tmp_path / "proc", meminfo=meminfo, page_size=page)
    monkeypatch.setattr(procfs, "PAGE_SIZE", page)
    old = procfs.set_proc_root(str(fp.root))
    yield fp
    procfs.set_proc_root(old)
    top.release_files()


def _process(fp: FakeProc, pid: int = 77) -> int:
    fp.add_process(pid, "malloc_test", statm=STATM)
    page_kib = fp.page_size // KiB
    (fp.root / str(pid) / "smaps_rollup").write_text(
        f"Rss:      {700 * page_kib} kB\nPss:      {600 * page_kib} kB\n"
        f"Private_Clean:  {10 * page_kib} kB\nPrivate_Dirty:  {390 * page_kib} kB\n")
    return pid


def test_statm_readers_multiply_by_the_page_size(machine):
    pid, page = _process(machine), machine.page_size
    want = (5000 * page, 700 * page, 300 * page)
    assert procfs.statm(pid) == procfs.top_statm(pid) == want
    [row] = procfs.top_rows_many([pid])
    assert row[7:10] == want
    assert page != 4096 and want != (5000 * 4096, 700 * 4096, 300 * 4096)


def test_process_sample_and_reader_agree_with_the_kb_files(machine):
    pid, page = _process(machine), machine.page_size
    s = metrics.process_sample(pid, full=True)
    assert (s.virt, s.res, s.shr) == (5000 * page, 700 * page, 300 * page)
    assert s.res == s.rss_anon + s.rss_file + s.rss_shmem  # status says kB: same bytes
    assert (s.pss, s.uss) == (600 * page, 400 * page)
    with metrics.ProcessReader(pid, full=True) as r:
        got = r.read()
    assert {k: got[k] for k in ("virt", "res", "shr", "pss", "uss")} == \
        {"virt": s.virt, "res": s.res, "shr": s.shr, "pss": s.pss, "uss": s.uss}


def test_chapter_2_2_breakdown_adds_up(machine):
    pid, page = _process(machine), machine.page_size
    b = ch2_2.read_breakdown(pid)
    assert (b.virt, b.res, b.shr) == (5000 * page, 700 * page, 300 * page)
    assert b.res == b.vm_rss == b.res_sum and b.shr == b.shr_sum and b.virt == b.vm_size


def test_top_snapshot_shows_kib_from_pages_of_this_size(machine):
    pid, page = _process(machine), machine.page_size
    table = top.snapshot(0.001, [pid]).table.set_index("PID")
    assert tuple(table.loc[pid, ["VIRT", "RES", "SHR"]]) == (5000 * page, 700 * page, 300 * page)
    text = top.snapshot(0.001, [pid]).to_text(summary=False, width=200)
    kib = page // KiB
    row = next(ln for ln in text.splitlines() if ln.strip().startswith(str(pid)))
    assert f"{700 * kib:6d} {300 * kib:6d}" in row or f"{700 * kib / 1024:.1f}m" in row


def test_a_1_mib_malloc_maps_whole_pages_of_this_size(machine):
    page = machine.page_size
    pages = -(-(MiB + 24) // page)  # request + 24 bytes of chunk overhead, rounded up
    assert ch2_3.mmap_size(MiB) == pages * page == MiB + page
    assert ch2_3.mmap_size(MiB, page=4096) == 1028 * KiB  # the book's machine, given explicitly
    p = overcommit.predict(MiB, mode=0, method="malloc")
    assert p.pages == pages and p.allowed
    assert overcommit.predict(MiB, mode=0, method="mmap").pages == MiB // page


def test_commit_figures_count_in_pages_of_this_size(machine):
    page = machine.page_size
    st = overcommit.commit_state()
    assert st.page_size == page
    total = MEMINFO_KIB["MemTotal"] * KiB + page  # the fixture's 2 GiB and one page
    swap = MEMINFO_KIB["SwapTotal"] * KiB
    # the kernel's CommitLimit: whole pages of RAM x ratio / 100 (the half page rounds down) + swap
    assert st.vm_commit_limit(ratio=50) == (total // page) * 50 // 100 * page + swap == GiB + swap
    assert overcommit.CommitState(st.settings, total, swap, 0, 0, 0, 0, 0, page_size=4096) \
        .vm_commit_limit(ratio=50) == GiB + page // 2 + swap  # a 4 KiB assumption keeps the half page
    # mode 0: a single request up to RAM + swap in whole pages, less malloc's 24 bytes
    p0 = overcommit.predict(1, mode=0)
    assert p0.limit_bytes == (total + swap) // page * page - 24
    assert overcommit.predict(p0.limit_bytes, mode=0).allowed
    assert not overcommit.predict(p0.limit_bytes + 1, mode=0).allowed
    # mode 2: the largest request is a whole number of pages of this size, less the 24 bytes
    p2 = overcommit.predict(1, mode=2, ratio=50, total_vm=0, startup_commit=0, cap_sys_admin=True)
    assert p2.commit_limit == GiB + swap
    assert p2.limit_bytes is not None and (p2.limit_bytes + 24) % page == 0
    assert overcommit.counter_slack(st) % page == 0
