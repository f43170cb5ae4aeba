"""The two-command setup: make help lists everything, make lab serves the start page, lint is clean."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # for tools/, shared with the benchmark

from tools.labserver import free_port  # noqa: E402


def test_make_help_lists_every_target_with_a_line():
    out = subprocess.run(["make", "-s", "-C", str(REPO), "help"], capture_output=True, text=True, check=True).stdout
    phony = re.search(r"^\.PHONY:(.*)$", (REPO / "Makefile").read_text(), re.M).group(1).split()
    listed = dict(re.findall(r"make (\S+)\s+(.+)", out))
    assert set(phony) <= set(listed), f"targets without a help line: {set(phony) - set(listed)}"
    assert all(len(text) > 10 for text in listed.values())


def test_make_is_the_default_goal_help():
    out = subprocess.run(["make", "-s", "-C", str(REPO)], capture_output=True, text=True, check=True).stdout
    assert "make lab" in out and "make test" in out


@pytest.mark.parametrize(("locale", "lang"), [({}, "en"), ({"LANG": "ko_KR.UTF-8"}, "ko")], ids=["no-locale", "ko_KR"])
def test_make_lab_serves_the_start_page_and_prints_its_url(tmp_path, locale, lang):
    """As README.md and README.ko.md say: a Korean locale gets the Korean start page (tests/test_make_lab_lang.py
    covers every way of choosing; this one starts the real lab)."""
    port = free_port()
    base = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_MESSAGES")}
    env = {**base, **locale, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    lab = subprocess.Popen(["make", "-s", "-C", str(REPO), "lab", f"PORT={port}"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        url = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and url is None:
            line = lab.stdout.readline()
            if not line:
                break
            m = re.search(rf"(http://127\.0\.0\.1:{port}/lab/tree/{lang}/00-start-here\.ipynb\?token=\w+)", line)
            url = m.group(1) if m else None
        assert url, "make lab printed no URL of the start page"
        for _ in range(50):  # the URL is printed as the server comes up
            try:
                page = urllib.request.urlopen(url, timeout=20)
                break
            except urllib.error.URLError:
                time.sleep(0.2)
        else:
            raise AssertionError(f"nothing answered at {url}")
        with page as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
        api = url.replace("/lab/tree/", "/api/contents/")
        with urllib.request.urlopen(api, timeout=20) as r:
            assert r.status == 200  # the notebook exists where the URL says
    finally:
        os.killpg(lab.pid, signal.SIGTERM)  # the group we started: make and its jupyter
        try:
            lab.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait()


def test_the_news_toast_is_turned_off_in_the_venv():
    installed = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    if not installed.exists():
        pytest.skip("not running from the project's .venv (make test installs it there)")
    assert installed.read_text() == (REPO / "jupyter" / "overrides.json").read_text()
    assert '"fetchNews": "false"' in installed.read_text()


def test_python_dependencies_are_listed_once():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=!~ \[]", d)[0].lower() for d in deps}
    env_yml = (REPO / "environment.yml").read_text().lower()
    assert {"jupyterlab", "ipywidgets", "psutil", "pandas", "plotly", "anywidget"} <= names
    assert not [n for n in names if re.search(rf"^\s*-\s*{re.escape(n)}\b", env_yml, re.M)]
    assert "-e ." in env_yml


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.exists():
        pytest.skip("ruff is not installed in this environment (pip install -e '.[test]')")
    r = subprocess.run([str(ruff), "check", "kernel_helpers", "tests", "tools", "bench"], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
