"""Source of notebooks/{en,ko}/glossary.ipynb. Run: .venv/bin/python tools/notebooks/glossary.py"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbtools import code, md, write_pair  # noqa: E402

cells = [
    md("""
# Glossary

Every term the lab uses, with its Korean name and a one-line definition. The English and Korean
chapters take their terms from this one table (`kernel_helpers/glossary.py`), so both name the same
thing the same way. The top columns and `/proc` fields come from the lab's metric table
(`kernel_helpers/metrics.py`), the same text the live widgets show when you hover over a column.

Back to the [start page](00-start-here.ipynb).
""", """
# 용어집

이 실습에서 쓰는 모든 용어를 영어 이름, 한국어 이름, 한 줄 정의와 함께 모았습니다. 영어판과 한국어판의
각 장은 이 표(`kernel_helpers/glossary.py`) 하나에서 용어를 가져오므로, 같은 대상을 같은 이름으로
부릅니다. `top`의 열과 `/proc` 필드는 실습의 측정값 표(`kernel_helpers/metrics.py`)에서 오며, 실시간
위젯에서 열 이름 위에 마우스를 올렸을 때 나오는 설명과 같은 글입니다.

[시작 페이지](00-start-here.ipynb)로 돌아가기.
"""),
    code("""
from kernel_helpers import glossary

glossary.show()
"""),
    md("""
## Look a term up

`glossary.show("...")` keeps only the terms whose name or definition mentions a word, in either
language. For example, everything about page faults:
""", """
## 용어 찾아보기

`glossary.show("...")`는 이름이나 정의에 그 단어가 들어간 용어만 보여 줍니다. 영어로도 한국어로도
찾을 수 있습니다. 예를 들어 페이지 폴트에 관한 용어를 모두 찾아봅니다.
"""),
    code("""
glossary.show("fault")
"""),
    code("""
glossary.show("좀비")
"""),
    md("""
## One word for one thing

Some things have several names in everyday Korean (a machine is 기계, 컴퓨터 or 시스템; a signal is 신호
or 시그널), and "kernel" means two things in a course that runs Linux in Jupyter. The lab picks one word
for each and sticks to it in both languages; this table lists the words it uses and the ones it avoids.
A test (`tests/test_terminology.py`) checks every chapter, every message and the docs against it.
""", """
## 한 가지에는 한 이름만

같은 것을 여러 이름으로 부르는 일이 흔합니다. 게다가 주피터에서 리눅스를 다루는 실습이라 "커널"이 두 가지를
뜻할 수 있습니다. 이 실습은 하나마다 한 이름을 골라 두 언어
모두에서 그 이름만 씁니다. 아래 표는 쓰는 말과 쓰지 않는 말을 보여 줍니다. 테스트(`tests/test_terminology.py`)가
모든 장과 메시지, 문서를 이 표에 비추어 확인합니다.
"""),
    code("""
glossary.show_terminology()
"""),
    md("""
In your own code, `glossary.term("page_fault")` returns the term in the notebook's language.

The chapters: [2.1 Reading the system's state with `top`](2.1-reading-top.ipynb) ·
[2.2 VIRT, RES and SHR](2.2-virt-res-shr.ipynb) · [2.3 VIRT, RES and memory commit](2.3-memory-commit.ipynb) ·
[2.4 Process states and priority](2.4-process-states-priority.ipynb).
""", """
코드에서는 `glossary.term("page_fault")`가 노트북의 언어에 맞는 용어를 돌려줍니다.

각 장: [2.1 `top`으로 시스템 상태 살펴보기](2.1-reading-top.ipynb) ·
[2.2 VIRT, RES, SHR](2.2-virt-res-shr.ipynb) · [2.3 VIRT, RES와 메모리 커밋](2.3-memory-commit.ipynb) ·
[2.4 프로세스 상태와 우선순위](2.4-process-states-priority.ipynb).
"""),
]

write_pair("glossary", cells)
