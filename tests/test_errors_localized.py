"""Errors and warnings speak the reader's language (#13), and say what to do.

A Korean notebook (TOPLAB_LANG=ko) gets each message in Korean, with no English sentence left in it
(tools/langcheck.py's detector); an English one in English. Every message says what to do about it.
A static scan keeps new code from raising or warning with a bare English literal: messages go
through kernel_helpers.i18n (error, warn, say, pick), or the line says ``# internal`` when only a
programming mistake can reach it.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kernel_helpers import (
    cgroup,
    glossary,
    i18n,
    overcommit,
    procfs,
    programs,
    quiz,
    realtop,
    safety,
    top,
    validate,
)
from kernel_helpers.safety import GiB, MiB
from kernel_helpers.sampler import Sampler
from tools.langcheck import english

ROOT = Path(__file__).resolve().parent.parent
HANGUL = re.compile(r"[가-힣]")


def _gone_pid() -> int:
    """The PID of a child that has exited and been reaped: nothing has it (for a moment at least)."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def _budget_over() -> None:
    safety.check_request(2 * GiB, cap=64 * MiB)


def _program_not_running() -> None:
    programs.malloc_test(max_mib=4).send("go")  # never started: no process is made


def _busy() -> None:
    raise overcommit.OvercommitBusyError(4242, 2.0, held_for=30.0, command="python -m demo",
                                         original=overcommit.Settings(0, 50, 0))


def _no_permission() -> None:
    raise overcommit.OvercommitPermissionError("sudo sysctl -w vm.overcommit_memory=2",
                                               overcommit.change_method()[1])


def _bad_cap_env(monkeypatch) -> None:
    monkeypatch.setenv("TOPLAB_MAX_DEMO_MIB", "lots")
    safety.budget()


# (id, what raises, the exception type, what to do in English, the same in Korean)
CASES = [
    ("negative size", lambda mp: programs.big_alloc(-1), ValueError, "between 1 and", "사이의 값이어야"),
    ("size not a number", lambda mp: programs.big_alloc("8G"), TypeError, "a whole number of bytes",
     "바이트 단위 정수를 주세요"),
    ("float size", lambda mp: validate.whole("step_mib", 1.5), TypeError, "if a whole number is meant",
     "정수를 주세요"),
    ("bool size", lambda mp: validate.whole("step_mib", True), TypeError, "a whole number", "정수를 주세요"),
    ("over the budget", lambda mp: _budget_over(), safety.BudgetExceeded, "Choose a smaller size",
     "더 작은 크기를 고르세요"),
    ("bad TOPLAB_MAX_DEMO_MIB", _bad_cap_env, ValueError, "set it to e.g. 2048", "설정을 지우세요"),
    ("unknown overcommit mode", lambda mp: validate.mode(3), ValueError, "0, 1 or 2", "0, 1, 2 중 하나여야"),
    ("unknown overcommit mode in predict", lambda mp: overcommit.predict(MiB, mode=7), ValueError, "0, 1 or 2",
     "0, 1, 2 중 하나여야"),
    ("ratio and kbytes", lambda mp: overcommit.predict(MiB, mode=2, ratio=50, kbytes=1024), ValueError,
     "pass ratio or kbytes, not both", "하나만 주세요"),
    ("negative wait", lambda mp: overcommit.temporarily(2, wait=-1), ValueError, "pass e.g. 30", "30처럼 주세요"),
    ("overcommit busy", lambda mp: _busy(), overcommit.OvercommitBusyError, "stop that notebook's panel or wait",
     "멈추거나 기다린 뒤 다시 실행하세요"),
    ("no permission for overcommit", lambda mp: _no_permission(), overcommit.OvercommitPermissionError,
     "in a terminal", "실행하고, 끝나면 되돌려 놓으세요"),
    ("a PID that vanished", lambda mp: procfs.statm(_gone_pid()), procfs.ProcessGone, "Start the program again",
     "프로그램을 다시 시작하거나"),
    ("no permission for a PID", lambda mp: (_ for _ in ()).throw(procfs.AccessDenied(1, "/proc/1/smaps")),
     procfs.AccessDenied, "choose one of your own processes", "본인의 프로세스를 고르세요"),
    ("no /proc", lambda mp: (_ for _ in ()).throw(procfs.NotOnLinux("/proc/meminfo")), procfs.NotOnLinux,
     "Open the lab on Linux", "실습을 여세요"),
    ("unknown language", lambda mp: i18n.check_lang("fr"), ValueError, "lang must be 'en' or 'ko'",
     "'en'이나 'ko'여야"),
    ("unknown language in the glossary", lambda mp: glossary.table("fr"), ValueError, "lang must be 'en' or 'ko'",
     "'en'이나 'ko'여야"),
    ("a program not running", lambda mp: _program_not_running(), programs.ProgramError, "start it again",
     "다시 시작하세요"),
    ("unknown program", lambda mp: programs.binary("nope"), ValueError, "the programs are", "중 하나입니다"),
    ("bad touch", lambda mp: programs.malloc_test(touch="some"), ValueError, "'none', 'all' or a percent",
     "퍼센트여야 합니다"),
    ("no PIDs for top", lambda mp: top.Refresher([]), ValueError, "give at least one PID", "하나 이상 주세요"),
    ("a bad top interval", lambda mp: top.Refresher([1], first_interval=0), ValueError, "pass e.g.",
     "0.5처럼 주세요"),
    ("unknown sort field", lambda mp: top.sort_table(top.snapshot(0.01, [1]).table, "BOGUS"), ValueError,
     "use one of", "중 하나를 쓰세요"),
    ("top command line delay", lambda mp: top._seconds("soon"), argparse.ArgumentTypeError,
     "give the delay in seconds", "초 단위로 주세요"),
    ("not a memory cell of top", lambda mp: realtop.kib("12x"), ValueError, "pass a number of KiB", "처럼 주세요"),
    ("no PIDs for the sampler", lambda mp: Sampler([]), ValueError, "give at least one PID", "하나 이상 주세요"),
    ("a bad sampling rate", lambda mp: Sampler([1], hz=0), ValueError, "pass e.g. hz=5", "hz=5처럼 주세요"),
    ("a cage too small", lambda mp: cgroup.MemoryCage(1), ValueError, "pass e.g. 64 * MiB", "처럼 주세요"),
    ("unknown question", lambda mp: quiz.get("no-such-question"), KeyError, "use one of", "중 하나를 쓰세요"),
]


