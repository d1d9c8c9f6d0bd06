"""The VSSD's *DataRoot properties: where a VM's files go.

os-win sets all of them to the instance's folder when it defines a VM;
each is a client's path, so it is confined to the storage roots before it
is kept, and shown back as given. Unset ones show the host's default
folder, as Hyper-V shows its default paths."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cimprovider.backends.images import StorageRoots
from cimprovider.backends.images.errors import PathOutsideStorageError
from cimprovider.providers.virtualization.embedded import PropertyBag
from cimprovider.providers.virtualization.errors import invalid_parameter
from cimprovider.schemas.vm import VirtualMachine

# CIM property -> schema field
DATA_ROOTS = {
    "ConfigurationDataRoot": "configuration_data_root",
    "SnapshotDataRoot": "snapshot_data_root",
    "SuspendDataRoot": "suspend_data_root",
    "SwapFileDataRoot": "swap_file_data_root",
    "LogDataRoot": "log_data_root",
    "GuestStateDataRoot": "guest_state_data_root",
}


def read_data_roots(bag: PropertyBag, values: dict[str, Any], roots: Sequence[Path], shown: Mapping[str, Any]) -> None:
    """Each data root the client changed from what is `shown`, checked,
    into `values`; an empty string returns it to the default."""
    for prop, field in DATA_ROOTS.items():
        text = bag.text(prop)
        if text is None or text == shown.get(prop):
            continue  # sent back as shown (a host default may lie outside the roots)
        if not text:
            values[field] = None
            continue
        _confine(prop, text, roots)
        values[field] = text


def check_data_roots(vm: VirtualMachine, roots: Sequence[Path], source: str) -> None:
    """Each data root a VM comes with from a file (an import's definition,
    named by parameter `source`) lies inside the storage roots, as one a
    client sets must."""
    for prop, field in DATA_ROOTS.items():
        text = getattr(vm, field)
        if text and not (roots and text in StorageRoots(roots)):
            names = ", ".join(str(root) for root in roots)
            raise invalid_parameter(source, f"the virtual machine's {prop} {text} lies outside the storage roots ({names})")


def _confine(prop: str, text: str, roots: Sequence[Path]) -> None:
    if not roots:
        raise invalid_parameter(prop, "this host has no storage roots to keep virtual machine files in")
    try:
        StorageRoots(roots).confine(text, prop)
    except PathOutsideStorageError as error:
        raise invalid_parameter(prop, str(error).removeprefix(f"{prop}: ")) from None


def default_data_roots(default: str) -> dict[str, Any]:
    """What a new VM shows before a client sets any."""
    return {prop: default for prop in DATA_ROOTS}


def data_root_values(vm: VirtualMachine, default: str) -> dict[str, Any]:
    shown = {prop: getattr(vm, field) or default for prop, field in DATA_ROOTS.items()}
    shown["GuestStateDataRoot"] = vm.guest_state_data_root or (default if vm.generation == 2 else None)
    return shown
