"""Devices that exist while a VM's guest does: Msvm_Processor (one per
virtual processor), Msvm_Memory, Msvm_DiskDrive, Msvm_DVDDrive,
Msvm_SyntheticEthernetPort, the display (Msvm_SyntheticDisplayController on
generation 2, Msvm_S3DisplayController on generation 1, and its
Msvm_VideoHead), and the integration components (integration.py).
DeviceID `Microsoft:<devGUID>[\\n]`, SystemName the VM's GUID."""

from __future__ import annotations

from collections.abc import Iterator

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.backends import GuestDisplay
from cimprovider.providers.base import InstanceProvider, OperationContext, PropertySet, Pushdown, instance_not_found
from cimprovider.providers.virtualization import ids, kinds
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.resources.components import components
from cimprovider.providers.virtualization.resources.display_settings import display_guid, display_name, setting_mode
from cimprovider.providers.virtualization.resources.present import Present, base_values, device_vm
from cimprovider.providers.virtualization.systems.states import GUEST_PRESENT
from cimprovider.schemas.devices import MEMORY_ID, PROCESSOR_ID, AdapterType, DriveType
from cimprovider.schemas.runtime import RuntimeFigures
from cimprovider.schemas.vm import VirtualMachine

PROCESSOR = "Msvm_Processor"
MEMORY = "Msvm_Memory"
DISK = "Msvm_DiskDrive"
DVD = "Msvm_DVDDrive"
NIC = "Msvm_SyntheticEthernetPort"
SYNTHETIC_DISPLAY = "Msvm_SyntheticDisplayController"
S3_DISPLAY = "Msvm_S3DisplayController"
VIDEO_HEAD = "Msvm_VideoHead"
DEVICE_CLASSES = (PROCESSOR, MEMORY, DISK, DVD, NIC, SYNTHETIC_DISPLAY, S3_DISPLAY, VIDEO_HEAD)
# Every VM has one display, as on Hyper-V, in 32-bit colour; its size is the
# mode it runs in (display()).
COLOUR_MODE = {"CurrentBitsPerPixel": 32, "CurrentNumberOfColors": 2**32, "CurrentNumberOfColumns": 0,
               "CurrentNumberOfRows": 0, "CurrentScanMode": 4, "CurrentRefreshRate": 0, "MaxRefreshRate": 0,
               "MinRefreshRate": 0}


def hardware(vm: VirtualMachine, runtime: RuntimeFigures) -> list[Present]:
    found = []
    for index in range(runtime.processors_online or vm.processor.count):
        values = base_values(PROCESSOR, vm, ids.device_id(PROCESSOR_ID, index), "Processor")
        values.update(LoadPercentage=runtime.processor_load_percent, LoadPercentageHistory=[runtime.processor_load_percent],
                      CPUStatus=1, MaxClockSpeed=2400, CurrentClockSpeed=2400, Role="Central Processor")
        found.append(Present(PROCESSOR, values, ids.processor_id(vm.id), kinds.PROCESSOR_SD))
    memory = base_values(MEMORY, vm, ids.device_id(MEMORY_ID), "Memory")
    memory.update(BlockSize=1024 * 1024, NumberOfBlocks=runtime.memory_in_use_mb or vm.memory.startup_mb, Volatile=True)
    found.append(Present(MEMORY, memory, ids.memory_id(vm.id), kinds.MEMORY_SD))
    for drive in vm.drives:
        classname = DVD if drive.drive_type is DriveType.DVD else DISK
        values = base_values(classname, vm, ids.device_id(drive.id), drive.name or ("DVD Drive" if classname == DVD else "Hard Drive"))
        controller = vm.controller(drive.controller_id)
        setting = ids.drive_id(ids.controller_instance_id(vm.id, controller), drive.slot or 0) if controller else None
        found.append(Present(classname, values, setting, kinds.RASD))
    for nic in vm.network_adapters:
        if nic.adapter_type is not AdapterType.SYNTHETIC:
            continue
        values = base_values(NIC, vm, ids.device_id(nic.id), nic.name)
        values.update(PermanentAddress=nic.mac_address, NetworkAddresses=[nic.mac_address], LinkTechnology=2, PortType=0, MaxSpeed=10_000_000_000, Speed=10_000_000_000)
        found.append(Present(NIC, values, ids.device_setting_id(vm.id, nic.id), kinds.SEPSD))
    return found + display(vm, runtime)


def display(vm: VirtualMachine, runtime: RuntimeFigures) -> list[Present]:
    """The display controller and the mode it drives its screen in: as the
    hypervisor says where it does (the mode the guest switched to, or the
    one the running domain's video model names), else as the VM's display
    setting says (set while the VM is off, so the mode it was started in)."""
    synthetic = vm.generation == 2
    classname = SYNTHETIC_DISPLAY if synthetic else S3_DISPLAY
    controller_guid = display_guid(vm.id, "controller")
    controller = base_values(classname, vm, ids.device_id(controller_guid), display_name(vm.generation))
    controller.update(VideoProcessor="Hyper-V Video" if synthetic else "S3 Trio 32/64", ProtocolSupported=2,
                      MaxNumberControlled=1, AcceleratorCapabilities=[0], VideoMemoryType=2)
    head = base_values(VIDEO_HEAD, vm, ids.device_id(display_guid(vm.id, "head")), "Video Head")
    width, height = runtime.display_mode or setting_mode(vm)
    head.update(COLOUR_MODE, CurrentHorizontalResolution=width, CurrentVerticalResolution=height)
    setting = ids.device_setting_id(vm.id, controller_guid)
    return [Present(classname, controller, setting, kinds.DISPLAY_SD), Present(VIDEO_HEAD, head)]


def present_devices(virt: Virtualization, vm: VirtualMachine, classname: str | None = None) -> list[Present]:
    """Hardware and integration components of a VM whose guest exists
    (those of `classname` are the ones asked for; None: every one)."""
    if vm.power_state not in GUEST_PRESENT:
        return []
    runtime = virt.backend.get_runtime(vm.id)
    if (classname is None or classname.lower() == VIDEO_HEAD.lower()) and isinstance(virt.backend, GuestDisplay):
        # The mode the guest switched to, read only where the video head is asked for.
        mode = virt.backend.guest_display_mode(vm.id)
        if mode is not None:
            runtime = runtime.model_copy(update={"display_mode": mode})
    return hardware(vm, runtime) + components(virt, vm, runtime)


class DeviceProvider(InstanceProvider):
    """Every device class of a running VM, integration components included."""

    def __init__(self, virt: Virtualization, classnames: tuple[str, ...]) -> None:
        self.virt = virt
        self.classnames = classnames  # type: ignore[misc]

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        lowered = classname.lower()
        for device in self.virt.present(self.virt.vms(pushdown, key="SystemName"), lambda vm: present_devices(self.virt, vm, classname)):
            if device.classname.lower() == lowered:
                yield self.virt.renderer.instance(device.classname, device.values, properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        vm_id = device_vm(path)
        vm = self.virt.find_vm(vm_id) if vm_id is not None else None
        device_id = next((v for k, v in path.keybindings.items() if k.lower() == "deviceid"), "")
        with self.virt.gone_is_not_found(path):
            devices = present_devices(self.virt, vm, path.classname) if vm is not None else []
        for device in devices:
            if device.classname.lower() == path.classname.lower() and str(device.values["DeviceID"]).lower() == str(device_id).lower():
                return self.virt.renderer.instance(device.classname, device.values, properties)
        raise instance_not_found(path)
