"""A destination that answers with a hypervisor URI libvirt would act on
here: `qemu+ssh://…?command=…` has the source's libvirtd run that program
(as its ssh) on the source host, as root (`qemu+ext` does the same). The destination is a real cimprovider server
on the second libvirtd, configured with that URI as its migration URI
(as a compromised or mistaken peer would be); the program would leave a
marker file. Both the check and the move are refused naming the URI, the
guest runs on at the source, the destination holds nothing, and the
program never ran."""

from __future__ import annotations

from pathlib import Path

import libvirt

from migration_support import RUNNING, can_move, counting_guest, move, new_image, placed, storage_roots, two_hosts
from qemu_host import Host, host, libvirtd_in_use, shared_host  # noqa: F401 (fixtures)
from tests.integration.model.hyperv import state


def test_a_destination_naming_a_program_to_run_here_is_refused_and_nothing_runs(host: Host, tmp_path: Path):
    a_root, b_root, bait = storage_roots(host, "hostile-a", "hostile-b", "hostile-bait")
    marker = bait / "ran"
    program = bait / "program.sh"
    program.write_text(f"#!/bin/sh\ntouch {marker}\n")
    program.chmod(0o755)
    hostile = f"qemu+ssh://127.0.0.1/system?command={program}"
    disk = new_image(a_root / "hostile.qcow2")
    domain, _console, vm = counting_guest(host, "hostile-uri", disk)

    with two_hosts(host, tmp_path, a_root, b_root, hostile_uri=hostile) as hosts:
        a_conn = hosts.a_conn
        sasd = placed(a_conn, vm, disk, b_root / "hostile.qcow2")
        movable, checked = can_move(a_conn, vm, "hostb-hostile", sasd)
        assert not movable and checked["JobState"] == 10
        assert repr(hostile) in checked["ErrorDescription"] and "refused" in checked["ErrorDescription"], \
            checked["ErrorDescription"]

        failed = move(a_conn, vm, sasd, "hostb-hostile")
        assert failed["JobState"] == 10 and failed["ErrorCode"] == 32768, failed["ErrorDescription"]
        assert repr(hostile) in failed["ErrorDescription"] and "only qemu+tcp" in failed["ErrorDescription"], \
            failed["ErrorDescription"]
        assert state(a_conn, vm) == RUNNING and domain.isActive() and disk.is_file()
        assert list(b_root.iterdir()) == [] and libvirt.open(hosts.b_uri).listAllDomains() == []
    assert not marker.exists()
