"""The settings dialog's pages: each form changes one part of the VM
through the management service, as Hyper-V's dialog does on Apply; what
the model refuses (static memory of a running VM, processors while it
runs…) comes back as its error, in words."""

from __future__ import annotations

from pywbem import Uint16

from cimprovider.web import actions
from cimprovider.web.cim import ActionFailed, CIMClient
from cimprovider.web.console import Console
from cimprovider.web.create import switch_path
from cimprovider.web.exchange import Request, Response
from cimprovider.web.hardware import DISK_DRIVE, DVD_DRIVE, IDE, SCSI, Hardware, read_hardware
from cimprovider.web.pages.outcome import act


def _whole(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ActionFailed(f"{what} must be a whole number") from None


def memory(console: Console, request: Request, guid: str) -> Response:
    def change(client: CIMClient) -> str:
        dynamic = request.field("dynamic") == "on"
        actions.set_memory(client, read_hardware(client, guid), _whole(request.field("startup"), "Startup RAM"),
                           dynamic, _whole(request.field("minimum"), "Minimum RAM") if dynamic else None,
                           _whole(request.field("maximum"), "Maximum RAM") if dynamic else None,
                           _whole(request.field("buffer"), "Memory buffer") if dynamic else None)
        return "Memory settings applied"
    return act(console, request, change)


def processors(console: Console, request: Request, guid: str) -> Response:
    def change(client: CIMClient) -> str:
        actions.set_processors(client, read_hardware(client, guid), _whole(request.field("processors"), "Processors"))
        return "Processor settings applied"
    return act(console, request, change)


def notes(console: Console, request: Request, guid: str) -> Response:
    def change(client: CIMClient) -> str:
        name = request.field("name")
        if not name:
            raise ActionFailed("Name: a virtual machine needs a name")
        actions.set_system(client, read_hardware(client, guid), name=name, notes=request.field("notes"))
        return "Name and notes applied"
    return act(console, request, change)


def drives(console: Console, request: Request, guid: str) -> Response:
    def change(client: CIMClient) -> str:
        hardware = read_hardware(client, guid)
        if request.field("eject") or request.field("insert"):
            return _dvd(client, guid, hardware, request)
        removing = request.field("remove")
        if removing:
            drive = next((d for d in hardware.drives if str(d.setting["InstanceID"]) == removing), None)
            if drive is None:
                raise ActionFailed("the VM has no such drive")
            paths = ([actions.pathed(drive.medium.path)] if drive.medium is not None else []) + [actions.pathed(drive.setting.path)]
            actions.remove_settings(client, paths, f"Remove {drive.kind.lower()}")
            return f"{drive.kind} removed"
        kind = DVD_DRIVE if request.field("kind") == "dvd" else DISK_DRIVE
        bus = IDE if hardware.generation == 1 else SCSI
        prefer = 1 if kind == DVD_DRIVE and bus == IDE else None  # as Hyper-V: DVDs on IDE 1
        actions.attach(client, guid, hardware, kind, request.field("file") or None, bus, prefer)
        return "Drive added"
    return act(console, request, change)


def _dvd(client: CIMClient, guid: str, hardware: Hardware, request: Request) -> str:
    """Eject the disc of a DVD drive, or insert a file into an empty one."""
    wanted = request.field("eject") or request.field("insert")
    drive = next((d for d in hardware.drives if str(d.setting["InstanceID"]) == wanted and d.kind == "DVD drive"), None)
    if drive is None:
        raise ActionFailed("the VM has no such DVD drive")
    if request.field("eject"):
        if drive.medium is None:
            raise ActionFailed("the DVD drive is already empty")
        actions.remove_settings(client, [actions.pathed(drive.medium.path)], "Eject")
        return "Disc ejected"
    if not request.field("file"):
        raise ActionFailed("Insert: choose an image file from the storage roots")
    actions.insert_medium(client, guid, drive.setting.path, DVD_DRIVE, request.field("file"))
    return "Disc inserted"


def adapters(console: Console, request: Request, guid: str) -> Response:
    def change(client: CIMClient) -> str:
        removing = request.field("remove")
        if removing:
            hardware = read_hardware(client, guid)
            adapter = next((a for a in hardware.adapters if str(a.setting["InstanceID"]) == removing), None)
            if adapter is None:
                raise ActionFailed("the VM has no such network adapter")
            paths = ([actions.pathed(adapter.connection.path)] if adapter.connection is not None else [])
            actions.remove_settings(client, paths + [actions.pathed(adapter.setting.path)], "Remove network adapter")
            return "Network adapter removed"
        switch = request.field("switch")
        actions.connect_adapter(client, guid, switch_path(client, switch) if switch else None)
        return "Network adapter added"
    return act(console, request, change)


def integration(console: Console, request: Request, guid: str) -> Response:
    def change(client: CIMClient) -> str:
        wanted = set(request.fields("enabled"))
        for service in read_hardware(client, guid).integration:
            state = 2 if str(service["InstanceID"]) in wanted else 3
            if int(service.get("EnabledState") or 0) != state:
                service["EnabledState"] = Uint16(state)
                actions.modify_settings(client, service, f"Integration service {service.get('ElementName')}")
        return "Integration services applied"
    return act(console, request, change)
