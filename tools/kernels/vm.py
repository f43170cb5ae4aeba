"""Boot one kernel configuration under qemu (TCG) and run a command in it.

``run_in_vm(VMConfig("6.1", smp=2, thp="always", cgroup="v2"), ["python", "-m", "tests.claims", "--json"])``
returns a :class:`VMResult`: the command's stdout and stderr lines, its exit status, the setup facts
the guest's ``/init`` reported, boot / setup / run seconds, and the whole console log (written to
``test-artifacts/kernel-logs/`` when the VM failed).  qemu always ends: it is killed by PID when the
time is up or :func:`kill_all` runs (Ctrl-C, SIGTERM; no qemu starts after that), and it is started
as ``setpriv --pdeathsig KILL -- qemu ...``, so the kernel kills it when the *thread* that started
it ends (PR_SET_PDEATHSIG follows the thread that forked, not the process): a worker thread that
dies, or this process killed with SIGKILL.

``python -m tools.kernels.vm 6.1 -- python -c 'print(1)'`` runs one command by hand.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import ARTIFACTS, REPO, cache_dir, pid_alive
from .fetch import KERNELS, Kernel, fetch
from .guest_init import BEGIN, END, FACT_PREFIX
from .initramfs import GUEST_REPO, Image, build, python_layout, refresh

END_RE = re.compile(re.escape(END) + r" rc=(\S+) seconds=([\d.]+)=====")
FACT_RE = re.compile(re.escape(FACT_PREFIX) + r" (\w+) (.*)$")
THP_MODES = ("always", "madvise", "never")
CGROUPS = ("v1", "v2")
#: the time allowed for boot + setup + power-off, on top of the command's own timeout
BOOT_ALLOWANCE = 120
#: "single": one host thread runs all the guest's CPUs in turn.  "multi" (MTTCG, qemu's default)
#: gives each its own thread, but qemu 7.2's MTTCG races with the kernel's live code patching
#: (text_poke): 6.12 died with "Oops: int3" in about 1 boot of 8 here.
TCG_THREAD = os.environ.get("TOPLAB_TCG_THREAD", "single")
#: khugepaged's pacing in VMs with THP ``always``.  Debian's defaults (scan every 10 s, 4096 pages
#: a pass; 60 s after a failed allocation) collapse a process's 2 MiB ranges over minutes, what a
#: reader's session sees; the claim checks run for about 20 s, so the VMs scan every 100 ms.
KHUGEPAGED_FAST = {"scan_sleep_millisecs": 100, "alloc_sleep_millisecs": 100}


_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()
#: set by kill_all: from then on no qemu starts in this process (no boot, no second attempt)
_STOP = threading.Event()


def stopping() -> bool:
    """Whether :func:`kill_all` ran: the runner is shutting down."""
    return _STOP.is_set()


def kill_all() -> None:
    """Kill every qemu this process started that still runs (by PID; for Ctrl-C in a thread pool),
    and start no more: a boot killed here must not be retried, nor a queued VM boot."""
    _STOP.set()
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=30)


class ConfigError(ValueError):
    """A VM configuration that cannot be run (bad field, or a feature the kernel lacks)."""


@dataclass(frozen=True)
class VMConfig:
    kernel: str  # a key of fetch.KERNELS: "6.1", "6.12"
    smp: int = 2
    mem_mib: int = 2048
    thp: str = "always"
    cgroup: str = "v2"
    swap_mib: int = 0

    def __post_init__(self) -> None:
        errors = []
        if self.kernel not in KERNELS:
            errors.append(f"kernel {self.kernel!r} is not one of {', '.join(KERNELS)}")
        if not isinstance(self.smp, int) or isinstance(self.smp, bool) or not 1 <= self.smp <= 16:
            errors.append(f"smp must be an integer 1..16, got {self.smp!r}")
        if not isinstance(self.mem_mib, int) or isinstance(self.mem_mib, bool) or not 256 <= self.mem_mib <= 16384:
            errors.append(f"mem_mib must be an integer 256..16384, got {self.mem_mib!r}")
        if self.thp not in THP_MODES:
            errors.append(f"thp must be one of {', '.join(THP_MODES)}, got {self.thp!r}")
        if self.cgroup not in CGROUPS:
            errors.append(f"cgroup must be one of {', '.join(CGROUPS)}, got {self.cgroup!r}")
        if not isinstance(self.swap_mib, int) or isinstance(self.swap_mib, bool) or not 0 <= self.swap_mib <= 16384:
            errors.append(f"swap_mib must be an integer 0..16384, got {self.swap_mib!r}")
        if errors:
            raise ConfigError("; ".join(errors))

    @property
    def label(self) -> str:
        swap = f" swap{self.swap_mib}M" if self.swap_mib else ""
        return f"{self.kernel} {self.smp}cpu {self.thp} cg{self.cgroup}{swap}"

    @property
    def slug(self) -> str:
        return f"{self.kernel}-smp{self.smp}-{self.thp}-cg{self.cgroup}-swap{self.swap_mib}"


def check_kernel_supports(cfg: VMConfig, k: Kernel) -> None:
    """Refuse, before booting, what the kernel's own config says it cannot do."""
    text = k.config_file.read_text()
    if cfg.cgroup == "v1" and ("# CONFIG_MEMCG_V1 is not set" in text or "CONFIG_MEMCG=y" not in text):
        raise ConfigError(f"{k.package} {k.version} has no cgroup v1 memory controller "
                          "(CONFIG_MEMCG_V1 is not set): use cgroup v2 on this kernel")
    if cfg.swap_mib and "CONFIG_SWAP=y" not in text:
        raise ConfigError(f"{k.package} has no swap support (CONFIG_SWAP)")


