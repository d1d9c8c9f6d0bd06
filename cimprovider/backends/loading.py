"""Find a backend by name among the `cimprovider.backends` entry points.

A backend class is constructed as `factory(config, bus)`.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import cast

from cimprovider.backends.errors import UnknownBackendError
from cimprovider.backends.protocol import Backend
from cimprovider.events import EventBus
from cimprovider.schemas.config import ServerConfig

ENTRY_POINT_GROUP = "cimprovider.backends"


def available_backends() -> list[str]:
    return sorted({point.name for point in entry_points(group=ENTRY_POINT_GROUP)})


def load_backend(name: str, config: ServerConfig, bus: EventBus | None = None) -> Backend:
    """Construct the backend registered as `name`; a new bus if none is given."""
    points = [point for point in entry_points(group=ENTRY_POINT_GROUP) if point.name == name]
    if not points:
        known = ", ".join(available_backends()) or "none installed"
        raise UnknownBackendError(f"unknown backend {name!r}; known backends: {known}")
    factory = points[0].load()
    return cast(Backend, factory(config, bus if bus is not None else EventBus()))
