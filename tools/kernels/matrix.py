"""``python -m tools.kernels.matrix [--quick] [--only KEY ...]``: the claim x kernel table.

Runs ``python -m tests.claims --json`` natively (column: the host's ``uname -r``) and inside each
VM configuration, prints a table (rows: claims; columns: configurations; cells: holds /
differs (figures) / skipped / error) with each VM's timings, and writes
``test-artifacts/kernel-matrix.json`` and ``test-artifacts/kernel-matrix.md``.

Exit status 1 when any claim differs or errors anywhere, is skipped where it should have run
(see :data:`EXPECTED_SKIPS`), or any VM fails to boot, set up or finish; 0 otherwise.  ``--only``
takes kernel keys (``6.1``, ``6.12``) and/or ``host``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field

from tests.claims import EXPECTED_SKIPS

from . import ARTIFACTS, REPO
from .fetch import KERNELS, fetch
from .initramfs import Image, build
from .vm import TCG_THREAD, ConfigError, VMConfig, check_kernel_supports, kill_all, qemu_binary, run_in_vm

# Expected skips: a claim check that raises Skip on some machine fails the matrix ("skipped
# (unexpected: <reason>)") unless tests/claims' EXPECTED_SKIPS says that machine cannot run it
# (claim id -> (why, a test on the column's machine facts, the first line of
# ``python -m tests.claims --json``)).  The claims own the table; the matrix applies it.

#: The VMs of a full run.  Debian 12's 6.12 (bookworm-security) is built without CONFIG_MEMCG_V1, so cgroup v1
#: (with its memory controller) exists on 6.1 only: both v1 runs are on 6.1, and the second 6.12
#: run keeps swap and THP madvise on cgroup v2.
DEFAULT_CONFIGS = (
    VMConfig("6.1", smp=2, thp="always", cgroup="v2", swap_mib=0),
    VMConfig("6.1", smp=1, thp="madvise", cgroup="v1", swap_mib=512),
    VMConfig("6.12", smp=4, thp="always", cgroup="v2", swap_mib=0),
    VMConfig("6.12", smp=2, thp="madvise", cgroup="v2", swap_mib=512),
)
#: --quick: one boot per kernel
QUICK_CONFIGS = (DEFAULT_CONFIGS[0], DEFAULT_CONFIGS[2])
CLAIMS_ARGV = ["python", "-m", "tests.claims", "--json"]
STATUSES = ("holds", "differs", "skipped", "error")


# --------------------------------------------------------------------------- results

@dataclass
class Column:
    """One machine's run of the claim checks: the host, or one VM configuration."""

    id: str  # column heading
    kind: str  # "host" | "vm"
    status: str  # "ok", or why there are no (complete) results: boot-failed, timeout, ...
    rc: int | str | None = None
    config: dict | None = None
    kernel: dict = field(default_factory=dict)
    machine: dict = field(default_factory=dict)
    records: list[dict] = field(default_factory=list)
    seconds: dict = field(default_factory=dict)  # boot, setup, run, total
    setup: dict = field(default_factory=dict)  # what the guest's /init reported
    error: str = ""
    stderr_tail: list[str] = field(default_factory=list)
    noise: list[str] = field(default_factory=list)  # stdout lines that were not JSON records
    log_path: str | None = None

    def record(self, claim_id: str) -> dict | None:
        return next((r for r in self.records if r.get("claim") == claim_id), None)

    @property
    def failed(self) -> bool:
        """No complete, trustworthy set of records: the column itself is a failure."""
        return self.status != "ok" or not self.machine or self.rc not in (0, 1)


def parse_claim_lines(lines: list[str]) -> tuple[dict, list[dict], list[str]]:
    """(machine, records, other lines) from ``python -m tests.claims --json`` output."""
    machine: dict = {}
    records: list[dict] = []
    other: list[str] = []
    for line in lines:
        s = line.strip()
        if not s:
            continue
        try:
            obj = json.loads(s[s.index("{"):]) if "{" in s else None
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("machine"), dict):
            machine = obj["machine"]
        elif isinstance(obj, dict) and "claim" in obj and "status" in obj:
            records.append(obj)
        else:
            other.append(line)
    return machine, records, other


