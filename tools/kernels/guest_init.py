#!/usr/bin/python3 -IS
"""``/init`` of the toplab test VMs (the build replaces the first line with the bundled interpreter).

Reads its configuration from the kernel command line (``toplab.cfg=<urlsafe base64 JSON>``):
``{"cgroup": "v1"|"v2", "thp": "always"|"madvise", "khugepaged": {"scan_sleep_millisecs": 100, ...},
"swap": bool, "argv": [...], "cwd": ..., "env": {...}, "timeout": seconds}``.  Mounts the usual
filesystems, sets up cgroups, THP (and khugepaged's pacing) and swap, runs ``argv`` and relays its
output on the console between markers, then powers off.

Console protocol (one line each; the host parses them, see ``tools.kernels.vm``):

- ``toplab-init: <key> <json>`` -- a setup fact (``start``, ``thp``, ``cgroup``, ``swap``, ``error``...)
- ``=====TOPLAB-BEGIN=====`` then ``@o <line>`` (stdout) / ``@e <line>`` (stderr) lines, then
  ``=====TOPLAB-END rc=<n|timeout> seconds=<s>=====``.

Runs with ``-I -S`` and only the stdlib: it must not depend on anything it sets up.  The host
imports the markers from here (``tools.kernels.vm``), so both sides use the same strings.
"""

import base64
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time

BEGIN = "=====TOPLAB-BEGIN====="
END = "=====TOPLAB-END"  # followed by " rc=<n|timeout> seconds=<s>====="
FACT_PREFIX = "toplab-init:"
libc = ctypes.CDLL(None, use_errno=True)
_lock = threading.Lock()
SYS_FINIT_MODULE = 313  # x86_64
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
RB_POWER_OFF = 0x4321FEDC


def emit(line: str) -> None:
    """One whole line to the console, in one write."""
    data = (line.replace("\r", "") + "\n").encode("utf-8", "replace")
    with _lock:
        while data:
            n = os.write(1, data)
            data = data[n:]


def fact(key: str, value) -> None:
    emit(f"{FACT_PREFIX} {key} {json.dumps(value)}")


def uptime() -> float:
    with open("/proc/uptime") as f:
        return float(f.read().split()[0])


def mount(src: str, target: str, fstype: str, flags: int = 0, data: str | None = None) -> None:
    os.makedirs(target, exist_ok=True)
    if libc.mount(src.encode(), target.encode(), fstype.encode(), flags,
                  data.encode() if data is not None else None) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"mount -t {fstype} {src} {target}" + (f" -o {data}" if data else "") + f": {os.strerror(e)}")


def write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def config() -> dict:
    for tok in read("/proc/cmdline").split():
        if tok.startswith("toplab.cfg="):
            b = tok.split("=", 1)[1]
            return json.loads(base64.urlsafe_b64decode(b + "=" * (-len(b) % 4)))
    return {}


def populated(path: str) -> bool:
    """Does the image already hold files under ``path``? (A checkout under /tmp puts the project
    and its venv there: a tmpfs mounted over it would hide them.)"""
    try:
        return bool(os.listdir(path))
    except OSError:
        return False


def scratch_dir(path: str, mode: int) -> None:
    """A writable scratch directory: a fresh tmpfs, or, where the image put files there, the
    initramfs itself (already in RAM and writable), with the mode a tmpfs would have had."""
    if populated(path):
        os.chmod(path, mode)
        return
    os.makedirs(path, exist_ok=True)
    mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode:o}")


def basic_mounts() -> None:
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755")
    mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666")
    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    for path, mode in (("/tmp", 0o1777), ("/run", 0o755)):
        scratch_dir(path, mode)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        if not os.path.lexists(f"/dev/{name}"):
            os.symlink(target, f"/dev/{name}")


def load_modules() -> None:
    try:
        mods = json.loads(read("/etc/toplab/kernel.json"))["modules"]
    except OSError:
        mods = []
    loaded = []
    for m in mods:
        fd = os.open(m["path"], os.O_RDONLY)
        try:
            if libc.syscall(SYS_FINIT_MODULE, fd, b"", 0) != 0:
                e = ctypes.get_errno()
                if e != 17:  # EEXIST: already there
                    raise OSError(e, f"finit_module {m['name']}: {os.strerror(e)}")
        finally:
            os.close(fd)
        loaded.append(m["name"])
    fact("modules", loaded)


