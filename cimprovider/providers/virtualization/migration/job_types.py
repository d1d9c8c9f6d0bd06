"""The job types (method names) of Msvm_VirtualSystemMigrationService,
whose jobs are Msvm_MigrationJob rather than Msvm_ConcreteJob. Its own
module so the concrete job provider can leave them out without importing
the migration family."""

from __future__ import annotations

MIGRATE = "MigrateVirtualSystemToHost"
CHECK = "CheckVirtualSystemIsMigratable"
CHECK_TO_HOST = "CheckVirtualSystemIsMigratableToHost"

MIGRATION_JOB_TYPES = frozenset({MIGRATE, CHECK, CHECK_TO_HOST})
