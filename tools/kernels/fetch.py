"""Resolve, download and unpack Debian's cloud kernels (``apt-get download`` + ``dpkg-deb -x``).

``fetch("6.1")`` returns a :class:`Kernel`: the package and the exact version used, the
``vmlinuz``, the kernel's ``config`` and its modules.  Everything is cached under
``<cache>/kernels/<package>_<version>/``; a second call reads ``<cache>/kernels/<key>.json`` and
touches neither apt nor the network.  Downloads hold the cache's lock (two runs may share the
cache).  ``python -m tools.kernels.fetch 6.1 6.12`` fetches and prints.
"""

from __future__ import annotations

import argparse
import gzip
import json
import lzma
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import cache_dir, cache_lock

#: key -> (preferred package, meta package whose dependency is the fallback)
KERNELS: dict[str, tuple[str, str]] = {
    # 6.1.170: the version the project's measurements name (the project's FACTS.md); bookworm
    "6.1": ("linux-image-6.1.0-47-cloud-amd64", "linux-image-cloud-amd64"),
    # 6.12.111: Debian 12 ships it from bookworm-security (6.12.111-1~deb12u1)
    "6.12": ("linux-image-6.12.111+deb12-cloud-amd64", "linux-image-6.12-cloud-amd64"),
}


class FetchError(RuntimeError):
    """A kernel package could not be resolved, downloaded or unpacked."""


def _run(argv: list[str], cwd: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, LC_ALL="C", DEBIAN_FRONTEND="noninteractive")
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env)


# --------------------------------------------------------------------------- apt resolution

def candidate(package: str) -> str | None:
    """apt's candidate version of ``package``, or None when apt does not know it (or has none)."""
    r = _run(["apt-cache", "policy", package])
    m = re.search(r"^\s*Candidate:\s*(\S+)", r.stdout, re.M)
    if r.returncode != 0 or not m or m.group(1) == "(none)":
        return None
    return m.group(1)


def depends_on_image(meta: str) -> str | None:
    """The ``linux-image-*`` package a meta package (``linux-image-cloud-amd64``) depends on."""
    r = _run(["apt-cache", "depends", meta])
    for line in r.stdout.splitlines():
        m = re.match(r"\s*\|?Depends:\s*(linux-image-\S+)", line)
        if m and not m.group(1).startswith("<"):
            return m.group(1)
    return None


_updated = False


def _apt_update(why: str = "a kernel package is unknown to apt") -> None:
    """``apt-get update``, at most once per process."""
    global _updated
    if _updated:
        return
    print(f"kernels: apt-get update ({why})", file=sys.stderr, flush=True)
    r = _run(["apt-get", "update", "-q"])
    _updated = True
    if r.returncode != 0:
        raise FetchError(f"apt-get update failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")


def resolve(key: str) -> tuple[str, str]:
    """(package, version) for a kernel key: the preferred package, else the meta package's dependency.

    ``apt-get update`` runs only when neither is known to apt.
    """
    if key not in KERNELS:
        raise FetchError(f"unknown kernel key {key!r}; known: {', '.join(KERNELS)}")
    preferred, meta = KERNELS[key]
    for attempt in range(2):
        v = candidate(preferred)
        if v:
            return preferred, v
        dep = depends_on_image(meta)
        if dep:
            v = candidate(dep)
            if v:
                print(f"kernels: {preferred} is gone; using {dep} {v} (what {meta} depends on)",
                      file=sys.stderr, flush=True)
                return dep, v
        if attempt == 0:
            _apt_update()
    raise FetchError(f"neither {preferred} nor a dependency of {meta} is known to apt")


# --------------------------------------------------------------------------- the unpacked kernel

