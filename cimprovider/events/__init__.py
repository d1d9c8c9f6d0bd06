"""The in-process event bus: backends and jobs publish typed events from
`cimprovider.schemas.events`; indications and caches subscribe."""

from cimprovider.events.bus import EventBus, EventCallback, QueueSubscription, Subscription

__all__ = ["EventBus", "EventCallback", "QueueSubscription", "Subscription"]
