"""Creating the indication service for a server being assembled."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cimprovider.indications.access import listener_access
from cimprovider.indications.service import IndicationService
from cimprovider.indications.service_provider import register_indications

if TYPE_CHECKING:
    from cimprovider.server import ServerParts


def start_indications(parts: "ServerParts") -> IndicationService:
    """The service over the server's data directory, its providers
    registered in root/interop and its close run at shutdown.
    ListenerTrustError when the listener CA file cannot be used."""
    config = parts.config
    access = listener_access(config.listener_allow, config.listener_ca_file, not config.listener_no_verify)
    service = IndicationService(parts.repository, parts.host_name, config.data_dir, access=access)
    register_indications(parts.registry, parts.catalog, service)
    parts.on_shutdown.append(service.close)
    return service
