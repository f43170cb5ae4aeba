"""kernel_helpers.realtop: one runner for procps top, one parser of what it prints.

The parser is checked on top output written here (suffixed memory cells, two frames, columns in
another order, other units), the runner against the real top, including a personal toprc that
reorders the columns and scales memory: it must change nothing.
"""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from kernel_helpers import procfs, realtop, top

TOP = shutil.which("top")
needs_top = pytest.mark.skipif(TOP is None, reason="procps top is not installed (apt-get install procps)")
KiB = 1024

FRAME = """\
top - 16:22:49 up 50 min,  0 user,  load average: 3.76, 2.22, 1.69
Tasks:   3 total,   1 running,   1 sleeping,   1 stopped,   0 zombie
%Cpu(s):  0.0 us,  0.5 sy,  0.0 ni, 99.5 id,  0.0 wa,  0.0 hi,  0.0 si,  0.0 st
MiB Mem :  24105.1 total,  20904.9 free,   1674.1 used,   1839.9 buff/cache
MiB Swap:   1024.0 total,   1000.0 free,     24.0 used.  22431.0 avail Mem

  PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND
    1 root      20   0   45396  13212   6684 S   0.0   0.1   0:10.42 init splash
  742 www-data  20   0    1.5g 300.2m  12.0k R  99.9   1.2 123:45.67 big worker
  900 someone+  rt -10    2.0t   0.5g      0 T   0.0  50.0   0:00.00 kworker/0:1-events
"""


# --- memory cells -------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, kib", [
    ("123456", 123456), ("0", 0), ("12.0k", 12), ("300.2m", round(300.2 * 1024)), ("1.5g", round(1.5 * 1024**2)),
    ("2.0t", 2 * 1024**3), ("1.0p", 1024**4), ("1.0e", 1024**5), ("1.5G", round(1.5 * 1024**2)), (" 42 ", 42),
])
def test_kib_reads_every_suffix_top_prints(cell, kib):
    assert realtop.kib(cell) == kib


def test_kib_rejects_a_cell_that_is_not_memory():
    with pytest.raises(ValueError, match="suffixes are k, m, g, t, p, e"):
        realtop.kib("1.5x")


# --- the parser ---------------------------------------------------------------------------------

def test_parse_reads_the_summary_lines_as_numbers():
    f = realtop.parse_frame(FRAME)
    assert f.uptime_line.startswith("top - 16:22:49 up 50 min")
    assert f.load_average == (3.76, 2.22, 1.69)
    assert f.tasks == {"total": 3, "running": 1, "sleeping": 1, "stopped": 1, "zombie": 0}
    assert f.cpu == {"us": 0.0, "sy": 0.5, "ni": 0.0, "id": 99.5, "wa": 0.0, "hi": 0.0, "si": 0.0, "st": 0.0}
    assert f.mem_unit == "MiB"
    assert f.mem == {"total": 24105.1, "free": 20904.9, "used": 1674.1, "buff/cache": 1839.9}
    assert f.swap == {"total": 1024.0, "free": 1000.0, "used": 24.0, "avail Mem": 22431.0}


def test_parse_reads_the_table_by_column_name_with_suffixed_cells_and_spaces_in_command():
    f = realtop.parse_frame(FRAME)
    assert f.columns == top.COLUMNS
    assert [r.pid for r in f.rows] == [1, 742, 900]
    w = f.row(742)
    assert w["USER"] == "www-data" and w["S"] == "R" and w["COMMAND"] == "big worker"
    assert (w.kib("VIRT"), w.kib("RES"), w.kib("SHR")) == (round(1.5 * 1024**2), round(300.2 * 1024), 12)
    assert w.line == "  742 www-data  20   0    1.5g 300.2m  12.0k R  99.9   1.2 123:45.67 big worker"
    k = f.row(900)
    assert (k["PR"], k["NI"], k.kib("VIRT"), k.kib("RES")) == ("rt", "-10", 2 * 1024**3, 512 * 1024)
    assert k["COMMAND"] == "kworker/0:1-events" and f.row(1)["COMMAND"] == "init splash"
    assert f.row(4242) is None
    assert list(f.table().columns) == list(top.COLUMNS) and len(f.table()) == 3


def test_columns_in_another_order_give_the_same_cells():
    # what a personal toprc can do: USER before PID, memory scaled to MiB
    lines = FRAME.splitlines()
    head = lines.index(next(ln for ln in lines if ln.split()[:1] == ["PID"]))
    moved = []
    for ln in lines[head:]:
        cells = ln.split(None, 11)
        cells[0], cells[1] = cells[1], cells[0]
        moved.append(" ".join(cells))
    f, g = realtop.parse_frame(FRAME), realtop.parse_frame("\n".join(lines[:head] + moved))
    assert g.columns[:2] == ("USER", "PID")
    for pid, row in f.by_pid().items():
        assert g.row(pid).cells == row.cells


