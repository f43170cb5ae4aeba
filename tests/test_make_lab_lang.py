"""`make lab` opens the start page in the reader's language: the locale decides, LANG=ko or en chooses.

Runs `make -n lab` (print the commands, run nothing) and reads the start page it would open.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
URL = re.compile(r"--LabApp\.default_url=/lab/tree/(\w+)/00-start-here\.ipynb")

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _start_page(args: list[str], env: dict[str, str]) -> tuple[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE")}
    r = subprocess.run(["make", "-n", "lab", *args], cwd=REPO, env={**base, **env},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    text = r.stdout.replace("\\\n", " ")  # the recipe's continued lines as one command
    line = next(ln for ln in text.splitlines() if "jupyter lab" in ln)
    m = URL.search(line)
    assert m, line
    return m.group(1), line


@pytest.mark.parametrize(("env", "args", "lang"), [
    ({"LANG": "ko_KR.UTF-8"}, [], "ko"),              # a Korean reader's locale
    ({"LANG": "ko_KR.eucKR"}, [], "ko"),
    ({"LANG": "en_US.UTF-8"}, [], "en"),
    ({"LANG": "C.UTF-8"}, [], "en"),
    ({}, [], "en"),                                    # no locale at all
    ({"LANG": "C.UTF-8", "LC_ALL": "ko_KR.UTF-8"}, [], "ko"),   # LC_ALL wins over LANG, as for any program
    ({"LANG": "ko_KR.UTF-8", "LC_MESSAGES": "en_GB.UTF-8"}, [], "en"),
    ({"LANG": "en_US.UTF-8"}, ["LANG=ko"], "ko"),      # chosen on the command line
    ({"LANG": "ko_KR.UTF-8"}, ["LANG=en"], "en"),
    ({"LC_ALL": "ko_KR.UTF-8"}, ["LANG=en"], "en"),   # the explicit choice beats the environment
    ({}, ["LANG=ko_KR.UTF-8"], "ko"),
    ({}, ["LANG=de_DE.UTF-8"], "en"),                 # no German start page: English
])
def test_make_lab_opens_the_start_page_in_the_locales_language(env, args, lang):
    assert _start_page(args, env)[0] == lang


def test_lang_ko_or_en_is_not_passed_on_as_a_locale():
    """`make lab LANG=ko` picks the page; the lab runs in C.UTF-8, not in a locale named 'ko'."""
    _, line = _start_page(["LANG=ko"], {})
    assert line.lstrip().startswith("LANG=C.UTF-8 ")
    _, line = _start_page([], {"LANG": "ko_KR.UTF-8"})
    assert not line.lstrip().startswith("LANG=")  # a real locale reaches the lab unchanged


def test_both_start_pages_exist():
    for lang in ("en", "ko"):
        assert (REPO / "notebooks" / lang / "00-start-here.ipynb").is_file()
