"""Registered profiles (DSP1033): CIM_RegisteredProfile, the
CIM_ElementConformsToProfile associations to each profile's central
instances (which may live in another namespace), and CIM_ReferencedProfile
from each component profile to the autonomous profile that scopes it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from pywbem import CIMInstance, CIMInstanceName, CIMProperty, Uint16

from cimprovider.providers.base import (
    AssociationProvider,
    InstanceProvider,
    OperationContext,
    PropertySet,
    Pushdown,
)

INTEROP = "root/interop"
DMTF = 2

# Yields the paths (namespace set) of a profile's central instances.
CentralInstances = Callable[[OperationContext], Iterable[CIMInstanceName]]


@dataclass(frozen=True)
class Profile:
    name: str
    version: str
    organization: int = DMTF
    central: CentralInstances | None = None
    central_namespace: str = INTEROP
    scoped_by: str | None = None  # the autonomous profile that references this component

    @property
    def instance_id(self) -> str:
        return f"DMTF+{self.name}+{self.version}"

    def path(self) -> CIMInstanceName:
        return CIMInstanceName("CIM_RegisteredProfile", keybindings={"InstanceID": self.instance_id}, namespace=INTEROP)


@dataclass
class ProfileCatalog:
    """The profiles this server implements; parts of the model add theirs."""

    profiles: list[Profile] = field(default_factory=list)

    def add(self, profile: Profile) -> None:
        self.profiles.append(profile)

    def find(self, name: str) -> Profile | None:
        return next((p for p in self.profiles if p.name == name), None)

    def namespaces_with_elements(self) -> list[str]:
        return sorted({INTEROP} | {p.central_namespace for p in self.profiles if p.central})


def _ref(name: str, path: CIMInstanceName, reference_class: str) -> CIMProperty:
    return CIMProperty(name, path, type="reference", reference_class=reference_class)


class RegisteredProfileProvider(InstanceProvider):
    classnames = ("CIM_RegisteredProfile",)

    def __init__(self, catalog: ProfileCatalog) -> None:
        self.catalog = catalog

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for profile in self.catalog.profiles:
            yield CIMInstance(
                "CIM_RegisteredProfile",
                properties={
                    "InstanceID": profile.instance_id,
                    "RegisteredOrganization": Uint16(profile.organization),
                    "RegisteredName": profile.name,
                    "RegisteredVersion": profile.version,
                    "AdvertiseTypes": [Uint16(2)],  # not advertised (no SLP)
                    "ElementName": profile.name,
                },
                path=profile.path(),
            )


class ConformsToProfileProvider(AssociationProvider):
    """CIM_ElementConformsToProfile, served in the interop namespace and in
    each namespace that holds central instances, so that traversal works
    from either end."""

    classnames = ("CIM_ElementConformsToProfile",)

    def __init__(self, catalog: ProfileCatalog) -> None:
        self.catalog = catalog

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for profile in self.catalog.profiles:
            if profile.central is None:
                continue
            for element in profile.central(ctx):
                conformant = profile.path()
                yield CIMInstance(
                    "CIM_ElementConformsToProfile",
                    properties=[
                        _ref("ConformantStandard", conformant, "CIM_RegisteredProfile"),
                        _ref("ManagedElement", element, "CIM_ManagedElement"),
                    ],
                    path=CIMInstanceName(
                        "CIM_ElementConformsToProfile",
                        keybindings={"ConformantStandard": conformant, "ManagedElement": element},
                        namespace=ctx.namespace,
                    ),
                )


class ReferencedProfileProvider(AssociationProvider):
    classnames = ("CIM_ReferencedProfile",)

    def __init__(self, catalog: ProfileCatalog) -> None:
        self.catalog = catalog

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for profile in self.catalog.profiles:
            scope = self.catalog.find(profile.scoped_by) if profile.scoped_by else None
            if scope is None:
                continue
            antecedent, dependent = profile.path(), scope.path()
            yield CIMInstance(
                "CIM_ReferencedProfile",
                properties=[
                    _ref("Antecedent", antecedent, "CIM_RegisteredProfile"),
                    _ref("Dependent", dependent, "CIM_RegisteredProfile"),
                ],
                path=CIMInstanceName(
                    "CIM_ReferencedProfile",
                    keybindings={"Antecedent": antecedent, "Dependent": dependent},
                    namespace=INTEROP,
                ),
            )
