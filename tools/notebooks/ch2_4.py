"""Source of notebooks/{en,ko}/2.4-process-states-priority.ipynb. Run: .venv/bin/python tools/notebooks/ch2_4.py"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbtools import code, md, write_pair  # noqa: E402

cells = [
    # ------------------------------------------------------------------ title
    md("""
# 2.4 Process states and priority

Two columns of `top` say what a process is doing rather than how much memory it holds: **S**, its
state, and **PR**/**NI**, its priority. This chapter goes beyond the book's sections 2.1-2.3: you put
small processes into each state yourself, make two of them fight over one CPU to see what `nice`
really buys, and watch a single process use more than 100 % of a CPU.

| | |
|---|---|
| **What you'll do** | Find every state letter on this system; start processes that are running, sleeping, in uninterruptible sleep, stopped, stopped under a tracer and dead but not reaped; pin two busy processes to one CPU at nice 0 and nice 10 and measure their shares; run a process with one busy thread per CPU. |
| **What you'll learn** | What R, S, D, T, t, Z and I mean and how the `Tasks` line counts them; why a zombie holds no memory; PR = 20 + NI, and `rt`; how the scheduler's weight table turns nice 10 into about a tenth of a CPU; Irix and Solaris modes of `%CPU`. |
| **What you need** | The [start page](00-start-here.ipynb) check passing. Chapter [2.1](2.1-reading-top.ipynb) helps. No root. |
| **Time** | 20 minutes. |
""", """
# 2.4 프로세스 상태와 우선순위

`top`의 열 가운데 두 가지는 프로세스가 메모리를 얼마나 쥐고 있는지가 아니라 무엇을 하고 있는지를
알려 줍니다. 상태를 나타내는 **S**, 그리고 우선순위를 나타내는 **PR**/**NI**입니다. 이 장은 책의
2.1-2.3절을 넘어서는 내용입니다. 작은 프로세스들을 상태마다 직접 만들어 보고, 두 프로세스가 CPU 하나를
두고 다투게 해서 `nice`가 실제로 무엇을 바꾸는지 확인하고, 프로세스 하나가 CPU를 100% 넘게 쓰는
모습을 지켜봅니다.

| | |
|---|---|
| **할 일** | 이 시스템에 있는 상태 글자를 모두 찾습니다. 실행 중, 대기, 중단 불가 대기, 정지, 추적 중 정지, 좀비 상태의 프로세스를 직접 만듭니다. 바쁜 프로세스 두 개를 nice 0과 nice 10으로 CPU 하나에 묶어 각자의 몫을 잽니다. CPU마다 바쁜 스레드를 하나씩 돌리는 프로세스를 실행합니다. |
| **배울 것** | R, S, D, T, t, Z, I의 뜻과 `Tasks` 줄이 이들을 세는 방법, 좀비가 메모리를 차지하지 않는 이유, PR = 20 + NI와 `rt`, nice 10인 프로세스가 가중치 표에 따라 CPU를 약 10분의 1만 받게 되는 원리, `%CPU`의 Irix 모드와 Solaris 모드. |
| **필요한 것** | [시작 페이지](00-start-here.ipynb)의 환경 확인 통과. [2.1장](2.1-reading-top.ipynb)을 먼저 보면 도움이 됩니다. root 권한은 필요 없습니다. |
| **걸리는 시간** | 20분. |
"""),
    # ------------------------------------------------------------------ setup
    md("""
Run the cell below first: it loads the helpers this chapter uses. Every process it starts is a tiny
Python named `toplab-...`, ended when its cell is done.
""", """
먼저 아래 셀을 실행해서 이 장에서 쓰는 도우미를 불러옵니다. 이 장이 띄우는 프로세스는 모두
`toplab-...`이라는 이름의 작은 파이썬 프로세스이고, 셀이 끝나면 함께 종료됩니다.
"""),
    code("""
from kernel_helpers import quiz
from kernel_helpers.lessons import ch2_4
"""),
    # ------------------------------------------------------------------ S column
    md("""
