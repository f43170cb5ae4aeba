"""Build fake /proc trees in a temporary directory, for parsing edge cases.

The files hold what the kernel writes (proc(5) layouts), so the same tree can be read by
kernel_helpers.procfs (through procfs.set_proc_root) and, in a private mount namespace, by
the real top.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from kernel_helpers import procfs

PF_KTHREAD = 0x00200000

MEMINFO_KIB = {  # a small machine: 2 GiB of RAM, 1 GiB of swap
    "MemTotal": 2097152, "MemFree": 1048576, "MemAvailable": 1572864, "Buffers": 65536,
    "Cached": 393216, "SwapCached": 0, "Active": 524288, "Inactive": 262144,
    "SwapTotal": 1048576, "SwapFree": 1040384, "Shmem": 8192, "SReclaimable": 32768,
    "SUnreclaim": 16384, "CommitLimit": 2097152, "Committed_AS": 1048576,
}


def stat_line(pid: int, comm: str, state: str = "S", *, ppid: int = 1, flags: int = 0,
              minflt: int = 0, majflt: int = 0, utime: int = 0, stime: int = 0,
              priority: int = 20, nice: int = 0, num_threads: int = 1, starttime: int = 100,
              vsize: int = 0, rss_pages: int = 0) -> str:
    """A /proc/PID/stat line with all 52 fields (fs/proc/array.c do_task_stat order)."""
    fields = [state, ppid, pid, pid, 0, -1, flags, minflt, 0, majflt, 0, utime, stime, 0, 0,
              priority, nice, num_threads, 0, starttime, vsize, rss_pages]
    fields += [0] * (52 - 2 - len(fields))
    return f"{pid} ({comm}) " + " ".join(map(str, fields)) + "\n"


def status_text(name: str, state: str = "S", *, uid: int = 0, euid: int | None = None,
                vm: dict[str, int] | None = None, omit: tuple[str, ...] = ()) -> str:
    """A /proc/PID/status file; ``vm`` adds 'VmRSS: N kB'-style lines, ``omit`` drops lines."""
    euid = uid if euid is None else euid
    lines = [f"Name:\t{name}", "Umask:\t0022", f"State:\t{state} (sleeping)", "Tgid:\t1",
             f"Uid:\t{uid}\t{euid}\t{euid}\t{euid}", f"Gid:\t{uid}\t{euid}\t{euid}\t{euid}",
             "FDSize:\t64"]
    lines += [f"{k}:\t{v:8d} kB" for k, v in (vm or {}).items()]
    lines += ["Threads:\t1", "voluntary_ctxt_switches:\t5"]
    return "".join(ln + "\n" for ln in lines if ln.split(":")[0] not in omit)


class FakeProc:
    """A fake /proc under ``root``: system files plus process directories added on demand."""

    def __init__(self, root: Path, *, meminfo: dict[str, int] | None = None,
                 cpu: tuple[int, ...] = (1000, 20, 300, 8000, 50, 0, 10, 0, 0, 0),
                 uptime: float = 4000.5, loadavg: tuple[float, float, float] = (0.5, 0.25, 0.125),
                 pid_max: int | None = 32768, ncpu: int = 2, page_size: int | None = None):
        self.root = Path(root)
        # the page size the tree's statm counts in (status and smaps_rollup say kB); default:
        # what procfs converts statm with, so the two agree on any machine
        self.page_size = procfs.PAGE_SIZE if page_size is None else page_size
        self.root.mkdir(parents=True, exist_ok=True)
        self.set_meminfo(MEMINFO_KIB if meminfo is None else meminfo)
        self.set_cpu(cpu, ncpu=ncpu)
        self.write("uptime", f"{uptime:.2f} {uptime * 1.5:.2f}\n")
        self.write("loadavg", f"{loadavg[0]:.2f} {loadavg[1]:.2f} {loadavg[2]:.2f} 1/80 4242\n")
        if pid_max is not None:
            self.write("sys/kernel/pid_max", f"{pid_max}\n")
        for name, value in (("overcommit_memory", 0), ("overcommit_ratio", 50),
                            ("overcommit_kbytes", 0)):
            self.write(f"sys/vm/{name}", f"{value}\n")

    def write(self, relpath: str, text: str) -> Path:
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def set_meminfo(self, kib: dict[str, int]) -> None:
        self.write("meminfo", "".join(f"{k + ':':<16}{v:8d} kB\n" for k, v in kib.items()))

    def set_cpu(self, ticks: tuple[int, ...], ncpu: int = 2) -> None:
        """The 'cpu' line (user nice system idle iowait irq softirq steal ...) and per-CPU lines."""
        lines = ["cpu  " + " ".join(map(str, ticks))]
        lines += [f"cpu{i} " + " ".join(str(t // ncpu) for t in ticks) for i in range(ncpu)]
        lines += ["intr 0", "ctxt 1000", "btime 1700000000", "processes 500",
                  "procs_running 1", "procs_blocked 0", "softirq 0 0 0 0 0 0 0 0 0 0 0"]
        self.write("stat", "\n".join(lines) + "\n")

    def add_process(self, pid: int, comm: str = "sleep", state: str = "S", *, uid: int = 0,
                    statm: tuple[int, ...] = (2000, 300, 200, 10, 0, 150, 0),
                    status: str | None = None, **stat_fields) -> Path:
        """A process directory with stat, statm and status; the directory is owned by ``uid``."""
        d = self.root / str(pid)
        d.mkdir(parents=True, exist_ok=True)
        (d / "stat").write_text(stat_line(pid, comm, state, **stat_fields))
        (d / "statm").write_text(" ".join(map(str, statm)) + "\n")
        kib = self.page_size // 1024
        vm = {"VmSize": statm[0] * kib, "VmRSS": statm[1] * kib, "RssAnon": max(0, statm[1] - statm[2]) * kib,
              "RssFile": statm[2] * kib, "RssShmem": 0} if any(statm) else None
        (d / "status").write_text(status if status is not None else
                                  status_text(comm, state, uid=uid, vm=vm))
        if os.geteuid() == 0:
            os.chown(d, uid, uid)
        return d

    def add_kernel_thread(self, pid: int, comm: str, state: str = "I", **stat_fields) -> Path:
        """A kernel thread: PF_KTHREAD set, statm all zeros, no Vm lines in status."""
        stat_fields.setdefault("ppid", 2)
        return self.add_process(pid, comm, state, statm=(0, 0, 0, 0, 0, 0, 0),
                                flags=PF_KTHREAD, **stat_fields)

    def remove(self, pid: int) -> None:
        """The process exits: its directory disappears."""
        shutil.rmtree(self.root / str(pid))
