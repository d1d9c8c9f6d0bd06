"""Tier 2: a server killed (-9) while libvirt moves a running guest live
to another KVM host. libvirtd carries the migration peer to peer, not the
server, so the kill leaves it running: the restarted server must settle
it with libvirt's outcome, whichever it is. Until the destination's
hypervisor has finished taking the guest (it waits paused and transient
for the memory), the destination says it is still arriving: neither a
source restarted mid-way releases the guest (which would stop the only
copy that runs), nor a destination restarted mid-way drops the images
libvirt writes into.

Either way exactly one host owns the guest afterwards (CIM on both
servers and libvirt on both daemons agree), it runs and kept counting
(never rebooted), the disk it reads exists, and nothing of it stays on
the other host: no domain, no disk file. The guest whose source is
killed has an internal snapshot: it is described where the guest ends
(a source restarted after libvirt moved the guest still commits, so the
destination redefines it). A source that stays down while libvirt hands
the guest over leaves it to the destination once it has been silent for
the destination's expiry: the guest is that host's then, snapshot and all,
and the source, back later, lets it go. A source that stays up but is cut
off from the destination as long (its commit held on the way) has that
late commit refused: it asks, finds the guest moved, and finishes the move.

The move is slowed through libvirt (the domain's migration bandwidth, as
`virsh migrate-setspeed` sets it, before the move starts) so the kill
lands while libvirt transfers; the test checks it does. Once the server
is back, the limit is lifted (libvirt hands the guest over) or the move
is aborted (`virsh domjobabort`: the guest stays on the source). libvirt
gives the disks' copies the bandwidth the move starts with and keeps it
when the limit is lifted, so their speed is lifted in QEMU as well (its
monitor's `block-job-set-speed`): else the disk's copy kept the move going
at the slow speed for half a minute."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import libvirt
import libvirt_qemu
import pytest
import pywbem
from pywbem import CIMInstanceName

from migration_support import (
    assert_counts_on, cim_name, guest_file_paths, new_guest, placed, snapshots_of, start_counting, storage_roots,
)
from qemu_host import URI, Host, host, libvirtd_in_use, shared_host  # noqa: F401 (fixtures)
from second_libvirtd import second_libvirtd
from test_qemu_killed_arrival import migratable, start_migration
from tests.integration.migration.two_hosts import ADMIN, exists, wait_until, write_peers, write_users
from tests.integration.model.hyperv import NS, state, wait_job
from tests.support.held_link import HeldLink
from tests.support.live import LiveServer, in_process_server, serve_process

RUNNING, COMPLETED, EXCEPTION = 2, 7, 10
JOB_RUNNING = 4
SLOW_MIB_PER_SECOND = 1
FAST_MIB_PER_SECOND = 8192
SETTLE_SECONDS = 90


@pytest.mark.parametrize("hand_over", [True, False], ids=["handed-over", "aborted"])
def test_a_source_killed_during_a_live_move_leaves_one_owner(host: Host, tmp_path: Path, hand_over: bool) -> None:
    a_root, b_root, domain, disk, console = _counting_guest(host, "killsrc-live" if hand_over else "killsrc-live-abort")
    domain.snapshotCreateXML("<domainsnapshot><name>kept</name></domainsnapshot>", 0)  # inside the qcow2 disk
    vm, target = cim_name(domain), b_root / disk.name

    with second_libvirtd(host.tag) as b_uri, _destination(tmp_path, b_uri, b_root, guest_file_paths(host)) as b:
        a_args = _source_args(tmp_path, a_root, b.url, b_uri)
        _source_killed_mid_move(a_args, domain, vm, disk, target)

        with serve_process(*a_args) as a:
            _end_move(domain, hand_over)
            a_conn = pywbem.WBEMConnection(a.url, default_namespace=NS, timeout=30)
            b_conn = b.connection(NS, creds=ADMIN)
            b_libvirt = libvirt.open(b_uri)
            on_b = _settled(host.conn, b_libvirt, a_conn, b_conn, domain, disk, target)
            assert on_b == hand_over
            _assert_one_owner(host.conn, b_libvirt, a_conn, b_conn, domain, on_b)
            _assert_nothing_left(a_root, b_root, disk, target, on_b)
            _assert_snapshot_kept(host.conn, b_libvirt, b_conn, domain, on_b)
            _assert_counts_on(console)  # before the second libvirtd stops, with any guest it runs
            assert a.stop() == 0


def test_a_source_gone_for_good_after_the_hand_over_leaves_the_guest_to_the_destination(host: Host, tmp_path: Path) -> None:
    """The source is killed mid-move and stays down while libvirt hands the
    guest over: once the source has been silent for the destination's
    expiry, the destination makes the guest its own, as the commit would
    have (its snapshot described there); the source, back later, lets it go."""
    a_root, b_root, domain, disk, console = _counting_guest(host, "killsrc-away")
    domain.snapshotCreateXML("<domainsnapshot><name>kept</name></domainsnapshot>", 0)
    vm, target = cim_name(domain), b_root / disk.name

    with second_libvirtd(host.tag) as b_uri, _destination(tmp_path, b_uri, b_root, guest_file_paths(host),
                                                          expiry_seconds=10) as b:
        a_args = _source_args(tmp_path, a_root, b.url, b_uri)
        _source_killed_mid_move(a_args, domain, vm, disk, target)
        _end_move(domain, hand_over=True)
        b_conn = b.connection(NS, creds=ADMIN)
        wait_until(lambda: _snapshots_shown(b_conn, vm) == ["kept"], "the guest's own, snapshot and all, on the "
                   "destination", timeout=SETTLE_SECONDS)
        b_libvirt = libvirt.open(b_uri)
        assert _runs_on(b_libvirt, domain.UUIDString())

        with serve_process(*a_args) as a:
            a_conn = pywbem.WBEMConnection(a.url, default_namespace=NS, timeout=30)
            assert _settled(host.conn, b_libvirt, a_conn, b_conn, domain, disk, target)
            _assert_one_owner(host.conn, b_libvirt, a_conn, b_conn, domain, True)
            _assert_nothing_left(a_root, b_root, disk, target, True)
            _assert_snapshot_kept(host.conn, b_libvirt, b_conn, domain, True)
            _assert_counts_on(console)
            assert a.stop() == 0


def test_a_source_cut_off_past_the_destinations_expiry_still_finishes_the_move(host: Host, tmp_path: Path) -> None:
    """The source's link to the destination stalls while libvirt hands the
    guest over: the destination makes the guest its own once the source
    has been silent for its expiry, so the commit that comes later is
    refused. The source asks then, and its job completes: the guest is
    the destination's, and the source keeps nothing of it."""
    a_root, b_root, domain, disk, console = _counting_guest(host, "cutoff")
    domain.snapshotCreateXML("<domainsnapshot><name>kept</name></domainsnapshot>", 0)
    vm, target = cim_name(domain), b_root / disk.name

    with second_libvirtd(host.tag) as b_uri, _destination(tmp_path, b_uri, b_root, guest_file_paths(host),
                                                          expiry_seconds=10) as b, HeldLink(b.url) as link:
        domain.migrateSetMaxSpeed(SLOW_MIB_PER_SECOND, 0)
        with _source(tmp_path, a_root, link.url, b_uri) as a:
            a_conn, b_conn = a.connection(NS), b.connection(NS, creds=ADMIN)
            job = start_migration(a_conn, vm, placed(a_conn, vm, disk, target))
            _wait_for_transfer(domain, a_conn, job)
            link.hold()
            _end_move(domain, hand_over=True)
            wait_until(lambda: _snapshots_shown(b_conn, vm) == ["kept"], "the guest the destination's after the "
                       "source's silence", timeout=SETTLE_SECONDS)
            assert a_conn.GetInstance(job, PropertyList=["JobState"])["JobState"] == JOB_RUNNING, "the commit came through"
            link.release()
            finished = wait_job(a_conn, job, SETTLE_SECONDS)
            assert finished["JobState"] == COMPLETED, finished["ErrorDescription"]
            b_libvirt = libvirt.open(b_uri)
            assert _settled(host.conn, b_libvirt, a_conn, b_conn, domain, disk, target)
            _assert_one_owner(host.conn, b_libvirt, a_conn, b_conn, domain, True)
            _assert_nothing_left(a_root, b_root, disk, target, True)
            _assert_snapshot_kept(host.conn, b_libvirt, b_conn, domain, True)
            _assert_counts_on(console)


