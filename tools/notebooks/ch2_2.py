"""Source of notebooks/{en,ko}/2.2-virt-res-shr.ipynb. Run: .venv/bin/python tools/notebooks/ch2_2.py"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbtools import code, md, write_pair  # noqa: E402

cells = [
    md("""
# 2.2 VIRT, RES and SHR

Every row of `top` carries three memory numbers: VIRT, RES and SHR. This chapter finds out exactly
what each one counts, by asking the kernel directly and by running small programs that share memory
on purpose. Along the way it corrects two things the book says: SHR is not "memory shared with other
processes", and the biggest RES is not the most honest way to find the process that eats your memory.

| | |
|---|---|
| **What you'll do** | Read the three numbers from `/proc` for this notebook's own Jupyter kernel, share memory between a parent and its children, count how many processes map glibc, watch copy-on-write after `fork()`, take a Jupyter kernel's VIRT apart, and rank this machine's processes by RES and by PSS. |
| **What you'll learn** | Where top reads VIRT, RES and SHR; why SHR is a part of RES; what SHR does and does not count; what PSS adds; why summing RES overstates memory use. |
| **What you need** | The [start page](00-start-here.ipynb) check passing (`shared_mem` built). Chapter [2.1](2.1-reading-top.ipynb) helps but is not required. No root needed; as root, the last section sees every process. |
| **Time** | 30 minutes. |
""", """
# 2.2 VIRT, RES, SHR

`top`의 모든 줄에는 메모리 숫자가 세 개 있습니다. VIRT, RES, SHR입니다. 이 장에서는 커널에 직접
물어보고, 일부러 메모리를 공유하는 작은 프로그램을 돌려 보면서 각 숫자가 정확히 무엇을 세는지
알아냅니다. 그러면서 책의 설명 두 가지를 바로잡습니다. SHR은 "다른 프로세스와 공유하는 메모리"가
아니고, RES가 가장 큰 프로세스가 메모리를 가장 많이 먹는 프로세스라고 단정할 수도 없습니다.

| | |
|---|---|
| **할 일** | 이 노트북의 주피터 커널 자신의 세 숫자를 `/proc`에서 읽기, 부모와 자식 프로세스가 메모리를 공유하게 하기, glibc를 매핑한 프로세스 수 세기, `fork()` 뒤의 쓰기 시 복사(copy-on-write) 관찰하기, 주피터 커널의 VIRT 분해하기, 이 시스템의 프로세스를 RES와 PSS로 각각 줄 세우기. |
| **배울 것** | top이 VIRT, RES, SHR을 어디서 읽는지, SHR이 왜 RES의 일부인지, SHR이 무엇을 세고 무엇을 세지 않는지, PSS가 무엇을 더 알려 주는지, RES를 모두 더하면 왜 메모리 사용량이 부풀려지는지. |
| **필요한 것** | [시작 페이지](00-start-here.ipynb)의 환경 확인 통과(`shared_mem` 빌드). [2.1장](2.1-reading-top.ipynb)을 먼저 보면 좋지만 필수는 아닙니다. root 권한은 필요 없고, root라면 마지막 절에서 모든 프로세스를 볼 수 있습니다. |
| **걸리는 시간** | 30분. |
"""),
    md("""
## Set up

One import: the chapter's measurements live in `kernel_helpers.lessons.ch2_2`, the prediction
questions in `kernel_helpers.quiz`.
""", """
## 준비하기

이 장의 측정 코드는 `kernel_helpers.lessons.ch2_2`에, 예상 문제는 `kernel_helpers.quiz`에 있습니다.
"""),
    code("""
import os

from kernel_helpers import quiz
from kernel_helpers.lessons import ch2_2
"""),
    md("""
## Read what the manual says

The book quotes the `top` manual page of an older procps. Here is what the current one says:
procps-ng 4.0.2, the `top` of Debian 12 (top(1), "3a. DESCRIPTIONS of Fields", by Jim Warner, GPL):

> **VIRT -- Virtual Memory Size (KiB)**
> The total amount of virtual memory used by the task. It includes all code, data and shared
> libraries plus pages that have been swapped out and pages that have been mapped but not used.

> **RES -- Resident Memory Size (KiB)**
> A subset of the virtual address space (VIRT) representing the non-swapped physical memory a task
> is currently using. It is also the sum of the `RSan', `RSfd' and `RSsh' fields.
>
> It can include private anonymous pages, private pages mapped to files (including program images
> and shared libraries) plus shared anonymous pages. All such memory is backed by the swap file
> represented separately under SWAP.
>
> Lastly, this field may also include shared file-backed pages which, when modified, act as a
> dedicated swap file and thus will never impact SWAP.

> **SHR -- Shared Memory Size (KiB)**
> A subset of resident memory (RES) that may be used by other processes. It will include shared
> anonymous pages and shared file-backed pages. It also includes private pages mapped to files
> representing program images and shared libraries.

Two things changed since the book's quotes. VIRT now says outright that it counts pages "mapped but
not used". And the sentence the book gives for RES, "A task's currently used share of available
physical memory", is the description of **%MEM** in today's page ("A task's currently resident share
of available physical memory"): it means the part of the machine's RAM that this task occupies now.
RES itself is now defined as a *subset of VIRT*, and SHR as a *subset of RES*.

The cell below prints the same entries from the manual page installed on your machine, if there is one.
""", """
## 매뉴얼의 정의 읽기

책은 예전 procps의 `top` 매뉴얼 페이지를 인용합니다. 지금 매뉴얼은 이렇게 말합니다. 데비안 12의
`top`인 procps-ng 4.0.2의 top(1), "3a. DESCRIPTIONS of Fields" 절입니다(작성자 Jim Warner, GPL). 원문 아래에 옮긴 것은 이 실습의 번역입니다.

> **VIRT -- Virtual Memory Size (KiB)**
> The total amount of virtual memory used by the task. It includes all code, data and shared
> libraries plus pages that have been swapped out and pages that have been mapped but not used.
>
> *태스크가 사용하는 가상 메모리의 총량. 모든 코드, 데이터, 공유 라이브러리에 더해, 스왑으로 내보낸
> 페이지와 매핑만 하고 아직 쓰지 않은 페이지까지 포함한다.*