def skip_expected(rec: dict, machine: dict) -> bool:
    """Whether a skipped record is one :data:`EXPECTED_SKIPS` allows on this machine."""
    allowed = EXPECTED_SKIPS.get(rec.get("claim", ""))
    return bool(allowed and machine and allowed[1](machine))


def unexpected_skips(col: Column) -> list[dict]:
    """The column's skipped records that should have run there."""
    return [r for r in col.records if r.get("status") == "skipped" and not skip_expected(r, col.machine)]


def host_khugepaged(root: str = "/sys/kernel/mm/transparent_hugepage/khugepaged") -> dict:
    """khugepaged's pacing here (``{"scan_sleep_millisecs": "10000", ...}``; {} without THP)."""
    out = {}
    for name in ("scan_sleep_millisecs", "alloc_sleep_millisecs", "pages_to_scan"):
        try:
            with open(os.path.join(root, name)) as f:
                out[name] = f.read().strip()
        except OSError:
            pass
    return out


def khugepaged_note(col: Column) -> str:
    """``khugepaged scan 100 ms, alloc 100 ms (set)`` / ``... (default)``: what the column ran with."""
    thp = col.setup.get("thp") or {}
    if thp.get("khugepaged"):
        vals, how = {k: v.get("after") for k, v in thp["khugepaged"].items()}, "set by /init"
    elif col.setup.get("khugepaged"):
        vals, how = col.setup["khugepaged"], "as found"
    else:
        return ""
    parts = [f"{label} {vals[name]} ms" for name, label in (("scan_sleep_millisecs", "scan every"),
                                                           ("alloc_sleep_millisecs", "alloc retry"))
             if name in vals]
    return f"khugepaged {', '.join(parts)} ({how})" if parts else ""


def run_host(claims: list[str] | None, timeout: float) -> Column:
    """The claim checks natively, with this venv's python (column: ``host <uname -r>``)."""
    argv = [sys.executable, "-m", "tests.claims", "--json"] + (["--only", *claims] if claims else [])
    env = dict(os.environ, TOPLAB_FAST="1")
    t0 = time.monotonic()
    col = Column(id=f"host {platform.release()}", kind="host", status="ok",
                 kernel={"release": platform.release()}, setup={"khugepaged": host_khugepaged()})
    try:
        r = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
        col.rc = r.returncode
        out, err = r.stdout, r.stderr
    except subprocess.TimeoutExpired as e:
        col.status, col.rc, col.error = "timeout", "timeout", f"no result within {timeout:.0f} s"
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = (e.stderr or b"").decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
    col.machine, col.records, col.noise = parse_claim_lines(out.splitlines())
    col.stderr_tail = err.splitlines()[-30:]
    col.seconds = {"total": round(time.monotonic() - t0, 2)}
    if col.status == "ok" and (not col.machine or col.rc not in (0, 1)):
        col.status, col.error = "command-failed", f"python -m tests.claims exited {col.rc}"
    return col


def run_vm_column(cfg: VMConfig, claims: list[str] | None, timeout: float, echo: bool = False,
                  image: Image | None = None) -> Column:
    argv = CLAIMS_ARGV + (["--only", *claims] if claims else [])
    col = Column(id=cfg.label, kind="vm", status="ok", config=asdict(cfg))
    try:
        r = run_in_vm(cfg, argv, timeout=timeout, echo=echo, image=image)
    except ConfigError as e:
        col.status, col.error = "config-refused", str(e)
        return col
    col.kernel, col.rc, col.setup = r.kernel, r.rc, r.facts
    col.machine, col.records, col.noise = parse_claim_lines(r.stdout)
    col.stderr_tail = r.stderr[-30:]
    col.seconds = {"boot": r.boot_seconds, "setup": r.setup_seconds, "run": r.run_seconds,
                   "total": r.total_seconds}
    col.status, col.error, col.log_path = r.status, r.error, r.log_path
    if col.status == "ok":
        thp = (r.facts.get("thp") or {})
        cg = (r.facts.get("cgroup") or {})
        if thp and not thp.get("ok"):
            col.status, col.error = "setup-failed", (f"THP {cfg.thp} refused: {thp.get('after')}"
                                                     f" (khugepaged: {thp.get('khugepaged', {})})")
        elif cg.get("version") != cfg.cgroup:
            col.status, col.error = "setup-failed", cg.get("error") or f"cgroup {cfg.cgroup} not set up: {cg}"
        elif cfg.swap_mib and not (r.facts.get("swap") or {}).get("total_kib"):
            col.status, col.error = "setup-failed", f"no swap: {r.facts.get('swap')}"
        elif not col.machine or col.rc not in (0, 1):
            col.status, col.error = "command-failed", f"python -m tests.claims exited {col.rc}"
    return col