# --------------------------------------------------------------------------- console parsing

@dataclass
class Console:
    """What the guest said on the console (see guest_init's protocol)."""

    facts: dict = field(default_factory=dict)
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    began: bool = False
    ended: bool = False
    rc: int | str | None = None  # int, or "timeout"
    guest_seconds: float | None = None


def parse_console(lines: list[str]) -> Console:
    """Split a console log into init's facts and the command's stdout/stderr between the markers.

    Kernel messages or serial noise before, between or after are ignored; ``\\r`` (the tty's
    ONLCR) is dropped.  A log cut off before the END marker has ``ended`` False.
    """
    c = Console()
    inside = False
    for raw in lines:
        line = raw.replace("\r", "").rstrip("\n")
        if not inside:
            if BEGIN in line:
                inside, c.began = True, True
                continue
            m = FACT_RE.search(line)
            if m:
                try:
                    c.facts[m.group(1)] = json.loads(m.group(2))
                except ValueError:
                    c.facts[m.group(1)] = m.group(2)
            continue
        m = END_RE.search(line)
        if m:
            inside, c.ended = False, True
            c.rc = int(m.group(1)) if re.fullmatch(r"-?\d+", m.group(1)) else m.group(1)
            c.guest_seconds = float(m.group(2))
            continue
        if line.startswith("@o "):
            c.stdout.append(line[3:])
        elif line.startswith("@e "):
            c.stderr.append(line[3:])
        elif "@o " in line:  # a kernel message glued in front of a relayed line
            c.stdout.append(line[line.index("@o ") + 3:])
        elif "@e " in line:
            c.stderr.append(line[line.index("@e ") + 3:])
    return c


# --------------------------------------------------------------------------- running

@dataclass
class VMResult:
    config: VMConfig
    kernel: dict  # key, package, version, release
    status: str  # "ok" | "boot-failed" | "setup-failed" | "timeout" | "qemu-failed" | "stopped"
    rc: int | str | None
    stdout: list[str]
    stderr: list[str]
    facts: dict
    boot_seconds: float | None  # qemu start -> /init running (kernel boot + initramfs unpack + python)
    setup_seconds: float | None  # /init running -> command started (mounts, modules, swap)
    run_seconds: float | None  # the command, on the host's clock
    total_seconds: float  # qemu start -> qemu gone
    console: list[str]
    image: str = ""
    log_path: str | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def summary(self) -> dict:
        d = asdict(self)
        d["config"] = asdict(self.config)
        d.pop("console")
        return d


def qemu_binary() -> str:
    exe = shutil.which("qemu-system-x86_64")
    if not exe:
        raise FileNotFoundError("qemu-system-x86_64 not found: apt-get install qemu-system-x86")
    return exe


