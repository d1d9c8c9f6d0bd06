"""What the tier 2 migration tests share: the counting guest on a disk of
its own, two KVM hosts on this machine (the suite's libvirtd behind a
cimprovider server named hosta, and a second libvirtd, second_libvirtd.py,
behind one named hostb, which hosta's peers file names), the moves a WMI
client asks for, and what a test reads as the guest moves: its console's
count, its snapshots over CIM, the images where its disks land.

Guests are named `<host tag>-<suffix>` and their storage roots lie in the
host's work directory, which every tier 2 test of the process shares: each
test passes suffixes and root names no other test uses."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import libvirt
import pywbem
from pywbem import CIMInstance, CIMInstanceName, Uint16

from guest import kernel
from qemu_host import Host, wait_for_console
from second_libvirtd import save_dir, second_libvirtd
from tests.integration.migration.two_hosts import ADMIN, migrate, migration_service, migration_setting, write_peers, write_users
from tests.integration.model.hyperv import NS, request_state, settings_of, state, wait_job
from tests.integration.storage.snapshots_client import snapshot_service, take
from tests.integration.storage.test_snapshots import set_user_snapshot_type
from tests.support.live import LiveServer, in_process_server

OFF, RUNNING, SAVED = 3, 2, 6  # EnabledState
STANDARD = 5  # UserSnapshotType: a snapshot of a running VM keeps its memory
WITH_STORAGE = Uint16(32771)  # MigrationType: the VM and its storage
TICK = r"guest: tick (\d+)"
MOVE_SECONDS = 300


# --- the counting guest --------------------------------------------------------


def storage_roots(host: Host, *names: str) -> tuple[Path, ...]:
    """New folders of the host's work directory, which QEMU may read."""
    roots = tuple(host.workdir / name for name in names)
    for root in roots:
        root.mkdir(mode=0o755)
    return roots


def new_image(path: Path, fmt: str = "qcow2", backing: Path | None = None) -> Path:
    """An empty 32 MiB image (a qcow2 one on `backing`, if given)."""
    on = ["-b", str(backing), "-F", "qcow2"] if backing else []
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, *on, str(path), *([] if backing else ["32M"])], check=True)
    return path


def guest_on(host: Host, suffix: str, disk: Path, fmt: str = "qcow2") -> libvirt.virDomain:
    """The tiny guest on `disk`, defined, off; its console file is kept
    when a QEMU opens it again, so a moved guest's count goes on in it."""
    return host.define_guest(suffix, disk=(disk, fmt), console_append=True)


def new_guest(host: Host, root: Path, suffix: str) -> tuple[libvirt.virDomain, Path]:
    """The guest on a new qcow2 disk in `root` named after it, its first MiB
    written (so a copy is checked against real bytes): (the domain, the disk)."""
    disk = new_image(root / f"{suffix}.qcow2")
    qemu_io(disk, "write -P 0x5a 0 1M")
    return guest_on(host, suffix, disk), disk


def start_counting(host: Host, domain: libvirt.virDomain, ticks: int = 3) -> Path:
    """Starts the guest and waits until it has counted `ticks`; its console."""
    domain.create()
    console = host.console(domain)
    wait_for_console(console, rf"guest: tick {ticks}\b")
    return console


def counting_guest(host: Host, suffix: str, disk: Path, fmt: str = "qcow2",
                   ticks: int = 3) -> tuple[libvirt.virDomain, Path, CIMInstanceName]:
    """The guest on `disk`, started, once it has counted `ticks`: (the
    domain, its console, its name over CIM)."""
    domain = guest_on(host, suffix, disk, fmt)
    return domain, start_counting(host, domain, ticks), cim_name(domain)


def cim_name(domain: libvirt.virDomain) -> CIMInstanceName:
    return CIMInstanceName("Msvm_ComputerSystem", {"CreationClassName": "Msvm_ComputerSystem",
                                                   "Name": domain.UUIDString().upper()}, namespace=NS)


def current_disk(domain: libvirt.virDomain) -> Path:
    """The file the domain's (only) disk reads now: an overlay, once a snapshot froze the disk."""
    return Path(domain.XMLDesc(0).split("<source file='")[1].split("'")[0])


