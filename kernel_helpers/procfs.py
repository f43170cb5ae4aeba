"""Small readers for the /proc files that top reads, one reader per file.

Every value leaves this module in bytes (sizes), clock ticks (times) or plain ints.
The /proc root is the module constant ``PROC_ROOT`` (env ``TOPLAB_PROC_ROOT``), so tests
can point it at a fake tree.  A process that vanishes or hides itself becomes one clear
exception: :class:`ProcessGone` or :class:`AccessDenied`; a machine without /proc (macOS,
Windows) gives :class:`NotOnLinux`, which says what to do instead.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from .i18n import error, josa, pick, say

PROC_ROOT: str = os.environ.get("TOPLAB_PROC_ROOT", "/proc")
IS_LINUX: bool = sys.platform.startswith("linux")
PAGE_SIZE: int = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
CLK_TCK: int = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class ProcessGone(LookupError):
    """The process exited (or never existed) while we were reading it."""

    def __init__(self, pid: int, detail: str | tuple[str, str] = ""):
        """``detail``: what showed it, an (English, Korean) pair (a plain str is shown as it is)."""
        self.pid = pid
        if isinstance(detail, tuple):
            detail = pick(*detail)
        super().__init__(say(
            ("process {pid} is gone (it exited, or the PID was never valid){detail}. "
             "Start the program again, or pick a running PID (see kernel_helpers.top.snapshot()).",
             "프로세스 {pid}이(가) 사라졌습니다(종료되었거나 처음부터 올바른 PID가 아니었습니다){detail}. "
             "프로그램을 다시 시작하거나 실행 중인 PID를 고르세요(kernel_helpers.top.snapshot() 참고)."),
            pid=pid, detail=f": {detail}" if detail else ""))


class AccessDenied(PermissionError):
    """The process exists but /proc does not let this user read that file."""

    def __init__(self, pid: int, path: str):
        self.pid = pid
        super().__init__(say(
            ("no permission to read {path} for process {pid}: it belongs to another user. "
             "Run the notebook as that user or as root, or choose one of your own processes.",
             "프로세스 {pid}의 {path}을(를) 읽을 권한이 없습니다. 다른 사용자의 프로세스입니다. "
             "노트북을 그 사용자나 root로 실행하거나, 본인의 프로세스를 고르세요."),
            pid=pid, path=path))


class NotOnLinux(FileNotFoundError):
    """This machine has no /proc (macOS, Windows): what needs it cannot run here."""

    def __init__(self, path: str = ""):
        path = path or PROC_ROOT
        where = sys.platform if not IS_LINUX else say(("nothing under {root}", "{root} 아래가 비어 있음"),
                                                      root=PROC_ROOT)
        super().__init__(say(
            ("this needs Linux: it reads {path}, and this machine has no /proc ({where}). Open the lab on "
             "Linux (a VM, WSL2 on Windows, a container, or the Binder link in the README). Here, "
             "widgets.memory_panel() and widgets.shared_view() show recordings made on Linux.",
             "리눅스가 필요합니다: 이 작업은 {path} 파일을 읽어야 하는데 이 시스템에는 /proc이 없습니다 ({where}). "
             "리눅스(VM, Windows의 WSL2, 컨테이너, README의 Binder 링크)에서 실습을 여세요. 여기서는 "
             "widgets.memory_panel()과 widgets.shared_view()가 리눅스에서 기록한 결과를 보여 줍니다."),
            path=path, where=where))


def have_proc() -> bool:
    """True on Linux with a /proc to read (at ``PROC_ROOT``): where the live experiments can run."""
    return IS_LINUX and os.path.exists(os.path.join(PROC_ROOT, "meminfo"))


def set_proc_root(path: str) -> str:
    """Point every reader at another /proc tree (tests use fake ones); returns the old root."""
    global PROC_ROOT
    old, PROC_ROOT = PROC_ROOT, path
    return old


def _path(*parts: object) -> str:
    return os.path.join(PROC_ROOT, *map(str, parts))


def _raise_for(e: OSError, path: str, pid: int | None) -> None:
    """Raise what a failed open or read of ``path`` means here: NotOnLinux (no /proc at all),
    ProcessGone (ENOENT, ESRCH: it exited), AccessDenied (EACCES, EPERM), or ``e`` itself."""
    gone = isinstance(e, (FileNotFoundError, ProcessLookupError))  # ProcessLookupError is ESRCH
    if gone and not have_proc():  # checked only when a read fails: macOS, Windows, or no procfs mounted
        raise NotOnLinux(path) from None
    if pid is not None and gone:
        raise ProcessGone(pid) from e
    if pid is not None and isinstance(e, PermissionError):
        raise AccessDenied(pid, path) from e
    raise e


def _read_raw(path: str, pid: int | None = None) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        _raise_for(e, path, pid)
        raise  # not reached: _raise_for always raises


def _read(path: str, pid: int | None = None) -> str:
    return _read_raw(path, pid).decode("utf-8", "replace")


def _kv_kib(text: str) -> dict[str, int]:
    """Parse 'Name:   123 kB' lines into bytes (values without a unit stay as they are)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        if not sep:
            continue
        fields = rest.split()
        if not fields:
            continue
        try:
            value = int(fields[0])
        except ValueError:
            continue
        if len(fields) > 1 and fields[1] == "kB":
            value *= 1024
        out[key.strip()] = value
    return out


