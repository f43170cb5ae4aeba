"""The model of the overcommit what-if (whatif.py): predict one reservation under a chosen mode,
and check it against the kernel with big_alloc; no widget in it."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from .. import overcommit, programs, validate
from ..i18n import Texts
from ..safety import fmt_bytes
from . import _model_common
from ._model_common import OVERCOMMIT_WAIT_SECONDS, check_lang, sysctl_command

__all__ = ["WhatIfResult", "WhatIfModel"]


@dataclass(frozen=True)
class WhatIfResult:
    """A prediction, and (when it ran) the kernel's real answer to big_alloc."""

    nbytes: int
    mode: int
    ratio: int | None
    prediction: overcommit.Prediction
    ran: bool
    kernel_ok: bool | None = None
    errno: str | None = None
    text: str = ""
    real_change: bool = False  # the mode was changed for the run (and restored)

    @property
    def agrees(self) -> bool | None:
        return None if self.kernel_ok is None else self.kernel_ok == self.prediction.allowed


_WHATIF = Texts({
    "machine": ("This machine now: RAM {ram}, swap {swap}, CommitLimit {limit}, Committed_AS {committed}; "
                "vm.overcommit_memory={mode}, ratio {ratio}.",
                "지금 이 시스템: RAM {ram}, 스왑 {swap}, CommitLimit {limit}, Committed_AS {committed}, "
                "vm.overcommit_memory={mode}, ratio {ratio}."),
    "pred": ("Prediction: {verdict}. {reason}", "예측: {verdict}. {reason}"),
    "allowed": ("allowed", "허용"),
    "refused": ("refused (ENOMEM)", "거절(ENOMEM)"),
    "kernel_ok": ("Kernel's answer: malloc of {size} succeeded{how}.",
                  "커널의 답: {size} malloc 성공{how}."),
    "kernel_fail": ("Kernel's answer: malloc of {size} failed with {errno}{how}.",
                    "커널의 답: {size} malloc이 {errno}(으)로 실패{how}."),
    "how_real": (" (run under mode {mode} set for real, then put back to {orig})",
                 "(모드 {mode}을(를) 실제로 설정해 실행한 뒤 {orig}(으)로 되돌림)"),
    "how_current": (" (under the current mode {mode})", "(현재 모드 {mode}에서)"),
    "agree": ("The prediction was right.", "예측이 맞았습니다."),
    "disagree": ("The prediction was wrong here: the kernel decides on figures that moved in between, or "
                 "the model misses something.",
                 "이번에는 예측이 틀렸습니다. 커널이 판단하는 사이에 수치가 바뀌었거나, 모델이 놓친 것이 있습니다."),
    "cannot": ("Not run: mode {mode} is not the current mode ({cur}), and this Jupyter kernel cannot change "
               "vm.overcommit_memory here (root needed; containers cannot at all). The prediction stands. "
               "On your own machine: `{command}`.",
               "실행하지 않음: 모드 {mode}은(는) 현재 모드({cur})가 아니고, 여기서는 vm.overcommit_memory를 바꿀 수 "
               "없습니다(root 권한이 필요하고, 컨테이너에서는 아예 바꿀 수 없습니다). 예측만 보여 줍니다. "
               "직접 관리하는 시스템에서 실행할 명령: `{command}`."),
    "unsafe": ("Not run: with mode 2 and ratio {ratio}, this reservation would leave only {left} of commit "
               "headroom to every other process on this machine, below the {floor} floor. The prediction "
               "stands.",
               "실행하지 않음: 모드 2, ratio {ratio}에서 이 예약을 하면 이 시스템의 다른 모든 프로세스에 남는 커밋 "
               "여유가 {left}(으)로, 하한 {floor}보다 작아집니다. 예측만 보여 줍니다."),
    "busy": ("Not run: another demo in this Jupyter kernel holds vm.overcommit_memory changed ({err}).",
             "실행하지 않음: 이 주피터 커널의 다른 실험이 vm.overcommit_memory를 바꿔 둔 상태입니다({err})."),
    "busy_elsewhere": ("Not run: {err}", "실행하지 않음: {err}"),
})


