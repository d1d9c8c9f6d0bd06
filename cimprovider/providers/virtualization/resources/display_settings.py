"""The display controller's settings (Msvm_SyntheticDisplayControllerSettingData).

Every VM has one display controller, as on Hyper-V: synthetic on
generation 2, S3 on generation 1. It is neither added nor removed; its
resolution (ResolutionType, HorizontalResolution, VerticalResolution) is
kept with the VM's settings, so changing it is a change of those."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from pydantic import ValidationError

from cimprovider.backends import Backend, InvalidParameterError
from cimprovider.providers.virtualization import kinds
from cimprovider.providers.virtualization.embedded import PropertyBag
from cimprovider.providers.virtualization.errors import INVALID_PARAMETER, MethodFailure, invalid_parameter
from cimprovider.providers.virtualization.kinds import ResourceKind
from cimprovider.schemas.base import describe_validation_error
from cimprovider.schemas.vm import ResolutionType, SystemSettings

_DISPLAY_IDS = UUID("0e6a3c4d-5b1f-4c1e-9a7d-2f0d6c8b1a53")  # names each VM's display devices
# Hyper-V's ResolutionType values.
RESOLUTION_TYPES = {ResolutionType.MAXIMUM: 2, ResolutionType.SINGLE: 3, ResolutionType.DEFAULT: 4}
_BY_CODE = {code: kind for kind, code in RESOLUTION_TYPES.items()}
DEFAULT_RESOLUTION = (1024, 768)  # Hyper-V's, for the default resolution type
_FIELDS = {
    "display_resolution_type": "ResolutionType",
    "display_horizontal_resolution": "HorizontalResolution",
    "display_vertical_resolution": "VerticalResolution",
}


def display_guid(vm_id: UUID, part: str) -> UUID:
    """The GUID of a VM's display controller ("controller") or video head ("head")."""
    return uuid5(_DISPLAY_IDS, f"{vm_id}/{part}")


def display_kind(generation: int) -> ResourceKind:
    return kinds.SYNTHETIC_DISPLAY if generation == 2 else kinds.S3_DISPLAY


def display_name(generation: int) -> str:
    return "Microsoft Synthetic Display Controller" if generation == 2 else "Microsoft S3 Display Controller"


def resolution_values(settings: SystemSettings) -> dict[str, Any]:
    return {
        "ResolutionType": RESOLUTION_TYPES[settings.display_resolution_type],
        "HorizontalResolution": settings.display_horizontal_resolution,
        "VerticalResolution": settings.display_vertical_resolution,
    }


def setting_mode(settings: SystemSettings) -> tuple[int, int]:
    """The mode a display set so starts its guest in: the default type's
    1024×768 (its resolution is ignored), or the resolution given, which a
    maximum offers first and a single one is held to."""
    if settings.display_resolution_type is ResolutionType.DEFAULT:
        return DEFAULT_RESOLUTION
    return settings.display_horizontal_resolution, settings.display_vertical_resolution


def changed_display(bag: PropertyBag, settings: SystemSettings) -> SystemSettings:
    """`settings` with the resolution the client's setting asks for."""
    values = settings.model_dump()
    code = bag.integer("ResolutionType")
    if code is not None:
        if code not in _BY_CODE:
            raise invalid_parameter("ResolutionType", f"{code} is not 2 (maximum), 3 (single) or 4 (default)")
        values["display_resolution_type"] = _BY_CODE[code]
    for prop, field in (("HorizontalResolution", "display_horizontal_resolution"), ("VerticalResolution", "display_vertical_resolution")):
        number = bag.integer(prop)
        if number is not None:
            values[field] = number
    try:
        return SystemSettings.model_validate(values)
    except ValidationError as error:
        problems = describe_validation_error(error)
        text = "; ".join(f"{_FIELDS.get(field.split('.')[0], field)}: {message}" for field, message in problems)
        raise MethodFailure(INVALID_PARAMETER, text) from None


def store_display(backend: Backend, vm_id: UUID, settings: SystemSettings) -> None:
    """Keep the display's settings; a backend's refusal names the CIM property."""
    try:
        backend.modify_vm(vm_id, settings)
    except InvalidParameterError as error:
        raise MethodFailure(INVALID_PARAMETER, f"{_FIELDS.get(error.field, error.field)}: {error.reason}") from None
