"""A VHD or VHDX disk on KVM runs on a qcow2 working copy beside it (QEMU
cannot save, snapshot with memory or migrate a guest on a VHD, and cannot
run a VHDX). The client still sees the file it attached as HostResource,
before and after changing the disk's other settings (and sending them
back unchanged while the VM runs), and a second VM
cannot be given the same file; export reads what the guest wrote (the
copy), while the file attached is left as it was. libvirt's test driver,
real images made and read with qemu-img and qemu-io."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
from pywbem import Uint64

from tests.integration.model.hyperv import NS, check, request_state, service, settings_of
from tests.integration.storage.transfer_client import definition_file, export, import_planned, realize
from tests.integration.storage.vm_client import disk_paths, vm_with_disk
from tests.support.live import in_process_server

SASD = "Msvm_StorageAllocationSettingData"


def qemu_io(path: Path, fmt: str, command: str) -> None:
    result = subprocess.run(["qemu-io", "-f", fmt, "-c", command, str(path)], capture_output=True, text=True)
    assert result.returncode == 0 and "verification failed" not in result.stdout, result.stdout + result.stderr


def image_format(path: Path) -> str:
    info = subprocess.run(["qemu-img", "info", "--output=json", str(path)], capture_output=True, text=True, check=True)
    return json.loads(info.stdout)["format"]


@pytest.mark.parametrize("fmt", ["vpc", "vhdx"])
def test_hostresource_shows_the_file_attached_and_export_reads_the_copy(tmp_path: Path, fmt: str) -> None:
    data = tmp_path / "data"
    root = data / "storage"
    root.mkdir(parents=True)
    attached = root / ("system.vhd" if fmt == "vpc" else "system.vhdx")
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, str(attached), "8M"], check=True)
    qemu_io(attached, fmt, "write -P 0x5a 0 1M")
    tag = uuid.uuid4().hex[:8]
    with in_process_server(data, backend="libvirt", libvirt_uri="test:///default") as server:
        conn = server.connection(NS)
        vm = vm_with_disk(conn, f"attached-{tag}", attached)
        assert disk_paths(conn, vm) == [str(attached)]
        copy = attached.with_name(attached.name + ".qcow2")
        assert image_format(copy) == "qcow2"
        qemu_io(copy, "qcow2", "write -P 0x6b 1M 1M")  # what the guest wrote

        # While the VM runs, a client sends the disk's settings back as it read them: nothing changes.
        sasd = next(s for s in settings_of(conn, SASD, vm) if s["ResourceSubType"] == "Microsoft:Hyper-V:Virtual Hard Disk")
        assert request_state(conn, vm, 2)[0] in (0, 4096)
        check(conn, conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[sasd.tocimxmlstr()]))
        assert request_state(conn, vm, 3)[0] in (0, 4096)
        # Off, it changes another setting of the disk.
        sasd["IOPSLimit"] = Uint64(500)
        check(conn, conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[sasd.tocimxmlstr()]))
        changed = next(s for s in settings_of(conn, SASD, vm) if s["ResourceSubType"] == "Microsoft:Hyper-V:Virtual Hard Disk")
        assert (list(changed["HostResource"]), changed["IOPSLimit"]) == ([str(attached)], 500)
        qemu_io(copy, "qcow2", "read -P 0x6b 1M 1M")  # the copy was kept, not made again

        with pytest.raises(AssertionError, match="already attached"):
            vm_with_disk(conn, f"other-{tag}", attached)

        export(conn, vm, root / "exported")
        exported = list((root / "exported").rglob("Virtual Hard Disks/*"))
        assert len(exported) == 1
        qemu_io(exported[0], image_format(exported[0]), "read -P 0x6b 1M 1M")
        # The export is its own disk: it names no file of this host.
        assert str(attached) not in definition_file(root / "exported" / f"attached-{tag}").read_text()
    qemu_io(attached, fmt, "read -P 0x5a 0 1M")
    qemu_io(attached, fmt, "read -P 0 1M 1M")  # the file attached is as it was



def test_an_imported_definition_cannot_make_hostresource_name_another_file(tmp_path: Path) -> None:
    """A definition file's drives name their disks inside the export folder;
    an attached_path written into it (naming any host file) is not kept."""
    data = tmp_path / "data"
    root = data / "storage"
    root.mkdir(parents=True)
    disk = root / "own.vhd"
    subprocess.run(["qemu-img", "create", "-q", "-f", "vpc", str(disk), "4M"], check=True)
    with in_process_server(data) as server:
        conn = server.connection(NS)
        vm = vm_with_disk(conn, "exported", disk)
        export(conn, vm, root / "out")
        definition = definition_file(root / "out" / "exported")
        document = json.loads(definition.read_text())
        for drive in document["vm"]["drives"]:
            if drive.get("media"):
                drive["media"]["attached_path"] = "/etc/shadow"
        definition.write_text(json.dumps(document))
        imported = realize(conn, import_planned(conn, definition))
        [shown] = disk_paths(conn, imported)
        assert shown != "/etc/shadow" and Path(shown).is_relative_to(root)
