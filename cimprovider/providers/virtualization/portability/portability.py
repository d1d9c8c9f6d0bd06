"""Registering export, import and cloning: the export settings and planned
systems as classes, and the management service's methods, added to its
handler table (and DefineSystem and DestroySystem wrapped, so the
management module needs no knowledge of clones or planned systems)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cimprovider.backends.images import ImageService
from cimprovider.providers.virtualization.portability.clone import Cloner
from cimprovider.providers.virtualization.portability.export import Exporter, ExportSettingsProvider, SystemExportSettingData
from cimprovider.providers.virtualization.portability.import_ import Importer
from cimprovider.providers.virtualization.model import VSMS, Virtualization
from cimprovider.providers.virtualization.portability.planned import PlannedSystemProvider
from cimprovider.providers.virtualization.render import NAMESPACE

if TYPE_CHECKING:
    from cimprovider.server import ServerParts


def register_portability(parts: "ServerParts", virt: Virtualization, images: ImageService) -> None:
    for provider in (ExportSettingsProvider(virt), SystemExportSettingData(virt), PlannedSystemProvider(virt)):
        parts.registry.register(NAMESPACE, provider)
    management = parts.registry.method_provider(NAMESPACE, VSMS)
    handlers = getattr(management, "handlers", None)
    if not isinstance(handlers, dict):
        return
    exporter, importer = Exporter(virt, images), Importer(virt, images)
    handlers["exportsystemdefinition"] = exporter.export_system_definition
    handlers["importsystemdefinition"] = importer.import_system_definition
    handlers["validateplannedsystem"] = importer.validate_planned_system
    handlers["realizeplannedsystem"] = importer.realize_planned_system
    handlers["destroysystem"] = importer.destroy_hook(handlers["destroysystem"])
    handlers["definesystem"] = Cloner(virt, images, management).define_hook(handlers["definesystem"])