## Read the S column

The kernel keeps one state per task, and `top` shows it as one letter:

- **R**, running: on a CPU, or ready and waiting for one.
- **S**, sleeping: waiting for something (input, a timer, a child) and wakeable by a signal. Most
  processes spend most of their time here.
- **D**, uninterruptible sleep: waiting inside the kernel, usually for disk I/O or a network
  filesystem (NFS), where signals cannot wake it. D tasks count in the load average, so a hung disk or NFS server raises
  the load while the CPUs sit idle.
- **T**, stopped by job control: SIGSTOP, or Ctrl+Z in a shell. It continues after SIGCONT.
- **t**, stopped by a tracer: a debugger such as `gdb` holds it.
- **Z**, zombie: a child that has exited but whose living parent has not yet collected its exit status.
- **I**, idle kernel thread: a kernel thread sleeping in a way that does not count in the load average
  (TASK_IDLE), usually an idle worker. Before kernel 4.14, idle workers showed as S, and the few
  TASK_IDLE threads showed as D without adding to the load.

These are the seven letters you will meet; the kernel also has P (parked) and X (dead), rarely seen.
In procps-ng 4.0.1-4.0.4 (Debian 12 has 4.0.2) the `Tasks` line has only five words: `sleeping`
counts S, D and I (and the rare P and X), and `stopped` counts T and t. From 4.0.5 the line has a
separate `d-sleep` count for D. Here is every letter on this system right now, with one example each:
""", """
## S 열 읽기

커널은 태스크마다 상태를 하나씩 기록하고, `top`은 그것을 글자 하나로 보여 줍니다.

- **R**, 실행 중: CPU에서 실행 중이거나, 준비를 마치고 CPU를 기다리는 중입니다.
- **S**, 대기: 입력, 타이머, 자식 프로세스 같은 무언가를 기다리며, 시그널로 깨울 수 있습니다.
  프로세스는 대개 시간 대부분을 이 상태로 보냅니다.
- **D**, 중단 불가 대기: 커널 안에서 기다리는 상태로, 대개 디스크 I/O나 네트워크 파일 시스템(NFS)을
  기다립니다. 이때는 시그널로도 깨울 수 없습니다. D 상태 태스크는 부하 평균에 들어가므로, 디스크나 NFS 서버가 멈추면 CPU는 놀고 있는데도
  부하가 올라갑니다.
- **T**, 작업 제어로 정지: SIGSTOP을 받았거나 셸에서 Ctrl+Z를 누른 경우입니다. SIGCONT를 받으면
  다시 실행됩니다.
- **t**, 추적 중 정지: `gdb` 같은 디버거가 붙잡고 있는 상태입니다.
- **Z**, 좀비: 이미 종료했지만 살아 있는 부모가 아직 종료 상태를 거둬 가지 않은 자식입니다.
- **I**, 유휴 커널 스레드: 부하 평균에 들어가지 않는 방식(TASK_IDLE)으로 잠든 커널 스레드로, 대개
  할 일이 없는 작업 스레드입니다. 커널 4.14 전에는 할 일 없는 작업 스레드가 S로 표시되었고, 몇 안 되는
  TASK_IDLE 스레드는 부하를 올리지 않으면서 D로 표시되었습니다.

여러분이 만나게 될 글자는 이 일곱 가지입니다. 커널에는 드물게 보이는 P(parked)와 X(dead)도 있습니다.
procps-ng 4.0.1-4.0.4(Debian 12는 4.0.2)에서 `Tasks` 줄에는 단어가 다섯 개뿐입니다. `sleeping`은 S,
D, I를(드문 P와 X까지) 함께 세고, `stopped`는 T와 t를 셉니다. 4.0.5부터는 D를 세는 `d-sleep`이 따로
있습니다. 지금 이 시스템에 있는 글자를 모두 세고, 글자마다 예를 하나씩 들어 보면 다음과 같습니다.
"""),
    code("""
ch2_4.system_states()
"""),
    md("""
