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


def with_os(boot: str) -> str:
    return domain("").replace("<type>hvm</type>", f"<type>hvm</type>{boot}")


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
    "serial port to a host file": (domain("<serial type='file'><source path='/etc/motd'/></serial>"),
                                   "/etc/motd for its <serial type='file'>"),
    "console on a host device": (domain("<console type='dev'><source path='/dev/sda'/></console>"),
                                 "/dev/sda for its <console type='dev'>"),
    "channel to a host socket": (domain("<channel type='unix'><source mode='connect' path='/run/libvirt/libvirt-sock'/>"
                                        "<target type='virtio' name='x'/></channel>"), "/run/libvirt/libvirt-sock"),
    "kernel": (with_os("<kernel>/etc/shadow</kernel>"), "/etc/shadow for its <kernel>"),
    "initrd": (with_os("<initrd>/etc/shadow</initrd>"), "/etc/shadow for its <initrd>"),
    "writable loader": (with_os("<loader type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>"), "for its <loader>"),
    "loader outside the firmware": (with_os("<loader readonly='yes' type='pflash'>/etc/shadow</loader>"), "<loader>"),
    "another VM's variable store": (with_os("<nvram>/var/lib/libvirt/qemu/nvram/other_VARS.fd</nvram>"),
                                    "other_VARS.fd for its <nvram>"),
    "variable store template": (with_os("<nvram template='/etc/shadow'>/var/lib/libvirt/qemu/nvram/arriving_VARS.fd"
                                        "</nvram>"), "/etc/shadow for its <nvram> template"),
    "display socket": (domain("<graphics type='vnc' socket='/etc/passwd'/>"), "host socket /etc/passwd"),
    "display listening on a socket": (domain("<graphics type='spice'><listen type='socket' socket='/etc/passwd'/>"
                                             "</graphics>"), "<graphics type='spice'> listens on the host socket /etc/passwd"),
    "host tpm": (domain("<tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>"),
                 "host's TPM device /dev/tpm0"),
    "external tpm socket": (domain("<tpm model='tpm-crb'><backend type='external'><source type='unix' mode='connect' "
                                   "path='/run/swtpm.sock'/></backend></tpm>"), "/run/swtpm.sock"),
    "random source on a host file": (domain("<rng model='virtio'><backend model='random'>/etc/shadow</backend></rng>"),
                                     "<rng> reads the host file /etc/shadow"),
    "entropy daemon socket": (domain("<rng model='virtio'><backend model='egd' type='unix'><source mode='connect' "
                                     "path='/run/egd'/></backend></rng>"), "/run/egd"),
    "host keyboard": (domain("<input type='passthrough' bus='virtio'><source evdev='/dev/input/event0'/></input>"),
                      "input device /dev/input/event0"),
    "host input device": (domain("<input type='evdev'><source dev='/dev/input/event1' grab='all'/></input>"),
                          "input device /dev/input/event1"),
    "network script": (domain("<interface type='ethernet'><script path='/tmp/run-me'/></interface>"),
                       "host program /tmp/run-me"),
    "vhost-user socket": (domain("<interface type='vhostuser'><source type='unix' path='/run/vhost.sock' "
                                 "mode='client'/><model type='virtio'/></interface>"), "/run/vhost.sock"),
    "nvdimm on a host file": (domain("<memory model='nvdimm'><source><path>/etc/shadow</path></source><target>"
                                     "<size unit='KiB'>524288</size></target></memory>"), "host file /etc/shadow"),
    "acpi table": (with_os("<acpi><table type='slic'>/etc/shadow</table></acpi>"), "ACPI table from the host file"),
    "fw_cfg from a host file": (domain("", "<sysinfo type='fwcfg'><entry name='opt/x' file='/etc/shadow'/></sysinfo>"),
                                "<sysinfo type='fwcfg'> reads the host file /etc/shadow"),
    "sound to a host file": (domain("<audio id='1' type='file' path='/etc/motd'/>"), "writes to the host file /etc/motd"),
    "host sound device": (domain("<audio id='1' type='oss'><input dev='/dev/dsp'/></audio>"), "sound device /dev/dsp"),
    "qemu unconfined": (domain("", "<seclabel type='none'/>"), "confined: <seclabel type='none'>"),
    "qemu as root": (domain("", "<seclabel type='static' model='dac' relabel='yes'><label>+0:+0</label></seclabel>"),
                     "<seclabel type='static'> of model dac"),
    "a label without a type": (domain("", "<seclabel model='dac'><label>+0:+0</label></seclabel>"),
                               "<seclabel> with a label but no type of model dac"),
    "a base label": (domain("", "<seclabel type='dynamic' model='selinux'><baselabel>system_u:system_r:unconfined_t:s0"
                                "</baselabel></seclabel>"), "<baselabel> system_u:system_r:unconfined_t:s0"),
    "files left unlabelled": (domain("", "<seclabel type='dynamic' model='dac' relabel='no'/>"),
                              "<seclabel relabel='no'> of model dac"),
    "a disk's own label": (domain("<disk type='file' device='disk'><source file='/x.qcow2'><seclabel model='dac' "
                                  "relabel='yes'><label>+0:+0</label></seclabel></source><target dev='vda'/></disk>"),
                           "a <seclabel> of its own on <disk>"),
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
    # With what libvirt writes into a running VM's definition by itself:
    # the console's display without a socket, the kernel's random source,
    # an emulated TPM, default input and sound, a dynamic security label.
    definition = domain(f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{source}'/>"
                        "<target dev='vda'/></disk><serial type='pty'/><disk type='file' device='cdrom'/>"
                        "<graphics type='vnc' port='-1' autoport='yes'><listen type='none'/></graphics>"
                        "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>"
                        "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>"
                        "<input type='mouse' bus='ps2'/><input type='keyboard' bus='ps2'/><audio id='1' type='none'/>",
                        "<sysinfo type='smbios'><system><entry name='serial'>0123</entry></system></sysinfo>"
                        # A saved VM's label: dynamic, so made anew by the destination's libvirt.
                        "<seclabel type='dynamic' model='dac' relabel='yes'><label>+64055:+64055</label>"
                        "<imagelabel>+64055:+64055</imagelabel></seclabel>")
    record = offer.record.model_copy(update={"definition": definition, "placed_paths": {source: str(carried)}})
    code, out = prepare(host, offer.model_copy(update={"record": record}))
    assert code == 0 and out.get("Token"), out.get("Reasons")
    assert host.conn.InvokeMethod("AbortIncoming", RECEIVER, Token=out["Token"])[0] == 0