> **RES -- Resident Memory Size (KiB)**
> A subset of the virtual address space (VIRT) representing the non-swapped physical memory a task
> is currently using. It is also the sum of the `RSan', `RSfd' and `RSsh' fields.
>
> It can include private anonymous pages, private pages mapped to files (including program images
> and shared libraries) plus shared anonymous pages. All such memory is backed by the swap file
> represented separately under SWAP.
>
> Lastly, this field may also include shared file-backed pages which, when modified, act as a
> dedicated swap file and thus will never impact SWAP.
>
> *가상 주소 공간(VIRT)의 일부로, 태스크가 지금 사용하고 있으면서 스왑으로 나가지 않은 물리
> 메모리를 나타낸다. `RSan`, `RSfd`, `RSsh` 필드의 합이기도 하다.*
>
> *비공개 익명 페이지, 파일에 매핑된 비공개 페이지(프로그램 이미지와 공유 라이브러리 포함), 그리고
> 공유 익명 페이지가 들어갈 수 있다. 이런 메모리는 모두 스왑 파일이 뒷받침하며, 스왑으로 나간 양은
> SWAP에 따로 표시된다.*
>
> *끝으로, 공유 파일 기반 페이지도 들어갈 수 있다. 이 페이지는 수정되면 원래 파일이 전용 스왑
> 파일 구실을 하므로 SWAP에는 영향을 주지 않는다.*

> **SHR -- Shared Memory Size (KiB)**
> A subset of resident memory (RES) that may be used by other processes. It will include shared
> anonymous pages and shared file-backed pages. It also includes private pages mapped to files
> representing program images and shared libraries.
>
> *상주 메모리(RES) 가운데 다른 프로세스도 사용할 수 있는 부분. 공유 익명 페이지와 공유 파일 기반
> 페이지가 들어간다. 프로그램 이미지와 공유 라이브러리처럼 파일에 매핑된 비공개 페이지도 포함한다.*

책이 인용한 뒤로 두 가지가 바뀌었습니다. VIRT는 이제 "매핑만 하고 쓰지 않은 페이지"도 센다고 분명히
밝힙니다. 그리고 책이 RES의 정의로 든 문장 "A task's currently used share of available physical
memory"는 지금 매뉴얼에서는 **%MEM**의 설명("A task's currently resident share of available
physical memory")입니다. 책의 번역 "작업은 현재 사용 가능한 물리적 메모리를 공유하는 데
사용됩니다"는 뜻이 통하지 않는데, 원래 뜻은 "사용 가능한 물리 메모리 가운데 이 태스크가 지금
차지하고 있는 몫"입니다. VIRT 번역도 "스왑된 모든 코드, 데이터 및 공유 라이브러리"처럼 스왑이 전체를
꾸미는 것으로 옮겨져 있지만, 원문은 코드, 데이터, 공유 라이브러리 *더하기* 스왑으로 나간 페이지입니다.
지금 매뉴얼에서 RES는 *VIRT의 일부*로, SHR은 *RES의 일부*로 정의됩니다.

아래 셀은 이 시스템에 매뉴얼 페이지가 설치되어 있으면 같은 항목을 거기서 읽어 보여 줍니다
(매뉴얼 원문은 영어입니다).
"""),
    code("""
defs = ch2_2.show_man_definitions()
"""),
    md("""
## Find where top reads the three numbers

top does not compute VIRT, RES and SHR itself. It reads the first three fields of
`/proc/PID/statm`, which are counts of pages, and multiplies them by the page size. Here is the
line for this notebook's own Jupyter kernel. The fields are size, resident, shared, text, lib, data and dt,
in pages; text and data are rough sizes of the code and of data + stack, and lib and dt have been 0
since Linux 2.6 (see proc(5)):
""", """
## top이 세 숫자를 어디서 읽는지 찾기

top은 VIRT, RES, SHR을 스스로 계산하지 않습니다. `/proc/PID/statm`의 앞 세 필드를 읽어서(페이지
수입니다) 페이지 크기를 곱할 뿐입니다. 이 노트북을 실행하는 주피터 커널의 줄은 이렇습니다. 필드는
순서대로 size, resident, shared, text, lib, data, dt이고 단위는 페이지입니다. text와 data는 코드와
데이터 + 스택의 대략적인 크기이고, lib과 dt는 리눅스 2.6부터 늘 0입니다(proc(5) 참고).
"""),
    code("""
pid = os.getpid()
print(f"/proc/{pid}/statm:", open(f"/proc/{pid}/statm").read())
"""),
    md("""
The kernel fills that line in `task_statm()` (fs/proc/task_mmu.c): size is every mapped page,
resident is the anonymous + file + shmem pages in RAM, shared is the file + shmem pages in RAM.
`/proc/PID/status` shows the same counters split by kind: **RssAnon** (anonymous memory: heap,
stacks, what `malloc()` returned and was written), **RssFile** (file-backed memory: the program,
libraries, mapped files) and **RssShmem** (shared anonymous memory, tmpfs, System V shm). The table
reads both files for this Jupyter kernel, back to back:
""", """
커널은 이 줄을 `task_statm()`(fs/proc/task_mmu.c)에서 채웁니다. size는 매핑된 모든 페이지,
resident는 RAM에 있는 익명 + 파일 + shmem 페이지, shared는 RAM에 있는 파일 + shmem 페이지입니다.
`/proc/PID/status`는 같은 카운터를 종류별로 나눠 보여 줍니다. **RssAnon**(익명 메모리: 힙, 스택,
`malloc()`으로 받아 실제로 쓴 메모리), **RssFile**(파일 기반 메모리: 프로그램, 라이브러리, 매핑한
파일), **RssShmem**(공유 익명 메모리, tmpfs, System V shm)입니다. 아래 표는 이 주피터 커널의 두 파일을
연달아 읽은 것입니다.
"""),
    code("""
b = ch2_2.read_breakdown(pid)
ch2_2.breakdown_table(b)
"""),
    md("""
