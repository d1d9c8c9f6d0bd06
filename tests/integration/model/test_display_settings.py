"""A VM's display controller settings as Hyper-V shows them, on both
backends: one Msvm_SyntheticDisplayControllerSettingData per VM (synthetic
on generation 2, S3 on generation 1) among the VSSD's components, its
templates behind the pool's capabilities, the resolution changed with
ModifyResourceSettings and kept, and the controller neither added nor
removed."""

from __future__ import annotations

import libvirt
import pytest
from lxml import etree
from pywbem import Uint8, Uint16

from tests.integration.model.backends import BACKENDS
from tests.integration.model.hyperv import NS, check, define_vm, request_state, service, template, wait_job
from tests.support.live import in_process_server

DISPLAY_SD = "Msvm_SyntheticDisplayControllerSettingData"


@pytest.fixture(params=sorted(BACKENDS), scope="module")
def served(request, tmp_path_factory):
    with in_process_server(tmp_path_factory.mktemp(request.param), **BACKENDS[request.param]) as live:
        yield live, request.param


def display_of(conn, vm):
    vssd = conn.Associators(vm, AssocClass="Msvm_SettingsDefineState", ResultClass="Msvm_VirtualSystemSettingData")[0]
    found = conn.Associators(vssd.path, AssocClass="Msvm_VirtualSystemSettingDataComponent", ResultClass=DISPLAY_SD)
    assert len(found) == 1, found
    return found[0]


def failure(conn, answer) -> str:
    """The error a refused call reports (its job's description, or its code)."""
    code, out = int(answer[0]), answer[1]
    if code == 4096:
        job = wait_job(conn, out["Job"])
        assert job["JobState"] != 7, "the call was carried out"
        return job["ErrorDescription"]
    assert code != 0, "the call was carried out"
    return f"return code {code}"


@pytest.mark.parametrize(("subtype_number", "controller"), [(1, "S3 Display Controller"), (2, "Synthetic Display Controller")])
def test_each_vm_has_one_display_setting_of_its_generation(served, subtype_number, controller):
    live, backend = served
    conn = live.connection(NS)
    vm = define_vm(conn, f"display-gen{subtype_number}", VirtualSystemSubType=f"Microsoft:Hyper-V:SubType:{subtype_number}")
    setting = display_of(conn, vm)
    assert setting["ResourceType"] == 24
    assert setting["ResourceSubType"] == f"Microsoft:Hyper-V:{controller}"
    assert (setting["ResolutionType"], setting["HorizontalResolution"], setting["VerticalResolution"]) == (4, 1024, 768)
    default = template(conn, DISPLAY_SD, f"Microsoft:Hyper-V:{controller}")
    assert (default["ResolutionType"], default["HorizontalResolution"], default["VerticalResolution"]) == (4, 1024, 768)
    pool = next(p for p in conn.EnumerateInstances("Msvm_ResourcePool") if p["ResourceSubType"] == f"Microsoft:Hyper-V:{controller}")
    capabilities = conn.Associators(pool.path, AssocClass="Msvm_ElementCapabilities", ResultClass="Msvm_AllocationCapabilities")
    templates = conn.Associators(capabilities[0].path, AssocClass="Msvm_SettingsDefineCapabilities", ResultClass=DISPLAY_SD)
    assert {t["InstanceID"].rsplit("\\", 1)[1] for t in templates} == {"Default", "Minimum", "Maximum", "Increment"}


def modified(conn, vm, resolution_type: int, width: int, height: int):
    setting = display_of(conn, vm)
    setting["ResolutionType"], setting["HorizontalResolution"], setting["VerticalResolution"] = (
        Uint8(resolution_type), Uint16(width), Uint16(height))
    return conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[setting.tocimxmlstr()])


def video_model(vm):
    """The domain's video model as libvirt keeps it (the test driver's state is the server's)."""
    domain = libvirt.open("test:///default").lookupByUUIDString(vm["Name"].lower())
    return etree.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)).find("devices/video/model")


def test_a_maximum_resolution_is_changed_and_kept(served):
    live, backend = served
    conn = live.connection(NS)
    vm = define_vm(conn, "display-resolution", VirtualSystemSubType="Microsoft:Hyper-V:SubType:2")
    check(conn, modified(conn, vm, 2, 3840, 2160))
    again = display_of(live.connection(NS), vm)
    assert (again["ResolutionType"], again["HorizontalResolution"], again["VerticalResolution"]) == (2, 3840, 2160)
    if backend == "libvirt":  # the guest's display offers that mode, with memory for it
        model = video_model(vm)
        assert (model.find("resolution").get("x"), model.find("resolution").get("y")) == ("3840", "2160")
        assert int(model.get("vram")) * 1024 >= 3840 * 2160 * 4
        check(conn, modified(conn, vm, 4, 1024, 768))
        assert video_model(vm).find("resolution") is None


