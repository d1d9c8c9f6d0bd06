"""Creating the indication service for a server being assembled."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cimprovider.indications.service import IndicationService
from cimprovider.indications.service_provider import register_indications

if TYPE_CHECKING:
    from cimprovider.server import ServerParts


def start_indications(parts: "ServerParts") -> IndicationService:
    """The service over the server's data directory, its providers
    registered in root/interop and its close run at shutdown."""
    service = IndicationService(parts.repository, parts.host_name, parts.config.data_dir)
    register_indications(parts.registry, parts.catalog, service)
    parts.on_shutdown.append(service.close)
    return service
