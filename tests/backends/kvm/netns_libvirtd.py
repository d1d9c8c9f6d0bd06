"""A libvirtd of the test's own inside a network namespace the test
creates, for tests whose switches give the host an address or whose
guests have one: its bridges, their addresses, its firewall rules and its
guests' traffic all stay in that namespace, and anything the test runs on
the host's side of a switch runs there too (`run_inside`). Nothing
reaches the machine's own interfaces.

The daemon also runs in a mount namespace of its own (`ip netns exec`
makes one), with empty /run/libvirt, /var/lib/libvirt, /var/cache/libvirt
and /var/log/libvirt and a copy of /etc/libvirt without the machine's
domains and networks, so it neither sees nor disturbs the libvirtd the
other tier 2 tests share. Its socket lies in the test's work directory,
where a client outside the namespaces finds it (`uri`). No virtlogd:
QEMU writes its log to a file."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import libvirt
import pytest

import guest
from second_libvirtd import CAPABILITIES

SUBREAPER = Path(__file__).with_name("subreaper.py")
PRIVATE_DIRS = ("/run/libvirt", "/var/lib/libvirt", "/var/cache/libvirt", "/var/log/libvirt")
START_SECONDS = 60

# Runs inside the namespaces: the mounts stay in the daemon's own mount
# namespace (ip netns exec makes the root a slave, so nothing propagates back).
START = """set -e
mount --bind "$1/etc" /etc/libvirt
for dir in {dirs}; do mkdir -p "$dir"; mount -t tmpfs tmpfs "$dir"; done
# The machine's daemon's QEMU capabilities (see second_libvirtd.CAPABILITIES), not probed again.
if [ -d "$1/capabilities" ]; then mkdir -p /var/cache/libvirt/qemu && cp -a "$1/capabilities" /var/cache/libvirt/qemu/; fi
# The network driver keeps its guests' MAC addresses here and does not make it.
mkdir -p /var/lib/libvirt/dnsmasq
ip link set lo up
exec {python} {subreaper} libvirtd -f "$1/etc/libvirtd.conf" --pid-file="$1/libvirtd.pid"
"""


class NamespacedLibvirtd:
    def __init__(self, workdir: Path, name: str) -> None:
        self.namespace = name
        self.root = workdir / "netns-libvirtd"
        self.uri = f"qemu:///system?socket={self.root}/sock/libvirt-sock"
        self._daemon: subprocess.Popen[bytes] | None = None
        self._helpers: list[subprocess.Popen[bytes]] = []

    def start(self) -> libvirt.virConnect:
        """The daemon up in a new namespace; a connection to it."""
        self._write_config()
        subprocess.run(["ip", "netns", "add", self.namespace], check=True)
        script = START.format(dirs=" ".join(PRIVATE_DIRS), python=sys.executable, subreaper=SUBREAPER)
        with open(self.root / "libvirtd.log", "wb") as log:
            self._daemon = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace, "sh", "-c", script, "start", str(self.root)],
                stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                return libvirt.open(self.uri)
            except libvirt.libvirtError:
                log_text = (self.root / "libvirtd.log").read_text(errors="replace")
                if self._daemon.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the namespaced libvirtd did not start; its log:\n{log_text}") from None
                time.sleep(0.2)

    def run_inside(self, argv: list[str], output: Path) -> subprocess.Popen[bytes]:
        """A process in the namespace (stopped by `stop`), its output in `output`."""
        with open(output, "wb") as out:
            process = subprocess.Popen(["ip", "netns", "exec", self.namespace, *argv], stdout=out, stderr=subprocess.STDOUT)
        self._helpers.append(process)
        return process

    def addresses(self) -> str:
        return subprocess.run(["ip", "netns", "exec", self.namespace, "ip", "-br", "addr"], check=True,
                              capture_output=True, text=True).stdout

    def stop(self, conn: libvirt.virConnect | None) -> None:
        """Guests and networks gone first (the daemon's QEMUs and bridges
        would outlive it), then the daemon, the helpers and the namespace."""
        if conn is not None:
            _clear(conn)
            conn.close()
        for process in [*self._helpers, *([self._daemon] if self._daemon else [])]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=30)
        subprocess.run(["ip", "netns", "delete", self.namespace], check=False)

    def _write_config(self) -> None:
        etc = self.root / "etc"
        shutil.copytree("/etc/libvirt", etc, symlinks=True)
        # The machine's own domains and networks stay with its own daemon.
        shutil.rmtree(etc / "qemu", ignore_errors=True)
        (etc / "qemu" / "networks" / "autostart").mkdir(parents=True)
        (self.root / "sock").mkdir()
        (etc / "libvirtd.conf").write_text(f'unix_sock_dir = "{self.root}/sock"\n')
        with open(etc / "qemu.conf", "a") as conf:
            conf.write('\nstdio_handler = "file"\n')
        os.chmod(self.root, 0o755)
        if CAPABILITIES.is_dir():
            shutil.copytree(CAPABILITIES, self.root / "capabilities")


def _clear(conn: libvirt.virConnect) -> None:
    for domain in conn.listAllDomains():
        if domain.isActive():
            domain.destroy()
        domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
    for network in conn.listAllNetworks():
        persistent = network.isPersistent()  # a transient one is gone once destroyed
        if network.isActive():
            network.destroy()
        if persistent:
            network.undefine()


@dataclass
class Namespaced:
    daemon: NamespacedLibvirtd
    conn: libvirt.virConnect
    workdir: Path  # QEMU may read it: the guests' kernel, initrd and consoles
    initrd: Path

    def console(self, domain: libvirt.virDomain) -> Path:
        return self.workdir / f"{domain.name()}.console"


@pytest.fixture
def namespaced() -> Iterator[Namespaced]:
    """A libvirtd in a network namespace of this test's own, the tiny
    guest's initrd, and everything gone afterwards."""
    # QEMU runs as libvirt-qemu: the directory must be traversable.
    workdir = Path(tempfile.mkdtemp(prefix="cimprovider-netns-"))
    workdir.chmod(0o755)
    daemon = NamespacedLibvirtd(workdir, f"cimp-t2-{os.getpid()}")
    conn = None
    try:
        conn = daemon.start()
        yield Namespaced(daemon, conn, workdir, guest.build_initrd(workdir))
    finally:
        daemon.stop(conn)
        shutil.rmtree(workdir, ignore_errors=True)