# --------------------------------------------------------------------------- rendering

def cell(rec: dict | None, col: Column, width: int | None = None) -> str:
    """A table cell: holds / differs (figures) / skipped / skipped (unexpected: reason) / error, or
    why the column has no record."""
    if rec is None:
        return "no result" if col.failed else "missing"
    st = rec.get("status", "?")
    if st in ("differs", "error") and rec.get("figures"):
        text = f"{st} ({rec['figures']})"
    elif st == "skipped" and not skip_expected(rec, col.machine):
        text = f"skipped (unexpected: {rec.get('figures') or 'no reason given'})"
    else:
        text = st
    if width and len(text) > width:
        text = text[:width - 1] + "…"
    return text


def claim_rows(columns: list[Column]) -> list[dict]:
    """The claims, in the order they first appear, with chapter and title."""
    rows: dict[str, dict] = {}
    for col in columns:
        for r in col.records:
            rows.setdefault(r["claim"], {"claim": r["claim"], "chapter": r.get("chapter", ""),
                                         "title": r.get("title", "")})
    return list(rows.values())


def _fmt_s(v) -> str:
    return "-" if v is None else f"{v:.0f}s" if v >= 10 else f"{v:.1f}s"


def timing(col: Column) -> str:
    s = col.seconds
    if col.kind == "host":
        return f"total {_fmt_s(s.get('total'))}"
    return f"boot {_fmt_s(s.get('boot'))} run {_fmt_s(s.get('run'))} total {_fmt_s(s.get('total'))}"


def column_status(col: Column) -> str:
    return "ok" if col.status == "ok" else f"{col.status}: {col.error}"


