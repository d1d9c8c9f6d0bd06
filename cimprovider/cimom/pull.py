"""Pull enumeration (DSP0200 §5.3.2.x): an Open* operation starts an
enumeration context over a generator; Pull* continues it; CloseEnumeration
ends it. Contexts expire after their OperationTimeout of inactivity.

Each context belongs to the principal that opened it (an authenticated
user, or a client address when authentication is off): only that principal
may pull, count or close it. Their number is bounded twice: per principal,
so that one client's abandoned enumerations cannot lock the others out, and
in all, so that many clients together cannot exhaust the server. A pull
that fails ends its enumeration (DSP0200 without ContinueOnError) and gives
the context back at once."""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pywbem import (
    CIM_ERR_INVALID_ENUMERATION_CONTEXT,
    CIM_ERR_INVALID_OPERATION_TIMEOUT,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_SERVER_LIMITS_EXCEEDED,
    CIMError,
)

from cimprovider.wire.messages import KeptRun

DEFAULT_OPERATION_TIMEOUT = 60  # seconds, when the client sends NULL
MAX_OPERATION_TIMEOUT = 600
MAX_OBJECT_COUNT = 10_000  # per response; larger requests are trimmed to this
MAX_OPEN = 256  # open contexts of the whole server
MAX_OPEN_PER_PRINCIPAL = 64  # open contexts of one user or client address


def principal_of(user: str | None, address: str | None) -> str:
    """Who owns an enumeration context, in words a message can carry: the
    authenticated user, else the client's address (authentication off)."""
    if user is not None:
        return f"user {user}"
    return f"client {address or 'in-process'}"


@dataclass
class EnumerationContext:
    owner: str  # the principal that opened it, as `principal_of` names it
    namespace: str
    kind: str  # "instances" or "paths": which Pull operation may continue it
    items: Iterator[Any]
    timeout: float
    expires: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    buffered: list[Any] = field(default_factory=list)
    done: bool = False

    def take(self, count: int) -> list[Any]:
        """The next `count` instances. A KeptRun stands for many: it is cut
        where the batch ends, its rest kept for the next pull."""
        batch: list[Any] = []
        wanted = count
        while wanted > 0:
            item = self._next()
            if item is _END:
                break
            size = _members(item)
            if size > wanted:
                item, rest = item.split(wanted)
                self.buffered.insert(0, rest)
                size = wanted
            batch.append(item)
            wanted -= size
        if not self.buffered and not self.done:
            # Look one ahead so the client learns EndOfSequence with the last
            # batch instead of needing one more, empty, round trip.
            nxt = self._next()
            if nxt is not _END:
                self.buffered.append(nxt)
        return batch

    def _next(self) -> Any:
        if self.buffered:
            return self.buffered.pop(0)
        while not self.done:
            item = next(self.items, _END)
            if item is _END:
                self.done = True
            elif _members(item):  # an empty stretch answers nothing
                return item
        return _END

    @property
    def exhausted(self) -> bool:
        return self.done and not self.buffered

    def count_remaining(self) -> int:
        self.buffered.extend(self.items)
        self.done = True
        return sum(map(_members, self.buffered))


def _members(item: Any) -> int:
    """How many instances an item stands for."""
    return len(item) if type(item) is KeptRun else 1


_END = object()
T = TypeVar("T")


