"""Where code goes: lessons measure, tabulate, say and ask; they do not run processes or cgroups;
and one parser, procfs.parse_stat, splits a /proc/PID/stat line.

A lesson module (kernel_helpers/lessons/ch2_N.py) is measure -> table -> sentence -> question.
Processes live in the library: the C programs in kernel_helpers.programs, small demo processes in
kernel_helpers.children, the real procps top (and `man top`, and our own CLI beside it) in
kernel_helpers.realtop; memory cgroups in kernel_helpers.cgroup. A lesson calls those, so a new
chapter never copies process handling (or imports it from another chapter), and every child is
started, ended by its own PID and cleaned up in one place.

The rule is read from each lesson's syntax tree (nothing is imported or run), so it also holds for
code paths no test reaches.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LESSONS = sorted((REPO / "kernel_helpers" / "lessons").glob("ch*.py"))

#: Modules whose only job is starting, signalling or waiting for processes.
PROCESS_MODULES = {"subprocess", "multiprocessing", "pty", "concurrent.futures.process"}
#: Functions of os/signal (and others) that create, signal, wait for processes, or make directories
#: (a lesson has no directory to make; a cgroup is one).
FORBIDDEN_FUNCTIONS = {
    "os": {"fork", "forkpty", "vfork", "kill", "killpg", "system", "popen", "posix_spawn", "posix_spawnp",
           "execv", "execve", "execl", "execle", "execlp", "execlpe", "execvp", "execvpe",
           "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe",
           "wait", "waitpid", "wait3", "wait4", "waitid", "pidfd_open", "setpgid", "setsid",
           "mkdir", "makedirs", "rmdir", "removedirs"},
    "signal": {"pthread_kill", "raise_signal", "pidfd_send_signal", "alarm", "setitimer"},
    "shutil": {"which", "rmtree"},  # looking a program up to run it; removing directories
    "concurrent.futures": {"ProcessPoolExecutor"},
}
#: Method names that signal or create a process, or make a directory, whatever the object.
FORBIDDEN_METHODS = {"send_signal", "kill", "terminate", "Popen", "mkdir", "rmdir", "pidfd_send_signal"}
#: Text that means the lesson reaches into cgroupfs itself.
FORBIDDEN_TEXT = ("/sys/fs/cgroup", "cgroup.procs", "cgroup.subtree_control", "memory.max",
                  "memory.limit_in_bytes")

CONTRACT = ("lessons measure, tabulate, say and ask; processes live in kernel_helpers.programs, "
            "kernel_helpers.children and kernel_helpers.realtop, cgroups in kernel_helpers.cgroup")


def violations(source: str) -> list[str]:
    """What in ``source`` starts, signals or waits for a process, or touches a cgroup itself."""
    tree = ast.parse(source)
    found: list[str] = []
    aliases: dict[str, str] = {}  # local name -> module it stands for ("sp" -> "subprocess")
    imported: dict[str, str] = {}  # local name -> "module.function" imported by name

    def where(node: ast.AST) -> str:
        return f"line {getattr(node, 'lineno', 0)}"

    def forbidden_module(name: str) -> bool:
        return any(name == m or name.startswith(m + ".") for m in PROCESS_MODULES)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if forbidden_module(a.name):
                    found.append(f"{where(node)}: import {a.name}")
                aliases[(a.asname or a.name).split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if forbidden_module(node.module):
                found.append(f"{where(node)}: from {node.module} import ...")
            for a in node.names:
                if forbidden_module(f"{node.module}.{a.name}"):
                    found.append(f"{where(node)}: from {node.module} import {a.name}")
                if a.name in FORBIDDEN_FUNCTIONS.get(node.module, ()):
                    found.append(f"{where(node)}: from {node.module} import {a.name}")
                imported[a.asname or a.name] = f"{node.module}.{a.name}"
                if f"{node.module}.{a.name}" in FORBIDDEN_FUNCTIONS:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for text in FORBIDDEN_TEXT:
                if text in node.value:
                    found.append(f"{where(node)}: the text {text!r}")

    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        if isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id)
            if module and node.attr in FORBIDDEN_FUNCTIONS.get(module, ()):
                found.append(f"{where(node)}: {module}.{node.attr}")
                continue
        if node.attr in FORBIDDEN_METHODS:
            found.append(f"{where(node)}: .{node.attr}")
    return sorted(set(found), key=lambda s: (int(s.split()[1].rstrip(":")), s))


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lessons_start_no_process_and_no_cgroup_themselves(path):
    bad = violations(path.read_text())
    assert not bad, f"{path.relative_to(REPO)}: {CONTRACT}; found:\n  " + "\n  ".join(bad)


def test_there_are_lessons_to_check():
    assert len(LESSONS) >= 3


@pytest.mark.parametrize("code", [
    "import subprocess\n",
    "import subprocess as sp\n",
    "from subprocess import run\n",
    "import multiprocessing.pool\n",
    "from concurrent.futures import ProcessPoolExecutor\n",
    "import os\nos.fork()\n",
    "import os as o\no.kill(1, 9)\n",
    "from os import kill\n",
    "import os\nos.mkdir('/tmp/x')\n",
    "p.send_signal(15)\n",
    "proc.kill()\n",
    "from pathlib import Path\nPath('/tmp/x').mkdir()\n",
    "x = open('/sys/fs/cgroup/x/cgroup.procs')\n",
    "import shutil\nshutil.which('top')\n",
    "import signal\nsignal.pthread_kill(1, 9)\n",
])
def test_the_rule_catches_each_way_of_starting_or_signalling(code):
    assert violations(code), code


@pytest.mark.parametrize("code", [
    "import os, signal\nx = -signal.SIGKILL\nos.getpid()\n",  # signal numbers to compare with are fine
    "from .. import children, programs, realtop\nwith children.busy(1) as c:\n    c.pid\n",
    "from ..cgroup import MemoryCage\nwith MemoryCage(1 << 20) as cage:\n    cage.add(1)\n",
    "text = 'a cgroup limit'\n",
])
def test_the_rule_lets_lessons_measure_and_call_the_library(code):
    assert not violations(code), violations(code)


# --- one /proc/PID/stat parser ------------------------------------------------------------------
# The comm field of /proc/PID/stat may hold spaces and parentheses, so a stat line is split at its
# last ') ': a search for ')' in the library is a stat parser, and procfs.parse_stat is the one.

_SEARCHES = {"find", "rfind", "index", "rindex", "partition", "rpartition", "split", "rsplit"}


def stat_line_splits(source: str) -> list[str]:
    """The functions in ``source`` that search text for ')': each one parses a stat line."""
    found: list[str] = []

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, f"{where}.{child.name}" if where else child.name)
                continue
            if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                    and child.func.attr in _SEARCHES and child.args
                    and isinstance(child.args[0], ast.Constant)
                    and isinstance(child.args[0].value, (str, bytes))
                    and (")" in child.args[0].value if isinstance(child.args[0].value, str)
                         else b")" in child.args[0].value)):
                found.append(where or "<module>")
            visit(child, where)

    visit(ast.parse(source), "")
    return found


def test_only_procfs_parse_stat_splits_a_stat_line():
    found = {}
    for path in sorted((REPO / "kernel_helpers").rglob("*.py")):
        if names := stat_line_splits(path.read_text()):
            found[str(path.relative_to(REPO))] = names
    assert found == {"kernel_helpers/procfs.py": ["parse_stat"]}, (
        "parse /proc/PID/stat with procfs.parse_stat, not by hand: " + repr(found))


@pytest.mark.parametrize("code", [
    'def f(data):\n    return data[data.rindex(b") ") + 2 :].split(b" ", 7)\n',
    'def f(text):\n    return text[text.rfind(")") + 2:].split()\n',
    'def f(data):\n    head, _, tail = data.rpartition(b") ")\n',
])
def test_the_stat_rule_catches_a_hand_made_stat_parser(code):
    assert stat_line_splits(code) == ["f"], code
