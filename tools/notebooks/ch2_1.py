"""Source of notebooks/{en,ko}/2.1-reading-top.ipynb. Run: .venv/bin/python tools/notebooks/ch2_1.py"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbtools import code, md, write_pair  # noqa: E402

cells = [
    # ------------------------------------------------------------------ title
    md("""
# 2.1 Reading the system's state with `top`

`top` is the first thing most engineers type when a Linux machine feels slow. One screen holds five
summary lines about the whole system and one row per process. This chapter reads them line by line
on your own machine, with a small Python copy of `top` (`kernel_helpers.top`) that reads the same
files under `/proc`, so you can see where each number comes from.

| | |
|---|---|
| **What you'll do** | Run `top` in batch mode, take the same snapshot from Python, read each header line with live values, and find the process that uses the most memory. |
| **What you'll learn** | What uptime, load average, the `Tasks` line, each `%Cpu(s)` field and the `Mem` line mean; why `free + used + buff/cache` no longer adds up to `total`; what the process columns mean; batch mode and the interactive keys; why the biggest memory user is found with RES, not VIRT. |
| **What you need** | The [start page](00-start-here.ipynb) check passing, and `top` from procps-ng. The text describes 4.0.1-4.0.4 (Debian 12 has 4.0.2) and says where other versions differ. No root. |
| **Time** | 20-25 minutes. |
""", """
# 2.1 `top`으로 시스템 상태 살펴보기

리눅스 서버가 느려졌다 싶을 때 대부분의 엔지니어가 가장 먼저 입력하는 명령이 `top`입니다. 화면
하나에 시스템 전체를 요약한 다섯 줄과, 프로세스마다 한 줄씩인 행이 담겨 있습니다. 이 장에서는 여러분의
시스템에서 이 화면을 한 줄씩 읽어 봅니다. `/proc` 아래의 같은 파일을 읽는 작은 파이썬판 `top`
(`kernel_helpers.top`)을 곁에 두고, 숫자마다 어디서 오는지 확인합니다.

| | |
|---|---|
| **할 일** | `top`을 배치 모드로 실행하고, 같은 스냅숏을 파이썬으로 찍고, 헤더의 각 줄을 실제 값과 함께 읽고, 메모리를 가장 많이 쓰는 프로세스를 찾습니다. |
| **배울 것** | 가동 시간, 부하 평균, `Tasks` 줄, `%Cpu(s)`의 각 필드, `Mem` 줄의 뜻. `free + used + buff/cache`가 왜 더 이상 `total`이 되지 않는지. 프로세스 열의 뜻. 배치 모드와 대화형 키. 메모리를 가장 많이 쓰는 프로세스를 왜 VIRT가 아니라 RES로 찾는지. |
| **필요한 것** | [시작 페이지](00-start-here.ipynb)의 환경 확인 통과, procps-ng의 `top`. 본문은 4.0.1-4.0.4(Debian 12는 4.0.2)를 기준으로 설명하고, 다른 버전에서 달라지는 곳은 따로 알려 줍니다. root 권한은 필요 없습니다. |
| **걸리는 시간** | 20-25분. |
"""),
    md("""
Run the cell below first: it loads the helpers this chapter uses.
""", """
먼저 아래 셀을 실행해서 이 장에서 쓰는 도우미를 불러옵니다.
"""),
    code("""
import os

from kernel_helpers import quiz
from kernel_helpers.lessons import ch2_1
"""),
    # ------------------------------------------------------------------ the real top
    md("""
## Take a snapshot with the real `top`

Started without options, `top` takes over the terminal and redraws itself every 3 seconds until you
press `q`. To capture one moment as plain text, use **batch mode**: `-b` prints text instead of
drawing a screen, and `-n 1` stops after one frame.
""", """
## 실제 `top`으로 스냅숏 찍기

옵션 없이 실행한 `top`은 터미널 화면을 차지하고 `q`를 누를 때까지 3초마다 화면을 다시 그립니다.
한순간을 일반 텍스트로 남기려면 **배치 모드**를 씁니다. `-b`는 화면을 그리는 대신 텍스트를 출력하고,
`-n 1`은 한 화면만 출력한 뒤 끝냅니다.
"""),
    code("""
ch2_1.run_top("-b -n 1", lines=16)
"""),
    md("""
