"""What the translation tests share: the simulated backend with the model
over it, a recording stand-in for IndicationService, and a watch on what
a translator asks of the backend while it handles an event (it must ask
nothing: it runs in the publisher's thread)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cimprovider.backends.simulated.backend import SimulatedBackend
from cimprovider.indications import InstanceChange
from cimprovider.jobs import JobRunner
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.render import NAMESPACE, Renderer
from cimprovider.repository import ClassRepository
from cimprovider.schemas.config import ServerConfig


class Recorder:
    """Stands in for IndicationService: what was published, in order."""

    def __init__(self) -> None:
        self.has_subscribers = True
        self.changes: list[InstanceChange] = []
        self.unwanted: set[str] = set()  # classes no filter selects

    def publish(self, change: InstanceChange) -> None:
        self.changes.append(change)

    def may_select(self, namespace: str, classname: str) -> bool:
        return classname not in self.unwanted

    def take(self) -> list[tuple[str, str]]:
        return [(c.kind.name, c.source.classname) for c in self.changes]

    def drain(self) -> list[tuple[str, str]]:
        """What `take` answers; the next call starts afresh."""
        taken = self.take()
        self.changes.clear()
        return taken


@dataclass
class Simulated:
    backend: SimulatedBackend
    jobs: JobRunner
    virt: Virtualization
    recorder: Recorder


@contextmanager
def simulated(data_dir: Path, repository: ClassRepository) -> Iterator[Simulated]:
    backend = SimulatedBackend(ServerConfig(data_dir=data_dir, transition_seconds=0))
    jobs = JobRunner(backend.events)
    try:
        yield Simulated(backend, jobs, Virtualization(backend, jobs, Renderer(repository, NAMESPACE), "host"), Recorder())
    finally:
        jobs.close()
        backend.close()


def watch(source: Any, backend: SimulatedBackend, names: tuple[str, ...]) -> list[str]:
    """The names of the backend's methods (of `names`) that `source` calls
    while it handles an event, as they are called."""
    asked: list[str] = []
    inside = threading.local()
    translate = source.on_event

    def on_event(event: Any) -> None:
        inside.yes = True
        try:
            translate(event)
        finally:
            inside.yes = False

    for name in names:
        real = getattr(backend, name)

        def watched(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            if getattr(inside, "yes", False):
                asked.append(_name)
            return _real(*args, **kwargs)

        setattr(backend, name, watched)
    source.on_event = on_event
    return asked
