"""Which changes a VM takes while it runs (Hyper-V's hot-plug rules)."""

from __future__ import annotations

from uuid import UUID

import pytest
from pydantic import ValidationError

from backend_scenarios import new_vm, vm_in_state
from conftest import BackendHarness
from cimprovider.backends import HOT_PLUG_RULES, Backend, InvalidStateError, change_power_state
from cimprovider.backends.hotplug import device_changes
from cimprovider.schemas import (
    AdapterType,
    Controller,
    ControllerType,
    Drive,
    DriveType,
    Media,
    MemorySettings,
    NetworkAdapter,
    PowerRequest,
    PowerState,
)


def running_vm(backend: Backend, **memory: object) -> UUID:
    vm = new_vm(backend)
    scsi = backend.add_device(vm.id, Controller(controller_type=ControllerType.SCSI))
    backend.add_device(vm.id, Drive(controller_id=scsi.id, drive_type=DriveType.DVD))
    if memory:
        backend.modify_device(vm.id, vm.memory.replace(**memory))
    change_power_state(backend, vm.id, PowerRequest.START)
    return vm.id


def test_processor_count_changes_only_when_off(backend: Backend) -> None:
    vm_id = running_vm(backend)
    processor = backend.get_vm(vm_id).processor
    with pytest.raises(InvalidStateError, match="grow processor"):
        backend.modify_device(vm_id, processor.replace(count=4))
    tuned = backend.modify_device(vm_id, processor.replace(weight=500, limit_percent=50))  # tuning is live
    with pytest.raises(InvalidStateError):
        backend.modify_device(vm_id, tuned.replace(expose_virtualization_extensions=True))
    assert backend.get_vm(vm_id).processor.count == processor.count
    change_power_state(backend, vm_id, PowerRequest.STOP)
    grown = backend.modify_device(vm_id, tuned.replace(count=4))
    assert grown.count == 4  # type: ignore[union-attr]
    assert backend.modify_device(vm_id, grown.replace(count=1)).count == 1  # type: ignore[union-attr]


def test_dynamic_memory_grows_live_within_its_maximum(backend: Backend) -> None:
    vm_id = running_vm(backend, dynamic_enabled=True, minimum_mb=512, startup_mb=1024, maximum_mb=4096)
    memory = backend.get_vm(vm_id).memory
    assert backend.modify_device(vm_id, memory.replace(startup_mb=2048)).startup_mb == 2048  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="startup_mb"):
        memory.replace(startup_mb=4098)  # past the maximum: the model itself refuses
    with pytest.raises(InvalidStateError, match="reconfigure memory"):
        backend.modify_device(vm_id, memory.replace(startup_mb=4096, maximum_mb=8192))
    with pytest.raises(InvalidStateError):
        backend.modify_device(vm_id, backend.get_vm(vm_id).memory.replace(startup_mb=1024))
    with pytest.raises(InvalidStateError):
        backend.modify_device(vm_id, backend.get_vm(vm_id).memory.replace(dynamic_enabled=False))


def test_static_memory_changes_only_when_off(backend: Backend) -> None:
    vm_id = running_vm(backend)
    memory = backend.get_vm(vm_id).memory
    with pytest.raises(InvalidStateError, match="static"):
        backend.modify_device(vm_id, memory.replace(startup_mb=memory.startup_mb * 2))


def test_nics_and_scsi_disks_come_and_go_live(harness: BackendHarness, backend: Backend) -> None:
    vm_id = running_vm(backend)
    vm = backend.get_vm(vm_id)
    scsi = next(c for c in vm.controllers if c.controller_type is ControllerType.SCSI)
    if not harness.live_devices:
        # A hypervisor without hot-plug refuses as Hyper-V does for a change
        # the VM's state does not allow (32775), and nothing changes.
        with pytest.raises(InvalidStateError):
            backend.add_device(vm_id, NetworkAdapter())
        with pytest.raises(InvalidStateError):
            backend.add_device(vm_id, Drive(controller_id=scsi.id, media=Media(path=harness.medium("d.vhd"))))
        assert backend.get_vm(vm_id) == vm
        return
    nic = backend.add_device(vm_id, NetworkAdapter())
    backend.modify_device(vm_id, nic.replace(switch_id=backend.list_switches()[0].id))
    with pytest.raises(InvalidStateError):
        backend.modify_device(vm_id, nic.replace(mac_address="00155DFFFFFF", static_mac=True))
    disk = backend.add_device(vm_id, Drive(controller_id=scsi.id, media=Media(path=harness.medium("d.vhd"))))
    backend.remove_device(vm_id, disk.id)
    backend.remove_device(vm_id, nic.id)
    assert backend.get_vm(vm_id).network_adapters == ()


