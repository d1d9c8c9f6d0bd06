from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from pywbem import CIMInstance, CIMInstanceName, Uint16, WBEMConnection

from cimprovider.indications import ChangeKind, IndicationService, InstanceChange
from tests.support.live import LiveServer, in_process_server

V2 = "root/virtualization/v2"
STATE_CHANGES = (
    "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA Msvm_ComputerSystem "
    "AND SourceInstance.EnabledState <> PreviousInstance.EnabledState"
)
WMI_STATE_CHANGES = (
    "SELECT * FROM __InstanceModificationEvent WITHIN 2 WHERE TargetInstance ISA 'Msvm_ComputerSystem' "
    "AND TargetInstance.EnabledState != PreviousInstance.EnabledState"
)


@dataclass
class Served:
    live: LiveServer
    service: IndicationService

    def connection(self) -> WBEMConnection:
        return self.live.connection("root/interop")


@contextmanager
def served(data_dir: Path, **config: object) -> Iterator[Served]:
    captured = {}

    def capture(registry, catalog, parts) -> None:
        captured["service"] = parts.indications

    with in_process_server(data_dir, [capture], **config) as live:
        yield Served(live, captured["service"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(tmp_path_factory.mktemp("indications")) as s:
        yield s


def vm(name: str, state: int, **extra: object) -> CIMInstance:
    """An instance shaped like Msvm_ComputerSystem (the real model will
    raise these from backend events)."""
    keys = {"CreationClassName": "Msvm_ComputerSystem", "Name": name}
    return CIMInstance(
        "Msvm_ComputerSystem",
        properties={**keys, "ElementName": f"vm {name}", "EnabledState": Uint16(state), **extra},
        path=CIMInstanceName("Msvm_ComputerSystem", keybindings=keys, namespace=V2),
    )


def state_change(name: str, old: int, new: int) -> InstanceChange:
    return InstanceChange(ChangeKind.MODIFIED, V2, vm(name, new), vm(name, old))