I comes from the system itself: a modern kernel always has idle workers. D is usually so short that a
snapshot catches none; when the cell finds none, it says how to catch one, and the next demo makes
one on purpose.

## Put processes into each state

The next cell starts small processes, each named for its role:

- `toplab-busy` computes hashes (R);
- `toplab-sleeping` sleeps (S);
- `toplab-vfork` creates a child, `toplab-vforked`, with `vfork` semantics: the kernel suspends the
  parent until the child exits or runs another program, and it waits in uninterruptible sleep (D).
  No disk is involved, yet it would count in the load average;
- `toplab-stopped` receives SIGSTOP (T);
- `toplab-tracer` starts a child, `toplab-traced`, that asks to be traced and then stops itself,
  as a program does under a debugger (t);
- `toplab-parent` starts a child, `toplab-zombie`, which exits at once, and never calls `wait()` for it (Z);
- `toplab-niced` sleeps at nice 10.

They live only inside the `with` block. First, three predictions:
""", """
I 상태는 따로 만들 필요가 없습니다. 요즘 커널에는 할 일 없는 작업 스레드가 늘 있기 때문입니다. D는 대개 아주
잠깐이라 스냅숏에 잡히지 않을 때가 많습니다. 하나도 없으면 위 셀이 직접 잡아 보는 방법을 알려 주고,
다음 실험에서는 일부러 하나 만들어 봅니다.

## 프로세스를 상태마다 하나씩 만들기

다음 셀은 작은 프로세스들을 띄웁니다. 이름만 봐도 역할을 알 수 있습니다.

- `toplab-busy`는 해시를 계산합니다(R).
- `toplab-sleeping`은 잠들어 있습니다(S).
- `toplab-vfork`는 `vfork` 방식으로 자식 `toplab-vforked`를 만듭니다. 커널은 자식이 종료하거나 다른
  프로그램을 실행할 때까지 부모를 멈춰 두는데, 이때 부모는 중단 불가 대기(D) 상태로 기다립니다. 디스크와는
  아무 상관이 없지만 부하 평균에는 들어갑니다.
- `toplab-stopped`는 SIGSTOP을 받습니다(T).
- `toplab-tracer`는 자식 `toplab-traced`를 띄우고, 이 자식은 자신을 추적해 달라고 요청한 뒤 스스로
  멈춥니다. 디버거 아래에서 멈춘 프로그램과 같은 상태입니다(t).
- `toplab-parent`는 자식 `toplab-zombie`를 띄우는데, 자식은 곧바로 종료하고 부모는 끝내 `wait()`를
  부르지 않습니다(Z).
- `toplab-niced`는 nice 10으로 잠들어 있습니다.

이 프로세스들은 `with` 블록 안에서만 살아 있습니다. 먼저 세 가지를 예상해 보세요.
"""),
    code("""
q_stop = quiz.ask("2.4-stopped")
"""),
    code("""
q_zombie = quiz.ask("2.4-zombie-res")
"""),
    code("""
q_nice = quiz.ask("2.4-nice-pr")
"""),
    code("""
with ch2_4.state_demos() as demos:
    rows = demos.show()
rows
"""),
    code("""
q_stop.check(demos.measured)
q_zombie.check(demos.measured)
q_nice.check(demos.measured)
"""),
    md("""
Two definitions are often stated wrongly:

- A **zombie** is not "a child whose parent died". It is a child that exited while its parent is
  still alive and has not called `wait()`. It holds no memory and uses no CPU, only a slot in the
  process table. When the parent dies, `init` (or a subreaper) adopts the zombie and reaps it at once.
  So a pile of zombies is fixed by fixing or restarting the parent: `kill -9` on a zombie does nothing,
  because it is already dead.
- **T** and **t** both stop a process and both keep its memory, but only T continues on SIGCONT; a
  traced process waits for its tracer (`TracerPid` in `/proc/PID/status` names it).
