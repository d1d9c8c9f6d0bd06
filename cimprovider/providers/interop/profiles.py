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
    references_target,
)
from cimprovider.providers.paths import same_path

INTEROP = "root/interop"
DMTF = 2

# Yields the paths (namespace set) of a profile's central instances.
CentralInstances = Callable[[OperationContext], Iterable[CIMInstanceName]]
# The central instance a path names (its path as `central` gives it), or
# None when it names none: the answer for one element, without listing.
CentralInstance = Callable[[OperationContext, CIMInstanceName], CIMInstanceName | None]


@dataclass(frozen=True)
class Profile:
    name: str
    version: str
    organization: int = DMTF
    central: CentralInstances | None = None
    central_namespace: str = INTEROP
    scoped_by: str | None = None  # the autonomous profile that references this component
    # The classes of the central instances, when known: traversal from an
    # element of another class then never asks `central` (which may list
    # every VM) about it.
    central_classes: tuple[str, ...] = ()
    # For profiles with many central instances (a VM each): traversal from
    # an element asks this about that element alone.
    central_instance: CentralInstance | None = None

    def may_centre(self, element: CIMInstanceName) -> bool:
        return not self.central_classes or element.classname.lower() in {c.lower() for c in self.central_classes}

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


def _association(classname: str, namespace: str, *ends: tuple[str, CIMInstanceName, str]) -> CIMInstance:
    """An association instance whose keys are its references, each end
    given as (role, path, reference class)."""
    return CIMInstance(
        classname,
        properties=[CIMProperty(role, path, type="reference", reference_class=cls) for role, path, cls in ends],
        path=CIMInstanceName(classname, keybindings={role: path for role, path, _ in ends}, namespace=namespace),
    )


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
            yield from self.conformances(ctx, profile)

    def conformances(
        self, ctx: OperationContext, profile: Profile, elements: Iterable[CIMInstanceName] | None = None
    ) -> Iterator[CIMInstance]:
        if elements is None:
            elements = profile.central(ctx) if profile.central is not None else ()
        for element in elements:
            yield _association(
                "CIM_ElementConformsToProfile",
                ctx.namespace,
                ("ConformantStandard", profile.path(), "CIM_RegisteredProfile"),
                ("ManagedElement", element, "CIM_ManagedElement"),
            )

    def references(self, ctx: OperationContext, classname: str, target: CIMInstanceName, role: str | None) -> Iterator[CIMInstance]:
        """From a profile, only its own central instances; from an element,
        only the profiles whose central class it can be."""
        if target.classname.lower() == "cim_registeredprofile":
            chosen = [p for p in self.catalog.profiles if same_path(p.path(), target)]
        else:
            chosen = [p for p in self.catalog.profiles if p.may_centre(target)]
        for profile in chosen:
            for instance in self.conformances(ctx, profile, self._central_at(ctx, profile, target)):
                if references_target(instance, target, role):
                    yield instance

    @staticmethod
    def _central_at(ctx: OperationContext, profile: Profile, target: CIMInstanceName) -> list[CIMInstanceName] | None:
        """The central instance `target` is, when the profile can tell
        without listing them all (None: list them)."""
        if profile.central_instance is None or target.classname.lower() == "cim_registeredprofile":
            return None
        found = profile.central_instance(ctx, target)
        return [found] if found is not None else []


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
            yield _association(
                "CIM_ReferencedProfile",
                INTEROP,
                ("Antecedent", profile.path(), "CIM_RegisteredProfile"),
                ("Dependent", scope.path(), "CIM_RegisteredProfile"),
            )