def render_text(columns: list[Column], width: int = 34) -> str:
    """The terminal table: one row per claim, one column per machine, timings and status below."""
    rows = claim_rows(columns)
    head = ["claim"] + [c.id for c in columns]
    body = [[f"{r['chapter']} {r['claim']}"] + [cell(c.record(r["claim"]), c, width) for c in columns]
            for r in rows]
    body.append(["time"] + [timing(c) for c in columns])
    body.append(["status"] + [("ok" if c.status == "ok" else c.status) for c in columns])
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    widths = [min(w, max(width, len(head[i]) if i else w)) for i, w in enumerate(widths)]

    def line(cells: list[str]) -> str:
        return "  ".join(c[:w].ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(head), line(["-" * w for w in widths])]
    out += [line(b) for b in body]
    notes = []
    for c in columns:
        if c.status != "ok":
            notes.append(f"{c.id}: {column_status(c)}" + (f" (log: {c.log_path})" if c.log_path else ""))
        for r in c.records:
            if r.get("status") in ("differs", "error"):
                notes.append(f"{c.id}: {r['claim']} {r['status']}: {r.get('figures', '')}")
        for r in unexpected_skips(c):
            notes.append(f"{c.id}: {r['claim']} skipped, not expected there (EXPECTED_SKIPS in "
                         f"tools/kernels/matrix.py): {r.get('figures', '')}")
    kh = [f"{c.id}: {note}" for c in columns if (note := khugepaged_note(c))]
    if notes:
        out += ["", *notes]
    if kh:
        out += ["", *kh]
    out += ["", "Figures (what each check measured, per machine):", *render_figures(columns)]
    return "\n".join(out)


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(columns: list[Column], meta: dict | None = None) -> str:
    rows = claim_rows(columns)
    out = ["# Claim checks across kernels", ""]
    if meta:
        out += [f"Run {meta.get('started', '')}, {meta.get('total_seconds', 0):.0f} s in all"
                f" ({'passed' if meta.get('passed') else 'FAILED'}).", ""]
    out += ["| claim | chapter | " + " | ".join(_md(c.id) for c in columns) + " |",
            "|---|---|" + "---|" * len(columns)]
    for r in rows:
        out.append(f"| {_md(r['claim'])} | {_md(r['chapter'])} | "
                   + " | ".join(_md(cell(c.record(r["claim"]), c)) for c in columns) + " |")
    out.append("| *time* | | " + " | ".join(timing(c) for c in columns) + " |")
    out.append("| *status* | | " + " | ".join(_md(column_status(c)) for c in columns) + " |")
    out += ["", "## Machines", "", "| column | kernel | package | cpus | THP | khugepaged | cgroup | swap | python |",
            "|---|---|---|---|---|---|---|---|---|"]
    for c in columns:
        m, k = c.machine, c.kernel
        pkg = f"{k.get('package', '')} {k.get('version', '')}".strip() or "(host)"
        swap = m.get("swap")
        out.append(f"| {_md(c.id)} | {m.get('kernel', k.get('release', ''))} | {_md(pkg)} | {m.get('cpus', '')} | "
                   f"{m.get('thp', '')} | {_md(khugepaged_note(c))} | {m.get('cgroup', '')} | "
                   f"{'' if swap is None else f'{swap // 2**20} MiB'} | {m.get('python', '')} |")
    titles = [f"- **{_md(r['claim'])}** ({r['chapter']}): {_md(r['title'])}" for r in rows]
    if titles:
        out += ["", "## Claims", "", *titles]
    figures = render_figures(columns)
    if figures:
        out += ["", "## Figures", "", "What each check measured, per machine.", ""]
        out += [f"- {_md(line)}" if not line.startswith("  ") else f"  - {_md(line.strip())}" for line in figures]
    return "\n".join(out) + "\n"


def render_figures(columns: list[Column]) -> list[str]:
    """Per claim, the figures each machine measured: 'claim: title', then '  column: status, figures'."""
    out = []
    for r in claim_rows(columns):
        out.append(f"{r['claim']}: {r['title']}")
        for c in columns:
            rec = c.record(r["claim"])
            if rec is not None:
                out.append(f"  {c.id}: {rec.get('status', '?')}, {rec.get('figures', '')}")
    return out


def passed(columns: list[Column]) -> bool:
    """Every column complete, no claim differing or erring, and no skip but the expected ones."""
    if any(c.failed for c in columns):
        return False
    if any(unexpected_skips(c) for c in columns):
        return False
    return not any(r.get("status") in ("differs", "error") for c in columns for r in c.records)


# --------------------------------------------------------------------------- main

def prepare(configs: list[VMConfig]) -> tuple[dict, dict[str, Image]]:
    """Download the kernels and build their images up front: VM timings are then boot + run only,
    and every VM of a kernel runs the same snapshot of the project's files."""
    prep: dict = {"kernels": {}, "initramfs": {}}
    images: dict[str, Image] = {}
    for key in dict.fromkeys(c.kernel for c in configs):
        t0 = time.monotonic()
        k = fetch(key)
        prep["kernels"][key] = {"package": k.package, "version": k.version, "release": k.release,
                                "cached": k.cached, "seconds": round(time.monotonic() - t0, 2)}
        t0 = time.monotonic()
        img = images[key] = build(k)
        prep["initramfs"][key] = {"image": img.path.name, "mib": round(img.size / 2**20), "built": img.built,
                                  "seconds": round(time.monotonic() - t0, 2)}
    return prep, images


