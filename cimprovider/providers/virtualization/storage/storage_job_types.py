"""The job types (method names) of Msvm_ImageManagementService, whose jobs
are Msvm_StorageJob rather than Msvm_ConcreteJob. Its own module so the
concrete job provider can leave them out without importing the storage
job provider, which builds on it."""

from __future__ import annotations

STORAGE_JOB_TYPES = frozenset(
    {
        "CreateVirtualHardDisk",
        "ResizeVirtualHardDisk",
        "CompactVirtualHardDisk",
        "MergeVirtualHardDisk",
        "ConvertVirtualHardDisk",
        "GetVirtualHardDiskSettingData",
        "GetVirtualHardDiskState",
        "ValidateVirtualHardDisk",
        "SetVirtualHardDiskSettingData",
        "SetParentVirtualHardDisk",
    }
)
