"""Write the English and Korean twin of a notebook from one list of cells, so code stays identical.

Usage in an authoring script:
    from nbtools import md, code, write_pair
    cells = [md("# Title", "# 제목"), code("print(1)")]
    write_pair("2.1-reading-top", cells)
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

# TOPLAB_NOTEBOOKS_OUT: write elsewhere (the test that every notebook regenerates byte for byte uses it)
ROOT = Path(os.environ.get("TOPLAB_NOTEBOOKS_OUT") or Path(__file__).resolve().parent.parent / "notebooks")
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def md(en: str, ko: str) -> tuple[str, str, str, dict]:
    return ("markdown", en.strip("\n"), ko.strip("\n"), {})


def code(src: str, **metadata) -> tuple[str, str, str, dict]:
    src = src.strip("\n")
    return ("code", src, src, metadata)


def write_pair(stem: str, cells: list[tuple[str, str, str, dict]]) -> None:
    for i, lang in enumerate(("en", "ko")):
        nb = nbformat.v4.new_notebook()
        nb.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}}
        for kind, en, ko, meta in cells:
            src = (en, ko)[i]
            cell = nbformat.v4.new_markdown_cell(src) if kind == "markdown" else nbformat.v4.new_code_cell(src)
            cell.metadata.update(meta)
            nb.cells.append(cell)
        for n, cell in enumerate(nb.cells):
            cell["id"] = f"{stem.replace('.', '-')}-{n:02d}"
        path = ROOT / lang / f"{stem}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.validate(nb)
        path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
