"""Enumerations the writer may answer from kept XML: a provider's
Keepable items become KeptInstance items that carry everything the reply's
bytes depend on (the shape) and build the shaped instance only when the
writer has nothing kept for them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from pywbem import CIMClass, CIMInstance

from cimprovider.providers.base import Keepable, OperationContext
from cimprovider.wire.messages import KeptInstance

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
    items: Iterable[CIMInstance | Keepable],
    subclass: str,
    cls: CIMClass,
    shaping: Shaping,
    ctx: OperationContext,
    shaped: Shaper,
) -> Iterator[Any]:
    shape = shaping.shape(ctx)
    args = (cls, shaping.keep, shaping.include_class_origin, ctx, shaping.with_host)
    for item in items:
        if type(item) is Keepable:
            build = partial(_build, item.build, shaped, args)
            yield KeptInstance(shape, item.owner, (subclass, item.key), build, item.live)
        else:
            yield shaped(item, *args)


def _build(build: Callable[[], CIMInstance | None], shaped: Shaper, args: tuple) -> CIMInstance | None:
    instance = build()
    return None if instance is None else shaped(instance, *args)
