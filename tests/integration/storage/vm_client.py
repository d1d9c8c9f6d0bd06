"""A VM with a disk image in its first IDE slot, as os-win attaches one:
a default Synthetic Disk Drive under the controller, then a default
Virtual Hard Disk SASD with HostResource = [file] under the drive."""

from __future__ import annotations

from pathlib import Path

import pywbem
from pywbem import CIMInstanceName

from tests.integration.model.hyperv import check, define_vm, service, settings_of, template


def wmi_path(path: CIMInstanceName) -> str:
    keys = ",".join(f'{k}="{v}"' for k, v in sorted(path.keybindings.items()))
    return f"\\\\host\\root\\virtualization\\v2:{path.classname}.{keys}"


def vm_with_disk(conn: pywbem.WBEMConnection, name: str, image: Path) -> CIMInstanceName:
    vm = define_vm(conn, name)
    attach_disk(conn, vm, image)
    return vm


def attach_disk(conn: pywbem.WBEMConnection, vm: CIMInstanceName, image: Path, slot: str = "0") -> None:
    """`image` in a new drive at `slot` of the VM's first IDE controller."""
    ide = next(c for c in settings_of(conn, "Msvm_ResourceAllocationSettingData", vm)
               if c["ResourceSubType"] == "Microsoft:Hyper-V:Emulated IDE Controller" and c["Address"] == "0")
    drive = template(conn, "Msvm_ResourceAllocationSettingData", "Microsoft:Hyper-V:Synthetic Disk Drive")
    drive["Parent"] = wmi_path(ide.path)
    drive["AddressOnParent"] = slot
    out = check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm, ResourceSettings=[drive.tocimxmlstr()]))
    disk = template(conn, "Msvm_StorageAllocationSettingData", "Microsoft:Hyper-V:Virtual Hard Disk")
    disk["Parent"] = wmi_path(out["ResultingResourceSettings"][0])
    disk["HostResource"] = [str(image)]
    check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm, ResourceSettings=[disk.tocimxmlstr()]))


def disk_paths(conn: pywbem.WBEMConnection, vm: CIMInstanceName) -> list[str]:
    return [d["HostResource"][0] for d in settings_of(conn, "Msvm_StorageAllocationSettingData", vm)
            if d["ResourceSubType"] == "Microsoft:Hyper-V:Virtual Hard Disk"]
