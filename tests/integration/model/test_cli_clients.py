"""wbemcli and pywbemcli against the model: list VMs, read a VM's
settings through associations, invoke RequestStateChange."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from pywbem import CIMInstance, Uint16

from tests.integration.model.hyperv import NS, check, define_vm, service, state
from tests.support.waiting import wait_until


def run(*argv: str) -> subprocess.CompletedProcess:
    tool = shutil.which(argv[0])
    if tool is None:
        pytest.fail(f"{argv[0]} is not installed: run tests/run.sh, which installs it")
    result = subprocess.run([tool, *argv[1:]], capture_output=True, text=True, timeout=120)
    assert "Parse Exception" not in result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def vm(server):
    return define_vm(server.connection(NS), "cli-vm")


def test_wbemcli_lists_vms_and_reads_settings(server, vm):
    base = f"http://127.0.0.1:{server.port}/{NS}"
    listed = run("wbemcli", "ei", f"{base}:Msvm_ComputerSystem")
    assert listed.returncode == 0, listed.stderr
    assert 'ElementName="cli-vm"' in listed.stdout and "Hosting Computer System" in listed.stdout
    target = f'{base}:Msvm_ComputerSystem.CreationClassName="Msvm_ComputerSystem",Name="{vm["Name"]}"'
    vssd = run("wbemcli", "ai", "-ac", "Msvm_SettingsDefineState", target)
    assert vssd.returncode == 0, vssd.stderr
    assert f'ConfigurationID="{vm["Name"]}"' in vssd.stdout


def test_wbemcli_invokes_request_state_change(server, vm):
    base = f"http://127.0.0.1:{server.port}/{NS}"
    target = f'{base}:Msvm_ComputerSystem.CreationClassName="Msvm_ComputerSystem",Name="{vm["Name"]}"'
    result = run("wbemcli", "cm", target, "RequestStateChange.RequestedState=2")
    assert result.returncode == 0, result.stderr
    assert "4096" in result.stdout
    conn = server.connection(NS)
    wait_until(lambda: state(conn, vm) == 2, "the VM wbemcli started to run")


def test_wbemcli_reads_arrays_of_embedded_instances(server, vm):
    # wbemcli refuses EmbeddedObject on PROPERTY.ARRAY: for it such an array
    # is the strings it is typed as, each an instance's CIM-XML.
    conn = server.connection(NS)
    item = CIMInstance("Msvm_KvpExchangeDataItem", properties={"Name": "role", "Data": "web", "Source": Uint16(0)})
    check(conn, conn.InvokeMethod("AddKvpItems", service(conn), TargetSystem=vm, DataItems=[item.tocimxmlstr()]))
    base = f"http://127.0.0.1:{server.port}/{NS}"
    kvp = run("wbemcli", "ei", f"{base}:Msvm_KvpExchangeComponentSettingData")
    assert kvp.returncode == 0, kvp.stderr
    assert ('HostExchangeItems="<INSTANCE CLASSNAME="Msvm_KvpExchangeDataItem"><PROPERTY NAME="Name" TYPE="string">'
            "<VALUE>role</VALUE>") in kvp.stdout
    every = run("wbemcli", "ei", f"{base}:CIM_ResourceAllocationSettingData")
    assert every.returncode == 0, every.stderr
    assert "Msvm_KvpExchangeComponentSettingData.InstanceID=" in every.stdout
    # Other clients still get the attribute: pywbem reads instances.
    (setting,) = [s for s in conn.EnumerateInstances("Msvm_KvpExchangeComponentSettingData")
                  if s["InstanceID"].startswith(f"Microsoft:{vm['Name']}")]
    assert [(i.classname, i["Name"], i["Data"]) for i in setting["HostExchangeItems"]] == [
        ("Msvm_KvpExchangeDataItem", "role", "web")]


def test_pywbemcli_lists_vms_and_associators(server, vm):
    url = f"http://127.0.0.1:{server.port}"
    listed = run("pywbemcli", "-o", "mof", "-s", url, "-d", NS, "--use-pull", "no", "instance", "enumerate", "Msvm_ComputerSystem")
    assert listed.returncode == 0, listed.stderr
    assert 'ElementName = "cli-vm"' in listed.stdout
    path = f'Msvm_ComputerSystem.CreationClassName="Msvm_ComputerSystem",Name="{vm["Name"]}"'
    settings = run("pywbemcli", "-o", "mof", "-s", url, "-d", NS, "--use-pull", "no", "instance", "associators", path,
                   "--assoc-class", "Msvm_SettingsDefineState")
    assert settings.returncode == 0, settings.stderr
    assert "Msvm_VirtualSystemSettingData" in settings.stdout
    invoked = run("pywbemcli", "-o", "mof", "-s", url, "-d", NS, "instance", "invokemethod", path, "RequestStateChange", "-p", "RequestedState=9")
    assert invoked.returncode == 0, invoked.stderr
    assert "4096" in invoked.stdout
