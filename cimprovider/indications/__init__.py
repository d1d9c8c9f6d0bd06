"""Indications (DSP1054): filters, listener destinations and subscriptions
in root/interop, persisted in SQLite; CIM_Inst* indications raised by
publishers, matched against each subscription's filter (DMTF form
`SELECT * FROM CIM_InstModification WHERE SourceInstance ISA C …` or WMI
form `SELECT * FROM __InstanceModificationEvent WITHIN 2 WHERE
TargetInstance ISA 'C' …`) and delivered over CIM-XML to each listener,
with retries, by a worker per destination.

Raising indications (for the model's providers)
-----------------------------------------------
The server creates one IndicationService and puts it in
`ServerParts.indications`. A publisher hands it a typed change:

    from cimprovider.indications import ChangeKind, InstanceChange

    service.publish(InstanceChange(ChangeKind.MODIFIED, "root/virtualization/v2",
                                   source=vm_now, previous=vm_before))

`source` and `previous` are CIMInstances with their paths (as GetInstance
would return them); CREATED and DELETED take only `source`. A method call
is `MethodCall(namespace, source, "RequestStateChange", parameters,
return_value, pre_call)`. A ready indication instance goes through
`service.raise_indication(namespace, indication)`.

To turn backend bus events into indications, give `attach` a translator
that builds the changes from the event alone (it runs in the publisher's
thread, so it must not query the backend):

    def changes(event):
        if isinstance(event, PowerStateChanged):
            yield InstanceChange(ChangeKind.MODIFIED, V2, vm(event, event.new), vm(event, event.old))

    parts.indications.attach(bus, changes, kinds=[PowerStateChanged])

Both calls return at once: a router thread matches and stores, the workers
deliver. `service.has_subscribers` is False while nobody subscribed, and
`service.may_select(namespace, classname)` is False when no filter could
select a change of that class, so a publisher may skip building instances.
The Hyper-V model's bridge (model_source.py, with method_calls.py)
keeps its own mirror of the model rather than use `attach`, because it must
see every event, subscribed or not, to know the previous instance. Nothing polls: WITHIN in a WMI
query is accepted and met (delivery starts as soon as the change is
published), never used as a poll interval.

What the filter may test: the indication's own properties
(IndicationTime, SourceInstanceModelPath, …) and the embedded instances'
(`SourceInstance.EnabledState`). A filter without SourceNamespaces sees
every namespace.
"""

from cimprovider.indications.records import DeliverySettings
from cimprovider.indications.service import IndicationService
from cimprovider.indications.setup import start_indications
from cimprovider.indications.source import ChangeKind, InstanceChange, MethodCall

__all__ = [
    "ChangeKind",
    "DeliverySettings",
    "IndicationService",
    "InstanceChange",
    "MethodCall",
    "start_indications",
]
