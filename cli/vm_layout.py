"""A VM's hardware as its settings describe it: controllers, the drives on
them (Parent = controller, AddressOnParent = slot), the media in the drives
(SASD, Parent = drive, HostResource = file), network adapters and their
connections (EPASD, Parent = adapter, HostResource = switch). Read once,
so that a command can find a free slot or a disk by its file."""

from __future__ import annotations

from dataclasses import dataclass, field

from pywbem import CIMInstance

from cimprovider.cli.hyperv import EPASD, RASD, SASD, SEPSD, VM, instance_id_in, settings_of

IDE, SCSI = 5, 6
DVD_DRIVE, DISK_DRIVE = 16, 17
SCSI_SLOTS, IDE_SLOTS = 64, 2


def _id(instance: CIMInstance) -> str:
    return str(instance["InstanceID"]).lower()


@dataclass
class Layout:
    controllers: list[CIMInstance] = field(default_factory=list)
    drives: list[CIMInstance] = field(default_factory=list)
    media: list[CIMInstance] = field(default_factory=list)
    adapters: list[CIMInstance] = field(default_factory=list)
    connections: list[CIMInstance] = field(default_factory=list)

    @classmethod
    def read(cls, vm: VM) -> Layout:
        layout = cls()
        for setting in settings_of(vm, RASD):
            kind = int(setting["ResourceType"] or 0)
            if kind in (IDE, SCSI):
                layout.controllers.append(setting)
            elif kind in (DVD_DRIVE, DISK_DRIVE):
                layout.drives.append(setting)
        layout.media = settings_of(vm, SASD)
        layout.adapters = settings_of(vm, SEPSD)
        layout.connections = settings_of(vm, EPASD)
        return layout

    # --- storage ---------------------------------------------------------------

    def controllers_of(self, kind: int) -> list[CIMInstance]:
        """In the order clients number them: IDE by Address, SCSI by InstanceID's last part."""
        found = [c for c in self.controllers if int(c["ResourceType"]) == kind]
        return sorted(found, key=lambda c: (str(c.get("Address") or ""), str(c["InstanceID"])))

    def controller_of(self, drive: CIMInstance) -> CIMInstance | None:
        wanted = (instance_id_in(drive.get("Parent")) or "").lower()
        return next((c for c in self.controllers if _id(c) == wanted), None)

    def drives_on(self, controller: CIMInstance) -> list[CIMInstance]:
        return [d for d in self.drives if (instance_id_in(d.get("Parent")) or "").lower() == _id(controller)]

    def free_slot(self, controller: CIMInstance) -> int | None:
        used = {int(d.get("AddressOnParent") or 0) for d in self.drives_on(controller)}
        slots = IDE_SLOTS if int(controller["ResourceType"]) == IDE else SCSI_SLOTS
        return next((slot for slot in range(slots) if slot not in used), None)

    def medium_in(self, drive: CIMInstance) -> CIMInstance | None:
        return next((m for m in self.media if (instance_id_in(m.get("Parent")) or "").lower() == _id(drive)), None)

    def drive_of(self, medium: CIMInstance) -> CIMInstance | None:
        wanted = (instance_id_in(medium.get("Parent")) or "").lower()
        return next((d for d in self.drives if _id(d) == wanted), None)

    def location(self, drive: CIMInstance) -> tuple[str, int, int]:
        """("scsi"|"ide", controller number, slot), as Get-VMHardDiskDrive shows it."""
        controller = self.controller_of(drive)
        if controller is None:
            return ("?", 0, int(drive.get("AddressOnParent") or 0))
        kind = int(controller["ResourceType"])
        number = self.controllers_of(kind).index(controller)
        return ("ide" if kind == IDE else "scsi", number, int(drive.get("AddressOnParent") or 0))

    def storage_rows(self) -> list[dict]:
        rows = []
        for drive in self.drives:
            bus, number, slot = self.location(drive)
            medium = self.medium_in(drive)
            files = list(medium.get("HostResource") or []) if medium is not None else []
            rows.append({
                "kind": "dvd" if int(drive["ResourceType"]) == DVD_DRIVE else "disk",
                "controller": f"{bus}{number}", "location": slot, "path": files[0] if files else None,
            })
        return sorted(rows, key=lambda r: (r["controller"], r["location"]))

    # --- network ---------------------------------------------------------------

    def connection_of(self, adapter: CIMInstance) -> CIMInstance | None:
        return next((c for c in self.connections if (instance_id_in(c.get("Parent")) or "").lower() == _id(adapter)), None)

    def adapters_named(self, name: str) -> list[CIMInstance]:
        """Those with this ElementName, MAC address (with or without
        separators) or InstanceID."""
        mac = name.replace(":", "").replace("-", "").upper()
        return [adapter for adapter in self.adapters
                if name in (str(adapter.get("ElementName")), str(adapter.get("InstanceID")))
                or str(adapter.get("Address") or "").upper() == mac]
