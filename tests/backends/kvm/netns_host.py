"""The tier 2 host for guests that have an address: what qemu_host.Host
offers (an isolated network, the tiny guest, our backend), on the
libvirtd in a network namespace this test creates (netns_libvirtd.py)
instead of the shared one. The isolated network's bridge, the guest's
link and whatever the guest sends stay in that namespace, so the
guest's address exists nowhere on the machine's own interfaces."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import libvirt
import pytest

import guest
from cimprovider.backends.libvirt import LibvirtBackend
from cimprovider.schemas import ServerConfig
from netns_libvirtd import Namespaced


class NamespacedHost:
    def __init__(self, namespaced: Namespaced) -> None:
        self.namespaced = namespaced
        self.conn, self.workdir = namespaced.conn, namespaced.workdir
        self.uri = namespaced.daemon.uri
        self.tag = f"cimp-t2-{os.getpid()}"
        # Its own name, so that it cannot be taken for the shared host's bridge.
        self.bridge = f"cimns{os.getpid() % 100000}"
        self.conn.networkCreateXML(f"<network><name>{self.tag}</name><bridge name='{self.bridge}'/></network>")
        # VMs the backend defines run under TCG too (see guest.domain_xml).
        self.config = ServerConfig(
            backend="libvirt", libvirt_uri=self.uri, data_dir=self.workdir / "data",
            libvirt_domain_type="qemu", shutdown_timeout_seconds=90, storage_roots=[self.workdir],
        )
        self.backend = LibvirtBackend(self.config)

    def define_guest(self, suffix: str, address: str, agent: bool = False) -> libvirt.virDomain:
        """The tiny guest with a NIC on the namespace's isolated network and
        `address` (CIDR) on it; `agent` gives it the guest agent's channel."""
        name = f"{self.tag}-{suffix}"
        return self.conn.defineXML(guest.domain_xml(name, self.workdir, self.namespaced.initrd, agent, self.tag, address))

    def console(self, domain: libvirt.virDomain) -> Path:
        return self.namespaced.console(domain)

    def inside(self) -> Interfaces:
        """The namespace's interfaces and their addresses."""
        return Interfaces.listed(self.namespaced.daemon.addresses())


@dataclass(frozen=True)
class Interfaces:
    names: frozenset[str]
    addresses: frozenset[str]  # without their prefix length

    @classmethod
    def listed(cls, text: str) -> Interfaces:
        """From `ip -br addr`: name (`veth0@if2` for a pair), state, addresses."""
        rows = [line.split() for line in text.splitlines() if line.strip()]
        return cls(frozenset(row[0].split("@")[0] for row in rows),
                   frozenset(word.split("/")[0] for row in rows for word in row[2:]))


def machine_interfaces() -> Interfaces:
    """The machine's own interfaces and their addresses."""
    return Interfaces.listed(subprocess.run(["ip", "-br", "addr"], check=True, capture_output=True, text=True).stdout)


@pytest.fixture
def namespaced_host(namespaced: Namespaced) -> Iterator[NamespacedHost]:
    """The host on a libvirtd of this test's own; the daemon's teardown
    removes its guests and network."""
    host = NamespacedHost(namespaced)
    try:
        yield host
    finally:
        host.backend.close()