def ticks(console: Path) -> list[int]:
    return [int(n) for n in re.findall(TICK, console.read_bytes().decode(errors="replace"))]


def assert_counts_on(console: Path, since: int | None = None, more: int = 3) -> None:
    """The guest counts `more` ticks past `since` (its last tick so far),
    and its count never started again: no reboot."""
    since = ticks(console)[-1] if since is None else since
    wait_for_console(console, rf"guest: tick {since + more}\b", after=0)
    counted = ticks(console)
    assert counted == list(range(1, len(counted) + 1)), counted


def change_state(conn: pywbem.WBEMConnection, vm: CIMInstanceName, wanted: int) -> None:
    """RequestStateChange, and the VM reads that state once it answered."""
    assert request_state(conn, vm, wanted)[0] in (0, 4096) and state(conn, vm) == wanted


# --- the two hosts -------------------------------------------------------------


@dataclass
class TwoHosts:
    a: LiveServer
    b: LiveServer
    b_uri: str
    a_conn: pywbem.WBEMConnection
    b_conn: pywbem.WBEMConnection  # signed in as hostb's administrator

    def on_b(self, domain: libvirt.virDomain) -> libvirt.virDomain:
        """The domain as the second libvirtd has it."""
        return libvirt.open(self.b_uri).lookupByUUIDString(domain.UUIDString())


def guest_file_paths(host: Host) -> list[Path]:
    """Where the tiny guest's kernel, initrd and console file lie: a
    destination lets an offer name them (they are outside its storage roots)."""
    return [host.workdir, kernel().parent]


@contextmanager
def two_hosts(host: Host, tmp_path: Path, a_root: Path, b_root: Path, wrong_root: Path | None = None,
              simulated: bool = False, hostile_uri: str | None = None) -> Iterator[TwoHosts]:
    """hosta on the suite's libvirtd, storage in `a_root`, data in
    tmp_path/a-data; hostb on a second libvirtd, storage in `b_root`, data
    in tmp_path/b-data, its UNIX socket URI pinned in hosta's peers file.
    Given `wrong_root`, hosta's peers also name hostb-wrong: the second
    libvirtd behind a server whose hypervisor migration URI (pinned too)
    nobody listens at (storage in `wrong_root`); given `simulated`, hostc,
    a simulated host; given `hostile_uri`, hostb-hostile, the second
    libvirtd behind a server that answers with that URI, not pinned."""
    with second_libvirtd(host.tag) as b_uri, ExitStack() as stack:
        users = write_users(tmp_path / "b-users.json")
        guest_files = guest_file_paths(host)
        b = stack.enter_context(in_process_server(
            tmp_path / "b-data", backend="libvirt", libvirt_uri=b_uri, libvirt_domain_type="qemu",
            libvirt_save_dir=save_dir(host.tag), storage_roots=[b_root], users_file=users, host_name="hostb",
            migration_host_paths=guest_files))
        peers: dict[str, tuple] = {"hostb": (b.url, ADMIN, (), b_uri)}
        if simulated:
            peers["hostc"] = (stack.enter_context(in_process_server(tmp_path / "c-data", host_name="hostc")).url, None)
        if wrong_root is not None:
            nobody = f"qemu+unix:///system?socket={tmp_path / 'nobody-listens'}"
            wrong = stack.enter_context(in_process_server(
                tmp_path / "d-data", backend="libvirt", libvirt_uri=b_uri, libvirt_domain_type="qemu",
                libvirt_migration_uri=nobody, storage_roots=[wrong_root], users_file=users, host_name="hostb-wrong",
                migration_host_paths=guest_files))
            peers["hostb-wrong"] = (wrong.url, ADMIN, (), nobody)
        if hostile_uri is not None:
            hostile = stack.enter_context(in_process_server(
                tmp_path / "e-data", backend="libvirt", libvirt_uri=b_uri, libvirt_domain_type="qemu",
                libvirt_migration_uri=hostile_uri, storage_roots=[b_root], users_file=users, host_name="hostb-hostile",
                migration_host_paths=guest_files))
            peers["hostb-hostile"] = (hostile.url, ADMIN)
        a = stack.enter_context(in_process_server(
            tmp_path / "a-data", backend="libvirt", libvirt_uri="qemu:///system", libvirt_domain_type="qemu",
            storage_roots=[a_root], peers_file=write_peers(tmp_path / "a-peers.toml", peers), host_name="hosta",
            migration_host_paths=guest_files))
        yield TwoHosts(a, b, b_uri, a.connection(NS), b.connection(NS, creds=ADMIN))