def test_other_summary_units_are_read_and_named():
    text = FRAME.replace("MiB Mem :  24105.1", "GiB Mem :     23.5").replace("MiB Swap:   1024.0", "GiB Swap:      1.0")
    f = realtop.parse_frame(text)
    assert f.mem_unit == "GiB" and f.mem["total"] == 23.5 and f.swap["total"] == 1.0


def test_two_frames_are_two_frames_and_rows_stay_in_theirs():
    second = FRAME.replace(" 99.9   1.2", " 42.0   1.2").replace("3 total", "2 total")
    frames = realtop.parse(FRAME + "\n" + second)
    assert len(frames) == 2
    assert [len(f.rows) for f in frames] == [3, 3]
    assert frames[0].row(742)["%CPU"] == "99.9" and frames[1].row(742)["%CPU"] == "42.0"
    assert frames[1].tasks["total"] == 2
    # the compatible (summary, table) pair reads the first frame only
    summary, rows = realtop.parse_top_batch(FRAME + "\n" + second)
    assert summary["tasks"]["total"] == 3 and len(rows) == 3
    assert set(summary) == {"uptime_line", "tasks", "cpu", "mem", "swap"}


def test_top_parse_top_batch_is_realtops():
    assert top.parse_top_batch is realtop.parse_top_batch and top.TopNotFound is realtop.TopNotFound


def test_output_without_a_table_is_a_clear_error():
    with pytest.raises(ValueError, match="no column header"):
        realtop.parse_frame(FRAME.split("\n\n")[0])


# --- the command and its environment -------------------------------------------------------------

@needs_top
def test_command_adds_batch_mode_one_frame_the_width_and_the_pids():
    assert realtop.command(pids=[1, 2]) == [TOP, "-b", "-n", "1", "-w", "512", "-p", "1,2"]
    assert realtop.command(["-o", "%MEM"], width=100) == [TOP, "-b", "-o", "%MEM", "-n", "1", "-w", "100"]
    assert realtop.command(["-b", "-n", "2", "-d", "0.3"]) == [TOP, "-b", "-n", "2", "-d", "0.3", "-w", "512"]
    assert realtop.command(frames=3, delay=0.5, width=None) == [TOP, "-b", "-n", "3", "-d", "0.5"]
    with pytest.raises(ValueError, match="at most 20"):
        realtop.command(pids=range(1, 22))
    with pytest.raises(ValueError, match="empty"):
        realtop.command(pids=[])


def test_environment_hides_a_personal_toprc_and_uses_the_c_locale(tmp_path):
    env = realtop.environment(str(tmp_path))
    assert env["HOME"] == env["XDG_CONFIG_HOME"] == str(tmp_path)
    assert env["LC_ALL"] == "C" and env["PATH"] == os.environ["PATH"]


def test_without_top_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setattr(realtop.shutil, "which", lambda name: None)
    with pytest.raises(realtop.TopNotFound, match="apt-get install procps") as info:
        realtop.run(pids=[os.getpid()])
    assert isinstance(info.value, FileNotFoundError)
    assert "dnf install procps-ng" in str(info.value)
    assert realtop.version() is None


# --- the real top ---------------------------------------------------------------------------------

@needs_top
def test_run_reads_this_process_as_statm_says():
    pid = os.getpid()
    for _ in range(5):  # our own numbers may move between top's reading and ours
        before = procfs.statm(pid)
        f = realtop.parse_frame(realtop.run(pids=[pid]))
        if procfs.statm(pid) == before:
            break
    assert f.columns == top.COLUMNS and f.tasks["total"] == 1
    row = f.row(pid)
    assert (row.kib("VIRT"), row.kib("RES"), row.kib("SHR")) == tuple(v // KiB for v in before)


@needs_top
def test_a_bad_option_is_top_failed_with_its_message():
    with pytest.raises(realtop.TopFailed) as info:
        realtop.run(["-o", "NOSUCHFIELD"])
    assert info.value.returncode != 0 and info.value.argv[0] == "top" and "NOSUCHFIELD" in str(info.value)
    assert isinstance(info.value, RuntimeError)


@needs_top
def test_a_top_that_takes_too_long_is_killed_and_reaped():
    me = psutil.Process()
    before = {c.pid for c in me.children(recursive=True)}
    t0 = time.monotonic()
    with pytest.raises(realtop.TopFailed, match="timed out"):
        realtop.run(frames=3, delay=5, timeout=0.5)
    assert time.monotonic() - t0 < 4
    assert not [c for c in me.children(recursive=True) if c.pid not in before and c.name() == "top"]


@needs_top
def test_version_names_procps():
    assert re.fullmatch(r"procps(-ng)? [\d.]+", realtop.version() or "")


def _write_toprc(home: Path) -> Path | None:
    """Have the real top write its default toprc under ``home`` (the W key, in a pseudo-terminal)."""
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home), "TERM": "xterm", "LC_ALL": "C"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: top on the terminal
        try:
            os.execve(TOP, [TOP, "-d", "0.2"], env)
        finally:
            os._exit(127)
    found = None
    try:
        deadline = time.monotonic() + 10
        sent = False
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    os.read(fd, 65536)
                except OSError:
                    break
                if not sent:
                    time.sleep(0.3)
                    os.write(fd, b"W")
                    sent = True
            found = next((p for p in (home / "procps" / "toprc", home / ".toprc") if p.exists()), None)
            if found and found.stat().st_size > 100:
                time.sleep(0.2)
                break
        try:
            os.write(fd, b"q")
        except OSError:  # top has gone already
            pass
    finally:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and os.waitpid(pid, os.WNOHANG) == (0, 0):
            time.sleep(0.05)
        else:
            try:
                os.kill(pid, 9)  # our own top, by its PID
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(fd)
    return found


