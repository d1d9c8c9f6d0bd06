"""The model's bus events as indications, over the simulated backend and
a recording service: what each change creates, modifies and deletes, in
order, rendered as the providers render it, without the translator ever
asking the backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cimprovider.indications import ChangeKind, InstanceChange
from cimprovider.indications.model_source import ModelIndications
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.systems.systems import ComputerSystemProvider
from cimprovider.repository import ClassRepository
from cimprovider.schemas.devices import NetworkAdapter
from cimprovider.schemas.power import PowerRequest
from cimprovider.schemas.vm import SystemSettings
from tests.support.waiting import DEADLINE
from tests.unit.indications.translating import Recorder, simulated, watch


@pytest.fixture
def model(tmp_path: Path, repository: ClassRepository) -> Iterator[tuple[Virtualization, Recorder, list[str]]]:
    with simulated(tmp_path, repository) as sim:
        source = ModelIndications(sim.virt, sim.recorder, sim.backend.host_info())  # type: ignore[arg-type]
        asked = watch(source, sim.backend, ("get_vm", "list_vms", "get_runtime", "host_info", "list_switches"))
        source.attach(sim.backend.events, sim.backend.list_vms(), sim.jobs.list())
        yield sim.virt, sim.recorder, asked
        source.close()


def power(virt: Virtualization, vm_id, request: PowerRequest) -> None:
    virt.backend.begin_power_change(vm_id, request).run()


def states(changes: list[InstanceChange]) -> list[tuple[int, int, int, int]]:
    return [(c.previous["EnabledState"], c.source["EnabledState"], c.previous["RequestedState"], c.source["RequestedState"])
            for c in changes if c.kind is ChangeKind.MODIFIED and c.source.classname == "Msvm_ComputerSystem"]


def test_a_defined_vm_creates_its_system_settings_and_resources(model) -> None:
    virt, recorder, asked = model
    vm = virt.backend.define_vm(SystemSettings(name="new"))
    created = recorder.take()
    assert created[:2] == [("CREATED", "Msvm_ComputerSystem"), ("CREATED", "Msvm_VirtualSystemSettingData")]
    assert {kind for kind, _ in created} == {"CREATED"}
    assert ("CREATED", "Msvm_ProcessorSettingData") in created and ("CREATED", "Msvm_MemorySettingData") in created
    cs = recorder.changes[0].source
    assert cs.path["Name"] == str(vm.id).upper() and cs["ElementName"] == "new" and cs["EnabledState"] == 3
    assert asked == []


def test_power_changes_modify_the_vm_in_order_and_the_guest_devices_come_and_go(model) -> None:
    virt, recorder, asked = model
    vm = virt.backend.define_vm(SystemSettings(name="p"))
    recorder.changes.clear()
    power(virt, vm.id, PowerRequest.START)
    started = list(recorder.changes)
    assert states(started) == [(3, 10, 5, 2), (10, 2, 2, 5)]
    components = [c for c in started if c.source.classname == "Msvm_ShutdownComponent"]
    assert [c.kind for c in components] == [ChangeKind.CREATED]
    # Rendered as the providers render them.
    provider = ComputerSystemProvider(virt)
    live = provider.get_instance(None, virt.vm_path(vm.id), None)  # type: ignore[arg-type]
    last = [c for c in started if c.source.classname == "Msvm_ComputerSystem"][-1].source
    for name in ("EnabledState", "RequestedState", "TimeOfLastStateChange", "ElementName", "ProcessID"):
        assert last[name] == live[name], name

    recorder.changes.clear()
    power(virt, vm.id, PowerRequest.PAUSE)
    paused = list(recorder.changes)
    assert states(paused) == [(2, 32776, 5, 9), (32776, 9, 9, 5)]
    heartbeat = [c for c in paused if c.source.classname == "Msvm_HeartbeatComponent"]
    assert heartbeat and heartbeat[-1].source["OperationalStatus"] == [15]

    recorder.changes.clear()
    power(virt, vm.id, PowerRequest.STOP)
    stopped = list(recorder.changes)
    assert states(stopped) == [(9, 3, 5, 5)]  # a paused VM turns off at once
    gone = {c.source.classname for c in stopped if c.kind is ChangeKind.DELETED}
    assert {"Msvm_ShutdownComponent", "Msvm_Processor", "Msvm_Memory"} <= gone
    assert asked == []


def test_a_nic_added_and_removed_is_its_setting_created_and_deleted(model) -> None:
    virt, recorder, asked = model
    vm = virt.backend.define_vm(SystemSettings(name="n"))
    recorder.changes.clear()
    nic = virt.backend.add_device(vm.id, NetworkAdapter(name="port"))
    assert recorder.take() == [("CREATED", "Msvm_SyntheticEthernetPortSettingData")]
    assert recorder.changes[0].source["ElementName"] == "port"
    recorder.changes.clear()
    virt.backend.remove_device(vm.id, nic.id)
    assert recorder.take() == [("DELETED", "Msvm_SyntheticEthernetPortSettingData")]
    assert asked == []


def test_nothing_is_built_without_subscribers_but_the_mirror_follows(model) -> None:
    virt, recorder, asked = model
    vm = virt.backend.define_vm(SystemSettings(name="quiet"))
    recorder.has_subscribers = False
    power(virt, vm.id, PowerRequest.START)
    assert [c for c in recorder.changes if c.source.classname == "Msvm_ComputerSystem" and c.kind is ChangeKind.MODIFIED] == []
    recorder.has_subscribers = True
    recorder.changes.clear()
    power(virt, vm.id, PowerRequest.SAVE)
    assert states(recorder.changes) == [(2, 32773, 5, 6), (32773, 6, 6, 5)]
    vssd = [c for c in recorder.changes if c.source.classname == "Msvm_VirtualSystemSettingData"]
    assert [(c.previous["IsSaved"], c.source["IsSaved"]) for c in vssd] == [(False, True)]
    assert asked == []


def test_a_job_is_created_modified_and_its_previous_state_kept(model) -> None:
    virt, recorder, _ = model
    job = virt.jobs.submit(lambda progress, _token: progress(50), "Test job")
    virt.jobs.wait(job.id, timeout=DEADLINE)
    jobs = [c for c in recorder.changes if c.source.classname == "Msvm_ConcreteJob"]
    assert jobs[0].kind is ChangeKind.CREATED
    assert jobs[-1].kind is ChangeKind.MODIFIED and jobs[-1].source["JobState"] == 7
    assert jobs[-1].previous["JobState"] == 4
    assert [c.source["PercentComplete"] for c in jobs] == sorted(c.source["PercentComplete"] for c in jobs)


def test_classes_no_filter_selects_are_not_built(model) -> None:
    virt, recorder, _ = model
    recorder.unwanted = {"Msvm_ConcreteJob", "Msvm_VirtualSystemSettingData", "Msvm_ProcessorSettingData"}
    vm = virt.backend.define_vm(SystemSettings(name="picky"))
    power(virt, vm.id, PowerRequest.START)
    virt.jobs.wait(virt.jobs.submit(lambda progress, _token: None, "Unwatched").id, timeout=DEADLINE)
    built = {c.source.classname for c in recorder.changes}
    assert "Msvm_ComputerSystem" in built and "Msvm_MemorySettingData" in built
    assert not built & recorder.unwanted
