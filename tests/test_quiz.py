"""quiz: the right answer comes from the measurement, in the notebook's language."""

from __future__ import annotations

import pytest

from kernel_helpers import quiz


def _q():
    return quiz.Question(
        id="test-res", prompt=("What does RES do?", "RES는 어떻게 될까?"),
        options=[("It grows", "늘어난다"), ("It stays flat", "그대로다")],
        judge=lambda res_growth: 0 if res_growth > 1 << 20 else 1,
        explain=lambda g: (f"RES grew by {g} bytes.", f"RES가 {g}바이트 늘었다."),
    )


def test_the_measurement_decides_the_right_answer():
    q = _q()
    q.answer(1)
    assert q.verdict(4096, lang="en").startswith("Your prediction was right. Measured: It stays flat.")
    assert "You predicted: It stays flat" in q.verdict(50 << 20, lang="en")


def test_no_answer_still_explains_in_korean(monkeypatch):
    monkeypatch.setenv("TOPLAB_LANG", "ko")
    q = _q()
    text = q.verdict(50 << 20)
    assert text.startswith("예상을 고르지 않았습니다. 측정 결과: 늘어난다.") and "52428800바이트" in text


@pytest.mark.parametrize("bad", [-1, 2, True, "0"])
def test_bad_answers_are_refused(bad):
    with pytest.raises((ValueError, TypeError), match="option number"):
        _q().answer(bad)


def test_the_widget_records_the_pick():
    q = _q()
    box = q.show()
    radio = box.children[1]
    radio.value = 0
    assert q.choice == 0


def test_unknown_and_duplicate_ids_are_clear_errors():
    with pytest.raises(KeyError, match="no question"):
        quiz.get("no-such-question")
    q = quiz.register(_q())
    try:
        with pytest.raises(ValueError, match="already registered"):
            quiz.register(_q())
    finally:
        quiz._QUESTIONS.pop(q.id)
