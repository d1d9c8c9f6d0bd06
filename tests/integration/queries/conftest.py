"""A live server whose root/virtualization/v2 serves the query table's
Msvm-like model (tests/unit/query/model.py), so that every case of the
table runs over the wire exactly as a client sends it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import pytest
from pywbem import CIMInstance

from cimprovider.providers.base import AssociationProvider, OperationContext, PropertySet, Pushdown
from tests.support.live import in_process_server
from tests.unit.query.model import HOST, MODEL, NAMESPACE


def served_model() -> dict[str, list[CIMInstance]]:
    """The model's instances by class, events left out (they are indications)."""
    by_class: dict[str, list[CIMInstance]] = defaultdict(list)
    for instance in MODEL.values():
        if instance.path is not None and not instance.classname.startswith(("__", "CIM_Inst")):
            by_class[instance.classname].append(instance)
    return by_class


class ModelProvider(AssociationProvider):
    """Serves fixed instances of one class; counts what it builds, so tests
    can see pushdown at work."""

    def __init__(self, classname: str, instances: list[CIMInstance]) -> None:
        self.classnames = (classname,)
        self.instances = instances
        self.served = 0

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for instance in self.instances:
            if pushdown is not None and not all(
                pushdown.admits(name, prop.value) for name, prop in instance.properties.items()
            ):
                continue
            self.served += 1
            yield instance.copy()


@pytest.fixture(scope="package")
def model_server(tmp_path_factory: pytest.TempPathFactory):
    providers = {name: ModelProvider(name, items) for name, items in served_model().items()}

    def serve_model(registry, catalog, parts) -> None:
        registry.clear(NAMESPACE)
        for provider in providers.values():
            registry.register(NAMESPACE, provider)

    with in_process_server(tmp_path_factory.mktemp("queries"), [serve_model], host_name=HOST) as live:
        live.providers = providers
        yield live
