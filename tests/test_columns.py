"""columns: the one table of column metadata, and the three places that read it (tooltips, glossary, lessons)."""

from __future__ import annotations

import pytest

from kernel_helpers import columns, glossary, metrics, top
from kernel_helpers.widgets._common import column_help


def test_every_top_column_has_one_entry():
    for col in top.COLUMNS:
        m = columns.BY_COLUMN[col]
        assert m.en and m.ko and m.unit and m.source and m.term_en and m.term_ko, col
    assert len(columns.BY_COLUMN) == len(columns.METRICS)  # no two metrics share a column
    assert metrics.METRICS is columns.METRICS  # the readers' module re-exports the same table


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_tooltips_glossary_and_the_lessons_column_table_say_the_same(lang):
    from kernel_helpers.lessons import ch2_1

    for col in top.COLUMNS:
        m = columns.lookup(col)
        definition = glossary.TERMS[m.name].definition(lang)
        assert column_help(col, lang) == f"{col}: {definition} ({m.where(lang)})"
    snap = ch2_1.snapshot(0.05)
    pid = int(snap.table["PID"].iloc[0])
    table = ch2_1.columns(pid, lang=lang, snap=snap)
    meaning, source = table.columns[2], table.columns[3]
    for _, row in table.iterrows():
        m = columns.BY_COLUMN[row.iloc[0]]
        assert (row[meaning], row[source]) == (glossary.TERMS[m.name].definition(lang), m.where(lang))


def test_lookup_takes_a_name_or_a_column_and_help_falls_back_to_the_key():
    assert columns.lookup("nMin") is columns.lookup("minflt") is columns.METRICS["minflt"]
    with pytest.raises(KeyError, match="unknown metric or column"):
        columns.lookup("bogus")
    assert columns.help_text("role") == "role"
    with pytest.raises(ValueError, match="lang must be"):
        columns.help_text("RES", "fr")


def test_the_source_of_a_column_reads_in_korean_too():
    assert columns.METRICS["pr"].where("ko") == "/proc/PID/stat 18번 필드"
    assert columns.METRICS["cpu_percent"].where("ko") == "stat 14+15번 필드의 변화량"
    assert columns.METRICS["pr"].where("en") == columns.METRICS["pr"].source
