"""The VM's display resolution on the domain's video device.

A maximum resolution becomes the video model's `<resolution>` (the mode
the display offers the guest first, through its EDID) with video memory
enough to drive it; the default resolution leaves the model as QEMU sets
it. QEMU cannot hold a guest to one single mode, so that is refused.
Read back from the running domain, that `<resolution>` is the mode its
display drives; read back from the definition, whoever wrote it (a `virsh
edit` too), it is the display setting: a maximum of that resolution, and
no `<resolution>` the default type."""

from __future__ import annotations

import logging

from lxml import etree
from pydantic import ValidationError

from cimprovider.backends.errors import InvalidParameterError
from cimprovider.schemas.vm import ResolutionType, SystemSettings, VirtualMachine

log = logging.getLogger(__name__)

_BYTES_PER_PIXEL = 4
_MIN_VRAM_KIB = 16384  # QEMU's VGA default


def video_memory_kib(width: int, height: int) -> int:
    """The power of two of KiB (QEMU's VGA wants one) that holds a 32-bit frame."""
    needed = width * height * _BYTES_PER_PIXEL // 1024
    size = _MIN_VRAM_KIB
    while size < needed:
        size *= 2
    return size


def write_display(devices: etree._Element, vm: VirtualMachine) -> None:
    if vm.display_resolution_type is ResolutionType.SINGLE:
        raise InvalidParameterError(
            "display_resolution_type", "QEMU cannot hold a guest to a single resolution; give a maximum or the default")
    model = devices.find("video/model")
    if vm.display_resolution_type is ResolutionType.DEFAULT:
        if model is not None:
            for old in model.findall("resolution"):
                model.remove(old)
        return
    if model is None:  # every Hyper-V VM has a display; give the domain one
        model = etree.SubElement(etree.SubElement(devices, "video"), "model", type="vga")
    width, height = vm.display_horizontal_resolution, vm.display_vertical_resolution
    resolution = model.find("resolution")
    if resolution is None:
        resolution = etree.SubElement(model, "resolution")
    resolution.set("x", str(width))
    resolution.set("y", str(height))
    if int(model.get("vram", "0")) < video_memory_kib(width, height):
        model.set("vram", str(video_memory_kib(width, height)))


def running_mode(live: etree._Element) -> tuple[int, int] | None:
    """The mode a running domain's display offers its guest, if its video
    model names one (without, QEMU picks its own and libvirt does not say)."""
    resolution = live.find("devices/video/model/resolution")
    if resolution is None:
        return None
    try:
        return int(resolution.get("x", "")), int(resolution.get("y", ""))
    except ValueError:
        return None


def defined_display(config: etree._Element) -> dict[str, object]:
    """The display setting the domain's definition holds, as settings
    fields over those our metadata keeps: the metadata's alone where the
    domain has no video model, or one whose mode the model cannot hold."""
    model = config.find("devices/video/model")
    if model is None:
        return {}
    resolution = model.find("resolution")
    if resolution is None:
        return {"display_resolution_type": ResolutionType.DEFAULT}
    try:
        width, height = int(resolution.get("x", "")), int(resolution.get("y", ""))
        SystemSettings(name="vm", display_horizontal_resolution=width, display_vertical_resolution=height)
    except (ValueError, ValidationError):
        log.warning("domain %s: its video resolution %s×%s is not one a Hyper-V display holds; showing the setting as last made",
                    config.findtext("name"), resolution.get("x"), resolution.get("y"))
        return {}
    return {"display_resolution_type": ResolutionType.MAXIMUM, "display_horizontal_resolution": width,
            "display_vertical_resolution": height}
