"""The paths inside an offer's VM (its drives' media, its snapshots'
drives and disks, its memory images, the placements of the hypervisor's
description) must each be a file the offer carries or a disk the
hypervisor brings: those are the paths confined to the storage roots when
the offer is checked. Anything else the adopted VM would name — a host
file, a device — no one vetted, so the offer is refused naming it."""

from __future__ import annotations

from cimprovider.schemas.migration import MigrationOffer
from cimprovider.schemas.vm import VirtualMachine


def _media(vm: VirtualMachine) -> list[str]:
    return [drive.media.path for drive in vm.drives if drive.media is not None]


def named_paths(offer: MigrationOffer) -> list[str]:
    """Every path the offered VM's record names, in a stable order."""
    record = offer.record
    named = _media(record.vm)
    for snapshot in record.snapshots:
        named += _media(snapshot.vm) + list(snapshot.frozen_disks)
    named += list(record.snapshot_disks) + list(record.snapshot_memory) + list(record.placed_paths.values())
    if record.saved_state is not None:
        named.append(record.saved_state)
    return list(dict.fromkeys(named))


def unoffered_path_reasons(offer: MigrationOffer) -> list[str]:
    offered = {slot.path for slot in offer.files} | {disk.path for disk in offer.disks}
    return [f"{path}: the VM names this file but it is not among the files offered (nor a disk the hypervisor brings)"
            for path in named_paths(offer) if path not in offered]