# --- system ---------------------------------------------------------------------------

def pids() -> list[int]:
    """Every PID in /proc, sorted (kernel threads included, threads not)."""
    try:
        names = os.listdir(PROC_ROOT)
    except FileNotFoundError:
        raise NotOnLinux(PROC_ROOT) from None
    return sorted(int(n) for n in names if n.isdigit())


def meminfo() -> dict[str, int]:
    """/proc/meminfo in bytes (HugePages_* counts stay counts)."""
    return _kv_kib(_read(_path("meminfo")))


def vm_setting(name: str) -> int:
    """One integer from /proc/sys/vm/<name>, e.g. overcommit_memory."""
    return int(_read(_path("sys", "vm", name)).split()[0])


def uptime_seconds() -> float:
    return float(_read(_path("uptime")).split()[0])


def loadavg() -> tuple[float, float, float]:
    f = _read(_path("loadavg")).split()
    return float(f[0]), float(f[1]), float(f[2])


CPU_FIELDS = ("us", "ni", "sy", "id", "wa", "hi", "si", "st")


def cpu_ticks(cpus: Iterable[int] | None = None) -> dict[str, int]:
    """The aggregate 'cpu' line of /proc/stat, in ticks, under top's field names; with ``cpus``, the
    sum of those CPUs' own lines (cpu0, cpu1 ...), e.g. the ones this process may run on."""
    text = _read(_path("stat"))
    if cpus is not None:
        want = {f"cpu{int(c)}" for c in cpus}
        out = dict.fromkeys(CPU_FIELDS, 0)
        for line in text.splitlines():
            words = line.split()
            if words and words[0] in want:
                nums = [int(x) for x in words[1:9]] + [0] * (8 - len(words[1:9]))
                for k, v in zip(CPU_FIELDS, nums, strict=True):
                    out[k] += v
        return out
    for line in text.splitlines():
        if line.startswith("cpu "):
            nums = [int(x) for x in line.split()[1:]]
            nums += [0] * (8 - len(nums))
            # /proc/stat order: user nice system idle iowait irq softirq steal
            return dict(zip(CPU_FIELDS, nums[:8], strict=True))
    raise error(OSError, "no 'cpu' line in /proc/stat: this /proc is not the kernel's; open the lab on Linux",
                "/proc/stat에 'cpu' 줄이 없습니다. 커널의 /proc이 아닙니다. 리눅스에서 실습을 여세요.")


# --- /proc/PID/stat: the one parser ------------------------------------------------------
# Every reader of /proc/PID/stat (stat(), top's refresh, the samplers' ProcessReader, the
# overcommit guard) splits the line with parse_stat and converts only the fields it uses.

PF_KTHREAD = 0x00200000  # include/linux/sched.h: the task is a kernel thread


