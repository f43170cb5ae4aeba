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
    # Debian 12's 6.12 (bookworm-security) has no MEMCG_V1: the defaults must not put cgroup v1 on it
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
    host = matrix.Column(id="host 6.18", kind="host", status="ok", rc=0,
                         machine={"kernel": "6.18", "cpus": 2, "cgroup": "v1"},
                         records=[_rec("res-lag", "holds"), _rec("places-v2-delegated", "skipped", "uses cgroup v1")],
                         seconds={"total": 3.2})
    v1 = matrix.Column(id="6.1 smp2", kind="vm", status="ok", rc=1,
                       machine={"kernel": "6.1.0-47", "swap": 512 * 2**20, "cgroup": "v2"},
                       kernel={"package": "linux-image-6.1.0-47-cloud-amd64", "version": "6.1.170-3"},
                       records=[_rec("res-lag", "differs", "RES +0 KiB over 25 steps | exact +100 KiB"),
                                _rec("places-v2-delegated", "holds")],
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
    assert "skipped" in next(line for line in lines if " places-v2-delegated" in line)
    assert "boot 5.0s run 61s total 67s" in text
    assert "6.12 smp4: boot-failed: Oops: int3 (log: x.log)" in text
    # the full figures of a differing claim are listed under the table
    assert "6.1 smp2: res-lag differs: RES +0 KiB over 25 steps | exact +100 KiB" in text


def test_render_markdown_escapes_and_lists_machines():
    md = matrix.render_markdown(_columns(), {"started": "today", "total_seconds": 80.0, "passed": False})
    assert "| res-lag | 2.3 | holds | differs (RES +0 KiB over 25 steps \\| exact +100 KiB) | no result |" in md
    assert "linux-image-6.1.0-47-cloud-amd64 6.1.170-3" in md and "512 MiB" in md
    assert "FAILED" in md and "**places-v2-delegated** (2.3): title of places-v2-delegated" in md


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
    v1.records[1]["status"] = "holds"
    v1.rc = 2  # tests.claims refused its arguments
    assert not matrix.passed([host, v1])


def test_only_expected_skips_pass():
    host, v1, _ = _columns()
    v1.records[0]["status"] = "holds"
    # places-v2-delegated needs cgroup v2: skipping it on the cgroup v1 host is expected
    assert matrix.passed([host, v1])
    assert matrix.cell(host.records[1], host) == "skipped"
    # the same skip on a cgroup v2 machine is not
    v1.records[1].update(status="skipped", figures="no cgroup v2 with the memory controller")
    assert not matrix.passed([host, v1])
    assert matrix.cell(v1.records[1], v1) == "skipped (unexpected: no cgroup v2 with the memory controller)"
    text = matrix.render_text([host, v1], width=80)
    assert "skipped (unexpected: no cgroup v2" in text
    assert "6.1 smp2: places-v2-delegated skipped, not expected there" in text
    # a claim the table does not name may never skip; without machine facts no skip is expected
    v1.records[1]["status"] = "holds"
    host.records[0].update(status="skipped", figures="needs root")
    assert not matrix.passed([host, v1])
    assert not matrix.skip_expected(host.records[1], {})


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


def test_kernel_cmdline_asks_for_fast_khugepaged_under_thp_always_only():
    import base64

    def payload(thp):
        blob = vm.kernel_cmdline(VMConfig("6.1", thp=thp), ["python", "-m", "tests.claims", "--json"], 300)
        blob = blob.split("toplab.cfg=", 1)[1]
        return json.loads(base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4)))

    assert payload("always")["khugepaged"] == {"scan_sleep_millisecs": 100, "alloc_sleep_millisecs": 100}
    assert payload("madvise")["khugepaged"] == {}


def test_what_khugepaged_ran_with_is_in_the_tables():
    host, v1, _ = _columns()
    v1.setup = {"thp": {"ok": True, "khugepaged": {"scan_sleep_millisecs": {"before": "10000", "after": "100"},
                                                   "alloc_sleep_millisecs": {"before": "60000", "after": "100"}}}}
    host.setup = {"khugepaged": {"scan_sleep_millisecs": "10000", "alloc_sleep_millisecs": "60000"}}
    assert matrix.khugepaged_note(v1) == "khugepaged scan every 100 ms, alloc retry 100 ms (set by /init)"
    assert matrix.khugepaged_note(host) == "khugepaged scan every 10000 ms, alloc retry 60000 ms (as found)"
    assert "6.1 smp2: khugepaged scan every 100 ms" in matrix.render_text([host, v1])
    md = matrix.render_markdown([host, v1])
    assert "| THP | khugepaged |" in md and "khugepaged scan every 100 ms, alloc retry 100 ms (set by /init)" in md


