"""The one way toplab prints text: English or Korean, with Korean particles that fit the words.

Which language: Jupyter starts each kernel in its notebook's folder, so a notebook under
``notebooks/ko/`` gets Korean; ``TOPLAB_LANG=en|ko`` overrides that (see ``current_lang``).

Every user-visible string, errors and warnings included, is an (English, Korean) pair:

- ``pick(en, ko)`` for a fixed string;
- ``say((en, ko), lang, **values)`` for a template; ``Texts({key: (en, ko)})`` for a module's table,
  called as ``TEXT("key", lang, **values)``;
- ``error(ValueError, en, ko, **values)`` builds an exception whose message is in the reader's
  language; ``warn(en, ko, **values)`` does the same for a warning;
- ``yes_no(flag)`` instead of printing True/False.

Korean particles depend on the sound the word before them ends with (0으로 but 2로, 값을 but 수를),
and a template cannot know which number or identifier it will hold. So a Korean template writes
both forms after a placeholder, ``{mode}(으)로``, ``{size}을(를)``, ``{name}이(가)``,
``{x}은(는)``, ``{a}과(와)``, ``{n}(이)라``, and ``say`` keeps the one that fits the value it
put there. ``josa(word, "을/를")`` does the same for a single word.
"""

from __future__ import annotations

import os
import re
import string
import unicodedata
import warnings
from pathlib import Path

LANGS = ("en", "ko")

__all__ = [
    "LANGS", "current_lang", "check_lang", "pick", "say", "Texts", "josa", "error", "warn", "yes_no",
    "quote", "QUOTE_MARK",
]


def current_lang() -> str:
    env = os.environ.get("TOPLAB_LANG", "").strip().lower()
    if env in LANGS:
        return env
    try:
        return "ko" if Path.cwd().name == "ko" else "en"
    except OSError:  # the working folder was deleted
        return "en"


def check_lang(lang: str | None) -> str:
    """'en' or 'ko'; None means the notebook's language (``current_lang``)."""
    if lang is None:
        return current_lang()
    if lang not in LANGS:
        raise error(ValueError, "lang must be 'en' or 'ko', not {lang!r}",
                    "lang은 'en'이나 'ko'여야 합니다 ({lang!r}은(는) 쓸 수 없습니다)", lang=lang)
    return lang


def pick(en: str, ko: str, lang: str | None = None) -> str:
    """The English or Korean text, for ``lang`` or the notebook's language."""
    return ko if check_lang(lang) == "ko" else en


# --- Korean particles ---------------------------------------------------------------------------

# How the word before a particle ends: 0 no final consonant, 1 a final consonant, 2 a final ㄹ
# (which takes 로, not 으로).
_OPEN, _CLOSED, _RIEUL = 0, 1, 2
_DIGIT_END = {"0": _CLOSED, "1": _RIEUL, "2": _OPEN, "3": _CLOSED, "4": _OPEN, "5": _OPEN,
              "6": _CLOSED, "7": _RIEUL, "8": _RIEUL, "9": _OPEN}  # 영 일 이 삼 사 오 육 칠 팔 구
# Letter names as Korean says them (에이, 비, 씨, ... 엘, 엠, 엔, 알 ...), for acronyms.
_LETTER_END = {c: _OPEN for c in "abcdefghijkopqstuvwxyz"} | {"l": _RIEUL, "m": _CLOSED, "n": _CLOSED,
                                                              "r": _RIEUL}
# Units read as Korean words: 바이트, 퍼센트, 초, 밀리초, 헤르츠, 배, 페이지.
_UNITS = {"b", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib", "pib", "bytes", "byte", "%",
          "s", "ms", "µs", "us", "ns", "hz", "x", "pages", "page"}
