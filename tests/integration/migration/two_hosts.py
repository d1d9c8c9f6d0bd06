"""Two cimprovider servers as two hosts on loopback, each with its own
data directory and storage root; the destination signs its clients in
(HTTP Basic, an admin user) and the source's peers file names it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pywbem
from pywbem import CIMInstance, CIMInstanceName

from cimprovider.http.auth import UsersFile
from tests.integration.model.hyperv import NS, wait_job
from tests.integration.storage.vhd_client import create
from tests.integration.storage.vm_client import vm_with_disk
from tests.support.live import LiveServer, in_process_server

ADMIN = ("migrator", "migrator-password")


@dataclass
class Host:
    live: LiveServer
    root: Path
    creds: tuple[str, str] | None = None

    @property
    def conn(self) -> pywbem.WBEMConnection:
        return self.live.connection(NS, creds=self.creds)


def write_users(path: Path) -> Path:
    UsersFile(path).add(ADMIN[0], ADMIN[1], "admin")
    return path


def write_peers(path: Path, peers: dict[str, tuple]) -> Path:
    """Each peer as (url, credentials or None[, its other addresses[, the
    hypervisor URI pinned for it]])."""
    lines: list[str] = []
    for name, (url, creds, *more) in peers.items():
        lines += [f"[peers.{name}]", f'url = "{url}"']
        if creds:
            lines += [f'user = "{creds[0]}"', f'password = "{creds[1]}"']
        if more and more[0]:
            lines.append("addresses = [" + ", ".join(f'"{a}"' for a in more[0]) + "]")
        if len(more) > 1 and more[1]:
            lines.append(f'hypervisor_uri = "{more[1]}"')
    path.write_text("\n".join(lines) + "\n")
    return path


@contextmanager
def destination_host(base: Path, shared: tuple[Path, ...] = (), **config: object) -> Iterator[Host]:
    """`shared`: storage roots hostb has besides its own (storage both hosts see, at the same paths)."""
    root = base / "b-storage"
    with in_process_server(base / "b-data", storage_roots=[root, *shared], users_file=write_users(base / "b-users.json"),
                           host_name="hostb", **config) as live:
        yield Host(live, root, ADMIN)


@contextmanager
def source_host(base: Path, destination_url: str, more_peers: dict | None = None,
                destination_addresses: tuple[str, ...] = (), shared: tuple[Path, ...] = (),
                **config: object) -> Iterator[Host]:
    root = base / "a-storage"
    peers = write_peers(base / "a-peers.toml", {"hostb": (destination_url, ADMIN, destination_addresses), **(more_peers or {})})
    with in_process_server(base / "a-data", storage_roots=[root, *shared], peers_file=peers, host_name="hosta", **config) as live:
        yield Host(live, root)


def vm_with_new_disk(host: Host, folder: str, vm_name: str) -> tuple[CIMInstanceName, Path]:
    """A VM on `host`, off, with a new VHD in a folder of its storage root:
    (the VM, the image)."""
    image = host.root / folder / f"{folder}.vhd"
    image.parent.mkdir()
    create(host.conn, image)
    return vm_with_disk(host.conn, vm_name, image), image


@contextmanager
def source_and_destination(base: Path, shared: tuple[Path, ...] = ()) -> Iterator[tuple[Host, Host]]:
    """hosta, whose peers file names hostb, and hostb; each with the
    `shared` storage roots besides its own."""
    with destination_host(base, shared) as b, source_host(base, b.live.url, shared=shared) as a:
        yield a, b


def migration_service(conn: pywbem.WBEMConnection) -> CIMInstanceName:
    return conn.EnumerateInstanceNames("Msvm_VirtualSystemMigrationService")[0]


def migration_setting(conn: pywbem.WBEMConnection, migration_type: int = 32771, **values: object) -> CIMInstance:
    found = conn.ExecQuery("WQL", f"SELECT * FROM Msvm_VirtualSystemMigrationSettingData WHERE MigrationType = '{migration_type}'", NS)
    setting = found[0]
    for name, value in values.items():
        setting[name] = value
    return setting


def migrate(conn: pywbem.WBEMConnection, vm: CIMInstanceName, destination: str, timeout: float = 60,
            resources: list[CIMInstance] | None = None, **settings: object) -> CIMInstance:
    """MigrateVirtualSystemToHost as os-win calls it; the finished job."""
    code, out = conn.InvokeMethod(
        "MigrateVirtualSystemToHost", migration_service(conn), ComputerSystem=vm, DestinationHost=destination,
        MigrationSettingData=migration_setting(conn, **settings).tocimxmlstr(),
        NewResourceSettingData=[r.tocimxmlstr() for r in resources or []],
    )
    assert int(code) == 4096, code
    return wait_job(conn, out["Job"], timeout)


def exists(conn: pywbem.WBEMConnection, vm: CIMInstanceName) -> bool:
    try:
        conn.GetInstance(vm, PropertyList=["Name"])
    except pywbem.CIMError as error:
        assert error.status_code == 6
        return False
    return True


def wait_until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still not {what}"
        time.sleep(0.05)