- **D** is not "stuck on disk" by definition: it is any wait inside the kernel that ordinary signals
  cannot interrupt. The vfork parent uses no CPU while it waits, yet it adds 1 to the count the load
  average is computed from (the 1-minute figure climbs toward +1: about 0.63 after a minute).
  `cat /proc/PID/wchan` names the kernel function a D task waits in. The demo's wait is killable
  (TASK_KILLABLE: SIGKILL still ends it), as many D waits are today; a plain D, such as a process on
  a hung NFS hard mount, ignores even `kill -9`.

## Read PR and NI

**NI** is the nice value, from -20 (takes more CPU) to 19 (yields). **PR** is the priority `top`
shows: for normal tasks **PR = 20 + NI**, so the niced demo showed PR 30. Real-time tasks (SCHED_FIFO,
SCHED_RR) show a negative PR, `-1 - rt_priority`, and the highest real-time priority (PR -100) prints
as `rt`, and so do SCHED_DEADLINE tasks. In the book's screenshot, `migration/0` shows `rt` and `idle_inject/0` shows -51 (real-time
priority 50). The cell checks the rule on every process here and shows one example of each kind:
""", """
자주 틀리게 설명하는 정의가 두 가지 있습니다.

- **좀비**는 "부모가 죽은 자식"이 아닙니다. 부모가 살아 있는데 `wait()`를 부르지 않은 상태에서
  먼저 종료한 자식입니다. 메모리도 CPU도 쓰지 않고 프로세스 테이블의 한 칸만 차지합니다. 부모가
  죽으면 `init`(또는 서브리퍼)이 좀비를 입양해서 곧바로 회수합니다. 그러니 좀비가 쌓이면 부모를 고치거나
  재시작해야 합니다. 좀비는 이미 죽었으므로 `kill -9`를 보내도 아무 일도 일어나지 않습니다.
- **T**와 **t**는 둘 다 프로세스를 멈추고 메모리는 그대로 둡니다. 다만 SIGCONT로 이어서 실행되는 것은
  T뿐이고, 추적 중인 프로세스는 추적기를 기다립니다(`/proc/PID/status`의 `TracerPid`가 추적기를 알려 줍니다).
- **D**가 곧 "디스크에 걸려 있음"을 뜻하지는 않습니다. 보통의 시그널로는 깨울 수 없는, 커널 안에서의
  모든 대기를 가리킵니다. vfork한 부모는 기다리는 동안 CPU를 쓰지 않지만, 부하 평균을 계산하는 바탕이
  되는 태스크 수에 1을 더합니다(1분 값은 +1을 향해 올라가서, 1분 뒤에는 약 0.63이 됩니다). D 상태
  태스크가 어느 커널 함수에서 기다리는지는 `cat /proc/PID/wchan`으로 볼 수 있습니다. 이 실험의 대기는
  죽일 수 있는 대기(TASK_KILLABLE: SIGKILL로는 끝납니다)이고, 요즘은 이런 D 대기가 많습니다. 하지만
  하드 마운트한 NFS 서버가 멈춘 경우 같은 보통의 D는 `kill -9`도 듣지 않습니다.

## PR과 NI 읽기

**NI**는 nice 값으로, -20(CPU를 더 받음)부터 19(양보함)까지입니다. **PR**은 `top`이 보여 주는
우선순위입니다. 일반 태스크는 **PR = 20 + NI**이므로, nice 10인 실험 프로세스의 PR은 30이었습니다.
실시간 태스크(SCHED_FIFO, SCHED_RR)는 PR이 음수(`-1 - rt_priority`)로 나오고, 가장 높은 실시간
우선순위(PR -100)는 `rt`로 표시됩니다. SCHED_DEADLINE 태스크도 `rt`로 나옵니다. 책의 화면에서 `migration/0`은 `rt`, `idle_inject/0`은
-51(실시간 우선순위 50)입니다. 아래 셀은 이 시스템의 모든 프로세스에서 규칙을 확인하고, 종류마다 예를
하나씩 보여 줍니다.
"""),
    code("""
