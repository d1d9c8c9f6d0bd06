from typing import Any
from uuid import uuid4

import pytest
from pydantic import TypeAdapter, ValidationError

from cimprovider.schemas import (
    Controller,
    ControllerType,
    Device,
    DeviceAdded,
    Drive,
    Event,
    KvpItem,
    MemorySettings,
    NetworkAdapter,
    PowerState,
    PowerStateChanged,
    ProcessorSettings,
    SerialPort,
    SystemSettings,
    VirtualMachine,
    describe_validation_error,
    validation_message,
)


def fields_at_fault(model: type, **values: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model(**values)
    return [field for field, _ in describe_validation_error(caught.value)]


@pytest.mark.parametrize(
    ("model", "values", "field"),
    [
        (ProcessorSettings, {"count": 0}, "count"),
        (ProcessorSettings, {"weight": 10001}, "weight"),
        (ProcessorSettings, {"limit_percent": 101}, "limit_percent"),
        (ProcessorSettings, {"reservation_percent": 60, "limit_percent": 50}, "reservation_percent"),
        (MemorySettings, {"startup_mb": 1023}, "startup_mb"),
        (MemorySettings, {"buffer_percent": 4}, "buffer_percent"),
        (MemorySettings, {"dynamic_enabled": True, "minimum_mb": 2048, "startup_mb": 1024}, "startup_mb"),
        (Controller, {"controller_type": "ide", "number": 2}, "number"),
        (Controller, {"controller_type": "sata"}, "controller_type"),
        (Drive, {"controller_id": uuid4(), "slot": 64}, "slot"),
        (NetworkAdapter, {"mac_address": "00:15:5D:ZZ:00:01"}, "mac_address"),
        (SerialPort, {"port_number": 3}, "port_number"),
        (KvpItem, {"name": "k", "data": "x" * 1025}, "data"),
        (KvpItem, {"name": ""}, "name"),
        (SystemSettings, {"name": ""}, "name"),
        (SystemSettings, {"name": "vm", "generation": 3}, "generation"),
        (SystemSettings, {"name": "vm", "secure_boot_enabled": True}, "secure_boot_enabled"),
        (SystemSettings, {"name": "vm", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_value_is_named(model: type, values: dict[str, Any], field: str) -> None:
    assert field in fields_at_fault(model, **values)


def test_nested_errors_carry_the_path() -> None:
    with pytest.raises(ValidationError) as caught:
        VirtualMachine(id=uuid4(), name="vm", memory={"startup_mb": 3})
    message = validation_message(caught.value)
    assert message.startswith("memory.startup_mb:")


def test_kvp_data_of_exactly_1024_characters_is_accepted() -> None:
    assert len(KvpItem(name="k", data="x" * 1024).data) == 1024


def test_mac_addresses_are_normalised() -> None:
    assert NetworkAdapter(mac_address="00-15-5d-0a-0b-0c").mac_address == "00155D0A0B0C"
    assert NetworkAdapter(mac_address="000000000000").mac_address is None


def test_a_drive_must_sit_on_an_existing_controller_in_range() -> None:
    ide = Controller(controller_type=ControllerType.IDE, number=0)
    assert "drives" in fields_at_fault(
        VirtualMachine, id=uuid4(), name="vm", controllers=[ide], drives=[Drive(controller_id=ide.id, slot=2)]
    )
    assert "drives" in fields_at_fault(
        VirtualMachine, id=uuid4(), name="vm", drives=[Drive(controller_id=uuid4(), slot=0)]
    )
    assert "controllers" in fields_at_fault(VirtualMachine, id=uuid4(), name="vm", generation=2, controllers=[ide])


def test_devices_and_events_round_trip_through_json() -> None:
    device = TypeAdapter(Device).validate_python({"kind": "drive", "controller_id": str(uuid4()), "slot": 3})
    assert isinstance(device, Drive)
    events = TypeAdapter(Event)
    for event in (
        DeviceAdded(vm_id=uuid4(), device=device),
        PowerStateChanged(vm_id=uuid4(), old=PowerState.OFF, new=PowerState.STARTING, request="start"),
    ):
        assert events.validate_json(event.model_dump_json()) == event


def test_events_are_immutable() -> None:
    event = PowerStateChanged(vm_id=uuid4(), old=PowerState.OFF, new=PowerState.STARTING)
    with pytest.raises(ValidationError):
        event.new = PowerState.RUNNING  # type: ignore[misc]


def test_a_vm_exposes_its_system_settings() -> None:
    vm = VirtualMachine(id=uuid4(), name="vm", notes="n", generation=2)
    assert vm.settings == SystemSettings(name="vm", notes="n", generation=2)
