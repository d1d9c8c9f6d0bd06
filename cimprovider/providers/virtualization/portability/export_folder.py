"""The folder ExportSystemDefinition writes and ImportSystemDefinition
reads, in hypervisor terms (no CIM here).

Hyper-V writes `Virtual Machines/<GUID>.vmcx` (a binary format of its
own), `Virtual Hard Disks/` and `Snapshots/`. We keep the layout and write
the configuration as JSON of our schema models, versioned:

    <folder>/Virtual Machines/<GUID>.json   {"format": FORMAT, "version": 1,
                                              "exported_at": …, "vm": VirtualMachine}
    <folder>/Virtual Hard Disks/<disk>.vhd  standalone copies (chains flattened)
    <folder>/Virtual Hard Disks/<disk>_<SNAPGUID>.vhd  a snapshot's disk, flattened
    <folder>/Snapshots/<GUID>.json          {"format": …, "version": 1, "snapshot": Snapshot}

A disk's media path in the file is relative to the folder and always
`Virtual Hard Disks/<name>`; nothing else may be referenced. The VM's
document may name `current_snapshot` (the snapshot its state grew from).

Each snapshot's frozen disks are exported flattened, one standalone copy
per snapshot, rather than as a chain with rewritten parent links: a copy
costs more space, but an importer then never follows a parent locator
written by someone else, and one snapshot exported alone (option 2)
needs nothing else. Its drives and `frozen_disks` name those copies.

Reading trusts nothing: the file is a regular file of bounded size, the
format and version are known ones, the model validates, and every media
path is relative, stays in the folder without `..` or symlinks, and names
a regular file."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from cimprovider.schemas.base import validation_message
from cimprovider.schemas.devices import Drive
from cimprovider.schemas.snapshots import Snapshot
from cimprovider.schemas.vm import VirtualMachine

FORMAT = "cimprovider.virtual-machine"
VERSION = 1
CONFIGURATION_FOLDER = "Virtual Machines"
DISK_FOLDER = "Virtual Hard Disks"
SNAPSHOT_FOLDER = "Snapshots"
MAX_DEFINITION_BYTES = 4 * 1024 * 1024
_UNSAFE_NAME = str.maketrans({c: "_" for c in '<>:"/\\|?*\0'})


class DefinitionError(Exception):
    """The folder or its configuration cannot be used; `parameter` is the
    method parameter at fault, `missing` tells 'file not found' (32779)
    from 'invalid' (32773)."""

    def __init__(self, parameter: str, message: str, missing: bool = False) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.missing = missing


@dataclass(frozen=True)
class Definition:
    folder: Path
    file: Path
    vm: VirtualMachine  # media paths made absolute (inside `folder`)
    current_snapshot: UUID | None = None


def folder_name(vm_name: str) -> str:
    """The subfolder an export gets: the VM's name made safe as one path
    component (a name may hold `/` or be `..`)."""
    name = vm_name.translate(_UNSAFE_NAME).strip().strip(".")
    return name or "Virtual Machine"


def _with_copies(vm: VirtualMachine, disk_names: dict[str, str]) -> VirtualMachine:
    drives = []
    for drive in vm.drives:
        name = disk_names.get(str(drive.id))
        # The copy is the disk from now on: the file once attached is this host's business only.
        media = drive.media.replace(path=f"{DISK_FOLDER}/{name}", attached_path=None) if drive.media and name else None
        drives.append(drive.replace(media=media))
    return vm.model_copy(update={"drives": tuple(drives)})


def definition_document(vm: VirtualMachine, disk_names: dict[str, str], current_snapshot: UUID | None = None) -> dict[str, Any]:
    """The configuration of `vm`; `disk_names` maps a drive id to its copy's
    file name, and drives without one are written empty."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": datetime.now(timezone.utc).isoformat(),
        "vm": json.loads(_with_copies(vm, disk_names).model_dump_json()),
        "current_snapshot": str(current_snapshot) if current_snapshot else None,
    }


def snapshot_document(snapshot: Snapshot, disk_names: dict[str, str], exported: set[UUID]) -> dict[str, Any]:
    """A snapshot whose drives name their copies (`disk_names`: drive id ->
    file name); its parent is dropped unless it is `exported` too."""
    vm = _with_copies(snapshot.vm, disk_names)
    frozen = tuple(d.media.path for d in vm.drives if d.media is not None)
    parent = snapshot.parent_id if snapshot.parent_id in exported else None
    bare = snapshot.model_copy(update={"vm": vm, "frozen_disks": frozen, "parent_id": parent})
    return {"format": FORMAT, "version": VERSION, "snapshot": json.loads(bare.model_dump_json())}


def write_json(path: Path, document: dict[str, Any]) -> None:
    with open(path, "x", encoding="utf-8") as out:
        json.dump(document, out, indent=2)
        out.flush()
        os.fsync(out.fileno())


# --- reading -------------------------------------------------------------------


