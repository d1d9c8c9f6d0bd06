"""Msvm_LogicalIdentity: a drive's or network adapter's setting
(SystemElement) is the same element as its boot source (SameElement);
os-win finds a disk's boot source this way before reordering."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cimprovider.providers.virtualization.associations import Pair, PerVm
from cimprovider.providers.virtualization.systems.boot_sources import BSSD, boot_sources


class LogicalIdentity(PerVm):
    classname = "Msvm_LogicalIdentity"
    roles = ("SystemElement", "SameElement")

    def vm_pairs(self, vm: Any) -> Iterator[Pair]:
        for source in boot_sources(self.virt, vm):
            yield source.setting, self.virt.setting_path(BSSD, source.instance_id)