@pytest.mark.parametrize("hand_over", [True, False], ids=["handed-over", "aborted"])
def test_a_destination_killed_during_a_live_move_leaves_one_owner(host: Host, tmp_path: Path, hand_over: bool) -> None:
    a_root, b_root, domain, disk, console = _counting_guest(host, "killdst-live" if hand_over else "killdst-live-abort")
    vm, target = cim_name(domain), b_root / disk.name

    with second_libvirtd(host.tag) as b_uri:
        b_args = ["--data-dir", str(tmp_path / "b-data"), "--backend", "libvirt", "--libvirt-uri", b_uri,
                  "--libvirt-domain-type", "qemu", "--storage-root", str(b_root),
                  "--users-file", str(write_users(tmp_path / "b-users.json")), "--host-name", "hostb",
                  *(arg for path in guest_file_paths(host) for arg in ("--migration-host-path", str(path)))]
        b_libvirt = libvirt.open(b_uri)
        domain.migrateSetMaxSpeed(SLOW_MIB_PER_SECOND, 0)
        with serve_process("--port", "0", *b_args) as b:
            port = str(b.ports["http"])
            with _source(tmp_path, a_root, b.url, b_uri) as a:
                a_conn = a.connection(NS)
                job = start_migration(a_conn, vm, placed(a_conn, vm, disk, target))
                _wait_for_transfer(domain, a_conn, job)
                assert b.stop(signal.SIGKILL) == -signal.SIGKILL
                assert _migrating(domain), "the move is libvirtd's: it outlives the destination's server"
                # Back where the source's peers file says, while libvirt still moves the guest.
                with serve_process("--port", port, *b_args) as b:
                    assert _migrating(domain), "the move ended before the destination's server was back"
                    _end_move(domain, hand_over)
                    b_conn = pywbem.WBEMConnection(b.url, ADMIN, default_namespace=NS, timeout=30)
                    finished = wait_job(a_conn, job, SETTLE_SECONDS)
                    on_b = _settled(host.conn, b_libvirt, a_conn, b_conn, domain, disk, target)
                    assert on_b == hand_over
                    expected = COMPLETED if on_b else EXCEPTION
                    assert finished["JobState"] == expected, finished["ErrorDescription"]
                    _assert_one_owner(host.conn, b_libvirt, a_conn, b_conn, domain, on_b)
                    _assert_nothing_left(a_root, b_root, disk, target, on_b)
                    _assert_counts_on(console)