def read_definition(file: Path) -> Definition:
    """The checked definition in `file` (an absolute path already confined
    to the storage roots). Raises DefinitionError."""
    parameter = "SystemDefinitionFile"
    document = _load_json(file, parameter)
    body = document.get("vm")
    if not isinstance(body, dict):
        raise DefinitionError(parameter, f"{file} has no 'vm' object")
    try:
        vm = VirtualMachine.model_validate(body)
    except ValidationError as error:
        raise DefinitionError(parameter, f"{file}: {validation_message(error)}") from None
    folder = file.parent.parent if file.parent.name == CONFIGURATION_FOLDER else file.parent
    drives = tuple(_checked_drive(drive, folder, index) for index, drive in enumerate(vm.drives))
    current = document.get("current_snapshot")
    try:
        current_id = UUID(current) if current is not None else None
    except (TypeError, ValueError, AttributeError):
        raise DefinitionError(parameter, f"{file}: current_snapshot {current!r} is not a GUID") from None
    return Definition(folder, file, vm.model_copy(update={"drives": drives}), current_id)


def read_snapshot(file: Path, folder: Path) -> Snapshot:
    """The snapshot in `file`, its drives' media and frozen disks checked
    as a definition's are and made absolute inside the export `folder`."""
    document = _load_json(file, "SnapshotFolder")
    try:
        snapshot = Snapshot.model_validate(document.get("snapshot"))
    except ValidationError as error:
        raise DefinitionError("SnapshotFolder", f"{file}: {validation_message(error)}") from None
    try:
        checked = {d.media.path: _checked_drive(d, folder, i).media.path  # type: ignore[union-attr]
                   for i, d in enumerate(snapshot.vm.drives) if d.media is not None}  # fmt: skip
    except DefinitionError as error:
        raise DefinitionError("SnapshotFolder", f"{file}: {error}", error.missing) from None
    unknown = [p for p in snapshot.frozen_disks if p not in checked]
    if unknown:
        raise DefinitionError("SnapshotFolder", f"{file}: frozen disk {unknown[0]!r} is not the media of one of its drives")
    drives = tuple(d.replace(media=d.media.replace(path=checked[d.media.path])) if d.media else d for d in snapshot.vm.drives)
    return snapshot.model_copy(update={"vm": snapshot.vm.model_copy(update={"drives": drives}),
                                       "frozen_disks": tuple(checked[p] for p in snapshot.frozen_disks)})  # fmt: skip


def _load_json(file: Path, parameter: str) -> dict[str, Any]:
    try:
        info = os.lstat(file)
    except FileNotFoundError:
        raise DefinitionError(parameter, f"{file}: no such file", missing=True) from None
    except OSError as error:
        raise DefinitionError(parameter, f"{file}: {error.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise DefinitionError(parameter, f"{file} is a symbolic link; an export folder holds plain files only")
    if not stat.S_ISREG(info.st_mode):
        raise DefinitionError(parameter, f"{file} is not a regular file")
    if info.st_size > MAX_DEFINITION_BYTES:
        raise DefinitionError(parameter, f"{file} is larger than {MAX_DEFINITION_BYTES} bytes")
    try:
        with open(file, "rb") as source:
            document = json.loads(source.read(MAX_DEFINITION_BYTES + 1).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DefinitionError(parameter, f"{file} is not a configuration file (truncated or corrupt: {error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DefinitionError(parameter, f"{file} is not a {FORMAT} configuration file")
    version = document.get("version")
    if version != VERSION or isinstance(version, bool):
        raise DefinitionError(parameter, f"{file} has format version {version!r}; this server reads version {VERSION}")
    return document


def _checked_drive(drive: Drive, folder: Path, index: int) -> Drive:
    if drive.media is None:
        return drive
    field = f"drives[{index}].media.path"
    text = drive.media.path
    relative = PurePosixPath(text)
    if "\\" in text or relative.is_absolute() or (len(text) > 1 and text[1] == ":"):
        raise DefinitionError("SystemDefinitionFile", f"{field}: {text!r} is not a path relative to the export folder")
    if any(part in ("..", ".", "") for part in text.split("/")):
        raise DefinitionError("SystemDefinitionFile", f"{field}: {text!r} leaves or winds through the export folder")
    if len(relative.parts) != 2 or relative.parts[0] != DISK_FOLDER:
        raise DefinitionError("SystemDefinitionFile", f"{field}: {text!r} is not a file in {DISK_FOLDER!r}")
    current = folder
    for part in relative.parts:
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            raise DefinitionError("SystemDefinitionFile", f"{field}: {current} does not exist", missing=True) from None
        if stat.S_ISLNK(info.st_mode):
            raise DefinitionError("SystemDefinitionFile", f"{field}: {current} is a symbolic link")
    if not stat.S_ISREG(os.lstat(current).st_mode):
        raise DefinitionError("SystemDefinitionFile", f"{field}: {current} is not a regular file")
    # A path the file names beyond its own disks (attached_path) is not believed.
    return drive.replace(media=drive.media.replace(path=str(current), attached_path=None))