# --------------------------------------------------------------------------- the guest's /init

def test_setup_thp_sets_khugepaged_and_reports_before_and_after(tmp_path):
    from tools.kernels import guest_init

    (tmp_path / "khugepaged").mkdir()
    (tmp_path / "enabled").write_text("always [madvise] never\n")
    (tmp_path / "khugepaged" / "scan_sleep_millisecs").write_text("10000\n")
    (tmp_path / "khugepaged" / "alloc_sleep_millisecs").write_text("60000\n")
    out = guest_init.setup_thp("always", vm.KHUGEPAGED_FAST, root=str(tmp_path))
    assert out["before"] == "always [madvise] never"
    assert out["khugepaged"] == {"scan_sleep_millisecs": {"before": "10000", "after": "100"},
                                 "alloc_sleep_millisecs": {"before": "60000", "after": "100"}}
    assert (tmp_path / "khugepaged" / "scan_sleep_millisecs").read_text() == "100"
    assert "khugepaged" not in guest_init.setup_thp("madvise", {}, root=str(tmp_path))


def test_the_reaper_cannot_take_the_commands_exit_status(monkeypatch, capfd):
    # The command exits at once; the reaper (PID 1's orphan collector) runs every 20 ms.  Popen
    # is slowed so that the command is a zombie before run_command can keep its PID: without
    # the lock, the reaper collects it and Popen.wait() reports 0 (ECHILD) instead of 3.
    import subprocess
    import time

    from tools.kernels import guest_init

    real = subprocess.Popen

    class SlowPopen(real):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)  # exited, not collected
            time.sleep(0.3)  # the reaper gets ~15 turns here

    monkeypatch.setattr(subprocess, "Popen", SlowPopen)
    reaper = guest_init.Reaper(interval=0.02)
    reaper.start()
    try:
        rc, _ = guest_init.run_command({"argv": ["sh", "-c", "echo out; echo err >&2; exit 3"],
                                        "env": {"PATH": os.environ["PATH"]}, "timeout": 30}, reaper)
    finally:
        reaper.stop()
        reaper.join(timeout=5)
    assert rc == "3"
    # and the host reads what /init wrote with the same markers
    c = vm.parse_console(capfd.readouterr().out.splitlines())
    assert c.began and c.ended and c.rc == 3 and c.stdout == ["out"] and c.stderr == ["err"]


def test_console_markers_are_defined_once():
    from tools.kernels import guest_init

    assert vm.BEGIN is guest_init.BEGIN and vm.END is guest_init.END
    assert vm.END_RE.search(f"{guest_init.END} rc=0 seconds=1.50=====")
    assert matrix.TCG_THREAD is vm.TCG_THREAD


# --------------------------------------------------------------------------- qemu's lifetime

def _dead_pid() -> int:
    import subprocess

    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_a_process_started_with_the_pdeathsig_prefix_dies_with_its_thread():
    import signal
    import subprocess
    import threading
    import time

    prefix = vm.pdeathsig_prefix()
    assert prefix[1:] == ["--pdeathsig", "KILL", "--"]  # util-linux's setpriv is on this machine
    box = {}

    def start() -> None:
        box["p"] = subprocess.Popen([*prefix, "sleep", "60"])
        time.sleep(0.5)  # setpriv has set the signal and exec'd sleep (as _boot waits for qemu)

    t = threading.Thread(target=start)
    t.start()
    t.join()
    assert box["p"].wait(timeout=10) == -signal.SIGKILL  # the thread ended: the kernel killed it


def test_without_setpriv_qemu_starts_plainly_with_a_warning(monkeypatch, capsys):
    monkeypatch.setattr(vm.shutil, "which", lambda name: None)
    monkeypatch.setattr(vm, "_warned_setpriv", False)
    assert vm.pdeathsig_prefix() == []
    assert "setpriv --pdeathsig" in capsys.readouterr().err
    assert vm.pdeathsig_prefix() == [] and capsys.readouterr().err == ""  # once