Five summary lines, a blank line, the column header, then one row per process: the shape of the
book's screenshot. One line deserves suspicion right away: **`%Cpu(s)`**. It may read `100.0 id`, or
something as odd as `100.0 sy`. The CPU figures are rates, computed from the difference between two
readings of `/proc/stat`, and the first frame has only the moment since `top` started: a few clock
ticks, often spent by `top` itself in the kernel. The per-process `%CPU` values in that frame cover only
that short moment too (a fraction of a second), so they are coarse. Ask for two frames and read the second:
""", """
요약 다섯 줄, 빈 줄, 열 이름, 그리고 프로세스마다 한 줄. 책에 실린 화면과 같은 모양입니다. 그런데 한
줄은 처음부터 의심해야 합니다. 바로 **`%Cpu(s)`** 줄입니다. `100.0 id`로 나오거나, `100.0 sy`처럼 이상한
값이 나오기도 합니다. CPU 수치는 `/proc/stat`을 두 번 읽은 차이로 구하는 비율인데, 첫 화면에는 `top`이
시작한 뒤의 아주 짧은 순간밖에 없습니다. 클록 틱 몇 개뿐이고, 그마저 `top` 자신이 커널 안에서 쓴 시간인
경우가 많습니다. 첫 화면의 프로세스별 `%CPU`도 그 짧은 순간(1초도 안 되는 시간)만 다루므로 값이 거칩니다.
`-n 2`로 화면을 두 번 출력하게 하고 두 번째 화면을 읽으세요.
"""),
    code("""
ch2_1.cpu_lines()
"""),
    # ------------------------------------------------------------------ python snapshot
    md("""
## Take the same snapshot from Python

`kernel_helpers.top.snapshot()` reads what `top` reads: `/proc/uptime`, `/proc/loadavg`, `/proc/stat`
and `/proc/meminfo` for the header, `/proc/PID/stat` and `/proc/PID/statm` for each process. It reads
twice, a short interval apart, so its CPU figures are never a first frame. It prints in `top`'s
layout, and keeps the numbers as numbers: `snap.table` is a pandas DataFrame with memory in bytes.
""", """
## 같은 스냅숏을 파이썬으로 찍기

`kernel_helpers.top.snapshot()`은 `top`이 읽는 파일을 그대로 읽습니다. 헤더는 `/proc/uptime`,
`/proc/loadavg`, `/proc/stat`, `/proc/meminfo`에서, 프로세스마다의 값은 `/proc/PID/stat`과
`/proc/PID/statm`에서 가져옵니다. 짧은 간격을 두고 두 번 읽으므로 CPU 수치에 첫 화면과 같은 문제가
없습니다. 출력은 `top`과 같은 모양이고, 값은 문자열이 아니라 숫자 그대로 보관합니다. `snap.table`은 메모리를 바이트로
담은 pandas DataFrame입니다.
"""),
    code("""
snap = ch2_1.snapshot()
print(snap.to_text(max_rows=8))
"""),
    md("""
## Compare with the real `top`: this notebook's Jupyter kernel

Is the copy faithful? The Jupyter kernel running this notebook is an ordinary process, and
`os.getpid()` gives its PID. The cell runs `python -m kernel_helpers.top -n 1 -p PID` and
`top -b -n 1 -p PID` at the same time, for the Jupyter kernel and for PID 1, and compares the fields that
don't depend on timing (USER, PR, NI, VIRT, RES, SHR, S, COMMAND). The header and `%CPU` differ: the real
`top` prints a first frame (see above), and the two programs read at slightly different moments.
(The test suite makes the same comparison for the header and for processes in every state; here
once is enough.)
""", """
## 실제 `top`과 비교하기: 이 노트북의 주피터 커널

파이썬판이 정말 똑같을까요? 이 노트북을 실행하는 주피터 커널도 평범한 프로세스이고, `os.getpid()`가
그 PID를 알려 줍니다. 아래 셀은 `python -m kernel_helpers.top -n 1 -p PID`와 `top -b -n 1 -p PID`를
동시에 실행합니다. 대상은 주피터 커널과 PID 1이고, 측정 시점에 따라 달라지지 않는 필드(USER, PR, NI,
VIRT, RES, SHR, S, COMMAND)를 비교합니다. 헤더와 `%CPU`는 다릅니다. 실제 `top`은 첫 화면을 출력하고(위
참고), 두 프로그램이 값을 읽는 순간도 조금씩 다르기 때문입니다. (테스트는 헤더와 온갖
상태의 프로세스에 대해서도 같은 비교를 합니다. 여기서는 한 번이면 충분합니다.)
"""),
    code("""
ch2_1.side_by_side([os.getpid(), 1])
"""),
    # ------------------------------------------------------------------ header
    md("""
