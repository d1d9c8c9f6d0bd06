"""Every setting a client changes is carried out or refused, never dropped.

For each backend, a VM with one of every resource the model serves (SCSI
controller, disk drive and its image, DVD drive and its ISO, NIC and its
switch connection, serial ports, display controller, integration components) is changed one
property at a time, as WMI clients do it: fetch the instance, change the
property, send the whole instance back (ModifyResourceSettings,
ModifySystemSettings) — and for the VM's settings also as a new instance
given to DefineSystem. Every non-key property of the class, as the
server's own repository declares it, is walked (a superset of those its
Write qualifiers name). The call either succeeds and the property reads
back as written, or fails with a job whose error names the property."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pywbem import CIMClass, CIMDateTime, CIMInstance, CIMInstanceName, WBEMConnection, type_from_name

from tests.integration.model.backends import BACKENDS
from tests.integration.model.hyperv import NS, service, settings_of, template, wait_job
from tests.integration.model.test_boot_sources import generation_2_vm
from tests.integration.storage.vm_client import vm_with_disk, wmi_path
from tests.support.live import in_process_server

VSSD = "Msvm_VirtualSystemSettingData"
SETTING_CLASSES = (
    "Msvm_ResourceAllocationSettingData", "Msvm_MemorySettingData", "Msvm_ProcessorSettingData",
    "Msvm_StorageAllocationSettingData", "Msvm_SyntheticEthernetPortSettingData",
    "Msvm_EthernetPortAllocationSettingData", "Msvm_SerialPortSettingData", "Msvm_SyntheticDisplayControllerSettingData",
    "Msvm_ShutdownComponentSettingData", "Msvm_HeartbeatComponentSettingData",
    "Msvm_TimeSyncComponentSettingData", "Msvm_VssComponentSettingData", "Msvm_KvpExchangeComponentSettingData",
)


@pytest.fixture(params=sorted(BACKENDS), scope="module")
def served(request, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp(request.param)
    with in_process_server(data_dir, **BACKENDS[request.param]) as live:
        conn = live.connection(NS)
        vm = furnished_vm(conn, data_dir / "storage")
        yield conn, vm, generation_2_vm(conn, data_dir / "storage", "every-setting-gen2")[0]


def furnished_vm(conn: WBEMConnection, storage: Path) -> CIMInstanceName:
    storage.mkdir(parents=True, exist_ok=True)
    (storage / "disk.vhdx").write_bytes(b"")
    (storage / "install.iso").write_bytes(b"\0" * 2048)
    vm = vm_with_disk(conn, "every-setting", storage / "disk.vhdx")
    ide1 = next(c for c in settings_of(conn, "Msvm_ResourceAllocationSettingData", vm) if c["ResourceType"] == 5 and c["Address"] == "1")
    drive = template(conn, "Msvm_ResourceAllocationSettingData", "Microsoft:Hyper-V:Synthetic DVD Drive")
    drive["Parent"], drive["AddressOnParent"] = wmi_path(ide1.path), "0"
    drive_path = added(conn, vm, drive)
    iso = template(conn, "Msvm_StorageAllocationSettingData", "Microsoft:Hyper-V:Virtual CD/DVD Disk")
    iso["Parent"], iso["HostResource"] = wmi_path(drive_path), [str(storage / "install.iso")]
    added(conn, vm, iso)
    added(conn, vm, template(conn, "Msvm_ResourceAllocationSettingData", "Microsoft:Hyper-V:Synthetic SCSI Controller"))
    nic_path = added(conn, vm, template(conn, "Msvm_SyntheticEthernetPortSettingData"))
    connection = template(conn, "Msvm_EthernetPortAllocationSettingData")
    switch = conn.EnumerateInstanceNames("Msvm_VirtualEthernetSwitch")[0]
    connection["Parent"], connection["HostResource"] = wmi_path(nic_path), [wmi_path(switch)]
    added(conn, vm, connection)
    return vm


def added(conn: WBEMConnection, vm: CIMInstanceName, setting: CIMInstance) -> CIMInstanceName:
    code, out = conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm, ResourceSettings=[setting.tocimxmlstr()])
    assert int(code) == 0, wait_job(conn, out["Job"])["ErrorDescription"]
    return out["ResultingResourceSettings"][0]


def declared(conn: WBEMConnection, classname: str) -> CIMClass:
    """The class as the server's repository declares it (fetched once per
    class: a class does not change while its instances are)."""
    return conn.GetClass(classname, LocalOnly=False, IncludeQualifiers=True)


def walked_properties(cls: CIMClass) -> list[str]:
    return [name for name, prop in cls.properties.items() if "Key" not in prop.qualifiers and prop.type != "reference"]


def changed_value(cls: CIMClass, name: str, current: object) -> object:
    """A value different from `current`, of the property's declared type
    (another ValueMap entry where the class names them)."""
    classname, prop = cls.classname, cls.properties[name]
    if prop.is_array:
        if prop.type == "string":
            return list(current or []) + ["changed"]
        return list(current or []) + [type_from_name(prop.type)(1)]
    if prop.type == "boolean":
        return not current
    if prop.type == "string":
        return f"{current or ''}-changed"
    if prop.type == "datetime":
        if current is not None and not current.is_interval:
            return CIMDateTime(datetime(2021, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
        interval = current.timedelta if current is not None else timedelta(0)
        return CIMDateTime(interval + timedelta(seconds=61))
    if prop.type.startswith(("uint", "sint")):
        choices = [int(v) for v in (prop.qualifiers["ValueMap"].value if "ValueMap" in prop.qualifiers else []) if v.lstrip("-").isdigit()]
        other = next((v for v in choices if v != current), None)
        return type_from_name(prop.type)(other if other is not None else (current or 0) + 1)
    if prop.type.startswith("real"):
        return type_from_name(prop.type)((current or 0) + 1.5)
    raise AssertionError(f"{classname}.{name}: no changed value for type {prop.type}")


def same(left: object, right: object) -> bool:
    nothing = (None, "", [])
    if left in nothing or right in nothing:
        return left in nothing and right in nothing
    return str(left) == str(right) if isinstance(left, CIMDateTime) or isinstance(right, CIMDateTime) else left == right


def outcome(conn: WBEMConnection, answer: tuple) -> str | None:
    """None when the call succeeded, else the failure's description."""
    code, out = int(answer[0]), answer[1]
    if code == 4096:
        job = wait_job(conn, out["Job"])
        return None if job["JobState"] == 7 else f"{job['ErrorCode']}: {job['ErrorDescription']}"
    return None if code == 0 else f"return code {code}"


