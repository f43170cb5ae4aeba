"""Source of notebooks/{en,ko}/2.1-reading-top.ipynb. Run: .venv/bin/python tools/notebooks/ch2_1.py"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbtools import code, md, write_pair  # noqa: E402

cells = [
    md("""
# 2.1 Reading the system's state with `top`

`top` is the first thing most engineers type when a Linux machine feels slow. It packs a lot into
one screen: five summary lines about the whole system, then one row per process. This chapter goes
through every line and every column, and checks each one on your own machine: the real `top` runs
next to `kernel_helpers.top`, a small Python copy that reads the same files under `/proc`, so you
can see exactly where each number comes from.

| | |
|---|---|
| **What you'll do** | Run `top` in batch mode, take the same snapshot from Python, read each header line with live values, and put small processes into the states `top` shows (stopped, zombie, niced, busy). |
| **What you'll learn** | What uptime, load average, the task states, each `%Cpu(s)` field and the `Mem` line mean, why `free + used + buff/cache` no longer adds up to `total`, what every process column means, and why the biggest memory user is found with RES, not VIRT. |
| **What you need** | The [start page](00-start-here.ipynb) check passing, and the `top` command from procps-ng (version 4.x behaves as described here). No root. |
| **Time** | 30-40 minutes. |
""", """
# 2.1 `top`으로 시스템 상태 살펴보기

리눅스 서버가 느려졌다 싶을 때 대부분의 엔지니어가 가장 먼저 입력하는 명령이 `top`입니다. 화면
하나에 많은 정보가 담겨 있습니다. 시스템 전체를 요약한 다섯 줄이 있고, 그 아래로 프로세스마다 한
줄씩 나옵니다. 이 장에서는 모든 줄과 모든 열을 하나씩 짚어 보고, 각각을 여러분의 컴퓨터에서 직접
확인합니다. 실제 `top` 옆에서 `kernel_helpers.top`을 함께 실행하는데, 이것은 `/proc` 아래의 같은
파일을 읽는 작은 파이썬 복제본이라서 각 숫자가 정확히 어디에서 오는지 볼 수 있습니다.