# Where parse_stat puts the fields callers use: proc(5) numbers the fields from 1, and field N
# is at index N - 2 (comm, field 2, at 0 ... starttime, field 22, at 20; fields 23 on at 21, unsplit).
COMM, STATE, PPID, FLAGS, MINFLT, MAJFLT, UTIME, STIME, PRIORITY, NICE, NUM_THREADS, STARTTIME = (
    0, 1, 2, 7, 8, 10, 12, 13, 16, 17, 18, 20)


def parse_stat(data: bytes, pid: int) -> list[bytes]:
    """Split one /proc/PID/stat line into fields 2-22 (bytes, as the kernel wrote them) and the rest.

    Index the result with COMM, STATE, MINFLT, ... and convert only what you use: top's refresh
    and a sampler's tick would otherwise pay for a dozen int() calls they throw away (a list,
    not a namedtuple, for the same reason). A line that is not a whole stat line raises
    ProcessGone. comm may hold spaces, parentheses and ') ', so it ends at the last ') ' of the
    line; that is also the line's last ')' (no later field holds one), which a one-byte rindex
    (memrchr) finds about three times faster.
    """
    try:
        rpar = data.rindex(b")")
        f = data[rpar + 2 :].split(b" ", 20)  # the kernel separates fields by one space
        f.insert(0, data[data.index(b"(") + 1 : rpar])
    except ValueError:
        raise ProcessGone(pid, ("unreadable stat line", "stat 줄을 읽을 수 없음")) from None
    if len(f) < 22:  # the kernel writes 44 fields (since 2.6.24) or 52 (since 3.5)
        raise ProcessGone(pid, ("truncated stat line", "stat 줄이 잘려 있음"))
    return f


# --- one process ----------------------------------------------------------------------

@dataclass(frozen=True)
class Stat:
    """The fields of /proc/PID/stat that top shows (see proc(5)), converted."""

    pid: int
    comm: str
    state: str
    ppid: int
    minflt: int
    majflt: int
    utime: int  # ticks
    stime: int  # ticks
    priority: int  # top's PR (may be negative for real-time tasks)
    nice: int
    num_threads: int
    starttime: int  # ticks after boot
    flags: int

    @property
    def is_kernel_thread(self) -> bool:
        return bool(self.flags & PF_KTHREAD)


def stat(pid: int) -> Stat:
    """/proc/PID/stat, parsed by :func:`parse_stat`, with every field top shows converted."""
    f = parse_stat(_read_raw(_path(pid, "stat"), pid), pid)
    return Stat(
        pid=pid,
        comm=f[COMM].decode("utf-8", "replace"),
        state=f[STATE].decode("ascii", "replace"),
        ppid=int(f[PPID]),
        flags=int(f[FLAGS]),
        minflt=int(f[MINFLT]),
        majflt=int(f[MAJFLT]),
        utime=int(f[UTIME]),
        stime=int(f[STIME]),
        priority=int(f[PRIORITY]),
        nice=int(f[NICE]),
        num_threads=int(f[NUM_THREADS]),
        starttime=int(f[STARTTIME]),
    )


def statm(pid: int) -> tuple[int, int, int]:
    """VIRT, RES, SHR in bytes: fields 1-3 of /proc/PID/statm (kernel threads give zeros)."""
    f = _read(_path(pid, "statm"), pid).split()
    if len(f) < 3:
        return 0, 0, 0
    return int(f[0]) * PAGE_SIZE, int(f[1]) * PAGE_SIZE, int(f[2]) * PAGE_SIZE


def status(pid: int) -> dict[str, int]:
    """/proc/PID/status numbers in bytes (VmRSS, RssAnon, RssFile, RssShmem, ...); Uid -> 'Uid' (real), 'EUid'."""
    text = _read(_path(pid, "status"), pid)
    out = _kv_kib(text)
    for line in text.splitlines():
        if line.startswith("Uid:"):
            ids = line.split()[1:]
            out["Uid"], out["EUid"] = int(ids[0]), int(ids[1])
    return out


