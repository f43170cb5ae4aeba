"""vm.overcommit_memory: read it, predict what the kernel will refuse, and change it safely.

``predict()`` redoes the kernel's arithmetic (mm/util.c ``__vm_enough_memory`` and
``vm_commit_limit``, kernel 5.2 and later) on this machine's figures, in pages as the kernel
does.  ``temporarily()`` changes the mode for one ``with`` block and leaves a guard process
(``kernel_helpers._overcommit_guard``) that puts the old settings back even if the Jupyter
kernel is killed with SIGKILL.  Readers without root get ``rlimit_as_preexec()``: RLIMIT_AS
(``ulimit -v``), the per-process limit under which malloc returns NULL with ENOMEM.

The settings are machine-wide, so changes are exclusive across processes: ``temporarily()``
holds an ``flock`` on a lock file (``lock_paths()``) for its whole block, shares it with its
guard, and records the original settings in a state file next to it before changing anything.
Another process waits for the lock (``WAIT_SECONDS``), then gets ``OvercommitBusyError``
naming the holder.  Whoever takes the lock after a holder and its guard both died puts the
recorded original back first (``repair_stale()``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import platform
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import procfs, validate
from .i18n import check_lang, error, josa, say, warn
from .safety import MiB, fmt_bytes

try:  # Unix only; the package must still import elsewhere
    import resource
except ImportError:  # pragma: no cover
    resource = None  # type: ignore[assignment]
try:  # Unix only, like resource
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

KiB = 1024

__all__ = [
    "MODE_NAMES", "Settings", "CommitState", "Prediction", "OvercommitPermissionError",
    "OvercommitBusyError", "Temporary", "settings", "commit_state", "predict",
    "can_change", "change_method", "set_mode", "restore", "temporarily", "rlimit_as_preexec",
    "counter_slack", "resync_committed", "repair_stale", "lock_paths", "SMALL_PROCESS_VM",
    "SMALL_PROCESS_COMMIT", "GUARD_MAX_SECONDS", "WAIT_SECONDS", "LOCK_DIR_ENV",
]

MODE_NAMES = {
    0: ("heuristic: refuse only a single request larger than RAM + swap",
        "휴리스틱: RAM + 스왑보다 큰 단일 요청만 거절"),
    1: ("always: never refuse", "항상 허용: 절대 거절하지 않음"),
    2: ("never overcommit: refuse once Committed_AS would reach CommitLimit",
        "오버커밋 금지: Committed_AS가 CommitLimit에 닿으면 거절"),
}
SMALL_PROCESS_VM = 2560 * KiB  # total_vm of a small C program such as big_alloc (VmSize ~2.4 MiB)
# What such a program commits while it starts (stack, heap, writable data: 95 pages measured
# for big_alloc on glibc 2.36), before its big request: not yet in Committed_AS when we read it.
SMALL_PROCESS_COMMIT = 380 * KiB
GUARD_MAX_SECONDS = 4 * 3600.0  # the guard restores and exits after this long, whatever happens
WAIT_SECONDS = 10.0  # how long a change waits for another process's temporarily() block to end
LOCK_DIR_ENV = "KERNEL_HELPERS_LOCK_DIR"  # set it to a directory shared by everything that changes them
METHODS = ("malloc", "mmap")
_MALLOC_HEADER = 8  # glibc: SIZE_SZ; an mmapped chunk is ALIGN_UP(request2size(n) + SIZE_SZ, page)
_CAP_SYS_ADMIN = 21
# x86-64 user space is 47 bits (TASK_SIZE_MAX = 2^47 - one page) unless mmap is given a high
# hint; a larger request fails in every mode.  Other architectures: not checked.
ADDRESS_SPACE: int | None = (1 << 47) - procfs.PAGE_SIZE if platform.machine() in ("x86_64", "AMD64") else None
_PKG_PARENT = str(Path(__file__).resolve().parent.parent)


# --- settings and figures --------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """The three vm.overcommit sysctls: mode (0, 1, 2), ratio (percent), kbytes (KiB, 0 = unset)."""

    mode: int
    ratio: int
    kbytes: int


def _sysctl_path(name: str) -> str:
    return os.path.join(procfs.PROC_ROOT, "sys", "vm", name)


def settings() -> Settings:
    """The current vm.overcommit_memory, vm.overcommit_ratio and vm.overcommit_kbytes."""
    return Settings(
        mode=procfs.vm_setting("overcommit_memory"),
        ratio=procfs.vm_setting("overcommit_ratio"),
        kbytes=procfs.vm_setting("overcommit_kbytes"),
    )


@dataclass(frozen=True)
class CommitState:
    """The figures the kernel's commit check uses, in bytes, read at one moment."""

    settings: Settings
    mem_total: int  # MemTotal = totalram_pages
    swap_total: int  # SwapTotal = total_swap_pages
    hugetlb: int  # Hugetlb: pages reserved for huge pages, not counted in mode 2
    commit_limit: int  # CommitLimit as the kernel shows it now
    committed_as: int  # Committed_AS (exact sum; the check itself reads an approximation)
    admin_reserve: int  # vm.admin_reserve_kbytes, kept free for callers without CAP_SYS_ADMIN
    user_reserve: int  # vm.user_reserve_kbytes, cap of the per-process reserve
    page_size: int = field(default_factory=lambda: procfs.PAGE_SIZE)  # read when made, not at import

    @property
    def headroom(self) -> int:
        """CommitLimit - Committed_AS: what mode 2 would still promise (may be negative)."""
        return self.commit_limit - self.committed_as

    def vm_commit_limit(self, ratio: int | None = None, kbytes: int | None = None) -> int:
        """CommitLimit in bytes for another ratio or kbytes, with the kernel's integer arithmetic."""
        ratio, kbytes = _limit_args(self.settings, ratio, kbytes)
        return _commit_limit_pages(self, ratio, kbytes) * self.page_size


def _read_optional(name: str, default: int) -> int:
    try:
        return procfs.vm_setting(name)
    except (OSError, ValueError, IndexError):
        return default


def commit_state() -> CommitState:
    """Read /proc/meminfo and /proc/sys/vm once."""
    mi = procfs.meminfo()
    hugetlb = mi.get("Hugetlb")  # kernel 4.16+; before: default huge page size only
    if hugetlb is None:
        hugetlb = mi.get("HugePages_Total", 0) * mi.get("Hugepagesize", 0)
    return CommitState(
        settings=settings(),
        mem_total=mi["MemTotal"],
        swap_total=mi.get("SwapTotal", 0),
        hugetlb=hugetlb,
        commit_limit=mi.get("CommitLimit", 0),
        committed_as=mi.get("Committed_AS", 0),
        admin_reserve=_read_optional("admin_reserve_kbytes", 8192) * KiB,
        user_reserve=_read_optional("user_reserve_kbytes", 131072) * KiB,
    )