def make_swap(path: Path, mib: int) -> None:
    """A sparse file of ``mib`` MiB with a swap signature (``mkswap``), for a virtio disk."""
    with open(path, "wb") as f:
        f.truncate(mib * 2**20)
    mkswap = shutil.which("mkswap") or next((p for p in ("/usr/sbin/mkswap", "/sbin/mkswap") if os.path.exists(p)), None)
    if not mkswap:
        raise FileNotFoundError("mkswap not found (util-linux)")
    subprocess.run([mkswap, "-q", str(path)], check=True, capture_output=True)


def guest_env(extra: dict | None = None) -> dict:
    py = python_layout()
    path = ":".join(p for p in ((os.path.join(py.venv, "bin") if py.venv else ""), "/usr/local/sbin",
                                "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin") if p)
    env = {"PATH": path, "HOME": "/root", "USER": "root", "LOGNAME": "root", "LANG": "C.UTF-8",
           "TERM": "linux", "TOPLAB_FAST": "1", "PYTHONUNBUFFERED": "1", "TMPDIR": "/tmp"}
    env.update(extra or {})
    return env


def kernel_cmdline(cfg: VMConfig, argv: list[str], timeout: float, env: dict | None = None,
                   cwd: str = GUEST_REPO) -> str:
    py = python_layout()
    argv = [py.guest_python if a == "python" and i == 0 else a for i, a in enumerate(argv)]
    payload = {"argv": argv, "cwd": cwd, "env": guest_env(env), "timeout": timeout,
               "thp": cfg.thp, "cgroup": cfg.cgroup, "swap": cfg.swap_mib > 0,
               "khugepaged": KHUGEPAGED_FAST if cfg.thp == "always" else {}}
    blob = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    line = f"console=ttyS0 quiet panic=-1 toplab.cfg={blob}"
    if len(line) > 2000:
        raise ConfigError(f"kernel command line too long ({len(line)} bytes): shorten argv or env")
    return line


