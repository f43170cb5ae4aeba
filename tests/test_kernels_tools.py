"""The pure parts of tools/kernels (the VM runner of ``make test-kernels``); no VM boots here."""

from __future__ import annotations

import json
import lzma
import os
import stat
import struct
from pathlib import Path

import pytest

from tools.kernels import fetch as kfetch
from tools.kernels import initramfs, matrix, vm
from tools.kernels.vm import ConfigError, VMConfig

# --------------------------------------------------------------------------- configurations

def test_config_defaults_and_label():
    c = VMConfig("6.1")
    assert (c.smp, c.mem_mib, c.thp, c.cgroup, c.swap_mib) == (2, 2048, "always", "v2", 0)
    assert c.label == "6.1 2cpu always cgv2"
    assert VMConfig("6.1", smp=1, thp="madvise", cgroup="v1", swap_mib=512).label == "6.1 1cpu madvise cgv1 swap512M"
    assert VMConfig("6.12", smp=2, thp="madvise", cgroup="v1", swap_mib=512).slug == "6.12-smp2-madvise-cgv1-swap512"


@pytest.mark.parametrize("kwargs, word", [
    ({"kernel": "5.10"}, "kernel"),
    ({"kernel": "6.1", "smp": 0}, "smp"),
    ({"kernel": "6.1", "smp": True}, "smp"),
    ({"kernel": "6.1", "mem_mib": 64}, "mem_mib"),
    ({"kernel": "6.1", "thp": "sometimes"}, "thp"),
    ({"kernel": "6.1", "cgroup": "v3"}, "cgroup"),
    ({"kernel": "6.1", "swap_mib": -1}, "swap_mib"),
    ({"kernel": "6.1", "swap_mib": 1.5}, "swap_mib"),
])
def test_config_rejects_bad_fields(kwargs, word):
    with pytest.raises(ConfigError, match=word):
        VMConfig(**kwargs)


def test_config_reports_every_bad_field_at_once():
    with pytest.raises(ConfigError) as e:
        VMConfig("6.1", smp=99, thp="x", cgroup="v9")
    assert all(w in str(e.value) for w in ("smp", "thp", "cgroup"))


def _fake_kernel(tmp_path: Path, config: str, key: str = "6.12") -> kfetch.Kernel:
    release = "9.9.9-test"
    (tmp_path / "boot").mkdir(parents=True, exist_ok=True)
    (tmp_path / "boot" / f"config-{release}").write_text(config)
    (tmp_path / "lib" / "modules" / release / "kernel").mkdir(parents=True, exist_ok=True)
    return kfetch.Kernel(key=key, package="linux-image-test", version="9.9.9-1", release=release, root=str(tmp_path))


def test_cgroup_v1_refused_where_the_kernel_lacks_memcg_v1(tmp_path):
    k = _fake_kernel(tmp_path, "CONFIG_MEMCG=y\n# CONFIG_MEMCG_V1 is not set\nCONFIG_SWAP=y\n")
    vm.check_kernel_supports(VMConfig("6.12", cgroup="v2", swap_mib=64), k)  # fine
    with pytest.raises(ConfigError, match="MEMCG_V1"):
        vm.check_kernel_supports(VMConfig("6.12", cgroup="v1"), k)
    old = _fake_kernel(tmp_path / "old", "CONFIG_MEMCG=y\nCONFIG_SWAP=y\n", key="6.1")  # before 6.11: no such option
    vm.check_kernel_supports(VMConfig("6.1", cgroup="v1", swap_mib=64), old)


def test_default_matrix_only_asks_kernels_for_what_their_debian_config_has():
    # Debian 12's 6.12 backport has no MEMCG_V1: the defaults must not put cgroup v1 on it
    assert not [c for c in matrix.DEFAULT_CONFIGS if c.kernel == "6.12" and c.cgroup == "v1"]
    assert {c.kernel for c in matrix.QUICK_CONFIGS} == set(kfetch.KERNELS)