## Read the first line: clock, uptime, users, load average

The first line is what the `uptime` command prints: the time, how long the system has been up (from
`/proc/uptime`), how many login sessions the utmp file records (not processes, not accounts; procps-ng
4.0.4 and later ask systemd-logind instead on a system booted with systemd), and the **load average**:
the number of tasks that wanted to run, as exponentially damped averages with time constants of 1, 5
and 15 minutes (not plain averages over those windows). The
kernel counts tasks running or waiting for a CPU (state R) *plus* tasks in uninterruptible sleep
(state D), so a hung disk raises the load while the CPUs idle. Read it against the number of CPUs:
on 2 CPUs, 2.0 means busy, 4.0 means a queue.
""", """
## 첫 줄 읽기: 시각, 가동 시간, 사용자, 부하 평균

첫 줄은 `uptime` 명령이 출력하는 내용과 같습니다. 현재 시각, 시스템이 켜진 뒤 흐른 시간(`/proc/uptime`),
utmp 파일에 기록된 로그인 세션 수(프로세스 수나 계정 수가 아닙니다. procps-ng 4.0.4부터는 systemd로
부팅한 시스템에서 utmp 대신 systemd-logind에 묻습니다), 그리고 **부하 평균**입니다. 부하 평균은
실행되기를 원한 태스크 수를 시간 상수 1분, 5분, 15분으로 지수 평활한 값입니다(그 구간의 단순 평균이
아닙니다). 커널은 실행 중이거나 CPU를
기다리는 태스크(R 상태)에 중단 불가 대기 중인 태스크(D 상태)를 *더해서* 세므로, 디스크가 멈추면 CPU는
놀아도 부하가 올라갑니다. CPU 수와 비교해서 읽습니다. CPU가 2개라면 2.0은 꽉 찼다는 뜻이고, 4.0은 태스크가
줄을 서서 기다린다는 뜻입니다.
"""),
    code("""
ch2_1.explain_uptime(snap)
ch2_1.explain_load(snap)
"""),
    md("""
## Count the tasks by state

The `Tasks` line has five words, but the `S` column shows seven letters you will meet: R, S, D, T, t,
Z and I. (The kernel also has P, parked, and X, dead, rarely seen.) In procps-ng 4.0.1-4.0.4 (Debian 12
has 4.0.2), `sleeping` counts S, D and I together (and the rare P and X), which is why it is so large:
most machines have dozens of idle kernel threads (I). From 4.0.5 the line has a separate `d-sleep`
count, and D is no longer in `sleeping`. `stopped` counts T and t. The table below follows the `top`
installed here. Chapter
[2.4](2.4-process-states-priority.ipynb) puts processes into each state.
""", """
## 상태별로 태스크 세기

`Tasks` 줄에는 단어가 다섯 개뿐이지만, `S` 열에서 만나게 될 글자는 R, S, D, T, t, Z, I의 일곱
가지입니다(커널에는 드물게 보이는 P(parked)와 X(dead)도 있습니다). procps-ng 4.0.1-4.0.4(Debian 12는
4.0.2)에서 `sleeping`은 S, D, I를(드문 P와 X까지) 한꺼번에 세기 때문에 숫자가 큽니다. 대부분의
시스템에는 유휴 커널 스레드(I)가 수십 개 있습니다. 4.0.5부터는 이 줄에 `d-sleep`이 따로 있어서 D는
`sleeping`에 들어가지 않습니다. `stopped`는 T와 t를 셉니다. 아래 표는 여기 설치된 `top`을 따릅니다. 상태마다 프로세스를 직접 만들어
보는 것은 [2.4장](2.4-process-states-priority.ipynb)에서 합니다.
"""),
    code("""
ch2_1.explain_tasks(snap)
"""),
    md("""
## Read the `%Cpu(s)` line

Every CPU spends each clock tick on one thing, and the kernel counts the ticks per category in the
`cpu` line of `/proc/stat`. `top` shows each category's share of all the ticks of all CPUs between two
readings, so the eight fields add up to 100 (press `1` in `top` for one line per CPU).
""", """
## `%Cpu(s)` 줄 읽기

CPU는 클록 틱마다 한 가지 일을 하고, 커널은 `/proc/stat`의 `cpu` 줄에 종류별 틱 수를 세어 둡니다.
`top`은 두 번 읽는 사이에 모든 CPU의 틱 가운데 종류마다 몇 퍼센트였는지 보여 주므로, 여덟 필드를
더하면 100이 됩니다(`top`에서 `1`을 누르면 CPU마다 한 줄씩 나옵니다).
"""),
    code("""
