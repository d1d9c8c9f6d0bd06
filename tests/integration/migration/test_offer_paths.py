"""An offer names paths twice: as the files it carries (confined to the
destination's storage roots) and inside the VM it hands over (its drives'
media, its snapshots' disks, its memory images). The second must name
only the first: a drive whose medium is a host file outside the roots,
which no file of the offer brings, would give the adopted VM that file —
so an offer naming one is refused, with no token, naming the path."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from cimprovider.backends.simulated import SimulatedBackend
from cimprovider.schemas import ServerConfig, SystemSettings
from cimprovider.schemas.devices import Drive, Media
from cimprovider.schemas.migration import FileSlot, MigrationOffer
from tests.integration.migration.test_upload_channel import RECEIVER
from tests.integration.migration.two_hosts import destination_host


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory):
    with destination_host(tmp_path_factory.mktemp("offer-paths")) as b:
        yield b


def offer_with_disk(scratch: Path, medium: Path, carried: tuple[Path, ...]) -> MigrationOffer:
    backend = SimulatedBackend(ServerConfig(data_dir=scratch))
    try:
        record = backend.migration_record(backend.define_vm(SystemSettings(name=f"arriving-{uuid.uuid4().hex[:6]}")).id)
    finally:
        backend.close()
    controller = record.vm.controllers[0]
    drive = Drive(controller_id=controller.id, slot=0, media=Media(path=str(medium)))
    record = record.model_copy(update={"vm": record.vm.model_copy(update={"drives": (drive,)})})
    slots = tuple(FileSlot(path=str(p), size=0, sha256=hashlib.sha256(b"").hexdigest()) for p in carried)
    return MigrationOffer(source_host="peer", backend="simulated", record=record, files=slots)


def prepare(host, offer: MigrationOffer) -> tuple[int, dict]:
    code, out = host.conn.InvokeMethod("PrepareIncoming", RECEIVER, Offer=offer.model_dump_json(), CheckOnly=False)
    return int(code), dict(out)


def test_a_drive_naming_a_host_file_no_offered_file_brings_is_refused(host, tmp_path: Path):
    secret = tmp_path / "secret.vhd"
    secret.write_bytes(b"host data")
    code, out = prepare(host, offer_with_disk(tmp_path / "scratch", secret, ()))
    assert code == 32768 and out.get("Token") is None
    assert any(str(secret) in reason and "not among the files offered" in reason for reason in out["Reasons"]), out["Reasons"]


def test_a_drive_on_an_offered_file_is_taken(host, tmp_path: Path):
    carried = host.root / "offered" / f"{uuid.uuid4().hex}.vhd"
    code, out = prepare(host, offer_with_disk(tmp_path / "scratch", carried, (carried,)))
    assert code == 0 and out.get("Token"), out.get("Reasons")
    assert host.conn.InvokeMethod("AbortIncoming", RECEIVER, Token=out["Token"])[0] == 0


def domain(devices: str, extra: str = "") -> str:
    return (f"<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>arriving</name>"
            f"<memory unit='KiB'>1048576</memory><os><type>hvm</type></os><devices>{devices}</devices>{extra}</domain>")


CRAFTED = {
    "qemu command line": (domain("", "<qemu:commandline><qemu:arg value='-hda'/><qemu:arg value='/dev/sda'/>"
                                     "</qemu:commandline>"), "qemu/1.0"),
    "block device": (domain("<disk type='block' device='disk'><source dev='/dev/sda'/><target dev='vda'/></disk>"),
                     "block disk"),
    "host file": (domain("<disk type='file' device='disk'><source file='/etc/shadow'/><target dev='vda'/></disk>"),
                  "/etc/shadow"),
    "host pci device": (domain("<hostdev mode='subsystem' type='pci'><source><address domain='0' bus='3' slot='0' "
                               "function='0'/></source></hostdev>"), "<hostdev>"),
    "log file": (domain("<serial type='pty'><log file='/etc/motd'/></serial>"), "/etc/motd"),
}


@pytest.mark.parametrize("kind", CRAFTED)
def test_a_definition_reaching_past_the_offered_files_is_refused(host, tmp_path: Path, kind: str):
    carried = host.root / "defined" / f"{uuid.uuid4().hex}.qcow2"
    offer = offer_with_disk(tmp_path / "scratch", carried, (carried,))
    definition, named = CRAFTED[kind]
    offer = offer.model_copy(update={"record": offer.record.model_copy(update={"definition": definition})})
    code, out = prepare(host, offer)
    assert code == 32768 and out.get("Token") is None
    assert any(named in reason for reason in out["Reasons"]), out["Reasons"]


def test_a_definition_whose_disks_are_the_offered_files_is_taken(host, tmp_path: Path):
    carried = host.root / "defined" / f"{uuid.uuid4().hex}.qcow2"
    offer = offer_with_disk(tmp_path / "scratch", carried, (carried,))
    source = "/on/the/source/disk.qcow2"
    definition = domain(f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{source}'/>"
                        "<target dev='vda'/></disk><serial type='pty'/><disk type='file' device='cdrom'/>")
    record = offer.record.model_copy(update={"definition": definition, "placed_paths": {source: str(carried)}})
    code, out = prepare(host, offer.model_copy(update={"record": record}))
    assert code == 0 and out.get("Token"), out.get("Reasons")
    assert host.conn.InvokeMethod("AbortIncoming", RECEIVER, Token=out["Token"])[0] == 0