def test_kernel_cmdline_carries_the_config_and_fits(monkeypatch):
    line = vm.kernel_cmdline(VMConfig("6.1", thp="madvise", cgroup="v1", swap_mib=512),
                             ["python", "-m", "tests.claims", "--json"], 300)
    assert line.startswith("console=ttyS0 quiet panic=-1 ")
    blob = line.split("toplab.cfg=", 1)[1]
    import base64
    cfg = json.loads(base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4)))
    assert (cfg["thp"], cfg["cgroup"], cfg["swap"], cfg["timeout"]) == ("madvise", "v1", True, 300)
    assert cfg["argv"][1:] == ["-m", "tests.claims", "--json"] and cfg["argv"][0].endswith("python")
    assert cfg["env"]["TOPLAB_FAST"] == "1" and cfg["env"]["LANG"] == "C.UTF-8"
    with pytest.raises(ConfigError, match="too long"):
        vm.kernel_cmdline(VMConfig("6.1"), ["python", "-c", "x" * 3000], 10)


# --------------------------------------------------------------------------- the console

CONSOLE = """\
SeaBIOS (version 1.16.2)\r
[    3.41] random: crng init done\r
toplab-init: start {"uptime": 3.9, "kernel": "6.1.0-47-cloud-amd64"}\r
toplab-init: thp {"before": "[always] madvise never", "after": "always [madvise] never", "ok": true}\r
toplab-init: modules ["virtio", "virtio_blk"]\r
=====TOPLAB-BEGIN=====\r
@o {"machine": {"kernel": "6.1.0-47-cloud-amd64"}}\r
@e a warning on stderr\r
[   20.1] Memory cgroup out of memory: Killed process 99 (malloc_test)@o {"claim": "a", "status": "holds"}\r
@o \r
=====TOPLAB-END rc=1 seconds=42.50=====\r
toplab-init: done {"uptime": 50.0}\r
-----kernel log-----\r
@o not part of the output: after END\r
"""


def test_parse_console_splits_facts_stdout_and_stderr():
    c = vm.parse_console(CONSOLE.splitlines())
    assert c.began and c.ended and c.rc == 1 and c.guest_seconds == 42.5
    assert c.facts["thp"]["ok"] is True and c.facts["modules"] == ["virtio", "virtio_blk"]
    assert c.facts["done"] == {"uptime": 50.0}
    assert c.stdout == ['{"machine": {"kernel": "6.1.0-47-cloud-amd64"}}', '{"claim": "a", "status": "holds"}', ""]
    assert c.stderr == ["a warning on stderr"]


def test_parse_console_cut_off_and_timeout():
    lines = CONSOLE.splitlines()
    cut = vm.parse_console(lines[:8])
    assert cut.began and not cut.ended and cut.rc is None and len(cut.stdout) == 1
    t = vm.parse_console(["=====TOPLAB-BEGIN=====", "@o x", "=====TOPLAB-END rc=timeout seconds=600.00====="])
    assert t.rc == "timeout" and t.stdout == ["x"]
    assert vm.parse_console(["Kernel panic - not syncing"]).began is False


def test_parse_claim_lines():
    machine, recs, other = matrix.parse_claim_lines([
        '{"machine": {"kernel": "6.12.111", "thp": "always"}}', "", "some print",
        '{"claim": "x", "chapter": "2.3", "title": "t", "status": "differs", "figures": "f", "seconds": 1}',
        "{not json",
    ])
    assert machine == {"kernel": "6.12.111", "thp": "always"}
    assert [r["claim"] for r in recs] == ["x"]
    assert other == ["some print", "{not json"]


# --------------------------------------------------------------------------- the table

def _rec(cid, status, figures="", chapter="2.3"):
    return {"claim": cid, "chapter": chapter, "title": f"title of {cid}", "status": status, "figures": figures,
            "seconds": 0.5}


