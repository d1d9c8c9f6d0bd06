"""Defining, modifying and destroying VMs and their devices; errors name the field."""

from __future__ import annotations

from uuid import uuid4

import pytest

from backend_scenarios import new_vm, vm_in_state
from conftest import BackendHarness
from tests.support.waiting import DEADLINE
from cimprovider.backends import Backend, InUseError, InvalidParameterError, InvalidStateError, NotFoundError
from cimprovider.schemas import (
    Controller,
    ControllerType,
    DeviceAdded,
    DeviceModified,
    DeviceRemoved,
    Drive,
    DriveType,
    Media,
    MemorySettings,
    NetworkAdapter,
    PowerState,
    ProcessorSettings,
    SerialPort,
    SystemSettings,
    VmDefined,
    VmDestroyed,
    VmModified,
)


def test_define_gives_hyper_v_defaults(backend: Backend) -> None:
    events = backend.events.subscribe_queue()
    vm = new_vm(backend, notes="made by a test")
    assert vm.power_state is PowerState.OFF
    assert vm.notes == ("made by a test",)
    assert [(c.controller_type, c.number) for c in vm.controllers] == [(ControllerType.IDE, 0), (ControllerType.IDE, 1)]
    assert [port.port_number for port in vm.serial_ports] == [1, 2]
    assert vm.processor.count >= 1 and vm.memory.startup_mb >= 512
    assert backend.get_vm(vm.id) == vm
    assert vm in backend.list_vms()
    assert [type(event) for event in events.drain()] == [VmDefined]


def test_generation_2_has_no_ide(backend: Backend) -> None:
    vm = new_vm(backend, generation=2, secure_boot_enabled=True)
    assert vm.controllers == ()
    with pytest.raises(InvalidParameterError) as caught:
        backend.add_device(vm.id, Controller(controller_type=ControllerType.IDE))
    assert caught.value.field == "controllers"


def test_define_with_devices_and_an_id(backend: Backend) -> None:
    vm_id = uuid4()
    scsi = Controller(controller_type=ControllerType.SCSI)
    vm = backend.define_vm(
        SystemSettings(name="given"),
        [ProcessorSettings(count=4), MemorySettings(startup_mb=4096), scsi, Drive(controller_id=scsi.id, slot=5)],
        vm_id=vm_id,
    )
    assert vm.id == vm_id
    assert vm.processor.count == 4 and vm.memory.startup_mb == 4096
    assert vm.drives[0].slot == 5
    with pytest.raises(InvalidParameterError) as caught:
        backend.define_vm(SystemSettings(name="again"), vm_id=vm_id)
    assert caught.value.field == "id"


def test_same_name_twice_is_allowed_ids_differ(backend: Backend) -> None:
    assert new_vm(backend, "twin").id != new_vm(backend, "twin").id


def test_modify_system_settings(backend: Backend) -> None:
    vm = new_vm(backend)
    events = backend.events.subscribe_queue()
    changed = backend.modify_vm(vm.id, vm.settings.replace(name="renamed", notes="n2", snapshot_type="standard"))
    assert (changed.name, changed.notes, changed.snapshot_type.value) == ("renamed", ("n2",), "standard")
    assert backend.get_vm(vm.id).name == "renamed"
    event = events.get(timeout=DEADLINE)
    assert isinstance(event, VmModified) and event.previous.name == vm.name and event.vm.name == "renamed"
    with pytest.raises(InvalidParameterError) as caught:
        backend.modify_vm(vm.id, vm.settings.replace(generation=2))
    assert caught.value.field == "generation"


def test_renaming_works_while_running_but_boot_order_does_not(backend: Backend) -> None:
    vm_id = vm_in_state(backend, PowerState.RUNNING)
    settings = backend.get_vm(vm_id).settings
    assert backend.modify_vm(vm_id, settings.replace(name="live")).name == "live"
    with pytest.raises(InvalidStateError):
        backend.modify_vm(vm_id, settings.replace(boot_order=("ide", "cd", "network", "floppy")))


