"""Readers without Linux: the package imports, the panels show labelled recordings, the rest says why not.

macOS and Windows are simulated in a fresh interpreter: the third-party packages load first (they
have their own code for each system), then ``sys.platform`` says darwin or win32, Windows also
loses the Unix-only modules and os functions, and ``TOPLAB_PROC_ROOT`` points at an empty folder,
so there is no /proc to read.  Then the whole package is imported and used as a reader would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat
import pytest

from kernel_helpers import recordings

REPO = Path(__file__).resolve().parent.parent
LABEL = re.compile(r"^Recorded on Linux \S+ on \d{4}-\d{2}-\d{2}$")
KiB, MiB = 1024, 1024 * 1024

SIMULATION = textwrap.dedent(r'''
    import importlib, json, os, pkgutil, sys, traceback
    plat = sys.argv[1]
    out = {"imports": {}, "calls": {}}

    # the third-party packages first, under the real platform
    import IPython, ipywidgets, pandas, plotly.graph_objects, plotly.subplots, psutil  # noqa: F401
    for name in ("O_PATH", "pidfd_open"):  # Linux only
        if hasattr(os, name):
            delattr(os, name)
    if plat == "win32":
        for mod in ("pwd", "grp", "resource", "fcntl", "termios"):
            sys.modules[mod] = None  # "import pwd" now raises ImportError, as on Windows
        for name in ("uname", "sysconf", "getuid", "geteuid", "getpgid", "killpg", "getloadavg"):
            if hasattr(os, name):
                delattr(os, name)
    sys.platform = plat

    modules = ["kernel_helpers", "kernel_helpers.procfs", "kernel_helpers.metrics", "kernel_helpers.check",
               "kernel_helpers.top", "kernel_helpers.quiz", "kernel_helpers.glossary", "kernel_helpers.i18n",
               "kernel_helpers.safety", "kernel_helpers.sampler", "kernel_helpers.programs",
               "kernel_helpers.overcommit", "kernel_helpers.recordings", "kernel_helpers.widgets",
               "kernel_helpers.lessons"]
    import kernel_helpers.lessons
    modules += [f"kernel_helpers.lessons.{m.name}" for m in pkgutil.iter_modules(kernel_helpers.lessons.__path__)]
    for name in modules:
        try:
            importlib.import_module(name)
            out["imports"][name] = "ok"
        except BaseException as e:
            out["imports"][name] = f"{type(e).__name__}: {e}"
    import kernel_helpers
    out["IS_LINUX"] = kernel_helpers.IS_LINUX
    if plat == "win32" and any(v != "ok" for v in out["imports"].values()):
        print(json.dumps(out))
        sys.exit(0)

    from kernel_helpers import check
    out["check"] = [c.line() for c in check.run_checks()]

    from kernel_helpers.widgets import memory_panel, shared_view
    p = memory_panel(interval_ms=100, max_mib=64)
    steps = p.step_table()
    df = p.data()
    out["panel"] = {"type": type(p).__name__, "label": p.label, "banner": p.banner,
                    "traces": [t.name for t in p.figure.data], "points": len(p.figure.data[0].x),
                    "title": p.figure.layout.title.text, "phases": sorted(set(df["memset"])),
                    "steps": len(steps), "start": p.start() is p}
    from kernel_helpers.lessons import ch2_3 as _ch2_3
    out["panel"]["run_steps"] = len(_ch2_3.run_steps(p, 3))  # chapter 2.3's cell, on the recording
    v = shared_view(mib=64, children=2)
    out["shared"] = {"type": type(v).__name__, "label": v.label, "roles": list(v.table()["role"]),
                     "traces": [t.name for t in v.figure.data], "sums": v.sums()}

    # what needs /proc: a clear error that says why and what to do, or the recording
    from kernel_helpers import metrics, overcommit, top
    from kernel_helpers.lessons import ch2_1, ch2_2, ch2_3, ch2_4
    from kernel_helpers.widgets import overcommit_whatif, top_table
    calls = {
        "metrics.system_sample()": lambda: metrics.system_sample(),
        "metrics.process_sample(pid)": lambda: metrics.process_sample(os.getpid()),
        "overcommit.settings()": lambda: overcommit.settings(),
        "overcommit.predict(1 GiB)": lambda: overcommit.predict(1 << 30),
        "top.snapshot()": lambda: top.snapshot(0.1),
        "ch2_1.snapshot()": lambda: ch2_1.snapshot(),
        "ch2_2.read_breakdown(pid)": lambda: ch2_2.read_breakdown(os.getpid()),
        "ch2_3.machine()": lambda: ch2_3.machine(),
        "ch2_3.commit_now()": lambda: ch2_3.commit_now(),
        "ch2_4.system_states()": lambda: ch2_4.system_states(show=False),
        "ch2_4.state_demos()": lambda: ch2_4.state_demos().stop(),
        "ch2_4.nice_contention()": lambda: ch2_4.nice_contention(show=False),
        "ch2_4.busy_process()": lambda: ch2_4.busy_process(show=False),
        "widgets.top_table()": lambda: top_table(),
        "widgets.overcommit_whatif()": lambda: overcommit_whatif(1 << 30),
    }
    for name, fn in calls.items():
        try:
            r = fn()
            out["calls"][name] = {"ok": True, "type": type(r).__name__, "repr": repr(r)[:200]}
        except BaseException as e:
            out["calls"][name] = {"ok": False, "type": type(e).__name__, "mro": [c.__name__ for c in type(e).__mro__],
                                  "message": str(e), "where": traceback.format_exc()[-600:]}
    print(json.dumps(out, default=str))
''')


def _simulate(platform: str, lang: str = "en") -> dict:
    """Run SIMULATION as ``platform`` with an empty folder for /proc; its JSON report."""
    env = dict(os.environ, TOPLAB_LANG=lang, TOPLAB_FAST="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryDirectory(prefix="toplab-no-proc-") as no_proc:
        env["TOPLAB_PROC_ROOT"] = no_proc
        r = subprocess.run([sys.executable, "-c", SIMULATION, platform], capture_output=True, text=True,
                           env=env, cwd=no_proc, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def darwin() -> dict:
    return _simulate("darwin")


@pytest.fixture(scope="module")
def win32() -> dict:
    return _simulate("win32")


@pytest.fixture(scope="module")
def darwin_ko() -> dict:
    return _simulate("darwin", lang="ko")


# --- the recordings themselves -----------------------------------------------------------------

@pytest.mark.parametrize("name", recordings.NAMES)
def test_recordings_are_small_and_say_where_they_come_from(name):
    path = recordings.DATA_DIR / f"{name}.json"
    assert path.stat().st_size < 16 * KiB, f"{path} is {path.stat().st_size:,} bytes: keep recordings small"
    rec = recordings.load(name)
    assert LABEL.match(rec.label("en")), rec.label("en")
    assert rec.meta["kernel"] in rec.label("ko") and rec.meta["date"] in rec.label("ko")
    assert rec.meta["what"].startswith(name) and rec.meta["page_size"] > 0


def test_the_recorded_malloc_trace_shows_reserving_then_writing():
    """What the recording shows is what chapter 2.3 teaches: VIRT +1028 KiB per 1 MiB step always,
    RES about one page per step without memset and +1028 KiB per step with it."""
    df = recordings.malloc_samples()
    assert list(df["memset"].unique()) == ["off", "on"]
    steps = recordings.malloc_steps()
    assert len(steps) == 2 * recordings.MALLOC_STEPS and steps["ok"].all()
    levels = df.groupby("virt").last().sort_index()  # one row per step: the last sample at that VIRT
    d_virt, d_res = levels.index.to_series().diff(), levels["res"].diff()
    assert d_virt.dropna().eq(1028 * KiB).all(), d_virt
    res_per_step = d_res.groupby(levels["memset"]).median()
    assert res_per_step["off"] <= 8 * KiB, res_per_step  # reserved: about one page (the chunk header)
    assert res_per_step["on"] == 1028 * KiB, res_per_step  # written: every page of the mapping
    assert (df["shr"] <= df["res"]).all()


def test_the_recorded_shared_mem_shows_res_counting_the_region_in_every_process():
    t = recordings.shared_table()
    mib = recordings.load("shared_mem").data["mib"] * MiB
    assert list(t["role"]) == ["parent", "child 0", "child 1"]
    assert (t["rss_shmem"] == mib).all() and (t["res"] >= mib).all()
    assert abs(t["pss"].sum() - mib) < 0.1 * mib  # PSS splits the region; summing RES counts it 3 times


def test_record_writes_the_files_make_record_ships(built, tmp_path):
    assert recordings.main(["record", "--out", str(tmp_path)]) == 0
    for name in recordings.NAMES:
        fresh = json.loads((tmp_path / f"{name}.json").read_text())
        shipped = json.loads((recordings.DATA_DIR / f"{name}.json").read_text())
        assert fresh["name"] == name and fresh["meta"]["kernel"] == os.uname().release
        assert fresh["meta"].keys() == shipped["meta"].keys() and fresh["data"].keys() == shipped["data"].keys()


# --- a machine without /proc ------------------------------------------------------------------------

@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_importing_everything_works_without_linux(platform):
    out = _simulate(platform)
    failed = {k: v for k, v in out["imports"].items() if v != "ok"}
    assert not failed, failed
    assert out["IS_LINUX"] is False


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_without_linux_the_memory_panel_shows_the_labelled_recording(platform, request):
    p = request.getfixturevalue(platform)["panel"]
    assert p["type"] == "RecordedPanel", p
    assert LABEL.match(p["label"]) and p["label"] in p["title"] and p["label"] in p["banner"], p
    assert p["banner"].startswith("RECORDING, not a live measurement"), p["banner"]
    assert p["traces"] == ["VIRT", "RES", "SHR"] and p["points"] > 20, p
    assert p["phases"] == ["off", "on"] and p["steps"] == 2 * recordings.MALLOC_STEPS and p["start"], p
    assert p["run_steps"] == p["steps"], p


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_without_linux_the_shared_view_shows_the_labelled_recording(platform, request):
    s = request.getfixturevalue(platform)["shared"]
    assert s["type"] == "RecordedSharedView" and LABEL.match(s["label"]), s
    assert s["roles"] == ["parent", "child 0", "child 1"] and s["traces"] == ["RES", "SHR", "USS", "PSS"], s
    assert s["sums"]["res"] > 2.5 * s["sums"]["pss"], s


def test_without_linux_the_recorded_panel_speaks_korean(darwin_ko):
    p = darwin_ko["panel"]
    assert p["type"] == "RecordedPanel" and "에서" in p["label"] and "기록" in p["banner"], p


@pytest.mark.parametrize("result", ["darwin", "darwin_ko", "win32"])
def test_without_linux_what_needs_proc_says_so_clearly(result, request):
    out = request.getfixturevalue(result)
    ko = result.endswith("ko")
    bad = {}
    for name, r in out["calls"].items():
        if r["ok"]:
            continue  # it worked without /proc (e.g. from the recording): fine
        msg = r["message"]
        friendly = ("NotOnLinux" in r["mro"] and ("리눅스" if ko else "Linux") in msg and "/proc" in msg
                    and "memory_panel()" in msg)
        if not friendly:
            bad[name] = f"{r['type']}: {msg}\n{r['where']}"
    assert not bad, "\n\n".join(f"{k}: {v}" for k, v in bad.items())


def test_without_linux_the_start_page_check_says_what_works(darwin, darwin_ko, win32):
    for out, works in ((darwin, "What works here"), (darwin_ko, "여기서 되는 것"), (win32, "What works here")):
        lines = out["check"]
        assert lines[0].startswith("[FIX ] Linux"), lines
        here = next((ln for ln in lines if works in ln), "")
        assert here.startswith("[ok  ]") and "memory_panel()" in here and "shared_view()" in here, lines
        assert recordings.load("malloc_test").meta["kernel"] in here, here


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_start_page_tells_readers_without_linux_what_works(lang):
    nb = nbformat.read(REPO / "notebooks" / lang / "00-start-here.ipynb", as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "macOS" in text and "Windows" in text, "the start page does not mention macOS or Windows"
    assert ("recorded" if lang == "en" else "기록") in text and "memory_panel" in text
