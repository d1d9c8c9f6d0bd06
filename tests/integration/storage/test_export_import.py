"""Export on one server, import as a copy on a second server with its own
data directory, and the copy starts and reads the source's disk content
(qemu-io and libvhdi, not only our reader). Also: the export settings
served per VM, the export folder's layout, a plain import on the same host
refused while the VM exists, and a destroyed planned system leaves nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.backends.images.readers import qemu_io, qemu_io_mismatch, read_with_libvhdi
from tests.integration.model.hyperv import NS, check, request_state, service, state
from tests.integration.storage.snapshots_client import guest_writes, take
from tests.integration.storage.transfer_client import (
    definition_file,
    export,
    export_settings,
    import_planned,
    realize,
    refused,
)
from tests.integration.storage.vhd_client import MIB, create
from tests.integration.storage.vm_client import disk_paths, vm_with_disk
from tests.support.live import in_process_server


@pytest.fixture(scope="module")
def second(tmp_path_factory: pytest.TempPathFactory):
    with in_process_server(tmp_path_factory.mktemp("second")) as live:
        yield live


def test_export_settings_are_served_per_vm(conn, root: Path) -> None:
    create(conn, root / "a.vhd", "dynamic", size=4 * MIB)
    vm = vm_with_disk(conn, "served", root / "a.vhd")
    settings = conn.Associators(vm, AssocClass="Msvm_SystemExportSettingData", ResultClass="Msvm_VirtualSystemExportSettingData")
    assert [s["InstanceID"] for s in settings] == [f"Microsoft:{vm['Name']}"]
    assert (settings[0]["CopySnapshotConfiguration"], settings[0]["CopyVmStorage"], settings[0]["CreateVmExportSubdirectory"]) == (0, True, True)
    assert conn.GetInstance(settings[0].path)["ElementName"] == "served"


def test_export_then_import_as_a_copy_on_a_second_server_starts(conn, root: Path, second, tmp_path: Path) -> None:
    base = root / "system.vhd"
    create(conn, base, "dynamic", size=4 * MIB)
    qemu_io(base, "vpc", "write -P 0x11 0 1M")
    vm = vm_with_disk(conn, "travelling", base)
    take(conn, vm)  # the VM now runs on a differencing child: the export must flatten it
    guest_writes(conn, vm, 1, 0x22)

    exports = root / "exports"
    exports.mkdir()
    export(conn, vm, exports, CopySnapshotConfiguration=0)
    folder = exports / "travelling"
    document = json.loads(definition_file(folder).read_text())
    assert (document["format"], document["version"]) == ("cimprovider.virtual-machine", 1)
    disks = sorted(p.name for p in (folder / "Virtual Hard Disks").iterdir())
    take_id = json.loads(next((folder / "Snapshots").glob("*.json")).read_text())["snapshot"]["id"]
    assert disks == ["system.vhd", f"system_{take_id.upper()}.vhd"]  # the snapshot's disk travels too
    qemu_io(folder / "Virtual Hard Disks" / disks[1], "vpc", "read -P 0x11 0 1M", "read -P 0 1M 1M")
    assert len(list((folder / "Snapshots").glob("*.json"))) == 1
    qemu_io(folder / "Virtual Hard Disks" / "system.vhd", "vpc", "read -P 0x11 0 1M", "read -P 0x22 1M 1M")
    assert not list(exports.glob(".*partial"))

    # Moved to the other host, inside its storage.
    target = second.data_dir / "storage" / "incoming"
    shutil.copytree(folder, target)
    remote = second.connection(NS)
    planned = import_planned(remote, definition_file(target), new_id=True)
    shown = remote.GetInstance(planned)
    assert (shown["ElementName"], shown["Name"] != vm["Name"]) == ("travelling", True)
    planned_vssd = [s for s in remote.EnumerateInstances("Msvm_VirtualSystemSettingData")
                    if s["VirtualSystemType"] == "Microsoft:Hyper-V:System:Planned"]
    assert [s["InstanceID"] for s in planned_vssd] == [f"Microsoft:{shown['Name']}"]

    copy = realize(remote, planned)
    assert copy["Name"] == shown["Name"]
    assert remote.EnumerateInstanceNames("Msvm_PlannedComputerSystem") == []
    assert request_state(remote, copy, 2)[0] == 4096
    assert state(remote, copy) == 2

    copied = Path(disk_paths(remote, copy)[0])
    assert copied.is_relative_to(second.data_dir / "storage") and not copied.is_relative_to(target)
    qemu_io(copied, "vpc", "read -P 0x11 0 1M", "read -P 0x22 1M 1M")
    data = read_with_libvhdi(copied, tmp_path / "mnt", 0, 2 * MIB)
    assert data == bytes([0x11]) * MIB + bytes([0x22]) * MIB
    # The copy is its own: the source folder is untouched by its writes.
    qemu_io(copied, "vpc", "write -P 0x33 0 1M")
    assert not qemu_io_mismatch(target / "Virtual Hard Disks" / "system.vhd", "vpc", "read -P 0x11 0 1M")


def test_plain_import_is_refused_while_the_vm_exists_and_a_copy_is_not(conn, root: Path) -> None:
    create(conn, root / "here.vhd", "dynamic", size=4 * MIB)
    vm = vm_with_disk(conn, "homebody", root / "here.vhd")
    export(conn, vm, root)
    definition = definition_file(root / "homebody")
    code, message = refused(conn, "ImportSystemDefinition", SystemDefinitionFile=str(definition),
                            SnapshotFolder=None, GenerateNewSystemIdentifier=False)
    assert code == 32773 and vm["Name"].lower() in message.lower() and "GenerateNewSystemIdentifier" in message
    assert conn.EnumerateInstanceNames("Msvm_PlannedComputerSystem") == []

    planned = import_planned(conn, definition, new_id=True)
    check(conn, conn.InvokeMethod("DestroySystem", service(conn), AffectedSystem=planned))
    assert conn.EnumerateInstanceNames("Msvm_PlannedComputerSystem") == []
    assert not [s for s in conn.EnumerateInstances("Msvm_VirtualSystemSettingData")
                if s["VirtualSystemType"] == "Microsoft:Hyper-V:System:Planned"]
    assert not (conn_storage(root) / planned["Name"]).exists()


def conn_storage(root: Path) -> Path:
    return root.parent


def test_export_makes_a_missing_directory_and_refuses_one_outside_the_roots(conn, root: Path, tmp_path: Path) -> None:
    create(conn, root / "d.vhd", "dynamic", size=4 * MIB)
    vm = vm_with_disk(conn, "a/../name", root / "d.vhd")
    export(conn, vm, root / "new" / "deeper", CopySnapshotConfiguration=1)
    assert (root / "new" / "deeper" / "a_.._name" / "Virtual Hard Disks" / "d.vhd").is_file()
    code, message = refused(conn, "ExportSystemDefinition", ComputerSystem=vm, ExportDirectory=str(tmp_path),
                            ExportSettingData=export_settings(conn, vm))
    assert code == 32773 and "ExportDirectory" in message and "storage roots" in message
    assert list(tmp_path.iterdir()) == []
    code, message = refused(conn, "ExportSystemDefinition", ComputerSystem=vm, ExportDirectory=str(root / "new" / "deeper"),
                            ExportSettingData=export_settings(conn, vm))
    assert code == 32773 and "already holds an export" in message