def _message(call, monkeypatch, kind) -> str:
    with pytest.raises(kind) as info:
        call(monkeypatch)
    e = info.value
    return e.args[0] if isinstance(e, KeyError) else str(e)


@pytest.mark.parametrize("name, call, kind, todo_en, todo_ko", CASES, ids=[c[0] for c in CASES])
def test_an_error_is_in_korean_for_a_korean_notebook(name, call, kind, todo_en, todo_ko, monkeypatch):
    monkeypatch.setenv("TOPLAB_LANG", "ko")
    msg = _message(call, monkeypatch, kind)
    assert HANGUL.search(msg), f"{name}: no Korean in {msg!r}"
    assert english(msg) == [], f"{name}: English left in {msg!r}: {english(msg)}"
    assert todo_ko in msg, f"{name}: the Korean message does not say what to do: {msg!r}"
    assert "(으)로" not in msg and "을(를)" not in msg and "이(가)" not in msg and "은(는)" not in msg, \
        f"{name}: a particle was not fitted: {msg!r}"


@pytest.mark.parametrize("name, call, kind, todo_en, todo_ko", CASES, ids=[c[0] for c in CASES])
def test_an_error_is_in_english_for_an_english_notebook(name, call, kind, todo_en, todo_ko, monkeypatch):
    monkeypatch.setenv("TOPLAB_LANG", "en")
    msg = _message(call, monkeypatch, kind)
    assert not HANGUL.search(msg), f"{name}: Korean in the English message {msg!r}"
    assert todo_en in msg, f"{name}: the English message does not say what to do: {msg!r}"


def test_the_language_is_picked_when_the_error_is_raised(monkeypatch):
    monkeypatch.setenv("TOPLAB_LANG", "en")
    with pytest.raises(ValueError, match="must be between 1 and 10"):
        validate.whole("n", 0, 1, 10)
    monkeypatch.setenv("TOPLAB_LANG", "ko")
    with pytest.raises(ValueError, match="1에서 10 사이의 값이어야"):
        validate.whole("n", 0, 1, 10)


def test_a_model_with_its_own_language_speaks_it(monkeypatch):
    from kernel_helpers.widgets.toptable_model import TopModel

    monkeypatch.setenv("TOPLAB_LANG", "en")
    m = TopModel(lang="ko")
    with pytest.raises(ValueError, match="새로 고침 간격은"):
        m.set_interval(0)


class _Exited:
    """A stand-in for Popen that has ended with ``code`` (negative: killed by that signal)."""

    def __init__(self, code: int | None):
        self.code, self.pid = code, 12345

    def poll(self) -> int | None:
        return self.code


@pytest.mark.parametrize("code, en, ko", [
    (None, "running", "실행 중"),
    (0, "exited with status 0", "종료 상태 0으로 끝남"),
    (2, "exited with status 2", "종료 상태 2로 끝남"),
    (-9, "killed by SIGKILL", "SIGKILL로 강제 종료됨"),
    (-15, "killed by SIGTERM", "SIGTERM으로 강제 종료됨"),
    (-99, "killed by signal 99", "시그널 99로 강제 종료됨"),
])
def test_how_a_program_ended_in_both_languages(code, en, ko, monkeypatch):
    p = programs.malloc_test(max_mib=4)
    assert p.exit_description("en") == "not started" and p.exit_description("ko") == "시작 전"
    p.proc = _Exited(code)  # type: ignore[assignment]
    assert p.exit_description("en") == en and p.exit_description("ko") == ko
    monkeypatch.setenv("TOPLAB_LANG", "ko")
    assert p.exit_description() == ko  # the notebook's language by default
    assert p.exit_description("en") == en  # what code that parses it asks for


