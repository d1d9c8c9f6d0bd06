"""The tier 2 host: libvirtd at qemu:///system as tests/run.sh starts it
(tests/backends/kvm/start-daemons.sh), a work directory QEMU may read,
the tiny guest's initrd, an isolated network and our backend; and waiting
for what the guest prints on its console or the backend publishes.

Tier 2 tests share one libvirtd, and one test stops and starts it: that
test holds an exclusive lock on a file beside the daemons' pid files,
every other test (through the `host` fixture, which test modules import)
and the host's setup and teardown a shared one. The lock works across
pytest-xdist's worker processes."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import libvirt
import pytest

import guest
from cimprovider.backends.libvirt import LibvirtBackend
from cimprovider.schemas import ServerConfig

URI = "qemu:///system"
LOCK_PATH = Path("/run/cimprovider-tests/libvirtd.lock")
BOOT_SECONDS = 120


class Host:
    """libvirtd as the tests find it, a work directory QEMU may read, one
    isolated network (a bridge, no addresses, no DHCP) and our backend."""

    def __init__(self) -> None:
        try:
            self.conn = libvirt.open(URI)
        except libvirt.libvirtError as error:
            pytest.fail(f"libvirtd is not reachable at {URI} ({error}); run tests/backends/kvm/start-daemons.sh")
        self.tag = f"cimp-t2-{os.getpid()}"
        # QEMU runs as libvirt-qemu: the directory must be traversable.
        self.workdir = Path(tempfile.mkdtemp(prefix="cimprovider-kvm-"))
        self.workdir.chmod(0o755)
        self.initrd = guest.build_initrd(self.workdir)
        bridge = f"cimt{os.getpid() % 100000}"
        self.conn.networkCreateXML(f"<network><name>{self.tag}</name><bridge name='{bridge}'/></network>")
        # VMs the backend defines run under TCG too (see guest.domain_xml).
        self.config = ServerConfig(
            backend="libvirt", libvirt_uri=URI, data_dir=self.workdir / "data",
            libvirt_domain_type="qemu", shutdown_timeout_seconds=90, storage_roots=[self.workdir],
        )
        self.backend = LibvirtBackend(self.config)
        self.domains: list[str] = []

    def ready(self, timeout: float = 60) -> None:
        """After another test restarted libvirtd: our connection is new and
        the backend has reconnected (its backoff may still be waiting)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.conn.getLibVersion()  # a call on the wire: isAlive() trusts a dead socket until it is used
                break
            except libvirt.libvirtError:
                pass
            try:
                self.conn = libvirt.open(URI)
                break
            except libvirt.libvirtError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        while not self.backend.health().healthy:
            assert time.monotonic() < deadline, f"the backend did not reconnect: {self.backend.health().detail}"
            time.sleep(0.2)

    def define_guest(self, suffix: str, agent: bool = False, interactive: bool = False,
                     disk: tuple[Path, str] | None = None, console_append: bool = False) -> libvirt.virDomain:
        """The tiny guest, with no NIC; `agent` gives it the guest agent's
        channel (and the guest runs qemu-ga on it); `disk` and
        `console_append` as guest.domain_xml has them. A guest with an address
        belongs on netns_host.py's host, whose network is in a namespace."""
        name = f"{self.tag}-{suffix}"
        self.domains.append(name)
        return self.conn.defineXML(guest.domain_xml(name, self.workdir, self.initrd, agent, interactive=interactive,
                                                    disk=disk, console_append=console_append))

    def console(self, domain: libvirt.virDomain) -> Path:
        return self.workdir / f"{domain.name()}.console"

    def power_off_all(self) -> None:
        """After each test: no guest of ours runs into the next one (or into
        a libvirtd restart, which would orphan its QEMU)."""
        for name in self.domains:
            try:
                domain = self.conn.lookupByName(name)
                if domain.isActive():
                    domain.destroy()
            except libvirt.libvirtError:
                continue

    def close(self) -> None:
        self.power_off_all()
        flags = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        for name in self.domains:
            try:
                self.conn.lookupByName(name).undefineFlags(flags)
            except libvirt.libvirtError:
                continue
        self.backend.close()
        self.conn.networkLookupByName(self.tag).destroy()
        self.conn.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def wait_for_console(path: Path, pattern: str, after: int = 0, timeout: float = BOOT_SECONDS) -> str:
    """The first console line past byte `after` matching `pattern`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            # Sliced as bytes: the console's lines end in CRLF, which text
            # mode reads as one character, so a text offset would overshoot.
            text = path.read_bytes()[after:].decode(errors="replace")
            match = re.search(pattern, text)
            if match:
                return match.group(0)
        time.sleep(0.5)
    tail = path.read_text(errors="replace")[-2000:] if path.exists() else "(no console output)"
    raise AssertionError(f"the guest never printed {pattern!r}; console ends:\n{tail}")


def wait_for_event(events, match, timeout: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in events.drain():
            if match(event):
                return event
        time.sleep(0.1)
    raise AssertionError("the expected event did not reach the bus")


def console_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


@contextmanager
def libvirtd_lock(exclusive: bool = False) -> Iterator[None]:
    LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_PATH, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def libvirtd_in_use() -> Iterator[None]:
    with libvirtd_lock():
        yield


_opened: list[Host] = []  # the one host of this process, and who holds it
_holders = [0]


@pytest.fixture(scope="session")
def shared_host() -> Iterator[Host]:
    # Each test module imports this fixture, which makes it a fixture of
    # each module: the host is made once per process and closed by the last.
    with libvirtd_lock():
        if not _opened:
            _opened.append(Host())
        _holders[0] += 1
    yield _opened[0]
    with libvirtd_lock():
        _holders[0] -= 1
        if _holders[0] == 0:
            host = _opened.pop()
            host.ready()
            host.close()


@pytest.fixture
def host(libvirtd_in_use: None, shared_host: Host) -> Iterator[Host]:
    shared_host.ready()
    yield shared_host
    shared_host.power_off_all()
