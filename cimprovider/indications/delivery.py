"""Delivery to one listener destination: a bounded queue and a thread of
its own, so a slow or absent listener delays only its own indications.

Indications go out in the order they were raised. One that fails is tried
again every DeliveryRetryInterval until DeliveryRetryAttempts intervals
have passed since it was raised; then it is given up and the service
applies the subscription's OnFatalErrorPolicy. A destination that has
failed without a success for SubscriptionRemovalTimeInterval is reported
so the service can apply its SubscriptionRemovalAction.

Every queued delivery is also a row in the store, removed once the
listener acknowledged it (in small batches: after a crash a listener may
see an indication twice, never zero times)."""

from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cimprovider.indications.access import ListenerAccess
from cimprovider.indications.records import DeliverySettings
from cimprovider.indications.store import PendingDelivery, SubscriptionStore
from cimprovider.indications.transport import (
    DeliveryFailed,
    IndicationRejected,
    ListenerAddress,
    release,
    send_export,
)

log = logging.getLogger(__name__)

ACK_BATCH = 64
ACK_DELAY = 0.2  # seconds an acknowledgement may wait to be written


@dataclass
class DeliveryHooks:
    """What a worker tells the service; called from the worker's thread."""

    settings: Callable[[], DeliverySettings]
    gave_up: Callable[[str, str], None]  # (destination, filter name)
    unreachable_too_long: Callable[[str], None]  # destination


@dataclass
class DeliveryCounters:
    delivered: int = 0
    failed_attempts: int = 0
    given_up: int = 0
    rejected: int = 0
    dropped_full: int = 0


class DestinationWorker:
    def __init__(
        self,
        name: str,
        url: str,
        store: SubscriptionStore,
        hooks: DeliveryHooks,
        *,
        timeout: float,
        max_pending: int,
        access: ListenerAccess,
        sequence_context: str,
    ) -> None:
        self.name = name
        self.address = ListenerAddress.parse(url)
        self.store = store
        self.hooks = hooks
        self.timeout = timeout
        self.max_pending = max_pending
        self.access = access
        self.sequence_context = sequence_context
        self.counters = DeliveryCounters()
        self.failing_since: float | None = None
        self._sequence = itertools.count(0)
        self._queue: collections.deque[PendingDelivery] = collections.deque()
        self._cond = threading.Condition()
        self._closed = threading.Event()
        self._acks: list[int] = []
        self._acks_since = 0.0
        self._busy = False
        self._thread: threading.Thread | None = None

    # --- called by the router --------------------------------------------

    def next_sequence_number(self) -> int:
        return next(self._sequence)

    def has_room(self) -> bool:
        return len(self._queue) < self.max_pending

    def enqueue(self, items: list[PendingDelivery]) -> None:
        with self._cond:
            self._queue.extend(items)
            self._cond.notify()
        self._start()

    def discard(self, filter_name: str) -> None:
        """Forget what is queued for one subscription (it was removed)."""
        with self._cond:
            kept = [i for i in self._queue if i.filter_name != filter_name]
            dropped = [i.id for i in self._queue if i.filter_name == filter_name]
            # The head may be in flight: keep it, its outcome is harmless.
            if self._busy and self._queue and self._queue[0].filter_name == filter_name:
                kept.insert(0, self._queue[0])
                dropped.remove(self._queue[0].id)
            self._queue = collections.deque(kept)
        self.store.remove_pending(dropped)

    def idle(self) -> bool:
        with self._cond:
            return not self._queue and not self._busy

    def pending(self) -> int:
        return len(self._queue)

    def stop(self) -> None:
        """Ask the thread to end after the attempt in flight (bounded by
        the delivery timeout); what is still queued stays in the store."""
        self._closed.set()
        with self._cond:
            self._cond.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        self.stop()
        if self._thread is not None:
            self._thread.join(timeout)
        self._flush_acks(force=True)

    # --- the worker thread -----------------------------------------------

    def _start(self) -> None:
        if self._thread is None and not self._closed.is_set():
            self._thread = threading.Thread(target=self._run, name=f"indications->{self.name}", daemon=True)
            self._thread.start()

    def _next(self) -> PendingDelivery | None:
        with self._cond:
            while not self._queue and not self._closed.is_set():
                self._flush_acks(force=True)
                self._cond.wait(ACK_DELAY)
            if self._closed.is_set():
                return None
            self._busy = True
            return self._queue[0]

    def _done(self, item: PendingDelivery) -> None:
        with self._cond:
            if self._queue and self._queue[0] is item:
                self._queue.popleft()
            self._busy = False
        if not self._acks:
            self._acks_since = time.monotonic()
        self._acks.append(item.id)
        self._flush_acks()

    def _run(self) -> None:
        try:
            self._deliver_forever()
        finally:
            release(self.address)

    def _deliver_forever(self) -> None:
        while True:
            item = self._next()
            if item is None:
                return
            try:
                send_export(self.address, item.body, self.timeout, self.access)
            except DeliveryFailed as exc:
                self._failed(item, str(exc))
                continue
            except IndicationRejected as exc:
                self.counters.rejected += 1
                log.warning("listener %s refused indication %d: %s", self.name, item.id, exc)
            else:
                self.counters.delivered += 1
            self.failing_since = None
            self._done(item)

    def _failed(self, item: PendingDelivery, reason: str) -> None:
        self.counters.failed_attempts += 1
        item.attempts += 1
        now = time.time()
        if self.failing_since is None:
            self.failing_since = now
            log.warning("listener %s (%s) unreachable: %s", self.name, self.address.host, reason)
        settings = self.hooks.settings()
        if now - self.failing_since >= settings.removal_interval:
            self.hooks.unreachable_too_long(self.name)
        deadline = item.created + settings.retry_attempts * settings.retry_interval
        if now >= deadline or self._closed.is_set():
            if not self._closed.is_set():
                self.counters.given_up += 1
                log.warning("indication %d to %s given up after %d attempts", item.id, self.name, item.attempts)
                self._done(item)
                self.hooks.gave_up(self.name, item.filter_name)
            return
        with self._cond:
            self._busy = False
        self._closed.wait(min(settings.retry_interval, deadline - now))

    def _flush_acks(self, force: bool = False) -> None:
        if not self._acks:
            return
        if force or len(self._acks) >= ACK_BATCH or time.monotonic() - self._acks_since >= ACK_DELAY:
            acks, self._acks = self._acks, []
            self.store.remove_pending(acks)
