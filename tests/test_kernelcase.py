"""kernelcase: which case this kernel is in (RES counter lag, THP, cgroup version), with one lag rule."""

from __future__ import annotations

import pandas as pd

from kernel_helpers import kernelcase
from kernel_helpers.kernelcase import ResCounter, counter_lags
from kernel_helpers.lessons import ch2_3 as L

PAGE = 4096
KiB = 1024


def test_a_page_apart_is_a_lag_and_unread_or_nan_pairs_are_ignored():
    assert not counter_lags([(100 * PAGE, 100 * PAGE), (5 * PAGE, None), (float("nan"), 3.0)], PAGE)
    assert counter_lags([(100 * PAGE, 100 * PAGE), (511 * PAGE, 536 * PAGE)], PAGE)
    assert counter_lags([(600 * PAGE, 511 * PAGE)], PAGE)  # ahead counts too: older changes published late
    assert not counter_lags([(PAGE, PAGE + 4095)], PAGE)


def test_the_probe_lags_when_its_totals_part_even_if_its_changes_agree():
    # a batching kernel may publish older changes inside the probe: equal changes, unequal totals
    assert ResCounter("6.1.0", 17, 64 * KiB, 64 * KiB, gap=100 * KiB).lags
    assert not ResCounter("6.18.0", 17, 64 * KiB, 64 * KiB, gap=0).lags
    assert ResCounter("6.1.0", 17, 0, 68 * KiB).lags
    assert "100 KiB apart" in ResCounter("6.1.0", 17, 64 * KiB, 64 * KiB, gap=100 * KiB).describe()
    assert not ResCounter("6.1.0", 17, 0, None).lags  # smaps_rollup unreadable: no verdict


def test_the_lessons_step_table_uses_the_same_rule_with_the_totals_after_each_step():
    n = 6
    rows = pd.DataFrame({
        "step": range(1, n + 1), "ok": [True] * n, "d_virt": [1028 * KiB] * n, "d_res": [PAGE] * n,
        "d_rss_exact": [PAGE] * n, "d_minflt": [1] * n, "d_touched": [0] * n, "d_committed": [0] * n,
        # equal changes, but top's RES sits 25 pages behind the exact figure all along
        "res": [(511 + i) * PAGE for i in range(n)], "rss_exact": [(536 + i) * PAGE for i in range(n)],
    })
    assert L.res_lag(rows).lagging and L.res_lag(rows).gap == 25 * PAGE
    assert not L.res_lag(rows.assign(res=rows["rss_exact"])).lagging


def test_thp_and_cgroup_detection_read_the_files_given(tmp_path):
    thp = tmp_path / "enabled"
    thp.write_text("always [madvise] never\n")
    assert kernelcase.thp_mode(str(thp)) == "madvise"
    assert kernelcase.thp_mode(str(tmp_path / "absent")) is None
    (tmp_path / "cg" / "memory").mkdir(parents=True)
    (tmp_path / "cg" / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert kernelcase.cgroup_version(str(tmp_path / "cg")) == 1
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "cgroup.controllers").write_text("cpu io memory pids\n")
    assert kernelcase.cgroup_version(str(tmp_path / "v2")) == 2
    assert kernelcase.cgroup_version(str(tmp_path)) is None


def test_cpu_limit_reads_cgroup_v2_cpu_max_along_the_path(tmp_path):
    root = tmp_path / "cg"
    (root / "a" / "b").mkdir(parents=True)
    (root / "cpu.max").write_text("max 100000\n")
    (root / "a" / "cpu.max").write_text("150000 100000\n")
    (root / "a" / "b" / "cpu.max").write_text("max 100000\n")
    me = tmp_path / "cgroup"
    me.write_text("0::/a/b\n")
    assert kernelcase.cpu_limit(str(me), str(root)) == 1.5
    (root / "a" / "cpu.max").write_text("max 100000\n")
    assert kernelcase.cpu_limit(str(me), str(root)) is None


def test_cpu_limit_reads_cgroup_v1_quota_and_period(tmp_path):
    root = tmp_path / "cg"
    d = root / "cpu,cpuacct" / "docker" / "x"
    d.mkdir(parents=True)
    (d / "cpu.cfs_quota_us").write_text("50000\n")
    (d / "cpu.cfs_period_us").write_text("100000\n")
    (root / "cpu,cpuacct" / "cpu.cfs_quota_us").write_text("-1\n")
    (root / "cpu,cpuacct" / "cpu.cfs_period_us").write_text("100000\n")
    me = tmp_path / "cgroup"
    me.write_text("4:cpu,cpuacct:/docker/x\n3:memory:/docker/x\n")
    assert kernelcase.cpu_limit(str(me), str(root)) == 0.5


def test_cpu_limit_of_this_process_is_a_number_or_none():
    v = kernelcase.cpu_limit()
    assert v is None or v > 0
