"""Thousands of VMs in little memory: what every kept VM model holds that
equals another's is shared rather than held once per VM.

A pydantic model carries its own set of the fields it was given (a VM
and its parts: some 5 KB per VM, the same few sets over and over), and
each VM its own copies of value-like parts (the integration services, the
condition, the boot order). Models are frozen, so sharing an equal,
immutable object changes nothing anyone can observe; a model is compacted
in place, so it stays the very object the caller and the events hold.
Only value-like parts are shared: their distinct values are few, so the
tables stay small however many VMs come and go."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from cimprovider.schemas.vm import VirtualMachine

# Parts of a VM that hold no identity of their own (no per-VM id, no
# user text), so their distinct values are few.
_VALUE_FIELDS = ("integration_services", "boot_order")


class ModelSharing:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._field_sets: dict[tuple[type, frozenset[str]], set[str]] = {}
        self._values: dict[Any, Any] = {}

    def compact(self, vm: VirtualMachine) -> VirtualMachine:
        """`vm` itself, its equal parts now shared with other VMs'."""
        with self._lock:
            fields = vm.__dict__
            for name in _VALUE_FIELDS:
                value = fields[name]
                fields[name] = self._values.setdefault(value, value)
            if not vm.condition.detail:  # a reading without words of its own: few values
                fields["condition"] = self._values.setdefault(vm.condition, vm.condition)
            self._share_field_sets(vm)
        return vm

    def _share_field_sets(self, model: BaseModel) -> None:
        # pydantic copies this set before it changes it (model_copy), and
        # frozen models never change it in place: sharing equal sets is safe.
        own = model.__pydantic_fields_set__
        shared = self._field_sets.setdefault((type(model), frozenset(own)), own)
        if shared is not own:
            object.__setattr__(model, "__pydantic_fields_set__", shared)
        for value in model.__dict__.values():
            if isinstance(value, BaseModel):
                self._share_field_sets(value)
            elif isinstance(value, tuple):
                for item in value:
                    if isinstance(item, BaseModel):
                        self._share_field_sets(item)


class SharedVms(dict[UUID, VirtualMachine]):
    """A backend's table of the VMs it keeps: each VM put in is compacted."""

    def __init__(self) -> None:
        super().__init__()
        self.sharing = ModelSharing()

    def __setitem__(self, vm_id: UUID, vm: VirtualMachine) -> None:
        super().__setitem__(vm_id, self.sharing.compact(vm))
