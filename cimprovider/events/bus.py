"""The in-process event bus.

Delivery is synchronous, in the publisher's thread, to each subscriber in
the order they subscribed: so events from one publisher reach every
subscriber in the order published, and nothing needs a dispatcher thread.
The price is that a callback must be quick; a subscriber with real work
(delivering indications over the network) takes a queue instead and drains
it in its own thread. A subscriber's exception is logged and swallowed — a
broken cache must never fail a power transition.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any

from cimprovider.schemas.events import EventBase

log = logging.getLogger(__name__)

EventCallback = Callable[[EventBase], None]


class Subscription:
    """A live subscription; `close()` (or leaving a `with` block) ends it."""

    def __init__(self, bus: "EventBus", callback: EventCallback, kinds: tuple[type[EventBase], ...] | None) -> None:
        self._bus = bus
        self.callback = callback
        self.kinds = kinds
        self.failures = 0

    def wants(self, event: EventBase) -> bool:
        return self.kinds is None or isinstance(event, self.kinds)

    def close(self) -> None:
        self._bus.unsubscribe(self)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class QueueSubscription(Subscription):
    """Events land in `queue`. A bounded queue that is full drops the event
    and counts it in `dropped` rather than block the publisher."""

    def __init__(self, bus: "EventBus", kinds: tuple[type[EventBase], ...] | None, maxsize: int) -> None:
        self.queue: queue.Queue[EventBase] = queue.Queue(maxsize)
        self.dropped = 0
        super().__init__(bus, self._put, kinds)

    def _put(self, event: EventBase) -> None:
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    def get(self, timeout: float | None = None) -> EventBase:
        """The next event; raises `queue.Empty` after `timeout` seconds."""
        return self.queue.get(timeout=timeout)

    def drain(self) -> list[EventBase]:
        """Every event waiting now, oldest first."""
        events: list[EventBase] = []
        while True:
            try:
                events.append(self.queue.get_nowait())
            except queue.Empty:
                return events


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Replaced, never mutated, so publish can iterate without the lock.
        self._subscriptions: tuple[Subscription, ...] = ()

    def subscribe(self, callback: EventCallback, kinds: Iterable[type[EventBase]] | None = None) -> Subscription:
        """Call `callback(event)` for every event (or only those of `kinds`)."""
        return self._add(Subscription(self, callback, _kinds(kinds)))

    def subscribe_queue(self, kinds: Iterable[type[EventBase]] | None = None, maxsize: int = 0) -> QueueSubscription:
        """Put every event (or only those of `kinds`) on a queue."""
        subscription = QueueSubscription(self, _kinds(kinds), maxsize)
        self._add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """End a subscription; ending it twice is harmless."""
        with self._lock:
            self._subscriptions = tuple(s for s in self._subscriptions if s is not subscription)

    def publish(self, event: EventBase) -> None:
        for subscription in self._subscriptions:
            if not subscription.wants(event):
                continue
            try:
                subscription.callback(event)
            except Exception:
                subscription.failures += 1
                log.exception("event subscriber %r failed on %s", subscription.callback, type(event).__name__)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def _add(self, subscription: Subscription) -> Subscription:
        with self._lock:
            self._subscriptions = self._subscriptions + (subscription,)
        return subscription


def _kinds(kinds: Iterable[type[EventBase]] | None) -> tuple[type[EventBase], ...] | None:
    return None if kinds is None else tuple(kinds)
