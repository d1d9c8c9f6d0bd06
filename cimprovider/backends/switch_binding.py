"""The one rule every backend applies when a switch binds a host adapter:
the adapter must exist and belong to no other switch."""

from __future__ import annotations

from collections.abc import Iterable

from cimprovider.backends.errors import InUseError, InvalidParameterError
from cimprovider.schemas.host import VirtualSwitch
from cimprovider.schemas.network import HostAdapter


def check_binding(switch: VirtualSwitch, adapters: Iterable[HostAdapter], switches: Iterable[VirtualSwitch]) -> None:
    adapter = switch.external_adapter
    if adapter is None:
        return
    names = [a.name for a in adapters]
    if adapter not in names:
        raise InvalidParameterError("external_adapter", f"the host has no network adapter {adapter!r} (it has {', '.join(names) or 'none'})")
    for other in switches:
        if other.id != switch.id and other.external_adapter == adapter:
            raise InUseError(f"external_adapter: {adapter!r} is already bound to virtual switch '{other.name}' ({other.id})")