def test_a_single_resolution_is_kept_where_the_host_can_hold_it(served):
    live, backend = served
    conn = live.connection(NS)
    vm = define_vm(conn, "display-single")
    answer = modified(conn, vm, 3, 1280, 1024)
    if backend == "libvirt":  # QEMU cannot hold a guest to one mode
        assert "ResolutionType" in failure(conn, answer)
        assert display_of(conn, vm)["ResolutionType"] == 4
    else:
        check(conn, answer)
        assert (display_of(conn, vm)["ResolutionType"], display_of(conn, vm)["HorizontalResolution"]) == (3, 1280)


def test_a_resolution_beyond_the_hosts_is_refused_naming_it(served):
    live, backend = served
    conn = live.connection(NS)
    vm = define_vm(conn, "display-too-wide")
    setting = display_of(conn, vm)
    setting["HorizontalResolution"] = Uint16(9000)
    text = failure(conn, conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[setting.tocimxmlstr()]))
    assert "HorizontalResolution" in text
    assert display_of(conn, vm)["HorizontalResolution"] == 1024


def test_a_display_controller_is_neither_added_nor_removed(served):
    live, backend = served
    conn = live.connection(NS)
    vm = define_vm(conn, "display-fixed")
    vssd = conn.Associators(vm, AssocClass="Msvm_SettingsDefineState", ResultClass="Msvm_VirtualSystemSettingData")[0]
    added = template(conn, DISPLAY_SD, "Microsoft:Hyper-V:S3 Display Controller")
    text = failure(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vssd.path,
                                           ResourceSettings=[added.tocimxmlstr()]))
    assert "display controller" in text
    text = failure(conn, conn.InvokeMethod("RemoveResourceSettings", service(conn), ResourceSettings=[display_of(conn, vm).path]))
    assert "display controller" in text
    assert display_of(conn, vm) is not None


def test_a_running_vms_display_controller_is_defined_by_its_setting(served):
    live, backend = served
    conn = live.connection(NS)
    vm = define_vm(conn, "display-running", VirtualSystemSubType="Microsoft:Hyper-V:SubType:2")
    assert request_state(conn, vm, 2)[0] in (0, 4096)
    (controller,) = conn.Associators(vm, AssocClass="Msvm_SystemDevice", ResultClass="Msvm_SyntheticDisplayController")
    (setting,) = conn.Associators(controller.path, AssocClass="Msvm_SettingsDefineState", ResultClass=DISPLAY_SD)
    assert setting["InstanceID"] == display_of(conn, vm)["InstanceID"]
    # As on Hyper-V, the guest's display is set while the VM is off.
    assert "running" in failure(conn, modified(conn, vm, 2, 1920, 1080))
    request_state(conn, vm, 3)


def edited_behind_the_servers_back(vm, resolution: tuple[str, str] | None) -> None:
    """`virsh edit` of the domain's video model: its <resolution> set, or removed."""
    host = libvirt.open("test:///default")
    domain = host.lookupByUUIDString(vm["Name"].lower())
    config = etree.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    model = config.find("devices/video/model")
    for old in model.findall("resolution"):
        model.remove(old)
    if resolution is not None:
        etree.SubElement(model, "resolution", x=resolution[0], y=resolution[1])
    host.defineXML(etree.tostring(config, encoding="unicode"))
    host.close()


def resolution_of(conn, vm) -> tuple[int, int, int]:
    setting = display_of(conn, vm)
    return setting["ResolutionType"], setting["HorizontalResolution"], setting["VerticalResolution"]


@pytest.mark.parametrize("served", ["libvirt"], indirect=True)
def test_a_resolution_set_outside_the_server_reads_back(served):
    """The domain's video model is the truth: a <resolution> someone else
    gave it is a maximum of that resolution, its removal the default type,
    and a mode no Hyper-V display holds leaves the setting as last made."""
    live, _ = served
    conn = live.connection(NS)
    vm = define_vm(conn, "display-edited", VirtualSystemSubType="Microsoft:Hyper-V:SubType:2")
    assert resolution_of(conn, vm) == (4, 1024, 768)
    edited_behind_the_servers_back(vm, ("1600", "900"))
    assert resolution_of(conn, vm) == (2, 1600, 900)
    assert resolution_of(live.connection(NS), vm) == (2, 1600, 900)  # a fresh client sees it too
    edited_behind_the_servers_back(vm, None)
    assert resolution_of(conn, vm) == (4, 1024, 768)  # the default type, with the resolution last set here
    check(conn, modified(conn, vm, 2, 1920, 1200))
    edited_behind_the_servers_back(vm, ("320", "200"))  # below any Hyper-V display's
    assert resolution_of(conn, vm) == (2, 1920, 1200)