ch2_1.cpu_fields(snap)
"""),
    md("""
Two fields are often misread. `wa` (iowait) is *idle* time: the CPU had nothing to run while some I/O
was pending, so a high `wa` does not mean a busy CPU. `st` (steal) appears on virtual machines: time
your virtual CPU was ready to run while the hypervisor ran something else (another VM, or itself).

## Check the `Mem` and `Swap` lines

```
MiB Mem :    957.3 total,    212.9 free,    349.6 used,    558.7 buff/cache
MiB Swap:      0.0 total,      0.0 free,      0.0 used.    607.8 avail Mem
```

These are the book's figures. It is tempting to read the `Mem` line as a pie: free, used and
buff/cache, adding up to total. Predict before you look at your machine:
""", """
자주 잘못 읽는 필드가 두 개 있습니다. `wa`(iowait)는 *유휴* 시간입니다. I/O가 끝나기를 기다리는 동안
CPU가 실행할 것이 없었다는 뜻이라, `wa`가 높다고 CPU가 바쁜 것은 아닙니다. `st`(steal)는 가상 머신에서
나옵니다. 여러분의 가상 CPU가 실행될 준비가 되어 있었는데 하이퍼바이저가 다른 일(다른 가상 머신이나
하이퍼바이저 자신)을 실행한 시간입니다.

## `Mem`과 `Swap` 줄 확인하기

```
MiB Mem :    957.3 total,    212.9 free,    349.6 used,    558.7 buff/cache
MiB Swap:      0.0 total,      0.0 free,      0.0 used.    607.8 avail Mem
```

책에 실린 숫자입니다. `Mem` 줄을 free, used, buff/cache로 나뉜 파이 차트처럼, 즉 셋을 더하면 total이
되는 것처럼 읽고 싶어집니다. 여러분의 시스템을 보기 전에 예상해 보세요.
"""),
    code("""
q = quiz.ask("2.1-mem-sum")
"""),
    code("""
display(ch2_1.mem_fields(snap))
m = ch2_1.mem_sum(snap)
q.check(m)
"""),
    md("""
Each field comes straight from `/proc/meminfo`. What changed is `used`: since **procps-ng 4.0.1**,
`top` and `free` print `used = MemTotal - MemAvailable`, where older versions printed
`total - free - buffers - cache`. With the old formula the three added up exactly; with the new one
they do not. The book's own screenshot, taken with the new `top`, shows it without saying so:
212.9 + 349.6 + 558.7 = 1121.2, not 957.3.

How to read the line today:

- **avail Mem** (`MemAvailable`) is the number to watch: the kernel's estimate of how much memory new
  work can get without swapping. It sits at the end of the `Swap` line only for layout reasons.
- **used** is `total - avail Mem`: memory that cannot be handed out right now.
- **buff/cache** is mostly the page cache, file contents kept in otherwise idle RAM. The kernel gives
  most of it back when programs need memory, so a small **free** is normal, not a warning.
- **Swap** is all zeros when no swap is configured, as on many servers and containers.

## Read the process columns

Below the header, each row is one process. The table shows every column for this notebook's Jupyter
kernel as `top` would print it, with its meaning and its source:
""", """
각 필드는 `/proc/meminfo`에서 바로 옵니다. 바뀐 것은 `used`입니다. **procps-ng 4.0.1**부터 `top`과
`free`는 `used = MemTotal - MemAvailable`을 출력합니다. 그 전 버전은 `total - free - buffers - cache`를
출력했습니다. 옛 공식에서는 세 값을 더하면 정확히 total이 되었지만, 새 공식에서는 그렇지 않습니다. 새
`top`으로 찍은 책의 화면도 아무 설명 없이 이를 보여 줍니다. 212.9 + 349.6 + 558.7 = 1121.2로, 957.3이
아닙니다.

오늘날 이 줄은 이렇게 읽습니다.

- **avail Mem**(`MemAvailable`)이 지켜봐야 할 숫자입니다. 스왑 없이 새 작업이 얻을 수 있는 메모리를
  커널이 추정한 값입니다. `Swap` 줄 끝에 붙어 있는 것은 화면 배치 때문일 뿐입니다.
- **used**는 `total - avail Mem`입니다. 지금 당장 내줄 수 없는 메모리입니다.
- **buff/cache**는 대부분 페이지 캐시로, 놀고 있었을 RAM에 파일 내용을 담아 둔 것입니다. 프로그램이
  메모리를 필요로 하면 커널이 대부분을 돌려주므로, **free**가 작은 것은 경고가 아니라 정상입니다.