def test_the_watchdog_stops_in_the_notebooks_language(monkeypatch):
    for lang, says in (("ko", "안전 하한"), ("en", "below the safety floor")):
        monkeypatch.setenv("TOPLAB_LANG", lang)
        fired: list[str] = []
        w = safety.Watchdog(fired.append, interval=0.01, floor=100 * MiB, read_available=lambda: MiB).start()
        w._thread.join(2)  # type: ignore[union-attr]
        assert len(fired) == 1 and says in fired[0], fired
        assert (english(fired[0]) == []) == (lang == "ko")


def test_the_budget_says_what_limits_it_in_both_languages(monkeypatch):
    monkeypatch.delenv("MEM_LIMIT", raising=False)
    b = safety.budget(cap=1 * MiB)
    assert b.limit == "fixed cap" and b.reason == "limited by the fixed cap"  # English, for code
    assert b.describe("en") == "1 MiB (limited by the fixed cap)"
    assert b.describe("ko") == "1 MiB(고정 상한 기준)" and b.reason_ko == "고정 상한 기준"
    monkeypatch.setenv("TOPLAB_LANG", "ko")
    assert str(b) == "1 MiB(고정 상한 기준)"


def test_a_warning_speaks_the_notebooks_language(monkeypatch):
    monkeypatch.setenv("TOPLAB_LANG", "ko")
    with pytest.warns(RuntimeWarning, match="따로 할 일은 없습니다"):
        i18n.warn("ignored {path}: {problem}; it was removed, nothing to do",
                  "{path}을(를) 무시하고 지웠습니다: {problem}. 따로 할 일은 없습니다.",
                  category=RuntimeWarning, path="/dev/shm/x", problem="?")


# --- no new English-only raise or warning ------------------------------------------------------

# Owned by other work in progress (#13): they get the same treatment when it lands.
NOT_YET: set[str] = set()
# i18n's functions, as this package calls them (warnings.warn is not one: i18n.warn is)
_I18N_CALLS = {f"{m}{f}" for m in ("", "i18n.", "_i18n.") for f in ("error", "pick", "say", "warn", "josa")}


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def _untranslated(path: Path, root: Path = ROOT) -> list[str]:
    """Lines of ``path`` that raise or warn with a str literal or f-string not passed through i18n."""
    src = path.read_text()
    lines = src.splitlines()
    found = []
    # a bare warn() is i18n.warn unless the module took warn from warnings
    _imports_warnings_warn = bool(re.search(r"^from warnings import .*\bwarn\b", src, re.M))
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            call = node.exc
        elif isinstance(node, ast.Call) and (ast.unparse(node.func) in ("warnings.warn", "warn")
                                             or ast.unparse(node.func).endswith("parser.error")):
            call = node  # a warning, or argparse's error (it prints the message and exits)
        else:
            continue
        if ast.unparse(call.func) in _I18N_CALLS and not (ast.unparse(call.func) == "warn" and _imports_warnings_warn):
            continue
        # the message: the first argument (ProcessGone(pid, ...), AccessDenied(pid, path) take none first)
        message = call.args[0] if call.args else next((k.value for k in call.keywords
                                                       if k.arg in ("message", "msg")), None)
        # a literal, one built with + or % from literals, or "...".format(...)
        formatted = (isinstance(message, ast.Call) and isinstance(message.func, ast.Attribute)
                     and message.func.attr == "format" and _is_text(message.func.value))
        if message is None or not (_is_text(message) or formatted or (isinstance(message, ast.BinOp)
                                                                       and any(_is_text(n) for n in ast.walk(message)))):
            continue
        end = getattr(node, "end_lineno", node.lineno)
        if any("# internal" in lines[i - 1] for i in range(node.lineno, end + 1)):
            continue
        found.append(f"{path.relative_to(root)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return found


def test_every_raise_and_warning_goes_through_i18n():
    files = sorted((ROOT / "kernel_helpers").rglob("*.py"))
    assert len(files) > 20
    problems = [p for f in files if str(f.relative_to(ROOT)) not in NOT_YET for p in _untranslated(f)]
    assert not problems, ("raise error(Kind, en, ko, **values) or i18n.warn(en, ko, ...) instead; mark a line that "
                          "only a programming mistake reaches with '# internal':\n" + "\n".join(problems))


def test_the_scan_finds_an_english_only_raise(tmp_path):
    f = tmp_path / "probe.py"
    f.write_text('import warnings\nfrom .i18n import error\n\n\ndef a(x):\n    raise ValueError(f"bad {x}")\n\n\n'
                 'def b():\n    raise error(ValueError, "bad", "나쁨")\n\n\n'
                 'def c():\n    raise KeyError("x")  # internal\n\n\n'
                 'def d():\n    warnings.warn("careful " + "now")\n\n\n'
                 'def e(parser, x):\n    parser.error("no such {}".format(x))\n')
    assert [p.split(":")[1] for p in _untranslated(f, tmp_path)] == ["6", "18", "22"]


def test_the_not_yet_files_exist():
    """When one of them is gone or renamed, drop it from NOT_YET."""
    assert all((ROOT / p).exists() for p in NOT_YET)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