def _columns():
    host = matrix.Column(id="host 6.18", kind="host", status="ok", rc=0, machine={"kernel": "6.18", "cpus": 2},
                         records=[_rec("res-lag", "holds"), _rec("oom", "skipped", "needs root")],
                         seconds={"total": 3.2})
    v1 = matrix.Column(id="6.1 smp2", kind="vm", status="ok", rc=1, machine={"kernel": "6.1.0-47", "swap": 512 * 2**20},
                       kernel={"package": "linux-image-6.1.0-47-cloud-amd64", "version": "6.1.170-3"},
                       records=[_rec("res-lag", "differs", "RES +0 KiB over 25 steps | exact +100 KiB"),
                                _rec("oom", "holds")],
                       seconds={"boot": 5.0, "setup": 0.1, "run": 61.0, "total": 67.0})
    dead = matrix.Column(id="6.12 smp4", kind="vm", status="boot-failed", error="Oops: int3", log_path="x.log",
                         seconds={"boot": None, "total": 9.0})
    return [host, v1, dead]


def test_render_text_table():
    text = matrix.render_text(_columns(), width=40)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["claim", "host", "6.18"]
    row = next(line for line in lines if "res-lag" in line)
    assert "holds" in row and "differs (RES +0 KiB" in row and "no result" in row
    assert "skipped" in next(line for line in lines if " oom" in line)
    assert "boot 5.0s run 61s total 67s" in text
    assert "6.12 smp4: boot-failed: Oops: int3 (log: x.log)" in text
    # the full figures of a differing claim are listed under the table
    assert "6.1 smp2: res-lag differs: RES +0 KiB over 25 steps | exact +100 KiB" in text


def test_render_markdown_escapes_and_lists_machines():
    md = matrix.render_markdown(_columns(), {"started": "today", "total_seconds": 80.0, "passed": False})
    assert "| res-lag | 2.3 | holds | differs (RES +0 KiB over 25 steps \\| exact +100 KiB) | no result |" in md
    assert "linux-image-6.1.0-47-cloud-amd64 6.1.170-3" in md and "512 MiB" in md
    assert "FAILED" in md and "**oom** (2.3): title of oom" in md


def test_figures_of_every_claim_are_listed_per_machine_even_where_it_holds():
    cols = _columns()
    cols[0].records[0]["figures"] = "statm RES +44 KiB vs exact +44 KiB"
    lines = matrix.render_figures(cols)
    assert lines[0] == "res-lag: title of res-lag"
    assert "  host 6.18: holds, statm RES +44 KiB vs exact +44 KiB" in lines
    assert "  6.1 smp2: differs, RES +0 KiB over 25 steps | exact +100 KiB" in lines
    assert not any(line.startswith("  6.12 smp4") for line in lines)  # no record from a VM that did not boot
    assert "- res-lag: title of res-lag" in matrix.render_markdown(cols)
    assert "Figures (what each check measured, per machine):" in matrix.render_text(cols)


def test_passed_needs_every_column_complete_and_nothing_differing():
    host, v1, dead = _columns()
    assert not matrix.passed([host, v1, dead])
    assert not matrix.passed([host, v1])  # differs
    v1.records[0]["status"] = "holds"
    assert matrix.passed([host, v1])
    v1.records[1]["status"] = "error"
    assert not matrix.passed([host, v1])
    v1.records[1]["status"] = "skipped"
    v1.rc = 2  # tests.claims refused its arguments
    assert not matrix.passed([host, v1])


def test_select_configs():
    configs, host = matrix.select_configs(False, None)
    assert configs == list(matrix.DEFAULT_CONFIGS) and host
    configs, host = matrix.select_configs(True, ["6.12"])
    assert [c.kernel for c in configs] == ["6.12"] and not host
    configs, host = matrix.select_configs(False, ["host"])
    assert configs == [] and host
    with pytest.raises(SystemExit):
        matrix.select_configs(False, ["5.4"])


# --------------------------------------------------------------------------- the initramfs