def smaps_rollup(pid: int) -> dict[str, int]:
    """/proc/PID/smaps_rollup in bytes (Pss, Private_Dirty, ...); needs ptrace access (own processes or root)."""
    return _kv_kib(_read(_path(pid, "smaps_rollup"), pid))


def cmdline(pid: int) -> list[str]:
    raw = _read(_path(pid, "cmdline"), pid)
    return [a for a in raw.split("\0") if a]


HAS_SMAPS_ROLLUP: bool = IS_LINUX and os.path.exists(_path("self", "smaps_rollup"))


# --- top's hot path and header extras (for kernel_helpers.top) -------------------------
# top re-reads every process on each refresh. These readers work on bytes with os.pread and
# return plain tuples (no text wrapper, no dataclass). The two *_many readers loop over all
# PIDs in one call, skip the ones that vanish or deny access (as top does), and can keep a
# process's files open between calls, so a snapshot costs about what a refresh of top costs.

UTMP_PATH: str = "/var/run/utmp"  # glibc _PATH_UTMP; tests point it at a fake file
_UTMP_RECORD = 384  # sizeof(struct utmp) on Linux glibc (all 64-bit and 32-bit ABIs)
_UTMP_USER_PROCESS = 7
_GONE_OR_HIDDEN = (FileNotFoundError, ProcessLookupError, PermissionError, ProcessGone)
_O_PATH_DIR: int = getattr(os, "O_PATH", os.O_RDONLY) | getattr(os, "O_DIRECTORY", 0)

# One process's files kept open: (stat fd, statm fd, fd of /proc/PID opened with O_PATH).
# Every read of an open /proc file is generated afresh; fstat of the /proc/PID fd gives the
# current owner (fs/proc/base.c pid_getattr); reading a reaped task's file fails with ESRCH.
PidFiles = tuple[int, int, int]


def _read_bytes(path: str, pid: int) -> bytes:
    """One read of a small per-process file (stat, statm fit in a page), errors translated."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, ProcessLookupError) as e:
        raise ProcessGone(pid) from e
    except PermissionError as e:
        raise AccessDenied(pid, path) from e
    try:
        data = os.pread(fd, 4096, 0)
    except ProcessLookupError as e:  # ESRCH: the task was reaped after the open
        raise ProcessGone(pid) from e
    except PermissionError as e:
        raise AccessDenied(pid, path) from e
    finally:
        os.close(fd)
    if not data:
        raise ProcessGone(pid, (f"{path} was empty", f"{josa(path, '이')} 비어 있음"))
    return data


def top_stat(pid: int) -> tuple[str, str, int, int, int, int]:
    """(comm, state, PR, NI, utime+stime ticks, starttime ticks) from one read of /proc/PID/stat."""
    f = parse_stat(_read_bytes(f"{PROC_ROOT}/{pid}/stat", pid), pid)
    return (f[COMM].decode("utf-8", "replace"), f[STATE].decode("ascii", "replace"), int(f[PRIORITY]),
            int(f[NICE]), int(f[UTIME]) + int(f[STIME]), int(f[STARTTIME]))


def top_statm(pid: int) -> tuple[int, int, int]:
    """VIRT, RES, SHR in bytes from one read of /proc/PID/statm (kernel threads give zeros)."""
    f = _read_bytes(f"{PROC_ROOT}/{pid}/statm", pid).split()
    if len(f) < 3:
        return 0, 0, 0
    return int(f[0]) * PAGE_SIZE, int(f[1]) * PAGE_SIZE, int(f[2]) * PAGE_SIZE


def owner_uid(pid: int) -> int:
    """The owner of the /proc/PID directory: the task's effective UID, where top's USER comes from.

    One stat(2) instead of reading status. The kernel (fs/proc/base.c task_dump_owner) exempts
    this directory from the rule that makes files of non-dumpable tasks owned by root, because
    procps has always read the effective UID this way; kernel threads show as root.
    """
    try:
        return os.stat(f"{PROC_ROOT}/{pid}").st_uid
    except (FileNotFoundError, ProcessLookupError) as e:
        raise ProcessGone(pid) from e


def _open_pid_files(prefix: str) -> PidFiles:
    fds: list[int] = []
    try:
        for name, flags in (("/stat", os.O_RDONLY), ("/statm", os.O_RDONLY), ("", _O_PATH_DIR)):
            fds.append(os.open(prefix + name, flags))
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return fds[0], fds[1], fds[2]


def _drop(files: dict[int, PidFiles], pid: int) -> None:
    for fd in files.pop(pid, ()):
        os.close(fd)


def close_pid_files(files: dict[int, PidFiles], keep: Iterable[int] = ()) -> None:
    """Close the kept-open files of every PID in ``files`` except those in ``keep``."""
    keep = set(keep)
    for pid in [p for p in files if p not in keep]:
        _drop(files, pid)


def _stat_bytes(pid: int, prefix: str, files: dict[int, PidFiles], hold: int) -> bytes:
    """/proc/PID/stat by path, for a PID without a working kept-open file (the loops below read
    that one inline); keeps the PID's files open if there is room."""
    if pid in files:
        _drop(files, pid)  # its task was reaped: a new process may have taken the PID since
    if len(files) < hold:
        try:
            files[pid] = fs = _open_pid_files(prefix)
            return os.pread(fs[0], 4096, 0)
        except OSError as e:
            if e.errno not in (errno.EMFILE, errno.ENFILE):
                raise  # out of descriptors after all: read it the plain way instead
    fd = os.open(prefix + "/stat", os.O_RDONLY)
    try:
        return os.pread(fd, 4096, 0)
    finally:
        os.close(fd)


