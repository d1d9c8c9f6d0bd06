"""An ISO in a DVD drive travels with the export and comes back on import;
one outside the storage roots is refused, and one that has left them since
(a link swapped in) is left out — the drive exported empty and
the job completed with warnings (32768) naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.model.hyperv import check, service, settings_of, template, wait_job
from tests.integration.storage.transfer_client import definition_file, export_settings, import_planned, realize, refused
from tests.integration.storage.vhd_client import MIB, create
from tests.integration.storage.vm_client import vm_with_disk, wmi_path
from tests.support.untouched import assert_untouched, fingerprint

ISO = bytes(range(256)) * 4096  # 1 MiB a reader can tell from any other


def insert_dvd(conn, vm, iso: Path) -> None:
    ide = next(c for c in settings_of(conn, "Msvm_ResourceAllocationSettingData", vm)
               if c["ResourceSubType"] == "Microsoft:Hyper-V:Emulated IDE Controller" and c["Address"] == "1")
    drive = template(conn, "Msvm_ResourceAllocationSettingData", "Microsoft:Hyper-V:Synthetic DVD Drive")
    drive["Parent"] = wmi_path(ide.path)
    drive["AddressOnParent"] = "0"
    out = check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm, ResourceSettings=[drive.tocimxmlstr()]))
    disk = template(conn, "Msvm_StorageAllocationSettingData", "Microsoft:Hyper-V:Virtual CD/DVD Disk")
    disk["Parent"] = wmi_path(out["ResultingResourceSettings"][0])
    disk["HostResource"] = [str(iso)]
    check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm, ResourceSettings=[disk.tocimxmlstr()]))


def dvd_paths(conn, vm) -> list[str]:
    return [d["HostResource"][0] for d in settings_of(conn, "Msvm_StorageAllocationSettingData", vm)
            if d["ResourceSubType"] == "Microsoft:Hyper-V:Virtual CD/DVD Disk" and d["HostResource"]]


def export_job(conn, vm, directory: Path):
    code, out = conn.InvokeMethod("ExportSystemDefinition", service(conn), ComputerSystem=vm, ExportDirectory=str(directory),
                                  ExportSettingData=export_settings(conn, vm, CopySnapshotConfiguration=1))
    assert code == 4096
    return wait_job(conn, out["Job"])


def test_an_iso_travels_and_comes_back(conn, root: Path) -> None:
    create(conn, root / "d.vhd", "dynamic", size=4 * MIB)
    (root / "install.iso").write_bytes(ISO)
    vm = vm_with_disk(conn, "withdvd", root / "d.vhd")
    insert_dvd(conn, vm, root / "install.iso")
    job = export_job(conn, vm, root / "out")
    assert (job["JobState"], job["ErrorCode"]) == (7, 0)
    folder = root / "out" / "withdvd"
    assert (folder / "Virtual Hard Disks" / "install.iso").read_bytes() == ISO
    copy = realize(conn, import_planned(conn, definition_file(folder), new_id=True))
    [restored] = dvd_paths(conn, copy)
    assert Path(restored).read_bytes() == ISO and not Path(restored).is_relative_to(folder)


def test_an_iso_outside_the_roots_is_refused_and_one_that_left_them_is_exported_empty(conn, root: Path, tmp_path: Path) -> None:
    create(conn, root / "e.vhd", "dynamic", size=4 * MIB)
    outside = tmp_path / "elsewhere.iso"
    outside.write_bytes(ISO)
    vm = vm_with_disk(conn, "fardvd", root / "e.vhd")
    create(conn, root / "f.vhd", "dynamic", size=4 * MIB)
    refused = vm_with_disk(conn, "refuseddvd", root / "f.vhd")
    with pytest.raises(AssertionError, match=f"32773.*{outside}.*leaves the storage roots"):
        insert_dvd(conn, refused, outside)
    # Inserted from inside the roots, then swapped for a link pointing out.
    inside = root / "swapped.iso"
    inside.write_bytes(ISO)
    insert_dvd(conn, vm, inside)
    inside.unlink()
    inside.symlink_to(outside)
    before = fingerprint(outside)
    job = export_job(conn, vm, root / "out")
    assert (job["JobState"], job["ErrorCode"]) == (32768, 0), job["ErrorDescription"]
    assert str(inside) in job["ErrorDescription"]
    assert_untouched(outside, before)
    folder = root / "out" / "fardvd"
    assert not list((folder / "Virtual Hard Disks").glob("*.iso"))
    copy = realize(conn, import_planned(conn, definition_file(folder), new_id=True))
    assert dvd_paths(conn, copy) == []


def test_an_iso_swapped_for_a_link_out_before_realizing_is_refused_unread(conn, root: Path, tmp_path: Path) -> None:
    create(conn, root / "g.vhd", "dynamic", size=4 * MIB)
    (root / "media.iso").write_bytes(ISO)
    vm = vm_with_disk(conn, "swapdvd", root / "g.vhd")
    insert_dvd(conn, vm, root / "media.iso")
    assert export_job(conn, vm, root / "out")["JobState"] == 7
    folder = root / "out" / "swapdvd"
    planned = import_planned(conn, definition_file(folder), new_id=True)
    # Between import and realization the exported ISO becomes a link to a host file.
    secret = tmp_path / "host-secret.iso"
    secret.write_bytes(b"secret" * 1000)
    exported_iso = folder / "Virtual Hard Disks" / "media.iso"
    exported_iso.unlink()
    exported_iso.symlink_to(secret)
    before = fingerprint(secret)
    code, message = refused(conn, "RealizePlannedSystem", PlannedSystem=planned)
    assert code == 32773 and str(exported_iso) in message, message
    assert_untouched(secret, before)
    assert not any(path.read_bytes() == secret.read_bytes() for path in root.rglob("*.iso") if path.is_file() and not path.is_symlink())