@dataclass
class Kernel:
    key: str
    package: str
    version: str  # the Debian package version, e.g. 6.1.170-3
    release: str  # uname -r, e.g. 6.1.0-47-cloud-amd64
    root: str  # the unpacked package
    download_seconds: float = 0.0
    cached: bool = True

    @property
    def vmlinuz(self) -> Path:
        return Path(self.root) / "boot" / f"vmlinuz-{self.release}"

    @property
    def config_file(self) -> Path:
        return Path(self.root) / "boot" / f"config-{self.release}"

    @property
    def modules_dir(self) -> Path:
        return Path(self.root) / "lib" / "modules" / self.release

    def label(self) -> str:
        return f"{self.key} ({self.version})"

    def config(self, name: str) -> str | None:
        """``y``/``m``/a value for ``CONFIG_<name>``, or None when it is not set."""
        return kernel_config(self.config_file.read_text()).get(name)

    def builtin(self) -> set[str]:
        """Module names built into the kernel image (modules.builtin)."""
        f = self.modules_dir / "modules.builtin"
        return {_modname(line) for line in f.read_text().split()} if f.exists() else set()

    def module_files(self) -> dict[str, Path]:
        """Module name -> its .ko / .ko.xz / .ko.zst / .ko.gz file in the package."""
        out: dict[str, Path] = {}
        for dirpath, _dirs, files in os.walk(self.modules_dir / "kernel"):
            for f in files:
                if ".ko" in f:
                    out[_modname(f)] = Path(dirpath) / f
        return out

    def modules_for(self, wanted: list[str]) -> list[tuple[str, Path]]:
        """The modules to load for ``wanted`` (with their dependencies, in load order), skipping
        the ones built into the kernel.  Raises FetchError when one is neither built in nor present."""
        builtin, files = self.builtin(), self.module_files()
        order: list[tuple[str, Path]] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            name = _modname(name)
            if name in seen or name in builtin:
                return
            seen.add(name)
            if name not in files:
                raise FetchError(f"kernel {self.release}: module {name} is neither built in nor packaged")
            for dep in modinfo(files[name]).get("depends", "").split(","):
                if dep:
                    visit(dep)
            order.append((name, files[name]))

        for w in wanted:
            visit(w)
        return order