def _present_cpus() -> int:
    """num_present_cpus(), from /sys/devices/system/cpu/present ("0-1,4" -> 3)."""
    try:
        with open("/sys/devices/system/cpu/present") as f:
            text = f.read().strip()
        n = 0
        for part in text.split(","):
            lo, _, hi = part.partition("-")
            n += int(hi or lo) - int(lo) + 1
        return max(1, n)
    except (OSError, ValueError):
        return os.cpu_count() or 1


def counter_slack(state: CommitState | None = None) -> int:
    """How far the counter mode 2 checks can be from Committed_AS, in bytes.

    __vm_enough_memory reads vm_committed_as with percpu_counter_read_positive(): the global
    count without the per-CPU deltas, each below vm_committed_as_batch = RAM pages / CPUs / 256
    in mode 2 (mm/mm_init.c mm_compute_batch).  /proc/meminfo shows the exact sum.
    """
    st = state if state is not None else commit_state()
    nr = _present_cpus()
    batch = max(st.mem_total // st.page_size // nr // 256, nr * 2, 32)
    return nr * batch * st.page_size


# --- argument checks (validate.whole and validate.mode, with what each argument means) ----------

def _check_nbytes(nbytes: object) -> int:
    return validate.whole("nbytes", nbytes, 0, what=("a whole number of bytes, e.g. 2 * GiB",
                                                          "바이트 단위 정수(예: 2 * GiB)"))


def _check_limits(ratio: object, kbytes: object) -> tuple[int | None, int | None]:
    r = k = None
    if ratio is not None:
        r = validate.whole("ratio", ratio, 0, what=("a whole percentage of RAM such as 50",
                                                              "RAM의 퍼센트(50 같은 정수)"))
    if kbytes is not None:
        k = validate.whole("kbytes", kbytes, 1, what=("a whole number of KiB", "KiB 단위 정수"),
                           hint=("to go back to a percentage, pass ratio= instead",
                                 "퍼센트로 돌아가려면 대신 ratio=를 주세요."))
    if r is not None and k is not None:
        raise error(ValueError, "pass ratio or kbytes, not both: the kernel uses one or the other "
                    "(writing either sysctl zeroes the other)",
                    "ratio와 kbytes 중 하나만 주세요. 커널은 둘 중 하나만 씁니다(어느 sysctl을 쓰든 다른 쪽은 0이 됩니다).")
    return r, k


def _limit_args(base: Settings, ratio: object, kbytes: object) -> tuple[int, int]:
    """(ratio, kbytes) the kernel would use: the given one, else the current ones."""
    r, k = _check_limits(ratio, kbytes)
    if k is not None:
        return 0, k
    if r is not None:
        return r, 0
    return base.ratio, base.kbytes


def _has_cap_sys_admin() -> bool:
    """Whether this process (and so its children) has CAP_SYS_ADMIN: no admin reserve then."""
    try:
        with open(os.path.join(procfs.PROC_ROOT, "self", "status")) as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> _CAP_SYS_ADMIN & 1)
    except (OSError, ValueError, IndexError):
        pass
    return os.geteuid() == 0


# --- predict ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Prediction:
    """Would one allocation of ``nbytes`` get past the kernel's commit check right now?"""

    nbytes: int
    method: str  # "malloc" (glibc adds a header) or "mmap"
    pages: int  # pages the kernel is asked to commit
    mode: int
    allowed: bool
    limit_bytes: int | None  # the largest nbytes this method would get now; None: no limit
    reason: str
    reason_ko: str
    commit_limit: int | None = None  # mode 2: CommitLimit for the ratio/kbytes used
    committed_as: int | None = None  # mode 2: Committed_AS used
    slack_bytes: int = 0  # mode 2: the kernel's counter may be this far off (counter_slack())

    def text(self, lang: str | None = None) -> str:
        """Why, in ``lang`` (the notebook's language by default)."""
        from .i18n import pick

        return pick(self.reason, self.reason_ko, lang)

    def __str__(self) -> str:
        return self.text()


