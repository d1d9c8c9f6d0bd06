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

import pytest

from migration_support import (
    SAVED, change_state, cim_name, move, new_guest, placed, start_counting, storage_roots, two_hosts,
)
from qemu_host import Host, host, libvirtd_in_use, shared_host  # noqa: F401 (fixtures)
from cimprovider.indications.listener import watch_indications
from tests.integration.migration.test_saved_arrival import ConsoleRows, Reader, arrival_until_started, vm_query
from tests.integration.migration.two_hosts import ADMIN
from tests.integration.model.hyperv import NS, state
from tests.support.waiting import DEADLINE


def test_a_saved_guest_is_only_ever_saved_on_the_destination(host: Host, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture):
    a_root, b_root = storage_roots(host, "arrival-a", "arrival-b")
    domain, disk = new_guest(host, a_root, "arriving")
    start_counting(host, domain, ticks=2)
    vm = cim_name(domain)

    with two_hosts(host, tmp_path, a_root, b_root) as hosts:
        a_conn, b_conn, b = hosts.a_conn, hosts.b_conn, hosts.b
        change_state(a_conn, vm, SAVED)
        a_image = Path("/var/lib/libvirt/qemu/save") / f"{domain.name()}.save"
        assert a_image.is_file()
        with watch_indications(b.connection(creds=ADMIN), vm_query(vm)) as stream:
            rows = ConsoleRows(b.port, ADMIN, vm)
            rows.start()
            reader = Reader(b.connection(NS, creds=ADMIN), vm)
            reader.start()
            try:
                job = move(a_conn, vm, placed(a_conn, vm, disk, b_root / "arriving.qcow2"))
            finally:
                reader.stop.set()
                reader.join(timeout=DEADLINE)
            assert job["JobState"] == 7, job["ErrorDescription"]
            assert state(b_conn, vm) == SAVED
            assert hosts.on_b(domain).hasManagedSaveImage(0)
            assert not reader.errors, reader.errors
            assert reader.seen == {SAVED}, f"the destination showed the arriving VM in states {sorted(reader.seen)}"
            assert not a_image.exists(), "the source kept its managed save of the VM it released"
            errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
            assert not errors, errors

            assert arrival_until_started(stream, b_conn, vm) == [("CIM_InstCreation", SAVED)]
            assert set(rows.until_started()) == {"Saved"}, rows.states
