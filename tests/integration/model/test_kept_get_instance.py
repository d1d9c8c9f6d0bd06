"""GetInstance of a VM answered from kept XML is byte for byte what the
server builds without keeping, under every property list and flag; a
change to the VM shows in the next reply, and a VM that is gone is
CIM_ERR_NOT_FOUND as before."""

from __future__ import annotations

import re
import time
from uuid import UUID, uuid4

import pytest

from cimprovider.schemas.vm import SystemSettings
from tests.integration.model.kept_support import NS, Pair, populate, iparam, reply, server_pair, uptimes, without_uptime

_NS_XML = "".join(f'<NAMESPACE NAME="{part}"/>' for part in NS.split("/"))
FLAGS = (
    {},
    {"IncludeClassOrigin": True},
    {"PropertyList": []},
    {"PropertyList": ["ElementName", "OnTimeInMilliseconds", "NoSuchProperty"]},
    {"IncludeQualifiers": True, "LocalOnly": False},
)
DEADLINE = 60.0


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    with server_pair(tmp_path_factory.mktemp("get")) as pair:
        populate(pair.backend)
        yield pair


def get_request(name: str, **flags) -> bytes:
    path = (
        '<INSTANCENAME CLASSNAME="Msvm_ComputerSystem">'
        '<KEYBINDING NAME="CreationClassName"><KEYVALUE VALUETYPE="string">Msvm_ComputerSystem</KEYVALUE></KEYBINDING>'
        f'<KEYBINDING NAME="Name"><KEYVALUE VALUETYPE="string">{name}</KEYVALUE></KEYBINDING></INSTANCENAME>'
    )
    params = f'<IPARAMVALUE NAME="InstanceName">{path}</IPARAMVALUE>' + "".join(iparam(k, v) for k, v in flags.items())
    return (
        '<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        '<MESSAGE ID="7" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="GetInstance">'
        f"<LOCALNAMESPACEPATH>{_NS_XML}</LOCALNAMESPACEPATH>{params}</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
    ).encode()


def vm_named(pair: Pair, name: str) -> UUID:
    return next(vm.id for vm in pair.backend.list_vms() if vm.settings.name == name)


@pytest.mark.parametrize("name", ["resting", "running"])
def test_a_kept_get_instance_answers_the_same_bytes_as_a_built_one(pair, name):
    vm = vm_named(pair, name)
    for flags in FLAGS:
        body = get_request(str(vm), **flags)
        pair.store.forget(vm)
        first = without_uptime(reply(pair.kept, body))
        assert pair.store.kept_for(vm) >= 1, f"GetInstance of {name} kept nothing"
        again = without_uptime(reply(pair.kept, body))  # from what was kept
        built = without_uptime(reply(pair.built, body))
        assert b"<INSTANCE " in built
        assert first == built, (name, flags)
        assert again == built, (name, flags)


def test_the_hosts_instance_is_built_as_before(pair):
    body = get_request(pair.parts.registry.instance_provider(NS, "Msvm_ComputerSystem").virt.host_name)
    assert reply(pair.kept, body) == reply(pair.built, body)


def test_a_running_vms_uptime_moves_in_kept_get_instance_replies(pair):
    body = get_request(str(vm_named(pair, "running")))
    first = uptimes(reply(pair.kept, body))
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if uptimes(reply(pair.kept, body)) > first:
            return
        time.sleep(0.05)
    raise AssertionError("the running VM's OnTimeInMilliseconds stayed where it was")


def wait_until_forgotten(pair: Pair, vm: UUID) -> None:
    deadline = time.monotonic() + DEADLINE
    while pair.store.kept_for(vm):
        if time.monotonic() > deadline:
            raise AssertionError(f"what was kept for {vm} was not forgotten")
        time.sleep(0.02)


def test_a_change_shows_in_the_next_kept_get_instance(pair):
    vm = pair.backend.define_vm(SystemSettings(name="before rename")).id
    body = get_request(str(vm))
    reply(pair.kept, body)
    assert b"before rename" in reply(pair.kept, body)
    pair.backend.modify_vm(vm, pair.backend.get_vm(vm).settings.replace(name="after rename"))
    wait_until_forgotten(pair, vm)
    changed = reply(pair.kept, body)
    assert b"after rename" in changed
    assert changed == reply(pair.built, body)


def test_a_vm_that_is_gone_is_not_found_kept_or_built(pair):
    vm = pair.backend.define_vm(SystemSettings(name="going")).id
    body = get_request(str(vm))
    reply(pair.kept, body)
    pair.backend.destroy_vm(vm)
    wait_until_forgotten(pair, vm)
    for body in (get_request(str(vm)), get_request(str(uuid4()))):
        kept, built = reply(pair.kept, body), reply(pair.built, body)
        assert re.search(rb'<ERROR CODE="6"', kept), kept[-300:]
        assert kept == built
