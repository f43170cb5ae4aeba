"""One word for one thing: the terminology table in the glossary holds in every text a reader sees.

Korean: every Korean markdown cell, every Korean string in the package, and the Korean docs.
English: every English markdown cell, the package's strings (docstrings aside) and the English docs.
A word on the table's "never" list fails the test with the word to use instead.
"""

import ast
import json
import re
from pathlib import Path

import pytest

from kernel_helpers import glossary

ROOT = Path(__file__).resolve().parent.parent
HANGUL = re.compile(r"[가-힣]")


def _markdown(lang: str) -> list[tuple[str, str]]:
    out = []
    for nb in sorted((ROOT / "notebooks" / lang).glob("*.ipynb")):
        for i, cell in enumerate(json.loads(nb.read_text())["cells"]):
            if cell["cell_type"] == "markdown":
                out.append((f"{nb.relative_to(ROOT)} cell {i}", "".join(cell["source"])))
    return out


def _docstring_ids(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _usage_ids(tree: ast.AST) -> set[int]:
    """The strings inside glossary.Usage(...) entries: the table itself names the words to avoid."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Usage":
            ids |= {id(n) for n in ast.walk(node)}
    return ids


def _package_strings() -> list[tuple[str, str]]:
    out = []
    for path in sorted((ROOT / "kernel_helpers").rglob("*.py")):
        tree = ast.parse(path.read_text())
        skip = _docstring_ids(tree) | _usage_ids(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                skip |= {id(v) for v in node.values}
                text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                text = node.value
            else:
                continue
            out.append((f"{path.relative_to(ROOT)}:{node.lineno}", text))
    return out


def _docs(lang: str) -> list[tuple[str, str]]:
    names = ["README.ko.md", "docs/workshop.ko.md"] if lang == "ko" else ["README.md", "docs/workshop.md",
                                                                         "CONTRIBUTING.md"]
    return [(n, (ROOT / n).read_text()) for n in names if (ROOT / n).exists()]


def _texts(lang: str) -> list[tuple[str, str]]:
    strings = _package_strings()
    if lang == "ko":
        strings = [(w, s) for w, s in strings if HANGUL.search(s)]
    else:
        strings = [(w, s) for w, s in strings if not HANGUL.search(s)]
    return _markdown(lang) + strings + _docs(lang)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_every_text_uses_the_glossarys_words(lang):
    texts = _texts(lang)
    assert len(texts) > 200, "the scan found too few texts: the paths are wrong"
    problems = [f"{where}: {bad!r} -> use {good!r}"
                for where, text in texts for bad, good in glossary.drift(text, lang)]
    assert not problems, "terminology drift (see glossary.USAGE):\n" + "\n".join(problems)


def test_drift_finds_each_avoided_word():
    for usage in glossary.USAGE:
        for bad in usage.avoid_ko:
            assert (bad, usage.ko) in glossary.drift(f"앞 {bad} 뒤", "ko")
    assert glossary.drift("restart the kernel", "en") == [("restart the kernel", "Jupyter kernel")]
    assert glossary.drift("restart the Jupyter kernel", "en") == []
    assert glossary.drift("시스템의 시그널", "ko") == []


def test_the_glossary_shows_the_terminology_in_both_languages():
    ko, en = glossary.terminology("ko"), glossary.terminology("en")
    assert len(ko) == len(en) == len(glossary.USAGE)
    assert "시그널" in set(ko["한국어"]) and "신호" in " ".join(ko["쓰지 않는 말"])