ch2_4.priority_check()
"""),
    # ------------------------------------------------------------------ contention
    md("""
## Make two processes compete for one CPU

On an idle machine a niced process runs as fast as any other: nice only matters when tasks want the
same CPU at the same time. The scheduler (CFS, and EEVDF since kernel 6.6) then gives each runnable
task CPU time in proportion to its **weight**, which comes from a table in the kernel
(`sched_prio_to_weight` in `kernel/sched/core.c`): 1024 for nice 0, and about 1.25 times less for
each step up. Nice 10 weighs 110.

The next cell starts two busy processes pinned to the same CPU with `sched_setaffinity`, one at nice 0
and one at nice 10, and measures what each gets. Predict first:
""", """
## 프로세스 두 개를 CPU 하나에서 경쟁시키기

한가한 시스템에서는 nice를 준 프로세스도 다른 프로세스만큼 빠르게 실행됩니다. nice는 여러 태스크가 같은
CPU를 동시에 원할 때만 의미가 있습니다. 그때 스케줄러(CFS, 커널 6.6부터는 EEVDF)는 실행 가능한
태스크마다 **가중치**에 비례해 CPU 시간을 나눠 줍니다. 가중치는 커널 안의 표(`kernel/sched/core.c`의
`sched_prio_to_weight`)에서 오며, nice 0이 1024이고 nice가 한 단계 오를 때마다 약 1.25배씩 줄어듭니다.
nice 10의 가중치는 110입니다.

다음 셀은 바쁜 프로세스 두 개를 `sched_setaffinity`로 같은 CPU에 묶어 하나는 nice 0, 하나는 nice 10으로
돌리고, 각자 받은 시간을 잽니다. 먼저 예상해 보세요.
"""),
    code("""
q = quiz.ask("2.4-nice-share")
"""),
    code("""
contest = ch2_4.nice_contention(10)
q.check(contest)
"""),
    md("""
Other programs on the same CPU take time from both processes, so their `%CPU` figures can be lower
than 90 and 10; the ratio between the two stays close to 1024 : 110. With 2 CPUs and only two busy
processes, each would get a CPU of its own and nice would change nothing: that is why the demo pins
them together.

The weights compare tasks in the same group. With autogroup (`kernel.sched_autogroup_enabled`, on by
default in Debian and Ubuntu kernels), each session, such as each terminal, is a group, and groups share
a CPU equally whatever the nice of their tasks. The demo works because both children share this Jupyter
kernel's session; in a terminal, start both commands from the same shell (as in exercise 4). Across
sessions, renice the autogroup (`/proc/PID/autogroup`) or put both processes in one cgroup.

## When %CPU passes 100: Irix and Solaris modes

`%CPU` is the CPU time a process used since the last refresh, divided by the elapsed time of **one**
CPU. This is `top`'s default **Irix mode**: a process whose threads run on several CPUs at once can
show more than 100, up to 100 times the number of CPUs. Press `Shift+I` in an interactive `top` to
switch to **Solaris mode**, which divides by the number of CPUs, so no process passes 100.

Whether a process actually passes 100 depends on free CPUs: its threads only run in parallel on CPUs
nobody else is using. The next process runs one busy thread per CPU (up to four) for a few seconds.
Predict for this machine:
""", """
같은 CPU에서 도는 다른 프로그램은 두 프로세스 모두에게서 시간을 가져가므로, `%CPU`는 90과 10보다
낮게 나올 수 있습니다. 그래도 둘 사이의 비율은 1024 : 110에 가깝게 유지됩니다. CPU가 2개인데 바쁜
프로세스가 두 개뿐이라면 각자 CPU를 하나씩 차지해서 nice가 아무것도 바꾸지 못합니다. 그래서 이 실험은
두 프로세스를 한 CPU에 묶습니다.

