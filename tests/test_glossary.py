"""glossary: one English and one Korean name per term, built on METRICS, used by the Korean prose."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from kernel_helpers import glossary
from kernel_helpers.metrics import METRICS

HANGUL = re.compile("[\uac00-\ud7a3]")
NB_ROOT = Path(__file__).resolve().parent.parent / "notebooks"
PAIRS = sorted(p.name for p in (NB_ROOT / "en").glob("*.ipynb") if (NB_ROOT / "ko" / p.name).exists())


def test_every_metric_has_a_glossary_entry_with_its_column_and_definitions():
    for name, m in METRICS.items():
        t = glossary.TERMS[name]
        assert t.metric == name
        assert m.column in t.en and m.column in t.ko, (m.column, t.en, t.ko)
        assert (t.en_def, t.ko_def) == (m.en, m.ko)


def test_every_term_is_named_and_defined_in_both_languages():
    for t in glossary.TERMS.values():
        assert t.en.strip() and t.ko.strip() and t.en_def.strip() and t.ko_def.strip(), t.key
        assert HANGUL.search(t.ko) and HANGUL.search(t.ko_def), f"{t.key}: Korean name or definition is not Korean"
        assert not HANGUL.search(t.en) and not HANGUL.search(t.en_def), f"{t.key}: Hangul in the English text"


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_no_two_terms_share_a_name(lang):
    names = [t.name(lang) for t in glossary.TERMS.values()]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_the_general_terms_every_chapter_relies_on_have_their_agreed_korean_names():
    agreed = {
        "virtual_memory": "가상 메모리", "resident_memory": "상주 메모리", "page_fault": "페이지 폴트",
        "memory_commit": "메모리 커밋", "overcommit": "오버커밋", "copy_on_write": "쓰기 시 복사(copy-on-write)",
        "page_cache": "페이지 캐시", "demand_paging": "요구 페이징", "load_average": "부하 평균",
        "page": "페이지", "zombie": "좀비 (Z)", "nice": "nice 값",
    }
    for key, ko in agreed.items():
        assert glossary.term(key, "ko") == ko


def test_term_follows_the_notebook_language(monkeypatch):
    monkeypatch.setenv("TOPLAB_LANG", "ko")
    assert glossary.term("page_fault") == "페이지 폴트"
    monkeypatch.setenv("TOPLAB_LANG", "en")
    assert glossary.term("page_fault") == "page fault"
    with pytest.raises(KeyError, match="no glossary term"):
        glossary.term("pagefault")


def test_the_table_puts_the_notebook_language_first():
    en, ko = glossary.table("en"), glossary.table("ko")
    assert list(en.columns) == ["Term", "한국어", "Definition"] and list(ko.columns) == ["용어", "English", "뜻"]
    assert len(en) == len(ko) == len(glossary.TERMS)
    row = ko[ko["English"] == "copy-on-write"].iloc[0]
    assert row["용어"] == "쓰기 시 복사(copy-on-write)" and HANGUL.search(row["뜻"])


def test_search_finds_terms_in_either_language():
    assert {t.key for t in glossary.find("좀비")} >= {"zombie", "state"}
    assert {t.key for t in glossary.find("PAGE FAULT")} >= {"page_fault", "minor_page_fault", "major_page_fault"}
    assert glossary.table("en", search="no such thing at all").empty


def test_show_prints_a_table_outside_jupyter(capsys):
    glossary.show("zombie", lang="ko")
    out = capsys.readouterr().out
    assert "좀비 (Z)" in out and "zombie (Z)" in out
    glossary.show("no such thing at all", lang="en")
    assert "No glossary term mentions" in capsys.readouterr().out


def test_korean_spellings_accept_the_short_form_of_a_bracketed_name():
    assert glossary.korean_spellings("copy_on_write") == ("쓰기 시 복사(copy-on-write)", "쓰기 시 복사")
    assert glossary.korean_spellings("page_fault") == ("페이지 폴트",)


def _prose(path: Path) -> str:
    """A notebook's markdown, without code blocks and inline code (identifiers stay English there)."""
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    return re.sub(r"`[^`\n]*`", " ", text)


@pytest.mark.parametrize("name", PAIRS)
def test_korean_prose_uses_the_korean_term_wherever_the_english_prose_uses_the_english_one(name):
    en, ko = _prose(NB_ROOT / "en" / name), _prose(NB_ROOT / "ko" / name)
    missing = []
    for key in glossary.CORE:
        english = glossary.TERMS[key].en
        # the term as a word, not inside an identifier such as vm.overcommit_memory
        if re.search(rf"(?<![\w.]){re.escape(english)}(?!\w)", en, flags=re.I):
            if not any(form in ko for form in glossary.korean_spellings(key)):
                missing.append(f"{english} -> {glossary.TERMS[key].ko}")
    assert not missing, f"ko/{name} never uses the glossary's Korean term for: {', '.join(missing)}"
