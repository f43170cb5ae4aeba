"""Korean markdown must not leave ``**`` unclosed before a Hangul syllable.

CommonMark closes ``**`` only when it is right-flanking: a closing ``**`` right after punctuation (a
backtick, ``)``, ``+`` ...) and directly followed by a letter is not, so ``**`%Cpu(s)`**입니다`` shows
the asterisks literally. Write ``**`%Cpu(s)`** 줄입니다`` or move the particle inside the bold.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "notebooks" / "ko").glob("*.ipynb")) + [ROOT / "README.ko.md"] + sorted(
    (ROOT / "docs").glob("*.ko.md"))


def unclosed_bold(text: str) -> list[str]:
    """Each closing ``**`` that follows punctuation and is followed by a Hangul syllable, with context."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # fenced code
    found = []
    for para in re.split(r"\n\s*\n", text):
        para = re.sub(r"`[^`\n]*`", lambda m: "`" + "x" * (len(m.group()) - 2) + "`", para)  # code spans
        marks = [m.start() for m in re.finditer(r"\*\*", para)]
        for closing in marks[1::2]:
            before = para[closing - 1]
            after = para[closing + 2] if closing + 2 < len(para) else " "
            if unicodedata.category(before)[0] in "PS" and "\uac00" <= after <= "\ud7a3":
                found.append(para[max(0, closing - 30):closing + 6].replace("\n", " "))
    return found


def _markdown(path: Path) -> list[str]:
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    return [path.read_text(encoding="utf-8")]


def test_the_check_finds_the_known_cases():
    assert unclosed_bold("바로 **`%Cpu(s)`**입니다.")
    assert unclosed_bold("**TIME+**는 시간입니다.")
    assert not unclosed_bold("바로 **`%Cpu(s)`** 줄입니다.")
    assert not unclosed_bold("**TIME+** 열은 시간입니다.")
    assert not unclosed_bold("**RES로 정렬**합니다(`top -o RES`).")
    assert not unclosed_bold("(**굵게**) 괄호 안.")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_korean_bold_closes_before_hangul(path):
    bad = [hit for text in _markdown(path) for hit in unclosed_bold(text)]
    assert not bad, f"{path.name}: ** after punctuation, then Hangul (CommonMark won't close it): {bad}"
