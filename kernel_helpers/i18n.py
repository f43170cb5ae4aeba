"""Which language the reader's notebook is in, so identical code cells can speak English or Korean.

Jupyter starts each kernel in its notebook's folder, so a notebook under ``notebooks/ko/`` gets
Korean messages; ``TOPLAB_LANG=en|ko`` overrides that.
"""

from __future__ import annotations

import os
from pathlib import Path

LANGS = ("en", "ko")


def current_lang() -> str:
    env = os.environ.get("TOPLAB_LANG", "").strip().lower()
    if env in LANGS:
        return env
    try:
        return "ko" if Path.cwd().name == "ko" else "en"
    except OSError:  # the working folder was deleted
        return "en"


def pick(en: str, ko: str, lang: str | None = None) -> str:
    """The English or Korean text, for ``lang`` or the notebook's language."""
    lang = lang or current_lang()
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, not {lang!r}")
    return ko if lang == "ko" else en
