"""Msvm methods declared in the MOF that this server does not carry out,
each with the reason. A test fails if a method is neither implemented nor
listed here."""

UNSUPPORTED_METHODS: dict[str, str] = {
    "Msvm_ComputerSystem.InjectNonMaskableInterrupt": "the backends have no way to raise an NMI in a guest",
    "Msvm_ComputerSystem.SetPowerState": "deprecated by DMTF; Hyper-V clients use RequestStateChange",
    "Msvm_ComputerSystem.RequestStateChange@host": "the host's power is not managed through WMI",
    "Msvm_VirtualSystemManagementService.ExportSystemDefinition": "export/import is not implemented by the backends",
    "Msvm_VirtualSystemManagementService.ImportSystemDefinition": "export/import is not implemented by the backends",
    "Msvm_VirtualSystemManagementService.ValidatePlannedSystem": "planned VMs (import, staged migration) do not exist here",
    "Msvm_VirtualSystemManagementService.RealizePlannedSystem": "planned VMs (import, staged migration) do not exist here",
    "Msvm_VirtualSystemManagementService.AddFeatureSettings": "switch port features (VLAN, ACL…) are not modelled",
    "Msvm_VirtualSystemManagementService.ModifyFeatureSettings": "switch port features (VLAN, ACL…) are not modelled",
    "Msvm_VirtualSystemManagementService.RemoveFeatureSettings": "switch port features (VLAN, ACL…) are not modelled",
    "Msvm_VirtualSystemManagementService.ModifyServiceSettings": "the service settings are fixed by the server configuration",
    "Msvm_VirtualSystemManagementService.UpgradeSystemVersion": "every VM has the backend's one configuration version",
    "Msvm_VirtualSystemManagementService.StartService": "the service runs while the server does",
    "Msvm_VirtualSystemManagementService.StopService": "the service runs while the server does",
    "Msvm_VirtualSystemManagementService.RequestStateChange": "the service runs while the server does",
    "Msvm_VirtualSystemManagementService.ChangeAffectedElementsAssignedSequence": "not used by Hyper-V clients",
    "Msvm_ConcreteJob.KillJob": "deprecated by DMTF; use RequestStateChange(5)",
    "Msvm_ShutdownComponent.RequestStateChange": "integration components are enabled through their settings",
    "Msvm_ShutdownComponent.SetPowerState": "deprecated by DMTF",
    "Msvm_ShutdownComponent.Reset": "integration components cannot be reset",
    "Msvm_ShutdownComponent.EnableDevice": "deprecated by DMTF",
    "Msvm_ShutdownComponent.OnlineDevice": "deprecated by DMTF",
    "Msvm_ShutdownComponent.QuiesceDevice": "deprecated by DMTF",
    "Msvm_ShutdownComponent.SaveProperties": "deprecated by DMTF",
    "Msvm_ShutdownComponent.RestoreProperties": "deprecated by DMTF",
}

# Whole classes whose methods are out of scope (served by other parts of the
# project or not modelled at all), with the reason.
UNSUPPORTED_CLASSES: dict[str, str] = {
    "Msvm_VirtualSystemSnapshotService": "snapshots are not implemented by the backends yet",
    "Msvm_VirtualSystemMigrationService": "migration needs a second host",
    "Msvm_ImageManagementService": "virtual hard disk files are another part of the project",
    "Msvm_VirtualEthernetSwitchManagementService": "switches are fixed by the backend",
    "Msvm_StorageJob": "storage jobs belong to the image management service",
    "Msvm_MigrationJob": "migration needs a second host",
    "Msvm_PlannedComputerSystem": "planned VMs do not exist here",
    "Msvm_VirtualEthernetSwitch": "switches are fixed by the backend",
}