@contextmanager
def _destination(tmp_path: Path, uri: str, root: Path, guest_files: list[Path],
                 expiry_seconds: float = 600) -> Iterator[LiveServer]:
    with in_process_server(tmp_path / "b-data", backend="libvirt", libvirt_uri=uri, libvirt_domain_type="qemu",
                           storage_roots=[root], users_file=write_users(tmp_path / "b-users.json"),
                           host_name="hostb", migration_host_paths=guest_files,
                           incoming_migration_expiry_seconds=expiry_seconds) as live:
        yield live


def _source_args(tmp_path: Path, a_root: Path, b_url: str, b_uri: str) -> tuple[str, ...]:
    """`cimprovider serve` as the source: its peers file pins hostb's hypervisor URI."""
    peers = write_peers(tmp_path / "a-peers.toml", {"hostb": (b_url, ADMIN, (), b_uri)})
    return ("--port", "0", "--data-dir", str(tmp_path / "a-data"), "--backend", "libvirt", "--libvirt-uri", URI,
            "--libvirt-domain-type", "qemu", "--storage-root", str(a_root), "--peers", str(peers), "--host-name", "hosta")


def _source_killed_mid_move(a_args: tuple[str, ...], domain: libvirt.virDomain, vm: CIMInstanceName, disk: Path,
                            target: Path) -> None:
    """The source served, the move started (slowed in libvirt), and the
    source killed once libvirt transfers, which goes on without it."""
    domain.migrateSetMaxSpeed(SLOW_MIB_PER_SECOND, 0)
    with serve_process(*a_args) as a:
        a_conn = pywbem.WBEMConnection(a.url, default_namespace=NS, timeout=30)
        job = start_migration(a_conn, vm, placed(a_conn, vm, disk, target))
        _wait_for_transfer(domain, a_conn, job)
        assert a.stop(signal.SIGKILL) == -signal.SIGKILL
    assert _migrating(domain), "the move is libvirtd's: it outlives the server"


