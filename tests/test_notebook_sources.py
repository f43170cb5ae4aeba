"""Every notebook in git is exactly what its source in tools/notebooks/ writes: edit the source, not the
notebook (CONTRIBUTING.md, "Add a chapter")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = sorted((REPO / "tools" / "notebooks").glob("*.py"))


def test_every_notebook_regenerates_byte_for_byte_from_its_source(tmp_path):
    env = {**os.environ, "TOPLAB_NOTEBOOKS_OUT": str(tmp_path)}
    for src in SOURCES:
        r = subprocess.run([sys.executable, str(src)], env=env, capture_output=True, text=True, cwd=REPO,
                           timeout=120)
        assert r.returncode == 0, f"{src.name} failed:\n{r.stderr}"
    written = {p.relative_to(tmp_path) for p in tmp_path.rglob("*.ipynb")}
    in_git = {p.relative_to(REPO / "notebooks") for p in (REPO / "notebooks").rglob("*.ipynb")
              if ".ipynb_checkpoints" not in p.parts}
    assert written == in_git, f"notebooks without a source: {in_git - written}; not in git: {written - in_git}"
    stale = [str(p) for p in sorted(written)
             if (tmp_path / p).read_bytes() != (REPO / "notebooks" / p).read_bytes()]
    assert not stale, (f"these notebooks differ from what tools/notebooks/ writes: {stale}; "
                       "run .venv/bin/python tools/notebooks/<source>.py and commit the result")