def _stop(proc: subprocess.Popen) -> None:
    """End a qemu that still runs: SIGTERM (qemu shuts down), then SIGKILL after 5 s."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


@functools.cache
def _setpriv_pdeathsig(setpriv: str | None) -> bool:
    if not setpriv:
        return False
    try:
        return subprocess.run([setpriv, "--pdeathsig", "KILL", "--", "true"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def pdeathsig_prefix() -> list[str]:
    """``setpriv --pdeathsig KILL --`` (util-linux 2.33+): the command it runs gets SIGKILL when the
    thread that started it ends.  Nothing runs in the forked child before exec (a ``preexec_fn``
    would, and can deadlock in a multi-threaded parent).  setpriv sets the signal just before it
    execs the command, so the thread must outlive that moment (``_boot`` waits for qemu to end).
    Without setpriv: ``[]`` and a warning: qemu is then still killed by PID on a timeout, Ctrl-C
    or SIGTERM, but outlives a SIGKILL of this process."""
    setpriv = shutil.which("setpriv")
    if _setpriv_pdeathsig(setpriv):
        return [setpriv, "--pdeathsig", "KILL", "--"]
    global _warned_setpriv
    if not _warned_setpriv:
        _warned_setpriv = True
        print("kernels: warning: no `setpriv --pdeathsig` (util-linux 2.33+): a qemu started now would "
              "outlive this process if it were killed with SIGKILL", file=sys.stderr, flush=True)
    return []


_warned_setpriv = False


#: a ``vm-<pid>-*`` directory whose PID runs is still left alone after this long (a reused PID)
STALE_VM_DIR_SECONDS = 86400


def remove_stale_vm_dirs(d: Path | None = None) -> list[Path]:
    """The ``vm-<pid>-*`` scratch directories (swap image, qemu's stderr) of runs that were killed
    (their PID is gone), and any older than a day: removed; returns them."""
    d = d or cache_dir()
    now, removed = time.time(), []
    for sub in d.glob("vm-*"):
        m = re.match(r"vm-(\d+)-", sub.name)  # an older runner's names have no PID: by age only
        try:
            old = now - sub.stat().st_mtime > STALE_VM_DIR_SECONDS
        except OSError:
            continue
        if ((m and not pid_alive(int(m.group(1)))) or old) and sub.is_dir():
            shutil.rmtree(sub, ignore_errors=True)
            removed.append(sub)
    return removed


def run_in_vm(config: VMConfig, argv: list[str], timeout: float = 300, env: dict | None = None,
              keep_log: bool = False, echo: bool = False, boot_attempts: int = 2,
              image: Image | None = None) -> VMResult:
    """Boot ``config``, run ``argv`` as root in the repository copy, power off; never leaves qemu behind.

    A boot that dies before ``/init`` starts (an emulator hiccup, not the project's code) is tried
    again, up to ``boot_attempts`` times in all; ``facts["boot_attempts"]`` says how many it took.
    ``image``: an initramfs built beforehand (the matrix gives every VM of a kernel the same one).
    """
    k = fetch(config.kernel)
    check_kernel_supports(config, k)
    if image is None or not refresh(image):  # refresh: in use, so no other run prunes it now
        image = build(k)
    cmdline = kernel_cmdline(config, argv, timeout, env)
    remove_stale_vm_dirs()
    failed_logs: list[str] = []
    for attempt in range(1, boot_attempts + 1):
        r, qemu_err = _boot(config, k, image, cmdline, timeout, echo)
        if (r.boot_seconds is not None or r.status in ("qemu-failed", "stopped") or attempt == boot_attempts
                or stopping()):
            break
        failed_logs.append(_save_log(config, r.console, qemu_err, f"boot{attempt}"))
        print(f"kernels: {config.label}: the kernel died before /init (attempt {attempt}); booting again "
              f"(log {failed_logs[-1]})", file=sys.stderr, flush=True)
    r.facts["boot_attempts"] = attempt
    if failed_logs:
        r.facts["failed_boot_logs"] = failed_logs
    if keep_log or not r.ok:
        r.log_path = _save_log(config, r.console, qemu_err)
    return r


def _save_log(config: VMConfig, lines: list[str], qemu_err: str, suffix: str = "") -> str:
    d = ARTIFACTS / "kernel-logs"
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"{config.slug}{'-' + suffix if suffix else ''}.log"
    p.write_text("\n".join(lines) + ("\n--- qemu stderr ---\n" + qemu_err if qemu_err else "") + "\n")
    return str(p.relative_to(REPO) if p.is_relative_to(REPO) else p)


def _boot(config: VMConfig, k: Kernel, image: Image, cmdline: str, timeout: float, echo: bool) -> tuple[VMResult, str]:
    kinfo = {"key": k.key, "package": k.package, "version": k.version, "release": k.release}
    console: list[tuple[float, str]] = []
    t0 = time.monotonic()
    if stopping():
        return VMResult(config=config, kernel=kinfo, status="stopped", rc=None, stdout=[], stderr=[], facts={},
                        boot_seconds=None, setup_seconds=None, run_seconds=None, total_seconds=0.0, console=[],
                        image=image.describe(), error="not started: the runner is stopping"), ""
    with tempfile.TemporaryDirectory(prefix=f"vm-{os.getpid()}-", dir=cache_dir()) as tmp:
        qemu = [*pdeathsig_prefix(), qemu_binary(), "-accel", f"tcg,thread={TCG_THREAD}", "-cpu", "max",
                "-m", str(config.mem_mib), "-smp", str(config.smp),
                "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-net", "none",
                "-kernel", str(k.vmlinuz), "-initrd", str(image.path), "-append", cmdline]
        if config.swap_mib:
            swap = Path(tmp) / "swap.img"
            make_swap(swap, config.swap_mib)
            qemu += ["-drive", f"file={swap},format=raw,if=virtio,cache=unsafe"]
        stderr_path = Path(tmp) / "qemu.stderr"
        t0 = time.monotonic()
        with open(stderr_path, "wb") as err:
            proc = subprocess.Popen(qemu, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        with _LIVE_LOCK:
            _LIVE.add(proc)
            # kill_all sets _STOP, then reads _LIVE under this lock: it either saw this qemu, or
            # _STOP is already set here (it ran between Popen and the add)
            stopped = _STOP.is_set()
        timed_out = False
        try:
            if stopped:
                _stop(proc)
            def reader() -> None:
                for raw in iter(proc.stdout.readline, b""):
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    console.append((time.monotonic() - t0, line))
                    if echo:
                        print(f"  [{config.kernel}] {line}", file=sys.stderr, flush=True)

            th = threading.Thread(target=reader, daemon=True)
            th.start()
            try:
                proc.wait(timeout=timeout + BOOT_ALLOWANCE)
            except subprocess.TimeoutExpired:
                timed_out = True
                _stop(proc)
            th.join(timeout=10)
        finally:
            _stop(proc)
            proc.stdout.close()
            with _LIVE_LOCK:
                _LIVE.discard(proc)
        total = time.monotonic() - t0
        qemu_err = stderr_path.read_text(errors="replace").strip()

    lines = [line for _, line in console]
    c = parse_console(lines)

    def when(pred) -> float | None:
        return next((t for t, line in console if pred(line)), None)

    t_init = when(lambda s: f"{FACT_PREFIX} start" in s)
    t_begin = when(lambda s: BEGIN in s)
    t_end = when(lambda s: END_RE.search(s) is not None)
    if stopping() and not c.ended:
        status, error = "stopped", "qemu killed: the runner is stopping (Ctrl-C or SIGTERM)"
    elif timed_out or c.rc == "timeout":
        status, error = "timeout", f"no result within {timeout:.0f} s (+{BOOT_ALLOWANCE} s for boot)"
    elif t_init is None:
        status, error = ("qemu-failed" if proc.returncode not in (0, None) and qemu_err else "boot-failed",
                         qemu_err or "the kernel did not start /init (see the console log)")
    elif "error" in c.facts or not c.began:
        status, error = "setup-failed", str(c.facts.get("error", "init stopped before running the command"))
    elif not c.ended:
        status, error = "boot-failed", "the VM stopped before the command finished (see the console log)"
    else:
        status, error = "ok", ""
    r = VMResult(config=config, kernel=kinfo, status=status, rc=c.rc, stdout=c.stdout, stderr=c.stderr,
                 facts=c.facts, boot_seconds=round(t_init, 2) if t_init is not None else None,
                 setup_seconds=round(t_begin - t_init, 2) if t_begin is not None and t_init is not None else None,
                 run_seconds=round(t_end - t_begin, 2) if t_end is not None and t_begin is not None else None,
                 total_seconds=round(total, 2), console=lines, image=image.describe(), error=error)
    return r, qemu_err


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.kernels.vm", description=__doc__.splitlines()[0])
    ap.add_argument("kernel", choices=list(KERNELS))
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--mem", type=int, default=2048, dest="mem_mib")
    ap.add_argument("--thp", default="always")
    ap.add_argument("--cgroup", default="v2")
    ap.add_argument("--swap", type=int, default=0, dest="swap_mib")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--echo", action="store_true", help="print the console as it comes")
    ap.add_argument("command", nargs="*", help="after --: the command (default: python -m tests.claims --json)")
    argv = list(sys.argv[1:] if argv is None else argv)
    cmd = argv[argv.index("--") + 1:] if "--" in argv else []
    a = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    cmd = cmd or a.command or ["python", "-m", "tests.claims", "--json"]
    try:
        cfg = VMConfig(a.kernel, smp=a.smp, mem_mib=a.mem_mib, thp=a.thp, cgroup=a.cgroup, swap_mib=a.swap_mib)
    except ConfigError as e:
        ap.error(str(e))
    try:
        r = run_in_vm(cfg, cmd, timeout=a.timeout, echo=a.echo, keep_log=True)
    except ConfigError as e:
        print(f"{cfg.label}: {e}", file=sys.stderr)
        return 2
    for line in r.stdout:
        print(line)
    for line in r.stderr:
        print(line, file=sys.stderr)
    print(f"{cfg.label}: {r.status} rc={r.rc} boot {r.boot_seconds} s, setup {r.setup_seconds} s, "
          f"run {r.run_seconds} s, total {r.total_seconds} s; facts {json.dumps(r.facts)}; {r.image}"
          + (f"; {r.error}" if r.error else "") + (f"; log {r.log_path}" if r.log_path else ""), file=sys.stderr)
    return 0 if r.ok and r.rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
