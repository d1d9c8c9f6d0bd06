"""Msvm_VirtualHardDiskSettingData and Msvm_VirtualHardDiskState in and out
of the image layer's terms (msvm-v2.md §2 VHDSD).

In: Type 2 fixed / 3 dynamic / 4 differencing, Format 2 VHD / 3 VHDX
(VHDSet 4 is refused), sizes as uint64 or as the strings WMI writes. Out:
the same numbers; qcow2 and raw, which Hyper-V has no number for, show as
Format 0 (Unknown). Every refusal is 32773 naming the CIM property, not the
schema field behind it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pywbem import CIMInstance

from cimprovider.backends.images import ImageError, InvalidImageParameterError
from cimprovider.providers.virtualization.embedded import PropertyBag
from cimprovider.providers.virtualization.errors import MethodFailure, hyperv_code, invalid_parameter
from cimprovider.providers.virtualization.render import Renderer
from cimprovider.providers.virtualization.systems.settings import named_failure
from cimprovider.schemas.images import (
    VirtualHardDiskFormat,
    VirtualHardDiskSettings,
    VirtualHardDiskState,
    VirtualHardDiskType,
)

VHDSD = "Msvm_VirtualHardDiskSettingData"
VHD_STATE = "Msvm_VirtualHardDiskState"

TYPES = {VirtualHardDiskType.FIXED: 2, VirtualHardDiskType.DYNAMIC: 3, VirtualHardDiskType.DIFFERENCING: 4}
FORMATS = {VirtualHardDiskFormat.VHD: 2, VirtualHardDiskFormat.VHDX: 3}
VHDSET = 4

# Schema field (and the image layer's parameter names) -> the CIM name a
# client wrote.
FIELD_PROPERTIES = {
    "type": "Type",
    "format": "Format",
    "path": "Path",
    "parent_path": "ParentPath",
    "max_internal_size": "MaxInternalSize",
    "block_size": "BlockSize",
    "logical_sector_size": "LogicalSectorSize",
    "physical_sector_size": "PhysicalSectorSize",
    "source_path": "SourcePath",
    "destination_path": "DestinationPath",
    "child_path": "ChildPath",
    "destination": "DestinationPath",
    "source": "SourcePath",
}


def settings_from_bag(bag: PropertyBag, defaults: dict[str, Any] | None = None) -> VirtualHardDiskSettings:
    """The disk a VHDSD describes; `defaults` fill what the client left out
    (a conversion takes the source's size)."""
    values: dict[str, Any] = dict(defaults or {})
    kind = bag.integer("Type")
    if kind is not None:
        values["type"] = _code(kind, TYPES, "Type")
    fmt = bag.integer("Format")
    if fmt == VHDSET:
        raise invalid_parameter("Format", "VHD Set files (4) are not supported; use 2 (VHD) or 3 (VHDX)")
    if fmt is not None:
        values["format"] = _code(fmt, FORMATS, "Format")
    for prop, field in (("Path", "path"), ("ParentPath", "parent_path")):
        text = bag.text(prop)
        if text:
            values[field] = Path(text)
    for prop, field in (
        ("MaxInternalSize", "max_internal_size"),
        ("BlockSize", "block_size"),
        ("LogicalSectorSize", "logical_sector_size"),
        ("PhysicalSectorSize", "physical_sector_size"),
    ):
        number = bag.integer(prop)
        if number:  # 0 means "the default", as Hyper-V reads it
            values[field] = number
    for prop, field in (("Type", "type"), ("Format", "format"), ("Path", "path")):
        if field not in values:
            raise invalid_parameter(prop, "is required")
    try:
        return VirtualHardDiskSettings.model_validate(values)
    except ValidationError as error:
        raise named_failure(error, FIELD_PROPERTIES) from None


def _code(number: int, table: dict[Any, int], prop: str) -> Any:
    reverse = {code: value for value, code in table.items()}
    if number not in reverse:
        raise invalid_parameter(prop, f"{number} is not one of {sorted(reverse)}")
    return reverse[number]


def settings_instance(renderer: Renderer, settings: VirtualHardDiskSettings) -> CIMInstance:
    return renderer.embedded(
        VHDSD,
        {
            "InstanceID": f"Microsoft:{settings.path}",
            "ElementName": settings.path.name,
            "Type": TYPES[settings.type],
            "Format": FORMATS.get(settings.format, 0),
            "Path": str(settings.path),
            "ParentPath": str(settings.parent_path) if settings.parent_path else None,
            "MaxInternalSize": settings.max_internal_size,
            "BlockSize": settings.block_size,
            "LogicalSectorSize": settings.logical_sector_size,
            "PhysicalSectorSize": settings.physical_sector_size,
        },
        only_given=True,
    )


def state_instance(renderer: Renderer, state: VirtualHardDiskState) -> CIMInstance:
    return renderer.embedded(
        VHD_STATE,
        {
            "FileSize": state.file_size,
            "InUse": state.in_use,
            "MinInternalSize": state.min_internal_size,
            "PhysicalSectorSize": state.physical_sector_size,
            "Alignment": state.alignment,
            "FragmentationPercentage": state.fragmentation_percent,
        },
        only_given=True,
    )


def named_image_failure(error: BaseException, renames: dict[str, str] | None = None) -> tuple[int, str]:
    """(code, message) for a failure, with the image layer's field names
    turned into the method's parameter or property names."""
    code, message = hyperv_code(error)
    if isinstance(error, InvalidImageParameterError):
        table = {**FIELD_PROPERTIES, **(renames or {})}
        message = f"{table.get(error.field, error.field)}: {error.reason}"
    elif isinstance(error, ImageError) and not isinstance(error, MethodFailure):
        message = str(error)
    return code, message