def kernel_config(text: str) -> dict[str, str]:
    """Parse a kernel .config: ``{"MEMCG": "y", ...}``; ``# CONFIG_X is not set`` lines are left out."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"CONFIG_(\w+)=(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip('"')
    return out


def _modname(path_or_name: str) -> str:
    base = os.path.basename(path_or_name)
    base = re.sub(r"\.ko(\.(xz|zst|gz))?$", "", base)
    return base.replace("-", "_")


def module_bytes(path: Path) -> bytes:
    """A module's ELF image, decompressed on the host (.ko.xz, .ko.gz, .ko.zst) so init_module
    works on kernels without in-kernel decompression."""
    name = str(path)
    if name.endswith(".xz"):
        return lzma.decompress(path.read_bytes())
    if name.endswith(".gz"):
        return gzip.decompress(path.read_bytes())
    if name.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", name], capture_output=True, check=True).stdout
    return path.read_bytes()


def modinfo(path: Path) -> dict[str, str]:
    """The ``.modinfo`` section of a kernel module (``depends``, ``vermagic``, ...), read from the ELF."""
    data = module_bytes(path)
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise FetchError(f"{path}: not a 64-bit ELF module")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def section(i: int) -> tuple[int, int, int]:
        name, _type, _flags, _addr, off, size = struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
        return name, off, size

    _, stroff, _ = section(shstrndx)
    for i in range(shnum):
        name, off, size = section(i)
        end = data.index(b"\0", stroff + name)
        if data[stroff + name:end] == b".modinfo":
            out: dict[str, str] = {}
            for item in data[off:off + size].split(b"\0"):
                k, sep, v = item.decode("utf-8", "replace").partition("=")
                if sep:
                    out.setdefault(k, v)
            return out
    return {}


# --------------------------------------------------------------------------- download + unpack

def _pointer(key: str) -> Path:
    return cache_dir() / f"{key}.json"


def _load_cached(key: str) -> Kernel | None:
    try:
        meta = json.loads(_pointer(key).read_text())
        k = Kernel(**{f: meta[f] for f in ("key", "package", "version", "release", "root")})
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if meta.get("preferred") != KERNELS[key][0]:  # the wanted package changed since: ask apt again
        return None
    if k.vmlinuz.is_file() and k.config_file.is_file() and k.modules_dir.is_dir():
        return k
    return None


def _remove_stale_downloads() -> None:
    """``download-*`` directories a killed run left behind (call with the cache's lock held: no
    other run is downloading then)."""
    for d in cache_dir().glob("download-*"):
        shutil.rmtree(d, ignore_errors=True)


def _download(package: str, version: str, dest: Path) -> None:
    """``apt-get download`` + ``dpkg-deb -x`` into ``dest`` (call with the cache's lock held)."""
    if dest.exists():  # a run killed after the rename, before kernel.json: nobody else writes it
        shutil.rmtree(dest)
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix="download-") as tmp:
        os.chmod(tmp, 0o755)  # apt's _apt user may write here (else it warns and downloads as root)
        r = _run(["apt-get", "download", "-q", f"{package}={version}"], cwd=tmp)
        debs = list(Path(tmp).glob("*.deb"))
        if r.returncode != 0 or len(debs) != 1:
            raise FetchError(f"apt-get download {package}={version} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
        unpack = Path(tmp) / "root"
        r = _run(["dpkg-deb", "-x", str(debs[0]), str(unpack)])
        if r.returncode != 0:
            raise FetchError(f"dpkg-deb -x {debs[0].name} failed: {r.stderr[-2000:]}")
        unpack.rename(dest)


def fetch(key: str, refresh: bool = False) -> Kernel:
    """The unpacked kernel for ``key`` ("6.1", "6.12"), downloading it the first time only.

    A download that fails (apt's lists may name a version the archive has replaced: 404) is
    tried once more after ``apt-get update``, with the version apt then names.
    """
    if not refresh:
        k = _load_cached(key)
        if k:
            return k
    with cache_lock():
        if not refresh:  # another run may have fetched it while this one waited for the lock
            k = _load_cached(key)
            if k:
                return k
        _remove_stale_downloads()
        t0 = time.monotonic()
        for attempt in (1, 2):
            package, version = resolve(key)
            dest = cache_dir() / f"{package}_{version}"
            if (dest / "kernel.json").exists():
                break
            try:
                _download(package, version, dest)
                break
            except FetchError:
                if attempt == 2 or _updated:
                    raise
                print(f"kernels: apt-get download {package}={version} failed; updating apt's lists and trying again",
                      file=sys.stderr, flush=True)
                _apt_update("a download failed: apt's lists may be stale")
        releases = [p.name for p in (dest / "lib" / "modules").iterdir() if p.is_dir()]
        if len(releases) != 1:
            raise FetchError(f"{dest}: expected one lib/modules/<release>, found {releases}")
        k = Kernel(key=key, package=package, version=version, release=releases[0], root=str(dest),
                   download_seconds=round(time.monotonic() - t0, 2), cached=False)
        if not k.vmlinuz.is_file():
            raise FetchError(f"{package}: no {k.vmlinuz.name} in the package")
        meta = {f: getattr(k, f) for f in ("key", "package", "version", "release", "root")}
        meta["preferred"] = KERNELS[key][0]
        (dest / "kernel.json").write_text(json.dumps(meta, indent=1))
        tmpf = _pointer(key).with_suffix(".tmp")
        tmpf.write_text(json.dumps(meta, indent=1))
        tmpf.replace(_pointer(key))
        return k


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.kernels.fetch", description=__doc__.splitlines()[0])
    ap.add_argument("keys", nargs="*", default=list(KERNELS))
    ap.add_argument("--refresh", action="store_true", help="ask apt again even if a kernel is cached")
    args = ap.parse_args(argv)
    for key in args.keys:
        k = fetch(key, refresh=args.refresh)
        d = asdict(k)
        d["vmlinuz"] = str(k.vmlinuz)
        print(json.dumps(d))
    return 0


if __name__ == "__main__":
    sys.exit(main())
