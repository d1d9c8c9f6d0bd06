"""A change made on libvirt behind the server's back (virsh, another
client) reaches kept replies: the backend notices it and the bus forgets
that VM's kept XML, and only that VM's. On libvirt's test driver, whose
state every connection of this process shares."""

from __future__ import annotations

import time

import libvirt
import pytest

from cimprovider.backends.libvirt.metadata import NAMESPACE
from cimprovider.schemas.vm import SystemSettings
from tests.integration.model.kept_support import reply, request, server_pair, without_uptime

CLASSES = ("Msvm_ComputerSystem", "Msvm_VirtualSystemSettingData", "Msvm_MemorySettingData")
DEADLINE = 60.0


@pytest.fixture
def pair(tmp_path):
    with server_pair(tmp_path / "data", backend="libvirt", libvirt_uri="test:///default") as pair:
        defined = [pair.backend.define_vm(SystemSettings(name=f"kept-{n}")) for n in ("a", "b")]
        try:
            yield pair, defined[0].id, defined[1].id
        finally:
            for vm in defined:
                pair.backend.destroy_vm(vm.id)


def replies(app) -> dict[str, bytes]:
    return {c: without_uptime(reply(app, request("EnumerateInstances", ClassName=c))) for c in CLASSES}


def test_a_change_made_with_another_libvirt_client_reaches_kept_replies(pair):
    pair, changed, untouched = pair
    replies(pair.kept)
    before = replies(pair.kept)
    assert before == replies(pair.built)
    assert pair.store.kept_for(changed) and pair.store.kept_for(untouched)

    outside = libvirt.open("test:///default")
    try:
        domain = outside.lookupByUUID(changed.bytes)
        domain.setMemoryFlags(3 * 1024 * 1024, libvirt.VIR_DOMAIN_AFFECT_CONFIG | libvirt.VIR_DOMAIN_MEM_MAXIMUM)
        domain.setMemoryFlags(3 * 1024 * 1024, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        domain.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "<vm><notes>by hand</notes></vm>", "hv", NAMESPACE,
                           libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    finally:
        outside.close()

    # The backend publishes what it notices as it notices it (one change
    # or several): wait until the kept replies show it all.
    deadline = time.monotonic() + DEADLINE
    while True:
        after = replies(pair.kept)
        if b"by hand" in after["Msvm_VirtualSystemSettingData"] and b"<VALUE>3072</VALUE>" in after["Msvm_MemorySettingData"]:
            break
        assert time.monotonic() < deadline, "kept replies never showed the change made behind the server's back"
        time.sleep(0.05)
    assert after == replies(pair.built)
    assert pair.store.kept_for(untouched), "a change to one VM forgot another's replies"


def test_a_domain_defined_or_undefined_by_another_client_shows_in_kept_replies(pair):
    # The VMs' list is kept too: the backend's notice of a new or removed
    # domain is what drops it.
    pair, _, _ = pair
    replies(pair.kept)
    outside = libvirt.open("test:///default")
    try:
        domain = outside.defineXML("<domain type='test'><name>outsider</name><memory>524288</memory>"
                                   "<os><type>hvm</type></os></domain>")
        name = domain.UUIDString().upper().encode()
        wait_for(lambda: name in replies(pair.kept)["Msvm_ComputerSystem"], "a domain defined outside never showed")
        assert replies(pair.kept) == replies(pair.built)
        domain.undefine()
        wait_for(lambda: name not in replies(pair.kept)["Msvm_ComputerSystem"], "an undefined domain stayed")
        assert replies(pair.kept) == replies(pair.built)
    finally:
        outside.close()


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
