"""Msvm methods declared in the MOF (their own and inherited ones) that this
server does not carry out, each with the reason. A test invokes every Msvm
method and fails if one answers CIM_ERR_NOT_SUPPORTED without being listed
here, or is listed but implemented."""

from __future__ import annotations

_PLANNED = "a planned VM is validated, realized or destroyed through the management service"
_SERVICE = "the service runs exactly while the server does"
_DEVICE_STATE = "a VM's devices follow the VM's power state; they are not switched one by one"

UNSUPPORTED_METHODS: dict[str, str] = {
    "Msvm_ComputerSystem.InjectNonMaskableInterrupt": "the backends cannot raise an NMI in a guest",
    "Msvm_VirtualSystemManagementService.ModifyServiceSettings": "the service's settings come from the server configuration",
    "Msvm_VirtualSystemManagementService.UpgradeSystemVersion": "every VM has the backend's one configuration version",
    "Msvm_VirtualSystemManagementService.StartService": _SERVICE,
    "Msvm_VirtualSystemManagementService.StopService": _SERVICE,
    "Msvm_VirtualSystemManagementService.RequestStateChange": _SERVICE,
    "Msvm_ConcreteJob.KillJob": "deprecated by DMTF; RequestStateChange(5) kills a job",
    "Msvm_StorageJob.KillJob": "deprecated by DMTF; RequestStateChange(5) kills a job",
    "Msvm_ImageManagementService.AttachVirtualHardDisk": "mounting a disk on the host is not offered",
    "Msvm_VirtualSystemSnapshotService.ConvertToReferencePoint": "reference points (for incremental backup) are not kept",
    "Msvm_VirtualSystemSnapshotService.StartService": _SERVICE,
    "Msvm_VirtualSystemSnapshotService.StopService": _SERVICE,
    "Msvm_VirtualSystemSnapshotService.RequestStateChange": _SERVICE,
    "Msvm_VirtualSystemMigrationService.StartService": _SERVICE,
    "Msvm_VirtualSystemMigrationService.StopService": _SERVICE,
    "Msvm_VirtualSystemMigrationService.RequestStateChange": _SERVICE,
    "Msvm_MigrationJob.KillJob": "deprecated by DMTF; RequestStateChange(5) kills a job",
    "Msvm_ImageManagementService.StartService": _SERVICE,
    "Msvm_ImageManagementService.StopService": _SERVICE,
    "Msvm_ImageManagementService.RequestStateChange": _SERVICE,
    "Msvm_VirtualEthernetSwitchManagementService.StartService": _SERVICE,
    "Msvm_VirtualEthernetSwitchManagementService.StopService": _SERVICE,
    "Msvm_VirtualEthernetSwitchManagementService.RequestStateChange": _SERVICE,
    "Msvm_VirtualEthernetSwitch.RequestStateChange": "a switch is enabled while the host runs it; it is not started or stopped through WMI",
    "Msvm_LANEndpoint.RequestStateChange": "an endpoint follows its port's state",
    "Msvm_EthernetSwitchExtension.RequestStateChange": "no switch extensions are installed",
    "Msvm_MetricService.StartService": _SERVICE,
    "Msvm_MetricService.StopService": _SERVICE,
    "Msvm_MetricService.RequestStateChange": _SERVICE,
}

_DEVICE_CLASSES = (
    "Msvm_Processor", "Msvm_Memory", "Msvm_DiskDrive", "Msvm_DVDDrive", "Msvm_SyntheticEthernetPort",
    "Msvm_ShutdownComponent", "Msvm_HeartbeatComponent", "Msvm_KvpExchangeComponent",
    "Msvm_TimeSyncComponent", "Msvm_VssComponent",
    "Msvm_SyntheticDisplayController", "Msvm_S3DisplayController", "Msvm_VideoHead",
)
for _device in _DEVICE_CLASSES:
    UNSUPPORTED_METHODS[f"{_device}.RequestStateChange"] = _DEVICE_STATE
    UNSUPPORTED_METHODS[f"{_device}.Reset"] = "a device is reset with its VM (RequestStateChange 11)"
_HOST_NODE = "a host NUMA node is the host's hardware; it is not switched or reset"
UNSUPPORTED_METHODS["Msvm_NumaNode.RequestStateChange"] = _HOST_NODE
UNSUPPORTED_METHODS["Msvm_NumaNode.Reset"] = _HOST_NODE
_PCI = "a host PCI device is given to a VM or taken back through its Msvm_PciExpressSettingData; it is not switched or reset"
UNSUPPORTED_METHODS["Msvm_PciExpress.RequestStateChange"] = _PCI
UNSUPPORTED_METHODS["Msvm_PciExpress.Reset"] = _PCI
for _port in ("Msvm_EthernetSwitchPort", "Msvm_InternalEthernetPort", "Msvm_ExternalEthernetPort"):
    UNSUPPORTED_METHODS[f"{_port}.RequestStateChange"] = "a port follows its switch and connection; it is not switched on its own"
    UNSUPPORTED_METHODS[f"{_port}.Reset"] = "a port is not reset on its own"
for _drive in ("Msvm_DiskDrive", "Msvm_DVDDrive"):
    UNSUPPORTED_METHODS[f"{_drive}.LockMedia"] = "virtual media cannot be locked in the drive"

# Whole classes whose methods are out of this model's scope, with the reason.
UNSUPPORTED_CLASSES: dict[str, str] = {
    "Msvm_PlannedComputerSystem": _PLANNED,
    "Msvm_LogicalDisk": "images are shown as settings (SASD), not as logical disks",
}
