"""How the destination's libvirt confines the QEMU of an offered VM: its
own choice, never the offer's.

A domain's `<seclabel>` chooses the security driver's label for QEMU and
its files. Of an offer, only a dynamic label is taken: libvirt makes that
one itself on the destination (any `<label>` or `<imagelabel>` the source's
running VM showed is replaced as the VM starts). Refused, naming it: no
confinement at all (`type='none'`), a label of the offer's choosing
(`type='static'`, which for the DAC driver is the user and group QEMU runs
as: `+0:+0` is root), a base to derive the label from (`<baselabel>`), files
left unlabelled (`relabel='no'`), and a label on one device's source."""

from __future__ import annotations

from lxml import etree


def confinement_reasons(domain: etree._Element) -> list[str]:
    """Why a domain's security labels cannot be taken here (empty: they can)."""
    found = [f"the VM's definition chooses how QEMU is confined: {reason}"
             for seclabel in domain.iterfind("seclabel") for reason in _domain_label(seclabel)]
    for seclabel in domain.iterfind("devices//seclabel"):
        device = next(seclabel.iterancestors(*_DEVICES), None)
        what = f"<{device.tag}>" if device is not None else "a device"
        found.append(f"the VM's definition chooses how QEMU is confined: a <seclabel> of its own on {what}")
    return found


_DEVICES = ("disk", "serial", "console", "parallel", "channel", "interface", "filesystem", "hostdev", "redirdev",
            "smartcard", "rng", "tpm", "memory", "shmem", "vsock")


def _domain_label(seclabel: etree._Element) -> list[str]:
    kind, model = seclabel.get("type"), seclabel.get("model", "the host's")
    if kind != "dynamic" and (kind is not None or len(seclabel)):
        typed = f"<seclabel type='{kind}'>" if kind else "<seclabel> with a label but no type"
        return [f"{typed} of model {model} (only a label libvirt makes here is taken)"]
    found = []
    if seclabel.get("relabel") == "no":
        found.append(f"<seclabel relabel='no'> of model {model}")
    if seclabel.find("baselabel") is not None:
        found.append(f"<seclabel> of model {model} with the <baselabel> {seclabel.findtext('baselabel')}")
    return found