- **Swap**은 스왑을 설정하지 않았다면(서버와 컨테이너에서 흔합니다) 모두 0입니다.

## 프로세스 열 읽기

헤더 아래에서는 한 행이 프로세스 하나입니다. 아래 표는 이 노트북의 주피터 커널에 대해 열마다 `top`이
출력하는 값, 뜻, 출처를 보여 줍니다.
"""),
    code("""
ch2_1.columns()
"""),
    md("""
A few notes:

- **VIRT, RES, SHR** are in KiB. VIRT is all the virtual memory the process has mapped, RES the part
  of it in RAM (resident memory), and SHR the part of RES that is file-backed or shared memory:
  **SHR is a part of RES**. Chapter [2.2](2.2-virt-res-shr.ipynb) takes the three apart. **%MEM** is
  RES divided by `MemTotal`.
- **PR** and **NI** are the priority and the nice value (PR = 20 + NI for normal tasks); **S** is the
  state. Chapter [2.4](2.4-process-states-priority.ipynb) covers both.
- **%CPU** is the share of *one* CPU used since the last refresh, so a process with several busy
  threads can pass 100. **TIME+** is the CPU time used since the process started, as
  `minutes:seconds.hundredths`.
- **COMMAND** is the name the kernel keeps (at most 15 characters for programs; kernel threads can show
  longer names); `top -c` shows the full command line.

## Run `top` in batch mode

Batch mode makes `top` a tool for scripts and logs. The options worth knowing:

| Option | What it does |
|---|---|
| `-b` | batch mode: plain text, works in pipes and files |
| `-n N` | stop after N frames (without it, batch mode runs forever) |
| `-d S` | S seconds between frames (default 3; `0.5` works) |
| `-p PID[,PID...]` | only these processes (up to 20) |
| `-o FIELD` | sort by this column, e.g. `-o %MEM`, `-o RES`, `-o TIME+` |
| `-w N` | lines N columns wide, so COMMAND is not cut |
| `-H` | one row per thread instead of per process |

For example, the processes with the most memory:
""", """
몇 가지 덧붙입니다.

- **VIRT, RES, SHR**는 KiB 단위입니다. VIRT는 프로세스가 매핑한 가상 메모리 전체, RES는 그 가운데
  RAM에 올라와 있는 부분(상주 메모리), SHR은 RES 가운데 파일 기반 페이지와 공유 메모리입니다. 즉
  **SHR은 RES의 일부**입니다. 세 값은 [2.2장](2.2-virt-res-shr.ipynb)에서 자세히 뜯어봅니다.
  **%MEM**은 RES를 `MemTotal`로 나눈 값입니다.
- **PR**과 **NI**는 우선순위와 nice 값이고(일반 태스크는 PR = 20 + NI), **S**는 상태입니다. 둘 다
  [2.4장](2.4-process-states-priority.ipynb)에서 다룹니다.
- **%CPU**는 지난 갱신 이후 CPU *하나*를 기준으로 몇 퍼센트를 썼는지 나타내므로, 스레드 여럿이 바쁜
  프로세스는 100을 넘을 수 있습니다. **TIME+** 열은 프로세스가 시작한 뒤 쓴 CPU 시간을
  `분:초.백분의 1초`로 보여 줍니다.
- **COMMAND**는 커널이 기억하는 프로그램 이름입니다(프로그램은 최대 15자, 커널 스레드는 더 긴 이름이
  나오기도 합니다). `top -c`는 명령줄 전체를
  보여 줍니다.

## `top`을 배치 모드로 실행하기

배치 모드에서는 `top`을 스크립트나 로그 기록에 활용할 수 있습니다. 알아 둘 만한 옵션은 다음과 같습니다.

| 옵션 | 하는 일 |
|---|---|
| `-b` | 배치 모드: 일반 텍스트 출력. 파이프와 파일에 쓸 수 있음 |
| `-n N` | N번 출력한 뒤 종료(없으면 배치 모드는 끝나지 않음) |
| `-d S` | 출력 사이의 간격 S초(기본 3초, `0.5`도 가능) |
| `-p PID[,PID...]` | 이 프로세스들만(최대 20개) |
| `-o FIELD` | 이 열로 정렬. 예: `-o %MEM`, `-o RES`, `-o TIME+` |
| `-w N` | 줄 너비를 N칸으로 해서 COMMAND가 잘리지 않게 함 |
| `-H` | 프로세스 대신 스레드마다 한 줄 |