def top_ticks_many(pids: Iterable[int], files: dict[int, PidFiles] | None = None, hold: int = 0,
                   ) -> dict[int, tuple[int, int]]:
    """{pid: (starttime, utime+stime)} from each /proc/PID/stat: the first sample of an interval.

    ``files`` holds PIDs' files kept open between calls; PIDs not in it are read by path and
    added to it while it holds fewer than ``hold`` PIDs. PIDs that vanish or deny access are
    left out.
    """
    root, pread, read, parse = PROC_ROOT, os.pread, _stat_bytes, parse_stat
    files = {} if files is None else files
    get = files.get
    ticks: dict[int, tuple[int, int]] = {}
    for pid in pids:
        try:
            fs = get(pid)
            try:  # the kept-open file first, inline: this loop runs for every process
                data = pread(fs[0], 4096, 0) if fs is not None else b""
            except ProcessLookupError:  # ESRCH: reaped since the last pass
                data = b""
            f = parse(data or read(pid, f"{root}/{pid}", files, hold), pid)
            ticks[pid] = (int(f[STARTTIME]), int(f[UTIME]) + int(f[STIME]))
        except (*_GONE_OR_HIDDEN, ValueError):
            _drop(files, pid)
    return ticks


def top_rows_many(pids: Iterable[int], files: dict[int, PidFiles] | None = None, hold: int = 0,
                  ) -> list[tuple[int, str, str, int, int, int, int, int, int, int, int]]:
    """Per process: (pid, comm, state, PR, NI, ticks, starttime, VIRT, RES, SHR bytes, euid).

    What one refresh of top reads: /proc/PID/stat, /proc/PID/statm and the owner of /proc/PID,
    through the kept-open ``files`` where there are some (see :func:`top_ticks_many`). PIDs
    that vanish or deny access midway are left out.
    """
    root, pread, page, read, parse = PROC_ROOT, os.pread, PAGE_SIZE, _stat_bytes, parse_stat
    files = {} if files is None else files
    get = files.get
    rows = []
    append = rows.append
    for pid in pids:
        try:
            fs = get(pid)
            try:  # as in top_ticks_many
                data = pread(fs[0], 4096, 0) if fs is not None else b""
            except ProcessLookupError:
                data = b""
            if not data:
                prefix = f"{root}/{pid}"
                data = read(pid, prefix, files, hold)
                fs = get(pid)
            if fs is not None:
                m = pread(fs[1], 4096, 0).split()
                uid = os.fstat(fs[2]).st_uid
            else:  # not kept open, so read by path just above: prefix is set
                fd = os.open(prefix + "/statm", os.O_RDONLY)
                try:
                    m = pread(fd, 4096, 0).split()
                finally:
                    os.close(fd)
                uid = os.stat(prefix).st_uid
            if len(m) < 3:
                m = (0, 0, 0)
            f = parse(data, pid)
            append((pid, f[COMM].decode("utf-8", "replace"), f[STATE].decode("ascii", "replace"),
                    int(f[PRIORITY]), int(f[NICE]), int(f[UTIME]) + int(f[STIME]), int(f[STARTTIME]),
                    int(m[0]) * page, int(m[1]) * page, int(m[2]) * page, uid))
        except (*_GONE_OR_HIDDEN, ValueError):
            _drop(files, pid)
    return rows


