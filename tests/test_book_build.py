"""tools/book/build.py without building: the table of contents, the cross-language links, the page header."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from tools.book import build  # noqa: E402

PROV = {"kernel": "6.18.44-test", "distro": "Debian GNU/Linux 12", "machine": "x86_64", "cpus": 2,
        "mem_gib": 23.5, "root": False, "date": "2026-12-01 18:00 UTC"}


def test_the_table_of_contents_is_the_notebooks_present_in_reading_order():
    found = ["glossary", "2.10-later", "2.4-new-chapter", "00-start-here", "2.1-reading-top", "2.3-memory-commit"]
    assert build.page_order(found) == ["00-start-here", "2.1-reading-top", "2.3-memory-commit", "2.4-new-chapter",
                                       "2.10-later", "glossary"]


def test_the_book_takes_every_notebook_of_the_repository():
    stems = build.pages()
    assert stems == build.page_order(sorted(p.stem for p in (REPO / "notebooks" / "en").glob("*.ipynb")))
    assert stems[0] == "00-start-here" and stems[-1] == "glossary"


def test_links_to_the_other_language_point_at_the_other_books_page():
    md = "**English:** [Read this page in English](../en/00-start-here.ipynb) and [2.1](2.1-reading-top.ipynb)"
    out = build._cross_links(md)
    assert '<a href="../en/00-start-here.html">Read this page in English</a>' in out
    assert "[2.1](2.1-reading-top.ipynb)" in out  # same-language links stay for Jupyter Book to resolve


def test_each_page_header_has_the_switch_the_system_and_how_to_run_it():
    en = build.header_cell("2.3-memory-commit", "en", PROV, read_only_sysctl=True)
    assert 'href="../ko/2.3-memory-commit.html"' in en and "toplab-lang-switch" in en
    assert "6.18.44-test" in en and "2 CPUs" in en and "2026-12-01" in en and "make lab" in en
    assert "read-only" in en and "without root" in en
    ko = build.header_cell("2.3-memory-commit", "ko", PROV, read_only_sysctl=False)
    assert 'href="../en/2.3-memory-commit.html"' in ko and "English" in ko
    assert "6.18.44-test" in ko and "CPU 2개" in ko and "make lab" in ko and "읽기 전용" not in ko
