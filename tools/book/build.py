"""make book: a static site of every chapter in both languages, built by Jupyter Book from live runs.

1. Execute every notebook of notebooks/en and notebooks/ko here, on Linux, in fast mode
   (``TOPLAB_FAST=1``) and book mode (``TOPLAB_BOOK=1``: live widgets display a recording or a
   snapshot, plotly figures display as self-contained figures; see kernel_helpers/recordings.py).
   A notebook that raises fails the build.
2. Copy each executed notebook into ``<out>/src/<lang>/`` with a first cell that says which system
   and kernel the outputs came from, how to run it live, and links to the same page in the other
   language; links between the languages point at the other book's HTML.
3. Write ``_config.yml`` and ``_toc.yml`` for each language (the table of contents is the notebooks
   found, start page first, chapters in order, glossary last) and run ``jupyter-book build`` with
   execution off. The site is ``<out>/site/``: ``en/``, ``ko/`` and an ``index.html`` that links both.

Run: ``.venv/bin/python -m tools.book.build`` (``make book``). ``--read-only-sysctl`` (root only)
runs the notebooks in a mount namespace where /proc/sys is read-only, so chapter 2.3 only predicts
the other overcommit modes instead of switching them on a machine others are using.
"""

from __future__ import annotations

import argparse
import datetime
import html
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NB_ROOT = REPO / "notebooks"
LANGS = ("en", "ko")
OTHER = {"en": "ko", "ko": "en"}
LANG_NAME = {"en": "English", "ko": "한국어"}
TITLE = {"en": "toplab: how Linux processes use memory, seen through top",
         "ko": "toplab: top으로 보는 리눅스 프로세스의 메모리"}
CELL_TIMEOUT = 180
PLOTLY_JS = "plotly.min.js"


# --- which pages, in which order ---------------------------------------------------------------