# --- kept-open files for samplers ------------------------------------------------------
# A sampler reads the same few files of one process many times a second. Opening, decoding
# and parsing every line of them each time costs more than top does; so these files are opened
# once and re-read with pread at offset 0 (procfs generates every such read afresh), and only
# the needed keys are picked out of the bytes.

class KeptFile:
    """One /proc file opened once and re-read from the start on every :meth:`read`.

    A per-process file stays bound to the process it was opened for: once that process has been
    reaped, reads fail (ESRCH), which becomes :class:`ProcessGone`, so a new process that takes the
    PID is never read by mistake.
    """

    __slots__ = ("path", "pid", "fd")

    def __init__(self, path: str, pid: int | None = None):
        self.path, self.pid, self.fd = path, pid, -1
        try:
            self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError as e:
            _raise_for(e, path, pid)

    def read(self, size: int = 16384) -> bytes:
        """The whole file as it is now (``size`` bounds it: the files read here are a few KiB)."""
        try:
            data = os.pread(self.fd, size, 0)
        except OSError as e:  # ESRCH: reaped since the open
            if e.errno == errno.EBADF:
                raise ValueError(f"{self.path} was closed") from None  # internal
            _raise_for(e, self.path, self.pid)
        if not data and self.pid is not None:
            raise ProcessGone(self.pid, (f"{self.path} was empty", f"{josa(self.path, '이')} 비어 있음"))
        return data

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def pick_kib(data: bytes, keys: Iterable[bytes]) -> list[int | None]:
    """The values of ``keys`` in 'Name:   123 kB' lines of ``data``, in bytes (None if absent).

    Finds each key with one search instead of parsing every line: /proc/PID/status has about 60
    lines and /proc/meminfo about 55, and a sampler needs two to four of them.
    """
    out: list[int | None] = []
    for key in keys:
        tag = key + b":"
        if data.startswith(tag):
            i = 0
        else:
            i = data.find(b"\n" + tag)
            if i < 0:
                out.append(None)
                continue
            i += 1
        start = i + len(tag)
        end = data.find(b"\n", start)
        fields = data[start : end if end >= 0 else len(data)].split()
        try:
            value = int(fields[0])
        except (IndexError, ValueError):
            out.append(None)
            continue
        out.append(value * 1024 if len(fields) > 1 and fields[1] == b"kB" else value)
    return out


def pid_max() -> int:
    """/proc/sys/kernel/pid_max; top makes its PID column as wide as this number (at least 5)."""
    return int(_read(_path("sys", "kernel", "pid_max")).split()[0])


def users_count() -> int:
    """Logged-in users as uptime and top 4.0.2 count them: utmp records of type USER_PROCESS.

    No utmp file (common in containers) means 0 users, which top prints as "0 user".
    """
    try:
        with open(UTMP_PATH, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return 0
    count = 0
    for off in range(0, len(data) - _UTMP_RECORD + 1, _UTMP_RECORD):
        ut_type = int.from_bytes(data[off : off + 2], sys.byteorder, signed=True)
        if ut_type == _UTMP_USER_PROCESS and data[off + 44] != 0:  # ut_user at offset 44
            count += 1
    return count


def read_only_mount(path: str) -> bool:
    """True when ``path`` sits on a read-only mount (a container's /proc/sys or /sys/fs/cgroup):
    nobody here can write it, not even root. False where it cannot be told (no such path, no statvfs)."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False
