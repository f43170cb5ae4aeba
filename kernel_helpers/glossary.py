"""The glossary: one English term, one Korean term and a one-line definition in each language.

The English and Korean notebooks name each thing the same way by taking their terms from here.
The top columns and /proc fields come straight from ``columns.METRICS`` (so a metric added
there appears here too); the general ideas behind them (page fault, memory commit, zombie ...)
are listed below. ``show()`` displays the table in the notebook's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from .columns import METRICS
from .i18n import check_lang, current_lang, error, josa, pick

__all__ = ["Term", "TERMS", "CORE", "term", "find", "table", "show", "Usage", "USAGE", "terminology",
           "show_terminology", "drift"]


@dataclass(frozen=True)
class Term:
    """One glossary entry: the English and Korean names and a one-line definition in each."""

    key: str  # a stable id: the METRICS name, or the English term in snake_case
    en: str
    ko: str
    en_def: str
    ko_def: str
    metric: str | None = None  # the METRICS entry it comes from, if any

    def name(self, lang: str | None = None) -> str:
        return pick(self.en, self.ko, lang)

    def definition(self, lang: str | None = None) -> str:
        return pick(self.en_def, self.ko_def, lang)


# --- the top columns and /proc fields, from columns.METRICS ------------------------------
# METRICS holds the column name, the glossary names and the definitions: nothing is repeated here.

def _from_metric(name: str) -> Term:
    m = METRICS[name]
    return Term(key=name, en=m.term_en, ko=m.term_ko, en_def=m.en, ko_def=m.ko, metric=name)


# --- the general terms -------------------------------------------------------------------
# (key, English, Korean, English definition, Korean definition)
_GENERAL: tuple[tuple[str, str, str, str, str], ...] = (
    # memory
    ("virtual_memory", "virtual memory", "가상 메모리",
     "The private address space the kernel gives each process; an address needs no RAM until it is used.",
     "커널이 프로세스마다 따로 주는 주소 공간. 주소는 실제로 쓰기 전까지 RAM을 차지하지 않는다."),
    ("resident_memory", "resident memory", "상주 메모리",
     "The part of a process's memory that sits in physical RAM right now (top's RES).",
     "프로세스의 메모리 가운데 지금 물리 RAM에 올라와 있는 부분(top의 RES)."),
    ("page", "page", "페이지",
     "The unit in which the kernel maps and counts memory: 4 KiB on most machines.",
     "커널이 메모리를 매핑하고 세는 단위. 대부분의 시스템에서 4 KiB."),
    ("page_table", "page table", "페이지 테이블",
     "The per-process map from virtual pages to physical pages that the CPU walks on each access.",
     "가상 페이지를 물리 페이지에 대응시키는 프로세스별 표. CPU가 메모리에 접근할 때마다 참조한다."),
    ("page_fault", "page fault", "페이지 폴트",
     "The CPU's trap when a process touches a page that has no valid mapping yet; the kernel then maps one.",
     "아직 유효한 매핑이 없는 페이지에 접근했을 때 CPU가 일으키는 트랩. 이때 커널이 페이지를 매핑한다."),
    ("minor_page_fault", "minor page fault", "마이너 페이지 폴트",
     "A page fault the kernel resolves from RAM alone, such as the first write to a malloc'd page.",
     "RAM만으로 해결되는 페이지 폴트. malloc으로 받은 페이지에 처음 쓸 때가 그렇다."),
    ("major_page_fault", "major page fault", "메이저 페이지 폴트",
     "A page fault that must wait for disk I/O, such as reading a file page that is not cached.",
     "디스크 I/O를 기다려야 하는 페이지 폴트. 캐시에 없는 파일 페이지를 읽을 때가 그렇다."),
    ("demand_paging", "demand paging", "요구 페이징",
     "Physical pages are given only when a page is first touched, not when the memory is allocated.",
     "메모리를 할당할 때가 아니라 페이지에 처음 접근할 때 비로소 물리 페이지를 주는 방식."),
    ("zero_page", "zero page", "제로 페이지",
     "One shared page of zeros the kernel maps for reads of untouched anonymous memory; it adds nothing to RES.",
     "아직 쓰지 않은 익명 메모리를 읽을 때 커널이 매핑해 주는, 0으로 채운 공유 페이지 하나. RES를 늘리지 않는다."),
    ("anonymous_memory", "anonymous memory", "익명 메모리",
     "Memory not backed by a file: heap, stacks, malloc'd blocks.",
     "파일에 연결되지 않은 메모리. 힙, 스택, malloc으로 받은 블록."),
    ("file_backed_memory", "file-backed memory", "파일 기반 메모리",
     "Memory whose contents come from a file (program code, libraries, mmap'd files); it can be re-read instead of swapped.",
     "내용이 파일에서 오는 메모리(프로그램 코드, 라이브러리, mmap한 파일). 스왑 대신 파일에서 다시 읽을 수 있다."),
    ("shared_memory", "shared memory", "공유 메모리",
     "Pages that several processes can map at once: shared libraries, MAP_SHARED regions, tmpfs, SysV shm.",
     "여러 프로세스가 동시에 매핑할 수 있는 페이지. 공유 라이브러리, MAP_SHARED 영역, tmpfs, SysV shm."),
    ("copy_on_write", "copy-on-write", "쓰기 시 복사(copy-on-write)",
     "After fork, parent and child share private pages until one of them writes; only then is the page copied.",
     "fork 뒤 부모와 자식은 비공개 페이지를 공유하다가, 어느 한쪽이 쓰기를 하면 비로소 그 페이지를 복사한다."),
    ("page_cache", "page cache", "페이지 캐시",
     "File contents the kernel keeps in otherwise unused RAM; it gives the memory back when programs need it.",
     "커널이 남는 RAM에 보관해 두는 파일 내용. 프로그램이 메모리를 필요로 하면 돌려준다."),
    ("swap_space", "swap", "스왑",
     "Disk space where the kernel can move anonymous pages out of RAM.",
     "커널이 익명 페이지를 RAM에서 내보낼 수 있는 디스크 공간."),
    ("mem_available_concept", "available memory", "사용 가능한 메모리",
     "MemAvailable: free RAM plus the cache the kernel could reclaim without swapping; what new programs can still get.",
     "MemAvailable: 빈 RAM에 스왑 없이 회수할 수 있는 캐시를 더한 값. 새 프로그램이 아직 얻을 수 있는 양이다."),
    ("memory_commit", "memory commit", "메모리 커밋",
     "The kernel's promise, made at malloc/mmap time, that memory will be there; Committed_AS adds up the promises.",
     "malloc/mmap 시점에 커널이 메모리를 내주겠다고 하는 약속. Committed_AS가 그 약속의 합계다."),
    ("overcommit", "overcommit", "오버커밋",
     "Promising more memory than RAM + swap; vm.overcommit_memory (0, 1, 2) sets how much the kernel allows.",
     "RAM + 스왑보다 많은 메모리를 약속하는 것. vm.overcommit_memory(0, 1, 2)가 커널이 얼마나 허용할지 정한다."),
    ("oom_killer", "OOM killer", "OOM 킬러",
     "The kernel code that picks a process and kills it (SIGKILL) when memory truly runs out.",
     "메모리가 정말로 바닥났을 때 프로세스 하나를 골라 죽이는(SIGKILL) 커널 코드."),
    ("rlimit_as", "RLIMIT_AS (ulimit -v)", "RLIMIT_AS (ulimit -v, 가상 메모리 상한)",
     "A per-process cap on virtual memory; past it, malloc returns NULL. Any user may lower it.",
     "프로세스별 가상 메모리 상한. 이를 넘으면 malloc이 NULL을 돌려준다. 어떤 사용자든 낮출 수 있다."),
    ("mmap_threshold", "mmap threshold", "mmap 임곗값",
     "glibc serves malloc requests of this size or more (128 KiB by default) with their own mmap.",
     "glibc는 이 크기(기본 128 KiB) 이상의 malloc 요청을 따로 mmap해서 처리한다."),
    ("malloc_arena", "malloc arena", "malloc 아레나",
     "A separate heap glibc reserves per thread (64 MiB of address space each) so threads do not fight over one lock.",
     "스레드끼리 락을 다투지 않도록 glibc가 스레드마다 따로 잡는 힙(각각 주소 공간 64 MiB)."),
    ("memory_cgroup", "memory cgroup", "메모리 cgroup",
     "A group of processes, managed by the kernel, with a memory limit of its own; past it, the OOM killer acts inside the group only.",
     "커널이 관리하는, 자체 메모리 한도를 가진 프로세스 그룹. 한도를 넘으면 그 그룹 안에서만 OOM 킬러가 작동한다."),
    # processes and CPU
    ("process", "process", "프로세스",
     "A running program with its own address space; top shows one row per process (a task, in kernel terms).",
     "자기 주소 공간을 가진 실행 중인 프로그램. top은 프로세스 하나를 한 줄로 보여 준다(커널 용어로는 태스크)."),
    ("thread", "thread", "스레드",
     "A line of execution inside a process; threads share the address space, so they share VIRT and RES.",
     "프로세스 안의 실행 흐름. 스레드끼리 주소 공간을 공유하므로 VIRT와 RES도 공유한다."),
    ("kernel_thread", "kernel thread", "커널 스레드",
     "A task that runs only kernel code and has no user memory: VIRT, RES and SHR are 0.",
     "커널 코드만 실행하고 사용자 메모리가 없는 태스크. VIRT, RES, SHR이 0이다."),
    ("uptime", "uptime", "가동 시간",
     "Time since the system booted (/proc/uptime).",
     "시스템이 부팅된 뒤 흐른 시간(/proc/uptime)."),
    ("load_average", "load average", "부하 평균",
     "Exponentially smoothed count of tasks running, waiting for a CPU or in D state, over 1, 5 and 15 minutes.",
     "실행 중이거나 CPU를 기다리거나 D 상태인 태스크 수를 1분, 5분, 15분에 걸쳐 지수 평활한 값."),
    ("running", "running (R)", "실행 중 (R)",
     "State R: on a CPU now, or ready and waiting for one.",
     "R 상태: 지금 CPU에서 돌고 있거나, 준비를 마치고 CPU를 기다리는 중."),
    ("sleeping", "sleeping (S)", "대기 (S)",
     "State S: waiting for an event (input, a timer, a lock) and wakeable by signals.",
     "S 상태: 입력, 타이머, 락 같은 이벤트를 기다리는 중이며 시그널로 깨울 수 있다."),
    ("uninterruptible_sleep", "uninterruptible sleep (D)", "중단 불가 대기 (D)",
     "State D: waiting inside the kernel (usually for I/O) where signals cannot wake it; counts in the load average.",
     "D 상태: 커널 안에서(대개 I/O를) 기다리며 시그널로도 깨울 수 없는 상태. 부하 평균에 포함된다."),
    ("idle_kernel_thread", "idle kernel thread (I)", "유휴 커널 스레드 (I)",
     "State I: a kernel thread waiting for work; shown apart from D since kernel 4.14, and never counted in the load average.",
     "I 상태: 일을 기다리는 커널 스레드. 커널 4.14부터 D와 구분해 보여 주며, 부하 평균에는 들어가지 않는다."),
    ("stopped", "stopped (T)", "정지 (T)",
     "State T: stopped by job control (SIGSTOP, Ctrl+Z) until SIGCONT.",
     "T 상태: 작업 제어(SIGSTOP, Ctrl+Z)로 멈춰 SIGCONT를 기다리는 상태."),
    ("tracing_stop", "tracing stop (t)", "추적 중 정지 (t)",
     "State t: stopped by a debugger or tracer (ptrace), e.g. at a gdb breakpoint.",
     "t 상태: 디버거나 추적기(ptrace)가 멈춰 둔 상태. 예를 들어 gdb 중단점에서 멈춘 경우."),
    ("zombie", "zombie (Z)", "좀비 (Z)",
     "State Z: a child that has exited but whose living parent has not yet collected its exit status; it holds no memory.",
     "Z 상태: 종료했지만 살아 있는 부모가 아직 종료 상태를 거둬 가지 않은 자식 프로세스. 메모리는 차지하지 않는다."),
    ("reap", "reap", "회수(reap)",
     "A parent collecting a child's exit status with wait(); only then does the zombie disappear.",
     "부모가 wait()로 자식의 종료 상태를 거둬 가는 일. 그래야 좀비가 사라진다."),
    ("nice", "nice", "nice 값",
     "A hint from -20 to 19 for the CPU scheduler: higher means yield more; it matters only when CPUs are contended.",
     "-20부터 19까지의 CPU 스케줄러용 힌트. 클수록 더 양보한다. CPU를 두고 경쟁할 때만 효과가 있다."),
    ("priority", "priority", "우선순위",
     "The scheduler's priority as top shows it: 20 + nice for normal tasks, negative or 'rt' for real-time ones.",
     "top이 보여 주는 스케줄러 우선순위. 일반 태스크는 20 + nice, 실시간 태스크는 음수나 'rt'."),
    ("real_time", "real-time scheduling", "실시간 스케줄링",
     "SCHED_FIFO and SCHED_RR: tasks that always run before normal ones; top prints their PR as negative or 'rt'.",
     "SCHED_FIFO와 SCHED_RR. 언제나 일반 태스크보다 먼저 실행되며, top은 PR을 음수나 'rt'로 보여 준다."),
    ("clock_tick", "clock tick", "클록 틱",
     "The unit of CPU time in /proc (1/100 s on Linux, SC_CLK_TCK); TIME+ and %CPU are counted in it.",
     "/proc에서 CPU 시간을 세는 단위(리눅스에서 1/100초, SC_CLK_TCK). TIME+와 %CPU가 이 단위로 계산된다."),
    ("irix_mode", "Irix mode", "Irix 모드",
     "top's default for %CPU: a percentage of one CPU, so a process with busy threads can show more than 100.",
     "top의 %CPU 기본 방식. CPU 하나를 100으로 세므로 스레드가 바쁜 프로세스는 100을 넘을 수 있다."),
    ("batch_mode", "batch mode", "배치 모드",
     "top -b: plain text output with no screen control, for pipes, files and scripts.",
     "top -b. 화면 제어 없이 일반 텍스트로 출력하는 모드로, 파이프, 파일, 스크립트에 쓴다."),
    ("solaris_mode", "Solaris mode", "Solaris 모드",
     "top's other %CPU mode (Shift+I): CPU time divided by the number of CPUs, so no process passes 100.",
     "top의 또 다른 %CPU 모드(Shift+I). CPU 시간을 CPU 수로 나누므로 어떤 프로세스도 100을 넘지 않는다."),
    ("sched_weight", "scheduler weight", "스케줄러 가중치",
     "The number the scheduler gives a normal task for its nice value (1024 at nice 0, about 1.25x less per "
     "step); tasks competing for a CPU get time in proportion to it.",
     "스케줄러가 nice 값에 따라 일반 태스크에게 매기는 수(nice 0이 1024, 한 단계마다 약 1.25배씩 줄어듦). "
     "CPU를 두고 경쟁하는 태스크는 이 값에 비례해 시간을 받는다."),
    ("jupyter_kernel", "Jupyter kernel", "주피터 커널",
     "The process that runs a notebook's code; not the Linux kernel, which 'kernel' alone means in this lab.",
     "노트북의 코드를 실행하는 프로세스. 이 실습에서 그냥 '커널'이라고 하면 리눅스 커널을 가리킨다."),
)

# the ideas first, then top's columns and the /proc fields
TERMS: dict[str, Term] = {}
for _key, _en, _ko, _en_def, _ko_def in _GENERAL:
    TERMS[_key] = Term(_key, _en, _ko, _en_def, _ko_def)
for _name in METRICS:
    if _name in TERMS:
        raise ValueError(f"glossary key {_name!r} is both a general term and a metric")  # internal
    TERMS[_name] = _from_metric(_name)

#: The terms every notebook pair must name the same way (tests/test_glossary.py checks the prose).
CORE: tuple[str, ...] = (
    "virtual_memory", "resident_memory", "page_fault", "demand_paging", "memory_commit", "overcommit",
    "copy_on_write", "page_cache", "load_average",
)


def term(key: str, lang: str | None = None) -> str:
    """The name of a term in the notebook's language, e.g. ``term('page_fault')`` -> '페이지 폴트'."""
    if key not in TERMS:
        raise error(KeyError, "no glossary term {key!r}; see kernel_helpers.glossary.TERMS for the keys",
                    "{key!r}(이)라는 용어는 용어집에 없습니다. 키는 kernel_helpers.glossary.TERMS에서 확인하세요.",
                    key=key)
    return TERMS[key].name(lang)


