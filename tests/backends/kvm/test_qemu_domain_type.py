"""Tier 2: the domain type new VMs get is decided by what the host really
offers. A /dev/kvm that opens is not enough: on a CPU without vmx/svm (a
software KVM such as PVM) a stock guest dies with "KVM internal error", so
there the backend chooses QEMU's emulator, and says in the log which type
and why."""

from __future__ import annotations

import logging
from pathlib import Path

import libvirt
import pytest
from lxml import etree

from cimprovider.backends.libvirt import LibvirtBackend
from cimprovider.schemas import ServerConfig, SystemSettings
from qemu_host import URI, libvirtd_in_use  # noqa: F401 (fixture)


def hardware_virtualization() -> bool:
    flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    return bool({"vmx", "svm"} & set(flags.split(":", 1)[1].split()))


def test_the_default_domain_type_follows_the_cpu_not_the_device_node(
    libvirtd_in_use: None, tmp_path: Path, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    config = ServerConfig(backend="libvirt", libvirt_uri=URI, data_dir=tmp_path)
    assert config.libvirt_domain_type == "kvm"  # /dev/kvm opens on this host (the tier 2 premise)
    expected = "kvm" if hardware_virtualization() else "qemu"
    with caplog.at_level(logging.INFO, logger="cimprovider.backends.libvirt"):
        backend = LibvirtBackend(config)
    conn = libvirt.open(URI)
    try:
        vm = backend.define_vm(SystemSettings(name=f"cimp-t2-type-{tmp_path.name[-8:]}"))
        domain = conn.lookupByUUID(vm.id.bytes)
        assert etree.fromstring(domain.XMLDesc(0)).get("type") == expected
        chosen = [r.getMessage() for r in caplog.records if "domain type" in r.getMessage()]
        assert len(chosen) == 1 and f"domain type {expected}" in chosen[0], chosen
        if expected == "qemu":
            assert "vmx" in chosen[0] and "svm" in chosen[0], chosen[0]
        backend.destroy_vm(vm.id)
    finally:
        backend.close()
        conn.close()
