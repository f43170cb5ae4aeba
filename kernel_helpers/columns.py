"""The one table of metric and column metadata: labels, tooltips and glossary cells all read it.

Each ``Metric`` holds a field's name in the samples (or top's table), the column top (or /proc)
shows it under, its unit, where the kernel exposes it, a one-line description in English and
Korean, and the glossary's name for it in both languages.  ``widgets`` take their hover texts
from :func:`help_text`, ``glossary`` its entries for the top columns and /proc fields, and the
lessons their column tables; a metric added here appears in all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Metric", "METRICS", "BY_COLUMN", "lookup", "describe", "help_text"]


@dataclass(frozen=True)
class Metric:
    name: str  # field name in the samples (metrics.ProcessSample, top's table)
    column: str  # what top (or /proc) calls it
    unit: str  # bytes, ticks, count, percent, text, id
    source: str  # where the kernel exposes it
    en: str  # one-line description
    ko: str
    term_en: str  # the glossary's name: 'VIRT (virtual memory)'
    term_ko: str

    def description(self, lang: str = "en") -> str:
        return self.ko if _lang(lang) == "ko" else self.en

    def where(self, lang: str = "en") -> str:
        """``source`` in the reader's language: '/proc/PID/stat field 18' -> '/proc/PID/stat 18번 필드'."""
        if _lang(lang) != "ko":
            return self.source
        text = re.sub(r"^delta of (.+)$", r"\1의 변화량", self.source)
        return re.sub(r"\bfields? ([\d+]+)", r"\1번 필드", text)


