"""What kept replies need of the model: an instance built from the VM as
the backend has it at the moment of building, never from the VM an
enumeration listed earlier (the writer builds lazily; a state captured at
listing time could be kept long after it changed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from cimprovider.backends import NotFoundError
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.schemas.vm import VirtualMachine

T = TypeVar("T")


def fresh(virt: Virtualization, vm_id: UUID, read: Callable[[VirtualMachine], T | None]) -> T | None:
    """What `read` gives for the VM now; None when it is gone or vanishes
    while read (as Virtualization.present leaves such a VM out). A VM still
    there that raised NotFoundError is a fault."""
    vm = virt.find_vm(vm_id)
    if vm is None:
        return None
    try:
        return read(vm)
    except NotFoundError:
        if virt.find_vm(vm_id) is not None:
            raise
        return None