def find(text: str) -> list[Term]:
    """The terms whose names or definitions mention ``text`` (either language, any case)."""
    needle = text.casefold()
    return [t for t in TERMS.values()
            if any(needle in s.casefold() for s in (t.key, t.en, t.ko, t.en_def, t.ko_def))]


def table(lang: str | None = None, search: str | None = None) -> pd.DataFrame:
    """The glossary as a DataFrame: term, the other language's term, definition (notebook's language first)."""
    lang = check_lang(lang or None)
    terms = find(search) if search else list(TERMS.values())
    if lang == "ko":
        rows = [(t.ko, t.en, t.ko_def) for t in terms]
        cols = ["용어", "English", "뜻"]
    else:
        rows = [(t.en, t.ko, t.en_def) for t in terms]
        cols = ["Term", "한국어", "Definition"]
    return pd.DataFrame(rows, columns=cols)


def _html(df: pd.DataFrame) -> str:
    style = ("<style>.toplab-glossary th, .toplab-glossary td "
             "{text-align: left; vertical-align: top; padding: 2px 8px}</style>")
    return style + df.to_html(index=False, escape=True, border=0, classes="toplab-glossary")


def show(search: str | None = None, lang: str | None = None) -> None:
    """Display the glossary (or the terms matching ``search``) as a table in the notebook's language."""
    df = table(lang, search)
    if df.empty:
        print(pick(f"No glossary term mentions {search!r}.", f"{josa(repr(search), '이')} 들어간 용어가 없습니다.", lang))
        return
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:  # plain Python
        get_ipython = None  # noqa: N806
    if get_ipython is None or get_ipython() is None:
        print(df.to_string(index=False))
    else:
        display(HTML(_html(df)))