def _natural(name: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def page_order(names: list[str]) -> list[str]:
    """Notebook stems in reading order: the start page, the chapters by number, the glossary last."""
    def key(stem: str):
        if stem.startswith("00-"):
            return (0, _natural(stem))
        if stem == "glossary":
            return (2, [])
        return (1, _natural(stem))
    return sorted(names, key=key)


def pages() -> list[str]:
    """The notebooks present in both languages (a chapter in one language only is an error)."""
    found = {lang: {p.stem for p in (NB_ROOT / lang).glob("*.ipynb")} for lang in LANGS}
    if found["en"] != found["ko"]:
        raise SystemExit(f"book: notebooks differ between en and ko: {sorted(found['en'] ^ found['ko'])}")
    if not found["en"]:
        raise SystemExit("book: no notebooks under notebooks/en")
    return page_order(list(found["en"]))


# --- where the outputs came from ----------------------------------------------------------------

def provenance() -> dict:
    """This system, as each page states it."""
    u = os.uname()
    distro = ""
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                distro = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    return {"kernel": u.release, "machine": u.machine, "distro": distro or platform.system(),
            "cpus": os.cpu_count() or 0, "cpu_model": cpu, "mem_gib": round(mem_kib / 2**20, 1),
            "python": platform.python_version(), "root": os.geteuid() == 0,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def header_cell(stem: str, lang: str, prov: dict, read_only_sysctl: bool) -> str:
    """The first cell of each page: the language switch, where the outputs came from, how to run it live."""
    other = OTHER[lang]
    who_en = "as root" if prov["root"] else "as a user without root"
    who_ko = "root로 실행" if prov["root"] else "root가 아닌 사용자로 실행"
    if read_only_sysctl:
        who_en += ", with /proc/sys read-only, so vm.overcommit_memory was not switched"
        who_ko += ", /proc/sys는 읽기 전용으로 두어 vm.overcommit_memory는 바꾸지 않음"
    system = (f"Linux {prov['kernel']} ({prov['distro']}, {prov['machine']}), {prov['cpus']} CPU"
              f"{'s' if prov['cpus'] != 1 else ''}, {prov['mem_gib']} GiB RAM")
    system_ko = (f"리눅스 {prov['kernel']}({prov['distro']}, {prov['machine']}), CPU {prov['cpus']}개, "
                 f"메모리 {prov['mem_gib']} GiB")
    switch = (f'<a class="toplab-lang-switch" hreflang="{other}" lang="{other}" '
              f'href="../{other}/{stem}.html">{LANG_NAME[other]}</a>')
    if lang == "en":
        text = (f"**Read this page in:** {switch}\n\n"
                f'<p class="toplab-provenance">The outputs on this page come from one run of this notebook on '
                f"{html.escape(system)}, on {prov['date']}, in fast mode ({html.escape(who_en)}). Charts that are "
                "live in the lab appear here as figures drawn from that same run, labelled as such. Your own "
                "system will show other figures.</p>\n\n"
                "**Run it live** on your own Linux system: clone the repository and run `make lab` "
                "(Python 3.10+, gcc and make; see the README). The lab opens this page with every experiment "
                "running on your kernel.")
    else:
        text = (f"**다른 언어로 읽기:** {switch}\n\n"
                f'<p class="toplab-provenance">이 페이지의 출력은 {html.escape(system_ko)} 시스템에서 '
                f"{prov['date']}에 이 노트북을 빠른 모드로 한 번 실행한 결과입니다({html.escape(who_ko)}). JupyterLab에서 "
                "실시간으로 움직이는 차트는 여기서는 같은 실행에서 측정한 값으로 그린 그림으로 보여 주며, 그렇다고 "
                "표시해 두었습니다. 여러분의 시스템에서는 다른 숫자가 나옵니다.</p>\n\n"
                "**직접 실행하려면** 리눅스 시스템에서 저장소를 내려받고 `make lab`을 실행하세요(Python 3.10 이상, "
                "gcc, make 필요. 저장소의 `README.ko.md` 참고). JupyterLab이 열리면 모든 실험이 여러분의 리눅스 커널에서 실시간으로 돌아갑니다.")
    return f'<div class="toplab-book-header">\n\n{text}\n\n</div>'


# --- executing -----------------------------------------------------------------------------------

def execute(path: Path, out: Path) -> float:
    """Run one notebook top to bottom in its own folder (so its kernel speaks its language); write it to out."""
    import nbformat
    from nbclient import NotebookClient

    sys.path.insert(0, str(REPO))
    from tools.nbrun import notebook_errors

    nb = nbformat.read(path, as_version=4)
    t0 = time.monotonic()
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", store_widget_state=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = notebook_errors(nb)
    if errors:
        raise SystemExit(f"book: {path.relative_to(REPO)} failed:\n" + "\n".join(errors))
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return time.monotonic() - t0


def execute_all(stems: list[str], run_dir: Path, read_only_sysctl: bool) -> None:
    """Execute every page in both languages into run_dir/<lang>/, in a child with the book's environment."""
    env = dict(os.environ, TOPLAB_FAST="1", TOPLAB_BOOK="1")
    env.pop("TOPLAB_LANG", None)
    argv = [sys.executable, "-m", "tools.book.build", "--execute-into", str(run_dir), *stems]
    if read_only_sysctl:
        if os.geteuid() != 0:
            raise SystemExit("book: --read-only-sysctl needs root (it uses a private mount namespace)")
        inner = "mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec \"$@\""
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", inner, "sh", *argv]
    subprocess.run(argv, cwd=REPO, env=env, check=True)


# --- the Jupyter Book sources ----------------------------------------------------------------------

CROSS = re.compile(r"\[([^\]]+)\]\(\.\./(en|ko)/([^)#\s]+)\.ipynb(#[^)\s]*)?\)")


def _cross_links(text: str) -> str:
    """Markdown links to the other language's notebook become links to the other book's page."""
    def repl(m: re.Match) -> str:
        label = re.sub(r"[*_`]", "", m.group(1))
        return f'<a href="../{m.group(2)}/{m.group(3)}.html{m.group(4) or ""}">{html.escape(label)}</a>'
    return CROSS.sub(repl, text)


WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def prepare(run_dir: Path, src: Path, stems: list[str], prov: dict, read_only_sysctl: bool) -> None:
    """Executed notebooks -> Jupyter Book sources (header cell, cross-language links, no widget outputs)."""
    import nbformat

    for lang in LANGS:
        d = src / lang
        if d.exists():
            shutil.rmtree(d)
        (d / "_static").mkdir(parents=True)
        import plotly
        shutil.copy(Path(plotly.__file__).parent / "package_data" / PLOTLY_JS, d / "_static" / PLOTLY_JS)
        for stem in stems:
            nb = nbformat.read(run_dir / lang / f"{stem}.ipynb", as_version=4)
            nb.metadata.pop("widgets", None)
            for cell in nb.cells:
                if cell.cell_type == "markdown":
                    cell.source = _cross_links(cell.source)
                    continue
                kept = []
                for o in cell.get("outputs", []):
                    data = o.get("data")
                    if data is not None and WIDGET_MIME in data:
                        continue  # a live widget: book mode displayed its static form beside it
                    kept.append(o)
                cell.outputs = kept
            head = nbformat.v4.new_markdown_cell(header_cell(stem, lang, prov, read_only_sysctl))
            head["id"] = "toplab-book-header"
            nb.cells.insert(_split_title(nb), head)  # right under the title: Sphinx takes the page title from it
            nbformat.write(nb, d / f"{stem}.ipynb")
        (d / "_toc.yml").write_text(
            "format: jb-book\n"
            f"root: {stems[0]}\n"
            "chapters:\n" + "".join(f"- file: {s}\n" for s in stems[1:]), encoding="utf-8")
        (d / "_config.yml").write_text(json.dumps({
            "title": TITLE[lang],
            "author": "toplab",
            "copyright": str(datetime.date.today().year),
            "only_build_toc_files": True,
            "execute": {"execute_notebooks": "off"},
            "html": {"use_repository_button": False, "use_issues_button": False, "use_edit_page_button": False,
                     "home_page_in_navbar": True},
            "sphinx": {"config": {
                "language": lang,
                "html_js_files": [PLOTLY_JS],
                "html_show_copyright": False,
                # Jupyter Book's own theme options, with the search box in the page's language
                "html_theme_options": {
                    "home_page_in_toc": True,
                    "search_bar_text": "Search this book..." if lang == "en" else "이 책에서 검색...",
                    "launch_buttons": {"thebe": False}, "use_repository_button": False,
                    "use_edit_page_button": False, "use_issues_button": False,
                },
                "nb_render_markdown_format": "myst",
            }},
        }, ensure_ascii=False, indent=1), encoding="utf-8")  # YAML is a superset of JSON


def _split_title(nb) -> int:
    """Split the first cell that starts with '# Title' after its title line; the index right after the title."""
    import nbformat

    for i, c in enumerate(nb.cells):
        if c.cell_type == "markdown" and c.source.lstrip().startswith("# "):
            title, _, rest = c.source.lstrip().partition("\n")
            if rest.strip():
                c.source = title
                tail = nbformat.v4.new_markdown_cell(rest.strip("\n"))
                tail["id"] = f"{c.get('id', 'title')}-rest"
                nb.cells.insert(i + 1, tail)
            return i + 1
    return 0


def index_html(stems: list[str], prov: dict) -> str:
    links = "".join(f'<li><a href="{lang}/{stems[0]}.html" hreflang="{lang}" lang="{lang}">{html.escape(TITLE[lang])}'
                    f"</a> ({LANG_NAME[lang]})</li>" for lang in ("ko", "en"))
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>toplab</title>"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>"
            "<body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\"><h1>toplab</h1>"
            f"<ul>{links}</ul><p style=\"color:#555\">Built on Linux {html.escape(prov['kernel'])}, "
            f"{html.escape(prov['date'])}.</p></body></html>\n")


def jupyter_book(src: Path, site: Path) -> None:
    jb = Path(sys.executable).parent / "jupyter-book"
    for lang in LANGS:
        out = src.parent / "jb" / lang
        if out.exists():
            shutil.rmtree(out)
        subprocess.run([str(jb), "build", "--quiet", "--keep-going", "--path-output", str(out), str(src / lang)],
                       cwd=REPO, check=True)
        dest = site / lang
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(out / "_build" / "html", dest)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.book.build", description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(REPO / "build" / "book"), help="build folder (default build/book)")
    p.add_argument("--read-only-sysctl", action="store_true",
                   help="root only: run the notebooks with /proc/sys read-only (nothing machine-wide changes)")
    p.add_argument("--skip-execute", action="store_true", help="reuse <out>/run from an earlier build")
    p.add_argument("--execute-into", help=argparse.SUPPRESS)
    p.add_argument("stems", nargs="*", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.execute_into:  # the child that runs the notebooks (in the book's environment)
        for stem in args.stems:
            for lang in LANGS:
                dt = execute(NB_ROOT / lang / f"{stem}.ipynb", Path(args.execute_into) / lang / f"{stem}.ipynb")
                print(f"book: executed {lang}/{stem} in {dt:.0f} s", flush=True)
        return 0
    out = Path(args.out).resolve()
    stems = pages()
    t0 = time.monotonic()
    run_dir = out / "run"
    prov_file = run_dir / "provenance.json"
    if not args.skip_execute:
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        prov = provenance()
        execute_all(stems, run_dir, args.read_only_sysctl)
        prov["read_only_sysctl"] = args.read_only_sysctl
        prov_file.write_text(json.dumps(prov, indent=1), encoding="utf-8")
    prov = json.loads(prov_file.read_text(encoding="utf-8"))
    t1 = time.monotonic()
    prepare(run_dir, out / "src", stems, prov, prov.get("read_only_sysctl", False))
    site = out / "site"
    site.mkdir(parents=True, exist_ok=True)
    jupyter_book(out / "src", site)
    (site / "index.html").write_text(index_html(stems, prov), encoding="utf-8")
    (site / ".nojekyll").write_text("")  # GitHub Pages: serve _static/ and _sources/ as they are
    (site / "pages.json").write_text(json.dumps({"pages": stems, "languages": list(LANGS), "provenance": prov},
                                                ensure_ascii=False, indent=1), encoding="utf-8")
    t2 = time.monotonic()
    print(f"book: {len(stems)} pages x {len(LANGS)} languages in {site} "
          f"(notebooks {t1 - t0:.0f} s, Jupyter Book {t2 - t1:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