class EnumerationContexts:
    """The open enumeration contexts of the server, thread-safe."""

    def __init__(
        self, max_open: int = MAX_OPEN, max_per_owner: int = MAX_OPEN_PER_PRINCIPAL, clock=time.monotonic
    ) -> None:
        self._contexts: dict[str, EnumerationContext] = {}
        self._lock = threading.Lock()
        self._max_open = max_open
        self._max_per_owner = max_per_owner
        self._clock = clock
        # No context expires before this moment: each pull looks at the
        # clock, not at every open context. Expiry times only move later,
        # so a stale value merely brings the next scan forward.
        self._next_expiry = math.inf

    def open(
        self,
        owner: str,
        namespace: str,
        kind: str,
        items: Iterator[Any],
        max_object_count: int | None,
        operation_timeout: int | None,
    ) -> tuple[list[Any], bool, str]:
        """Start an enumeration; return the first batch, EndOfSequence and the
        context id ("" once the sequence has ended)."""
        timeout = self._timeout(operation_timeout)
        count = self._count(max_object_count)
        ctx = EnumerationContext(owner, namespace, kind, items, timeout, self._clock() + timeout)
        # The place is taken before the first batch is built, so a principal
        # over its share costs the server no enumeration work.
        context_id = self._admit(ctx)
        with ctx.lock:
            batch = self._settle(context_id, lambda: ctx.take(count))
            if ctx.exhausted:
                self._forget(context_id)
                return batch, True, ""
        return batch, False, context_id

    def pull(
        self, owner: str, namespace: str, kind: str, context_id: str, max_object_count: int | None
    ) -> tuple[list[Any], bool, str]:
        ctx = self._claim(owner, namespace, kind, context_id)
        with ctx.lock:
            batch = self._settle(context_id, lambda: ctx.take(self._count(max_object_count, pulling=True)))
            if ctx.exhausted:
                self._forget(context_id)
                return batch, True, ""
            ctx.expires = self._clock() + ctx.timeout
        return batch, False, context_id

    def close(self, owner: str, namespace: str, context_id: str) -> None:
        self._claim(owner, namespace, None, context_id)
        self._forget(context_id)

    def count(self, owner: str, namespace: str, context_id: str) -> int:
        ctx = self._claim(owner, namespace, None, context_id)
        with ctx.lock:
            return self._settle(context_id, ctx.count_remaining)

    def _admit(self, ctx: EnumerationContext) -> str:
        with self._lock:
            self._expire()
            if len(self._contexts) >= self._max_open:
                raise CIMError(
                    CIM_ERR_SERVER_LIMITS_EXCEEDED,
                    f"the server has {self._max_open} open enumeration contexts, its limit; try again later",
                )
            held = sum(1 for other in self._contexts.values() if other.owner == ctx.owner)
            if held >= self._max_per_owner:
                raise CIMError(
                    CIM_ERR_SERVER_LIMITS_EXCEEDED,
                    f"{ctx.owner} has {held} open enumeration contexts, the share of each principal "
                    f"({self._max_per_owner}); close or finish some first",
                )
            context_id = secrets.token_hex(12)
            self._contexts[context_id] = ctx
            self._next_expiry = min(self._next_expiry, ctx.expires)
        return context_id

    def _settle(self, context_id: str, work: Callable[[], T]) -> T:
        """Run one step of an enumeration; a step that fails, for whatever
        reason, ends it, and its context is given back before the error
        reaches the client (else it would hold a place until it expires)."""
        try:
            return work()
        except BaseException:
            self._forget(context_id)
            raise

    def _claim(self, owner: str, namespace: str, kind: str | None, context_id: str) -> EnumerationContext:
        with self._lock:
            self._expire()
            ctx = self._contexts.get(context_id or "")
        # Another principal's context reads as unknown: its existence is
        # not theirs to learn.
        if ctx is None or ctx.owner != owner or ctx.namespace.lower() != namespace.lower():
            raise CIMError(
                CIM_ERR_INVALID_ENUMERATION_CONTEXT,
                f"enumeration context {context_id!r} is unknown, closed, finished, expired "
                f"or opened by another principal than {owner}",
            )
        if kind is not None and ctx.kind != kind:
            self._forget(context_id)  # the owner's pull failed: the enumeration is over
            raise CIMError(
                CIM_ERR_INVALID_ENUMERATION_CONTEXT,
                f"enumeration context {context_id!r} enumerates {ctx.kind}, not {kind}",
            )
        return ctx

    def _forget(self, context_id: str) -> None:
        with self._lock:
            self._contexts.pop(context_id, None)

    def _expire(self) -> None:
        now = self._clock()
        if now <= self._next_expiry:
            return
        for context_id in [c for c, ctx in self._contexts.items() if ctx.expires < now]:
            del self._contexts[context_id]
        self._next_expiry = min((ctx.expires for ctx in self._contexts.values()), default=math.inf)

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._contexts)

    @staticmethod
    def _timeout(operation_timeout: int | None) -> float:
        if operation_timeout is None:
            return DEFAULT_OPERATION_TIMEOUT
        if operation_timeout <= 0 or operation_timeout > MAX_OPERATION_TIMEOUT:
            # 0 would mean "never expire", which this server does not grant.
            raise CIMError(
                CIM_ERR_INVALID_OPERATION_TIMEOUT,
                f"OperationTimeout {operation_timeout} s: the server allows 1 to {MAX_OPERATION_TIMEOUT} s",
            )
        return float(operation_timeout)

    @staticmethod
    def _count(max_object_count: int | None, pulling: bool = False) -> int:
        if max_object_count is None:
            if pulling:
                raise CIMError(CIM_ERR_INVALID_PARAMETER, "MaxObjectCount is required by Pull operations")
            return 0
        if max_object_count < 0:
            raise CIMError(CIM_ERR_INVALID_PARAMETER, "MaxObjectCount must not be negative")
        return min(max_object_count, MAX_OBJECT_COUNT)