def _pages_for(nbytes: int, method: str, page: int) -> int:
    if method == "malloc" and nbytes > 0:
        nb = max(32, (nbytes + _MALLOC_HEADER + 15) & ~15)  # request2size
        nbytes = nb + _MALLOC_HEADER
    return -(-nbytes // page)


def _largest_request(max_pages: int, method: str, page: int) -> int:
    if max_pages <= 0:
        return 0
    return max_pages * page - (3 * _MALLOC_HEADER if method == "malloc" else 0)


def _commit_limit_pages(st: CommitState, ratio: int, kbytes: int) -> int:
    page = st.page_size
    swap = st.swap_total // page
    if kbytes:
        return kbytes // (page // KiB) + swap
    return (st.mem_total // page - st.hugetlb // page) * ratio // 100 + swap


def _two(a: int, b: int) -> tuple[str, str]:
    """Format two sizes; exact bytes when the rounded forms would look equal."""
    fa, fb = fmt_bytes(a), fmt_bytes(b)
    if fa == fb and a != b:
        return f"{a:,} bytes", f"{b:,} bytes"
    return fa, fb


def predict(nbytes: int, mode: int | None = None, ratio: int | None = None,
            kbytes: int | None = None, *, method: str = "malloc",
            total_vm: int = SMALL_PROCESS_VM, startup_commit: int = SMALL_PROCESS_COMMIT,
            cap_sys_admin: bool | None = None, state: CommitState | None = None) -> Prediction:
    """Would one ``malloc(nbytes)`` (or ``mmap``) pass the commit check under ``mode`` now?

    ``mode``, ``ratio``, ``kbytes`` default to the current settings.  The rest matters in
    mode 2 only and describes the allocating process, by default a small C program started
    after this call: ``total_vm`` its VIRT before the call (the kernel keeps min(total_vm/32,
    user_reserve_kbytes) free for it), ``startup_commit`` what it commits while starting (pass
    0 for a process already running), ``cap_sys_admin`` whether it is privileged (default: like
    this process; others must leave admin_reserve_kbytes).  ``state`` lets you pass figures
    instead of reading /proc.  Mode 0 is exact to the byte; mode 2 to within what other
    processes commit meanwhile (the kernel also reads a per-CPU-batched counter there).
    """
    n = _check_nbytes(nbytes)
    if method not in METHODS:
        raise error(ValueError, "method must be 'malloc' or 'mmap', not {method!r}",
                    "method는 'malloc'이나 'mmap'이어야 합니다({method!r}은(는) 쓸 수 없습니다).", method=method)
    m = None if mode is None else validate.mode(mode)
    vm = validate.whole("total_vm", total_vm, 0, what=("a whole number of bytes (the process's VIRT)",
                                                                 "바이트 단위 정수(프로세스의 VIRT)"))
    own = validate.whole("startup_commit", startup_commit, 0, what=("a whole number of bytes", "바이트 단위 정수"))
    if cap_sys_admin is not None and not isinstance(cap_sys_admin, bool):
        raise error(TypeError, "cap_sys_admin must be True, False or None, not {value!r}",
                    "cap_sys_admin에는 True, False, None 중 하나를 주세요({value!r}은(는) 쓸 수 없습니다).",
                    value=cap_sys_admin)
    if state is not None and not isinstance(state, CommitState):
        raise error(TypeError, "state must be a CommitState (see commit_state()), not {kind}",
                    "state에는 CommitState를 주세요(commit_state() 참고). {kind}은(는) 쓸 수 없습니다.",
                    kind=type(state).__name__)
    st = state if state is not None else commit_state()
    m = st.settings.mode if m is None else m
    r, k = _limit_args(st.settings, ratio, kbytes)
    page = st.page_size
    pages = _pages_for(n, method, page)
    what = fmt_bytes(n)

    if ADDRESS_SPACE is not None and pages * page > ADDRESS_SPACE:
        space = fmt_bytes(ADDRESS_SPACE + page)
        return Prediction(
            n, method, pages, m, False, None,
            f"{what} is larger than a process's whole address space ({space}): mmap refuses it "
            "with ENOMEM in every overcommit mode.",
            f"요청 크기({what})는 프로세스 주소 공간 전체({space})보다 커서, 어떤 오버커밋 모드에서도 "
            "mmap이 ENOMEM으로 거절합니다.")

    if m == 1:
        return Prediction(
            n, method, pages, m, True, None,
            f"mode 1 never refuses: {what} is allowed. If the memory runs out, that shows up "
            "later, when pages are written, as the OOM killer (SIGKILL).",
            f"모드 1은 절대 거절하지 않습니다. {what}도 허용됩니다. 메모리가 모자라면 나중에 페이지를 "
            "쓸 때 OOM 킬러(SIGKILL)로 드러납니다.")

    if m == 0:
        # __vm_enough_memory: if (pages > totalram_pages() + total_swap_pages) goto error;
        max_pages = st.mem_total // page + st.swap_total // page
        ok = pages <= max_pages
        lim, req = _two(max_pages * page, pages * page)
        if req.endswith("bytes") and method == "malloc":
            req = f"{n:,} bytes + malloc's header = {pages:,} pages"
            lim = f"{max_pages:,} pages = {max_pages * page:,} bytes"
        elif not req.endswith("bytes"):
            req = what
        head = f"mode 0 refuses only a single request larger than RAM + swap ({lim}); "
        head_ko = f"모드 0은 RAM + 스왑({lim})보다 큰 단일 요청만 거절합니다. "
        if ok:
            reason = head + f"{req} is not larger, so it is allowed, however little memory is free."
            reason_ko = head_ko + f"요청({req})은 그보다 크지 않으므로, 빈 메모리가 아무리 적어도 허용됩니다."
        else:
            reason = head + f"{req} is larger, so the kernel refuses it with ENOMEM."
            reason_ko = head_ko + f"요청({req})은 그보다 크므로 커널이 ENOMEM으로 거절합니다."
        return Prediction(n, method, pages, m, ok, _largest_request(max_pages, method, page),
                          reason, reason_ko)

    # mode 2: allowed = vm_commit_limit() [- admin reserve] - min(total_vm/32, user reserve);
    # vm_acct_memory(pages) first, then refuse unless committed < allowed (strictly).
    limit_pages = _commit_limit_pages(st, r, k)
    admin = not (cap_sys_admin if cap_sys_admin is not None else _has_cap_sys_admin())
    kib_per_page = page // KiB
    admin_pages = st.admin_reserve // KiB // kib_per_page if admin else 0
    user_pages = min(vm // page // 32, st.user_reserve // KiB // kib_per_page)
    allowed_pages = limit_pages - admin_pages - user_pages
    committed_pages = st.committed_as // page + -(-own // page)
    total_pages = committed_pages + pages
    ok = total_pages < allowed_pages
    max_pages = allowed_pages - committed_pages - 1

    ram, swap = fmt_bytes(st.mem_total), fmt_bytes(st.swap_total)
    cl = fmt_bytes(limit_pages * page)
    if k:
        src = f"CommitLimit {cl} = overcommit_kbytes {fmt_bytes(k * KiB)} + {swap} swap"
        src_ko = f"CommitLimit {cl} = overcommit_kbytes {fmt_bytes(k * KiB)} + 스왑 {swap}"
    else:
        huge = f" - {fmt_bytes(st.hugetlb)} hugetlb" if st.hugetlb else ""
        src = f"CommitLimit {cl} = {r}% of {ram} RAM{huge} + {swap} swap"
        src_ko = f"CommitLimit {cl} = RAM {ram}{huge}의 {r}% + 스왑 {swap}"
    if admin_pages:
        src += f", minus the {fmt_bytes(admin_pages * page)} admin reserve (no CAP_SYS_ADMIN)"
        src_ko += f", CAP_SYS_ADMIN이 없으므로 관리자 예약 {fmt_bytes(admin_pages * page)} 제외"
    if user_pages:
        src += f", minus {fmt_bytes(user_pages * page)} user reserve"
        src_ko += f", 사용자 예약 {fmt_bytes(user_pages * page)} 제외"
    total, allow = _two(total_pages * page, allowed_pages * page)
    parts = f"{fmt_bytes(st.committed_as)} already committed"
    parts_ko = f"이미 커밋된 {fmt_bytes(st.committed_as)}"
    if own:
        parts += f" + {fmt_bytes(own)} the new process commits as it starts"
        parts_ko += f" + 새 프로세스가 시작하며 커밋하는 {fmt_bytes(own)}"
    if ok:
        left = fmt_bytes((allowed_pages - total_pages - 1) * page)
        reason = (f"mode 2 allows it: {parts} + {what} requested = {total}, "
                  f"below the {allow} allowed ({src}); {left} more could still be promised.")
        reason_ko = (f"모드 2에서 허용됩니다. {parts_ko} + 요청 {what} = {josa(total, '(으)로')}, "
                     f"허용량 {allow}({src_ko})보다 작습니다. 앞으로 {josa(left, '을')} 더 커밋할 수 있습니다.")
    else:
        reason = (f"mode 2 refuses it: {parts} + {what} requested = {total}, "
                  f"not below the {allow} allowed ({src}); the kernel says ENOMEM.")
        reason_ko = (f"모드 2에서 거절됩니다. {parts_ko} + 요청 {what} = {josa(total, '(으)로')}, "
                     f"허용량 {allow}({src_ko})보다 작지 않아 커널이 ENOMEM을 돌려줍니다.")
    slack = counter_slack(st)
    if abs(max_pages - pages) * page < slack:
        near = fmt_bytes(slack)
        reason += (f" That is within {near} of the limit, though, and the kernel checks a "
                   "per-CPU-batched copy of Committed_AS that can be off by that much: it could "
                   "go either way (resync_committed() makes the copy exact for a moment).")
        reason_ko += (f" 다만 한도와의 차이가 {near} 이내입니다. 커널은 CPU별로 모았다가 반영하는 "
                      "Committed_AS 사본으로 검사하고, 그 사본은 그만큼 어긋날 수 있어 결과가 "
                      "달라질 수 있습니다(resync_committed()로 잠시 정확히 맞출 수 있습니다).")
    return Prediction(n, method, pages, m, ok, _largest_request(max_pages, method, page),
                      reason, reason_ko, commit_limit=limit_pages * page,
                      committed_as=st.committed_as, slack_bytes=slack)


# --- changing the settings -------------------------------------------------------------

class OvercommitPermissionError(PermissionError):
    """This user cannot change vm.overcommit_*; ``command`` is what to run with root instead."""

    def __init__(self, command: str, why: str):
        self.command = command
        self.why = why
        super().__init__(say(
            ("changing vm.overcommit_memory needs root ({why}). On a machine that is yours, run "
             "{cmd} in a terminal, and put it back afterwards. Containers (Binder, most "
             "JupyterHubs) cannot change it at all, even as root: the per-process analogue, "
             "RLIMIT_AS (`ulimit -v`, rlimit_as_preexec()), needs no privilege.",
             "vm.overcommit_memory를 바꾸려면 root 권한이 필요합니다({why}). 직접 관리하는 시스템이라면 터미널에서 "
             "{cmd}을(를) 실행하고, 끝나면 되돌려 놓으세요. 컨테이너(Binder, 대부분의 JupyterHub)에서는 "
             "root여도 바꿀 수 없습니다. 프로세스 단위로 비슷한 일을 하는 RLIMIT_AS(`ulimit -v`, "
             "rlimit_as_preexec())는 권한 없이 쓸 수 있습니다."),
            why=why, cmd=f"`{command}`"))


def _command(mode: int, ratio: int | None, kbytes: int | None) -> str:
    words = ["sudo", "sysctl", "-w", f"vm.overcommit_memory={mode}"]
    if ratio is not None:
        words.append(f"vm.overcommit_ratio={ratio}")
    if kbytes is not None:
        words.append(f"vm.overcommit_kbytes={kbytes}")
    return " ".join(words)


_read_only_mount = procfs.read_only_mount  # a container's /proc/sys: no one here can write it


def change_method() -> tuple[str | None, str]:
    """How this process can change the settings: ("write" | "sudo" | None, why).

    sudo is tried only by a user other than root, and only where /proc/sys is mounted
    read-write: it cannot lift a read-only mount, and gives root nothing root lacks.
    """
    path = _sysctl_path("overcommit_memory")
    root = os.geteuid() == 0
    if _read_only_mount(path):
        return None, say(("{path} is on a read-only mount (a container, most likely), so nobody here can "
                          "change it, not even root or sudo",
                          "{path}이(가) 읽기 전용으로 마운트되어 있어(아마 컨테이너) 여기서는 root나 sudo로도 "
                          "바꿀 수 없습니다"), path=path)
    if os.access(path, os.W_OK):
        try:
            # Opening for write runs the same permission check as a write (sysctl_perm),
            # without changing anything, so a concurrent change cannot be undone here.
            os.close(os.open(path, os.O_WRONLY))
            return "write", say(("{path} is writable by this user", "이 사용자가 {path}에 쓸 수 있습니다"), path=path)
        except OSError as e:
            why = say(("{path} cannot be opened for writing: {err}", "{path}을(를) 쓰기용으로 열 수 없습니다: {err}"),
                      path=path, err=e.strerror)
    elif root:
        why = say(("{path} is read-only even for root here (a container, most likely)",
                   "여기서는 root에게도 {path}이(가) 읽기 전용입니다(아마 컨테이너)"), path=path)
    else:
        why = say(("{path} is writable only by root, and this is uid {uid}",
                   "{path}에는 root만 쓸 수 있는데 지금은 uid {uid}입니다"), path=path, uid=os.geteuid())
    if root:
        return None, why  # sudo would run as this same root
    sudo = shutil.which("sudo")
    if sudo is None:
        return None, why + say(("; sudo is not installed", "; sudo가 설치되어 있지 않습니다"))
    try:
        r = subprocess.run([sudo, "-n", "true"], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None, why + say(("; sudo did not answer", "; sudo가 응답하지 않았습니다"))
    if r.returncode == 0:
        return "sudo", say(("passwordless sudo works", "암호 없는 sudo를 쓸 수 있습니다"))
    return None, why + say(("; sudo needs a password (sudo -n true failed)",
                            "; sudo에 암호가 필요합니다(sudo -n true 실패)"))


def can_change() -> bool:
    """True when this process can change vm.overcommit_* (root with a writable /proc/sys, or sudo -n)."""
    return change_method()[0] is not None


def _plan(current: Settings, target: Settings) -> list[tuple[str, int]]:
    """The writes that turn ``current`` into ``target``, in a safe order.

    Writing overcommit_ratio zeroes overcommit_kbytes and writing overcommit_kbytes zeroes
    overcommit_ratio (mm/util.c handlers), so exactly one of them is written.  Entering mode 2,
    the limit goes first; leaving it, the mode goes first: no moment runs strict on a limit
    nobody asked for.
    """
    limit: tuple[str, int] | None = None
    if target.kbytes:
        if (current.kbytes, current.ratio) != (target.kbytes, 0):
            limit = ("overcommit_kbytes", target.kbytes)
    elif (current.ratio, current.kbytes) != (target.ratio, 0):
        limit = ("overcommit_ratio", target.ratio)
    mode = ("overcommit_memory", target.mode) if current.mode != target.mode else None
    steps = [limit, mode] if target.mode == 2 else [mode, limit]
    return [s for s in steps if s is not None]


def _write(steps: list[tuple[str, int]], method: str) -> None:
    if not steps:
        return
    if method == "sudo":
        cmd = ["sudo", "-n", "sysctl", "-w", *(f"vm.{n}={v}" for n, v in steps)]
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise error(OSError, "`{cmd}` failed: {err}; run it in a terminal to see why",
                        "`{cmd}` 실행이 실패했습니다: {err}. 터미널에서 직접 실행해 이유를 확인하세요.",
                        cmd=" ".join(cmd), err=r.stderr.strip() or r.returncode)
        return
    for name, value in steps:
        with open(_sysctl_path(name), "w") as f:
            f.write(f"{value}\n")


def _apply(target: Settings, method: str | None = None) -> Settings:
    """Make the settings equal ``target`` (no writes if they already are); returns what is now set."""
    current = settings()
    steps = _plan(current, target)
    if not steps:
        return current
    if method is None:
        method, why = change_method()
        if method is None:
            raise OvercommitPermissionError(
                _command(target.mode, None if target.kbytes else target.ratio, target.kbytes or None), why)
    _write(steps, method)
    now = settings()
    if now != target:
        raise error(RuntimeError, "asked for {target} but the kernel now shows {now}; another process changed "
                    "vm.overcommit_* meanwhile: check with `sysctl vm.overcommit_memory` and try again",
                    "{target}을(를) 요청했지만 커널은 지금 {now}을(를) 보여 줍니다. 그사이 다른 프로세스가 "
                    "vm.overcommit_*를 바꿨습니다. `sysctl vm.overcommit_memory`로 확인한 뒤 다시 해 보세요.",
                    target=target, now=now)
    return now


def set_mode(mode: int, ratio: int | None = None, kbytes: int | None = None) -> Settings:
    """Set vm.overcommit_memory (and overcommit_ratio or overcommit_kbytes); returns the new settings.

    Needs root (or passwordless sudo); otherwise raises OvercommitPermissionError naming the
    sysctl command to run.  Prefer ``temporarily()``, which also puts everything back.
    Outside a ``temporarily()`` block of this process it takes the machine-wide lock for the
    write, so it waits for (or, after ``WAIT_SECONDS``, refuses with OvercommitBusyError) a
    block of another process instead of changing the settings under it.
    """
    m = validate.mode(mode)
    r, k = _check_limits(ratio, kbytes)
    method, why = change_method()
    if method is None:
        raise OvercommitPermissionError(_command(m, r, k), why)
    try:
        with _machine_lock():
            current = settings()
            target = Settings(m, r if r is not None else (0 if k else current.ratio),
                              k if k is not None else (0 if r is not None else current.kbytes))
            return _apply(target, method)
    except OSError as e:  # EACCES/EPERM/EROFS at write time (an LSM, a user namespace, a remount)
        if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        raise OvercommitPermissionError(_command(m, r, k), str(e)) from e


def restore(original: Settings) -> Settings:
    """Put back settings saved earlier with ``settings()``, in the order the kernel needs.

    Takes the machine-wide lock like ``set_mode()``.
    """
    if not isinstance(original, Settings):
        raise error(TypeError, "original must be a Settings (from settings()), not {kind}",
                    "original에는 settings()가 돌려준 Settings를 주세요({kind}은(는) 쓸 수 없습니다).",
                    kind=type(original).__name__)
    validate.mode(original.mode)
    if original.ratio < 0 or original.kbytes < 0:
        raise error(ValueError, "not restorable: {original}; pass the Settings that settings() returned",
                    "되돌릴 수 없는 값입니다: {original}. settings()가 돌려준 Settings를 주세요.", original=original)
    with _machine_lock():
        return _apply(original)


def resync_committed() -> None:
    """In mode 2, make the counter the kernel checks equal Committed_AS, for a moment.

    Writing 2 to vm.overcommit_memory again folds the per-CPU deltas (mm/util.c
    overcommit_policy_handler), so predict() and the kernel agree to the page right after.
    Needs the same privilege as set_mode(); refuses outside mode 2 (writing 2 would switch).
    Checks and writes under the machine-wide lock, so another process cannot switch between.
    """
    if settings().mode != 2:
        raise error(RuntimeError, "resync_committed() works only in mode 2 (the counter is exact enough "
                    "for modes 0 and 1, which do not compare it); use temporarily(2) first",
                    "resync_committed()는 모드 2에서만 동작합니다(모드 0과 1은 이 카운터를 비교하지 않으므로 "
                    "지금 값으로 충분합니다). 먼저 temporarily(2)를 쓰세요.")
    method, why = change_method()
    if method is None:
        raise OvercommitPermissionError(_command(2, None, None), why)
    with _machine_lock():
        if settings().mode != 2:
            raise error(RuntimeError, "resync_committed(): another process left mode 2 meanwhile; "
                        "set mode 2 again (temporarily(2)) and retry",
                        "resync_committed(): 그사이 다른 프로세스가 모드 2를 벗어났습니다. "
                        "모드 2를 다시 설정한 뒤(temporarily(2)) 다시 해 보세요.")
        _write([("overcommit_memory", 2)], method)


# --- one change at a time on this machine: a lock file and a state file ---------------------
#
# Who may change vm.overcommit_* is decided by an exclusive flock on the lock file, held by a
# temporarily() block from before it reads the original until after it put it back.  Its guard
# inherits the same open file description, so the lock stays taken until the guard exits too:
# a holder killed with SIGKILL keeps it, through the guard, until its settings are back.  The
# state file records the original (and who holds the lock) before the first change and is
# removed after the restore: finding it while holding the lock means the previous holder and
# its guard both died in between, and the original it records is put back first.

_LOCK_NAME = "kernel_helpers-overcommit.lock"
_STATE_NAME = "kernel_helpers-overcommit.state"
_BOOT_ID = "/proc/sys/kernel/random/boot_id"  # the real /proc: a state file is about this boot


def lock_paths() -> tuple[str, str]:
    """(lock file, state file): where every process on this machine takes its turn to change the settings.

    They live in /dev/shm: on every Linux, a tmpfs (empty after a reboot, which also resets
    the settings), writable by root.  A fake /proc tree (tests) gets its own pair inside it.
    Containers share the kernel, hence the settings, but usually not /dev/shm: privileged
    containers that may change the settings must mount one directory in common and set
    KERNEL_HELPERS_LOCK_DIR to it (or share the host's IPC namespace, --ipc=host).
    """
    d = os.environ.get(LOCK_DIR_ENV, "")
    if not d:
        if os.path.normpath(procfs.PROC_ROOT) != "/proc":
            d = procfs.PROC_ROOT
        else:
            d = next((x for x in ("/dev/shm", "/run/lock") if os.path.isdir(x)), tempfile.gettempdir())
    return os.path.join(d, _LOCK_NAME), os.path.join(d, _STATE_NAME)


class _MachineLock:
    """The exclusive flock on the lock file, held through one open file description ``fd``."""

    def __init__(self, fd: int, lock_path: str, state_path: str):
        self.fd: int | None = fd
        self.lock_path = lock_path
        self.state_path = state_path

    def release(self) -> None:
        """Let go (call only once the guard that shares ``fd`` has exited)."""
        fd, self.fd = self.fd, None
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _open_lock(path: str) -> int:
    flags = os.O_NOFOLLOW | os.O_CLOEXEC  # no symlink planted in a world-writable directory
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | flags, 0o644)
    except PermissionError:  # another user's file (sudo users): flock works on a read-only descriptor
        return os.open(path, os.O_RDONLY | flags)


def _flock_within(fd: int, seconds: float) -> bool:
    """Wait in a blocking flock() on a helper thread for at most ``seconds``; True once the lock is ours.

    A blocked flock() is woken the moment the holder lets go, before a holder that comes straight
    back for another turn (polling with LOCK_NB would let it starve us).  On giving up, the
    thread keeps ``fd`` and closes it, letting go at once, whenever it gets the lock.
    """
    done = threading.Event()
    mutex = threading.Lock()
    error: OSError | None = None
    abandoned = False

    def waiter() -> None:
        nonlocal error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as e:
            error = e
        with mutex:
            if abandoned:
                os.close(fd)
            else:
                done.set()

    threading.Thread(target=waiter, name="toplab-overcommit-lock", daemon=True).start()
    try:
        done.wait(seconds)
    except BaseException:  # interrupted (Ctrl-C): give up, and let go if we just got it
        with mutex:
            if done.is_set():
                os.close(fd)
            else:
                abandoned = True
        raise
    with mutex:
        if not done.is_set():
            abandoned = True
            return False
    if error is not None:
        os.close(fd)
        raise error
    return True


def _acquire(wait: float) -> _MachineLock:
    """Take the machine-wide lock, waiting up to ``wait`` seconds; else raise OvercommitBusyError."""
    if fcntl is None:  # pragma: no cover
        raise error(OSError, "changing vm.overcommit_* needs Linux (fcntl.flock); open the lab on Linux",
                    "vm.overcommit_*를 바꾸려면 리눅스가 필요합니다(fcntl.flock). 리눅스에서 실습을 여세요.")
    lock_path, state_path = lock_paths()
    fd = _open_lock(lock_path)
    t0 = time.monotonic()
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return _MachineLock(fd, lock_path, state_path)
    except BlockingIOError:
        pass
    except BaseException:
        os.close(fd)
        raise
    if wait > 0 and _flock_within(fd, wait):  # _flock_within owns fd from here
        return _MachineLock(fd, lock_path, state_path)
    if wait <= 0:
        os.close(fd)
    raise OvercommitBusyError.from_files(lock_path, state_path, time.monotonic() - t0)


def _boot_id() -> str:
    try:
        with open(_BOOT_ID) as f:
            return f.read().strip()
    except OSError:
        return ""


def _command_line(pid: int) -> str:
    """The first words of a process's command line, to name it in a message ('' if unreadable)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            words = f.read(4096).split(b"\0")
    except OSError:
        return ""
    text = " ".join(w.decode(errors="replace") for w in words if w)
    return text if len(text) <= 100 else text[:97] + "..."


def _write_state(lock: _MachineLock, original: Settings) -> None:
    """Record ``original`` and this process as the holder, atomically (a reader sees all or nothing)."""
    rec = {"original": [original.mode, original.ratio, original.kbytes], "pid": os.getpid(),
           "starttime": _own_starttime(), "since": time.time(), "boot_id": _boot_id(),
           "command": _command_line(os.getpid())}
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(lock.state_path), prefix=_STATE_NAME + ".")
    try:
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), 0o644)  # readable by everyone: a waiter names the holder from it
            json.dump(rec, f)
        os.replace(tmp, lock.state_path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_state(path: str) -> tuple[dict | None, str]:
    """(record, "") from the state file, with ``original`` as Settings; (None, why) if absent or not trusted."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None, ""
    except OSError as e:
        return None, say(("unreadable ({err})", "읽을 수 없음({err})"), err=e.strerror)
    with os.fdopen(fd, "rb") as f:
        owner = os.fstat(f.fileno()).st_uid
        data = f.read(8192)
    if owner not in (0, os.geteuid()):  # anyone can write in /dev/shm: trust only root (or ourselves)
        return None, say(("owned by uid {owner}, not by root", "root가 아니라 uid {owner}의 파일"), owner=owner)
    try:
        rec = json.loads(data)
        mode, ratio, kbytes = (int(x) for x in rec["original"])
        rec["pid"] = int(rec["pid"])
    except (ValueError, TypeError, KeyError):
        return None, say(("not a state file written by kernel_helpers", "kernel_helpers가 쓴 상태 파일이 아님"))
    if mode not in MODE_NAMES or ratio < 0 or kbytes < 0:
        return None, say(("impossible settings {x}", "있을 수 없는 설정 {x}"), x=rec["original"])
    if rec.get("boot_id") and rec["boot_id"] != _boot_id():
        return None, say(("written before the last reboot (the settings were reset then)",
                          "마지막 재부팅 전에 쓴 파일(재부팅 때 설정이 초기화됨)"))
    rec["original"] = Settings(mode, ratio, kbytes)
    return rec, ""


def _remove_state(path: str, pid: int | None = None) -> None:
    """Remove the state file (only if it names ``pid``, when given)."""
    if pid is not None:
        rec, _ = _read_state(path)
        if rec is None or rec["pid"] != pid:
            return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _repair_stale(lock: _MachineLock) -> Settings | None:
    """With the lock held: put back the original a dead holder recorded; returns it, or None.

    A holder removes its state file before letting go, and a guard whose holder died removes
    it after restoring; so a state file found now means both died before putting the settings
    back (or failed to).  A file that cannot be trusted is removed with a warning, not obeyed.
    """
    rec, problem = _read_state(lock.state_path)
    if rec is None:
        if problem:
            warn("ignored {path}: {problem}; it was removed, nothing to do",
                 "{path}을(를) 무시하고 지웠습니다: {problem}. 따로 할 일은 없습니다.",
                 category=RuntimeWarning, stacklevel=4, path=lock.state_path, problem=problem)
            with contextlib.suppress(OSError):
                os.unlink(lock.state_path)
        return None
    original: Settings = rec["original"]
    left = settings()
    _apply(original)
    _remove_state(lock.state_path)
    if left != original:
        cmd = f" ({rec['command']})" if rec.get("command") else ""
        warn("vm.overcommit_* had been left at {left} by process {pid}{cmd}, which ended without "
             "putting it back (and so did its guard): restored {original}; nothing to do",
             "프로세스 {pid}{cmd}이(가) vm.overcommit_*를 {left}(으)로 둔 채 되돌리지 않고 끝났습니다(그 "
             "가드도 마찬가지). {original}(으)로 되돌렸으니 따로 할 일은 없습니다.",
             category=RuntimeWarning, stacklevel=4, left=left, pid=rec["pid"], cmd=cmd, original=original)
    return original


@contextlib.contextmanager
def _machine_lock(wait: float | None = None) -> Iterator[None]:
    """Hold the machine-wide lock around a one-off change, unless this process holds it already."""
    if _held is not None:  # inside this process's temporarily() block (the panel's later changes)
        yield
        return
    lock = _acquire(WAIT_SECONDS if wait is None else wait)
    try:
        _repair_stale(lock)
        yield
    finally:
        lock.release()


def repair_stale(wait: float | None = None) -> Settings | None:
    """Put back settings left changed by a process that died mid-change together with its guard.

    Returns the settings put back, or None when there was nothing to repair (or this process
    may not change the settings, or holds them itself).  Every change does this first anyway;
    a lesson can call it at its start to clean up at once.  Waits like ``temporarily()``.
    """
    if _held is not None or change_method()[0] is None:
        return None
    lock = _acquire(WAIT_SECONDS if wait is None else wait)
    try:
        return _repair_stale(lock)
    finally:
        lock.release()


def _lock_holder_pid(lock_path: str) -> int | None:
    """The PID /proc/locks shows for the flock on ``lock_path`` (the process that took it), if any."""
    try:
        st = os.stat(lock_path)
        with open("/proc/locks") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    where = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in lines:  # "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF"; waiters have "->"
        parts = line.split()
        if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5] == where:
            with contextlib.suppress(ValueError):
                return int(parts[4])
    return None


class OvercommitBusyError(RuntimeError):
    """Another process's temporarily() block holds vm.overcommit_* changed: nothing was changed here.

    ``holder_pid`` is that process (None if unknown), ``held_for`` for how many seconds it has
    held them (None if unknown), ``original`` what it will put back, ``waited`` how long this
    process waited for it.  ``describe("ko")`` says the same in Korean.
    """

    def __init__(self, holder_pid: int | None, waited: float, *, held_for: float | None = None,
                 command: str = "", original: Settings | None = None, lock_path: str = ""):
        self.holder_pid = holder_pid
        self.waited = waited
        self.held_for = held_for
        self.command = command
        self.original = original
        self.lock_path = lock_path
        super().__init__(self.describe())

    @classmethod
    def from_files(cls, lock_path: str, state_path: str, waited: float) -> OvercommitBusyError:
        """Name the holder from the state file, else from /proc/locks."""
        rec, _ = _read_state(state_path)
        if rec is not None:
            since = rec.get("since")
            held = max(0.0, time.time() - since) if isinstance(since, (int, float)) else None
            return cls(rec["pid"], waited, held_for=held, command=str(rec.get("command") or ""),
                       original=rec["original"], lock_path=lock_path)
        return cls(_lock_holder_pid(lock_path), waited, lock_path=lock_path)

    def describe(self, lang: str | None = None) -> str:
        """The message in 'en' or 'ko' (None: the notebook's language): who holds the settings, and what to do."""
        lang = check_lang(lang)
        if self.holder_pid is None:
            who = say(("PID unknown, see /proc/locks for {path}", "PID를 알 수 없음, /proc/locks에서 {path} 참고"),
                      lang, path=self.lock_path)
        else:
            who = say(("process {pid}", "프로세스 {pid}"), lang, pid=self.holder_pid)
            who += f", `{self.command}`" if self.command else ""
        if self.held_for is not None:
            who += say((", for {s:.0f} s", ", {s:.0f}초째"), lang, s=self.held_for)
        if self.original is not None:
            who += say(("; it puts back {back} when it ends", "; 끝나면 원래 값 {back}(으)로 되돌림"), lang,
                       back=f"vm.overcommit_memory={self.original.mode}")
        return say(_BUSY, lang, who=who, waited=self.waited)


_BUSY = ("vm.overcommit_* is held changed by another process, so nothing was changed here: its "
         "temporarily() block is already active ({who}). Waited {waited:.1f} s for it. If that "
         "is another notebook (chapter 2.3's memory panel keeps its mode while it runs), stop that "
         "notebook's panel or wait, then run this again.",
         "다른 프로세스가 vm.overcommit_*를 바꿔 둔 상태라 여기서는 아무것도 바꾸지 않았습니다. 그 "
         "프로세스의 temporarily() 블록이 이미 실행 중입니다({who}). {waited:.1f}초 기다렸습니다. "
         "다른 노트북이라면(2.3장의 메모리 패널은 실행되는 동안 모드를 유지합니다) 그 노트북의 패널을 "
         "멈추거나 기다린 뒤 다시 실행하세요.")


# --- temporarily, with a guard that survives the kernel --------------------------------

def _own_starttime() -> int:
    pid = os.getpid()
    with open(f"/proc/{pid}/stat", "rb") as f:  # the real /proc: this is about a live process
        return int(procfs.parse_stat(f.read(), pid)[procfs.STARTTIME])


def _start_guard(original: Settings, max_seconds: float, lock: _MachineLock | None = None,
                 timeout: float = 15.0) -> subprocess.Popen:
    """Start the guard in its own session (a SIGINT or killpg of the kernel's group misses it).

    With ``lock``, the guard inherits the lock's descriptor (so the lock outlives this process
    until the guard has restored) and watches for the whole block (--keep-watching).
    """
    cmd = [sys.executable, "-m", "kernel_helpers._overcommit_guard",
           "--pid", str(os.getpid()), "--starttime", str(_own_starttime()),
           "--mode", str(original.mode), "--ratio", str(original.ratio),
           "--kbytes", str(original.kbytes), "--max-seconds", str(max_seconds),
           "--proc-root", procfs.PROC_ROOT]
    fds: tuple[int, ...] = ()
    if lock is not None and lock.fd is not None:
        cmd += ["--lock-fd", str(lock.fd), "--state", lock.state_path, "--keep-watching"]
        fds = (lock.fd,)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PKG_PARENT, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, env=env, cwd="/",
                            pass_fds=fds)
    assert proc.stdout is not None
    poller = select.poll()  # not select(): a kernel may hold more than 1024 files open (top.py keeps /proc files)
    poller.register(proc.stdout, select.POLLIN)
    ready = poller.poll(timeout * 1000)
    line = proc.stdout.readline().decode(errors="replace") if ready else ""
    if not line.startswith("armed"):
        proc.kill()
        _, err = proc.communicate(timeout=5)
        raise error(RuntimeError, "the overcommit guard did not start, so nothing was changed: {err}. Try again; "
                    "if it fails again, run `python -m kernel_helpers._overcommit_guard --help` to check Python",
                    "오버커밋 가드가 시작되지 않아 아무것도 바꾸지 않았습니다: {err}. 다시 해 보고, 또 실패하면 "
                    "`python -m kernel_helpers._overcommit_guard --help`로 Python 환경을 확인하세요.",
                    err=err.decode(errors="replace").strip() or say(("no answer in time", "제때 응답 없음")))
    return proc


def _stop_guard(proc: subprocess.Popen) -> None:
    try:
        proc.communicate(b"done\n", timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()  # our own child, by its PID
        proc.communicate()
    except (BrokenPipeError, ValueError):
        proc.wait(timeout=5)


_active_lock = threading.Lock()
_active: Temporary | None = None  # this process's temporarily() block, from __enter__ to __exit__
_held: _MachineLock | None = None  # the machine-wide lock, while that block holds it


def _settings_or_none() -> Settings | None:
    try:
        return settings()
    except (OSError, ValueError, IndexError):
        return None


class Temporary:
    """``with temporarily(2, ratio=50) as t:`` changes the settings and puts them back afterwards.

    ``t.original`` holds what was set before, ``t.applied`` what is set inside, ``t.guard_pid``
    the guard process that restores ``original`` if this process dies inside the block,
    ``t.repaired`` what was put back first because an earlier holder had died (else None).
    """

    def __init__(self, mode: int, ratio: int | None, kbytes: int | None, max_seconds: float,
                 wait: float | None = None):
        self.mode = validate.mode(mode)
        self.ratio, self.kbytes = _check_limits(ratio, kbytes)
        if isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float)) \
                or not 0 < max_seconds < math.inf:
            raise error(ValueError, "max_seconds must be a positive number of seconds, got {value!r}; pass e.g. 600",
                        "max_seconds는 0보다 큰 초 수여야 합니다({value!r}은(는) 쓸 수 없습니다). 600처럼 주세요.",
                        value=max_seconds)
        wait = WAIT_SECONDS if wait is None else wait
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait < math.inf:
            raise error(ValueError, "wait must be 0 or more seconds, got {value!r}; pass e.g. 30",
                        "wait는 0초 이상이어야 합니다({value!r}은(는) 쓸 수 없습니다). 30처럼 주세요.", value=wait)
        self.max_seconds = float(max_seconds)
        self.wait = float(wait)
        self.original: Settings | None = None
        self.applied: Settings | None = None
        self.repaired: Settings | None = None
        self.guard_pid: int | None = None
        self._guard: subprocess.Popen | None = None
        self._lock: _MachineLock | None = None

    def __enter__(self) -> Temporary:
        global _active
        with _active_lock:
            if _active is not None:
                raise error(RuntimeError, "temporarily() is already active in this process; finish that "
                            "`with` block first (nesting would race two guards)",
                            "이 프로세스에서 temporarily()가 이미 실행 중입니다. 그 `with` 블록을 먼저 끝내세요"
                            "(겹쳐 쓰면 두 가드가 서로 경쟁합니다).")
            _active = self
        try:
            method, why = change_method()
            if method is None:
                raise OvercommitPermissionError(_command(self.mode, self.ratio, self.kbytes), why)
            self._take_turn()
        except BaseException:
            _active = None
            raise
        return self

    def _take_turn(self) -> None:
        """Lock, repair, read the original, record it, arm the guard, then change: in that order."""
        global _held
        self._lock = _acquire(self.wait)
        try:
            self.repaired = _repair_stale(self._lock)
            self.original = settings()
            _write_state(self._lock, self.original)
            self._guard = _start_guard(self.original, self.max_seconds, self._lock)
            self.guard_pid = self._guard.pid
            _held = self._lock  # set_mode() below and inside the block: no second lock
            self.applied = set_mode(self.mode, self.ratio, self.kbytes)
        except BaseException:
            self._let_go()
            raise

    def _let_go(self) -> None:
        """Restore, stop the guard, drop the state file once the original is back, release the lock."""
        global _held
        try:
            if self.original is not None:
                _apply(self.original)
        finally:
            try:
                if self._guard is not None:
                    _stop_guard(self._guard)  # it restores too if the line above failed
            finally:
                lock, self._lock = self._lock, None
                try:
                    if lock is not None and self.original is not None \
                            and _settings_or_none() == self.original:
                        _remove_state(lock.state_path)  # else the next holder repairs from it
                finally:
                    _held = None
                    if lock is not None:
                        lock.release()  # only now: the guard, which shared it, has exited

    def __exit__(self, *exc: object) -> None:
        global _active
        try:
            assert self.original is not None
            self._let_go()
        finally:
            _active = None

    def __repr__(self) -> str:
        return f"Temporary(original={self.original}, applied={self.applied}, guard_pid={self.guard_pid})"