def _fake_repo(root: Path) -> Path:
    (root / "kernel_helpers" / "lessons").mkdir(parents=True)
    (root / "kernel_helpers" / "__init__.py").write_text("")
    (root / "kernel_helpers" / "lessons" / "ch2_3.py").write_text("X = 1\n")
    (root / "kernel_helpers" / "__pycache__").mkdir()
    (root / "kernel_helpers" / "__pycache__" / "junk.cpython-311.pyc").write_bytes(b"junk")
    (root / "tests" / "claims").mkdir(parents=True)
    (root / "tests" / "claims" / "__init__.py").write_text("")
    (root / "tests" / "fakeproc.py").write_text("")
    (root / "tests" / "test_something.py").write_text("")
    (root / "c_programs" / "bin").mkdir(parents=True)
    (root / "c_programs" / "bin" / "malloc_test").write_bytes(b"\x7fELF...")
    (root / "notebooks").mkdir()
    (root / "notebooks" / "a.ipynb").write_text("{}")
    return root


def test_project_files_are_the_runtime_code_only(tmp_path):
    repo = _fake_repo(tmp_path)
    rel = {str(p.relative_to(repo)) for p in initramfs.project_files(repo)}
    assert rel == {"kernel_helpers/__init__.py", "kernel_helpers/lessons/ch2_3.py", "tests/claims/__init__.py",
                   "tests/fakeproc.py", "c_programs/bin/malloc_test"}


def test_project_key_changes_with_project_files_only(tmp_path):
    repo = _fake_repo(tmp_path)
    py = initramfs.python_layout()
    k0 = initramfs.project_key(repo, py)
    assert initramfs.project_key(repo, py) == k0
    (repo / "notebooks" / "a.ipynb").write_text('{"changed": 1}')  # not in the image
    (repo / "tests" / "test_something.py").write_text("changed")
    assert initramfs.project_key(repo, py) == k0
    (repo / "kernel_helpers" / "lessons" / "ch2_3.py").write_text("X = 2\n")
    k1 = initramfs.project_key(repo, py)
    assert k1 != k0
    (repo / "c_programs" / "bin" / "malloc_test").chmod(0o755)  # a mode change matters too
    k2 = initramfs.project_key(repo, py)
    assert k2 != k1
    (repo / "tests" / "claims" / "ch9.py").write_text("")  # a new claim module
    assert initramfs.project_key(repo, py) != k2


