"""Tier 2: Msvm_VideoHead reports the mode a real guest's display is in
now, as QEMU shows it, not the mode its video model offers. The tiny
guest's kernel has no display driver, so its screen stays in the VGA text
mode SeaBIOS and the kernel's console set, whatever <resolution> the
domain's video model names (1600×900 here, offered to a driver that reads
the display's EDID); the mode is checked against libvirt's screenshot of
the screen, a reader of its own."""

from __future__ import annotations

import struct
import time
from uuid import UUID

import libvirt
from lxml import etree

from cimprovider.schemas import PowerState
from qemu_host import BOOT_SECONDS, URI, Host, host, libvirtd_in_use, shared_host  # noqa: F401 (fixtures)
from tests.integration.model.hyperv import NS
from tests.support.live import in_process_server

OFFERED = (1600, 900)


def screenshot_size(conn: libvirt.virConnect, domain: libvirt.virDomain) -> tuple[int, int]:
    """The size of the screen QEMU shows, from the header of libvirt's
    screenshot: a PNG's IHDR, or a PPM's "P6 W H 255"."""
    stream = conn.newStream(0)
    domain.screenshot(stream, 0, 0)
    header = b""
    while len(header) < 32:
        chunk = stream.recv(256)
        assert isinstance(chunk, bytes) and chunk, "the screenshot ended before its header"
        header += chunk
    stream.abort()
    if header.startswith(b"\x89PNG\r\n\x1a\n"):
        assert header[12:16] == b"IHDR", header[:16]
        return struct.unpack(">II", header[16:24])
    magic, width, height = header.split()[:3]
    assert magic == b"P6", header[:16]
    return int(width), int(height)


def offering(host: Host, domain: libvirt.virDomain) -> libvirt.virDomain:
    config = etree.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    etree.SubElement(config.find("devices/video/model"), "resolution", x=str(OFFERED[0]), y=str(OFFERED[1]))
    return host.conn.defineXML(etree.tostring(config, encoding="unicode"))


def head_mode(conn, vm_id: UUID) -> tuple[int, int]:
    guid = str(vm_id).upper()
    heads = [h for h in conn.EnumerateInstances("Msvm_VideoHead") if h["SystemName"] == guid]
    assert len(heads) == 1, heads
    return int(heads[0]["CurrentHorizontalResolution"]), int(heads[0]["CurrentVerticalResolution"])


def test_the_video_head_reports_the_mode_the_guest_runs_in(host: Host, tmp_path) -> None:
    domain = offering(host, host.define_guest("video-mode", interactive=True))
    vm_id = UUID(domain.UUIDString())
    domain.create()
    deadline = time.monotonic() + BOOT_SECONDS
    while host.backend.get_vm(vm_id).power_state is not PowerState.RUNNING:
        assert time.monotonic() < deadline, "the backend did not see the guest running"
        time.sleep(0.2)
    config = dict(backend="libvirt", libvirt_uri=URI, libvirt_domain_type="qemu", storage_roots=[host.workdir])
    with in_process_server(tmp_path / "data", **config) as live:
        conn = live.connection(NS)
        # The guest may still be changing modes as it boots: the readings agree once it settles.
        while True:
            shown = screenshot_size(host.conn, domain)
            reported, from_backend = head_mode(conn, vm_id), host.backend.guest_display_mode(vm_id)
            if reported == from_backend == shown == screenshot_size(host.conn, domain):
                break
            assert time.monotonic() < deadline, (reported, from_backend, shown)
            time.sleep(1)
        assert reported != OFFERED, "the video head reports the mode offered, not the one the guest runs in"