# --- moves ---------------------------------------------------------------------


def placed(conn: pywbem.WBEMConnection, vm: CIMInstanceName, disk: Path, target: Path) -> CIMInstance:
    """The VM's storage setting for `disk`, its HostResource set to `target`:
    where a move is asked to put the disk."""
    sasd = next(s for s in settings_of(conn, "Msvm_StorageAllocationSettingData", vm) if s["HostResource"] == [str(disk)])
    sasd["HostResource"] = [str(target)]
    return sasd


def move(conn: pywbem.WBEMConnection, vm: CIMInstanceName, sasd: CIMInstance, destination: str = "hostb",
         **settings: object) -> CIMInstance:
    """MigrateVirtualSystemToHost, the VM and its storage (and other
    migration `settings`); the finished job."""
    return migrate(conn, vm, destination, timeout=MOVE_SECONDS, resources=[sasd], MigrationType=WITH_STORAGE, **settings)


def can_move(conn: pywbem.WBEMConnection, vm: CIMInstanceName, destination: str, sasd: CIMInstance) -> tuple[bool, dict]:
    """CheckVirtualSystemIsMigratableToHost: IsMigratable, and the finished job."""
    conn.debug = True
    code, out = conn.InvokeMethod("CheckVirtualSystemIsMigratableToHost", migration_service(conn), ComputerSystem=vm,
                                  DestinationHost=destination,
                                  MigrationSettingData=migration_setting(conn, MigrationType=WITH_STORAGE).tocimxmlstr(),
                                  NewResourceSettingData=[sasd.tocimxmlstr()])
    assert int(code) == 4096
    # Read from the reply itself: pywbem 1.x turns a boolean output FALSE into True.
    movable = '<PARAMVALUE NAME="IsMigratable" PARAMTYPE="boolean"><VALUE>TRUE' in conn.last_raw_reply.decode()
    return movable, wait_job(conn, out["Job"])


def move_after_check(conn: pywbem.WBEMConnection, vm: CIMInstanceName, sasd: CIMInstance) -> CIMInstance:
    """The check says the VM can move to hostb, and it moves there; the finished job."""
    movable, checked = can_move(conn, vm, "hostb", sasd)
    assert movable and checked["JobState"] == 7, checked["ErrorDescription"]
    job = move(conn, vm, sasd)
    assert job["JobState"] == 7, job["ErrorDescription"]
    return job


def watch_state(conn: pywbem.WBEMConnection, vm: CIMInstanceName, shown: list[int], done: threading.Event) -> None:
    """Every EnabledState the destination shows the VM in until `done`."""
    while not done.is_set():
        try:
            shown.append(int(conn.GetInstance(vm, PropertyList=["EnabledState"])["EnabledState"]))
        except pywbem.CIMError as error:
            assert error.status_code == pywbem.CIM_ERR_NOT_FOUND, error
        done.wait(0.05)


def move_watched(hosts: TwoHosts, vm: CIMInstanceName, sasd: CIMInstance,
                 **settings: object) -> tuple[CIMInstance, list[int]]:
    """The move to hostb (with migration `settings`), and every EnabledState
    hostb showed the VM in while it arrived."""
    shown: list[int] = []
    done = threading.Event()
    watcher = threading.Thread(target=watch_state, args=(hosts.b.connection(NS, creds=ADMIN), vm, shown, done))
    watcher.start()
    try:
        job = move(hosts.a_conn, vm, sasd, **settings)
    finally:
        done.set()
        watcher.join()
    return job, shown


# --- snapshots -----------------------------------------------------------------


