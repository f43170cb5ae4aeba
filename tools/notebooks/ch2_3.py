"""Source of notebooks/{en,ko}/2.3-memory-commit.ipynb. Run: .venv/bin/python tools/notebooks/ch2_3.py"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbtools import code, md, write_pair  # noqa: E402

cells = [
    # ------------------------------------------------------------------ title
    md("""
# 2.3 VIRT, RES and memory commit

Chapter 2.2 showed where VIRT and RES come from. This chapter asks why a process has two memory
numbers at all, and answers it by experiment. You will run the book's `malloc()` program while a live
chart follows it, catch the kernel handing out memory one page at a time, and find out
what the kernel has actually promised when `malloc()` succeeds, and what happens when it cannot keep
the promise.

| | |
|---|---|
| **What you'll do** | Run `malloc_test` while a live chart follows it and trace its system calls; switch `memset` on while it runs; read memory nobody wrote; ask for more memory than the machine has; switch `vm.overcommit_memory` for a few milliseconds (as root); cap a process with `ulimit -v`; let the OOM killer end a process inside a small memory cgroup. |
| **What you'll learn** | Why VIRT grows by 1028 KiB for every 1 MiB `malloc()`; demand paging and page faults, step by step; the zero page; memory commit: Committed_AS, CommitLimit and the three overcommit modes as today's kernels implement them; RLIMIT_AS; why running out of memory on Linux ends with SIGKILL rather than `malloc()` returning NULL. |
| **What you need** | The [start page](00-start-here.ipynb) check passing (Linux, the C programs built). Chapters [2.1](2.1-reading-top.ipynb) and [2.2](2.2-virt-res-shr.ipynb) help but are not required. Root only for switching modes and for the OOM demo; without it, those parts show predictions and explanations instead. |
| **Time** | 40 minutes. |

Where the book is wrong or out of date, this chapter says so at the spot, marked **Where the book is
wrong** or **out of date**, with a measurement where one is possible: `malloc()` is not a system call (`strace` shows
the `mmap()` behind it); the page table is not one global table (each process has its own); the RES
frozen at 1640 KiB in its screenshot is a lagging counter, not the truth; its test program prints bytes
under an "MB" label; the default overcommit mode is 0, not "0 or 1"; mode 0 no longer works the way it
describes (that changed in kernel 5.2), so `malloc(10GB)` fails on its own 957 MiB machine; and the
last step, running out of memory, is not shown at all.
""", """
# 2.3 VIRT, RES와 메모리 커밋

2.2장에서는 VIRT와 RES가 어디서 오는지 보았습니다. 이번 장은 프로세스의 메모리 숫자가 왜 굳이 두 개인지
묻고, 그 답을 실험으로 찾습니다. 책에 나온 `malloc()` 프로그램을 실시간 차트로
지켜보며 실행하고, 커널이 메모리를 한 페이지씩 내주는 순간을 잡아냅니다. 그리고 `malloc()`이 성공했을 때
커널이 실제로 무엇을 약속한 것인지, 그 약속을 지킬 수 없게 되면 무슨 일이 일어나는지 알아봅니다.

| | |
|---|---|
| **할 일** | `malloc_test`를 실시간 차트로 지켜보며 실행하고 시스템 콜 추적하기, 실행 중에 `memset` 켜기, 아무도 쓰지 않은 메모리 읽기, 시스템이 가진 것보다 많은 메모리 요청하기, (root라면) `vm.overcommit_memory`를 몇 밀리초 동안 바꿔 보기, `ulimit -v`로 프로세스 하나를 제한하기, 작은 메모리 cgroup 안에서 OOM 킬러가 프로세스를 끝내는 모습 보기. |
| **배울 것** | 1 MiB를 `malloc()`할 때마다 VIRT가 왜 1028 KiB씩 느는지, 요구 페이징과 페이지 폴트의 단계별 동작, 제로 페이지, 메모리 커밋(Committed_AS, CommitLimit, 그리고 지금 커널이 구현하는 세 가지 오버커밋 모드), RLIMIT_AS, 리눅스에서 메모리가 바닥나면 왜 `malloc()`이 NULL을 돌려주는 대신 SIGKILL로 끝나는지. |
| **필요한 것** | [시작 페이지](00-start-here.ipynb)의 환경 확인 통과(리눅스, C 프로그램 빌드). [2.1](2.1-reading-top.ipynb)장과 [2.2](2.2-virt-res-shr.ipynb)장을 보고 오면 좋지만 필수는 아닙니다. root 권한은 모드 전환과 OOM 실험에만 필요하며, 없으면 그 부분은 예측과 설명으로 대신합니다. |
| **걸리는 시간** | 40분. |

책이 틀렸거나 시간이 지나 맞지 않게 된 곳은 이 장의 해당 위치에서 **책이 틀린 부분**이나 **책이 낡은 부분**이라고
표시하고,
잴 수 있는 것은 재서 보여 줍니다. `malloc()`은 시스템 콜이 아니고(`strace`로 그 뒤의 `mmap()`을 봅니다),
페이지 테이블은 커널 전체에 하나뿐인 표가 아니며(프로세스마다 따로 있습니다), 책의 화면에서 1640 KiB에 멈춘
RES는 실제 값이 아니라 늦게 따라오는 카운터입니다. 책의 테스트 프로그램은 바이트 값을 "MB"라고 찍고,
오버커밋 기본 모드는 "0 또는 1"이 아니라 0입니다. 모드 0은 더 이상 책의 설명대로 동작하지 않아서(커널
5.2에서 바뀌었습니다) 책의 957 MiB 시스템에서는 `malloc(10GB)`가 실패합니다. 그리고 마지막 단계인 메모리가
실제로 바닥나는 상황을 책은 아예 보여 주지 않습니다.
"""),
    # ------------------------------------------------------------------ setup
    md("""
## Set up

One cell imports everything the chapter uses, loads the charts' library into this page (once, a few
seconds) and prints what this machine allows. The last lines decide
which experiments run for real here: whether this Jupyter kernel may change `vm.overcommit_memory`, and whether
it may create a memory cgroup for the OOM demo.
""", """
## 준비하기

아래 셀 하나가 이 장에서 쓰는 것을 모두 불러오고, 차트 라이브러리를 이 페이지에 한 번 불러온 뒤(몇 초),
이 시스템에서 무엇이 가능한지 보여 줍니다. 마지막 몇 줄이
어떤 실험을 실제로 돌릴 수 있는지 정합니다. 이 주피터 커널이 `vm.overcommit_memory`를 바꿀 수 있는지, 그리고
OOM 실험을 위한 메모리 cgroup을 만들 수 있는지입니다.
"""),
    code("""
from kernel_helpers import quiz
from kernel_helpers.lessons import ch2_3 as lesson
from kernel_helpers.safety import GiB
from kernel_helpers.widgets import load_charts, memory_panel, overcommit_whatif

load_charts()
lesson.machine()
"""),
    # ------------------------------------------------------------------ malloc experiment
    md("""
## Reserve memory with `malloc()` and watch VIRT and RES

The book's experiment is a program that calls `malloc(1 MiB)` once a second and never writes to the
memory it gets. Running `top -b -n 1 | grep -i malloc` again and again, the book saw VIRT climb by
1028 KiB each second while RES did not move.

`malloc_test` is that program, rewritten so that it reports every step on its standard output, in bytes.
The panel below draws its VIRT, RES and SHR five times a second from `/proc/PID/statm`, the same file
`top` reads (if this kernel's RES counter lags, a dashed line adds the exact figure; more on that
below); the lower chart shows how much Committed_AS has changed (more on that later) and how many
minor page faults the process has taken. The panel has its own buttons: you can start, pause and stop
it, and switch `memset` on and off while it runs. The cells below drive it from code, so the chapter
also runs without anyone clicking.

Before you start it, make a prediction.
""", """
## `malloc()`으로 메모리를 예약하고 VIRT와 RES 지켜보기

책의 실험은 1초마다 `malloc(1 MiB)`을 호출하고, 받은 메모리에는 전혀 쓰지 않는 프로그램입니다. 책은
`top -b -n 1 | grep -i malloc`을 거듭 실행하면서, VIRT는 1초마다 1028 KiB씩 올라가는데 RES는 움직이지
않는 것을 확인했습니다.

`malloc_test`는 그 프로그램을 다시 작성한 것으로, 단계마다 표준 출력에 바이트 단위로 보고합니다. 아래
패널은 `top`이 읽는 바로 그 파일인 `/proc/PID/statm`에서 1초에 다섯 번 VIRT, RES, SHR을 읽어 그립니다
(이 커널의 RES 카운터가 늦게 따라오면 정확한 값을 점선으로 함께 그립니다.
이 점은 바로 아래에서 다룹니다). 아래쪽 차트는 Committed_AS가 얼마나 변했는지(뒤에서 다룹니다)와 프로세스가 겪은 마이너 페이지 폴트 수를
보여 줍니다. 패널에는 자체 버튼이 있어서 시작, 일시정지, 중지를 할 수 있고, 실행 중에 `memset`을 켜고 끌
수도 있습니다. 아래 셀들은 패널을 코드로 조작하므로, 아무도 클릭하지 않아도 이 장이 끝까지 실행됩니다.

시작하기 전에 먼저 예상해 보세요.
"""),
    code("""
q = quiz.ask("2.3-malloc-res")
"""),
    md("""
The next cell creates the panel. The chart is empty until the cell after it starts `malloc_test`.
""", """
다음 셀이 패널을 만듭니다. 그다음 셀이 `malloc_test`를 시작하기 전까지 차트는 비어 있습니다.
"""),
    code("""
panel = memory_panel(interval_ms=lesson.INTERVAL_MS, max_mib=lesson.PANEL_MAX_MIB)
"""),
    code("""
panel.start()
lesson.run_steps(panel, lesson.STEPS)
lesson.step_view(panel.step_table())
"""),
    md("""
Watch the chart while the steps come in: VIRT is a staircase, one stair per `malloc()`, and RES is an
almost flat line. The table lists the last steps as the panel measured them right after each one:
the totals, and what each step changed. Now check your prediction against the measurement.
""", """
단계가 진행되는 동안 차트를 보세요. VIRT는 `malloc()` 한 번에 한 칸씩 오르는 계단이고, RES는 거의 평평한
선입니다. 표는 패널이 단계마다 곧바로 잰 마지막 몇 단계를 보여 줍니다. 그 시점의 합계와, 각 단계가 바꾼
양입니다. 이제 예상을 측정값과 맞춰 봅시다.
"""),
    code("""
