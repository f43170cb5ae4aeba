"""Source of notebooks/{en,ko}/00-start-here.ipynb. Run: .venv/bin/python tools/notebooks/start_here.py"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbtools import code, md, write_pair  # noqa: E402

cells = [
    md("""
# Start here: how Linux processes use memory, seen through `top`

**한국어:** [이 안내를 한국어로 읽기](../ko/00-start-here.ipynb)

This lab teaches you to read `top` and to know what its memory numbers really mean. You will not
just read about VIRT, RES and SHR: you will start small C programs on your own machine, watch the
numbers move live, and check every claim against the kernel.

| | |
|---|---|
| **What you'll do** | Check that this machine is ready, then pick a chapter. |
| **What you'll learn** | What the lab needs, and what it will (and will not) change on your machine. |
| **What you need** | Linux (a laptop, a VM, Binder or JupyterHub), Python 3.10+, gcc and make. No root required. |
| **Time** | 2 minutes. |
""", """
# 여기서 시작하세요: `top`으로 보는 리눅스 프로세스의 메모리

**English:** [Read this page in English](../en/00-start-here.ipynb)

이 실습은 `top`을 읽는 법과, 거기 나오는 메모리 숫자가 실제로 무엇을 뜻하는지 가르칩니다.
VIRT, RES, SHR을 글로만 배우지 않습니다. 여러분의 시스템에서 작은 C 프로그램을 직접 띄우고,
숫자가 움직이는 모습을 실시간으로 지켜보고, 모든 설명을 커널에 직접 물어 확인합니다.

| | |
|---|---|
| **할 일** | 이 시스템이 준비되었는지 확인하고 장 고르기. |
| **배울 것** | 실습에 무엇이 필요한지, 그리고 실습이 시스템에서 무엇을 바꾸고 무엇을 바꾸지 않는지. |
| **필요한 것** | 리눅스(노트북, VM, Binder, JupyterHub 어디든), Python 3.10 이상, gcc, make. root 권한은 필요 없습니다. |
| **걸리는 시간** | 2분. |
"""),
    md("""
## Check your environment

Run the cell below (Shift+Enter). Each line says `ok` or `FIX`, and every `FIX` comes with the
command that fixes it.
""", """
## 환경 확인하기

아래 셀을 실행하세요(Shift+Enter). 줄마다 `ok` 또는 `FIX`가 나오고, `FIX`에는 고치는 방법이
함께 나옵니다.
"""),
    code("""
from kernel_helpers import check

check.report()
"""),
    md("""
Two lines deserve a word:

- **vm.overcommit_memory** is a machine-wide kernel setting, and only root can change it. On Binder
  and on most JupyterHubs you are not root, and that is fine: chapter 2.3 then shows what each mode
  *would* do, and uses `ulimit -v` (a per-process limit anyone may set) to make `malloc()` fail for real.
  Where the setting can be changed, the lab always restores it, even if the Jupyter kernel crashes.
- **The demo memory budget** caps how much memory any experiment may touch. It is the smallest of
  1 GiB, half of the memory available now, and half of what is left under your container's or
  JupyterHub's limit, so a room full of readers on one server cannot starve each other.
""", """
두 줄은 설명이 조금 필요합니다.

- **vm.overcommit_memory**는 시스템 전체에 걸리는 커널 설정이고 root만 바꿀 수 있습니다.
  Binder나 대부분의 JupyterHub에서는 root가 아니지만 괜찮습니다. 그럴 때 2.3장은 각 모드라면 *어떻게
  될지*를 예측해서 보여 주고, 누구나 걸 수 있는 프로세스 단위 제한인 `ulimit -v`로 `malloc()`을
  실제로 실패시켜 봅니다. 설정을 바꿀 수 있는 곳에서는, 주피터 커널이 죽더라도 실습이 설정을 반드시 원래대로 돌려놓습니다.
- **실험 메모리 예산**은 실험 하나가 건드릴 수 있는 메모리의 상한입니다. 1 GiB, 지금 쓸 수 있는
  메모리의 절반, 컨테이너나 JupyterHub 한도까지 남은 양의 절반 가운데 가장 작은 값이라서, 서버
  하나를 여러 사람이 함께 써도 서로의 메모리를 빼앗지 않습니다.
"""),
    md("""
## On macOS or Windows

The experiments read `/proc`, which only Linux has, so the check above marks the Linux line `FIX`.
What still works there: the chapters' text, the glossary, and two recordings. `memory_panel()`
(chapter 2.3) shows malloc_test's VIRT, RES and SHR as recorded on a Linux machine, first without
and then with `memset`; `shared_view()` (chapter 2.2) shows the RES, SHR, USS and PSS of shared_mem
and its children. Both say "Recorded on Linux ... on ..." and are never passed off as live. Every
other experiment stops with an error that says it needs Linux. To run everything, open the lab in a
Linux VM, in WSL2 on Windows, in a container, or on Binder (see the README).
""", """
## macOS나 Windows에서는

