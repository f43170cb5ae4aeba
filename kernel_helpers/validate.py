"""Argument checks for the whole package: one for whole numbers, one for the overcommit mode.

Every error names the argument, shows what was given and says what to pass instead, so a reader
who typed ``step_mib=1.5`` in a notebook cell knows what to change.  ``True`` is not 1 here: a
bool given for a number is nearly always a slip (a flag passed to the wrong argument).
"""

from __future__ import annotations

import math
import operator

from .i18n import check_lang, error, josa, pick

__all__ = ["whole", "mode", "OVERCOMMIT_MODES"]

#: vm.overcommit_memory: 0 heuristic, 1 always, 2 never (strict accounting), see overcommit.MODE_NAMES.
OVERCOMMIT_MODES = (0, 1, 2)

#: What ``whole`` asks for when the caller does not say.
WHOLE = ("a whole number", "정수")

Text = str | tuple[str, str]


def _text(text: Text, lang: str) -> str:
    """An (English, Korean) pair in ``lang``; a plain str as it is."""
    return pick(*text, lang) if isinstance(text, tuple) else text


def whole(name: Text, value: object, lo: int | None = None, hi: int | None = None, *,
          what: Text = WHOLE, hint: Text = "", lang: str | None = None) -> int:
    """``value`` as an int, if it is a whole number from ``lo`` to ``hi`` (a None bound is open).

    Python and numpy integers pass; bools, floats, strings and None raise TypeError, a number
    out of range ValueError.  ``what`` says what is expected, ``hint`` ends either message with what
    to do about it; both are (English, Korean) pairs, e.g. ``("a whole number of bytes, e.g. 2 * GiB",
    "바이트 단위 정수(예: 2 * GiB)")``, and the message is in ``lang`` or the notebook's language.
    """
    if isinstance(value, bool):
        raise _whole_error(name, value, what, hint, lang, "bool")
    try:
        n = operator.index(value)  # int and numpy integers; never float, str or NaN
    except TypeError:
        raise _whole_error(name, value, what, hint, lang, "type") from None
    if (lo is not None and n < lo) or (hi is not None and n > hi):
        raise _whole_error(name, n, what, hint, lang, "range", lo, hi)
    return int(n)


def _whole_error(name: Text, value: object, what: Text, hint: Text, lang: str | None, why: str,
                 lo: int | None = None, hi: int | None = None) -> Exception:
    """whole()'s error, worked out only when there is one (whole() runs on hot paths)."""
    lang = check_lang(lang)
    name, what_s, hint_s = _text(name, lang), _text(what, lang), _text(hint, lang)
    tail = pick(f"; {hint_s}", f" {hint_s}", lang) if hint_s else ""
    if why == "bool":
        return error(TypeError, "{name} must be {what}, not the bool {value!r}{tail}",
                     "{name}에는 {what}을(를) 주세요(참/거짓 값 {code}은(는) 쓸 수 없습니다).{tail}",
                     lang, name=name, what=what_s, value=value, code=f"`{value!r}`", tail=tail)
    if why == "type":
        fix = ""
        if isinstance(value, float) and math.isfinite(value):
            fix = pick(f" (write int({value!r}) if a whole number is meant)",
                       f" 정수를 뜻했다면 {josa(f'int({value!r})', '(으)로')} 쓰세요.", lang)
        return error(TypeError, "{name} must be {what}, not {type} {value!r}{fix}{tail}",
                     "{name}에는 {what}을(를) 주세요({type} {value!r}은(는) 쓸 수 없습니다).{fix}{tail}",
                     lang, name=name, what=what_s, type=type(value).__name__, value=value, fix=fix, tail=tail)
    return error(ValueError, "{name} must be {range}, got {n}{tail}",
                 "{name}은(는) {range}의 값이어야 합니다({n}은(는) 쓸 수 없습니다).{tail}",
                 lang, name=name, range=_range(lo, hi, lang), n=value, tail=tail)


def _range(lo: int | None, hi: int | None, lang: str = "en") -> str:
    if lo is not None and hi is not None:
        return pick(f"between {lo} and {hi}", f"{lo}에서 {hi} 사이", lang)
    return pick(f"{lo} or more", f"{lo} 이상", lang) if lo is not None else pick(f"{hi} or less", f"{hi} 이하", lang)


def mode(value: object, name: Text = ("overcommit mode", "오버커밋 모드"), lang: str | None = None) -> int:
    """A vm.overcommit_memory mode: 0, 1 or 2 (TypeError for a str or bool, ValueError for 3)."""
    lang = check_lang(lang)
    name_s = _text(name, lang)
    what = ("0, 1 or 2 (vm.overcommit_memory)", "0, 1, 2 중 하나(vm.overcommit_memory)")
    m = whole(name_s, value, what=what, lang=lang)
    if m not in OVERCOMMIT_MODES:
        raise error(ValueError, "{name} must be {what}, got {m}",
                    "{name}은(는) 0, 1, 2 중 하나여야 합니다(vm.overcommit_memory). {m}은(는) 쓸 수 없습니다.",
                    lang, name=name_s, what=_text(what, lang), m=m)
    return m
