"""The model of the memory panel (panel.py): ``malloc_test`` under a Sampler, with no widget in it.

``MallocExperiment`` runs ``malloc_test`` under a Sampler, turns the program's events into
measured steps, chart markers and a narration in English or Korean, and forwards the live
controls (memset on/off, partial touch, pause) as commands.  ``OvercommitControl`` changes
vm.overcommit_memory for real when this process may (and puts it back), and otherwise says
what would happen, labelled as a prediction, with the command to run.  Tests and headless
notebooks drive it; it imports without ipywidgets and plotly (the kernel-matrix claim checks
run it in bare kernels).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import kernelcase, overcommit, procfs, programs, validate
from ..i18n import Texts, error, say
from ..programs import Program, ProgramError
from ..safety import MiB, fmt_bytes
from ..sampler import Sampler
from . import _model_common
from ._model_common import OVERCOMMIT_WAIT_SECONDS, check_lang, fmt_delta, sysctl_command

if TYPE_CHECKING:  # pandas loads on first use (a table): the live chart does not wait for it
    import pandas as pd

__all__ = ["Marker", "OvercommitStatus", "OvercommitControl", "MallocExperiment", "STEP_COLUMNS",
           "PANEL_INTERVAL_MS_MIN"]


# --- texts ----------------------------------------------------------------------------------

_TEXT = Texts({
    "ready": ("Ready. Press Start (or call panel.start()): the chart is already there, so no second is missed.",
              "준비됨. 시작 버튼을 누르거나 panel.start()를 호출하세요. 차트가 먼저 떠 있으므로 첫 1초도 놓치지 않습니다."),
    "started": ("malloc_test started (PID {pid}): every {interval} it mallocs {step}{how}.",
                "malloc_test 시작(PID {pid}): {interval}마다 {step}을(를) malloc하고{how}."),
    "how_none": (" and does not write it", " 쓰지는 않습니다"),
    "how_all": (" and memsets all of it", " 전부 memset으로 씁니다"),
    "how_pct": (" and memsets {pct}% of it", " 그중 {pct}%를 memset으로 씁니다"),
    "step": ("step {n}: VIRT {dv}, RES {dr}, {df} minor fault{s}: {meaning}",
             "{n}단계: VIRT {dv}, RES {dr}, 마이너 폴트 {df}회: {meaning}"),
    "meaning_reserved": ("reserved, not yet touched.", "예약만 했고 아직 쓰지 않았습니다."),
    "meaning_written": ("memset wrote the block, so its pages became resident.",
                        "memset이 블록을 써서 그 페이지들이 실제 메모리에 올라왔습니다."),
    "meaning_partial": ("memset wrote {pct}% of the block; only those pages became resident.",
                        "memset이 블록의 {pct}%만 써서 그 페이지만 실제 메모리에 올라왔습니다."),
    "meaning_failed": ("malloc failed.", "malloc 실패."),
    "step_failed": ("step {n}: malloc of {step} failed ({errno}): the kernel refused the reservation, "
                    "so VIRT did not grow.",
                    "{n}단계: {step} malloc 실패({errno}): 커널이 예약을 거절했으므로 VIRT도 늘지 않았습니다."),
    "touch_all": ("memset is on: from the next step every new block is written, so RES grows with VIRT.",
                  "memset 켬: 다음 단계부터 새 블록을 모두 쓰므로 RES가 VIRT와 함께 늘어납니다."),
    "touch_none": ("memset is off: new blocks are only reserved; VIRT grows, RES barely moves.",
                   "memset 끔: 새 블록은 예약만 됩니다. VIRT는 늘고 RES는 거의 그대로입니다."),
    "touch_pct": ("memset writes {pct}% of each new block: RES grows by about {pct}% of what VIRT grows.",
                  "새 블록마다 {pct}%만 memset합니다: RES는 VIRT가 느는 양의 약 {pct}%만큼 늘어납니다."),
    "paused": ("paused: no new steps until you resume.", "일시정지: 재개할 때까지 새 단계가 없습니다."),
    "resumed": ("resumed.", "재개했습니다."),
    "cap": ("reached the cap of {max}: no more steps; the program keeps what it has.",
            "상한 {max}에 도달: 더 할당하지 않고 가진 메모리를 유지합니다."),
    "done": ("done after {n} steps; the program keeps what it has.",
             "{n}단계 후 끝: 가진 메모리를 유지합니다."),
    "error": ("the program answered: error {msg}.", "프로그램 응답: 오류 {msg}."),
    "stopped": ("stopped by you after {n} steps. Last reading: VIRT {virt}, RES {res}.",
                "{n}단계 후 직접 중지했습니다. 마지막 측정값: VIRT {virt}, RES {res}."),
    "killed": ("malloc_test was killed by {sig} after {n} steps. SIGKILL is what the OOM killer (and kill -9) "
               "sends: the program gets no chance to react. Last reading: VIRT {virt}, RES {res}.",
               "malloc_test가 {n}단계 후 {sig}(으)로 강제 종료되었습니다. SIGKILL은 OOM 킬러(그리고 kill -9)가 "
               "보내는 시그널로, 프로그램은 대응할 기회가 없습니다. 마지막 측정값: VIRT {virt}, RES {res}."),
    "exited": ("malloc_test {desc} after {n} steps. Last reading: VIRT {virt}, RES {res}.",
               "malloc_test가 {n}단계 후 끝났습니다({desc}). 마지막 측정값: VIRT {virt}, RES {res}."),
    "replaced": ("stopped: a newer panel replaced this one.", "중지: 새 패널이 이 패널을 대신합니다."),
    "restored": ("vm.overcommit_memory is back to {mode} (ratio {ratio}).",
                 "vm.overcommit_memory를 {mode}(으)로 되돌렸습니다(ratio {ratio})."),
    "no_steps": ("malloc_test ended after {k} of {n} steps: {final} Start it again to make more steps.",
                 "malloc_test가 {n}단계 중 {k}단계 후 끝났습니다: {final} 단계를 더 보려면 다시 시작하세요."),
    "timeout": ("only {k} of {n} steps within {timeout} s (one step every {interval}); wait longer "
                "(a larger timeout) or choose a shorter interval",
                "{timeout}초 안에 {n}단계 중 {k}단계만 진행했습니다(한 단계에 {interval}). 더 오래 기다리거나"
                "(timeout을 늘려서) 간격을 줄이세요."),
    "title_ready": ("malloc_test: not started yet", "malloc_test: 아직 시작 전"),
    "title_running": ("malloc_test {pid}: {state}, {step} every {interval}, {touch}",
                      "malloc_test {pid}: {state}, {interval}마다 {step}, {touch}"),
    "state_running": ("running", "실행 중"),
    "state_paused": ("paused", "일시정지"),
    "title_touch_off": ("memset off", "memset 끔"),
    "title_finished": ("malloc_test {pid} ended: {how}, after {n} steps",
                       "malloc_test {pid}: {n}단계 후 {how}"),
    # overcommit
    "oc_current": ("vm.overcommit_memory is {mode} on this machine ({name}).",
                   "이 시스템의 vm.overcommit_memory는 {mode}입니다({name})."),
    "oc_real": ("REAL CHANGE: vm.overcommit_memory={mode}{ratio} is set on this machine now, for this demo; "
                "it goes back to {orig} when the demo stops.",
                "실제 변경: 이 실험 동안 이 시스템의 vm.overcommit_memory={mode}{ratio}(으)로 설정했습니다. "
                "실험이 멈추면 {orig}(으)로 되돌립니다."),
    "oc_pending": ("vm.overcommit_memory={mode}{ratio} will be set for real when you start, and put back when "
                   "the demo stops.",
                   "시작하면 vm.overcommit_memory={mode}{ratio}을(를) 실제로 설정하고, 실험이 멈추면 되돌립니다."),
    "oc_prediction": ("PREDICTION, not applied: this Jupyter kernel cannot change vm.overcommit_memory here (it needs root, "
                      "and containers cannot change it at all). Under mode {mode}{ratio}, the next malloc of {step}: "
                      "{reason}{steps} To try it for real on a machine that is yours, run {cmd} "
                      "and put it back afterwards with {back}.",
                      "예측이며 적용하지 않았습니다. 여기서는 vm.overcommit_memory를 바꿀 수 없습니다(root 권한이 필요하고, "
                      "컨테이너에서는 아예 바꿀 수 없습니다). 모드 {mode}{ratio}에서 다음 {step} malloc의 예측: "
                      "{reason}{steps} 직접 관리하는 시스템에서 해 보려면 {cmd}을(를) 실행하고, 끝나면 {back}(으)로 되돌리세요."),
    "oc_steps": (" At this rate it would refuse after about {k} more steps.",
                 " 이 속도라면 약 {k}단계 뒤에 거절됩니다."),
    "oc_unsafe": ("NOT APPLIED, shown as a prediction: with mode 2 and ratio {ratio} the commit headroom would be "
                  "{headroom} once this demo used its {reserve}, below the {floor} that must be kept for every other "
                  "process on this machine. Choose a larger ratio. Prediction for the next malloc of {step}: {reason}",
                  "적용하지 않고 예측만 보여 줍니다. 모드 2, ratio {ratio}에서는 이 실험이 {reserve}을(를) 쓰고 나면 커밋 여유가 "
                  "{headroom}뿐이라, 이 시스템의 다른 프로세스들을 위해 남겨 두어야 할 {floor}보다 작습니다. ratio를 더 크게 고르세요. "
                  "다음 {step} malloc 예측: {reason}"),
    "oc_busy": ("NOT APPLIED: another demo in this Jupyter kernel is holding vm.overcommit_memory changed; stop it "
                "first. ({err})",
                "적용하지 않음: 이 주피터 커널의 다른 실험이 vm.overcommit_memory를 바꿔 둔 상태입니다. 먼저 그 실험을 "
                "멈추세요({err})."),
})

_MARK = Texts({
    "start": ("start", "시작"),
    "touch_all": ("memset on", "memset 켬"),
    "touch_none": ("memset off", "memset 끔"),
    "touch_pct": ("memset {pct}%", "memset {pct}%"),
    "paused": ("pause", "일시정지"),
    "resumed": ("resume", "재개"),
    "failed": ("malloc failed ({errno})", "malloc 실패({errno})"),
    "cap": ("cap", "상한"),
    "done": ("done", "끝"),
    "killed": ("killed ({sig})", "강제 종료({sig})"),
    "stopped": ("stopped", "중지"),
    "exited": ("exited ({code})", "종료({code})"),
    "overcommit": ("overcommit {mode}", "overcommit {mode}"),
})


def _duration(ms: int, lang: str) -> str:
    if ms % 1000 == 0:
        return f"{ms // 1000} s" if lang == "en" else f"{ms // 1000}초"
    return f"{ms} ms"


@dataclass(frozen=True)
class Marker:
    """An event on the chart: ``t`` seconds since the sampler started, ``y`` VIRT in bytes then."""

    t: float
    kind: str  # start, touch, pause, resume, failed, cap, done, killed, stopped, exited, overcommit
    label: str
    y: float | None = None


# --- overcommit -------------------------------------------------------------------------------

@dataclass(frozen=True)
class OvercommitStatus:
    """What the overcommit control did: a real change, a pending one, or a labelled prediction."""

    mode: int
    ratio: int | None
    real: bool  # True: the system setting is (or will be, at start) really changed
    applied: bool  # True: it is set on the machine right now
    text: str
    command: str | None = None  # the sysctl to run by hand, when shown as a prediction
    prediction: overcommit.Prediction | None = None


class OvercommitControl:
    """Chooses an overcommit mode for a demo: really, when ``overcommit.can_change()``, else a prediction.

    The first real change enters ``overcommit.temporarily()`` (whose guard process restores the
    setting even if the kernel is killed); later changes inside the demo use ``set_mode``;
    ``release()`` leaves the block, which puts the original settings back.  While another
    process (another notebook) holds the settings, the change waits ``WAIT_SECONDS`` (a widget
    callback must not hang), then reports who holds them instead of applying.
    """

    WAIT_SECONDS = OVERCOMMIT_WAIT_SECONDS
    _BUSY_ELSEWHERE = ("NOT APPLIED: {err}", "적용하지 않음: {err}")

    def __init__(self, lang: str | None = None):
        self.lang = check_lang(lang)
        self.chosen: tuple[int, int | None] | None = None
        self._temp: overcommit.Temporary | None = None
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self._temp is not None

    def choose(self, mode: int, ratio: int | None = None) -> tuple[int, int | None]:
        """Remember the mode (and the ratio, used for mode 2 only); checks the values."""
        mode = validate.mode(mode)
        if ratio is not None:
            ratio = validate.whole("overcommit ratio", ratio, 1, 100, what=("a whole percentage such as 50", "퍼센트(50 같은 정수)"))
        self.chosen = (mode, ratio if mode == 2 else None)
        return self.chosen

    def _ratio_text(self, ratio: int | None) -> str:
        return f", vm.overcommit_ratio={ratio}" if ratio is not None else ""

    def _prediction(self, mode: int, ratio: int | None, step: int, command: str | None,
                    unsafe: dict | None = None) -> OvercommitStatus:
        p = overcommit.predict(step, mode, ratio)
        reason = p.text(self.lang)
        if unsafe is not None:
            text = _TEXT("oc_unsafe", self.lang, reason=reason, step=fmt_bytes(step), **unsafe)
            return OvercommitStatus(mode, ratio, False, False, text, None, p)
        steps = ""
        if mode == 2 and p.allowed and p.limit_bytes is not None and step:
            steps = _TEXT("oc_steps", self.lang, k=f"{p.limit_bytes // step:,}")
        orig = overcommit.settings()
        back = sysctl_command(orig.mode, orig.ratio if ratio is not None else None)
        text = _TEXT("oc_prediction", self.lang, mode=mode, ratio=self._ratio_text(ratio),
                  step=fmt_bytes(step), reason=reason, steps=steps, cmd=f"`{command}`", back=f"`{back}`")
        return OvercommitStatus(mode, ratio, False, False, text, command, p)

    def _unsafe(self, mode: int, ratio: int | None, reserve: int) -> dict | None:
        """For mode 2: None when safe, else the figures that say why not."""
        if mode != 2:
            return None
        st = overcommit.commit_state()
        headroom = st.vm_commit_limit(ratio=ratio) - st.committed_as - reserve
        floor = _model_common.MIN_COMMIT_HEADROOM
        if headroom >= floor:
            return None
        return {"ratio": ratio if ratio is not None else st.settings.ratio, "headroom": fmt_bytes(max(0, headroom)),
                "reserve": fmt_bytes(reserve), "floor": fmt_bytes(floor)}

    def describe_current(self) -> str:
        s = overcommit.settings()
        name = overcommit.MODE_NAMES.get(s.mode, ("?", "?"))[self.lang == "ko"]
        return _TEXT("oc_current", self.lang, mode=s.mode, name=name)

    def status(self, step: int, reserve: int, apply: bool) -> OvercommitStatus:
        """Apply the chosen mode now (``apply``) or say what will happen; ``step`` is the next request.

        ``reserve`` is the most this demo may still add to Committed_AS (checked for mode 2).
        """
        with self._lock:
            cur = overcommit.settings()
            if self.chosen is None:
                return OvercommitStatus(cur.mode, None, False, False, self.describe_current())
            mode, ratio = self.chosen
            same = cur.mode == mode and (ratio is None or cur.ratio == ratio)
            if same and self._temp is None:
                return OvercommitStatus(mode, ratio, False, False, self.describe_current())
            command = sysctl_command(mode, ratio)
            if not overcommit.can_change():
                return self._prediction(mode, ratio, step, command)
            unsafe = self._unsafe(mode, ratio, reserve)
            if unsafe is not None:
                self._release_locked()
                return self._prediction(mode, ratio, step, command, unsafe)
            if not apply:
                text = _TEXT("oc_pending", self.lang, mode=mode, ratio=self._ratio_text(ratio))
                return OvercommitStatus(mode, ratio, True, False, text)
            if self._temp is None:
                temp = overcommit.temporarily(mode, ratio, wait=self.WAIT_SECONDS)
                try:
                    temp.__enter__()
                except overcommit.OvercommitBusyError as e:  # another process's block (another notebook)
                    text = self._BUSY_ELSEWHERE[self.lang == "ko"].format(err=e.describe(self.lang))
                    return OvercommitStatus(mode, ratio, False, False, text)
                except RuntimeError as e:  # another temporarily() block is active in this process
                    return OvercommitStatus(mode, ratio, False, False, _TEXT("oc_busy", self.lang, err=e))
                self._temp = temp
            else:
                overcommit.set_mode(mode, ratio)
            orig = self._temp.original
            assert orig is not None
            text = _TEXT("oc_real", self.lang, mode=mode, ratio=self._ratio_text(ratio), orig=orig.mode)
            return OvercommitStatus(mode, ratio, True, True, text)

    def _release_locked(self) -> str | None:
        temp, self._temp = self._temp, None
        if temp is None:
            return None
        temp.__exit__(None, None, None)
        orig = temp.original
        assert orig is not None
        return _TEXT("restored", self.lang, mode=orig.mode, ratio=orig.ratio)

    def release(self) -> str | None:
        """Put the original settings back (if this control changed them); returns what it says then."""
        with self._lock:
            return self._release_locked()


# --- the malloc experiment ------------------------------------------------------------------

# One row per step of malloc_test. The program's own line gives step, ok, errno, requested, touched
# and the step's minor faults; virt, res, shr, rss_exact, minflt (the process's running total) and
# committed_as are read right after the line arrives, through the Sampler's reader (Sampler.read_now:
# the same kept-open files as the chart's samples). d_* are changes since the step before, except
# d_minflt: the faults of the whole process during this step (its malloc and memset) as malloc_test
# counts them, getrusage(RUSAGE_SELF), the same counter as /proc/PID/stat field 10. Unlike a difference
# of two readings it cannot be shifted by a reading that comes late (see _step). d_touched: bytes
# newly written. late: the reading came after the next step had begun (its mapping is in VIRT already:
# a loaded machine, a slow VM), so this row's d_* and the next row's hold part of another step.
STEP_COLUMNS = ("step", "t", "ok", "errno", "touch", "requested", "touched", "virt", "res", "shr",
                "rss_exact", "minflt", "committed_as", "d_virt", "d_res", "d_shr", "d_rss_exact", "d_minflt",
                "d_committed", "d_touched", "meaning", "late")
# The panel's shortest interval: each step is read from /proc right after its line arrives, and the
# reading must come before the next step. malloc_test itself takes 1 ms (programs.INTERVAL_MS_MIN).
PANEL_INTERVAL_MS_MIN = 10
_READ_KEYS = ("virt", "res", "shr", "minflt", "rss_exact", "committed_as")


class MallocExperiment:
    """``malloc_test`` under a Sampler: start, live controls, measured steps, markers, narration.

    Every public method may be called from a notebook cell or from a widget callback; the
    program's events are read by one pump thread, samples arrive from the Sampler's thread,
    and ``listeners`` (callables with no arguments) hear about every change.
    """

    def __init__(self, step_mib: int = 1, interval_ms: int = 1000, touch: bool = False,
                 touch_pct: int = 100, max_mib: int = programs.MAX_MIB_DEFAULT, hz: float = 5.0,
                 window: int = 600, lang: str | None = None, rlimit_as_mib: int | None = None):
        self.lang = check_lang(lang)
        self.configure(step_mib=step_mib, interval_ms=interval_ms, max_mib=max_mib,
                       rlimit_as_mib=rlimit_as_mib, _first=True)
        self.touch = bool(_check_bool("touch", touch))
        self.touch_pct = validate.whole("touch_pct", touch_pct, 1, 100, what=("a whole percentage", "퍼센트(정수)"))
        if isinstance(hz, bool) or not isinstance(hz, (int, float)) or not 0 < hz <= 50:
            raise error(ValueError, "hz must be between 0 and 50 samples per second, got {hz!r}; pass e.g. hz=5",
                        "hz는 초당 샘플 수로 0보다 크고 50 이하여야 합니다({hz!r}은(는) 쓸 수 없습니다). "
                        "hz=5처럼 주세요.", self.lang, hz=hz)
        self.hz = float(hz)
        self.window = validate.whole("window", window, 10, 100_000, what=("a whole number of samples", "샘플 수(정수)"))
        self.overcommit = OvercommitControl(self.lang)
        self.listeners: list[Callable[[], None]] = []
        self.program: Program | None = None
        self.sampler: Sampler | None = None
        self.state = "ready"  # ready -> running <-> paused -> finished
        self.closed = False
        self.final: str | None = None
        self.exit: str | None = None  # Program.exit_description("en") once it ended: English, for code
        self.exit_text: str | None = None  # Program.exit_description(lang): what the panel shows
        self.markers: list[Marker] = []
        self.narration: list[str] = [_TEXT("ready", self.lang)]
        self.events: list[dict] = []  # what the pump has handled, in order
        self.overcommit_status: OvercommitStatus | None = None
        self._steps: list[dict] = []
        self._baseline: dict | None = None
        self._chart_base: tuple | None = None  # (sampler, Committed_AS, minflt) the chart counts from
        self._last: dict | None = None
        self._fail_streak = 0
        self._stopping = False
        self._cond = threading.Condition(threading.RLock())
        self._pump: threading.Thread | None = None
        self.version = 0

    # --- configuration ---
    def configure(self, step_mib: int | None = None, interval_ms: int | None = None,
                  max_mib: int | None = None, rlimit_as_mib: int | None = None, _first: bool = False) -> None:
        """Change step size, interval, cap or RLIMIT_AS for the next start (not while running)."""
        if not _first and self.running:
            raise error(RuntimeError, "stop the experiment before changing step, interval or cap: malloc_test "
                        "reads them only when it starts (memset and overcommit work live)",
                        "단계 크기, 간격, 상한을 바꾸기 전에 실험을 멈추세요. malloc_test는 시작할 때만 이 값을 "
                        "읽습니다(memset과 오버커밋은 실행 중에도 바뀝니다).", self.lang)
        if step_mib is not None:
            self.step_mib = validate.whole("step_mib", step_mib, 1, programs.STEP_MIB_MAX)
        if interval_ms is not None:
            self.interval_ms = validate.whole("interval_ms", interval_ms, PANEL_INTERVAL_MS_MIN,
                                              programs.INTERVAL_MS_MAX)
        if max_mib is not None:
            self.max_mib = validate.whole("max_mib", max_mib, 1, programs.MAX_MIB_MAX)
        if self.max_mib < self.step_mib:
            raise error(ValueError, "max_mib ({max_mib}) must be at least step_mib ({step_mib}); raise max_mib "
                        "or lower step_mib",
                        "max_mib({max_mib})는 step_mib({step_mib}) 이상이어야 합니다. max_mib를 늘리거나 "
                        "step_mib를 줄이세요.", self.lang, max_mib=self.max_mib, step_mib=self.step_mib)
        if rlimit_as_mib is not None or _first:
            self.rlimit_as_mib = None if rlimit_as_mib is None else validate.whole(
                "rlimit_as_mib", rlimit_as_mib, 8, programs.MAX_MIB_MAX,
                hint=("malloc_test needs a few MiB of address space to start",
                      "malloc_test가 시작하려면 주소 공간이 몇 MiB 필요합니다."))

    @property
    def running(self) -> bool:
        return self.state in ("running", "paused")

    @property
    def status(self) -> str:
        """The latest narration line."""
        return self.narration[-1]

    def _touch_arg(self) -> str | int:
        if not self.touch:
            return "none"
        return "all" if self.touch_pct == 100 else self.touch_pct

    def _notify(self) -> None:
        with self._cond:
            self.version += 1
            self._cond.notify_all()
        for fn in list(self.listeners):
            try:
                fn()
            except Exception:  # a view's trouble must not stop the model
                pass

    def _say(self, text: str) -> None:
        with self._cond:
            self.narration.append(text)
            del self.narration[:-200]

    def _rel(self, t: float) -> float:
        s = self.sampler
        return t - s.t0 if s is not None and s.t0 is not None else 0.0

    def _add_marker(self, t: float, kind: str, label: str, y: float | None) -> None:
        with self._cond:
            self.markers.append(Marker(round(self._rel(t), 3), kind, label, y))
            del self.markers[:-500]

    # --- life cycle ---
    def start(self, timeout: float = 5.0) -> MallocExperiment:
        """Start malloc_test (waiting for 'go'), the sampler, then let it go: no first step missed."""
        if self.closed:
            raise error(RuntimeError, "this panel was closed; create a new one",
                        "이 패널은 닫혔습니다. 새 패널을 만드세요.", self.lang)
        if self.running:
            return self
        prog = programs.malloc_test(self.step_mib, self.interval_ms, self._touch_arg(), self.max_mib,
                                    wait_go=True)
        if self.rlimit_as_mib is not None:
            prog.preexec_fn = overcommit.rlimit_as_preexec(self.rlimit_as_mib * MiB)
        with self._cond:
            self.markers, self.events, self._steps = [], [], []
            self.final = self.exit = self.exit_text = None
            self._fail_streak = 0
            self._stopping = False
        prog.start(timeout=timeout)
        step = self.step_mib * MiB
        sampler: Sampler | None = None
        try:  # the program waits for 'go': nothing it does is missed while the rest is set up
            # full: the exact Rss (smaps_rollup) rides beside top's RES, in the chart and the step table
            sampler = Sampler(prog, hz=self.hz, maxlen=self.window, system=True, full=True,
                              on_sample=lambda rows: self._notify())
            self._baseline = self._last = self._reading(sampler)
            self.overcommit_status = self.overcommit.status(step, self.max_mib * MiB, apply=True)
        except BaseException:
            if sampler is not None:
                sampler.stop()  # closes the files the baseline reading opened
            prog.stop()
            self.overcommit.release()
            raise
        self.program, self.sampler = prog, sampler
        self.sampler.start()
        with self._cond:
            self.state = "running"
        self._pump = threading.Thread(target=self._pump_events, args=(prog,), name="toplab-pump",
                                      daemon=True)
        self._pump.start()
        how = (_TEXT("how_none", self.lang) if not self.touch else _TEXT("how_all", self.lang)
               if self.touch_pct == 100 else _TEXT("how_pct", self.lang, pct=self.touch_pct))
        self._say(_TEXT("started", self.lang, pid=prog.pid, interval=_duration(self.interval_ms, self.lang),
                     step=fmt_bytes(step), how=how))
        if self.overcommit_status.applied:
            self._say(self.overcommit_status.text)
        prog.send("go")
        self._notify()
        return self

    def stop(self, timeout: float = 5.0) -> str:
        """Stop the program and the sampler, restore overcommit; returns the final narration."""
        prog = self.program
        if prog is not None and self.running:
            with self._cond:
                self._stopping = True
            prog.stop()
        pump = self._pump
        if pump is not None and pump is not threading.current_thread():
            pump.join(timeout)
        if self.sampler is not None:
            self.sampler.stop()
        self._release_overcommit()
        self._notify()
        return self.final or self.status

    def _release_overcommit(self) -> None:
        """Put the overcommit settings back; the control then says what the next start will do."""
        restored = self.overcommit.release()
        if restored:
            self._say(restored)
            if self.overcommit.chosen is not None:
                self.overcommit_status = self.overcommit.status(self.step_mib * MiB, self.max_mib * MiB,
                                                                apply=False)
            else:
                self.overcommit_status = None

    def close(self, replaced: bool = False) -> None:
        """Stop everything; the experiment cannot be started again."""
        was_running = self.running
        self.stop()
        self.closed = True
        if replaced and was_running:
            self._say(_TEXT("replaced", self.lang))
            self._notify()
        self.listeners.clear()

    # --- live controls ---
    def _wait_event(self, since: int, names: Iterable[str], timeout: float) -> dict:
        names = set(names)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ev in self.events[since:]:
                    if ev["event"] in names:
                        return ev
                left = deadline - time.monotonic()
                if left <= 0 or self.state == "finished":
                    break
                self._cond.wait(left)
        raise error(ProgramError, "malloc_test did not acknowledge within {timeout} s ({how}); stop the panel "
                    "and start it again",
                    "malloc_test가 {timeout}초 안에 응답하지 않았습니다({how}). 패널을 멈춘 뒤 다시 시작하세요.",
                    self.lang, timeout=timeout,
                    how=self.exit_text or (self.program.exit_description(self.lang) if self.program
                                           else _TEXT("state_running", self.lang)))

    def _command(self, command: str, ack: Iterable[str], timeout: float) -> dict:
        prog = self.program
        if prog is None or not self.running:
            raise error(ProgramError, "malloc_test is not running: start it first",
                        "malloc_test가 실행 중이 아닙니다. 먼저 시작하세요.", self.lang)
        with self._cond:
            since = len(self.events)
        prog.send(command)
        return self._wait_event(since, ack, timeout)

    def set_touch(self, on: bool | int, timeout: float = 2.0) -> dict | None:
        """memset on (True), off (False) or a percent 1-100, live; returns the program's acknowledgement.

        When the program is not running, the choice is kept for the next start (returns None).
        """
        if isinstance(on, bool):
            self.touch = on
        else:
            self.touch_pct = validate.whole("touch percent", on, 1, 100)
            self.touch = True
        if not self.running:
            self._notify()
            return None
        arg = "off" if not self.touch else ("on" if self.touch_pct == 100 else str(self.touch_pct))
        return self._command(f"touch {arg}", ["touch"], timeout)

    def set_touch_percent(self, pct: int, timeout: float = 2.0) -> dict | None:
        """How much of each block memset writes (1-100); sent live only while memset is on."""
        self.touch_pct = validate.whole("touch percent", pct, 1, 100)
        if not self.running or not self.touch:
            self._notify()
            return None
        return self.set_touch(self.touch_pct, timeout)

    def pause(self, timeout: float = 2.0) -> dict:
        return self._command("pause", ["paused"], timeout)

    def resume(self, timeout: float = 2.0) -> dict:
        return self._command("resume", ["resumed"], timeout)

    def set_overcommit(self, mode: int, ratio: int | None = None) -> OvercommitStatus:
        """Choose vm.overcommit_memory for this demo: real when possible (restored at stop), else a prediction."""
        self.overcommit.choose(mode, ratio)
        requested = self._last_requested()
        reserve = max(0, self.max_mib * MiB - requested) if self.running else self.max_mib * MiB
        st = self.overcommit.status(self.step_mib * MiB, reserve, apply=self.running)
        self.overcommit_status = st
        if st.applied and self.running:
            self._say(st.text)
            y = self._last["virt"] if self._last else None
            self._add_marker(time.monotonic(), "overcommit", _MARK("overcommit", self.lang, mode=st.mode), y)
        self._notify()
        return st

    def _last_requested(self) -> int:
        with self._cond:
            for row in reversed(self._steps):
                return int(row["requested"])
        return 0

    # --- the event pump ---
    def _pump_events(self, prog: Program) -> None:
        try:
            while True:
                for ev in prog.iter_events(timeout=0.25):
                    self._safe_handle(ev)
                if prog.returncode is not None:
                    for ev in prog.iter_events(timeout=0.05):  # whatever came just before the end
                        self._safe_handle(ev)
                    break
                time.sleep(0.02)  # iter_events returns at once after EOF: no busy loop until exit
        finally:
            self._finish(prog)

    def _safe_handle(self, ev: dict) -> None:
        try:
            self._handle(ev)
        except Exception as e:  # keep reading: the program must still be seen to its end
            self._say(f"(internal: {type(e).__name__}: {e} while handling {ev.get('event')})")

    def _handle(self, ev: dict) -> None:
        name = ev["event"]
        t = float(ev.get("t", time.monotonic()))  # type: ignore[arg-type]
        lang = self.lang
        now = self._reading(self.sampler) if name in ("step", "go", "touch") else None
        y = (now or self._last or {}).get("virt")
        if name == "go":
            self._add_marker(t, "start", _MARK("start", lang), y)
        elif name == "step":
            self._step(ev, t, now)
        elif name == "touch":
            mode = ev.get("mode")
            if mode == "all":
                key, kw = "touch_all", {}
            elif mode == "none":
                key, kw = "touch_none", {}
            else:
                key, kw = "touch_pct", {"pct": mode}
            self._add_marker(t, "touch", _MARK(key, lang, **kw), y)
            self._say(_TEXT(key, lang, **kw))
        elif name in ("paused", "resumed"):
            with self._cond:
                if self.state != "finished":
                    self.state = "paused" if name == "paused" else "running"
            self._add_marker(t, name, _MARK(name, lang), y)
            self._say(_TEXT(name, lang))
        elif name == "cap":
            self._add_marker(t, "cap", _MARK("cap", lang), y)
            self._say(_TEXT("cap", lang, max=fmt_bytes(int(ev.get("max", self.max_mib * MiB)))))  # type: ignore[arg-type]
        elif name == "done":
            self._add_marker(t, "done", _MARK("done", lang), y)
            self._say(_TEXT("done", lang, n=ev.get("steps")))
        elif name == "error":
            self._say(_TEXT("error", lang, msg=ev.get("msg")))
        with self._cond:
            self.events.append(ev)
            del self.events[:-2000]
            self._cond.notify_all()
        self._notify()

    def _step(self, ev: dict, t: float, now: dict | None) -> None:
        lang = self.lang
        n = int(ev["n"])
        ok = bool(ev.get("ok"))
        prev = self._last or self._baseline or {}
        with self._cond:
            prev_touched = int(self._steps[-1]["touched"]) if self._steps else 0
            prev_requested = int(self._steps[-1]["requested"]) if self._steps else 0
        touched = int(ev.get("touched", 0))
        step_bytes = self.step_mib * MiB
        row: dict = {"step": n, "t": round(self._rel(t), 3), "ok": ok, "errno": ev.get("errno", ""),
                     "touch": "none" if not self.touch else ("all" if self.touch_pct == 100 else self.touch_pct),
                     "requested": int(ev.get("requested", 0)), "touched": touched}
        for k in _READ_KEYS:
            row[k] = now[k] if now else float("nan")
            row["d_" + ("committed" if k == "committed_as" else k)] = (
                now[k] - prev[k] if now and k in prev else float("nan"))
        # The step's faults as the program counted them around its malloc and memset: the same counter
        # as the reading's minflt, but not moved by the reading's timing (a reading that comes after the
        # next step has begun would give this step too many faults and the next too few). Step 1's
        # difference of readings would also count the handling of 'go'.
        if isinstance(ev.get("minflt"), int):
            row["d_minflt"] = ev["minflt"]
        d_touched = touched - prev_touched
        row["d_touched"] = d_touched
        if not ok:
            meaning = _TEXT("meaning_failed", lang)
        elif d_touched <= 0:
            meaning = _TEXT("meaning_reserved", lang)
        elif d_touched >= step_bytes:
            meaning = _TEXT("meaning_written", lang)
        else:
            meaning = _TEXT("meaning_partial", lang, pct=round(100 * d_touched / step_bytes))
        row["meaning"] = meaning
        # This step mapped its request plus malloc's header, rounded up to a page: more VIRT than that
        # since the last reading means the next step's mmap came before this reading did.
        grew = now["virt"] - prev["virt"] if now and "virt" in prev else 0
        row["late"] = bool(grew > row["requested"] - prev_requested + 2 * procfs.PAGE_SIZE)
        if now:
            self._last = now
        with self._cond:
            self._steps.append(row)
            del self._steps[:-5_000]  # about 1 KiB a row: a forgotten panel stays small
        if ok:
            self._fail_streak = 0
            df = row["d_minflt"]
            self._say(_TEXT("step", lang, n=n, dv=fmt_delta(row["d_virt"]), dr=fmt_delta(row["d_res"]),
                         df="?" if isinstance(df, float) else f"{df:,}", s="" if df == 1 else "s",
                         meaning=meaning))
        else:
            errno = ev.get("errno", "ENOMEM")
            if self._fail_streak == 0:  # one marker per run of failures, not one per step
                self._add_marker(t, "failed", _MARK("failed", lang, errno=errno), row["virt"])
            self._fail_streak += 1
            self._say(_TEXT("step_failed", lang, n=n, step=fmt_bytes(step_bytes), errno=errno))

    def _finish(self, prog: Program) -> None:
        """The program has ended (stopped, exited, or killed): record how, once."""
        try:
            prog.proc.wait(timeout=5)  # type: ignore[union-attr]
        except Exception:
            pass
        lang = self.lang
        desc = prog.exit_description("en")  # self.exit: English, for code
        how = prog.exit_description(lang)  # what the panel shows
        if prog.stopped_by:
            desc = f"{desc} ({prog.stopped_by})"
            how = f"{how} ({prog.stopped_by})"
        rc = prog.returncode
        last = self._last or {}
        n = len(self._steps)
        kw = {"n": n, "virt": fmt_bytes(last.get("virt", 0)), "res": fmt_bytes(last.get("res", 0))}
        t = time.monotonic()
        y = last.get("virt")
        if self._stopping:
            text = _TEXT("stopped", lang, **kw)
            self._add_marker(t, "stopped", _MARK("stopped", lang), y)
        elif rc is not None and rc < 0:
            try:
                sig = signal.Signals(-rc).name
            except ValueError:
                sig = say(("signal {n}", "시그널 {n}"), lang, n=-rc)
            text = _TEXT("killed", lang, sig=sig, **kw)
            if prog.stopped_by:
                text += f" ({prog.stopped_by})"
            self._add_marker(t, "killed", _MARK("killed", lang, sig=sig), y)
        else:
            text = _TEXT("exited", lang, desc=how, **kw)
            self._add_marker(t, "exited", _MARK("exited", lang, code=rc), y)
        with self._cond:
            self.exit = desc
            self.exit_text = how
            self.final = text
            self.state = "finished"
            self.narration.append(text)
            self._cond.notify_all()
        self._release_overcommit()
        self._notify()

    @staticmethod
    def _reading(sampler: Sampler | None) -> dict | None:
        """VIRT/RES/SHR/minflt of the program, its exact Rss and Committed_AS, read now through the
        sampler's own reader (Sampler.read_now); None once the program is gone. RES is top's figure
        (statm), a cached counter that can lag before 6.16, so the exact Rss rides beside it (nan
        where unreadable)."""
        if sampler is None:
            return None
        row = sampler.read_now(sampler.pids[0])  # the sampler samples the program alone
        if row is None:
            return None
        out = {k: row.get(k) for k in _READ_KEYS}
        if out["rss_exact"] is None:
            out["rss_exact"] = float("nan")
        if out["committed_as"] is None:
            out["committed_as"] = float("nan")
        return out

    # --- results ---
    def wait_steps(self, n: int, timeout: float = 30.0) -> pd.DataFrame:
        """Block until this run has made ``n`` steps; returns step_table(). Raises if it ends first."""
        n = validate.whole("n", n, 1, what=("a whole number of steps", "단계 수(정수)"))
        if self.program is None:
            raise error(ProgramError, "malloc_test is not running: call start() first",
                        "malloc_test가 실행 중이 아닙니다. 먼저 start()를 호출하세요.", self.lang)
        deadline = time.monotonic() + timeout
        try:
            with self._cond:
                while len(self._steps) < n:
                    if self.state == "finished":
                        raise error(ProgramError, *_TEXT["no_steps"], self.lang, k=len(self._steps), n=n,
                                    final=self.final)
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise error(TimeoutError, *_TEXT["timeout"], self.lang, k=len(self._steps), n=n,
                                    timeout=timeout, interval=_duration(self.interval_ms, self.lang))
                    self._cond.wait(min(left, 0.5))
        except KeyboardInterrupt:
            # The reader interrupted the cell that was waiting for this demo: end the demo too, even
            # when the interrupt reached only the kernel (not its whole process group).
            self.stop()
            raise
        return self.step_table()

    def step_table(self) -> pd.DataFrame:
        """One row per step of this run: the program's totals and VIRT/RES/SHR/faults/Committed_AS
        measured right after it, with ``d_*`` changes since the step before (bytes and counts);
        ``d_minflt`` is the step's faults as the program counted them (see STEP_COLUMNS)."""
        with self._cond:
            rows = list(self._steps)
        import pandas as pd

        return pd.DataFrame(rows, columns=list(STEP_COLUMNS))

    def res_lags(self) -> bool:
        """Did top's RES (statm) differ from the exact Rss (smaps_rollup) after some step of this run?

        Both are read together right after a step, while malloc_test sleeps, so a difference of a
        page or more is the kernel's cached RSS counter lagging (kernels before 6.16), not a race.
        """
        with self._cond:
            rows = list(self._steps)
        return kernelcase.counter_lags((r["res"], r["rss_exact"]) for r in rows)

    def data(self) -> pd.DataFrame:
        """Every sample in the window (the Sampler's DataFrame: ``t`` in seconds, sizes in bytes)."""
        if self.sampler is None:
            import pandas as pd

            return pd.DataFrame(columns=["t", "pid", "virt", "res", "shr"])
        return self.sampler.to_dataframe()

    def latest(self) -> dict | None:
        """The newest sample (a dict of the Sampler's columns), or None."""
        if self.sampler is None:
            return None
        return self.sampler.last()

    def chart_since(self, after: float | None = None) -> dict:
        """The chart's series for the samples newer than ``after`` (seconds; None: the whole window).

        A live chart sends only these: its history stays in the page. The changes of
        Committed_AS and of the fault count are measured from this run's baseline (or, without
        one, from the run's first sample), so appended points line up with earlier ones.
        """
        s = self.sampler
        rows = s.rows_after(after) if s is not None else []
        with self._cond:
            if self._chart_base is None or self._chart_base[0] is not s:
                base = self._baseline or {}
                first = rows[0] if rows else {}
                c0 = base.get("committed_as", first.get("committed_as"))
                f0 = base.get("minflt", first.get("minflt"))
                if s is not None and rows and (c0 is not None or f0 is not None):
                    self._chart_base = (s, c0, f0)
            else:
                c0, f0 = self._chart_base[1], self._chart_base[2]
        return {
            "after": rows[-1]["t"] if rows else after,  # unrounded: the next call's ``after``
            # 0.1 ms: a sampler that fell behind samples again at once, so two samples may be 1 ms apart
            "t": [round(r["t"], 4) for r in rows],
            "virt": [round(r["virt"] / MiB, 3) for r in rows],
            "res": [round(r["res"] / MiB, 3) for r in rows],
            "shr": [round(r["shr"] / MiB, 3) for r in rows],
            "rss_exact": [None if r.get("rss_exact") is None else round(r["rss_exact"] / MiB, 3) for r in rows],
            "committed": [round((r["committed_as"] - c0) / MiB, 2)
                          if r.get("committed_as") is not None and c0 is not None else None for r in rows],
            "minflt": [r["minflt"] - f0 if f0 is not None else None for r in rows],
        }

    def chart_markers(self, t_min: float | None = None) -> list[dict]:
        """The chart's markers (the newest 50 at or after ``t_min`` - 0.5 s): t, kind, label, y in MiB."""
        with self._cond:
            marks = [m for m in self.markers if t_min is None or m.t >= t_min - 0.5][-50:]
        last = self.latest()
        top = last["virt"] / MiB if last else 0.0
        return [{"t": m.t, "kind": m.kind, "label": m.label, "y": (m.y / MiB) if m.y is not None else top}
                for m in marks]

    def chart(self) -> dict:
        """What the chart shows now, ready to plot: MiB series, changes since start, markers, title."""
        rows = self.sampler.rows() if self.sampler is not None else []
        base = self._baseline or {}
        c0 = base.get("committed_as")
        f0 = base.get("minflt")
        if rows:
            c0 = rows[0]["committed_as"] if c0 is None else c0
            f0 = rows[0]["minflt"] if f0 is None else f0
        out = {
            "t": [r["t"] for r in rows],
            "virt": [r["virt"] / MiB for r in rows],
            "res": [r["res"] / MiB for r in rows],
            # the exact Rss (smaps_rollup) beside top's RES: they differ where the kernel's counter lags
            "rss_exact": [None if r.get("rss_exact") is None else r["rss_exact"] / MiB for r in rows],
            "shr": [r["shr"] / MiB for r in rows],
            "committed": [(r["committed_as"] - c0) / MiB if r.get("committed_as") is not None else None
                          for r in rows],
            "minflt": [r["minflt"] - f0 for r in rows],
        }
        t_min = out["t"][0] if out["t"] else 0.0
        with self._cond:
            marks = [m for m in self.markers if m.t >= t_min - 0.5][-50:]
        out["markers"] = [{"t": m.t, "kind": m.kind, "label": m.label,
                           "y": (m.y / MiB) if m.y is not None else (out["virt"][-1] if out["virt"] else 0.0)}
                          for m in marks]
        out["state"] = self.state
        out["title"] = self.title()
        return out

    def title(self) -> str:
        """The chart's title: what runs now, or how it ended."""
        pid = self.program.pid if self.program else None
        lang = self.lang
        if self.state == "finished":
            return _TEXT("title_finished", lang, pid=pid, how=self.exit_text or self.exit, n=len(self._steps))
        if self.state in ("running", "paused"):
            touch = _TEXT("title_touch_off", lang) if not self.touch else f"memset {self.touch_pct}%"
            state = _TEXT("state_" + self.state, lang)
            return _TEXT("title_running", lang, pid=pid, state=state, step=fmt_bytes(self.step_mib * MiB),
                      interval=_duration(self.interval_ms, lang), touch=touch)
        return _TEXT("title_ready", lang)


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise error(TypeError, "{name} must be True or False, not {value!r}",
                    "{name}에는 True나 False를 주세요({value!r}은(는) 쓸 수 없습니다).", name=name, value=value)
    return value