def _read_cpio(path: Path) -> dict[str, tuple[int, bytes]]:
    data, off, out = path.read_bytes(), 0, {}
    while off < len(data):
        if data[off:off + 6] != b"070701":
            assert data[off:] == b"\0" * (len(data) - off)  # only padding after the trailer
            break
        fields = [int(data[off + 6 + 8 * i: off + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name = data[off + 110: off + 110 + namesize - 1].decode()
        off += 110 + namesize
        off += -off % 4
        out[name] = (mode, data[off:off + size])
        off += size
        off += -off % 4
    return out


def test_cpio_layer_round_trip(tmp_path):
    src = tmp_path / "hello"
    src.write_text("hi\n")
    src.chmod(0o750)
    t = initramfs.Tree()
    t.host_file(str(src), "/opt/a/hello")
    t.text("/etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    t.symlink("/opt/a/link", "hello")
    t.add("/dev/console", initramfs.Entry("chr", 0o600, rdev=(5, 1)))
    t.dir("/tmp", 0o1777)
    t.write(tmp_path / "x.cpio")
    got = _read_cpio(tmp_path / "x.cpio")
    assert (tmp_path / "x.cpio").stat().st_size % 512 == 0
    assert got["opt/a/hello"] == (stat.S_IFREG | 0o750, b"hi\n")
    assert stat.S_ISDIR(got["opt"][0]) and stat.S_ISDIR(got["opt/a"][0])  # parents made
    assert got["opt/a/link"] == (stat.S_IFLNK | 0o777, b"hello")
    assert got["etc/passwd"][1].startswith(b"root:")
    assert stat.S_ISCHR(got["dev/console"][0]) and got["tmp"][0] == stat.S_IFDIR | 0o1777
    assert "TRAILER!!!" in got
    names = list(got)
    assert names.index("opt") < names.index("opt/a") < names.index("opt/a/hello")


@pytest.mark.skipif(not os.path.islink("/lib"), reason="the host has no merged /usr")
def test_layers_never_turn_the_lib_symlink_into_a_directory():
    # the kernel's unpacker replaces the base layer's /lib -> usr/lib symlink with a directory
    # if a later layer has a /lib directory entry: module paths must go under /usr/lib
    t = initramfs.Tree()
    t.text("/lib/modules/6.1/x.ko", b"")
    assert "/lib" not in t.entries and "/usr/lib/modules/6.1/x.ko" in t.entries
    t.symlink("/lib", "usr/lib")
    assert t.entries["/lib"].kind == "link"


# --------------------------------------------------------------------------- kernel modules

def _module(modinfo: dict[str, str]) -> bytes:
    """A minimal ELF64 relocatable with a .modinfo section (what modinfo() reads)."""
    info = b"".join(f"{k}={v}".encode() + b"\0" for k, v in modinfo.items())
    shstr = b"\0.modinfo\0.shstrtab\0"
    info_off = 64
    str_off = info_off + len(info)
    sh_off = str_off + len(shstr)
    sh_off += -sh_off % 8
    ehdr = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    ehdr += struct.pack("<HHIQQQIHHHHHH", 1, 62, 1, 0, 0, sh_off, 0, 64, 0, 0, 64, 3, 2)
    body = ehdr + info + shstr
    body += b"\0" * (sh_off - len(body))

    def sh(name, typ, off, size):
        return struct.pack("<IIQQQQIIQQ", name, typ, 0, 0, off, size, 0, 0, 1, 0)

    return body + sh(0, 0, 0, 0) + sh(1, 1, info_off, len(info)) + sh(10, 3, str_off, len(shstr))


def test_modinfo_and_load_order_skip_builtins_and_read_xz(tmp_path):
    k = _fake_kernel(tmp_path, "CONFIG_VIRTIO_BLK=m\n")
    kdir = k.modules_dir / "kernel" / "drivers"
    kdir.mkdir(parents=True)
    (kdir / "virtio_ring.ko").write_bytes(_module({"name": "virtio_ring", "depends": ""}))
    (kdir / "virtio.ko").write_bytes(_module({"name": "virtio", "depends": "virtio_ring"}))
    (kdir / "virtio_blk.ko.xz").write_bytes(lzma.compress(_module({"depends": "virtio,virtio_ring",
                                                                   "vermagic": "9.9.9 SMP"})))
    (kdir / "virtio-pci.ko").write_bytes(_module({"depends": "virtio,virtio_ring"}))
    (k.modules_dir / "modules.builtin").write_text("kernel/drivers/other.ko\n")
    assert kfetch.modinfo(kdir / "virtio_blk.ko.xz") == {"depends": "virtio,virtio_ring", "vermagic": "9.9.9 SMP"}
    order = [n for n, _ in k.modules_for(["virtio_pci", "virtio_blk"])]
    assert order == ["virtio_ring", "virtio", "virtio_pci", "virtio_blk"]
    assert kfetch.module_bytes(kdir / "virtio_blk.ko.xz")[:4] == b"\x7fELF"
    # built into the kernel (as on 6.12): nothing to load for it or for what it needs
    (k.modules_dir / "modules.builtin").write_text("kernel/drivers/virtio.ko\nkernel/drivers/virtio_ring.ko\n"
                                                   "kernel/drivers/virtio_pci.ko\n")
    assert [n for n, _ in k.modules_for(["virtio_pci", "virtio_blk"])] == ["virtio_blk"]
    with pytest.raises(kfetch.FetchError, match="neither built in nor packaged"):
        k.modules_for(["9pnet_virtio"])


def test_kernel_config_parse():
    cfg = kfetch.kernel_config('CONFIG_MEMCG=y\n# CONFIG_MEMCG_V1 is not set\nCONFIG_LOCALVERSION=""\nCONFIG_NR_CPUS=64\n')
    assert cfg == {"MEMCG": "y", "LOCALVERSION": "", "NR_CPUS": "64"}