@pytest.fixture
def fake_qemu(tmp_path, monkeypatch):
    """run_in_vm with a "qemu" that logs its start and sleeps (never prints /init's marker)."""
    import threading

    monkeypatch.setenv("TOPLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(vm, "_STOP", threading.Event())  # the module's flag, fresh for this test
    monkeypatch.setattr(vm, "ARTIFACTS", tmp_path / "artifacts")
    monkeypatch.setattr(vm, "BOOT_ALLOWANCE", 20)
    starts = tmp_path / "starts"
    script = tmp_path / "qemu"
    script.write_text(f"#!/bin/sh\necho $$ >> {starts}\nexec sleep 60\n")
    script.chmod(0o755)
    monkeypatch.setattr(vm, "qemu_binary", lambda: str(script))
    k = _fake_kernel(tmp_path / "k", "CONFIG_MEMCG=y\nCONFIG_SWAP=y\n", key="6.1")
    monkeypatch.setattr(vm, "fetch", lambda key: k)
    initrd = tmp_path / "initrd.cpio"
    initrd.write_bytes(b"")
    image = initramfs.Image(initrd, {}, {}, 0)

    def started() -> list[str]:
        return starts.read_text().split() if starts.exists() else []

    return image, started, script


def test_kill_all_during_boot_stops_and_never_boots_again(fake_qemu):
    import threading
    import time

    image, started, _ = fake_qemu
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("r", vm.run_in_vm(
        VMConfig("6.1"), ["true"], timeout=1, image=image, boot_attempts=2)))
    t.start()
    deadline = time.monotonic() + 10
    while not (vm._LIVE and started()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert started(), "the fake qemu did not start"
    vm.kill_all()
    t.join(timeout=15)
    assert not t.is_alive()
    r = box["r"]
    assert r.status == "stopped" and r.facts["boot_attempts"] == 1
    assert len(started()) == 1  # no second boot after kill_all
    assert not vm._LIVE
    # and nothing starts any more
    r2 = vm.run_in_vm(VMConfig("6.1"), ["true"], timeout=1, image=image)
    assert r2.status == "stopped" and len(started()) == 1


def test_kill_all_between_popen_and_registration_still_ends_that_qemu(fake_qemu, monkeypatch):
    import subprocess
    import time

    image, started, script = fake_qemu
    real = subprocess.Popen
    procs = []

    class Popen(real):  # Ctrl-C arrives just after qemu started, before run_in_vm registered it
        def __init__(self, args, *a, **kw):
            super().__init__(args, *a, **kw)
            if str(script) in args:
                procs.append(self)
                while not started():  # the script has run (its PID is qemu's)
                    time.sleep(0.01)
                vm.kill_all()

    monkeypatch.setattr(subprocess, "Popen", Popen)
    t0 = time.monotonic()
    r = vm.run_in_vm(VMConfig("6.1"), ["true"], timeout=1, image=image, boot_attempts=2)
    assert r.status == "stopped"
    assert time.monotonic() - t0 < 10  # not the 1 + 20 s a qemu nobody killed would run
    assert len(procs) == 1 and procs[0].returncode is not None


# --------------------------------------------------------------------------- the shared cache

_PROBE = ("import fcntl, os, sys\nfd = os.open(sys.argv[1], os.O_RDWR)\n"
          "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('free')\n"
          "except BlockingIOError:\n    print('held')\n")


def _probe_lock(path: Path) -> str:
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", _PROBE, str(path)], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_cache_lock_excludes_other_processes_and_threads_and_nests(tmp_path, monkeypatch):
    import threading

    from tools.kernels import cache_dir, cache_lock

    monkeypatch.setenv("TOPLAB_CACHE", str(tmp_path))
    lock = cache_dir() / ".lock"
    got = threading.Event()

    def other_thread():
        with cache_lock():
            got.set()

    with cache_lock():
        with cache_lock():  # re-entrant: no deadlock on a second flock of the same file
            assert _probe_lock(lock) == "held"
        assert _probe_lock(lock) == "held"  # the outer block still holds it
        t = threading.Thread(target=other_thread)
        t.start()
        assert not got.wait(0.3)
    assert got.wait(5)
    t.join()
    assert _probe_lock(lock) == "free"


class FakeApt:
    """apt-cache / apt-get / dpkg-deb for fetch(): a version the lists name may be gone (404)."""

    def __init__(self, gone=(), after_update="1.0-2"):
        self.version, self.after_update, self.gone, self.calls = "1.0-1", after_update, set(gone), []

    def __call__(self, argv, cwd=None):
        import subprocess

        self.calls.append(argv[:2])
        ok = subprocess.CompletedProcess(argv, 0, "", "")
        if argv[:2] == ["apt-cache", "policy"]:
            return subprocess.CompletedProcess(argv, 0, f"{argv[2]}:\n  Candidate: {self.version}\n", "")
        if argv[:2] == ["apt-get", "update"]:
            self.version = self.after_update
            return ok
        if argv[:2] == ["apt-get", "download"]:
            pkg, ver = argv[-1].split("=")
            if ver in self.gone:
                return subprocess.CompletedProcess(argv, 100, "", f"E: Failed to fetch {pkg} {ver}  404  Not Found")
            Path(cwd, f"{pkg}_{ver}_amd64.deb").write_bytes(b"deb")
            return ok
        if argv[:2] == ["dpkg-deb", "-x"]:
            root = Path(argv[3])
            (root / "boot").mkdir(parents=True)
            (root / "boot" / "vmlinuz-9.9.9-test").write_bytes(b"kernel")
            (root / "boot" / "config-9.9.9-test").write_text("CONFIG_SWAP=y\n")
            (root / "lib" / "modules" / "9.9.9-test").mkdir(parents=True)
            return ok
        raise AssertionError(f"unexpected command {argv}")


@pytest.fixture
def apt(tmp_path, monkeypatch):
    monkeypatch.setenv("TOPLAB_CACHE", str(tmp_path))
    monkeypatch.setattr(kfetch, "_updated", False)

    def install(fake: FakeApt) -> FakeApt:
        monkeypatch.setattr(kfetch, "_run", fake)
        return fake

    return install


def test_fetch_updates_apt_once_after_a_failed_download_and_takes_the_new_version(apt):
    fake = apt(FakeApt(gone={"1.0-1"}))
    k = kfetch.fetch("6.1")
    assert k.version == "1.0-2" and k.vmlinuz.is_file() and not k.cached
    assert fake.calls.count(["apt-get", "update"]) == 1
    assert fake.calls.count(["apt-get", "download"]) == 2
    assert kfetch.fetch("6.1").cached  # the pointer: no apt at all the second time
    assert len(fake.calls) == 6


def test_fetch_gives_up_after_one_update(apt):
    fake = apt(FakeApt(gone={"1.0-1", "1.0-2"}))
    with pytest.raises(kfetch.FetchError, match="404"):
        kfetch.fetch("6.1")
    assert fake.calls.count(["apt-get", "update"]) == 1 and fake.calls.count(["apt-get", "download"]) == 2


def test_fetch_replaces_a_killed_runs_leftovers(apt, tmp_path):
    fake = apt(FakeApt())
    pkg = kfetch.KERNELS["6.1"][0]
    partial = tmp_path / "kernels" / f"{pkg}_1.0-1"  # renamed in place, killed before kernel.json
    (partial / "junk").mkdir(parents=True)
    (tmp_path / "kernels" / "download-x1y2" / "root").mkdir(parents=True)  # a killed download
    k = kfetch.fetch("6.1")
    assert Path(k.root) == partial and k.vmlinuz.is_file() and not (partial / "junk").exists()
    assert not list((tmp_path / "kernels").glob("download-*"))
    assert fake.calls.count(["apt-get", "download"]) == 1


def test_fetch_uses_what_another_run_unpacked_while_it_waited(apt, tmp_path):
    fake = apt(FakeApt())
    first = kfetch.fetch("6.1")
    (tmp_path / "kernels" / "6.1.json").unlink()  # as if this run looked before the other finished
    again = kfetch.fetch("6.1")
    assert again.root == first.root and fake.calls.count(["apt-get", "download"]) == 1


def test_a_failed_layer_write_leaves_no_temporary_file(tmp_path):
    t = initramfs.Tree()
    t.text("/etc/a", "a")
    t.add("/etc/b", initramfs.Entry("file", src=str(tmp_path / "missing")))
    with pytest.raises(FileNotFoundError):
        t.write(tmp_path / "x.cpio")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def _age(path: Path, seconds: float) -> None:
    import time

    t = time.time() - seconds
    os.utime(path, (t, t))


@pytest.fixture
def fake_layers(tmp_path, monkeypatch):
    """build() with tiny layers instead of the host's Python (keys fixed, trees of one file)."""
    monkeypatch.setenv("TOPLAB_CACHE", str(tmp_path))
    monkeypatch.setattr(initramfs, "base_key", lambda py, pyc=True: "b1")
    monkeypatch.setattr(initramfs, "project_key", lambda repo, py: "p1")
    made = []

    def tree(name):
        def make(*_a):
            made.append(name)
            t = initramfs.Tree()
            t.text(f"/{name}", name)
            return t
        return make

    monkeypatch.setattr(initramfs, "base_tree", tree("base"))
    monkeypatch.setattr(initramfs, "kernel_tree", tree("kernel"))
    monkeypatch.setattr(initramfs, "project_tree", tree("project"))
    return _fake_kernel(tmp_path / "k", "", key="6.1"), made


def test_build_reuse_refreshes_mtimes_so_another_checkouts_prune_keeps_them(fake_layers, tmp_path):
    k, made = fake_layers
    img = initramfs.build(k)
    d = img.path.parent
    assert made == ["base", "kernel", "project"]
    files = sorted(d.glob("*.cpio"))
    assert len(files) == 4 and img.path.read_bytes().count(b"TRAILER!!!") == 3  # three archives, concatenated
    for f in files:
        _age(f, 2 * 86400)  # unused for two days ...
    img2 = initramfs.build(k)  # ... then used: a cache hit
    assert img2.path == img.path and made == ["base", "kernel", "project"]
    old = d / "project-old.cpio"
    old.write_bytes(b"")
    _age(old, 2 * 86400)
    initramfs._prune(d, "project", d / "project-new.cpio")  # what another checkout's build does
    initramfs._prune(d, "initrd-6.1", d / "initrd-6.1-new.cpio")
    assert not old.exists() and all(f.exists() for f in files)
    # an image pruned meanwhile is noticed before a boot
    img.path.unlink()
    assert not initramfs.refresh(img)


def test_build_holds_the_cache_lock_and_removes_killed_builds_temporaries(fake_layers, tmp_path, monkeypatch):
    k, _ = fake_layers
    d = tmp_path / "kernels" / "initramfs"
    d.mkdir(parents=True)
    dead = d / f".base-x.cpio.{_dead_pid()}.1.tmp"
    mine = d / f".base-y.cpio.{os.getpid()}.1.tmp"  # a live PID: maybe a build under way elsewhere
    for f in (dead, mine):
        f.write_bytes(b"x" * 10)
    seen = []
    real = initramfs.Tree.write

    def write(self, path):
        seen.append(_probe_lock(tmp_path / "kernels" / ".lock"))
        return real(self, path)

    monkeypatch.setattr(initramfs.Tree, "write", write)
    initramfs.build(k)
    assert seen == ["held"] * 3
    assert not dead.exists() and mine.exists()
    _age(mine, 2 * 86400)  # a day old: the PID was reused
    initramfs.build(k)
    assert not mine.exists()


def test_stale_vm_dirs_of_dead_runs_are_removed(tmp_path):
    gone = tmp_path / f"vm-{_dead_pid()}-abc"
    live = tmp_path / f"vm-{os.getpid()}-def"
    legacy_new, legacy_old = tmp_path / "vm-k3j4h5g6", tmp_path / "vm-q1w2e3r4"
    for d in (gone, live, legacy_new, legacy_old):
        d.mkdir()
        (d / "swap.img").write_bytes(b"")
    _age(legacy_old, 2 * 86400)
    removed = vm.remove_stale_vm_dirs(tmp_path)
    assert sorted(removed) == sorted([gone, legacy_old])
    assert live.exists() and legacy_new.exists() and not gone.exists() and not legacy_old.exists()


def test_scratch_dirs_are_not_mounted_over_a_checkout_that_lives_there(tmp_path, monkeypatch):
    """A clone under /tmp puts the project and its venv in the image's /tmp: a tmpfs there would hide it."""
    from tools.kernels import guest_init

    mounted = []
    monkeypatch.setattr(guest_init, "mount", lambda *a: mounted.append(a))
    full, empty = tmp_path / "tmp", tmp_path / "run"
    (full / "ci" / "kernel_helpers").mkdir(parents=True)
    guest_init.scratch_dir(str(full), 0o1777)
    guest_init.scratch_dir(str(empty), 0o755)
    assert (full / "ci" / "kernel_helpers").is_dir() and oct(full.stat().st_mode & 0o7777) == "0o1777"
    assert [m[1] for m in mounted] == [str(empty)] and mounted[0][2] == "tmpfs" and mounted[0][4] == "mode=755"