METRICS: dict[str, Metric] = {m.name: m for m in (
    # the columns that say which process a row of top is
    Metric("pid", "PID", "id", "/proc/PID",
           "Process ID: the number the kernel gave this process.",
           "프로세스 ID: 커널이 이 프로세스에 붙인 번호.",
           "PID (process ID)", "PID (프로세스 ID)"),
    Metric("user", "USER", "text", "stat(/proc/PID)",
           "The user the process runs as: its effective UID, the owner of /proc/PID.",
           "프로세스를 실행하는 사용자: 유효 UID, 곧 /proc/PID의 소유자.",
           "USER (process owner)", "USER (프로세스 소유자)"),
    Metric("comm", "COMMAND", "text", "/proc/PID/stat field 2",
           "The program's name (comm: at most 15 characters for programs; kernel threads can show longer "
           "names); top -c shows the whole command line.",
           "프로그램 이름(comm: 프로그램은 최대 15자, 커널 스레드는 더 긴 이름이 나오기도 한다). top -c는 "
           "명령줄 전체를 보여 준다.",
           "COMMAND (program name)", "COMMAND (프로그램 이름)"),
    Metric("virt", "VIRT", "bytes", "/proc/PID/statm field 1",
           "Virtual memory: every address range the process has mapped, touched or not.",
           "가상 메모리: 프로세스가 매핑한 모든 주소 공간. 실제로 썼는지와 상관없이 센다.",
           "VIRT (virtual memory)", "VIRT (가상 메모리)"),
    Metric("res", "RES", "bytes", "/proc/PID/statm field 2",
           "Resident memory: pages of this process that are in RAM now (anon + file + shmem).",
           "상주 메모리: 지금 실제 RAM에 올라와 있는 이 프로세스의 페이지(익명 + 파일 + 공유 메모리).",
           "RES (resident memory)", "RES (상주 메모리)"),
    Metric("shr", "SHR", "bytes", "/proc/PID/statm field 3",
           "Shared memory: the resident file-backed and shmem pages. A part of RES, and not "
           "necessarily shared with anyone.",
           "공유 메모리: 상주 페이지 가운데 파일 기반 페이지와 shmem 페이지. RES의 일부이며, "
           "꼭 다른 프로세스와 나눠 쓰고 있는 것은 아니다.",
           "SHR (shared memory)", "SHR (공유 메모리)"),
    Metric("rss_anon", "RssAnon", "bytes", "/proc/PID/status",
           "Resident anonymous pages: heap, stacks and malloc'd memory that has been written.",
           "상주 익명 페이지: 힙, 스택, 그리고 malloc으로 받아 실제로 쓴 메모리.",
           "RssAnon (resident anonymous memory)", "RssAnon (상주 익명 메모리)"),
    Metric("rss_file", "RssFile", "bytes", "/proc/PID/status",
           "Resident pages backed by files: program code, libraries, mapped files.",
           "파일에 연결된 상주 페이지: 프로그램 코드, 라이브러리, 매핑한 파일.",
           "RssFile (resident file-backed memory)", "RssFile (상주 파일 기반 메모리)"),
    Metric("rss_shmem", "RssShmem", "bytes", "/proc/PID/status",
           "Resident shared-memory pages (MAP_SHARED anonymous, tmpfs, SysV shm).",
           "상주 공유 메모리 페이지(MAP_SHARED 익명 매핑, tmpfs, SysV shm).",
           "RssShmem (resident shmem)", "RssShmem (상주 shmem)"),
    Metric("uss", "USS", "bytes", "/proc/PID/smaps_rollup",
           "Unique set size: memory only this process uses; freed if it exits.",
           "USS: 이 프로세스만 쓰는 메모리. 프로세스가 끝나면 돌려받는 양이다.",
           "USS (unique set size)", "USS (고유 메모리 크기)"),
    Metric("pss", "PSS", "bytes", "/proc/PID/smaps_rollup",
           "Proportional set size: RES with each shared page divided among its sharers.",
           "PSS: 공유 페이지를 나눠 쓰는 프로세스 수로 나눠서 센 RES.",
           "PSS (proportional set size)", "PSS (비례 배분 메모리 크기)"),
    Metric("swap", "SWAP", "bytes", "/proc/PID/status VmSwap",
           "Pages of this process that are in swap.",
           "스왑으로 나가 있는 이 프로세스의 페이지.",
           "SWAP (swapped-out memory)", "SWAP (스왑된 메모리)"),
    Metric("minflt", "nMin", "count", "/proc/PID/stat field 10",
           "Minor page faults: faults served from RAM without disk I/O (first touches, copy-on-write "
           "breaks, pages already in the page cache).",
           "마이너 페이지 폴트: 디스크 I/O 없이 RAM에서 해결된 폴트(첫 접근, 쓰기 시 복사, 이미 페이지 캐시에 "
           "있던 페이지).",
           "nMin (minor page faults)", "nMin (마이너 페이지 폴트)"),
    Metric("majflt", "nMaj", "count", "/proc/PID/stat field 12",
           "Major page faults: faults that had to read from disk.",
           "메이저 페이지 폴트: 디스크에서 읽어 와야 했던 폴트.",
           "nMaj (major page faults)", "nMaj (메이저 페이지 폴트)"),
    Metric("state", "S", "text", "/proc/PID/stat field 3",
           "State: R running, S sleeping, D uninterruptible, T stopped, t traced, Z zombie, I idle.",
           "상태: R 실행 중, S 대기, D 중단 불가 대기, T 정지, t 추적 중 정지, Z 좀비, I 유휴.",
           "S (process state)", "S (프로세스 상태)"),
    Metric("pr", "PR", "count", "/proc/PID/stat field 18",
           "Priority as the scheduler sees it: 20 + NI for normal tasks, negative (-1 - rt_priority) for "
           "real-time ones, 'rt' for the highest real-time priority and for SCHED_DEADLINE.",
           "스케줄러가 보는 우선순위: 일반 태스크는 20 + NI, 실시간 태스크는 음수(-1 - rt_priority), 최고 실시간 "
           "우선순위와 SCHED_DEADLINE은 'rt'.",
           "PR (priority)", "PR (우선순위)"),
    Metric("ni", "NI", "count", "/proc/PID/stat field 19",
           "Nice value, -20 (takes more CPU) to 19 (yields).",
           "nice 값. -20(CPU를 더 받음)부터 19(양보함)까지.",
           "NI (nice value)", "NI (nice 값)"),
    Metric("time_ticks", "TIME+", "ticks", "/proc/PID/stat fields 14+15",
           "CPU time used so far (user + system).",
           "지금까지 쓴 CPU 시간(user + system).",
           "TIME+ (CPU time)", "TIME+ (CPU 시간)"),
    Metric("cpu_percent", "%CPU", "percent", "delta of stat fields 14+15",
           "Share of one CPU used since the last refresh; can exceed 100 with threads.",
           "지난 갱신 이후 CPU 하나 기준 사용률. 스레드가 여럿이면 100을 넘을 수 있다.",
           "%CPU (CPU usage)", "%CPU (CPU 사용률)"),
    Metric("mem_percent", "%MEM", "percent", "RES / MemTotal",
           "RES as a share of the machine's RAM.",
           "전체 RAM 대비 RES의 비율.",
           "%MEM (memory share)", "%MEM (메모리 비율)"),
    Metric("mem_total", "total", "bytes", "/proc/meminfo MemTotal",
           "Usable RAM.", "사용할 수 있는 전체 RAM.",
           "Mem total", "Mem total (전체 메모리)"),
    Metric("mem_free", "free", "bytes", "/proc/meminfo MemFree",
           "RAM nobody uses, not even the page cache.", "페이지 캐시조차 쓰지 않는 빈 RAM.",
           "Mem free", "Mem free (빈 메모리)"),
    Metric("mem_used", "used", "bytes", "MemTotal - MemAvailable",
           "What top (procps-ng 4.0.1 and later) calls used: MemTotal - MemAvailable.",
           "top(procps-ng 4.0.1부터)이 used로 보여 주는 값: MemTotal - MemAvailable.",
           "Mem used", "Mem used (사용 중인 메모리)"),
    Metric("buff_cache", "buff/cache", "bytes", "Buffers + Cached + SReclaimable",
           "Page cache (including shared memory, which cannot simply be dropped) and reclaimable kernel caches.",
           "페이지 캐시(그냥 버릴 수 없는 공유 메모리도 포함)와 회수 가능한 커널 캐시.",
           "buff/cache", "buff/cache (버퍼/캐시)"),
    Metric("mem_available", "avail Mem", "bytes", "/proc/meminfo MemAvailable",
           "The kernel's estimate of memory available for new work without swapping.",
           "스왑 없이 새 작업에 내줄 수 있다고 커널이 추정한 메모리.",
           "avail Mem (available memory)", "avail Mem (사용 가능한 메모리)"),
    Metric("committed_as", "Committed_AS", "bytes", "/proc/meminfo",
           "Memory the kernel has promised to all processes, touched or not.",
           "커널이 모든 프로세스에게 약속한 메모리. 실제 사용 여부와 무관하다.",
           "Committed_AS (committed memory)", "Committed_AS (커밋된 메모리)"),
    Metric("commit_limit", "CommitLimit", "bytes", "/proc/meminfo",
           "The ceiling on Committed_AS, enforced only in overcommit mode 2.",
           "Committed_AS의 상한. 오버커밋 모드 2에서만 강제된다.",
           "CommitLimit (commit limit)", "CommitLimit (커밋 한도)"),
)}