| | |
|---|---|
| **할 일** | `top`을 배치 모드로 실행하고, 같은 스냅숏을 파이썬으로 찍고, 헤더의 각 줄을 실제 값과 함께 읽고, 작은 프로세스들을 `top`이 보여 주는 상태(정지, 좀비, nice 적용, CPU 사용 중)로 만들어 봅니다. |
| **배울 것** | 가동 시간, 부하 평균, 태스크 상태, `%Cpu(s)`의 각 필드, `Mem` 줄의 뜻. `free + used + buff/cache`가 왜 더 이상 `total`이 되지 않는지. 프로세스 열 하나하나의 뜻. 메모리를 가장 많이 쓰는 프로세스를 왜 VIRT가 아니라 RES로 찾는지. |
| **필요한 것** | [시작 페이지](00-start-here.ipynb)의 환경 확인 통과, procps-ng의 `top` 명령 (여기 설명은 4.x 버전 기준). root 권한은 필요 없습니다. |
| **걸리는 시간** | 30-40분. |
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
    md("""
## Take a snapshot with the real `top`

Started without options, `top` takes over the terminal and redraws itself every 3 seconds until you
press `q`. To capture one moment as plain text, for a notebook, a log file or a script, use **batch
mode**: `-b` prints plain text instead of drawing a screen, and `-n 1` stops after one frame. The
cell below runs exactly that and shows the first lines.
""", """
## 실제 `top`으로 스냅숏 찍기

옵션 없이 실행한 `top`은 터미널 화면을 차지하고 `q`를 누를 때까지 3초마다 화면을 다시 그립니다.
노트북이나 로그 파일, 스크립트에서 쓸 수 있도록 한순간을 일반 텍스트로 남기려면 **배치 모드**를
씁니다. `-b`는 화면을 그리는 대신 일반 텍스트를 출력하고, `-n 1`은 한 화면만 출력한 뒤 끝냅니다.
아래 셀이 바로 그 명령을 실행하고 앞부분을 보여 줍니다.
"""),
    code("""
ch2_1.run_top("-b -n 1", lines=16)
"""),
    md("""
The output has the shape of the book's screenshot: five summary lines, a blank line, the column
header, and one row per process. The book's figures came from a small 1 GiB virtual machine; yours are
whatever your machine is doing right now.

## Take the same snapshot from Python

`kernel_helpers.top.snapshot()` reads the files `top` reads: `/proc/uptime`, `/proc/loadavg`,
`/proc/stat` and `/proc/meminfo` for the header, and `/proc/PID/stat` and `/proc/PID/statm` for
each process. It samples twice, a short interval apart, because `%CPU` is a rate: it needs two
readings. Its text rendering uses `top`'s layout.
""", """
출력의 모양은 책에 실린 화면과 같습니다. 요약 다섯 줄, 빈 줄, 열 이름, 그리고 프로세스마다 한 줄.
책의 숫자는 1 GiB짜리 작은 가상 머신에서 나온 것이고, 여러분의 숫자는 지금 이 컴퓨터가 하고 있는
일 그대로입니다.

## 같은 스냅숏을 파이썬으로 찍기

`kernel_helpers.top.snapshot()`은 `top`이 읽는 파일을 그대로 읽습니다. 헤더는 `/proc/uptime`,
`/proc/loadavg`, `/proc/stat`, `/proc/meminfo`에서, 프로세스마다의 값은 `/proc/PID/stat`과
`/proc/PID/statm`에서 가져옵니다. `%CPU`는 비율이라 두 번 읽어야 구할 수 있으므로, 짧은 간격을 두고
두 번 측정합니다. 텍스트로 출력할 때는 `top`과 같은 모양을 씁니다.
"""),
    code("""
snap = ch2_1.snapshot()
print(snap.to_text(max_rows=10))
"""),
    md("""
Unlike `top`'s text, the snapshot keeps numbers as numbers: `snap.header` holds the summary lines,
and `snap.table` is a pandas DataFrame with one row per process and memory in bytes, ready to sort,
filter and plot.
""", """
`top`의 텍스트와 달리 스냅숏은 숫자를 숫자로 갖고 있습니다. `snap.header`에는 요약 줄이,
`snap.table`에는 프로세스마다 한 행씩 담긴 pandas DataFrame이 들어 있고, 메모리는 바이트 단위라서
바로 정렬하고 거르고 그래프로 그릴 수 있습니다.
"""),
    code("""
snap.table.head()
"""),
    md("""
Do the two agree? The next cell runs the real `top` once more and puts its summary numbers next to
the snapshot's. They were read a moment apart, so values that move all the time (`free`, `used`) can
differ by a few tenths of a MiB, and `Tasks` may differ by one: `top` counts itself.
""", """
두 결과가 일치할까요? 다음 셀은 실제 `top`을 한 번 더 실행해서 요약 숫자를 스냅숏의 숫자 옆에
나란히 놓습니다. 두 측정 사이에 약간의 시간 차가 있으므로 계속 움직이는 값(`free`, `used`)은 0.몇 MiB
정도 다를 수 있고, `Tasks`는 하나 차이가 날 수 있습니다. `top`은 자기 자신도 세기 때문입니다.
"""),
    code("""
ch2_1.header_agreement(snap)
"""),
    md("""
## Check one process: this notebook's kernel

The Python kernel running this notebook is an ordinary process, and `os.getpid()` gives its PID. The
package also works from a terminal: `python -m kernel_helpers.top -n 1 -p PID` prints what
`top -b -n 1 -p PID` prints. The cell below runs both commands at the same time for the kernel,
for PID 1 (the first process the system started) and for PID 2 (`kthreadd`, the parent of all kernel
threads), and compares every field.
""", """
## 프로세스 하나 확인하기: 이 노트북의 커널

이 노트북을 실행하는 파이썬 커널도 평범한 프로세스이고, `os.getpid()`가 그 PID를 알려 줍니다. 이
패키지는 터미널에서도 쓸 수 있습니다. `python -m kernel_helpers.top -n 1 -p PID`는
`top -b -n 1 -p PID`와 같은 내용을 출력합니다. 아래 셀은 두 명령을 동시에 실행합니다. 대상은 이
커널, PID 1(시스템이 처음 띄운 프로세스), PID 2(모든 커널 스레드의 부모인 `kthreadd`)이고, 모든
필드를 비교합니다.
"""),
    code("""
ch2_1.side_by_side([os.getpid(), 1, 2])
"""),
    md("""
Both commands run as separate programs, so while they read `/proc` the kernel is simply waiting for
them: its row is the same in both. To try it yourself, open a terminal (in JupyterLab: *File → New →
Terminal*) and run `python -m kernel_helpers.top -n 2 -d 1` from the lab's folder.

## Read the first line: clock, uptime, users, load average

```
top - 08:12:46 up  1:23,  1 user,  load average: 0.00, 0.00, 0.00
```

The first line is the same as the output of the `uptime` command: the current time, how long the
machine has been up, how many users are logged in, and the load average.
""", """
두 명령은 별도의 프로그램으로 실행되므로, 그들이 `/proc`을 읽는 동안 커널은 기다리기만 합니다. 그래서
커널의 행이 양쪽에서 똑같이 나옵니다. 직접 해 보려면 터미널을 열고(JupyterLab에서 *File → New →
Terminal*) 실습 폴더에서 `python -m kernel_helpers.top -n 2 -d 1`을 실행해 보세요.

## 첫 줄 읽기: 시각, 가동 시간, 사용자, 부하 평균

```
top - 08:12:46 up  1:23,  1 user,  load average: 0.00, 0.00, 0.00
```

첫 줄은 `uptime` 명령의 출력과 같습니다. 현재 시각, 시스템이 켜진 뒤 흐른 시간, 로그인한 사용자
수, 그리고 부하 평균입니다.
"""),
    code("""
ch2_1.explain_uptime(snap)
"""),
    md("""
`up` comes from the first number in `/proc/uptime`, printed as minutes (`52 min`), hours and minutes
(`1:23`) or days (`3 days,  2:03`). `user` counts login sessions recorded in the utmp file (`who`
shows the same list), not processes or user accounts.

The **load average** is three numbers: the number of tasks that wanted to run, smoothed over the last
1, 5 and 15 minutes. The kernel recomputes it every 5 seconds from the number of tasks that are
running or waiting for a CPU (state R) *plus* the tasks in uninterruptible sleep (state D). The
second part is a Linux peculiarity: a machine with a hung disk or NFS server shows a high load
average while its CPUs sit idle. Compare the load with the number of CPUs: on 2 CPUs, a load of
2.0 means they were busy on average; 4.0 means tasks queued for them.
""", """
`up`은 `/proc/uptime`의 첫 번째 숫자에서 오며, 분(`52 min`), 시:분(`1:23`), 또는 일(`3 days,  2:03`)
형식으로 출력됩니다. `user`는 utmp 파일에 기록된 로그인 세션 수입니다(`who`가 같은 목록을 보여
줍니다). 프로세스 수나 사용자 계정 수가 아닙니다.

**부하 평균**은 세 개의 숫자입니다. 실행되기를 원한 태스크 수를 최근 1분, 5분, 15분에 걸쳐 평활한
값입니다. 커널은 5초마다, 실행 중이거나 CPU를 기다리는 태스크(R 상태)에 중단 불가 대기 중인 태스크
(D 상태)를 *더한* 수로 이 값을 다시 계산합니다. 뒤쪽은 리눅스만의 특징입니다. 디스크나 NFS 서버가
멈춘 시스템은 CPU가 놀고 있는데도 부하 평균이 높게 나옵니다. 부하는 CPU 수와 비교해서 읽습니다.
CPU가 2개라면 부하 2.0은 평균적으로 CPU가 꽉 찼다는 뜻이고, 4.0은 태스크들이 CPU를 기다리며 줄을
섰다는 뜻입니다.
"""),
    code("""
ch2_1.explain_load(snap)
"""),
    md("""
## Count the tasks by state

```
Tasks: 111 total,   1 running, 110 sleeping,   0 stopped,   0 zombie
```

The `Tasks` line has five words, but the kernel knows seven states, each shown by one letter in the
`S` column. The table below counts every letter on your machine and shows where `top` puts it:
""", """
## 상태별로 태스크 세기

```
Tasks: 111 total,   1 running, 110 sleeping,   0 stopped,   0 zombie
```

`Tasks` 줄에는 단어가 다섯 개뿐이지만, 커널이 구분하는 상태는 일곱 가지이고 각각 `S` 열에 글자
하나로 표시됩니다. 아래 표는 여러분의 컴퓨터에서 글자마다 태스크를 세고, `top`이 그것을 어디로
넣는지 보여 줍니다.
"""),
    code("""
ch2_1.explain_tasks(snap)
"""),
    md("""
- **R**, running: on a CPU, or ready and waiting for one.
- **S**, sleeping: waiting for something (input, a timer, a child) and wakeable by a signal. Most
  processes are here most of the time.
- **D**, uninterruptible sleep: waiting inside the kernel, usually for disk or network I/O, where
  even signals cannot wake it. A few D tasks for a moment are normal; many for long point at
  storage trouble.
- **I**, idle kernel thread: a kernel worker thread with nothing to do. Kernels before 4.14 showed
  these as D, which looked alarming although they never counted in the load average; now they have
  their own letter.
- **T**, stopped by job control: SIGSTOP, or Ctrl+Z in a shell. It continues after SIGCONT.
- **t**, stopped by a tracer: a debugger such as `gdb` holds it (at a breakpoint, for example).
- **Z**, zombie: a child that has exited but whose **living** parent has not yet collected its exit
  status with `wait()`.

That is why `sleeping` is so large: it counts S, D and I together, and on most machines dozens of
idle kernel threads (`kworker/...`) are in it. The book's screenshot shows them too, with `I` in the
`S` column. `stopped` counts T and t.

You will put processes into T and Z yourself in a moment.
""", """
- **R**, 실행(running): CPU에서 실행 중이거나, 준비를 마치고 CPU를 기다리는 중입니다.
- **S**, 대기(sleeping): 입력, 타이머, 자식 프로세스 같은 무언가를 기다리며, 시그널로 깨울 수
  있습니다. 대부분의 프로세스는 대부분의 시간을 이 상태로 보냅니다.
- **D**, 중단 불가 대기: 커널 안에서 대개 디스크나 네트워크 I/O를 기다리고 있어서 시그널로도 깨울
  수 없습니다. 잠깐 몇 개 보이는 것은 정상이지만, 오래 많이 보이면 스토리지 문제를 의심합니다.
- **I**, 유휴 커널 스레드: 할 일이 없는 커널 작업 스레드입니다. 커널 4.14 이전에는 D로 표시되어
  부하 평균에 들어가지 않는데도 문제가 있는 것처럼 보였지만, 이제는 자기 글자를 갖게 되었습니다.
- **T**, 작업 제어로 정지: SIGSTOP을 받았거나 셸에서 Ctrl+Z를 누른 경우입니다. SIGCONT를 받으면
  이어서 실행합니다.
- **t**, 추적기에 의한 정지: `gdb` 같은 디버거가 붙잡고 있는 상태입니다(예: 중단점에서 멈춤).
- **Z**, 좀비: 이미 종료했지만 **살아 있는** 부모가 아직 `wait()`로 종료 상태를 거둬 가지 않은
  자식 프로세스입니다.

그래서 `sleeping` 숫자가 그렇게 큽니다. S, D, I를 한꺼번에 세는데, 대부분의 시스템에는 유휴 커널
스레드(`kworker/...`)가 수십 개 있기 때문입니다. 책의 화면에도 `S` 열이 `I`인 줄이 여럿 보입니다.
`stopped`는 T와 t를 셉니다.

T와 Z 상태는 잠시 뒤에 직접 만들어 봅니다.
"""),
    md("""
## Read the `%Cpu(s)` line

```
%Cpu(s):  0.0 us,  0.0 sy,  0.0 ni,100.0 id,  0.0 wa,  0.0 hi,  0.0 si,  0.0 st
```

Every CPU spends each clock tick on exactly one thing, and the kernel counts the ticks per category
in the `cpu` line of `/proc/stat`. `top` takes the difference between two readings and shows each
category as a percentage of all the ticks of all CPUs, so the eight fields add up to 100. Press `1`
in an interactive `top` to see one line per CPU instead.
""", """
## `%Cpu(s)` 줄 읽기

```
%Cpu(s):  0.0 us,  0.0 sy,  0.0 ni,100.0 id,  0.0 wa,  0.0 hi,  0.0 si,  0.0 st
```

CPU는 매 클록 틱을 정확히 한 가지 일에 쓰고, 커널은 `/proc/stat`의 `cpu` 줄에 종류별로 틱 수를
세어 둡니다. `top`은 두 번 읽은 값의 차이를 구해서 각 종류를 모든 CPU의 전체 틱에 대한 백분율로
보여 주므로, 여덟 개 필드를 더하면 100이 됩니다. 대화형 `top`에서 `1`을 누르면 CPU마다 한 줄씩
보여 줍니다.
"""),
    code("""
ch2_1.cpu_fields(snap)
"""),
    md("""
Two fields are often misread. `wa` (iowait) is *idle* time: the CPU had nothing to run while some I/O
was pending, so a high `wa` does not mean the CPU is busy. `st` (steal) only appears on virtual
machines: time the hypervisor gave your virtual CPU to someone else.

One trap with `top -b -n 1`: the first frame covers only the few milliseconds since `top` started,
so its `%Cpu(s)` line (and every `%CPU`) is nearly meaningless. Ask for two frames and read the second:
""", """
자주 잘못 읽는 필드가 두 개 있습니다. `wa`(iowait)는 *유휴* 시간입니다. I/O가 끝나기를 기다리는 동안
CPU가 실행할 것이 없었다는 뜻이라, `wa`가 높다고 CPU가 바쁜 것은 아닙니다. `st`(steal)는 가상 머신에서만
나옵니다. 하이퍼바이저가 여러분의 가상 CPU 시간을 다른 곳에 내준 시간입니다.

`top -b -n 1`에는 함정이 하나 있습니다. 첫 화면은 `top`이 시작한 뒤 몇 밀리초 동안만을 다루므로
`%Cpu(s)` 줄(그리고 모든 `%CPU`)이 거의 의미가 없습니다. 화면을 두 개 요청하고 두 번째를 읽으세요.
"""),
    code("""
ch2_1.cpu_lines()
"""),
    md("""
## Check the `Mem` and `Swap` lines

```
MiB Mem :    957.3 total,    212.9 free,    349.6 used,    558.7 buff/cache
MiB Swap:      0.0 total,      0.0 free,      0.0 used.    607.8 avail Mem
```

These are the book's figures. It is tempting to read the `Mem` line as a pie: free, used and
buff/cache, adding up to total. Before you look at your machine, predict:
""", """
## `Mem`과 `Swap` 줄 확인하기

```
MiB Mem :    957.3 total,    212.9 free,    349.6 used,    558.7 buff/cache
MiB Swap:      0.0 total,      0.0 free,      0.0 used.    607.8 avail Mem
```

책에 실린 숫자입니다. `Mem` 줄을 free, used, buff/cache로 나뉜 파이 차트처럼, 즉 셋을 더하면 total이
되는 것처럼 읽고 싶어집니다. 여러분의 컴퓨터를 보기 전에 예상해 보세요.
"""),
    code("""
q = quiz.ask("2.1-mem-sum")
"""),
    code("""
ch2_1.mem_fields(snap)
"""),
    code("""
m = ch2_1.mem_sum(snap)
q.check(m)
"""),
    md("""
Each field comes straight from `/proc/meminfo`, as the table above shows. What changed is `used`:
since **procps-ng 4.0.1**, `top` and `free` print `used = MemTotal - MemAvailable`, where
older versions printed `total - free - buffers - cache`. With the old formula the three added up
exactly; with the new one they do not, and the book's own screenshot, taken with the new `top`,
shows it: 212.9 + 349.6 + 558.7 = 1121.2, not 957.3. The book does not mention this; the cell above
computed the same sum for your machine.

How to read the line today:

- **avail Mem** (`MemAvailable`) is the number to watch: the kernel's estimate of how much memory
  new work can get without swapping. It sits at the end of the `Swap` line only for layout reasons.
- **used** is simply `total - avail Mem`: the memory that cannot be handed out right now.
- **buff/cache** is mostly the page cache: file contents kept in RAM that would otherwise sit idle.
  The kernel gives most of it back when programs need memory, so a small **free** is normal and
  healthy, not a warning.
- **Swap** shows swap space; with no swap configured (common on servers and containers) it is all zeros.
""", """
표에서 보듯 각 필드는 `/proc/meminfo`에서 바로 옵니다. 바뀐 것은 `used`입니다. **procps-ng 4.0.1**부터 `top`과 `free`는 `used = MemTotal - MemAvailable`을 출력합니다. 그 전 버전은
`total - free - buffers - cache`를 출력했습니다. 옛 공식에서는 세 값을 더하면 정확히 total이 되었지만,
새 공식에서는 그렇지 않습니다. 새 `top`으로 찍은 책의 화면도 마찬가지입니다. 212.9 + 349.6 + 558.7 =
1121.2로, 957.3이 아닙니다. 책은 이 점을 언급하지 않습니다. 위 셀은 여러분의 컴퓨터에서 같은 합을
계산했습니다.

오늘날 이 줄은 이렇게 읽습니다.

- **avail Mem**(`MemAvailable`)이 지켜봐야 할 숫자입니다. 스왑 없이 새 작업이 얻을 수 있는 메모리를
  커널이 추정한 값입니다. `Swap` 줄 끝에 붙어 있는 것은 화면 배치 때문일 뿐입니다.
- **used**는 그냥 `total - avail Mem`입니다. 지금 당장 내줄 수 없는 메모리입니다.
- **buff/cache**는 대부분 페이지 캐시입니다. 놀고 있었을 RAM에 파일 내용을 담아 둔 것입니다. 프로그램이
  메모리를 필요로 하면 커널이 대부분을 돌려주므로, **free**가 작은 것은 경고가 아니라 정상이고 건강한
  상태입니다.
- **Swap**은 스왑 공간을 보여 줍니다. 스왑을 설정하지 않았다면(서버와 컨테이너에서 흔합니다) 모두 0입니다.
"""),
    md("""
## Read the process columns

Below the header, each row is one process. The table lists every default column with its value for
this notebook's kernel (as `top` would print it), what it means, and where the kernel exposes it.
""", """
## 프로세스 열 읽기

헤더 아래에서는 한 행이 프로세스 하나입니다. 아래 표는 기본 열 하나하나에 대해, 이 노트북 커널의
값(`top`이 출력하는 모양 그대로), 뜻, 그리고 커널이 그 값을 내보내는 위치를 보여 줍니다.
"""),
    code("""
ch2_1.columns()
"""),
    md("""
A few notes on the columns:

- **S** says `R` here: a process that reads its own state is, at that moment, running.
- **VIRT, RES, SHR** are in KiB. VIRT is all the virtual memory the process has mapped, RES the part
  of it in RAM (resident memory), and SHR the part of RES that is file-backed or shared memory, so
  **SHR is a part of RES**. Chapter [2.2](2.2-virt-res-shr.ipynb) takes these three apart.
- **%MEM** is RES divided by `MemTotal`.
- **USER** is the effective user, and **COMMAND** the program name the kernel keeps (at most 15
  characters for programs; kernel worker threads get longer names). When the column is too narrow, `top` cuts it and marks the cut with `+`
  (`process_a+`); `top -c` shows the full command line instead.

### PR and NI

**NI** is the nice value, from -20 (takes more CPU) to 19 (yields). **PR** is the priority as the
scheduler sees it: for normal tasks `top` prints **PR = 20 + NI**. Real-time tasks (SCHED_FIFO,
SCHED_RR) show a negative PR, `-1 - rt_priority`, and the highest real-time priority (PR -100)
prints as `rt`. In the book's screenshot, `migration/0` shows `rt` and `idle_inject/0` shows -51
(real-time priority 50). The cell checks the rule on every process of your machine and picks one
example of each kind:
""", """
열에 대해 몇 가지 덧붙이면:

- 여기서 **S**가 `R`인 것은 자기 상태를 읽는 그 순간의 프로세스는 당연히 실행 중이기 때문입니다.
- **VIRT, RES, SHR**는 KiB 단위입니다. VIRT는 프로세스가 매핑한 가상 메모리 전체, RES는 그 가운데
  RAM에 올라와 있는 부분(상주 메모리), SHR은 RES 가운데 파일 기반 페이지와 공유 메모리입니다. 즉
  **SHR은 RES의 일부**입니다. 이 세 값은 [2.2장](2.2-virt-res-shr.ipynb)에서 자세히 뜯어봅니다.
- **%MEM**은 RES를 `MemTotal`로 나눈 값입니다.
- **USER**는 유효 사용자이고, **COMMAND**는 커널이 기억하는 프로그램 이름입니다(프로그램은 최대 15자,
  커널 작업 스레드는 더 긴 이름을 받습니다). 열이
  좁으면 `top`은 이름을 자르고 잘린 자리에 `+`를 붙입니다(`process_a+`). `top -c`는 대신 명령줄
  전체를 보여 줍니다.

### PR과 NI

**NI**는 nice 값으로, -20(CPU를 더 받음)부터 19(양보함)까지입니다. **PR**은 스케줄러가 보는
우선순위입니다. 일반 태스크라면 `top`은 **PR = 20 + NI**를 출력합니다. 실시간 태스크(SCHED_FIFO,
SCHED_RR)는 PR이 음수(`-1 - rt_priority`)로 나오고, 가장 높은 실시간 우선순위(PR -100)는 `rt`로
출력됩니다. 책의 화면에서 `migration/0`은 `rt`, `idle_inject/0`은 -51(실시간 우선순위 50)입니다.
아래 셀은 여러분의 컴퓨터에 있는 모든 프로세스에서 이 규칙을 확인하고, 종류마다 예를 하나씩 고릅니다.
"""),
    code("""
ch2_1.priority_check(snap)
"""),
    md("""
A nice value only matters when processes compete for the same CPUs: on an idle machine a niced
process runs as fast as any other.

### %CPU and TIME+

**%CPU** is the share of *one* CPU the process used since the last refresh. This is `top`'s default
"Irix mode", and it means a process with several busy threads can pass 100: you will see it happen
below. **TIME+** is the CPU time the process has used since it started (user + system), shown as
`minutes:seconds.hundredths`. `/proc` counts it in clock ticks of 1/100 s:
""", """
nice 값은 여러 프로세스가 같은 CPU를 두고 경쟁할 때만 의미가 있습니다. 한가한 시스템에서는 nice를
준 프로세스도 다른 프로세스만큼 빠르게 실행됩니다.

### %CPU와 TIME+

**%CPU**는 지난 갱신 이후 프로세스가 CPU *하나*의 몇 퍼센트를 썼는지입니다. 이것이 `top`의 기본
"Irix 모드"이고, 그래서 스레드 여럿이 바쁜 프로세스는 100을 넘을 수 있습니다. 아래에서 직접 보게
됩니다. **TIME+**는 프로세스가 시작한 뒤 쓴 CPU 시간(user + system)을 `분:초.백분의 1초` 형식으로
보여 줍니다. `/proc`은 이 시간을 1/100초 단위의 클록 틱으로 셉니다.
"""),
    code("""
ch2_1.explain_time_plus(snap)
"""),
    md("""
When the time no longer fits in the column, `top` drops the hundredths (`123:45`), then switches to
hours (`12,34` is 12 hours 34 minutes), days and weeks.

## Put processes into the states `top` shows

Time to see the states for real. The next cells start four tiny processes, each named so you can
spot it (`toplab-...`):

- `toplab-stopped` receives SIGSTOP, like a job you suspend with Ctrl+Z;
- `toplab-parent` starts a child, `toplab-zombie`, which exits at once, and then never calls
  `wait()` for it;
- `toplab-niced` runs with nice 10.

They live only inside the `with` block: leaving it kills them and collects their exit status, and
they also die if this kernel does. First, three predictions:
""", """
시간이 열에 다 들어가지 않으면 `top`은 백분의 1초를 빼고(`123:45`), 그다음에는 시간 단위(`12,34`는
12시간 34분), 일, 주 단위로 바꿔 보여 줍니다.

## 프로세스를 `top`이 보여 주는 상태로 만들어 보기

이제 상태를 직접 볼 차례입니다. 다음 셀들은 작은 프로세스 네 개를 띄웁니다. 알아보기 쉽도록 모두
`toplab-...`이라는 이름을 붙였습니다.

- `toplab-stopped`는 SIGSTOP을 받습니다. Ctrl+Z로 멈춘 작업과 같습니다.
- `toplab-parent`는 자식 `toplab-zombie`를 띄우고, 자식은 곧바로 종료합니다. 부모는 그 자식을
  위해 `wait()`를 끝내 부르지 않습니다.
- `toplab-niced`는 nice 10으로 실행됩니다.

이 프로세스들은 `with` 블록 안에서만 살아 있습니다. 블록을 벗어나면 모두 종료시키고 종료 상태까지
거둬 가며, 이 커널이 죽어도 함께 종료됩니다. 먼저 세 가지를 예상해 보세요.
"""),
    code("""
q_stop = quiz.ask("2.1-stopped")
"""),
    code("""
q_nice = quiz.ask("2.1-nice-pr")
"""),
    code("""
q_zombie = quiz.ask("2.1-zombie-res")
"""),
    md("""
Now start them, and look at them with `kernel_helpers.top` and with the real `top -p` (only these
PIDs):
""", """
이제 프로세스를 띄우고 `kernel_helpers.top`과 실제 `top -p`(이 PID들만)로 살펴봅니다.
"""),
    code("""
with ch2_1.state_demos() as demos:
    demos.show()
"""),
    code("""
q_stop.check(demos.measured)
"""),
    code("""
q_nice.check(demos.measured)
"""),
    code("""
q_zombie.check(demos.measured)
"""),
    md("""
Two definitions are often stated wrongly, in books and on the web:

- A **zombie** is not "a child whose parent died". It is a child that has exited while its parent is
  still alive and has not called `wait()`. It holds no memory (VIRT and RES are 0) and uses no CPU,
  only a slot in the process table with its exit status. If the parent dies, `init` (or a
  subreaper) adopts the zombie and reaps it at once. The fix for a pile of zombies is therefore to
  fix or restart the parent; `kill -9` on a zombie does nothing, because it is already dead.
- **T** is a job-control stop (SIGSTOP, SIGTSTP from Ctrl+Z). A stop by a debugger shows as a
  lowercase **t**. Both count as `stopped` on the `Tasks` line, and both keep their memory.

Did the real `top` and `kernel_helpers.top` agree on these processes, field by field?
`top.compare_with_top` runs `top -b -n 1 -p ...` and reads the same PIDs right after it:
""", """
책과 인터넷에서 자주 틀리게 설명하는 정의가 두 가지 있습니다.

- **좀비**는 "부모가 죽은 자식"이 아닙니다. 부모가 아직 살아 있는데 `wait()`를 부르지 않은 상태에서
  먼저 종료한 자식입니다. 메모리도 차지하지 않고(VIRT와 RES가 0) CPU도 쓰지 않으며, 종료 상태를
  담은 프로세스 테이블 한 칸만 남아 있습니다. 부모가 죽으면 `init`(또는 서브리퍼)이 좀비를 입양해서
  곧바로 회수합니다. 그래서 좀비가 쌓였을 때는 부모를 고치거나 재시작해야 합니다. 좀비는 이미 죽은
  프로세스라서 `kill -9`를 보내도 아무 일도 일어나지 않습니다.
- **T**는 작업 제어에 의한 정지입니다(SIGSTOP, Ctrl+Z가 보내는 SIGTSTP). 디버거가 멈춘 경우는
  소문자 **t**로 표시됩니다. 둘 다 `Tasks` 줄에서 `stopped`로 세며, 둘 다 메모리를 그대로 갖고 있습니다.

실제 `top`과 `kernel_helpers.top`은 이 프로세스들에 대해 필드 하나하나까지 일치했을까요?
`top.compare_with_top`은 `top -b -n 1 -p ...`를 실행하고 곧바로 같은 PID들을 읽습니다.
"""),
    code("""
with ch2_1.state_demos() as demos:
    fields = ch2_1.agreement(demos.pids.values())
fields
"""),
    md("""
Stopped, sleeping and dead processes do not change between two readings, so every field should
match exactly.

## Watch %CPU pass 100

The last demo process keeps one busy thread per CPU (up to four) for a few seconds and is then
stopped. Predict first:
""", """
정지했거나 잠들었거나 이미 죽은 프로세스는 두 번 읽는 사이에 바뀌지 않으므로, 모든 필드가 정확히
일치해야 합니다.

## %CPU가 100을 넘는 모습 보기

마지막 실험 프로세스는 CPU마다 하나씩(최대 4개) 바쁜 스레드를 몇 초 동안 돌리고 종료됩니다. 먼저
예상해 보세요.
"""),
    code("""
q = quiz.ask("2.1-irix")
"""),
    code("""
busy = ch2_1.busy_process()
q.check(busy)
"""),
    md("""
In an interactive `top`, `Shift+I` switches to "Solaris mode", which divides by the number of CPUs,
so that no process passes 100.

## Run `top` in batch mode

Batch mode makes `top` a tool for scripts and logs. The options worth knowing:

| Option | What it does |
|---|---|
| `-b` | batch mode: plain text, no screen control; works in pipes and files |
| `-n N` | stop after N frames (without it, batch mode runs forever) |
| `-d S` | S seconds between frames (default 3; fractions like `0.5` work) |
| `-p PID[,PID...]` | only these processes (up to 20) |
| `-o FIELD` | sort by this column, e.g. `-o %MEM`, `-o RES`, `-o TIME+` |
| `-w N` | lines N columns wide, so COMMAND is not cut |
| `-c` | show the full command line instead of the program name |
| `-H` | one row per thread instead of per process |

For example, the processes using the most memory, and two frames a second apart for this kernel:
""", """
대화형 `top`에서 `Shift+I`를 누르면 CPU 수로 나누는 "Solaris 모드"로 바뀌어, 어떤 프로세스도
100을 넘지 않습니다.

## `top`을 배치 모드로 실행하기

배치 모드를 쓰면 `top`을 스크립트와 로그에 쓸 수 있습니다. 알아 둘 만한 옵션은 다음과 같습니다.

| 옵션 | 하는 일 |
|---|---|
| `-b` | 배치 모드: 화면 제어 없는 일반 텍스트. 파이프와 파일에 쓸 수 있음 |
| `-n N` | N번 출력한 뒤 종료 (없으면 배치 모드는 끝나지 않음) |
| `-d S` | 출력 사이의 간격 S초 (기본 3초, `0.5` 같은 소수도 가능) |
| `-p PID[,PID...]` | 이 프로세스들만 (최대 20개) |
| `-o FIELD` | 이 열로 정렬. 예: `-o %MEM`, `-o RES`, `-o TIME+` |
| `-w N` | 줄 너비를 N칸으로 해서 COMMAND가 잘리지 않게 함 |
| `-c` | 프로그램 이름 대신 명령줄 전체를 보여 줌 |
| `-H` | 프로세스 대신 스레드마다 한 줄 |

예를 들어 메모리를 가장 많이 쓰는 프로세스들, 그리고 이 커널을 1초 간격으로 두 번 출력한 결과입니다.
"""),
    code("""
ch2_1.run_top("-b -n 1 -o %MEM", lines=12)
"""),
    code("""
ch2_1.run_top(f"-b -n 2 -d 1 -p {os.getpid()}", lines=None)
"""),
    md("""
The book finds its test program with `top -b -n 1 | grep -i malloc`. `top -b -n 1 -p $(pgrep -d,
malloc_test)` does the same without losing the column header. To keep an hour of history, one frame
every 5 seconds: `top -b -d 5 -n 720 > top.log`.

## Try the interactive keys in a terminal

The interactive `top` needs a real terminal, so it cannot run inside a notebook cell. Open one (in
JupyterLab: *File → New → Terminal*), type `top`, and try these keys:

| Key | What it does |
|---|---|
| `M` | sort by %MEM (memory) |
| `P` | sort by %CPU (the default) |
| `1` | one `%Cpu` line per CPU, and back |
| `f` | the fields screen: pick columns with the arrows and space, choose the sort column with `s`, leave with `q` or Esc. Try adding `SWAP`, `nMaj` and `nMin` (page faults) |
| `c` | full command lines |
| `H` | threads instead of processes |
| `E` / `e` | change the memory units of the summary lines / of the process rows (KiB, MiB, GiB, ...) |
| `Shift+I` | Irix / Solaris mode for %CPU |
| `W` | save these settings to `~/.config/procps/toprc` |
| `q` | quit |

## Watch it live in the notebook

The lab's own live table refreshes in the notebook. Sort it with the drop-down, filter by command or
user, and hover over a column header to see what it means:
""", """
책은 `top -b -n 1 | grep -i malloc`으로 실습 프로그램을 찾습니다. `top -b -n 1 -p $(pgrep -d,
malloc_test)`를 쓰면 열 이름 줄을 잃지 않고 같은 결과를 얻습니다. 5초마다 한 화면씩 한 시간 동안
기록을 남기려면 `top -b -d 5 -n 720 > top.log`를 씁니다.

## 터미널에서 대화형 키 써 보기

대화형 `top`은 진짜 터미널이 필요해서 노트북 셀 안에서는 실행할 수 없습니다. 터미널을 열고
(JupyterLab에서 *File → New → Terminal*) `top`을 입력한 다음 아래 키를 눌러 보세요.

| 키 | 하는 일 |
|---|---|
| `M` | %MEM(메모리) 순으로 정렬 |
| `P` | %CPU 순으로 정렬 (기본값) |
| `1` | CPU마다 `%Cpu` 줄을 하나씩 보여 주기 / 되돌리기 |
| `f` | 필드 화면: 화살표와 스페이스로 열을 고르고, `s`로 정렬 기준 열을 정하고, `q`나 Esc로 나옴. `SWAP`, `nMaj`, `nMin`(페이지 폴트)을 추가해 보세요 |
| `c` | 명령줄 전체 보기 |
| `H` | 프로세스 대신 스레드 보기 |
| `E` / `e` | 요약 줄 / 프로세스 행의 메모리 단위 바꾸기 (KiB, MiB, GiB, ...) |
| `Shift+I` | %CPU의 Irix / Solaris 모드 전환 |
| `W` | 지금 설정을 `~/.config/procps/toprc`에 저장 |
| `q` | 종료 |

## 노트북에서 실시간으로 보기

실습에 들어 있는 실시간 표는 노트북 안에서 갱신됩니다. 드롭다운으로 정렬하고, 명령이나 사용자로
거르고, 열 이름 위에 마우스를 올려 뜻을 확인해 보세요.
"""),
    code("""
live = ch2_1.top_table(sort="RES")
"""),
    md("""
It keeps refreshing in the background until you pause it with its button or close it:
""", """
버튼으로 일시정지하거나 닫기 전까지는 백그라운드에서 계속 갱신합니다.
"""),
    code("""
live.close()
"""),
    md("""
## Find the biggest memory user

When memory runs short, the first question is which process uses it. `top` offers two candidates,
VIRT and RES. Predict:
""", """
## 메모리를 가장 많이 쓰는 프로세스 찾기

메모리가 부족할 때 가장 먼저 묻는 것은 어느 프로세스가 메모리를 쓰고 있느냐입니다. `top`에는 후보가
두 개 있습니다. VIRT와 RES입니다. 예상해 보세요.
"""),
    code("""
q = quiz.ask("2.1-virt-res")
"""),
    code("""
snap = ch2_1.snapshot()
ch2_1.biggest(snap, "VIRT")
"""),
    code("""
ch2_1.biggest(snap, "RES")
"""),
    code("""
q.check(snap)
"""),
    md("""
VIRT counts address space, not memory: every thread stack, every malloc arena a thread reserves,
every mapped file and library, whether or not it was ever touched. A process can map gigabytes it
never uses. RES counts the pages actually in RAM, so **sort by RES** (`top -o RES`, or `M` for %MEM,
which is RES divided by total) to find the process that holds memory.

RES has a catch, too: a page shared by several processes (a library, shared memory) counts in the RES
of each of them, so adding up RES over all processes gives more than the machine's `used`. The fair
measure splits each shared page among its users: **PSS**, in chapter [2.2](2.2-virt-res-shr.ipynb).

## Summary

- `top -b -n 1` prints one snapshot as text; read `%CPU` and `%Cpu(s)` from the second frame of
  `top -b -n 2 -d 1`, because the first covers only a few milliseconds.
- Every number comes from `/proc`: `uptime`, `loadavg`, `stat` and `meminfo` for the header,
  `/proc/PID/stat` and `statm` for each process. `kernel_helpers.top` reads the same files and prints the same
  fields.
- The load average counts runnable *and* D-state tasks; compare it with the number of CPUs.
- `sleeping` counts S, D and I; `stopped` counts T and t. A zombie is an exited child whose living
  parent has not reaped it, and it holds no memory.
- Since procps-ng 4.0.1, `used = total - avail Mem`, so free + used + buff/cache is no longer total.
  Watch `avail Mem`.
- PR = 20 + NI for normal tasks; real-time tasks show a negative PR or `rt`.
- `%CPU` is a percentage of one CPU and can pass 100; TIME+ is total CPU time.
- Find the biggest memory user by RES, not VIRT.

## On your own

1. Which process on this machine has the most CPU time (TIME+)? Find it with `top` and with the
   snapshot.
""", """
VIRT는 메모리가 아니라 주소 공간을 셉니다. 스레드 스택, 스레드마다 잡는 malloc 아레나, 매핑한 파일과
라이브러리를 실제로 건드렸는지와 상관없이 모두 셉니다. 프로세스는 쓰지도 않을 수 기가바이트를 매핑할
수 있습니다. RES는 실제로 RAM에 있는 페이지를 세므로, 메모리를 쥐고 있는 프로세스를 찾으려면 **RES로
정렬**합니다(`top -o RES`, 또는 RES를 전체 메모리로 나눈 %MEM으로 정렬하는 `M` 키).

RES에도 함정이 있습니다. 여러 프로세스가 함께 쓰는 페이지(라이브러리, 공유 메모리)는 각 프로세스의
RES에 모두 들어가므로, 모든 프로세스의 RES를 더하면 시스템의 `used`보다 커집니다. 공유 페이지를 쓰는
프로세스 수로 나눠서 세는 공정한 측정값이 **PSS**이며, [2.2장](2.2-virt-res-shr.ipynb)에서 다룹니다.

## 정리

- `top -b -n 1`은 스냅숏 하나를 텍스트로 출력합니다. 첫 화면은 몇 밀리초만 다루므로 `%CPU`와
  `%Cpu(s)`는 `top -b -n 2 -d 1`의 두 번째 화면에서 읽습니다.
- 모든 숫자는 `/proc`에서 옵니다. 헤더는 `uptime`, `loadavg`, `stat`, `meminfo`에서, 프로세스마다의
  값은 `/proc/PID/stat`과 `statm`에서 옵니다. `kernel_helpers.top`은 같은 파일을 읽고 같은 필드를 출력합니다.
- 부하 평균은 실행 가능한 태스크와 D 상태 태스크를 *함께* 셉니다. CPU 수와 비교해서 읽습니다.
- `sleeping`은 S, D, I를, `stopped`는 T와 t를 셉니다. 좀비는 살아 있는 부모가 회수하지 않은 채
  종료한 자식이며, 메모리를 차지하지 않습니다.
- procps-ng 4.0.1부터 `used = total - avail Mem`이라서 free + used + buff/cache가 더 이상 total이
  아닙니다. `avail Mem`을 보세요.
- 일반 태스크는 PR = 20 + NI이고, 실시간 태스크는 PR이 음수나 `rt`로 나옵니다.
- `%CPU`는 CPU 하나에 대한 백분율이라 100을 넘을 수 있고, TIME+는 누적 CPU 시간입니다.
- 메모리를 가장 많이 쓰는 프로세스는 VIRT가 아니라 RES로 찾습니다.

## 스스로 해 보기

1. 이 컴퓨터에서 CPU 시간(TIME+)을 가장 많이 쓴 프로세스는 무엇일까요? `top`과 스냅숏으로 각각
   찾아보세요.
"""),
    md("""
<details><summary>Solution</summary>

With `top`: `top -b -n 1 -o TIME+ | head -8`. With the snapshot, sort on the exact tick count:

```python
ch2_1.snapshot().table.sort_values("TICKS", ascending=False).head(3)
```

Both should name the same process; it is often a long-running daemon or a kernel thread.
</details>

2. How many threads does this notebook's kernel run, and why is its VIRT so much larger than its RES?
   (Hint: `top -H`.)

<details><summary>Solution</summary>

```python
ch2_1.run_top(f"-b -n 1 -H -p {os.getpid()}", lines=None)
```

`-H` prints one row per thread; they all share the process's memory, so they all show the same VIRT
and RES. Each extra thread has an 8 MiB stack reserved and may get its own 64 MiB malloc arena,
mostly never touched: address space (VIRT), not RAM (RES).
</details>

3. Make a zombie yourself, then make it disappear, using only `subprocess`.

<details><summary>Solution</summary>

```python
import subprocess, time
from kernel_helpers import top
p = subprocess.Popen(["true"])   # exits at once; Popen does not wait() until asked
time.sleep(0.2)
print(top.snapshot(0.1, [p.pid]).table[["PID", "S", "COMMAND"]])  # S is Z: this kernel is its living parent
p.wait()                         # reap it
print(top.snapshot(0.1, [p.pid]).table.empty)   # True: gone
```
</details>

4. Stop a process and continue it from a terminal: `sleep 300 &`, then `kill -STOP %1`, check its state
   with `top -b -n 1 -p $!`, then `kill -CONT %1` and check again. What does `jobs` say in between?

<details><summary>Solution</summary>

After `kill -STOP` the state is `T` and `jobs` lists the job as *Stopped*; after `kill -CONT` it goes
back to `S` (sleeping in `sleep`). The process keeps its memory the whole time. Finish with `kill %1`.
</details>

5. Compute %MEM of PID 1 by hand from the snapshot and compare it with what `top` prints.

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
- Kernel documentation: `Documentation/filesystems/proc.rst`, online as
  [The /proc Filesystem](https://docs.kernel.org/filesystems/proc.html).
- procps-ng: [source and NEWS](https://gitlab.com/procps-ng/procps) (the `used` change is in 4.0.1).
- Brendan Gregg, [Linux Load Averages: Solving the Mystery](https://www.brendangregg.com/blog/2017-08-08/linux-load-averages.html) (why D counts).
- The lab's [glossary](glossary.ipynb) of terms in English and Korean.

Next: [2.2 VIRT, RES and SHR](2.2-virt-res-shr.ipynb).
""", """
<details><summary>풀이</summary>

`top`으로는 `top -b -n 1 -o TIME+ | head -8`. 스냅숏에서는 정확한 틱 수로 정렬합니다.

```python
ch2_1.snapshot().table.sort_values("TICKS", ascending=False).head(3)
```

둘 다 같은 프로세스를 가리켜야 합니다. 오래 실행 중인 데몬이나 커널 스레드인 경우가 많습니다.
</details>

2. 이 노트북의 커널은 스레드를 몇 개 실행하고 있을까요? 그리고 VIRT가 RES보다 훨씬 큰 이유는
   무엇일까요? (힌트: `top -H`)

<details><summary>풀이</summary>

```python
ch2_1.run_top(f"-b -n 1 -H -p {os.getpid()}", lines=None)
```

`-H`는 스레드마다 한 줄씩 출력합니다. 스레드들은 프로세스의 메모리를 함께 쓰므로 모두 같은 VIRT와
RES를 보여 줍니다. 스레드가 하나 늘 때마다 8 MiB짜리 스택이 예약되고 64 MiB짜리 malloc 아레나가
따로 잡힐 수 있는데, 대부분은 한 번도 건드리지 않습니다. RAM(RES)이 아니라 주소 공간(VIRT)입니다.
</details>

3. `subprocess`만으로 좀비를 직접 만들고, 다시 없애 보세요.

<details><summary>풀이</summary>

```python
import subprocess, time
from kernel_helpers import top
p = subprocess.Popen(["true"])   # 곧바로 종료. Popen은 요청하기 전까지 wait()하지 않음
time.sleep(0.2)
print(top.snapshot(0.1, [p.pid]).table[["PID", "S", "COMMAND"]])  # S가 Z: 이 커널이 살아 있는 부모
p.wait()                         # 회수
print(top.snapshot(0.1, [p.pid]).table.empty)   # True: 사라짐
```
</details>

4. 터미널에서 프로세스를 멈췄다가 다시 실행해 보세요. `sleep 300 &`를 실행하고 `kill -STOP %1`을
   보낸 뒤 `top -b -n 1 -p $!`로 상태를 확인하고, `kill -CONT %1`을 보낸 뒤 다시 확인합니다. 그 사이에
   `jobs`는 무엇이라고 말할까요?

<details><summary>풀이</summary>

`kill -STOP` 뒤에는 상태가 `T`이고 `jobs`는 이 작업을 *Stopped*로 보여 줍니다. `kill -CONT` 뒤에는
다시 `S`(`sleep` 안에서 대기 중)로 돌아갑니다. 그동안 메모리는 계속 그대로입니다. 마지막에 `kill %1`로
정리하세요.
</details>

5. 스냅숏에서 PID 1의 %MEM을 직접 계산하고 `top`이 출력하는 값과 비교해 보세요.

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
- 커널 문서: `Documentation/filesystems/proc.rst`, 온라인에서는
  [The /proc Filesystem](https://docs.kernel.org/filesystems/proc.html).
- procps-ng: [소스와 NEWS](https://gitlab.com/procps-ng/procps) (`used`의 변경은 4.0.1).
- Brendan Gregg, [Linux Load Averages: Solving the Mystery](https://www.brendangregg.com/blog/2017-08-08/linux-load-averages.html) (D 상태가 왜 들어가는지).
- 이 실습의 영한 [용어집](glossary.ipynb).

다음 장: [2.2 VIRT, RES, SHR](2.2-virt-res-shr.ipynb).
"""),
]

write_pair("2.1-reading-top", cells)
