"""The backend contract suite runs against every backend listed here.

A harness opens a backend on fresh state and can open it again on the same
state (a restart). The libvirt harness points at libvirt's test driver,
whose `test:///default` state is shared by every connection in the process
(and outlives them while anything, even a traceback, holds a domain
object): the harness holds one connection for the test's length, so a
reopened backend sees the same host, and removes the test's domains at
the end, so the next test starts from the driver's stock host.

What a hypervisor can do differs (the test driver has no device hot-plug,
its guest has no moving load or host name): the harness says so, and the
contract tests then assert what a client sees there instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cimprovider.backends import Backend, load_backend
from cimprovider.events import EventBus
from cimprovider.schemas import ServerConfig

TRANSITION_SECONDS = 0.05
BACKENDS = ["simulated", "libvirt"]
LIBVIRT_TEST_URI = "test:///default"


class BackendHarness:
    def __init__(self, name: str, data_dir: Path) -> None:
        self.name = name
        self.config = ServerConfig(
            data_dir=data_dir, transition_seconds=TRANSITION_SECONDS, backend=name, libvirt_uri=LIBVIRT_TEST_URI
        )
        self._opened: list[Backend] = []
        self.storage = self.config.storage_roots[0]
        # Devices come and go while the guest runs; the guest's figures move
        # by themselves; the guest reports its host and OS name.
        self.live_devices = name == "simulated"
        self.guest_load_moves = name == "simulated"
        self.guest_reports_names = name == "simulated"
        self._keeper = None
        if name == "libvirt":
            import libvirt

            self._keeper = libvirt.open(LIBVIRT_TEST_URI)
            leftovers = [d.name() for d in self._keeper.listAllDomains() if d.name() != "test"]
            assert not leftovers, f"the test driver kept domains of an earlier test: {leftovers}"

    def medium(self, name: str) -> str:
        """A small raw image file inside the storage root, for a drive to hold."""
        path = self.storage / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(64 * 1024))
        return str(path)

    def open(self, bus: EventBus | None = None) -> Backend:
        backend = load_backend(self.name, self.config, bus)
        self._opened.append(backend)
        return backend

    def close_all(self) -> None:
        for backend in self._opened:
            backend.close()
        if self._keeper is not None:
            for domain in self._keeper.listAllDomains():
                if domain.name() == "test":
                    continue
                if domain.isActive():
                    domain.destroy()
                domain.undefineFlags(libvirt_undefine_flags())
            for network in self._keeper.listAllNetworks():
                if network.name() != "default":  # the test driver's own
                    if network.isActive():
                        network.destroy()
                    network.undefine()
            self._keeper.close()


def libvirt_undefine_flags() -> int:
    import libvirt

    return libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA


@pytest.fixture(params=BACKENDS)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BackendHarness]:
    harness = BackendHarness(request.param, tmp_path / "data")
    yield harness
    harness.close_all()


@pytest.fixture
def backend(harness: BackendHarness) -> Backend:
    return harness.open()
