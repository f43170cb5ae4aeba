"""The static site `make book` builds, opened in headless Chromium (Debian's, through playwright).

The site is build/book/site (or $TOPLAB_BOOK_SITE); when it is missing the test builds it first
with tools/book/build.py, as `make book` does (a few minutes: every notebook runs in fast mode).
A local HTTP server serves it; every request that is not to that server fails the test (the site
must work offline, plotly.js included). For every notebook under notebooks/ in both languages the
test opens its page and checks: the page exists and is in its language, the language switch leads
to the same chapter in the other language and back, the line saying which system and kernel the
outputs came from, no error output, and, where the lab shows a live chart, a plotly figure drawn
with data and labelled (drawn from the build's own run, or a labelled recording). Every internal link of every page must resolve (anchors
included), and nothing may log a console error. Screenshots go to test-artifacts/book/.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from tools.labserver import CHROMIUM, launch_chromium  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.book]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SITE = Path(os.environ.get("TOPLAB_BOOK_SITE") or REPO / "build" / "book" / "site")
ARTIFACTS = REPO / "test-artifacts" / "book"
LANGS = ("en", "ko")
OTHER = {"en": "ko", "ko": "en"}
HANGUL = re.compile("[\uac00-\ud7a3]")
# code that shows a live chart in the lab: its page must hold a drawn plotly figure
LIVE_CHARTS = re.compile(r"\b(memory_panel|shared_session|shared_view)\(")


# Messages that are not ours and not a failure, each with the reason. Add one only with a reason.
CONSOLE_ALLOWLIST = (
    # sphinx-thebe 0.3.1, which Jupyter Book 1 always loads, adds its inline config script twice
    # (env-before-read-docs), so the second `const THEBE_JS_URL` throws; thebe (live code on a
    # page) is off here and the page is otherwise complete: every check below still runs.
    "Identifier 'THEBE_JS_URL' has already been declared",
    # sphinx-book-theme 1.3 sets the colour mode from localStorage, "" on a first visit, which
    # pydata-sphinx-theme 0.17 reports before it falls back to "auto" (light or dark as the system is)
    "Got invalid theme mode: . Resetting to auto.",
)


FIGURES_JS = """() => [...document.querySelectorAll('div.plotly-graph-div')].map(f => {
  const r = f.getBoundingClientRect();
  return {drawn: !!f.querySelector('.main-svg'),
          live: !!f.closest('.toplab-live-figure, .toplab-recording-figure'),
          traces: f.querySelectorAll('.scatterlayer .trace, .barlayer .trace').length,
          title: (f.querySelector('.gtitle') || {}).textContent || '', height: r.height, width: r.width};
})"""
LIVE_SECTIONS_JS = """() => [...document.querySelectorAll('.toplab-live-figure, .toplab-recording-figure')]
  .filter(s => [...s.querySelectorAll('div.plotly-graph-div')].some(f => f.querySelector('.main-svg'))).length"""


def _stems() -> list[str]:
    return sorted(p.stem for p in (REPO / "notebooks" / "en").glob("*.ipynb"))


def _need(module: str, fix: str) -> None:
    try:
        __import__(module)
    except ImportError:
        if IN_CI:
            pytest.fail(f"{module} is missing: {fix}")
        pytest.skip(f"{module} is missing: {fix}")


@pytest.fixture(scope="module")
def site() -> Path:
    _need("playwright.sync_api", "make venv installs it (pip install -e '.[test]')")
    if not os.access(CHROMIUM, os.X_OK):
        msg = (f"Chromium not found at {CHROMIUM}: apt-get install chromium, or set TOPLAB_CHROMIUM "
               "(never `playwright install`)")
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    if not (SITE / "pages.json").is_file():
        _need("jupyter_book", "make book installs it (pip install -e '.[book]')")
        args = ["--read-only-sysctl"] if os.geteuid() == 0 and not IN_CI else []
        subprocess.run([sys.executable, "-m", "tools.book.build", "--out", str(SITE.parent), *args],
                       cwd=REPO, check=True, timeout=1800)
    return SITE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, name="book-http", daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(5)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        try:
            yield b
        finally:
            b.close()


def test_the_site_has_every_chapter_in_both_languages(site):
    meta = json.loads((site / "pages.json").read_text(encoding="utf-8"))
    stems = _stems()
    assert sorted(meta["pages"]) == stems, "the site is stale: run `make book` again"
    assert meta["pages"][0] == "00-start-here" and meta["pages"][-1] == "glossary"
    for lang in LANGS:
        for stem in stems:
            assert (site / lang / f"{stem}.html").is_file(), f"{lang}/{stem}.html was not built"
    prov = meta["provenance"]
    assert prov["kernel"] and prov["cpus"] >= 1 and prov["date"]


def _open(page, url: str, problems: list[str]) -> None:
    resp = page.goto(url, wait_until="load")
    assert resp is not None and resp.status == 200, f"{url}: HTTP {resp.status if resp else 'none'}"
    # plotly draws each figure from an inline script as the page loads; give a busy machine time
    page.wait_for_function("() => Array.from(document.querySelectorAll('div.plotly-graph-div'))"
                           ".every(d => d.querySelector('.main-svg'))", timeout=30_000)


def test_every_page_in_chromium(site, server, browser):
    stems = _stems()
    meta = json.loads((site / "pages.json").read_text(encoding="utf-8"))
    kernel = meta["provenance"]["kernel"]
    problems: list[str] = []
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    host = urllib.parse.urlsplit(server).netloc

    def route(r):
        if urllib.parse.urlsplit(r.request.url).netloc != host:
            problems.append(f"request outside the site: {r.request.url}")
            return r.abort()
        return r.continue_()

    ctx.route("**/*", route)
    page = ctx.new_page()
    def note(msg: str) -> None:
        if not any(a in msg for a in CONSOLE_ALLOWLIST):
            problems.append(msg)

    page.on("console", lambda m: note(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: note(f"page error: {e}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    links: dict[str, set[str]] = {}
    charts = 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    _open(page, f"{server}/index.html", problems)
    for lang in LANGS:
        assert page.locator(f'a[href="{lang}/{stems[0]}.html"]').count() == 1, f"index.html does not link {lang}"

    for lang in LANGS:
        for stem in stems:
            url = f"{server}/{lang}/{stem}.html"
            _open(page, url, problems)
            where = f"{lang}/{stem}"
            assert page.locator("html").get_attribute("lang") == lang, where
            h1 = page.locator("article h1").first.inner_text()
            assert h1.strip(), f"{where}: no title"
            body = page.locator("article").inner_text()
            if lang == "ko":
                assert HANGUL.search(h1 + body[:2000]), f"{where}: no Korean on the Korean page"

            # the language switch: the same chapter in the other language, and back
            switch = page.locator("a.toplab-lang-switch")
            assert switch.count() == 1, f"{where}: no language switch"
            assert switch.get_attribute("href") == f"../{OTHER[lang]}/{stem}.html", where
            switch.click()
            page.wait_for_load_state("load")
            assert page.url.split("#")[0] == f"{server}/{OTHER[lang]}/{stem}.html", where
            assert page.locator("html").get_attribute("lang") == OTHER[lang]
            back = page.locator("a.toplab-lang-switch").get_attribute("href")
            assert back == f"../{lang}/{stem}.html", f"{OTHER[lang]}/{stem}: the switch does not lead back"
            _open(page, url, problems)

            # where the outputs came from, and how to run it live
            prov = page.locator("p.toplab-provenance")
            assert prov.count() == 1, f"{where}: no provenance line"
            text = prov.inner_text()
            assert kernel in text and f"{meta['provenance']['cpus']}" in text, f"{where}: {text}"
            assert "make lab" in page.locator("div.toplab-book-header").inner_text(), where

            # real outputs, and no error among them
            nb = nbformat.read(REPO / "notebooks" / lang / f"{stem}.ipynb", as_version=4)
            code = [c.source for c in nb.cells if c.cell_type == "code"]
            if code:
                assert page.locator("div.cell_output").count() > 0, f"{where}: no outputs"
            assert page.locator("div.cell_output .output.traceback, div.cell_output .output.error").count() == 0, \
                f"{where}: an error output"
            assert "Traceback (most recent call last)" not in body, f"{where}: a traceback"
            assert "FigureWidget(" not in body and "VBox(" not in body, f"{where}: a widget printed as text"

            # charts: every plotly figure is drawn, with data; each live chart of the lab is there, labelled
            page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
            figs = page.evaluate(FIGURES_JS)
            for i, f in enumerate(figs):
                assert f["drawn"], f"{where}: figure {i} ({f['title']}) was not drawn"
                assert f["traces"] > 0 or "not run" in f["title"] or "실행하지" in f["title"], \
                    f"{where}: figure {i} ({f['title']}) has no data"
                assert f["height"] > 150 and f["width"] > 300, f"{where}: figure {i} is {f['width']}x{f['height']}"
            charts += len(figs)
            live = sum(len(LIVE_CHARTS.findall(src)) for src in code)
            sections = page.evaluate(LIVE_SECTIONS_JS)
            assert sections >= live, f"{where}: {live} live charts in the lab, {sections} drawn on the page"
            if live:
                notes = page.locator("div.toplab-book-note").all_inner_texts()
                said = ("In the lab this chart is live", "Recorded on Linux") if lang == "en" else \
                       ("랩에서는 컨트롤이 달린 실시간 차트", "기록함")
                assert any(w in t for t in notes for w in said), f"{where}: the static chart is not labelled: {notes}"
            if any("oom_chart(" in src for src in code):
                assert any(not f["live"] for f in figs), f"{where}: the OOM chart is missing"

            hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
            for h in hrefs:
                netloc = urllib.parse.urlsplit(h).netloc
                if netloc == host:
                    links.setdefault(h, set()).add(where)
                # a file name in the prose that MyST's linkify took for a web address (README.md, x.py)
                assert not re.search(r"\.(md|py|sh|so|ipynb|json|txt)$", netloc), f"{where}: a file name became a link: {h}"
            if stem in ("2.3-memory-commit", "00-start-here"):
                page.screenshot(path=str(ARTIFACTS / f"{lang}-{stem}.png"), full_page=False)
    assert charts >= 2 * 2, f"only {charts} charts in the whole site"

    # every internal link resolves, anchors included
    pages_html: dict[str, str] = {}
    for href, sources in sorted(links.items()):
        base, _, frag = href.partition("#")
        if base not in pages_html:
            r = ctx.request.get(base)
            assert r.status == 200, f"broken link {href} on {sorted(sources)}: HTTP {r.status}"
            pages_html[base] = r.text() if base.endswith(".html") or base.endswith("/") else ""
        if frag and pages_html[base]:
            frag = urllib.parse.unquote(frag)
            assert f'id="{frag}"' in pages_html[base], f"broken anchor {href} on {sorted(sources)}"
    ctx.close()
    assert not problems, "\n".join(problems[:30])
