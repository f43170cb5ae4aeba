"""The model of the shared-memory view (sharedview.py): ``shared_mem`` with K children, each one's
RES, SHR, USS and PSS, and their sums; no widget in it."""

from __future__ import annotations

import pandas as pd

from .. import metrics, programs, validate
from ..i18n import Texts, error
from ..procfs import AccessDenied, ProcessGone
from ..programs import Program, ProgramError
from ..safety import MiB, fmt_bytes
from ._model_common import check_lang

__all__ = ["SharedExperiment"]

_SHARED = Texts({
    "sums": ("Summing RES over the {k} processes gives {res}, but the {mib} shared region exists once in RAM: "
             "summing PSS gives {pss}, and USS (memory each would free on exit) sums to only {uss}. "
             "MemTotal - MemAvailable changed by {used} since the start (every process on the machine counts there).",
             "프로세스 {k}개의 RES를 더하면 {res}(이)지만, 공유 영역 {mib}은(는) RAM에 한 번만 있습니다. PSS를 더하면 "
             "{pss}이(가) 되고, USS(각자 끝날 때 돌려받는 양)의 합은 {uss}뿐입니다. 시작 이후 MemTotal - MemAvailable은 "
             "{used} 변했습니다(이 시스템의 모든 프로세스가 반영됩니다)."),
    "not_started": ("Press Start (or call view.start()) to run shared_mem.",
                    "시작 버튼을 누르거나 view.start()를 호출해 shared_mem을 실행하세요."),
    "stopped": ("shared_mem stopped ({desc}).", "shared_mem이 멈췄습니다({desc})."),
})


class SharedExperiment:
    """``shared_mem`` with K children: per-process RES, SHR, USS and PSS, and their sums."""

    def __init__(self, mib: int = 64, children: int = 2, private_mib: int = 0, file: str | None = None,
                 lang: str | None = None):
        self.lang = check_lang(lang)
        self.configure(mib, children, private_mib, file)
        self.program: Program | None = None
        self.pids: list[tuple[str, int]] = []
        self.closed = False
        self._used0: int | None = None
        self.text = _SHARED("not_started", self.lang)

    def configure(self, mib: int | None = None, children: int | None = None, private_mib: int | None = None,
                  file: str | None = None) -> None:
        if mib is not None:
            self.mib = validate.whole("mib", mib, 1, programs.SHARED_MIB_MAX)
        if children is not None:
            self.children = validate.whole("children", children, 0, programs.SHARED_CHILDREN_MAX)
        if private_mib is not None:
            self.private_mib = validate.whole("private_mib", private_mib, 0, programs.SHARED_MIB_MAX)
        self.file = file

    @property
    def running(self) -> bool:
        return self.program is not None and self.program.running

    def start(self, timeout: float = 30.0) -> SharedExperiment:
        """Start shared_mem and wait until every child has written the region."""
        if self.closed:
            raise error(RuntimeError, "this view was closed; create a new one",
                        "이 보기는 닫혔습니다. 새로 만드세요.", self.lang)
        self.stop()
        sysm = metrics.system_sample()
        self._used0 = sysm.mem_used
        prog = programs.shared_mem(self.mib, self.children, self.file, self.private_mib)
        prog.start()
        self.program = prog
        try:
            prog.wait_for("holding", timeout=timeout)
        except ProgramError:
            self.stop()
            raise
        kids = sorted((int(e["index"]), int(e["pid"])) for e in prog.events if e["event"] == "child")  # type: ignore[arg-type]
        self.pids = [("parent", prog.pid)] + [(f"child {i}", pid) for i, pid in kids]  # type: ignore[list-item]
        return self

    def measure(self) -> pd.DataFrame:
        """One row per process: role, PID, RES, SHR, USS, PSS, RssAnon, RssShmem (bytes)."""
        rows = []
        for role, pid in self.pids:
            try:
                s = metrics.process_sample(pid, full=True)
            except (ProcessGone, AccessDenied):
                continue
            rows.append({"role": role, "pid": pid, "res": s.res, "shr": s.shr, "uss": s.uss, "pss": s.pss,
                         "rss_anon": s.rss_anon, "rss_shmem": s.rss_shmem})
        return pd.DataFrame(rows, columns=["role", "pid", "res", "shr", "uss", "pss", "rss_anon", "rss_shmem"])

    def sums(self, table: pd.DataFrame | None = None) -> dict[str, int]:
        """Sums over the processes of RES, SHR, USS, PSS, and how much MemTotal - MemAvailable grew."""
        t = self.measure() if table is None else table
        out = {k: int(t[k].fillna(0).sum()) for k in ("res", "shr", "uss", "pss")}
        used = metrics.system_sample().mem_used
        out["mem_used_delta"] = used - self._used0 if self._used0 is not None else 0
        out["processes"] = len(t)
        return out

    def explain(self, sums: dict[str, int] | None = None) -> str:
        s = self.sums() if sums is None else sums
        return _SHARED("sums", self.lang, k=s["processes"], res=fmt_bytes(s["res"]), pss=fmt_bytes(s["pss"]),
                     uss=fmt_bytes(s["uss"]), used=_signed(s["mem_used_delta"]), mib=fmt_bytes(self.mib * MiB))

    def stop(self) -> str | None:
        prog, self.program = self.program, None
        if prog is None:
            return None
        prog.stop()
        self.text = _SHARED("stopped", self.lang, desc=prog.exit_description(self.lang))
        return self.text

    def close(self) -> None:
        self.stop()
        self.closed = True


def _signed(n: int) -> str:
    return ("-" if n < 0 else "+") + fmt_bytes(abs(n))


