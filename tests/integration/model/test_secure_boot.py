"""Secure boot as os-win's vmutils10 sets it, on both backends: the
template VSSD is found by ElementName and its SecureBootTemplateId copied
into the new VM's settings; an unknown template is refused by name; the
template VSSDs are no VMs (their VirtualSystemType says so)."""

from __future__ import annotations

import pytest
from pywbem import CIMInstance

from tests.integration.model.backends import BACKENDS
from tests.integration.model.hyperv import NS, check, service, wait_job
from tests.support.live import in_process_server

VSSD = "Msvm_VirtualSystemSettingData"
WINDOWS, UEFI_CA = "1734C6E8-3154-4DDA-BA5F-A874CC483422", "272E7447-90A4-4563-A4B9-8E4AB00526CE"


@pytest.fixture(params=sorted(BACKENDS), scope="module")
def conn(request, tmp_path_factory):
    with in_process_server(tmp_path_factory.mktemp(request.param), **BACKENDS[request.param]) as live:
        yield live.connection(NS)


def define(conn, name: str, **values: object):
    vssd = CIMInstance(VSSD, properties={"ElementName": name, "VirtualSystemSubType": "Microsoft:Hyper-V:SubType:2", **values})
    return conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=vssd.tocimxmlstr(), ResourceSettings=[],
                             ReferenceConfiguration=None)


def vssd_of(conn, vm):
    return conn.Associators(vm, AssocClass="Msvm_SettingsDefineState", ResultClass=VSSD)[0]


def test_os_win_copies_the_certificate_authority_template(conn):
    [uefi] = conn.ExecQuery("WQL", f"SELECT * FROM {VSSD} WHERE ElementName = 'MicrosoftUEFICertificateAuthority'")
    assert uefi["SecureBootTemplateId"].upper() == UEFI_CA
    vm = check(conn, define(conn, "secure", SecureBootEnabled=True, SecureBootTemplateId=uefi["SecureBootTemplateId"]))["ResultingSystem"]
    vssd = vssd_of(conn, vm)
    assert vssd["SecureBootEnabled"] is True and vssd["SecureBootTemplateId"].upper() == UEFI_CA

    vssd["SecureBootTemplateId"] = "{" + WINDOWS.lower() + "}"
    check(conn, conn.InvokeMethod("ModifySystemSettings", service(conn), SystemSettings=vssd.tocimxmlstr()))
    assert vssd_of(conn, vm)["SecureBootTemplateId"].upper() == WINDOWS


def test_an_unknown_template_is_refused_by_name(conn):
    code, out = define(conn, "unknown-template", SecureBootEnabled=True, SecureBootTemplateId="4292AE2B-EE2C-42B5-A969-DD8F8689F6F3")
    job = wait_job(conn, out["Job"])
    assert int(code) == 4096 and job["ErrorCode"] == 32773 and "SecureBootTemplateId" in job["ErrorDescription"]
    assert "unknown-template" not in {cs["ElementName"] for cs in conn.EnumerateInstances("Msvm_ComputerSystem")}


def test_templates_are_not_virtual_machines(conn):
    realized = conn.ExecQuery("WQL", f"SELECT ElementName FROM {VSSD} WHERE VirtualSystemType = 'Microsoft:Hyper-V:System:Realized'")
    names = {i["ElementName"] for i in realized}
    assert "MicrosoftWindows" not in names and "MicrosoftUEFICertificateAuthority" not in names
    templates = [i for i in conn.EnumerateInstances(VSSD) if i["ElementName"] in ("MicrosoftWindows", "MicrosoftUEFICertificateAuthority")]
    assert len(templates) == 2
    for template in templates:
        assert conn.GetInstance(template.path)["ElementName"] == template["ElementName"]


def test_security_settings_are_found_as_os_win_finds_them(conn):
    vm = check(conn, define(conn, "guarded"))["ResultingSystem"]
    guid = vm["Name"]
    [security] = conn.ExecQuery("WQL", f"SELECT * FROM Msvm_SecuritySettingData WHERE InstanceID LIKE 'Microsoft:{guid}%'")
    assert (security["TpmEnabled"], security["ShieldingRequested"], security["EncryptStateAndVmMigrationTraffic"]) == (False, False, False)
    assert conn.GetInstance(security.path)["InstanceID"] == security["InstanceID"]