def temporarily(mode: int, ratio: int | None = None, kbytes: int | None = None, *,
                max_seconds: float = GUARD_MAX_SECONDS, wait: float | None = None) -> Temporary:
    """A context manager: these settings inside the block, the old ones after it.

    The old ones come back on normal exit, on an exception, and (through a guard process in
    its own session) when this process is killed, even with SIGKILL; after ``max_seconds``
    the guard restores them anyway.  The block holds the machine-wide lock throughout: if
    another process's block holds it, entering waits up to ``wait`` seconds (default
    ``WAIT_SECONDS``), then raises OvercommitBusyError naming that process.  Keep mode-2
    blocks short on a shared machine: while strict, every process there can get ENOMEM.
    """
    return Temporary(mode, ratio, kbytes, max_seconds, wait)


# --- the per-process analogue, without privileges --------------------------------------

def rlimit_as_preexec(nbytes: int) -> Callable[[], None]:
    """A ``preexec_fn`` for subprocess that caps the child's address space (``ulimit -v``).

    Under RLIMIT_AS, mmap and malloc beyond the cap fail with ENOMEM in every overcommit mode,
    and no privilege is needed.  The program itself needs a few MiB of VIRT to start.
    """
    n = validate.whole("nbytes", nbytes, 1 * MiB, what=("a whole number of bytes, e.g. 256 * MiB", "바이트 단위 정수(예: 256 * MiB)"),
                       hint=("a program needs at least 1 MiB of VIRT to start",
                             "프로그램이 시작하려면 VIRT가 1 MiB 이상 필요합니다."))
    if resource is None:  # pragma: no cover
        raise error(OSError, "RLIMIT_AS needs a Unix system (the resource module); open the lab on Linux",
                    "RLIMIT_AS에는 유닉스 시스템이 필요합니다(resource 모듈). 리눅스에서 실습을 여세요.")

    def _set_rlimit_as() -> None:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        value = n if hard == resource.RLIM_INFINITY else min(n, hard)
        resource.setrlimit(resource.RLIMIT_AS, (value, value))

    return _set_rlimit_as