예를 들어 메모리를 가장 많이 쓰는 프로세스들은 이렇게 봅니다.
"""),
    code("""
ch2_1.run_top("-b -n 1 -o %MEM", lines=12)
"""),
    md("""
The book finds its test program with `top -b -n 1 | grep -i malloc`; `top -b -n 1 -p $(pgrep -d,
malloc_test)` does the same and keeps the column header. An hour of history, one frame every
5 seconds: `top -b -d 5 -n 720 > top.log`.

## Try the interactive keys in a terminal

The interactive `top` needs a real terminal. Open one (in JupyterLab: *File → New → Terminal*), type
`top`, and try these keys:

| Key | What it does |
|---|---|
| `M` / `P` | sort by %MEM / by %CPU (the default) |
| `1` | one `%Cpu` line per CPU, and back |
| `f` | the fields screen: pick columns with the arrows and space, `s` sets the sort column, `q` leaves. Try adding `SWAP`, `nMaj` and `nMin` (page faults) |
| `c` | full command lines |
| `H` | threads instead of processes |
| `E` / `e` | memory units of the summary lines / of the rows (KiB, MiB, GiB, ...) |
| `Shift+I` | Irix / Solaris mode for %CPU (chapter 2.4) |
| `W` | save these settings to `~/.config/procps/toprc` |
| `q` | quit |

The lab also has a live table inside the notebook: sort it with the drop-down, filter it, and hover
over a column header for its meaning. It refreshes until you close it.
""", """
책은 `top -b -n 1 | grep -i malloc`으로 실습 프로그램을 찾습니다. `top -b -n 1 -p $(pgrep -d,
malloc_test)`를 쓰면 열 이름 줄을 잃지 않고 같은 결과를 얻습니다. 5초마다 한 화면씩 한 시간 동안
기록하려면 `top -b -d 5 -n 720 > top.log`를 씁니다.

## 터미널에서 대화형 키 써 보기

대화형 `top`은 실제 터미널이 있어야 합니다. 터미널을 열고(JupyterLab에서 *File → New → Terminal*)
`top`을 입력한 다음 아래 키를 눌러 보세요.

| 키 | 하는 일 |
|---|---|
| `M` / `P` | %MEM 순 / %CPU 순(기본값)으로 정렬 |
| `1` | CPU마다 `%Cpu` 줄을 하나씩 보여 주기 / 되돌리기 |
| `f` | 필드 화면: 화살표와 스페이스로 열을 고르고, `s`로 정렬 기준 열을 정하고, `q`로 나옴. `SWAP`, `nMaj`, `nMin`(페이지 폴트)을 추가해 보세요 |
| `c` | 명령줄 전체 보기 |
| `H` | 프로세스 대신 스레드 보기 |
| `E` / `e` | 요약 줄 / 프로세스 행의 메모리 단위 바꾸기(KiB, MiB, GiB, ...) |
| `Shift+I` | %CPU의 Irix / Solaris 모드 전환(2.4장) |
| `W` | 지금 설정을 `~/.config/procps/toprc`에 저장 |
| `q` | 종료 |

이 실습에는 노트북 안에서 보는 실시간 표도 있습니다. 드롭다운으로 정렬하고 필터링하고, 열 이름 위에
마우스를 올려 뜻을 확인해 보세요. 표는 닫을 때까지 계속 갱신됩니다.
"""),
    code("""
live = ch2_1.top_table(sort="RES")
"""),
    code("""
live.close()
"""),
    # ------------------------------------------------------------------ biggest
    md("""
## Find the biggest memory user

When memory runs short, the first question is which process holds it. `top` offers two candidates,
VIRT and RES. Predict:
""", """
## 메모리를 가장 많이 쓰는 프로세스 찾기

메모리가 부족할 때 가장 먼저 묻는 것은 어느 프로세스가 메모리를 쥐고 있느냐입니다. `top`에는 후보가
두 개 있습니다. VIRT와 RES입니다. 예상해 보세요.
"""),
    code("""
q = quiz.ask("2.1-virt-res")
"""),
    code("""
snap = ch2_1.snapshot()
display(ch2_1.biggest(snap, "VIRT"))
display(ch2_1.biggest(snap, "RES"))
q.check(snap)
"""),
    md("""
Whichever way the check came out here, the two numbers measure different things. VIRT counts address
space: every thread stack, every malloc arena, every mapped file and library, touched or not, so a
process can map gigabytes it never uses. RES counts the pages actually in RAM. To find the process
that holds memory, **sort by RES** (`top -o RES`, or `M`, since %MEM is RES over total).