Now check the two identities with these numbers:
""", """
이제 이 숫자로 두 등식을 확인해 봅니다.
"""),
    code("""
res_ok, shr_ok = ch2_2.check_breakdown(b)
"""),
    md("""
So **RES = RssAnon + RssFile + RssShmem** and **SHR = RssFile + RssShmem**: SHR is simply the part of
RES that is not anonymous. In `top` you can show the three parts as columns yourself: press `f`,
select `RSan`, `RSfd` and `RSsh`, and press `q`.
""", """
즉 **RES = RssAnon + RssFile + RssShmem**이고 **SHR = RssFile + RssShmem**입니다. SHR은 RES
가운데 익명 메모리가 아닌 부분일 뿐입니다. `top`에서도 세 부분을 열로 띄울 수 있습니다. `f`를 누르고
`RSan`, `RSfd`, `RSsh`를 선택한 뒤 `q`를 누르세요.
"""),
    md("""
## Correct the book: SHR is a part of RES

The book sums up: *VIRT is all the virtual memory given to the process, RES the part of it actually
in physical memory, and SHR the memory shared with other processes.* The first two are right. The
third is wrong on three counts, and the identities above already show why:

1. **SHR is inside RES**, not a third amount beside it. `RES - SHR` is the process's anonymous memory.
2. **SHR counts pages nobody else uses.** Every resident page of a file mapping counts, including the
   program's own code when no other process runs that program.
3. **SHR misses memory that *is* shared.** After `fork()`, parent and child share all their anonymous
   pages until one of them writes (copy-on-write). Those pages are shared for real, but they are
   anonymous, so they land in RssAnon and never in SHR.

The manual itself draws the map. Each page of a process falls in one quadrant:

| | private | shared |
|---|---|---|
| **anonymous** | 1: stack, `malloc()`, `brk()`, `mmap(PRIVATE, ANON)` | 2: POSIX shm, `mmap(SHARED, ANON)` |
| **file-backed** | 3: `mmap(PRIVATE, fd)`, programs and shared libraries | 4: `mmap(SHARED, fd)` |

and says: *"SHR - subset of RES (excludes 1, includes all 2 & 4, some 3)"*, and *"Even though program
images and shared libraries are considered private to a process, they will be accounted for as
shared (SHR) by the kernel."* Quadrant 1 is RssAnon, 2 is RssShmem, 3 and 4 are RssFile; "some 3"
because a page of a private file mapping that the process *writes* becomes a private anonymous copy
and moves to quadrant 1.

What SHR really is: *resident memory that is backed by a file or by shmem*. Whether anybody else uses
it is a different question, and the one that answers it is **PSS** (proportional set size): RES with
every page divided by the number of processes that map it. The experiments below show each point.
""", """
## 책 바로잡기: RES의 일부인 SHR

책은 이렇게 정리합니다. *VIRT는 프로세스에 할당된 가상 메모리 전체, RES는 그중 실제 물리 메모리에
올라와 있는 부분, SHR은 다른 프로세스와 공유하고 있는 메모리.* 앞의 둘은 맞습니다. 셋째는 세 가지
점에서 틀렸고, 위의 등식이 이미 그 이유를 보여 줍니다.

1. **SHR은 RES 안에 있습니다.** RES와 나란히 있는 세 번째 양이 아닙니다. `RES - SHR`이 그
   프로세스의 익명 메모리입니다.
2. **SHR은 아무도 공유하지 않는 페이지도 셉니다.** 파일 매핑의 상주 페이지는 모두 들어가므로,
   그 프로그램을 실행하는 프로세스가 하나뿐이어도 프로그램 자신의 코드가 SHR에 들어갑니다.
3. **SHR은 실제로 공유 *중인* 메모리를 놓칩니다.** `fork()` 뒤 부모와 자식은 어느 한쪽이 쓰기
   전까지 익명 페이지를 모두 공유합니다(쓰기 시 복사, copy-on-write). 진짜로 공유하는 페이지지만
   익명 페이지이므로 RssAnon에 들어가고 SHR에는 결코 들어가지 않습니다.

매뉴얼에 이를 정리한 표가 있습니다. 프로세스의 페이지는 모두 네 칸 중 한 칸에 속합니다.

| | 비공개(private) | 공유(shared) |
|---|---|---|
| **익명** | 1: 스택, `malloc()`, `brk()`, `mmap(PRIVATE, ANON)` | 2: POSIX shm, `mmap(SHARED, ANON)` |
| **파일 기반** | 3: `mmap(PRIVATE, fd)`, 프로그램과 공유 라이브러리 | 4: `mmap(SHARED, fd)` |

그리고 이렇게 씁니다. *"SHR - subset of RES (excludes 1, includes all 2 & 4, some 3)"*(SHR은 RES의
일부로, 1은 빼고 2와 4는 모두, 3은 일부를 포함한다). *"Even though program images and shared
libraries are considered private to a process, they will be accounted for as shared (SHR) by the
kernel."*(프로그램 이미지와 공유 라이브러리는 프로세스의 비공개 메모리로 여겨지지만, 커널은 이를
공유(SHR)로 계산한다.) 1번 칸이 RssAnon, 2번이 RssShmem, 3번과 4번이 RssFile입니다. "3은 일부"인
까닭은, 비공개 파일 매핑의 페이지에 프로세스가 *쓰기*를 하면 그 페이지가 비공개 익명 사본이 되어
1번 칸으로 옮겨 가기 때문입니다.

SHR의 실제 뜻은 *파일이나 shmem이 뒷받침하는 상주 메모리*입니다. 그것을 다른 프로세스와 공유하는지는
별개의 질문이고, 그 질문에 답하는 값은 **PSS**(비례 배분 메모리 크기, proportional set size)입니다.
PSS는 각 페이지를 그 페이지를 매핑한 프로세스 수로 나눠서 센 RES입니다. 아래 실험으로 하나씩
확인합니다.
"""),
    md("""
## Share memory between a parent and its children