def judged(conn: WBEMConnection, path: CIMInstanceName, name: str, value: object, failure: str | None) -> str | None:
    """A complaint, or None when the property round-tripped or its refusal named it."""
    after = conn.GetInstance(path)[name]
    if failure is None:
        return None if same(after, value) else f"{path.classname}.{name}: accepted {value!r}, reads back {after!r}"
    if name.lower() not in failure.lower():
        return f"{path.classname}.{name}: refused without naming it: {failure}"
    return None


def first_of_each_subtype(instances: list[CIMInstance]) -> list[CIMInstanceName]:
    """The paths of the first instance of each ResourceSubType, in the
    order the subtypes come; the instance is fetched afresh through its path
    (its key, which judged reads the change back through) before each change."""
    first: dict[object, CIMInstanceName] = {}
    for instance in instances:
        first.setdefault(instance["ResourceSubType"], instance.path)
    return list(first.values())


def test_every_resource_setting_round_trips_or_is_refused(served):
    conn, vm, _ = served
    management = service(conn)
    complaints = []
    for classname in SETTING_CLASSES:
        cls = declared(conn, classname)
        instances = settings_of(conn, classname, vm)
        assert instances, f"the VM has no {classname}"
        for path in first_of_each_subtype(instances):
            for name in walked_properties(cls):
                instance = conn.GetInstance(path)
                value = changed_value(cls, name, instance[name])
                instance[name] = value
                answer = conn.InvokeMethod("ModifyResourceSettings", management, ResourceSettings=[instance.tocimxmlstr()])
                complaint = judged(conn, instance.path, name, value, outcome(conn, answer))
                if complaint:
                    complaints.append(complaint)
            # Changed every way, the setting is still one the VM's enumeration finds.
            listed = [i for i in settings_of(conn, classname, vm) if i.path == path]
            assert listed, f"{path}: no longer enumerated after its properties were walked"
    assert not complaints, "\n".join(complaints)


@pytest.mark.parametrize("generation", [1, 2])
def test_every_system_setting_round_trips_or_is_refused(served, generation):
    conn, vm_1, vm_2 = served
    vm = vm_1 if generation == 1 else vm_2
    vssd_path = conn.AssociatorNames(vm, AssocClass="Msvm_SettingsDefineState", ResultClass=VSSD)[0]
    cls, management = declared(conn, VSSD), service(conn)
    complaints = []
    for name in walked_properties(cls):
        vssd = conn.GetInstance(vssd_path)
        value = changed_value(cls, name, vssd[name])
        vssd[name] = value
        answer = conn.InvokeMethod("ModifySystemSettings", management, SystemSettings=vssd.tocimxmlstr())
        complaint = judged(conn, vssd_path, name, value, outcome(conn, answer))
        if complaint:
            complaints.append(complaint)
    assert not complaints, "\n".join(complaints)


def test_every_system_setting_given_to_define_system_is_honoured_or_refused(served):
    conn, vm, _ = served
    reference = conn.GetInstance(conn.AssociatorNames(vm, AssocClass="Msvm_SettingsDefineState", ResultClass=VSSD)[0])
    cls, management = declared(conn, VSSD), service(conn)
    complaints = []
    for name in walked_properties(cls):
        if name == "ElementName":
            continue  # every definition below names its VM
        value = changed_value(cls, name, reference[name])
        prop = reference.properties[name].copy()
        prop.value = value
        vssd = CIMInstance(VSSD, properties={"ElementName": f"defined-{name}"})
        vssd.properties[name] = prop
        answer = conn.InvokeMethod("DefineSystem", management, SystemSettings=vssd.tocimxmlstr(), ResourceSettings=[], ReferenceConfiguration=None)
        failure = outcome(conn, answer)
        if failure is None:
            defined = answer[1]["ResultingSystem"]
            path = conn.AssociatorNames(defined, AssocClass="Msvm_SettingsDefineState", ResultClass=VSSD)[0]
            complaint = judged(conn, path, name, value, None)
            outcome(conn, conn.InvokeMethod("DestroySystem", management, AffectedSystem=defined))
        else:
            complaint = None if name.lower() in failure.lower() else f"DefineSystem {name}: refused without naming it: {failure}"
            names = {i["ElementName"] for i in conn.EnumerateInstances("Msvm_ComputerSystem")}
            assert f"defined-{name}" not in names, f"DefineSystem {name}: refused but the VM exists"
        if complaint:
            complaints.append(complaint)
    assert not complaints, "\n".join(complaints)