RES has a catch too: a page shared by several processes counts in the RES of each, so adding up RES
over all processes usually gives more than `used`. The fair measure, **PSS**, is in chapter
[2.2](2.2-virt-res-shr.ipynb).

## Summary

- `top -b -n 1` prints one snapshot as text. Its CPU figures cover only the moment since `top`
  started: read `%Cpu(s)` and `%CPU` from the second frame of `top -b -n 2`.
- Every number comes from `/proc`: `uptime`, `loadavg`, `stat` and `meminfo` for the header,
  `/proc/PID/stat` and `statm` for each process.
- The load average counts runnable *and* D-state tasks; compare it with the number of CPUs.
- In procps-ng 4.0.1-4.0.4 `sleeping` counts S, D and I (from 4.0.5, D has its own `d-sleep` count);
  `stopped` counts T and t.
- Since procps-ng 4.0.1, `used = total - avail Mem`, so free + used + buff/cache is no longer total.
  Watch `avail Mem`.
- Find the biggest memory user by RES, not VIRT.

## On your own

1. Which process on this system has used the most CPU time (TIME+)? Find it with `top` and with the
   snapshot.
""", """
여기서 판정이 어느 쪽으로 나왔든, 두 숫자는 서로 다른 것을 잽니다. VIRT는 주소 공간을 셉니다. 스레드
스택, malloc 아레나, 매핑한 파일과 라이브러리를 건드렸는지와 상관없이 모두 셉니다. 그래서 프로세스가
한 번도 쓰지 않는 주소 공간을 수 기가바이트씩 매핑해 둘 수도 있습니다. RES는 실제로 RAM에 있는 페이지를 셉니다. 메모리를 쥐고 있는
프로세스를 찾으려면 **RES로 정렬**합니다(`top -o RES`, 또는 %MEM이 RES를 전체 메모리로 나눈 값이므로
`M` 키).

RES에도 함정이 있습니다. 여러 프로세스가 함께 쓰는 페이지는 각 프로세스의 RES에 모두 들어가므로, 모든
프로세스의 RES를 더하면 대개 `used`보다 커집니다. 공정한 측정값인 **PSS**는 [2.2장](2.2-virt-res-shr.ipynb)에서
다룹니다.

## 정리

- `top -b -n 1`은 스냅숏 하나를 텍스트로 출력합니다. 이 화면의 CPU 수치는 `top`이 시작한 뒤의 짧은
  순간만 다루므로, `%Cpu(s)`와 `%CPU`는 `top -b -n 2`의 두 번째 화면에서 읽습니다.
- 모든 숫자는 `/proc`에서 옵니다. 헤더는 `uptime`, `loadavg`, `stat`, `meminfo`에서, 프로세스마다의
  값은 `/proc/PID/stat`과 `statm`에서 옵니다.
- 부하 평균은 실행 가능한 태스크와 D 상태 태스크를 *함께* 셉니다. CPU 수와 비교해서 읽습니다.
- procps-ng 4.0.1-4.0.4에서 `sleeping`은 S, D, I를 셉니다(4.0.5부터는 D를 `d-sleep`으로 따로 셉니다).
  `stopped`는 T와 t를 셉니다.
- procps-ng 4.0.1부터 `used = total - avail Mem`이라서 free + used + buff/cache를 더해도
  더 이상 total이 되지 않습니다. `avail Mem`을 보세요.
- 메모리를 가장 많이 쓰는 프로세스는 VIRT가 아니라 RES로 찾습니다.

## 스스로 해 보기

1. 이 시스템에서 CPU 시간(TIME+)을 가장 많이 쓴 프로세스는 무엇일까요? `top`과 스냅숏으로 각각
   찾아보세요.
"""),
    md("""
<details><summary>Solution</summary>

With `top`: `top -b -n 1 -o TIME+ | head -8`. With the snapshot, sort on the exact tick count:

```python
ch2_1.snapshot().table.sort_values("TICKS", ascending=False).head(3)
```

Both should name the same process, often a long-running daemon or a kernel thread.
</details>

2. How many threads does this notebook's Jupyter kernel run, and why is its VIRT so much larger than
   its RES? (Hint: `top -H`.)

<details><summary>Solution</summary>

```python
ch2_1.run_top(f"-b -n 1 -H -p {os.getpid()}", lines=None)
```