def select_configs(quick: bool, only: list[str] | None) -> tuple[list[VMConfig], bool]:
    """(VM configurations, run the host too?) for --quick / --only."""
    configs = list(QUICK_CONFIGS if quick else DEFAULT_CONFIGS)
    if not only:
        return configs, True
    unknown = set(only) - set(KERNELS) - {"host"}
    if unknown:
        raise SystemExit(f"--only: unknown {', '.join(sorted(unknown))} (use {', '.join(KERNELS)} or host)")
    return [c for c in configs if c.kernel in only], "host" in only


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.kernels.matrix", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one VM per kernel (configurations 1 and 3)")
    ap.add_argument("--only", nargs="+", metavar="KEY", help="only these kernels (6.1, 6.12) and/or host")
    ap.add_argument("--claims", nargs="+", metavar="ID", help="run only these claim ids (tests.claims --only)")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("TOPLAB_VM_JOBS", "2")),
                    help="VMs at once (default 2: one per host core; each VM's CPUs share one qemu thread)")
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds for the claim checks in one VM (default 300; they take about 30 under TCG)")
    ap.add_argument("--echo", action="store_true", help="print every VM's console as it comes")
    args = ap.parse_args(argv)
    if threading.current_thread() is threading.main_thread():  # `kill PID`: clean up as for Ctrl-C
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    configs, with_host = select_configs(args.quick, args.only)
    if configs:
        try:
            qemu_binary()
        except FileNotFoundError as e:
            print(f"kernel matrix: {e}", file=sys.stderr)
            return 2
    t_start = time.monotonic()
    started = time.strftime("%Y-%m-%d %H:%M:%S %z")
    print(f"kernel matrix: {len(configs)} VM(s){' + host' if with_host else ''}, {args.jobs} at a time",
          flush=True)
    prep, images = prepare(configs)
    for key, k in prep["kernels"].items():
        i = prep["initramfs"][key]
        print(f"  {key}: {k['package']} {k['version']} ({'cached' if k['cached'] else 'downloaded'} in "
              f"{k['seconds']:.1f} s); initramfs {i['mib']} MiB in {i['seconds']:.1f} s {i['built']}", flush=True)
    columns: list[Column] = []
    if with_host:
        print(f"  host {platform.release()}: running natively ...", flush=True)
        columns.append(run_host(args.claims, args.timeout))
        print(f"  host: {columns[-1].status}, {timing(columns[-1])}", flush=True)
    vm_cols: dict[VMConfig, Column] = {}
    refused = []
    runnable = []
    for cfg in configs:
        try:
            check_kernel_supports(cfg, fetch(cfg.kernel))
            runnable.append(cfg)
        except ConfigError as e:
            refused.append(cfg)
            vm_cols[cfg] = Column(id=cfg.label, kind="vm", status="config-refused", error=str(e), config=asdict(cfg))
    pool = ThreadPoolExecutor(max_workers=max(1, args.jobs))
    try:
        futs = {pool.submit(run_vm_column, cfg, args.claims, args.timeout, args.echo, images[cfg.kernel]): cfg
                for cfg in runnable}
        for f in as_completed(futs):
            cfg = futs[f]
            try:
                col = f.result()
            except Exception as e:  # a crash in the runner is a failed column, not a lost matrix
                col = Column(id=cfg.label, kind="vm", status="runner-error", error=f"{type(e).__name__}: {e}",
                             config=asdict(cfg))
            vm_cols[cfg] = col
            print(f"  {cfg.label}: {column_status(col)}; {timing(col)}", flush=True)
    except BaseException:  # Ctrl-C, SIGTERM: no VM may outlive us, and none may start now
        kill_all()  # first: sets the stop flag, so a worker between boots starts no qemu
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    columns += [vm_cols[c] for c in configs]
    total = round(time.monotonic() - t_start, 1)
    ok = passed(columns)
    meta = {"started": started, "total_seconds": total, "passed": ok, "prepare": prep,
            "tcg": TCG_THREAD, "jobs": args.jobs, "expected_skips": {k: v[0] for k, v in EXPECTED_SKIPS.items()}}
    print()
    print(render_text(columns))
    print(f"\nkernel matrix: {'passed' if ok else 'FAILED'} in {total:.0f} s "
          f"(artifacts: test-artifacts/kernel-matrix.json, kernel-matrix.md)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "kernel-matrix.json").write_text(json.dumps(
        {**meta, "claims": claim_rows(columns), "columns": [asdict(c) for c in columns]}, indent=1) + "\n")
    (ARTIFACTS / "kernel-matrix.md").write_text(render_markdown(columns, meta))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