@contextmanager
def _source(tmp_path: Path, root: Path, destination_url: str, destination_uri: str) -> Iterator[LiveServer]:
    """The source, its peers file pinning the destination's hypervisor URI."""
    peers = write_peers(tmp_path / "a-peers.toml", {"hostb": (destination_url, ADMIN, (), destination_uri)})
    with in_process_server(tmp_path / "a-data", backend="libvirt", libvirt_uri=URI, libvirt_domain_type="qemu",
                           storage_roots=[root], peers_file=peers, host_name="hosta") as live:
        yield live


def _job(domain: libvirt.virDomain) -> dict:
    try:
        return domain.jobStats(0)
    except libvirt.libvirtError as error:
        if error.get_error_code() in (libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_ERR_OPERATION_INVALID):
            return {}  # moved away: undefined here (or stopped, as libvirt undefines it)
        raise


def _migrating(domain: libvirt.virDomain) -> bool:
    return _job(domain).get("type", libvirt.VIR_DOMAIN_JOB_NONE) != libvirt.VIR_DOMAIN_JOB_NONE


def _wait_for_transfer(domain: libvirt.virDomain, conn: pywbem.WBEMConnection, job: CIMInstanceName) -> None:
    """Until libvirt's job on the source has moved some data (disk or
    memory); the disk with a snapshot is uploaded first."""
    def moving() -> bool:
        migration = conn.GetInstance(job, PropertyList=["JobState", "ErrorDescription"])
        assert migration["JobState"] not in (COMPLETED, EXCEPTION), migration["ErrorDescription"]
        stats = _job(domain)
        return stats.get("disk_processed", 0) + stats.get("memory_processed", 0) > 0
    wait_until(moving, "transferring (libvirt's job on the source moved no data)", timeout=2 * SETTLE_SECONDS)
    assert _migrating(domain), f"the move ended before the kill: {_job(domain)}"


def _end_move(domain: libvirt.virDomain, hand_over: bool) -> None:
    """Let libvirt finish the move (the limit lifted), or abort it from
    another connection than the servers' (`virsh domjobabort`)."""
    try:
        if hand_over:
            domain.migrateSetMaxSpeed(FAST_MIB_PER_SECOND, 0)
            _lift_disk_copies(domain)
        else:
            domain.abortJob()
    except libvirt.libvirtError as error:
        if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
            raise


def _lift_disk_copies(domain: libvirt.virDomain) -> None:
    """The move's disk copies (QEMU block jobs libvirt started at the
    move's bandwidth) unlimited; QEMU's answer is not checked: a copy that
    ended meanwhile has no speed to set."""
    jobs = json.loads(libvirt_qemu.qemuMonitorCommand(domain, json.dumps({"execute": "query-block-jobs"}), 0))
    for job in jobs.get("return", []):
        lift = {"execute": "block-job-set-speed", "arguments": {"device": job["device"], "speed": 0}}
        libvirt_qemu.qemuMonitorCommand(domain, json.dumps(lift), 0)


def _counting_guest(host: Host, suffix: str) -> tuple[Path, Path, libvirt.virDomain, Path, Path]:
    """Two storage roots, and a guest booted from a disk in the first that
    counts on its console (the console returned to check it later)."""
    a_root, b_root = storage_roots(host, f"{suffix}-a", f"{suffix}-b")
    domain, disk = new_guest(host, a_root, suffix)
    return a_root, b_root, domain, disk, start_counting(host, domain)


def _where(conn: libvirt.virConnect, uuid: str) -> libvirt.virDomain | None:
    try:
        return conn.lookupByUUIDString(uuid)
    except libvirt.libvirtError:
        return None