@needs_top
def test_a_personal_toprc_that_reorders_columns_and_scales_memory_changes_nothing(tmp_path, monkeypatch):
    rc = _write_toprc(tmp_path)
    if rc is None:
        pytest.skip("this top wrote no toprc from a pseudo-terminal")
    text = rc.read_text()
    m = re.search(r"fieldscur=\s*(\d+)\s+(\d+)", text)
    if not m or "Task_mscale=0" not in text:
        pytest.skip("this top's toprc has another format")
    # USER before PID, and memory in MiB ('43.0m') in the first window
    text = text[: m.start(1)] + m.group(2) + text[m.end(1): m.start(2)] + m.group(1) + text[m.end(2):]
    rc.write_text(text.replace("Task_mscale=0", "Task_mscale=1"))
    pid = os.getpid()
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path), "LC_ALL": "C"}
    personal = subprocess.run([TOP, "-b", "-n", "1", "-w", "512", "-p", str(pid)], env=env,
                              capture_output=True, text=True, timeout=30, check=True).stdout
    mine = realtop.parse_frame(personal)
    if mine.columns[:2] != ("USER", "PID"):
        pytest.skip("this top ignored the edited toprc")
    assert mine.row(pid)["VIRT"].endswith("m")  # the toprc took effect: MiB with a suffix
    # the parser still finds each cell by name; the scaled cell is the same size within its 0.1 MiB
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    out = realtop.run(pids=[pid])
    f = realtop.parse_frame(out)
    assert f.columns == top.COLUMNS  # the runner hid the toprc: top's default columns and units
    row = f.row(pid)
    assert re.fullmatch(r"\d+", row["VIRT"]) and re.fullmatch(r"\d+", row["RES"])
    assert abs(mine.row(pid).kib("VIRT") - row.kib("VIRT")) <= 0.05 * 1024 + 1024  # may move a little
    cmp = top.compare_with_top([pid])  # through realtop too: top's cells in top's default units
    assert cmp.loc[pid, ("VIRT", "top")] > 0 and cmp.loc[pid, ("USER", "top")] == row["USER"]


# --- one process's row, beside statm (the 2.2-top-parity claim) ----------------------------------

def test_process_row_parses_the_real_top_and_matches_statm(built):
    from kernel_helpers import procfs, programs

    with programs.big_alloc(64 << 20) as p:
        p.wait_for("holding")
        row = realtop.process_row(p.pid)
        virt, res, shr = procfs.statm(p.pid)
    assert row["PID"] == str(p.pid) and row["COMMAND"] == "big_alloc"
    assert (row["VIRT_kib"], row["RES_kib"], row["SHR_kib"]) == (virt // 1024, res // 1024, shr // 1024)
    assert row["line"].split()[0] == str(p.pid)


def test_beside_statm_agrees_while_the_program_runs(built):
    from kernel_helpers import programs

    with programs.malloc_test(interval_ms=300, max_mib=32) as p:
        recs = realtop.beside_statm(p.pid, times=3, every=0.1)
    assert len(recs) == 3 and all(r["same"] for r in recs)
    assert [r["statm"][0] for r in recs] == sorted(r["statm"][0] for r in recs)  # VIRT only grows
    assert all("malloc_test" in r["line"] for r in recs)


def test_process_row_of_a_gone_process_is_a_clear_error():
    import subprocess

    p = subprocess.Popen(["true"])
    p.wait()
    with pytest.raises(LookupError):
        realtop.process_row(p.pid)
