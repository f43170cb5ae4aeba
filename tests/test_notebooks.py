"""Every notebook, in both languages, runs top to bottom; twins share code; git holds no outputs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # for tools/, shared with the benchmark (`python -m bench.run` runs from REPO)
from tools.langcheck import english_in  # noqa: E402
from tools.nbrun import notebook_errors as _errors  # noqa: E402 - test_unprivileged imports it from here

NB_ROOT = REPO / "notebooks"
NOTEBOOKS = sorted(p for p in NB_ROOT.glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)
EN = sorted(NB_ROOT.glob("en/*.ipynb"))
CELL_TIMEOUT = 180  # seconds: the slowest experiment in fast mode is far below this


def _ids(paths):
    return [str(p.relative_to(NB_ROOT)) for p in paths]


def _code_cells(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_there_are_notebooks_in_both_languages():
    assert EN, "no notebooks under notebooks/en"
    assert {p.name for p in EN} == {p.name for p in NB_ROOT.glob("ko/*.ipynb")}


@pytest.mark.parametrize("en", EN, ids=_ids(EN))
def test_english_and_korean_twins_have_identical_code(en):
    ko = NB_ROOT / "ko" / en.name
    assert _code_cells(en) == _code_cells(ko)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_in_git_has_no_outputs(path):
    tracked = subprocess.run(["git", "-C", str(REPO), "show", f"HEAD:{path.relative_to(REPO)}"],
                             capture_output=True, text=True)
    text = tracked.stdout if tracked.returncode == 0 else path.read_text()  # not committed yet: the file
    for cell in json.loads(text)["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, cell["source"][:80]


LINK = re.compile(r"\]\(([^)#\s]+\.ipynb)(#[^)]*)?\)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_links_between_notebooks_resolve(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for target, _ in LINK.findall(cell.source):
                if "://" not in target:
                    assert (path.parent / target).resolve().exists(), f"{path.name} links to missing {target}"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_top_to_bottom_without_errors(path, built, monkeypatch):
    monkeypatch.setenv("TOPLAB_FAST", "1")
    monkeypatch.delenv("TOPLAB_LANG", raising=False)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    assert _errors(nb) == []
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code")
    if path.parent.name == "ko":  # the kernel ran in notebooks/ko, so helper messages are Korean
        text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        assert not text or re.search("[\uac00-\ud7a3]", text), "a Korean notebook printed no Korean"
        # everything it showed, widgets included, is Korean: no English sentence, no True/False
        english = english_in(nb)
        assert not english, "English in a Korean notebook's output:\n" + "\n".join(english)
