"""Kept reply XML (wire/kept.py) forgotten from the event bus: an event
about one VM forgets what is kept for that VM; an event about something
else the model shows (a switch, the backend's health) forgets everything;
a job's progress changes nothing that is kept. Nothing is ever forgotten
by time.

The subscription is taken after the model's own (server.py builds the
model first): the bus calls subscribers in order, so the model has taken
in a change (the requested state, its own caches) before the kept XML is
forgotten, and nothing built before the model saw the change is kept."""

from __future__ import annotations

from uuid import UUID

from cimprovider.events import EventBus, Subscription
from cimprovider.schemas.events import EventBase, JobChanged
from cimprovider.wire import KeptXml

# Changes that no kept instance shows.
_UNSEEN = (JobChanged,)


def keep_replies(bus: EventBus, budget_bytes: int) -> tuple[KeptXml, Subscription]:
    store = KeptXml(budget_bytes)
    return store, bus.subscribe(lambda event: forget_changed(store, event))


def forget_changed(store: KeptXml, event: EventBase) -> None:
    if isinstance(event, _UNSEEN):
        return
    vm_id = changed_vm(event)
    if vm_id is None:
        store.forget_all()
    else:
        store.forget(vm_id)


def changed_vm(event: EventBase) -> UUID | None:
    """The VM an event is about, or None when it is about something else."""
    vm_id = getattr(event, "vm_id", None)
    if isinstance(vm_id, UUID):
        return vm_id
    vm = getattr(event, "vm", None)
    return getattr(vm, "id", None)
