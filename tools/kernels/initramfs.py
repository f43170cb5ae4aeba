"""Build the initramfs the VMs boot: the host's Python (same paths as here), the run-time
site-packages, ``top``, the kernel's virtio modules and a copy of the repository's code.

The image is three cpio archives concatenated (the kernel unpacks each in turn), each cached
under ``<cache>/kernels/initramfs/`` by a hash of its inputs (built, reused and pruned with the
cache's lock held; a reuse refreshes the file's mtime, which is what pruning goes by):

- ``base``: interpreter, libpython, the stdlib (no test/, idlelib, tkinter, ...), the venv with
  only psutil, numpy, pandas and their dependencies, ``top``/``dmesg``/``sh`` and every shared
  library ``ldd`` names, terminfo, ``/etc/passwd`` with ``reader`` (uid 1000).  Slow to pack
  (seconds); rebuilt only when those files change.
- ``kernel``: the modules the guest needs for the swap disk (virtio_pci, virtio_blk and their
  dependencies unless built in), decompressed on the host, and the order to load them.
- ``project``: ``/init``, and the repository's ``kernel_helpers/``, ``tests/claims/`` (plus
  the helper modules next to it) and ``c_programs/bin/`` at the repository's own path.
  Small and fast; rebuilt when any of those files changes.

Measured on 2 cores under TCG (6.1, boot to ``/init``): uncompressed 169 MiB 4.9-5.2 s, lz4
(82 MiB) about the same, zstd -3 (53 MiB) +1.5 s, gzip -1 (64 MiB) +2.3 s: the kernel's
decompressor runs emulated, while qemu loads the raw file for free.  So: uncompressed.  The
stdlib's and site-packages' ``__pycache__`` go in too (+27 MiB): without them importing pandas
in the guest takes 25 s instead of 4.4 s.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import stat
import subprocess
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import REPO, cache_dir, cache_lock, pid_alive
from .fetch import Kernel, module_bytes

#: bump when the layout below changes, so old cached images are not reused
FORMAT = 4

#: the distributions the claim checks need at run time (their requirements are added)
RUNTIME_DISTS = ("psutil", "numpy", "pandas", "python-dateutil", "pytz", "tzdata", "six",
                 "jinja2")  # jinja2 (+ markupsafe): pandas' DataFrame.style, used by the lessons' tables
#: stdlib packages left out: tests, GUIs, installers, 2to3, build config
STDLIB_SKIP = {"test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "site-packages",
               "pydoc_data", "venv", "distutils"}
STDLIB_SKIP_PREFIX = ("config-",)
DYNLOAD_SKIP_PREFIX = ("_test", "_tkinter", "_xxtest", "xxlimited", "_ctypes_test")
#: programs from the host, with their libraries
HOST_PROGRAMS = ("/usr/bin/top", "/usr/bin/dmesg", "/bin/sh")
TERMINFO_DIRS = ("/lib/terminfo", "/usr/share/terminfo", "/etc/terminfo")
#: the modules init loads for the swap disk (dependencies are added, built-in ones dropped)
GUEST_MODULES = ("virtio_pci", "virtio_blk")
#: the repository's files copied into the guest (relative to REPO)
PROJECT_TREES = ("kernel_helpers", "tests/claims")
GUEST_REPO = str(REPO)

READER_UID = 1000


# --------------------------------------------------------------------------- cpio (newc) writer

@dataclass
class Entry:
    """One cpio member: a file (from ``src`` or ``data``), a directory, a symlink or a char device."""

    kind: str  # "file" | "dir" | "link" | "chr"
    mode: int = 0o644
    src: str | None = None
    data: bytes | None = None
    target: str = ""
    mtime: int = 0
    uid: int = 0
    gid: int = 0
    rdev: tuple[int, int] = (0, 0)


class Cpio:
    """Write an uncompressed ``newc`` archive (what the kernel's initramfs unpacker reads)."""

    def __init__(self, path: Path):
        self.f = open(path, "wb")  # closed in close()
        self.ino = 1
        self.written = 0

    def _header(self, name: str, mode: int, uid: int, gid: int, mtime: int, size: int,
                rdev: tuple[int, int] = (0, 0), nlink: int = 1) -> None:
        nm = name.encode() + b"\0"
        fields = [self.ino, mode, uid, gid, nlink, mtime, size, 0, 0, rdev[0], rdev[1], len(nm), 0]
        self.ino += 1
        hdr = b"070701" + b"".join(b"%08X" % v for v in fields) + nm
        self.f.write(hdr + b"\0" * (-len(hdr) % 4))

    def _data(self, data: bytes) -> None:
        self.f.write(data + b"\0" * (-len(data) % 4))
        self.written += len(data)

    def add(self, name: str, e: Entry) -> None:
        name = name.lstrip("/")
        if e.kind == "dir":
            self._header(name, stat.S_IFDIR | e.mode, e.uid, e.gid, e.mtime, 0, nlink=2)
        elif e.kind == "link":
            t = e.target.encode()
            self._header(name, stat.S_IFLNK | 0o777, e.uid, e.gid, e.mtime, len(t))
            self._data(t)
        elif e.kind == "chr":
            self._header(name, stat.S_IFCHR | e.mode, e.uid, e.gid, e.mtime, 0, rdev=e.rdev)
        else:
            data = e.data if e.data is not None else Path(e.src).read_bytes()
            self._header(name, stat.S_IFREG | e.mode, e.uid, e.gid, e.mtime, len(data))
            self._data(data)

    def close(self) -> None:
        self._header("TRAILER!!!", 0, 0, 0, 0, 0, nlink=1)
        self.f.write(b"\0" * (-self.f.tell() % 512))
        self.f.close()


def _merged_usr() -> dict[str, str]:
    """The host's top-level directory symlinks (/lib -> usr/lib, ...), which the guest gets too."""
    out = {}
    for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.islink(top):
            out[top] = os.path.normpath(os.path.join("/", os.readlink(top)))
    return out


MERGED_USR = _merged_usr()


def canonical(path: str) -> str:
    """``/lib/modules/x`` -> ``/usr/lib/modules/x`` where /lib is a symlink: a later cpio layer that
    made ``/lib`` a directory would replace the base layer's symlink (the kernel's unpacker does)."""
    for top, real in MERGED_USR.items():
        if path == top or path.startswith(top + "/"):
            return real + path[len(top):]
    return path


class Tree:
    """The members of one layer, by absolute guest path; parents are added as directories."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    def _parents(self, path: str) -> None:
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/" + "/".join(parts[:i])
            if d not in self.entries:
                self.entries[d] = Entry("dir", 0o755)

    def add(self, path: str, e: Entry) -> None:
        if e.kind != "link" or path not in MERGED_USR:
            path = canonical(path)
        self._parents(path)
        self.entries[path] = e

    def dir(self, path: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
        self.add(path, Entry("dir", mode, uid=uid, gid=gid))

    def text(self, path: str, text: str | bytes, mode: int = 0o644) -> None:
        self.add(path, Entry("file", mode, data=text.encode() if isinstance(text, str) else text))

    def symlink(self, path: str, target: str) -> None:
        self.add(path, Entry("link", target=target))

    def host_file(self, src: str, dest: str | None = None, st: os.stat_result | None = None) -> None:
        """Copy a host file (content of what a symlink points to) to ``dest`` (default: same path)."""
        st = st or os.stat(src)
        self.add(dest or src, Entry("file", stat.S_IMODE(st.st_mode), src=src, mtime=int(st.st_mtime)))

    def host_path(self, path: str) -> None:
        """A host path as the dynamic loader sees it: symlinked directories (``/lib`` -> ``usr/lib``)
        resolved, a symlinked last component kept as a symlink next to its target."""
        real_dir = os.path.realpath(os.path.dirname(path))
        dest = os.path.join(real_dir, os.path.basename(path))
        if os.path.islink(dest):
            target = os.readlink(dest)
            self.symlink(dest, target)
            self.host_path(os.path.join(real_dir, target) if not target.startswith("/") else target)
        elif dest not in self.entries:
            self.host_file(dest)

    def write(self, path: Path) -> int:
        """Write the archive to ``path`` (through a temporary file, removed if anything fails)."""
        tmp = _tmp_name(path)
        try:
            c = Cpio(tmp)
            try:
                for name in sorted(self.entries):  # parents sort before their children
                    c.add(name, self.entries[name])
                c.close()
            finally:
                c.f.close()
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return c.written


# --------------------------------------------------------------------------- what the host has

@dataclass
class PythonLayout:
    executable: str  # the real interpreter file (symlinks resolved)
    base_prefix: str
    stdlib: str
    dynload: str
    venv: str | None  # the venv the tools run from (its bin/python is what the guest runs)
    site_packages: str
    version: str  # "3.11"

    @property
    def guest_python(self) -> str:
        return os.path.join(self.venv, "bin", "python") if self.venv else self.executable


def python_layout() -> PythonLayout:
    """Where this interpreter, its stdlib and its site-packages are (the guest uses the same paths)."""
    exe = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    venv = sys.prefix if sys.prefix != sys.base_prefix else None
    stdlib = sysconfig.get_paths()["stdlib"]
    dynload = sysconfig.get_config_var("DESTSHARED") or os.path.join(stdlib, "lib-dynload")
    return PythonLayout(
        executable=exe, base_prefix=sys.base_prefix, stdlib=stdlib, dynload=dynload,
        venv=venv, site_packages=sysconfig.get_paths()["purelib"],
        version=f"{sys.version_info[0]}.{sys.version_info[1]}",
    )


def runtime_dists(names=RUNTIME_DISTS) -> dict[str, object]:
    """The installed distributions among ``names``, plus what they require (no extras, this platform)."""
    import importlib.metadata as md

    try:
        from packaging.requirements import Requirement
    except ImportError:  # pragma: no cover - packaging comes with jupyter
        Requirement = None
    found: dict[str, object] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in found:
            continue
        try:
            d = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        found[key] = d
        for req in d.requires or []:
            if Requirement is not None:
                r = Requirement(req)
                if r.marker is None or r.marker.evaluate({"extra": ""}):
                    todo.append(r.name)
            elif "extra ==" not in req and "win32" not in req:
                todo.append(req.split(";")[0].split(">")[0].split("=")[0].split("<")[0].split("!")[0].strip())
    return found


def _is_test_dir(rel_parts: tuple[str, ...]) -> bool:
    return any(p in ("tests", "test") for p in rel_parts[:-1])  # numpy.testing stays: it is a module


def _want_pyc(name: str) -> bool:
    # only the plain (not -O) bytecode of this interpreter
    return name.endswith(f".cpython-{sys.version_info[0]}{sys.version_info[1]}.pyc")


def _walk(root: str, skip_top: set[str] = frozenset(), skip_top_prefix: tuple[str, ...] = (),
          pyc: bool = True):
    """(path, stat) of the files under root, leaving out test dirs, caches of other versions, and
    the named top-level directories."""
    root = root.rstrip("/")
    for dirpath, dirs, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        parts = () if rel == "." else tuple(rel.split(os.sep))
        if not parts:
            dirs[:] = [d for d in dirs if d not in skip_top and not d.startswith(skip_top_prefix)]
        dirs[:] = [d for d in dirs if d not in ("test", "tests") and (pyc or d != "__pycache__")]
        for f in files:
            if parts and parts[-1] == "__pycache__" and not _want_pyc(f):
                continue
            p = os.path.join(dirpath, f)
            yield p, os.lstat(p)


def _elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def ldd(paths: list[str]) -> set[str]:
    """The shared libraries (as the loader names them) of the given ELF files, and the loader."""
    libs: set[str] = set()
    for i in range(0, len(paths), 200):
        r = subprocess.run(["ldd", *paths[i:i + 200]], capture_output=True, text=True,
                           env=dict(os.environ, LC_ALL="C"))
        for line in r.stdout.splitlines():
            line = line.strip()
            if "=>" in line:
                target = line.split("=>", 1)[1].strip().split(" (")[0].strip()
                if target.startswith("/"):
                    libs.add(target)
                elif "not found" in target:
                    raise RuntimeError(f"ldd: {line} (in {paths[i:i + 200]})")
            elif line.startswith("/") and "(0x" in line:  # the loader; "path:" lines are headers
                libs.add(line.split(" (")[0])
    return libs


# --------------------------------------------------------------------------- the three layers

def _sources_base(py: PythonLayout, pyc: bool) -> list[tuple[str, os.stat_result]]:
    """Every host file the base layer copies (used for its cache key and to build it)."""
    out = list(_walk(py.stdlib, STDLIB_SKIP, STDLIB_SKIP_PREFIX + ("lib-dynload",), pyc=pyc))
    out += [(p, s) for p, s in _walk(py.dynload) if not os.path.basename(p).startswith(DYNLOAD_SKIP_PREFIX)]
    for d in runtime_dists().values():
        for f in d.files or []:
            rel = str(f)
            parts = tuple(Path(rel).parts)
            if rel.startswith("..") or _is_test_dir(parts):
                continue
            if "__pycache__" in parts and (not pyc or not _want_pyc(parts[-1])):
                continue
            p = os.path.join(py.site_packages, rel)
            if os.path.isfile(p):
                out.append((p, os.lstat(p)))
    for t in TERMINFO_DIRS:
        if os.path.isdir(t):
            out += list(_walk(os.path.realpath(t)))
    return out


def base_key(py: PythonLayout, pyc: bool = True) -> str:
    h = hashlib.sha256(f"base {FORMAT} {py} {pyc}".encode())
    for p, s in _sources_base(py, pyc):
        h.update(f"{p}\0{s.st_size}\0{int(s.st_mtime)}\0".encode())
    for p in [py.executable, *HOST_PROGRAMS, "/var/lib/dpkg/status", "/etc/ld.so.cache"]:
        try:
            s = os.stat(p)
            h.update(f"{p}\0{s.st_size}\0{int(s.st_mtime)}\0".encode())
        except OSError:
            pass
    return h.hexdigest()[:16]


def base_tree(py: PythonLayout, pyc: bool = True) -> Tree:
    t = Tree()
    # the merged-/usr symlinks (/lib -> usr/lib, ...), as on the host
    for top in MERGED_USR:
        t.symlink(top, os.readlink(top))
    for p, s in _sources_base(py, pyc):
        if stat.S_ISLNK(s.st_mode):
            t.symlink(p, os.readlink(p))
        else:
            t.host_file(p, st=s)
    # the interpreter at its real path, and the venv's bin/python -> it
    t.host_file(py.executable)
    for name in ("python3", "python"):
        t.symlink(os.path.join(os.path.dirname(py.executable), name), os.path.basename(py.executable))
    if py.venv:
        t.text(os.path.join(py.venv, "pyvenv.cfg"), Path(py.venv, "pyvenv.cfg").read_text())
        for name in ("python", "python3", f"python{py.version}"):
            t.symlink(os.path.join(py.venv, "bin", name), py.executable)
    for name in ("python", "python3"):
        t.symlink(f"/usr/local/bin/{name}", py.guest_python)
    programs = [p for p in HOST_PROGRAMS if os.path.exists(p)]
    for p in programs:
        t.host_path(p)
    # shared libraries of everything ELF (interpreter, extension modules, programs)
    elves = [py.executable, *programs]
    elves += [p for p, s in _sources_base(py, pyc) if p.endswith(".so") or ".so." in os.path.basename(p)]
    elves = [p for p in elves if _elf(p)]
    for lib in sorted(ldd(elves)):
        real_dir = os.path.realpath(os.path.dirname(lib))
        if os.path.join(real_dir, os.path.basename(lib)) not in t.entries:
            t.host_path(lib)
    if os.path.exists("/etc/ld.so.cache"):
        t.host_file("/etc/ld.so.cache")
    # users, groups, name lookup through files only
    t.text("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                          f"reader:x:{READER_UID}:{READER_UID}:toplab reader:/home/reader:/bin/sh\n"
                          "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    t.text("/etc/group", f"root:x:0:\nreader:x:{READER_UID}:\nnogroup:x:65534:\n")
    t.text("/etc/nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\nhosts: files\n")
    t.text("/etc/hostname", "toplab-vm\n")
    t.text("/etc/hosts", "127.0.0.1 localhost toplab-vm\n")
    for d in ("/proc", "/sys", "/dev", "/run", "/var/tmp", "/root", "/mnt"):
        t.dir(d, 0o755)
    t.dir("/tmp", 0o1777)
    t.dir("/home/reader", 0o755, uid=READER_UID, gid=READER_UID)
    t.add("/dev/console", Entry("chr", 0o600, rdev=(5, 1)))
    t.add("/dev/null", Entry("chr", 0o666, rdev=(1, 3)))
    return t


def kernel_tree(k: Kernel) -> Tree:
    t = Tree()
    mods = []
    for name, path in k.modules_for(list(GUEST_MODULES)):
        dest = canonical(f"/lib/modules/{k.release}/toplab/{name}.ko")
        t.text(dest, module_bytes(path))
        mods.append({"name": name, "path": dest})
    t.text("/etc/toplab/kernel.json", json.dumps({"release": k.release, "package": k.package,
                                                  "version": k.version, "modules": mods}, indent=1))
    return t


def project_files(repo: Path = REPO) -> list[Path]:
    """The repository files the guest gets: kernel_helpers, tests/claims (+ tests' helper modules),
    c_programs/bin.  Caches and test files of the host suite are left out."""
    out: list[Path] = []
    for sub in PROJECT_TREES:
        for dirpath, dirs, files in os.walk(repo / sub):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            out += [Path(dirpath) / f for f in sorted(files) if not f.endswith((".pyc", ".pyo"))]
    tests = repo / "tests"
    out += sorted(p for p in tests.glob("*.py") if not p.name.startswith(("test_", "conftest")))
    bindir = repo / "c_programs" / "bin"
    if bindir.is_dir():
        out += sorted(p for p in bindir.iterdir() if p.is_file())
    for f in ("pyproject.toml",):
        if (repo / f).is_file():
            out.append(repo / f)
    return out


def init_source() -> Path:
    return Path(__file__).with_name("guest_init.py")


def _timestamp_pyc(src: Path, guest_path: str, st: os.stat_result) -> bytes | None:
    """The .pyc the guest's interpreter (this one) would write for ``src``; valid there because the
    cpio member keeps the source's mtime and size.  None when the file does not compile."""
    from importlib._bootstrap_external import _code_to_timestamp_pyc

    try:
        code = compile(src.read_bytes(), guest_path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None
    return bytes(_code_to_timestamp_pyc(code, int(st.st_mtime), st.st_size))


def project_key(repo: Path = REPO, py: PythonLayout | None = None) -> str:
    """A hash of the contents (and modes) of every project file the guest gets, and of /init."""
    py = py or python_layout()
    h = hashlib.sha256(f"project {FORMAT} {py.executable} {repo}".encode())
    h.update(hashlib.sha256(init_source().read_bytes()).digest())
    for p in project_files(repo):
        h.update(str(p.relative_to(repo)).encode() + b"\0")
        h.update(oct(p.stat().st_mode).encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()[:16]


def project_tree(repo: Path = REPO, py: PythonLayout | None = None) -> Tree:
    py = py or python_layout()
    t = Tree()
    init = init_source().read_text()
    shebang = f"#!{py.executable} -IS\n"
    t.text("/init", shebang + init.split("\n", 1)[1] if init.startswith("#!") else shebang + init, 0o755)
    for p in project_files(repo):
        dest = os.path.join(GUEST_REPO, str(p.relative_to(repo)))
        st = p.stat()
        t.host_file(str(p), dest, st=st)
        if p.suffix == ".py":  # bytecode made here: compiling under TCG would cost seconds per boot
            pyc = _timestamp_pyc(p, dest, st)
            if pyc is not None:
                t.text(importlib.util.cache_from_source(dest), pyc)
    t.dir(os.path.join(GUEST_REPO, "test-artifacts"), 0o777)
    return t


# --------------------------------------------------------------------------- build + cache

@dataclass
class Image:
    path: Path
    layers: dict[str, str]  # layer -> key
    built: dict[str, float]  # layer -> seconds spent building it (0 when cached)
    size: int

    def describe(self) -> str:
        b = ", ".join(f"{k} rebuilt in {v:.1f} s" if v else f"{k} cached" for k, v in self.built.items())
        return f"{self.path.name} ({self.size / 2**20:.0f} MiB; {b})"


def _tmp_name(path: Path) -> Path:
    """A temporary name of our own next to ``path`` (two builds at once must not share one)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


#: a temporary file older than this is removed even if its PID runs (a reused PID)
STALE_TMP_SECONDS = 86400


def _remove_stale_tmp(d: Path) -> None:
    """Temporary files of builds that were killed (their PID is gone) or are a day old."""
    now = time.time()
    for tmp in d.glob(".*.tmp"):
        parts = tmp.name.split(".")  # "", name..., pid, thread, "tmp"
        try:
            pid = int(parts[-3])
        except (IndexError, ValueError):
            pid = 0
        try:
            if not pid_alive(pid) or now - tmp.stat().st_mtime > STALE_TMP_SECONDS:
                tmp.unlink()
        except OSError:
            pass


#: how long an image that is not the current one stays in the cache (another checkout or a run
#: still starting may use it), by kind
KEEP_SECONDS = {"base": 86400, "kernel": 86400, "project": 3600, "initrd": 3600}


def _prune(d: Path, prefix: str, current: Path) -> None:
    """Remove images of one kind not used for a while (mtime: built, or last reused): the cache
    would otherwise grow by one with every edit.  Call with the cache's lock held."""
    keep = KEEP_SECONDS[prefix.split("-")[0]]
    now = time.time()
    for old in d.glob(f"{prefix}-*.cpio"):
        try:
            if old != current and now - old.stat().st_mtime > keep:
                old.unlink()
        except OSError:
            pass


def _layer(name: str, key: str, make) -> tuple[Path, float]:
    d = cache_dir() / "initramfs"
    d.mkdir(exist_ok=True)
    path = d / f"{name}-{key}.cpio"
    if path.exists():
        os.utime(path)  # in use: another checkout's _prune must not take it
        return path, 0.0
    t0 = time.monotonic()
    make().write(path)
    _prune(d, name, path)
    return path, round(time.monotonic() - t0, 2)


def build(k: Kernel, repo: Path = REPO, pyc: bool = True) -> Image:
    """The initramfs for kernel ``k``: cached layers, concatenated (cached too)."""
    with cache_lock():
        _remove_stale_tmp(cache_dir() / "initramfs")
        return _build(k, repo, pyc)


def refresh(image: Image) -> bool:
    """Mark a built image as in use again (mtime now, so pruning leaves it for a while); False
    when it is gone (pruned by a run that saw it unused for longer than KEEP_SECONDS)."""
    with cache_lock():
        try:
            os.utime(image.path)
        except FileNotFoundError:
            return False
    return True


def _build(k: Kernel, repo: Path, pyc: bool) -> Image:
    (cache_dir() / "initramfs").mkdir(exist_ok=True)
    py = python_layout()
    keys = {"base": base_key(py, pyc), "kernel": hashlib.sha256(
        f"kernel {FORMAT} {k.package} {k.version} {GUEST_MODULES}".encode()).hexdigest()[:16],
        "project": project_key(repo, py)}
    paths, built = {}, {}
    paths["base"], built["base"] = _layer("base", keys["base"], lambda: base_tree(py, pyc))
    paths["kernel"], built["kernel"] = _layer("kernel", keys["kernel"], lambda: kernel_tree(k))
    paths["project"], built["project"] = _layer("project", keys["project"], lambda: project_tree(repo, py))
    whole = cache_dir() / "initramfs" / f"initrd-{k.key}-{'-'.join(keys.values())}.cpio"
    if whole.exists():
        os.utime(whole)
    else:
        t0 = time.monotonic()
        tmp = _tmp_name(whole)
        try:
            with open(tmp, "wb") as out:
                for p in paths.values():
                    with open(p, "rb") as f:
                        while chunk := f.read(1 << 22):
                            out.write(chunk)
            tmp.replace(whole)
        finally:
            tmp.unlink(missing_ok=True)
        _prune(whole.parent, f"initrd-{k.key}", whole)
        built["concat"] = round(time.monotonic() - t0, 2)
    return Image(whole, keys, built, whole.stat().st_size)


if __name__ == "__main__":  # python -m tools.kernels.initramfs [KEY...]: build and describe
    from .fetch import fetch

    for key in sys.argv[1:] or ["6.1"]:
        t0 = time.monotonic()
        img = build(fetch(key))
        print(f"{key}: {img.describe()} in {time.monotonic() - t0:.1f} s")