def _runs_on(conn: libvirt.virConnect, uuid: str) -> bool:
    """The guest runs on this hypervisor; a domain undefined between the
    lookup and the question (the settling server dropped it) runs nowhere."""
    domain = _where(conn, uuid)
    try:
        return domain is not None and bool(domain.isActive())
    except libvirt.libvirtError as error:
        if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
            raise
        return False


def _settled(a_libvirt: libvirt.virConnect, b_libvirt: libvirt.virConnect, a_conn: pywbem.WBEMConnection,
             b_conn: pywbem.WBEMConnection, domain: libvirt.virDomain, disk: Path, target: Path) -> bool:
    """Wait until libvirt's move ended and the servers settled it; True if
    the guest ended on the destination. Fails at once if it runs nowhere."""
    uuid, vm = domain.UUIDString(), cim_name(domain)

    def decided() -> bool:
        if _migrating(domain):
            return False
        # The source is asked first: libvirt starts the guest on the destination
        # before it stops it on the source, so one of the two answers is yes.
        assert _runs_on(a_libvirt, uuid) or _runs_on(b_libvirt, uuid), "the guest runs on neither host: it was lost"
        return exists(a_conn, vm) != exists(b_conn, vm)

    wait_until(decided, "owned by exactly one host", timeout=SETTLE_SECONDS)
    if exists(b_conn, vm):
        wait_until(lambda: not disk.exists(), "rid of the moved guest's disk on the source", timeout=SETTLE_SECONDS)
        return True
    wait_until(lambda: migratable(a_conn, vm, placed(a_conn, vm, disk, target)),
               "migratable again (the cut-short move settled)", timeout=SETTLE_SECONDS)
    return False


def _assert_one_owner(a_libvirt: libvirt.virConnect, b_libvirt: libvirt.virConnect, a_conn: pywbem.WBEMConnection,
                      b_conn: pywbem.WBEMConnection, domain: libvirt.virDomain, on_b: bool) -> None:
    vm, uuid = cim_name(domain), domain.UUIDString()
    owner, other = (b_conn, a_conn) if on_b else (a_conn, b_conn)
    assert exists(owner, vm) and not exists(other, vm)
    assert state(owner, vm) == RUNNING
    owned = _where(b_libvirt if on_b else a_libvirt, uuid)
    assert owned is not None and owned.isActive() and owned.isPersistent()
    assert _where(a_libvirt if on_b else b_libvirt, uuid) is None, "both hypervisors have the guest"
    assert [d.UUIDString() for d in b_libvirt.listAllDomains()] == ([uuid] if on_b else [])


def _assert_nothing_left(a_root: Path, b_root: Path, disk: Path, target: Path, on_b: bool) -> None:
    files_a = sorted(p for p in a_root.rglob("*") if p.is_file())
    files_b = sorted(p for p in b_root.rglob("*") if p.is_file())
    assert (files_a, files_b) == (([], [target]) if on_b else ([disk], []))


def _assert_snapshot_kept(a_libvirt: libvirt.virConnect, b_libvirt: libvirt.virConnect, b_conn: pywbem.WBEMConnection,
                          domain: libvirt.virDomain, on_b: bool) -> None:
    """The snapshot is where the guest is: described by that hypervisor
    (and, on the destination, shown over CIM)."""
    owned = (b_libvirt if on_b else a_libvirt).lookupByUUIDString(domain.UUIDString())
    assert [s.getName() for s in owned.listAllSnapshots(0)] == ["kept"]
    if on_b:
        assert list(snapshots_of(b_conn, cim_name(domain))) == ["kept"]


def _snapshots_shown(conn: pywbem.WBEMConnection, vm: CIMInstanceName) -> list[str]:
    """The VM's snapshots over CIM; none while the VM is not there yet."""
    try:
        return list(snapshots_of(conn, vm))
    except pywbem.CIMError as error:
        assert error.status_code == pywbem.CIM_ERR_NOT_FOUND, error
        return []


def _assert_counts_on(console: Path) -> None:
    """The guest kept counting from where it was: no reboot."""
    assert_counts_on(console)
    assert console.read_bytes().count(b"guest: ready") == 1