# Identifiers this course says aloud, as Korean readers say them.
_WORDS = {
    "malloc": _CLOSED, "calloc": _CLOSED, "memset": _CLOSED, "mmap": _CLOSED, "munmap": _CLOSED,
    "brk": _OPEN, "sbrk": _OPEN, "top": _CLOSED, "htop": _CLOSED, "free": _OPEN, "ps": _OPEN,
    "statm": _CLOSED, "stat": _CLOSED, "status": _OPEN, "meminfo": _OPEN, "smaps": _OPEN,
    "rollup": _CLOSED, "sysctl": _RIEUL, "strace": _OPEN, "cgroup": _CLOSED, "proc": _CLOSED,
    "sigkill": _RIEUL, "sigterm": _CLOSED, "sigstop": _CLOSED, "sigcont": _OPEN, "sigint": _OPEN,
    "kill": _RIEUL, "nice": _OPEN, "renice": _OPEN, "fork": _OPEN, "exec": _CLOSED,
    "jupyter": _OPEN, "python": _CLOSED, "linux": _OPEN, "debian": _CLOSED, "ubuntu": _OPEN,
    "binder": _OPEN, "jupyterhub": _CLOSED, "swap": _CLOSED, "ratio": _OPEN, "memory": _OPEN,
    "kernel": _RIEUL, "test": _OPEN, "bin": _CLOSED, "always": _OPEN, "madvise": _OPEN,
    "never": _OPEN, "on": _CLOSED, "off": _OPEN, "yes": _OPEN, "no": _OPEN, "true": _OPEN,
    "false": _OPEN, "none": _CLOSED,  # None: 논
}
_SOFT_END = {"a": _OPEN, "i": _OPEN, "o": _OPEN, "u": _OPEN, "y": _OPEN, "r": _OPEN, "w": _OPEN,
             "l": _RIEUL, "m": _CLOSED, "n": _CLOSED, "s": _OPEN, "x": _OPEN, "h": _OPEN, "f": _OPEN,
             "v": _OPEN, "z": _OPEN, "q": _OPEN, "j": _OPEN}


def _latin_word_end(word: str) -> int:
    low = word.lower()
    if low in _WORDS:
        return _WORDS[low]
    if low in _UNITS:
        return _OPEN
    if len(word) == 1 or (word.isupper() and len(word) <= 5):  # a letter (state t) or an acronym: RES, OOM
        return _LETTER_END[low[-1]]
    if low.endswith("ng"):
        return _CLOSED
    if low.endswith("le"):
        return _RIEUL
    if low.endswith(("me", "ne")):
        return _CLOSED
    last = low[-1]
    if last == "e":
        return _OPEN
    if last in _SOFT_END:
        return _SOFT_END[last]
    # a stop (b c d g k p t) right after a vowel closes the syllable (말록, 톱, 스탯); after another
    # consonant it becomes its own syllable (테스트, 리스트)
    before = low[-2] if len(low) > 1 else "a"
    return _CLOSED if before in "aeiou" else _OPEN


_STRIP = " \t\n)]}>'\"`’”»」』.,:;!?"


def _ending(word: str) -> int:
    """How ``word`` ends when read aloud in Korean: _OPEN, _CLOSED or _RIEUL."""
    w = re.sub(r"\(\w{0,2}\)$", "", str(word).rstrip(" \t\n`'\"")).rstrip(_STRIP)  # malloc(), top(1): malloc, top
    if not w:
        return _OPEN
    last = w[-1]
    if "가" <= last <= "힣":
        jong = (ord(last) - 0xAC00) % 28
        return _OPEN if jong == 0 else _RIEUL if jong == 8 else _CLOSED
    # a unit after a number: "1028 KiB", "50 %", "2 s", "3x"
    m = re.search(r"(\d)\s*([A-Za-zµ%]+)$", w)
    if m and m.group(2).lower() in _UNITS:
        return _OPEN
    if last.isdigit():  # any script's digit, read as the digit it stands for
        return _DIGIT_END.get(str(unicodedata.digit(last, 0)), _OPEN)
    m = re.search(r"([A-Za-z]+)$", w)
    if m:
        token = m.group(1)
        # camelCase or snake_case: the last word is the one said last (MemAvailable -> Available)
        parts = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+", token) or [token]
        return _latin_word_end(parts[-1])
    return _OPEN


# particle -> (after a final consonant, after none, after ㄹ)
_PARTICLES = {
    "을": ("을", "를", "을"), "를": ("을", "를", "을"),
    "이": ("이", "가", "이"), "가": ("이", "가", "이"),
    "은": ("은", "는", "은"), "는": ("은", "는", "은"),
    "과": ("과", "와", "과"), "와": ("과", "와", "과"),
    "으로": ("으로", "로", "로"), "로": ("으로", "로", "로"),
    "이나": ("이나", "나", "이나"), "나": ("이나", "나", "이나"),
    "이라": ("이라", "라", "이라"), "라": ("이라", "라", "이라"),
    "이다": ("이다", "다", "이다"),
    "이고": ("이고", "고", "이고"),
    "이며": ("이며", "며", "이며"),
    "이에요": ("이에요", "예요", "이에요"),
    "이면": ("이면", "면", "이면"),
    "이지만": ("이지만", "지만", "이지만"),
}
# Both forms written in a template after a placeholder: 을(를), 이(가), (으)로, (이)라 ...
_BOTH = re.compile(r"^(?:(을|를|이|가|은|는|과|와)\((?:을|를|이|가|은|는|과|와)\)"
                   r"|\((으|이)\)(로|나|라|다|고|며|에요|면|지만))")