가중치는 같은 그룹 안의 태스크끼리 비교합니다. 오토그룹(`kernel.sched_autogroup_enabled`, Debian과
Ubuntu 커널에서는 기본으로 켜져 있음)이 켜져 있으면 세션마다(이를테면 터미널마다) 그룹이 하나씩 생기고,
그룹끼리는 태스크의 nice와 상관없이 CPU를 똑같이 나눕니다. 이 실험이 예측대로 되는 것은 두 자식이 이
주피터 커널의 세션을 함께 쓰기 때문입니다. 터미널에서 해 볼 때는 두 명령을 같은 셸에서 실행하세요('스스로 해
보기' 4번처럼). 세션이 다르다면 오토그룹의 nice를 바꾸거나(`/proc/PID/autogroup`) 두 프로세스를 한 cgroup에
넣어야 합니다.

## %CPU가 100을 넘을 때: Irix 모드와 Solaris 모드

`%CPU`는 지난 갱신 이후 프로세스가 쓴 CPU 시간을 CPU **하나**의 경과 시간으로 나눈 값입니다. 이것이
`top`의 기본 **Irix 모드**입니다. 스레드들이 여러 CPU에서 동시에 도는 프로세스는 100을 넘을 수 있고,
최대 CPU 수 × 100까지 나옵니다. 대화형 `top`에서 `Shift+I`를 누르면 CPU 수로 나누는 **Solaris 모드**로
바뀌어, 어떤 프로세스도 100을 넘지 않습니다.

실제로 100을 넘는지는 빈 CPU가 있느냐에 달려 있습니다. 스레드는 다른 누구도 쓰지 않는 CPU에서만 나란히
돌 수 있기 때문입니다. 다음 프로세스는 CPU마다 바쁜 스레드를 하나씩(최대 4개) 몇 초 동안 돌립니다. 이
시스템에서는 어떨지 예상해 보세요.
"""),
    code("""
q = quiz.ask("2.4-irix")
"""),
    code("""
busy = ch2_4.busy_process()
q.check(busy)
"""),
    md("""
The verdict comes from the measurement: with one CPU, 100 is the ceiling; with several, the process
passes 100 when the CPUs are free, and the verdict names the idle time when they were not. `top -H`
shows the same process one thread per row, each at most 100.

## Summary

- `top`'s S column shows one of R, S, D, T, t, Z, I (the kernel's rare P and X aside). In procps-ng
  4.0.1-4.0.4 the `Tasks` line counts S + D + I as `sleeping` (from 4.0.5, D has its own `d-sleep`)
  and T + t as `stopped`. D tasks count in the load average.
- A zombie is an exited child whose living parent has not called `wait()`; it holds no memory (RES 0)
  and goes away when the parent reaps it or dies.
- PR = 20 + NI for normal tasks; real-time tasks show a negative PR, or `rt`.
- nice matters only under contention, between tasks of the same group (with autogroup, the same
  session): then CPU time follows the weight table, 1024 : 110 for nice 0 against nice 10, about 90 %
  to 10 %.
- In Irix mode (the default) `%CPU` can pass 100 when threads run on several free CPUs; Solaris mode
  (`Shift+I`) divides by the number of CPUs.

## On your own

1. What share would nice 0 get against nice 5? Predict it from the weight table, then measure it.
""", """
판정은 실제 측정값을 따릅니다. CPU가 하나면 100이 상한이고, 여러 개면 CPU가 비어 있을 때 100을
넘습니다. 비어 있지 않았다면 판정에 그동안의 유휴 시간이 함께 나옵니다. `top -H`로 보면 스레드마다 한
줄씩 나오고, 각 줄은 100을 넘지 않습니다.

## 정리

- `top`의 S 열은 R, S, D, T, t, Z, I 가운데 하나를 보여 줍니다(드문 P와 X는 빼고). procps-ng
  4.0.1-4.0.4의 `Tasks` 줄은 S + D + I를 `sleeping`으로(4.0.5부터 D는 `d-sleep`으로 따로), T + t를
  `stopped`로 셉니다. D 상태 태스크는 부하 평균에 들어갑니다.