BY_COLUMN: dict[str, Metric] = {m.column: m for m in METRICS.values()}


def _lang(lang: str) -> str:
    from .i18n import check_lang  # i18n's one check, with its message in both languages

    return check_lang(lang)


def _unknown(text: tuple[str, str], key: str) -> KeyError:
    from .i18n import error

    return error(KeyError, *text, key=key, known=", ".join(METRICS))


def lookup(key: str) -> Metric:
    """The metric named ``key`` ('res') or shown under the column ``key`` ('RES', 'nMin')."""
    m = METRICS.get(key) or BY_COLUMN.get(key)
    if m is None:
        raise _unknown(("unknown metric or column {key!r}; use one of: {known}",
                        "{key!r}(이)라는 지표나 열은 없습니다. 다음 중 하나를 쓰세요: {known}"), key)
    return m


def describe(name: str, lang: str = "en") -> str:
    """'VIRT: Virtual memory: ...' for a metric, in English ('en') or Korean ('ko')."""
    if name not in METRICS:
        raise _unknown(("unknown metric {key!r}; use one of: {known}",
                        "{key!r}(이)라는 지표는 없습니다. 다음 중 하나를 쓰세요: {known}"), name)
    m = METRICS[name]
    return f"{m.column}: {m.description(lang)}"


def help_text(key: str, lang: str = "en") -> str:
    """The hover text of a column or metric: 'RES: Resident memory: ... (/proc/PID/statm field 2)';
    ``key`` itself when nothing is known about it."""
    try:
        m = lookup(key)
    except KeyError:
        return key
    return f"{m.column}: {m.description(lang)} ({m.where(lang)})"
