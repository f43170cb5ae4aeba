"""The one text scheme: language choice, Korean particles after numbers and identifiers, localized errors."""

import warnings

import pytest

from kernel_helpers import i18n
from kernel_helpers.i18n import Texts, error, josa, say, yes_no


@pytest.mark.parametrize("word, particle, expected", [
    (0, "(으)로", "0으로"),          # 영: a final consonant
    (1, "(으)로", "1로"),            # 일: a final ㄹ takes 로
    (2, "(으)로", "2로"),
    (3, "을(를)", "3을"),
    (10, "이(가)", "10이"),          # 십
    (100, "은(는)", "100은"),        # 백
    (1.5, "을/를", "1.5를"),
    ("1028 KiB", "이(가)", "1028 KiB가"),   # 킬로바이트
    ("50 %", "(이)라", "50 %라"),
    ("2 s", "(으)로", "2 s로"),
    ("malloc", "을(를)", "malloc을"),        # 말록
    ("memset", "은(는)", "memset은"),        # 멤셋
    ("top", "과(와)", "top과"),
    ("vm.overcommit_memory", "을(를)", "vm.overcommit_memory를"),  # 메모리
    ("MemAvailable", "(으)로", "MemAvailable로"),                  # 어베일러블
    ("SIGKILL", "(으)로", "SIGKILL로"),
    ("SIGTERM", "을(를)", "SIGTERM을"),
    ("RES", "이(가)", "RES가"),
    ("SHR", "과(와)", "SHR과"),
    ("`sysctl`", "(으)로", "`sysctl`로"),
    ("OOM 킬러", "가", "OOM 킬러가"),
    ("값", "(이)라", "값이라"),
    ("테스트", "을", "테스트를"),
    ("커널", "(으)로", "커널로"),
])
def test_josa_fits_how_the_word_is_read(word, particle, expected):
    assert josa(word, particle) == expected


def test_josa_rejects_an_unknown_particle():
    with pytest.raises(ValueError, match="unknown particle"):
        josa("x", "에게")


def test_say_fits_each_particle_to_the_value_before_it():
    text = ("mode {mode}", "모드 {mode}(으)로 바꾸면 {size}을(를) 약속하고, {name}이(가) {n}(이)라고 답합니다")
    assert say(text, "ko", mode=0, size="1 GiB", name="malloc", n=7) == \
        "모드 0으로 바꾸면 1 GiB를 약속하고, malloc이 7이라고 답합니다"
    assert say(text, "ko", mode=1, size="3", name="값", n=2) == \
        "모드 1로 바꾸면 3을 약속하고, 값이 2라고 답합니다"
    assert say(text, "en", mode=2) == "mode 2"


def test_say_keeps_format_specs_and_conversions():
    assert say(("{x:>4}", "{x:>4}을(를) {y!r}(으)로"), "ko", x=10, y="on") == "  10을 'on'으로"


def test_say_leaves_text_without_a_placeholder_alone():
    assert say(("a", "값을(를) 그대로"), "ko") == "값을(를) 그대로"


def test_texts_table_says_one_key():
    table = Texts({"k": ("{n} pages", "{n}페이지")})
    assert table("k", "en", n=3) == "3 pages"
    assert table("k", "ko", n=3) == "3페이지"
    with pytest.raises(KeyError):
        table("missing", "en")


def test_error_and_warning_speak_the_notebooks_language(monkeypatch):
    monkeypatch.setenv("TOPLAB_LANG", "ko")
    err = error(ValueError, "size must be positive, not {n}", "크기는 양수여야 합니다 ({n}은(는) 안 됩니다)", n=-1)
    assert isinstance(err, ValueError) and str(err) == "크기는 양수여야 합니다 (-1은 안 됩니다)"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        i18n.warn("slow", "느립니다")
    assert [str(w.message) for w in caught] == ["느립니다"]
    monkeypatch.setenv("TOPLAB_LANG", "en")
    assert str(error(ValueError, "size {n}", "크기 {n}", n=1)) == "size 1"


def test_yes_no_never_prints_true_or_false():
    assert (yes_no(True, "en"), yes_no(False, "en"), yes_no(True, "ko"), yes_no(False, "ko")) == \
        ("yes", "no", "예", "아니요")


def test_an_unknown_language_is_refused_in_words():
    with pytest.raises(ValueError, match="'en' or 'ko'"):
        i18n.pick("a", "b", "fr")


@pytest.mark.parametrize("word, particle, expected", [
    ("t", "(으)로", "t로"),              # the state letter, read 티
    ("Z", "이(가)", "Z가"),
    ("malloc()", "을(를)", "malloc()을"),  # read as malloc
    ("top(1)", "은(는)", "top(1)은"),
    ("٣", "을(를)", "٣을"),              # another script's 3 (삼) does not crash
    ("None", "을(를)", "None을"),         # 논
])
def test_josa_reads_letters_calls_and_other_digits(word, particle, expected):
    assert josa(word, particle) == expected


def test_an_empty_value_leaves_no_both_forms_behind():
    assert say(("x", "{a}을(를) 봅니다"), "ko", a="") == "를 봅니다"


def _fields(template: str) -> set[str]:
    import string

    return {f.split(".")[0].split("[")[0] for _, f, _, _ in string.Formatter().parse(template) if f}


def _pairs():
    """(where, en, ko, names passed) for every (en, ko) template the package formats: Texts tables,
    and say / error / warn calls with literal templates."""
    import ast
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "kernel_helpers"
    hangul = re.compile("[가-힣]")
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func).split(".")[-1]
                strs = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                kws = {k.arg for k in node.keywords if k.arg}
                if name in ("say", "error", "warn") and len(strs) >= 2 and hangul.search(strs[1]):
                    yield f"{path.name}:{node.lineno}", strs[0], strs[1], kws
                if name == "say" and node.args and isinstance(node.args[0], ast.Tuple):
                    elts = node.args[0].elts
                    if len(elts) == 2 and all(isinstance(e, ast.Constant) for e in elts):
                        yield f"{path.name}:{node.lineno}", elts[0].value, elts[1].value, kws
                if name == "Texts" and node.args and isinstance(node.args[0], ast.Dict):
                    for k, v in zip(node.args[0].keys, node.args[0].values, strict=True):
                        if isinstance(v, ast.Tuple) and len(v.elts) == 2:
                            try:
                                en, ko = (ast.literal_eval(e) for e in v.elts)
                            except ValueError:
                                continue
                            yield f"{path.name}:{getattr(k, 'value', '?')}", en, ko, None


def test_english_and_korean_templates_take_the_same_values():
    """A value the Korean uses but the English doesn't only fails at run time, in one language: in a Texts
    table the Korean takes no value the English doesn't, and a say/error/warn call passes every value."""
    pairs = list(_pairs())
    assert len(pairs) > 100, "the scan found too few templates"
    problems = []
    for where, en, ko, passed in pairs:
        a, b = _fields(en), _fields(ko)
        if passed is not None:
            missing = (a | b) - passed
            if missing:
                problems.append(f"{where}: not passed {sorted(missing)}")
        elif b - a:  # English may take more (a plural 's'); Korean may not take what English callers never pass
            problems.append(f"{where}: only the Korean uses {sorted(b - a)}")
    assert not problems, "\n".join(problems)
