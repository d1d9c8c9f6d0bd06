"""Msvm_VirtualEthernetSwitchManagementService ("nvspwmi"): DefineSystem
(the switch's settings and its own ports as embedded instances),
DestroySystem, ModifySystemSettings (name, notes), Add/Modify/Remove-
ResourceSettings for the switch's external and internal ports, and
Add/Modify/RemoveFeatureSettings for the switch's features.

Work is done before the method returns (0, results filled in); a failure
answers 4096 and a job that ends in Exception with the Hyper-V code and a
message naming the property at fault, as the VM service does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.backends import NetworkBackend
from cimprovider.providers.base import InstanceProvider, MethodReturn, OperationContext, PropertySet, Pushdown
from cimprovider.providers.virtualization.embedded import PropertyBag, read_embedded, read_settings
from cimprovider.providers.virtualization.errors import NOT_FOUND, NOT_SUPPORTED, MethodFailure, invalid_parameter
from cimprovider.providers.virtualization.immediate import Handler, ImmediateMethods
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.network import feature_methods, identity
from cimprovider.providers.virtualization.network.ports import EXTERNAL, host_ports
from cimprovider.providers.virtualization.network.switch_input import port_role, switch_from_settings, with_port, without_port
from cimprovider.providers.virtualization.network.switches import find_host_port, switch_of_path, switch_of_settings
from cimprovider.providers.virtualization.systems.states import RUNNING_SERVICE
from cimprovider.schemas.host import VirtualSwitch


class SwitchService(InstanceProvider, ImmediateMethods):
    classnames = (identity.SWITCH_SERVICE,)

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt
        self.handlers: dict[str, Handler] = {
            "definesystem": self.define_system,
            "destroysystem": self.destroy_system,
            "modifysystemsettings": self.modify_system_settings,
            "addresourcesettings": self.add_resource_settings,
            "modifyresourcesettings": self.modify_resource_settings,
            "removeresourcesettings": self.remove_resource_settings,
            **feature_methods.feature_handlers(virt),
        }

    @property
    def backend(self) -> NetworkBackend:
        backend = self.virt.backend
        if not isinstance(backend, NetworkBackend):
            raise MethodFailure(NOT_SUPPORTED, "this host's switches are fixed by the backend")
        return backend

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        path = identity.service_path(self.virt)
        values = {**path.keybindings, "ElementName": "Virtual Switch Management Service",
                  "Caption": "Hyper-V Virtual Switch Management Service",
                  "Description": "Defines, modifies and destroys virtual switches.", **RUNNING_SERVICE}
        yield self.virt.renderer.instance(identity.SWITCH_SERVICE, values, properties)

    # --- switches --------------------------------------------------------------

    def define_system(self, params: dict[str, Any]) -> MethodReturn:
        if params.get("ReferenceConfiguration") is not None:
            raise invalid_parameter("ReferenceConfiguration", "a switch cannot be copied from another")
        text = params.get("SystemSettings")
        if not text:
            raise invalid_parameter("SystemSettings", "is required")
        switch = switch_from_settings(_switch_settings(text), None)
        for item in params.get("ResourceSettings") or []:
            role, adapter = port_role(self.virt, read_embedded(item, "ResourceSettings"))
            switch = with_port(switch, role, adapter)
        switch = self.backend.define_switch(switch)
        return MethodReturn(0, {"ResultingSystem": identity.switch_path(self.virt, switch.id)})

    def destroy_system(self, params: dict[str, Any]) -> MethodReturn:
        switch = self.switch_of_system(params.get("AffectedSystem"))
        self.backend.destroy_switch(switch.id)
        return MethodReturn(0)

    def modify_system_settings(self, params: dict[str, Any]) -> MethodReturn:
        bag = _switch_settings(params.get("SystemSettings"))
        switch = switch_of_settings(self.virt, bag.text("InstanceID"))
        if switch is None:
            raise MethodFailure(NOT_FOUND, f"InstanceID: no virtual switch settings {bag.text('InstanceID')!r}")
        self.backend.modify_switch(switch_from_settings(bag, switch))
        return MethodReturn(0)

    # --- the switch's own ports ------------------------------------------------

    def add_resource_settings(self, params: dict[str, Any]) -> MethodReturn:
        switch = self.switch_of_configuration(params.get("AffectedConfiguration"))
        roles = []
        for item in params.get("ResourceSettings") or []:
            role, adapter = port_role(self.virt, read_embedded(item, "ResourceSettings"))
            switch = with_port(switch, role, adapter)
            roles.append(role)
        switch = self.backend.modify_switch(switch)
        return MethodReturn(0, {"ResultingResourceSettings": [self.port_path(switch, role) for role in roles]})

    def modify_resource_settings(self, params: dict[str, Any]) -> MethodReturn:
        results = []
        for item in params.get("ResourceSettings") or []:
            bag = read_embedded(item, "ResourceSettings")
            port = find_host_port(self.virt, bag.text("InstanceID") or "")
            if port is None:
                raise MethodFailure(NOT_FOUND, f"InstanceID: no switch port allocation {bag.text('InstanceID')!r}")
            role, adapter = port_role(self.virt, bag)
            if role != port.role:
                raise invalid_parameter("HostResource", "a port stays external or internal; remove it and add the other kind")
            switch = port.switch
            if role == EXTERNAL:  # rebinding to another adapter; an internal port has nothing to change
                switch = self.backend.modify_switch(with_port(without_port(switch, role), role, adapter))
            results.append(self.port_path(switch, role))
        return MethodReturn(0, {"ResultingResourceSettings": results})

    def remove_resource_settings(self, params: dict[str, Any]) -> MethodReturn:
        for path in params.get("ResourceSettings") or []:
            instance_id = next((v for k, v in path.keybindings.items() if k.lower() == "instanceid"), "") if isinstance(path, CIMInstanceName) else ""
            port = find_host_port(self.virt, str(instance_id))
            if port is None:
                raise MethodFailure(NOT_FOUND, f"ResourceSettings: no switch port allocation {instance_id!r}")
            current = switch_of_settings(self.virt, identity.switch_settings_id(port.switch.id)) or port.switch
            self.backend.modify_switch(without_port(current, port.role))
        return MethodReturn(0)

    # --- references ------------------------------------------------------------

    def port_path(self, switch: VirtualSwitch, role: str) -> CIMInstanceName:
        port = next(p for p in host_ports(switch) if p.role == role)
        return self.virt.setting_path(identity.EPASD, port.allocation_id)

    def switch_of_system(self, path: Any) -> VirtualSwitch:
        switch = switch_of_path(self.virt, path) if isinstance(path, CIMInstanceName) else None
        if switch is None:
            raise MethodFailure(NOT_FOUND, f"AffectedSystem: no virtual switch {path}")
        return switch

    def switch_of_configuration(self, path: Any) -> VirtualSwitch:
        """A switch's settings path, or the switch itself."""
        if isinstance(path, CIMInstanceName):
            instance_id = next((v for k, v in path.keybindings.items() if k.lower() == "instanceid"), None)
            switch = switch_of_settings(self.virt, instance_id) if instance_id is not None else switch_of_path(self.virt, path)
            if switch is not None:
                return switch
        raise MethodFailure(NOT_FOUND, f"AffectedConfiguration: no virtual switch settings {path}")


def _switch_settings(value: Any) -> PropertyBag:
    """The embedded switch settings (SystemSettings), refused if of another class."""
    return read_settings(value, "SystemSettings", identity.SWITCH_SETTINGS, "CIM_VirtualEthernetSwitchSettingData")