- 좀비는 살아 있는 부모가 `wait()`를 부르지 않은 채 종료한 자식입니다. 메모리를 차지하지 않으며(RES 0),
  부모가 회수하거나 죽으면 사라집니다.
- 일반 태스크는 PR = 20 + NI이고, 실시간 태스크는 PR이 음수나 `rt`로 나옵니다.
- nice는 같은 그룹(오토그룹이면 같은 세션)의 태스크끼리 경쟁할 때만 의미가 있습니다. 그때 CPU 시간은
  가중치 표를 따르며, nice 0과 nice 10이면 1024 : 110, 약 90% 대 10%입니다.
- Irix 모드(기본값)에서는 스레드들이 빈 CPU 여러 개에서 돌면 `%CPU`가 100을 넘을 수 있습니다. Solaris
  모드(`Shift+I`)는 CPU 수로 나눕니다.

## 스스로 해 보기

1. nice 0과 nice 5가 경쟁하면 nice 0은 몇 퍼센트를 받을까요? 가중치 표로 예측한 다음 측정해 보세요.
"""),
    md("""
<details><summary>Solution</summary>

```python
print(ch2_4.predicted_share(0, 5))   # 1024 / (1024 + 335) = 75.3
ch2_4.nice_contention(5)
```

The weights are 1024 and 335, so nice 0 should get about three quarters.
</details>

2. Make a zombie yourself, then make it disappear, using only `subprocess`.

<details><summary>Solution</summary>

```python
import subprocess, time
from kernel_helpers import top
p = subprocess.Popen(["true"])   # exits at once; Popen does not wait() until asked
time.sleep(0.2)
print(top.snapshot(0.1, [p.pid]).table[["PID", "S", "RES", "COMMAND"]])  # S is Z, RES 0
p.wait()                         # reap it: this Jupyter kernel is its parent
print(len(top.snapshot(0.1, [p.pid]).table))   # 0 rows: gone
```
</details>

3. Stop a process and continue it from a terminal: `sleep 300 &`, then `kill -STOP %1`, check its state
   with `top -b -n 1 -p $!`, then `kill -CONT %1` and check again. What does `jobs` say in between?

<details><summary>Solution</summary>

After `kill -STOP` the state is `T` and `jobs` lists the job as *Stopped*; after `kill -CONT` it goes
back to `S`. The process keeps its memory the whole time. Finish with `kill %1`.
</details>

4. In a terminal, run `taskset -c 0 nice -n 10 sha256sum /dev/zero &` and `taskset -c 0 sha256sum
   /dev/zero &` from the same shell, then watch them with `top -d 1`. Press `Shift+I`. What changes, and
   what does not? (If a cpuset keeps you off CPU 0, use any CPU you are allowed: `taskset -cp $$` lists
   them.)

<details><summary>Solution</summary>

The nice 0 process gets about 90 % and the nice 10 one about 10 %, and PR shows 20 and 30. `Shift+I`
divides both figures by the number of CPUs, so on 2 CPUs they read about 45 % and 5 %; the ratio stays
the same. Started from two different terminals (two autogroups), they would get about half each.
Finish with `kill %1 %2`.
</details>

## Further reading

- `man 5 proc`: [proc_pid_stat(5)](https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html) (state,
  priority and nice are fields 3, 18 and 19).
