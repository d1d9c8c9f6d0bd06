"""ModifyServiceSettings outlives a restart: what a client set on the
migration service is what the service shows, and obeys, when the server
comes back on the same data directory."""

from __future__ import annotations

from pathlib import Path

from pywbem import Uint32

from tests.integration.model.hyperv import NS
from tests.support.live import in_process_server

SETTINGS = "Msvm_VirtualSystemMigrationServiceSettingData"


def service_settings(conn):
    return conn.EnumerateInstances(SETTINGS)[0]


def test_changed_service_settings_survive_a_restart(tmp_path: Path):
    data = tmp_path / "data"
    with in_process_server(data) as live:
        conn = live.connection(NS)
        service = conn.EnumerateInstanceNames("Msvm_VirtualSystemMigrationService")[0]
        settings = service_settings(conn)
        settings["EnableVirtualSystemMigration"] = False
        settings["MaximumActiveVirtualSystemMigration"] = Uint32(5)
        settings["MaximumActiveStorageMigration"] = Uint32(3)
        settings["EnableCompression"] = True
        assert conn.InvokeMethod("ModifyServiceSettings", service, ServiceSettingData=settings.tocimxmlstr())[0] == 0

    with in_process_server(data) as live:
        conn = live.connection(NS)
        kept = service_settings(conn)
        assert kept["EnableVirtualSystemMigration"] is False
        assert kept["MaximumActiveVirtualSystemMigration"] == 5
        assert kept["MaximumActiveStorageMigration"] == 3
        assert kept["EnableCompression"] is True
        # Each migration's setting takes the service's compression as its default.
        found = conn.ExecQuery("WQL", "SELECT * FROM Msvm_VirtualSystemMigrationSettingData WHERE MigrationType = '32771'", NS)
        assert found[0]["EnableCompression"] is True

    # A server on another data directory starts from the defaults.
    with in_process_server(tmp_path / "other") as live:
        fresh = service_settings(live.connection(NS))
        assert fresh["EnableVirtualSystemMigration"] is True and fresh["MaximumActiveVirtualSystemMigration"] == 2
