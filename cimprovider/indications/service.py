"""IndicationService: the catalog of filters, destinations and
subscriptions, the router that turns raised indications into deliveries,
and the destination workers. The providers in `providers.py` are its CIM
face; publishers call `raise_indication` or `publish`."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from pywbem import CIMDateTime, CIMInstance, Uint16

from cimprovider.events import EventBus, Subscription
from cimprovider.indications.access import ListenerAccess
from cimprovider.indications.bodies import ExportBodies
from cimprovider.indications.delivery import DeliveryHooks, DestinationWorker
from cimprovider.indications.records import (
    POLICY_DISABLE,
    POLICY_IGNORE,
    POLICY_REMOVE,
    REMOVAL_DISABLE,
    REMOVAL_REMOVE,
    STATE_DISABLED,
    DeliverySettings,
    DestinationRecord,
    FilterRecord,
    SubscriptionRecord,
)
from cimprovider.indications.routing import Route, SchemaContext, build_routes, match
from cimprovider.indications.source import IndicationStamp, InstanceChange, MethodCall
from cimprovider.indications.store import PendingDelivery, SubscriptionStore
from cimprovider.repository import ClassRepository
from cimprovider.schemas.events import EventBase

log = logging.getLogger(__name__)

DATABASE = "indications.sqlite3"
ROUTER_BATCH = 256  # raised indications routed (and stored) in one transaction

Translator = Callable[[EventBase], Iterable[InstanceChange | MethodCall]]


MAX_CATALOG = 1_000


class IndicationService:
    def __init__(
        self,
        repository: ClassRepository,
        host: str,
        data_dir: Path,
        *,
        settings: DeliverySettings | None = None,
        delivery_timeout: float = 5.0,
        max_pending: int = 10_000,
        max_raised: int = 100_000,
        access: ListenerAccess | None = None,
        max_catalog: int = MAX_CATALOG,
    ) -> None:
        self.repository = repository
        self.host = host
        self.delivery_timeout = delivery_timeout
        self.max_pending = max_pending
        # Filters, destinations and subscriptions, each: a destination
        # holds a delivery worker and each change is matched against every
        # filter, so their numbers are bounded like the server's others.
        self.max_catalog = max_catalog
        self.access = access if access is not None else ListenerAccess()
        self.store = SubscriptionStore(data_dir / DATABASE)
        if settings is not None:
            self.store.put_settings(settings)
        self.settings = self.store.settings() or DeliverySettings()
        self.stamp = IndicationStamp(host)
        self.dropped = 0  # raised while the router's inbox was full
        self._lock = threading.RLock()  # one catalog change at a time
        self._routes: tuple[Route, ...] = ()
        # may_select's answers, for the route table they were worked out on
        self._selectable: dict[tuple[str, str], bool] = {}
        self._selectable_for: tuple[Route, ...] = ()
        self._selectable_lock = threading.Lock()
        self._workers: dict[str, DestinationWorker] = {}
        self._contexts: dict[str, SchemaContext] = {}
        self._inbox: queue.Queue[tuple[str, CIMInstance] | None] = queue.Queue(max_raised)
        self._routing = False
        self._bus_subscriptions: list[Subscription] = []
        self._closed = False
        for record in self.store.destinations():
            self._add_worker(record)
        self._requeue_pending()
        self._rebuild_routes()
        self._router = threading.Thread(target=self._route_forever, name="indications-router", daemon=True)
        self._router.start()

    # --- the entry points for publishers ---------------------------------

    def raise_indication(self, namespace: str, indication: CIMInstance) -> None:
        """Deliver `indication` (a CIM_InstCreation, CIM_InstModification,
        CIM_InstDeletion or CIM_InstMethodCall instance with SourceInstance
        and, for a modification, PreviousInstance as embedded instances)
        raised in `namespace` to every subscription whose filter selects it.
        Returns at once; never blocks the publisher."""
        if self._closed:
            return
        try:
            self._inbox.put_nowait((namespace, indication))
        except queue.Full:
            self.dropped += 1
            log.warning("indication dropped: %d raised and not yet routed", self._inbox.qsize())

    def publish(self, change: InstanceChange | MethodCall) -> None:
        """`raise_indication` for a typed change."""
        self.raise_indication(change.namespace, change.indication())

    def attach(self, bus: EventBus, translate: Translator, kinds: Iterable[type[EventBase]] | None = None) -> Subscription:
        """Publish, for every bus event, the changes `translate` makes of it.
        The translation runs in the publisher's thread: keep it cheap (build
        the CIM instances from the event, do not query the backend)."""

        def on_event(event: EventBase) -> None:
            if not self._routes:
                return  # nobody subscribed: skip building instances
            for change in translate(event):
                self.publish(change)

        subscription = bus.subscribe(on_event, kinds)
        self._bus_subscriptions.append(subscription)
        return subscription

    @property
    def has_subscribers(self) -> bool:
        """Whether any active subscription exists (publishers may skip work)."""
        return bool(self._routes)

    def may_select(self, namespace: str, classname: str) -> bool:
        """Whether some active filter could select a change of an instance
        of `classname` raised in `namespace`, judged by the class its query
        names (`SourceInstance ISA C`); a filter naming none could select
        anything. Publishers may skip building what no filter wants."""
        routes = self._routes
        key = (namespace, classname.lower())
        with self._selectable_lock:
            known = self._selectable.get(key) if self._selectable_for is routes else None
        if known is None:
            ctx = self._context(namespace)
            known = any(
                route.target_class is None
                or route.target_class.lower() == classname.lower()
                or ctx.is_subclass(classname, route.target_class)
                for route in routes
                if route.admits(namespace)
            )
            with self._selectable_lock:
                if self._selectable_for is not routes:
                    self._selectable, self._selectable_for = {}, routes
                self._selectable[key] = known
        return known

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything raised so far is routed and every
        destination's queue is empty (delivered or given up). For tests and
        an orderly shutdown; True if that happened within `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._inbox.empty() and not self._routing and all(w.idle() for w in self._workers.values()):
                return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for subscription in self._bus_subscriptions:
            subscription.close()
        self._inbox.put(None)
        self._router.join(5)
        workers = list(self._workers.values())
        for worker in workers:  # all at once: each may wait out a hung listener
            worker.stop()
        for worker in workers:
            worker.close(self.delivery_timeout + 1)
        self.store.close()

    # --- the catalog, for the providers ----------------------------------

    def filters(self) -> list[FilterRecord]:
        return self.store.filters()

    def destinations(self) -> list[DestinationRecord]:
        return self.store.destinations()

    def subscriptions(self) -> list[SubscriptionRecord]:
        return self.store.subscriptions()

    def changing(self) -> threading.RLock:
        """Held around a check and the change it allows (a name free, the
        catalog below its limit), so that concurrent creates cannot all pass
        the check before any of them is stored; put_* takes it again."""
        return self._lock

    def put_filter(self, record: FilterRecord, replace: bool = False) -> None:
        with self._lock:
            self.store.put_filter(record, replace)
            self._rebuild_routes()

    def remove_filter(self, name: str) -> None:
        with self._lock:
            self.store.delete_filter(name)
            self._rebuild_routes()

    def put_destination(self, record: DestinationRecord, replace: bool = False) -> None:
        with self._lock:
            self.store.put_destination(record, replace)
            old = self._workers.pop(record.name, None)
            if old is not None:
                old.close()
            self._add_worker(record)
            if old is not None:
                self._requeue_pending(record.name)

    def remove_destination(self, name: str) -> None:
        with self._lock:
            worker = self._workers.pop(name, None)
            if worker is not None:
                worker.close()
            self.store.delete_destination(name)

    def put_subscription(self, record: SubscriptionRecord, replace: bool = False) -> None:
        with self._lock:
            self.store.put_subscription(record, replace)
            self._rebuild_routes()
            if not record.active:
                self._discard(record)

    def remove_subscription(self, record: SubscriptionRecord) -> None:
        with self._lock:
            self.store.delete_subscription(record.key)
            self._rebuild_routes()
            self._discard(record)

    def put_settings(self, settings: DeliverySettings) -> None:
        with self._lock:
            self.store.put_settings(settings)
            self.settings = settings

    def pending_deliveries(self) -> int:
        """Indications queued for listeners and not yet delivered."""
        return sum(worker.pending() for worker in list(self._workers.values()))

    def worker(self, destination: str) -> DestinationWorker | None:
        return self._workers.get(destination)

    # --- internals ---------------------------------------------------------

    def _discard(self, record: SubscriptionRecord) -> None:
        worker = self._workers.get(record.handler_name)
        if worker is not None:
            worker.discard(record.filter_name)

    def _rebuild_routes(self) -> None:
        self._routes = build_routes(self.store.filters(), self.store.subscriptions())

    def _add_worker(self, record: DestinationRecord) -> None:
        hooks = DeliveryHooks(lambda: self.settings, self._gave_up, self._unreachable_too_long)
        try:
            self._workers[record.name] = DestinationWorker(
                record.name,
                record.url,
                self.store,
                hooks,
                timeout=self.delivery_timeout,
                max_pending=self.max_pending,
                access=self.access,
                sequence_context=f"{self.stamp.session}:{record.name}",
            )
        except ValueError as exc:  # validated on creation; only an old row can get here
            log.warning("listener destination %s has an unusable URL: %s", record.name, exc)

    def _requeue_pending(self, destination: str | None = None) -> None:
        by_destination: dict[str, list[PendingDelivery]] = {}
        for item in self.store.pending():
            if destination is None or item.destination == destination:
                by_destination.setdefault(item.destination, []).append(item)
        for name, items in by_destination.items():
            worker = self._workers.get(name)
            if worker is not None:
                worker.enqueue(items)
            else:
                self.store.remove_pending([i.id for i in items])

    def _context(self, namespace: str) -> SchemaContext:
        ctx = self._contexts.get(namespace)
        if ctx is None:
            ctx = self._contexts[namespace] = SchemaContext(self.repository, namespace, self.host)
        return ctx

    def _route_forever(self) -> None:
        while True:
            first = self._inbox.get()
            self._routing = True
            batch = [first]
            while len(batch) < ROUTER_BATCH:
                try:
                    batch.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            try:
                self._route([b for b in batch if b is not None])
            except Exception:
                log.exception("routing %d indications failed", len(batch))
            finally:
                self._routing = False
            if any(b is None for b in batch):
                return

    def _route(self, batch: list[tuple[str, CIMInstance]]) -> None:
        rows: list[tuple[str, str, float, bytes]] = []
        workers: list[DestinationWorker] = []
        routes = self._routes
        bodies = ExportBodies()
        for namespace, indication in batch:
            if not routes:
                continue
            indication = self.stamp.stamp(namespace, indication)
            for found in match(routes, namespace, indication, self._context(namespace)):
                worker = self._workers.get(found.route.handler_name)
                if worker is None:
                    continue
                if not worker.has_room():
                    worker.counters.dropped_full += 1
                    log.warning("listener %s has %d undelivered indications: dropping", worker.name, worker.pending())
                    continue
                number = worker.next_sequence_number()
                body = bodies.body(found.projected, indication, found.route.filter_name,
                                   worker.sequence_context, number, f"{self.stamp.session}.{number}")
                rows.append((worker.name, found.route.filter_name, time.time(), body))
                workers.append(worker)
        if not rows:
            return
        ids = self.store.add_pending(rows)
        grouped: dict[str, list[PendingDelivery]] = {}
        for row_id, (name, filter_name, created, body) in zip(ids, rows):
            grouped.setdefault(name, []).append(PendingDelivery(row_id, name, filter_name, created, body))
        by_name = {w.name: w for w in workers}
        for name, items in grouped.items():
            by_name[name].enqueue(items)

    # --- delivery policy (called from destination workers) ---------------

    def _find_subscription(self, filter_name: str, destination: str) -> SubscriptionRecord | None:
        return next(
            (s for s in self.store.subscriptions() if s.key == (filter_name, destination)), None
        )

    def _gave_up(self, destination: str, filter_name: str) -> None:
        """An indication could not be delivered within the retry window:
        the subscription's own OnFatalErrorPolicy decides."""
        with self._lock:
            sub = self._find_subscription(filter_name, destination)
            if sub is None:
                return
            if sub.on_fatal_error == POLICY_REMOVE:
                log.warning("removing subscription %s -> %s: delivery failed (OnFatalErrorPolicy)", *sub.key)
                self.remove_subscription(sub)
            elif sub.on_fatal_error == POLICY_DISABLE:
                log.warning("disabling subscription %s -> %s: delivery failed (OnFatalErrorPolicy)", *sub.key)
                self.put_subscription(disabled(sub), replace=True)

    def _unreachable_too_long(self, destination: str) -> None:
        """The destination failed for SubscriptionRemovalTimeInterval: the
        service's SubscriptionRemovalAction applies to its subscriptions,
        except those whose own policy says Ignore."""
        action = self.settings.removal_action
        if action not in (REMOVAL_REMOVE, REMOVAL_DISABLE):
            return
        with self._lock:
            for sub in self.store.subscriptions():
                if sub.handler_name != destination or sub.on_fatal_error == POLICY_IGNORE or not sub.active:
                    continue
                if action == REMOVAL_REMOVE:
                    log.warning("removing subscription %s -> %s: listener unreachable too long", *sub.key)
                    self.remove_subscription(sub)
                else:
                    log.warning("disabling subscription %s -> %s: listener unreachable too long", *sub.key)
                    self.put_subscription(disabled(sub), replace=True)


def disabled(sub: SubscriptionRecord) -> SubscriptionRecord:
    props = {k: v for k, v in sub.properties.items() if k.lower() not in ("subscriptionstate", "timeoflaststatechange")}
    props["SubscriptionState"] = ("uint16", Uint16(STATE_DISABLED), False)
    props["TimeOfLastStateChange"] = ("datetime", CIMDateTime.now(), False)
    return SubscriptionRecord(sub.filter_name, sub.handler_name, props)
