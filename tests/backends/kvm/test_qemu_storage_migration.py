"""Storage migration of a running guest on one KVM host, on real QEMU:
`cimprovider vm move-storage` (MigrationType 32769) has libvirt copy the
counting guest's disk into a new folder while it runs and switch the
guest over; it keeps counting (no reboot), its HostResource names the new
file, its persistent definition too, and the old file is gone."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from click.testing import CliRunner
from lxml import etree
from pywbem import CIMInstanceName

import guest
from qemu_host import Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)
from test_qemu_migration import ticks
from cimprovider.cli.main import cli
from tests.integration.model.hyperv import NS, settings_of, state
from tests.support.live import in_process_server

RUNNING = 2


def test_a_running_guests_disk_moves_to_a_new_folder_and_it_keeps_counting(host: Host, tmp_path: Path):
    root = host.workdir / "storage-moving"
    root.mkdir(mode=0o755)
    disk = root / "old" / "counted.qcow2"
    disk.parent.mkdir(mode=0o755)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "32M"], check=True)
    name = f"{host.tag}-storage-moving"
    host.domains.append(name)
    domain = host.conn.defineXML(guest.domain_xml(name, host.workdir, host.initrd, disk=(disk, "qcow2"), console_append=True))
    domain.create()
    console = host.console(domain)
    wait_for_console(console, r"guest: tick 3\b")
    vm = CIMInstanceName("Msvm_ComputerSystem", {"CreationClassName": "Msvm_ComputerSystem",
                                                 "Name": domain.UUIDString().upper()}, namespace=NS)

    with in_process_server(tmp_path / "data", backend="libvirt", libvirt_uri="qemu:///system",
                           libvirt_domain_type="qemu", storage_roots=[root]) as server:
        conn = server.connection(NS)
        environment = {k: None for k in os.environ if k.startswith("CIMPROVIDER_")}
        environment.update({"CIMPROVIDER_SERVER": server.url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull})
        result = CliRunner(mix_stderr=False).invoke(cli, ["vm", "move-storage", name, str(root / "new")],
                                                    env=environment, catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        moved = root / "new" / "counted.qcow2"
        assert state(conn, vm) == RUNNING and domain.isActive()
        disks = [s["HostResource"] for s in settings_of(conn, "Msvm_StorageAllocationSettingData", vm)]
        assert [str(moved)] in disks and [str(disk)] not in disks
        assert moved.is_file() and not disk.exists()
        persistent = etree.fromstring(domain.XMLDesc(0x2))  # VIR_DOMAIN_XML_INACTIVE
        assert [s.get("file") for s in persistent.iterfind("devices/disk/source")] == [str(moved)]

    # It kept counting on its new disk: no reboot.
    last = ticks(console)[-1]
    wait_for_console(console, rf"guest: tick {last + 3}\b", after=0)
    counted = ticks(console)
    assert counted == list(range(1, len(counted) + 1)), counted
    assert console.read_bytes().count(b"guest: ready") == 1
