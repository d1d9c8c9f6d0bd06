"""A second libvirtd on this machine, as a second KVM host: its own host
UUID (libvirt refuses to migrate a guest to the host it runs on), its own
state, run, configuration, cache and log directories (bind-mounted over
libvirt's in a mount namespace of its own), its sockets in a directory of
the test's, no TCP listener, no cgroups of its own (its guests' scopes
would take the names of the first daemon's), and its guests' consoles
written by QEMU itself (its virtlogd socket is not the first daemon's).

Reached at `qemu+unix:///system?socket=…`: the first libvirtd connects
there peer to peer, and a migration's memory and disks go over loopback.
Its guests are destroyed and the daemon stopped when the block ends.
Given `qemu_hook`, a shell script, the daemon runs it as its qemu hook
(libvirt waits for it at each step of a guest's start and stop)."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import libvirt

STATE = Path("/run/cimprovider-tests")
MOUNTED = {"run": "/run/libvirt", "lib": "/var/lib/libvirt", "etc": "/etc/libvirt", "cache": "/var/cache/libvirt",
           "log": "/var/log/libvirt"}
QEMU_CONF = 'stdio_handler = "file"\ncgroup_controllers = [ ]\n'
# What the first libvirtd learnt by probing this machine's QEMU binaries:
# the same binaries on the same host, which a new daemon would otherwise
# probe again (seconds of QEMU starts) at its first question.
CAPABILITIES = Path("/var/cache/libvirt/qemu/capabilities")
START_SECONDS = 60


def _base(tag: str) -> Path:
    return STATE / f"{tag}-second-libvirtd"


def save_dir(tag: str) -> Path:
    """Where the second libvirtd keeps its guests' managed save images."""
    return _base(tag) / "lib" / "qemu" / "save"


@contextmanager
def second_libvirtd(tag: str, qemu_hook: str | None = None) -> Iterator[str]:
    base = _base(tag)
    shutil.rmtree(base, ignore_errors=True)
    for name in (*MOUNTED, "sock"):
        (base / name).mkdir(parents=True)
    (base / "etc" / "qemu.conf").write_text(QEMU_CONF)
    seed_capabilities(base / "cache")
    if qemu_hook is not None:
        hook = base / "etc" / "hooks" / "qemu"  # libvirt looks for it once, as it starts
        hook.parent.mkdir()
        hook.write_text(qemu_hook)
        hook.chmod(0o755)
    conf = base / "libvirtd.conf"
    conf.write_text(f'listen_tls = 0\nlisten_tcp = 0\nunix_sock_dir = "{base / "sock"}"\nhost_uuid = "{uuid.uuid4()}"\n')
    mounts = " && ".join(f"mount --bind {base / name} {target}" for name, target in MOUNTED.items())
    script = f"{mounts} && exec libvirtd -f {conf} --pid-file={base / 'libvirtd.pid'}"
    with open(base / "libvirtd.log", "wb") as log:
        daemon = subprocess.Popen(["unshare", "-m", "--propagation", "private", "--", "sh", "-c", script],
                                  stdout=log, stderr=subprocess.STDOUT)
    uri = f"qemu+unix:///system?socket={base / 'sock' / 'libvirt-sock'}"
    try:
        _wait_for(uri, daemon, base)
        yield uri
    finally:
        _destroy_guests(uri)
        daemon.terminate()
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(timeout=30)
        shutil.rmtree(base, ignore_errors=True)


def seed_capabilities(cache: Path) -> None:
    """The first daemon's QEMU capabilities cache copied into a new
    daemon's cache directory (libvirt checks each entry against the binary
    and the host, and probes again any that does not match)."""
    if CAPABILITIES.is_dir():
        shutil.copytree(CAPABILITIES, cache / "qemu" / "capabilities", dirs_exist_ok=True)


def _wait_for(uri: str, daemon: subprocess.Popen, base: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        if daemon.poll() is not None:
            raise AssertionError(f"the second libvirtd exited ({daemon.returncode}):\n{(base / 'libvirtd.log').read_text()[-3000:]}")
        try:
            libvirt.open(uri).close()
            return
        except libvirt.libvirtError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _destroy_guests(uri: str) -> None:
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError:
        return
    try:
        for domain in conn.listAllDomains():
            try:
                if domain.isActive():
                    domain.destroy()
                if domain.isPersistent():
                    domain.undefine()
            except libvirt.libvirtError:
                continue
    finally:
        conn.close()