q.check(lesson.res_per_step(panel.step_table()));
"""),
    md("""
The verdict above is judged on exact figures: the minor faults, and the **exact Rss** column
(`ΔRss exact`), which the kernel computes by walking the process's page tables
(`/proc/PID/smaps_rollup`). `top`'s RES column is something else: a counter the kernel adjusts as pages come and go, so that
reading it is cheap. On many kernels that counter is **cached** and can trail the truth:

- before 6.2 (Debian 12's 6.1, Ubuntu 22.04's 5.15, RHEL 9's 5.14), each thread collects its RSS changes
  and hands them to the process's counter every 64 page faults (and when the thread exits or execs), so
  a process that takes one fault a step can show the same RES for dozens of steps; freeing memory
  subtracts from the shared counter at once, so RES can even read lower than the truth. No later update of
  these branches changed that;
- from 6.2 to 6.15 (Ubuntu 24.04's 6.8, WSL2's 6.6 before 6.6.98) the counter is kept per CPU, and
  `statm` reads only the shared total, which each CPU tops up once its share reaches a batch: up to
  just under 32 pages per CPU on small machines (2 x the number of CPUs on machines with more than 16);
- 6.16 and later, and the 6.6 and 6.12 stable branches from 6.6.98 and 6.12.38 on (July 2025), add the
  per-CPU parts up exactly.

Distributions patch their kernels, so the version number is a guide; the measurement decides.

**Where the book is wrong.** The book's own screenshot shows this effect: RES sits at 1640 KiB in every
row while VIRT climbs by 1028 KiB a second, and the book reads that as "no physical memory yet". But a
page *did* become resident at every step; the counter `top` reads simply had not caught up.
The cell below compares the two over the steps you just ran and says which case this kernel is in
(the machine table at the top of the chapter shows a similar probe's result).
""", """
위 판정은 정확한 값, 곧 마이너 폴트 수와 **정확한 Rss** 열(`ΔRss 정확한 값`)을 기준으로 내린 것입니다.
정확한 Rss는 커널이 프로세스의 페이지 테이블을 실제로 훑어서 계산합니다(`/proc/PID/smaps_rollup`). `top`의 RES 열은
성격이 다릅니다. 페이지가 들고 날 때마다 커널이 갱신해 두었다가 싸게 읽어 주는 카운터입니다. 많은 커널에서
이 카운터는 **캐시된** 값이라 실제보다 늦게 따라올 수 있습니다.

- 6.2 이전 커널(데비안 12의 6.1, 우분투 22.04의 5.15, RHEL 9의 5.14)에서는 스레드마다 RSS 변화를 모아
  두었다가 페이지 폴트 64번마다(그리고 스레드가 끝나거나 exec할 때) 프로세스의 카운터에 넘깁니다. 그래서
  단계마다 폴트가 한 번뿐인 프로세스는 수십 단계 동안 같은 RES를 보여 줄 수 있습니다. 메모리를 해제하면 공유
  카운터에서 바로 빼므로, RES가 실제보다 작게 나오기도 합니다. 이 브랜치들은 이후
  업데이트에서도 이 방식을 바꾸지 않았습니다.
- 6.2~6.15 커널(우분투 24.04의 6.8, 6.6.98 이전인 WSL2의 6.6)에서는 카운터를 CPU별로 나눠 두고, `statm`은
  공유 합계만 읽습니다. 각 CPU는 자기 몫이 한 묶음(batch)에 이르러야 합계에 보태므로, 작은 시스템에서는 CPU
  하나당 32페이지 가까이 어긋날 수 있습니다(CPU가 16개를 넘으면 CPU 수의 2배).
- 6.16 이후 커널, 그리고 6.6.98과 6.12.38 이후의 6.6·6.12 안정판(stable) 브랜치(2025년 7월)는 CPU별 조각을
  정확히 더합니다.

배포판은 커널에 패치를 더하므로 버전 번호는 참고일 뿐이고, 판단은 측정으로 합니다.

**책이 틀린 부분.** 책의 스크린숏에 찍힌 것이 바로 이 현상입니다. VIRT는 1초에 1028 KiB씩 오르는데 RES는 모든
줄에서 1640 KiB에 머물러 있고, 책은 이를 "아직 물리 메모리를 받지 않았다"고 읽습니다. 하지만 단계마다 페이지
하나가 실제로 상주 메모리가 되었고, `top`이 읽는 카운터가 아직 따라잡지 못했을 뿐입니다. 아래 셀은 방금 실행한 단계들에서 두 값을 비교하고, 이 커널이 어느 경우인지 알려 줍니다(이 장
맨 위의 시스템 표에도 비슷한 측정 결과가 있습니다).
"""),
    code("""
lesson.explain_lag(panel.step_table());
"""),
    # ------------------------------------------------------------------ 1028
    md("""
## Work out why each step adds 1028 KiB of VIRT and one resident page

Two facts about glibc's `malloc()` explain the staircase:

1. **Large requests get their own mapping.** A request of at least `M_MMAP_THRESHOLD` (128 KiB by
   default) is not carved out of the heap: `malloc()` asks the kernel for a fresh anonymous mapping
   with `mmap()`. (The threshold moves up after a program frees such a block, up to 32 MiB on 64-bit
   systems; `malloc_test` never frees, so every step is its own `mmap()`.)
2. **Every block carries 24 bytes of bookkeeping.** glibc puts a 16-byte header (two 8-byte words:
   the previous chunk's size, unused here, and this chunk's size with its flags) in front of the memory it
   hands out, rounds the chunk to 16 bytes, and sizes an mmapped
   chunk one word larger again: the mapping holds the request + 24 bytes, and the pointer `malloc()`
   returns sits 16 bytes into it. The kernel maps whole pages only: with 4 KiB pages, 1 MiB + 24 bytes
   needs 257 pages, which is 1028 KiB. That is the book's 1028.

Resident memory grows by one page per step because writing the header is a write: the first page of
each block becomes real, the other 256 stay promises. (That is the exact Rss column; the section above
explains why `top`'s RES may show it late.) The very first step costs a little more (the first run of
a code path also faults in some program text), so the summaries below leave it out.

One kernel feature is switched off for `malloc_test`: transparent huge pages (THP). Where THP is set
to `always` (Debian's kernels; the machine table at the top shows this machine's setting), a kernel
thread called khugepaged scans processes and may merge a 2 MiB stretch of small pages into one huge
page; with the default `max_ptes_none` of 511, even a stretch with a single page written qualifies
(adjacent `malloc_test` blocks merge into one mapping, so aligned 2 MiB stretches exist). In this
project's runs on Debian 12's 6.1 kernel under qemu, a step that had written one page later showed
2 MiB more RES. So `malloc_test` asks the kernel for small pages only
(`prctl(PR_SET_THP_DISABLE)`); run `c_programs/bin/malloc_test --thp` in a terminal beside `top` to see
the jumps for yourself.

The cell below prints the same reasoning with this machine's page size and the steps just measured.
""", """
## 단계마다 VIRT가 1028 KiB, 상주 메모리가 한 페이지씩 느는 이유 알아내기

glibc `malloc()`에 관한 사실 두 가지가 이 계단을 설명합니다.

1. **큰 요청은 자기만의 매핑을 받습니다.** `M_MMAP_THRESHOLD`(기본 128 KiB) 이상의 요청은 힙에서 잘라
   주지 않고, `malloc()`이 `mmap()`으로 커널에 새 익명 매핑을 요청합니다. (프로그램이 이런 블록을 해제하면
   임곗값이 올라가며 64비트에서는 최대 32 MiB까지 커집니다. `malloc_test`는 해제하지 않으므로 단계마다
   `mmap()`이 한 번씩 일어납니다.)
2. **모든 블록에는 관리용 24바이트가 붙습니다.** glibc는 내주는 메모리 앞에 16바이트 헤더(8바이트 워드 두
   개: 여기서는 쓰이지 않는 앞 청크의 크기, 그리고 이 청크의 크기와 플래그)를 두고, 청크를 16바이트 단위로 맞춘 뒤, mmap으로 받는 청크에는 한 워드(8바이트)를 더 잡습니다.
   그래서 매핑은 요청 + 24바이트를 담고, `malloc()`이 돌려주는 포인터는 매핑의 16바이트 지점을 가리킵니다.
   커널은 페이지 단위로만 매핑하므로, 4 KiB 페이지에서 1 MiB + 24바이트에는 페이지 257개, 즉 1028 KiB가
   필요합니다. 이것이 책에 나온 1028입니다.

상주 메모리가 단계마다 한 페이지씩 느는 것은 헤더를 적는 일도 쓰기이기 때문입니다. 각 블록의 첫 페이지는
실제 메모리가 되고, 나머지 256페이지는 약속으로 남습니다. (정확한 Rss 열의 이야기입니다. `top`의 RES가 이를
늦게 보여 줄 수 있는 이유는 앞 절에서 설명했습니다.) 맨 첫 단계는 조금 더 듭니다(코드 경로를 처음 실행할
때 프로그램 코드 일부가 폴트로 올라옵니다). 그래서 아래 요약에서는 첫 단계를 뺍니다.

`malloc_test`는 커널 기능 하나를 꺼 둡니다. 투명 거대 페이지(THP)입니다. THP가 `always`로 설정된 시스템(데비안
커널이 그렇습니다. 이 시스템의 설정은 장 맨 위 시스템 표에 있습니다)에서는 khugepaged라는 커널 스레드가 프로세스를
훑으며 작은 페이지들로 된 2 MiB 구간을 거대 페이지 하나로 합칠 수 있습니다. 기본값 `max_ptes_none` 511에서는
페이지 하나만 쓴 구간도 대상이 됩니다(이웃한 `malloc_test` 블록들이 매핑 하나로 합쳐지므로 2 MiB 경계에 맞는
구간이 생깁니다). 이 프로젝트가 qemu에서 데비안 12의 6.1 커널로 돌려 보니, 페이지 하나만 쓴 단계의 RES가
나중에 2 MiB 더 늘어 있었습니다. 그래서 `malloc_test`는 작은
페이지만 쓰겠다고 커널에 요청합니다(`prctl(PR_SET_THP_DISABLE)`). RES가 이렇게 뛰는 모습을 직접 보려면
`top`을 띄워 둔 채 옆 터미널에서 `c_programs/bin/malloc_test --thp`를 실행해 보세요.

아래 셀은 같은 추론을 이 시스템의 페이지 크기와 방금 잰 단계들로 다시 출력합니다.
"""),
    code("""
lesson.explain_steps(panel.step_table(), part="malloc");
"""),
    md("""
## Watch `malloc()` ask the kernel

**Where the book is wrong.** The book calls `malloc()` a system call. It is not: `malloc()` is a
function in the C library (glibc), running inside the process. Only when its free lists cannot serve a
request does it ask the kernel, with one of two system calls: `brk()`, which moves the end of the heap
(small blocks), or `mmap()`, which makes a new mapping (blocks of 128 KiB and more, as above). The
kernel never hears the word malloc.

`strace` shows the system calls a program makes. The cell below runs `malloc_test` for three steps
under `strace -e trace=brk,mmap,munmap` and prints the last lines. (Where `strace` is not installed,
or a container forbids tracing, the cell says so and shows a trace recorded on Linux, labelled.)
""", """
## `malloc()`이 커널에 요청하는 모습 보기

**책이 틀린 부분.** 책은 `malloc()`을 시스템 콜이라고 부릅니다. 그렇지 않습니다. `malloc()`은 C
라이브러리(glibc)의 함수이고 프로세스 안에서 돕니다. 자기가 가진 빈 블록 목록으로 요청을 채울 수 없을 때만
커널에 요청하는데, 이때 쓰는 시스템 콜은 둘 중 하나입니다. 힙의 끝을 옮기는 `brk()`(작은 블록), 그리고 새
매핑을 만드는 `mmap()`(앞에서 본 128 KiB 이상의 블록)입니다. 커널은 malloc이라는 말을 들을 일이 없습니다.

`strace`는 프로그램이 부르는 시스템 콜을 보여 줍니다. 아래 셀은 `malloc_test`를
`strace -e trace=brk,mmap,munmap` 아래에서 세 단계 실행하고 마지막 줄들을 출력합니다. (`strace`가 설치되어
있지 않거나 컨테이너가 추적을 막는 곳에서는 그렇다고 알리고, 리눅스에서 기록해 둔 추적을 기록이라고 밝혀서
보여 줍니다.)
"""),
    code("""
trace = lesson.trace_malloc(steps=3)
"""),
    # ------------------------------------------------------------------ MB bug
    md("""
## Fix the book's units

**Where the book is wrong.** The book's program printed `Allocated 1048576 MB` after its first step. It computed
`(++count) * MEGABYTE`, which is a number of **bytes**, and printed it under an "MB" label. The
product is also a C `int`: after 2047 steps it exceeds 2,147,483,647, the largest 32-bit `int`.
Signed overflow is undefined behaviour in C; with gcc on x86-64 it wraps around to a negative number.

`malloc_test` prints sizes in bytes, labelled by their key (`requested=`), as unsigned 64-bit numbers.
The table puts the book's line next to ours for the first steps the panel measured, then for steps
2047 to 2049, computed (the demo budget does not let the panel run that far).
""", """
## 책의 단위 바로잡기

**책이 틀린 부분.** 책의 프로그램은 첫 단계 뒤에 `Allocated 1048576 MB`를 출력했습니다. `(++count) * MEGABYTE`를 계산했는데
이 값은 **바이트** 수이고, 그것을 "MB"라는 이름표 아래 찍었습니다. 이 곱은 C의 `int`이기도 해서, 2047단계가
지나면 32비트 `int`의 최댓값인 2,147,483,647을 넘습니다. C에서 부호 있는 정수의 오버플로는 정의되지 않은
동작이고, x86-64의 gcc에서는 음수로 넘어갑니다.

`malloc_test`는 크기를 바이트 단위로, 키 이름(`requested=`)을 붙여, 부호 없는 64비트 수로 출력합니다. 아래
표는 패널이 잰 처음 몇 단계에서 책의 출력과 `malloc_test`의 출력을 나란히 놓고, 이어서 2047~2049단계를 계산해서
보여 줍니다(실험 예산 때문에 패널을 거기까지 돌릴 수는 없습니다).
"""),
    code("""
lesson.book_vs_ours(panel)
"""),
    md("""
To see a size past the 32-bit limit printed for real, the next cell asks `big_alloc` to reserve 3 GiB
without touching it (so it costs no RAM) and prints the line the program wrote.
""", """
32비트 한계를 넘는 크기가 실제로 어떻게 찍히는지 보려고, 다음 셀은 `big_alloc`에게 3 GiB를 쓰지 않고
예약만 하게 하고(그래서 RAM은 들지 않습니다) 프로그램이 출력한 줄을 보여 줍니다.
"""),
    code("""
lesson.beyond_int(3 * GiB);
"""),
    # ------------------------------------------------------------------ memset
    md("""
## Turn `memset` on and watch RES follow

Now the program will write every block it gets, as the book's second run did with its `memset()` line
uncommented. Each write to a page that has no physical memory behind it yet is a page fault.
""", """
## `memset`을 켜고 RES가 따라오는 모습 보기

이제 프로그램이 받은 블록을 모두 쓰게 합니다. 책의 두 번째 실행에서 `memset()` 줄의 주석을 풀었던 것과
같습니다. 아직 물리 메모리가 연결되지 않은 페이지에 쓸 때마다 페이지 폴트가 납니다.
"""),
    code("""
q = quiz.ask("2.3-faults-per-mib")
"""),
    md("""
Flip the switch: click **memset** on the panel above, or run the cell below, which does the same thing
(it sends `touch on` to the running program). Scroll up while it runs: a marker appears on the chart
and from that moment the RES line climbs with VIRT.
""", """
스위치를 켜 보세요. 위 패널의 **memset** 버튼을 눌러도 되고, 같은 일을 하는 아래 셀을 실행해도 됩니다
(실행 중인 프로그램에 `touch on`을 보냅니다). 실행되는 동안 위로 스크롤해 보세요. 차트에 표시가 생기고,
그 순간부터 RES 선이 VIRT와 함께 올라갑니다.
"""),
    code("""
panel.set_touch(True)
lesson.run_steps(panel, lesson.STEPS)
lesson.step_view(panel.step_table())
"""),
    code("""
q.check(lesson.faults_per_step(panel.step_table()));
"""),
    md("""
That is enough data; stop the program (the chart keeps its final state) and put both halves of the
run side by side. This is the book's "malloc only vs malloc + memset" table, built from your
measurements. Each figure is a median over the steps, which matters for Committed_AS: it is a
machine-wide total, and other processes move it too.
""", """
데이터는 이만하면 충분합니다. 프로그램을 멈추고(차트는 마지막 상태를 유지합니다) 실행의 두 부분을 나란히
놓아 봅시다. 책의 "malloc만 vs malloc + memset" 표를 여러분의 측정값으로 만든 것입니다. 각 값은 단계들의
중앙값입니다. Committed_AS에서 특히 중요한데, 이 값은 시스템 전체의 합계라서 다른 프로세스도 움직이기
때문입니다.
"""),
    code("""
panel.stop()
lesson.step_summary(panel.step_table())
"""),
    code("""
lesson.explain_steps(panel.step_table(), part="memset");
"""),
    # ------------------------------------------------------------------ demand paging
    md("""
## Follow one page fault, step by step

What happened 256 times per step is called **demand paging**: the kernel gives a process physical
memory only when a page is first touched, not when the memory is allocated. One write to a fresh page
goes like this:

1. `malloc()` returned an address. The kernel recorded the range in the process's list of mappings
   (that is what VIRT adds up), but the **page table**, the map the CPU uses to turn virtual addresses
   into physical ones, has no entry for the page yet.
2. `memset()` writes the first byte of the page. The CPU looks the address up in the page table,
   finds no valid entry, and stops the instruction with a **page fault** exception.
3. The kernel's fault handler checks the address: it lies inside a mapping the process may write, so
   this is legitimate (an address outside every mapping would end in SIGSEGV instead).
4. The kernel takes a free physical page and fills it with zeros, so that no process ever sees
   another process's old data.
5. It writes the page-table entry (this virtual page → that physical page, writable), and counts the
   page in the process's RES and the fault in its minor-fault counter.
6. It returns from the exception, and the CPU **retries the same write**, which now succeeds. The
   remaining 4095 bytes of that page go through without any fault.

The fault is *minor* because no disk was involved. A *major* fault has to wait for I/O: reading a
file page that is not in the page cache, or bringing a page back from swap.

What does a fault cost? On the machine this chapter was written on (a 2-core AMD EPYC virtual machine,
kernel 6.18), `make bench` measured about 1.6 µs to write a fresh 4 KiB page, fault included, and
about 0.5 µs to write the same page again: the fault itself costs about 1.1 µs. So writing 1 GiB for
the first time means 262,144 faults and roughly 0.3 s of kernel work before any of the data is used.
`make bench` measures it on your machine too (the "first write of a 4 KiB page" row).

Strictly, step 5 updates the RSS counter that `top` later reads as RES; on kernels before 6.16 (except
6.6.98+ and 6.12.38+) that counter may show the change late (the lag measured above).
The page-fault counters are exact on every kernel.

**Where the book is wrong.** The book calls the page table "a global variable of the kernel". There is
no single table: every process has its own page tables, and when the kernel switches the CPU to a
process it also switches the CPU to that process's tables (on x86, the CR3 register). That is how the
same virtual address can mean different memory in two processes. `/proc/PID/status` shows how much
memory each process's page tables take (`VmPTE`); the cell after this text reads it for this Jupyter kernel
and for PID 1: two processes, two sets of tables, each sized for its own mappings.
""", """
## 페이지 폴트 하나를 단계별로 따라가기

단계마다 256번씩 일어난 일을 **요구 페이징**이라고 합니다. 커널은 메모리를 할당할 때가 아니라 페이지에
처음 접근할 때 비로소 프로세스에게 물리 메모리를 줍니다. 새 페이지에 한 번 쓰는 과정은 이렇습니다.

1. `malloc()`이 주소를 돌려주었습니다. 커널은 그 범위를 프로세스의 매핑 목록에 적어 두었지만(VIRT가 더하는
   것이 이것입니다), CPU가 가상 주소를 물리 주소로 바꿀 때 쓰는 **페이지 테이블**에는 아직 그 페이지의
   항목이 없습니다.
2. `memset()`이 그 페이지의 첫 바이트를 씁니다. CPU는 페이지 테이블에서 주소를 찾다가 유효한 항목이 없다는
   것을 알고, 그 명령을 **페이지 폴트** 예외로 멈춥니다.
3. 커널의 폴트 처리기가 주소를 확인합니다. 프로세스가 쓸 수 있는 매핑 안의 주소이므로 정당한 접근입니다
   (어느 매핑에도 속하지 않는 주소였다면 SIGSEGV로 끝났을 것입니다).
4. 커널은 빈 물리 페이지 하나를 가져와 0으로 채웁니다. 어떤 프로세스도 다른 프로세스가 남긴 옛 데이터를
   볼 수 없게 하기 위해서입니다.
5. 페이지 테이블 항목(이 가상 페이지 → 저 물리 페이지, 쓰기 가능)을 적고, 그 페이지를 프로세스의 RES에,
   폴트를 마이너 폴트 카운터에 더합니다.
6. 예외에서 돌아오면 CPU가 **같은 쓰기를 다시 시도**하고, 이번에는 성공합니다. 그 페이지의 나머지
   4095바이트는 폴트 없이 지나갑니다.

디스크가 관여하지 않았으므로 이 폴트는 *마이너* 폴트입니다. *메이저* 폴트는 I/O를 기다려야 하는 경우로,
페이지 캐시에 없는 파일 페이지를 읽거나 스왑에 나간 페이지를 다시 들여올 때 생깁니다.

폴트 한 번은 얼마나 들까요? 이 장을 쓴 시스템(코어 2개짜리 AMD EPYC 가상 머신, 커널 6.18)에서 `make bench`로
재 보니, 새 4 KiB 페이지에 처음 쓰는 데 폴트를 포함해 약 1.6 µs, 같은 페이지에 다시 쓰는 데 약 0.5 µs가
걸렸습니다. 폴트 자체가 약 1.1 µs인 셈입니다. 그러니 1 GiB를 처음 쓰면 폴트가 262,144번 일어나고, 데이터를
실제로 활용하기도 전에 커널 작업에만 약 0.3초가 듭니다. 여러분의 시스템에서도 `make bench`로 잴 수 있습니다("first write of a
4 KiB page" 줄).

5단계의 "RES에 더한다"는 정확히 말하면, `top`이 나중에 RES로 읽어 갈 RSS 카운터를 갱신한다는 뜻입니다.
6.16 이전 커널(6.6.98 이후와 6.12.38 이후는 제외)에서는 이 갱신이 늦게 드러날 수 있습니다(앞에서 잰 지연입니다). 페이지 폴트 카운터는
어느 커널에서나 정확합니다.

**책이 틀린 부분.** 책은 페이지 테이블을 "커널의 전역 변수"라고 부릅니다. 페이지 테이블은 하나가 아닙니다.
프로세스마다 자기 페이지 테이블이 있고, 커널은 CPU를 어떤 프로세스로 전환할 때 CPU가 보는 페이지 테이블도
그 프로세스의 것으로 바꿉니다(x86에서는 CR3 레지스터). 그래서 같은 가상 주소가 두 프로세스에서 서로 다른
메모리를 가리킬 수 있습니다. 각 프로세스의 페이지 테이블이 차지하는 메모리는 `/proc/PID/status`의 `VmPTE`에
나옵니다. 아래 셀은 이 주피터 커널과 PID 1의 값을 읽습니다. 프로세스가 둘이니 페이지 테이블도
두 벌이고, 각자 자기 매핑에 맞는 크기입니다.
"""),
    code("""
lesson.page_tables()
"""),
    # ------------------------------------------------------------------ zero page
    md("""
## Read memory that nobody has written

Writes make pages real. What about reads? The next experiment runs a tiny Python program that maps
64 MiB of private anonymous memory (what `malloc()` gets from `mmap()`), then reads one byte in every
page, reads them all again, writes one byte in every page, and reads once more. After each action
the cell measures the program's minor faults, exact Rss and RES from `/proc`.
""", """
## 아무도 쓰지 않은 메모리 읽기

쓰기는 페이지를 실제 메모리로 만듭니다. 그러면 읽기는 어떨까요? 다음 실험은 작은 파이썬 프로그램을
실행합니다. 이 프로그램은 비공개 익명 메모리(`malloc()`이 `mmap()`으로 받는 것과 같은 종류) 64 MiB를
매핑한 뒤, 모든 페이지에서 한 바이트씩 읽고, 다시 한 번 모두 읽고, 모든 페이지에 한 바이트씩 쓰고, 마지막으로
한 번 더 읽습니다. 셀은 동작이 끝날 때마다 `/proc`에서 그 프로그램의 마이너 폴트, 정확한 Rss, RES를 잽니다.
"""),
    code("""
q = quiz.ask("2.3-zero-page")
"""),
    code("""
zp = lesson.zero_page_demo()
zp
"""),
    code("""
q.check(zp.attrs["read_res"]);
"""),
    md("""
The table shows the first read taking one fault per page, while the exact Rss does not move (`top`'s
RES is shown beside it; where that counter lags, RES may move here as older changes are published late). For a read of anonymous memory that was
never written, the kernel maps the **zero page**: a single page full of zeros, shared by every such
read in the whole system and counted in nobody's RES. The second read costs nothing: the mappings are
in place. The first write to each page faults again; this time the kernel replaces the zero page with a
fresh page of the process's own (copy-on-write from the zero page), and the exact Rss grows by the full amount.

This is why a program can allocate a huge, mostly empty array and read it cheaply, and why the kernel
documentation names "sparse arrays … relying on the virtual memory consisting almost entirely of zero
pages" as the classic case for overcommit mode 1, which comes next.

One setting is pinned for this demo: the program asks for ordinary 4 KiB pages with
`madvise(MADV_NOHUGEPAGE)`. Where transparent huge pages are set to `always` (Debian's kernels; the
machine table at the top shows this machine's setting), a read of a large, aligned stretch could
otherwise map a 2 MiB *huge* zero page with a single fault, so the read rows would show one fault per
2 MiB instead of one per page. (With `/sys/kernel/mm/transparent_hugepage/use_zero_page` set to 0, such
a read would even allocate a real 2 MiB page, and RES would grow on a read.)
""", """
표를 보면 처음 읽을 때 페이지마다 폴트가 한 번씩 났는데도 정확한 Rss는 움직이지 않았습니다(옆 열에는
`top`의 RES를 함께 두었습니다. 카운터가 늦게 따라오는 커널에서는 앞서 난 폴트가 이때 뒤늦게 반영되어 RES가
움직일 수 있습니다). 한 번도 쓰지 않은 익명 메모리를
읽으면 커널은 **제로 페이지**를 매핑합니다. 시스템 전체에서 이런 읽기는 모두 0으로 가득 찬 페이지
하나를 공유하며, 이 페이지는 누구의 RES에도 들어가지 않습니다. 두 번째 읽기는 아무 비용이 없습니다. 매핑이 이미 있기
때문입니다. 각 페이지에 처음 쓸 때 폴트가 다시 나고, 이번에는 커널이 제로 페이지를 그 프로세스만의 새
페이지로 바꿔 줍니다(제로 페이지를 쓰기 시 복사하는 셈입니다). 그래서 정확한 Rss가 매핑 크기만큼 모두 늘어납니다.

덕분에 프로그램은 거대하지만 거의 비어 있는 배열을 할당해 놓고 싸게 읽을 수 있습니다. 커널 문서가
곧이어 볼 오버커밋 모드 1의 대표적인 쓰임으로 "가상 메모리가 거의 전부 제로 페이지로 이루어져 있다고 믿는
희소 배열"을 드는 이유도 여기에 있습니다.

이 실험에서는 설정 하나를 고정해 두었습니다. 프로그램이 `madvise(MADV_NOHUGEPAGE)`로 보통의 4 KiB 페이지를
요청합니다. 투명 거대 페이지(THP)가 `always`로 설정된 시스템(데비안 커널이 그렇습니다. 이 시스템의 설정은 장 맨 위
시스템 표에 있습니다)에서 이렇게 하지 않으면, 크고 정렬된 구간을 읽을 때 폴트 한 번에 2 MiB짜리 *거대* 제로
페이지(huge zero page)가 매핑될 수 있습니다. 그러면 읽기 줄에는 페이지마다가 아니라 2 MiB마다 폴트가 한 번씩
찍힙니다. (`/sys/kernel/mm/transparent_hugepage/use_zero_page`가 0이면 이런 읽기가 아예 진짜 2 MiB 페이지를
할당해서, 읽기만 했는데도 RES가 늘어납니다.)
"""),
    # ------------------------------------------------------------------ Committed_AS
    md("""
## Watch the kernel promise memory: Committed_AS

When `malloc()` returns an address, no RAM has been handed over, but the kernel has made a promise:
the process may write there, and a page will be found when it does. This is **memory commit**. The
kernel keeps a running total of its promises in `/proc/meminfo`:

- **Committed_AS** adds up everything that may need RAM or swap one day: private writable mappings
  (the heap and `malloc()`'s mappings), shared anonymous memory, stacks. It grows at `malloc()` /
  `mmap()` time, in every overcommit mode, before any page is touched. Mappings that can never need
  new memory of their own are not counted: `PROT_NONE` reservations, read-only or shared file mappings,
  and `MAP_NORESERVE` mappings (except in mode 2).
- **CommitLimit** is the ceiling for Committed_AS. Only mode 2 enforces it.

The cell reads both now, and recomputes CommitLimit from its formula beside the kernel's value.
""", """
## 커널이 메모리를 약속하는 모습 보기: Committed_AS

`malloc()`이 주소를 돌려줄 때 RAM이 넘어간 것은 아니지만, 커널은 약속을 하나 했습니다. 프로세스가 거기에
써도 되며, 쓰는 순간 페이지를 찾아 주겠다는 약속입니다. 이것이 **메모리 커밋**입니다. 커널은 약속한 양의
합계를 `/proc/meminfo`에 계속 적어 둡니다.

- **Committed_AS**는 언젠가 RAM이나 스왑이 필요해질 수 있는 모든 것을 더합니다. 쓰기 가능한 비공개
  매핑(힙과 `malloc()`이 받은 매핑), 공유 익명 메모리, 스택이 여기에 듭니다. 이 값은 어떤 오버커밋
  모드에서든, 페이지를 하나도 건드리기 전인 `malloc()`/`mmap()` 시점에 늘어납니다. 스스로 새 메모리가 필요할
  일이 없는 매핑은 세지 않습니다. `PROT_NONE` 예약, 읽기 전용이거나 공유된 파일 매핑, 그리고
  `MAP_NORESERVE` 매핑(모드 2는 예외)이 그렇습니다.
- **CommitLimit**은 Committed_AS의 상한입니다. 이 상한을 강제하는 것은 모드 2뿐입니다.

아래 셀은 두 값을 지금 읽고, CommitLimit을 공식으로 다시 계산해 커널의 값 옆에 놓습니다.
"""),
    code("""
lesson.commit_now()
"""),
    md("""
The panel's lower chart drew Committed_AS while the steps went by; on a quiet machine it climbs by one
VIRT step per `malloc()`, memset or not (the summary table has the median per step). Because every
other process on the machine moves it too, the next experiment measures it more carefully: `big_alloc` reserves 256 MiB in one `malloc()` and writes none
of it, three times; a 1-byte `big_alloc`, also three times, measures what the program commits for itself
(its stack and data), to be subtracted.
""", """
패널의 아래쪽 차트는 단계가 진행되는 동안 Committed_AS도 그렸습니다. 조용한 시스템이라면 memset을 하든 안
하든 `malloc()`할 때마다 VIRT 한 칸만큼 올라갑니다(요약 표에 단계별 중앙값이 있습니다). 다만 시스템의 다른 모든
프로세스도 이 값을 움직이므로, 다음 실험은 좀 더 조심스럽게 잽니다. `big_alloc`이 `malloc()` 한 번으로 256 MiB를 예약하고 한 바이트도 쓰지
않는 실험을 세 번 하고, 1바이트짜리 `big_alloc`도 세 번 실행해 프로그램이 자체적으로 커밋하는 양(스택과
데이터)을 재서 빼 줍니다.
"""),
    code("""
q = quiz.ask("2.3-commit")
"""),
    code("""
probe = lesson.commit_probe()
probe.table()
"""),
    code("""
probe.explain()
q.check(probe.reservation);
"""),
    # ------------------------------------------------------------------ modes
    md("""
## Know the three overcommit modes, as today's kernels apply them

`vm.overcommit_memory` decides when the kernel refuses a promise, that is, when `mmap()` (and so
`malloc()`) fails with ENOMEM. It is one machine-wide setting; only root can change it.

| mode | name | refuses a request when | notes |
|---|---|---|---|
| **0** (default) | heuristic | that **single request** is larger than **total RAM + total swap** | ignores free memory, the page cache and Committed_AS (kernel 5.2 and later) |
| **1** | always | never | only the address space itself can run out |
| **2** | never overcommit | Committed_AS + request would reach **CommitLimit** minus the reserves | CommitLimit = (RAM − HugeTLB pages) × `overcommit_ratio`/100 + swap, or `overcommit_kbytes` + swap when that is set; reserves: min(VIRT/32, `user_reserve_kbytes`) for every caller, plus `admin_reserve_kbytes` for callers without CAP_SYS_ADMIN |

**Where the book is out of date.** The book says the kernel hands out the addresses "if there is space
available", and calls the default heuristic. That describes the old mode 0: until Linux 5.1 it estimated
how much memory could be freed (free pages, page cache, swap, reclaimable kernel caches) and refused a
request larger than that. Kernel 5.2 (the change "mm: fix false-positive OVERCOMMIT_GUESS failures")
replaced it with the rule in the table:
a single request larger than RAM + swap is refused, and everything else is granted, however little
memory is free. So under the default mode `malloc()` succeeds for almost any size a real program asks
for, and running out of memory shows up later, when pages are written, as the OOM killer, not as
`malloc()` returning NULL. The next experiments show each of these on this machine.

The book also says the default is "usually 0 or 1". The kernel's default is 0 (`mm/util.c` sets
`sysctl_overcommit_memory = OVERCOMMIT_GUESS`), and the big distributions keep it. But Kubernetes'
kubelet sets `vm.overcommit_memory=1` on every node it manages (unless it runs with
`--protect-kernel-defaults`), so on Binder and most hosted JupyterHubs you will likely see 1; Redis's
documentation recommends 1 as well. So the book's "0 or 1" is not far from what readers meet. The machine table at the
top of this chapter shows this machine's mode.

Mode 2 also explains a classic surprise: with the default `overcommit_ratio` of 50 and no swap, a
machine in mode 2 promises only half its RAM, and `fork()` of a large process can fail, because the
child's private writable memory is committed again even though copy-on-write will share most of it.
""", """
## 지금 커널이 적용하는 세 가지 오버커밋 모드 알기

`vm.overcommit_memory`는 커널이 언제 약속을 거절할지, 즉 언제 `mmap()`(그래서 `malloc()`)이 ENOMEM으로
실패할지를 정합니다. 시스템 전체에 하나뿐인 설정이고, root만 바꿀 수 있습니다.

| 모드 | 이름 | 요청을 거절하는 때 | 참고 |
|---|---|---|---|
| **0**(기본값) | 휴리스틱 | 그 **요청 하나**가 **전체 RAM + 전체 스왑**보다 클 때 | 빈 메모리, 페이지 캐시, Committed_AS는 보지 않음(커널 5.2 이후) |
| **1** | 항상 허용 | 거절하지 않음 | 주소 공간 자체가 바닥날 때만 실패 |
| **2** | 오버커밋 금지 | Committed_AS + 요청이 **CommitLimit**에서 예비분을 뺀 값에 닿을 때 | CommitLimit = (RAM − HugeTLB 페이지) × `overcommit_ratio`/100 + 스왑, 또는 `overcommit_kbytes`를 설정했다면 `overcommit_kbytes` + 스왑. 예비분: 모든 호출자에게 min(VIRT/32, `user_reserve_kbytes`), CAP_SYS_ADMIN이 없는 호출자에게는 `admin_reserve_kbytes`도 |

**책이 낡은 부분.** 책은 커널이 "가용한 공간이 있다면" 주소를 내준다고 하고, 기본 동작을 휴리스틱이라고
부릅니다. 이것은 예전 모드 0의 설명입니다. 리눅스 5.1까지의 모드 0은 확보할 수 있는 메모리(빈 페이지,
페이지 캐시, 스왑, 회수 가능한 커널 캐시)를 어림해서 그보다 큰 요청을 거절했습니다. 커널 5.2("mm: fix
false-positive OVERCOMMIT_GUESS failures" 변경)는 이를 표의 규칙으로 바꿨습니다. RAM + 스왑보다 큰 요청 하나만 거절하고, 나머지는 빈 메모리가 아무리 적어도 허락합니다. 그래서
기본 모드에서 `malloc()`은 실제 프로그램이 요청할 만한 거의 모든 크기에 성공하고, 메모리 부족은 나중에
페이지를 쓸 때 `malloc()`의 NULL이 아니라 OOM 킬러로 드러납니다. 이어지는 실험들이 이 시스템에서 하나씩
보여 줍니다.

책은 기본값이 "보통 0 또는 1"이라고도 합니다. 커널의 기본값은 0이고(`mm/util.c`가
`sysctl_overcommit_memory = OVERCOMMIT_GUESS`로 정합니다), 주요 배포판도 이 값을 그대로 둡니다. 하지만
쿠버네티스의 kubelet은 자기가 관리하는 모든 노드에서 `vm.overcommit_memory=1`로 설정합니다
(`--protect-kernel-defaults`로 실행하지 않는 한). 그래서 Binder나 대부분의 호스팅 JupyterHub에서는 1을 보게
될 가능성이 높고, Redis 문서도 1을 권합니다. 그러니 책의 "0 또는 1"은 독자가 실제로 만나는 값과 크게 다르지
않습니다. 이 시스템의 모드는 장 맨 위 시스템 표에 나옵니다.

모드 2는 흔히 당황하게 되는 상황 하나도 설명해 줍니다. 기본 `overcommit_ratio` 50에 스왑이 없으면 모드 2의
시스템은 RAM의 절반만 약속하므로, 큰 프로세스의 `fork()`가 실패할 수 있습니다. 쓰기 시 복사 덕분에
대부분을 공유하게 될 텐데도, 자식의 쓰기 가능한 비공개 메모리를 다시 한 번 약속해야 하기 때문입니다.
"""),
    # ------------------------------------------------------------------ mode 0 for real
    md("""
## Ask for more memory than the machine has

Time to test the book's claim that "`malloc(10GB)` succeeds". On this machine, how about 1 TiB?
""", """
## 시스템이 가진 것보다 많은 메모리 요청하기

"`malloc(10GB)`는 성공한다"는 책의 주장을 시험해 볼 차례입니다. 이 시스템에서 1 TiB라면 어떨까요?
"""),
    code("""
q = quiz.ask("2.3-tib-mode0")
"""),
    code("""
r = lesson.try_alloc(1 * lesson.TiB)
q.check(r);
"""),
    md("""
`big_alloc` only reserves; it writes nothing, so asking costs no RAM whatever the answer. Now find the
line mode 0 draws, to the byte. The cell asks for the largest size the rule allows (RAM + swap in pages,
minus `malloc()`'s 24 bytes of bookkeeping), then for one byte more. The third column compares the request with
MemAvailable: the first request is larger than the memory available right now, and still granted.
""", """
`big_alloc`은 예약만 하고 아무것도 쓰지 않으므로, 답이 무엇이든 요청하는 데 RAM이 들지 않습니다. 이제
모드 0이 긋는 선을 바이트 단위까지 찾아봅시다. 아래 셀은 규칙이 허락하는 가장 큰 크기(페이지 단위의
RAM + 스왑에서 `malloc()`의 관리용 24바이트를 뺀 값)를 요청하고, 이어서 그보다 1바이트 더 요청합니다. 세 번째 열은
요청을 MemAvailable과 비교합니다. 첫 요청은 지금 쓸 수 있는 메모리보다 큰데도 허락됩니다.
"""),
    code("""
lesson.mode0_boundary()
"""),
    md("""
One byte decides. Neither free memory nor Committed_AS played any part: the old heuristic would have
refused the first request as soon as it exceeded what could be freed, and the book's description would
predict just that.

**Where the book is wrong.** So is "`malloc(10GB)` succeeds" true? Not on the book's own machine. Its
`top` screenshot in 2.1 shows 957 MiB of RAM and no swap; today's mode 0 refuses any single request
larger than RAM + swap, so there `malloc(10GB)` fails with ENOMEM. It succeeds only where RAM + swap
exceeds 10 GB. The next cell applies the rule to the book's machine and asks this machine's kernel for real:
""", """
1바이트가 결과를 가릅니다. 빈 메모리도 Committed_AS도 아무 역할을 하지 않았습니다. 옛 휴리스틱이었다면
확보할 수 있는 양을 넘는 순간 첫 요청부터 거절했을 것이고, 책의 설명으로도 그렇게 예상하게 됩니다.

**책이 틀린 부분.** 그렇다면 "`malloc(10GB)`는 성공한다"는 맞을까요? 책의 시스템에서는 아닙니다. 2.1의
`top` 화면을 보면 그 시스템은 RAM이 957 MiB이고 스왑이 없습니다. 지금의 모드 0은 RAM + 스왑보다 큰 요청
하나를 거절하므로, 그곳에서 `malloc(10GB)`는 ENOMEM으로 실패합니다. RAM + 스왑이 10 GB보다 큰 시스템에서만
성공합니다. 아래 셀은 책의 시스템에 이 규칙을 적용해 보고, 이 시스템의 커널에는 실제로 물어봅니다.
"""),
    code("""
lesson.book_10gb()
"""),
    md("""
The widget below lets you try any size under any mode. It predicts from this machine's live figures and
explains why; **Ask the kernel** runs `big_alloc` for real (a reservation only). Where the mode can be
changed here it sets the chosen mode for that one run and puts it back; elsewhere it says that it shows a
prediction. The cell after it asks about 32 GiB under mode 2 with ratio 50 from code.
""", """
아래 위젯으로 어떤 크기든 어떤 모드로든 시험해 볼 수 있습니다. 이 시스템의 현재 수치로 결과를 예측하고 그
이유를 설명하며, **커널에 물어보기**는 `big_alloc`을 실제로 실행합니다(예약만 합니다). 여기서 모드를 바꿀
수 있다면 그 한 번의 실행 동안만 고른 모드로 바꾸고 되돌리며, 바꿀 수 없다면 예측만 보여 준다고 알려
줍니다. 그다음 셀은 모드 2, ratio 50에서 32 GiB를 코드로 물어봅니다.
"""),
    code("""
whatif = overcommit_whatif(32 * GiB, mode=2, ratio=50)
"""),
    code("""
print(whatif.run().text)
"""),
    # ------------------------------------------------------------------ modes for real
    md("""
## Switch the mode for real, for a few milliseconds

Where this Jupyter kernel may change `vm.overcommit_memory` (root on a machine or VM that is yours), the next
cell asks the same three questions under each mode: a small request, one between mode 2's headroom and
RAM + swap, and 1 TiB. Each mode is set with `overcommit.temporarily()` only while the three `big_alloc`
runs take (milliseconds), and the old settings come back when the block ends, on an error, and even if
the Jupyter kernel is killed (a guard process watches it). Keep such windows short on a shared machine:
while mode 2 is on, every process there can get ENOMEM.

Without that privilege (Binder, JupyterHub, any container) the current mode runs for real and the other
cells are predictions, marked as such.
""", """
## 몇 밀리초 동안 모드를 실제로 바꿔 보기

이 주피터 커널이 `vm.overcommit_memory`를 바꿀 수 있는 곳이라면(직접 관리하는 시스템이나 VM의 root), 다음 셀은 같은 세 가지
질문을 모드마다 던집니다. 작은 요청, 모드 2의 여유분과 RAM + 스왑 사이의 요청, 그리고 1 TiB입니다. 각
모드는 `big_alloc` 세 번이 실행되는 동안(몇 밀리초)만 `overcommit.temporarily()`로 설정되고, 블록이 끝날
때, 오류가 났을 때, 심지어 주피터 커널이 강제 종료되어도(감시 프로세스가 지켜봅니다) 원래 설정이
돌아옵니다. 여럿이 쓰는 시스템에서는 이런 시간을 짧게 유지하세요. 모드 2가 켜져 있는 동안에는 그 시스템의 모든
프로세스가 ENOMEM을 받을 수 있습니다.

그런 권한이 없다면(Binder, JupyterHub, 모든 컨테이너) 현재 모드만 실제로 실행하고, 나머지 칸은 예측이라고
표시해서 보여 줍니다.
"""),
    code("""
modes = lesson.modes_table()
modes
"""),
    code("""
lesson.explain_modes(modes);
"""),
    md("""
Read the table by rows. The small request passes everywhere. The middle one tells mode 2 apart: it is
more than half the RAM (plus swap), so strict accounting refuses it while modes 0 and 1 grant it. 1 TiB
tells mode 1 apart: mode 0 refuses it for being larger than RAM + swap, mode 1 grants it anyway. In no
mode did any of this cost RAM.
""", """
표는 행 단위로 읽으세요. 작은 요청은 모든 모드에서 통과합니다. 가운데 요청은 모드 2를 가려냅니다. RAM의
절반(+ 스왑)보다 크므로 엄격한 계산은 거절하지만, 모드 0과 1은 허락합니다. 1 TiB는 모드 1을 가려냅니다.
모드 0은 RAM + 스왑보다 크다는 이유로 거절하지만, 모드 1은 그래도 허락합니다. 어느 모드에서도 이 실험에
RAM은 들지 않았습니다.
"""),
    # ------------------------------------------------------------------ RLIMIT_AS
    md("""
## Cap one process without root: RLIMIT_AS

An ordinary user cannot touch `vm.overcommit_memory`, but can limit a single process (and its
children): `ulimit -v` in a shell, `setrlimit(RLIMIT_AS)` in a program, or `prlimit` from outside. The
limit caps VIRT, the process's address space. The next cell starts `malloc_test` (no memset) under a
32 MiB limit and lets it run until `malloc()` fails, then reserves 256 MiB with `big_alloc` with and
without a 128 MiB limit.
""", """
## root 없이 프로세스 하나 제한하기: RLIMIT_AS

일반 사용자는 `vm.overcommit_memory`를 건드릴 수 없지만, 프로세스 하나(와 그 자식들)는 제한할 수
있습니다. 셸에서는 `ulimit -v`, 프로그램에서는 `setrlimit(RLIMIT_AS)`, 바깥에서는 `prlimit`을 씁니다. 이
제한은 프로세스의 주소 공간인 VIRT에 상한을 겁니다. 다음 셀은 `malloc_test`(memset 없이)를 32 MiB 제한으로
시작해 `malloc()`이 실패할 때까지 돌리고, 이어서 `big_alloc`으로 256 MiB를 128 MiB 제한이 있을 때와 없을 때
각각 예약해 봅니다.
"""),
    code("""
q = quiz.ask("2.3-rlimit")
"""),
    code("""
rl = lesson.rlimit_demo()
rl.show()
"""),
    code("""
q.check(rl);
"""),
    md("""
Here, finally, `malloc()` returns NULL: the limit is checked when the mapping is made, so the program
gets ENOMEM as an ordinary error and carries on. The number of good steps follows from the arithmetic:
whatever VIRT the program started with, plus 1028 KiB per step, must stay under the limit.

RLIMIT_AS is a blunt tool, though, because it counts address space, not memory used. A program that
reserves large regions it may never touch (glibc's 64 MiB arena per thread, thread stacks, the heaps of
Java or Go runtimes) hits the limit long before it uses that much RAM. Memory cgroups, next, limit what
a group of processes actually uses.
""", """
여기서 드디어 `malloc()`이 NULL을 돌려줍니다. 이 제한은 매핑을 만들 때 검사하므로, 프로그램은 ENOMEM을
평범한 오류로 받고 계속 실행됩니다. 성공한 단계 수는 계산으로 나옵니다. 프로그램이 처음 가진 VIRT에
단계마다 1028 KiB를 더한 값이 제한 아래에 있어야 합니다.

다만 RLIMIT_AS는 쓰는 메모리가 아니라 주소 공간을 세기 때문에 무딘 도구입니다. 건드리지 않을 수도 있는 큰
영역을 예약하는 프로그램(스레드마다 64 MiB씩인 glibc 아레나, 스레드 스택, 자바나 Go 런타임의 힙)은 그만한
RAM을 쓰기 훨씬 전에 제한에 걸립니다. 다음에 볼 메모리 cgroup은 프로세스 그룹이 실제로 쓰는 양을 제한합니다.
"""),
    # ------------------------------------------------------------------ OOM
    md("""
## Run out of memory for real: the OOM killer in a cage

In modes 0 and 1 the kernel promises far more than it has. When processes finally write more than RAM
and swap can hold, there is no `malloc()` left to fail: the program is in the middle of an ordinary
write instruction, the page fault of the previous section, and the kernel cannot find a page. Once it
can reclaim nothing more, the **OOM killer** picks a victim (mostly by how much memory it holds,
adjusted by `oom_score_adj`) and sends it SIGKILL, which cannot be caught.

Doing this to the whole machine would hurt everybody on it, so the experiment builds a cage: a memory
cgroup with a 64 MiB limit. `malloc_test` starts paused (`--wait-go`), is moved into the cgroup, and is
then told to go with memset on. The cgroup's limit acts like a tiny machine, and its OOM killer only
looks inside it. Afterwards the cgroup is removed. This needs root (or a delegated cgroup); elsewhere
the cell explains instead.
""", """
## 메모리를 정말로 바닥내기: 울타리 안의 OOM 킬러

모드 0과 1에서 커널은 가진 것보다 훨씬 많이 약속합니다. 프로세스들이 마침내 RAM과 스왑이 담을 수 있는
것보다 많이 쓰면, 실패할 `malloc()`은 더 이상 없습니다. 프로그램은 평범한 쓰기 명령(앞 절의 페이지 폴트)을
실행하는 중이고, 커널은 페이지를 찾지 못합니다. 더 회수할 것이 없으면 **OOM 킬러**가 희생자를 고르고
(주로 쥐고 있는 메모리 양으로 고르며, `oom_score_adj`로 조정됩니다) 가로챌 수 없는 시그널인 SIGKILL을
보냅니다.

이것을 시스템 전체에 하면 그 시스템을 쓰는 모두가 피해를 보므로, 실험은 울타리를 하나 칩니다. 한도가 64 MiB인
메모리 cgroup입니다. `malloc_test`는 멈춘 상태(`--wait-go`)로 시작해 cgroup으로 옮겨진 뒤, memset을 켠 채
출발 명령(`go`)을 받습니다. 한도를 둔 cgroup은 아주 작은 시스템처럼 작동하고, 그 OOM 킬러는 cgroup 안만 봅니다.
실험이 끝나면 cgroup을 지웁니다. root 권한(또는 위임받은 cgroup)이 필요하며, 그렇지 않은 곳에서는 셀이
설명으로 대신합니다.
"""),
    code("""
q = quiz.ask("2.3-oom")
"""),
    code("""
oom = lesson.oom_demo()
oom.show()
"""),
    code("""
lesson.oom_chart(oom)
"""),
    code("""
lesson.check_oom(q, oom);
"""),
    md("""
Where the cage could be built, the table shows every `malloc()` succeeding and the end coming in the
middle of a write. That is how most Linux programs die of memory exhaustion. `Popen` reports a negative return code (−9, killed by signal 9), a shell reports
exit status 137 (128 + 9), and the kernel log says *Memory cgroup out of memory: Killed process …* (on
a whole machine without a cgroup it says *Out of memory: Killed process …*). `top` shows nothing at
all: the row simply disappears, which is why the sampler records how the process ended. The machine's
MemAvailable hardly moves: the cage holds.
""", """
울타리를 칠 수 있었다면, 표에서 보듯 모든 `malloc()`이 성공했고 끝은 쓰기 도중에 찾아왔습니다. 리눅스
프로그램 대부분이 메모리 부족으로 죽는 방식이 이렇습니다. `Popen`은 음수 반환 코드(−9, 시그널 9로 종료)를, 셸은 종료 상태 137(128 + 9)을 보여
주고, 커널 로그에는 *Memory cgroup out of memory: Killed process …*가 남습니다(cgroup 없이 시스템 전체에서
일어났다면 *Out of memory: Killed process …*). `top`은 아무것도 보여 주지 않습니다. 그 줄이 그냥 사라질
뿐이라서, 샘플러가 프로세스가 어떻게 끝났는지를 따로 기록합니다. 시스템의 MemAvailable은 거의 움직이지
않습니다. 울타리가 제 역할을 하는 것입니다.
"""),
    # ------------------------------------------------------------------ summary
    md("""
## Summary

- **VIRT** counts address space a process has reserved; **RES** counts the pages that are in RAM now.
  `malloc()` grows the first; only **writes** grow the second.
- glibc serves requests of 128 KiB or more with their own `mmap()`: 1 MiB + 24 bytes of bookkeeping,
  rounded up to whole pages, is 1028 KiB with 4 KiB pages. Writing the header makes one page resident.
- `top`'s RES is a cached counter on kernels before 6.16 (6.6.98+ and 6.12.38+ are exact too): it can trail the truth (the book's RES frozen at
  1640 KiB). Minor faults and `smaps_rollup`'s Rss are exact.
- **Demand paging**: the first write to each page is a minor **page fault**; the kernel finds a zeroed
  page, maps it, and the CPU retries the write. 1 MiB of `memset` costs 256 faults with 4 KiB pages.
- Reading never-written anonymous memory maps the shared **zero page**: faults, but no RES.
- **Committed_AS** counts the kernel's promises at `malloc()` time, in every mode. **CommitLimit** caps
  it only in mode 2.
- Mode 0 (kernel 5.2+) refuses only a single request larger than RAM + swap; mode 1 never refuses;
  mode 2 refuses once Committed_AS would pass CommitLimit. The book's mode-0 heuristic is history.
- Without root, **RLIMIT_AS** (`ulimit -v`) makes `malloc()` fail for one process, by address space.
- When overcommitted memory is finally written and none is left, the **OOM killer** sends SIGKILL
  (exit status 137): on Linux, running out of memory rarely looks like `malloc()` returning NULL.
""", """
## 정리

- **VIRT**는 프로세스가 예약한 주소 공간을, **RES**는 지금 RAM에 있는 페이지를 셉니다. `malloc()`은
  앞의 것을 늘리고, 뒤의 것은 **쓰기**만 늘립니다.
- glibc는 128 KiB 이상의 요청을 따로 `mmap()`해서 처리합니다. 1 MiB + 관리용 24바이트를 페이지 단위로
  올리면 4 KiB 페이지에서 1028 KiB입니다. 헤더를 쓰면서 페이지 하나가 상주 메모리가 됩니다.
- 6.16 이전 커널(6.6.98 이후와 6.12.38 이후는 제외)에서 `top`의 RES는 캐시된 카운터라서 실제보다 늦을 수 있습니다(책에서 1640 KiB에 멈춘
  RES). 마이너 폴트 수와 `smaps_rollup`의 Rss는 정확합니다.
- **요구 페이징**: 페이지마다 첫 쓰기는 마이너 **페이지 폴트**입니다. 커널이 0으로 채운 페이지를 찾아
  매핑하면 CPU가 쓰기를 다시 시도합니다. 4 KiB 페이지에서 1 MiB를 `memset`하면 폴트가 256번 납니다.
- 한 번도 쓰지 않은 익명 메모리를 읽으면 공유 **제로 페이지**가 매핑됩니다. 폴트는 나지만 RES는 늘지
  않습니다.
- **Committed_AS**는 어느 모드에서나 `malloc()` 시점에 커널의 약속을 셉니다. **CommitLimit**은 모드 2에서만
  그 상한이 됩니다.
- 모드 0(커널 5.2 이후)은 RAM + 스왑보다 큰 요청 하나만 거절하고, 모드 1은 절대 거절하지 않으며, 모드 2는
  Committed_AS가 CommitLimit을 넘게 되면 거절합니다. 책의 모드 0 휴리스틱은 지난 이야기입니다.
- root 권한이 없어도 **RLIMIT_AS**(`ulimit -v`)로 프로세스 하나의 `malloc()`을 주소 공간 기준으로 실패시킬 수
  있습니다.
- 약속만 받은 메모리를 마침내 쓰는데 남은 메모리가 없으면 **OOM 킬러**가 SIGKILL을 보냅니다(종료 상태 137).
  리눅스에서 메모리 부족은 좀처럼 `malloc()`의 NULL로 나타나지 않습니다.
"""),
    # ------------------------------------------------------------------ exercises
    md("""
## On your own

1. **Bigger steps.** Run the panel with `step_mib=64` (and memset off). Before you look: how much VIRT,
   RES and how many minor faults per step?
   <details><summary>Solution</summary>

   ```python
   p = memory_panel(step_mib=64, interval_ms=500, max_mib=256, key="ex1")
   p.start(); lesson.run_steps(p, 3); p.stop()
   lesson.step_view(p.step_table())
   ```
   VIRT grows by 64 MiB + 4 KiB per step (64 MiB + 24 bytes, rounded up to a page), the exact Rss by 4 KiB,
   with one minor fault: only the first page is written (glibc's header and `malloc_test`'s 16-byte link
   to the previous block).
   </details>

2. **Half a memset.** `panel.set_touch(50)` writes the first half of each block. Predict RES and minor
   faults per step, then measure.
   <details><summary>Solution</summary>

   ```python
   p = memory_panel(interval_ms=300, max_mib=64, key="ex2")
   p.start(); p.set_touch(50); lesson.run_steps(p, 5); p.stop()
   lesson.step_view(p.step_table())
   ```
   With 4 KiB pages: 128 pages of data plus one more (the data starts 16 bytes in), so the exact Rss grows
   by 516 KiB and there are 129 minor faults per step.
   </details>

3. **Mode 2 on paper.** On this machine, what `overcommit_ratio` would mode 2 need for a single 16 GiB
   `malloc()` to pass right now?
   <details><summary>Solution</summary>

   ```python
   from kernel_helpers import overcommit
   next((r for r in range(1, 1001) if overcommit.predict(16 * GiB, mode=2, ratio=r).allowed), None)
   ```
   The answer depends on the machine's RAM, swap and current Committed_AS; the ratio may need to be more than 100
   on a machine with less than 16 GiB of RAM (less so with swap). The `overcommit_whatif` widget shows the same with its sliders.
   </details>

4. **`ulimit -v` in a shell.** In a terminal, run
   `bash -c 'ulimit -v 65536; python3 -c "b = bytearray(100 * 2**20)"'`. What happens, and why is the
   number 65536?
   <details><summary>Solution</summary>

   Python raises `MemoryError`: `ulimit -v` takes KiB, so 65536 is 64 MiB of address space, and the
   interpreter plus a 100 MiB buffer does not fit. The process is not killed; `malloc()` returned NULL
   and Python turned that into an exception.
   </details>

5. **Why is the Jupyter kernel's VIRT so large?** Compare VIRT and RES of this notebook's own process.
   <details><summary>Solution</summary>

   ```python
   import os
   from kernel_helpers import metrics
   s = metrics.process_sample(os.getpid())
   print(s.threads, "threads, VIRT", s.virt >> 20, "MiB, RES", s.res >> 20, "MiB")
   ```
   Each extra thread that calls `malloc()` gets its own glibc arena (up to 8 per core) reserving 64 MiB of address space (mostly
   `PROT_NONE`, which Committed_AS does not count), and each thread has a stack of up to 8 MiB. VIRT
   adds up reservations, not use. `MALLOC_ARENA_MAX=1` in the environment removes the extra arenas.
   </details>

6. **Trace it yourself.** With 2 MiB steps, what size will each `mmap()` ask the kernel for? Predict,
   then trace: in a terminal, `strace -e trace=brk,mmap c_programs/bin/malloc_test --step-mib 2
   --max-steps 3 --interval-ms 1` (press Ctrl+C after its `done` line), or from here with the cell below.
   And why does the program call `brk()` before its first step?
   <details><summary>Solution</summary>

   ```python
   lesson.trace_malloc(steps=3, step_mib=2);
   ```
   2 MiB + 24 bytes, rounded up to whole pages: with 4 KiB pages, 513 pages, so `mmap(NULL, 2101248, ...)`
   three times. The `brk()` calls come from the program's first `printf`: stdout needs a buffer, glibc
   mallocs it from the heap, and creates the heap with `brk()`, growing it by the request plus 128 KiB of
   padding (`M_TOP_PAD`), so the next small `malloc()` calls need no system call until that is used up.
   (In a terminal you also see a `brk(NULL)` right after `execve`: that one is the dynamic loader's.)
   </details>
""", """
## 스스로 해 보기

1. **더 큰 단계.** `step_mib=64`로(memset은 끈 채로) 패널을 돌려 보세요. 보기 전에 먼저 예상해 보세요.
   단계마다 VIRT와 RES는 얼마나 늘고, 마이너 폴트는 몇 번 날까요?
   <details><summary>풀이</summary>

   ```python
   p = memory_panel(step_mib=64, interval_ms=500, max_mib=256, key="ex1")
   p.start(); lesson.run_steps(p, 3); p.stop()
   lesson.step_view(p.step_table())
   ```
   VIRT는 단계마다 64 MiB + 4 KiB(64 MiB + 24바이트를 페이지 단위로 올림), 정확한 Rss는 4 KiB 늘고 마이너
   폴트는 한 번입니다. 여전히 첫 페이지에만 씁니다(glibc의 헤더와, 앞 블록을 가리키는 `malloc_test`의 16바이트
   연결 정보).
   </details>

2. **절반만 memset.** `panel.set_touch(50)`은 블록마다 앞쪽 절반만 씁니다. 단계마다 RES와 마이너 폴트를
   예상한 다음 재 보세요.
   <details><summary>풀이</summary>

   ```python
   p = memory_panel(interval_ms=300, max_mib=64, key="ex2")
   p.start(); p.set_touch(50); lesson.run_steps(p, 5); p.stop()
   lesson.step_view(p.step_table())
   ```
   4 KiB 페이지라면 데이터 128페이지에 한 페이지가 더해지므로(데이터가 16바이트 지점부터 시작합니다), 단계마다
   정확한 Rss는 516 KiB 늘고 마이너 폴트는 129번입니다.
   </details>

3. **계산으로 따져 보는 모드 2.** 이 시스템에서 지금 16 GiB짜리 `malloc()` 하나가 모드 2를 통과하려면
   `overcommit_ratio`가 얼마여야 할까요?
   <details><summary>풀이</summary>

   ```python
   from kernel_helpers import overcommit
   next((r for r in range(1, 1001) if overcommit.predict(16 * GiB, mode=2, ratio=r).allowed), None)
   ```
   답은 시스템의 RAM, 스왑, 지금의 Committed_AS에 따라 다릅니다. RAM이 16 GiB보다 작은 시스템이라면 ratio가 100을
   넘어야 할 수도 있습니다(스왑이 있으면 그만큼 덜 필요합니다). `overcommit_whatif` 위젯의 슬라이더로도 같은 것을 볼 수 있습니다.
   </details>

4. **셸에서 `ulimit -v`.** 터미널에서
   `bash -c 'ulimit -v 65536; python3 -c "b = bytearray(100 * 2**20)"'`를 실행해 보세요. 무슨 일이
   일어나고, 왜 숫자가 65536일까요?
   <details><summary>풀이</summary>

   파이썬이 `MemoryError`를 냅니다. `ulimit -v`의 단위는 KiB라서 65536은 주소 공간 64 MiB이고, 인터프리터와
   100 MiB 버퍼가 그 안에 들어가지 않습니다. 프로세스가 강제 종료되지는 않습니다. `malloc()`이 NULL을
   돌려주었고 파이썬이 그것을 예외로 바꾼 것입니다.
   </details>

5. **주피터 커널의 VIRT는 왜 이렇게 클까요?** 이 노트북 프로세스 자신의 VIRT와 RES를 비교해 보세요.
   <details><summary>풀이</summary>

   ```python
   import os
   from kernel_helpers import metrics
   s = metrics.process_sample(os.getpid())
   print(s.threads, "threads, VIRT", s.virt >> 20, "MiB, RES", s.res >> 20, "MiB")
   ```
   `malloc()`을 부르는 스레드가 늘 때마다(코어당 8개까지) glibc 아레나가 주소 공간 64 MiB를 예약하고(대부분 `PROT_NONE`이며,
   이 부분은 Committed_AS가 세지 않습니다), 스레드마다 최대 8 MiB의 스택이 있습니다. VIRT는 사용량이 아니라 예약을
   더한 값입니다. 환경 변수 `MALLOC_ARENA_MAX=1`을 주면 추가 아레나가 사라집니다.
   </details>

6. **직접 추적해 보기.** 단계가 2 MiB라면 `mmap()`은 커널에 얼마를 요청할까요? 먼저 예상한 다음 추적해
   보세요. 터미널에서 `strace -e trace=brk,mmap c_programs/bin/malloc_test --step-mib 2 --max-steps 3
   --interval-ms 1`을 실행하거나(`done` 줄이 나오면 Ctrl+C), 아래 셀로 여기서 실행합니다. 그리고 프로그램은 왜
   첫 단계 전에 `brk()`를 부를까요?
   <details><summary>풀이</summary>

   ```python
   lesson.trace_malloc(steps=3, step_mib=2);
   ```
   2 MiB + 24바이트를 페이지 단위로 올리면, 4 KiB 페이지에서 513페이지입니다. 그래서 `mmap(NULL, 2101248, ...)`이
   세 번 나옵니다. `brk()`는 프로그램의 첫 `printf`에서 나옵니다. stdout에는 버퍼가 필요하고, glibc는 이를
   힙에서 malloc하는데, 이때 `brk()`로 힙을 만들면서 요청한 크기에 여유분 128 KiB(`M_TOP_PAD`)를 더해 늘립니다.
   그래서 그 여유분을 다 쓸 때까지는 이후의 작은 `malloc()`이 시스템 콜을 부르지 않습니다. (터미널에서 보면
   `execve` 바로 뒤에도 `brk(NULL)`이 하나 있는데, 이것은 동적 로더가 부른 것입니다.)
   </details>
"""),
    # ------------------------------------------------------------------ further reading
    md("""
## Further reading

- `man 3 malloc`, `man 3 mallopt` (`M_MMAP_THRESHOLD` and how it adjusts), `man 2 mmap`
  (`MAP_NORESERVE`), `man 2 setrlimit` (`RLIMIT_AS`), `man 1 prlimit`.
- `man 5 proc`: `/proc/meminfo` (Committed_AS, CommitLimit), `/proc/PID/statm`, `/proc/PID/stat`
  (minflt, majflt), `/proc/sys/vm/overcommit_memory`.
- Kernel documentation: `Documentation/mm/overcommit-accounting.rst`,
  `Documentation/admin-guide/sysctl/vm.rst` (overcommit_memory, overcommit_ratio, overcommit_kbytes,
  admin_reserve_kbytes, user_reserve_kbytes), `Documentation/admin-guide/cgroup-v1/memory.rst` and
  `Documentation/admin-guide/cgroup-v2.rst` (memory.max, memory.events), also at
  <https://docs.kernel.org/>.
- Kernel source: `mm/util.c` (`__vm_enough_memory`, `vm_commit_limit`), `mm/memory.c`
  (`do_anonymous_page`, the zero page), `mm/oom_kill.c`.
- `man 1 top` (procps-ng): the VIRT, RES, SHR, nMin and nMaj fields.
- The [glossary](glossary.ipynb) names every term of this chapter in English and Korean.
- Next: back to the [start page](00-start-here.ipynb), or [2.2 VIRT, RES and SHR](2.2-virt-res-shr.ipynb)
  for what SHR, USS and PSS add to this picture.
""", """
## 더 읽을거리

- `man 3 malloc`, `man 3 mallopt`(`M_MMAP_THRESHOLD`와 그 값이 바뀌는 방식), `man 2 mmap`(`MAP_NORESERVE`),
  `man 2 setrlimit`(`RLIMIT_AS`), `man 1 prlimit`.
- `man 5 proc`: `/proc/meminfo`(Committed_AS, CommitLimit), `/proc/PID/statm`, `/proc/PID/stat`(minflt,
  majflt), `/proc/sys/vm/overcommit_memory`.
- 커널 문서: `Documentation/mm/overcommit-accounting.rst`, `Documentation/admin-guide/sysctl/vm.rst`
  (overcommit_memory, overcommit_ratio, overcommit_kbytes, admin_reserve_kbytes, user_reserve_kbytes),
  `Documentation/admin-guide/cgroup-v1/memory.rst`와 `Documentation/admin-guide/cgroup-v2.rst`(memory.max,
  memory.events). <https://docs.kernel.org/>에서도 볼 수 있습니다.
- 커널 소스: `mm/util.c`(`__vm_enough_memory`, `vm_commit_limit`), `mm/memory.c`(`do_anonymous_page`, 제로
  페이지), `mm/oom_kill.c`.
- `man 1 top`(procps-ng): VIRT, RES, SHR, nMin, nMaj 필드.
- [용어집](glossary.ipynb)에 이 장의 모든 용어가 영어와 한국어로 정리되어 있습니다.
- 다음: [시작 페이지](00-start-here.ipynb)로 돌아가거나, SHR, USS, PSS가 이 그림에 무엇을 더하는지 보려면
  [2.2 VIRT, RES, SHR](2.2-virt-res-shr.ipynb)로 가세요.
"""),
]

write_pair("2.3-memory-commit", cells)
