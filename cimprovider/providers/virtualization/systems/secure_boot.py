"""Secure boot templates as Hyper-V names them: a read-only VSSD per
template (ElementName MicrosoftWindows, MicrosoftUEFICertificateAuthority)
whose SecureBootTemplateId a client copies into a VM's settings — os-win
looks the Certificate Authority one up by ElementName — and the reading of
a client's SecureBootTemplateId onto a VM."""

from __future__ import annotations

from typing import Any

from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.embedded import PropertyBag
from cimprovider.providers.virtualization.errors import invalid_parameter
from cimprovider.schemas.vm import SECURE_BOOT_TEMPLATE_IDS, SecureBootTemplate

TEMPLATE_TYPE = "Microsoft:Hyper-V:SecureBootTemplate"
TEMPLATE_NAMES = {
    SecureBootTemplate.MICROSOFT_WINDOWS: ("MicrosoftWindows", "Microsoft Windows"),
    SecureBootTemplate.MICROSOFT_UEFI_CA: ("MicrosoftUEFICertificateAuthority", "Microsoft UEFI Certificate Authority"),
}


def template_id(template: SecureBootTemplate) -> str:
    return ids.guid(SECURE_BOOT_TEMPLATE_IDS[template])


def template_instance_id(template: SecureBootTemplate) -> str:
    return f"{ids.PREFIX}SecureBootTemplate\\{template_id(template)}"


def template_values(template: SecureBootTemplate) -> dict[str, Any]:
    name, caption = TEMPLATE_NAMES[template]
    return {
        "InstanceID": template_instance_id(template),
        "ElementName": name,
        "Caption": caption,
        "Description": f"The {caption} secure boot template: the keys a generation 2 virtual machine's firmware trusts.",
        "VirtualSystemType": TEMPLATE_TYPE,
        "VirtualSystemSubType": "Microsoft:Hyper-V:SubType:2",
        "SecureBootEnabled": True,
        "SecureBootTemplateId": template_id(template),
    }


def find_template(instance_id: str) -> SecureBootTemplate | None:
    return next((t for t in SecureBootTemplate if template_instance_id(t).lower() == instance_id.lower()), None)


def read_template(bag: PropertyBag, values: dict[str, Any]) -> None:
    """The template the client's SecureBootTemplateId names, into `values`."""
    text = bag.text("SecureBootTemplateId")
    if not text:
        return
    wanted = ids.parse_guid(text.strip().strip("{}"))
    template = next((t for t, guid in SECURE_BOOT_TEMPLATE_IDS.items() if guid == wanted), None)
    if template is None:
        known = ", ".join(f"{template_id(t)} ({TEMPLATE_NAMES[t][1]})" for t in SecureBootTemplate)
        raise invalid_parameter("SecureBootTemplateId", f"{text!r} is not a template of this host: {known}")
    values["secure_boot_template"] = template