def korean_spellings(key: str) -> tuple[str, ...]:
    """The Korean forms that count as using a term: the full name, and for 'X (Y)' names also X."""
    ko = TERMS[key].ko
    forms = [ko]
    m = re.match(r"^(.+?)\s*\(", ko)
    if m:
        forms.append(m.group(1).strip())
    return tuple(forms)


# --- terminology: one word for one thing, in both languages -------------------------------------

@dataclass(frozen=True)
class Usage:
    """How the lab names one thing: the English and Korean words, and the variants it never uses."""

    en: str
    ko: str
    avoid_ko: tuple[str, ...] = ()
    avoid_en: tuple[str, ...] = ()  # regular expressions, matched case-sensitively
    note_en: str = ""
    note_ko: str = ""


USAGE: tuple[Usage, ...] = (
    Usage("machine", "시스템", ("기계", "컴퓨터"),
          note_en="the computer the lab runs on: the reader's machine, VM or container alike",
          note_ko="독자의 시스템, VM, 컨테이너를 모두 이 말로 부릅니다"),
    Usage("kernel", "커널", (),
          note_en="always the Linux kernel", note_ko="언제나 리눅스 커널"),
    Usage("Jupyter kernel", "주피터 커널", ("노트북의 커널", "노트북 커널", "이 커널의 다른", "파이썬 커널", "이 커널(PID"),
          (r"(?<!Jupyter )\b(notebook's|this notebook|the notebook) kernel\b", r"(?<!Jupyter )\brestart the kernel\b"),
          note_en="the Python process behind a notebook; never plain 'kernel'",
          note_ko="노트북 뒤에서 도는 파이썬 프로세스. 그냥 '커널'이라고 하지 않습니다"),
    Usage("signal", "시그널", ("신호",)),
    Usage("OOM killer", "OOM 킬러", ("OOM killer", "OOM 킬러러", "OOM Killer")),
    Usage("overcommit", "오버커밋", ("overcommit 모드", "오버 커밋", "overcommit 정책"),
          note_en="vm.overcommit_memory and vm.overcommit_ratio keep their names",
          note_ko="vm.overcommit_memory, vm.overcommit_ratio는 이름 그대로 씁니다"),
    Usage("page fault", "페이지 폴트", ("페이지 부재", "페이지 결함", "페이지폴트")),
    Usage("page table", "페이지 테이블", ("페이지 표",)),
    Usage("resident memory", "상주 메모리", ("레지던트 메모리",)),
    Usage("huge page", "거대 페이지", ("휴즈 페이지", "큰 페이지")),
    Usage("zombie", "좀비", ("좀비 프로세서",)),
    Usage("priority", "우선순위", ("우선 순위",)),
    Usage("no", "아니요", ("아니오",)),
    Usage("demo", "실험", ("데모",),
          note_en="Korean says 실험 for every demo and experiment",
          note_ko="데모와 실험을 모두 실험이라고 부릅니다"),
)


def terminology(lang: str | None = None) -> pd.DataFrame:
    """The terminology table: the word the lab uses for each thing, and the words it avoids."""
    lang = lang or current_lang()
    rows = [(u.en, u.ko, ", ".join(u.avoid_ko) or "-", pick(u.note_en, u.note_ko, lang) or "")
            for u in USAGE]
    cols = (["English", "한국어", "쓰지 않는 말", "메모"] if lang == "ko"
            else ["English", "Korean", "never in Korean", "note"])
    return pd.DataFrame(rows, columns=cols)


def show_terminology(lang: str | None = None) -> None:
    """Display the terminology table in the notebook's language."""
    df = terminology(lang)
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:
        get_ipython = None  # noqa: N806
    if get_ipython is None or get_ipython() is None:
        print(df.to_string(index=False))
    else:
        display(HTML(_html(df)))


def drift(text: str, lang: str) -> list[tuple[str, str]]:
    """The avoided words in ``text`` (Korean or English), each with the word to use instead."""
    found = []
    for u in USAGE:
        if lang == "ko":
            found += [(bad, u.ko) for bad in u.avoid_ko if bad in text]
        else:
            found += [(m.group(0), u.en) for pat in u.avoid_en for m in re.finditer(pat, text)]
    return found