class WhatIfModel:
    """Predict one reservation under a chosen mode, and check it against the kernel with big_alloc."""

    MAX_BYTES = 1 << 50  # 1 PiB: past the 128 TiB address space, to show that limit too

    def __init__(self, lang: str | None = None):
        self.lang = check_lang(lang)
        self.last: WhatIfResult | None = None

    def _check(self, nbytes: int, mode: int, ratio: int | None) -> tuple[int, int, int | None]:
        nbytes = validate.whole("nbytes", nbytes, 1, self.MAX_BYTES, what=("a whole number of bytes", "바이트 단위 정수"),
                                hint=("at most 1 PiB (1 << 50), e.g. 8 * GiB", "최대 1 PiB(1 << 50), 예: 8 * GiB"))
        mode = validate.mode(mode)
        if ratio is not None:
            ratio = validate.whole("overcommit ratio", ratio, 1, 100, what=("a whole percentage such as 50", "퍼센트(50 같은 정수)"))
        return nbytes, mode, ratio if mode == 2 else None

    def machine(self) -> str:
        """This machine's live figures, in one line."""
        st = overcommit.commit_state()
        return _WHATIF("machine", self.lang, ram=fmt_bytes(st.mem_total), swap=fmt_bytes(st.swap_total),
                  limit=fmt_bytes(st.commit_limit), committed=fmt_bytes(st.committed_as),
                  mode=st.settings.mode, ratio=st.settings.ratio)

    def predict(self, nbytes: int, mode: int, ratio: int | None = None) -> overcommit.Prediction:
        nbytes, mode, ratio = self._check(nbytes, mode, ratio)
        return overcommit.predict(nbytes, mode, ratio)

    def prediction_text(self, p: overcommit.Prediction) -> str:
        verdict = _WHATIF("allowed" if p.allowed else "refused", self.lang)
        return _WHATIF("pred", self.lang, verdict=verdict, reason=p.text(self.lang))

    def run(self, nbytes: int, mode: int, ratio: int | None = None, timeout: float = 10.0) -> WhatIfResult:
        """Run big_alloc(nbytes) (reservation only) under ``mode``: for real when it is current or
        can be changed here; else return the prediction with the reason it did not run."""
        nbytes, mode, ratio = self._check(nbytes, mode, ratio)
        cur = overcommit.settings()
        needs_change = cur.mode != mode or (ratio is not None and cur.ratio != ratio)
        pred = overcommit.predict(nbytes, mode, ratio)
        lang = self.lang

        def not_run(text: str) -> WhatIfResult:
            self.last = WhatIfResult(nbytes, mode, ratio, pred, False, text=self.prediction_text(pred) + " " + text)
            return self.last

        if needs_change and not overcommit.can_change():
            return not_run(_WHATIF("cannot", lang, mode=mode, cur=cur.mode, command=sysctl_command(mode, ratio)))
        if mode == 2:
            st = overcommit.commit_state()
            left = st.vm_commit_limit(ratio=ratio) - st.committed_as - (nbytes if pred.allowed else 0)
            floor = _model_common.MIN_COMMIT_HEADROOM
            if left < floor:
                return not_run(_WHATIF("unsafe", lang, ratio=ratio if ratio is not None else cur.ratio,
                                  left=fmt_bytes(max(0, left)), floor=fmt_bytes(floor)))
        ctx: contextlib.AbstractContextManager = (
            overcommit.temporarily(mode, ratio, wait=OVERCOMMIT_WAIT_SECONDS) if needs_change
            else contextlib.nullcontext())
        try:
            with ctx:
                pred = overcommit.predict(nbytes, mode, ratio)  # the figures right before the run
                with programs.big_alloc(nbytes) as prog:
                    ev = prog.wait_for("result", timeout=timeout)
        except overcommit.OvercommitBusyError as e:  # another process (another notebook) holds the mode
            return not_run(_WHATIF("busy_elsewhere", lang, err=e.describe(lang)))
        except RuntimeError as e:
            if "already active" in str(e):
                return not_run(_WHATIF("busy", lang, err=e))
            raise
        ok = bool(ev.get("ok"))
        errno = None if ok else str(ev.get("errno", "ENOMEM"))
        how = (_WHATIF("how_real", lang, mode=mode, orig=cur.mode) if needs_change
               else _WHATIF("how_current", lang, mode=mode))
        size = fmt_bytes(nbytes)
        kernel = (_WHATIF("kernel_ok", lang, size=size, how=how) if ok
                  else _WHATIF("kernel_fail", lang, size=size, errno=errno, how=how))
        verdict = _WHATIF("agree" if ok == pred.allowed else "disagree", lang)
        self.last = WhatIfResult(nbytes, mode, ratio, pred, True, ok, errno,
                                 f"{self.prediction_text(pred)} {kernel} {verdict}", needs_change)
        return self.last

