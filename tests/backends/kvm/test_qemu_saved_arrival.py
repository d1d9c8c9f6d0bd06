"""A saved guest moving between two KVM hosts on real QEMU appears on the
destination only as Saved: the destination restores its memory image and
saves it again as its own, but a listener subscribed there, a client
reading the VM all along and the web console's VM list never see it Off,
Paused or anything else on the way (a VM in migration shows only the
states it was in). The source's managed save goes with the VM it
releases (libvirt removes it), without an error about a file outside the
storage roots."""

from __future__ import annotations

import logging
from pathlib import Path

import libvirt
import pytest
from pywbem import Uint16

from qemu_host import Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)
from second_libvirtd import STATE, second_libvirtd
from test_qemu_offline_migration import cim_name, new_guest, placed
from cimprovider.indications.listener import watch_indications
from tests.integration.migration.test_saved_arrival import SAVED, ConsoleRows, Reader, arrival_until_started, vm_query
from tests.integration.migration.two_hosts import ADMIN, migrate, write_peers, write_users
from tests.integration.model.hyperv import NS, request_state, state
from tests.support.live import in_process_server
from tests.support.waiting import DEADLINE


def test_a_saved_guest_is_only_ever_saved_on_the_destination(host: Host, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture):
    a_root, b_root = host.workdir / "arrival-a", host.workdir / "arrival-b"
    for root in (a_root, b_root):
        root.mkdir(mode=0o755)
    domain, disk = new_guest(host, a_root, "arriving")
    domain.create()
    wait_for_console(host.console(domain), r"guest: tick 2\b")
    vm = cim_name(domain)

    with second_libvirtd(host.tag) as b_uri:
        b_save_dir = STATE / f"{host.tag}-second-libvirtd" / "lib" / "qemu" / "save"
        with in_process_server(tmp_path / "b-data", backend="libvirt", libvirt_uri=b_uri, libvirt_domain_type="qemu",
                               libvirt_save_dir=b_save_dir, storage_roots=[b_root],
                               users_file=write_users(tmp_path / "b-users.json"), host_name="hostb") as b, \
             in_process_server(tmp_path / "a-data", backend="libvirt", libvirt_uri="qemu:///system",
                               libvirt_domain_type="qemu", storage_roots=[a_root],
                               peers_file=write_peers(tmp_path / "a-peers.toml", {"hostb": (b.url, ADMIN)}),
                               host_name="hosta") as a:
            a_conn, b_conn = a.connection(NS), b.connection(NS, creds=ADMIN)
            assert request_state(a_conn, vm, SAVED)[0] in (0, 4096) and state(a_conn, vm) == SAVED
            a_image = Path("/var/lib/libvirt/qemu/save") / f"{domain.name()}.save"
            assert a_image.is_file()
            with watch_indications(b.connection(creds=ADMIN), vm_query(vm)) as stream:
                rows = ConsoleRows(b.port, ADMIN, vm)
                rows.start()
                reader = Reader(b.connection(NS, creds=ADMIN), vm)
                reader.start()
                try:
                    job = migrate(a_conn, vm, "hostb", timeout=300,
                                  resources=[placed(a_conn, vm, disk, b_root / "arriving.qcow2")],
                                  MigrationType=Uint16(32771))
                finally:
                    reader.stop.set()
                    reader.join(timeout=DEADLINE)
                assert job["JobState"] == 7, job["ErrorDescription"]
                assert state(b_conn, vm) == SAVED
                assert libvirt.open(b_uri).lookupByUUIDString(domain.UUIDString()).hasManagedSaveImage(0)
                assert not reader.errors, reader.errors
                assert reader.seen == {SAVED}, f"the destination showed the arriving VM in states {sorted(reader.seen)}"
                assert not a_image.exists(), "the source kept its managed save of the VM it released"
                errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
                assert not errors, errors

                assert arrival_until_started(stream, b_conn, vm) == [("CIM_InstCreation", SAVED)]
                assert set(rows.until_started()) == {"Saved"}, rows.states