`shared_mem` maps N MiB with `mmap(MAP_SHARED | MAP_ANONYMOUS)` (quadrant 2), writes all of it, then
forks K children that each write the whole region too. All of them now use the same physical pages:
the region exists in RAM once. Before running it, predict:
""", """
## 부모와 자식이 메모리를 공유하게 하기

`shared_mem`은 `mmap(MAP_SHARED | MAP_ANONYMOUS)`로 N MiB를 매핑하고(2번 칸) 전부 쓴 다음, 자식 K개를
fork합니다. 자식들도 각자 영역 전체에 씁니다. 이제 모두가 같은 물리 페이지를 공유하고, 이 영역은 RAM에
한 번만 존재합니다. 실행하기 전에 예상해 보세요.
"""),
    code("""
q = quiz.ask("2.2-children-shr")
"""),
    md("""
The cell below starts it with N = `ch2_2.SHARED_MIB` and K = `ch2_2.CHILDREN` in a live view: a bar
per process for RES, SHR, USS and PSS, and their sums on the right. Then it measures every process
from `/proc` while they hold the region.
""", """
아래 셀은 N = `ch2_2.SHARED_MIB`, K = `ch2_2.CHILDREN`으로 실행하고 실시간 화면에 보여 줍니다.
프로세스마다 RES, SHR, USS, PSS 막대가 있고, 오른쪽에는 그 합계가 있습니다. 이어서 모든 프로세스가
영역을 붙잡고 있는 동안 `/proc`에서 하나하나 측정합니다.
"""),
    code("""
shared = ch2_2.shared_session(mib=ch2_2.SHARED_MIB, children=ch2_2.CHILDREN)
run = shared.measure()
ch2_2.summarize_shared(run)
"""),
    code("""
q.check(run);
"""),
    md("""
The region appears whole in RssShmem, so whole in SHR and whole in RES, in every process that touched
it. Each process's **USS** (unique set size: the memory only it uses, what you would get back by
killing it) is tiny, because nothing in it is its own. Only **PSS** divides: each process is charged
its fair share of every page.

The view stays live: *Measure again* re-reads the processes, and the sliders with *Stop* and *Start*
run other sizes (`run = shared.measure()` then measures what runs now).

How does that share depend on the number of processes? Predict first:
""", """
공유 영역은 그것을 건드린 모든 프로세스에서 RssShmem에 통째로, 따라서 SHR에도 RES에도 통째로
나타납니다. 각 프로세스의 **USS**(고유 메모리 크기, unique set size: 그 프로세스만 쓰는 메모리,
즉 그 프로세스를 죽이면 돌려받는 양)는 아주 작습니다. 자기만의 것이 거의 없기 때문입니다. 나누어
세는 것은 **PSS**뿐입니다. 각 프로세스는 페이지마다 자기 몫만큼만 책임집니다.

화면은 계속 살아 있습니다. *다시 측정*을 누르면 프로세스를 다시 읽고, 슬라이더를 바꾼 뒤 *중지*와
*시작*을 누르면 다른 크기로 실행해 볼 수 있습니다(그다음 `run = shared.measure()`를 실행하면 지금
실행 중인 것을 측정합니다).

그 몫은 프로세스 수에 따라 어떻게 달라질까요? 먼저 예상해 보세요.
"""),
    code("""
q = quiz.ask("2.2-pss-split")
"""),
    md("""
The next cell runs `shared_mem` four times, with K = 0, 1, 2 and 3 children, and shows the average
per process (for K = 0, the parent alone):
""", """
다음 셀은 `shared_mem`을 자식 K = 0, 1, 2, 3개로 네 번 실행하고, 프로세스 하나당 평균을 보여
줍니다(K = 0이면 부모 혼자입니다).
"""),
    code("""
sweep = ch2_2.pss_sweep(mib=ch2_2.SHARED_MIB, counts=ch2_2.SWEEP)
sweep
"""),
    code("""
q.check(sweep);
"""),
    md("""
RES, SHR and RssShmem do not move with K: each process counts the whole region. PSS follows
N/(K+1), and the sum of PSS over all the processes stays at N plus a little: the region is in RAM
once, and PSS adds up to that. This is the kernel's own arithmetic, done page by page in
`/proc/PID/smaps` (see Documentation/filesystems/proc.rst).

When you are done with the live view above, stop its processes:
""", """
RES, SHR, RssShmem은 K에 따라 변하지 않습니다. 프로세스마다 영역 전체를 세기 때문입니다. PSS는
N/(K+1)을 따라가고, 모든 프로세스의 PSS 합계는 N에 조금 더한 값에 머뭅니다. 영역은 RAM에 한 번만
있고, PSS를 더하면 그 양이 됩니다. 이 값은 커널이 직접 페이지 단위로 계산해 `/proc/PID/smaps`에
보여 주는 것입니다(Documentation/filesystems/proc.rst 참고).

위의 실시간 화면을 다 보았으면 프로세스를 멈추세요.
"""),
    code("""
shared.stop()
"""),
    md("""
## Count who shares glibc