def snapshots_of(conn: pywbem.WBEMConnection, vm: CIMInstanceName) -> dict[str, CIMInstance]:
    """Each snapshot's ElementName → its settings, as a WMI client reads them."""
    found = {}
    for vssd in conn.Associators(vm, AssocClass="Msvm_SnapshotOfVirtualSystem", ResultClass="Msvm_VirtualSystemSettingData"):
        assert vssd["VirtualSystemType"] == "Microsoft:Hyper-V:Snapshot:Realized"
        found[vssd["ElementName"]] = vssd
    return found


def parent_name(conn: pywbem.WBEMConnection, snapshot: CIMInstanceName) -> list[str]:
    return [p["ElementName"] for p in conn.Associators(snapshot, AssocClass="Msvm_ParentChildSettingData", Role="Dependent",
                                                       ResultClass="Msvm_VirtualSystemSettingData")]


def snapshots_by_id(conn: pywbem.WBEMConnection, vm: CIMInstanceName) -> dict[str, CIMInstance]:
    """Each snapshot's InstanceID → its settings."""
    return {s["InstanceID"]: s for s in conn.Associators(vm, AssocClass="Msvm_SnapshotOfVirtualSystem",
                                                           ResultClass="Msvm_VirtualSystemSettingData")}


@dataclass
class Taken:
    """A standard snapshot of the counting guest, and its last tick before and after."""
    snapshot: CIMInstanceName
    before: int
    after: int


def take_while_counting(conn: pywbem.WBEMConnection, vm: CIMInstanceName, console: Path) -> Taken:
    """A standard snapshot (it keeps the memory) of the running guest; then
    the guest counts 3 more ticks, so its count runs past the snapshot's."""
    set_user_snapshot_type(conn, vm, STANDARD)
    before = ticks(console)[-1]
    snapshot = take(conn, vm)
    after = ticks(console)[-1]
    wait_for_console(console, rf"guest: tick {after + 3}\b", after=0)
    return Taken(snapshot, before, after)


def apply(conn: pywbem.WBEMConnection, snapshot: CIMInstanceName) -> None:
    """ApplySnapshot, finished."""
    code, out = conn.InvokeMethod("ApplySnapshot", snapshot_service(conn), Snapshot=snapshot)
    if code == 4096:
        job = wait_job(conn, out["Job"], MOVE_SECONDS)
        assert job["JobState"] == 7, job["ErrorDescription"]
    else:
        assert code == 0


def resumed_from(conn: pywbem.WBEMConnection, vm: CIMInstanceName, snapshot: CIMInstanceName, console: Path) -> tuple[int, int]:
    """The saved guest's snapshot applied and the guest started: the first
    tick it counts then, and its last tick before (from where it was saved)."""
    last = ticks(console)[-1]
    apply(conn, snapshot)
    offset = console.stat().st_size
    change_state(conn, vm, RUNNING)
    resumed = int(re.search(TICK, wait_for_console(console, TICK, after=offset)).group(1))
    return resumed, last


# --- images --------------------------------------------------------------------


def qemu_io(image: Path, command: str, fmt: str = "qcow2") -> None:
    subprocess.run(["qemu-io", "-f", fmt, "-c", command, str(image)], check=True, capture_output=True)


def write(image: Path, fmt: str, byte: int) -> None:
    """`byte` throughout the image's first MiB."""
    qemu_io(image, f"write -P {byte:#x} 0 1M", fmt)


def reads(image: Path, byte: int, offset: str = "0", shared: bool = False) -> bool:
    """Whether 1 MiB of the qcow2 image at `offset` holds `byte` throughout;
    `shared`, read while a guest runs on it."""
    share = ["-U", "-r"] if shared else []
    return subprocess.run(["qemu-io", *share, "-f", "qcow2", "-c", f"read -P {byte:#x} {offset} 1M", str(image)],
                          capture_output=True).returncode == 0


def backing_of(image: Path) -> str | None:
    """The file the image's header names as its backing file."""
    return image_info(image).get("backing-filename")


def image_info(image: Path, shared: bool = False) -> dict:
    """qemu-img info; `shared`, read while a guest runs on it."""
    share = ["-U"] if shared else []
    return json.loads(subprocess.run(["qemu-img", "info", *share, "--output=json", str(image)],
                                     capture_output=True, text=True, check=True).stdout)
