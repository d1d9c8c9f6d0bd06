"""Provider interfaces, in the CMPI split: instance, association, method.

A provider is a small class serving one CIM class (or a tight family). It
declares the class names it serves and implements only the operations that
make sense for them; every operation it does not override answers
CIM_ERR_NOT_SUPPORTED. Results are generators, so pull operations and large
enumerations never materialise more than the client asked for.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pywbem import (
    CIM_ERR_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

from cimprovider.providers.paths import same_path

if TYPE_CHECKING:
    from cimprovider.repository import ClassRepository


@dataclass(frozen=True, slots=True)
class OperationContext:
    """What a provider may know about the operation it serves."""

    namespace: str  # canonical namespace name
    host: str  # the server's host name, for paths that leave the server
    repository: ClassRepository
    user: str | None = None
    # The client's network address; it names the caller when authentication is off.
    address: str | None = None
    # Whether the caller's writer keeps reply XML: then enumerations may
    # answer a provider's Keepable items (the engine's business only).
    kept_replies: bool = False


class Pushdown(Protocol):
    """Conditions of a query that every answer must meet, handed to
    providers so they can skip building instances that would be dropped
    (a query for one VM must not build every VM). Providers may ignore it:
    the engine applies the full query afterwards. Implemented by the query
    part (`cimprovider.query.Pushdown`), with the query language's own
    comparison rules (WQL: case-insensitive, '32770' equals 32770)."""

    paths: tuple[CIMInstanceName, ...]  # the instance must have one of these paths

    def values_for(self, name: str) -> tuple[Any, ...] | None:
        """The values property `name` must take (one of), or None."""
        ...

    def prefix_for(self, name: str) -> str | None:
        """A prefix property `name` must start with, or None."""
        ...

    def admits(self, name: str, value: object) -> bool:
        """False when `value` for property `name` rules the instance out."""
        ...


# A property filter: None = every property; else the lower-case names to keep.
PropertySet = frozenset[str] | None


class KeepableSource(Protocol):
    """Builds the instances an enumeration offered as Keepable; one per
    enumeration, shared by its items."""

    def build(self, owner: Hashable, key: Hashable) -> CIMInstance | None:
        """The instance as it is now (read afresh from the backend, never
        from a state captured at listing time), or None when it vanished."""
        ...

    def live(self, owner: Hashable) -> dict[str, Any]:
        """The current values, by property name, of what moves without any
        event (a running VM's OnTimeInMilliseconds); written anew on every
        reply. Empty when nothing moves."""
        ...


@dataclass(slots=True)  # not frozen: one is made per VM per enumeration
class Keepable:
    """One instance of an enumeration whose CIM-XML the server may keep and
    send again until a bus event names its `owner` (a VM's id): a provider
    offers it instead of the instance, so a kept reply costs no building.
    `key` names the instance among its owner's (e.g. its InstanceID)."""

    owner: Hashable
    key: Hashable
    source: KeepableSource


@dataclass(slots=True)
class Keepables:
    """Many Keepable of one source at once, in order: `owners[i]` and
    `keys[i]` name the i-th. An enumeration of thousands of VMs offers them
    as two lists built in one go, not an object per VM; the server copies
    them and never changes them (a provider may offer the same lists again)."""

    owners: list[Hashable]
    keys: list[Hashable]
    source: KeepableSource


def not_supported(what: str, classname: str) -> CIMError:
    return CIMError(CIM_ERR_NOT_SUPPORTED, f"{what} is not supported for class {classname}")


class InstanceProvider:
    """Serves instances of the classes in `classnames` (exact class names,
    not subclasses: each class has its own provider)."""

    classnames: ClassVar[tuple[str, ...]] = ()

    def enumerate_instances(
        self,
        ctx: OperationContext,
        classname: str,
        properties: PropertySet,
        pushdown: Pushdown | None = None,
    ) -> Iterator[CIMInstance]:
        """Every instance of `classname`, each with its path (keys set;
        namespace and host may be left unset). `properties` says which
        properties the client will keep (keys are always needed)."""
        raise not_supported("EnumerateInstances", classname)

    def enumerate_keepable(
        self, ctx: OperationContext, classname: str, properties: PropertySet
    ) -> Iterator[CIMInstance | Keepable | Keepables] | None:
        """The same instances as `enumerate_instances` without a pushdown,
        those the server may keep as `Keepable`s (or many at once as
        `Keepables`); None when this provider keeps nothing (the default)."""
        return None

    def get_keepable(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> Keepable | None:
        """The instance `path` names as a Keepable, when the server may keep
        its reply (raising as `get_instance` does when there is no such
        instance); None to have it built by `get_instance` (the default)."""
        return None

    def enumerate_instance_names(
        self, ctx: OperationContext, classname: str, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstanceName]:
        for instance in self.enumerate_instances(ctx, classname, frozenset(), pushdown):
            yield instance.path

    def get_instance(
        self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet
    ) -> CIMInstance:
        """The instance at `path`, or CIMError(CIM_ERR_NOT_FOUND). The default
        scans the enumeration, which suits small classes."""
        for instance in self.enumerate_instances(ctx, path.classname, properties):
            if same_path(instance.path, path):
                return instance
        raise instance_not_found(path)

    def create_instance(self, ctx: OperationContext, instance: CIMInstance) -> CIMInstanceName:
        raise not_supported("CreateInstance", instance.classname)

    def modify_instance(
        self, ctx: OperationContext, instance: CIMInstance, property_list: list[str] | None
    ) -> None:
        raise not_supported("ModifyInstance", instance.classname)

    def delete_instance(self, ctx: OperationContext, path: CIMInstanceName) -> None:
        raise not_supported("DeleteInstance", path.classname)


class AssociationProvider(InstanceProvider):
    """Serves instances of association classes. `references` finds the
    association instances that point at an object; the engine derives
    Associators, AssociatorNames and ReferenceNames from it."""

    def references(
        self,
        ctx: OperationContext,
        classname: str,
        target: CIMInstanceName,
        role: str | None,
    ) -> Iterator[CIMInstance]:
        """Association instances of `classname` with a reference property
        (named `role`, when given) equal to `target`. The default filters
        the whole enumeration; providers of large associations override it."""
        for instance in self.enumerate_instances(ctx, classname, None):
            if references_target(instance, target, role):
                yield instance


@dataclass(slots=True)
class MethodReturn:
    """An extrinsic method's answer: the return value and the output
    parameters by name (typed from the method's declaration by the engine)."""

    return_value: Any
    out_params: dict[str, Any] = field(default_factory=dict)


class MethodProvider:
    """Serves extrinsic methods of the classes in `classnames`. `params`
    holds the input parameters already typed from the method declaration,
    keyed by their declared (canonical) names; missing ones are absent."""

    classnames: ClassVar[tuple[str, ...]] = ()
    # Methods that only read (any case): open to the reader role, as the
    # intrinsic read operations are. Every other method needs admin.
    read_only_methods: ClassVar[frozenset[str]] = frozenset()

    def reads_only(self, method: str) -> bool:
        return method.lower() in self.read_only_methods

    def invoke_method(
        self,
        ctx: OperationContext,
        target: CIMInstanceName | str,
        method: str,
        params: dict[str, Any],
    ) -> MethodReturn:
        classname = target if isinstance(target, str) else target.classname
        raise not_supported(f"method {method}", classname)


def instance_not_found(path: CIMInstanceName) -> CIMError:
    return CIMError(CIM_ERR_NOT_FOUND, f"no instance {path.to_wbem_uri(format='canonical')}")


def references_target(instance: CIMInstance, target: CIMInstanceName, role: str | None) -> bool:
    for name, prop in instance.properties.items():
        if prop.type != "reference" or prop.value is None:
            continue
        if role is not None and name.lower() != role.lower():
            continue
        if same_path(prop.value, target):
            return True
    return False


def keys_only(instances: Iterable[CIMInstance]) -> Iterator[CIMInstanceName]:
    for instance in instances:
        yield instance.path