def test_boot_firmware_and_console_files_the_destination_allows_are_taken(host, tmp_path: Path):
    """In its storage roots, or the host's own firmware and the variable
    store libvirt keeps for the VM (as a generation 2 VM names them)."""
    carried = host.root / "defined" / f"{uuid.uuid4().hex}.qcow2"
    offer = offer_with_disk(tmp_path / "scratch", carried, (carried,))
    boot = (f"<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>"
            f"<nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/var/lib/libvirt/qemu/nvram/arriving_VARS.fd</nvram>"
            f"<kernel>{host.root}/boot/vmlinuz</kernel><initrd>{host.root}/boot/initrd</initrd>")
    definition = with_os(boot).replace("</devices>", f"<serial type='file'><source path='{host.root}/console.log'/>"
                                       "</serial><channel type='unix'><source mode='bind' path='/var/lib/libvirt/qemu/"
                                       "channel/target/org.qemu.guest_agent.0'/><target type='virtio'/></channel></devices>")
    code, out = prepare(host, offer.model_copy(update={"record": offer.record.model_copy(update={"definition": definition})}))
    assert code == 0 and out.get("Token"), out.get("Reasons")
    assert host.conn.InvokeMethod("AbortIncoming", RECEIVER, Token=out["Token"])[0] == 0


def test_a_folder_the_configuration_allows_is_taken_for_a_kernel_and_console(tmp_path: Path):
    allowed = tmp_path / "guests"
    with destination_host(tmp_path / "allowing", migration_host_paths=[allowed]) as b:
        carried = b.root / "defined" / f"{uuid.uuid4().hex}.qcow2"
        offer = offer_with_disk(tmp_path / "scratch", carried, (carried,))
        definition = with_os(f"<kernel>{allowed}/vmlinuz</kernel>").replace(
            "</devices>", f"<serial type='file'><source path='{allowed}/console.log'/></serial></devices>")
        record = offer.record.model_copy(update={"definition": definition})
        code, out = prepare(b, offer.model_copy(update={"record": record}))
        assert code == 0 and out.get("Token"), out.get("Reasons")
        assert b.conn.InvokeMethod("AbortIncoming", RECEIVER, Token=out["Token"])[0] == 0
        outside = with_os(f"<kernel>{tmp_path}/vmlinuz</kernel>")
        code, out = prepare(b, offer.model_copy(update={"record": offer.record.model_copy(update={"definition": outside})}))
        assert code == 32768 and any(f"{tmp_path}/vmlinuz for its <kernel>" in r for r in out["Reasons"]), out["Reasons"]