The book's example of shared memory is glibc: almost every process uses it, so loading a copy per
process would be a waste, and the kernel shares it. The conclusion is right, the mechanism is a
little different. Nobody puts libc in a "shared memory area": each process maps `libc.so.6` with
`mmap(MAP_PRIVATE)` (quadrant 3), and the page cache makes every such mapping point to the same
physical pages of the file. The pages stay shared until a process writes one (the relocations in
libc's data pages do), and then that page becomes the process's own anonymous copy.

How many processes map libc on this machine? The cell scans `/proc/*/maps`:
""", """
## glibc를 함께 쓰는 프로세스 세기

책은 공유 메모리의 예로 glibc를 듭니다. 거의 모든 프로세스가 쓰니 프로세스마다 사본을 올리면
낭비이고, 그래서 커널이 이를 공유한다는 것입니다. 결론은 맞지만 동작 방식은 조금 다릅니다. libc를
"공유 메모리 영역"에 올리는 주체는 없습니다. 프로세스마다 `libc.so.6`을 `mmap(MAP_PRIVATE)`로
매핑하고(3번 칸), 페이지 캐시 덕분에 그 매핑들이 모두 파일의 같은 물리 페이지를 가리킵니다.
페이지는 어떤 프로세스가 거기에 쓰기 전까지 공유되고(libc 데이터 페이지의 재배치 작업이 그런
쓰기입니다), 쓰는 순간 그 페이지는 그 프로세스만의 익명 사본이 됩니다.

이 시스템에서 libc를 매핑한 프로세스는 몇 개일까요? 아래 셀이 `/proc/*/maps`를 훑어봅니다.
"""),
    code("""
scan = ch2_2.libc_users()
ch2_2.report_libc_users(scan)
"""),
    md("""
Each of them counts libc's resident pages in its own RES and SHR. `/proc/PID/smaps` has the detail per
mapping, with both `Rss` and `Pss`. Summing them over every process that maps libc:
""", """
이 프로세스들은 저마다 libc의 상주 페이지를 자기 RES와 SHR에 셉니다. `/proc/PID/smaps`에는 매핑마다
`Rss`와 `Pss`가 자세히 나옵니다. libc를 매핑한 모든 프로세스에 걸쳐 더해 보면 다음과 같습니다.
"""),
    code("""
libc = ch2_2.libc_memory()
ch2_2.report_libc_memory(libc)
"""),
    md("""
The sum of RSS counts libc once per process; the sum of PSS counts it once, which is what it costs
the machine. It can never exceed the size of the file on disk plus the few pages each process has
written (and copied). Processes that exit during the scan, or that belong to other users when you are
not root, are skipped and counted, not fatal.
""", """
RSS 합계는 libc를 프로세스 수만큼 세고, PSS 합계는 한 번만 셉니다. 후자가 이 시스템이 실제로 치르는
비용입니다. 이 값은 디스크에 있는 파일 크기에, 프로세스마다 쓰기를 해서 복사된 몇 페이지를 더한
것보다 커질 수 없습니다. 훑어보는 사이에 끝난 프로세스나, root가 아닐 때 다른 사용자의 프로세스는
건너뛰고 개수만 세어 둡니다. 오류로 멈추지 않습니다.
"""),
    md("""
## Watch copy-on-write land in RES, not in SHR

Now the other direction: memory that is shared but does not show in SHR. With `--private-mib P`,
`shared_mem` mallocs P MiB of private memory and writes it *before* forking (quadrant 1). After
`fork()` the child has the same pages mapped copy-on-write: one physical copy, shared, until someone
writes. This child never writes them. Predict:
""", """
## 쓰기 시 복사 메모리가 SHR이 아니라 RES에 잡히는 모습 보기

이번에는 반대 방향입니다. 공유하고 있는데도 SHR에 나타나지 않는 메모리입니다. `--private-mib P`를
주면 `shared_mem`은 fork하기 *전에* 비공개 메모리 P MiB를 malloc해서 씁니다(1번 칸). `fork()` 뒤
자식은 같은 페이지를 쓰기 시 복사(copy-on-write)로 매핑합니다. 누군가 쓰기 전까지는 물리 사본 하나를
공유합니다. 이 자식은 그 페이지에 쓰지 않습니다. 예상해 보세요.
"""),
    code("""
q = quiz.ask("2.2-cow-shr")
"""),
    code("""
cow_session = ch2_2.shared_session(mib=1, children=1, private_mib=ch2_2.PRIVATE_MIB, key="ch2.2-cow")
cow = cow_session.measure()
cow.mib_table()
"""),
    code("""
q.check(cow);
cow_session.stop()
"""),
    md("""
This is the fact behind the correction above: after `fork()` with memory touched, parent and child each
show the full amount in RES, almost nothing of it in SHR, and half of it in PSS. USS is tiny for both,
because no page is theirs alone. If the child wrote those pages, each write would fault, copy one page
(4 KiB) and make it the child's own: its USS would grow, the parent's PSS would climb back up, and
the machine would really use more memory.
""", """
앞에서 책을 바로잡은 근거가 바로 이것입니다. 메모리를 쓴 뒤 `fork()`하면 부모와 자식 모두 RES에는
전체 양이 나타나고, SHR에는 거의 나타나지 않으며, PSS에는 절반이 나타납니다. 둘 다 USS가 아주 작은 것은 어느
페이지도 한쪽만의 것이 아니기 때문입니다. 자식이 이 페이지에 쓰면 쓰기마다 페이지 폴트가 나고,
커널이 페이지 하나(4 KiB)를 복사해 자식만의 것으로 만듭니다. 그러면 자식의 USS가 늘고 부모의 PSS는
다시 올라가며, 시스템이 실제로 쓰는 메모리도 늘어납니다.
"""),
    md("""
## Add up RES and see it overstate

A natural way to ask "how much memory do these processes use?" is to add up their RES. Predict what
that gives for the two runs above:
""", """
## RES를 더해서 부풀려지는 모습 보기

"이 프로세스들이 메모리를 얼마나 쓰지?"라는 질문에 자연스럽게 떠오르는 방법은 RES를 모두 더하는
것입니다. 위의 두 실행에서 그 값이 어떻게 나올지 예상해 보세요.
"""),
    code("""
q = quiz.ask("2.2-sum-res")
"""),
    md("""
The table compares the sum of RES, the sum of PSS and what the machine really spent: how much
`AnonPages + Shmem` in `/proc/meminfo` dropped when the processes exited (read right before and right
after each stop, so other processes had little time to move them).
""", """
아래 표는 RES 합계, PSS 합계, 그리고 시스템이 실제로 쓴 양을 비교합니다. 실제 사용량은 프로세스가
끝날 때 `/proc/meminfo`의 `AnonPages + Shmem`이 얼마나 줄었는지로 잽니다. 종료 직전과 직후에 읽으므로
그사이 다른 프로세스가 이 값을 움직일 틈이 거의 없습니다.
"""),
    code("""
ch2_2.sum_table(run, cow)
"""),
    code("""
q.check(run);
"""),
    md("""
The sum of PSS matches what `/proc/meminfo` saw (give or take what other processes did meanwhile);
the sum of RES counts the shared pages once per process. `MemAvailable` would be the obvious system-wide check, but it is too coarse for this: freed
pages can wait on per-CPU lists before they count as free again, so `MemTotal - MemAvailable` can move
on its own by as much as this whole experiment. The counters of *what the pages are used for*
(`AnonPages`, `Shmem`) are far steadier: they lag only by small per-CPU batches.
""", """
PSS 합계는 `/proc/meminfo`가 본 양과 맞고(그사이 다른 프로세스가 움직인 만큼의 오차는 있습니다),
RES 합계는 공유 페이지를 프로세스마다 한 번씩 셉니다.
시스템 전체를 확인하는 데는 `MemAvailable`이 먼저 떠오르지만, 이 실험에 쓰기에는 너무 부정확합니다. 해제된
페이지가 다시 빈 페이지로 집계되기 전에 CPU별 목록에서 기다릴 수 있어서, `MemTotal - MemAvailable`은
이 실험 전체만큼이나 저절로 오르내릴 수 있습니다. *페이지를 어디에 쓰는지*를 세는 카운터(`AnonPages`, `Shmem`)는
훨씬 안정적입니다. CPU별로 조금씩 모아 두는 만큼만 늦습니다.
"""),
    md("""
## Explain why a Jupyter kernel's VIRT is so large

The book says a large VIRT is harmless, since VIRT is only reserved address space. True, and a Jupyter
kernel is a good example. Here are this Jupyter kernel's VIRT and RES:
""", """
## 주피터 커널의 VIRT가 왜 그렇게 큰지 설명하기

책은 VIRT가 예약된 주소 공간일 뿐이므로 커도 문제가 되지 않는다고 합니다. 맞는 말이고, 주피터
커널이 좋은 예입니다. 이 주피터 커널의 VIRT와 RES는 다음과 같습니다.
"""),
    code("""
b = ch2_2.print_virt_res()
"""),
    code("""
q = quiz.ask("2.2-virt-kernel")
"""),
    md("""
`/proc/self/smaps` lists every mapping with its size and its Rss. The cell sorts them into kinds.
Two kinds come from threads: each thread gets a **stack** (8 MiB by default, `ulimit -s`, with a
one-page guard below it), and glibc gives threads their own **malloc arena**, so they do not fight
over one lock: each arena reserves a 64 MiB heap, almost all of it `PROT_NONE` until needed. A Jupyter
kernel runs many threads (the cell prints how many): ZeroMQ's I/O threads, the heartbeat, IOPub,
control and shell channels, the watchers that capture stdout and stderr, and more.
""", """
`/proc/self/smaps`에는 모든 매핑이 크기, Rss와 함께 나옵니다. 아래 셀이 매핑을 종류별로 나눕니다.
두 종류는 스레드에서 옵니다. 스레드마다 **스택**(기본 8 MiB, `ulimit -s`, 아래에 보호 페이지 한 장)을
받고, glibc는 스레드들이 락 하나를 두고 다투지 않도록 스레드에 따로 **malloc 아레나**를 줍니다.
아레나마다 64 MiB 힙을 예약하는데, 필요해질 때까지 거의 전부가 `PROT_NONE`입니다. 주피터 커널은
스레드를 여럿 돌립니다(몇 개인지는 셀이 알려 줍니다). ZeroMQ의 입출력 스레드, 하트비트, IOPub,
control과 shell 채널, stdout과 stderr를 가로채는 감시 스레드 등입니다.
"""),
    code("""
v = ch2_2.virt_breakdown()
ch2_2.report_virt(v)
v.mib_table()
"""),
    code("""
q.check(v);
"""),
    md("""
The reservations cost address space, not RAM: their RES column is close to zero. Setting
`MALLOC_ARENA_MAX=1` in a program's environment makes every thread share the main arena: VIRT drops,
at the price of lock contention in heavily threaded programs that malloc a lot. The cell starts the
same small threaded Python twice, once with glibc's default and once with `MALLOC_ARENA_MAX=1`, and
counts its arena heaps:
""", """
이런 예약은 RAM이 아니라 주소 공간만 씁니다. RES 열은 0에 가깝습니다. 프로그램의 환경 변수에
`MALLOC_ARENA_MAX=1`을 주면 모든 스레드가 주 아레나 하나를 공유합니다. VIRT는 줄어들지만, 스레드가
많고 malloc을 많이 하는 프로그램에서는 락 경합이라는 대가를 치릅니다. 아래 셀은 스레드를 쓰는
작은 파이썬 프로그램을 두 번 띄웁니다. 한 번은 glibc 기본값으로, 한 번은 `MALLOC_ARENA_MAX=1`로
띄우고 아레나 힙 수를 셉니다.
"""),
    code("""
ch2_2.arena_table(threads=ch2_2.ARENA_THREADS)
"""),
    md("""
## Find the memory hogs, honestly

The book's advice is to look for the processes with the highest RES. That finds big processes, but
it charges every shared page in full to every process that maps it, so processes built on the same
large libraries, or forked from one parent (web server workers, Chrome's tabs, PostgreSQL backends),
all look bigger than they are. PSS charges each its share; USS says what killing it would give back.
`top` can show both (press `f`, select `PSS` and `USS`), and so can `ps -eo pid,rss,pss,uss,comm`.
Reading them takes a walk over every mapping, which is why top hides them by default.

The cell ranks this machine's processes both ways. Without root it can read PSS only for your own
processes, and says how many it skipped.
""", """
## 메모리를 많이 쓰는 프로세스 제대로 찾기

책은 RES가 높은 프로세스를 찾으라고 합니다. 그러면 큰 프로세스는 찾지만, RES는 공유 페이지를 그 페이지를
매핑한 모든 프로세스에 통째로 물리므로, 같은 큰 라이브러리를 쓰거나 한 부모에서 fork된 프로세스(웹 서버
워커, Chrome의 탭, PostgreSQL 백엔드)는 모두 실제보다 커 보입니다. PSS는 각자 몫만큼만 물리고,
USS는 그 프로세스를 죽였을 때 돌려받을 양을 알려 줍니다. `top`도 둘 다 보여 줄 수 있고(`f`를
누르고 `PSS`와 `USS` 선택), `ps -eo pid,rss,pss,uss,comm`로도 볼 수 있습니다. 이 값을 읽으려면 매핑을
하나하나 훑어야 해서, top은 기본으로는 보여 주지 않습니다.

아래 셀은 이 시스템의 프로세스를 두 기준으로 줄 세웁니다. root가 아니면 자기 프로세스의 PSS만 읽을
수 있으며, 셀은 건너뛴 프로세스 수를 알려 줍니다.
"""),
    code("""
hogs = ch2_2.memory_hogs()
ch2_2.report_hogs(hogs)
hogs.top("RES")
"""),
    code("""
hogs.top("PSS")
"""),
    code("""
hogs.sums()
"""),
    md("""
The sum of PSS is the memory these processes really take, and it is smaller than the sum of RES by
exactly the double counting. Neither sum has to match `MemTotal - MemAvailable`, top's `used`: that
one also holds the kernel's own memory (slab, page tables, kernel stacks), tmpfs and shmem files that
no process maps, and processes outside this container, while it leaves out the part of the page cache
the kernel could reclaim. For "is this machine short of memory?" read `avail Mem`; for "which process
should I look at?" rank by PSS, and by USS for "what would I get back?".
""", """
PSS 합계가 이 프로세스들이 실제로 차지하는 메모리이고, RES 합계보다 정확히 중복으로 센 만큼
작습니다. 두 합계 모두 top의 `used`인 `MemTotal - MemAvailable`과 맞을 필요는 없습니다. `used`에는
커널 자신의 메모리(slab, 페이지 테이블, 커널 스택), 어떤 프로세스도 매핑하지 않은 tmpfs와 shmem 파일,
이 컨테이너 밖의 프로세스까지 들어가고, 커널이 회수할 수 있는 페이지 캐시는 빠지기 때문입니다.
"이 시스템에 메모리가 부족한가?"에는 `avail Mem`을 보고, "어떤 프로세스를 봐야 하나?"에는 PSS로,
"무엇을 끄면 얼마나 돌려받나?"에는 USS로 줄 세우세요.
"""),
    md("""
## Summary

- top reads VIRT, RES and SHR from `/proc/PID/statm`. **RES = RssAnon + RssFile + RssShmem** and
  **SHR = RssFile + RssShmem** (`/proc/PID/status`), so SHR is a part of RES.
- SHR means *resident and backed by a file or shmem*, not "shared with other processes": it includes
  a program's private code, and it misses anonymous memory shared copy-on-write after `fork()`.
- A MAP_SHARED region counts in full in the RES and SHR of every process that touches it; PSS divides
  it, N/(K+1) for K children and their parent.
- glibc is mapped privately by nearly every process and shared through the page cache: summed RSS
  counts it once per process, summed PSS once.
- A large VIRT is mostly reservations: a Jupyter kernel's malloc arenas (64 MiB each) and thread stacks
  (8 MiB each). `MALLOC_ARENA_MAX=1` removes the extra arenas.
- Summing RES overstates memory use. Rank by PSS (or USS), and judge the machine by `avail Mem`.
""", """
## 정리

- top은 VIRT, RES, SHR을 `/proc/PID/statm`에서 읽습니다. **RES = RssAnon + RssFile + RssShmem**,
  **SHR = RssFile + RssShmem**(`/proc/PID/status`)이므로 SHR은 RES의 일부입니다.
- SHR의 뜻은 *파일이나 shmem이 뒷받침하는 상주 메모리*이지 "다른 프로세스와 공유하는 메모리"가
  아닙니다. 프로그램의 비공개 코드도 들어가고, `fork()` 뒤 쓰기 시 복사로 공유하는 익명 메모리는
  빠집니다.
- MAP_SHARED 영역은 그것을 건드린 모든 프로세스의 RES와 SHR에 통째로 들어갑니다. PSS는 이를 나눠서,
  부모와 자식 K개라면 N/(K+1)씩 셉니다.
- glibc는 거의 모든 프로세스가 비공개로 매핑하고 페이지 캐시를 통해 공유합니다. RSS를 더하면
  프로세스 수만큼, PSS를 더하면 한 번만 셉니다.
- VIRT가 큰 것은 대부분 예약 때문입니다. 주피터 커널에서는 malloc 아레나(각 64 MiB)와 스레드
  스택(각 8 MiB)입니다. `MALLOC_ARENA_MAX=1`이면 추가 아레나가 사라집니다.
- RES를 더하면 메모리 사용량이 부풀려집니다. 프로세스는 PSS(또는 USS)로 줄 세우고, 시스템 전체는
  `avail Mem`으로 판단하세요.
"""),
    md("""
## On your own

1. Run `shared_mem` with `--no-touch-parent`: the parent maps the region but never writes it, while
   the children do. Which of the parent's numbers move: VIRT, RES, SHR, PSS?

<details><summary>Solution</summary>

```python
r = ch2_2.run_shared(mib=ch2_2.SHARED_MIB, children=2, touch_parent=False)
r.mib_table()
```

The parent's VIRT includes the region (it is mapped), but its RES, SHR and PSS do not: a process
counts a shared page only once it has touched it, even if another process put it in RAM. The two
children split the region between them in PSS: N/2 each.
</details>

2. Map a *file* instead of anonymous memory: `programs.shared_mem(mib, children=2, file=path)` with a
   path under `/tmp`. Which of RssFile and RssShmem grows? And if `/tmp` is a tmpfs on your machine?

<details><summary>Solution</summary>

```python
import tempfile
from kernel_helpers import programs
path = os.path.join(tempfile.gettempdir(), "toplab-shared.bin")
with programs.shared_mem(ch2_2.SHARED_MIB, children=2, file=path) as p:
    p.wait_for("holding", timeout=30)
    table = ch2_2.measure_pids(ch2_2.program_pids(p))
ch2_2.readable(table)
```

On a disk file system the region is page cache: quadrant 4, RssFile. On tmpfs (`df /tmp` says
`tmpfs`) the file lives in shmem, so RssShmem grows. Both count in SHR either way. shared_mem
removes the file when it exits.
</details>

3. Which process on your machine has the largest gap between RES and PSS, and why?

<details><summary>Solution</summary>

```python
h = ch2_2.memory_hogs()
t = h.readable.assign(gap=h.readable.RES - h.readable.PSS).sort_values("gap", ascending=False)
ch2_2.readable(t.head())
```

Usually a process that maps big shared libraries or shares memory with its children: its RES charges
it all of them, its PSS only its share.
</details>

4. Start a Python with 8 threads under `MALLOC_ARENA_MAX=2`. How many arena heaps does it get?

<details><summary>Solution</summary>

```python
ch2_2.arena_demo(threads=8, arena_max=2)
```

At most one extra arena: the limit counts the main arena (which lives in `[heap]`, not in a 64 MiB
heap) as one of the two.
</details>
""", """
## 직접 해 보기

1. `--no-touch-parent`로 `shared_mem`을 실행해 보세요. 부모는 영역을 매핑만 하고 쓰지 않고, 자식들만
   씁니다. 부모의 숫자 가운데 무엇이 움직일까요? VIRT, RES, SHR, PSS?

<details><summary>풀이</summary>

```python
r = ch2_2.run_shared(mib=ch2_2.SHARED_MIB, children=2, touch_parent=False)
r.mib_table()
```

부모의 VIRT에는 영역이 들어가지만(매핑되어 있으므로), RES, SHR, PSS에는 들어가지 않습니다. 다른
프로세스가 RAM에 올려 둔 페이지라도, 프로세스는 자기가 건드린 공유 페이지만 셉니다. 두 자식이 PSS에서
영역을 나눠 가져 각각 N/2가 됩니다.
</details>

2. 익명 메모리 대신 *파일*을 매핑해 보세요. `programs.shared_mem(mib, children=2, file=path)`에
   `/tmp` 아래 경로를 줍니다. RssFile과 RssShmem 가운데 무엇이 늘까요? `/tmp`가 tmpfs라면요?

<details><summary>풀이</summary>

```python
import tempfile
from kernel_helpers import programs
path = os.path.join(tempfile.gettempdir(), "toplab-shared.bin")
with programs.shared_mem(ch2_2.SHARED_MIB, children=2, file=path) as p:
    p.wait_for("holding", timeout=30)
    table = ch2_2.measure_pids(ch2_2.program_pids(p))
ch2_2.readable(table)
```

디스크 파일 시스템이면 영역은 페이지 캐시입니다. 4번 칸이고 RssFile에 잡힙니다. tmpfs라면(`df /tmp`에
`tmpfs`라고 나오면) 파일이 shmem에 있으므로 RssShmem이 늘어납니다. 어느 쪽이든 SHR에는 들어갑니다.
shared_mem은 끝날 때 파일을 지웁니다.
</details>

3. 이 시스템에서 RES와 PSS의 차이가 가장 큰 프로세스는 무엇이고, 왜 그럴까요?

<details><summary>풀이</summary>

```python
h = ch2_2.memory_hogs()
t = h.readable.assign(gap=h.readable.RES - h.readable.PSS).sort_values("gap", ascending=False)
ch2_2.readable(t.head())
```

대개 큰 공유 라이브러리를 매핑했거나 자식과 메모리를 공유하는 프로세스입니다. RES는 그 전부를 물리고,
PSS는 자기 몫만 물립니다.
</details>

4. `MALLOC_ARENA_MAX=2`로 스레드 8개짜리 파이썬을 띄워 보세요. 아레나 힙은 몇 개 생길까요?

<details><summary>풀이</summary>

```python
ch2_2.arena_demo(threads=8, arena_max=2)
```

추가 아레나는 많아야 하나입니다. 한도에는 주 아레나도 하나로 들어가는데, 주 아레나는 64 MiB 힙이
아니라 `[heap]`에 있습니다.
</details>
"""),
    md("""
## Further reading

- `man top`: "Linux Memory Types" in the OVERVIEW, and the field descriptions in 3a (procps-ng 4.0.2).
- `man 5 proc`: `/proc/PID/statm`, `status`, `smaps`, `smaps_rollup`.
- Linux kernel documentation, [Documentation/filesystems/proc.rst](https://docs.kernel.org/filesystems/proc.html):
  the meaning of Rss, Pss, Shared/Private, Clean/Dirty in smaps.
- Kernel source: `task_statm()` and `task_mem()` in `fs/proc/task_mmu.c`.
- `man 3 mallopt` (M_ARENA_MAX, M_MMAP_THRESHOLD) and the glibc manual's
  [Memory Allocation Tunables](https://www.gnu.org/software/libc/manual/html_node/Memory-Allocation-Tunables.html).
- `man 1 ps` (the `pss` and `uss` format specifiers), `smem` for PSS reports.
- Next: [2.3 VIRT, RES and memory commit](2.3-memory-commit.ipynb), where `malloc()` reserves and writing makes it real.
""", """
## 더 읽을거리

- `man top`: OVERVIEW의 "Linux Memory Types"와 3a의 필드 설명(procps-ng 4.0.2).
- `man 5 proc`: `/proc/PID/statm`, `status`, `smaps`, `smaps_rollup`.
- 리눅스 커널 문서 [Documentation/filesystems/proc.rst](https://docs.kernel.org/filesystems/proc.html):
  smaps의 Rss, Pss, Shared/Private, Clean/Dirty의 뜻.
- 커널 소스: `fs/proc/task_mmu.c`의 `task_statm()`과 `task_mem()`.
- `man 3 mallopt`(M_ARENA_MAX, M_MMAP_THRESHOLD)와 glibc 매뉴얼의
  [Memory Allocation Tunables](https://www.gnu.org/software/libc/manual/html_node/Memory-Allocation-Tunables.html).
- `man 1 ps`(`pss`, `uss` 출력 형식), PSS 보고서를 만드는 `smem`.
- 다음 장: [2.3 VIRT, RES와 메모리 커밋](2.3-memory-commit.ipynb). `malloc()`은 예약만 하고, 쓰기를 해야 실제 메모리가 됩니다.
"""),
]

write_pair("2.2-virt-res-shr", cells)
