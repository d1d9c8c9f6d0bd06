"""Enumerations the writer may answer from kept XML: a provider's
Keepable items become KeptRun items that carry everything the reply's
bytes depend on (the shape) and build the shaped instance only when the
writer has nothing kept for them."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pywbem import CIMClass, CIMInstance

from cimprovider.providers.base import Keepable, Keepables, KeepableSource, OperationContext
from cimprovider.wire.messages import KeptInstance, KeptRun

Shaper = Callable[[CIMInstance, Any, frozenset[str] | None, bool, OperationContext, bool], CIMInstance]


@dataclass(frozen=True, slots=True)
class Shaping:
    """How an enumeration shapes its instances (DSP0200 §5.3.2)."""

    requested: CIMClass
    deep_inheritance: bool
    keep: frozenset[str] | None
    include_class_origin: bool
    with_host: bool

    def shape(self, ctx: OperationContext) -> tuple:
        """What of the request changes an instance's bytes. With deep
        inheritance the instance's own class decides which properties it
        has (its class is in the item's key); without, the requested one."""
        return (
            ctx.namespace,
            None if self.deep_inheritance else self.requested.classname.lower(),
            self.keep,
            self.include_class_origin,
            ctx.host if self.with_host else None,
        )


def kept_instances(
    items: Iterable[CIMInstance | Keepable | Keepables],
    subclass: str,
    cls: CIMClass,
    shaping: Shaping,
    ctx: OperationContext,
    shaped: Shaper,
) -> Iterator[Any]:
    """Consecutive keepables of one source come as one KeptRun (the writer
    may answer it whole; a pull enumeration cuts it into slices), other
    instances shaped as they are."""
    # The instance's class decides its properties under deep inheritance:
    # it is part of the shape, so keys stay the provider's own.
    shape = (shaping.shape(ctx), subclass)
    args = (cls, shaping.keep, shaping.include_class_origin, ctx, shaping.with_host)
    run: KeptRun | None = None
    raw: KeepableSource | None = None
    for item in items:
        kind = type(item)
        if kind is Keepable or kind is Keepables:
            if run is None or item.source is not raw:
                if run is not None:
                    yield run
                raw = item.source
                run = KeptRun(shape, [], [], _ShapedSource(item.source, shaped, args))
            if kind is Keepables:
                run.owners.extend(item.owners)
                run.keys.extend(item.keys)
            else:
                run.owners.append(item.owner)
                run.keys.append(item.key)
            continue
        if run is not None:
            yield run
            run = raw = None
        yield shaped(item, *args)
    if run is not None:
        yield run


def kept_instance(
    item: Keepable, classname: str, cls: CIMClass, shaping: Shaping, ctx: OperationContext, shaped: Shaper, missing: Callable[[], Exception]
) -> KeptInstance:
    """One instance the writer may answer from kept XML (GetInstance); if
    it vanishes before its reply is built, `missing()` is raised."""
    args = (cls, shaping.keep, shaping.include_class_origin, ctx, shaping.with_host)
    return KeptInstance((shaping.shape(ctx), classname), item.owner, item.key, _Required(item.source, shaped, args, missing))


class _ShapedSource:
    """A provider's KeepableSource whose instances leave shaped."""

    __slots__ = ("_source", "_shaped", "_args", "live")

    def __init__(self, source: KeepableSource, shaped: Shaper, args: tuple) -> None:
        self._source = source
        self._shaped = shaped
        self._args = args
        self.live = source.live

    def build(self, owner: Hashable, key: Hashable) -> CIMInstance | None:
        instance = self._source.build(owner, key)
        return None if instance is None else self._shaped(instance, *self._args)


class _Required(_ShapedSource):
    """A source of one instance the client named: gone is an error."""

    __slots__ = ("_missing",)

    def __init__(self, source: KeepableSource, shaped: Shaper, args: tuple, missing: Callable[[], Exception]) -> None:
        super().__init__(source, shaped, args)
        self._missing = missing

    def build(self, owner: Hashable, key: Hashable) -> CIMInstance | None:
        instance = super().build(owner, key)
        if instance is None:
            raise self._missing()
        return instance
