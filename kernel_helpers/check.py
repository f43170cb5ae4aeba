"""The start page's environment check: one line per point, with the fix when it fails."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from dataclasses import dataclass

from . import procfs
from .i18n import pick

PACKAGES = ("psutil", "pandas", "plotly", "ipywidgets", "anywidget")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FIX "
        return f"[{mark}] {self.name}: {self.detail}" + ("" if self.ok or not self.fix else f"\n       -> {self.fix}")


def _linux() -> Check:
    if procfs.IS_LINUX:
        return Check("Linux", True, f"{os.uname().sysname} {os.uname().release}")
    return Check("Linux", False, pick(f"this is {sys.platform}: the experiments read /proc, which only Linux has",
                                     f"지금 시스템은 {sys.platform}입니다. 실험은 리눅스에만 있는 /proc을 읽습니다"),
                 pick("Use a Linux VM, WSL2, a container, or the Binder link in the README.",
                      "리눅스 VM, WSL2, 컨테이너, 또는 README의 Binder 링크를 쓰세요."))


def _proc() -> Check:
    try:
        mem = procfs.meminfo()["MemTotal"]
        procfs.statm(os.getpid())
        return Check(pick("/proc readable", "/proc 읽기"), True, f"MemTotal {mem / 2**30:.1f} GiB")
    except (OSError, KeyError, LookupError) as e:
        return Check(pick("/proc readable", "/proc 읽기"), False, f"{type(e).__name__}: {e}",
                     pick("Mount procfs (mount -t proc proc /proc) or run in a normal Linux environment.",
                          "procfs를 마운트하거나(mount -t proc proc /proc) 일반 리눅스 환경에서 실행하세요."))


def _programs() -> Check:
    from .programs import BIN_DIR, NAMES, REPO

    missing = [n for n in NAMES if not os.access(BIN_DIR / n, os.X_OK)]
    if not missing:
        return Check(pick("C programs built", "C 프로그램 빌드"), True, pick(f"{', '.join(NAMES)} in {BIN_DIR}",
                                                                   f"{BIN_DIR}에 있음: {', '.join(NAMES)}"))
    fix = pick(f"Run `make build` in {REPO}" + ("" if shutil.which("gcc") else " (install gcc first)") + ".",
               ("" if shutil.which("gcc") else "먼저 gcc를 설치한 뒤 ") + f"{REPO}에서 `make build`를 실행하세요.")
    return Check(pick("C programs built", "C 프로그램 빌드"), False,
                 pick("missing: ", "없음: ") + ", ".join(missing), fix)


def _packages() -> Check:
    versions, broken = [], []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.import_module(name).__version__}")
        except Exception as e:  # ImportError, or a broken install
            broken.append(f"{name} ({type(e).__name__})")
    if broken:
        return Check(pick("Python packages", "파이썬 패키지"), False,
                     pick("cannot import ", "가져올 수 없음: ") + ", ".join(broken),
                     pick("Run `make lab` (it installs them into .venv), or `pip install -e .` in the repo.",
                          "`make lab`을 실행하거나(.venv에 설치합니다) 저장소에서 `pip install -e .`을 실행하세요."))
    return Check(pick("Python packages", "파이썬 패키지"), True, ", ".join(versions))


def _top() -> Check:
    path = shutil.which("top")
    if path:
        return Check("procps top", True, path)
    return Check("procps top", False,
                 pick("`top` is not installed: chapter 2.1 compares with it",
                      "`top`이 설치되어 있지 않습니다. 2.1장에서 비교에 씁니다"),
                 pick("apt-get install procps (Debian/Ubuntu) or dnf install procps-ng (Fedora).",
                      "procps를 설치하세요. 데비안/우분투: apt-get install procps, 페도라: dnf install procps-ng."))


def _overcommit() -> Check:
    try:
        from . import overcommit
    except ImportError as e:
        return Check("vm.overcommit_memory", False, f"kernel_helpers.overcommit: {e}")
    mode = procfs.vm_setting("overcommit_memory")
    if overcommit.can_change():
        return Check("vm.overcommit_memory", True, pick(
            f"mode {mode}; it can be changed here, so chapter 2.3 tries modes 1 and 2 for real "
            "(and always puts the setting back)",
            f"모드 {mode}. 여기서는 바꿀 수 있으므로 2.3장에서 모드 1과 2를 실제로 시험합니다"
            "(설정은 언제나 원래대로 돌려놓습니다)."))
    return Check("vm.overcommit_memory", True, pick(
        f"mode {mode}; it cannot be changed here (no root, or a container), so chapter 2.3 shows "
        "predictions for the other modes and uses `ulimit -v` (RLIMIT_AS), which needs no root",
        f"모드 {mode}. 여기서는 바꿀 수 없으므로(root가 아니거나 컨테이너) 2.3장은 다른 모드의 예측을 "
        "보여 주고, root 권한 없이도 쓸 수 있는 `ulimit -v`(RLIMIT_AS)로 실험합니다."))


def _budget() -> Check:
    from . import safety

    try:
        b = safety.budget()
    except (OSError, ValueError) as e:
        return Check(pick("demo memory budget", "실험 메모리 예산"), False, str(e),
                     pick("Unset or fix TOPLAB_MAX_DEMO_MIB.", "TOPLAB_MAX_DEMO_MIB를 지우거나 고치세요."))
    return Check(pick("demo memory budget", "실험 메모리 예산"), True, str(b))


def _works_here() -> Check:
    """Without Linux: what the lab still offers (the recordings), and where to run the rest."""
    name = pick("What works here", "여기서 되는 것")
    try:
        from .recordings import load

        label = load("malloc_test").label()
    except (OSError, ValueError, KeyError) as e:
        return Check(name, False, pick(f"the recordings are missing ({e})", f"기록 파일이 없습니다({e})"),
                     pick("Reinstall the package (`pip install -e .`), or on Linux run `make record`.",
                          "패키지를 다시 설치하거나(`pip install -e .`), 리눅스에서 `make record`를 실행하세요."))
    return Check(name, True, pick(
        f"the chapters' text, the glossary, and recordings: widgets.memory_panel() and widgets.shared_view() "
        f"show what malloc_test and shared_mem did on Linux ({label}). The live experiments need Linux.",
        f"각 장의 본문, 용어집, 그리고 기록: widgets.memory_panel()과 widgets.shared_view()가 리눅스에서 "
        f"malloc_test와 shared_mem이 보인 결과를 보여 줍니다({label}). 실시간 실험에는 리눅스가 필요합니다."))


def run_checks() -> list[Check]:
    """Every check, in the order the start page prints them; later ones only where Linux is."""
    checks = [_linux()]
    if procfs.IS_LINUX:
        checks += [_proc(), _programs(), _packages(), _top(), _overcommit(), _budget()]
    else:
        checks += [_packages(), _works_here()]
    return checks


def report() -> None:
    """Print the checks, and what to do about any that failed (``run_checks()`` returns them as data)."""
    checks = run_checks()
    for c in checks:
        print(c.line())
    ok = all(c.ok for c in checks)
    if ok:
        print(pick("\nAll set: open chapter 2.1.", "\n준비 완료: 2.1장을 여세요."))
    else:
        print(pick("\nFix the lines marked FIX, then run this cell again.",
                   "\nFIX 표시된 줄을 고친 다음 이 셀을 다시 실행하세요."))