실험은 리눅스에만 있는 `/proc`을 읽기 때문에, 위의 확인에서 Linux 줄에 `FIX`가 나옵니다. 그래도
쓸 수 있는 것은 각 장의 본문, 용어집, 그리고 두 가지 기록입니다. `memory_panel()`(2.3장)은 리눅스
시스템에서 기록한 malloc_test의 VIRT, RES, SHR을 먼저 `memset` 없이, 그다음 `memset`과 함께 보여
주고, `shared_view()`(2.2장)는 shared_mem과 자식 프로세스들의 RES, SHR, USS, PSS를 보여 줍니다.
둘 다 "리눅스 ...에서 ...에 기록함"이라고 밝히며, 실시간 측정인 척하지 않습니다. 나머지 실험은
리눅스가 필요하다는 오류를 내고 멈춥니다. 전부 실행하려면 리눅스 VM, Windows의 WSL2, 컨테이너,
또는 Binder(README 참고)에서 실습을 여세요.
"""),
    md("""
## The chapters

1. [2.1 Reading the system's state with `top`](2.1-reading-top.ipynb): the header lines, the process
   columns, batch mode and the interactive keys, and how to find the biggest memory user.
2. [2.2 VIRT, RES and SHR](2.2-virt-res-shr.ipynb): where the three numbers come from, why SHR is part
   of RES, and why adding up RES overstates memory use.
3. [2.3 VIRT, RES and memory commit](2.3-memory-commit.ipynb): `malloc()` reserves, writing makes it
   real, page faults in between, and what `vm.overcommit_memory` promises.
4. [2.4 Process states and priority](2.4-process-states-priority.ipynb): R, S, D, T, t, Z and I on
   processes you start, PR and NI, what nice 10 costs when two processes share a CPU, and `%CPU`
   above 100. Beyond the book.

The [glossary](glossary.ipynb) lists every term the chapters use, in English and Korean side by side.

Each chapter starts with what you'll do and learn, asks you to predict before each experiment,
checks your answer against the measurement, and ends with exercises.

## What the lab does to your machine

- It starts small C programs from `c_programs/` and stops every one of them when the experiment
  ends, when you run the cell again, or when the Jupyter kernel stops (they also ask the Linux kernel to
  kill them if their parent dies).
- It never touches more memory than the budget above, and a watchdog stops an experiment if the
  machine runs low.
- It changes `vm.overcommit_memory` only where you are root, only inside an experiment, and puts
  it back afterwards.

The lab is based on chapter 2 of a Korean book on the Linux kernel for DevOps engineers. Where the
book has aged (newer `top` versions and kernels behave differently), the chapters say so.
""", """
## 장 목록

1. [2.1 `top`으로 시스템 상태 살펴보기](2.1-reading-top.ipynb): 헤더의 각 줄과 프로세스 열, 배치
   모드와 대화형 키, 그리고 메모리를 가장 많이 쓰는 프로세스를 찾는 법.
2. [2.2 VIRT, RES, SHR](2.2-virt-res-shr.ipynb): 세 숫자가 어디서 오는지, 왜 SHR이 RES의
   일부인지, 왜 RES를 모두 더하면 메모리 사용량이 부풀려지는지 알아봅니다.
3. [2.3 VIRT, RES와 메모리 커밋](2.3-memory-commit.ipynb): `malloc()`은 예약만 하고, 쓰기를 해야
   실제 메모리가 되며, 그 사이에 페이지 폴트가 있습니다. 그리고 `vm.overcommit_memory`가 무엇을
   약속하는지 봅니다.
4. [2.4 프로세스 상태와 우선순위](2.4-process-states-priority.ipynb): 직접 띄운 프로세스로 보는 R, S,
   D, T, t, Z, I, PR과 NI, 두 프로세스가 CPU 하나를 나눠 쓸 때 nice 10의 대가, 그리고 100을 넘는
   `%CPU`. 책의 범위를 넘어서는 장입니다.

[용어집](glossary.ipynb)에는 각 장에서 쓰는 용어가 영어와 한국어로 나란히 정리되어 있습니다.

각 장은 할 일과 배울 것으로 시작하고, 실험 전에는 결과를 먼저 예상해 보게 하며, 측정값으로
답을 확인해 준 뒤, 연습 문제로 끝납니다.

## 실습이 시스템에 하는 일

- `c_programs/`의 작은 C 프로그램을 띄우고, 실험이 끝나거나 셀을 다시 실행하거나 주피터
  커널이 멈추면 하나도 남김없이 종료합니다. 프로그램 스스로도 부모가 죽으면 함께 종료되도록 리눅스
  커널에 부탁해 둡니다.
- 위의 예산보다 많은 메모리는 절대 건드리지 않고, 시스템 메모리가 부족해지면 감시 스레드가
  실험을 멈춥니다.
- `vm.overcommit_memory`는 root일 때만, 실험하는 동안만 바꾸고, 끝나면 원래대로 돌려놓습니다.

이 실습은 DevOps 엔지니어를 위한 리눅스 커널 책의 2장을 바탕으로 합니다. 책이 나온 뒤 바뀐
부분(새 `top`과 새 커널의 동작)은 각 장에서 따로 짚어 줍니다.
"""),
]

write_pair("00-start-here", cells)
