"""Chapter 2.3, VIRT, RES and memory commit: the experiments behind every table, and the questions.

Each function starts real programs (``malloc_test``, ``big_alloc``, a tiny Python mmap reader),
measures them through /proc and returns plain data (DataFrames, dataclasses) for the notebook
to show; printed sentences carry the measured numbers, in the notebook's language.  Nothing
here changes the machine for longer than one short ``with`` block: vm.overcommit_memory goes
through ``overcommit.temporarily()``, the OOM demo's memory cgroup is removed before returning.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import re
import signal
import time
from dataclasses import dataclass, field

import pandas as pd

from .. import FAST, children, kernelcase, overcommit, procfs, programs, quiz, safety
from ..cgroup import MemoryCage
from ..i18n import LANGS, check_lang, error, josa, pick, quote
from ..metrics import process_sample
from ..procfs import ProcessGone
from ..safety import GiB, MiB, fmt_bytes
from ..sampler import Sampler

__all__ = [
    "INTERVAL_MS", "STEPS", "PAGE", "machine", "mmap_size", "run_steps", "step_view", "step_summary",
    "explain_steps", "commit_now",
    "res_per_step", "faults_per_step", "book_vs_ours", "beyond_int",
    "zero_page_demo", "commit_probe", "CommitProbe", "try_alloc", "AllocResult", "mode0_boundary",
    "modes_table", "rlimit_demo", "RlimitResult", "MemoryCage", "oom_demo", "OomResult",
    "oom_chart", "check_oom", "trace_malloc", "TraceResult", "RECORDED_TRACE", "page_tables", "book_10gb",
    "BOOK_RAM",
]

KiB = 1024
TiB = 1 << 40
PAGE = procfs.PAGE_SIZE

# --- parameters: the same cells, shorter runs in fast mode (CI) -------------------------
INTERVAL_MS = 200 if FAST else 1000  # one malloc_test step per interval, as the book's 1 s
STEPS = 5 if FAST else 10  # steps per phase (memset off, then on)


def _panel_cap(wanted: int = 128) -> int:
    """The panel's hard cap in MiB (what it may touch if memset stays on), within the demo budget."""
    try:
        budget_mib = safety.budget().bytes // MiB
    except (OSError, ValueError):
        return wanted
    # Half of today's budget: the budget shrinks as the kernel and the lab grow under a hub's
    # MEM_LIMIT, and the panel is created later than this module is imported.
    return max(2 * STEPS + 2, min(wanted, budget_mib // 2))  # both phases fit even on a tight budget


PANEL_MAX_MIB = _panel_cap()
ZERO_PAGE_MIB = 64
COMMIT_PROBE_BYTES = 256 * MiB
COMMIT_REPEATS = 3
RLIMIT_MIB = 32
OOM_LIMIT_MIB = 64
OOM_INTERVAL_MS = 20 if FAST else 100
# glibc (malloc/malloc.c sysmalloc): an mmapped chunk is ALIGN_UP(request2size(n) + SIZE_SZ, page),
# i.e. the request + 24 bytes on 64-bit; the pointer malloc returns sits 16 bytes into the mapping.
MMAP_OVERHEAD = 24
CHUNK_OFFSET = 16
# Book figure: its screenshot shows RES frozen at 1640 KiB while VIRT climbs 1028 KiB a step.
BOOK_FROZEN_RES_KIB = 1640


def _kib(n: float) -> float:
    return n / KiB


def _say(en: str, ko: str) -> str:
    text = pick(en, ko)
    print(text)
    return text


# --- the machine ------------------------------------------------------------------------

def machine():
    """What this chapter depends on here: page size, RAM, swap, the commit figures, whether the
    mode can be changed, and whether the OOM demo can run (a table; the raw values in ``.attrs``)."""
    st = overcommit.commit_state()
    method, why = overcommit.change_method()
    cage_ok, cage_why = MemoryCage.available()
    budget = safety.budget()
    s = st.settings
    info: dict[str, object] = {
        "page_size": st.page_size, "mem_total": st.mem_total, "swap_total": st.swap_total,
        "mode": s.mode, "ratio": s.ratio, "kbytes": s.kbytes, "commit_limit": st.commit_limit,
        "committed_as": st.committed_as, "can_change": method is not None, "change_why": why,
        "cage": cage_ok, "cage_why": cage_why, "budget": budget.bytes,
    }
    thp = kernelcase.thp_mode()
    lag = kernelcase.res_counter()
    info.update(kernel=os.uname().release, thp=thp, res_lags=lag.lags)
    rows = [
        (pick("Kernel", "커널"), os.uname().release),
        (pick("Page size", "페이지 크기"), fmt_bytes(st.page_size)),
        (pick("Transparent huge pages", "투명 거대 페이지(THP)"),
         thp or pick("not available", "없음")),
        (pick("top's RES counter (probe)", "top의 RES 카운터(측정)"), lag.describe()),
        ("RAM (MemTotal)", fmt_bytes(st.mem_total)),
        (pick("Swap (SwapTotal)", "스왑(SwapTotal)"), fmt_bytes(st.swap_total)),
        ("vm.overcommit_memory", f"{s.mode}: {overcommit.MODE_NAMES[s.mode][pick('en', 'ko') == 'ko']}"),
        ("vm.overcommit_ratio", f"{s.ratio}" + (f" (overcommit_kbytes={s.kbytes})" if s.kbytes else "")),
        ("CommitLimit / Committed_AS", f"{fmt_bytes(st.commit_limit)} / {fmt_bytes(st.committed_as)}"),
        (pick("Can change the mode here", "여기서 모드 변경 가능"), _yes_because(bool(method), _why_change(method, why))),
        (pick("Memory cgroup for the OOM demo", "OOM 실험용 메모리 cgroup"),
         _yes_because(bool(cage_ok), cage_why)),
        (pick("Demo memory budget", "실험 메모리 예산"), str(budget)),
    ]
    return _table(rows, info)


def _yes_because(flag: bool, why: str) -> str:
    """'yes (why)' / '예(why)': not '예: …', which a Korean reader takes for 'for example'."""
    answer = pick("yes", "예") if flag else pick("no", "아니요")
    return pick(f"{answer} ({why})", f"{answer}({why})") if why else answer


def _why_change(method: str | None, why: str) -> str:
    if method == "write":
        return pick("/proc/sys/vm/overcommit_memory is writable here", "/proc/sys/vm/overcommit_memory에 쓸 수 있음")
    if method == "sudo":
        return pick("passwordless sudo works", "암호 없는 sudo를 쓸 수 있음")
    return why  # change_method() says why in the notebook's language


def _table(rows: list[tuple[str, str]], attrs: dict | None = None):
    """Rows of (what, value) as a table with left-aligned text (a pandas Styler; the DataFrame,
    with ``attrs``, is its ``.data``)."""
    df = pd.DataFrame([v for _, v in rows], index=pd.Index([k for k, _ in rows]),
                      columns=[pick("value", "값")])
    df.attrs.update(attrs or {})
    return _left(df)


def _left(df: pd.DataFrame):
    """A DataFrame styled with left-aligned cells and headers, for tables of words rather than numbers."""
    return (df.style.set_properties(**{"text-align": "left"})
            .set_table_styles([{"selector": "th", "props": [("text-align", "left")]}]))


def _display(obj: object) -> None:
    """Show a DataFrame in a notebook, or print it in a terminal."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover
        get_ipython = None  # noqa: N806
    if get_ipython is not None and get_ipython() is not None:
        display(obj)
    else:
        print(obj.to_string() if isinstance(obj, pd.DataFrame) else obj)


def _sentence_case(text: str) -> str:
    """The first letter up, the rest as it is ('killed by SIGKILL' -> 'Killed by SIGKILL')."""
    return text[:1].upper() + text[1:]


def _with(errno: str | None) -> str:
    """'ENOMEM으로', 'EPERM으로': an errno name with the Korean particle that fits it."""
    return josa(errno, "(으)로")


# --- malloc_test: the step table --------------------------------------------------------

def mmap_size(request: int = MiB, page: int | None = None) -> int:
    """What one malloc(request) above the mmap threshold maps: request + 24 bytes, whole pages
    (of ``page`` bytes; default: the page size procfs reads statm with)."""
    page = procfs.PAGE_SIZE if page is None else page
    nb = max(32, (request + 8 + 15) & ~15)  # request2size: + SIZE_SZ, 16-byte aligned
    return -(-(nb + 8) // page) * page  # + SIZE_SZ again for an mmapped chunk, then whole pages


def _usable_steps(steps: pd.DataFrame) -> pd.DataFrame:
    """Successful steps after the first (the first run of a code path also faults in program text),
    without the readings that came late (after the next step's mmap, on a loaded machine) and the
    steps right after them: their changes mix two steps."""
    if steps is None or len(steps) == 0:
        return pd.DataFrame(columns=getattr(steps, "columns", []))
    keep = steps["ok"].astype(bool) & (steps["step"] > 1)
    if "late" in steps:
        late = steps["late"].fillna(False).astype(bool)
        keep &= ~late & ~late.shift(1, fill_value=False)
    df = steps[keep].copy()
    return df.dropna(subset=["d_virt", "d_res", "d_minflt"])


def _phases(steps: pd.DataFrame) -> dict[str, pd.DataFrame]:
    df = _usable_steps(steps)
    written = df["d_touched"] > 0 if len(df) else pd.Series(dtype=bool)
    return {"malloc": df[~written] if len(df) else df, "memset": df[written] if len(df) else df}


def _exact(df: pd.DataFrame) -> pd.Series | None:
    """The exact Rss change per step (smaps_rollup), or None where it could not be read."""
    if "d_rss_exact" not in df or df["d_rss_exact"].isna().all():
        return None
    return df["d_rss_exact"].dropna()


@dataclass(frozen=True)
class ResLag:
    """How top's RES (statm, a cached counter) compares with the exact Rss over the same steps."""

    steps: int
    statm_per_step: float  # median statm RES change per step, bytes
    exact_per_step: float | None  # median smaps_rollup Rss change per step, bytes (None: unreadable)
    statm_total: float  # statm RES change over all the steps
    exact_total: float | None
    gap: float = 0.0  # the largest |statm RES - exact Rss| right after a step, bytes

    @property
    def lagging(self) -> bool:
        """statm RES and the exact Rss parted by a page or more, right after a step or summed over the
        steps: the counter lags on this kernel (``kernelcase.counter_lags``, the rule the probe uses)."""
        if self.exact_total is None:
            return False
        return kernelcase.counter_lags([(self.statm_total, self.exact_total), (self.gap, 0)], PAGE)

    @property
    def missed_pages(self) -> int:
        return 0 if self.exact_total is None else round((self.exact_total - self.statm_total) / PAGE)


def res_lag(steps: pd.DataFrame, part: str = "malloc") -> ResLag:
    """Compare statm RES with the exact Rss over the ``part`` steps ("malloc" or "memset")."""
    df = _phases(steps)[part]
    if len(df) == 0:
        raise error(ValueError, "no {part} steps measured yet (run the experiment first)",
                    "아직 측정한 {part} 단계가 없습니다. 먼저 실험을 실행하세요.", part=part)
    ex = _exact(df)
    gap = 0.0
    if ex is not None and "rss_exact" in df and "res" in df:
        both = df[["res", "rss_exact"]].dropna()
        gap = float((both["res"] - both["rss_exact"]).abs().max()) if len(both) else 0.0
    return ResLag(len(df), float(df["d_res"].median()), None if ex is None else float(ex.median()),
                  float(df["d_res"].sum()), None if ex is None else float(ex.sum()), gap)


def _kernel_version(release: str) -> tuple[int, int] | None:
    m = re.match(r"(\d+)\.(\d+)", release)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _why_cached(release: str) -> tuple[str, str]:
    """Why statm's RES is late on this kernel, from its version (en, ko)."""
    v = _kernel_version(release)
    if v is not None and v < (6, 2):
        return ("this kernel collects each thread's RSS changes and publishes them to the process's counter "
                "every 64 page faults (or when the thread exits or execs)",
                "이 커널은 스레드마다 RSS 변화를 모아 두었다가 페이지 폴트 64번마다(또는 스레드가 끝나거나 "
                "exec할 때) 프로세스의 카운터에 반영합니다")
    if v is not None and v < (6, 16):
        return ("this kernel keeps the counter per CPU, and statm reads only the shared total, which each CPU "
                "tops up once its share reaches a batch (32 pages or more)",
                "이 커널은 카운터를 CPU별로 나눠 두고, statm은 공유 합계만 읽습니다. 각 CPU는 자기 몫이 한 "
                "묶음(32페이지 이상)에 이르러야 합계에 보탭니다")
    return ("the counter statm reads is updated apart from the page tables",
            "statm이 읽는 카운터는 페이지 테이블과 따로 갱신됩니다")


def explain_lag(steps: pd.DataFrame, part: str = "malloc") -> str:
    """Say whether top's RES kept up with the exact Rss on this kernel, with the figures."""
    lag = res_lag(steps, part)
    kernel = os.uname().release
    if lag.exact_total is None:
        return _say(
            "The exact Rss (/proc/PID/smaps_rollup) is not readable here, so RES is shown as top shows it.",
            "정확한 Rss(/proc/PID/smaps_rollup)를 여기서는 읽을 수 없어서, RES는 top이 보여 주는 값 그대로입니다.")
    statm, exact = _kib(lag.statm_total), _kib(lag.exact_total)
    if not lag.lagging:
        return _say(
            f"On this kernel ({kernel}) top's RES kept up: over {lag.steps} steps statm RES moved "
            f"{statm:,.0f} KiB and the exact Rss {exact:,.0f} KiB. Older kernels (6.1, 5.15, 6.8, 6.12 before "
            "6.12.38, ...) can show RES late: see the list above.",
            f"이 커널({kernel})에서는 top의 RES가 제때 따라왔습니다. {lag.steps}단계 동안 statm RES는 "
            f"{statm:,.0f} KiB, 정확한 Rss는 {exact:,.0f} KiB 움직였습니다. 그보다 오래된 커널(6.1, 5.15, 6.8, 6.12.38 이전의 6.12 등)에서는 "
            "RES가 늦게 보일 수 있습니다. 위 설명을 참고하세요.")
    df = _phases(steps)[part]
    pages = round(lag.exact_total / PAGE)
    faults = int(df["d_minflt"].sum())
    agree_en = f" and the {faults} minor faults agree with the exact figure" if faults == pages else ""
    agree_ko = f" 마이너 폴트 {faults}번도 정확한 값과 맞습니다." if faults == pages else ""
    why_en, why_ko = _why_cached(kernel)
    n = lag.missed_pages
    if n > 0:
        gap_en = f"so top's RES is still missing {n} page(s)"
        gap_ko = f"그래서 top의 RES에는 아직 페이지 {n}개가 반영되지 않았습니다"
    else:
        gap_en = (f"so top's RES moved {-n} page(s) more than the exact Rss here: it just published older "
                  "changes all at once")
        gap_ko = (f"그래서 여기서는 top의 RES가 정확한 Rss보다 페이지 {-n}개만큼 더 움직였습니다. 이전 변화를 한꺼번에 "
                  "뒤늦게 반영한 것입니다")
    return _say(
        f"On this kernel ({kernel}) top's RES lagged: over {lag.steps} steps statm RES moved {statm:,.0f} KiB while "
        f"the exact Rss (smaps_rollup) grew {exact:,.0f} KiB{agree_en}. RES in statm is a cached counter: {why_en}, "
        f"{gap_en}. The book's screenshot, RES frozen at {BOOK_FROZEN_RES_KIB} KiB while VIRT climbs 1028 KiB "
        "a second, shows the same lag.",
        f"이 커널({kernel})에서는 top의 RES가 늦었습니다. {lag.steps}단계 동안 statm RES는 {statm:,.0f} KiB "
        f"움직였지만, 정확한 Rss(smaps_rollup)는 {exact:,.0f} KiB 늘었습니다.{agree_ko} statm의 RES는 캐시된 "
        f"카운터입니다. {why_ko}. {gap_ko}. VIRT는 1초에 1028 KiB씩 오르는데 RES는 {BOOK_FROZEN_RES_KIB} KiB에 "
        "멈춰 있는 책의 스크린숏도 같은 지연을 보여 줍니다.")


def step_summary(steps: pd.DataFrame) -> pd.DataFrame:
    """'malloc only' vs 'malloc + memset', from the measured steps: medians per step.

    Columns: steps counted, VIRT, RES (top's, from statm), the exact Rss (smaps_rollup) and
    Committed_AS change per step (KiB), minor faults per step. The first step is left out (it also pays for the first run of the code path).
    Committed_AS is machine-wide, so other processes move it too: the median shrugs them off.
    """
    rows = []
    labels = {"malloc": pick("malloc only", "malloc만"), "memset": pick("malloc + memset", "malloc + memset")}
    for key, df in _phases(steps).items():
        if len(df) == 0:
            continue
        rows.append({
            pick("experiment", "실험"): labels[key],
            pick("steps", "단계 수"): len(df),
            pick("VIRT per step (KiB)", "단계당 VIRT (KiB)"): _kib(df["d_virt"].median()),
            pick("RES per step, top (KiB)", "단계당 RES, top (KiB)"): _kib(df["d_res"].median()),
            pick("Rss per step, exact (KiB)", "단계당 Rss, 정확한 값(KiB)"):
                _kib(_exact(df).median()) if _exact(df) is not None else math.nan,
            pick("minor faults per step", "단계당 마이너 폴트"): df["d_minflt"].median(),
            pick("Committed_AS per step (KiB, machine-wide)", "단계당 Committed_AS (KiB, 시스템 전체)"):
                _kib(df["d_committed"].median()) if "d_committed" in df else math.nan,
        })
    return pd.DataFrame(rows).set_index(pick("experiment", "실험")) if rows else pd.DataFrame()


def res_per_step(steps: pd.DataFrame) -> float:
    """Median growth (bytes) of resident memory over the malloc-only steps, from the exact Rss
    (smaps_rollup) where readable: statm's RES lags on many kernels (see :func:`res_lag`)."""
    df = _phases(steps)["malloc"]
    if len(df) == 0:
        raise error(ValueError, "no malloc-only steps measured yet (run the experiment first)",
                    "아직 측정한 malloc만 한 단계가 없습니다. 먼저 실험을 실행하세요.")
    ex = _exact(df)
    return float(df["d_res"].median() if ex is None else ex.median())


def faults_per_step(steps: pd.DataFrame) -> float:
    """Median minor faults of the steps where memset wrote a whole block."""
    df = _phases(steps)["memset"]
    if len(df) == 0:
        raise error(ValueError, "no steps with memset measured yet (turn memset on and wait for a few steps)",
                    "아직 측정한 memset 단계가 없습니다. memset을 켜고 몇 단계 기다리세요.")
    return float(df["d_minflt"].median())


def run_steps(panel, n: int = STEPS, timeout: float | None = None) -> pd.DataFrame:
    """Let the panel's malloc_test make ``n`` more steps (blocking); returns its step table."""
    done = len(panel.step_table())
    if timeout is None:  # a recorded panel (no /proc) has no model and answers at once
        interval_ms = getattr(getattr(panel, "model", None), "interval_ms", 0)
        timeout = 10 + 3 * n * interval_ms / 1000
    return panel.wait_steps(done + n, timeout=timeout)


def step_view(steps: pd.DataFrame, rows: int = STEPS + 3) -> pd.DataFrame:
    """The last ``rows`` measured steps, in KiB: totals after each step and the change it made."""
    df = steps.tail(rows)
    out = pd.DataFrame({
        pick("step", "단계"): df["step"].astype(int),
        pick("memset", "memset"): df["d_touched"].map(lambda t: pick("on", "켬") if t > 0 else pick("off", "끔")),
        "VIRT (KiB)": (df["virt"] // KiB).astype("Int64"),
        "RES (KiB)": (df["res"] // KiB).astype("Int64"),
        "ΔVIRT (KiB)": (df["d_virt"] // KiB).astype("Int64"),
        "ΔRES (KiB)": (df["d_res"] // KiB).astype("Int64"),
        pick("ΔRss exact (KiB)", "ΔRss 정확한 값(KiB)"): (df["d_rss_exact"] // KiB).astype("Int64"),
        pick("Δ minor faults", "Δ 마이너 폴트"): df["d_minflt"].astype("Int64"),
        "ΔCommitted_AS (KiB)": (df["d_committed"] // KiB).astype("Int64"),
    })
    return out.set_index(pick("step", "단계"))


def explain_steps(steps: pd.DataFrame, part: str | None = None, step_bytes: int = MiB) -> str:
    """Sentences with the measured per-step changes, next to what the arithmetic predicts.

    ``part`` is "malloc" (the steps without memset), "memset" (the steps with it) or None (both).
    """
    if part not in (None, "malloc", "memset"):
        raise error(ValueError, "part must be 'malloc', 'memset' or None, not {part!r}",
                    "part는 'malloc', 'memset', None 중 하나여야 합니다({part!r}은(는) 쓸 수 없습니다).", part=part)
    ph = _phases(steps)
    if part is not None:
        ph = {k: (v if k == part else v.iloc[0:0]) for k, v in ph.items()}
    expect = mmap_size(step_bytes)
    parts = []
    if len(ph["malloc"]):
        m = ph["malloc"]
        ex = _exact(m)
        v, f = m["d_virt"].median(), m["d_minflt"].median()
        r = m["d_res"].median() if ex is None else ex.median()
        c = m["d_committed"].median() if "d_committed" in m else math.nan
        fault_word = pick("minor fault" if f == 1 else "minor faults", "마이너 폴트")
        what_en, what_ko = ("resident memory (exact Rss)", "상주 메모리(정확한 Rss)") if ex is not None else (
            "RES (statm)", "RES(statm)")
        n = round(r / PAGE)
        if n == 1 and f == 1:
            end_en, end_ko = ("glibc wrote the chunk header, so exactly one page became real.",
                              "glibc가 청크 헤더를 쓰면서 페이지 하나만 실제 메모리가 되었습니다.")
        else:
            end_en, end_ko = (f"glibc wrote only the chunk header (one page); here the figure is {n} page(s).",
                              f"glibc가 쓴 것은 청크 헤더(페이지 하나)뿐인데, 여기서는 페이지 {n}개로 나왔습니다.")
        parts.append(pick(
            f"Without memset, each {fmt_bytes(step_bytes)} malloc added {_kib(v):,.0f} KiB of VIRT "
            f"(the arithmetic says {fmt_bytes(step_bytes)} + {MMAP_OVERHEAD} bytes of bookkeeping, rounded up to "
            f"{fmt_bytes(PAGE)} pages = {_kib(expect):,.0f} KiB), but only {_kib(r):,.0f} KiB of {what_en} "
            f"and {f:.0f} {fault_word}: {end_en}",
            f"memset 없이 {fmt_bytes(step_bytes)}씩 malloc할 때마다 VIRT는 {_kib(v):,.0f} KiB 늘었습니다"
            f"(계산으로는 {fmt_bytes(step_bytes)} + 관리용 {MMAP_OVERHEAD}바이트를 {fmt_bytes(PAGE)} 페이지 "
            f"단위로 올림 = {_kib(expect):,.0f} KiB). 그런데 {josa(what_ko, '은')} {_kib(r):,.0f} KiB, "
            f"{josa(fault_word, '은')} {f:.0f}회뿐입니다. {end_ko}"))
        if abs(c - v) <= 0.1 * v:
            parts.append(pick(
                f"Committed_AS, the machine's total of promises, rose by {_kib(c):,.0f} KiB per step (median): "
                "the whole reservation, counted at malloc time although nothing was written.",
                f"시스템 전체의 약속 합계인 Committed_AS는 단계마다 {_kib(c):,.0f} KiB(중앙값) 늘었습니다. 아무것도 "
                "쓰지 않았는데도 malloc 시점에 예약 전체를 센 것입니다."))
        else:
            parts.append(pick(
                f"Committed_AS moved by {_kib(c):,.0f} KiB per step (median), not {_kib(v):,.0f}: it is a "
                "machine-wide total, and other processes here were allocating and freeing at the same time. "
                "The Committed_AS section below measures it with shorter windows.",
                f"Committed_AS는 단계마다 {_kib(v):,.0f} KiB가 아니라 {_kib(c):,.0f} KiB(중앙값) 움직였습니다. "
                "시스템 전체의 합계라서, 이 시스템의 다른 프로세스들이 같은 시간에 메모리를 할당하고 해제한 것까지 "
                "섞였습니다. 아래 Committed_AS 절에서 더 짧은 구간으로 다시 잽니다."))
    if len(ph["memset"]):
        m = ph["memset"]
        ex = _exact(m)
        f = m["d_minflt"].median()
        r = m["d_res"].median() if ex is None else ex.median()
        data_pages = step_bytes // PAGE
        what_en, what_ko = ("resident memory (exact Rss)", "상주 메모리(정확한 Rss)") if ex is not None else (
            "RES (statm)", "RES(statm)")
        size = fmt_bytes(step_bytes)
        head_en = f"With memset, each step added {_kib(r):,.0f} KiB of {what_en} and cost {f:.0f} minor faults"
        head_ko = f"memset을 켜면 단계마다 {josa(what_ko, '이')} {_kib(r):,.0f} KiB 늘고 마이너 폴트가 {f:.0f}회 났습니다"
        if f == data_pages + 1:
            parts.append(pick(
                f"{head_en}. The data starts {CHUNK_OFFSET} bytes into the mapping, after malloc's header, so "
                f"{size} of it covers {data_pages + 1} pages of {fmt_bytes(PAGE)}: malloc's write of the header "
                f"faulted in the first of them, and memset's writes the other {data_pages}.",
                f"{head_ko}. 데이터는 malloc 헤더 뒤, 곧 매핑의 {CHUNK_OFFSET}바이트 지점부터 시작하므로 "
                f"{josa(size, '이')} {fmt_bytes(PAGE)} 페이지 {data_pages + 1}개에 걸칩니다. 그중 첫 페이지는 malloc이 헤더를 "
                f"쓸 때, 나머지 {data_pages}개는 memset이 쓸 때 폴트로 들어왔습니다."))
        elif f < data_pages + 1:  # e.g. a transparent huge page filled 2 MiB in one fault
            parts.append(pick(
                f"{head_en}, fewer than the {data_pages + 1} that one fault per {fmt_bytes(PAGE)} page would give: "
                "here some faults brought in more than one page (transparent huge pages can fill 2 MiB at once).",
                f"{head_ko}. {fmt_bytes(PAGE)} 페이지마다 한 번이라면 {data_pages + 1}회여야 하는데 그보다 적습니다. "
                "여기서는 일부 폴트가 한 번에 여러 페이지를 들여왔습니다(투명 거대 페이지는 2 MiB를 한꺼번에 채울 수 있습니다)."))
        else:
            parts.append(pick(
                f"{head_en}, more than the {data_pages + 1} pages the data covers: something else in the process "
                "faulted during these steps too (the median leaves out one-off costs; run more steps to see).",
                f"{head_ko}. 데이터가 걸친 {data_pages + 1}페이지보다 많습니다. 이 단계들 동안 프로세스의 다른 부분도 "
                "폴트를 일으켰습니다(중앙값은 한 번뿐인 비용을 걸러 내니, 단계를 더 돌려 보세요)."))
        cm = m["d_committed"].median() if "d_committed" in m else float("nan")
        vm = m["d_virt"].median()
        if cm == cm and abs(cm - vm) > 0.1 * vm:  # not NaN, and not one VIRT step
            parts.append(pick(
                f"Committed_AS moved by {_kib(cm):,.0f} KiB per step (median) here, not {_kib(vm):,.0f}: writing "
                "adds no promise, so the difference is other processes on this machine allocating and freeing "
                "during these steps (Committed_AS is a machine-wide total).",
                f"여기서 Committed_AS는 단계마다 {_kib(vm):,.0f} KiB가 아니라 {_kib(cm):,.0f} KiB(중앙값) 움직였습니다. "
                "쓰기는 약속을 늘리지 않으므로, 차이는 이 단계들 동안 이 시스템의 다른 프로세스들이 메모리를 할당하고 "
                "해제한 몫입니다(Committed_AS는 시스템 전체의 합계입니다)."))
    if not parts:
        parts.append(pick("No steps measured yet.", "아직 측정한 단계가 없습니다."))
    text = "\n".join(parts)
    print(text)
    return text


# --- malloc() is a library function: the system calls behind it -------------------------

#: A trace recorded on Linux, shown (labelled) where strace is missing or may not trace.
RECORDED_TRACE = {
    "where": "Debian 12, kernel 6.18, glibc 2.36, x86-64, 4 KiB pages; 3 steps of 1 MiB",
    "lines": [
        "brk(NULL)                               = 0x563864526000",
        "brk(0x563864547000)                     = 0x563864547000",
        "mmap(NULL, 1052672, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f590d194000",
        "mmap(NULL, 1052672, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f590d093000",
        "mmap(NULL, 1052672, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f590cf92000",
    ],
}
_ANON_MMAP = re.compile(r"^mmap\(NULL, (\d+), PROT_READ\|PROT_WRITE, MAP_PRIVATE\|MAP_ANONYMOUS, -1, 0\) = 0x")


@dataclass
class TraceResult:
    """What strace saw while malloc_test made ``steps`` mallocs of ``step`` bytes."""

    step: int
    steps: int
    lines: list[str]
    step_mmaps: list[int]  # the sizes of the anonymous mmaps of exactly mmap_size(step)
    recorded: bool = False  # True: strace could not run here; these are RECORDED_TRACE's lines
    why: str = ""

    @property
    def expected(self) -> int:
        return mmap_size(self.step)

    def __str__(self) -> str:
        shown = [ln for ln in self.lines if ln.startswith(("brk(", "mmap(NULL", "munmap("))][-(self.steps + 3):]
        head = (pick(f"A RECORDED trace ({RECORDED_TRACE['where']}), not this machine: {self.why}",
                     f"이 시스템이 아니라 기록해 둔 추적입니다({RECORDED_TRACE['where']}): {self.why}")
                if self.recorded else
                pick(f"strace -e trace={','.join(programs.STRACE_SYSCALLS)} malloc_test, last lines:",
                     f"strace -e trace={','.join(programs.STRACE_SYSCALLS)} malloc_test의 마지막 줄들:"))
        n, size = len(self.step_mmaps), self.expected
        if n != self.steps:
            return "\n".join([head, quote("\n".join(shown)), "", pick(
                f"Only {n} of the {self.steps} mallocs showed up as an mmap of {size:,} bytes: this C library "
                "sizes its blocks differently from glibc 2.36 (musl does, for one). Compare the lines above "
                "with the 1028 KiB arithmetic.",
                f"malloc {self.steps}번 가운데 {n}번만 {size:,}바이트 mmap으로 나타났습니다. 이 시스템의 C "
                "라이브러리는 glibc 2.36과 다르게 블록 크기를 정합니다(예를 들어 musl이 그렇습니다). 위의 줄들을 "
                "1028 KiB 계산과 비교해 보세요.")])
        verdict = pick(
            f"{n} of the {self.steps} malloc({fmt_bytes(self.step)}) calls reached the kernel as "
            f"mmap(NULL, {size:,}, ...): {fmt_bytes(self.step)} + {MMAP_OVERHEAD} bytes, rounded up to "
            f"{size // PAGE} pages of {fmt_bytes(PAGE)}. No system call is named malloc: malloc() is a "
            "function in the C library (glibc), which asks the kernel with brk() for small blocks and "
            "mmap() for large ones. The book calls malloc() a system call; the trace shows otherwise.",
            f"malloc({fmt_bytes(self.step)}) 호출 {self.steps}번 가운데 {n}번이 mmap(NULL, {size:,}, ...)으로 "
            f"커널에 전달되었습니다. {fmt_bytes(self.step)} + {MMAP_OVERHEAD}바이트를 {fmt_bytes(PAGE)} "
            f"페이지 {size // PAGE}개로 올린 크기입니다. malloc이라는 시스템 콜은 없습니다. malloc()은 C 라이브러리"
            "(glibc)의 함수이고, 작은 블록은 brk()로, 큰 블록은 mmap()으로 커널에 요청합니다. 책은 malloc()을 "
            "시스템 콜이라고 하지만, 추적 결과는 그렇지 않다고 말합니다.")
        return "\n".join([head, quote("\n".join(shown)), "", verdict])


def trace_malloc(steps: int = 3, step_mib: int = 1, quiet: bool = False) -> TraceResult:
    """Run malloc_test under strace for ``steps`` mallocs and show which system calls it made.

    Where strace is missing or may not trace, shows RECORDED_TRACE instead, labelled as such.
    """
    step = step_mib * MiB
    try:
        lines = programs.strace_malloc_test(steps, step_mib)
        res = TraceResult(step, steps, lines, [])
    except programs.StraceUnavailable as e:
        res = TraceResult(MiB, 3, list(RECORDED_TRACE["lines"]), [], recorded=True, why=str(e))
    res.step_mmaps = [int(m.group(1)) for ln in res.lines if (m := _ANON_MMAP.match(ln))
                      and int(m.group(1)) == res.expected]
    if not quiet:
        print(res)
    return res


def page_tables(*pids: int) -> pd.DataFrame:
    """The size of each process's own page tables (VmPTE in /proc/PID/status), with this Jupyter kernel's.

    The book calls the page table a global variable of the kernel; each process has its own,
    and the kernel points the CPU at it (CR3 on x86) when it switches to that process.
    """
    rows = []
    for pid in dict.fromkeys((*pids, os.getpid(), 1)):  # each process once, in order
        try:
            st = procfs.status(pid)
            name = procfs.stat(pid).comm
        except (ProcessGone, procfs.AccessDenied):
            continue
        if "VmPTE" not in st:
            continue
        who = pick("this Jupyter kernel", "이 주피터 커널") if pid == os.getpid() else name
        rows.append({"PID": pid, pick("process", "프로세스"): who,
                     pick("page tables (VmPTE)", "페이지 테이블(VmPTE)"): fmt_bytes(st["VmPTE"]),
                     "VIRT": fmt_bytes(st.get("VmSize", 0)), "RES": fmt_bytes(st.get("VmRSS", 0))})
    return pd.DataFrame(rows, columns=None if rows else ["PID"]).set_index("PID")


#: The book's machine, from its top screenshot in 2.1: 957.3 MiB of RAM and no swap.
BOOK_RAM = int(957.3 * MiB)


def book_10gb(nbytes: int = 10 * GiB) -> pd.DataFrame:
    """The book's "malloc(10GB) succeeds": today's mode-0 rule on the book's machine, and the kernel here.

    On the book's VM (957 MiB of RAM, no swap) mode 0 refuses any single request larger than RAM +
    swap, so 10 GB fails there; this machine's answer is measured with big_alloc (a reservation).
    """
    here = overcommit.commit_state()
    book = dataclasses.replace(here, mem_total=BOOK_RAM, swap_total=0, hugetlb=0,
                               settings=dataclasses.replace(here.settings, mode=0))
    pred_book = overcommit.predict(nbytes, mode=0, state=book)
    r = try_alloc(nbytes, quiet=True)
    ok, refused = pick("granted", "성공"), "ENOMEM"
    rows = [
        {pick("machine", "시스템"): pick("the book's VM (957 MiB RAM, no swap)", "책의 VM(RAM 957 MiB, 스왑 없음)"),
         pick("mode", "모드"): 0, pick("RAM + swap", "RAM + 스왑"): fmt_bytes(BOOK_RAM),
         pick("malloc of " + fmt_bytes(nbytes), fmt_bytes(nbytes) + " malloc"): ok if pred_book.allowed else refused,
         pick("how we know", "근거"): pick("today's mode-0 rule (a prediction)", "지금의 모드 0 규칙(예측)")},
        {pick("machine", "시스템"): pick("this machine", "이 시스템"), pick("mode", "모드"): r.mode,
         pick("RAM + swap", "RAM + 스왑"): fmt_bytes(here.mem_total + here.swap_total),
         pick("malloc of " + fmt_bytes(nbytes), fmt_bytes(nbytes) + " malloc"): ok if r.ok else (r.errno or refused),
         pick("how we know", "근거"): pick("the kernel's answer (big_alloc, measured)", "커널의 답(big_alloc로 측정)")},
    ]
    return pd.DataFrame(rows)


# --- the book's program vs ours ---------------------------------------------------------

def _c_int(n: int) -> int:
    """n as a 32-bit signed int after wrap-around (what gcc on x86-64 produces in practice)."""
    n &= 0xFFFFFFFF
    return n - (1 << 32) if n >= 1 << 31 else n


def book_vs_ours(panel, rows: int = 3, at: tuple[int, ...] = (2047, 2048, 2049)):
    """What the book's printf would print beside the step lines malloc_test printed, for the first
    ``rows`` successful steps of the panel's run; then the steps ``at``, where the book's int
    overflows (computed, marked as such).

    ``panel`` is the memory panel (or the MallocExperiment behind it).  Its lines come from the
    program's own events, with every key it printed (``ns=`` and ``minflt=`` too), not rebuilt
    from the step table.  A recorded panel (no /proc) kept no lines: only the computed rows show.
    Returns a pandas Styler (it shows each line whole, where a DataFrame cuts text at 50
    characters); the DataFrame is its ``.data``.
    """
    if isinstance(panel, pd.DataFrame):
        raise error(TypeError, "book_vs_ours() takes the panel, not its step table: the lines come from the "
                    "program's events (lesson.book_vs_ours(panel))",
                    "book_vs_ours()에는 단계 표가 아니라 패널을 주세요. 줄은 프로그램의 이벤트에서 가져옵니다"
                    "(lesson.book_vs_ours(panel)).")
    model = getattr(panel, "model", panel)
    events = list(getattr(model, "events", None) or [])
    printed = [ev for ev in events if ev.get("event") == "step" and ev.get("ok") == 1][:rows]
    recs = []
    col_n, col_book, col_ours, col_true, col_src = (
        pick("step", "단계"), pick("book's program prints", "책의 프로그램 출력"),
        pick("malloc_test prints", "malloc_test 출력"), pick("true total", "실제 합계"),
        pick("source", "출처"))
    for ev in printed:
        n = int(ev["n"])
        recs.append({col_n: n, col_book: f"Allocated {_c_int(n * MiB)} MB", col_ours: _line(ev),
                     col_true: fmt_bytes(int(ev["requested"])), col_src: pick("measured", "측정")})
    for n in at:
        recs.append({col_n: n, col_book: f"Allocated {_c_int(n * MiB)} MB",
                     col_ours: f"step n={n} requested={n * MiB} ...", col_true: fmt_bytes(n * MiB),
                     col_src: pick("computed", "계산")})
    return _left(pd.DataFrame(recs).set_index(col_n))


def _line(ev: dict) -> str:
    """An event back to the line the program printed."""
    return " ".join([str(ev["event"])] + [f"{k}={v}" for k, v in ev.items() if k not in ("event", "t", "args")])


def beyond_int(nbytes: int = 3 * GiB) -> str:
    """Reserve ``nbytes`` (more than a 32-bit int holds) with big_alloc, untouched; print its line."""
    with programs.big_alloc(nbytes) as p:
        ev = p.wait_for("result", timeout=10)
    line = _line(ev)
    print(f"big_alloc --bytes {nbytes}  ->  {line}")
    print(pick(f"{int(ev['bytes']):,} bytes = {fmt_bytes(int(ev['bytes']))}; the largest 32-bit int is "
               f"{2**31 - 1:,}.",
               f"{int(ev['bytes']):,}바이트 = {fmt_bytes(int(ev['bytes']))}. 32비트 int의 최댓값은 "
               f"{2**31 - 1:,}입니다."))
    return line


# --- the zero page: reading untouched memory --------------------------------------------

def zero_page_demo(mib: int = ZERO_PAGE_MIB) -> pd.DataFrame:
    """Map ``mib`` MiB privately, then read every page, read again, write every page, read again.

    Returns the minor faults, exact Rss (smaps_rollup), top's RES and VIRT change of each action,
    measured from /proc.
    Reads of never-written anonymous memory map the kernel's shared zero page: a fault per
    page, but RES does not grow. The first write to each page faults again and gets a real page.
    """
    nbytes = mib * MiB
    safety.check_request(nbytes, (f"the zero-page demo writing {fmt_bytes(nbytes)}",
                                  f"{josa(fmt_bytes(nbytes), '을')} 쓰는 제로 페이지 실험"))
    acts = [("read", pick("read every page (first time)", "모든 페이지 읽기(처음)")),
            ("read", pick("read every page again", "모든 페이지 다시 읽기")),
            ("write", pick("write one byte in every page", "모든 페이지에 1바이트씩 쓰기")),
            ("read", pick("read every page after writing", "쓴 뒤 모든 페이지 읽기"))]
    recs = []
    with children.page_reader(nbytes) as r:  # a Python child with an untouched private mapping
        prev = process_sample(r.pid, full=True)
        for cmd, label in acts:
            r.do(cmd)
            now = process_sample(r.pid, full=True)
            exact = (now.rss_exact - prev.rss_exact if now.rss_exact is not None and prev.rss_exact is not None
                     else now.res - prev.res)
            recs.append({pick("action", "동작"): label,
                         pick("minor faults", "마이너 폴트"): now.minflt - prev.minflt,
                         pick("Rss change, exact (KiB)", "Rss 변화, 정확한 값(KiB)"): _kib(exact),
                         pick("RES change, top (KiB)", "RES 변화, top (KiB)"): _kib(now.res - prev.res),
                         pick("VIRT change (KiB)", "VIRT 변화(KiB)"): _kib(now.virt - prev.virt)})
            prev = now
    df = pd.DataFrame(recs).set_index(pick("action", "동작"))
    df.attrs["mib"] = mib
    # the exact Rss change of the first read, in bytes: top's RES (statm) may publish older faults late
    df.attrs["read_res"] = int(df.iloc[0, 1] * KiB)
    df.attrs["read_faults"] = int(df.iloc[0, 0])
    return df


# --- Committed_AS: the promise, before any page is touched ------------------------------

def commit_now():
    """The commit figures now, from /proc/meminfo and /proc/sys/vm, with CommitLimit recomputed
    from its formula beside the kernel's own value."""
    st = overcommit.commit_state()
    s = st.settings
    formula = st.vm_commit_limit()
    how = (f"overcommit_kbytes {fmt_bytes(s.kbytes * KiB)} + SwapTotal" if s.kbytes else
           f"(MemTotal - Hugetlb) x {s.ratio}/100 + SwapTotal")
    mi = procfs.meminfo()
    rows = [
        ("MemTotal", fmt_bytes(st.mem_total), pick("RAM the kernel manages", "커널이 관리하는 RAM")),
        ("SwapTotal", fmt_bytes(st.swap_total), pick("swap space", "스왑 공간")),
        ("MemTotal - MemAvailable", fmt_bytes(st.mem_total - mi.get("MemAvailable", 0)),
         pick("what top 4.x shows as 'used'", "top 4.x가 'used'로 보여 주는 값")),
        ("Committed_AS", fmt_bytes(st.committed_as),
         pick("everything promised to all processes, touched or not", "모든 프로세스에게 약속한 양(썼는지와 무관)")),
        ("CommitLimit", fmt_bytes(st.commit_limit), pick("the kernel's value", "커널이 보여 주는 값")),
        (pick("CommitLimit, recomputed", "CommitLimit 직접 계산"), fmt_bytes(formula), how),
        ("vm.overcommit_memory", str(s.mode), pick("CommitLimit is enforced only in mode 2",
                                                   "CommitLimit은 모드 2에서만 강제됩니다")),
    ]
    cols = [pick("figure", "항목"), pick("value", "값"), pick("meaning", "뜻")]
    df = pd.DataFrame(rows, columns=cols).set_index(cols[0])
    df.attrs["limit_matches"] = abs(formula - st.commit_limit) <= st.page_size
    return _left(df)


def _committed() -> int:
    return procfs.meminfo()["Committed_AS"]


@dataclass
class CommitProbe:
    """Committed_AS, MemAvailable and the program's RES around one untouched big_alloc, repeated."""

    nbytes: int
    deltas: list[int]  # Committed_AS change, start of big_alloc -> holding, per repeat
    control: list[int]  # the same for a 1-byte big_alloc: what the program itself commits
    res: int  # big_alloc's RES while holding (last repeat)
    avail_delta: int  # MemAvailable change while holding (last repeat)

    @property
    def delta(self) -> int:
        return int(pd.Series(self.deltas).median())

    @property
    def program_itself(self) -> int:
        return int(pd.Series(self.control).median())

    @property
    def reservation(self) -> int:
        """Committed_AS attributable to the reservation: median delta minus the 1-byte control."""
        return self.delta - self.program_itself

    def table(self):
        """The measurements as a table."""
        rows = [
            (pick("Committed_AS rise, big_alloc of ", "Committed_AS 증가, big_alloc ") + fmt_bytes(self.nbytes),
             fmt_bytes(self.delta)),
            (pick("Committed_AS rise, big_alloc of 1 byte (the program itself)",
                  "Committed_AS 증가, big_alloc 1바이트(프로그램 자체)"), fmt_bytes(self.program_itself)),
            (pick("difference: the reservation", "차이: 예약분"), fmt_bytes(self.reservation)),
            (pick("big_alloc's RES while holding it", "예약을 쥐고 있는 동안 big_alloc의 RES"), fmt_bytes(self.res)),
            (pick("MemAvailable change meanwhile", "그동안 MemAvailable 변화"), _signed(self.avail_delta)),
        ]
        return _table(rows)

    def explain(self) -> str:
        return _say(
            f"Committed_AS rose by {fmt_bytes(self.reservation)} for a reservation of {fmt_bytes(self.nbytes)} "
            f"(median of {len(self.deltas)} runs, after subtracting the {fmt_bytes(self.program_itself)} the "
            f"program commits for itself), while its RES stayed at {fmt_bytes(self.res)}: the kernel counts "
            "the promise at malloc time, before a single page is written.",
            f"{josa(fmt_bytes(self.nbytes), '을')} 예약하자 Committed_AS가 {fmt_bytes(self.reservation)} 늘었습니다"
            f"({len(self.deltas)}회 측정의 중앙값에서, 프로그램이 자체적으로 커밋하는 {josa(fmt_bytes(self.program_itself), '을')} "
            f"뺀 값). 그동안 RES는 {fmt_bytes(self.res)}에 머물렀습니다. 커널은 페이지를 하나도 쓰기 전, "
            "malloc 시점에 약속한 양을 셉니다.")


def _signed(n: int) -> str:
    return ("+" if n >= 0 else "-") + fmt_bytes(abs(n))


def _one_commit(nbytes: int) -> tuple[int, int, int]:
    a, avail0 = _committed(), procfs.meminfo()["MemAvailable"]
    with programs.big_alloc(nbytes) as p:
        p.wait_for("holding", timeout=10)
        b = _committed()
        res = procfs.statm(p.pid)[1]
        avail1 = procfs.meminfo()["MemAvailable"]
    return b - a, res, avail1 - avail0


def commit_probe(nbytes: int = COMMIT_PROBE_BYTES, repeats: int = COMMIT_REPEATS) -> CommitProbe:
    """Measure how much Committed_AS rises for an untouched big_alloc of ``nbytes`` (median of
    ``repeats``), and for a 1-byte one (the program's own stack, data and libraries)."""
    deltas, control = [], []
    res = avail = 0
    for _ in range(repeats):
        control.append(_one_commit(1)[0])
        d, res, avail = _one_commit(nbytes)
        deltas.append(d)
    return CommitProbe(nbytes, deltas, control, res, avail)


# --- the commit check: one reservation, several modes -----------------------------------

@dataclass(frozen=True)
class AllocResult:
    """One big_alloc reservation: the kernel's answer and what overcommit.predict() said."""

    nbytes: int
    mode: int
    ok: bool
    errno: str | None
    line: str
    prediction: overcommit.Prediction

    @property
    def agrees(self) -> bool:
        return self.ok == self.prediction.allowed

    def __str__(self) -> str:
        what = pick("succeeded", "성공") if self.ok else pick(f"failed with {self.errno}", f"{_with(self.errno)} 실패")
        return pick(
            f"big_alloc --bytes {self.nbytes}: {self.line}\n"
            f"malloc of {fmt_bytes(self.nbytes)} under vm.overcommit_memory={self.mode}: {what}.\n"
            f"Prediction: {self.prediction.reason}",
            f"big_alloc --bytes {self.nbytes}: {self.line}\n"
            f"vm.overcommit_memory={self.mode}에서 {fmt_bytes(self.nbytes)} malloc: {what}.\n"
            f"예측: {self.prediction.reason_ko}")


def try_alloc(nbytes: int, quiet: bool = False) -> AllocResult:
    """Reserve ``nbytes`` with big_alloc under the current mode (nothing touched), stop it at once."""
    mode = overcommit.settings().mode
    pred = overcommit.predict(nbytes)
    with programs.big_alloc(nbytes) as p:
        ev = p.wait_for("result", timeout=10)
    ok = bool(ev.get("ok"))
    res = AllocResult(nbytes, mode, ok, None if ok else str(ev.get("errno")), _line(ev), pred)
    if not quiet:
        print(res)
    return res


def mode0_boundary() -> pd.DataFrame:
    """The kernel's mode-0 line, to the byte: the largest malloc that passes, and one byte more.

    Shows MemAvailable beside them: mode 0 does not look at free memory (kernel 5.2 and later).
    """
    st = overcommit.commit_state()
    largest = overcommit.predict(1, mode=0, state=st).limit_bytes
    assert largest is not None
    avail = procfs.meminfo()["MemAvailable"]
    recs = []
    for n in (largest, largest + 1):
        r = try_alloc(n, quiet=True)
        recs.append({
            pick("request (bytes)", "요청(바이트)"): f"{n:,}",
            pick("request", "요청"): fmt_bytes(n),
            pick("vs MemAvailable now", "지금 MemAvailable 대비"): f"{n / avail:.2f}x",
            pick("kernel's answer", "커널의 답"): pick("ok", "성공") if r.ok else r.errno,
            pick("predicted", "예측"): pick("ok", "성공") if r.prediction.allowed else "ENOMEM",
            pick("mode", "모드"): r.mode,
        })
    return pd.DataFrame(recs)


def _mode_label(mode: int, ratio: int | None) -> str:
    return pick(f"mode {mode}", f"모드 {mode}") + (pick(f" (ratio {ratio})", f"(ratio {ratio})")
                                                    if mode == 2 and ratio is not None else "")


def _sizes_for_modes(st: overcommit.CommitState, ratio: int) -> list[int]:
    """Three requests that tell the modes apart on this machine: small, between mode 2's
    headroom and RAM + swap, and 1 TiB (or 2 x (RAM + swap) on a machine larger than that)."""
    ram_swap = st.mem_total + st.swap_total
    headroom = max(0, st.vm_commit_limit(ratio=ratio) - st.committed_as)
    # halfway between, in whole MiB: strictly above mode 2's headroom and below RAM + swap (a
    # whole-GiB floor fell below the headroom on a 2 GiB machine with swap)
    middle = (headroom + ram_swap) // 2 // MiB * MiB
    huge = TiB if TiB > ram_swap else 2 * ram_swap
    return [COMMIT_PROBE_BYTES, middle, huge]


def modes_table(ratio: int = 50) -> pd.DataFrame:
    """The same three reservations under modes 0, 1 and 2 (ratio ``ratio``).

    Where this process may change vm.overcommit_memory, every cell is the kernel's real answer:
    each mode is set with ``overcommit.temporarily()`` for the few milliseconds the three
    big_allocs take, then put back. Otherwise the current mode runs for real and the other
    modes are predictions, labelled as such. ``attrs['windows_ms']`` holds how long each
    changed mode was in force.
    """
    st = overcommit.commit_state()
    sizes = _sizes_for_modes(st, ratio)
    cur = st.settings
    can = overcommit.can_change()
    windows: dict[str, float] = {}
    cells: dict[str, list[str]] = {}
    busy: str | None = None  # why a mode could not be set (another process held it), if so
    unsafe = False  # mode 2 would have left the machine too little commit headroom: predicted
    for mode in (0, 1, 2):
        r = ratio if mode == 2 else None
        label = _mode_label(mode, r)
        current = mode == cur.mode and (mode != 2 or cur.ratio == ratio) and not cur.kbytes
        out: list[str] = []
        if current or can:
            if mode == 2 and not _mode2_safe(st, ratio, sizes):
                unsafe = True
                out = [_pred_cell(n, mode, r, st, note=pick("predicted: unsafe here", "예측: 여기서는 위험"))
                       for n in sizes]
            else:
                ctx = contextlib.nullcontext() if current else overcommit.temporarily(mode, r, max_seconds=60)
                try:
                    with ctx:
                        t0 = time.monotonic()
                        for n in sizes:
                            pred = overcommit.predict(n)
                            with programs.big_alloc(n) as p:
                                ev = p.wait_for("result", timeout=10)
                            ok = bool(ev.get("ok"))
                            mark = "" if ok == pred.allowed else pick(" (prediction differed)", " (예측과 다름)")
                            out.append((pick("ok", "성공") if ok else str(ev.get("errno"))) + mark)
                        if not current:
                            windows[label] = (time.monotonic() - t0) * 1000
                except overcommit.OvercommitBusyError as e:  # another notebook holds the mode: predict
                    busy = e.describe(pick("en", "ko"))
                    out = [_pred_cell(n, mode, r, st, note=pick("predicted: another process holds the mode",
                                                                "예측: 다른 프로세스가 모드를 점유 중"))
                           for n in sizes]
        else:
            out = [_pred_cell(n, mode, r, st) for n in sizes]
        cells[label] = out
    df = pd.DataFrame(cells, index=pd.Index([fmt_bytes(n) for n in sizes], name=pick("request", "요청")))
    df.attrs["windows_ms"] = windows
    df.attrs["sizes"] = sizes
    predicted = [c for col in cells.values() for c in col if pick("predicted", "예측") in c]
    df.attrs["real"] = can and busy is None and not predicted
    df.attrs["predicted_cells"] = len(predicted)
    df.attrs["busy"] = busy
    df.attrs["unsafe_mode2"] = unsafe
    return df


def _mode2_safe(st: overcommit.CommitState, ratio: int, sizes: list[int]) -> bool:
    """Mode 2 must leave every other process on the machine at least 256 MiB of commit headroom."""
    left = st.vm_commit_limit(ratio=ratio) - st.committed_as
    allowed = [n for n in sizes if overcommit.predict(n, 2, ratio, state=st).allowed]
    return left - max(allowed, default=0) >= 256 * MiB


def _pred_cell(n: int, mode: int, ratio: int | None, st: overcommit.CommitState, note: str | None = None) -> str:
    p = overcommit.predict(n, mode, ratio, state=st)
    verdict = pick("ok", "성공") if p.allowed else "ENOMEM"
    return f"{verdict} ({note or pick('predicted', '예측')})"


def explain_modes(df: pd.DataFrame) -> str:
    """Say whether the table was measured, and how long each mode was changed for."""
    w = df.attrs.get("windows_ms", {})
    if df.attrs.get("real"):
        spans = ", ".join(f"{k}: {v:.0f} ms" for k, v in w.items())
        now = overcommit.settings()
        return _say(
            f"Every cell is the kernel's real answer. The modes were changed only while the three "
            f"big_allocs ran ({spans}) and are back now: vm.overcommit_memory={now.mode}, ratio {now.ratio}.",
            f"모든 칸이 커널의 실제 답입니다. 모드는 big_alloc 세 개가 실행되는 동안만 바꿨고({spans}), "
            f"지금은 원래대로 vm.overcommit_memory={now.mode}, ratio {now.ratio}입니다.")
    if df.attrs.get("unsafe_mode2") and not df.attrs.get("busy"):
        return _say(
            "Modes 0 and 1 are the kernel's real answers. Mode 2's cells are predictions: setting mode 2 for "
            "real would have left the other processes on this machine less than 256 MiB of commit headroom, "
            "so the chapter does not switch it on here.",
            "모드 0과 1의 칸은 커널의 실제 답입니다. 모드 2의 칸은 예측입니다. 여기서 모드 2를 실제로 켜면 이 시스템의 "
            "다른 프로세스에 남는 커밋 여유가 256 MiB보다 작아지므로, 이 장은 모드 2를 켜지 않습니다.")
    if df.attrs.get("busy"):
        return _say(
            "The current mode ran for real; the other modes are predictions (cells marked 'predicted'). "
            f"{df.attrs['busy']}",
            f"현재 모드는 실제로 실행했고, 다른 모드는 예측입니다('예측'이라고 적힌 칸). {df.attrs['busy']}")
    return _say(
        "The current mode ran for real; the cells marked 'predicted' come from overcommit.predict(), "
        "because this process cannot change vm.overcommit_memory (it needs root, and containers cannot "
        "change it at all).",
        "현재 모드는 실제로 실행했고, '예측'이라고 적힌 칸은 overcommit.predict()의 계산입니다. 이 "
        "프로세스는 vm.overcommit_memory를 바꿀 수 없기 때문입니다(root가 필요하고, 컨테이너에서는 아예 "
        "바꿀 수 없습니다).")


# --- RLIMIT_AS: the per-process limit anyone may set ------------------------------------

@dataclass
class RlimitResult:
    """malloc_test under RLIMIT_AS: where malloc started to fail, and how."""

    limit: int
    virt_start: int
    ok_steps: int
    lines: list[str]  # the program's own lines around the first failure
    failed: dict | None  # the first failing step event
    vm_size_end: int
    returncode: int | None
    big_alloc_lines: list[tuple[str, str]] = field(default_factory=list)

    @property
    def predicted_ok_steps(self) -> int:
        return (self.limit - self.virt_start) // mmap_size(MiB)

    def show(self) -> None:
        print(pick(f"RLIMIT_AS = {fmt_bytes(self.limit)}; VIRT at the start = {fmt_bytes(self.virt_start)}.",
                   f"RLIMIT_AS = {fmt_bytes(self.limit)}, 시작할 때 VIRT = {fmt_bytes(self.virt_start)}."))
        print("\n".join(self.lines))
        print(pick(
            f"{self.ok_steps} steps succeeded (predicted: ({fmt_bytes(self.limit)} - {fmt_bytes(self.virt_start)}) "
            f"/ {_kib(mmap_size(MiB)):.0f} KiB = {self.predicted_ok_steps}); then malloc returned NULL with "
            f"ENOMEM and the program went on running (VmSize {fmt_bytes(self.vm_size_end)}, status "
            f"{'running' if self.returncode is None else self.returncode} until we stopped it).",
            f"{self.ok_steps}단계가 성공했습니다(예측: ({fmt_bytes(self.limit)} - {fmt_bytes(self.virt_start)}) "
            f"/ {_kib(mmap_size(MiB)):.0f} KiB = {self.predicted_ok_steps}). 그 뒤 malloc은 ENOMEM과 함께 NULL을 "
            f"돌려주었고 프로그램은 계속 실행되었습니다(VmSize {fmt_bytes(self.vm_size_end)}, "
            f"{'중지할 때까지 실행 중' if self.returncode is None else f'중지할 때까지 상태 {self.returncode}'})."))
        for label, line in self.big_alloc_lines:
            print(f"{label:<28} {line}")


def rlimit_demo(limit_mib: int = RLIMIT_MIB, big: int = 256 * MiB) -> RlimitResult:
    """Run malloc_test (no memset) under RLIMIT_AS = ``limit_mib`` until malloc fails; then one
    big_alloc of ``big`` bytes with and without a limit of half that. No privilege needed."""
    limit = limit_mib * MiB
    prog = programs.malloc_test(interval_ms=10, max_mib=2 * limit_mib, wait_go=True)
    prog.preexec_fn = overcommit.rlimit_as_preexec(limit)
    with prog:
        virt0 = procfs.statm(prog.pid)[0]
        prog.send("go")
        failed = prog.wait_for("step", timeout=30, ok=0)
        for _ in range(2):
            prog.wait_for("step", timeout=5)
        steps = [e for e in prog.events if e["event"] == "step"]
        vm_end = procfs.statm(prog.pid)[0]
        rc = prog.returncode
    ok_steps = sum(1 for e in steps if e.get("ok") == 1)
    k = next(i for i, e in enumerate(steps) if e.get("ok") == 0)
    lines = ["..."] + [_line(e) for e in steps[max(0, k - 2): k + 3]] + ["..."]
    big_lines = []
    for lim in (None, big // 2):
        p = programs.big_alloc(big)
        if lim:
            p.preexec_fn = overcommit.rlimit_as_preexec(lim)
        with p:
            ev = p.wait_for("result", timeout=10)
        label = (pick("no limit:", "제한 없음:") if lim is None
                 else pick(f"RLIMIT_AS {fmt_bytes(lim)}:", f"RLIMIT_AS {fmt_bytes(lim)}:"))
        big_lines.append((label, _line(ev)))
    return RlimitResult(limit, virt0, ok_steps, lines, failed, vm_end, rc, big_lines)


# --- the OOM killer, inside a small memory cgroup ---------------------------------------



@dataclass
class OomResult:
    """What happened when a caged malloc_test wrote past its memory cgroup limit."""

    ran: bool
    why_not: str = ""
    limit: int = 0
    pid: int | None = None
    returncode: int | None = None
    exit: str = ""  # Program.exit_description("en"), for code
    exit_texts: dict[str, str] = field(default_factory=dict)  # lang -> Program.exit_description(lang)
    sampler_exit: str = ""  # what the sampler recorded (in the language the sampler's thread saw)
    sampler_exit_texts: dict[str, str] = field(default_factory=dict)  # lang -> the same, when it is exit_texts'
    steps_ok: int = 0
    enomem_steps: int = 0
    touched: int = 0
    peak: int | None = None
    oom_kills: int | None = None
    kernel_log: list[str] = field(default_factory=list)
    cgroup: str = ""
    cgroup_removed: bool = False
    seconds: float = 0.0
    avail_before: int = 0
    avail_after: int = 0
    samples: pd.DataFrame | None = None

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL

    def exit_text(self, lang: str | None = None) -> str:
        """How malloc_test ended, in ``lang`` or the notebook's language (what a reader sees)."""
        return self.exit_texts.get(check_lang(lang), self.exit)

    def exit_sentence(self, lang: str | None = None) -> str:
        """``exit_text`` as a predicate for inside a sentence: Korean '…됨' becomes '…되었습니다'."""
        text = self.exit_text(lang)
        if check_lang(lang) != "ko":
            return text
        for short, full in (("종료됨", "종료되었습니다"), ("끝남", "끝났습니다"), ("실행 중", "실행 중입니다"),
                            ("시작 전", "시작 전입니다")):
            if text.endswith(short):
                return text[: -len(short)] + full
        return text

    def sampler_text(self, lang: str | None = None) -> str:
        """What the sampler recorded, in ``lang`` (its thread may have recorded another language)."""
        return self.sampler_exit_texts.get(check_lang(lang), self.sampler_exit)

    @property
    def outcome(self) -> str:
        """'killed', 'enomem', 'survived' or 'not run'."""
        if not self.ran:
            return "not run"
        if self.killed:
            return "killed"
        return "enomem" if self.enomem_steps else "survived"

    def table(self):
        """What happened, one row per fact (empty when the demo did not run)."""
        if not self.ran:
            return _table([])
        yes, no = pick("yes", "예"), pick("no", "아니요")
        shell = 128 + signal.SIGKILL if self.killed else self.returncode
        rows = [
            ("cgroup", pick(f"{self.cgroup} (limit {fmt_bytes(self.limit)})", f"{self.cgroup}(한도 {fmt_bytes(self.limit)})")),
            (pick("how malloc_test ended", "malloc_test의 끝"),
             pick(f"{self.exit_text()} (Popen returncode {self.returncode}; a shell shows exit status {shell})",
                  f"{self.exit_text()}(Popen returncode {self.returncode}, 셸의 종료 상태 {shell})")),
            (pick("what the sampler recorded", "샘플러가 기록한 것"), self.sampler_text()),
            (pick("steps that succeeded", "성공한 단계"),
             pick(f"{self.steps_ok} ({fmt_bytes(self.touched)} written)",
                  f"{self.steps_ok}단계({fmt_bytes(self.touched)} 씀)")),
            (pick("times malloc returned NULL", "malloc이 NULL을 돌려준 횟수"), str(self.enomem_steps)),
            (pick("cgroup peak usage", "cgroup 최대 사용량"), fmt_bytes(self.peak) if self.peak else "?"),
            (pick("OOM kills in the cgroup", "cgroup 안에서 OOM 킬러가 종료한 횟수"), str(self.oom_kills)),
            (pick("time until the kill", "강제 종료까지 걸린 시간"), pick(f"{self.seconds:.1f} s", f"{self.seconds:.1f}초")),
            (pick("the machine's MemAvailable", "시스템의 MemAvailable"),
             f"{fmt_bytes(self.avail_before)} → {fmt_bytes(self.avail_after)}"),
            (pick("cgroup removed afterwards", "실험 후 cgroup 삭제"), yes if self.cgroup_removed else no),
        ]
        return _table(rows)

    def show(self) -> None:
        """The table, then the kernel's own log lines about the kill; or why it did not run."""
        if not self.ran:
            print(pick(f"Not run here: {self.why_not}.", f"여기서는 실행하지 않았습니다: {self.why_not}."))
            return
        _display(self.table())
        if self.kernel_log:
            print(pick("The kernel's log (dmesg):", "커널 로그(dmesg):"))
            print("\n".join("  " + ln for ln in self.kernel_log))


def oom_demo(limit_mib: int = OOM_LIMIT_MIB, interval_ms: int = OOM_INTERVAL_MS,
             timeout: float = 60.0) -> OomResult:
    """malloc_test writing 1 MiB per step inside a memory cgroup of ``limit_mib``: the OOM killer.

    malloc_test starts waiting for 'go', is moved into the cage, then told to go with memset on.
    The machine is untouched: only the cgroup runs out. The cgroup is removed before returning.
    Where no cage can be made (not root, no delegated cgroup), returns ``ran=False`` and why.
    """
    ok, why = MemoryCage.available()
    if not ok:
        return OomResult(ran=False, why_not=why, limit=limit_mib * MiB)
    limit = limit_mib * MiB
    cap_mib = limit_mib + 32  # past the limit, so the cage is what stops it; within the budget
    prog = programs.malloc_test(step_mib=1, interval_ms=interval_ms, touch="all", max_mib=cap_mib, wait_go=True)
    res = OomResult(ran=True, limit=limit, avail_before=procfs.meminfo()["MemAvailable"])
    sampler: Sampler | None = None
    cage = MemoryCage(limit)
    try:
        with cage:
            res.cgroup = cage.path or ""
            prog.start()
            res.pid = prog.pid
            cage.add(prog.pid)  # type: ignore[arg-type]
            sampler = Sampler(prog, hz=20 if FAST else 10, system=True).start()
            t0 = time.monotonic()
            prog.send("go")
            deadline = time.monotonic() + timeout
            # until the kill, or until it reaches its cap alive (a cage that does not bite)
            while prog.running and time.monotonic() < deadline and prog.last("cap") is None:
                time.sleep(0.02)
            res.seconds = time.monotonic() - t0
            prog.stop()  # no-op if it is dead already; stops it if the cage did not
            for _ in range(50):
                if not sampler.alive:
                    break
                time.sleep(0.02)
            sampler.stop()
            res.oom_kills = cage.oom_kills()
            res.peak = cage.peak()
    finally:
        prog.stop()
        if sampler is not None:
            sampler.stop()
    res.cgroup_removed = cage.removed and not os.path.exists(res.cgroup)
    res.returncode = prog.returncode
    res.exit = prog.exit_description("en")
    res.exit_texts = {lang: prog.exit_description(lang) for lang in LANGS}
    res.sampler_exit = sampler.exits.get(prog.pid, sampler.status) if sampler else ""  # type: ignore[arg-type]
    if res.sampler_exit in res.exit_texts.values():  # the program's own exit, said in the reader's language
        res.sampler_exit_texts = dict(res.exit_texts)
    steps = [e for e in prog.events if e["event"] == "step"]
    res.steps_ok = sum(1 for e in steps if e.get("ok") == 1)
    res.enomem_steps = sum(1 for e in steps if e.get("ok") == 0)
    res.touched = max((int(e.get("touched", 0)) for e in steps), default=0)  # type: ignore[arg-type]
    res.avail_after = procfs.meminfo()["MemAvailable"]
    res.kernel_log = programs.kernel_log(prog.pid) if res.killed else []  # type: ignore[arg-type]
    res.samples = sampler.to_dataframe() if sampler else None
    return res


def oom_chart(res: OomResult):
    """RES of the caged malloc_test over time, the cgroup limit, and where it was killed.

    A plotly FigureWidget (drawn once, after the run: unlike the panel's live chart it does not update).
    """
    import plotly.graph_objects as go

    fig = go.FigureWidget()
    if not res.ran or res.samples is None or len(res.samples) == 0:
        fig.update_layout(title=pick("OOM demo not run here", "여기서는 OOM 실험을 실행하지 않았습니다"), height=250)
        return fig
    df = res.samples
    fig.add_scatter(x=df["t"], y=df["res"] / MiB, name="RES", mode="lines+markers")
    fig.add_scatter(x=df["t"], y=df["virt"] / MiB, name="VIRT", mode="lines", line={"dash": "dot"})
    fig.add_hline(y=res.limit / MiB, line={"color": "red", "dash": "dash"},
                  annotation_text=pick(f"cgroup limit {fmt_bytes(res.limit)}", f"cgroup 한도 {fmt_bytes(res.limit)}"))
    if res.killed:
        t_end = float(df["t"].iloc[-1])
        fig.add_vline(x=t_end, line={"color": "black"},
                      annotation_text=pick("SIGKILL (OOM killer)", "SIGKILL (OOM 킬러)"))
    fig.update_layout(
        title=pick(f"malloc_test {res.pid} in a {fmt_bytes(res.limit)} memory cgroup: {res.exit_text('en')}",
                   f"{fmt_bytes(res.limit)} 메모리 cgroup 안의 malloc_test {res.pid}: {res.exit_text('ko')}"),
        xaxis_title=pick("seconds", "초"), yaxis_title="MiB", height=360, margin={"t": 60})
    return fig


def check_oom(q: quiz.Question, res: OomResult) -> str:
    """The verdict on the OOM question, or, where the demo could not run, what it would have shown."""
    if res.ran:
        text = q.verdict(res)
        print(text)
        return text
    return _say(
        f"The experiment could not run here ({res.why_not}), so there is no measurement to judge your "
        "prediction by. On a machine where it runs, the answer is: the process is killed. malloc never "
        "returns NULL for memory that is merely over the cgroup limit, because the limit is checked when "
        "pages are written, not when they are reserved. The kernel sends SIGKILL, Popen reports "
        "returncode -9, a shell reports exit status 137 (128 + 9), and the sampler records "
        "'killed by SIGKILL'.",
        f"여기서는 실험을 실행할 수 없어서({res.why_not}) 예상을 판정할 측정값이 없습니다. 실험이 가능한 "
        "시스템에서의 답은 '프로세스가 강제 종료된다'입니다. cgroup 한도는 페이지를 예약할 때가 아니라 쓸 때 "
        "검사하므로, 한도를 넘는다고 malloc이 NULL을 돌려주지는 않습니다. 커널은 SIGKILL을 보내고, Popen은 "
        "returncode -9를, 셸은 종료 상태 137(128 + 9)을 보여 주며, 샘플러는 'SIGKILL로 강제 종료됨'을 기록합니다.")


# --- predict, then observe ---------------------------------------------------------------

def _nearest_log(value: float, targets: list[float]) -> int:
    v = max(value, 0.5)
    return min(range(len(targets)), key=lambda i: abs(math.log(v) - math.log(targets[i])))


_FAULT_TARGETS = [1.0, MiB / PAGE, 1024.0, float(MiB)]


def _register() -> None:
    reg = quiz.register
    page = fmt_bytes(PAGE)
    reg(quiz.Question(
        id="2.3-malloc-res",
        prompt=("malloc_test mallocs 1 MiB per step and never writes to it. How much will RES grow per step?",
                "malloc_test가 단계마다 1 MiB를 malloc하고 거기에 전혀 쓰지 않습니다. 단계마다 RES는 얼마나 늘까요?"),
        options=[("About 1 MiB: malloc gives the process memory", "약 1 MiB: malloc이 메모리를 주니까"),
                 (f"About one page ({page}), not the 1 MiB", f"1 MiB가 아니라 페이지 하나({page}) 정도"),
                 ("Exactly 0: nothing is written", "정확히 0: 아무것도 쓰지 않으니까")],
        judge=lambda r: 0 if r >= MiB / 2 else (2 if r <= 0 else 1),
        explain=lambda r: (
            f"Resident memory grew by {fmt_bytes(r)} per step (the exact Rss, counted from the page tables). "
            "malloc only reserved address space (VIRT); the kernel gives a physical page only when a page is "
            "first written, and glibc wrote just the 16-byte chunk header at the start of each block. (top's RES "
            "column can show less on a kernel whose counter lags: the next cells compare the two.)",
            f"상주 메모리(페이지 테이블을 훑어 센 정확한 Rss)는 단계마다 {fmt_bytes(r)} 늘었습니다. malloc은 "
            "주소 공간(VIRT)을 예약했을 뿐이고, 커널은 페이지에 처음 쓸 때에야 물리 페이지를 줍니다. glibc가 쓴 "
            "것은 블록 맨 앞의 16바이트 청크 헤더뿐입니다. (카운터가 늦게 따라오는 커널에서는 top의 RES 열이 이보다 "
            "작게 나올 수 있습니다. 다음 셀들에서 두 값을 비교합니다.)"),
    ))
    reg(quiz.Question(
        id="2.3-faults-per-mib",
        prompt=("Now memset writes every 1 MiB block. How many minor page faults will each step cost?",
                "이제 memset이 1 MiB 블록을 전부 씁니다. 단계마다 마이너 페이지 폴트가 몇 번 날까요?"),
        options=[("About 1: one per malloc call", "약 1회: malloc 호출마다 한 번"),
                 (f"About {MiB // PAGE}: one per {page} page", f"약 {MiB // PAGE}회: {page} 페이지마다 한 번"),
                 ("About 1,024: one per KiB", "약 1,024회: 1 KiB마다 한 번"),
                 ("About 1,048,576: one per byte written", "약 1,048,576회: 쓴 바이트마다 한 번")],
        judge=lambda f: _nearest_log(f, _FAULT_TARGETS),
        explain=lambda f: (
            f"Each step cost {f:.0f} minor faults. The first write to each page traps into the kernel once; "
            f"memset writes 1 MiB = {MiB // PAGE} pages of {page}, and one more fault came from malloc "
            "writing the chunk header. Later writes to a page that is already mapped cost nothing.",
            f"단계마다 마이너 폴트가 {f:.0f}회 났습니다. 페이지마다 첫 쓰기에서 한 번씩 커널로 들어갑니다. "
            f"memset은 1 MiB = {page} 페이지 {MiB // PAGE}개를 쓰고, 나머지 한 번은 malloc이 청크 헤더를 쓸 "
            "때 났습니다. 이미 매핑된 페이지에 다시 쓰는 것은 폴트를 일으키지 않습니다."),
    ))
    reg(quiz.Question(
        id="2.3-zero-page",
        prompt=(f"A process maps {ZERO_PAGE_MIB} MiB it has never written, then reads every page of it. "
                "What happens to its RES?",
                f"프로세스가 한 번도 쓰지 않은 {ZERO_PAGE_MIB} MiB를 매핑한 뒤, 모든 페이지를 읽습니다. "
                "RES는 어떻게 될까요?"),
        options=[(f"It grows by about {ZERO_PAGE_MIB} MiB: reading makes the pages resident",
                  f"약 {ZERO_PAGE_MIB} MiB 늘어난다: 읽으면 페이지가 메모리에 올라온다"),
                 ("It stays about the same", "거의 그대로다"),
                 ("The read fails: the memory was never given", "읽기가 실패한다: 메모리를 받은 적이 없으니까")],
        judge=lambda r: 0 if r >= ZERO_PAGE_MIB * MiB / 2 else 1,
        explain=lambda r: (
            f"Resident memory (the exact Rss) changed by {fmt_bytes(r)}. Every read did fault, but for a read of never-written anonymous "
            "memory the kernel maps its one shared page of zeros (the zero page), which counts in nobody's "
            "RES. The reads return zeros. Only a write makes the kernel allocate a real page.",
            f"상주 메모리(정확한 Rss) 변화는 {fmt_bytes(r)}입니다. 읽을 때마다 폴트는 났지만, 한 번도 쓰지 않은 익명 메모리를 "
            "읽으면 커널은 0으로 채운 공유 페이지 하나(제로 페이지)를 매핑해 줍니다. 이 페이지는 누구의 RES에도 "
            "들어가지 않습니다. 읽은 값은 0이고, 쓰기를 해야 비로소 커널이 진짜 페이지를 줍니다."),
    ))
    reg(quiz.Question(
        id="2.3-commit",
        prompt=(f"big_alloc reserves {fmt_bytes(COMMIT_PROBE_BYTES)} and writes none of it. What does "
                "Committed_AS in /proc/meminfo do?",
                f"big_alloc이 {josa(fmt_bytes(COMMIT_PROBE_BYTES), '을')} 예약하고 한 바이트도 쓰지 않습니다. "
                "/proc/meminfo의 Committed_AS는 어떻게 될까요?"),
        options=[("Nothing: no page was touched", "그대로다: 건드린 페이지가 없으니까"),
                 (f"It rises by about {fmt_bytes(COMMIT_PROBE_BYTES)} at once",
                  f"곧바로 약 {fmt_bytes(COMMIT_PROBE_BYTES)} 늘어난다"),
                 ("It rises only as pages are written", "페이지를 쓸 때마다 조금씩 늘어난다")],
        judge=lambda c: 1 if c >= COMMIT_PROBE_BYTES / 2 else 0,
        explain=lambda c: (
            f"Committed_AS rose by {fmt_bytes(c)} while the program's RES stayed tiny. It counts promises "
            "(private writable mappings), made at malloc/mmap time, in every overcommit mode.",
            f"프로그램의 RES는 아주 작은데도 Committed_AS는 {fmt_bytes(c)} 늘었습니다. Committed_AS는 "
            "malloc/mmap 시점의 약속(쓰기 가능한 비공개 매핑)을 세며, 어떤 오버커밋 모드에서도 그렇습니다."),
    ))
    reg(quiz.Question(
        id="2.3-tib-mode0",
        prompt=("Under vm.overcommit_memory=0, the default, will malloc of 1 TiB succeed on this machine?",
                "기본값인 vm.overcommit_memory=0에서, 이 시스템에서 1 TiB malloc이 성공할까요?"),
        options=[("Yes: Linux overcommits, malloc never fails", "성공한다: 리눅스는 오버커밋하니 malloc은 실패하지 않는다"),
                 ("No: ENOMEM, because it is more than RAM + swap",
                  "실패한다: RAM + 스왑보다 크므로 ENOMEM"),
                 ("It succeeds, but the process is killed at once", "성공하지만 프로세스가 곧바로 강제 종료된다")],
        judge=lambda r: 0 if r.ok else 1,
        explain=lambda r: (
            f"The kernel answered {'ok' if r.ok else r.errno} under mode {r.mode}. {r.prediction.reason}",
            f"모드 {r.mode}에서 커널의 답은 {'성공' if r.ok else r.errno}이었습니다. {r.prediction.reason_ko}"),
    ))
    reg(quiz.Question(
        id="2.3-rlimit",
        prompt=(f"malloc_test runs under RLIMIT_AS = {RLIMIT_MIB} MiB (ulimit -v). What happens to the step that "
                "would pass the limit?",
                f"malloc_test를 RLIMIT_AS = {RLIMIT_MIB} MiB(ulimit -v)로 실행합니다. 한도를 넘게 될 단계에서는 "
                "무슨 일이 일어날까요?"),
        options=[("malloc returns NULL (ENOMEM) and the program carries on",
                  "malloc이 NULL(ENOMEM)을 돌려주고 프로그램은 계속 돈다"),
                 ("The process is killed with SIGKILL", "프로세스가 SIGKILL로 강제 종료된다"),
                 ("It succeeds: the limit counts only RES, and nothing is written",
                  "성공한다: 한도는 RES만 세는데 아무것도 쓰지 않았으니까")],
        judge=lambda r: 1 if r.returncode == -signal.SIGKILL else (0 if r.failed else 2),
        explain=lambda r: (
            f"Step {r.failed['n'] if r.failed else '?'} got ok=0 errno=ENOMEM after {r.ok_steps} good steps, and "
            "the program kept running. RLIMIT_AS caps VIRT, the address space, so the mmap inside malloc fails "
            "at reservation time, whatever the overcommit mode.",
            f"{r.ok_steps}단계가 성공한 뒤 {r.failed['n'] if r.failed else '?'}단계에서 ok=0 errno=ENOMEM이 "
            "나왔고, 프로그램은 계속 실행되었습니다. RLIMIT_AS는 주소 공간인 VIRT를 제한하므로, 오버커밋 모드와 "
            "상관없이 malloc 안의 mmap이 예약 시점에 실패합니다."),
    ))
    reg(quiz.Question(
        id="2.3-oom",
        prompt=(f"malloc_test writes 1 MiB per step inside a memory cgroup limited to {OOM_LIMIT_MIB} MiB. "
                "When it reaches the limit...",
                f"malloc_test가 {OOM_LIMIT_MIB} MiB로 제한된 메모리 cgroup 안에서 단계마다 1 MiB를 씁니다. "
                "한도에 닿으면..."),
        options=[("malloc returns NULL (ok=0 ENOMEM lines)", "malloc이 NULL을 돌려준다(ok=0 ENOMEM 줄)"),
                 ("The process is killed with SIGKILL", "프로세스가 SIGKILL로 강제 종료된다"),
                 ("It keeps running, just more slowly", "느려지기만 하고 계속 돈다"),
                 ("The whole machine runs out of memory", "시스템 전체의 메모리가 바닥난다")],
        judge=lambda r: {"killed": 1, "enomem": 0}.get(r.outcome, 2),
        explain=lambda r: (
            f"{_sentence_case(r.exit_text('en'))} after {r.steps_ok} steps ({fmt_bytes(r.touched)} written); "
            "malloc returned NULL "
            f"{r.enomem_steps} times. The reservations were all granted; the limit bites when pages are "
            "written, where there is no error code to return, so the kernel's OOM killer picks a process in "
            f"the cgroup and sends SIGKILL. MemAvailable of the machine: {fmt_bytes(r.avail_before)} before, "
            f"{fmt_bytes(r.avail_after)} after.",
            f"{r.steps_ok}단계({fmt_bytes(r.touched)} 씀) 뒤 {r.exit_sentence('ko')}. malloc이 NULL을 돌려준 횟수는 "
            f"{r.enomem_steps}회입니다. 예약은 모두 허락되었고, 한도는 페이지를 쓸 때 걸립니다. 그 순간에는 "
            "돌려줄 오류 코드가 없으므로 커널의 OOM 킬러가 cgroup 안의 프로세스를 골라 SIGKILL을 보냅니다. "
            f"시스템의 MemAvailable: 실험 전 {fmt_bytes(r.avail_before)}, 실험 후 {fmt_bytes(r.avail_after)}."),
    ))


_register()