def josa(word: object, particle: str) -> str:
    """``word`` followed by the form of ``particle`` that fits how it ends: josa(0, "로") == "0으로".

    ``particle`` may be either form or both ("을/를", "을(를)", "(으)로").
    """
    key = re.sub(r"[()/]", "", particle)
    if len(key) == 2 and key not in _PARTICLES:  # both forms written: 을를, 이가, 은는, 과와 ...
        key = key[0]
    if key not in _PARTICLES:
        raise ValueError(f"unknown particle {particle!r}; known: {', '.join(sorted(_PARTICLES))}")  # internal
    closed, open_, rieul = _PARTICLES[key]
    return f"{word}{ {_OPEN: open_, _CLOSED: closed, _RIEUL: rieul}[_ending(str(word))] }"


def _resolve(value: str, rest: str) -> tuple[str, str]:
    """The particle the literal ``rest`` starts with, fitted to ``value``; and what follows it."""
    m = _BOTH.match(rest)
    if not m:
        return "", rest
    particle = m.group(1) or (m.group(2) + m.group(3))  # 으로, 이라, 이나 ...
    return josa(value, particle)[len(value):], rest[m.end():]


_FORMATTER = string.Formatter()


def _format_ko(template: str, kw: dict[str, object]) -> str:
    out: list[str] = []
    carry = ""  # the value just written, whose particle the next literal may hold
    field_seen = False  # a placeholder came right before this literal
    for literal, field, spec, conv in _FORMATTER.parse(template):
        if literal and (carry or field_seen):
            particle, literal = _resolve(carry, literal)  # an empty value reads as ending in a vowel
            out.append(particle)
        out.append(literal)
        if literal:
            carry, field_seen = "", False
        if field is None:
            continue
        field_seen = True
        value, _ = _FORMATTER.get_field(field, (), kw)
        value = _FORMATTER.convert_field(value, conv)
        text = _FORMATTER.format_field(value, _FORMATTER.vformat(spec or "", (), kw))
        out.append(text)
        carry = text or carry  # "{mode}{ratio}(으)로" with no ratio fits the mode
    return "".join(out)


def say(text: tuple[str, str], lang: str | None = None, /, **values: object) -> str:
    """The template ``text`` = (en, ko) in ``lang`` with ``values`` filled in, particles fitted."""
    en, ko = text
    if check_lang(lang) == "ko":
        return _format_ko(ko, values)
    return en.format(**values)


class Texts(dict):
    """A module's table of texts, {key: (en, ko)}; ``TEXT("key", lang, **values)`` says one."""

    def __call__(self, key: str, lang: str | None = None, /, **values: object) -> str:
        return say(self[key], lang, **values)


def error(kind: type[BaseException], en: str, ko: str, lang: str | None = None, /,
          **values: object) -> BaseException:
    """An exception of type ``kind`` whose message is in the reader's language: ``raise error(...)``."""
    return kind(say((en, ko), lang, **values))


def warn(en: str, ko: str, lang: str | None = None, /, *, category: type[Warning] = UserWarning,
         stacklevel: int = 2, **values: object) -> None:
    """A warning in the reader's language."""
    warnings.warn(say((en, ko), lang, **values), category, stacklevel=stacklevel + 1)


def yes_no(flag: bool, lang: str | None = None) -> str:
    """'yes'/'no' or '예'/'아니요': never True/False in what a reader sees."""
    return pick("yes", "예", lang) if flag else pick("no", "아니요", lang)


#: What starts each line of text quoted verbatim from another source (a man page, a program's own
#: output): a reader sees a quote, and the Korean output test knows not to translate it.
QUOTE_MARK = "\u2502 "


def quote(text: str) -> str:
    """``text`` as a verbatim quote: every line starts with a bar."""
    return "\n".join(QUOTE_MARK + line for line in str(text).splitlines())