`-H` prints one row per thread; they share the process's memory, so they all show the same VIRT and
RES. Each extra thread has an 8 MiB stack reserved and may get its own 64 MiB malloc arena, mostly
never touched: address space (VIRT), not RAM (RES).
</details>

3. Compute %MEM of PID 1 by hand from the snapshot and compare it with what `top` prints.

<details><summary>Solution</summary>

```python
snap = ch2_1.snapshot()
row = snap.table.set_index("PID").loc[1]
print(100 * row["RES"] / snap.header.mem_total, row["%MEM"])
```

`%MEM = RES / MemTotal × 100`; `top` prints it with one decimal.
</details>

## Further reading

- `man 1 top`: [top(1)](https://man7.org/linux/man-pages/man1/top.1.html), every field and key; section 3a for the summary lines.
- `man 5 proc`: [proc_pid_stat(5)](https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html),
  [proc_pid_statm(5)](https://man7.org/linux/man-pages/man5/proc_pid_statm.5.html) and
  [proc_meminfo(5)](https://man7.org/linux/man-pages/man5/proc_meminfo.5.html).
- procps-ng: [source and NEWS](https://gitlab.com/procps-ng/procps) (the `used` change is in 4.0.1).
- Brendan Gregg, [Linux Load Averages: Solving the Mystery](https://www.brendangregg.com/blog/2017-08-08/linux-load-averages.html) (why D counts).
- The lab's [glossary](glossary.ipynb) of terms in English and Korean.

Next: [2.2 VIRT, RES and SHR](2.2-virt-res-shr.ipynb). Process states and priority:
[2.4](2.4-process-states-priority.ipynb).
""", """
<details><summary>풀이</summary>

`top`으로는 `top -b -n 1 -o TIME+ | head -8`. 스냅숏에서는 정확한 틱 수로 정렬합니다.

```python
ch2_1.snapshot().table.sort_values("TICKS", ascending=False).head(3)
```

둘 다 같은 프로세스를 가리켜야 합니다. 오래 실행 중인 데몬이나 커널 스레드인 경우가 많습니다.
</details>

2. 이 노트북의 주피터 커널은 스레드를 몇 개 실행하고 있을까요? VIRT가 RES보다 훨씬 큰 이유는
   무엇일까요? (힌트: `top -H`)

<details><summary>풀이</summary>

```python
ch2_1.run_top(f"-b -n 1 -H -p {os.getpid()}", lines=None)
```

`-H`는 스레드마다 한 줄씩 출력합니다. 스레드들은 프로세스의 메모리를 함께 쓰므로 모두 같은 VIRT와
RES를 보여 줍니다. 스레드가 하나 늘 때마다 8 MiB짜리 스택이 예약되고 64 MiB짜리 malloc 아레나가 따로
잡힐 수 있는데, 대부분은 한 번도 건드리지 않습니다. RAM(RES)이 아니라 주소 공간(VIRT)입니다.
</details>

3. 스냅숏에서 PID 1의 %MEM을 직접 계산하고 `top`이 출력하는 값과 비교해 보세요.

<details><summary>풀이</summary>

```python
snap = ch2_1.snapshot()
row = snap.table.set_index("PID").loc[1]
print(100 * row["RES"] / snap.header.mem_total, row["%MEM"])
```

`%MEM = RES / MemTotal × 100`이고, `top`은 소수점 한 자리까지 출력합니다.
</details>

## 더 읽을거리

- `man 1 top`: [top(1)](https://man7.org/linux/man-pages/man1/top.1.html). 모든 필드와 키, 요약 줄은 3a절.
- `man 5 proc`: [proc_pid_stat(5)](https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html),
  [proc_pid_statm(5)](https://man7.org/linux/man-pages/man5/proc_pid_statm.5.html),
  [proc_meminfo(5)](https://man7.org/linux/man-pages/man5/proc_meminfo.5.html).
- procps-ng: [소스와 NEWS](https://gitlab.com/procps-ng/procps)(`used` 계산 방식은 4.0.1에서 바뀜).
- Brendan Gregg, [Linux Load Averages: Solving the Mystery](https://www.brendangregg.com/blog/2017-08-08/linux-load-averages.html)(D 상태가 왜 들어가는지).
- 이 실습의 영한 [용어집](glossary.ipynb).

다음 장: [2.2 VIRT, RES, SHR](2.2-virt-res-shr.ipynb). 프로세스 상태와 우선순위는
[2.4장](2.4-process-states-priority.ipynb)에서 다룹니다.
"""),
]

write_pair("2.1-reading-top", cells)