def test_ide_devices_controllers_and_legacy_nics_only_when_off(backend: Backend) -> None:
    vm_id = running_vm(backend)
    vm = backend.get_vm(vm_id)
    ide = next(c for c in vm.controllers if c.controller_type is ControllerType.IDE)
    scsi = next(c for c in vm.controllers if c.controller_type is ControllerType.SCSI)
    with pytest.raises(InvalidStateError, match="ide drive"):
        backend.add_device(vm_id, Drive(controller_id=ide.id, slot=0))
    with pytest.raises(InvalidStateError, match="controller"):
        backend.add_device(vm_id, Controller(controller_type=ControllerType.SCSI))
    with pytest.raises(InvalidStateError, match="controller"):
        backend.remove_device(vm_id, scsi.id)
    with pytest.raises(InvalidStateError, match="emulated network adapter"):
        backend.add_device(vm_id, NetworkAdapter(adapter_type=AdapterType.EMULATED))


def test_dvd_media_changes_live_even_on_ide(harness: BackendHarness, backend: Backend) -> None:
    vm = new_vm(backend)
    dvd = backend.add_device(vm.id, Drive(controller_id=vm.controllers[1].id, slot=0, drive_type=DriveType.DVD))
    change_power_state(backend, vm.id, PowerRequest.START)
    if not harness.live_devices:
        with pytest.raises(InvalidStateError):
            backend.modify_device(vm.id, dvd.replace(media=Media(path=harness.medium("setup.iso"), read_only=True)))
        assert backend.get_vm(vm.id).drives == (dvd,)
        return
    inserted = backend.modify_device(vm.id, dvd.replace(media=Media(path=harness.medium("setup.iso"), read_only=True)))
    assert backend.modify_device(vm.id, inserted.replace(media=None)).media is None  # type: ignore[union-attr]


@pytest.mark.parametrize("state", [PowerState.PAUSED, PowerState.SAVED])
def test_no_hot_add_while_paused_or_saved(backend: Backend, state: PowerState) -> None:
    vm_id = vm_in_state(backend, state)
    with pytest.raises(InvalidStateError):
        backend.add_device(vm_id, NetworkAdapter())
    # Settings that are live at any time still change.
    backend.modify_vm(vm_id, backend.get_vm(vm_id).settings.replace(notes="while " + state.value))


def test_no_device_change_during_a_transition(backend: Backend) -> None:
    vm = new_vm(backend)
    transition = backend.begin_power_change(vm.id, PowerRequest.START)
    try:
        with pytest.raises(InvalidStateError, match="in progress"):
            backend.add_device(vm.id, NetworkAdapter())
        with pytest.raises(InvalidStateError, match="in progress"):
            backend.modify_vm(vm.id, vm.settings.replace(notes="x"))
    finally:
        transition.run()


def test_every_classified_change_has_a_rule() -> None:
    from uuid import uuid4

    from cimprovider.schemas import VirtualMachine

    ide = Controller(controller_type=ControllerType.IDE, number=0)
    vm = VirtualMachine(id=uuid4(), name="rules", controllers=(ide,))
    samples = [
        (None, Drive(controller_id=ide.id, slot=0)),
        (vm.memory, MemorySettings(startup_mb=2048, minimum_mb=1024, dynamic_enabled=True, buffer_percent=10)),
        (vm.processor, vm.processor.replace(count=3, weight=1, expose_virtualization_extensions=True)),
        (ide, ide.replace(name="x", number=1)),
        (vm.serial_ports[0] if vm.serial_ports else None, None),
    ]
    for old, new in samples:
        if old is None and new is None:
            continue
        for rule in device_changes(vm, old, new):
            assert rule in HOT_PLUG_RULES