- [sched(7)](https://man7.org/linux/man-pages/man7/sched.7.html): scheduling policies, nice and real-time priorities.
- Kernel documentation: [CFS](https://docs.kernel.org/scheduler/sched-design-CFS.html),
  [EEVDF](https://docs.kernel.org/scheduler/sched-eevdf.html), and the weight table in
  `kernel/sched/core.c`.
- [wait(2)](https://man7.org/linux/man-pages/man2/wait.2.html) (zombies) and
  [ptrace(2)](https://man7.org/linux/man-pages/man2/ptrace.2.html) (tracing stops).
- `man 1 top`: [top(1)](https://man7.org/linux/man-pages/man1/top.1.html), the S field and `Shift+I`.
- The lab's [glossary](glossary.ipynb) of terms in English and Korean.

Back to the [start page](00-start-here.ipynb).
""", """
<details><summary>풀이</summary>

```python
print(ch2_4.predicted_share(0, 5))   # 1024 / (1024 + 335) = 75.3
ch2_4.nice_contention(5)
```

가중치가 1024와 335이므로 nice 0이 약 4분의 3을 받아야 합니다.
</details>

2. `subprocess`만으로 좀비를 직접 만들고, 다시 없애 보세요.

<details><summary>풀이</summary>

```python
import subprocess, time
from kernel_helpers import top
p = subprocess.Popen(["true"])   # 곧바로 종료. Popen은 요청하기 전까지 wait()하지 않음
time.sleep(0.2)
print(top.snapshot(0.1, [p.pid]).table[["PID", "S", "RES", "COMMAND"]])  # S는 Z, RES는 0
p.wait()                         # 회수: 이 주피터 커널이 부모
print(len(top.snapshot(0.1, [p.pid]).table))   # 0행: 사라짐
```
</details>

3. 터미널에서 프로세스를 멈췄다가 다시 실행해 보세요. `sleep 300 &`를 실행하고 `kill -STOP %1`을
   보낸 뒤 `top -b -n 1 -p $!`로 상태를 확인하고, `kill -CONT %1`을 보낸 뒤 다시 확인합니다. 그 사이에
   `jobs`는 무엇을 보여 줄까요?

<details><summary>풀이</summary>

`kill -STOP` 뒤에는 상태가 `T`이고 `jobs`는 이 작업을 *Stopped*로 보여 줍니다. `kill -CONT` 뒤에는
다시 `S`로 돌아갑니다. 그동안 메모리는 계속 그대로입니다. 마지막에 `kill %1`로 정리하세요.
</details>

4. 터미널에서 `taskset -c 0 nice -n 10 sha256sum /dev/zero &`와 `taskset -c 0 sha256sum /dev/zero &`를
   같은 셸에서 실행하고 `top -d 1`로 지켜보세요. `Shift+I`를 누르면 무엇이 바뀌고 무엇이 그대로일까요?
   (cpuset 때문에 CPU 0을 쓸 수 없다면 쓸 수 있는 CPU 아무거나 쓰세요. `taskset -cp $$`가 알려 줍니다.)

<details><summary>풀이</summary>

nice 0인 프로세스가 약 90%, nice 10인 프로세스가 약 10%를 받고, PR은 20과 30으로 나옵니다.
`Shift+I`를 누르면 두 값 모두 CPU 수로 나뉘므로 CPU가 2개라면 약 45%와 5%가 됩니다. 비율은 그대로입니다.
서로 다른 터미널 두 개(오토그룹 두 개)에서 실행했다면 각자 절반쯤 받았을 것입니다. 마지막에 `kill %1 %2`로 정리하세요.
</details>

## 더 읽을거리

- `man 5 proc`: [proc_pid_stat(5)](https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html)(상태,
  우선순위, nice는 3, 18, 19번 필드).
- [sched(7)](https://man7.org/linux/man-pages/man7/sched.7.html): 스케줄링 정책, nice와 실시간 우선순위.
- 커널 문서: [CFS](https://docs.kernel.org/scheduler/sched-design-CFS.html),
  [EEVDF](https://docs.kernel.org/scheduler/sched-eevdf.html), 그리고 `kernel/sched/core.c`의 가중치 표.
- [wait(2)](https://man7.org/linux/man-pages/man2/wait.2.html)(좀비)와
  [ptrace(2)](https://man7.org/linux/man-pages/man2/ptrace.2.html)(추적 중 정지).
- `man 1 top`: [top(1)](https://man7.org/linux/man-pages/man1/top.1.html), S 필드와 `Shift+I`.
- 이 실습의 영한 [용어집](glossary.ipynb).

[시작 페이지](00-start-here.ipynb)로 돌아가기.
"""),
]

write_pair("2.4-process-states-priority", cells)