def test_devices_add_modify_remove_with_events(harness: BackendHarness, backend: Backend) -> None:
    vm = new_vm(backend)
    events = backend.events.subscribe_queue()
    scsi = backend.add_device(vm.id, Controller(controller_type=ControllerType.SCSI))
    assert isinstance(scsi, Controller) and scsi.number == 0
    drive = backend.add_device(vm.id, Drive(controller_id=scsi.id))
    assert isinstance(drive, Drive) and drive.slot == 0
    with_media = backend.modify_device(vm.id, drive.replace(media=Media(path=harness.medium("disk.vhd"))))
    nic = backend.add_device(vm.id, NetworkAdapter(switch_id=backend.list_switches()[0].id))
    assert isinstance(nic, NetworkAdapter) and nic.mac_address and len(nic.mac_address) == 12
    stored = backend.get_vm(vm.id)
    assert stored.drives == (with_media,)
    assert stored.network_adapters == (nic,)
    backend.remove_device(vm.id, drive.id)
    backend.remove_device(vm.id, scsi.id)
    assert backend.get_vm(vm.id).controllers == vm.controllers
    kinds = [type(event) for event in events.drain()]
    assert kinds == [DeviceAdded, DeviceAdded, DeviceModified, DeviceAdded, DeviceRemoved, DeviceRemoved]


def test_dynamic_mac_addresses_are_unique(backend: Backend) -> None:
    vm = new_vm(backend)
    macs = {backend.add_device(vm.id, NetworkAdapter()).mac_address for _ in range(5)}  # type: ignore[union-attr]
    assert len(macs) == 5


@pytest.mark.parametrize(
    ("make", "error", "field"),
    [
        (lambda vm, ide: Drive(controller_id=uuid4(), slot=0), InvalidParameterError, "controller_id"),
        (lambda vm, ide: Drive(controller_id=ide, slot=1, drive_type=DriveType.DVD), None, None),
        (lambda vm, ide: NetworkAdapter(static_mac=True), InvalidParameterError, "mac_address"),
        (lambda vm, ide: NetworkAdapter(switch_id=uuid4()), InvalidParameterError, "switch_id"),
        (lambda vm, ide: ProcessorSettings(count=2), InvalidParameterError, "kind"),
        (lambda vm, ide: SerialPort(port_number=1), InvalidParameterError, "kind"),
        (lambda vm, ide: Controller(controller_type=ControllerType.IDE), InUseError, None),
    ],
)
def test_add_device_refusals(backend: Backend, make, error, field) -> None:  # type: ignore[no-untyped-def]
    vm = new_vm(backend)
    device = make(vm, vm.controllers[0].id)
    if error is None:
        backend.add_device(vm.id, device)
        return
    with pytest.raises(error) as caught:
        backend.add_device(vm.id, device)
    if field is not None:
        assert caught.value.field == field


def test_an_occupied_slot_and_a_busy_controller_are_in_use(backend: Backend) -> None:
    vm = new_vm(backend)
    ide = vm.controllers[0]
    backend.add_device(vm.id, Drive(controller_id=ide.id, slot=0))
    with pytest.raises(InUseError):
        backend.add_device(vm.id, Drive(controller_id=ide.id, slot=0))
    with pytest.raises(InUseError):
        backend.remove_device(vm.id, ide.id)


def test_modifying_a_device_needs_its_id_and_kind(backend: Backend) -> None:
    vm = new_vm(backend)
    with pytest.raises(NotFoundError):
        backend.modify_device(vm.id, NetworkAdapter())
    with pytest.raises(NotFoundError):
        backend.remove_device(vm.id, uuid4())
    port = vm.serial_ports[0]
    changed = backend.modify_device(vm.id, port.replace(pipe_name=r"\\.\pipe\com1"))
    assert backend.get_vm(vm.id).serial_ports[0] == changed


def test_unknown_vms_are_not_found(backend: Backend) -> None:
    for call in (
        lambda: backend.get_vm(uuid4()),
        lambda: backend.destroy_vm(uuid4()),
        lambda: backend.get_runtime(uuid4()),
        lambda: backend.begin_power_change(uuid4(), "start"),  # type: ignore[arg-type]
        lambda: backend.get_switch(uuid4()),
    ):
        with pytest.raises(NotFoundError):
            call()


@pytest.mark.parametrize("state", [PowerState.OFF, PowerState.SAVED, PowerState.RUNNING, PowerState.PAUSED])
def test_destroy_only_when_off_or_saved(backend: Backend, state: PowerState) -> None:
    vm_id = vm_in_state(backend, state)
    events = backend.events.subscribe_queue(kinds=[VmDestroyed])
    if state in (PowerState.RUNNING, PowerState.PAUSED):
        with pytest.raises(InvalidStateError):
            backend.destroy_vm(vm_id)
        return
    backend.destroy_vm(vm_id)
    with pytest.raises(NotFoundError):
        backend.get_vm(vm_id)
    assert events.get(timeout=DEADLINE).vm.id == vm_id  # type: ignore[attr-defined]


def test_host_and_default_switch(backend: Backend) -> None:
    host = backend.host_info()
    assert host.name and host.logical_processors >= 1 and host.memory_mb >= 1
    switches = backend.list_switches()
    assert switches and backend.get_switch(switches[0].id) == switches[0]