def setup_cgroup(version: str) -> dict:
    if version == "v2":
        mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        controllers = read("/sys/fs/cgroup/cgroup.controllers").split()
        want = [c for c in ("memory", "pids") if c in controllers]
        write("/sys/fs/cgroup/cgroup.subtree_control", " ".join("+" + c for c in want))
        return {"version": "v2", "controllers": controllers,
                "subtree_control": read("/sys/fs/cgroup/cgroup.subtree_control").split()}
    if version == "v1":
        mount("tmpfs", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755")
        try:
            mount("cgroup", "/sys/fs/cgroup/memory", "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, "memory")
        except OSError as e:
            os.rmdir("/sys/fs/cgroup/memory")
            return {"version": "none", "error": f"cgroup v1 memory controller unavailable: {e.strerror}"}
        out = {"version": "v1", "memory": os.path.exists("/sys/fs/cgroup/memory/memory.limit_in_bytes")}
        try:
            mount("cgroup", "/sys/fs/cgroup/pids", "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, "pids")
        except OSError as e:
            out["pids"] = e.strerror
        return out
    return {"version": "none"}


def setup_thp(mode: str, khugepaged: dict | None = None, root: str = "/sys/kernel/mm/transparent_hugepage") -> dict:
    """THP's mode, and khugepaged's tunables (``{"scan_sleep_millisecs": 100, ...}``): each one's
    value before and after goes in the fact, and ``ok`` is False if one did not take."""
    path = f"{root}/enabled"
    before = read(path)
    write(path, mode)
    after = read(path)
    now = after[after.find("[") + 1:after.find("]")]
    out = {"before": before, "after": after, "ok": now == mode}
    if khugepaged:
        kh = out["khugepaged"] = {}
        for name, value in khugepaged.items():
            f = f"{root}/khugepaged/{name}"
            was = read(f)
            write(f, str(value))
            kh[name] = {"before": was, "after": read(f)}
            out["ok"] = out["ok"] and kh[name]["after"] == str(value)
    return out


def setup_swap(want: bool) -> dict:
    if not want:
        return {"total_kib": 0}
    dev = "/dev/vda"
    deadline = time.monotonic() + 30
    while not os.path.exists(dev):
        if time.monotonic() > deadline:
            raise OSError(2, f"{dev} did not appear (virtio_blk not loaded?)")
        time.sleep(0.05)
    if libc.swapon(dev.encode(), 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"swapon {dev}: {os.strerror(e)}")
    total = [int(line.split()[1]) for line in read("/proc/meminfo").splitlines() if line.startswith("SwapTotal:")]
    return {"device": dev, "total_kib": total[0] if total else 0}


class Reaper(threading.Thread):
    """PID 1 inherits orphans: collect their exit status, but never the command's own.

    Start the command holding ``lock`` and put its PID in ``keep`` before releasing it: the
    reaper takes the same lock, so it cannot collect a command that exits before its PID is kept
    (``Popen.wait`` would then find no child and report exit status 0).
    """

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.keep: set[int] = set()
        self.lock = threading.Lock()
        self.interval = interval
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            with self.lock:
                self.reap()

    def reap(self) -> None:
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                break
            if info is None or info.si_pid in self.keep:
                break
            try:
                os.waitpid(info.si_pid, os.WNOHANG)
            except ChildProcessError:
                pass


def relay(pipe, prefix: str) -> None:
    for raw in iter(pipe.readline, b""):
        emit(prefix + raw.decode("utf-8", "replace").rstrip("\n"))


def run_command(cfg: dict, reaper: Reaper) -> tuple[str, float]:
    env = cfg.get("env") or {}
    t0 = time.monotonic()
    emit(BEGIN)
    try:
        with reaper.lock:
            p = subprocess.Popen(cfg["argv"], cwd=cfg.get("cwd") or "/", env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
            reaper.keep.add(p.pid)
    except OSError as e:
        emit(f"@e cannot start {cfg['argv']!r}: {e}")
        emit(f"{END} rc=127 seconds=0=====")
        return "127", 0.0
    threads = [threading.Thread(target=relay, args=(p.stdout, "@o "), daemon=True),
               threading.Thread(target=relay, args=(p.stderr, "@e "), daemon=True)]
    for t in threads:
        t.start()
    try:
        rc = str(p.wait(timeout=cfg.get("timeout", 900)))
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        p.wait()
        rc = "timeout"
    for t in threads:
        t.join(timeout=5)
    seconds = time.monotonic() - t0
    emit(f"{END} rc={rc} seconds={seconds:.2f}=====")
    return rc, seconds


def kernel_log() -> None:
    """The kernel's messages (the console shows only emergencies while the command runs)."""
    try:
        fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return
    emit("-----kernel log-----")
    try:
        while True:
            try:
                rec = os.read(fd, 8192).decode("utf-8", "replace")
            except BlockingIOError:
                break
            except OSError:  # EPIPE: a record was overwritten; keep reading
                continue
            head, _, msg = rec.partition(";")
            parts = head.split(",")
            ts = int(parts[2]) / 1e6 if len(parts) > 2 and parts[2].isdigit() else 0.0
            emit(f"[{ts:10.3f}] {msg.splitlines()[0] if msg else ''}")
    finally:
        os.close(fd)
    emit("-----end of kernel log-----")


def power_off() -> None:
    os.sync()
    libc.reboot(RB_POWER_OFF)
    time.sleep(5)  # not reached: the kernel powers off; if not, init exits and panic=-1 reboots


def main() -> None:
    basic_mounts()
    fact("start", {"uptime": uptime(), "kernel": os.uname().release})
    cfg = config()
    os.environ.clear()
    os.environ.update(cfg.get("env") or {})
    try:
        write("/proc/sys/kernel/printk", "1 4 1 7")  # keep kernel messages off the relayed lines
        load_modules()
        fact("cgroup", setup_cgroup(cfg.get("cgroup", "v2")))
        if cfg.get("thp"):
            fact("thp", setup_thp(cfg["thp"], cfg.get("khugepaged")))
        fact("swap", setup_swap(bool(cfg.get("swap"))))
        try:
            libc.sethostname(b"toplab-vm", 9)
        except Exception:
            pass
        fact("ready", {"uptime": uptime()})
    except Exception as e:  # report, and still power off cleanly
        fact("error", f"{type(e).__name__}: {e}")
        kernel_log()
        power_off()
        return
    reaper = Reaper()
    reaper.start()
    run_command(cfg, reaper)
    fact("done", {"uptime": uptime()})
    kernel_log()
    power_off()


if __name__ == "__main__":
    try:
        main()
    except BaseException as e:  # noqa: BLE001 - PID 1 must say why before the kernel panics
        try:
            fact("error", f"{type(e).__name__}: {e}")
        except Exception:
            pass
        try:
            power_off()
        except Exception:
            pass
        sys.exit(1)
