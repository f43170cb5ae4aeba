"""Predict, then observe: a question before an experiment, checked against the measurement after.

Questions live in the package (each chapter's lesson module registers its own), so the English and
Korean notebooks call the same code: ``q = quiz.ask("2.3-malloc-res")`` before the experiment,
``q.check(measured_value)`` after.  The judge decides the right option *from the measurement*, so
the answer comes from the reader's machine, not from the book.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import validate
from .i18n import error, pick


@dataclass
class Question:
    """One prediction question: options in both languages; ``judge(measured)`` -> index of the right one."""

    id: str
    prompt: tuple[str, str]  # (en, ko)
    options: list[tuple[str, str]]
    judge: Callable[[object], int]
    explain: Callable[[object], tuple[str, str]]  # measurement -> (en, ko) explanation
    choice: int | None = None
    _widget: object = field(default=None, repr=False)

    def text(self, lang: str | None = None) -> str:
        return pick(*self.prompt, lang=lang)

    def option_texts(self, lang: str | None = None) -> list[str]:
        return [pick(en, ko, lang=lang) for en, ko in self.options]

    def answer(self, index: int) -> None:
        """Record the reader's prediction (the widget calls this; tests may too)."""
        last = len(self.options) - 1
        self.choice = validate.whole("answer", index, 0, last, hint=(f"give an option number 0..{last}",
                                                                     f"0~{last} 중 선택지 번호를 주세요."))

    def verdict(self, measured: object, lang: str | None = None) -> str:
        """A plain-text verdict: what the reader predicted, what the machine did, and why."""
        right = self.judge(measured)
        if not 0 <= right < len(self.options):
            raise ValueError(f"judge for {self.id} returned {right}, not an option number")  # internal
        why = pick(*self.explain(measured), lang=lang)
        measured_line = pick("Measured: ", "측정 결과: ", lang) + self.option_texts(lang)[right]
        if self.choice is None:
            head = pick("You did not pick an answer. ", "예상을 고르지 않았습니다. ", lang)
        elif self.choice == right:
            head = pick("Your prediction was right. ", "예상이 맞았습니다. ", lang)
        else:
            head = pick(f"You predicted: {self.option_texts(lang)[self.choice]}. ",
                        f"예상한 답: {self.option_texts(lang)[self.choice]}. ", lang)
        return f"{head}{measured_line}.\n{why}"

    def check(self, measured: object) -> None:
        """Print the verdict under the experiment (``verdict()`` returns the same text)."""
        print(self.verdict(measured))

    def show(self):
        """The question as radio buttons; picking one records the prediction."""
        import ipywidgets as w

        radio = w.RadioButtons(options=[(t, i) for i, t in enumerate(self.option_texts())], value=None,
                               layout=w.Layout(width="max-content"))
        note = w.HTML(pick("<i>Pick your prediction, then run the experiment below.</i>",
                           "<i>예상을 고른 다음 아래 실험을 실행하세요.</i>"))

        def on_pick(change):
            if change["new"] is not None:
                self.answer(change["new"])
                note.value = pick("<i>Noted. Now run the experiment.</i>", "<i>기록했습니다. 이제 실험을 실행하세요.</i>")

        radio.observe(on_pick, names="value")
        self._widget = w.VBox([w.HTML(f"<b>{pick('Predict', '예상해 보기')}:</b> {self.text()}"), radio, note])
        return self._widget


_QUESTIONS: dict[str, Question] = {}


def register(q: Question) -> Question:
    if q.id in _QUESTIONS:
        raise ValueError(f"a question with id {q.id!r} is already registered")  # internal
    _QUESTIONS[q.id] = q
    return q


def get(qid: str) -> Question:
    _load_lessons()
    if qid not in _QUESTIONS:
        raise error(KeyError, "no question {qid!r}; use one of: {known}",
                    "{qid!r}(이)라는 문제는 없습니다. 다음 중 하나를 쓰세요: {known}",
                    qid=qid, known=", ".join(sorted(_QUESTIONS)) or pick("none", "없음"))
    return _QUESTIONS[qid]


def ask(qid: str) -> Question:
    """Show question ``qid`` in the notebook (a fresh answer each time the cell runs) and return it."""
    from IPython.display import display

    q = get(qid)
    q.choice = None
    display(q.show())
    return q


def _load_lessons() -> None:
    """Import every lesson module once, so their questions are registered."""
    import importlib
    import pkgutil

    from . import lessons

    for mod in pkgutil.iter_modules(lessons.__path__):
        importlib.import_module(f"{lessons.__name__}.{mod.name}")
